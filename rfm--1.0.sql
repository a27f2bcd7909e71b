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
    'English (''en'') or Chinese (''zh'') label of a segment name or value type code';
