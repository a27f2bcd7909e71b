--
-- Limits of the customer-base model functions: long loops can be cancelled,
-- and finite inputs never give NaN or Infinity silently (an error 22003, or
-- a documented result).
--
SET extra_float_digits = 0;
\set VERBOSITY default

CREATE FUNCTION btyd_lim_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- BG/NBD and Gamma-Gamma at the published CDNOW parameters
CREATE TABLE btyd_lim AS
SELECT rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426, 'week', 'bgnbd') AS bg,
       rfm_gamma_gamma_model(6.25, 3.74, 15.44) AS gg;

-- ---------------------------------------------------------------------
-- Cancellation.  With alpha = 3 hours and a horizon of 100,000 hours the
-- 2F1 series of each step of rfm_clv needs up to a million terms: the call
-- runs for minutes unless it checks for interrupts, in the steps and in
-- the series.  statement_timeout must stop it.
-- ---------------------------------------------------------------------
SET statement_timeout = '500ms';
SELECT rfm_clv(rfm_bgnbd_model(0.243, 3, 0.793, 2.426, 'hour', 'bgnbd'),
               0, 0, 0, 1, 100000, 1, 0);
RESET statement_timeout;

-- ---------------------------------------------------------------------
-- Huge inputs: x is at most 1e9 repeat purchases (22003 beyond); results
-- that overflow are errors 22003; a zero factor gives 0.
-- ---------------------------------------------------------------------
SELECT q, btyd_lim_err(q) AS result FROM (VALUES
    ($q$SELECT rfm_expected_order_value(gg, 1e308, 10) FROM btyd_lim$q$),
    ($q$SELECT rfm_expected_order_value(gg, 1e9 + 1, 10) FROM btyd_lim$q$),
    ($q$SELECT rfm_expected_purchases(bg, 1, 1e308, 52, 100) FROM btyd_lim$q$),
    ($q$SELECT rfm_p_alive(bg, 1e308, 52, 100) FROM btyd_lim$q$),
    ($q$SELECT rfm_clv(bg, 1e308, 52, 100, 10, 52, 1, 0) FROM btyd_lim$q$),
    ($q$SELECT rfm_bgnbd_fit(x, 1, 5, 'week') FROM (VALUES (1e10), (1)) v(x)$q$),
    ($q$SELECT rfm_gamma_gamma_fit(x, 5) FROM (VALUES (1e10), (1)) v(x)$q$),
    ($q$SELECT rfm_simple_clv(50, 2, 1e308, 0.5, 0.1)$q$),
    ($q$SELECT rfm_simple_clv(1e300, 1e10, 1, 0.5, 0)$q$),
    ($q$SELECT rfm_clv(bg, 2, 30, 40, 1e308, 52, 1e10, 0) FROM btyd_lim$q$),
    ($q$SELECT rfm_expected_order_value(rfm_gamma_gamma_model(6.25, 3.74, 1e308), 0, 0)$q$)
) v(q);

-- rfm_simple_clv: retention 0 (or any zero factor) gives 0, whatever the
-- others; otherwise the formula, here checked in numeric arithmetic.
SELECT rfm_simple_clv(50, 2, 1e308, 0, 0.1) AS no_retention,
       rfm_simple_clv(0, 2, 1e308, 0.5, 0.1) AS no_value,
       abs(rfm_simple_clv(50, 2, 1e306, 0.5, 0.1)
           / (50 * 2 * 1e306::numeric * 0.5 / 0.6)::float8 - 1) < 1e-14 AS near_max_ok;

-- rfm_clv: a zero margin gives 0 even with a huge order value.
SELECT rfm_clv(bg, 2, 30, 40, 1e308, 52, 0, 0) AS zero_margin FROM btyd_lim;

-- Gamma-Gamma: p (gamma + x m) / (p x + q - 1) at the largest x and a mean
-- value near the top of double precision, against numeric arithmetic.
SELECT abs(rfm_expected_order_value(gg, 1e9, 1e308)
           / ((6.25 * (15.44 + 1e9 * 1e308::numeric)) / (6.25 * 1e9 + 3.74 - 1))::float8 - 1) < 1e-14 AS huge_mean_ok,
       abs(rfm_expected_order_value(gg, 1e9, 10)
           / ((6.25 * (15.44 + 1e9 * 10::numeric)) / (6.25 * 1e9 + 3.74 - 1))::float8 - 1) < 1e-14 AS largest_x_ok
FROM btyd_lim;

-- BG/NBD at the largest x: finite.  With t_x = T the customer is almost
-- surely alive and buys at about (r + x) / (alpha + T) a week; over one week
-- the expected purchases lie a little below that rate (dropout), and scale
-- with x.
SELECT rfm_p_alive(bg, 1e9, 100, 100) AS p_alive,
       e / ((0.243 + 1e9) / (4.414 + 100)) BETWEEN 0.99 AND 1 AS near_rate,
       abs(e / rfm_expected_purchases(bg, 1, 1e6, 100, 100) / 1000 - 1) < 1e-3 AS scales_with_x
FROM btyd_lim, LATERAL (SELECT rfm_expected_purchases(bg, 1, 1e9, 100, 100) AS e) s;

DROP TABLE btyd_lim;
DROP FUNCTION btyd_lim_err(text);
