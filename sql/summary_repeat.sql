-- rfm_repeat_value, the input of the Gamma-Gamma spend model: the mean net
-- value of the repeat purchase days (the first purchase day excluded).
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- By hand.  Orders of 10.50 and 5.25 on Jan 1, a return of 3 on Jan 5, an
-- order of 100.001 on Jan 7, one after as_of.  Net 112.751 less the first
-- day's orders (15.75), over x = 1 repeat purchase day: 97.001 (the return
-- counts against the repeat purchases).  One purchase day: NULL.  The repeat
-- purchases netting to zero or less: NULL.
SELECT rfm_repeat_value(t, a, '2024-01-10 00:00+00') AS by_hand,
       rfm_repeat_value(t, a::float8, '2024-01-10 00:00+00') AS by_hand_float8,
       rfm_repeat_value(t::date, a, date '2024-01-10') AS by_hand_dates
FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric),
             ('2024-01-01 12:00+00', 5.25),
             ('2024-01-05 00:00+00', -3),
             ('2024-01-07 00:00+00', 100.001),
             ('2024-02-01 00:00+00', 99)) v(t, a);
SELECT rfm_repeat_value(t, a, '2024-01-10 00:00+00') IS NULL AS one_day
FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric), ('2024-01-01 12:00+00', 5)) v(t, a);
SELECT rfm_repeat_value(t, a, '2024-01-10 00:00+00') IS NULL AS net_not_positive
FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric), ('2024-01-03 12:00+00', 5),
             ('2024-01-04 12:00+00', -5)) v(t, a);
-- the first purchase day found whatever the order of the rows
SELECT rfm_repeat_value(t, a, '2024-01-10 00:00+00' ORDER BY t DESC) AS descending
FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric), ('2024-01-01 12:00+00', 5.25),
             ('2024-01-05 00:00+00', -3), ('2024-01-07 00:00+00', 100.001)) v(t, a);

-- CDNOW sample (Fader, Hardie & Lee 2005; as distributed with lifetimes):
-- calibration period 1997-01-01 .. 1997-09-30.
CREATE TEMP TABLE cdnow_raw (line text);
\copy cdnow_raw FROM 'test/data/cdnow_sample.txt'
CREATE TEMP TABLE cdnow_tx AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day, f[5]::numeric AS dollars
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM cdnow_raw) s;
CREATE TEMP TABLE cdnow_summary AS
SELECT customer_id, rfm_summary(day, dollars, date '1997-09-30') AS s,
       rfm_repeat_value(day, dollars, date '1997-09-30') AS rv
FROM cdnow_tx GROUP BY customer_id;

-- Per customer: rfm_repeat_value equals zbar of lifetimes'
-- cdnow_customers_summary_with_transactions.csv (rounded there to 2
-- decimals; 0 there for customers without a repeat purchase, NULL here).
CREATE TEMP TABLE cdnow_ref (id int, x int, t_x float8, "T" float8, zbar float8);
\copy cdnow_ref FROM 'test/data/cdnow_summary.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS compared,
       count(*) FILTER (WHERE (s).repeat_frequency = r.x
                          AND abs(coalesce(rv, 0) - r.zbar) <= 0.005000001) AS zbar_equal,
       count(*) FILTER (WHERE r.x > 0) AS repeat_customers,
       count(*) FILTER (WHERE rv IS NOT NULL) AS with_repeat_value
FROM cdnow_summary c JOIN cdnow_ref r ON r.id = c.customer_id;

-- The fit over it gives the published p = 6.25, q = 3.74, gamma = 15.44
-- (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
-- customer base analysis", over the 946 repeat customers).
SELECT round((m).p::numeric, 2) AS p, round((m).q::numeric, 2) AS q,
       round((m).gamma::numeric, 2) AS gamma, (m).n_customers
FROM (SELECT rfm_gamma_gamma_fit((s).repeat_frequency, rv) AS m FROM cdnow_summary) f;
-- avg_order_value (all orders, the first included, rows not days) is not
-- that input: it gives other parameters
SELECT round((m).p::numeric, 2) AS p, round((m).q::numeric, 2) AS q,
       round((m).gamma::numeric, 2) AS gamma
FROM (SELECT rfm_gamma_gamma_fit((s).repeat_frequency, (s).avg_order_value::float8) AS m FROM cdnow_summary) f;

-- With returns (Online Retail: cancellations are negative amounts), against
-- plain SQL: the net of every row on or before as_of less the orders of the
-- first purchase day, over the repeat purchase days; NULL when that is zero
-- or less, or without a repeat purchase day.
CREATE TEMP TABLE retail_expected AS
WITH r AS (
    SELECT customer_id, (invoice_time AT TIME ZONE 'UTC')::date AS d, amount
    FROM retail WHERE invoice_time <= '2011-12-10 00:00+00'),
c AS (
    SELECT customer_id, min(d) FILTER (WHERE amount >= 0) AS first_day,
           count(DISTINCT d) FILTER (WHERE amount >= 0) AS days, sum(amount) AS net
    FROM r GROUP BY customer_id),
f AS (
    SELECT customer_id, sum(amount) AS first_day_orders
    FROM r JOIN c USING (customer_id) WHERE amount >= 0 AND d = first_day GROUP BY customer_id)
SELECT customer_id, days, net - first_day_orders AS repeat_net,
       CASE WHEN days > 1 AND net - first_day_orders > 0
            THEN ((net - first_day_orders) / (days - 1))::float8 END AS repeat_value
FROM c LEFT JOIN f USING (customer_id);
CREATE TEMP TABLE retail_summary AS
SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00', 'UTC') AS s,
       rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+00', 'UTC') AS rv
FROM retail GROUP BY customer_id;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE rv IS NOT DISTINCT FROM e.repeat_value
                           OR abs(rv - e.repeat_value) <= 1e-9 * abs(e.repeat_value)) AS same_as_sql,
       count(*) FILTER (WHERE e.days > 1) AS repeat_customers,
       count(*) FILTER (WHERE e.days > 1 AND e.repeat_net <= 0) AS repeat_net_not_positive,
       count(*) FILTER (WHERE e.days > 1 AND rv IS NULL) AS null_repeat_value
FROM retail_summary g JOIN retail_expected e USING (customer_id);
-- one such customer by hand
SELECT customer_id, (s).purchase_days, (s).monetary, (s).returns, rv AS repeat_value, e.repeat_net
FROM retail_summary g JOIN retail_expected e USING (customer_id)
WHERE e.days > 1 AND e.repeat_net <= 0
ORDER BY customer_id LIMIT 1;
-- the spend fit leaves them out and runs
SELECT (m).n_customers = (SELECT count(*) FROM retail_summary WHERE rv IS NOT NULL) AS fitted_all_positive,
       (m).p > 0 AND (m).q > 0 AND (m).gamma > 0 AS fitted
FROM (SELECT rfm_gamma_gamma_fit((s).repeat_frequency, rv) AS m FROM retail_summary) f;
