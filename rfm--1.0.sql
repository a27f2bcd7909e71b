\echo Use "CREATE EXTENSION rfm" to load this file. \quit

-- ==== The summary aggregate (src/summary.c) ====

CREATE TYPE @extschema@.rfm_state;

CREATE FUNCTION @extschema@.rfm_state_in(cstring) RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_state_out(@extschema@.rfm_state) RETURNS cstring
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_state_recv(internal) RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_state_send(@extschema@.rfm_state) RETURNS bytea
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.rfm_state (
    INPUT = @extschema@.rfm_state_in,
    OUTPUT = @extschema@.rfm_state_out,
    RECEIVE = @extschema@.rfm_state_recv,
    SEND = @extschema@.rfm_state_send,
    INTERNALLENGTH = VARIABLE,
    ALIGNMENT = double,
    STORAGE = extended
);
COMMENT ON TYPE @extschema@.rfm_state IS
    'Partial state of rfm_summary: text and binary forms let parallel workers and distributed engines ship it';

CREATE TYPE @extschema@.rfm_summary AS (
    recency          float8,
    frequency        bigint,
    monetary         numeric,
    avg_order_value  numeric,
    first_order      timestamptz,
    last_order       timestamptz,
    tenure           float8,
    purchase_days    integer,
    repeat_frequency integer,
    repeat_recency   float8,
    age              float8,
    returns          bigint,
    as_of            timestamptz
);
COMMENT ON TYPE @extschema@.rfm_summary IS
    'One customer''s RFM summary at as_of: recency, frequency, monetary, and the BTYD inputs x, t_x, T in days';
COMMENT ON COLUMN @extschema@.rfm_summary.recency IS 'Days (fractional) from the last order to as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.frequency IS 'Number of orders (rows with amount >= 0) on or before as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.monetary IS 'Net total: orders plus returns (negative amounts), exact for numeric input';
COMMENT ON COLUMN @extschema@.rfm_summary.avg_order_value IS 'monetary / frequency';
COMMENT ON COLUMN @extschema@.rfm_summary.first_order IS 'Time of the first order';
COMMENT ON COLUMN @extschema@.rfm_summary.last_order IS 'Time of the last order on or before as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.tenure IS 'Days (fractional) from the first order to as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.purchase_days IS 'Distinct calendar days with an order (session time zone for timestamptz)';
COMMENT ON COLUMN @extschema@.rfm_summary.repeat_frequency IS 'BTYD x: purchase_days - 1';
COMMENT ON COLUMN @extschema@.rfm_summary.repeat_recency IS 'BTYD t_x: whole days from the first to the last purchase day';
COMMENT ON COLUMN @extschema@.rfm_summary.age IS 'BTYD T: whole days from the first purchase day to the day of as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.returns IS 'Number of returns (rows with amount < 0) on or before as_of';
COMMENT ON COLUMN @extschema@.rfm_summary.as_of IS 'The time the summary is taken at';

CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, numeric, timestamptz)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_tz_numeric' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, float8, timestamptz)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_tz_float8' LANGUAGE C STABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, date, numeric, date)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_date_numeric' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, date, float8, date)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_date_float8' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_combine(@extschema@.rfm_state, @extschema@.rfm_state)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_final(@extschema@.rfm_state)
    RETURNS @extschema@.rfm_summary
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, numeric, timestamptz) IS 'Transition function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, float8, timestamptz) IS 'Transition function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, date, numeric, date) IS 'Transition function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, date, float8, date) IS 'Transition function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_summary_combine(@extschema@.rfm_state, @extschema@.rfm_state) IS 'Combine function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_summary_final(@extschema@.rfm_state) IS 'Final function of rfm_summary';
COMMENT ON FUNCTION @extschema@.rfm_state_in(cstring) IS 'Input function of rfm_state';
COMMENT ON FUNCTION @extschema@.rfm_state_out(@extschema@.rfm_state) IS 'Output function of rfm_state';
COMMENT ON FUNCTION @extschema@.rfm_state_recv(internal) IS 'Binary input function of rfm_state';
COMMENT ON FUNCTION @extschema@.rfm_state_send(@extschema@.rfm_state) IS 'Binary output function of rfm_state';

CREATE AGGREGATE @extschema@.rfm_summary(order_time timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_summary(order_time timestamptz, amount float8, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_summary(order_time date, amount numeric, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_summary(order_time date, amount float8, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, numeric, timestamptz) IS
    'RFM summary of one customer''s orders at as_of; negative amounts are returns, rows after as_of are ignored';
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, float8, timestamptz) IS
    'RFM summary of one customer''s orders at as_of (float8 amounts, compensated summation)';
COMMENT ON AGGREGATE @extschema@.rfm_summary(date, numeric, date) IS
    'RFM summary of one customer''s orders at as_of, with order dates';
COMMENT ON AGGREGATE @extschema@.rfm_summary(date, float8, date) IS
    'RFM summary of one customer''s orders at as_of, with order dates (float8 amounts)';

-- ==== Scores (src/score.c) ====

CREATE FUNCTION @extschema@.rfm_score(bins integer DEFAULT 5) RETURNS integer
    AS 'MODULE_PATHNAME', 'rfm_score_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(integer) IS
    'Window function: scores 1..bins as even as ties allow; peers share a score; with no ties it equals ntile(bins)';

CREATE TYPE @extschema@.rfm_scores AS (r integer, f integer, m integer);
COMMENT ON TYPE @extschema@.rfm_scores IS 'Recency, frequency and monetary scores of one customer';

CREATE FUNCTION @extschema@.rfm_scores(recency float8, frequency float8, monetary float8, bins integer DEFAULT 5)
    RETURNS @extschema@.rfm_scores
    AS 'MODULE_PATHNAME', 'rfm_scores_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_scores(float8, float8, float8, integer) IS
    'Window function over the partition (OVER ()): the R, F and M scores of rfm_score in one pass; smaller recency scores higher';

CREATE FUNCTION @extschema@.rfm_breaks_transition(internal, float8) RETURNS internal
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_breaks_final(internal, integer, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_breaks_final(internal, integer, text, float8) RETURNS float8[]
    AS 'MODULE_PATHNAME', 'rfm_breaks_method_final' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_breaks_transition(internal, float8) IS 'Transition function of rfm_breaks';
COMMENT ON FUNCTION @extschema@.rfm_breaks_final(internal, integer, float8) IS 'Final function of rfm_breaks';
COMMENT ON FUNCTION @extschema@.rfm_breaks_final(internal, integer, text, float8) IS 'Final function of rfm_breaks';

CREATE AGGREGATE @extschema@.rfm_breaks(bins integer ORDER BY value float8) (
    SFUNC = @extschema@.rfm_breaks_transition,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_breaks_final,
    FINALFUNC_EXTRA,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_breaks(bins integer, method text ORDER BY value float8) (
    SFUNC = @extschema@.rfm_breaks_transition,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_breaks_final,
    FINALFUNC_EXTRA,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_breaks(integer ORDER BY float8) IS
    'Cut points (bins - 1, ascending) with which rfm_score(value, breaks) reproduces the rfm_score(bins) window scores';
COMMENT ON AGGREGATE @extschema@.rfm_breaks(integer, text ORDER BY float8) IS
    'Cut points by method: ''rank'' (as rfm_score''s window form) or ''r'' (the R package rfm: type-7 quantiles plus one)';

CREATE FUNCTION @extschema@.rfm_score(value float8, breaks float8[], reverse boolean DEFAULT false)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'rfm_score_breaks' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_score(float8, float8[], boolean) IS
    'Score against stored cut points: 1 + the number of breaks <= value; reverse gives bins + 1 minus that';

-- ==== Segments and value types (src/segment.c) ====

CREATE FUNCTION @extschema@.rfm_segment(r integer, f integer, m integer) RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_segment(integer, integer, integer) IS
    'One of the 11 classic segments (Champions ... Lost) for 1..5 scores, on R and FM = floor((F + M) / 2)';

CREATE FUNCTION @extschema@.rfm_value_type(recency float8, frequency float8, monetary float8,
                                           recency_cut float8, frequency_cut float8, monetary_cut float8)
    RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_value_type(float8, float8, float8, float8, float8, float8) IS
    'One of the 8 value types: R high if recency < recency_cut, F high if frequency > frequency_cut, M high if monetary > monetary_cut';

CREATE FUNCTION @extschema@.rfm_value_type(recency float8, frequency float8, monetary float8)
    RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_value_type_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_value_type(recency float8, frequency float8, monetary float8, method text)
    RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_value_type_window' LANGUAGE C WINDOW IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_value_type(float8, float8, float8) IS
    'Window function (OVER ()): the value type against the partition''s mean recency, frequency and monetary';
COMMENT ON FUNCTION @extschema@.rfm_value_type(float8, float8, float8, text) IS
    'Window function (OVER ()): the value type against the partition''s ''mean'' or ''median'' of each metric';

CREATE FUNCTION @extschema@.rfm_label(code text, lang text DEFAULT 'en') RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_label(text, text) IS
    'English (''en'') or Chinese (''zh'') label of a segment name, value type code or lifecycle stage code';


-- ==== BG/NBD, MBG/NBD, Gamma-Gamma (src/btyd.c) ====

CREATE TYPE @extschema@.rfm_bgnbd_model AS (
    model text,
    r float8,
    alpha float8,
    a float8,
    b float8,
    log_likelihood float8,
    n_customers bigint,
    iterations integer,
    converged boolean,
    time_unit text,
    l2 float8
);
COMMENT ON TYPE @extschema@.rfm_bgnbd_model IS
'A fitted BG/NBD (model = ''bgnbd'') or MBG/NBD (model = ''mbgnbd'') model: purchase rates ~ Gamma(r, alpha) per time_unit, dropout probability ~ Beta(a, b); with the maximized log-likelihood (without the penalty), the number of customers, BFGS iterations, whether the fit converged, the time unit of t_x and T, and the L2 penalty used';

CREATE TYPE @extschema@.rfm_gamma_gamma_model AS (
    p float8,
    q float8,
    gamma float8,
    log_likelihood float8,
    n_customers bigint,
    iterations integer,
    converged boolean,
    l2 float8
);
COMMENT ON TYPE @extschema@.rfm_gamma_gamma_model IS
'A fitted Gamma-Gamma spend model: transaction values ~ Gamma(p, nu) with nu ~ Gamma(q, gamma) across customers; with the maximized log-likelihood (without the penalty), the number of repeat customers, BFGS iterations, whether the fit converged and the L2 penalty used';

-- fitting aggregates: state functions

CREATE FUNCTION @extschema@.rfm_bgnbd_fit_trans(internal, float8, float8, float8, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_bgnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgnbd_fit_trans(internal, float8, float8, float8, text) IS
'Transition function of rfm_bgnbd_fit';
CREATE FUNCTION @extschema@.rfm_bgnbd_fit_trans(internal, float8, float8, float8, text, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_bgnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgnbd_fit_trans(internal, float8, float8, float8, text, float8) IS
'Transition function of rfm_bgnbd_fit with an L2 penalty';
CREATE FUNCTION @extschema@.rfm_mbgnbd_fit_trans(internal, float8, float8, float8, text)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_mbgnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_mbgnbd_fit_trans(internal, float8, float8, float8, text) IS
'Transition function of rfm_mbgnbd_fit';
CREATE FUNCTION @extschema@.rfm_mbgnbd_fit_trans(internal, float8, float8, float8, text, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_mbgnbd_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_mbgnbd_fit_trans(internal, float8, float8, float8, text, float8) IS
'Transition function of rfm_mbgnbd_fit with an L2 penalty';
CREATE FUNCTION @extschema@.rfm_gamma_gamma_fit_trans(internal, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_gamma_gamma_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_gamma_gamma_fit_trans(internal, float8, float8) IS
'Transition function of rfm_gamma_gamma_fit';
CREATE FUNCTION @extschema@.rfm_gamma_gamma_fit_trans(internal, float8, float8, float8)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_gamma_gamma_fit_trans' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_gamma_gamma_fit_trans(internal, float8, float8, float8) IS
'Transition function of rfm_gamma_gamma_fit with an L2 penalty';

CREATE FUNCTION @extschema@.rfm_btyd_combine(internal, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_btyd_combine' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_btyd_combine(internal, internal) IS
'Combine function of the BG/NBD, MBG/NBD and Gamma-Gamma fitting aggregates';
CREATE FUNCTION @extschema@.rfm_btyd_serialize(internal)
RETURNS bytea AS 'MODULE_PATHNAME', 'rfm_btyd_serialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_btyd_serialize(internal) IS
'Serialize function of the BG/NBD, MBG/NBD and Gamma-Gamma fitting aggregates';
CREATE FUNCTION @extschema@.rfm_btyd_deserialize(bytea, internal)
RETURNS internal AS 'MODULE_PATHNAME', 'rfm_btyd_deserialize' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_btyd_deserialize(bytea, internal) IS
'Deserialize function of the BG/NBD, MBG/NBD and Gamma-Gamma fitting aggregates';

CREATE FUNCTION @extschema@.rfm_bgnbd_fit_final(internal)
RETURNS @extschema@.rfm_bgnbd_model AS 'MODULE_PATHNAME', 'rfm_bgnbd_fit_final' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_bgnbd_fit_final(internal) IS
'Final function of rfm_bgnbd_fit and rfm_mbgnbd_fit: the maximum-likelihood fit (STABLE: the iteration budget is the setting rfm.max_fit_iterations)';
CREATE FUNCTION @extschema@.rfm_gamma_gamma_fit_final(internal)
RETURNS @extschema@.rfm_gamma_gamma_model AS 'MODULE_PATHNAME', 'rfm_gamma_gamma_fit_final' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_gamma_gamma_fit_final(internal) IS
'Final function of rfm_gamma_gamma_fit: the maximum-likelihood fit (STABLE: the iteration budget is the setting rfm.max_fit_iterations)';

-- fitting aggregates

CREATE AGGREGATE @extschema@.rfm_bgnbd_fit(x float8, t_x float8, "T" float8, time_unit text) (
    SFUNC = @extschema@.rfm_bgnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_bgnbd_fit(float8, float8, float8, text) IS
'Maximum-likelihood fit of the BG/NBD model (Fader, Hardie & Lee 2005) over one row per customer: x = repeat purchases, t_x = time of the last repeat purchase since the first purchase (0 if x = 0), T = time from the first purchase to the end of the calibration period, all in time_unit (hour, day, week, month, quarter or year); rows with a NULL value are skipped; NULL over no rows';
CREATE AGGREGATE @extschema@.rfm_bgnbd_fit(x float8, t_x float8, "T" float8, time_unit text, l2 float8) (
    SFUNC = @extschema@.rfm_bgnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_bgnbd_fit(float8, float8, float8, text, float8) IS
'BG/NBD fit with an L2 penalty: minimizes -log-likelihood/n_customers + l2 * (ln(r)^2 + ln(alpha)^2 + ln(a)^2 + ln(b)^2), which pulls the parameters towards 1 and keeps them away from 0 and infinity (unlike lifetimes'' penalizer_coef on the squared parameters); alpha is in the time unit, so its share of the penalty depends on the unit';
CREATE AGGREGATE @extschema@.rfm_mbgnbd_fit(x float8, t_x float8, "T" float8, time_unit text) (
    SFUNC = @extschema@.rfm_mbgnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_mbgnbd_fit(float8, float8, float8, text) IS
'Maximum-likelihood fit of the MBG/NBD model (Batislam, Denizel & Filiztekin 2007; as lifetimes'' ModifiedBetaGeoFitter), in which a customer may also drop out right after the first purchase; arguments as for rfm_bgnbd_fit';
CREATE AGGREGATE @extschema@.rfm_mbgnbd_fit(x float8, t_x float8, "T" float8, time_unit text, l2 float8) (
    SFUNC = @extschema@.rfm_mbgnbd_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_bgnbd_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_mbgnbd_fit(float8, float8, float8, text, float8) IS
'MBG/NBD fit with an L2 penalty: minimizes -log-likelihood/n_customers + l2 * (ln(r)^2 + ln(alpha)^2 + ln(a)^2 + ln(b)^2)';
CREATE AGGREGATE @extschema@.rfm_gamma_gamma_fit(x float8, mean_value float8) (
    SFUNC = @extschema@.rfm_gamma_gamma_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_gamma_gamma_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_gamma_gamma_fit(float8, float8) IS
'Maximum-likelihood fit of the Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV") over one row per customer: x = repeat purchases, mean_value = mean value of the repeat purchases (> 0); customers with x = 0 and rows with a NULL value are skipped; NULL over no rows, an error if there are rows but fewer than 2 repeat customers';
CREATE AGGREGATE @extschema@.rfm_gamma_gamma_fit(x float8, mean_value float8, l2 float8) (
    SFUNC = @extschema@.rfm_gamma_gamma_fit_trans,
    STYPE = internal,
    FINALFUNC = @extschema@.rfm_gamma_gamma_fit_final,
    COMBINEFUNC = @extschema@.rfm_btyd_combine,
    SERIALFUNC = @extschema@.rfm_btyd_serialize,
    DESERIALFUNC = @extschema@.rfm_btyd_deserialize,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_gamma_gamma_fit(float8, float8, float8) IS
'Gamma-Gamma fit with an L2 penalty: minimizes -log-likelihood/n_customers + l2 * (ln(p)^2 + ln(q)^2 + ln(gamma)^2); gamma is in the currency of the values, so its share of the penalty depends on the currency unit';

-- per-customer functions

CREATE FUNCTION @extschema@.rfm_p_alive(model @extschema@.rfm_bgnbd_model, x float8, t_x float8, "T" float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_p_alive' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_p_alive(@extschema@.rfm_bgnbd_model, float8, float8, float8) IS
'Probability that a customer with x repeat purchases, the last at t_x, observed for T time units (the model''s time_unit) is still alive at T';

CREATE FUNCTION @extschema@.rfm_expected_purchases(model @extschema@.rfm_bgnbd_model, horizon float8, x float8, t_x float8, "T" float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_expected_purchases' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases(@extschema@.rfm_bgnbd_model, float8, float8, float8, float8) IS
'Expected number of purchases in the next horizon time units (the model''s time_unit) of a customer with history (x, t_x, T): Fader, Hardie & Lee 2005 for BG/NBD, Wagner & Hoppe 2008 for MBG/NBD';

CREATE FUNCTION @extschema@.rfm_expected_purchases_new(model @extschema@.rfm_bgnbd_model, horizon float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_expected_purchases_new' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_purchases_new(@extschema@.rfm_bgnbd_model, float8) IS
'E[X(t)]: expected number of repeat purchases in the first horizon time units (the model''s time_unit) after a new customer''s first purchase (Fader, Hardie & Lee 2005)';

CREATE FUNCTION @extschema@.rfm_expected_order_value(model @extschema@.rfm_gamma_gamma_model, x float8, mean_value float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_expected_order_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_expected_order_value(@extschema@.rfm_gamma_gamma_model, float8, float8) IS
'Gamma-Gamma conditional expected mean order value of a customer with x repeat purchases of mean value mean_value: p (gamma + x mean_value) / (p x + q - 1); for x = 0 the population mean p gamma / (q - 1)';

CREATE FUNCTION @extschema@.rfm_clv(model @extschema@.rfm_bgnbd_model, x float8, t_x float8, "T" float8,
                                   order_value float8, horizon float8,
                                   margin float8 DEFAULT 1.0, discount_rate float8 DEFAULT 0.0)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_clv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_clv(@extschema@.rfm_bgnbd_model, float8, float8, float8, float8, float8, float8, float8) IS
'Customer lifetime value over the next horizon time units (the model''s time_unit): order_value * margin * sum over steps i = 1..ceil(horizon) of (E[purchases by min(i, horizon)] - E[purchases by i - 1]) / (1 + discount_rate)^min(i, horizon); discount_rate is per time unit of the model (e.g. 0.10/52 a week for 10% a year); order_value typically from rfm_expected_order_value';

CREATE FUNCTION @extschema@.rfm_simple_clv(avg_order_value float8, purchases_per_period float8,
                                          margin float8, retention float8, discount_rate float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_simple_clv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_simple_clv(float8, float8, float8, float8, float8) IS
'Model-free CLV: avg_order_value * purchases_per_period * margin * retention / (1 + discount_rate - retention), the value of the future periods'' margins when a share retention of customers stays from one period to the next and cash is discounted by discount_rate per period (the current period not included)';

CREATE FUNCTION @extschema@.rfm_hyp2f1(a float8, b float8, c float8, z float8)
RETURNS float8 AS 'MODULE_PATHNAME', 'rfm_hyp2f1' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_hyp2f1(float8, float8, float8, float8) IS
'Gauss hypergeometric function 2F1(a, b; c; z) for z < 1 (series with Euler''s and Pfaff''s transformations), as used by the expected-purchase functions';

-- ==== Lifecycle (src/lifecycle.c) ====

-- At most one row; no row means the defaults (the column defaults, which
-- src/lifecycle.c repeats).  The script inserts no row, so that pg_dump's
-- copy of a user's row restores without a conflict.
CREATE TABLE @extschema@.rfm_lifecycle_settings (
    id boolean PRIMARY KEY DEFAULT true
        CONSTRAINT one_row_only CHECK (id),
    new_days integer NOT NULL DEFAULT 90
        CONSTRAINT new_days_not_negative CHECK (new_days >= 0),
    min_purchase_days integer NOT NULL DEFAULT 2
        CONSTRAINT min_purchase_days_at_least_1 CHECK (min_purchase_days >= 1),
    churn_days integer NOT NULL DEFAULT 365
        CONSTRAINT churn_days_at_least_1 CHECK (churn_days >= 1),
    churn_ratio float8 NOT NULL DEFAULT 4
        CONSTRAINT churn_ratio_finite CHECK (churn_ratio < 'infinity'),
    decline_ratio float8 NOT NULL DEFAULT 2
        CONSTRAINT decline_ratio_positive_finite CHECK (decline_ratio > 0 AND decline_ratio < 'infinity'),
    single_purchase_interval integer NOT NULL DEFAULT 90
        CONSTRAINT single_purchase_interval_at_least_1 CHECK (single_purchase_interval >= 1),
    recent_days integer NOT NULL DEFAULT 180
        CONSTRAINT recent_days_at_least_1 CHECK (recent_days >= 1),
    rate_ratio float8 NOT NULL DEFAULT 0.5
        CONSTRAINT rate_ratio_in_0_1 CHECK (rate_ratio > 0 AND rate_ratio <= 1),
    p_alive_churned float8 NOT NULL DEFAULT 0.3
        CONSTRAINT p_alive_churned_in_0_1 CHECK (p_alive_churned >= 0 AND p_alive_churned <= 1),
    p_alive_decline float8 NOT NULL DEFAULT 0.6
        CONSTRAINT p_alive_decline_in_0_1 CHECK (p_alive_decline >= 0 AND p_alive_decline <= 1),
    CONSTRAINT churn_ratio_not_below_decline_ratio CHECK (churn_ratio >= decline_ratio),
    CONSTRAINT p_alive_churned_not_above_p_alive_decline CHECK (p_alive_churned <= p_alive_decline)
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_lifecycle_settings', '');
GRANT SELECT ON @extschema@.rfm_lifecycle_settings TO PUBLIC;
COMMENT ON TABLE @extschema@.rfm_lifecycle_settings IS
    'Thresholds of rfm_lifecycle and rfm_lifecycle_stage: at most one row, no row means the column defaults; INSERT INTO rfm_lifecycle_settings DEFAULT VALUES, then UPDATE';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.id IS 'Always true: keeps the table to one row';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.new_days IS 'growth: first purchase day at most this many days before the day of as_of';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.min_purchase_days IS 'growth: fewer distinct purchase days than this (and no decline or churn rule applies)';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.churn_days IS 'churned: last purchase day more than this many days before the day of as_of';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.churn_ratio IS 'churned: days since the last purchase more than this times the usual interval (median gap between purchase days)';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.decline_ratio IS 'decline: days since the last purchase more than this times the usual interval';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.single_purchase_interval IS 'The usual interval, in days, assumed for a customer with a single purchase day';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.recent_days IS 'decline: length in days of the recent window whose purchase rate is compared with the earlier history''s (which must span at least as many days)';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.rate_ratio IS 'decline: recent purchase days per day below this times the earlier purchase days per day';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.p_alive_churned IS 'rfm_lifecycle_stage: P(alive) below this gives churned';
COMMENT ON COLUMN @extschema@.rfm_lifecycle_settings.p_alive_decline IS 'rfm_lifecycle_stage: P(alive) below this gives at least decline';

CREATE FUNCTION @extschema@.rfm_lifecycle_final(@extschema@.rfm_state)
    RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_lifecycle_final(@extschema@.rfm_state) IS
    'Final function of rfm_lifecycle (STABLE: reads rfm_lifecycle_settings once per query)';

CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time timestamptz, amount float8, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time date, amount numeric, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time date, amount float8, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(timestamptz, numeric, timestamptz) IS
    'Lifecycle stage of one customer at as_of: acquisition (no order: a customer row LEFT JOINed to no orders), growth, maturity, decline or churned, by the rules of rfm_lifecycle_settings; NULL for no rows or returns only';
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(timestamptz, float8, timestamptz) IS
    'Lifecycle stage of one customer at as_of (float8 amounts); calendar days in the session time zone';
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(date, numeric, date) IS
    'Lifecycle stage of one customer at as_of, with order dates';
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(date, float8, date) IS
    'Lifecycle stage of one customer at as_of, with order dates (float8 amounts)';

CREATE FUNCTION @extschema@.rfm_lifecycle_stage(stage text, p_alive float8)
    RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_lifecycle_stage(text, float8) IS
    'A stage of rfm_lifecycle worsened by a model''s P(alive): below p_alive_churned churned, below p_alive_decline at least decline; acquisition and NULL p_alive are left as they are';
