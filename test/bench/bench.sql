-- rfm benchmark: built-in aggregates and the hand-written NTILE recipe
-- against rfm_summary + rfm_scores + rfm_segment over the same table, in one
-- session.  Prints the best time of :reps runs of each query and the ratios.
-- Variables: :orders, :customers, :reps (set by bench.sh).
\set ON_ERROR_STOP 1
\pset footer off
CREATE EXTENSION IF NOT EXISTS rfm;
SET jit = off;
SET work_mem = '2GB';
SET TimeZone = 'UTC';
SET max_parallel_workers_per_gather = :workers;

DROP TABLE IF EXISTS bench_orders;
CREATE UNLOGGED TABLE bench_orders AS
SELECT (hashint8(i) & 2147483647) % :customers AS customer_id,
       timestamptz '2023-01-01 00:00+00'
         + ((hashint8(i * 3 + 1) & 2147483647) % (730 * 86400)) * interval '1 second' AS order_time,
       round(((hashint8(i * 7 + 2) & 2147483647) % 100000) / 100.0 - 50, 2) AS amount
FROM generate_series(1::bigint, :orders) i;
VACUUM ANALYZE bench_orders;

-- Best-of-n wall time of a query, in milliseconds.  The query's rows are
-- fetched and discarded; every query below aggregates its own output, so
-- no aggregate or window function can be pruned by the planner.
\ir best_ms.sql
\ir hand_segment.sql

CREATE TEMP TABLE results (name text, ms numeric);

-- 1. The built-in aggregates rfm_summary replaces.
INSERT INTO results SELECT 'builtin', pg_temp.best_ms($q$
SELECT sum(n), sum(m), min(f), max(l) FROM (
  SELECT customer_id, count(*) AS n, sum(amount) AS m, min(order_time) AS f, max(order_time) AS l
  FROM bench_orders WHERE order_time <= '2025-01-01 00:00+00' GROUP BY customer_id) s
$q$, :reps);

-- 2. rfm_summary.
INSERT INTO results SELECT 'rfm_summary', pg_temp.best_ms($q$
SELECT sum((s).frequency), sum((s).monetary), min((s).first_order), max((s).last_order) FROM (
  SELECT customer_id, rfm_summary(order_time, amount, '2025-01-01 00:00+00') AS s
  FROM bench_orders GROUP BY customer_id) x
$q$, :reps);

-- 2b. rfm_summarize: the same summaries (and lifecycle stages), grouped in C.
INSERT INTO results SELECT 'rfm_summarize', pg_temp.best_ms($q$
SELECT sum((summary).frequency), sum((summary).monetary), min((summary).first_order), max((summary).last_order)
FROM rfm_summarize('bench_orders', 'customer_id', 'order_time', 'amount', '2025-01-01 00:00+00', 'UTC', NULL::integer)
$q$, :reps);

-- 3. The hand-written recipe: GROUP BY, three NTILE windows, a CASE.
INSERT INTO results SELECT 'recipe', pg_temp.best_ms($q$
SELECT segment, count(*), sum(monetary) FROM (
  SELECT monetary,
         pg_temp.hand_segment(r, f, m) AS segment
  FROM (SELECT monetary,
               ntile(5) OVER (ORDER BY recency DESC) AS r,
               ntile(5) OVER (ORDER BY frequency) AS f,
               ntile(5) OVER (ORDER BY monetary) AS m
        FROM (SELECT customer_id,
                     extract(epoch FROM '2025-01-01 00:00+00' - max(order_time)) / 86400 AS recency,
                     count(*) AS frequency, sum(amount) AS monetary
              FROM bench_orders WHERE order_time <= '2025-01-01 00:00+00'
              GROUP BY customer_id) s) w) q
GROUP BY segment
$q$, :reps);

-- 4. rfm: summary, the three scores in one pass, the segment.
INSERT INTO results SELECT 'rfm_scoring', pg_temp.best_ms($q$
SELECT rfm_segment((sc).r, (sc).f, (sc).m) AS segment, count(*), sum(monetary) FROM (
  SELECT monetary, rfm_scores(recency, frequency, monetary) OVER () AS sc
  FROM (SELECT (s).recency, (s).frequency, (s).monetary
        FROM (SELECT customer_id, rfm_summary(order_time, amount, '2025-01-01 00:00+00') AS s
              FROM bench_orders GROUP BY customer_id) x) y) z
GROUP BY 1
$q$, :reps);

-- 4b. The same over rfm_summarize.
INSERT INTO results SELECT 'rfm_summarize_scoring', pg_temp.best_ms($q$
SELECT rfm_segment((sc).r, (sc).f, (sc).m) AS segment, count(*), sum(monetary) FROM (
  SELECT monetary, rfm_scores(recency, frequency, monetary) OVER () AS sc
  FROM (SELECT (summary).recency, (summary).frequency, (summary).monetary
        FROM rfm_summarize('bench_orders', 'customer_id', 'order_time', 'amount',
                           '2025-01-01 00:00+00', 'UTC', NULL::integer)) y) z
GROUP BY 1
$q$, :reps);

-- 5. rfm with three sorted rfm_score windows (tie-aware, as the recipe's shape).
INSERT INTO results SELECT 'rfm_score_windows', pg_temp.best_ms($q$
SELECT rfm_segment(r, f, m) AS segment, count(*), sum(monetary) FROM (
  SELECT monetary,
         rfm_score(5) OVER (ORDER BY recency DESC) AS r,
         rfm_score(5) OVER (ORDER BY frequency) AS f,
         rfm_score(5) OVER (ORDER BY monetary) AS m
  FROM (SELECT (s).recency, (s).frequency, (s).monetary
        FROM (SELECT customer_id, rfm_summary(order_time, amount, '2025-01-01 00:00+00') AS s
              FROM bench_orders GROUP BY customer_id) x) y) z
GROUP BY 1
$q$, :reps);

-- 6 and 7. Scoring alone, from a per-customer table (say a materialized view
-- refreshed nightly): the recipe's three NTILE windows and CASE against
-- rfm_scores + rfm_segment.
CREATE TEMP TABLE bench_customers AS
SELECT (s).recency, (s).frequency, (s).monetary
FROM (SELECT customer_id, rfm_summary(order_time, amount, '2025-01-01 00:00+00') AS s
      FROM bench_orders GROUP BY customer_id) x;
VACUUM ANALYZE bench_customers;

INSERT INTO results SELECT 'recipe_scoring_only', pg_temp.best_ms($q$
SELECT segment, count(*), sum(monetary) FROM (
  SELECT monetary,
         pg_temp.hand_segment(r, f, m) AS segment
  FROM (SELECT monetary,
               ntile(5) OVER (ORDER BY recency DESC) AS r,
               ntile(5) OVER (ORDER BY frequency) AS f,
               ntile(5) OVER (ORDER BY monetary) AS m
        FROM bench_customers) w) q
GROUP BY segment
$q$, :reps);

INSERT INTO results SELECT 'rfm_scoring_only', pg_temp.best_ms($q$
SELECT rfm_segment((sc).r, (sc).f, (sc).m) AS segment, count(*), sum(monetary) FROM (
  SELECT monetary, rfm_scores(recency, frequency, monetary) OVER () AS sc
  FROM bench_customers) z
GROUP BY 1
$q$, :reps);

-- 8 and 9. One customer with 200,000 distinct purchase days, in ascending
-- and in descending order (out-of-order days are sorted lazily).
INSERT INTO results SELECT 'days_ascending', pg_temp.best_ms($q$
SELECT (rfm_summary(d, 1::numeric, date '3000-01-01' ORDER BY d)).purchase_days
FROM generate_series(0, 199999) i, LATERAL (SELECT date '1500-01-01' + i AS d) x
$q$, :reps);
INSERT INTO results SELECT 'days_descending', pg_temp.best_ms($q$
SELECT (rfm_summary(d, 1::numeric, date '3000-01-01' ORDER BY d DESC)).purchase_days
FROM generate_series(0, 199999) i, LATERAL (SELECT date '1500-01-01' + i AS d) x
$q$, :reps);

\echo
SELECT name AS query, ms FROM results;
\echo 'Ratios (below 1.0: rfm is faster)'
SELECT 'rfm_summary / built-in aggregates' AS comparison,
       round((SELECT ms FROM results WHERE name = 'rfm_summary') / (SELECT ms FROM results WHERE name = 'builtin'), 2) AS ratio,
       '<= 1.00' AS target
UNION ALL
SELECT 'orders -> summary per customer: rfm_summarize / built-in aggregates',
       round((SELECT ms FROM results WHERE name = 'rfm_summarize') / (SELECT ms FROM results WHERE name = 'builtin'), 2),
       '<= 0.50'
UNION ALL
SELECT 'orders -> scores + segment: rfm_summarize + rfm_scores + rfm_segment / NTILE recipe',
       round((SELECT ms FROM results WHERE name = 'rfm_summarize_scoring') / (SELECT ms FROM results WHERE name = 'recipe'), 2),
       '<= 0.50'
UNION ALL
SELECT '200,000 purchase days: descending / ascending order',
       round((SELECT ms FROM results WHERE name = 'days_descending') / (SELECT ms FROM results WHERE name = 'days_ascending'), 2),
       '(n log n: a small constant)'
UNION ALL
SELECT 'rfm scoring query / NTILE recipe',
       round((SELECT ms FROM results WHERE name = 'rfm_scoring') / (SELECT ms FROM results WHERE name = 'recipe'), 2),
       '<= 0.67 (1.5x faster)'
UNION ALL
SELECT 'scoring alone: rfm_scores + rfm_segment / NTILE + CASE',
       round((SELECT ms FROM results WHERE name = 'rfm_scoring_only') / (SELECT ms FROM results WHERE name = 'recipe_scoring_only'), 2),
       '(for information)'
UNION ALL
SELECT 'rfm with three rfm_score windows / NTILE recipe',
       round((SELECT ms FROM results WHERE name = 'rfm_score_windows') / (SELECT ms FROM results WHERE name = 'recipe'), 2),
       '(for information)';
DROP TABLE bench_orders;
