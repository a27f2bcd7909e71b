-- rfm action benchmark: the per-row cost of rfm_strategy, rfm_action and
-- rfm_discounted_price over :rows customers, against a plain join with the
-- rule tables and a SQL-function lookup, in one session, one process (no
-- parallel workers).  Prints the best of :reps runs and the cost per row in
-- microseconds above a plain scan of the same table.
-- Variables: :rows, :reps (set by action.sh).
\set ON_ERROR_STOP 1
\pset footer off
CREATE EXTENSION IF NOT EXISTS rfm;
SET jit = off;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';

DROP TABLE IF EXISTS bench_customers;
CREATE UNLOGGED TABLE bench_customers AS
SELECT i AS customer_id,
       (SELECT array_agg(segment ORDER BY segment) FROM rfm_segment_action)[1 + (hashint8(i) & 2147483647) % 19] AS segment,
       3 + (hashint8(i * 3 + 1) & 2147483647) % 13 AS score,
       round(((hashint8(i * 7 + 2) & 2147483647) % 3000000) / 100.0, 2) AS spend
FROM generate_series(1::bigint, :rows) i;
VACUUM ANALYZE bench_customers;

\ir best_ms.sql

-- the lookup an analyst would write without the C functions
CREATE FUNCTION pg_temp.sql_strategy(seg text) RETURNS text LANGUAGE sql STABLE AS
$$ SELECT strategy FROM rfm_segment_action WHERE segment = seg $$;

CREATE TEMP TABLE results (name text, ms numeric);

INSERT INTO results SELECT 'scan', pg_temp.best_ms($q$
SELECT sum(length(segment)) FROM bench_customers
$q$, :reps);

INSERT INTO results SELECT 'join_strategy', pg_temp.best_ms($q$
SELECT sum(length(a.strategy)) FROM bench_customers c JOIN rfm_segment_action a ON a.segment = c.segment
$q$, :reps);

INSERT INTO results SELECT 'sql_function_strategy', pg_temp.best_ms($q$
SELECT sum(length(pg_temp.sql_strategy(segment))) FROM bench_customers
$q$, :reps);

INSERT INTO results SELECT 'rfm_strategy', pg_temp.best_ms($q$
SELECT sum(length(rfm_strategy(segment))) FROM bench_customers
$q$, :reps);

INSERT INTO results SELECT 'join_plan', pg_temp.best_ms($q$
SELECT sum(length(a.strategy) + cardinality(a.channels) + length(t.code)) , sum(t.discount)
FROM bench_customers c JOIN rfm_segment_action a ON a.segment = c.segment JOIN rfm_tier t ON t.code = a.tier
$q$, :reps);

INSERT INTO results SELECT 'rfm_action', pg_temp.best_ms($q$
SELECT sum(length((p).strategy) + cardinality((p).channels) + length((p).tier)), sum((p).discount)
FROM (SELECT rfm_action(segment) AS p FROM bench_customers OFFSET 0) q
$q$, :reps);

INSERT INTO results SELECT 'join_price_by_spend', pg_temp.best_ms($q$
SELECT sum(c.spend * (1 - t.discount))
FROM bench_customers c
JOIN LATERAL (SELECT discount FROM rfm_tier WHERE min_spend <= c.spend ORDER BY rank DESC LIMIT 1) t ON true
$q$, :reps);

UPDATE rfm_tier_settings SET tier_by = 'spend';
INSERT INTO results SELECT 'rfm_price_by_spend', pg_temp.best_ms($q$
SELECT sum(rfm_discounted_price(spend, rfm_tier(segment, NULL, spend))) FROM bench_customers
$q$, :reps);
UPDATE rfm_tier_settings SET tier_by = 'segment';

SELECT r.name AS query, r.ms AS "best ms",
       round((r.ms - s.ms) * 1000 / :rows, 3) AS "µs per row above the scan"
FROM results r, results s WHERE s.name = 'scan'
ORDER BY r.ctid;
DROP TABLE bench_customers;
