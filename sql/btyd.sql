--
-- BG/NBD, MBG/NBD and Gamma-Gamma (src/btyd.c): reproduce the published
-- CDNOW results, check the fits against independent plain-SQL evaluations,
-- parallel aggregation, and every rejected input.
--
SET extra_float_digits = 0;
\set VERBOSITY default

-- ---------------------------------------------------------------------
-- CDNOW sample: transactions -> (x, t_x, T) in weeks, calibration period
-- ending 1997-09-30, purchases on the same day merged into one.
-- ---------------------------------------------------------------------
CREATE TABLE btyd_raw (line text);
\copy btyd_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE btyd_tx AS
SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day, f[5]::numeric AS dollars
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM btyd_raw) s;
CREATE TABLE btyd_cal AS
WITH days AS (
    SELECT customer_id, day, sum(dollars) AS amount
    FROM btyd_tx WHERE day <= date '1997-09-30' GROUP BY customer_id, day)
SELECT customer_id,
       (count(*) - 1)::float8 AS x,
       ((max(day) - min(day)) / 7.0)::float8 AS t_x,
       ((date '1997-09-30' - min(day)) / 7.0)::float8 AS "T",
       -- mean value of the repeat purchases (the first purchase excluded)
       ((sum(amount) - (array_agg(amount ORDER BY day))[1]) / nullif(count(*) - 1, 0))::float8 AS zbar
FROM days GROUP BY customer_id;

SELECT count(*) AS customers, sum(x) AS repeat_purchases,
       count(*) FILTER (WHERE x > 0) AS repeat_customers,
       count(*) = 2357 AND sum(x) = 2457 AND count(*) FILTER (WHERE x > 0) = 946 AS counts_ok
FROM btyd_cal;

-- rfm_summary gives the same model inputs straight from the raw transactions:
-- x = repeat_frequency, t_x = repeat_recency / 7, T = age / 7 (days to weeks).
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s).repeat_frequency = c.x AND (s).repeat_recency / 7 = c.t_x
                          AND (s).age / 7 = c."T") AS same_x_tx_T
FROM (SELECT customer_id, rfm_summary(day, dollars, date '1997-09-30') AS s
      FROM btyd_tx GROUP BY customer_id) q
JOIN btyd_cal c USING (customer_id);

-- the same summary as the one distributed with lifetimes (rounded there to 2 decimals)
CREATE TABLE btyd_ref (id int, x int, t_x float8, "T" float8, zbar float8);
\copy btyd_ref FROM 'test/data/cdnow_summary.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS compared,
       count(*) FILTER (WHERE c.x <> r.x OR abs(c.t_x - r.t_x) > 0.0051
                        OR abs(c."T" - r."T") > 0.0051
                        OR abs(coalesce(c.zbar, 0) - r.zbar) > 0.0051) AS mismatches
FROM btyd_cal c JOIN btyd_ref r ON r.id = c.customer_id;

-- ---------------------------------------------------------------------
-- BG/NBD: Fader, Hardie & Lee (2005), r = 0.243, alpha = 4.414,
-- a = 0.793, b = 2.426, LL = -9582.4
-- ---------------------------------------------------------------------
CREATE TABLE btyd_bg AS SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_cal;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       round((m).log_likelihood::numeric, 1) AS ll,
       (m).model, (m).n_customers, (m).converged, (m).time_unit, (m).l2,
       abs((m).r - 0.243) / 0.243 < 0.005 AS r_ok,
       abs((m).alpha - 4.414) / 4.414 < 0.005 AS alpha_ok,
       abs((m).a - 0.793) / 0.793 < 0.005 AS a_ok,
       abs((m).b - 2.426) / 2.426 < 0.005 AS b_ok,
       abs((m).log_likelihood - (-9582.4)) < 0.1 AS ll_ok
FROM btyd_bg;

-- E[X(t)] for t = 1, 3, 32, 78 weeks (FHL 2005): 0.0532, 0.1506, 1.0437, 1.8576
SELECT t, round(rfm_expected_purchases_new(m, t)::numeric, 4) AS expected,
       abs(rfm_expected_purchases_new(m, t) - published) / published < 0.001 AS ok
FROM btyd_bg, (VALUES (1, 0.0532), (3, 0.1506), (32, 1.0437), (78, 1.8576)) v(t, published)
ORDER BY t;

-- customer with x = 2, t_x = 30.43, T = 38.86: 1.226 purchases in the next 39 weeks
SELECT round(rfm_expected_purchases(m, 39, 2, 30.43, 38.86)::numeric, 3) AS expected,
       abs(rfm_expected_purchases(m, 39, 2, 30.43, 38.86) - 1.226) / 1.226 < 0.001 AS ok
FROM btyd_bg;

-- ---------------------------------------------------------------------
-- Gamma-Gamma: FHL (2005, "RFM and CLV") over the 946 repeat customers,
-- p = 6.25, q = 3.74, gamma = 15.44
-- ---------------------------------------------------------------------
CREATE TABLE btyd_gg AS SELECT rfm_gamma_gamma_fit(x, zbar) AS m FROM btyd_cal;
SELECT round((m).p::numeric, 2) AS p, round((m).q::numeric, 2) AS q,
       round((m).gamma::numeric, 2) AS gamma, (m).n_customers, (m).converged,
       abs((m).p - 6.25) / 6.25 < 0.005 AS p_ok,
       abs((m).q - 3.74) / 3.74 < 0.005 AS q_ok,
       abs((m).gamma - 15.44) / 15.44 < 0.005 AS gamma_ok
FROM btyd_gg;

-- ---------------------------------------------------------------------
-- Independent plain-SQL log-likelihoods (no lgamma: for whole x,
-- lgamma(r+x) - lgamma(r) = sum_{k<x} ln(r+k)) at the fitted parameters,
-- and their gradients in the log parameters by central differences.
-- ---------------------------------------------------------------------
CREATE TABLE btyd_rows AS
SELECT x, t_x, "T", count(*) AS n FROM btyd_cal GROUP BY x, t_x, "T";
CREATE FUNCTION btyd_sql_ll(model text, r float8, alpha float8, a float8, b float8)
RETURNS float8 LANGUAGE sql STABLE AS $$
    -- ln(exp(A3) + exp(A4)) = greatest + ln(1 + exp(least - greatest))
    SELECT sum(c.n * (s.lg + r * ln(alpha) + greatest(e.a3, e.a4)
                      + CASE WHEN e.a4 IS NULL OR abs(e.a3 - e.a4) > 700 THEN 0
                             ELSE ln(1 + exp(-abs(e.a3 - e.a4))) END))
    FROM btyd_rows c
    CROSS JOIN LATERAL (
        SELECT -(r + c.x) * ln(alpha + c."T") AS a3,
               CASE WHEN model = 'mbgnbd' OR c.x > 0
                    THEN ln(a) - ln(b + c.x - CASE WHEN model = 'bgnbd' THEN 1 ELSE 0 END)
                         - (r + c.x) * ln(alpha + c.t_x) END AS a4) e
    CROSS JOIN LATERAL (
        SELECT coalesce(sum(ln(r + k)) FILTER (WHERE k < c.x), 0)
             + coalesce(sum(ln(b + k) - ln(a + b + k))
                        FILTER (WHERE k < c.x + CASE WHEN model = 'mbgnbd' THEN 1 ELSE 0 END), 0) AS lg
        FROM generate_series(0, c.x::int) k) s
$$;
CREATE FUNCTION btyd_sql_grad(m rfm_bgnbd_model, h float8 DEFAULT 1e-5)
RETURNS float8[] LANGUAGE sql STABLE AS $$
    SELECT ARRAY[
      (btyd_sql_ll(m.model, m.r * exp(h), m.alpha, m.a, m.b) - btyd_sql_ll(m.model, m.r * exp(-h), m.alpha, m.a, m.b)) / (2 * h),
      (btyd_sql_ll(m.model, m.r, m.alpha * exp(h), m.a, m.b) - btyd_sql_ll(m.model, m.r, m.alpha * exp(-h), m.a, m.b)) / (2 * h),
      (btyd_sql_ll(m.model, m.r, m.alpha, m.a * exp(h), m.b) - btyd_sql_ll(m.model, m.r, m.alpha, m.a * exp(-h), m.b)) / (2 * h),
      (btyd_sql_ll(m.model, m.r, m.alpha, m.a, m.b * exp(h)) - btyd_sql_ll(m.model, m.r, m.alpha, m.a, m.b * exp(-h))) / (2 * h)]
$$;

SELECT abs(btyd_sql_ll('bgnbd', (m).r, (m).alpha, (m).a, (m).b) - (m).log_likelihood) < 1e-6 AS bg_ll_matches,
       (SELECT max(abs(g)) FROM unnest(btyd_sql_grad(m)) g) < 1e-3 AS bg_gradient_zero
FROM btyd_bg;

-- MBG/NBD on the same data.  Reference: BTYDplus (R), r = 0.525,
-- alpha = 6.183, a = 0.891, b = 1.614, as quoted in lifetimes' tests.
CREATE TABLE btyd_mbg AS SELECT rfm_mbgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_cal;
SELECT round((m).r::numeric, 3) AS r, round((m).alpha::numeric, 3) AS alpha,
       round((m).a::numeric, 3) AS a, round((m).b::numeric, 3) AS b,
       (m).model, (m).n_customers, (m).converged,
       abs((m).r - 0.525) / 0.525 < 0.005 AND abs((m).alpha - 6.183) / 6.183 < 0.005
       AND abs((m).a - 0.891) / 0.891 < 0.005 AND abs((m).b - 1.614) / 1.614 < 0.005 AS btydplus_ok,
       abs(btyd_sql_ll('mbgnbd', (m).r, (m).alpha, (m).a, (m).b) - (m).log_likelihood) < 1e-6 AS ll_matches,
       (SELECT max(abs(g)) FROM unnest(btyd_sql_grad(m)) g) < 1e-3 AS gradient_zero,
       -- and the maximum is not flat: a 1% step in r costs likelihood
       btyd_sql_ll('mbgnbd', (m).r * 1.01, (m).alpha, (m).a, (m).b) < (m).log_likelihood - 0.01 AS is_peak
FROM btyd_mbg;


-- The time unit only rescales alpha: in days, r, a, b are the same, alpha is
-- 7 times larger and each purchase time density gains 1/7, so the
-- log-likelihood falls by ln(7) * (repeat purchases)
SELECT (d.m).time_unit,
       abs((d.m).r - (w.m).r) < 1e-6 * (w.m).r AND abs((d.m).a - (w.m).a) < 1e-6 * (w.m).a
       AND abs((d.m).b - (w.m).b) < 1e-6 * (w.m).b AS same_shape,
       abs((d.m).alpha - 7 * (w.m).alpha) < 1e-6 * (d.m).alpha AS alpha_scaled,
       abs((d.m).log_likelihood - ((w.m).log_likelihood - ln(7) * 2457)) < 1e-6 AS ll_shifted
FROM (SELECT rfm_bgnbd_fit(x, 7 * t_x, 7 * "T", 'day') AS m FROM btyd_cal) d, btyd_bg w;
-- likewise in hours, and in years for MBG/NBD
SELECT abs((h.m).alpha - 168 * (w.m).alpha) < 1e-6 * (h.m).alpha AND abs((h.m).b - (w.m).b) < 1e-6 * (w.m).b AS hours_ok,
       abs((y.m).alpha - (g.m).alpha / 52) < 1e-6 * (y.m).alpha AND abs((y.m).r - (g.m).r) < 1e-6 * (g.m).r AS years_ok
FROM (SELECT rfm_bgnbd_fit(x, 168 * t_x, 168 * "T", 'hour') AS m FROM btyd_cal) h,
     (SELECT rfm_mbgnbd_fit(x, t_x / 52, "T" / 52, 'year') AS m FROM btyd_cal) y, btyd_bg w, btyd_mbg g;
-- and the currency only rescales gamma (here: spend in millionths of a dollar)
SELECT abs((c.m).p - (d.m).p) < 1e-6 * (d.m).p AND abs((c.m).q - (d.m).q) < 1e-6 * (d.m).q AS same_shape,
       abs((c.m).gamma - 1e6 * (d.m).gamma) < 1e-6 * (c.m).gamma AS gamma_scaled
FROM (SELECT rfm_gamma_gamma_fit(x, 1e6 * zbar) AS m FROM btyd_cal) c, btyd_gg d;

-- Heavy buyers (x in the hundreds, t_x far from T) in the fit: converged,
-- finite, and the log-likelihood equals the plain-SQL one (log-sum-exp)
CREATE TABLE btyd_heavy AS
SELECT x, t_x, "T" FROM btyd_cal
UNION ALL VALUES (300, 99, 100), (500, 150, 200), (800, 390, 400), (250, 30, 300), (600, 70, 70);
DROP TABLE btyd_rows;
CREATE TABLE btyd_rows AS SELECT x, t_x, "T", count(*) AS n FROM btyd_heavy GROUP BY x, t_x, "T";
SELECT (m).converged, (m).n_customers,
       abs(btyd_sql_ll('bgnbd', (m).r, (m).alpha, (m).a, (m).b) - (m).log_likelihood) < 1e-6 AS bg_ll_matches,
       (SELECT max(abs(g)) FROM unnest(btyd_sql_grad(m)) g) < 1e-3 AS bg_gradient_zero
FROM (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_heavy) s;
SELECT (m).converged,
       abs(btyd_sql_ll('mbgnbd', (m).r, (m).alpha, (m).a, (m).b) - (m).log_likelihood) < 1e-6 AS mbg_ll_matches,
       (SELECT max(abs(g)) FROM unnest(btyd_sql_grad(m)) g) < 1e-3 AS mbg_gradient_zero
FROM (SELECT rfm_mbgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_heavy) s;

-- Gamma-Gamma log-likelihood in plain SQL, with lgamma from Stirling's
-- series (after shifting the argument above 10), and its gradient
CREATE FUNCTION btyd_sql_lgamma(z float8) RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    SELECT (w - 0.5) * ln(w) - w + 0.5 * ln(2 * pi())
           + 1 / (12 * w) - 1 / (360 * w ^ 3) + 1 / (1260 * w ^ 5) - 1 / (1680 * w ^ 7) + 1 / (1188 * w ^ 9)
           - coalesce((SELECT sum(ln(z + j)) FROM generate_series(0, k - 1) j), 0)
    FROM (SELECT greatest(0, ceil(10 - z))::int AS k) s, LATERAL (SELECT z + k AS w) t
$$;
CREATE FUNCTION btyd_sql_gg_ll(p float8, q float8, g float8) RETURNS float8 LANGUAGE sql STABLE AS $$
    SELECT sum(btyd_sql_lgamma(p * x + q) - btyd_sql_lgamma(p * x) - btyd_sql_lgamma(q) + q * ln(g)
               + (p * x - 1) * ln(zbar) + p * x * ln(x) - (p * x + q) * ln(g + x * zbar))
    FROM btyd_cal WHERE x > 0
$$;
SELECT abs(btyd_sql_lgamma(0.5) - ln(sqrt(pi()))) < 1e-12 AND abs(btyd_sql_lgamma(10) - ln(362880)) < 1e-12
       AND abs(btyd_sql_lgamma(25.5) - (ln(sqrt(pi())) + (SELECT sum(ln(j + 0.5)) FROM generate_series(0, 24) j))) < 1e-11 AS sql_lgamma_ok;
SELECT abs(btyd_sql_gg_ll((m).p, (m).q, (m).gamma) - (m).log_likelihood) < 1e-6 AS gg_ll_matches,
       greatest(abs(btyd_sql_gg_ll((m).p * exp(1e-5), (m).q, (m).gamma) - btyd_sql_gg_ll((m).p * exp(-1e-5), (m).q, (m).gamma)),
                abs(btyd_sql_gg_ll((m).p, (m).q * exp(1e-5), (m).gamma) - btyd_sql_gg_ll((m).p, (m).q * exp(-1e-5), (m).gamma)),
                abs(btyd_sql_gg_ll((m).p, (m).q, (m).gamma * exp(1e-5)) - btyd_sql_gg_ll((m).p, (m).q, (m).gamma * exp(-1e-5))))
         / 2e-5 < 1e-3 AS gg_gradient_zero
FROM btyd_gg;

-- ---------------------------------------------------------------------
-- Per-customer functions against plain-SQL formulas and series
-- ---------------------------------------------------------------------
-- P(alive) (Fader, Hardie & Lee 2005; Batislam et al. 2007)
SELECT abs(rfm_p_alive(b.m, 2, 30.43, 38.86)
           - 1 / (1 + (b.m).a / ((b.m).b + 1) * (((b.m).alpha + 38.86) / ((b.m).alpha + 30.43)) ^ ((b.m).r + 2))) < 1e-12 AS bg_p_alive_ok,
       rfm_p_alive(b.m, 0, 0, 38.86) = 1 AS bg_no_repeat_alive,
       abs(rfm_p_alive(g.m, 0, 0, 38.86)
           - 1 / (1 + (g.m).a / (g.m).b * (((g.m).alpha + 38.86) / (g.m).alpha) ^ (g.m).r)) < 1e-12 AS mbg_p_alive_ok,
       round(rfm_p_alive(b.m, 2, 30.43, 38.86)::numeric, 4) AS bg_p_alive
FROM btyd_bg b, btyd_mbg g;

-- the direct (untransformed) 2F1 series summed in SQL (at most 4000 terms)
CREATE FUNCTION btyd_sql_2f1(a float8, b float8, c float8, z float8)
RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
    WITH RECURSIVE s(n, term) AS (
        SELECT 0, 1::float8
        UNION ALL
        SELECT n + 1, term * (a + n) * (b + n) / ((c + n) * (n + 1)) * z FROM s WHERE n < 4000 AND abs(term) > 1e-22)
    SELECT sum(term) FROM s
$$;
-- BG/NBD E[X(t)] (Fader, Hardie & Lee 2005) and MBG/NBD E[X(t)] and E[Y(t) | x, t_x, T]
-- (lifetimes' formulas) evaluated with the direct series
SELECT t,
       abs(rfm_expected_purchases_new(b.m, t)
           - ((b.m).a + (b.m).b - 1) / ((b.m).a - 1)
             * (1 - ((b.m).alpha / ((b.m).alpha + t)) ^ (b.m).r
                    * btyd_sql_2f1((b.m).r, (b.m).b, (b.m).a + (b.m).b - 1, t / ((b.m).alpha + t))))
         < 1e-9 AS bg_new_ok,
       abs(rfm_expected_purchases_new(g.m, t)
           - (g.m).b / ((g.m).a - 1)
             * (1 - ((g.m).alpha / ((g.m).alpha + t)) ^ (g.m).r
                    * btyd_sql_2f1((g.m).r, (g.m).b + 1, (g.m).a + (g.m).b, t / ((g.m).alpha + t))))
         < 1e-9 AS mbg_new_ok,
       abs(rfm_expected_purchases(g.m, t, 2, 30.43, 38.86)
           - ((g.m).a + (g.m).b + 2) / ((g.m).a - 1)
             * (1 - (((g.m).alpha + 38.86) / ((g.m).alpha + 38.86 + t)) ^ ((g.m).r + 2)
                    * btyd_sql_2f1((g.m).r + 2, (g.m).b + 3, (g.m).a + (g.m).b + 2, t / ((g.m).alpha + 38.86 + t)))
             / (1 + (g.m).a / ((g.m).b + 2) * (((g.m).alpha + 38.86) / ((g.m).alpha + 30.43)) ^ ((g.m).r + 2)))
         < 1e-9 AS mbg_cond_ok
FROM btyd_bg b, btyd_mbg g, (VALUES (1.0::float8), (10), (39), (78)) v(t)
ORDER BY t;

-- 2F1 against closed forms (DLMF 15.4): -ln(1-z)/z, (1-z)^-a, asin(x)/x,
-- ln(1+z)/z (through Pfaff's transformation), a terminating series,
-- and Euler's transformation (c - a - b < 0)
SELECT abs(rfm_hyp2f1(1, 1, 2, 0.5) - (-ln(0.5) / 0.5)) < 1e-14 AS log_ok,
       abs(rfm_hyp2f1(1, 1, 2, 0.999) - (-ln(0.001) / 0.999)) < 1e-12 AS log_near_1_ok,
       abs(rfm_hyp2f1(2.5, 0.7, 0.7, 0.3) - 0.7 ^ -2.5) < 1e-14 AS power_ok,
       abs(rfm_hyp2f1(0.5, 0.5, 1.5, 0.81) - asin(0.9) / 0.9) < 1e-14 AS asin_ok,
       abs(rfm_hyp2f1(1, 1, 2, -3) - ln(4.0) / 3) < 1e-13 AS pfaff_ok,
       rfm_hyp2f1(-2, 3, 4, 0.5) = 1 - 2 * 3 * 0.5 / 4 + 3 * 4 * 0.25 / 20 AS terminating_ok,
       abs(rfm_hyp2f1(3, 2, 1.5, 0.6) - 0.4 ^ -3.5 * rfm_hyp2f1(-1.5, -0.5, 1.5, 0.6)) < 1e-10 AS euler_ok,
       abs(rfm_hyp2f1(0.243, 2.426, 2.219, 0.5) - btyd_sql_2f1(0.243, 2.426, 2.219, 0.5)) < 1e-13 AS series_ok;

-- heavy buyers and long horizons: finite, and equal to the direct series
-- (whose terms for x = 500 grow to 1e49 before they fall: fine in SQL
-- here, an overflow for larger x, which the Euler form avoids)
SELECT abs(rfm_expected_purchases(m, 52, 500, 199.5, 200)
           - ((m).a + (m).b + 499) / ((m).a - 1)
             * (1 - (((m).alpha + 200) / ((m).alpha + 252)) ^ ((m).r + 500)
                    * btyd_sql_2f1((m).r + 500, (m).b + 500, (m).a + (m).b + 499, 52 / ((m).alpha + 252)))
             * rfm_p_alive(m, 500, 199.5, 200))
         < 1e-6 * rfm_expected_purchases(m, 52, 500, 199.5, 200) AS heavy_ok,
       abs(rfm_p_alive(m, 500, 199.5, 200)
           - 1 / (1 + (m).a / ((m).b + 499) * (((m).alpha + 200) / ((m).alpha + 199.5)) ^ ((m).r + 500))) < 1e-12 AS heavy_alive_ok,
       rfm_p_alive(m, 800, 10, 5000) = 0 AS long_gone,
       rfm_expected_purchases(m, 1e6, 800, 10, 5000) = 0 AS long_gone_buys_nothing,
       abs(rfm_expected_purchases(m, 5200, 0, 0, 200)
           - ((m).a + (m).b - 1) / ((m).a - 1)
             * (1 - (((m).alpha + 200) / ((m).alpha + 5400)) ^ (m).r
                    * btyd_sql_2f1((m).r, (m).b, (m).a + (m).b - 1, 5200 / ((m).alpha + 5400))))
         < 1e-9 AS one_timer_100y_ok,
       rfm_expected_purchases(m, 0, 3, 10, 20) = 0 AS zero_horizon
FROM btyd_bg;
-- a = 1 exactly, where the formula is 0/0: between its neighbours
SELECT e1 BETWEEN least(e0, e2) AND greatest(e0, e2) AND abs(e1 - (e0 + e2) / 2) < 1e-6 AS a_one_ok
FROM (SELECT rfm_expected_purchases(rfm_bgnbd_model(0.243, 4.414, 0.999, 2.426, 'week', 'bgnbd'), 52, 2, 30, 40) AS e0,
             rfm_expected_purchases(rfm_bgnbd_model(0.243, 4.414, 1.000, 2.426, 'week', 'bgnbd'), 52, 2, 30, 40) AS e1,
             rfm_expected_purchases(rfm_bgnbd_model(0.243, 4.414, 1.001, 2.426, 'week', 'bgnbd'), 52, 2, 30, 40) AS e2) s;

-- Gamma-Gamma conditional expected order value: p (gamma + x zbar) / (p x + q - 1)
SELECT abs(rfm_expected_order_value(m, 2, 22.345) - (m).p * ((m).gamma + 2 * 22.345) / ((m).p * 2 + (m).q - 1)) < 1e-12 AS formula_ok,
       rfm_expected_order_value(m, 0, NULL::float8) IS NULL AS strict_null,
       abs(rfm_expected_order_value(m, 0, 0) - (m).p * (m).gamma / ((m).q - 1)) < 1e-12 AS population_mean_ok
FROM btyd_gg;

-- CLV: one-week steps, discounted at the end of each step; with no
-- discount it is value * margin * E[purchases over the horizon]
SELECT abs(rfm_clv(m, 2, 30.43, 38.86, 35.0, 52, 0.3, 0) - 35 * 0.3 * rfm_expected_purchases(m, 52, 2, 30.43, 38.86)) < 1e-9 AS undiscounted_ok,
       abs(rfm_clv(m, 2, 30.43, 38.86, 35.0, 10.5, 1, 0.002)
           - (SELECT sum(35 * (rfm_expected_purchases(m, least(i, 10.5), 2, 30.43, 38.86)
                               - rfm_expected_purchases(m, i - 1, 2, 30.43, 38.86)) / 1.002 ^ least(i, 10.5))
              FROM generate_series(1, 11) i)) < 1e-9 AS discounted_ok,
       rfm_clv(m, 2, 30.43, 38.86, 35.0, 0) = 0 AS zero_horizon,
       -- 2000 steps up to z = 0.998: beyond the cached coefficients
       abs(rfm_clv(m, 0, 0, 0, 1, 2000) - rfm_expected_purchases_new(m, 2000)) < 1e-9 AS long_horizon_ok
FROM btyd_bg;
-- and at a = 1, between its neighbours
SELECT c1 BETWEEN least(c0, c2) AND greatest(c0, c2) AND abs(c1 - (c0 + c2) / 2) < 1e-6 * c1 AS clv_a_one_ok
FROM (SELECT rfm_clv(rfm_bgnbd_model(0.243, 4.414, 0.999, 2.426, 'week', 'bgnbd'), 2, 30, 40, 35, 52, 1, 0.002) AS c0,
             rfm_clv(rfm_bgnbd_model(0.243, 4.414, 1.000, 2.426, 'week', 'bgnbd'), 2, 30, 40, 35, 52, 1, 0.002) AS c1,
             rfm_clv(rfm_bgnbd_model(0.243, 4.414, 1.001, 2.426, 'week', 'bgnbd'), 2, 30, 40, 35, 52, 1, 0.002) AS c2) s;
-- rfm_clv evaluates the series of eight steps at once: against the sum of
-- discounted rfm_expected_purchases differences, step by step, for every
-- customer, with the BG/NBD and the MBG/NBD fit, 52 weeks and 10.5 weeks
SELECT k.model, count(*) AS cases, max(abs(clv - ref) / ref) < 1e-10 AS batched_ok
FROM (SELECT 'bgnbd' AS model, m FROM btyd_bg UNION ALL SELECT 'mbgnbd', m FROM btyd_mbg) k,
     (VALUES (52::float8), (10.5)) h(h), btyd_cal c,
     LATERAL (SELECT rfm_clv(k.m, c.x, c.t_x, c."T", 1, h.h, 1, 0.10 / 52) AS clv,
                     (SELECT sum((rfm_expected_purchases(k.m, least(i, h.h), c.x, c.t_x, c."T")
                                  - rfm_expected_purchases(k.m, i - 1, c.x, c.t_x, c."T"))
                                 / (1 + 0.10 / 52) ^ least(i, h.h))
                      FROM generate_series(1, ceil(h.h)::int) i) AS ref) v
GROUP BY k.model ORDER BY k.model;
-- every customer, with the Gamma-Gamma order value (mean for one-time buyers)
-- (discounting lowers every CLV, and never below the value of the first step)
SELECT count(*) AS scored, bool_and(clv > 0 AND clv < clv0) AS discounting_lowers,
       bool_and(clv >= first_step) AS above_first_step
FROM (SELECT rfm_clv(b.m, c.x, c.t_x, c."T", v, 52, 1, 0.10 / 52) AS clv,
             rfm_clv(b.m, c.x, c.t_x, c."T", v, 52, 1, 0) AS clv0,
             rfm_clv(b.m, c.x, c.t_x, c."T", v, 1, 1, 0.10 / 52) AS first_step
      FROM btyd_cal c, btyd_bg b, btyd_gg g,
           LATERAL (SELECT rfm_expected_order_value(g.m, c.x, coalesce(c.zbar, 0)) AS v) ov) s;

-- simple CLV: 50 * 2 * 0.3 * 0.8 / (1 + 0.1 - 0.8) = 80
SELECT rfm_simple_clv(50, 2, 0.3, 0.8, 0.1) AS simple_clv,
       abs(rfm_simple_clv(50, 2, 0.3, 0.8, 0.1) - 80) < 1e-12 AS ok,
       rfm_simple_clv(50, 2, 0.3, 0, 0.1) AS no_retention;

-- ---------------------------------------------------------------------
-- L2 penalty: l2 = 0 is the plain fit, a penalty pulls the log parameters
-- towards 0, and it bounds a fit that otherwise diverges
-- ---------------------------------------------------------------------
SELECT (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week', 0) FROM btyd_cal) = m AS l2_zero_same,
       (SELECT abs(ln((p).r)) + abs(ln((p).alpha)) + abs(ln((p).a)) + abs(ln((p).b))
          FROM (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week', 0.1) AS p FROM btyd_cal) s)
       < abs(ln((m).r)) + abs(ln((m).alpha)) + abs(ln((m).a)) + abs(ln((m).b)) AS shrinks,
       (SELECT (p).l2 FROM (SELECT rfm_gamma_gamma_fit(x, zbar, 0.01) AS p FROM btyd_cal) s) AS gg_l2
FROM btyd_bg;
SELECT (m).converged, (m).n_customers
FROM (SELECT rfm_bgnbd_fit(x, t_x, t, 'week', 0.01) AS m
      FROM (VALUES (1, 5, 10), (1, 5, 10)) v(x, t_x, t)) s;

-- A fit stopped by the iteration budget: a warning, converged = false,
-- finite parameters (terse: the detail prints the gradient norm)
SET rfm.max_fit_iterations = 3;
\set VERBOSITY terse
SELECT (s.m).converged, (s.m).iterations,
       (s.m).r BETWEEN 1e-6 AND 1e6 AND (s.m).alpha BETWEEN 1e-6 AND 1e6
       AND (s.m).a BETWEEN 1e-6 AND 1e6 AND (s.m).b BETWEEN 1e-6 AND 1e6 AS finite_params,
       (s.m).log_likelihood < (b.m).log_likelihood AS below_maximum
FROM (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_cal) s, btyd_bg b;
\set VERBOSITY default
RESET rfm.max_fit_iterations;

-- ---------------------------------------------------------------------
-- Parallel aggregation: partial states serialized, combined, equal results
-- ---------------------------------------------------------------------
CREATE TABLE btyd_big AS SELECT c.* FROM btyd_cal c, generate_series(1, 10) g;
ANALYZE btyd_big;
SET max_parallel_workers_per_gather = 0;
CREATE TABLE btyd_serial AS
SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS bg, rfm_mbgnbd_fit(x, t_x, "T", 'week') AS mbg,
       rfm_gamma_gamma_fit(x, zbar) AS gg FROM btyd_big;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF)
SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS bg, rfm_mbgnbd_fit(x, t_x, "T", 'week') AS mbg,
       rfm_gamma_gamma_fit(x, zbar) AS gg FROM btyd_big;
SELECT p.bg = s.bg AS bg_equal, p.mbg = s.mbg AS mbg_equal, p.gg = s.gg AS gg_equal,
       (p.bg).n_customers AS customers,
       abs((p.bg).log_likelihood - 10 * (b.m).log_likelihood) < 1e-6 AS ll_scales,
       abs((p.bg).r - (b.m).r) < 1e-6 AS same_params
FROM (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS bg, rfm_mbgnbd_fit(x, t_x, "T", 'week') AS mbg,
             rfm_gamma_gamma_fit(x, zbar) AS gg FROM btyd_big) p, btyd_serial s, btyd_bg b;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- ---------------------------------------------------------------------
-- Empty input, NULLs, degenerate data, invalid rows
-- ---------------------------------------------------------------------
SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') IS NULL AS empty_is_null,
       rfm_gamma_gamma_fit(x, zbar) IS NULL AS gg_empty_is_null
FROM btyd_cal WHERE false;
-- rows with a NULL value are skipped, and counted in n_skipped
SELECT (a).r = (b).r AND (a).alpha = (b).alpha AND (a).a = (b).a AND (a).b = (b).b
       AND (a).log_likelihood = (b).log_likelihood AND (a).n_customers = (b).n_customers AS nulls_skipped,
       (a).n_skipped AS skipped_before, (b).n_skipped AS skipped_after
FROM (SELECT (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') FROM btyd_cal) AS a,
             (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week')
              FROM (SELECT x, t_x, "T" FROM btyd_cal UNION ALL SELECT NULL, 1, 2 UNION ALL SELECT 1, NULL, 2) s) AS b) q;

-- the SQLSTATE of each rejected input (none may be XX000)
CREATE FUNCTION btyd_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    -- the point where a diverging fit stopped depends on the platform's libm
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'went to .*', 'went to ...');
END $$;
SELECT q, btyd_err(q) AS result FROM (VALUES
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (-1, 0, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1.5, 1, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 6, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (0, 0, -5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (0, 2, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 'NaN'::float8, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 1, 'Infinity'::float8), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_mbgnbd_fit(x, t, tt, 'week') FROM (VALUES ('-Infinity'::float8, 1, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'fortnight') FROM (VALUES (1, 1, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, u) FROM (VALUES (1, 1, 5, 'week'), (1, 1, 5, 'day')) v(x, t, tt, u)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, NULL) FROM (VALUES (1, 1, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week', -1) FROM (VALUES (1, 1, 5), (1, 1, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week', l) FROM (VALUES (1, 1, 5, 0.1), (1, 1, 5, 0.2)) v(x, t, tt, l)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (2, 3, 5)) v(x, t, tt)$q$),
    ($q$SELECT rfm_mbgnbd_fit(x, t, tt, 'week') FROM (VALUES (0, 0, 5), (0, 0, 7)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (0, 0, 0), (1, 0, 0)) v(x, t, tt)$q$),
    ($q$SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 5, 10), (1, 5, 10)) v(x, t, tt)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (1, 0), (2, 5)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (1, -3), (2, 5)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (1, 'NaN'::float8), (2, 5)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (-1, 4), (2, 5)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (0, 0), (0, 0)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (3, 10), (0, 0)) v(x, m)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (1, 5), (1, 5), (2, 5)) v(x, m)$q$),
    ($q$SELECT rfm_p_alive(m, 3, 4, 2) FROM btyd_bg$q$),
    ($q$SELECT rfm_expected_purchases(m, -1, 3, 2, 4) FROM btyd_bg$q$),
    ($q$SELECT rfm_expected_purchases_new(m, 'Infinity') FROM btyd_bg$q$),
    ($q$SELECT rfm_p_alive(rfm_bgnbd_model(-0.2, 4, 0.8, 2.4, 'week', 'bgnbd'), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(rfm_bgnbd_model(0.2, 4, 0.8, 2.4, 'week', 'pareto'), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(rfm_bgnbd_model(NULL, 4, 0.8, 2.4, 'week', 'bgnbd'), 1, 1, 2)$q$),
    ($q$SELECT rfm_clv(m, 1, 1, 2, 10, 52, 1, -0.1) FROM btyd_bg$q$),
    ($q$SELECT rfm_clv(m, 1, 1, 2, 10, 1e9) FROM btyd_bg$q$),
    ($q$SELECT rfm_expected_order_value(m, 2, -5) FROM btyd_gg$q$),
    ($q$SELECT rfm_expected_order_value(rfm_gamma_gamma_model(1, 0.5, 10), 0, 0)$q$),
    ($q$SELECT rfm_simple_clv(50, 2, 0.3, 1, 0)$q$),
    ($q$SELECT rfm_simple_clv(50, 2, 0.3, 1.2, 0.1)$q$),
    ($q$SELECT rfm_hyp2f1(1, 1, 2, 1)$q$),
    ($q$SELECT rfm_hyp2f1(1, 1, -2, 0.5)$q$)
) v(q);

-- two of them in full, with their detail and hint
SELECT rfm_bgnbd_fit(x, t, tt, 'week') FROM (VALUES (1, 6, 5), (1, 1, 5)) v(x, t, tt);
SELECT rfm_gamma_gamma_fit(x, m) FROM (VALUES (0, 0), (0, 0)) v(x, m);

DROP FUNCTION btyd_err(text);
DROP FUNCTION btyd_sql_gg_ll(float8, float8, float8);
DROP FUNCTION btyd_sql_lgamma(float8);
DROP FUNCTION btyd_sql_2f1(float8, float8, float8, float8);
DROP FUNCTION btyd_sql_grad(rfm_bgnbd_model, float8);
DROP FUNCTION btyd_sql_ll(text, float8, float8, float8, float8);
DROP TABLE btyd_raw, btyd_tx, btyd_cal, btyd_ref, btyd_bg, btyd_gg, btyd_mbg, btyd_rows, btyd_heavy, btyd_big, btyd_serial;
