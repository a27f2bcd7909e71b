-- Model refresh benchmark (see model.sh).  Variables: :orders, :customers, :reps,
-- :explain (1: EXPLAIN (ANALYZE, BUFFERS) of each view's query).
\set ON_ERROR_STOP 1
\pset footer off
CREATE EXTENSION IF NOT EXISTS rfm;
SET jit = off;
SET work_mem = '1GB';
SET TimeZone = 'UTC';

CREATE TABLE bench_orders AS
SELECT (hashint8(i) & 2147483647) % :customers AS customer_id,
       timestamptz '2023-01-01 00:00+00'
         + ((hashint8(i * 3 + 1) & 2147483647) % (730 * 86400)) * interval '1 second' AS order_time,
       round(((hashint8(i * 7 + 2) & 2147483647) % 100000) / 100.0, 2) AS amount
FROM generate_series(1::bigint, :orders) i;
VACUUM ANALYZE bench_orders;
\ir best_ms.sql
\ir hand_segment.sql
CREATE TEMP TABLE results (name text, ms numeric);

-- Baseline: what a DBA rebuilds by hand for the same dashboard: per-customer
-- summary with NTILE scores and the segment, and the per-segment table.
INSERT INTO results SELECT 'hand-written rebuild', pg_temp.best_ms($q$
DROP TABLE IF EXISTS hand_customers, hand_segments;
CREATE TABLE hand_customers AS
SELECT customer_id, recency, frequency, monetary, r, f, m,
       pg_temp.hand_segment(r, f, m) AS segment
FROM (SELECT *, ntile(5) OVER (ORDER BY recency DESC) AS r, ntile(5) OVER (ORDER BY frequency) AS f,
             ntile(5) OVER (ORDER BY monetary) AS m
      FROM (SELECT customer_id,
                   extract(epoch FROM '2025-01-01 00:00+00' - max(order_time)) / 86400 AS recency,
                   count(*) AS frequency, sum(amount) AS monetary
            FROM bench_orders GROUP BY customer_id) s) q;
CREATE UNIQUE INDEX ON hand_customers (customer_id);
CREATE TABLE hand_segments AS
SELECT segment, count(*) AS customers, sum(monetary) AS revenue,
       sum(monetary) / sum(sum(monetary)) OVER () AS revenue_share
FROM hand_customers GROUP BY segment;
$q$, :reps);

SELECT count(*) AS views FROM rfm_create_model('bench', 'bench_orders', 'customer_id', 'order_time', 'amount',
                                               as_of => '2025-01-01 00:00+00', clv => false,
                                               keep_history => false);

-- Where the time goes: each view's query on its own, reading the tables of
-- the last refresh.
SELECT :explain = 1 AS explain \gset
\if :explain
SELECT format('EXPLAIN (ANALYZE, BUFFERS, COSTS off, TIMING off) %s', q.definition) AS q
FROM rfm_model m,
     rfm_model_view_sql(m, (SELECT right(c.relname, 1) FROM pg_class c
                            WHERE c.oid = rfm_model_storage(m, '_summary'))) q
WHERE m.name = 'bench' \gexec
\endif
-- rfm_refresh: tables built, then swapped in; locked, logged (a procedure:
-- timed from its log).
CALL rfm_refresh('bench');
CALL rfm_refresh('bench');
CALL rfm_refresh('bench');
INSERT INTO results
SELECT 'rfm_refresh', round(min(extract(epoch FROM finished_at - started_at)) * 1000)
FROM rfm_refresh_log WHERE model = 'bench' AND message IS DISTINCT FROM 'created';
-- With the CLV models (BG/NBD and Gamma-Gamma fitted at each refresh).
SELECT rfm_drop_model('bench');
SELECT count(*) AS views FROM rfm_create_model('bench', 'bench_orders', 'customer_id', 'order_time', 'amount',
                                               as_of => '2025-01-01 00:00+00', time_unit => 'week',
                                               clv_horizon => 52, keep_history => false);
CALL rfm_refresh('bench');
CALL rfm_refresh('bench');
\if :explain
SELECT format('EXPLAIN (ANALYZE, BUFFERS, COSTS off, TIMING off) %s', q.definition) AS q
FROM rfm_model m,
     rfm_model_view_sql(m, (SELECT right(c.relname, 1) FROM pg_class c
                            WHERE c.oid = rfm_model_storage(m, '_summary'))) q
WHERE m.name = 'bench' AND q.view_suffix IN ('_fit', '_customers') \gexec
\endif
INSERT INTO results
SELECT 'rfm_refresh with CLV', round(min(extract(epoch FROM finished_at - started_at)) * 1000)
FROM rfm_refresh_log WHERE model = 'bench' AND message IS DISTINCT FROM 'created';

-- Incremental: the model without CLV again, keeping per-customer states.
-- Twice: 10,000 new orders (of existing customers and of 1 % new ones, in
-- the last days before as_of), then a refresh that reads only their
-- customers again.  The source has an index on the customer column, as an
-- orders table has.
SELECT rfm_drop_model('bench');
CREATE INDEX bench_orders_customer ON bench_orders (customer_id);
SELECT count(*) AS views FROM rfm_create_model('bench', 'bench_orders', 'customer_id', 'order_time', 'amount',
                                               as_of => '2025-01-01 00:00+00', clv => false,
                                               keep_history => false, incremental => true);
CALL rfm_refresh('bench', full_rebuild => true);
CALL rfm_refresh('bench', full_rebuild => true);
INSERT INTO results
SELECT 'rfm_refresh of the incremental model, full', round(min(extract(epoch FROM finished_at - started_at)) * 1000)
FROM rfm_refresh_log WHERE model = 'bench' AND message LIKE 'full: asked for%';
\set new_orders 'INSERT INTO bench_orders (customer_id, order_time, amount) SELECT (hashint8(i) & 2147483647) % (:customers + :customers / 100), timestamptz ''2024-12-20 00:00+00'' + ((hashint8(i * 5 + 3) & 2147483647) % (10 * 86400)) * interval ''1 second'', round(((hashint8(i * 11 + 4) & 2147483647) % 100000) / 100.0, 2) FROM generate_series(:first::bigint, :first::bigint + 9999) i'
\set first 1000000000
:new_orders;
CALL rfm_refresh('bench');
\set first 2000000000
:new_orders;
CALL rfm_refresh('bench');
SELECT message FROM rfm_refresh_log WHERE model = 'bench' AND message LIKE 'incremental:%' ORDER BY id;
INSERT INTO results
SELECT 'rfm_refresh of the incremental model after 10,000 new orders',
       round(min(extract(epoch FROM finished_at - started_at)) * 1000)
FROM rfm_refresh_log WHERE model = 'bench' AND message LIKE 'incremental:%';

SELECT name, ms, round(ms / (SELECT ms FROM results WHERE name = 'hand-written rebuild'), 2)
           AS "ratio to hand-written rebuild",
       round(ms / (SELECT ms FROM results WHERE name = 'rfm_refresh'), 2) AS "ratio to rfm_refresh"
FROM results;
-- the incremental refresh against the full refresh of the same model too
SELECT round((SELECT ms FROM results WHERE name LIKE 'rfm_refresh of the incremental model after%')
             / (SELECT ms FROM results WHERE name = 'rfm_refresh of the incremental model, full'), 2)
           AS "incremental / the same model's full refresh";
