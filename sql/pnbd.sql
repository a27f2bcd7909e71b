--
-- Pareto/NBD (src/pnbd.c): reproduce the published CDNOW fit, check the
-- predictions against an independent evaluation (the likelihood's integral
-- by Simpson's rule in plain SQL instead of 2F1), CLV, parallel
-- aggregation and rejected inputs.  test/t/007_btyd_reference.pl checks the
-- fit against an independent implementation in Python.
--
SET extra_float_digits = 0;
\set VERBOSITY default

CREATE TABLE pn_raw (line text);
\copy pn_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE pn_cal AS
WITH tx AS (SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day
            FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM pn_raw) s),
     days AS (SELECT DISTINCT customer_id, day FROM tx WHERE day <= date '1997-09-30')
SELECT customer_id, (count(*) - 1)::float8 AS x,
       ((max(day) - min(day)) / 7.0)::float8 AS t_x,
       ((date '1997-09-30' - min(day)) / 7.0)::float8 AS "T"
FROM days GROUP BY customer_id;

-- CDNOW, weeks, calibration to 1997-09-30: r = 0.553, alpha = 10.578,
-- s = 0.606, beta = 11.669, LL = -9595.0 (Fader, Hardie & Lee 2005, and
-- the BTYD and CLVTools packages on the same data)
CREATE TABLE pn_m AS SELECT rfm_pnbd_fit(x, t_x, "T", 'week') AS m FROM pn_cal;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).s::numeric, 3) AS s, round((m).beta::numeric, 3) AS beta,
       round((m).log_likelihood::numeric, 1) AS ll, (m).n_customers, (m).converged, (m).time_unit,
       abs((m).r - 0.553) / 0.553 < 0.005 AND abs((m).alpha - 10.578) / 10.578 < 0.005
       AND abs((m).s - 0.606) / 0.606 < 0.005 AND abs((m).beta - 11.669) / 11.669 < 0.005 AS params_ok,
       abs((m).log_likelihood + 9595.0) < 0.1 AS ll_ok,
       abs((m).aic - (8 - 2 * (m).log_likelihood)) < 1e-9 AS aic_ok
FROM pn_m;

-- Pareto/NBD has a lower likelihood than BG/NBD here (-9595.0 against
-- -9582.4), as published: same number of parameters, so AIC prefers BG/NBD
SELECT (p).aic > (b).aic AS bgnbd_preferred
FROM pn_m AS q(p), (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS b FROM pn_cal) s;

-- ---------------------------------------------------------------------
-- Independent evaluation: I = int_{t_x}^T (alpha+u)^-(r+x) (beta+u)^-(s+1) du
-- by Simpson's rule (2,000 intervals), P(alive) = 1 / (1 + s I (alpha+T)^(r+x)
-- (beta+T)^s), E = P(alive) (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]
-- ---------------------------------------------------------------------
CREATE FUNCTION pn_sql_palive(m rfm_pnbd_model, x float8, t_x float8, tt float8)
RETURNS float8 LANGUAGE sql STABLE AS $$
SELECT 1 / (1 + (m).s * i * power((m).alpha + tt, (m).r + x) * power((m).beta + tt, (m).s))
FROM (SELECT coalesce(sum(w * power((m).alpha + u, -((m).r + x)) * power((m).beta + u, -((m).s + 1))), 0)
             * (tt - t_x) / 6000 AS i
      FROM (SELECT t_x + (tt - t_x) * k / 2000.0 AS u,
                   CASE WHEN k IN (0, 2000) THEN 1 WHEN k % 2 = 1 THEN 4 ELSE 2 END AS w
            FROM generate_series(0, 2000) k) g) q
$$;
CREATE FUNCTION pn_sql_expected(m rfm_pnbd_model, t float8, x float8, t_x float8, tt float8)
RETURNS float8 LANGUAGE sql STABLE AS $$
SELECT pn_sql_palive(m, x, t_x, tt) * ((m).r + x) * ((m).beta + tt) / (((m).alpha + tt) * ((m).s - 1))
       * (1 - power(((m).beta + tt) / ((m).beta + tt + t), (m).s - 1))
$$;
-- customers of every kind: one-time buyers, recent and lapsed repeat buyers
SELECT x, t_x, "T", round(rfm_p_alive(m, x, t_x, "T")::numeric, 4) AS p_alive,
       round(rfm_expected_purchases(m, 52, x, t_x, "T")::numeric, 4) AS expected_52,
       abs(rfm_p_alive(m, x, t_x, "T") - pn_sql_palive(m, x, t_x, "T")) < 1e-9 AS p_alive_ok,
       abs(rfm_expected_purchases(m, 52, x, t_x, "T") - pn_sql_expected(m, 52, x, t_x, "T")) < 1e-9 AS expected_ok
FROM pn_m, (VALUES (0, 0, 38.86), (0, 0, 10), (2, 30.43, 38.86), (2, 5, 38.86), (7, 35, 39),
                   (15, 20, 38), (29, 38, 39), (1, 32, 32)) v(x, t_x, "T")
ORDER BY x, t_x, "T";

-- A customer whose last purchase is at T is alive for sure; one-time buyers
-- are more likely alive the more recent their first purchase
SELECT rfm_p_alive(m, 3, 20, 20) AS alive_at_T,
       rfm_p_alive(m, 0, 0, 5) > rfm_p_alive(m, 0, 0, 30) AS recent_more_alive
FROM pn_m;

-- E[X(t)] of a new customer: the closed form, and the conditional
-- expectation at x = t_x = T = 0
SELECT t, round(rfm_expected_purchases_new(m, t)::numeric, 4) AS expected,
       abs(rfm_expected_purchases_new(m, t) - (m).r * (m).beta / ((m).alpha * ((m).s - 1))
           * (1 - power((m).beta / ((m).beta + t), (m).s - 1))) < 1e-12 AS formula_ok,
       abs(rfm_expected_purchases_new(m, t) - rfm_expected_purchases(m, t, 0, 0, 0)) < 1e-12 AS same_as_conditional
FROM pn_m, (VALUES (1), (39), (78)) v(t) ORDER BY t;

-- the 39-week holdout (1997-10-01 to 1998-06-30) predicted from the
-- calibration histories, against the purchase days the customers made then
-- (BG/NBD predicts 1,653 of these 1,882)
SELECT round(sum(rfm_expected_purchases(m, 39, x, t_x, "T"))::numeric, 0) AS predicted_holdout,
       (SELECT count(DISTINCT (f[2], f[3]))
        FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM pn_raw) s
        WHERE to_date(f[3], 'YYYYMMDD') BETWEEN date '1997-10-01' AND date '1998-06-30') AS actual_holdout
FROM pn_m, pn_cal;

-- s = 1 exactly: the lifetime factor's limit log(1 + t/(beta+T)), between
-- its neighbours
SELECT e1 BETWEEN least(e0, e2) AND greatest(e0, e2) AND abs(e1 - (e0 + e2) / 2) < 1e-6 AS s_one_ok
FROM (SELECT rfm_expected_purchases(rfm_pnbd_model(0.55, 10.6, 0.999, 11.7), 52, 2, 30, 40) AS e0,
             rfm_expected_purchases(rfm_pnbd_model(0.55, 10.6, 1.000, 11.7), 52, 2, 30, 40) AS e1,
             rfm_expected_purchases(rfm_pnbd_model(0.55, 10.6, 1.001, 11.7), 52, 2, 30, 40) AS e2) s;
-- alpha = beta: 2F1 = 1 (the note's second case), against the SQL integral
SELECT abs(rfm_p_alive(rfm_pnbd_model(0.55, 11, 0.6, 11), 4, 20, 39)
           - pn_sql_palive(rfm_pnbd_model(0.55, 11, 0.6, 11), 4, 20, 39)) < 1e-9 AS equal_rates_ok,
       abs(rfm_p_alive(rfm_pnbd_model(0.55, 2, 0.6, 40), 4, 20, 39)
           - pn_sql_palive(rfm_pnbd_model(0.55, 2, 0.6, 40), 4, 20, 39)) < 1e-9 AS alpha_below_beta_ok,
       abs(rfm_p_alive(rfm_pnbd_model(0.55, 40, 0.6, 2), 4, 20, 39)
           - pn_sql_palive(rfm_pnbd_model(0.55, 40, 0.6, 2), 4, 20, 39)) < 1e-9 AS alpha_above_beta_ok;

-- ---------------------------------------------------------------------
-- CLV: undiscounted, order value x margin x expected purchases; discounted,
-- the step-by-step sum of the increments of rfm_expected_purchases
-- ---------------------------------------------------------------------
SELECT abs(rfm_clv(m, 2, 30.43, 38.86, 35, 52, 0.3, 0)
           - 35 * 0.3 * rfm_expected_purchases(m, 52, 2, 30.43, 38.86)) < 1e-9 AS undiscounted_ok,
       abs(rfm_clv(m, 2, 30.43, 38.86, 35, 10.5, 1, 0.002)
           - 35 * (SELECT sum((rfm_expected_purchases(m, least(i, 10.5), 2, 30.43, 38.86)
                               - rfm_expected_purchases(m, i - 1, 2, 30.43, 38.86))
                              / power(1.002, least(i, 10.5)))
                   FROM generate_series(1, 11) i)) < 1e-9 AS discounted_ok,
       rfm_clv(m, 2, 30.43, 38.86, 35, 0) = 0 AS zero_horizon
FROM pn_m;

-- ---------------------------------------------------------------------
-- Parallel aggregation gives the same fit
-- ---------------------------------------------------------------------
CREATE TABLE pn_big AS SELECT c.* FROM pn_cal c, generate_series(1, 8);
ANALYZE pn_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT rfm_pnbd_fit(x, t_x, "T", 'week') FROM pn_big;
CREATE TABLE pn_par AS SELECT rfm_pnbd_fit(x, t_x, "T", 'week') AS m FROM pn_big;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SET max_parallel_workers_per_gather = 0;
SELECT (p).r = (s).r AND (p).alpha = (s).alpha AND (p).s = (s).s AND (p).beta = (s).beta AS same_fit,
       (p).n_customers, abs((p).r - (m).r) < 1e-6 AS eight_copies_same_estimate
FROM pn_par AS a(p), (SELECT rfm_pnbd_fit(x, t_x, "T", 'week') AS s FROM pn_big) b, pn_m;
RESET max_parallel_workers_per_gather;

-- ---------------------------------------------------------------------
-- Rejected inputs
-- ---------------------------------------------------------------------
CREATE FUNCTION pn_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT q, pn_err(q) AS result FROM (VALUES
    ($q$SELECT rfm_pnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 6, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_pnbd_fit(x, t, tt, 'week') FROM (VALUES (2, 3, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_pnbd_fit(x, t, tt, 'week') FROM (VALUES (0, 0, 5), (0, 0, 7)) v(x, t, tt)$q$),
    ($q$SELECT rfm_pnbd_fit(x, t, tt, 'fortnight') FROM (VALUES (1, 1, 5), (0, 0, 7)) v(x, t, tt)$q$),
    ($q$SELECT rfm_pnbd_fit(x, t, tt, 'week', -1) FROM (VALUES (1, 1, 5), (0, 0, 7)) v(x, t, tt)$q$),
    ($q$SELECT rfm_p_alive(rfm_pnbd_model(-0.5, 10, 0.6, 11), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(rfm_pnbd_model(NULL, 10, 0.6, 11), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(m, 1e308, 1, 2) FROM pn_m$q$),
    ($q$SELECT rfm_expected_purchases(m, -1, 1, 1, 2) FROM pn_m$q$),
    ($q$SELECT rfm_clv(m, 1, 1, 2, 10, 1e9) FROM pn_m$q$),
    ($q$SELECT rfm_clv(m, 1, 1, 2, 1e308, 52, 1e10) FROM pn_m$q$)
) v(q);
SELECT rfm_pnbd_fit(x, t_x, "T", 'week') IS NULL AS empty_is_null FROM pn_cal WHERE false;

DROP FUNCTION pn_err(text);
DROP FUNCTION pn_sql_expected(rfm_pnbd_model, float8, float8, float8, float8);
DROP FUNCTION pn_sql_palive(rfm_pnbd_model, float8, float8, float8);
DROP TABLE pn_raw, pn_cal, pn_m, pn_big, pn_par;
