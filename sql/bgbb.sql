--
-- BG/BB (src/bgbb.c): reproduce the published fit of the donation data of
-- Fader, Hardie & Shang (2010), its P(alive) and expectations, the summary
-- from orders, parallel aggregation and rejected inputs.
-- test/t/014_bgbb_reference.pl checks the formulas, the standard errors and
-- simulated fits against an independent implementation in Python.
--
SET extra_float_digits = 0;
\set VERBOSITY default

-- The 1995 cohort of 11,104 first-time supporters, 6 repeat opportunities
-- (1996-2001): 22 patterns (x, t_x) with their counts
CREATE TABLE bb_patterns (x int, t_x int, n int, customers int);
\copy bb_patterns FROM 'test/data/donations.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE bb_donors AS
SELECT x::float8 AS x, t_x::float8 AS t_x, n::float8 AS n
FROM bb_patterns, generate_series(1, customers);
SELECT count(*) AS patterns, sum(customers) AS donors FROM bb_patterns;

-- Published: alpha = 1.204, beta = 0.750, gamma = 0.657, delta = 2.783
-- (Fader, Hardie & Shang 2010, as quoted by the lifetimes package's tests),
-- LL = -33,225.6 (confirmed by test/ref/btyd_ref.py)
CREATE TABLE bb_m AS SELECT rfm_bgbb_fit(x, t_x, n) AS m FROM bb_donors;
SELECT round((m).alpha::numeric, 3) AS alpha, round((m).beta::numeric, 3) AS beta,
       round((m).gamma::numeric, 3) AS gamma, round((m).delta::numeric, 3) AS delta,
       round((m).log_likelihood::numeric, 1) AS ll, (m).n_customers, (m).converged, (m).n_skipped,
       abs((m).alpha - 1.204) / 1.204 < 0.005 AND abs((m).beta - 0.750) / 0.750 < 0.005
       AND abs((m).gamma - 0.657) / 0.657 < 0.005 AND abs((m).delta - 2.783) / 2.783 < 0.005 AS params_ok,
       abs((m).log_likelihood + 33225.6) < 0.1 AS ll_ok,
       abs((m).aic - (8 - 2 * (m).log_likelihood)) < 1e-9 AS aic_ok,
       abs((m).bic - (4 * ln(11104) - 2 * (m).log_likelihood)) < 1e-9 AS bic_ok,
       (m).alpha_se > 0 AND (m).beta_se > 0 AND (m).gamma_se > 0 AND (m).delta_se > 0 AS se_present
FROM bb_m;

-- P(alive in 2002), the paper's Table 6 to two decimals (as quoted by the
-- lifetimes package's tests): 0.11 for the
-- donors who never came back, 0.59 for x = 2 with the last in 1999, 0.93
-- for those who gave every year
SELECT x, t_x, round(rfm_p_alive(m, x, t_x, 6)::numeric, 2) AS p_alive_2002
FROM bb_m, (VALUES (0, 0), (2, 4), (6, 6)) v(x, t_x) ORDER BY x;

-- Expected donations in 2002-2006 summed over the cohort: 12,884.2 in the
-- authors' spreadsheet (BGBB_2011-01-20.xlsx, as quoted by the lifetimes
-- package's tests); the expected numbers of donors with 0 and 6 repeat
-- donations in 1996-2001: 3,454.9 and 1,253.1 (same source)
SELECT round((SELECT sum(customers * rfm_expected_purchases(m, 5, x, t_x, n)) FROM bb_patterns)::numeric, 1)
         AS expected_2002_2006,
       round((11104 * rfm_p_purchases(m, 6, 0))::numeric, 1) AS none,
       round((11104 * rfm_p_purchases(m, 6, 6))::numeric, 1) AS every_year
FROM bb_m;

-- P(X(n) = x) is a distribution whose mean is E[X(n)]; E[X(n)] is the
-- conditional expectation of a customer with x = t_x = n = 0
SELECT h, round(rfm_expected_purchases_new(m, h)::numeric, 4) AS expected,
       abs(sum(rfm_p_purchases(m, h, k)) - 1) < 1e-12 AS sums_to_one,
       abs(sum(k * rfm_p_purchases(m, h, k)) - rfm_expected_purchases_new(m, h)) < 1e-12 AS mean_ok,
       rfm_expected_purchases_new(m, h) = rfm_expected_purchases(m, h, 0, 0, 0) AS same_as_conditional
FROM bb_m, (VALUES (1), (6), (30)) v(h), LATERAL generate_series(0, h) k
GROUP BY h, m ORDER BY h;

-- The in-sample histogram: actual donors with x repeat donations against
-- 11,104 P(X(6) = x)
SELECT k AS x, (SELECT sum(customers) FROM bb_patterns WHERE x = k) AS actual,
       round((11104 * rfm_p_purchases(m, 6, k))::numeric, 1) AS expected
FROM bb_m, generate_series(0, 6) k ORDER BY k;

-- Cases by hand: a customer who bought at the last opportunity is alive
-- there; with ahead = 0 a one-time buyer observed for no opportunity is
-- alive; no opportunities ahead, no transactions; the P(alive) of ahead
-- opportunities falls with ahead
SELECT rfm_p_alive(m, 3, 6, 6, 0) AS alive_at_n,
       rfm_p_alive(m, 0, 0, 0, 0) AS alive_at_birth,
       rfm_expected_purchases(m, 0, 2, 4, 6) AS zero_horizon,
       rfm_p_alive(m, 2, 4, 6, 1) > rfm_p_alive(m, 2, 4, 6, 5) AS falls_ahead,
       abs(rfm_p_alive(m, 2, 4, 6, 1) - rfm_p_alive(m, 2, 4, 6)) = 0 AS default_ahead_is_1,
       rfm_p_purchases(m, 6, 7) AS more_than_n
FROM bb_m;

-- Hand-computed model alpha = beta = gamma = delta = 1 (p and theta
-- uniform): P(X(1) = 0) = B(1,2)B(1,2) + B(2,1) = 1/4 + 1/2, E[X(1)] =
-- E[p] E[1 - theta] = 1/4, and for (x, t_x, n) = (1, 1, 1),
-- L = B(2,1)B(1,2) = 1/4, P(alive at 2) = B(2,1)B(1,3)/L = 1/6 / 1/4
SELECT abs(rfm_p_purchases(rfm_bgbb_model(1, 1, 1, 1), 1, 0) - 0.75) < 1e-14 AS p0_ok,
       abs(rfm_expected_purchases_new(rfm_bgbb_model(1, 1, 1, 1), 1) - 0.25) < 1e-14 AS e1_ok,
       abs(rfm_p_alive(rfm_bgbb_model(1, 1, 1, 1), 1, 1, 1) - 2.0 / 3) < 1e-14 AS p_alive_ok,
       -- E[X(1, 2) | 1, 1, 1] = B(3,1)/B(1,1) B(1,3)/B(1,1) / L = (1/3)(1/3)/(1/4)
       abs(rfm_expected_purchases(rfm_bgbb_model(1, 1, 1, 1), 1, 1, 1, 1) - 4.0 / 9) < 1e-14 AS e_cond_ok,
       -- gamma = 1 exactly, where the paper's closed form divides 0 by 0
       abs(rfm_expected_purchases_new(rfm_bgbb_model(1.2, 0.75, 1, 2.8), 5)
           - (rfm_expected_purchases_new(rfm_bgbb_model(1.2, 0.75, 1 - 1e-7, 2.8), 5)
              + rfm_expected_purchases_new(rfm_bgbb_model(1.2, 0.75, 1 + 1e-7, 2.8), 5)) / 2) < 1e-9 AS gamma_one_ok;

-- CLV: undiscounted, order value x margin x expected transactions;
-- discounted, the increments of rfm_expected_purchases (the expected
-- transaction at each opportunity) discounted by (1 + d)^k
SELECT abs(rfm_clv(m, 2, 4, 6, 50, 5, 0.3) - 50 * 0.3 * rfm_expected_purchases(m, 5, 2, 4, 6)) < 1e-12 AS undiscounted_ok,
       abs(rfm_clv(m, 2, 4, 6, 50, 10, 1, 0.08)
           - 50 * (SELECT sum((rfm_expected_purchases(m, k, 2, 4, 6) - rfm_expected_purchases(m, k - 1, 2, 4, 6))
                              / power(1.08, k))
                   FROM generate_series(1, 10) k)) < 1e-12 AS discounted_ok,
       rfm_clv(m, 2, 4, 6, 50, 0) = 0 AS zero_horizon,
       round(rfm_clv(m, 6, 6, 6, 50, 5, 1, 0.1)::numeric, 2) AS clv_every_year_5y
FROM bb_m;

-- ---------------------------------------------------------------------
-- The summary from orders: the cohort's donations as dates (first in
-- 1995; x donations in the years 1995 + 1 .. 1995 + x - 1 and 1995 + t_x),
-- summarized per year to 2001-12-31, give back the 22 patterns and the fit
-- ---------------------------------------------------------------------
CREATE TABLE bb_orders AS
SELECT d.id, make_date(1995 + y, 1 + (d.id % 12)::int, 1 + (d.id % 28)::int) AS given
FROM (SELECT row_number() OVER () AS id, p.x, p.t_x
      FROM bb_patterns p, generate_series(1, p.customers)) d,
     LATERAL (SELECT 0 AS y UNION ALL SELECT generate_series(1, d.x - 1) UNION ALL
              SELECT d.t_x WHERE d.x > 0) y;
-- a second gift in a year does not count twice; 2002 is after the end
INSERT INTO bb_orders SELECT id, given + 1 FROM bb_orders WHERE id % 7 = 0;
INSERT INTO bb_orders SELECT id, date '2002-03-01' FROM bb_orders WHERE id % 5 = 0;
CREATE TABLE bb_summary AS SELECT * FROM rfm_bgbb_summary('bb_orders', 'id', 'given', '2001-12-31', 'year');
SELECT count(*) AS donors,
       (SELECT count(*) FROM (SELECT x, t_x, n, count(*) FROM bb_summary GROUP BY 1, 2, 3
                              EXCEPT SELECT x, t_x, n, customers FROM bb_patterns) d) AS patterns_not_matching
FROM bb_summary;
SELECT abs((m).alpha - (s).alpha) < 1e-9 AND abs((m).delta - (s).delta) < 1e-9 AS same_fit
FROM bb_m, (SELECT rfm_bgbb_fit(x, t_x, n) AS s FROM bb_summary) q;

-- Opportunities by hand: weeks start on Monday (2024-01-01 was one), quarters
-- and months are calendar ones
SELECT rfm_bgbb_opportunity('2024-01-07', '2024-01-01', 'week') AS same_week,
       rfm_bgbb_opportunity('2024-01-08', '2024-01-07', 'week') AS next_week,
       rfm_bgbb_opportunity('1999-12-27', '2000-01-02', 'week') AS week_2000,
       rfm_bgbb_opportunity('2023-12-31', '2024-01-01', 'week') AS week_before,
       rfm_bgbb_opportunity('2024-04-01', '2024-03-31', 'quarter') AS next_quarter,
       rfm_bgbb_opportunity('2025-02-28', '2024-03-31', 'month') AS months,
       rfm_bgbb_opportunity('2024-03-01', '2024-02-28', 'day') AS days_leap,
       rfm_bgbb_opportunity('2001-12-31', '1995-01-01', 'year') AS years;
-- customers with a later first order have fewer opportunities
CREATE TABLE bb_shop (customer text, ordered timestamptz);
INSERT INTO bb_shop VALUES ('a', '2024-01-15'), ('a', '2024-01-20'), ('a', '2024-03-02'), ('a', '2024-06-30'),
                           ('b', '2024-05-01'), ('c', '2024-02-29'), ('c', '2024-04-01'), ('c', '2024-04-30'),
                           ('d', '2024-07-01'), (NULL, '2024-01-01'), ('e', NULL);
SELECT * FROM rfm_bgbb_summary('bb_shop', 'customer', 'ordered', '2024-06-30', 'month') ORDER BY customer;

-- ---------------------------------------------------------------------
-- Parallel aggregation gives the same fit; an L2 penalty shrinks towards 1
-- ---------------------------------------------------------------------
ANALYZE bb_donors;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT rfm_bgbb_fit(x, t_x, n) FROM bb_donors;
CREATE TABLE bb_par AS SELECT rfm_bgbb_fit(x, t_x, n) AS m FROM bb_donors;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
SELECT (p).alpha = (m).alpha AND (p).beta = (m).beta AND (p).gamma = (m).gamma
       AND (p).delta = (m).delta AS same_fit, (p).n_customers
FROM bb_par AS a(p), bb_m;
SELECT abs(ln((s).delta)) < abs(ln((m).delta)) AS delta_shrunk, (s).l2,
       (s).log_likelihood < (m).log_likelihood AS lower_ll
FROM bb_m, (SELECT rfm_bgbb_fit(x, t_x, n, 0.01) AS s FROM bb_donors) q;
SELECT (m).n_customers, (m).n_skipped
FROM (SELECT rfm_bgbb_fit(x, t_x, n) AS m
      FROM (SELECT x, t_x, n FROM bb_donors UNION ALL SELECT NULL, 1, 6) s) q;

-- ---------------------------------------------------------------------
-- Rejected inputs
-- ---------------------------------------------------------------------
CREATE FUNCTION bb_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT q, bb_err(q) AS result FROM (VALUES
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (1, 7, 6), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (3, 2, 6), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (0, 2, 6), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (1, 1.5, 6), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (1, 1, 'Infinity'::float8), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (1, 1, 2e6), (0, 0, 6)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (2, 3, 5)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n) FROM (VALUES (0, 0, 5), (0, 0, 7)) v(x, t, n)$q$),
    ($q$SELECT rfm_bgbb_fit(x, t, n, -1) FROM (VALUES (1, 1, 5), (0, 0, 7)) v(x, t, n)$q$),
    ($q$SELECT rfm_p_alive(rfm_bgbb_model(-1, 1, 1, 1), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(rfm_bgbb_model(NULL, 1, 1, 1), 1, 1, 2)$q$),
    ($q$SELECT rfm_p_alive(m, 1, 1, 2, 0.5) FROM bb_m$q$),
    ($q$SELECT rfm_expected_purchases(m, -1, 1, 1, 2) FROM bb_m$q$),
    ($q$SELECT rfm_expected_purchases(m, 1e7, 1, 1, 2) FROM bb_m$q$),
    ($q$SELECT rfm_p_purchases(m, 6, 0.5) FROM bb_m$q$),
    ($q$SELECT rfm_clv(m, 2, 4, 6, 50, 2.5) FROM bb_m$q$),
    ($q$SELECT rfm_clv(m, 2, 4.5, 6, 50, 2) FROM bb_m$q$),
    ($q$SELECT rfm_clv(m, 2, 4, 6, 1e308, 5, 1e10) FROM bb_m$q$),
    ($q$SELECT rfm_bgbb_opportunity('2024-01-01', '2023-01-01', 'fortnight')$q$),
    ($q$SELECT rfm_bgbb_opportunity('infinity', '2023-01-01', 'day')$q$),
    ($q$SELECT * FROM rfm_bgbb_summary('bb_shop', 'customer', 'ordered', '2024-06-30', 'decade')$q$),
    ($q$SELECT * FROM rfm_bgbb_summary('bb_shop', 'customer', 'ordered', NULL, 'year')$q$)
) v(q);
SELECT rfm_bgbb_fit(x, t_x, n) IS NULL AS empty_is_null FROM bb_donors WHERE false;

-- extreme but finite inputs: finite results
SELECT rfm_p_alive(rfm_bgbb_model(1e-8, 1e8, 1e8, 1e-8), 1000, 1000, 1000000) BETWEEN 0 AND 1 AS extreme_ok,
       rfm_expected_purchases(rfm_bgbb_model(1e3, 1e-3, 1e-3, 1e3), 1000000, 500000, 999999, 1000000) >= 0 AS long_ok;

DROP FUNCTION bb_err(text);
DROP TABLE bb_patterns, bb_donors, bb_m, bb_orders, bb_summary, bb_shop, bb_par;
