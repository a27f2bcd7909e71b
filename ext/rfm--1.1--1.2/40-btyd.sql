
-- ==== customer-base models: uncertainty, diagnostics, Pareto/NBD ====
-- (src/btyd.c, src/bgnbd.c, src/gamma_gamma.c, src/pnbd.c, src/clv.c)

-- Every fit reports, after its 1.0 fields: a standard error per parameter
-- (the natural parameter, from the inverse Hessian of the negative
-- log-likelihood at the optimum, that is the observed information; with
-- an L2 penalty, of the penalized one), AIC and BIC from the unpenalized
-- log-likelihood, the rows it skipped, and the largest influence of a
-- single customer on the estimate (in standard errors; a warning above 3).
ALTER TYPE @extschema@.rfm_bgnbd_model
    ADD ATTRIBUTE r_se float8,
    ADD ATTRIBUTE alpha_se float8,
    ADD ATTRIBUTE a_se float8,
    ADD ATTRIBUTE b_se float8,
    ADD ATTRIBUTE aic float8,
    ADD ATTRIBUTE bic float8,
    ADD ATTRIBUTE n_skipped bigint,
    ADD ATTRIBUTE max_influence float8;
COMMENT ON TYPE @extschema@.rfm_bgnbd_model IS
'A fitted BG/NBD (model = ''bgnbd'') or MBG/NBD (model = ''mbgnbd'') model: purchase rates ~ Gamma(r, alpha) per time_unit, dropout probability ~ Beta(a, b); with the maximized log-likelihood (without the penalty), the number of customers, BFGS iterations, whether the fit converged, the time unit of t_x and T, the L2 penalty used; since 1.2 the standard errors of r, alpha, a, b (observed information; of the penalized likelihood when l2 > 0; NULL when the fit did not converge or the Hessian is not positive definite), AIC and BIC, the rows skipped for a NULL value, and max_influence: how many standard errors the most influential customer moves a log parameter (a warning above 3)';

ALTER TYPE @extschema@.rfm_gamma_gamma_model
    ADD ATTRIBUTE p_se float8,
    ADD ATTRIBUTE q_se float8,
    ADD ATTRIBUTE gamma_se float8,
    ADD ATTRIBUTE aic float8,
    ADD ATTRIBUTE bic float8,
    ADD ATTRIBUTE n_skipped bigint,
    ADD ATTRIBUTE max_influence float8;
COMMENT ON TYPE @extschema@.rfm_gamma_gamma_model IS
'A fitted Gamma-Gamma spend model: transaction values ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers; with the maximized log-likelihood (without the penalty), the number of repeat customers, BFGS iterations, whether the fit converged, the L2 penalty used; since 1.2 the standard errors of p, q, gamma (as for rfm_bgnbd_model), AIC and BIC, the rows skipped (x = 0 or a NULL value) and max_influence';

-- Constructors: a model from its parameters, whatever fields later versions
-- add to the types (a ROW(...) cast must list every field).
CREATE FUNCTION @extschema@.rfm_bgnbd_model(r float8, alpha float8, a float8, b float8,
                                            time_unit text DEFAULT 'week', model text DEFAULT 'bgnbd')
RETURNS @extschema@.rfm_bgnbd_model
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ROW(model, r, alpha, a, b, NULL, NULL, NULL, NULL, time_unit, 0,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::@extschema@.rfm_bgnbd_model
$$;
COMMENT ON FUNCTION @extschema@.rfm_bgnbd_model(float8, float8, float8, float8, text, text) IS
'A BG/NBD (model = ''bgnbd'') or MBG/NBD (''mbgnbd'') model from given parameters (for example published ones), for rfm_p_alive, rfm_expected_purchases and rfm_clv; the fit fields are NULL';

CREATE FUNCTION @extschema@.rfm_gamma_gamma_model(p float8, q float8, gamma float8)
RETURNS @extschema@.rfm_gamma_gamma_model
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ROW(p, q, gamma, NULL, NULL, NULL, NULL, 0,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL)::@extschema@.rfm_gamma_gamma_model
$$;
COMMENT ON FUNCTION @extschema@.rfm_gamma_gamma_model(float8, float8, float8) IS
'A Gamma-Gamma model from given parameters, for rfm_expected_order_value; the fit fields are NULL';

-- ---- Pareto/NBD (src/pnbd.c) ----

CREATE TYPE @extschema@.rfm_pnbd_model AS (
    r float8,
    alpha float8,
    s float8,
    beta float8,
    log_likelihood float8,
    n_customers bigint,
    iterations integer,
    converged boolean,
    time_unit text,
    l2 float8,
    r_se float8,
    alpha_se float8,
    s_se float8,
    beta_se float8,
    aic float8,
    bic float8,
    n_skipped bigint,
    max_influence float8
);
COMMENT ON TYPE @extschema@.rfm_pnbd_model IS
'A fitted Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): purchase rates ~ Gamma(r, alpha) and dropout rates ~ Gamma(s, beta) per time_unit; with the maximized log-likelihood (without the penalty), the number of customers, BFGS iterations, whether the fit converged, the time unit, the L2 penalty, the standard errors of r, alpha, s, beta (observed information; of the penalized likelihood when l2 > 0), AIC, BIC, the rows skipped for a NULL value and max_influence (as for rfm_bgnbd_model)';

CREATE FUNCTION @extschema@.rfm_pnbd_fit_trans(internal, float8, float8, float8, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_pnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_pnbd_fit_trans(internal, float8, float8, float8, text) IS
'Transition function of rfm_pnbd_fit';
CREATE FUNCTION @extschema@.rfm_pnbd_fit_trans(internal, float8, float8, float8, text, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_pnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_pnbd_fit_trans(internal, float8, float8, float8, text, float8) IS
'Transition function of rfm_pnbd_fit with an L2 penalty';
CREATE FUNCTION @extschema@.rfm_pnbd_fit_final(internal)
RETURNS @extschema@.rfm_pnbd_model AS 'MODULE_PATHNAME', 'rfm_pnbd_fit_final' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_pnbd_fit_final(internal) IS
'Final function of rfm_pnbd_fit: the maximum-likelihood fit (STABLE: the iteration budget is the setting rfm.max_fit_iterations)';

CREATE AGGREGATE @extschema@.rfm_pnbd_fit(x float8, t_x float8, "T" float8, time_unit text) (
    SFUNC = @extschema@.rfm_pnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_pnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_pnbd_fit(float8, float8, float8, text) IS
'Maximum-likelihood fit of the Pareto/NBD model over one row per customer (x, t_x, T in time_unit, as for rfm_bgnbd_fit); rows with a NULL value are skipped and counted in n_skipped; NULL over no rows';
CREATE AGGREGATE @extschema@.rfm_pnbd_fit(x float8, t_x float8, "T" float8, time_unit text, l2 float8) (
    SFUNC = @extschema@.rfm_pnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_pnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_pnbd_fit(float8, float8, float8, text, float8) IS
'Pareto/NBD fit with an L2 penalty: minimizes -log-likelihood/n_customers + l2 * (ln(r)^2 + ln(alpha)^2 + ln(s)^2 + ln(beta)^2)';

CREATE FUNCTION @extschema@.rfm_pnbd_model(r float8, alpha float8, s float8, beta float8,
                                           time_unit text DEFAULT 'week')
RETURNS @extschema@.rfm_pnbd_model
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
SELECT ROW(r, alpha, s, beta, NULL, NULL, NULL, NULL, time_unit, 0,
           NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)::@extschema@.rfm_pnbd_model
$$;
COMMENT ON FUNCTION @extschema@.rfm_pnbd_model(float8, float8, float8, float8, text) IS
'A Pareto/NBD model from given parameters (for example published ones); the fit fields are NULL';

CREATE FUNCTION @extschema@.rfm_p_alive(model @extschema@.rfm_pnbd_model, x float8, t_x float8, "T" float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_pnbd_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_alive(@extschema@.rfm_pnbd_model, float8, float8, float8) IS
'Pareto/NBD probability that a customer with history (x, t_x, T) is alive at T (Fader & Hardie 2005, "A Note on Deriving the Pareto/NBD Model")';

CREATE FUNCTION @extschema@.rfm_expected_purchases(model @extschema@.rfm_pnbd_model, horizon float8, x float8, t_x float8, "T" float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_pnbd_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases(@extschema@.rfm_pnbd_model, float8, float8, float8, float8) IS
'Pareto/NBD expected number of purchases in the next horizon time units of a customer with history (x, t_x, T): P(alive) (r+x)(beta+T)/((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+horizon))^(s-1)]';

CREATE FUNCTION @extschema@.rfm_expected_purchases_new(model @extschema@.rfm_pnbd_model, horizon float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_pnbd_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases_new(@extschema@.rfm_pnbd_model, float8) IS
'Pareto/NBD E[X(t)]: r beta/(alpha (s-1)) [1 - (beta/(beta+horizon))^(s-1)], the expected repeat purchases in the first horizon time units of a new customer';

CREATE FUNCTION @extschema@.rfm_clv(model @extschema@.rfm_pnbd_model, x float8, t_x float8, "T" float8,
                                   order_value float8, horizon float8,
                                   margin float8 DEFAULT 1.0, discount_rate float8 DEFAULT 0.0)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_pnbd_clv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_clv(@extschema@.rfm_pnbd_model, float8, float8, float8, float8, float8, float8, float8) IS
'Customer lifetime value under a Pareto/NBD model: as rfm_clv for BG/NBD, with the Pareto/NBD expected purchases';

-- ---- calibration and holdout ----

CREATE FUNCTION @extschema@.rfm_holdout(orders regclass, customer_column name, time_column name,
                                        calibration_end date, holdout_end date,
                                        model text DEFAULT 'bgnbd', time_unit text DEFAULT 'week',
                                        l2 float8 DEFAULT 0)
RETURNS TABLE (x_calibration text, customers bigint, actual_mean float8, predicted_mean float8,
               actual_total bigint, predicted_total float8, mean_absolute_error float8,
               bgnbd @extschema@.rfm_bgnbd_model, pnbd @extschema@.rfm_pnbd_model)
LANGUAGE plpgsql STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp
AS $fn$
DECLARE
    days_per_unit float8;
    horizon float8;
    fit text;
BEGIN
    IF orders IS NULL OR customer_column IS NULL OR time_column IS NULL
       OR calibration_end IS NULL OR holdout_end IS NULL OR model IS NULL
       OR time_unit IS NULL OR l2 IS NULL THEN
        RAISE EXCEPTION 'rfm_holdout: arguments must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF NOT (calibration_end < holdout_end) THEN
        RAISE EXCEPTION 'holdout end % is not after calibration end %', holdout_end, calibration_end
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'The holdout period is (calibration_end, holdout_end].';
    END IF;
    IF calibration_end = '-infinity'::date OR holdout_end = 'infinity'::date THEN
        RAISE EXCEPTION 'calibration and holdout ends must be finite dates'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    days_per_unit := CASE time_unit WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                    WHEN 'month' THEN 365.25 / 12 WHEN 'quarter' THEN 365.25 / 4
                                    WHEN 'year' THEN 365.25 END;
    IF days_per_unit IS NULL THEN
        RAISE EXCEPTION 'unknown time unit "%" for rfm_holdout', time_unit
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use one of day, week, month, quarter, year (purchases are counted per day).';
    END IF;
    fit := CASE model WHEN 'bgnbd' THEN 'rfm_bgnbd_fit' WHEN 'mbgnbd' THEN 'rfm_mbgnbd_fit'
                      WHEN 'pnbd' THEN 'rfm_pnbd_fit' END;
    IF fit IS NULL THEN
        RAISE EXCEPTION 'unknown model "%" for rfm_holdout', model
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use bgnbd, mbgnbd or pnbd.';
    END IF;
    horizon := (holdout_end - calibration_end) / days_per_unit;

    -- Purchases are distinct days (the time column cast to date, in the
    -- session's time zone for timestamptz); customers whose first purchase
    -- is after calibration_end are not in the calibration.  The caller's
    -- rights apply to the table.
    RETURN QUERY EXECUTE format($q$
        WITH d AS (
            SELECT DISTINCT %2$I AS c, (%3$I)::date AS day
            FROM %1$s
            WHERE %2$I IS NOT NULL AND %3$I IS NOT NULL AND (%3$I)::date <= $2),
        cal AS (
            SELECT c,
                   (count(*) FILTER (WHERE day <= $1) - 1)::float8 AS x,
                   ((max(day) FILTER (WHERE day <= $1) - min(day)) / $3)::float8 AS t_x,
                   (($1 - min(day)) / $3)::float8 AS tt,
                   count(*) FILTER (WHERE day > $1) AS actual
            FROM d GROUP BY c HAVING min(day) <= $1),
        f AS (SELECT @extschema@.%4$s(x, t_x, tt, $4, $5) AS m FROM cal),
        p AS (
            SELECT cal.x, cal.actual,
                   @extschema@.rfm_expected_purchases(f.m, $6, cal.x, cal.t_x, cal.tt) AS predicted
            FROM cal, f)
        SELECT CASE WHEN grouping(g) = 1 THEN 'all' ELSE g END,
               count(*), avg(actual)::float8, avg(predicted),
               sum(actual)::bigint, sum(predicted), avg(abs(predicted - actual)),
               %5$s, %6$s
        FROM (SELECT CASE WHEN x >= 7 THEN '7+' ELSE x::int::text END AS g, x, actual, predicted FROM p) q
        GROUP BY ROLLUP (g)
        ORDER BY grouping(g), min(x)$q$,
        orders, customer_column, time_column, fit,
        CASE WHEN model = 'pnbd' THEN 'NULL::@extschema@.rfm_bgnbd_model' ELSE '(SELECT m FROM f)' END,
        CASE WHEN model = 'pnbd' THEN '(SELECT m FROM f)' ELSE 'NULL::@extschema@.rfm_pnbd_model' END)
    USING calibration_end, holdout_end, days_per_unit, time_unit, l2, horizon;
END
$fn$;
COMMENT ON FUNCTION @extschema@.rfm_holdout(regclass, name, name, date, date, text, text, float8) IS
'Calibration and holdout check of a customer-base model (bgnbd, mbgnbd or pnbd) in one call: purchases are distinct days of time_column; the model is fitted on the customers'' histories up to calibration_end (x = purchase days - 1, t_x and T in time_unit) and predicts their purchase days in (calibration_end, holdout_end]; one row per calibration x (0..6, 7+) and a row ''all'' with the customers, actual and predicted means and totals, and the mean absolute error per customer; the fitted model in column bgnbd or pnbd; runs with the caller''s rights (PARALLEL RESTRICTED: the table may be a temporary one)';

-- ---- P(X(t) = n) ----

CREATE FUNCTION @extschema@.rfm_p_purchases(model @extschema@.rfm_bgnbd_model, horizon float8, n float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_p_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_purchases(@extschema@.rfm_bgnbd_model, float8, float8) IS
'P(X(t) = n): probability that a new customer makes n repeat purchases in the first horizon time units (BG/NBD: Fader, Hardie & Lee 2005, eq. 8; MBG/NBD with dropout at time 0 too)';
CREATE FUNCTION @extschema@.rfm_p_purchases(model @extschema@.rfm_pnbd_model, horizon float8, n float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_pnbd_p_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_purchases(@extschema@.rfm_pnbd_model, float8, float8) IS
'Pareto/NBD P(X(t) = n): probability that a new customer makes n repeat purchases in the first horizon time units (the integral over the time of death by Gauss-Legendre quadrature)';
