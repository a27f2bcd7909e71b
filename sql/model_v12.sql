-- Models, what 1.2 adds: the purchase model chosen, standard errors, the
-- spend model on the repeat purchases, the customer groups, profit and the
-- whale curve, leads, transitions by group, and days independent of the
-- session's time zone.
SET extra_float_digits = 0;

-- ==== CDNOW: a model reproduces the published fits ====
-- The CDNOW sample (Fader, Hardie & Lee 2005, as distributed with
-- lifetimes), calibration 1997-01-01 .. 1997-09-30, in weeks.
CREATE TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE cdnow (customer_id int, day date, dollars numeric);
INSERT INTO cdnow
SELECT f[2]::int, to_date(f[3], 'YYYYMMDD'), f[5]::numeric
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM cdnow_raw) s;
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers FROM cdnow;

SET TimeZone = 'UTC';
SELECT count(*) FROM rfm_create_model('cd', 'cdnow', 'customer_id', 'day', 'dollars',
                                      as_of => '1997-09-30 12:00+00', time_unit => 'week',
                                      clv_horizon => 39, l2 => 0);
-- BG/NBD: r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4 (Fader, Hardie
-- & Lee 2005); Gamma-Gamma on the mean value of the repeat purchases: p
-- 6.25, q 3.74, gamma 15.44 over the 946 repeat customers (Fader, Hardie &
-- Lee 2005, "RFM and CLV").
SELECT purchase_model, round(bgnbd_r::numeric, 3) AS r, round(bgnbd_alpha::numeric, 3) AS alpha,
       round(bgnbd_a::numeric, 3) AS a, round(bgnbd_b::numeric, 3) AS b,
       round(purchase_log_likelihood::numeric, 1) AS ll,
       round(gg_p::numeric, 2) AS p, round(gg_q::numeric, 2) AS q, round(gg_gamma::numeric, 2) AS gamma,
       gg_customers
FROM cd_fit;
-- Standard errors (about r 0.0126, alpha 0.378, a 0.186, b 0.705 on CDNOW),
-- AIC = 2k - 2 LL and BIC = k ln n - 2 LL with k = 4, n = 2357
SELECT round((purchase_se->>'r')::numeric, 4) AS r_se, round((purchase_se->>'alpha')::numeric, 3) AS alpha_se,
       round((purchase_se->>'a')::numeric, 3) AS a_se, round((purchase_se->>'b')::numeric, 3) AS b_se,
       round((purchase_aic - (2 * 4 - 2 * purchase_log_likelihood))::numeric, 9) AS aic_check,
       round((purchase_bic - (4 * ln(customers) - 2 * purchase_log_likelihood))::numeric, 9) AS bic_check,
       gg_p_se > 0 AND gg_q_se > 0 AND gg_gamma_se > 0 AS gg_se_positive
FROM cd_fit;
-- The comments name the model's unit.
SELECT col_description('cd_customers'::regclass, 2) AS recency_comment;

-- Pareto/NBD: r 0.553, alpha 10.578, s 0.606, beta 11.669, LL -9595.0.
SELECT count(*) FROM rfm_create_model('cdp', 'cdnow', 'customer_id', 'day', 'dollars',
                                      as_of => '1997-09-30 12:00+00', time_unit => 'week',
                                      clv_horizon => 39, l2 => 0, purchase_model => 'pareto_nbd');
SELECT purchase_model, bgnbd_r, round(pnbd_r::numeric, 3) AS r, round(pnbd_alpha::numeric, 3) AS alpha,
       round(pnbd_s::numeric, 3) AS s, round(pnbd_beta::numeric, 3) AS beta,
       round(purchase_log_likelihood::numeric, 1) AS ll, purchase_se ? 'beta' AS se_of_beta
FROM cdp_fit;
-- Its customers are scored by the Pareto/NBD model itself.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE abs(c.p_alive - rfm_p_alive(f.pnbd, s.repeat_frequency, s.repeat_recency, s.age)) > 1e-12)
           AS p_alive_differs,
       count(*) FILTER (WHERE c.expected_purchases IS NULL) AS without_expectation
FROM cdp_customers c JOIN cdp_summary s USING (customer), cdp_fit f;
SELECT rfm_create_model('bad', 'cdnow', 'customer_id', 'day', 'dollars', purchase_model => 'pareto');

-- ==== Groups and profit, against the functions and plain SQL ====
SELECT count(*) FROM rfm_create_model('grp', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '2007-01-01 00:00+00', clv => false,
                                      margin => 0.4, cost_per_order => 5, cost_per_customer => 20);
-- A-E with the buyers' mean frequency and order value (rfm_group_settings'
-- default), ARPU per 365 days of tenure, value tiers by revenue: the
-- columns are what rfm_group_cuts and the per-customer functions give.
CREATE TEMP TABLE grp_input AS
SELECT c.customer, c.frequency, c.avg_order_value, rfm_arpu(c.monetary::float8, s.tenure, 365) AS arpu,
       c.monetary::float8 AS revenue
FROM grp_customers c JOIN grp_summary s USING (customer) WHERE c.frequency > 0;
WITH k AS (SELECT * FROM rfm_group_cuts('grp_input', 'frequency', 'avg_order_value', 'arpu', 'revenue'))
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.ae_group IS DISTINCT FROM
                              rfm_ae_group(c.frequency, c.avg_order_value, k.ae_frequency_cut, k.ae_aov_cut))
           AS ae_differs,
       count(*) FILTER (WHERE c.arpu_group IS DISTINCT FROM rfm_arpu_group(c.arpu, k.arpu_basic_cut, k.arpu_high_cut))
           AS arpu_differs,
       count(*) FILTER (WHERE c.value_tier IS DISTINCT FROM
                              rfm_value_tier(c.monetary::float8, k.value_low_cut, k.value_high_cut)) AS tier_differs,
       count(*) FILTER (WHERE c.ae_strategy IS DISTINCT FROM rfm_group_strategy(c.ae_group)) AS strategy_differs
FROM grp_customers c, k;
SELECT ae_group, count(*) AS customers FROM grp_customers GROUP BY 1 ORDER BY 1;
SELECT value_tier, count(*) AS customers FROM grp_customers GROUP BY 1 ORDER BY 1;
-- Profit: 0.4 * revenue - 5 per order - 20 per customer, by hand from the
-- orders; the whale curve is its running share, most profitable first.
WITH h AS (SELECT customer_id, 0.4 * sum(revenue) - 5 * count(*) - 20 AS profit
           FROM rfm_orders WHERE order_date <= '2007-01-01' GROUP BY customer_id),
     r AS (SELECT profit, row_number() OVER (ORDER BY profit DESC, customer_id) AS rank,
                  sum(profit) OVER (ORDER BY profit DESC, customer_id) / sum(profit) OVER () AS share,
                  count(*) OVER () AS n
           FROM h)
SELECT p.customer_percent, round(p.profit_share::numeric, 4) AS profit_share, round(r.share::numeric, 4) AS by_hand
FROM grp_pareto p JOIN r ON r.rank = ceil(p.customer_percent * r.n / 100.0)
WHERE p.customer_percent IN (10, 20, 50, 70, 90, 100) ORDER BY 1;
SELECT count(*) AS mismatches
FROM grp_customers c
JOIN (SELECT customer_id, 0.4 * sum(revenue) - 5 * count(*) - 20 AS profit
      FROM rfm_orders GROUP BY customer_id) h ON h.customer_id = c.customer
WHERE abs(c.profit - h.profit::float8) > 1e-9;
SELECT round(sum(profit)::numeric, 2) AS profit, round(sum(profit_share)::numeric, 6) AS shares FROM grp_segments;

-- The groups' strategies are the rules' at the last refresh: the table keeps
-- the group codes, the view and the history give the texts of that refresh.
CREATE TEMP TABLE grp_saved AS SELECT code, strategy_en FROM rfm_customer_group WHERE code IN ('B', 'arpu_high', 'low_value');
UPDATE rfm_customer_group SET strategy_en = 'Call ' || code WHERE code IN ('B', 'arpu_high', 'low_value');
SELECT count(*) FILTER (WHERE ae_strategy LIKE 'Call %' OR arpu_strategy LIKE 'Call %' OR value_strategy LIKE 'Call %')
    AS new_texts_before_refresh
FROM grp_customers;
UPDATE rfm_model SET keep_history = true WHERE name = 'grp';
-- (a history table with a strategy column of its own gets it filled too)
ALTER TABLE grp_history ADD COLUMN ae_strategy text;
CALL rfm_refresh('grp');
SELECT count(*) AS customers,
       count(*) FILTER (WHERE ae_strategy = 'Call B') AS call_b, count(*) FILTER (WHERE ae_group = 'B') AS b,
       count(*) FILTER (WHERE ae_strategy IS DISTINCT FROM rfm_group_strategy(ae_group)
                           OR arpu_strategy IS DISTINCT FROM rfm_group_strategy(arpu_group)
                           OR value_strategy IS DISTINCT FROM rfm_group_strategy(value_tier)) AS differ
FROM grp_customers;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (h.ae_group, h.segment, h.ae_strategy)
                              IS DISTINCT FROM (c.ae_group, c.segment, c.ae_strategy)) AS differ,
       count(*) FILTER (WHERE h.ae_strategy = 'Call B') AS call_b
FROM grp_history h JOIN grp_customers c USING (customer);
UPDATE rfm_customer_group g SET strategy_en = s.strategy_en FROM grp_saved s WHERE g.code = s.code;
CALL rfm_refresh('grp');
SELECT count(*) FILTER (WHERE ae_strategy LIKE 'Call %' OR arpu_strategy LIKE 'Call %' OR value_strategy LIKE 'Call %')
    AS edited_texts_after_restore
FROM grp_customers;

-- ==== Leads: customers without an order, the acquisition stage ====
CREATE TABLE crm (customer_id text, signed_up date);
INSERT INTO crm SELECT DISTINCT customer_id, date '2001-01-01' FROM rfm_orders WHERE customer_id < 'C';
INSERT INTO crm VALUES ('Lead One', '2006-12-01'), ('Lead Two', '2006-12-15'), ('Lead One', '2006-12-20'), (NULL, NULL);
SELECT count(*) FROM rfm_create_model('fun', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '2007-01-01 00:00+00', clv => false, leads => 'crm');
SELECT customer, frequency, lifecycle_stage, ae_group, segment, revenue_rank
FROM fun_customers WHERE frequency = 0 ORDER BY customer;
-- the funnel: the leads first, then the buyers by their stages
SELECT lifecycle_stage, count(*) FROM fun_customers GROUP BY 1 ORDER BY count(*) DESC, 1;
-- segments and the Pareto curve count buyers only
SELECT sum(customers) AS in_segments FROM fun_segments;
SELECT customers FROM fun_pareto WHERE customer_percent = 100;
-- a lead who orders leaves the acquisition stage at the next refresh, and
-- the transition matrix by A-E group shows it (A -> B, C, D or E)
INSERT INTO rfm_orders (customer_id, order_date, revenue) VALUES ('Lead One', '2007-01-10', 50);
CALL rfm_refresh('fun', '2007-02-01 00:00+00');
SELECT from_segment AS from_group, to_segment AS to_group, customers
FROM rfm_transition_matrix('fun', by => 'ae_group') WHERE from_segment = 'A' OR to_segment = 'A' ORDER BY 1, 2;
SELECT * FROM rfm_transition_matrix('fun', by => 'no_such_column');
DELETE FROM rfm_orders WHERE customer_id = 'Lead One';

-- ==== Days do not depend on the session's time zone ====
-- Orders near midnight: which calendar day they fall on is the model's
-- time zone's business.  The same refresh from sessions in three zones
-- gives the same rows.
CREATE TABLE late (customer int, t timestamptz, amount numeric);
INSERT INTO late SELECT c, '2024-03-01 23:30+00'::timestamptz + (k * 7 + c) * interval '1 day 1 hour', 10 + k
FROM generate_series(1, 30) c, generate_series(0, 3) k;
SET TimeZone = 'Asia/Shanghai';
SELECT count(*) FROM rfm_create_model('tz', 'late', 'customer', 't', 'amount', as_of => '2024-06-01 00:00+00',
                                      clv => false);
CREATE TEMP TABLE tz_first AS SELECT * FROM tz_summary;
SET TimeZone = 'America/Los_Angeles';
CALL rfm_refresh('tz');
SELECT count(*) AS rows, count(*) FILTER (WHERE (a.*)::text IS DISTINCT FROM (b.*)::text) AS differ
FROM tz_first a FULL JOIN tz_summary b USING (customer);
SET TimeZone = 'UTC';
CALL rfm_refresh('tz');
SELECT count(*) FILTER (WHERE a.purchase_days IS DISTINCT FROM b.purchase_days OR a.age IS DISTINCT FROM b.age)
       AS differ
FROM tz_first a FULL JOIN tz_summary b USING (customer);
-- and they are the days of Shanghai, the zone the model was created in
SELECT count(*) FILTER (WHERE s.purchase_days <> h.days) AS differ
FROM tz_summary s
JOIN (SELECT customer, count(DISTINCT (t AT TIME ZONE 'Asia/Shanghai')::date) AS days FROM late GROUP BY 1) h
  USING (customer);

-- ==== The summary in one pass ====
-- Over date and timestamptz sources the summary view is rfm_model_summarize (one
-- state per customer for summary, lifecycle and repeat value); over
-- timestamp it stays the aggregates.  Its rows are those of the aggregates
-- GROUP BY customer, written out here: integer and text customers, returns,
-- NULL customers, orders after as_of, a customer with only those, NULL times
-- and amounts, days in a zone with a daylight saving change.
CREATE TABLE op_int (customer int, t timestamptz, amount numeric);
INSERT INTO op_int
SELECT CASE WHEN k % 17 = 0 THEN NULL ELSE c END,
       CASE WHEN k % 23 = 0 THEN NULL
            ELSE '2024-02-20 03:30+00'::timestamptz + ((c * 37 + k * 11) % 400) * interval '5 hours 7 minutes' END,
       CASE WHEN k % 29 = 0 THEN NULL WHEN (c + k) % 9 = 0 THEN -(c % 40) ELSE 5 + (c * k) % 120 END
FROM generate_series(1, 80) c, generate_series(0, c % 7) k;
INSERT INTO op_int VALUES (1000, '2024-12-01 00:00+00', 10), (NULL, '2024-03-10 07:30+00', 99);
SET TimeZone = 'America/New_York';
SELECT count(*) FROM rfm_create_model('op_i', 'op_int', 'customer', 't', 'amount', as_of => '2024-05-01 00:00+00',
                                      time_unit => 'week', clv => false);
CREATE TABLE op_text (customer text, d date, amount float8);
INSERT INTO op_text
SELECT CASE WHEN k % 13 = 0 THEN NULL ELSE 'C' || c END, date '2023-11-01' + (c * 13 + k * 29) % 250,
       CASE WHEN (c + k) % 4 = 0 THEN -1.25 * c ELSE 3.5 + (c * k) % 60 END
FROM generate_series(1, 70) c, generate_series(0, c % 5) k;
SET TimeZone = 'Asia/Tokyo';
SELECT count(*) FROM rfm_create_model('op_t', 'op_text', 'customer', 'd', 'amount', as_of => '2024-05-01 12:00+00',
                                      clv => false);
CREATE TABLE op_ts AS SELECT customer, t AT TIME ZONE 'America/New_York' AS t, amount FROM op_int;
SET TimeZone = 'America/New_York';
SELECT count(*) FROM rfm_create_model('op_s', 'op_ts', 'customer', 't', 'amount', as_of => '2024-05-01 00:00+00',
                                      clv => false);
SET TimeZone = 'UTC';
SELECT m.name || '_summary' AS v, q.definition LIKE '%rfm_model_summarize(%' AS one_pass
FROM rfm_model m, rfm_model_view_sql(m, 'a') q
WHERE m.name IN ('op_i', 'op_t', 'op_s') AND q.view_suffix = '_summary' ORDER BY m.name <> 'op_i', m.name <> 'op_t';
-- every row and column equal to the aggregates'
SELECT count(*) AS rows, count(*) FILTER (WHERE (a.*)::text IS DISTINCT FROM (b.*)::text) AS differ,
       count(*) FILTER (WHERE a.returns > 0) AS with_returns
FROM op_i_summary a
FULL JOIN (SELECT q.customer, (q.s).frequency, (q.s).returns, (q.s).monetary, (q.s).avg_order_value,
                  (q.s).first_order, (q.s).last_order, (q.s).recency / 7, (q.s).tenure / 7, (q.s).purchase_days,
                  (q.s).repeat_frequency, (q.s).repeat_recency / 7, (q.s).age / 7, q.stage, (q.s).as_of, q.rv
           FROM (SELECT customer,
                        rfm_summary(t, amount, '2024-05-01 00:00+00', 'America/New_York') AS s,
                        rfm_lifecycle(t, amount, '2024-05-01 00:00+00', 'America/New_York') AS stage,
                        rfm_repeat_value(t, amount, '2024-05-01 00:00+00', 'America/New_York') AS rv
                 FROM op_int WHERE customer IS NOT NULL GROUP BY customer) q
           WHERE q.s IS NOT NULL) b(customer) USING (customer);
-- (dates become times at midnight of the model's zone, which a refresh sets)
SET TimeZone = 'Asia/Tokyo';
SELECT count(*) AS rows, count(*) FILTER (WHERE (a.*)::text IS DISTINCT FROM (b.*)::text) AS differ,
       count(*) FILTER (WHERE a.returns > 0) AS with_returns
FROM op_t_summary a
FULL JOIN (SELECT q.customer, (q.s).frequency, (q.s).returns, (q.s).monetary, (q.s).avg_order_value,
                  (q.s).first_order, (q.s).last_order, (q.s).recency, (q.s).tenure, (q.s).purchase_days,
                  (q.s).repeat_frequency, (q.s).repeat_recency, (q.s).age, q.stage, (q.s).as_of, q.rv
           FROM (SELECT customer,
                        rfm_summary(d, amount, date '2024-05-01') AS s,
                        rfm_lifecycle(d, amount, date '2024-05-01') AS stage,
                        rfm_repeat_value(d, amount, date '2024-05-01') AS rv
                 FROM op_text WHERE customer IS NOT NULL GROUP BY customer) q
           WHERE q.s IS NOT NULL) b(customer) USING (customer);
SET TimeZone = 'UTC';
-- the timestamp model (aggregates) agrees with the timestamptz one
SELECT count(*) AS rows, count(*) FILTER (WHERE (a.*)::text IS DISTINCT FROM (b.*)::text) AS differ
FROM (SELECT customer, orders, returns, revenue, purchase_days, repeat_value, lifecycle_rule_stage FROM op_s_summary) a
FULL JOIN (SELECT customer, orders, returns, revenue, purchase_days, repeat_value, lifecycle_rule_stage
           FROM op_i_summary) b USING (customer);
-- the column types are the aggregates' (BI tools see the same views)
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = 'op_t_summary'::regclass AND a.attnum > 0 ORDER BY a.attnum;

SELECT rfm_drop_model(name) FROM rfm_model WHERE name IN ('cd', 'cdp', 'grp', 'fun', 'tz', 'op_i', 'op_t', 'op_s')
ORDER BY name;
DROP TABLE cdnow_raw, cdnow, crm, late, op_int, op_text, op_ts;
RESET TimeZone;
