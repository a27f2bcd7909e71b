-- rfm_summarize: one row per customer, equal (every column, every customer)
-- to rfm_summary and rfm_lifecycle ... GROUP BY customer over the same rows.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- Compares a rfm_summarize result with the GROUP BY aggregates (all four columns), matching
-- customers by key (NULL matches NULL).
CREATE FUNCTION summarize_diff(got regclass, want regclass)
RETURNS TABLE (got_rows bigint, want_rows bigint, equal_rows bigint)
LANGUAGE plpgsql AS $$
BEGIN
    RETURN QUERY EXECUTE format($q$
        SELECT (SELECT count(*) FROM %1$s), (SELECT count(*) FROM %2$s),
               (SELECT count(*) FROM %1$s g JOIN %2$s w
                  ON g.customer IS NOT DISTINCT FROM w.customer
                 AND g.summary IS NOT DISTINCT FROM w.summary
                 AND g.lifecycle IS NOT DISTINCT FROM w.lifecycle
                 AND g.repeat_value IS NOT DISTINCT FROM w.repeat_value)$q$, got, want);
END $$;

-- integer keys, timestamptz, numeric with returns (Online Retail)
CREATE TEMP TABLE got_retail AS
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount',
                            '2011-12-10 00:00+00', 'Europe/London', NULL::integer);
CREATE TEMP TABLE want_retail AS
SELECT customer_id AS customer,
       rfm_summary(invoice_time, amount, '2011-12-10 00:00+00', 'Europe/London') AS summary,
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00', 'Europe/London') AS lifecycle,
       rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+00', 'Europe/London') AS repeat_value
FROM retail GROUP BY customer_id;
SELECT * FROM summarize_diff('got_retail', 'want_retail');
SELECT lifecycle, count(*) FROM got_retail GROUP BY 1 ORDER BY 1;
-- a past as_of: customers whose rows all come later have a NULL summary and
-- the stage acquisition, as with GROUP BY
CREATE TEMP TABLE got_past AS
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount',
                            '2011-06-01 00:00+00', 'UTC', NULL::integer);
CREATE TEMP TABLE want_past AS
SELECT customer_id AS customer,
       rfm_summary(invoice_time, amount, '2011-06-01 00:00+00', 'UTC') AS summary,
       rfm_lifecycle(invoice_time, amount, '2011-06-01 00:00+00', 'UTC') AS lifecycle,
       rfm_repeat_value(invoice_time, amount, '2011-06-01 00:00+00', 'UTC') AS repeat_value
FROM retail GROUP BY customer_id;
SELECT *, (SELECT count(*) FROM got_past WHERE summary IS NULL AND lifecycle = 'acquisition') AS not_yet
FROM summarize_diff('got_past', 'want_past');

-- text keys, order dates (the R package rfm's data): as_of's day in time_zone
CREATE TEMP TABLE got_text AS
SELECT * FROM rfm_summarize('rfm_orders', 'customer_id', 'order_date', 'revenue',
                            '2007-01-01 03:00+00', 'America/New_York', NULL::text);
CREATE TEMP TABLE want_text AS
SELECT customer_id AS customer, rfm_summary(order_date, revenue, date '2006-12-31') AS summary,
       rfm_lifecycle(order_date, revenue, date '2006-12-31') AS lifecycle,
       rfm_repeat_value(order_date, revenue, date '2006-12-31') AS repeat_value
FROM rfm_orders GROUP BY customer_id;
SELECT * FROM summarize_diff('got_text', 'want_text');

-- uuid keys, NULL customers, times and amounts, rows after as_of, float8
-- and integer amounts
CREATE TEMP TABLE orders_uuid AS
SELECT CASE WHEN customer_id % 97 = 0 THEN NULL ELSE md5(customer_id::text)::uuid END AS who,
       CASE WHEN invoice ~ '7$' THEN NULL ELSE invoice_time END AS at,
       CASE WHEN invoice ~ '3$' THEN NULL ELSE amount END AS amount,
       amount::float8 AS amount_f,
       round(amount)::int8 AS amount_i
FROM retail;
SELECT count(*) FILTER (WHERE who IS NULL) AS null_customers, count(*) FILTER (WHERE at IS NULL) AS null_times,
       count(*) FILTER (WHERE amount IS NULL) AS null_amounts FROM orders_uuid;
CREATE TEMP TABLE got_uuid AS
SELECT * FROM rfm_summarize('orders_uuid', 'who', 'at', 'amount', '2011-09-01 00:00+00', 'UTC', NULL::uuid);
CREATE TEMP TABLE want_uuid AS
SELECT who AS customer, rfm_summary(at, amount, '2011-09-01 00:00+00', 'UTC') AS summary,
       rfm_lifecycle(at, amount, '2011-09-01 00:00+00', 'UTC') AS lifecycle,
       rfm_repeat_value(at, amount, '2011-09-01 00:00+00', 'UTC') AS repeat_value
FROM orders_uuid GROUP BY who;
SELECT * FROM summarize_diff('got_uuid', 'want_uuid');
CREATE TEMP TABLE got_f AS
SELECT * FROM rfm_summarize('orders_uuid', 'who', 'at', 'amount_f', '2011-09-01 00:00+00', 'UTC', NULL::uuid);
CREATE TEMP TABLE want_f AS
SELECT who AS customer, rfm_summary(at, amount_f, '2011-09-01 00:00+00', 'UTC') AS summary,
       rfm_lifecycle(at, amount_f, '2011-09-01 00:00+00', 'UTC') AS lifecycle,
       rfm_repeat_value(at, amount_f, '2011-09-01 00:00+00', 'UTC') AS repeat_value
FROM orders_uuid GROUP BY who;
SELECT * FROM summarize_diff('got_f', 'want_f');
CREATE TEMP TABLE got_i AS
SELECT * FROM rfm_summarize('orders_uuid', 'who', 'at', 'amount_i', '2011-09-01 00:00+00', 'UTC', NULL::uuid);
CREATE TEMP TABLE want_i AS
SELECT who AS customer, rfm_summary(at, amount_i::numeric, '2011-09-01 00:00+00', 'UTC') AS summary,
       rfm_lifecycle(at, amount_i::numeric, '2011-09-01 00:00+00', 'UTC') AS lifecycle,
       rfm_repeat_value(at, amount_i::numeric, '2011-09-01 00:00+00', 'UTC') AS repeat_value
FROM orders_uuid GROUP BY who;
SELECT * FROM summarize_diff('got_i', 'want_i');

-- the session's TimeZone does not matter
SET TimeZone = 'Asia/Tokyo';
CREATE TEMP TABLE got_tokyo AS
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount',
                            '2011-12-10 00:00+00', 'Europe/London', NULL::integer);
SET TimeZone = 'UTC';
SELECT * FROM summarize_diff('got_tokyo', 'want_retail');

-- an empty source
CREATE TEMP TABLE no_orders (customer_id int8, t timestamptz, amount numeric);
SELECT count(*) AS rows FROM rfm_summarize('no_orders', 'customer_id', 't', 'amount', now(), 'UTC', NULL::int8);

-- Rejected calls
\set VERBOSITY default
SELECT * FROM rfm_summarize('retail', 'customer', 'invoice_time', 'amount', now(), 'UTC', NULL::int);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount', now(), 'UTC', NULL::int8);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice', 'amount', now(), 'UTC', NULL::int);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'country', now(), 'UTC', NULL::int);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount', now(), 'Mars/Olympus', NULL::int);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount', NULL, 'UTC', NULL::int);
SELECT * FROM rfm_summarize('retail', 'customer_id', 'invoice_time', 'amount', 'infinity', 'UTC', NULL::int);
CREATE TEMP TABLE point_customers (who point, t timestamptz, amount numeric);
SELECT * FROM rfm_summarize('point_customers', 'who', 't', 'amount', now(), 'UTC', NULL::point);
\set VERBOSITY terse

-- Read as the caller: privileges and row-level security apply.
CREATE ROLE regress_rfm_analyst;
CREATE ROLE regress_rfm_outsider;
CREATE TABLE shop_orders AS SELECT customer_id, invoice_time, amount, country FROM retail;
ALTER TABLE shop_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY only_france ON shop_orders FOR SELECT TO regress_rfm_analyst USING (country = 'France');
GRANT SELECT ON shop_orders TO regress_rfm_analyst;
SET ROLE regress_rfm_analyst;
CREATE TEMP TABLE got_rls AS
SELECT * FROM rfm_summarize('shop_orders', 'customer_id', 'invoice_time', 'amount',
                            '2011-12-10 00:00+00', 'UTC', NULL::integer);
RESET ROLE;
CREATE TEMP TABLE want_rls AS
SELECT customer_id AS customer, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00', 'UTC') AS summary,
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00', 'UTC') AS lifecycle,
       rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+00', 'UTC') AS repeat_value
FROM shop_orders WHERE country = 'France' GROUP BY customer_id;
SELECT *, (SELECT count(DISTINCT customer_id) FROM shop_orders) AS all_customers
FROM summarize_diff('got_rls', 'want_rls');
-- a role without SELECT on the source: 42501 (insufficient_privilege)
SET ROLE regress_rfm_outsider;
\set VERBOSITY sqlstate
SELECT count(*) FROM rfm_summarize('shop_orders', 'customer_id', 'invoice_time', 'amount',
                                   '2011-12-10 00:00+00', 'UTC', NULL::integer);
\set VERBOSITY terse
RESET ROLE;
DROP TABLE shop_orders;
DROP OWNED BY regress_rfm_analyst;
DROP ROLE regress_rfm_analyst;
DROP ROLE regress_rfm_outsider;
