-- Included by btyd.sql twice: the timed BTYD queries with :w parallel
-- workers per query.
SET max_parallel_workers_per_gather = :w;

INSERT INTO results SELECT 'fit BG/NBD', :w, pg_temp.best_ms($q$
SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'fit MBG/NBD', :w, pg_temp.best_ms($q$
SELECT rfm_mbgnbd_fit(x, t_x, "T", 'week') FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'fit Pareto/NBD', :w, pg_temp.best_ms($q$
SELECT rfm_pnbd_fit(x, t_x, "T", 'week') FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'fit BG/BB (discrete customers)', :w, pg_temp.best_ms($q$
SELECT rfm_bgbb_fit(x, t_x, n) FROM bench_bgbb
$q$, :reps);

INSERT INTO results SELECT 'fit Gamma-Gamma', :w, pg_temp.best_ms($q$
SELECT rfm_gamma_gamma_fit(x, mean_value) FROM bench_btyd WHERE x > 0
$q$, :reps);

-- The model is passed as a scalar subquery: an InitPlan, evaluated once and
-- handed to the workers, so that the scoring runs under a Partial Aggregate
-- (with a join to bench_model the planner gathers the rows first and scores
-- them all in the leader).
INSERT INTO results SELECT 'score P(alive)', :w, pg_temp.best_ms($q$
SELECT sum(rfm_p_alive((SELECT m FROM bench_model), x, t_x, "T")) FROM bench_btyd
$q$, :reps);

-- CLV over 52 weeks, 10% a year, 30% margin, with the Gamma-Gamma order value
INSERT INTO results SELECT 'score CLV (52 weekly steps)', :w, pg_temp.best_ms($q$
SELECT sum(rfm_clv((SELECT m FROM bench_model), x, t_x, "T",
                   rfm_expected_order_value((SELECT g FROM bench_model), x, coalesce(mean_value, 0)),
                   52, 0.3, 0.10 / 52))
FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'score P(alive) Pareto/NBD', :w, pg_temp.best_ms($q$
SELECT sum(rfm_p_alive((SELECT pn FROM bench_model), x, t_x, "T")) FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'score CLV Pareto/NBD (52 weekly steps)', :w, pg_temp.best_ms($q$
SELECT sum(rfm_clv((SELECT pn FROM bench_model), x, t_x, "T",
                   rfm_expected_order_value((SELECT g FROM bench_model), x, coalesce(mean_value, 0)),
                   52, 0.3, 0.10 / 52))
FROM bench_btyd
$q$, :reps);

INSERT INTO results SELECT 'score P(alive) BG/BB', :w, pg_temp.best_ms($q$
SELECT sum(rfm_p_alive((SELECT bb FROM bench_model), x, t_x, n)) FROM bench_bgbb
$q$, :reps);
