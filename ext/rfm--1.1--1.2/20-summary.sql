
-- ==== Summary (src/summary*.c) ====

COMMENT ON COLUMN @extschema@.rfm_summary.purchase_days IS
    'Distinct calendar days with an order (for timestamptz: in the time_zone argument, or the session time zone without one)';

-- Calendar days in an explicit time zone, whatever the session's TimeZone.
CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, numeric, timestamptz, text)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_tz_numeric_zone' LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, float8, timestamptz, text)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_summary_trans_tz_float8_zone' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, numeric, timestamptz, text) IS
    'Transition function of rfm_summary and rfm_lifecycle with a time zone';
COMMENT ON FUNCTION @extschema@.rfm_summary_trans(@extschema@.rfm_state, timestamptz, float8, timestamptz, text) IS
    'Transition function of rfm_summary and rfm_lifecycle with a time zone (float8 amounts)';

CREATE AGGREGATE @extschema@.rfm_summary(order_time timestamptz, amount numeric, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_summary(order_time timestamptz, amount float8, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_summary_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, numeric, timestamptz, text) IS
    'RFM summary of one customer''s orders at as_of, calendar days in time_zone (a name of pg_timezone_names), the same whatever the session''s TimeZone';
COMMENT ON AGGREGATE @extschema@.rfm_summary(timestamptz, float8, timestamptz, text) IS
    'RFM summary of one customer''s orders at as_of (float8 amounts), calendar days in time_zone';

CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time timestamptz, amount numeric, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.rfm_lifecycle(order_time timestamptz, amount float8, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_lifecycle_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(timestamptz, numeric, timestamptz, text) IS
    'Lifecycle stage of one customer at as_of, calendar days in time_zone (a name of pg_timezone_names), the same whatever the session''s TimeZone';
COMMENT ON AGGREGATE @extschema@.rfm_lifecycle(timestamptz, float8, timestamptz, text) IS
    'Lifecycle stage of one customer at as_of (float8 amounts), calendar days in time_zone';

-- Orders -> one summary per customer, grouped in C (src/summarize.c).
CREATE FUNCTION @extschema@.rfm_summarize(
        source regclass, customer_column name, time_column name, amount_column name,
        as_of timestamptz, time_zone text, customer_type anyelement)
    RETURNS TABLE (customer anyelement, summary @extschema@.rfm_summary, lifecycle text,
                   repeat_value float8)
    AS 'MODULE_PATHNAME', 'rfm_summarize' LANGUAGE C STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_summarize(regclass, name, name, name, timestamptz, text, anyelement) IS
    'One row per customer of source (read as the caller: privileges and row-level security apply) with what rfm_summary, rfm_lifecycle and rfm_repeat_value ... GROUP BY customer give, from one state; customer_type is NULL of the customer column''s type';

-- The Gamma-Gamma spend model's input: the mean net value of the repeat
-- purchase days (the first purchase day excluded).  An aggregate of its own
-- over the same state (PostgreSQL shares one transition state between
-- aggregates with the same arguments), not an attribute of rfm_summary: a new
-- nullable attribute would turn `summary IS NOT NULL` false for customers
-- without a repeat purchase.
CREATE FUNCTION @extschema@.rfm_repeat_value_final(@extschema@.rfm_state)
    RETURNS float8
    AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_repeat_value_final(@extschema@.rfm_state) IS
    'Final function of rfm_repeat_value';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time timestamptz, amount numeric, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(timestamptz, numeric, timestamptz) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit)';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time timestamptz, amount float8, as_of timestamptz) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(timestamptz, float8, timestamptz) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit)';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time date, amount numeric, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(date, numeric, date) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit)';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time date, amount float8, as_of date) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(date, float8, date) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit)';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time timestamptz, amount numeric, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(timestamptz, numeric, timestamptz, text) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit) ; calendar days in time_zone';
CREATE AGGREGATE @extschema@.rfm_repeat_value(order_time timestamptz, amount float8, as_of timestamptz, time_zone text) (
    SFUNC = @extschema@.rfm_summary_trans,
    STYPE = @extschema@.rfm_state,
    FINALFUNC = @extschema@.rfm_repeat_value_final,
    COMBINEFUNC = @extschema@.rfm_summary_combine,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE @extschema@.rfm_repeat_value(timestamptz, float8, timestamptz, text) IS
    'Gamma-Gamma input of one customer at as_of: (net total - orders of the first purchase day) / repeat purchase days; NULL without a repeat purchase day or when that is zero or less (left out of the spend fit) ; calendar days in time_zone';
