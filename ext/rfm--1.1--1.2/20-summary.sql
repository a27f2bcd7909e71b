
-- ==== Summary (src/summary*.c) ====

-- The Gamma-Gamma spend model's input: the mean net value of the repeat
-- purchase days (the first purchase day excluded).
ALTER TYPE @extschema@.rfm_summary ADD ATTRIBUTE repeat_value float8;
COMMENT ON COLUMN @extschema@.rfm_summary.repeat_value IS
    'Gamma-Gamma input (mean value of the repeat purchases): (monetary - orders of the first purchase day) / repeat_frequency; 0 when repeat_frequency = 0; zero or less when returns outweigh the repeat purchases (fit the spend model on repeat_value > 0 only); NULL without an order';
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
    RETURNS TABLE (customer anyelement, summary @extschema@.rfm_summary, lifecycle text)
    AS 'MODULE_PATHNAME', 'rfm_summarize' LANGUAGE C STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_summarize(regclass, name, name, name, timestamptz, text, anyelement) IS
    'One row per customer of source (read as the caller: privileges and row-level security apply) with what rfm_summary and rfm_lifecycle ... GROUP BY customer give, from one state; customer_type is NULL of the customer column''s type';
