-- rfm 1.0 -> 1.1: models as materialized views.
--
-- rfm_create_model builds, for an orders table or view, five materialized
-- views (summary, fit, customers, segments, pareto) and a history table in
-- a schema of the user's; CALL rfm_refresh refreshes them in dependency
-- order, CONCURRENTLY, under an advisory lock, and logs each refresh;
-- rfm_schedule hands the refresh to pg_cron; the history gives transition
-- matrices between snapshots.  Everything runs as the invoker: the views
-- belong to whoever creates the model, and their queries run with that
-- role's privileges and row-level security.

\echo Use "ALTER EXTENSION rfm UPDATE TO '1.1'" to load this file. \quit

-- ==== Rule tables readable by every role ====
-- 1.0 left the rule tables readable by their owner only, so rfm_strategy(),
-- rfm_tier(), rfm_action() and rfm_label() failed for other roles (and a
-- model owned by one could not be built).  The rules are not secret; only
-- their owner may change them.
GRANT SELECT ON @extschema@.rfm_strategy, @extschema@.rfm_channel, @extschema@.rfm_sales_technique,
    @extschema@.rfm_tier, @extschema@.rfm_segment_action, @extschema@.rfm_tier_settings,
    @extschema@.rfm_loyalty_settings, @extschema@.rfm_builtin_deleted TO PUBLIC;

-- ==== Catalog ====

CREATE TABLE @extschema@.rfm_model (
    name text PRIMARY KEY
        CONSTRAINT name_fits CHECK (name <> '' AND octet_length(name) <= 53),
    schema_name name NOT NULL,
    source text NOT NULL,
    customer_column name NOT NULL,
    time_column name NOT NULL,
    amount_column name NOT NULL,
    time_type text NOT NULL
        CONSTRAINT time_type_known CHECK (time_type IN ('date', 'timestamptz', 'timestamp')),
    amount_type text NOT NULL
        CONSTRAINT amount_type_known CHECK (amount_type IN ('numeric', 'float8')),
    as_of timestamptz
        CONSTRAINT as_of_finite CHECK (isfinite(as_of)),
    bins integer NOT NULL
        CONSTRAINT bins_in_2_12 CHECK (bins BETWEEN 2 AND 12),
    scoring text NOT NULL
        CONSTRAINT scoring_known CHECK (scoring IN ('quantile', 'fixed')),
    r_breaks float8[],
    f_breaks float8[],
    m_breaks float8[],
    time_unit text NOT NULL
        CONSTRAINT time_unit_known CHECK (time_unit IN ('hour', 'day', 'week', 'month', 'quarter', 'year')),
    clv boolean NOT NULL,
    clv_horizon float8 NOT NULL
        CONSTRAINT clv_horizon_positive CHECK (clv_horizon > 0 AND clv_horizon < 'infinity'),
    margin float8 NOT NULL
        CONSTRAINT margin_finite CHECK (margin > '-infinity' AND margin < 'infinity'),
    discount_rate float8 NOT NULL
        CONSTRAINT discount_rate_not_negative CHECK (discount_rate >= 0 AND discount_rate < 'infinity'),
    l2 float8 NOT NULL
        CONSTRAINT l2_not_negative CHECK (l2 >= 0 AND l2 < 'infinity'),
    keep_history boolean NOT NULL,
    time_zone text NOT NULL,
    owner name NOT NULL DEFAULT current_user,
    created_schema boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    cron_job text,
    refresh_as_of timestamptz,
    CONSTRAINT breaks_fit_bins CHECK (cardinality(r_breaks) = bins - 1 AND cardinality(f_breaks) = bins - 1
                                      AND cardinality(m_breaks) = bins - 1),
    CONSTRAINT breaks_only_when_fixed CHECK (scoring = 'fixed' OR (r_breaks IS NULL AND f_breaks IS NULL AND m_breaks IS NULL))
);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_model', '');
COMMENT ON TABLE @extschema@.rfm_model IS
    'The models of rfm_create_model, one row each: where their views are, what they read and how they score (maintained by the rfm_*_model functions)';
COMMENT ON COLUMN @extschema@.rfm_model.name IS 'Model name: the prefix of its views (<name>_customers, ...)';
COMMENT ON COLUMN @extschema@.rfm_model.schema_name IS 'Schema of the model''s views and history table';
COMMENT ON COLUMN @extschema@.rfm_model.source IS 'The orders table or view, schema-qualified and quoted as at creation';
COMMENT ON COLUMN @extschema@.rfm_model.customer_column IS 'Column of the source that identifies the customer';
COMMENT ON COLUMN @extschema@.rfm_model.time_column IS 'Column of the source with the order time (date, timestamptz or timestamp)';
COMMENT ON COLUMN @extschema@.rfm_model.amount_column IS 'Column of the source with the order amount (negative: a return)';
COMMENT ON COLUMN @extschema@.rfm_model.time_type IS 'Type family of the time column: date, timestamptz or timestamp (read in time_zone)';
COMMENT ON COLUMN @extschema@.rfm_model.amount_type IS 'numeric (exact sums) or float8, as the amount column is read';
COMMENT ON COLUMN @extschema@.rfm_model.as_of IS 'Fixed as-of time of every refresh; NULL: the time of each refresh';
COMMENT ON COLUMN @extschema@.rfm_model.bins IS 'Scores run 1..bins; segments need 5';
COMMENT ON COLUMN @extschema@.rfm_model.scoring IS 'quantile: scores from each refresh''s data; fixed: scores against the stored breaks, stable between refreshes';
COMMENT ON COLUMN @extschema@.rfm_model.r_breaks IS 'fixed scoring: bins - 1 ascending cut points of -recency (rfm_breaks(bins ORDER BY -recency)), so that smaller recency scores higher';
COMMENT ON COLUMN @extschema@.rfm_model.f_breaks IS 'fixed scoring: bins - 1 ascending cut points of frequency (orders)';
COMMENT ON COLUMN @extschema@.rfm_model.m_breaks IS 'fixed scoring: bins - 1 ascending cut points of monetary (net revenue)';
COMMENT ON COLUMN @extschema@.rfm_model.time_unit IS 'Unit of recency, tenure, the BTYD inputs and the CLV horizon';
COMMENT ON COLUMN @extschema@.rfm_model.clv IS 'Whether refreshes fit BG/NBD and Gamma-Gamma and fill p_alive, expected_purchases and clv';
COMMENT ON COLUMN @extschema@.rfm_model.clv_horizon IS 'CLV horizon in time units';
COMMENT ON COLUMN @extschema@.rfm_model.margin IS 'Margin applied to CLV';
COMMENT ON COLUMN @extschema@.rfm_model.discount_rate IS 'Discount rate of CLV per time unit';
COMMENT ON COLUMN @extschema@.rfm_model.l2 IS 'L2 penalty of the BG/NBD and Gamma-Gamma fits (see rfm_bgnbd_fit); 0: the plain maximum-likelihood fit, which fails when the data do not bound a parameter';
COMMENT ON COLUMN @extschema@.rfm_model.keep_history IS 'Whether each refresh keeps a snapshot in <name>_history';
COMMENT ON COLUMN @extschema@.rfm_model.time_zone IS 'Time zone of refreshes (calendar days, timestamp columns), the creator''s at creation';
COMMENT ON COLUMN @extschema@.rfm_model.owner IS 'Role that created the model; it and its members may change or drop it';
COMMENT ON COLUMN @extschema@.rfm_model.created_schema IS 'Whether rfm_create_model created the schema (rfm_drop_model then drops it when empty)';
COMMENT ON COLUMN @extschema@.rfm_model.created_at IS 'When the model was created';
COMMENT ON COLUMN @extschema@.rfm_model.cron_job IS 'pg_cron job name of rfm_schedule, NULL when not scheduled';
COMMENT ON COLUMN @extschema@.rfm_model.refresh_as_of IS 'As-of time of the data in the views: set by rfm_create_model and each rfm_refresh (its as_of, else as_of, else the time of the refresh); a plain REFRESH MATERIALIZED VIEW, like the one a restore from pg_dump runs, rebuilds the data as of this time';

CREATE TABLE @extschema@.rfm_refresh_log (
    id bigserial PRIMARY KEY,
    model text NOT NULL REFERENCES @extschema@.rfm_model (name) ON UPDATE CASCADE ON DELETE CASCADE,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    as_of timestamptz,
    customers bigint,
    outcome text NOT NULL DEFAULT 'running'
        CONSTRAINT outcome_known CHECK (outcome IN ('running', 'ok', 'failed', 'cancelled', 'skipped', 'abandoned')),
    sqlstate text,
    message text,
    refreshed_by name NOT NULL DEFAULT current_user,
    pid integer NOT NULL DEFAULT pg_backend_pid()
);
CREATE INDEX rfm_refresh_log_model_started ON @extschema@.rfm_refresh_log (model, started_at);
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_refresh_log', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_refresh_log_id_seq', '');
COMMENT ON TABLE @extschema@.rfm_refresh_log IS
    'One row per refresh of a model (rfm_create_model''s first build included): when, as of when, how many customers, and the outcome';
COMMENT ON SEQUENCE @extschema@.rfm_refresh_log_id_seq IS 'Numbers the rows of rfm_refresh_log';
COMMENT ON INDEX @extschema@.rfm_refresh_log_model_started IS 'A model''s refreshes in time order';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.id IS 'Refresh number';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.model IS 'The model refreshed';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.started_at IS 'When the refresh started';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.finished_at IS 'When it ended; NULL while running';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.as_of IS 'The as-of time of the refreshed views';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.customers IS 'Rows of <name>_customers after the refresh';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.outcome IS 'running, ok, failed (previous data kept), cancelled, skipped (another refresh of the model was running) or abandoned (its session ended while running)';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.sqlstate IS 'SQLSTATE of the error of a failed, cancelled or skipped refresh';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.message IS 'Error message of a failed, cancelled or skipped refresh';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.refreshed_by IS 'Role that ran the refresh';
COMMENT ON COLUMN @extschema@.rfm_refresh_log.pid IS 'Backend process that ran the refresh';

-- Everyone may read both tables and register models of their own: row-level
-- security keeps a role to the models of roles it is a member of (and
-- superusers, who bypass it, to all).
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.rfm_model TO PUBLIC;
GRANT SELECT, INSERT, UPDATE ON @extschema@.rfm_refresh_log TO PUBLIC;
GRANT USAGE ON SEQUENCE @extschema@.rfm_refresh_log_id_seq TO PUBLIC;
ALTER TABLE @extschema@.rfm_model ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.rfm_refresh_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY rfm_model_read ON @extschema@.rfm_model FOR SELECT USING (true);
CREATE POLICY rfm_model_insert ON @extschema@.rfm_model FOR INSERT
    WITH CHECK (owner = current_user);
CREATE POLICY rfm_model_update ON @extschema@.rfm_model FOR UPDATE
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                   WHERE r.rolname = owner AND pg_catalog.pg_has_role(r.oid, 'MEMBER')))
    WITH CHECK (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                        WHERE r.rolname = owner AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
CREATE POLICY rfm_model_delete ON @extschema@.rfm_model FOR DELETE
    USING (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                   WHERE r.rolname = owner AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));
CREATE POLICY rfm_refresh_log_read ON @extschema@.rfm_refresh_log FOR SELECT USING (true);
CREATE POLICY rfm_refresh_log_insert ON @extschema@.rfm_refresh_log FOR INSERT
    WITH CHECK (refreshed_by = current_user);
CREATE POLICY rfm_refresh_log_update ON @extschema@.rfm_refresh_log FOR UPDATE
    USING (refreshed_by = current_user OR outcome = 'running')
    WITH CHECK (refreshed_by = current_user OR outcome = 'abandoned');

-- The options a model's views were built with cannot change under them:
-- only as_of, the fixed cut points, keep_history and the owner may be
-- updated (and the bookkeeping columns the functions maintain).
CREATE FUNCTION @extschema@.rfm_model_check_update() RETURNS trigger
LANGUAGE plpgsql PARALLEL SAFE AS $$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY ARRAY['name', 'schema_name', 'source', 'customer_column', 'time_column', 'amount_column',
                               'time_type', 'amount_type', 'bins', 'scoring', 'time_unit', 'clv', 'clv_horizon',
                               'margin', 'discount_rate', 'l2', 'time_zone', 'created_schema', 'created_at'] LOOP
        IF to_jsonb(OLD) -> col IS DISTINCT FROM to_jsonb(NEW) -> col THEN
            RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                MESSAGE = format('column %s of model "%s" cannot be changed', col, OLD.name),
                DETAIL = 'The model''s views were built with it. as_of, r_breaks, f_breaks, m_breaks, keep_history and owner can be changed.',
                HINT = 'Create a model with the new options (rfm_create_model), and drop this one when it is no longer needed.';
        END IF;
    END LOOP;
    IF NEW.scoring = 'fixed' THEN
        -- rfm_score checks the cut points: ascending, no NaN
        PERFORM @extschema@.rfm_score(0, NEW.r_breaks), @extschema@.rfm_score(0, NEW.f_breaks),
                @extschema@.rfm_score(0, NEW.m_breaks);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_check_update() IS
    'Trigger of rfm_model: refuses changes to the options a model''s views were built with';
CREATE TRIGGER rfm_check_update BEFORE UPDATE ON @extschema@.rfm_model
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_model_check_update();

-- ==== The columns of a model's views ====

CREATE FUNCTION @extschema@.rfm_model_columns()
RETURNS TABLE (view_suffix text, column_name text, data_type text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
VALUES
 ('_summary', 'customer', 'the customer column''s type', 'The customer (the source''s customer column; NULL customers are left out)'),
 ('_summary', 'orders', 'bigint', 'Orders (rows with amount >= 0) on or before as_of'),
 ('_summary', 'returns', 'bigint', 'Returns (rows with amount < 0) on or before as_of'),
 ('_summary', 'revenue', 'numeric', 'Net revenue: orders plus returns'),
 ('_summary', 'avg_order_value', 'numeric', 'revenue / orders'),
 ('_summary', 'first_order', 'timestamp with time zone', 'Time of the first order'),
 ('_summary', 'last_order', 'timestamp with time zone', 'Time of the last order on or before as_of'),
 ('_summary', 'recency', 'double precision', 'Time units from the last order to as_of'),
 ('_summary', 'tenure', 'double precision', 'Time units from the first order to as_of'),
 ('_summary', 'purchase_days', 'integer', 'Distinct calendar days with an order'),
 ('_summary', 'repeat_frequency', 'integer', 'BTYD x: purchase_days - 1'),
 ('_summary', 'repeat_recency', 'double precision', 'BTYD t_x: time units from the first to the last purchase day'),
 ('_summary', 'age', 'double precision', 'BTYD T: time units from the first purchase day to the day of as_of'),
 ('_summary', 'lifecycle_rule_stage', 'text', 'Lifecycle stage by the rules of rfm_lifecycle_settings (rfm_lifecycle), before P(alive)'),
 ('_summary', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_fit', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_fit', 'customers', 'bigint', 'Customers the models were fitted on (with at least one order)'),
 ('_fit', 'time_unit', 'text', 'Time unit of the BG/NBD rates and of the CLV horizon'),
 ('_fit', 'bgnbd_r', 'double precision', 'BG/NBD r (purchase rates ~ Gamma(r, alpha))'),
 ('_fit', 'bgnbd_alpha', 'double precision', 'BG/NBD alpha'),
 ('_fit', 'bgnbd_a', 'double precision', 'BG/NBD a (dropout probabilities ~ Beta(a, b))'),
 ('_fit', 'bgnbd_b', 'double precision', 'BG/NBD b'),
 ('_fit', 'bgnbd_converged', 'boolean', 'Whether the BG/NBD fit converged'),
 ('_fit', 'gg_p', 'double precision', 'Gamma-Gamma p'),
 ('_fit', 'gg_q', 'double precision', 'Gamma-Gamma q'),
 ('_fit', 'gg_gamma', 'double precision', 'Gamma-Gamma gamma'),
 ('_fit', 'gg_converged', 'boolean', 'Whether the Gamma-Gamma fit converged'),
 ('_fit', 'bgnbd', 'rfm_bgnbd_model', 'The whole BG/NBD model, for rfm_p_alive, rfm_clv and friends; NULL when the model has clv off or fewer than 2 repeat buyers'),
 ('_fit', 'gamma_gamma', 'rfm_gamma_gamma_model', 'The whole Gamma-Gamma model, for rfm_expected_order_value; NULL when the model has clv off or fewer than 2 repeat buyers with a positive average order'),
 ('_customers', 'customer', 'the customer column''s type', 'The customer; only customers with an order on or before as_of'),
 ('_customers', 'recency', 'double precision', 'Time units from the last order to as_of'),
 ('_customers', 'frequency', 'bigint', 'Orders on or before as_of'),
 ('_customers', 'monetary', 'numeric', 'Net revenue: orders plus returns'),
 ('_customers', 'avg_order_value', 'numeric', 'monetary / frequency'),
 ('_customers', 'r_score', 'integer', 'Recency score 1..bins (higher: more recent)'),
 ('_customers', 'f_score', 'integer', 'Frequency score 1..bins'),
 ('_customers', 'm_score', 'integer', 'Monetary score 1..bins'),
 ('_customers', 'rfm_score', 'integer', 'r_score + f_score + m_score'),
 ('_customers', 'rfm_cell', 'text', 'The three scores as digits, e.g. 545 (bins <= 9), else separated by dots'),
 ('_customers', 'segment', 'text', 'rfm_segment of the scores (bins = 5; NULL otherwise)'),
 ('_customers', 'value_type', 'text', 'rfm_value_type against the means of all customers'),
 ('_customers', 'strategy', 'text', 'rfm_strategy of the segment'),
 ('_customers', 'tier', 'text', 'rfm_tier of the segment, rfm_score and monetary'),
 ('_customers', 'tier_discount', 'numeric', 'rfm_tier_discount of the tier'),
 ('_customers', 'lifecycle_stage', 'text', 'rfm_lifecycle_stage: the rule stage worsened by P(alive)'),
 ('_customers', 'p_alive', 'double precision', 'BG/NBD probability that the customer is alive at as_of'),
 ('_customers', 'expected_purchases', 'double precision', 'BG/NBD expected purchases over the CLV horizon'),
 ('_customers', 'expected_order_value', 'double precision', 'Gamma-Gamma expected order value'),
 ('_customers', 'clv', 'double precision', 'rfm_clv over the horizon, with the model''s margin and discount rate'),
 ('_customers', 'revenue_rank', 'bigint', 'Rank by monetary, largest first (ties by customer)'),
 ('_customers', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_segments', 'segment', 'text', 'Segment (NULL: scores of other than 5 bins)'),
 ('_segments', 'segment_label', 'text', 'English label of the segment'),
 ('_segments', 'segment_label_zh', 'text', 'Chinese label of the segment'),
 ('_segments', 'strategy', 'text', 'The segment''s strategy'),
 ('_segments', 'customers', 'bigint', 'Customers in the segment'),
 ('_segments', 'customer_share', 'numeric', 'Share of all customers, 0..1'),
 ('_segments', 'revenue', 'numeric', 'Net revenue of the segment'),
 ('_segments', 'revenue_share', 'numeric', 'Share of the net revenue of all customers'),
 ('_segments', 'avg_recency', 'double precision', 'Mean recency in time units'),
 ('_segments', 'avg_frequency', 'numeric', 'Mean number of orders'),
 ('_segments', 'avg_monetary', 'numeric', 'Mean net revenue'),
 ('_segments', 'avg_r_score', 'numeric', 'Mean recency score'),
 ('_segments', 'avg_f_score', 'numeric', 'Mean frequency score'),
 ('_segments', 'avg_m_score', 'numeric', 'Mean monetary score'),
 ('_segments', 'avg_p_alive', 'double precision', 'Mean P(alive)'),
 ('_segments', 'total_clv', 'double precision', 'Sum of CLV'),
 ('_segments', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_pareto', 'customer_percent', 'integer', 'The top customer_percent % of customers by revenue (1..100)'),
 ('_pareto', 'customers', 'bigint', 'How many customers that is: ceil(customer_percent * all / 100)'),
 ('_pareto', 'revenue', 'numeric', 'Their net revenue'),
 ('_pareto', 'revenue_share', 'numeric', 'Their share of the net revenue of all customers (the Pareto curve)'),
 ('_pareto', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_history', 'as_of', 'timestamp with time zone', 'As-of time of the snapshot (one per refresh)'),
 ('_history', 'customer', 'the customer column''s type', 'The customer'),
 ('_history', 'segment', 'text', 'Segment at as_of'),
 ('_history', 'value_type', 'text', 'Value type at as_of'),
 ('_history', 'lifecycle_stage', 'text', 'Lifecycle stage at as_of'),
 ('_history', 'r_score', 'integer', 'Recency score at as_of'),
 ('_history', 'f_score', 'integer', 'Frequency score at as_of'),
 ('_history', 'm_score', 'integer', 'Monetary score at as_of'),
 ('_history', 'recency', 'double precision', 'Recency at as_of, in time units'),
 ('_history', 'frequency', 'bigint', 'Orders up to as_of'),
 ('_history', 'monetary', 'numeric', 'Net revenue up to as_of'),
 ('_history', 'clv', 'double precision', 'CLV at as_of')
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_columns() IS
    'The views and columns every model has (<name><view_suffix>), their types and meaning: the stable interface for BI tools';

-- ==== Helpers ====

CREATE FUNCTION @extschema@.rfm_transaction_block() RETURNS boolean
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_transaction_block() IS
    'Whether the session is inside an explicit transaction block (rfm_refresh cannot run there)';

-- The model row, or a clear error.
CREATE FUNCTION @extschema@.rfm_model_row(model text) RETURNS @extschema@.rfm_model
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    m @extschema@.rfm_model;
BEGIN
    IF model IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'model name must not be NULL';
    END IF;
    SELECT * INTO m FROM @extschema@.rfm_model WHERE name = model;
    IF NOT FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('model "%s" does not exist', model),
            HINT = 'The table rfm_model lists the models; rfm_create_model() creates one.';
    END IF;
    RETURN m;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_row(text) IS
    'The rfm_model row of a model, or error 42704 when there is none';

-- Key of the advisory lock that one refresh of a model holds.
CREATE FUNCTION @extschema@.rfm_model_lock_key(model text) RETURNS bigint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (x'52464d00'::bigint << 32) | (pg_catalog.hashtext(model)::bigint & x'ffffffff'::bigint)
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_lock_key(text) IS
    'Advisory lock key (pg_locks: classid, objid) held by a refresh of the model: ''RFM'' in the high half, the hash of the name in the low half';

-- The processes holding a model's refresh lock in this database.
CREATE FUNCTION @extschema@.rfm_model_lock_holders(lock_key bigint) RETURNS SETOF integer
LANGUAGE sql STABLE STRICT PARALLEL SAFE AS $$
    SELECT l.pid FROM pg_catalog.pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
      AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
      AND l.classid::bigint = lock_key >> 32 AND l.objid::bigint = lock_key & x'ffffffff'::bigint
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_lock_holders(bigint) IS
    'Processes that hold the advisory lock of rfm_model_lock_key in this database (one refresh of the model, or none)';

-- What the views of a model read of rfm_model.  They read it through this
-- view, which belongs to the extension's owner, and not from the table
-- itself: the table has row-level security, and a restore from pg_dump
-- refreshes each materialized view as its owner with row_security = off, in
-- which reading a table with row-level security is an error ("query would
-- be affected by row-level security policy for table rfm_model"), even
-- though the read policy lets every row through.  So the views of a model
-- of an ordinary role stayed empty after a restore.
CREATE VIEW @extschema@.rfm_model_view_input AS
SELECT rm.name, COALESCE(rm.refresh_as_of, rm.as_of) AS as_of, rm.r_breaks, rm.f_breaks, rm.m_breaks
FROM @extschema@.rfm_model rm;
GRANT SELECT ON @extschema@.rfm_model_view_input TO PUBLIC;
COMMENT ON VIEW @extschema@.rfm_model_view_input IS
    'What the materialized views of a model read of rfm_model: its as-of time and fixed cut points (read here, not from the table, so that a restore from pg_dump, which runs with row_security = off, can refresh them)';

-- The SQL of the five materialized views of a model, in refresh order.
CREATE FUNCTION @extschema@.rfm_model_view_sql(m @extschema@.rfm_model)
RETURNS TABLE (view_suffix text, definition text, unique_column text)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    unit_days float8 := CASE m.time_unit WHEN 'hour' THEN 1.0 / 24 WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                         WHEN 'month' THEN 365.25 / 12 WHEN 'quarter' THEN 365.25 / 4
                                         ELSE 365.25 END;
    as_of_expr text := format('(SELECT COALESCE(vi.as_of, pg_catalog.now()) '
                              'FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %L)', m.name);
    time_expr text;
    as_of_arg text;
    amount_expr text;
    scores text;
    vt text;
    seg text;
    s text := format('%I.%I', m.schema_name, m.name || '_summary');
    f text := format('%I.%I', m.schema_name, m.name || '_fit');
    c text := format('%I.%I', m.schema_name, m.name || '_customers');
BEGIN
    CASE m.time_type
    WHEN 'date' THEN
        time_expr := format('src.%I', m.time_column);
        as_of_arg := format('((%s) AT TIME ZONE %L)::date', as_of_expr, m.time_zone);
    WHEN 'timestamptz' THEN
        time_expr := format('src.%I', m.time_column);
        as_of_arg := as_of_expr;
    ELSE
        time_expr := format('(src.%I AT TIME ZONE %L)', m.time_column, m.time_zone);
        as_of_arg := as_of_expr;
    END CASE;
    amount_expr := format('(src.%I)::%s', m.amount_column, m.amount_type);

    view_suffix := '_summary';
    unique_column := 'customer';
    definition := format($q$
SELECT q.customer,
       (q.s).frequency AS orders, (q.s).returns AS returns, (q.s).monetary AS revenue,
       (q.s).avg_order_value AS avg_order_value,
       (q.s).first_order AS first_order, (q.s).last_order AS last_order,
       (q.s).recency / %7$s AS recency, (q.s).tenure / %7$s AS tenure,
       (q.s).purchase_days AS purchase_days, (q.s).repeat_frequency AS repeat_frequency,
       (q.s).repeat_recency / %7$s AS repeat_recency, (q.s).age / %7$s AS age,
       q.stage AS lifecycle_rule_stage, (q.s).as_of AS as_of
FROM (SELECT src.%1$I AS customer,
             @extschema@.rfm_summary(%3$s, %4$s, %5$s) AS s,
             @extschema@.rfm_lifecycle(%3$s, %4$s, %5$s) AS stage
      FROM %2$s src
      WHERE src.%1$I IS NOT NULL
      GROUP BY src.%1$I) q
WHERE q.s IS NOT NULL$q$,
        m.customer_column, m.source, time_expr, amount_expr, as_of_arg, NULL, unit_days);
    RETURN NEXT;

    view_suffix := '_fit';
    unique_column := 'as_of';
    IF m.clv THEN
        definition := format($q$
SELECT f.as_of, f.customers, %2$L::text AS time_unit,
       (f.bg).r AS bgnbd_r, (f.bg).alpha AS bgnbd_alpha, (f.bg).a AS bgnbd_a, (f.bg).b AS bgnbd_b,
       (f.bg).converged AS bgnbd_converged,
       (f.gg).p AS gg_p, (f.gg).q AS gg_q, (f.gg).gamma AS gg_gamma, (f.gg).converged AS gg_converged,
       f.bg AS bgnbd, f.gg AS gamma_gamma
FROM (SELECT max(s.as_of) AS as_of, count(*) AS customers,
             @extschema@.rfm_bgnbd_fit(s.repeat_frequency, s.repeat_recency, s.age, %2$L, %3$s)
                 FILTER (WHERE n.repeat_buyers >= 2) AS bg,
             @extschema@.rfm_gamma_gamma_fit(s.repeat_frequency, s.avg_order_value::float8, %3$s)
                 FILTER (WHERE s.repeat_frequency > 0 AND s.avg_order_value > 0 AND n.spenders >= 2) AS gg
      FROM %1$s s,
           (SELECT count(*) FILTER (WHERE c.repeat_frequency > 0) AS repeat_buyers,
                   count(*) FILTER (WHERE c.repeat_frequency > 0 AND c.avg_order_value > 0) AS spenders
            FROM %1$s c WHERE c.orders > 0) n
      WHERE s.orders > 0
      HAVING count(*) > 0) f$q$, s, m.time_unit, m.l2);
    ELSE
        definition := format($q$
SELECT max(s.as_of) AS as_of, count(*) AS customers, %2$L::text AS time_unit,
       NULL::float8 AS bgnbd_r, NULL::float8 AS bgnbd_alpha, NULL::float8 AS bgnbd_a, NULL::float8 AS bgnbd_b,
       NULL::boolean AS bgnbd_converged,
       NULL::float8 AS gg_p, NULL::float8 AS gg_q, NULL::float8 AS gg_gamma, NULL::boolean AS gg_converged,
       NULL::@extschema@.rfm_bgnbd_model AS bgnbd, NULL::@extschema@.rfm_gamma_gamma_model AS gamma_gamma
FROM %1$s s WHERE s.orders > 0
HAVING count(*) > 0$q$, s, m.time_unit);
    END IF;
    RETURN NEXT;

    IF m.scoring = 'fixed' THEN
        scores := format('ROW(@extschema@.rfm_score(-s.recency, '
                         '(SELECT vi.r_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L)), '
                         '@extschema@.rfm_score(s.orders::float8, '
                         '(SELECT vi.f_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L)), '
                         '@extschema@.rfm_score(s.revenue::float8, '
                         '(SELECT vi.m_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L))'
                         ')::@extschema@.rfm_scores', m.name);
    ELSE
        scores := format('@extschema@.rfm_scores(s.recency, s.orders::float8, s.revenue::float8, %s) OVER ()',
                         m.bins);
    END IF;
    IF m.bins = 5 THEN
        seg := '@extschema@.rfm_segment(j.r, j.f, j.m)';
    ELSE
        seg := 'NULL::text';
    END IF;

    view_suffix := '_customers';
    unique_column := 'customer';
    definition := format($q$
SELECT k.customer, k.recency, k.orders AS frequency, k.revenue AS monetary, k.avg_order_value,
       k.r AS r_score, k.f AS f_score, k.m AS m_score, k.r + k.f + k.m AS rfm_score,
       CASE WHEN %5$s <= 9 THEN k.r::text || k.f::text || k.m::text
            ELSE k.r::text || '.' || k.f::text || '.' || k.m::text END AS rfm_cell,
       k.segment, k.value_type,
       @extschema@.rfm_strategy(k.segment) AS strategy,
       k.tier, @extschema@.rfm_tier_discount(k.tier) AS tier_discount,
       @extschema@.rfm_lifecycle_stage(k.lifecycle_rule_stage, k.p_alive) AS lifecycle_stage,
       k.p_alive, k.expected_purchases, k.expected_order_value,
       @extschema@.rfm_clv(k.bgnbd, k.repeat_frequency, k.repeat_recency, k.age,
                           k.expected_order_value, %6$s, %7$s, %8$s) AS clv,
       k.revenue_rank, k.as_of
FROM (SELECT j.*, %4$s AS segment,
             CASE WHEN j.r IS NOT NULL THEN @extschema@.rfm_tier(%4$s, j.r + j.f + j.m, j.revenue) END AS tier,
             @extschema@.rfm_p_alive(j.bgnbd, j.repeat_frequency, j.repeat_recency, j.age) AS p_alive,
             @extschema@.rfm_expected_purchases(j.bgnbd, %6$s, j.repeat_frequency, j.repeat_recency, j.age)
                 AS expected_purchases,
             @extschema@.rfm_expected_order_value(j.gamma_gamma, j.repeat_frequency,
                 CASE WHEN j.repeat_frequency > 0 THEN GREATEST(j.avg_order_value::float8, 0.01) ELSE 0 END)
                 AS expected_order_value
      FROM (SELECT w.*, (w.sc).r AS r, (w.sc).f AS f, (w.sc).m AS m
            FROM (SELECT s.*, %3$s AS sc,
                         @extschema@.rfm_value_type(s.recency, s.orders::float8, s.revenue::float8) OVER ()
                             AS value_type,
                         row_number() OVER (ORDER BY s.revenue DESC, s.customer) AS revenue_rank,
                         fit.bgnbd, fit.gamma_gamma
                  FROM %1$s s LEFT JOIN %2$s fit ON true
                  WHERE s.orders > 0
                  OFFSET 0) w) j) k$q$,
        s, f, scores, seg, m.bins, m.clv_horizon, m.margin, m.discount_rate);
    RETURN NEXT;

    view_suffix := '_segments';
    unique_column := 'segment';
    definition := format($q$
SELECT c.segment,
       @extschema@.rfm_label(c.segment) AS segment_label,
       @extschema@.rfm_label(c.segment, 'zh') AS segment_label_zh,
       @extschema@.rfm_strategy(c.segment) AS strategy,
       count(*) AS customers,
       count(*)::numeric / sum(count(*)) OVER () AS customer_share,
       sum(c.monetary) AS revenue,
       sum(c.monetary) / NULLIF(sum(sum(c.monetary)) OVER (), 0) AS revenue_share,
       avg(c.recency) AS avg_recency, avg(c.frequency) AS avg_frequency, avg(c.monetary) AS avg_monetary,
       avg(c.r_score) AS avg_r_score, avg(c.f_score) AS avg_f_score, avg(c.m_score) AS avg_m_score,
       avg(c.p_alive) AS avg_p_alive, sum(c.clv) AS total_clv,
       max(c.as_of) AS as_of
FROM %1$s c
GROUP BY c.segment$q$, c);
    RETURN NEXT;

    view_suffix := '_pareto';
    unique_column := 'customer_percent';
    definition := format($q$
WITH cum AS (SELECT c.revenue_rank, c.as_of,
                    sum(c.monetary) OVER (ORDER BY c.revenue_rank) AS revenue
             FROM %1$s c),
     tot AS (SELECT count(*) AS n, sum(c.monetary) AS total, max(c.as_of) AS as_of FROM %1$s c)
SELECT p.customer_percent, k.customers, cum.revenue,
       cum.revenue / NULLIF(tot.total, 0) AS revenue_share, tot.as_of
FROM pg_catalog.generate_series(1, 100) AS p(customer_percent)
     CROSS JOIN tot
     CROSS JOIN LATERAL (SELECT ceil(p.customer_percent * tot.n / 100.0)::bigint AS customers) k
     LEFT JOIN cum ON cum.revenue_rank = k.customers
WHERE tot.n > 0$q$, c);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_view_sql(@extschema@.rfm_model) IS
    'The queries of a model''s materialized views, in refresh order, with the column of each one''s unique index';

-- What each view of a model is, for its COMMENT.
CREATE FUNCTION @extschema@.rfm_model_view_comment(view_suffix text, model text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT format(CASE view_suffix
    WHEN '_summary' THEN 'rfm model %s: one row per customer, the RFM summary (rfm_summary) and rule lifecycle stage at as_of'
    WHEN '_fit' THEN 'rfm model %s: the BG/NBD and Gamma-Gamma models fitted on the customers (one row; none without customers)'
    WHEN '_customers' THEN 'rfm model %s: one row per customer with an order: scores, segment, value type, strategy, tier, lifecycle stage and CLV'
    WHEN '_segments' THEN 'rfm model %s: one row per segment: customers, revenue and their shares, averages, CLV'
    WHEN '_pareto' THEN 'rfm model %s: the share of revenue of the top 1..100 %% of customers (the Pareto curve)'
    WHEN '_history' THEN 'rfm model %s: a snapshot of every customer per refresh (rfm_transition_matrix, rfm_segment_movers)'
    END, model)
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_view_comment(text, text) IS
    'The COMMENT of a model''s view or table';

-- COMMENT ON a model's view or table and each of its columns.
CREATE FUNCTION @extschema@.rfm_model_comment(schema_name name, model text, view_suffix text, kind text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    col record;
BEGIN
    EXECUTE format('COMMENT ON %s %I.%I IS %L', kind, schema_name, model || view_suffix,
                   @extschema@.rfm_model_view_comment(view_suffix, model));
    FOR col IN SELECT * FROM @extschema@.rfm_model_columns() c WHERE c.view_suffix = rfm_model_comment.view_suffix LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', schema_name, model || view_suffix,
                       col.column_name, col.description);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_comment(name, text, text, text) IS
    'Comments a model''s view or table (kind: ''MATERIALIZED VIEW'' or ''TABLE'') and its columns from rfm_model_view_comment and rfm_model_columns';

-- Create (create => true) or refresh a model's views, in dependency order.
-- A refresh is CONCURRENTLY for a populated view: readers are not blocked.
CREATE FUNCTION @extschema@.rfm_model_build(model text, create_views boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    v record;
    populated boolean;
BEGIN
    FOR v IN SELECT * FROM @extschema@.rfm_model_view_sql(m) LOOP
        IF create_views THEN
            EXECUTE format('CREATE MATERIALIZED VIEW %I.%I AS %s', m.schema_name, m.name || v.view_suffix,
                           v.definition);
            EXECUTE format('CREATE UNIQUE INDEX ON %I.%I (%I)', m.schema_name, m.name || v.view_suffix,
                           v.unique_column);
            PERFORM @extschema@.rfm_model_comment(m.schema_name, m.name, v.view_suffix, 'MATERIALIZED VIEW');
            -- fixed scoring without given breaks: cut where this first build's data cuts
            IF v.view_suffix = '_summary' AND m.scoring = 'fixed' AND m.r_breaks IS NULL THEN
                EXECUTE format('SELECT @extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY -s.recency), '
                               '@extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY s.orders::float8), '
                               '@extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY s.revenue::float8) '
                               'FROM %2$I.%3$I s WHERE s.orders > 0', m.bins, m.schema_name, m.name || '_summary')
                    INTO m.r_breaks, m.f_breaks, m.m_breaks;
                IF m.r_breaks IS NULL THEN
                    RAISE EXCEPTION USING ERRCODE = 'no_data_found',
                        MESSAGE = format('model "%s" cannot take fixed cut points from its data: no customer has an order', m.name),
                        HINT = 'Give r_breaks, f_breaks and m_breaks, or use scoring => ''quantile''.';
                END IF;
                UPDATE @extschema@.rfm_model rm
                SET r_breaks = m.r_breaks, f_breaks = m.f_breaks, m_breaks = m.m_breaks
                WHERE rm.name = m.name;
            END IF;
        ELSE
            IF m.scoring = 'fixed' AND (m.r_breaks IS NULL OR m.f_breaks IS NULL OR m.m_breaks IS NULL) THEN
                RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
                    MESSAGE = format('model "%s" scores with fixed cut points, but some of them are NULL', m.name),
                    HINT = 'Set r_breaks, f_breaks and m_breaks in rfm_model.';
            END IF;
            SELECT c.relispopulated INTO populated
            FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = m.schema_name AND c.relname = m.name || v.view_suffix AND c.relkind = 'm';
            IF NOT FOUND THEN
                RAISE EXCEPTION USING ERRCODE = 'undefined_table',
                    MESSAGE = format('materialized view %I.%I of model "%s" does not exist',
                                     m.schema_name, m.name || v.view_suffix, m.name),
                    HINT = 'Drop the model with rfm_drop_model() and create it again.';
            END IF;
            EXECUTE format('REFRESH MATERIALIZED VIEW %s %I.%I',
                           CASE WHEN populated THEN 'CONCURRENTLY' ELSE '' END,
                           m.schema_name, m.name || v.view_suffix);
        END IF;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_build(text, boolean) IS
    'Creates (true) or refreshes (false, CONCURRENTLY when populated) the materialized views of a model in dependency order';

-- Snapshot the customers of the current refresh into <name>_history; the
-- customers and as-of time of the views.
CREATE FUNCTION @extschema@.rfm_model_snapshot(model text, OUT customers bigint, OUT as_of timestamptz)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
BEGIN
    EXECUTE format('SELECT count(*), max(c.as_of) FROM %I.%I c', m.schema_name, m.name || '_customers')
        INTO customers, as_of;
    IF m.keep_history AND as_of IS NOT NULL THEN
        EXECUTE format('DELETE FROM %I.%I h WHERE h.as_of = $1', m.schema_name, m.name || '_history')
            USING as_of;
        EXECUTE format('INSERT INTO %I.%I (as_of, customer, segment, value_type, lifecycle_stage, '
                       'r_score, f_score, m_score, recency, frequency, monetary, clv) '
                       'SELECT c.as_of, c.customer, c.segment, c.value_type, c.lifecycle_stage, '
                       'c.r_score, c.f_score, c.m_score, c.recency, c.frequency, c.monetary, c.clv '
                       'FROM %I.%I c',
                       m.schema_name, m.name || '_history', m.schema_name, m.name || '_customers');
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_snapshot(text) IS
    'Counts a model''s customers and, when it keeps history, copies them into <name>_history under their as_of (replacing a snapshot of the same as_of)';

-- ==== Creating and dropping models ====

CREATE FUNCTION @extschema@.rfm_create_model(
    name text, source regclass, customer_column name, time_column name, amount_column name,
    schema_name name DEFAULT NULL, as_of timestamptz DEFAULT NULL, bins integer DEFAULT 5,
    scoring text DEFAULT 'quantile',
    r_breaks float8[] DEFAULT NULL, f_breaks float8[] DEFAULT NULL, m_breaks float8[] DEFAULT NULL,
    time_unit text DEFAULT 'day', clv boolean DEFAULT true, clv_horizon float8 DEFAULT NULL,
    margin float8 DEFAULT 1, discount_rate float8 DEFAULT 0, l2 float8 DEFAULT 0.0001,
    keep_history boolean DEFAULT true)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model;
    rel record;
    customer_type text;
    time_typid oid;
    amount_typid oid;
    created boolean := false;
    n bigint;
    snap_as_of timestamptz;
    suffix text;
BEGIN
    IF name IS NULL OR source IS NULL OR customer_column IS NULL OR time_column IS NULL
       OR amount_column IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'name, source, customer_column, time_column and amount_column must not be NULL';
    END IF;
    IF name = '' OR octet_length(name) > 53 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('model name "%s" is empty or longer than 53 bytes', name),
            DETAIL = 'The name prefixes the names of the model''s views, e.g. <name>_customers, which PostgreSQL limits to 63 bytes.';
    END IF;
    IF EXISTS (SELECT 1 FROM @extschema@.rfm_model rm WHERE rm.name = rfm_create_model.name) THEN
        RAISE EXCEPTION USING ERRCODE = 'duplicate_object',
            MESSAGE = format('model "%s" already exists', name),
            HINT = 'Drop it with rfm_drop_model() first, or choose another name.';
    END IF;
    SELECT c.relkind, n.nspname, c.relname INTO rel
    FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
    WHERE c.oid = source;
    IF rel.relkind NOT IN ('r', 'p', 'v', 'm', 'f') THEN
        RAISE EXCEPTION USING ERRCODE = 'wrong_object_type',
            MESSAGE = format('%s is not a table, view, materialized view or foreign table', source);
    END IF;

    -- the three columns and their types (a domain counts as its base type)
    SELECT max(pg_catalog.format_type(a.atttypid, a.atttypmod)) FILTER (WHERE a.attname = customer_column),
           max(coalesce(NULLIF(t.typbasetype, 0), t.oid)) FILTER (WHERE a.attname = time_column),
           max(coalesce(NULLIF(t.typbasetype, 0), t.oid)) FILTER (WHERE a.attname = amount_column)
    INTO customer_type, time_typid, amount_typid
    FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
    WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped;
    IF customer_type IS NULL OR time_typid IS NULL OR amount_typid IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('column "%s" of %s does not exist',
                             CASE WHEN customer_type IS NULL THEN customer_column
                                  WHEN time_typid IS NULL THEN time_column ELSE amount_column END, source),
            DETAIL = format('Its columns are: %s.',
                            (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                             FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = source AND a.attnum > 0 AND NOT a.attisdropped)),
            HINT = 'Column names are case-sensitive: pass them as they are, without quotes.';
    END IF;

    m.name := name;
    m.source := format('%I.%I', rel.nspname, rel.relname);
    m.customer_column := customer_column;
    m.time_column := time_column;
    m.amount_column := amount_column;
    m.time_type := CASE time_typid WHEN 'date'::regtype THEN 'date'
                                   WHEN 'timestamptz'::regtype THEN 'timestamptz'
                                   WHEN 'timestamp'::regtype THEN 'timestamp' END;
    IF m.time_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('time column "%s" is of type %s', time_column, time_typid::regtype),
            HINT = 'The time column must be date, timestamp with time zone or timestamp; cast it in a view over the table.';
    END IF;
    m.amount_type := CASE WHEN amount_typid IN ('numeric'::regtype, 'int2'::regtype, 'int4'::regtype,
                                                'int8'::regtype, 'money'::regtype) THEN 'numeric'
                          WHEN amount_typid IN ('float4'::regtype, 'float8'::regtype) THEN 'float8' END;
    IF m.amount_type IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'datatype_mismatch',
            MESSAGE = format('amount column "%s" is of type %s', amount_column, amount_typid::regtype),
            HINT = 'The amount column must be numeric, an integer, money, real or double precision.';
    END IF;

    IF bins IS NULL OR bins NOT BETWEEN 2 AND 12 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('bins must be between 2 and 12, not %s', coalesce(bins::text, 'NULL'));
    END IF;
    IF r_breaks IS NOT NULL OR f_breaks IS NOT NULL OR m_breaks IS NOT NULL THEN
        IF scoring IS DISTINCT FROM 'fixed' OR r_breaks IS NULL OR f_breaks IS NULL OR m_breaks IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = 'r_breaks, f_breaks and m_breaks go together, with scoring => ''fixed''';
        END IF;
        IF cardinality(r_breaks) <> bins - 1 OR cardinality(f_breaks) <> bins - 1
           OR cardinality(m_breaks) <> bins - 1 THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('each of r_breaks, f_breaks and m_breaks needs bins - 1 = %s cut points', bins - 1);
        END IF;
        -- rfm_score checks them (ascending, no NaN)
        PERFORM @extschema@.rfm_score(0, r_breaks), @extschema@.rfm_score(0, f_breaks),
                @extschema@.rfm_score(0, m_breaks);
    END IF;
    IF scoring IS NULL OR scoring NOT IN ('quantile', 'fixed') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown scoring method "%s"', scoring),
            HINT = 'Use ''quantile'' (scores from each refresh''s data) or ''fixed'' (stored cut points).';
    END IF;
    IF time_unit IS NULL OR time_unit NOT IN ('hour', 'day', 'week', 'month', 'quarter', 'year') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown time unit "%s"', time_unit),
            HINT = 'Use hour, day, week, month (365.25 / 12 days), quarter or year (365.25 days).';
    END IF;
    m.as_of := as_of;
    m.bins := bins;
    m.scoring := scoring;
    m.r_breaks := r_breaks;
    m.f_breaks := f_breaks;
    m.m_breaks := m_breaks;
    m.time_unit := time_unit;
    m.clv := coalesce(clv, false);
    -- one year by default
    m.clv_horizon := coalesce(clv_horizon,
                              CASE time_unit WHEN 'hour' THEN 8766 WHEN 'day' THEN 365 WHEN 'week' THEN 52
                                             WHEN 'month' THEN 12 WHEN 'quarter' THEN 4 ELSE 1 END);
    m.margin := margin;
    m.discount_rate := discount_rate;
    m.l2 := l2;
    m.keep_history := coalesce(keep_history, false);
    m.time_zone := pg_catalog.current_setting('TimeZone');
    m.owner := current_user;
    m.created_at := pg_catalog.now();
    m.refresh_as_of := coalesce(as_of, pg_catalog.now());

    m.schema_name := coalesce(schema_name, pg_catalog.current_schema());
    IF m.schema_name IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_schema_name',
            MESSAGE = 'no schema given and none selected to create in',
            HINT = 'Pass schema_name, or set search_path.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = m.schema_name) THEN
        EXECUTE format('CREATE SCHEMA %I', m.schema_name);
        created := true;
    END IF;
    m.created_schema := created;

    -- fixed scoring without breaks: the first build takes them from the data
    INSERT INTO @extschema@.rfm_model SELECT (m).*;

    PERFORM pg_catalog.set_config('TimeZone', m.time_zone, true);
    PERFORM @extschema@.rfm_model_build(m.name, true);

    EXECUTE format('CREATE TABLE %I.%I (as_of timestamptz NOT NULL, customer %s NOT NULL, segment text, '
                   'value_type text, lifecycle_stage text, r_score integer, f_score integer, m_score integer, '
                   'recency float8, frequency bigint, monetary numeric, clv float8, '
                   'PRIMARY KEY (as_of, customer))',
                   m.schema_name, m.name || '_history', customer_type);
    PERFORM @extschema@.rfm_model_comment(m.schema_name, m.name, '_history', 'TABLE');

    SELECT s.customers, s.as_of INTO n, snap_as_of FROM @extschema@.rfm_model_snapshot(m.name) s;
    INSERT INTO @extschema@.rfm_refresh_log (model, started_at, finished_at, as_of, customers, outcome, message)
    VALUES (m.name, pg_catalog.now(), pg_catalog.clock_timestamp(), snap_as_of, n, 'ok', 'created');

    FOREACH suffix IN ARRAY ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto', '_history'] LOOP
        RETURN NEXT format('%I.%I', m.schema_name, m.name || suffix)::regclass;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_create_model(text, regclass, name, name, name, name, timestamptz, integer, text,
                                                 float8[], float8[], float8[], text, boolean, float8, float8, float8,
                                                 float8, boolean) IS
    'Creates a model of an orders table or view: materialized views <name>_summary, _fit, _customers, _segments, _pareto and the table <name>_history in schema_name (default: the current schema), owned by the caller, built now; returns them';

CREATE FUNCTION @extschema@.rfm_drop_model(name text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
    suffix text;
BEGIN
    IF NOT pg_catalog.pg_try_advisory_xact_lock(@extschema@.rfm_model_lock_key(m.name)) THEN
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available',
            MESSAGE = format('model "%s" is being refreshed', m.name),
            HINT = 'Try again when the refresh has ended (rfm_refresh_log shows it running).';
    END IF;
    IF m.cron_job IS NOT NULL THEN
        IF pg_catalog.to_regprocedure('cron.schedule(text,text,text)') IS NOT NULL THEN
            PERFORM @extschema@.rfm_unschedule(m.name);
        ELSE
            RAISE NOTICE 'model "%" had the pg_cron job "%", but pg_cron is not installed here: nothing to unschedule',
                m.name, m.cron_job;
        END IF;
    END IF;
    -- RESTRICT: a view of the user's on top of the model stops the drop
    FOREACH suffix IN ARRAY ARRAY['_pareto', '_segments', '_customers', '_fit', '_summary'] LOOP
        EXECUTE format('DROP MATERIALIZED VIEW IF EXISTS %I.%I', m.schema_name, m.name || suffix);
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', m.schema_name, m.name || '_history');
    DELETE FROM @extschema@.rfm_model rm WHERE rm.name = m.name;
    IF m.created_schema AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_namespace n ON d.refobjid = n.oid
           WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass AND n.nspname = m.schema_name
             AND d.deptype = 'n') THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I', m.schema_name);
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_drop_model(text) IS
    'Drops a model: its pg_cron job, its views, its history table, its rfm_model row and refresh log, and its schema when rfm_create_model created it and nothing else is left in it';

CREATE PROCEDURE @extschema@.rfm_refresh(name text, as_of timestamptz DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
    in_block boolean := @extschema@.rfm_transaction_block();
    lock_key bigint := @extschema@.rfm_model_lock_key(m.name);
    log_id bigint;
    holder integer;
    failed boolean := false;
    n bigint;
    refreshed_as_of timestamptz;
    e_state text;
    e_message text;
    e_detail text;
    e_hint text;
    e_context text;
BEGIN
    IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'as_of must be finite';
    END IF;
    -- Outside a transaction block the log entry commits first, so that it
    -- survives a failed refresh; inside one everything commits or rolls back
    -- with the caller's transaction.
    INSERT INTO @extschema@.rfm_refresh_log (model) VALUES (m.name) RETURNING id INTO log_id;
    IF NOT in_block THEN
        COMMIT;
    END IF;

    -- A refresh of this session that ended without releasing the lock (a
    -- cancel between its last commit and its unlock) must not block the
    -- others: no refresh of the model can be running in this session now.
    IF NOT in_block THEN
        WHILE pg_catalog.pg_backend_pid() IN (SELECT @extschema@.rfm_model_lock_holders(lock_key)) LOOP
            PERFORM pg_catalog.pg_advisory_unlock(lock_key);
        END LOOP;
    END IF;
    IF NOT (CASE WHEN in_block THEN pg_catalog.pg_try_advisory_xact_lock(lock_key)
                 ELSE pg_catalog.pg_try_advisory_lock(lock_key) END) THEN
        SELECT min(h) INTO holder FROM @extschema@.rfm_model_lock_holders(lock_key) h;
        UPDATE @extschema@.rfm_refresh_log l
        SET finished_at = pg_catalog.clock_timestamp(), outcome = 'skipped', sqlstate = '55P03',
            message = format('another refresh of the model was running (process %s)',
                             coalesce(holder::text, 'that has just ended'))
        WHERE l.id = log_id;
        IF NOT in_block THEN
            COMMIT;
        END IF;
        RAISE EXCEPTION USING ERRCODE = 'lock_not_available',
            MESSAGE = format('a refresh of model "%s" is already running', m.name),
            DETAIL = format('Process %s holds the model''s refresh lock.', coalesce(holder::text, '(just ended)')),
            HINT = 'Wait for it to end: rfm_refresh_log shows it running.';
    END IF;
    -- with the lock held, another running entry of this model whose process is
    -- gone is left over from a lost session; one of a live process is a refresh
    -- that has logged itself but not yet tried for the lock, and will mark its
    -- entry skipped: touching it would make it wait for this whole refresh
    UPDATE @extschema@.rfm_refresh_log l
    SET outcome = 'abandoned', finished_at = coalesce(l.finished_at, pg_catalog.clock_timestamp())
    WHERE l.model = m.name AND l.outcome = 'running' AND l.id <> log_id
      AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = l.pid);

    BEGIN
        PERFORM pg_catalog.set_config('TimeZone', m.time_zone, true);
        -- kept after the refresh: the views' queries read it, so that a
        -- REFRESH MATERIALIZED VIEW, such as the one a restore from pg_dump
        -- runs, rebuilds the data as of this same time
        UPDATE @extschema@.rfm_model rm
        SET refresh_as_of = coalesce(rfm_refresh.as_of, rm.as_of, pg_catalog.now())
        WHERE rm.name = m.name;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
                MESSAGE = format('permission denied to refresh model "%s"', m.name),
                DETAIL = format('Only members of its owner, role "%s", may refresh it.', m.owner);
        END IF;
        PERFORM @extschema@.rfm_model_build(m.name, false);
        SELECT s.customers, s.as_of INTO n, refreshed_as_of FROM @extschema@.rfm_model_snapshot(m.name) s;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        IF in_block THEN
            RAISE;
        END IF;
        failed := true;
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                                e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT,
                                e_context = PG_EXCEPTION_CONTEXT;
    END;

    UPDATE @extschema@.rfm_refresh_log l
    SET finished_at = pg_catalog.clock_timestamp(),
        as_of = coalesce(refreshed_as_of, rfm_refresh.as_of, m.as_of, pg_catalog.now()),
        customers = n,
        outcome = CASE WHEN NOT failed THEN 'ok' WHEN e_state = '57014' THEN 'cancelled' ELSE 'failed' END,
        sqlstate = e_state, message = e_message
    WHERE l.id = log_id;
    IF NOT in_block THEN
        COMMIT;
        PERFORM pg_catalog.pg_advisory_unlock(lock_key);
    END IF;
    IF failed THEN
        e_detail := concat_ws(E'\n', NULLIF(e_detail, ''), 'The model''s views keep the data of the previous refresh.');
        IF coalesce(e_hint, '') = '' THEN
            RAISE EXCEPTION USING ERRCODE = e_state,
                MESSAGE = format('refresh of model "%s" failed: %s', m.name, e_message), DETAIL = e_detail;
        END IF;
        RAISE EXCEPTION USING ERRCODE = e_state,
            MESSAGE = format('refresh of model "%s" failed: %s', m.name, e_message), DETAIL = e_detail,
            HINT = e_hint;
    END IF;
END
$$;
COMMENT ON PROCEDURE @extschema@.rfm_refresh(text, timestamptz) IS
    'Refreshes a model''s views in dependency order, CONCURRENTLY (readers are not blocked and see the whole previous or the whole new model), as of as_of (default: the model''s, else now), keeps a history snapshot, and logs the refresh in rfm_refresh_log; a second refresh of the same model meanwhile fails (55P03); a failed refresh keeps the previous data';

-- ==== Scheduling (pg_cron) ====

-- pg_cron's schedule function, or a clear error.
CREATE FUNCTION @extschema@.rfm_cron_check() RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
BEGIN
    IF pg_catalog.to_regprocedure('cron.schedule(text,text,text)') IS NOT NULL THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'scheduling needs pg_cron, which is not installed on this server',
            HINT = 'Install it (Debian: apt-get install postgresql-15-cron), add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron. Or schedule CALL rfm_refresh(...) with another scheduler.';
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
        MESSAGE = format('scheduling needs the extension pg_cron in database "%s"', pg_catalog.current_database()),
        HINT = format('With pg_cron in shared_preload_libraries and cron.database_name = %L (now %L), run CREATE EXTENSION pg_cron.',
                      pg_catalog.current_database(),
                      coalesce(pg_catalog.current_setting('cron.database_name', true), 'not set'));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_cron_check() IS
    'Raises a clear error (0A000) unless pg_cron is installed in this database';

CREATE FUNCTION @extschema@.rfm_schedule(name text, schedule text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
    job text := 'rfm_refresh ' || m.name;
    job_id bigint;
BEGIN
    PERFORM @extschema@.rfm_cron_check();
    -- the job runs as the scheduling role: only the owner's refresh can work
    IF current_user <> m.owner THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('only the owner of model "%s", role "%s", may schedule it', m.name, m.owner),
            HINT = format('SET ROLE %I first: pg_cron runs the job as the role that schedules it.', m.owner);
    END IF;
    IF schedule IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed', MESSAGE = 'schedule must not be NULL',
            HINT = 'Give a cron expression such as ''0 3 * * *'' (every day at 03:00, GMT).';
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job_id
        USING job, schedule, format('CALL @extschema@.rfm_refresh(%L)', m.name);
    UPDATE @extschema@.rfm_model rm SET cron_job = job WHERE rm.name = m.name;
    RETURN job_id;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_schedule(text, text) IS
    'Schedules CALL rfm_refresh(name) with pg_cron (cron expression, GMT; a second call replaces the schedule) as the calling role; returns the pg_cron job id';

CREATE FUNCTION @extschema@.rfm_unschedule(name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
BEGIN
    IF m.cron_job IS NULL THEN
        RETURN false;
    END IF;
    PERFORM @extschema@.rfm_cron_check();
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
               WHERE n.nspname = 'cron' AND c.relname = 'job') THEN
        -- the job may belong to another role than the caller's (a superuser
        -- dropping a role's model): remove it too whenever pg_cron lets the
        -- caller, i.e. as its owner or with DELETE on cron.job
        EXECUTE 'SELECT cron.unschedule(j.jobid) FROM cron.job j WHERE j.jobname = $1 '
                'AND (j.username = current_user OR pg_catalog.has_table_privilege(''cron.job'', ''DELETE''))'
            USING m.cron_job;
    END IF;
    UPDATE @extschema@.rfm_model rm SET cron_job = NULL WHERE rm.name = m.name;
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_unschedule(text) IS
    'Removes the pg_cron job of rfm_schedule; false when the model was not scheduled';

-- ==== History and migration ====

CREATE FUNCTION @extschema@.rfm_snapshots(model text)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
BEGIN
    RETURN QUERY EXECUTE format('SELECT h.as_of, count(*) FROM %I.%I h GROUP BY h.as_of ORDER BY h.as_of',
                                m.schema_name, m.name || '_history');
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_snapshots(text) IS
    'The snapshots in a model''s history: as-of time and customers, oldest first';

-- The two snapshots to compare: given, or by default the last two.
CREATE FUNCTION @extschema@.rfm_snapshot_pair(m @extschema@.rfm_model, from_as_of timestamptz, to_as_of timestamptz,
                                              OUT from_at timestamptz, OUT to_at timestamptz)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    snaps timestamptz[];
BEGIN
    EXECUTE format('SELECT array_agg(DISTINCT h.as_of ORDER BY h.as_of) FROM %I.%I h',
                   m.schema_name, m.name || '_history') INTO snaps;
    to_at := coalesce(to_as_of, snaps[cardinality(snaps)]);
    from_at := coalesce(from_as_of, (SELECT max(s) FROM unnest(snaps) s WHERE s < to_at));
    IF from_at IS NULL OR to_at IS NULL OR NOT from_at = ANY (snaps) OR NOT to_at = ANY (snaps) THEN
        RAISE EXCEPTION USING ERRCODE = 'no_data_found',
            MESSAGE = format('model "%s" has no snapshot at %s', m.name,
                             CASE WHEN to_at IS NULL OR NOT to_at = ANY (snaps) THEN coalesce(to_at::text, 'the end')
                                  ELSE coalesce(from_at::text, 'an earlier time') END),
            DETAIL = format('Its snapshots: %s.', coalesce(array_to_string(snaps, ', '), 'none')),
            HINT = CASE WHEN m.keep_history THEN 'Each rfm_refresh adds one; rfm_refresh(name, as_of) adds one as of a past time.'
                        ELSE 'The model keeps no history: UPDATE rfm_model SET keep_history = true.' END;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_snapshot_pair(@extschema@.rfm_model, timestamptz, timestamptz) IS
    'Resolves the two snapshots of a comparison (defaults: the last one, and the one before it), or raises 02000 naming the snapshots there are';

CREATE FUNCTION @extschema@.rfm_transition_matrix(model text, from_as_of timestamptz DEFAULT NULL,
                                                  to_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (from_segment text, to_segment text, customers bigint, from_revenue numeric, to_revenue numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    p record;
BEGIN
    p := @extschema@.rfm_snapshot_pair(m, from_as_of, to_as_of);
    RETURN QUERY EXECUTE format(
        'SELECT a.segment, b.segment, count(*), sum(a.monetary), sum(b.monetary) '
        'FROM (SELECT * FROM %1$I.%2$I WHERE as_of = $1) a '
        'FULL JOIN (SELECT * FROM %1$I.%2$I WHERE as_of = $2) b ON a.customer = b.customer '
        'GROUP BY a.segment, b.segment ORDER BY a.segment NULLS FIRST, b.segment NULLS FIRST',
        m.schema_name, m.name || '_history') USING p.from_at, p.to_at;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_transition_matrix(text, timestamptz, timestamptz) IS
    'From-segment x to-segment counts of customers and their revenue at each snapshot (defaults: the last two snapshots); a NULL from_segment is a customer new since from_as_of';

CREATE FUNCTION @extschema@.rfm_segment_movers(model text, from_segment text, to_segment text,
                                               from_as_of timestamptz DEFAULT NULL, to_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (customer text, from_snapshot timestamptz, to_snapshot timestamptz,
               from_monetary numeric, to_monetary numeric, from_clv float8, to_clv float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    p record;
    known text[];
BEGIN
    p := @extschema@.rfm_snapshot_pair(m, from_as_of, to_as_of);
    EXECUTE format('SELECT array_agg(DISTINCT h.segment ORDER BY h.segment) FROM %I.%I h',
                   m.schema_name, m.name || '_history') INTO known;
    known := known || ARRAY(SELECT sa.segment FROM @extschema@.rfm_segment_action sa);
    IF (from_segment IS NOT NULL AND NOT from_segment = ANY (known))
       OR (to_segment IS NOT NULL AND NOT to_segment = ANY (known)) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown segment "%s"',
                             CASE WHEN from_segment IS NOT NULL AND NOT from_segment = ANY (known)
                                  THEN from_segment ELSE to_segment END),
            HINT = 'Segments are named as rfm_segment and rfm_value_type name them, e.g. ''Champions'' or ''At Risk''; NULL means not a customer at that time.';
    END IF;
    RETURN QUERY EXECUTE format(
        'SELECT coalesce(a.customer, b.customer)::text, $1, $2, a.monetary, b.monetary, a.clv, b.clv '
        'FROM (SELECT * FROM %1$I.%2$I WHERE as_of = $1) a '
        'FULL JOIN (SELECT * FROM %1$I.%2$I WHERE as_of = $2) b ON a.customer = b.customer '
        'WHERE a.segment IS NOT DISTINCT FROM $3 AND b.segment IS NOT DISTINCT FROM $4 '
        '  AND (a.customer IS NOT NULL OR $3 IS NULL) AND (b.customer IS NOT NULL OR $4 IS NULL) '
        'ORDER BY b.monetary DESC NULLS LAST, 1',
        m.schema_name, m.name || '_history') USING p.from_at, p.to_at, from_segment, to_segment;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_segment_movers(text, text, text, timestamptz, timestamptz) IS
    'The customers (as text) in from_segment at from_as_of and in to_segment at to_as_of (defaults: the last two snapshots), largest to_monetary first; a NULL segment means not a customer at that time';
