
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
'A fitted BG/NBD (model = ''bgnbd'') or MBG/NBD (model = ''mbgnbd'') model: purchase rates ~ Gamma(r, alpha) per time_unit, dropout probability ~ Beta(a, b); with the maximized log-likelihood (without the penalty), the number of customers, BFGS iterations, whether the fit converged, the time unit of t_x and T, the L2 penalty used; since 1.2 the standard errors of r, alpha, a, b (observed information; of the penalized likelihood when l2 > 0; NULL when the Hessian is not positive definite), AIC and BIC, the rows skipped for a NULL value, and max_influence: how many standard errors the most influential customer moves a log parameter (a warning above 3)';

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
