-- rfm_summary: values computed by hand on small inputs, and against plain SQL
-- (count/sum/min/max with FILTER) over the UCI Online Retail invoices.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- By hand.  Three orders on two days, one return, one order after as_of.
-- frequency 3; monetary 10.50 + 5.25 - 3 + 100.001 = 112.751;
-- recency = Jan 10 00:00 - Jan 7 00:00 = 3 days; tenure = 8 days 14 h = 8.5833;
-- purchase days {Jan 1, Jan 7}: x = 1, t_x = 6, T = 9.
SELECT (s).* FROM (
  SELECT rfm_summary(t, a, '2024-01-10 00:00+00') AS s
  FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric),
               ('2024-01-01 12:00+00', 5.25),
               ('2024-01-05 00:00+00', -3),
               ('2024-01-07 00:00+00', 100.001),
               ('2024-02-01 00:00+00', 99)) v(t, a)) q;

-- Dates and float8: two orders, x = 1, t_x = 2, T = 9, recency 7.
SELECT (s).recency, (s).frequency, (s).monetary, (s).repeat_frequency, (s).repeat_recency, (s).age
FROM (SELECT rfm_summary(t, a, '2024-01-10'::date) AS s
      FROM (VALUES ('2024-01-01'::date, 10.5::float8), ('2024-01-03', 0.001)) v(t, a)) q;

-- Compensated float8 summation: 1e16 + 1 + 1 - 1e16 is 2 (plain float8 sum gives 0).
SELECT (rfm_summary(t, a, '2024-01-10'::date)).monetary AS rfm, sum(a) AS plain_sum
FROM (VALUES ('2024-01-01'::date, 1e16::float8), ('2024-01-02', 1), ('2024-01-03', 1), ('2024-01-04', -1e16)) v(t, a);

-- Whole data set against plain SQL: every field of every customer.
CREATE TEMP TABLE ref AS
SELECT customer_id,
       count(*) FILTER (WHERE amount >= 0) AS frequency,
       sum(amount) AS monetary,
       min(invoice_time) FILTER (WHERE amount >= 0) AS first_order,
       max(invoice_time) FILTER (WHERE amount >= 0) AS last_order,
       count(DISTINCT invoice_time::date) FILTER (WHERE amount >= 0) AS purchase_days,
       max(invoice_time::date) FILTER (WHERE amount >= 0) - min(invoice_time::date) FILTER (WHERE amount >= 0) AS t_x,
       '2011-12-10'::date - min(invoice_time::date) FILTER (WHERE amount >= 0) AS t_age,
       count(*) FILTER (WHERE amount < 0) AS returns
FROM retail WHERE invoice_time <= '2011-12-10 00:00+00'
GROUP BY customer_id;

CREATE TEMP TABLE got AS
SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s
FROM retail GROUP BY customer_id;

SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s).frequency = r.frequency) AS frequency_ok,
       count(*) FILTER (WHERE (s).monetary = r.monetary) AS monetary_ok,
       count(*) FILTER (WHERE (s).avg_order_value IS NOT DISTINCT FROM r.monetary / nullif(r.frequency, 0)) AS aov_ok,
       count(*) FILTER (WHERE (s).first_order IS NOT DISTINCT FROM r.first_order
                          AND (s).last_order IS NOT DISTINCT FROM r.last_order) AS times_ok,
       count(*) FILTER (WHERE (s).recency IS NOT DISTINCT FROM
                          extract(epoch FROM '2011-12-10 00:00+00' - r.last_order)::float8 / 86400) AS recency_ok,
       count(*) FILTER (WHERE (s).tenure IS NOT DISTINCT FROM
                          extract(epoch FROM '2011-12-10 00:00+00' - r.first_order)::float8 / 86400) AS tenure_ok,
       count(*) FILTER (WHERE (s).purchase_days = r.purchase_days
                          AND (s).repeat_frequency IS NOT DISTINCT FROM nullif(r.purchase_days, 0) - 1) AS days_ok,
       count(*) FILTER (WHERE (s).repeat_recency IS NOT DISTINCT FROM r.t_x::float8
                          AND (s).age IS NOT DISTINCT FROM r.t_age::float8) AS btyd_ok,
       count(*) FILTER (WHERE (s).returns = r.returns) AS returns_ok,
       count(*) FILTER (WHERE (s).frequency = 0) AS only_returns
FROM got g JOIN ref r USING (customer_id);

-- A past as_of is a historical snapshot: later rows are ignored, and a
-- customer with no row yet gets NULL.
SELECT count(*) FILTER (WHERE s IS NULL) AS not_yet_customers,
       count(*) FILTER (WHERE s IS NOT NULL) AS customers,
       (SELECT count(DISTINCT customer_id) FROM retail WHERE invoice_time <= '2011-06-01 00:00+00') AS expected,
       sum((s).frequency) AS orders,
       (SELECT count(*) FROM retail WHERE invoice_time <= '2011-06-01 00:00+00' AND amount >= 0) AS expected_orders,
       sum((s).monetary) AS revenue,
       (SELECT sum(amount) FROM retail WHERE invoice_time <= '2011-06-01 00:00+00') AS expected_revenue
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-06-01 00:00+00') AS s
      FROM retail GROUP BY customer_id) q;

-- Purchase days are calendar days in the session time zone.  Shanghai (UTC+8)
-- and Auckland (UTC+12/+13, daylight saving changes in April and September)
-- against plain SQL.
SET TimeZone = 'Asia/Shanghai';
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s).purchase_days = d.days AND (s).age = d.t_age) AS days_ok
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+08') AS s
      FROM retail GROUP BY customer_id) g
JOIN (SELECT customer_id, count(DISTINCT invoice_time::date) FILTER (WHERE amount >= 0) AS days,
             '2011-12-10'::date - min(invoice_time::date) FILTER (WHERE amount >= 0) AS t_age
      FROM retail WHERE invoice_time <= '2011-12-10 00:00+08' GROUP BY customer_id) d USING (customer_id)
WHERE (s).frequency > 0;
SET TimeZone = 'Pacific/Auckland';
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s).purchase_days = d.days AND (s).repeat_recency = d.t_x) AS days_ok,
       sum((s).purchase_days) AS days_auckland
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+13') AS s
      FROM retail GROUP BY customer_id) g
JOIN (SELECT customer_id, count(DISTINCT invoice_time::date) FILTER (WHERE amount >= 0) AS days,
             max(invoice_time::date) FILTER (WHERE amount >= 0) - min(invoice_time::date) FILTER (WHERE amount >= 0) AS t_x
      FROM retail WHERE invoice_time <= '2011-12-10 00:00+13' GROUP BY customer_id) d USING (customer_id)
WHERE (s).frequency > 0;
-- the time zone matters: the same orders fall on other days in UTC
CREATE TEMP TABLE days_auckland AS
SELECT customer_id, (rfm_summary(invoice_time, amount, '2011-12-10 00:00+13')).purchase_days FROM retail GROUP BY 1;
SET TimeZone = 'UTC';
SELECT count(*) AS customers_with_other_days_in_utc
FROM (SELECT customer_id, (rfm_summary(invoice_time, amount, '2011-12-10 00:00+13')).purchase_days FROM retail GROUP BY 1) u
JOIN days_auckland n USING (customer_id) WHERE u.purchase_days IS DISTINCT FROM n.purchase_days;

-- Exact sums of numeric amounts of any size and scale (the fixed-point fast
-- path, its rescaling, its overflow into numeric, and values beyond it).
CREATE TEMP TABLE big (c int, t timestamptz, a numeric);
INSERT INTO big SELECT 1, '2024-01-01', x FROM (VALUES (1e30), (-1e30), (0.000000000000000000000000001),
  (12345678901234567890.123456789), (1e-40), (99999999999999999999999999999999999999), (0.5)) v(x);
INSERT INTO big SELECT 2, '2024-01-01', 1e19 + i FROM generate_series(1, 200) i;
INSERT INTO big SELECT 2, '2024-01-01', 0.000000000000000001;
INSERT INTO big SELECT 3, '2024-01-01', (i * 7919 % 100003) / 97.0 FROM generate_series(1, 1000) i;
INSERT INTO big SELECT 4, '2024-01-01', 1.5e300;
INSERT INTO big SELECT 4, '2024-01-01', -1.5e300;
INSERT INTO big SELECT 4, '2024-01-01', 7;
SELECT c, (rfm_summary(t, a, '2024-02-01')).monetary = sum(a) AS exact, sum(a) AS monetary
FROM big GROUP BY c ORDER BY c;

-- Bad input.
-- NULL time or amount: the row is skipped (not an order, not a return).
SELECT (s).frequency, (s).monetary FROM (
  SELECT rfm_summary(t, a, '2024-01-10'::timestamptz) AS s
  FROM (VALUES ('2024-01-01'::timestamptz, 5::numeric), (NULL, 7), ('2024-01-02', NULL)) v(t, a)) q;
-- no rows, or only rows after as_of: NULL
SELECT rfm_summary(t, a, '2024-01-10'::timestamptz) IS NULL AS empty
FROM (VALUES ('2024-01-01'::timestamptz, 5::numeric)) v(t, a) WHERE false;
SELECT rfm_summary(t, a, '2024-01-10'::timestamptz) IS NULL AS future_only
FROM (VALUES ('2024-03-01'::timestamptz, 5::numeric), ('infinity', 1)) v(t, a);
-- only returns: a summary with no orders
SELECT (s).frequency, (s).monetary, (s).returns, (s).recency, (s).purchase_days, (s).repeat_frequency
FROM (SELECT rfm_summary('2024-01-01'::timestamptz, -5::numeric, '2024-01-10'::timestamptz) AS s) q;
-- an amount of zero is an order
SELECT (rfm_summary('2024-01-01'::date, 0::numeric, '2024-01-10'::date)).frequency AS zero_amount_orders;
SELECT rfm_summary('2024-01-01'::timestamptz, 'NaN'::numeric, '2024-01-10'::timestamptz);
SELECT rfm_summary('2024-01-01'::timestamptz, 'Infinity'::numeric, '2024-01-10'::timestamptz);
SELECT rfm_summary('2024-01-01'::timestamptz, 'NaN'::float8, '2024-01-10'::timestamptz);
SELECT rfm_summary('2024-01-01'::timestamptz, '-Infinity'::float8, '2024-01-10'::timestamptz);
SELECT rfm_summary('2024-01-01'::date, a, '2024-01-10'::date) FROM (VALUES (1e308::float8), (1e308)) v(a);
SELECT rfm_summary('2024-01-01'::timestamptz, 1::numeric, NULL::timestamptz);
SELECT rfm_summary('2024-01-01'::timestamptz, 1::numeric, 'infinity'::timestamptz);
SELECT rfm_summary('-infinity'::timestamptz, 1::numeric, '2024-01-10'::timestamptz);
SELECT rfm_summary('2024-01-01'::timestamptz, 1::numeric, a) FROM (VALUES ('2024-01-10'::timestamptz), ('2024-01-11')) v(a);

-- A zero with a scale beyond the fixed-point sum keeps its scale, exactly.
SELECT (rfm_summary(now(), ('0.' || repeat('0', 100))::numeric, now())).monetary = 0 AS zero_of_scale_100;
SELECT (rfm_summary(now(), a, now())).monetary = sum(a) AS exact
FROM (VALUES (0::numeric(80,70)), (5), (1.25)) v(a);
-- Dates beyond the timestamp range: an as_of there is an error, an order there is after as_of.
SELECT rfm_summary('2024-01-01'::date, 1::numeric, '300000-01-01'::date);
SELECT (rfm_summary(d, 1::numeric, '2024-01-10'::date)).frequency
FROM (VALUES ('2024-01-01'::date), ('300000-01-01')) v(d);

-- As a window aggregate: a running summary per customer.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (s).frequency = n AND (s).monetary = m) AS running_ok
FROM (SELECT rfm_summary(invoice_time, amount, '2011-12-10 00:00+00')
               OVER (PARTITION BY customer_id ORDER BY invoice_time, invoice) AS s,
             count(*) FILTER (WHERE amount >= 0)
               OVER (PARTITION BY customer_id ORDER BY invoice_time, invoice) AS n,
             sum(amount) OVER (PARTITION BY customer_id ORDER BY invoice_time, invoice) AS m
      FROM retail) q;

-- The state's text form round-trips: final(in(out(state))) = the aggregate.
CREATE AGGREGATE rfm_state_of(timestamptz, numeric, timestamptz) (
    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
SELECT count(*) AS customers,
       count(*) FILTER (WHERE rfm_summary_final(st::text::rfm_state) = s) AS roundtrip_ok
FROM (SELECT rfm_state_of(invoice_time, amount, '2011-12-10 00:00+00') AS st,
             rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s
      FROM retail GROUP BY customer_id) q;
SELECT rfm_summary_final(rfm_state_of(t, a, '2024-02-01'))::text = (rfm_summary(t, a, '2024-02-01'))::text AS big_roundtrip_ok,
       rfm_summary_final(rfm_state_of(t, a, '2024-02-01')::text::rfm_state) = rfm_summary(t, a, '2024-02-01') AS big_text_ok
FROM big;
-- damaged states are rejected
SELECT 'zz'::rfm_state;
SELECT '012'::rfm_state;
SELECT '09'::rfm_state;
SELECT rfm_summary_trans(NULL::rfm_state, now(), 1::numeric, now());

-- Parallel aggregation: partial aggregates in workers, combined in the leader,
-- equal to the serial result.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') FROM retail;
EXPLAIN (COSTS OFF)
SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') FROM retail GROUP BY country;
CREATE TEMP TABLE parallel_all AS
SELECT rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s FROM retail;
CREATE TEMP TABLE parallel_country AS
SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s FROM retail GROUP BY country;
SELECT (s).frequency AS all_orders, (SELECT count(*) FROM retail WHERE amount >= 0) AS expected,
       (s).monetary AS all_revenue, (SELECT sum(amount) FROM retail) AS expected_revenue
FROM parallel_all;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SELECT (SELECT s FROM parallel_all) = rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS serial_equal_all
FROM retail;
SELECT count(*) AS countries, count(*) FILTER (WHERE p.s = q.s) AS serial_equal
FROM parallel_country p
JOIN (SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s FROM retail GROUP BY country) q USING (country);
