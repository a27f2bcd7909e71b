
-- ==== BG/BB: the customer-base model for discrete-time data (src/bgbb.c) ====
-- Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time
-- Noncontractual Setting", Marketing Science 29(6).  A customer's data are
-- (x, t_x, n): x transaction opportunities with a transaction out of the n
-- after the first purchase, the last of them at opportunity t_x.

CREATE TYPE @extschema@.rfm_bgbb_model AS (
    alpha float8,
    beta float8,
    gamma float8,
    delta float8,
    log_likelihood float8,
    n_customers bigint,
    iterations integer,
    converged boolean,
    l2 float8,
    alpha_se float8,
    beta_se float8,
    gamma_se float8,
    delta_se float8,
    aic float8,
    bic float8,
    n_skipped bigint,
    max_influence float8
);
COMMENT ON TYPE @extschema@.rfm_bgbb_model IS
'A fitted BG/BB model (Fader, Hardie & Shang 2010): transaction probability per opportunity p ~ Beta(alpha, beta), dropout probability before each opportunity theta ~ Beta(gamma, delta); with the maximized log-likelihood (without the penalty), the number of customers, BFGS iterations, whether the fit converged, the L2 penalty, the standard errors of alpha, beta, gamma, delta (observed information; of the penalized likelihood when l2 > 0), AIC, BIC, the rows skipped for a NULL value and max_influence (as for rfm_bgnbd_model)';

CREATE FUNCTION @extschema@.rfm_bgbb_fit_trans(internal, float8, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_bgbb_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_fit_trans(internal, float8, float8, float8) IS
'Transition function of rfm_bgbb_fit';
CREATE FUNCTION @extschema@.rfm_bgbb_fit_trans(internal, float8, float8, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_bgbb_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_fit_trans(internal, float8, float8, float8, float8) IS
'Transition function of rfm_bgbb_fit with an L2 penalty';
CREATE FUNCTION @extschema@.rfm_bgbb_fit_final(internal)
RETURNS @extschema@.rfm_bgbb_model AS 'MODULE_PATHNAME', 'rfm_bgbb_fit_final' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_fit_final(internal) IS
'Final function of rfm_bgbb_fit: the maximum-likelihood fit (STABLE: the iteration budget is the setting rfm.max_fit_iterations)';

CREATE AGGREGATE @extschema@.rfm_bgbb_fit(x float8, t_x float8, n float8) (
    SFUNC = @extschema@.rfm_bgbb_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgbb_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_bgbb_fit(float8, float8, float8) IS
'Maximum-likelihood fit of the BG/BB model over one row per customer: x opportunities with a transaction out of the n after the first purchase, the last at opportunity t_x (0 when x = 0); rows with a NULL value are skipped and counted in n_skipped; NULL over no rows';
CREATE AGGREGATE @extschema@.rfm_bgbb_fit(x float8, t_x float8, n float8, l2 float8) (
    SFUNC = @extschema@.rfm_bgbb_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgbb_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_bgbb_fit(float8, float8, float8, float8) IS
'BG/BB fit with an L2 penalty: minimizes -log-likelihood/n_customers + l2 * (ln(alpha)^2 + ln(beta)^2 + ln(gamma)^2 + ln(delta)^2)';

CREATE FUNCTION @extschema@.rfm_bgbb_model(alpha float8, beta float8, gamma float8, delta float8)
RETURNS @extschema@.rfm_bgbb_model
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ROW(alpha, beta, gamma, delta, NULL, NULL, NULL, NULL, 0,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::@extschema@.rfm_bgbb_model
$$;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_model(float8, float8, float8, float8) IS
'A BG/BB model from given parameters (for example published ones); the fit fields are NULL';

CREATE FUNCTION @extschema@.rfm_p_alive(model @extschema@.rfm_bgbb_model, x float8, t_x float8, n float8,
                                       ahead float8 DEFAULT 1)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_bgbb_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_alive(@extschema@.rfm_bgbb_model, float8, float8, float8, float8) IS
'BG/BB probability that a customer with history (x, t_x, n) is alive at opportunity n + ahead; ahead = 1, the default, is the next opportunity (Fader, Hardie & Shang 2010, P(alive in period n+1)), ahead = 0 the last one observed';

CREATE FUNCTION @extschema@.rfm_expected_purchases(model @extschema@.rfm_bgbb_model, horizon float8, x float8, t_x float8, n float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_bgbb_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases(@extschema@.rfm_bgbb_model, float8, float8, float8, float8) IS
'BG/BB expected number of transactions in the next horizon opportunities (n+1 .. n+horizon) of a customer with history (x, t_x, n) (Fader, Hardie & Shang 2010, E[X(n, n+n*)])';

CREATE FUNCTION @extschema@.rfm_expected_purchases_new(model @extschema@.rfm_bgbb_model, horizon float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_bgbb_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases_new(@extschema@.rfm_bgbb_model, float8) IS
'BG/BB E[X(n)]: the expected repeat transactions in the first horizon opportunities after a new customer''s first purchase';

CREATE FUNCTION @extschema@.rfm_p_purchases(model @extschema@.rfm_bgbb_model, horizon float8, n float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_bgbb_p_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_purchases(@extschema@.rfm_bgbb_model, float8, float8) IS
'BG/BB P(X(horizon) = n): probability that a new customer makes n repeat transactions in the first horizon opportunities';

CREATE FUNCTION @extschema@.rfm_clv(model @extschema@.rfm_bgbb_model, x float8, t_x float8, n float8,
                                   order_value float8, horizon float8,
                                   margin float8 DEFAULT 1.0, discount_rate float8 DEFAULT 0.0)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_bgbb_clv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_clv(@extschema@.rfm_bgbb_model, float8, float8, float8, float8, float8, float8, float8) IS
'Customer lifetime value under a BG/BB model: order_value * margin * the sum over the next horizon opportunities (a whole number) of the expected transaction at opportunity n+k discounted by (1 + discount_rate)^k, discount_rate per opportunity';

-- ---- the summary (x, t_x, n) from orders ----

CREATE FUNCTION @extschema@.rfm_bgbb_opportunity(day date, origin date, period text)
RETURNS integer AS 'MODULE_PATHNAME', 'rfm_bgbb_opportunity' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_opportunity(date, date, text) IS
'The number of calendar periods (day, week from Monday, month, quarter or year) from the one holding origin to the one holding day: the transaction opportunity of day for a customer whose first purchase was on origin (0: the period of the first purchase)';

CREATE FUNCTION @extschema@.rfm_bgbb_summary(orders regclass, customer_column name, time_column name,
                                             calibration_end date, period text DEFAULT 'year')
RETURNS TABLE (customer text, x integer, t_x integer, n integer)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $fn$
BEGIN
    IF orders IS NULL OR customer_column IS NULL OR time_column IS NULL
       OR calibration_end IS NULL OR period IS NULL THEN
        RAISE EXCEPTION 'rfm_bgbb_summary: arguments must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF period NOT IN ('day', 'week', 'month', 'quarter', 'year') THEN
        RAISE EXCEPTION 'unknown period "%"', period
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of day, week, month, quarter, year.';
    END IF;
    IF calibration_end IN ('-infinity'::date, 'infinity'::date) THEN
        RAISE EXCEPTION 'calibration end must be a finite date'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;

    -- Per customer with a first purchase on or before calibration_end:
    -- opportunity k of an order is rfm_bgbb_opportunity(day, first day,
    -- period); x = distinct k > 0, t_x = the largest k, n = k of
    -- calibration_end.  The caller's rights apply to the table.
    RETURN QUERY EXECUTE format($q$
        WITH o AS (
            SELECT %2$I AS c, (%3$I)::date AS day
            FROM %1$s
            WHERE %2$I IS NOT NULL AND %3$I IS NOT NULL AND (%3$I)::date <= $1),
        f AS (SELECT c, min(day) AS first FROM o GROUP BY c),
        k AS (SELECT o.c, f.first, @extschema@.rfm_bgbb_opportunity(o.day, f.first, $2) AS k
              FROM o JOIN f ON o.c = f.c)
        SELECT c::text, (count(DISTINCT k) - 1)::integer, max(k),
               @extschema@.rfm_bgbb_opportunity($1, first, $2)
        FROM k GROUP BY c, first$q$,
        orders, customer_column, time_column)
    USING calibration_end, period;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rfm_bgbb_summary(regclass, name, name, date, text) IS
'The BG/BB data of each customer from an orders table: the opportunities are the calendar periods (day, week, month, quarter, year) after the one of the customer''s first purchase, up to the one holding calibration_end; x = the opportunities with an order, t_x = the last of them (0 if none), n = the opportunities observed; one row per customer whose first order is on or before calibration_end; runs with the caller''s rights (PARALLEL RESTRICTED: the table may be a temporary one)';
