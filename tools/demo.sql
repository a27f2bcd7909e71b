-- The demo: from an order table to a segment table.
\pset footer off
CREATE EXTENSION rfm;
SET TimeZone = 'UTC';
CREATE TABLE orders (invoice text, customer_id integer, invoice_time timestamptz,
                     amount numeric, cancelled boolean, country text);
\copy orders FROM 'test/data/online_retail_invoices.csv' WITH (FORMAT csv, HEADER true)

-- One summary per customer as of the day after the last invoice, and the
-- mean net value of the repeat purchase days (the spend model's input).
CREATE TABLE customer_rfm AS
SELECT customer_id, (s).*, repeat_value
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s,
             rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+00') AS repeat_value
      FROM orders GROUP BY customer_id) q;

-- Scores 1..5 for R, F and M in one pass, the segment and the value type.
CREATE TABLE customer_segment AS
SELECT customer_id, recency, frequency, monetary, (sc).r, (sc).f, (sc).m,
       rfm_segment((sc).r, (sc).f, (sc).m) AS segment,
       rfm_value_type(recency, frequency, monetary::float8) OVER () AS value_type
FROM (SELECT *, rfm_scores(recency, frequency, monetary) OVER () AS sc
      FROM customer_rfm WHERE frequency > 0) q;

\echo
\echo 'Segments of the UCI Online Retail customers, as of 2011-12-10'
SELECT segment,
       count(*) AS customers,
       round(100.0 * sum(monetary) / sum(sum(monetary)) OVER (), 1) AS "revenue %",
       round(avg(recency)::numeric, 0) AS "avg recency (days)",
       round(avg(frequency), 1) AS "avg orders",
       round(avg(monetary), 0) AS "avg monetary",
       round(avg(r), 1) AS "avg R", round(avg(f), 1) AS "avg F", round(avg(m), 1) AS "avg M"
FROM customer_segment
GROUP BY segment
ORDER BY sum(monetary) DESC;

\echo 'Value types (each metric above or below the mean)'
SELECT value_type, rfm_label(value_type, 'zh') AS "类型",
       count(*) AS customers,
       round(100.0 * sum(monetary) / sum(sum(monetary)) OVER (), 1) AS "revenue %"
FROM customer_segment
GROUP BY value_type
ORDER BY sum(monetary) DESC;

\echo 'Lifecycle stages (rfm_lifecycle, thresholds in rfm_lifecycle_settings)'
-- A customer whose invoices are all cancellations (returns) has no stage:
-- rfm_lifecycle gives NULL, as the orders returned are not in the data.
SELECT coalesce(stage, '(no stage: returns only)') AS stage,
       coalesce(rfm_label(stage, 'zh'), '(无阶段：仅有退货)') AS "阶段", count(*) AS customers
FROM (SELECT customer_id, rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00') AS stage
      FROM orders GROUP BY customer_id) q
GROUP BY stage ORDER BY stage IS NULL, count(*) DESC;

-- BG/NBD fitted on the customers' (x, t_x, T) in weeks, Gamma-Gamma on the
-- repeat value (customers whose repeat purchases net to zero or less have
-- none and are left out of that fit).
CREATE TABLE models AS
SELECT rfm_bgnbd_fit(repeat_frequency, repeat_recency / 7, age / 7, 'week') AS bg,
       rfm_gamma_gamma_fit(repeat_frequency, repeat_value) AS gg
FROM customer_rfm WHERE frequency > 0;

\echo 'Expected value of the next 52 weeks per segment (BG/NBD + Gamma-Gamma, 30% margin, 10% a year)'
SELECT s.segment, count(*) AS customers,
       round(avg(rfm_p_alive(m.bg, c.repeat_frequency, c.repeat_recency / 7, c.age / 7))::numeric, 3) AS "avg P(alive)",
       round(sum(rfm_clv(m.bg, c.repeat_frequency, c.repeat_recency / 7, c.age / 7,
                         rfm_expected_order_value(m.gg, c.repeat_frequency, greatest(coalesce(c.repeat_value, 0), 0.01)),
                         52, 0.3, 0.10 / 52))::numeric, 0) AS "CLV 52 weeks (30% margin)"
FROM customer_rfm c JOIN customer_segment s USING (customer_id), models m
GROUP BY s.segment ORDER BY 4 DESC;

-- The shop's customer table: everyone with an invoice, and three sign-ups
-- who have not ordered yet.
CREATE TABLE customers AS
SELECT DISTINCT customer_id FROM orders WHERE customer_id IS NOT NULL;
INSERT INTO customers VALUES (90001), (90002), (90003);

-- A model: materialized views a BI tool can read, refreshed in place.
-- First as of mid-2011, then refreshed as of the end of the data: the
-- history keeps both snapshots.  The customers without an order are its
-- leads: the acquisition stage of its lifecycle funnel.
\o /dev/null
SELECT rfm_create_model('shop', 'orders', 'customer_id', 'invoice_time', 'amount',
                        schema_name => 'bi', as_of => '2011-06-30 00:00+00', time_unit => 'week',
                        clv_horizon => 52, margin => 0.3, discount_rate => 0.10 / 52,
                        leads => 'customers');
\o
CALL rfm_refresh('shop', '2011-12-10 00:00+00');

\echo 'Model "shop": its refreshes (rfm_refresh_log)'
SELECT id, as_of, customers, outcome, round(extract(epoch FROM finished_at - started_at)::numeric, 2) AS seconds
FROM rfm_refresh_log WHERE model = 'shop' ORDER BY id;

\echo 'bi.shop_segments, as a dashboard reads it'
SELECT segment, customers, round(100 * customer_share, 1) AS "customers %",
       round(100 * revenue_share, 1) AS "revenue %", round(avg_monetary) AS "avg monetary",
       strategy, round(total_clv) AS "CLV 52 weeks (30% margin)"
FROM bi.shop_segments ORDER BY revenue DESC;

\echo 'bi.shop_customers: the lifecycle funnel (acquisition: leads without an order, and customers with returns only)'
SELECT lifecycle_stage AS stage, rfm_label(lifecycle_stage, 'zh') AS "阶段", count(*) AS customers
FROM bi.shop_customers
GROUP BY lifecycle_stage
ORDER BY array_position(ARRAY['acquisition', 'growth', 'maturity', 'decline', 'churned'], lifecycle_stage);

\echo 'bi.shop_pareto: the top 20% of customers bring ...'
SELECT customer_percent AS "top %", customers, round(100 * revenue_share, 1) AS "revenue %"
FROM bi.shop_pareto WHERE customer_percent IN (1, 5, 10, 20, 50) ORDER BY 1;

\echo 'Where the Champions of 2011-06-30 were on 2011-12-10 (rfm_transition_matrix)'
SELECT to_segment, customers, from_revenue, to_revenue
FROM rfm_transition_matrix('shop') WHERE from_segment = 'Champions' ORDER BY customers DESC;

\echo 'Segment x segment, customers (rows: 2011-06-30, columns: 2011-12-10; "new" = first order after 2011-06-30)'
SELECT coalesce(from_segment, 'new') AS "2011-06-30 → 2011-12-10",
       sum(customers) FILTER (WHERE to_segment = 'Champions') AS "Champ",
       sum(customers) FILTER (WHERE to_segment = 'Loyal Customers') AS "Loyal",
       sum(customers) FILTER (WHERE to_segment = 'Potential Loyalist') AS "PotLoy",
       sum(customers) FILTER (WHERE to_segment IN ('New Customers', 'Promising')) AS "New/Prom",
       sum(customers) FILTER (WHERE to_segment = 'Need Attention') AS "NeedAtt",
       sum(customers) FILTER (WHERE to_segment IN ('About To Sleep', 'Hibernating')) AS "Sleep/Hib",
       sum(customers) FILTER (WHERE to_segment IN ('At Risk', 'Can''t Lose Them')) AS "AtRisk/CantLose",
       sum(customers) FILTER (WHERE to_segment = 'Lost') AS "Lost",
       sum(customers) AS total
FROM rfm_transition_matrix('shop')
GROUP BY from_segment ORDER BY sum(from_revenue) DESC NULLS LAST;

-- The report: the model as one HTML document, with its charts, for people
-- who do not read SQL.  psql writes it (\o), in English and in Chinese.
\if :{?report}
\else
\set report /tmp/rfm-demo-report
\endif
\pset format unaligned
\pset tuples_only on
\o :report.html
SELECT rfm_report('shop');
\o :report-zh.html
SELECT rfm_report('shop', 'zh');
\o
\pset format aligned
\pset tuples_only off
\echo
\echo 'The report of model "shop" (rfm_report): ':report'.html, in Chinese ':report'-zh.html'
