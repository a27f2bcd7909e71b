--
-- Parameter recovery: customers simulated from the BG/NBD, MBG/NBD and
-- Gamma-Gamma processes with known parameters; the fits must find them
-- again (tolerances of about four standard errors, so that the random
-- generators of other PostgreSQL versions pass too).
--
SET extra_float_digits = 0;
SELECT setseed(0.25);

-- purchase rate lambda ~ Gamma(r = 0.5, alpha = 5): Z^2 / (2 alpha);
-- dropout p ~ Beta(1, 3): 1 - (1 - U)^(1/3); T uniform on 26..78 weeks
CREATE TABLE btyd_sim_c AS
SELECT i,
       round((26 + 52 * random())::numeric, 2)::float8 AS "T",
       (sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())) ^ 2 / (2 * 5.0) AS lambda,
       1 - power(1 - random(), 1.0 / 3) AS p,
       random() AS u0
FROM generate_series(1, 20000) i;

-- repeat purchases: exponential gaps, death with probability p after each
-- purchase (BG/NBD); MBG/NBD also at time 0, the first purchase (u0 < p)
CREATE TABLE btyd_sim_e AS
WITH RECURSIVE ev(i, t) AS (
    SELECT i, -ln(1 - random()) / lambda FROM btyd_sim_c
    UNION ALL
    SELECT e.i, e.t - ln(1 - random()) / c.lambda
    FROM ev e JOIN btyd_sim_c c USING (i)
    WHERE e.t <= c."T" AND random() >= c.p)
SELECT i, t FROM ev;

CREATE TABLE btyd_sim AS
SELECT c.i, c.u0 < c.p AS dead_at_0,
       count(e.t) FILTER (WHERE e.t <= c."T")::float8 AS x,
       coalesce(round(max(e.t) FILTER (WHERE e.t <= c."T")::numeric, 2)::float8, 0) AS t_x, c."T"
FROM btyd_sim_c c LEFT JOIN btyd_sim_e e USING (i) GROUP BY c.i, c.u0, c.p, c."T";

SELECT abs((m).r - 0.5) / 0.5 < 0.15 AS r_ok, abs((m).alpha - 5) / 5 < 0.15 AS alpha_ok,
       abs((m).a - 1) / 1 < 0.25 AS a_ok, abs((m).b - 3) / 3 < 0.25 AS b_ok, (m).converged
FROM (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM btyd_sim) s;

SELECT abs((m).r - 0.5) / 0.5 < 0.15 AS r_ok, abs((m).alpha - 5) / 5 < 0.15 AS alpha_ok,
       abs((m).a - 1) / 1 < 0.25 AS a_ok, abs((m).b - 3) / 3 < 0.25 AS b_ok, (m).converged
FROM (SELECT rfm_mbgnbd_fit(CASE WHEN dead_at_0 THEN 0 ELSE x END,
                            CASE WHEN dead_at_0 THEN 0 ELSE t_x END, "T", 'week') AS m
      FROM btyd_sim) s;

-- spend: nu ~ Gamma(q = 4, rate gamma = 15), each of x values ~ Gamma(p = 6, rate nu)
-- (integer shapes: sums of exponentials)
CREATE TABLE btyd_sim_gg AS
SELECT s.i, s.x, avg(v.z) AS zbar
FROM (SELECT i, x, (-ln(1 - random()) - ln(1 - random()) - ln(1 - random()) - ln(1 - random())) / 15.0 AS nu
      FROM btyd_sim WHERE x > 0) s
CROSS JOIN LATERAL (
    SELECT (-ln(1 - random()) - ln(1 - random()) - ln(1 - random())
            - ln(1 - random()) - ln(1 - random()) - ln(1 - random())) / s.nu AS z
    FROM generate_series(1, s.x::int) j) v
GROUP BY s.i, s.x;
SELECT abs((m).p - 6) / 6 < 0.15 AS p_ok, abs((m).q - 4) / 4 < 0.15 AS q_ok,
       abs((m).gamma - 15) / 15 < 0.25 AS gamma_ok, (m).converged
FROM (SELECT rfm_gamma_gamma_fit(x, zbar) AS m FROM btyd_sim_gg) s;

DROP TABLE btyd_sim_c, btyd_sim_e, btyd_sim, btyd_sim_gg;
