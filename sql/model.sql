-- Models as views over tables that each refresh builds: rfm_create_model, rfm_refresh, history,
-- transitions, permissions.  Figures are checked against a second, plain
-- computation from the orders, not against the views' own queries.
SET TimeZone = 'UTC';
\set VERBOSITY default
\set SHOW_CONTEXT never

-- ==== A model of the R package's orders (date column, text customer) ====

SELECT * FROM rfm_create_model('pkg', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                               schema_name => 'bi', as_of => '2007-01-01', clv => false);
SELECT name, schema_name, source, time_type, amount_type, as_of, bins, scoring, time_unit, clv,
       keep_history, time_zone, owner = current_user AS owner_is_me, created_schema
FROM rfm_model;

-- Every view and column carries the comment rfm_model_columns() documents
-- (with the model's time unit, days, for "time units"), and the columns are
-- exactly those, in that order.  The tables the views read (generation a
-- after the first build) say which view they serve.
SELECT c.relname, c.relkind, obj_description(c.oid, 'pg_class') IS NOT NULL AS commented,
       c.relname LIKE '%$%' AND obj_description(c.oid, 'pg_class') LIKE '%the data of view bi.pkg\_%' AS says_view
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'm', 'r') ORDER BY 1;
SELECT col_description('bi.pkg_customers'::regclass, 2) AS recency_comment;
SELECT mc.view_suffix, mc.column_name, a.attname, col_description(a.attrelid, a.attnum) = mc.description AS same
FROM (SELECT c.view_suffix, c.column_name, c.data_type,
             replace(replace(c.description, 'Time units', 'Days'), 'time units', 'days') AS description,
             row_number() OVER (PARTITION BY c.view_suffix ORDER BY c.ord) AS pos
      FROM rfm_model_columns() WITH ORDINALITY AS c(view_suffix, column_name, data_type, description, ord)) mc
FULL JOIN (SELECT substr(c.relname, 4) AS view_suffix, a.*
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'bi' AND c.relkind IN ('v', 'r') AND c.relname NOT LIKE '%$%'
             AND a.attnum > 0 AND NOT a.attisdropped) a
  ON a.view_suffix = mc.view_suffix AND a.attnum = mc.pos
WHERE mc.column_name IS DISTINCT FROM a.attname::text
   OR col_description(a.attrelid, a.attnum) IS DISTINCT FROM mc.description
   OR (mc.data_type NOT LIKE 'the customer%' AND format_type(a.atttypid, a.atttypmod) <> mc.data_type);

-- The summary against the figures an analyst computes by hand: orders, net
-- revenue, first and last order, recency in days to 2007-01-01.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE s.orders <> h.orders OR s.revenue <> h.revenue
                          OR s.first_order <> h.first_order::timestamptz
                          OR s.last_order <> h.last_order::timestamptz
                          OR s.recency <> ('2007-01-01'::date - h.last_order)) AS mismatches
FROM bi.pkg_summary s
FULL JOIN (SELECT customer_id, count(*) AS orders, sum(revenue) AS revenue,
                  min(order_date) AS first_order, max(order_date) AS last_order
           FROM rfm_orders GROUP BY customer_id) h ON h.customer_id = s.customer;

-- Scores and segments: the same as scoring the hand summary directly.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (c.r_score, c.f_score, c.m_score) IS DISTINCT FROM (d.r, d.f, d.m)
                          OR c.segment IS DISTINCT FROM rfm_segment(d.r, d.f, d.m)
                          OR c.rfm_cell <> d.r::text || d.f || d.m) AS mismatches
FROM bi.pkg_customers c
JOIN (SELECT customer_id, (rfm_scores('2007-01-01'::date - max(order_date), count(*), sum(revenue)) OVER ()).*
      FROM rfm_orders GROUP BY customer_id) d ON d.customer_id = c.customer;

-- The segment summary adds up to all customers and all revenue.
SELECT sum(customers) AS customers, sum(revenue) AS revenue, round(sum(customer_share), 12) AS share,
       round(sum(revenue_share), 12) AS revenue_share,
       (SELECT count(DISTINCT customer_id) FROM rfm_orders) AS hand_customers,
       (SELECT sum(revenue) FROM rfm_orders) AS hand_revenue
FROM bi.pkg_segments;
SELECT segment, customers, revenue, strategy FROM bi.pkg_segments ORDER BY revenue DESC, segment;

-- The Pareto curve against a plain running sum over customers by revenue.
WITH h AS (SELECT customer_id, sum(revenue) AS revenue FROM rfm_orders GROUP BY customer_id),
     r AS (SELECT row_number() OVER (ORDER BY revenue DESC, customer_id) AS k,
                  sum(revenue) OVER (ORDER BY revenue DESC, customer_id) / sum(revenue) OVER () AS share
           FROM h)
SELECT p.customer_percent, p.customers, round(p.revenue_share, 4) AS revenue_share,
       round(r.share, 4) AS hand_share
FROM bi.pkg_pareto p JOIN r ON r.k = ceil(p.customer_percent * 995 / 100.0)
WHERE p.customer_percent IN (1, 10, 20, 50, 80, 100) OR p.revenue_share <> r.share
ORDER BY 1;

-- ==== Refresh, history and transitions ====

-- A refresh as of a later day gives a second snapshot.
CALL rfm_refresh('pkg', '2007-06-30');
SELECT id, model, as_of, customers, outcome, sqlstate, message, refreshed_by = current_user AS by_me,
       finished_at >= started_at AS ordered
FROM rfm_refresh_log ORDER BY id;
SELECT * FROM rfm_snapshots('pkg');
-- refresh_as_of keeps the as-of time of the data: a plain REFRESH of a view
-- (as a restore from pg_dump runs) repeats it.
SELECT refresh_as_of FROM rfm_model WHERE name = 'pkg';
SELECT DISTINCT as_of FROM bi.pkg_customers;

-- Quantile scores are relative: with no new orders after 2006, everyone's
-- recency grows alike and nobody changes segment.
SELECT count(*) AS cells, sum(customers) AS customers,
       count(*) FILTER (WHERE from_segment = to_segment) AS diagonal
FROM rfm_transition_matrix('pkg');

-- The Online Retail invoices move: a model at mid-2011, refreshed at the
-- end of the data.  The transition matrix against segments computed
-- directly from the invoices at both dates.
SELECT count(*) FROM rfm_create_model('retail', 'retail', 'customer_id', 'invoice_time', 'amount',
                                      as_of => '2011-06-30', time_unit => 'week', clv_horizon => 52,
                                      margin => 0.3, discount_rate => 0.002);
CALL rfm_refresh('retail', '2011-12-10');

-- The fitted models are what the fitting aggregates give on a summary
-- taken directly (weeks: days / 7; the spend model on the mean value of the
-- repeat purchases, repeat_value, which test summary_repeat checks by
-- hand), and each customer's P(alive) and CLV are the functions' values
-- for that customer.
WITH s AS (SELECT customer_id, (rfm_summary(invoice_time, amount, '2011-12-10 00:00+00')).*,
                  rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+00') AS repeat_value
           FROM retail WHERE customer_id IS NOT NULL GROUP BY customer_id),
     fit AS (SELECT rfm_bgnbd_fit(repeat_frequency, repeat_recency / 7, age / 7, 'week', 0.0001) AS bg,
                    rfm_gamma_gamma_fit(repeat_frequency, repeat_value, 0.0001)
                        FILTER (WHERE repeat_frequency > 0 AND repeat_value > 0) AS gg
             FROM s WHERE frequency > 0)
SELECT round((f.bg).r::numeric, 6) = round(m.bgnbd_r::numeric, 6) AND round((f.bg).alpha::numeric, 6) = round(m.bgnbd_alpha::numeric, 6)
       AND round((f.bg).a::numeric, 6) = round(m.bgnbd_a::numeric, 6) AND round((f.bg).b::numeric, 6) = round(m.bgnbd_b::numeric, 6) AS bgnbd_same,
       round((f.gg).p::numeric, 6) = round(m.gg_p::numeric, 6) AND round((f.gg).q::numeric, 6) = round(m.gg_q::numeric, 6)
       AND round((f.gg).gamma::numeric, 6) = round(m.gg_gamma::numeric, 6) AS gg_same,
       m.bgnbd_converged, m.gg_converged, m.customers
FROM fit f, retail_fit m;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs(c.p_alive - rfm_p_alive(f.bgnbd, s.repeat_frequency, s.repeat_recency, s.age)) > 1e-12)
           AS p_alive_differs,
       count(*) FILTER (WHERE abs(c.clv - rfm_clv(f.bgnbd, s.repeat_frequency, s.repeat_recency, s.age,
                                                  rfm_expected_order_value(f.gamma_gamma, s.repeat_frequency,
                                                      CASE WHEN s.repeat_frequency > 0 THEN greatest(coalesce(s.repeat_value, 0), 0.01) ELSE 0 END),
                                                  52, 0.3, 0.002)) > 1e-9 * abs(c.clv)) AS clv_differs,
       round(sum(c.clv)) AS total_clv
FROM retail_customers c JOIN retail_summary s USING (customer), retail_fit f;
WITH seg AS (
    SELECT d, customer_id, rfm_segment((sc).r, (sc).f, (sc).m) AS segment, revenue
    FROM (SELECT d, customer_id, sum(amount) AS revenue,
                 rfm_scores(extract(epoch FROM d - max(invoice_time) FILTER (WHERE amount >= 0)) / 86400,
                            count(*) FILTER (WHERE amount >= 0), sum(amount)) OVER (PARTITION BY d) AS sc
          FROM retail, (VALUES ('2011-06-30 00:00+00'::timestamptz), ('2011-12-10 00:00+00')) v(d)
          WHERE invoice_time <= d AND customer_id IS NOT NULL
          GROUP BY d, customer_id
          HAVING count(*) FILTER (WHERE amount >= 0) > 0) q),
hand AS (
    SELECT a.segment AS from_segment, b.segment AS to_segment, count(*) AS customers,
           sum(a.revenue) AS from_revenue, sum(b.revenue) AS to_revenue
    FROM (SELECT * FROM seg WHERE d = '2011-06-30 00:00+00') a
    FULL JOIN (SELECT * FROM seg WHERE d = '2011-12-10 00:00+00') b ON a.customer_id = b.customer_id
    GROUP BY 1, 2)
SELECT count(*) AS cells, sum(t.customers) AS customers,
       count(*) FILTER (WHERE t IS DISTINCT FROM h) AS mismatches,
       sum(t.customers) FILTER (WHERE t.fs = '(new)') AS new_customers
FROM (SELECT coalesce(from_segment, '(new)') AS fs, to_segment, customers, from_revenue, to_revenue
      FROM rfm_transition_matrix('retail')) t
FULL JOIN (SELECT coalesce(from_segment, '(new)') AS fs, to_segment, customers, from_revenue, to_revenue
           FROM hand) h USING (fs, to_segment);
SELECT * FROM rfm_transition_matrix('retail', '2011-06-30 00:00+00', '2011-12-10 00:00+00')
WHERE from_segment = 'Champions' ORDER BY customers DESC, to_segment;

-- Who moved from Champions to At Risk: as many as the matrix says, and
-- each was a Champion then and is At Risk now.
SELECT count(*) AS movers,
       (SELECT customers FROM rfm_transition_matrix('retail')
        WHERE from_segment = 'Champions' AND to_segment = 'At Risk') AS in_matrix,
       count(*) FILTER (WHERE h1.segment = 'Champions' AND h2.segment = 'At Risk') AS confirmed
FROM rfm_segment_movers('retail', 'Champions', 'At Risk') mv
LEFT JOIN retail_history h1 ON h1.customer::text = mv.customer AND h1.as_of = mv.from_snapshot
LEFT JOIN retail_history h2 ON h2.customer::text = mv.customer AND h2.as_of = mv.to_snapshot;
SELECT customer, from_snapshot, to_snapshot, from_monetary, to_monetary
FROM rfm_segment_movers('retail', 'Champions', 'At Risk') LIMIT 3;
-- new customers: NULL as the from-segment
SELECT count(*) AS new_champions FROM rfm_segment_movers('retail', NULL, 'Champions');
SELECT * FROM rfm_segment_movers('retail', 'champions', 'Lost');
SELECT * FROM rfm_transition_matrix('retail', '2001-01-01');
SELECT rfm_drop_model('retail');

-- Refreshing at the same as_of again replaces that snapshot, not doubles it.
CALL rfm_refresh('pkg');
SELECT * FROM rfm_snapshots('pkg');

-- Inside a transaction block the refresh is part of the caller's
-- transaction: rolled back, it leaves neither data nor log behind.
SELECT count(*) AS log_rows FROM rfm_refresh_log;
BEGIN;
CALL rfm_refresh('pkg', '2008-01-01');
SELECT DISTINCT as_of FROM bi.pkg_customers;
ROLLBACK;
SELECT count(*) AS log_rows FROM rfm_refresh_log;
SELECT DISTINCT as_of FROM bi.pkg_customers;

-- The refresh lock is a row lock on the model's rfm_model row, held by the
-- refresh's transaction: the advisory lock of 1.1 (key 'RFM' and the name's
-- hash), which any role could take, no longer blocks anything.
SELECT pg_advisory_lock((x'52464d00'::bigint << 32) | (hashtext('pkg')::bigint & x'ffffffff'::bigint));
CALL rfm_refresh('pkg');
SELECT pg_advisory_unlock_all();
SELECT count(*) AS locks_left FROM pg_locks WHERE locktype IN ('advisory', 'tuple') AND pid = pg_backend_pid();

-- ==== A failed refresh keeps the previous data and is logged ====

CREATE TABLE flaky (customer int, t timestamptz, amount numeric, broken boolean DEFAULT false);
INSERT INTO flaky VALUES (1, '2020-01-01', 10), (1, '2020-02-01', 20), (2, '2020-01-15', 5);
CREATE VIEW flaky_orders AS
    SELECT customer, t, amount / CASE WHEN broken THEN 0 ELSE 1 END AS amount FROM flaky;
SELECT count(*) FROM rfm_create_model('flaky', 'flaky_orders', 'customer', 't', 'amount',
                                      as_of => '2020-03-01', clv => false);
INSERT INTO flaky VALUES (3, '2020-02-20', 7, true);
CALL rfm_refresh('flaky');
SELECT customer, frequency, monetary FROM flaky_customers ORDER BY customer;
SELECT outcome, sqlstate, message, customers FROM rfm_refresh_log WHERE model = 'flaky' ORDER BY id;
UPDATE flaky SET broken = false;
CALL rfm_refresh('flaky');
SELECT customer, frequency, monetary FROM flaky_customers ORDER BY customer;
SELECT outcome, customers FROM rfm_refresh_log WHERE model = 'flaky' ORDER BY id;

-- Too few repeat buyers to fit the CLV models: NULL models and CLV, not a
-- failed refresh.  An emptied source gives empty views.
SELECT count(*) FROM rfm_create_model('tiny', 'flaky', 'customer', 't', 'amount', as_of => '2020-03-01');
SELECT customer, frequency, p_alive, clv FROM tiny_customers ORDER BY customer;
SELECT customers, bgnbd IS NULL AS no_bgnbd, gamma_gamma IS NULL AS no_gamma_gamma FROM tiny_fit;
DELETE FROM flaky;
CALL rfm_refresh('tiny');
SELECT (SELECT count(*) FROM tiny_summary) AS summary, (SELECT count(*) FROM tiny_fit) AS fit,
       (SELECT count(*) FROM tiny_customers) AS customers, (SELECT count(*) FROM tiny_segments) AS segments,
       (SELECT count(*) FROM tiny_pareto) AS pareto;
SELECT outcome, customers FROM rfm_refresh_log WHERE model = 'tiny' ORDER BY id;
SELECT rfm_drop_model('tiny');

-- ==== Awkward names inject nothing ====

CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."orders; DROP TABLE x" ("Customer ID" text, "Order Date" timestamp, "Amount ¥" integer);
CREATE TABLE x (keep int);
INSERT INTO "Sales Dept"."orders; DROP TABLE x" VALUES
    ('a', '2021-01-01 10:00', 100), ('a', '2021-03-01 10:00', 50), ('b''; DROP TABLE x; --', '2021-02-01 23:30', 70);
SELECT * FROM rfm_create_model('q1 "report"; DROP TABLE x', '"Sales Dept"."orders; DROP TABLE x"',
                               'Customer ID', 'Order Date', 'Amount ¥', schema_name => 'Report "Q1"',
                               as_of => '2021-04-01', bins => 3, clv => false);
SELECT customer, frequency, monetary, r_score, f_score, m_score, rfm_cell, segment
FROM "Report ""Q1"""."q1 ""report""; DROP TABLE x_customers" ORDER BY customer;
SELECT to_regclass('x') IS NOT NULL AS x_still_there;
SELECT time_type, amount_type, created_schema FROM rfm_model WHERE name = 'q1 "report"; DROP TABLE x';

-- A timestamp without time zone is read in the creator's time zone, kept
-- in the model: 2021-02-01 23:30 Tokyo is 14:30 UTC.
SET TimeZone = 'Asia/Tokyo';
SELECT count(*) FROM rfm_create_model('tokyo', '"Sales Dept"."orders; DROP TABLE x"',
                                      'Customer ID', 'Order Date', 'Amount ¥', as_of => '2021-04-01', clv => false);
SET TimeZone = 'UTC';
SELECT customer, first_order FROM tokyo_summary ORDER BY customer;
CALL rfm_refresh('tokyo');
SELECT customer, first_order FROM tokyo_summary ORDER BY customer;

-- ==== Fixed cut points: scores stay put between refreshes ====

SELECT count(*) FROM rfm_create_model('fixed', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '2007-01-01', scoring => 'fixed', clv => false,
                                      keep_history => false);
-- the stored cut points are rfm_breaks of the creation data
SELECT r_breaks = (SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY -recency) FROM bi.pkg_summary) AS r_same,
       f_breaks = (SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY orders::float8) FROM bi.pkg_summary) AS f_same,
       m_breaks = (SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY revenue::float8) FROM bi.pkg_summary) AS m_same,
       f_breaks, m_breaks
FROM rfm_model WHERE name = 'fixed';
-- at creation they give the quantile model's scores
SELECT count(*) FILTER (WHERE (f.r_score, f.f_score, f.m_score) IS DISTINCT FROM (p.r_score, p.f_score, p.m_score))
       AS differ_from_quantile
FROM fixed_customers f JOIN bi.pkg_customers p USING (customer);
-- half a year later every recency score can only fall; F and M cannot move
UPDATE rfm_model SET as_of = '2007-06-30' WHERE name = 'fixed';
CALL rfm_refresh('fixed');
SELECT count(*) FILTER (WHERE r_score = rfm_score(-recency, (SELECT r_breaks FROM rfm_model WHERE name = 'fixed'))) AS r_by_breaks,
       count(*) FILTER (WHERE r_score = 1) AS r_1, count(*) AS customers
FROM fixed_customers;
-- what the views were built with cannot change under them; the cut points can
UPDATE rfm_model SET bins = 4 WHERE name = 'fixed';
UPDATE rfm_model SET margin = 0.5 WHERE name = 'fixed';
UPDATE rfm_model SET m_breaks = '{400,300,200,100}' WHERE name = 'fixed';
\set VERBOSITY terse
UPDATE rfm_model SET m_breaks = '{100,200,300}' WHERE name = 'fixed';
\set VERBOSITY default
UPDATE rfm_model SET m_breaks = '{1000,2000,3000,4000}' WHERE name = 'fixed';
CALL rfm_refresh('fixed');
SELECT m_score, min(monetary), max(monetary), count(*) FROM fixed_customers GROUP BY m_score ORDER BY 1;
-- given cut points must fit the bins
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue', scoring => 'fixed',
                        r_breaks => '{-300,-200,-100,-30}', f_breaks => '{2,3,4}', m_breaks => '{100,200,300,400}');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                        r_breaks => '{-300,-200,-100,-30}', f_breaks => '{2,3,4,5}', m_breaks => '{100,200,300,400}');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue', scoring => 'fixed',
                        r_breaks => '{-30,-200,-100,-300}', f_breaks => '{2,3,4,5}', m_breaks => '{100,200,300,400}');

-- ==== Bad input ====

SELECT rfm_create_model('pkg', 'rfm_orders', 'customer_id', 'order_date', 'revenue');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer', 'order_date', 'revenue');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'email', 'revenue');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'email');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue', bins => 1);
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue', scoring => 'ntile');
SELECT rfm_create_model('bad', 'rfm_orders', 'customer_id', 'order_date', 'revenue', time_unit => 'fortnight');
SELECT rfm_create_model(repeat('n', 54), 'rfm_orders', 'customer_id', 'order_date', 'revenue');
SELECT rfm_create_model('bad', 'no_such_table', 'customer_id', 'order_date', 'revenue');
SELECT rfm_create_model('bad', 'rfm_refresh_log_id_seq', 'customer_id', 'order_date', 'revenue');
SELECT rfm_create_model(NULL, 'rfm_orders', 'customer_id', 'order_date', 'revenue');
CALL rfm_refresh('no such model');
SELECT rfm_drop_model('no such model');
SELECT rfm_schedule('pkg', '0 3 * * *');
SELECT rfm_unschedule('pkg');
-- nothing of the failed attempts is left behind
SELECT name FROM rfm_model ORDER BY name;
SELECT count(*) FROM pg_namespace WHERE nspname = 'bad';

-- ==== Dropping removes what the model made, nothing else ====

CREATE TABLE bi.mine (keep int);
CREATE VIEW bi.on_top AS SELECT count(*) FROM bi.pkg_customers;
SELECT rfm_drop_model('pkg');
DROP VIEW bi.on_top;
SELECT rfm_drop_model('pkg');
SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'bi' ORDER BY 1;
SELECT count(*) AS log_rows_of_pkg FROM rfm_refresh_log WHERE model = 'pkg';
DROP TABLE bi.mine;
-- a schema the model created goes with it, when nothing else is in it
SELECT rfm_drop_model('q1 "report"; DROP TABLE x');
SELECT count(*) AS schema_left FROM pg_namespace WHERE nspname = 'Report "Q1"';
SELECT rfm_drop_model('tokyo');
SELECT rfm_drop_model('fixed');
SELECT rfm_drop_model('flaky');
SELECT count(*) AS relations_left FROM pg_class
WHERE relname ~ '^(pkg|fixed|flaky|tokyo)_' OR relname LIKE 'q1 "report%';
DROP SCHEMA bi;
DROP VIEW flaky_orders;
DROP TABLE flaky, x, "Sales Dept"."orders; DROP TABLE x";
DROP SCHEMA "Sales Dept";

-- ==== Permissions and row-level security ====

CREATE ROLE regress_rfm_owner;
CREATE ROLE regress_rfm_analyst;
CREATE ROLE regress_rfm_reader;
CREATE SCHEMA shop AUTHORIZATION regress_rfm_owner;
GRANT CREATE ON DATABASE contrib_regression TO regress_rfm_analyst;
SET ROLE regress_rfm_owner;
CREATE TABLE shop.orders (customer int, t date, amount numeric, region text);
INSERT INTO shop.orders
SELECT c, date '2023-01-01' + (c * 7 + k * 13) % 300, 10 + (c * k) % 90, CASE WHEN c % 3 = 0 THEN 'north' ELSE 'south' END
FROM generate_series(1, 60) c, generate_series(1, 1 + c % 4) k;
-- the owner, no superuser, creates and refreshes a model of its table
SELECT count(*) FROM rfm_create_model('shop', 'shop.orders', 'customer', 't', 'amount',
                                      schema_name => 'shop', as_of => '2024-01-01', clv => false);
CALL rfm_refresh('shop');
SELECT outcome, refreshed_by FROM rfm_refresh_log WHERE model = 'shop' ORDER BY id;
-- a reader gets the views and nothing else
GRANT USAGE ON SCHEMA shop TO regress_rfm_reader;
GRANT SELECT ON shop.shop_customers, shop.shop_segments TO regress_rfm_reader;
-- the analyst may read the northern orders only
ALTER TABLE shop.orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY north_only ON shop.orders FOR SELECT TO regress_rfm_analyst USING (region = 'north');
GRANT USAGE ON SCHEMA shop TO regress_rfm_analyst;
GRANT SELECT ON shop.orders TO regress_rfm_analyst;
RESET ROLE;

SET ROLE regress_rfm_reader;
SELECT (SELECT count(*) FROM shop.shop_customers) AS customers,
       (SELECT sum(customers) FROM shop.shop_segments) AS in_segments;
SELECT count(*) FROM shop.orders;
SELECT count(*) FROM shop.shop_summary;
-- the history through rfm's functions: not granted yet, then granted, read
-- as the reader itself (a plain table of built-in types runs nobody's code)
SELECT * FROM rfm_snapshots('shop');
RESET ROLE;
GRANT SELECT ON shop.shop_history TO regress_rfm_reader;
SET ROLE regress_rfm_reader;
SELECT count(*) AS snapshots, sum(customers) AS rows FROM rfm_snapshots('shop');
SELECT sum(customers) AS customers FROM rfm_transition_matrix('shop', '2024-01-01 00:00+00', '2024-01-01 00:00+00');
RESET ROLE;
-- with row-level security on the history, the owner's policy would run as
-- the reader: rfm reads it for members of the owner only
ALTER TABLE shop.shop_history ENABLE ROW LEVEL SECURITY;
SET ROLE regress_rfm_reader;
SELECT * FROM rfm_snapshots('shop');
RESET ROLE;
ALTER TABLE shop.shop_history DISABLE ROW LEVEL SECURITY;

-- The analyst's own model sees what row-level security lets it see: the
-- 20 northern customers, not the 60.
SET ROLE regress_rfm_analyst;
SELECT count(*) FROM rfm_create_model('north', 'shop.orders', 'customer', 't', 'amount',
                                      schema_name => 'analyst', as_of => '2024-01-01', clv => false);
SELECT count(*) AS customers, sum(monetary) AS revenue,
       (SELECT sum(amount) FROM shop.orders) AS visible_revenue
FROM analyst.north_customers;
CALL rfm_refresh('north');
SELECT count(*) AS customers FROM analyst.north_customers;
-- the summary is rfm_model_summarize's one pass (rfm_summarize's grouping), which reads the orders as the
-- model's owner in a refresh: the analyst's policy, 20 customers
SELECT (SELECT q.definition FROM rfm_model m, rfm_model_view_sql(m, 'a') q
        WHERE m.name = 'north' AND q.view_suffix = '_summary') LIKE '%rfm_model_summarize(%' AS one_pass,
       (SELECT count(*) FROM analyst.north_summary) AS customers;
-- and it cannot touch the owner's model
CALL rfm_refresh('shop');
SELECT rfm_drop_model('shop');
UPDATE rfm_model SET as_of = '2030-01-01' WHERE name = 'shop';
SELECT as_of FROM rfm_model WHERE name = 'shop';
INSERT INTO rfm_model (name, schema_name, source, customer_column, time_column, amount_column, time_type,
                       amount_type, bins, scoring, time_unit, clv, clv_horizon, margin, discount_rate, l2,
                       keep_history, time_zone, owner)
VALUES ('fake', 'shop', 'shop.orders', 'customer', 't', 'amount', 'date', 'numeric', 5, 'quantile', 'day',
        false, 1, 1, 0, 0, false, 'UTC', 'regress_rfm_owner');
-- nor its refresh log, which only the extension's functions write, and
-- which shows a role the refreshes of the models it may act for only
SELECT count(*) AS shop_log_rows_seen FROM rfm_refresh_log WHERE model = 'shop';
UPDATE rfm_refresh_log SET outcome = 'abandoned' WHERE model = 'shop';
INSERT INTO rfm_refresh_log (model, outcome) VALUES ('shop', 'ok');
SELECT rfm_catalog_write('log_start', 'shop');
SELECT rfm_catalog_write('register', 'fake', '{"name": "fake", "owner": "regress_rfm_owner", "schema_name": "shop"}');
SELECT rfm_drop_model('north');
RESET ROLE;
SELECT count(*) FROM pg_namespace WHERE nspname = 'analyst';
SELECT model, outcome, sqlstate, refreshed_by FROM rfm_refresh_log WHERE model = 'shop' ORDER BY id;
-- the superuser's model sees every row
SELECT count(*) FROM rfm_create_model('all', 'shop.orders', 'customer', 't', 'amount',
                                      as_of => '2024-01-01', clv => false, keep_history => false);
SELECT count(*) AS customers FROM all_customers;
SELECT rfm_drop_model('all');
SET ROLE regress_rfm_owner;
SELECT rfm_drop_model('shop');
DROP TABLE shop.orders;
RESET ROLE;
DROP SCHEMA shop;
REVOKE CREATE ON DATABASE contrib_regression FROM regress_rfm_analyst;
DROP ROLE regress_rfm_owner, regress_rfm_analyst, regress_rfm_reader;
SELECT count(*) AS models_left FROM rfm_model;
