-- rfm_model_customers (C) against a second, SQL implementation of the same
-- definitions: the query of a model's _customers of the earlier 1.2
-- materialized views (window functions rfm_scores and rfm_value_type over
-- all rows, percentile_cont, row_number), with profit in double precision as
-- documented.  Every row and column must be equal, for models with quantile
-- and fixed scoring, 4, 5 and 10 bins, CLV or not, costs, leads, and the
-- group settings by mean, median and fixed cuts, by revenue and by CLV.
SET TimeZone = 'UTC';
\set VERBOSITY default
\set SHOW_CONTEXT never

CREATE FUNCTION pg_temp.reference_customers(model text) RETURNS text
LANGUAGE plpgsql AS $fn$
DECLARE
    m rfm_model := (SELECT rm FROM rfm_model rm WHERE rm.name = model);
    unit_days float8 := CASE m.time_unit WHEN 'hour' THEN 1.0 / 24 WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                         WHEN 'month' THEN 365.25 / 12 WHEN 'quarter' THEN 365.25 / 4
                                         ELSE 365.25 END;
    cust_type text := (SELECT format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.customer_column);
    s text := format('%I.%I', m.schema_name, m.name || '_summary');
    f text := format('%I.%I', m.schema_name, m.name || '_fit');
    scores text;
    seg text;
    leads text;
    definition text;
BEGIN
    IF m.scoring = 'fixed' THEN
        scores := format('ROW(rfm_score(-s.recency, '
                         '(SELECT vi.r_breaks FROM rfm_model_view_input vi WHERE vi.name = %1$L)), '
                         'rfm_score(s.orders::float8, '
                         '(SELECT vi.f_breaks FROM rfm_model_view_input vi WHERE vi.name = %1$L)), '
                         'rfm_score(s.revenue::float8, '
                         '(SELECT vi.m_breaks FROM rfm_model_view_input vi WHERE vi.name = %1$L))'
                         ')::rfm_scores', m.name);
    ELSE
        scores := format('rfm_scores(s.recency, s.orders::float8, s.revenue::float8, %s) OVER ()',
                         m.bins);
    END IF;
    IF m.bins = 5 THEN
        seg := 'rfm_segment(j.r, j.f, j.m)';
    ELSE
        seg := 'NULL::text';
    END IF;
    leads := format('SELECT NULL::%s AS customer WHERE false', cust_type);
    IF m.leads IS NOT NULL THEN
        -- the customers of the leads table without an order: the acquisition stage
        leads := format($q$
SELECT DISTINCT ON (l.%2$I) l.%2$I::%3$s AS customer
FROM %1$s l
WHERE l.%2$I IS NOT NULL AND NOT EXISTS (SELECT 1 FROM %4$s s WHERE s.customer = l.%2$I::%3$s AND s.orders > 0)$q$,
            m.leads, m.leads_column, cust_type, s);
    END IF;

    definition := format($q$
WITH b AS (
SELECT k.customer, k.recency, k.orders AS frequency, k.revenue AS monetary, k.avg_order_value,
       k.r AS r_score, k.f AS f_score, k.m AS m_score, k.r + k.f + k.m AS rfm_score,
       CASE WHEN %5$s <= 9 THEN k.r::text || k.f::text || k.m::text
            ELSE k.r::text || '.' || k.f::text || '.' || k.m::text END AS rfm_cell,
       k.segment, k.value_type,
       rfm_strategy(k.segment) AS strategy,
       k.tier, rfm_tier_discount(k.tier) AS tier_discount,
       rfm_lifecycle_stage(k.lifecycle_rule_stage, k.p_alive) AS lifecycle_stage,
       k.p_alive, k.expected_purchases, k.expected_order_value,
       coalesce(rfm_clv(%14$s, k.repeat_frequency, k.repeat_recency, k.age,
                                    k.expected_order_value, %6$s, %7$s, %8$s),
                rfm_clv(%15$s, k.repeat_frequency, k.repeat_recency, k.age,
                                    k.expected_order_value, %6$s, %7$s, %8$s)) AS clv,
       k.revenue_rank, k.as_of,
       %7$s::float8 * k.revenue::float8 - %9$s::float8 * k.orders::float8 - %10$s::float8 AS profit,
       k.tenure * %11$s AS tenure_days
FROM (SELECT j.*, %4$s AS segment,
             CASE WHEN j.r IS NOT NULL THEN rfm_tier(%4$s, j.r + j.f + j.m, j.revenue) END AS tier,
             coalesce(rfm_p_alive(%14$s, j.repeat_frequency, j.repeat_recency, j.age),
                      rfm_p_alive(%15$s, j.repeat_frequency, j.repeat_recency, j.age)) AS p_alive,
             coalesce(rfm_expected_purchases(%14$s, %6$s, j.repeat_frequency, j.repeat_recency, j.age),
                      rfm_expected_purchases(%15$s, %6$s, j.repeat_frequency, j.repeat_recency, j.age))
                 AS expected_purchases,
             rfm_expected_order_value(%16$s, j.repeat_frequency,
                 CASE WHEN j.repeat_frequency > 0 THEN GREATEST(coalesce(j.repeat_value, 0), 0.01) ELSE 0 END)
                 AS expected_order_value
      FROM (SELECT w.*, (w.sc).r AS r, (w.sc).f AS f, (w.sc).m AS m
            FROM (SELECT s.*, %3$s AS sc,
                         rfm_value_type(s.recency, s.orders::float8, s.revenue::float8) OVER ()
                             AS value_type,
                         row_number() OVER (ORDER BY s.revenue DESC, s.customer) AS revenue_rank
                  FROM %1$s s
                  WHERE s.orders > 0
                  OFFSET 0) w) j) k),
     g AS (
SELECT b.*, rfm_arpu(b.monetary::float8, b.tenure_days, gs.arpu_period_days) AS arpu,
       CASE gs.value_by WHEN 'clv' THEN b.clv ELSE b.monetary::float8 END AS value
FROM b, rfm_group_settings gs),
     cuts AS (
SELECT CASE gs.ae_cut WHEN 'mean' THEN avg(g.frequency::float8)
                      WHEN 'median' THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY g.frequency::float8)
                      ELSE gs.ae_frequency_cut END AS ae_frequency_cut,
       CASE gs.ae_cut WHEN 'mean' THEN avg(g.avg_order_value::float8)
                      WHEN 'median' THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY g.avg_order_value::float8)
                      ELSE gs.ae_aov_cut END AS ae_aov_cut,
       percentile_cont(gs.arpu_basic_share) WITHIN GROUP (ORDER BY g.arpu) AS arpu_basic_cut,
       gs.arpu_high AS arpu_high_cut,
       percentile_cont(gs.value_low_share) WITHIN GROUP (ORDER BY g.value) AS value_low_cut,
       percentile_cont(1 - gs.value_high_share) WITHIN GROUP (ORDER BY g.value) AS value_high_cut
FROM g, rfm_group_settings gs
GROUP BY gs.id),
     grouped AS (
SELECT g.*,
       rfm_ae_group(g.frequency::float8, g.avg_order_value::float8, cuts.ae_frequency_cut, cuts.ae_aov_cut)
           AS ae_group,
       rfm_arpu_group(g.arpu, cuts.arpu_basic_cut, cuts.arpu_high_cut) AS arpu_group,
       rfm_value_tier(g.value, cuts.value_low_cut, cuts.value_high_cut) AS value_tier,
       row_number() OVER (ORDER BY g.profit DESC, g.customer) AS profit_rank
FROM g LEFT JOIN cuts ON true)
SELECT x.customer, x.recency, x.frequency, x.monetary, x.avg_order_value, x.r_score, x.f_score, x.m_score,
       x.rfm_score, x.rfm_cell, x.segment, x.value_type, x.strategy, x.tier, x.tier_discount,
       x.lifecycle_stage, x.p_alive, x.expected_purchases, x.expected_order_value, x.clv, x.revenue_rank,
       x.as_of, x.profit, x.profit_rank,
       x.ae_group, rfm_group_strategy(x.ae_group) AS ae_strategy,
       x.arpu, x.arpu_group, rfm_group_strategy(x.arpu_group) AS arpu_strategy,
       x.value_tier, rfm_group_strategy(x.value_tier) AS value_strategy
FROM grouped x
UNION ALL
SELECT l.customer, NULL::float8, 0::bigint, 0::numeric, NULL::numeric, NULL::int, NULL::int, NULL::int,
       NULL::int, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::numeric,
       'acquisition'::text, NULL::float8, NULL::float8, NULL::float8, NULL::float8, NULL::bigint,
       (SELECT max(sa.as_of) FROM %1$s sa),
       NULL::float8, NULL::bigint,
       'A'::text, rfm_group_strategy('A'), NULL::float8, NULL::text, NULL::text, NULL::text, NULL::text
FROM (%13$s) l$q$,
        s, f, scores, seg, m.bins, m.clv_horizon, m.margin, m.discount_rate, m.cost_per_order,
        m.cost_per_customer, unit_days, m.name, leads,
        format('(SELECT fit.bgnbd FROM %s fit)', f), format('(SELECT fit.pnbd FROM %s fit)', f),
        format('(SELECT fit.gamma_gamma FROM %s fit)', f));
    RETURN definition;
END
$fn$;

-- Rows of the model's _customers that differ from the reference (compared as
-- text: floats print exactly).
CREATE FUNCTION pg_temp.differ(model text, OUT customers bigint, OUT differ bigint) LANGUAGE plpgsql AS $fn$
DECLARE
    m rfm_model := (SELECT rm FROM rfm_model rm WHERE rm.name = model);
BEGIN
    EXECUTE format('SELECT count(*), count(*) FILTER (WHERE a::text IS DISTINCT FROM b::text) '
                   'FROM %I.%I a FULL JOIN (%s) b USING (customer)',
                   m.schema_name, m.name || '_customers', pg_temp.reference_customers(model))
        INTO customers, differ;
END
$fn$;

-- A refresh computes _segments and _pareto from the customers in memory
-- (src/customers_totals.c).  The rows of those views that differ from what
-- their SQL (rfm_model_view_sql, over the views themselves) gives: numbers
-- and texts equal, floats within 1e-12 of each other (their sums may add in
-- another order).
CREATE FUNCTION pg_temp.near(a float8, b float8) RETURNS boolean LANGUAGE sql IMMUTABLE AS
$fn$ SELECT (a IS NULL AND b IS NULL) OR abs(a - b) <= 1e-12 * greatest(1, abs(a), abs(b)) $fn$;
CREATE FUNCTION pg_temp.totals_differ(model text, OUT segments bigint, OUT segments_differ bigint,
                                      OUT pareto bigint, OUT pareto_differ bigint) LANGUAGE plpgsql AS $fn$
DECLARE
    m rfm_model := (SELECT rm FROM rfm_model rm WHERE rm.name = model);
    v text;
    same text;
    n bigint;
    d bigint;
BEGIN
    FOREACH v IN ARRAY ARRAY['_segments', '_pareto'] LOOP
        SELECT string_agg(CASE WHEN a.atttypid = 'float8'::regtype
                               THEN format('pg_temp.near(a.%1$I, b.%1$I)', a.attname)
                               ELSE format('a.%1$I IS NOT DISTINCT FROM b.%1$I', a.attname) END, ' AND ')
        INTO same
        FROM pg_attribute a WHERE a.attrelid = format('%I.%I', m.schema_name, m.name || v)::regclass AND a.attnum > 0;
        EXECUTE format('SELECT count(*), count(*) FILTER (WHERE NOT coalesce(%s, false)) FROM %I.%I a FULL JOIN (%s) b ON %s',
                       same, m.schema_name, m.name || v,
                       (SELECT q.definition FROM rfm_model_view_sql(m) q WHERE q.view_suffix = v),
                       CASE v WHEN '_segments' THEN 'coalesce(a.segment, '''') = coalesce(b.segment, '''')'
                              ELSE 'a.customer_percent = b.customer_percent' END)
            INTO n, d;
        IF v = '_segments' THEN
            segments := n;
            segments_differ := d;
        ELSE
            pareto := n;
            pareto_differ := d;
        END IF;
    END LOOP;
END
$fn$;

CREATE TABLE mc_leads AS SELECT DISTINCT customer_id AS id FROM rfm_orders UNION ALL VALUES ('nobody 1'), ('nobody 2');

-- The R package's orders: quantile scores, no CLV; then fixed scoring of 4
-- bins and quantile scoring of 10 bins.
SELECT count(*) FROM rfm_create_model('mc_pkg', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      schema_name => 'mc', as_of => '2007-01-01', clv => false,
                                      leads => 'mc_leads', leads_column => 'id');
SELECT * FROM pg_temp.differ('mc_pkg');
SELECT * FROM pg_temp.totals_differ('mc_pkg');

-- rfm_model_customers reads only a plain table of the calling role (a
-- refresh calls it as the model's owner): another role's table, or a view,
-- whose code would run with the caller's rights, is refused with 42501.
CREATE ROLE regress_mc_other;
GRANT USAGE ON SCHEMA mc TO regress_mc_other;
GRANT SELECT ON mc."mc_pkg$sum_a" TO regress_mc_other;
\set VERBOSITY terse
SET ROLE regress_mc_other;
SELECT count(*) FROM rfm_model_customers('mc."mc_pkg$sum_a"', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL,
                                         1, 1, 0, 0, 0, 1, NULL);
RESET ROLE;
SELECT count(*) FROM rfm_model_customers('mc.mc_pkg_summary', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL,
                                         1, 1, 0, 0, 0, 1, NULL);
\set VERBOSITY default
SELECT count(*) = 995 AS own_table_read
FROM rfm_model_customers('mc."mc_pkg$sum_a"', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 0, 0, 0, 1,
                         (SELECT gs FROM rfm_group_settings gs));
-- The summary table is read in customer order whatever order its rows are
-- stored in (an incremental model's in-place rows move): shuffled, or in
-- order but for rows here and there (runs of rows written into the room of
-- others, rows far before their place), the rows are those of the table in
-- order.
CREATE FUNCTION pg_temp.customers_of(t regclass) RETURNS SETOF mc."mc_pkg$cus_a" LANGUAGE sql AS $fn$
    SELECT x.customer, x.recency, x.frequency, x.monetary, x.avg_order_value, x.r_score, x.f_score, x.m_score,
           x.rfm_score, x.rfm_cell, x.segment, x.value_type, x.strategy, x.tier, x.tier_discount,
           x.lifecycle_stage, x.p_alive, x.expected_purchases, x.expected_order_value, x.clv, x.as_of, x.profit,
           x.ae_group, x.arpu, x.arpu_group, x.value_tier, x.revenue_tie, x.profit_tie
    FROM rfm_model_customers(t, NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL, 1, 1, 0, 0, 0, 1,
                             (SELECT gs FROM rfm_group_settings gs)) x
$fn$;
CREATE TABLE mc.sum_ordered AS SELECT * FROM mc."mc_pkg$sum_a" ORDER BY customer;
CREATE TABLE mc.sum_shuffled AS SELECT * FROM mc."mc_pkg$sum_a" ORDER BY md5(customer);
CREATE TABLE mc.sum_nearly AS
SELECT s.* FROM mc."mc_pkg$sum_a" s
ORDER BY CASE WHEN hashtext(s.customer) % 13 = 0 THEN md5(s.customer)
              WHEN hashtext(s.customer) % 29 = 1 THEN 'zz' || s.customer
              ELSE s.customer END;
SELECT t AS stored, (SELECT count(*) FROM (SELECT * FROM pg_temp.customers_of(t::regclass)
                                           EXCEPT ALL SELECT * FROM pg_temp.customers_of('mc.sum_ordered')) d) AS differ,
       (SELECT count(*) FROM pg_temp.customers_of(t::regclass)) AS customers
FROM unnest(ARRAY['mc.sum_shuffled', 'mc.sum_nearly']) t;
-- It is read by a plain scan unless something applies to a query of it
-- that a scan would miss: then by the query.  Row-level security (forced
-- on the owner here) hides the rows its policy hides.
-- (Its owner, an ordinary role: a superuser bypasses every policy.)
CREATE POLICY some_customers ON mc.sum_nearly USING (customer < 'M');
ALTER TABLE mc.sum_nearly ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY;
ALTER TABLE mc.sum_nearly OWNER TO regress_mc_other;
SET ROLE regress_mc_other;
SELECT (SELECT count(*) FROM pg_temp.customers_of('mc.sum_nearly')) AS read_under_policy,
       (SELECT count(*) FROM mc.sum_nearly WHERE orders > 0) AS rows_the_policy_shows;
RESET ROLE;
SELECT count(*) AS rows_before_m FROM mc.sum_ordered WHERE customer < 'M';
DROP TABLE mc.sum_ordered, mc.sum_shuffled, mc.sum_nearly;
DROP FUNCTION pg_temp.customers_of(regclass);
-- rfm_model_customers_into writes the same rows straight into a table,
-- as a refresh fills its new _customers table: only a plain table of the
-- calling role made (or truncated) in the same transaction, with no code to
-- run on it and nothing to check but NOT NULL (no trigger, rule, index, check
-- constraint, default or row-level security), whose columns are some of the
-- rows' by name and type.
CREATE FUNCTION pg_temp.into(target text) RETURNS bigint LANGUAGE sql AS $fn$
    SELECT rfm_model_customers_into('mc."mc_pkg$sum_a"', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL,
                                    1, 1, 0, 0, 0, 1, (SELECT gs FROM rfm_group_settings gs), ARRAY[target::regclass])
$fn$;
CREATE TABLE mc.into_old AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
CREATE FUNCTION mc.into_trigger() RETURNS trigger LANGUAGE plpgsql AS $fn$ BEGIN RETURN NEW; END $fn$;
SELECT pg_temp.into('mc.into_old');
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
GRANT INSERT ON mc.into_t TO regress_mc_other;
SET ROLE regress_mc_other;
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
CREATE TRIGGER into_t BEFORE INSERT ON mc.into_t FOR EACH ROW EXECUTE FUNCTION mc.into_trigger();
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
CREATE INDEX ON mc.into_t (customer);
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
ALTER TABLE mc.into_t ADD CHECK (frequency > 1);
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
ALTER TABLE mc.into_t ENABLE ROW LEVEL SECURITY;
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
-- made before, truncated in this transaction: its new storage is the caller's alone
BEGIN;
TRUNCATE mc.into_old;
SELECT pg_temp.into('mc.into_old') AS written_after_truncate;
ROLLBACK;
-- NOT NULL is checked row by row (CLV is NULL without the fits)
BEGIN;
CREATE TABLE mc.into_t (customer text NOT NULL, clv float8 NOT NULL);
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t (customer text, recency text);
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE TABLE mc.into_t (customer text, shoe_size integer);
SELECT pg_temp.into('mc.into_t');
ROLLBACK;
BEGIN;
CREATE VIEW mc.into_v AS SELECT * FROM mc.into_old;
\set VERBOSITY terse
SELECT pg_temp.into('mc.into_v');
\set VERBOSITY default
ROLLBACK;
-- the rows of rfm_model_customers, every column the table has, none twice
BEGIN;
CREATE TABLE mc.into_t AS SELECT * FROM mc."mc_pkg$cus_a" WITH NO DATA;
SELECT pg_temp.into('mc.into_t') AS written;
SELECT (SELECT count(*) FROM (SELECT * FROM mc.into_t
                              EXCEPT ALL
                              SELECT x.customer, x.recency, x.frequency, x.monetary, x.avg_order_value, x.r_score,
                                     x.f_score, x.m_score, x.rfm_score, x.rfm_cell, x.segment, x.value_type,
                                     x.strategy, x.tier, x.tier_discount, x.lifecycle_stage, x.p_alive,
                                     x.expected_purchases, x.expected_order_value, x.clv, x.as_of,
                                     x.profit, x.ae_group, x.arpu, x.arpu_group, x.value_tier, x.revenue_tie,
                                     x.profit_tie
                              FROM rfm_model_customers('mc."mc_pkg$sum_a"', NULL::text, 5, NULL, NULL, NULL, NULL,
                                                       NULL, NULL, 1, 1, 0, 0, 0, 1,
                                                       (SELECT gs FROM rfm_group_settings gs)) x) d) AS not_from_srf,
       (SELECT count(*) FROM mc.into_t) AS rows_written;
-- a table with fewer columns gets those
CREATE TABLE mc.into_few (segment text, customer text);
SELECT pg_temp.into('mc.into_few') AS written;
SELECT count(*) AS rows, count(DISTINCT customer) AS customers, count(*) FILTER (WHERE segment = 'Champions') > 0 AS champions
FROM mc.into_few;
ROLLBACK;
DROP TABLE mc.into_old;
DROP FUNCTION mc.into_trigger();
-- the customers an incremental refresh read again come from a table of the
-- caller's too: another role's (whose code could run) is refused, 42501
CREATE TABLE mc.other_work (customer text);
GRANT CREATE ON SCHEMA mc TO regress_mc_other;
SET ROLE regress_mc_other;
BEGIN;
CREATE TABLE mc.own_sum AS SELECT * FROM mc."mc_pkg$sum_a";
CREATE TABLE mc.own_t (customer text, segment text);
\set VERBOSITY terse
SELECT rfm_model_customers_into('mc.own_sum', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL,
                                1, 1, 0, 0, 0, 1, (SELECT gs FROM rfm_group_settings gs), ARRAY['mc.own_t'::regclass],
                                NULL, 'mc.other_work'::regclass);
\set VERBOSITY default
ROLLBACK;
-- and the rows that change go in place only into a table of the caller's:
-- another role's, even one it may write, is refused, 42501
RESET ROLE;
CREATE TABLE mc.other_cus AS SELECT * FROM mc."mc_pkg$cus_a";
CREATE UNIQUE INDEX ON mc.other_cus (customer);
GRANT SELECT, INSERT, UPDATE ON mc.other_cus TO regress_mc_other;
SET ROLE regress_mc_other;
BEGIN;
CREATE TABLE mc.own_sum AS SELECT * FROM mc."mc_pkg$sum_a";
CREATE TABLE mc.own_t (customer text, segment text);
CREATE TABLE mc.own_work (customer text);
\set VERBOSITY terse
SELECT rfm_model_customers_into('mc.own_sum', NULL::text, 5, NULL, NULL, NULL, NULL, NULL, NULL,
                                1, 1, 0, 0, 0, 1, (SELECT gs FROM rfm_group_settings gs),
                                ARRAY['mc.own_t', NULL, NULL, NULL, 'mc.other_cus']::regclass[],
                                NULL, 'mc.own_work'::regclass);
\set VERBOSITY default
ROLLBACK;
RESET ROLE;
SELECT count(*) AS other_rows_untouched FROM (SELECT * FROM mc.other_cus EXCEPT SELECT * FROM mc."mc_pkg$cus_a") d;
DROP TABLE mc.other_cus;
REVOKE CREATE ON SCHEMA mc FROM regress_mc_other;
DROP TABLE mc.other_work;
REVOKE ALL ON mc."mc_pkg$sum_a" FROM regress_mc_other;
REVOKE USAGE ON SCHEMA mc FROM regress_mc_other;
DROP ROLE regress_mc_other;
SELECT count(*) FROM rfm_create_model('mc_fixed4', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      schema_name => 'mc', as_of => '2007-01-01', clv => false, bins => 4,
                                      scoring => 'fixed');
SELECT * FROM pg_temp.differ('mc_fixed4');
SELECT * FROM pg_temp.totals_differ('mc_fixed4');
SELECT count(*) FROM rfm_create_model('mc_bins10', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      schema_name => 'mc', as_of => '2007-01-01', clv => false, bins => 10);
SELECT * FROM pg_temp.differ('mc_bins10');
-- one segment, NULL (scores of 10 bins)
SELECT * FROM pg_temp.totals_differ('mc_bins10');
SELECT count(DISTINCT rfm_cell) > 100 AS cells_with_dots_vary, bool_and(rfm_cell LIKE '%.%.%') AS dotted
FROM mc.mc_bins10_customers WHERE frequency > 0;

-- Online Retail with returns, CLV in weeks, margin and costs, integer
-- customers: under every setting of the groups.
SELECT count(*) FROM rfm_create_model('mc_retail', 'retail', 'customer_id', 'invoice_time', 'amount',
                                      schema_name => 'mc', as_of => '2011-12-10', time_unit => 'week',
                                      clv_horizon => 52, margin => 0.3, discount_rate => 0.002,
                                      cost_per_order => 0.35, cost_per_customer => 2.5);
SELECT * FROM pg_temp.differ('mc_retail');
SELECT * FROM pg_temp.totals_differ('mc_retail');
SELECT count(*) FILTER (WHERE clv IS NOT NULL) > 4000 AS with_clv, count(DISTINCT value_tier) AS value_tiers,
       count(DISTINCT ae_group) AS ae_groups, count(DISTINCT arpu_group) AS arpu_groups
FROM mc.mc_retail_customers;
BEGIN;
UPDATE rfm_group_settings SET ae_cut = 'median', value_by = 'clv', arpu_basic_share = 0.5;
CALL rfm_refresh('mc_retail');
SELECT * FROM pg_temp.differ('mc_retail');
UPDATE rfm_group_settings SET ae_cut = 'fixed', ae_frequency_cut = 3, ae_aov_cut = 200, value_high_share = 0.5,
                              value_low_share = 0.5;
CALL rfm_refresh('mc_retail');
SELECT * FROM pg_temp.differ('mc_retail');
SELECT * FROM pg_temp.totals_differ('mc_retail');
ROLLBACK;

-- A model reads each customer's revenue and average order value as the
-- double that numeric_float8 gives, without printing them: exactly by one
-- IEEE operation for up to 53 bits, else (an average has 16 or more
-- digits) by an estimate moved to the double whose rounding interval holds
-- the value, compared in 128-bit integers.  The test compares it with
-- numeric_float8 through the library's hook (not part of the extension).
CREATE FUNCTION pg_temp.as_float(numeric) RETURNS float8 AS '$libdir/rfm', 'rfm_numeric_to_float8'
    LANGUAGE C IMMUTABLE STRICT;
SELECT kind, count(*) AS n, count(*) FILTER (WHERE pg_temp.as_float(v) IS DISTINCT FROM v::float8) AS differ
FROM (-- averages of orders, as a summary computes them
      SELECT 'averages' AS kind,
             (round((hashint8(i) & 1048575)::numeric * 1.37, 2) + (hashint8(i * 3) & 1023))
             / (1 + (hashint8(i * 7) & 63)) AS v
      FROM generate_series(1, 60000) i
      UNION ALL
      -- integers past 2^53: the odd ones lie halfway between two doubles (to the even one)
      SELECT 'past 2^53', 9007199254740992::numeric * (1 + i % 1000) + (hashint8(i) & 65535) * (1 - 2 * (i % 2))
      FROM generate_series(1, 40000) i
      UNION ALL
      -- halfway between two doubles with digits after the point (whole and
      -- half units apart in [2^52, 2^53) and [2^51, 2^52)): the estimate
      -- can land on the odd one
      SELECT 'halfway', CASE WHEN i % 2 = 0 THEN 4503599627370496::numeric + (hashint8(i) & 1048575) + 0.5
                             ELSE 2251799813685248::numeric + (hashint8(i) & 1048575) + 0.25 + 0.5 * (i % 4 / 2) END
             * (1 - 2 * (i % 3 / 2))
      FROM generate_series(1, 40000) i
      UNION ALL
      -- many digits at many scales, either sign
      SELECT 'many digits', round((hashint8(i)::numeric / 7) * (10::numeric ^ ((i % 40) - 25)), i % 30)
      FROM generate_series(1, 60000) i
      UNION ALL
      SELECT 'special', v FROM unnest('{0, -0.0, 1e-300, 1e300, 123456789012345678901234567890.123, NaN}'::numeric[]) v) s
GROUP BY kind ORDER BY kind;
DROP FUNCTION pg_temp.as_float(numeric);

-- rfm_model_rank: 1 + the keys greater than the key + the tie (the view's
-- revenue_rank and profit_rank, from a refresh's keys in rank order), less
-- the greater keys that went since, plus those that came
SELECT rfm_model_rank('{5,3,3,1}', '{3}', '{4}', 2, 0) AS went_3_came_4, rfm_model_rank('{5,3,3,1}', '{5,1}', '{}', 3, 1) AS went_5,
       rfm_model_rank('{5,3,3,1}', '{}', '{9,7}', 5, 0) AS came_9_7;
SELECT rfm_model_rank('{5,3,3,1}', '{}', '{}', 3, 0) AS first_3, rfm_model_rank('{5,3,3,1}', '{}', '{}', 3, 1) AS second_3,
       rfm_model_rank('{5,3,3,1}', '{}', '{}', 5, 0) AS top, rfm_model_rank('{5,3,3,1}', '{}', '{}', 1, 0) AS last,
       rfm_model_rank('{5,3,3,1}', '{}', '{}', 9, 0) AS above_all, rfm_model_rank('{5,3,3,1}', '{}', '{}', 2, 0) AS between,
       rfm_model_rank('{}', '{}', '{}', 1, 0) AS no_keys, rfm_model_rank('{5,3,3,1}', '{}', '{}', 3, NULL) AS no_tie;
-- as float8 orders: NaN above everything, -0 equal to 0
SELECT rfm_model_rank('{NaN,Infinity,0,-Infinity}', '{}', '{}', 'NaN', 0) AS nan, rfm_model_rank('{NaN,Infinity,0,-Infinity}', '{}', '{}', 'Infinity', 0) AS inf,
       rfm_model_rank('{NaN,Infinity,0,-Infinity}', '{}', '{}', '-0', 0) AS minus_zero,
       rfm_model_rank('{NaN,Infinity,0,-Infinity}', '{}', '{}', '-Infinity', 0) AS minus_inf;
-- each row's own keys (the function remembers the last array it read)
SELECT k, rfm_model_rank(a, '{}', '{}', 2, 0) AS rank
FROM (VALUES (1, '{3,2,1}'::float8[]), (2, '{9,8,7,2}'), (3, '{3,2,1}'), (4, '{2}')) v(k, a) ORDER BY k;
-- 50,000 keys (stored out of line): the counts of a scan of them
CREATE TEMP TABLE mc_keys AS
SELECT array_agg(x ORDER BY x DESC) AS a FROM (SELECT (i % 1000)::float8 / 7 - 20 AS x FROM generate_series(1, 50000) i) s;
SELECT count(*) AS keys_tried,
       count(*) FILTER (WHERE rfm_model_rank(mc_keys.a, '{}', '{}', t.v, 2) <> 3 + (SELECT count(*) FROM unnest(mc_keys.a) u WHERE u > t.v))
           AS differ
FROM mc_keys, (SELECT (i - 3)::float8 / 7 - 20 AS v FROM generate_series(0, 1100, 13) i) t;
DROP TABLE mc_keys;
\set VERBOSITY terse
SELECT rfm_model_rank('{1,3}', '{}', '{}', 2, 0);
SELECT rfm_model_rank('{3,NULL}', '{}', '{}', 2, 0);
SELECT rfm_model_rank('{{3},{2}}', '{}', '{}', 2, 0);
SELECT rfm_model_rank('{3,2}', '{}', '{}', 2, -1);
\set VERBOSITY default

SELECT rfm_drop_model(name) FROM rfm_model WHERE name LIKE 'mc\_%' ORDER BY name;
DROP TABLE mc_leads;
