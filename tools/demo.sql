-- The demo: from an order table to a segment table.
\pset footer off
CREATE EXTENSION rfm;
SET TimeZone = 'UTC';
CREATE TABLE orders (invoice text, customer_id integer, invoice_time timestamptz,
                     amount numeric, cancelled boolean, country text);
\copy orders FROM 'test/data/online_retail_invoices.csv' WITH (FORMAT csv, HEADER true)

-- One summary per customer as of the day after the last invoice.
CREATE TABLE customer_rfm AS
SELECT customer_id, (s).*
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s
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
