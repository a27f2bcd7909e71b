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
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_label(text, text) IS
    'English (''en'') or Chinese (''zh'') label of a segment name, value type code or lifecycle stage code, or of a code of the rule tables (which come first; STABLE: it reads them)';


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

-- ==== Strategies, tiers and actions (src/action.c) ====
--
-- The business rules of seed 000 as data each company can change: strategies,
-- communication channels, sales techniques, member tiers, the rule of each
-- segment, and two one-row settings tables.  All are extension configuration
-- tables, so pg_dump keeps the user's rules:
--   origin = 'builtin'  a row this script installed, untouched (not dumped:
--                        CREATE EXTENSION installs it again on restore);
--   origin = 'changed'  a builtin row the user updated (dumped);
--   origin = 'user'     a row the user added (dumped).
-- Deleting a builtin or changed row leaves its key in rfm_builtin_deleted
-- (dumped), whose trigger deletes the re-installed builtin row on restore.
-- Inserting a row with a builtin row's key replaces that row (it becomes
-- 'changed'): that is also how a restore puts changed rows back.
-- Restore order: pg_dump restores these tables' data by foreign keys, else by
-- name: rfm_builtin_deleted first, rfm_segment_action after every table it
-- names (hence rfm_sales_technique, not rfm_technique).

CREATE TABLE @extschema@.rfm_builtin_deleted (
    table_name text NOT NULL,
    key text NOT NULL,
    PRIMARY KEY (table_name, key)
);
COMMENT ON TABLE @extschema@.rfm_builtin_deleted IS
    'Keys of builtin rule rows the user deleted, so that a restore deletes them again (maintained by triggers; do not edit)';

CREATE TABLE @extschema@.rfm_strategy (
    code text PRIMARY KEY CHECK (code ~ '^\S(.*\S)?$'),
    label_en text NOT NULL,
    label_zh text NOT NULL,
    description text NOT NULL DEFAULT '',
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_strategy IS
    'Customer strategies (seed 000): retain 维系, develop 拓展, win_back 挽留, reduce 缩减; add your own';

CREATE TABLE @extschema@.rfm_channel (
    code text PRIMARY KEY CHECK (code ~ '^\S(.*\S)?$'),
    contact_intensity text NOT NULL CHECK (contact_intensity IN ('low', 'medium', 'high')),
    cost_level text NOT NULL CHECK (cost_level IN ('low', 'medium', 'high')),
    label_en text NOT NULL,
    label_zh text NOT NULL,
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_channel IS
    'Communication channels (沟通渠道) with their contact intensity and cost level: low, medium or high';

CREATE TABLE @extschema@.rfm_sales_technique (
    code text PRIMARY KEY CHECK (code ~ '^\S(.*\S)?$'),
    label_en text NOT NULL,
    label_zh text NOT NULL,
    description text NOT NULL DEFAULT '',
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_sales_technique IS
    'Customer development techniques (顾客拓展手段, seed 000 appendix 2): repeat_sale, cross_sell, up_sell, purchase_reminder, referral';

CREATE TABLE @extschema@.rfm_tier (
    code text PRIMARY KEY CHECK (code ~ '^\S(.*\S)?$'),
    rank integer NOT NULL,
    discount numeric NOT NULL CHECK (discount >= 0 AND discount < 1),
    point_rate numeric NOT NULL CHECK (point_rate >= 0 AND point_rate = round(point_rate, 2)),
    min_spend numeric NOT NULL CHECK (min_spend >= 0),
    min_score integer NOT NULL CHECK (min_score >= 0),
    label_en text NOT NULL,
    label_zh text NOT NULL,
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user')),
    UNIQUE (rank) DEFERRABLE
);
COMMENT ON TABLE @extschema@.rfm_tier IS
    'Member tiers (会员等级): discount on single products in [0, 1), loyalty point multiplier, and the lower bounds of spend and score (r + f + m) from which a customer reaches the tier; a tier runs up to the next higher tier''s bound';

CREATE TABLE @extschema@.rfm_segment_action (
    segment text PRIMARY KEY CHECK (segment ~ '^\S(.*\S)?$'),
    strategy text NOT NULL REFERENCES @extschema@.rfm_strategy (code),
    service_lever text NOT NULL,
    channels text[] NOT NULL,
    price_lever text NOT NULL,
    techniques text[] NOT NULL DEFAULT '{}',
    tier text NOT NULL REFERENCES @extschema@.rfm_tier (code),
    label_en text NOT NULL,
    label_zh text NOT NULL,
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_segment_action IS
    'The rule of each segment code (value types, classic segments, your own): strategy, service lever, channels, price lever, sales techniques and member tier';

CREATE TABLE @extschema@.rfm_tier_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    tier_by text NOT NULL CHECK (tier_by IN ('segment', 'score', 'spend')),
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_tier_settings IS
    'One row: how a customer reaches a tier: ''segment'' (the segment rule''s tier), ''score'' (r + f + m against rfm_tier.min_score) or ''spend'' (against rfm_tier.min_spend)';

CREATE TABLE @extschema@.rfm_loyalty_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    signup_points integer NOT NULL CHECK (signup_points >= 0),
    order_points integer NOT NULL CHECK (order_points >= 0),
    order_points_step integer NOT NULL CHECK (order_points_step >= 0),
    order_points_max integer NOT NULL CHECK (order_points_max >= order_points),
    online_service_points integer NOT NULL CHECK (online_service_points >= 0),
    popular_repeat_points integer NOT NULL CHECK (popular_repeat_points >= 0),
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user'))
);
COMMENT ON TABLE @extschema@.rfm_loyalty_settings IS
    'One row: loyalty points (seed 000 appendix 1): a sign-up bonus; the k-th regular order earns min(order_points + (k - 1) * order_points_step, order_points_max); each use of an online service and each repeat purchase of a popular product earn a flat amount; the total is multiplied by the tier''s point_rate';

-- The defaults (DOMAIN.md section 3).
INSERT INTO @extschema@.rfm_strategy (code, label_en, label_zh, description, origin) VALUES
 ('retain', 'Retain', '维系', 'Valuable customers, the core of revenue: keep the relationship', 'builtin'),
 ('develop', 'Develop', '拓展', 'Customers with potential: grow their number, order value and frequency', 'builtin'),
 ('win_back', 'Win back', '挽留', 'Valuable customers drifting away: their loss costs directly', 'builtin'),
 ('reduce', 'Reduce', '缩减', 'Marginal customers: cut the budget', 'builtin');

INSERT INTO @extschema@.rfm_channel (code, contact_intensity, cost_level, label_en, label_zh, origin) VALUES
 ('email', 'low', 'low', 'Email', '邮件', 'builtin'),
 ('web', 'low', 'low', 'Web page', '网页', 'builtin'),
 ('sms', 'medium', 'low', 'SMS', '短信', 'builtin'),
 ('kiosk', 'low', 'medium', 'Self-service terminal', '自助终端', 'builtin'),
 ('phone', 'medium', 'medium', 'Phone call', '电话', 'builtin'),
 ('direct_mail', 'medium', 'medium', 'Direct mail', '直邮', 'builtin'),
 ('store', 'high', 'high', 'Physical store', '实体店', 'builtin'),
 ('account_manager_visit', 'high', 'high', 'Account manager visit', '客户经理拜访', 'builtin');

INSERT INTO @extschema@.rfm_sales_technique (code, label_en, label_zh, description, origin) VALUES
 ('repeat_sale', 'Repeat sale', '重复销售', 'Sell the same products again to existing customers', 'builtin'),
 ('cross_sell', 'Cross-sell', '交叉销售', 'Sell more products of kinds close to earlier purchases', 'builtin'),
 ('up_sell', 'Up-sell', '向上销售', 'Sell more expensive products of the same kind', 'builtin'),
 ('purchase_reminder', 'Purchase reminder', '购买提醒', 'Remind win-back and general keep customers to buy again', 'builtin'),
 ('referral', 'Referral', '推荐', 'Customers bring customers', 'builtin');

INSERT INTO @extschema@.rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh, origin) VALUES
 ('basic', 1, 0, 1.00, 0, 0, 'Basic member', '普通会员', 'builtin'),
 ('silver', 2, 0.10, 1.20, 1000, 7, 'Silver member', '银牌会员', 'builtin'),
 ('gold', 3, 0.20, 1.50, 5000, 10, 'Gold member', '金牌会员', 'builtin'),
 ('vip', 4, 0.40, 2.00, 20000, 13, 'VIP member', 'VIP会员', 'builtin');

INSERT INTO @extschema@.rfm_segment_action
    (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh, origin) VALUES
 ('important_value', 'retain', 'VIP service: member-only features, priority support, lounge-style perks',
  '{email,sms}', 'VIP tier price', '{repeat_sale,up_sell,referral}', 'vip', 'Important value', '重要价值客户', 'builtin'),
 ('important_keep', 'retain', 'Gold service: member-only features, regular care',
  '{email,sms}', 'Gold tier price', '{repeat_sale,cross_sell}', 'gold', 'Important keep', '重要保持客户', 'builtin'),
 ('important_develop', 'develop', 'Gold service; an account manager for customers of high potential',
  '{phone,direct_mail,sms}', 'Gold tier price', '{cross_sell,up_sell}', 'gold', 'Important develop', '重要发展客户', 'builtin'),
 ('important_win_back', 'win_back', 'Personal contact: learn why they left, fix it',
  '{phone,account_manager_visit}', 'Gold tier price and a win-back offer', '{purchase_reminder}', 'gold', 'Important win-back', '重要挽留客户', 'builtin'),
 ('general_value', 'develop', 'Standard service, member features to try',
  '{email,sms}', 'Silver tier price', '{cross_sell,up_sell}', 'silver', 'General value', '一般价值客户', 'builtin'),
 ('general_develop', 'develop', 'Standard service, member features to try',
  '{email,sms}', 'Silver tier price', '{repeat_sale,cross_sell}', 'silver', 'General develop', '一般发展客户', 'builtin'),
 ('general_keep', 'win_back', 'Standard service',
  '{email,sms}', 'Basic price; a reminder coupon', '{purchase_reminder}', 'basic', 'General keep', '一般保持客户', 'builtin'),
 ('general_win_back', 'reduce', 'Self-service only',
  '{email}', 'Basic price', '{}', 'basic', 'General win-back', '一般挽留客户', 'builtin'),
 ('Champions', 'retain', 'VIP service, early access to new products',
  '{email,sms}', 'VIP tier price', '{up_sell,referral}', 'vip', 'Champions', '冠军客户', 'builtin'),
 ('Loyal Customers', 'retain', 'Gold service, loyalty rewards',
  '{email,sms}', 'Gold tier price', '{up_sell,cross_sell}', 'gold', 'Loyal Customers', '忠诚客户', 'builtin'),
 ('Potential Loyalist', 'develop', 'Membership offer, personal recommendations',
  '{email,sms}', 'Silver tier price', '{cross_sell,repeat_sale}', 'silver', 'Potential Loyalist', '潜在忠诚客户', 'builtin'),
 ('New Customers', 'develop', 'Onboarding: a welcome and help with the first steps',
  '{email}', 'Basic price; a second-order incentive', '{repeat_sale,cross_sell}', 'basic', 'New Customers', '新客户', 'builtin'),
 ('Promising', 'develop', 'Standard service, product education',
  '{email,sms}', 'Basic price', '{cross_sell}', 'basic', 'Promising', '有潜力客户', 'builtin'),
 ('Need Attention', 'develop', 'Limited-time offers, recommendations from past purchases',
  '{email,sms}', 'Silver tier price', '{purchase_reminder,cross_sell}', 'silver', 'Need Attention', '需要关注客户', 'builtin'),
 ('About To Sleep', 'win_back', 'Reconnect: popular products, useful content',
  '{email}', 'Basic price; a reminder coupon', '{purchase_reminder}', 'basic', 'About To Sleep', '即将沉睡客户', 'builtin'),
 ('At Risk', 'win_back', 'Personal messages, renewals',
  '{email,phone}', 'Gold tier price and a win-back offer', '{purchase_reminder}', 'gold', 'At Risk', '有流失风险客户', 'builtin'),
 ('Can''t Lose Them', 'win_back', 'Personal contact: talk to them, new products',
  '{phone,account_manager_visit}', 'Gold tier price and a win-back offer', '{purchase_reminder,up_sell}', 'gold', 'Can''t Lose Them', '不能失去的客户', 'builtin'),
 ('Hibernating', 'reduce', 'Self-service only',
  '{email}', 'Basic price', '{cross_sell}', 'basic', 'Hibernating', '休眠客户', 'builtin'),
 ('Lost', 'reduce', 'Self-service only',
  '{email}', 'Basic price', '{}', 'basic', 'Lost', '流失客户', 'builtin');

INSERT INTO @extschema@.rfm_tier_settings (tier_by, origin) VALUES ('segment', 'builtin');
INSERT INTO @extschema@.rfm_loyalty_settings
    (signup_points, order_points, order_points_step, order_points_max, online_service_points, popular_repeat_points, origin)
    VALUES (100, 10, 5, 50, 5, 2, 'builtin');

-- Validation: clear errors before the constraints' own.

CREATE FUNCTION @extschema@.rfm_rule_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
BEGIN
    IF TG_TABLE_NAME = 'rfm_tier' THEN
        IF NEW.discount IS NULL OR NOT (NEW.discount >= 0 AND NEW.discount < 1) THEN
            RAISE EXCEPTION 'tier "%": discount % is outside [0, 1)', NEW.code, NEW.discount
                USING ERRCODE = 'check_violation',
                      DETAIL = 'A discount is the share taken off the price: 0.10 is 10% off (9折); 1 or more would make the price zero or negative.',
                      HINT = 'Use a value from 0 (no discount) up to, not including, 1.';
        END IF;
    ELSIF TG_TABLE_NAME = 'rfm_channel' THEN
        IF NEW.contact_intensity IS DISTINCT FROM 'low' AND NEW.contact_intensity IS DISTINCT FROM 'medium'
           AND NEW.contact_intensity IS DISTINCT FROM 'high'
           OR NEW.cost_level IS DISTINCT FROM 'low' AND NEW.cost_level IS DISTINCT FROM 'medium'
           AND NEW.cost_level IS DISTINCT FROM 'high' THEN
            RAISE EXCEPTION 'channel "%": contact intensity and cost level must be low, medium or high', NEW.code
                USING ERRCODE = 'check_violation',
                      DETAIL = format('The row has contact_intensity %L and cost_level %L.', NEW.contact_intensity, NEW.cost_level),
                      HINT = 'Use ''low'', ''medium'' or ''high''.';
        END IF;
    ELSIF TG_TABLE_NAME = 'rfm_tier_settings' THEN
        IF NEW.tier_by IS DISTINCT FROM 'segment' AND NEW.tier_by IS DISTINCT FROM 'score'
           AND NEW.tier_by IS DISTINCT FROM 'spend' THEN
            RAISE EXCEPTION 'unknown tier_by "%"', NEW.tier_by
                USING ERRCODE = 'check_violation',
                      DETAIL = 'A customer reaches a tier by the segment''s rule, by score (r + f + m) or by spend.',
                      HINT = 'Use ''segment'', ''score'' or ''spend''.';
        END IF;
    ELSIF TG_TABLE_NAME = 'rfm_segment_action' THEN
        IF NOT EXISTS (SELECT FROM @extschema@.rfm_strategy WHERE code = NEW.strategy) THEN
            RAISE EXCEPTION 'segment "%": unknown strategy "%"', NEW.segment, NEW.strategy
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('The strategies are: %s.', (SELECT string_agg(code, ', ' ORDER BY code) FROM @extschema@.rfm_strategy)),
                      HINT = 'Use one of them, or add the strategy to rfm_strategy first.';
        END IF;
        IF NOT EXISTS (SELECT FROM @extschema@.rfm_tier WHERE code = NEW.tier) THEN
            RAISE EXCEPTION 'segment "%": unknown tier "%"', NEW.segment, NEW.tier
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('The tiers are: %s.', (SELECT string_agg(code, ', ' ORDER BY rank) FROM @extschema@.rfm_tier)),
                      HINT = 'Use one of them, or add the tier to rfm_tier first.';
        END IF;
        IF NEW.channels IS NULL OR cardinality(NEW.channels) = 0 OR array_position(NEW.channels, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'segment "%": channels must name at least one channel and no NULL', NEW.segment
                USING ERRCODE = 'check_violation',
                      HINT = 'For example ARRAY[''email''].';
        END IF;
        SELECT string_agg(c, ', ') INTO bad FROM unnest(NEW.channels) c
        WHERE NOT EXISTS (SELECT FROM @extschema@.rfm_channel WHERE code = c);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'segment "%": unknown channel %', NEW.segment, bad
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('The channels are: %s.', (SELECT string_agg(code, ', ' ORDER BY code) FROM @extschema@.rfm_channel)),
                      HINT = 'Use those codes, or add the channel to rfm_channel first.';
        END IF;
        IF NEW.techniques IS NULL OR array_position(NEW.techniques, NULL) IS NOT NULL THEN
            RAISE EXCEPTION 'segment "%": techniques must not be or contain NULL', NEW.segment
                USING ERRCODE = 'check_violation',
                      HINT = 'Use ''{}'' for no technique.';
        END IF;
        SELECT string_agg(t, ', ') INTO bad FROM unnest(NEW.techniques) t
        WHERE NOT EXISTS (SELECT FROM @extschema@.rfm_sales_technique WHERE code = t);
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION 'segment "%": unknown sales technique %', NEW.segment, bad
                USING ERRCODE = 'foreign_key_violation',
                      DETAIL = format('The techniques are: %s.', (SELECT string_agg(code, ', ' ORDER BY code) FROM @extschema@.rfm_sales_technique)),
                      HINT = 'Use those codes, or add the technique to rfm_sales_technique first.';
        END IF;
        IF (SELECT count(DISTINCT c) FROM unnest(NEW.channels) c) <> cardinality(NEW.channels)
           OR (SELECT count(DISTINCT t) FROM unnest(NEW.techniques) t) <> cardinality(NEW.techniques) THEN
            RAISE EXCEPTION 'segment "%": a channel or technique is listed twice', NEW.segment
                USING ERRCODE = 'unique_violation',
                      HINT = 'List each code once.';
        END IF;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rule_check() IS
    'Trigger: rejects a bad rule row (discount outside [0, 1), unknown codes, bad levels) with a clear error';

-- Tiers: a higher rank needs a higher spend and a higher score.  Checked at
-- the end of each statement, so that tiers can be reshuffled in one UPDATE.
CREATE FUNCTION @extschema@.rfm_tier_order_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    lo record;
    hi record;
BEGIN
    SELECT a.code AS lo_code, a.rank AS lo_rank, a.min_spend AS lo_spend, a.min_score AS lo_score,
           b.code AS hi_code, b.rank AS hi_rank, b.min_spend AS hi_spend, b.min_score AS hi_score
    INTO lo
    FROM @extschema@.rfm_tier a JOIN @extschema@.rfm_tier b ON a.rank < b.rank
    WHERE a.min_spend >= b.min_spend OR a.min_score >= b.min_score
    ORDER BY a.rank, b.rank LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tiers "%" and "%" overlap', lo.lo_code, lo.hi_code
            USING ERRCODE = 'check_violation',
                  DETAIL = format('Tier %s (rank %s) starts at spend %s and score %s; tier %s (rank %s) at spend %s and score %s. A higher rank must start at a higher spend and a higher score.',
                                  lo.lo_code, lo.lo_rank, lo.lo_spend, lo.lo_score, lo.hi_code, lo.hi_rank, lo.hi_spend, lo.hi_score),
                  HINT = 'Each tier covers from its min_spend (min_score) up to the next tier''s: order the bounds by rank.';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_tier_order_check() IS
    'Trigger (end of statement): tier bounds must increase with rank, so that spend and score ranges neither overlap nor leave a gap';

-- Builtin rows, changed rows and tombstones (see the top of this section).

CREATE FUNCTION @extschema@.rfm_rule_before_insert() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keycol text := TG_ARGV[0];
    rel regclass := TG_RELID::regclass;
    newrow jsonb := to_jsonb(NEW);
    old_origin text;
    cols text;
BEGIN
    EXECUTE format('SELECT origin FROM %s WHERE %I::text = $1', rel, keycol)
        INTO old_origin USING newrow ->> keycol;
    IF old_origin = 'builtin' THEN
        -- replace the builtin row in place (its key may be referenced)
        SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
        FROM pg_attribute WHERE attrelid = TG_RELID AND attnum > 0 AND NOT attisdropped;
        EXECUTE format('UPDATE %s SET (%s) = (SELECT %s FROM jsonb_populate_record(NULL::%s, $1)) WHERE %I::text = $2',
                       rel, cols, cols, rel, keycol)
            USING newrow, newrow ->> keycol;
        RETURN NULL;
    ELSIF old_origin IS NOT NULL THEN
        RAISE EXCEPTION 'duplicate rule: % already has a row with % = %', TG_TABLE_NAME, keycol, quote_literal(newrow ->> keycol)
            USING ERRCODE = 'unique_violation',
                  DETAIL = 'Each key has one rule.',
                  HINT = format('Change the existing row with UPDATE %s SET ... WHERE %I = %L.', TG_TABLE_NAME, keycol, newrow ->> keycol);
    END IF;
    IF NEW.origin IS DISTINCT FROM 'changed' THEN
        NEW.origin := 'user';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rule_before_insert() IS
    'Trigger: a new row with a builtin row''s key replaces it in place (as a changed row); another duplicate key is an error';

CREATE FUNCTION @extschema@.rfm_rule_before_update() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keycol text := TG_ARGV[0];
    old_key text := to_jsonb(OLD) ->> keycol;
    used text;
BEGIN
    IF old_key IS DISTINCT FROM to_jsonb(NEW) ->> keycol THEN
        IF TG_TABLE_NAME IN ('rfm_channel', 'rfm_sales_technique') THEN
            SELECT string_agg(quote_literal(segment), ', ' ORDER BY segment) INTO used
            FROM @extschema@.rfm_segment_action
            WHERE old_key = ANY (CASE TG_TABLE_NAME WHEN 'rfm_channel' THEN channels ELSE techniques END);
            IF used IS NOT NULL THEN
                RAISE EXCEPTION '% "%" is used by the rules of segments %', TG_TABLE_NAME, old_key, used
                    USING ERRCODE = 'foreign_key_violation',
                          HINT = 'Remove it from those rules first.';
            END IF;
        END IF;
        IF OLD.origin <> 'user' THEN
            INSERT INTO @extschema@.rfm_builtin_deleted VALUES (TG_TABLE_NAME, old_key) ON CONFLICT DO NOTHING;
        END IF;
        NEW.origin := 'user';
    ELSIF OLD.origin = 'builtin' AND to_jsonb(NEW) - 'origin' <> to_jsonb(OLD) - 'origin' THEN
        NEW.origin := 'changed';
    ELSE
        NEW.origin := OLD.origin;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rule_before_update() IS
    'Trigger: an updated builtin row becomes a changed row (kept by pg_dump); a changed key leaves a tombstone for the old one';

CREATE FUNCTION @extschema@.rfm_rule_before_delete() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keycol text := TG_ARGV[0];
    used text;
BEGIN
    IF TG_TABLE_NAME IN ('rfm_tier_settings', 'rfm_loyalty_settings') THEN
        RAISE EXCEPTION '% must keep its one row', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation',
                  DETAIL = 'The functions read their settings from it.',
                  HINT = format('Change it with UPDATE %s SET ...', TG_TABLE_NAME);
    END IF;
    IF TG_TABLE_NAME IN ('rfm_channel', 'rfm_sales_technique', 'rfm_strategy', 'rfm_tier') THEN
        SELECT string_agg(quote_literal(segment), ', ' ORDER BY segment) INTO used
        FROM @extschema@.rfm_segment_action
        WHERE CASE TG_TABLE_NAME WHEN 'rfm_channel' THEN OLD.code = ANY (channels)
                                 WHEN 'rfm_sales_technique' THEN OLD.code = ANY (techniques)
                                 WHEN 'rfm_strategy' THEN strategy = OLD.code
                                 ELSE tier = OLD.code END;
        IF used IS NOT NULL THEN
            RAISE EXCEPTION '% "%" is used by the rules of segments %', TG_TABLE_NAME, OLD.code, used
                USING ERRCODE = 'foreign_key_violation',
                      HINT = 'Remove it from those rules first.';
        END IF;
    END IF;
    IF OLD.origin <> 'user' THEN
        INSERT INTO @extschema@.rfm_builtin_deleted VALUES (TG_TABLE_NAME, to_jsonb(OLD) ->> keycol) ON CONFLICT DO NOTHING;
    END IF;
    RETURN OLD;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rule_before_delete() IS
    'Trigger: refuses to delete a strategy, channel, technique or tier a rule uses, or a settings row; deleting a builtin or changed row leaves a tombstone';

CREATE FUNCTION @extschema@.rfm_rule_no_truncate() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    RAISE EXCEPTION 'cannot truncate %', TG_TABLE_NAME
        USING ERRCODE = 'feature_not_supported',
              DETAIL = 'Truncation would skip the row triggers that let pg_dump keep deleted defaults deleted.',
              HINT = format('Use DELETE FROM %s.', TG_TABLE_NAME);
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rule_no_truncate() IS
    'Trigger: refuses TRUNCATE of a rule table (DELETE keeps track of deleted defaults)';

-- On restore (an INSERT not made by a trigger): a tombstone deletes the
-- re-installed builtin row, and first the builtin rules that use it (the user had changed or deleted them: their
-- rows or tombstones are in the same dump).
CREATE FUNCTION @extschema@.rfm_builtin_deleted_apply() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    -- a tombstone written by a rule table's delete trigger: that row is
    -- being deleted already
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;
    CASE NEW.table_name
    WHEN 'rfm_strategy' THEN
        DELETE FROM @extschema@.rfm_segment_action WHERE origin = 'builtin' AND strategy = NEW.key;
        DELETE FROM @extschema@.rfm_strategy WHERE origin = 'builtin' AND code = NEW.key;
    WHEN 'rfm_channel' THEN
        DELETE FROM @extschema@.rfm_segment_action WHERE origin = 'builtin' AND NEW.key = ANY (channels);
        DELETE FROM @extschema@.rfm_channel WHERE origin = 'builtin' AND code = NEW.key;
    WHEN 'rfm_sales_technique' THEN
        DELETE FROM @extschema@.rfm_segment_action WHERE origin = 'builtin' AND NEW.key = ANY (techniques);
        DELETE FROM @extschema@.rfm_sales_technique WHERE origin = 'builtin' AND code = NEW.key;
    WHEN 'rfm_tier' THEN
        DELETE FROM @extschema@.rfm_segment_action WHERE origin = 'builtin' AND tier = NEW.key;
        DELETE FROM @extschema@.rfm_tier WHERE origin = 'builtin' AND code = NEW.key;
    WHEN 'rfm_segment_action' THEN
        DELETE FROM @extschema@.rfm_segment_action WHERE origin = 'builtin' AND segment = NEW.key;
    ELSE
        RAISE EXCEPTION 'unknown rule table "%"', NEW.table_name
            USING ERRCODE = 'check_violation',
                  HINT = 'rfm_builtin_deleted is maintained by the rule tables'' triggers.';
    END CASE;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_builtin_deleted_apply() IS
    'Trigger: applies a tombstone, deleting the builtin row (and builtin rules using it) that CREATE EXTENSION installed again on restore';

-- A tombstone that is there already is skipped: applying one tombstone can
-- write others (for the builtin rules it deletes) that come later in the dump.
CREATE FUNCTION @extschema@.rfm_builtin_deleted_dedupe() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF EXISTS (SELECT FROM @extschema@.rfm_builtin_deleted WHERE table_name = NEW.table_name AND key = NEW.key) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_builtin_deleted_dedupe() IS
    'Trigger: skips a tombstone that is already recorded';

CREATE TRIGGER rfm_dedupe BEFORE INSERT ON @extschema@.rfm_builtin_deleted
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_builtin_deleted_dedupe();
CREATE TRIGGER rfm_apply AFTER INSERT ON @extschema@.rfm_builtin_deleted
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_builtin_deleted_apply();

CREATE TRIGGER rfm_a_check BEFORE INSERT OR UPDATE ON @extschema@.rfm_channel
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_check();
CREATE TRIGGER rfm_a_check BEFORE INSERT OR UPDATE ON @extschema@.rfm_tier
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_check();
CREATE TRIGGER rfm_a_check BEFORE INSERT OR UPDATE ON @extschema@.rfm_segment_action
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_check();
CREATE TRIGGER rfm_a_check BEFORE INSERT OR UPDATE ON @extschema@.rfm_tier_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_check();
CREATE TRIGGER rfm_order AFTER INSERT OR UPDATE OR DELETE ON @extschema@.rfm_tier
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_tier_order_check();

CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_strategy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('code');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_channel
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('code');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_sales_technique
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('code');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_tier
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('code');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_segment_action
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('segment');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_tier_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('id');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_loyalty_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('id');

CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_strategy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('code');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_channel
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('code');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_sales_technique
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('code');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_tier
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('code');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_segment_action
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('segment');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_tier_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('id');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_loyalty_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('id');

CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_strategy
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('code');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_channel
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('code');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_sales_technique
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('code');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_tier
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('code');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_segment_action
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('segment');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_tier_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('id');
CREATE TRIGGER rfm_b_delete BEFORE DELETE ON @extschema@.rfm_loyalty_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_delete('id');

CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_strategy
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_channel
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_sales_technique
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_tier
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_segment_action
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_tier_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_loyalty_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_builtin_deleted
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_builtin_deleted', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_strategy', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_channel', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_sales_technique', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_tier', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_segment_action', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_tier_settings', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_loyalty_settings', 'WHERE origin <> ''builtin''');

-- Per-row functions: C, reading the tables once per query and call site.

CREATE TYPE @extschema@.rfm_action_plan AS (
    segment text,
    strategy text,
    service_lever text,
    channels text[],
    contact_intensity text,
    cost_level text,
    price_lever text,
    techniques text[],
    tier text,
    discount numeric
);
COMMENT ON TYPE @extschema@.rfm_action_plan IS
    'What to do about one customer: the segment''s strategy, service lever, channels (with the highest contact intensity and cost level among them), price lever, sales techniques, and the member tier with its discount';

CREATE FUNCTION @extschema@.rfm_strategy(segment text) RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_strategy_of' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_strategy(text) IS
    'The strategy code (retain, develop, win_back, reduce, ...) of a segment''s rule in rfm_segment_action; an error if the segment has no rule';

CREATE FUNCTION @extschema@.rfm_channels(segment text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'rfm_channels_of' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_channels(text) IS
    'The channel codes of a segment''s rule; an error if the segment has no rule';

CREATE FUNCTION @extschema@.rfm_tier(segment text, score integer DEFAULT NULL, spend numeric DEFAULT NULL) RETURNS text
    AS 'MODULE_PATHNAME', 'rfm_tier_of' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_tier(text, integer, numeric) IS
    'The member tier of a customer, as rfm_tier_settings.tier_by says: the segment rule''s tier, or the highest tier whose min_score (min_spend) the score r + f + m (the spend) reaches';

CREATE FUNCTION @extschema@.rfm_tier_discount(tier text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'rfm_tier_discount' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_tier_discount(text) IS
    'The discount of a member tier, a share in [0, 1): 0.40 is 40% off';

CREATE FUNCTION @extschema@.rfm_discounted_price(price numeric, tier text) RETURNS numeric
    AS 'MODULE_PATHNAME', 'rfm_discounted_price' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_discounted_price(numeric, text) IS
    'price * (1 - the tier''s discount), exact (round it as your currency needs)';

CREATE FUNCTION @extschema@.rfm_loyalty_points(tier text, orders integer, online_services integer DEFAULT 0,
                                              popular_repeats integer DEFAULT 0, signed_up boolean DEFAULT true)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'rfm_loyalty_points' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_loyalty_points(text, integer, integer, integer, boolean) IS
    'Loyalty points by rfm_loyalty_settings: floor(point_rate of the tier * (sign-up bonus + growing points for the orders - popular_repeats regular orders + flat points for popular repeats and online services))';

CREATE FUNCTION @extschema@.rfm_action(segment text, score integer DEFAULT NULL, spend numeric DEFAULT NULL)
    RETURNS @extschema@.rfm_action_plan
    AS 'MODULE_PATHNAME', 'rfm_action' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_action(text, integer, numeric) IS
    'The whole plan for a customer of a segment (rfm_action_plan); score and spend are needed when tiers go by score or spend; NULL for a NULL segment, an error for a segment with no rule';
