
-- ==== Models: who runs what ====
-- Every function of a model pins search_path (rfm_refresh, a procedure that
-- commits and so cannot, names everything it uses in full), writes the
-- catalog through rfm_catalog_write, and reads and writes the model's
-- objects as the model's owner (rfm_owner_exec, rfm_owner_query) -- except
-- REFRESH MATERIALIZED VIEW of a model made with 1.1, which PostgreSQL
-- itself runs as the view's owner in a security-restricted operation.

ALTER FUNCTION @extschema@.rfm_model_columns() SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.rfm_model_row(text) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.rfm_model_view_sql(@extschema@.rfm_model) SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION @extschema@.rfm_model_comment(name, text, text, text) SET search_path = pg_catalog, pg_temp;

CREATE OR REPLACE FUNCTION @extschema@.rfm_model_check_update() RETURNS trigger
LANGUAGE plpgsql PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    col text;
BEGIN
    FOREACH col IN ARRAY ARRAY['name', 'schema_name', 'source', 'customer_column', 'time_column', 'amount_column',
                               'time_type', 'amount_type', 'bins', 'scoring', 'time_unit', 'clv', 'clv_horizon',
                               'margin', 'discount_rate', 'l2', 'time_zone', 'owner', 'created_schema',
                               'created_at', 'purchase_model', 'leads', 'leads_column', 'cost_per_order',
                               'cost_per_customer', 'views_version', 'incremental'] LOOP
        IF pg_catalog.to_jsonb(OLD) -> col IS DISTINCT FROM pg_catalog.to_jsonb(NEW) -> col THEN
            RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
                MESSAGE = format('column %s of model "%s" cannot be changed', col, OLD.name),
                DETAIL = 'The model''s views were built with it. as_of, r_breaks, f_breaks, m_breaks and keep_history can be changed.',
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

-- The owner of a model, after checking that its objects are what
-- rfm_create_model made: five views, each reading one table of its own
-- (a storage generation: rfm_model_storage_name) through the guard
-- rfm_model_visible and nothing else, and a history table -- or, for a
-- model made before 1.2, five materialized views and the table -- all the
-- owner's, as are an incremental model's tables of states, changes, work and added orders
-- and its capture function.  Anything else (a view that calls other functions, an object
-- given to another role) stops the work, so that nobody's code runs in its
-- place.
CREATE FUNCTION @extschema@.rfm_model_owner(m @extschema@.rfm_model) RETURNS regrole
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner_oid oid := (SELECT r.oid FROM pg_catalog.pg_roles r WHERE r.rolname = m.owner);
    nsp oid := (SELECT n.oid FROM pg_catalog.pg_namespace n WHERE n.nspname = m.schema_name);
    views_kind "char";
    bad record;
BEGIN
    IF owner_oid IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_object',
            MESSAGE = format('the owner of model "%s", role "%s", does not exist', m.name, m.owner),
            HINT = 'Drop the model with rfm_drop_model() as a superuser.';
    END IF;
    -- materialized views: a model made before 1.2's tables
    views_kind := CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                                    WHERE c.relnamespace = nsp AND c.relname = m.name || '_summary'
                                      AND c.relkind = 'm')
                       THEN 'm' ELSE 'v' END;
    SELECT x.suffix, c.relkind, c.relowner INTO bad
    FROM pg_catalog.unnest(ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto', '_history'])
             AS x(suffix)
         LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = nsp AND c.relname = m.name || x.suffix
    WHERE c.oid IS NULL OR c.relowner <> owner_oid
       OR c.relkind <> CASE x.suffix WHEN '_history' THEN 'r' ELSE views_kind END
    LIMIT 1;
    IF NOT FOUND AND views_kind = 'v' THEN
        -- what each view's rule depends on: itself, one table of its own of
        -- the owner's (read and named to the guard), the guard function;
        -- _customers also the table of its ranks' keys and rfm_model_rank
        SELECT x.suffix, 'v'::"char" AS relkind, owner_oid AS relowner, d.tables, d.others INTO bad
        FROM pg_catalog.unnest(ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto']) AS x(suffix)
             JOIN pg_catalog.pg_class v ON v.relnamespace = nsp AND v.relname = m.name || x.suffix
             JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid
             CROSS JOIN LATERAL (
                 SELECT count(DISTINCT t.oid) AS tables,
                        count(*) FILTER (WHERE NOT ((dd.refclassid = 'pg_catalog.pg_class'::regclass
                                                     AND (dd.refobjid = v.oid OR t.oid IS NOT NULL))
                                                    OR (dd.refclassid = 'pg_catalog.pg_proc'::regclass
                                                        AND (dd.refobjid = '@extschema@.rfm_model_visible(regclass)'::regprocedure
                                                             OR (x.suffix = '_customers'
                                                                 AND dd.refobjid = '@extschema@.rfm_model_rank(float8[], float8[], float8[], float8, integer)'::regprocedure)))))
                            AS others
                 FROM pg_catalog.pg_depend dd
                      LEFT JOIN pg_catalog.pg_class t
                        ON dd.refclassid = 'pg_catalog.pg_class'::regclass AND t.oid = dd.refobjid
                       AND t.relnamespace = nsp AND t.relkind = 'r' AND t.relowner = owner_oid
                       AND t.relname IN (@extschema@.rfm_model_storage_name(m.name, x.suffix, 'a'),
                                         @extschema@.rfm_model_storage_name(m.name, x.suffix, 'b'),
                                         CASE WHEN x.suffix = '_customers'
                                              THEN @extschema@.rfm_model_storage_name(m.name, '_ranks', 'a') END,
                                         CASE WHEN x.suffix = '_customers'
                                              THEN @extschema@.rfm_model_storage_name(m.name, '_ranks', 'b') END)
                 WHERE dd.classid = 'pg_catalog.pg_rewrite'::regclass AND dd.objid = r.oid) d
        WHERE d.tables <> CASE x.suffix WHEN '_customers' THEN 2 ELSE 1 END OR d.others > 0
        LIMIT 1;
    END IF;
    -- an incremental model's tables and capture function: the owner's, or
    -- missing (a refresh makes them again)
    IF NOT FOUND AND m.incremental THEN
        SELECT x.suffix, c.relkind, c.relowner INTO bad
        FROM pg_catalog.unnest(ARRAY['$state', '$changes', '$work', '$added']) AS x(suffix)
             JOIN pg_catalog.pg_class c ON c.relnamespace = nsp AND c.relname = m.name || x.suffix
        WHERE c.relowner <> owner_oid OR c.relkind <> 'r'
        UNION ALL
        SELECT '$capture', 'f', p.proowner
        FROM pg_catalog.pg_proc p
        WHERE p.pronamespace = nsp AND p.proname = m.name || '$capture' AND p.pronargs = 0
          AND p.proowner <> owner_oid
        LIMIT 1;
    END IF;
    IF FOUND THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%I.%I of model "%s" is not the %s that rfm_create_model made',
                             m.schema_name, m.name || bad.suffix, m.name,
                             CASE WHEN bad.suffix IN ('_history', '$state', '$changes', '$work', '$added') THEN 'table'
                                  WHEN bad.suffix = '$capture' THEN 'function'
                                  WHEN views_kind = 'm' THEN 'materialized view' ELSE 'view' END),
            DETAIL = CASE WHEN bad.relkind IS NULL THEN 'It does not exist.'
                          WHEN bad.relowner <> owner_oid
                          THEN format('It belongs to role "%s", the model to role "%s".',
                                      pg_catalog.pg_get_userbyid(bad.relowner), m.owner)
                          WHEN bad.suffix IN ('_summary', '_fit', '_customers', '_segments', '_pareto')
                               AND views_kind = 'v' AND bad.relkind = 'v'
                          THEN format('It must read one table of its own, %I.%I or %I.%I, of the model''s owner, and nothing else.',
                                      m.schema_name, @extschema@.rfm_model_storage_name(m.name, bad.suffix, 'a'),
                                      m.schema_name, @extschema@.rfm_model_storage_name(m.name, bad.suffix, 'b'))
                          ELSE format('It is of relkind ''%s''.', bad.relkind) END,
            HINT = 'rfm works on a model''s objects as their owner: give them back to the model''s owner, or drop the model with rfm_drop_model() and create it again.';
    END IF;
    RETURN owner_oid::regrole;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_owner(@extschema@.rfm_model) IS
    'The owner of a model, as whom rfm works on its objects, after checking that they are the views (each over a table of its own), or materialized views, and the table rfm_create_model made, all the owner''s, as are an incremental model''s tables ($state, $changes, $work, $added) and capture function';

-- The name of the table that holds a model's view's data in storage
-- generation gen ('a' or 'b'): <name>$sum_a for <name>_summary and so on
-- (the longest, 6 bytes after a name of at most 53, fits in 63).
CREATE FUNCTION @extschema@.rfm_model_storage_name(model text, view_suffix text, gen text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT model || '$' || CASE view_suffix WHEN '_summary' THEN 'sum' WHEN '_fit' THEN 'fit'
                                        WHEN '_customers' THEN 'cus' WHEN '_segments' THEN 'seg'
                                        WHEN '_pareto' THEN 'par' WHEN '_ranks' THEN 'rnk' END || '_' || gen
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_storage_name(text, text, text) IS
    'The name of the table holding the data of a model''s view in storage generation a or b: <name>$sum_a, $fit_a, $cus_a, $seg_a, $par_a, and of the keys of _customers'' ranks (view_suffix _ranks): $rnk_a';

-- The table a model's view reads now (NULL for a materialized view).
CREATE FUNCTION @extschema@.rfm_model_storage(m @extschema@.rfm_model, view_suffix text) RETURNS regclass
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT t.oid::regclass
FROM pg_catalog.pg_namespace n
     JOIN pg_catalog.pg_class v ON v.relnamespace = n.oid AND v.relname = m.name || view_suffix AND v.relkind = 'v'
     JOIN pg_catalog.pg_rewrite r ON r.ev_class = v.oid
     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = r.oid
                                AND d.refclassid = 'pg_catalog.pg_class'::regclass AND d.refobjid <> v.oid
     JOIN pg_catalog.pg_class t ON t.oid = d.refobjid AND t.relkind = 'r'
                                AND t.relnamespace = n.oid
                                AND t.relname IN (@extschema@.rfm_model_storage_name(m.name, view_suffix, 'a'),
                                                  @extschema@.rfm_model_storage_name(m.name, view_suffix, 'b'))
WHERE n.nspname = m.schema_name
LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_storage(@extschema@.rfm_model, text) IS
    'The table that a model''s view (_summary, _fit, _customers, _segments, _pareto) reads now: the storage generation of its last refresh; NULL for a materialized view';

CREATE FUNCTION @extschema@.rfm_model_visible(regclass) RETURNS boolean
LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'rfm_model_visible';
COMMENT ON FUNCTION @extschema@.rfm_model_visible(regclass) IS
    'The guard of a model''s views: true when the given table, built by a refresh, is visible to the query''s snapshot; otherwise ERROR 40001 (a transaction whose snapshot predates the refresh would read it as empty)';

-- As whom a role reads a model's objects: as the model's owner when the role
-- may become it (the owner's code, if any, then runs with the owner's
-- rights); else as itself, when it may SELECT them and they run no code of
-- anybody's -- plain tables, a model's views over its tables (checked by
-- rfm_model_owner) and materialized views, without row-level security, of
-- built-in column types (a type of the owner's could bring a
-- cast or an output function of the owner's).  Otherwise 42501.
CREATE FUNCTION @extschema@.rfm_model_reader(m @extschema@.rfm_model, suffixes text[]) RETURNS regrole
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner regrole := @extschema@.rfm_model_owner(m);
    suffix text;
    rel regclass;
BEGIN
    IF pg_catalog.pg_has_role(owner, 'MEMBER') THEN
        RETURN owner;
    END IF;
    FOREACH suffix IN ARRAY suffixes LOOP
        rel := format('%I.%I', m.schema_name, m.name || suffix)::regclass;
        IF NOT pg_catalog.has_table_privilege(rel, 'SELECT') THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
                MESSAGE = format('permission denied for %s of model "%s"', rel, m.name),
                HINT = format('The model''s owner, role "%s", can GRANT SELECT ON it.', m.owner);
        END IF;
        IF EXISTS (SELECT 1 FROM pg_catalog.pg_class c
                   WHERE c.oid IN (rel, @extschema@.rfm_model_storage(m, suffix)) AND c.relrowsecurity)
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
                      WHERE a.attrelid = rel AND a.attnum > 0 AND NOT a.attisdropped
                        AND t.typnamespace <> 'pg_catalog'::regnamespace
                        AND NOT (t.typtype = 'd' AND EXISTS (
                                     SELECT 1 FROM pg_catalog.pg_type b
                                     WHERE b.oid = t.typbasetype AND b.typnamespace = 'pg_catalog'::regnamespace))) THEN
            RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
                MESSAGE = format('%s of model "%s" is read through rfm by roles that may act as its owner only', rel, m.name),
                DETAIL = 'It has row-level security or a column of a type that is not built in, which could run its owner''s code.',
                HINT = format('Ask role "%s" to grant you membership, or query it directly.', m.owner);
        END IF;
    END LOOP;
    RETURN current_user::regrole;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_reader(@extschema@.rfm_model, text[]) IS
    'The role as whom the caller reads the given objects of a model: its owner, when the caller may become it; else the caller, when it may SELECT them and they cannot run anybody''s code (no row-level security, built-in column types); else 42501';

-- Refresh the materialized views of a model made with 1.1, in dependency
-- order, CONCURRENTLY for a populated view: readers are not blocked.  Models
-- of 1.2 are created and refreshed by rfm_model_rebuild; create_views, 1.1's
-- way of creating, is refused.
CREATE OR REPLACE FUNCTION @extschema@.rfm_model_build(model text, create_views boolean)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    suffix text;
    populated boolean;
BEGIN
    IF create_views THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'rfm_model_build no longer creates a model''s views',
            HINT = 'Create models with rfm_create_model.';
    END IF;
    PERFORM @extschema@.rfm_model_owner(m);
    IF m.scoring = 'fixed' AND (m.r_breaks IS NULL OR m.f_breaks IS NULL OR m.m_breaks IS NULL) THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = format('model "%s" scores with fixed cut points, but some of them are NULL', m.name),
            HINT = 'Set r_breaks, f_breaks and m_breaks in rfm_model.';
    END IF;
    FOREACH suffix IN ARRAY ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto'] LOOP
        SELECT c.relispopulated INTO populated
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = m.schema_name AND c.relname = m.name || suffix AND c.relkind = 'm';
        EXECUTE format('REFRESH MATERIALIZED VIEW %s %I.%I', CASE WHEN populated THEN 'CONCURRENTLY' ELSE '' END,
                       m.schema_name, m.name || suffix);
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_build(text, boolean) IS
    'Refreshes the materialized views of a model made with 1.1 (CONCURRENTLY when populated), as its owner; models of 1.2 are built by rfm_model_rebuild';

-- Build a model's data into new tables and point its views at them (create
-- them, when creating): the refresh of a model of 1.2.  The tables of the
-- other storage generation are built and indexed as the model's owner while
-- readers go on reading the current ones; _history gets its snapshot from
-- the new _customers table; then, in a moment at the end, the views are
-- replaced to read the new tables (_customers putting the groups' strategies
-- of this moment in place of their codes; tried for 0.1 s at a time, so that a
-- long reader does not make others queue behind the refresh), and the old
-- tables dropped if nobody holds them (else by the next refresh).  All in the caller's transaction: readers see the old
-- data until it commits and then the new, never a mixture, and a failure
-- leaves the old tables as they were.
CREATE FUNCTION @extschema@.rfm_model_rebuild(m @extschema@.rfm_model, creating boolean, full_rebuild boolean DEFAULT false,
                                              OUT customers bigint, OUT as_of timestamptz, OUT message text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    owner regrole := CASE WHEN creating THEN m.owner::regrole ELSE @extschema@.rfm_model_owner(m) END;
    suffixes text[] := ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto'];
    cur regclass := @extschema@.rfm_model_storage(m, '_summary');
    old_gen text;
    gen text;
    sum_old_gen text;
    sum_gen text;
    eq text;
    stmt text;
    v record;
    suffix text;
    t text;
    attempt integer := 0;
    saved_lock_timeout text := pg_catalog.current_setting('lock_timeout');
    strategies text := @extschema@.rfm_model_group_strategies();
    keep_summary boolean := false;
    cus_cur regclass := @extschema@.rfm_model_storage(m, '_customers');
    cus_old_gen text;
    cus_gen text;
    keep_customers boolean := false;
    old_ranks regclass;
    n bigint;
    fit_customers bigint;
    fit_as_of timestamptz;
BEGIN
    -- The storage generation (a or b) of the tables of _fit, _segments,
    -- _pareto and the ranks' keys, new at every refresh; and of _summary's
    -- and _customers', which an incremental model can keep for several.
    SELECT right(c.relname, 1) INTO old_gen FROM pg_catalog.pg_class c
    WHERE c.oid = coalesce(@extschema@.rfm_model_storage(m, '_fit'), cus_cur, cur);
    gen := CASE old_gen WHEN 'a' THEN 'b' ELSE 'a' END;
    SELECT right(c.relname, 1) INTO sum_old_gen FROM pg_catalog.pg_class c WHERE c.oid = cur;
    SELECT right(c.relname, 1) INTO cus_old_gen FROM pg_catalog.pg_class c WHERE c.oid = cus_cur;
    -- What is built from _summary reads it in the order it was written (by
    -- customer), so that its sums of floats, fits and means come out the
    -- same for the same customers however their summaries were made (a
    -- full grouping or an incremental model's states): no scan starting
    -- midway (synchronize_seqscans), no parallel workers after _summary.
    -- (Settings of this function's own level end with it.)
    PERFORM pg_catalog.set_config('synchronize_seqscans', 'off', true);
    -- an incremental model: its states first, _summary is built from them
    IF m.incremental THEN
        SELECT f.message, f.keep_summary INTO message, keep_summary
        FROM @extschema@.rfm_model_fold(m, owner, full_rebuild) f;
    END IF;
    keep_summary := keep_summary AND cur IS NOT NULL;
    sum_gen := CASE WHEN keep_summary THEN sum_old_gen WHEN sum_old_gen = 'a' THEN 'b' ELSE 'a' END;
    -- _customers too, when its rows were made with what this refresh has
    -- (no CLV, whose fitted models change every row; the same basis) but
    -- the population's figures: the rows that change are replaced in place
    IF keep_summary AND NOT m.clv AND cus_cur IS NOT NULL THEN
        old_ranks := pg_catalog.to_regclass(format('%I.%I', m.schema_name,
                                                   @extschema@.rfm_model_storage_name(m.name, '_ranks', cus_old_gen)));
        keep_customers := old_ranks IS NOT NULL
            AND (SELECT q.basis FROM @extschema@.rfm_owner_query(owner, format('SELECT r.basis FROM %s r', old_ranks))
                     AS q(basis text))
                = @extschema@.rfm_model_customers_basis(m, (SELECT COALESCE(vi.as_of, pg_catalog.now())
                                                            FROM @extschema@.rfm_model_view_input vi
                                                            WHERE vi.name = m.name));
        keep_customers := coalesce(keep_customers, false);
    END IF;
    cus_gen := CASE WHEN keep_customers THEN cus_old_gen WHEN cus_old_gen = 'a' THEN 'b' ELSE 'a' END;
    IF keep_customers THEN
        message := message || ', the rows of _customers that do not change kept';
    END IF;
    FOR v IN SELECT * FROM @extschema@.rfm_model_view_sql(m, gen, CASE WHEN keep_summary THEN cur END, sum_gen,
                                                          cus_gen, CASE WHEN keep_customers THEN cus_cur END) LOOP
        t := @extschema@.rfm_model_storage_name(m.name, v.view_suffix,
                                                CASE v.view_suffix WHEN '_summary' THEN sum_gen
                                                                   WHEN '_customers' THEN cus_gen ELSE gen END);
        IF v.view_suffix = '_customers' THEN
            -- its fill makes the tables of _segments, _pareto and (unless
            -- it keeps _customers' table) the ranks' keys: one of this
            -- generation left behind goes now
            FOREACH suffix IN ARRAY ARRAY['_segments', '_pareto', '_ranks'] LOOP
                CONTINUE WHEN suffix = '_ranks' AND keep_customers;
                stmt := format('%I.%I', m.schema_name,
                               @extschema@.rfm_model_storage_name(m.name, suffix,
                                                                  CASE WHEN suffix = '_ranks' THEN cus_gen ELSE gen END));
                IF pg_catalog.to_regclass(stmt) IS NOT NULL THEN
                    PERFORM @extschema@.rfm_owner_exec(owner, format('DROP TABLE %s', stmt));
                END IF;
            END LOOP;
        END IF;
        IF v.view_suffix = '_customers' AND keep_customers THEN
            -- the rows that change replace theirs in the current table, in
            -- place: readers see the old rows until the refresh commits
            FOREACH stmt IN ARRAY v.fill LOOP
                PERFORM @extschema@.rfm_owner_exec(owner, stmt);
            END LOOP;
        ELSIF v.view_suffix = '_summary' AND keep_summary THEN
            -- The summary rows of the customers read again or with new
            -- orders replace theirs in the current table, in place: readers
            -- see the old rows until the refresh commits, as with new
            -- tables.  What reads the table sorts by customer
            -- (rfm_model_customers) or does not depend on the order (the
            -- fits sort their rows).
            eq := @extschema@.rfm_model_eq_operator((SELECT a.atttypid FROM pg_catalog.pg_attribute a
                                                     WHERE a.attrelid = cur AND a.attname = 'customer'));
            -- (the rows of the summary, counted: every row has an order)
            SELECT q.n, q.a INTO fit_customers, fit_as_of
            FROM @extschema@.rfm_owner_query(owner, format('SELECT f.customers, f.as_of FROM %I.%I f',
                     m.schema_name, @extschema@.rfm_model_storage_name(m.name, '_fit', old_gen)))
                 AS q(n bigint, a timestamptz);
            fit_customers := fit_customers - @extschema@.rfm_owner_exec(owner, format(
                'DELETE FROM %1$s s WHERE s.customer %3$s ANY (ARRAY(SELECT w.customer FROM %2$I.%4$I w))',
                cur, m.schema_name, eq, m.name || '$work'));
            fit_customers := fit_customers
                             + @extschema@.rfm_owner_exec(owner, format('INSERT INTO %s %s', cur, v.definition));
        ELSE
            -- a table of this generation left behind (a refresh's old tables
            -- that a reader of its own held) goes now
            -- (not one that _customers' fill has just made)
            IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, t)) IS NOT NULL
               AND v.fill IS DISTINCT FROM '{}' THEN
                PERFORM @extschema@.rfm_owner_exec(owner, format('DROP TABLE %I.%I', m.schema_name, t));
            END IF;
            IF v.view_suffix = '_fit' AND NOT m.clv AND fit_customers > 0 THEN
                -- without the fits, _fit is _summary's count and as_of:
                -- known from the last one and the rows replaced
                PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE TABLE %I.%I AS %s WITH NO DATA', m.schema_name, t,
                                                                 v.definition));
                PERFORM @extschema@.rfm_owner_exec(owner, format(
                    'INSERT INTO %I.%I (as_of, customers, time_unit, purchase_model) VALUES (%s, %s, %L, %L)',
                    m.schema_name, t, @extschema@.rfm_timestamptz_sql(fit_as_of), fit_customers, m.time_unit,
                    m.purchase_model));
            ELSIF v.fill IS NULL THEN
                PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE TABLE %I.%I AS %s', m.schema_name, t,
                                                                 v.definition));
            ELSIF v.fill = '{}' THEN
                -- made and filled by _customers' fill
                NULL;
            ELSE
                PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE TABLE %I.%I AS %s WITH NO DATA',
                                                                 m.schema_name, t, v.definition));
                IF v.view_suffix = '_customers' AND m.incremental AND NOT m.clv THEN
                    -- rows its refreshes replace in place stay on their page
                    PERFORM @extschema@.rfm_owner_exec(owner, format('ALTER TABLE %I.%I SET (fillfactor = 90)',
                                                                     m.schema_name, t));
                END IF;
                FOREACH stmt IN ARRAY v.fill LOOP
                    PERFORM @extschema@.rfm_owner_exec(owner, stmt);
                END LOOP;
            END IF;
            IF v.unique_column IS NOT NULL THEN
                PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE UNIQUE INDEX ON %I.%I (%I)', m.schema_name, t,
                                                                 v.unique_column));
            ELSIF v.view_suffix = '_summary' AND m.incremental THEN
                -- an incremental refresh replaces the rows of a few
                -- customers in place: found by customer
                PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE INDEX ON %I.%I USING %s (customer)',
                    m.schema_name, t,
                    @extschema@.rfm_model_state_index_method((SELECT a.atttypid FROM pg_catalog.pg_attribute a
                                                              WHERE a.attrelid = format('%I.%I', m.schema_name, t)::regclass
                                                                AND a.attname = 'customer'))));
            END IF;
            PERFORM @extschema@.rfm_owner_exec(owner, format('COMMENT ON TABLE %I.%I IS %L', m.schema_name, t,
                format('rfm model %s: the data of view %I.%I since a refresh (rfm replaces this table at each refresh: read the view)',
                       m.name, m.schema_name, m.name || v.view_suffix)));
        END IF;
        IF v.view_suffix = '_summary' THEN
            PERFORM pg_catalog.set_config('max_parallel_workers_per_gather', '0', true);
        END IF;
        -- fixed scoring without given breaks: cut where this first build's data cuts
        IF v.view_suffix = '_summary' AND m.scoring = 'fixed' AND m.r_breaks IS NULL THEN
            SELECT q.r, q.f, q.m INTO m.r_breaks, m.f_breaks, m.m_breaks
            FROM @extschema@.rfm_owner_query(owner,
                     format('SELECT @extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY -s.recency), '
                            '@extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY s.orders::float8), '
                            '@extschema@.rfm_breaks(%1$s) WITHIN GROUP (ORDER BY s.revenue::float8) '
                            'FROM %2$I.%3$I s WHERE s.orders > 0', m.bins, m.schema_name, t))
                 AS q(r float8[], f float8[], m float8[]);
            IF m.r_breaks IS NULL THEN
                RAISE EXCEPTION USING ERRCODE = 'no_data_found',
                    MESSAGE = format('model "%s" cannot take fixed cut points from its data: no customer has an order', m.name),
                    HINT = 'Give r_breaks, f_breaks and m_breaks, or use scoring => ''quantile''.';
            END IF;
            PERFORM @extschema@.rfm_catalog_write('set', m.name,
                jsonb_build_object('r_breaks', m.r_breaks, 'f_breaks', m.f_breaks, 'm_breaks', m.m_breaks));
        ELSIF v.view_suffix = '_summary' AND m.scoring = 'fixed'
              AND (m.r_breaks IS NULL OR m.f_breaks IS NULL OR m.m_breaks IS NULL) THEN
            RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
                MESSAGE = format('model "%s" scores with fixed cut points, but some of them are NULL', m.name),
                HINT = 'Set r_breaks, f_breaks and m_breaks in rfm_model.';
        END IF;
    END LOOP;

    -- (without history or leads, the customers are those _fit counts: no
    -- count of the new table)
    IF NOT m.keep_history AND m.leads IS NULL THEN
        SELECT q.n, q.a INTO customers, as_of
        FROM @extschema@.rfm_owner_query(owner, format('SELECT f.customers, f.as_of FROM %I.%I f', m.schema_name,
                                                       @extschema@.rfm_model_storage_name(m.name, '_fit', gen)))
             AS q(n bigint, a timestamptz);
        customers := coalesce(customers, 0);
    ELSE
        SELECT k.customers, k.as_of INTO customers, as_of
        FROM @extschema@.rfm_model_keep_snapshot(m, owner,
                 @extschema@.rfm_model_storage_name(m.name, '_customers', cus_gen)::name, strategies) k;
    END IF;

    -- The swap: the views are replaced together in a subtransaction that
    -- gives up after 0.1 s and is tried again, so that a long reader makes
    -- the refresh wait, not the readers arriving meanwhile.  (LOCK TABLE on
    -- a view would also lock the tables under it, which autovacuum may be
    -- working on.)
    LOOP
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '100ms', true);
            FOREACH suffix IN ARRAY suffixes LOOP
                CONTINUE WHEN suffix = '_summary' AND keep_summary;
                t := @extschema@.rfm_model_storage_name(m.name, suffix,
                                                        CASE suffix WHEN '_summary' THEN sum_gen
                                                                    WHEN '_customers' THEN cus_gen ELSE gen END);
                -- (_customers: the ranks from the keys of this refresh)
                PERFORM @extschema@.rfm_owner_exec(owner,
                    format('CREATE OR REPLACE VIEW %1$I.%2$I AS SELECT %5$s FROM %1$I.%3$I c WHERE @extschema@.rfm_model_visible(%4$L::pg_catalog.regclass)%6$s',
                           m.schema_name, m.name || suffix, t, format('%I.%I', m.schema_name, t),
                           CASE suffix WHEN '_customers'
                                       THEN @extschema@.rfm_model_customers_columns(strategies,
                                                format('%I.%I', m.schema_name,
                                                       @extschema@.rfm_model_storage_name(m.name, '_ranks', cus_gen)))
                                       ELSE 'c.*' END,
                           CASE suffix WHEN '_customers'
                                       THEN format(' AND @extschema@.rfm_model_visible(%L::pg_catalog.regclass)',
                                                   format('%I.%I', m.schema_name,
                                                          @extschema@.rfm_model_storage_name(m.name, '_ranks', cus_gen)))
                                       ELSE '' END));
            END LOOP;
            PERFORM pg_catalog.set_config('lock_timeout', saved_lock_timeout, true);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            PERFORM pg_catalog.pg_sleep(least(0.01 * attempt, 0.5));
        END;
    END LOOP;
    IF creating THEN
        FOREACH suffix IN ARRAY suffixes LOOP
            PERFORM @extschema@.rfm_model_comment(m.schema_name, m.name, suffix, 'VIEW');
        END LOOP;
    END IF;
    -- The old tables go now if nobody holds them (a reader of its own, or
    -- autovacuum); otherwise the next refresh drops them before it builds.
    IF old_gen IS NOT NULL THEN
        BEGIN
            PERFORM pg_catalog.set_config('lock_timeout', '10ms', true);
            PERFORM @extschema@.rfm_owner_exec(owner, format('DROP TABLE IF EXISTS %s',
                (SELECT string_agg(format('%I.%I', m.schema_name,
                                          @extschema@.rfm_model_storage_name(m.name, x,
                                              CASE x WHEN '_summary' THEN sum_old_gen
                                                     WHEN '_customers' THEN cus_old_gen
                                                     WHEN '_ranks' THEN cus_old_gen ELSE old_gen END)), ', ')
                 FROM pg_catalog.unnest(suffixes || '_ranks'::text) x
                 WHERE NOT (x = '_summary' AND keep_summary) AND NOT (x IN ('_customers', '_ranks') AND keep_customers)
                   AND CASE x WHEN '_summary' THEN sum_old_gen WHEN '_customers' THEN cus_old_gen
                              WHEN '_ranks' THEN cus_old_gen ELSE old_gen END IS NOT NULL)));
            PERFORM pg_catalog.set_config('lock_timeout', saved_lock_timeout, true);
        EXCEPTION WHEN lock_not_available THEN
            NULL;
        END;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_rebuild(@extschema@.rfm_model, boolean, boolean) IS
    'Builds (an incremental model: after bringing its stored states up to date, all of them read again with full_rebuild) a model''s data into the tables of its other storage generation as its owner (an incremental model whose other summary rows can be kept: the rows of the customers read again or with new orders replaced in its current _summary table), keeps the history snapshot, then points the views at the new tables (tried for 0.1 s at a time until the views are free) and drops the old ones if nobody holds them (else the next refresh does); creating: makes the views; returns the customers, the as-of time and, for an incremental model, what was read again';

-- ==== Creating and dropping models ====

-- schema_name's default is the caller's current schema: evaluated where the
-- call is made, since inside the function search_path is pinned.
DROP FUNCTION @extschema@.rfm_create_model(text, regclass, name, name, name, name, timestamptz, integer, text,
                                           float8[], float8[], float8[], text, boolean, float8, float8, float8,
                                           float8, boolean);
CREATE FUNCTION @extschema@.rfm_create_model(
    name text, source regclass, customer_column name, time_column name, amount_column name,
    schema_name name DEFAULT pg_catalog.current_schema(), as_of timestamptz DEFAULT NULL, bins integer DEFAULT 5,
    scoring text DEFAULT 'quantile',
    r_breaks float8[] DEFAULT NULL, f_breaks float8[] DEFAULT NULL, m_breaks float8[] DEFAULT NULL,
    time_unit text DEFAULT 'day', clv boolean DEFAULT true, clv_horizon float8 DEFAULT NULL,
    margin float8 DEFAULT 1, discount_rate float8 DEFAULT 0, l2 float8 DEFAULT 0.0001,
    keep_history boolean DEFAULT true, purchase_model text DEFAULT 'bgnbd',
    leads regclass DEFAULT NULL, leads_column name DEFAULT NULL,
    cost_per_order float8 DEFAULT 0, cost_per_customer float8 DEFAULT 0, incremental boolean DEFAULT false)
RETURNS SETOF regclass
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model;
    rel record;
    customer_type text;
    time_typid oid;
    amount_typid oid;
    created boolean := false;
    n bigint;
    snap_as_of timestamptz;
    log_id bigint;
    suffix text;
    problem text;
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
    IF purchase_model IS NULL OR purchase_model NOT IN ('bgnbd', 'mbgnbd', 'pareto_nbd') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown purchase model "%s"', purchase_model),
            HINT = 'Use bgnbd (BG/NBD), mbgnbd (MBG/NBD) or pareto_nbd (Pareto/NBD).';
    END IF;
    IF cost_per_order IS NULL OR cost_per_customer IS NULL OR margin IS NULL
       OR NOT (cost_per_order > '-infinity' AND cost_per_order < 'infinity'
               AND cost_per_customer > '-infinity' AND cost_per_customer < 'infinity') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'margin, cost_per_order and cost_per_customer must be finite numbers';
    END IF;
    IF leads IS NOT NULL THEN
        m.leads_column := coalesce(leads_column, customer_column);
        IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = leads AND a.attname = m.leads_column AND a.attnum > 0
                         AND NOT a.attisdropped) THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_column',
                MESSAGE = format('column "%s" of %s does not exist', m.leads_column, leads),
                HINT = 'Name the customer column of the leads table with leads_column.';
        END IF;
        m.leads := format('%I.%I', (SELECT n.nspname FROM pg_catalog.pg_class c
                                    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = leads),
                          (SELECT c.relname FROM pg_catalog.pg_class c WHERE c.oid = leads));
    ELSIF leads_column IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'leads_column goes with leads';
    END IF;
    m.purchase_model := purchase_model;
    m.cost_per_order := cost_per_order;
    m.cost_per_customer := cost_per_customer;
    m.views_version := '1.2';
    m.incremental := coalesce(incremental, false);
    problem := CASE WHEN m.incremental THEN @extschema@.rfm_model_incremental_problem(m) END;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('model "%s" cannot be incremental: %s', m.name, problem),
            HINT = 'Create it with incremental => false (every refresh reads the whole source), or on a plain table of the orders.';
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

    m.schema_name := schema_name;
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
    PERFORM @extschema@.rfm_catalog_write('register', m.name, pg_catalog.to_jsonb(m));

    EXECUTE format('CREATE TABLE %I.%I (as_of timestamptz NOT NULL, customer %s NOT NULL, %s, '
                   'PRIMARY KEY (as_of, customer))',
                   m.schema_name, m.name || '_history', customer_type, @extschema@.rfm_model_history_columns());
    PERFORM @extschema@.rfm_model_comment(m.schema_name, m.name, '_history', 'TABLE');

    log_id := @extschema@.rfm_catalog_write('log_start', m.name);
    PERFORM pg_catalog.set_config('TimeZone', m.time_zone, true);
    SELECT b.customers, b.as_of INTO n, snap_as_of FROM @extschema@.rfm_model_rebuild(m, true, true) b;
    PERFORM @extschema@.rfm_catalog_write('log_finish', m.name,
        jsonb_build_object('id', log_id, 'as_of', snap_as_of, 'customers', n, 'outcome', 'ok',
                           'message', 'created'));

    FOREACH suffix IN ARRAY ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto', '_history'] LOOP
        RETURN NEXT format('%I.%I', m.schema_name, m.name || suffix)::regclass;
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_create_model(text, regclass, name, name, name, name, timestamptz, integer, text,
                                                 float8[], float8[], float8[], text, boolean, float8, float8, float8,
                                                 float8, boolean, text, regclass, name, float8, float8, boolean) IS
    'Creates a model of an orders table or view: views <name>_summary, _fit, _customers, _segments, _pareto (over tables <name>$sum_a ... that each refresh replaces) and the table <name>_history in schema_name (default: the current schema), owned by the caller, built now; returns them. purchase_model: bgnbd, mbgnbd or pareto_nbd; leads: a table of customers whose customers without an order are leads; cost_per_order, cost_per_customer: the costs of profit; incremental: keep per-customer states and the changed customers (triggers on the source, a plain table), so that a refresh reads only those from the source';

-- Take a model's refresh lock (a row lock on its rfm_model row, held to the
-- end of the transaction), or say who holds it: 55P03.
CREATE FUNCTION @extschema@.rfm_model_lock(m @extschema@.rfm_model, doing text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    holder integer;
    log_row bigint;
BEGIN
    IF @extschema@.rfm_catalog_write('lock', m.name) = 1 THEN
        RETURN;
    END IF;
    -- the row's xmax is the holder's transaction (no one else locks the row)
    SELECT l.pid INTO holder
    FROM @extschema@.rfm_model rm
         JOIN pg_catalog.pg_locks l ON l.locktype = 'transactionid' AND l.mode = 'ExclusiveLock' AND l.granted
                                    AND l.transactionid = rm.xmax
    WHERE rm.name = m.name;
    -- a refresh outside a transaction block has committed its log row
    SELECT l.id INTO log_row FROM @extschema@.rfm_refresh_log l
    WHERE l.model = m.name AND l.pid = holder AND l.outcome = 'running'
    ORDER BY l.id DESC LIMIT 1;
    RAISE EXCEPTION USING ERRCODE = 'lock_not_available',
        MESSAGE = format('model "%s" is being refreshed or dropped, so it cannot be %s now', m.name, doing),
        DETAIL = CASE WHEN holder IS NULL THEN 'The session that held its lock has just ended.'
                      WHEN log_row IS NOT NULL
                      THEN format('Process %s is refreshing it (rfm_refresh_log shows it running).', holder)
                      ELSE format('Process %s holds its lock in a transaction that has not ended: a refresh '
                                  'or drop inside a transaction block, or a drop.', holder) END,
        HINT = CASE WHEN holder IS NULL THEN 'Try again.'
                    ELSE format('Wait for the transaction of process %s to end (pg_stat_activity shows it).',
                                holder) END;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_lock(@extschema@.rfm_model, text) IS
    'Takes the lock of one refresh or drop of a model (a row lock on its rfm_model row until the end of the transaction), or raises 55P03 naming the process that holds it';

CREATE OR REPLACE FUNCTION @extschema@.rfm_drop_model(name text) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
    suffix text;
    kind "char";
    gen text;
    t text;
BEGIN
    PERFORM @extschema@.rfm_model_lock(m, 'dropped');
    IF m.cron_job_id IS NOT NULL OR m.cron_job IS NOT NULL THEN
        IF pg_catalog.to_regprocedure('cron.unschedule(bigint)') IS NOT NULL THEN
            PERFORM @extschema@.rfm_unschedule(m.name);
        ELSE
            RAISE NOTICE 'model "%" had the pg_cron job %, but pg_cron is not installed here: nothing to unschedule',
                m.name, coalesce(m.cron_job_id::text, m.cron_job);
        END IF;
    END IF;
    -- RESTRICT: a view of the user's on top of the model stops the drop
    FOREACH suffix IN ARRAY ARRAY['_pareto', '_segments', '_customers', '_fit', '_summary'] LOOP
        SELECT c.relkind INTO kind
        FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = m.schema_name AND c.relname = m.name || suffix;
        IF kind = 'm' THEN
            EXECUTE format('DROP MATERIALIZED VIEW %I.%I', m.schema_name, m.name || suffix);
        ELSIF kind = 'v' THEN
            EXECUTE format('DROP VIEW %I.%I', m.schema_name, m.name || suffix);
        END IF;
        FOREACH gen IN ARRAY ARRAY['a', 'b'] LOOP
            IF pg_catalog.to_regclass(format('%I.%I', m.schema_name,
                                             @extschema@.rfm_model_storage_name(m.name, suffix, gen))) IS NOT NULL THEN
                EXECUTE format('DROP TABLE %I.%I', m.schema_name, @extschema@.rfm_model_storage_name(m.name, suffix, gen));
            END IF;
        END LOOP;
    END LOOP;
    -- the keys of _customers' ranks, and what an incremental refresh left
    FOREACH gen IN ARRAY ARRAY['a', 'b', 'new', 'rnk_new'] LOOP
        t := format('%I.%I', m.schema_name, CASE gen WHEN 'new' THEN m.name || '$cus_new'
                                                 WHEN 'rnk_new' THEN m.name || '$rnk_new'
                                                 ELSE @extschema@.rfm_model_storage_name(m.name, '_ranks', gen) END);
        IF pg_catalog.to_regclass(t) IS NOT NULL THEN
            EXECUTE format('DROP TABLE %s', t);
        END IF;
    END LOOP;
    EXECUTE format('DROP TABLE IF EXISTS %I.%I', m.schema_name, m.name || '_history');
    IF m.incremental THEN
        PERFORM @extschema@.rfm_model_capture_drop(m);
    END IF;
    PERFORM @extschema@.rfm_catalog_write('delete', m.name);
    IF m.created_schema AND NOT EXISTS (
           SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_namespace n ON d.refobjid = n.oid
           WHERE d.refclassid = 'pg_catalog.pg_namespace'::regclass AND n.nspname = m.schema_name
             AND d.deptype = 'n') THEN
        EXECUTE format('DROP SCHEMA IF EXISTS %I', m.schema_name);
    END IF;
END
$$;

-- ==== Refreshing ====

-- The first step of a refresh: checks, and the log row.
CREATE FUNCTION @extschema@.rfm_refresh_begin(model text, as_of timestamptz) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
BEGIN
    IF as_of IS NOT NULL AND NOT isfinite(as_of) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value', MESSAGE = 'as_of must be finite';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r
                   WHERE r.rolname = m.owner AND pg_catalog.pg_has_role(r.oid, 'MEMBER')) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('permission denied to refresh model "%s"', m.name),
            DETAIL = format('Only its owner, role "%s", and roles that may SET ROLE to it may refresh it.', m.owner);
    END IF;
    RETURN @extschema@.rfm_catalog_write('log_start', m.name);
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_refresh_begin(text, timestamptz) IS
    'First step of rfm_refresh: checks the model, the as-of time and the caller''s right, and logs the refresh as running; returns the log row''s id';

-- The refresh itself, in one transaction: the lock, the views, the history,
-- the log row's outcome.  Outside a transaction block an error is caught,
-- logged and returned (rfm_refresh commits the log, then raises it); inside
-- one it is raised, and everything rolls back with the caller's transaction.
CREATE FUNCTION @extschema@.rfm_refresh_run(model text, as_of timestamptz, log_id bigint, in_block boolean,
                                            full_rebuild boolean,
                                            OUT e_state text, OUT e_message text, OUT e_detail text, OUT e_hint text)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    n bigint;
    refreshed_as_of timestamptz;
    done text;
BEGIN
    -- The lock is taken by this transaction itself, not by a subtransaction
    -- (an exception block): the row's xmax then names the transaction that
    -- holds it, for a second refresh's message.
    IF in_block THEN
        PERFORM @extschema@.rfm_model_lock(m, 'refreshed');
    ELSIF @extschema@.rfm_catalog_write('lock', m.name) = 0 THEN
        BEGIN
            PERFORM @extschema@.rfm_model_lock(m, 'refreshed');
        EXCEPTION WHEN lock_not_available THEN
            GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                                    e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
            e_hint := NULLIF(e_hint, '');
            PERFORM @extschema@.rfm_catalog_write('log_finish', m.name,
                jsonb_build_object('id', log_id, 'outcome', 'skipped', 'sqlstate', e_state,
                                   'message', concat_ws(' ', e_message || '.', e_detail)));
            RETURN;
        END;
    END IF;
    -- the lock is this transaction's now: running entries of sessions that
    -- are gone, or of this session's earlier, interrupted refreshes, are over
    PERFORM @extschema@.rfm_catalog_write('log_abandon', m.name, jsonb_build_object('id', log_id));
    -- kept after the refresh: the views' queries read it, so that a REFRESH
    -- MATERIALIZED VIEW of a 1.1 model, such as the one a restore from
    -- pg_dump runs, rebuilds the data as of this same time (put back if the
    -- refresh fails)
    PERFORM @extschema@.rfm_catalog_write('set', m.name,
        jsonb_build_object('refresh_as_of', coalesce(rfm_refresh_run.as_of, m.as_of, pg_catalog.now())));

    BEGIN
        PERFORM pg_catalog.set_config('TimeZone', m.time_zone, true);
        IF @extschema@.rfm_model_storage(m, '_summary') IS NOT NULL THEN
            SELECT b.customers, b.as_of, b.message INTO n, refreshed_as_of, done
            FROM @extschema@.rfm_model_rebuild(m, false, coalesce(full_rebuild, false)) b;
        ELSE
            -- a model made before 1.2's tables: its materialized views
            PERFORM @extschema@.rfm_model_build(m.name, false);
            SELECT s.customers, s.as_of INTO n, refreshed_as_of FROM @extschema@.rfm_model_snapshot(m.name) s;
        END IF;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        IF in_block THEN
            RAISE;
        END IF;
        GET STACKED DIAGNOSTICS e_state = RETURNED_SQLSTATE, e_message = MESSAGE_TEXT,
                                e_detail = PG_EXCEPTION_DETAIL, e_hint = PG_EXCEPTION_HINT;
        PERFORM @extschema@.rfm_catalog_write('set', m.name, jsonb_build_object('refresh_as_of', m.refresh_as_of));
    END;
    PERFORM @extschema@.rfm_catalog_write('log_finish', m.name,
        jsonb_build_object('id', log_id,
                           'as_of', coalesce(refreshed_as_of, rfm_refresh_run.as_of, m.as_of, pg_catalog.now()),
                           'customers', n,
                           'outcome', CASE WHEN e_state IS NULL THEN 'ok' WHEN e_state = '57014' THEN 'cancelled'
                                           ELSE 'failed' END,
                           'sqlstate', e_state, 'message', coalesce(e_message, done)));
    IF e_state IS NOT NULL THEN
        e_detail := concat_ws(E'\n', NULLIF(e_detail, ''), 'The model''s views keep the data of the previous refresh.');
        e_message := format('refresh of model "%s" failed: %s', m.name, e_message);
        e_hint := NULLIF(e_hint, '');
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_refresh_run(text, timestamptz, bigint, boolean, boolean) IS
    'Second step of rfm_refresh, in one transaction: takes the model''s lock, refreshes its views, keeps the history snapshot and logs the outcome; returns the error of a failed refresh (outside a transaction block) or raises it (inside one)';

-- A procedure that commits cannot pin search_path: rfm_refresh names every
-- function in full and uses no operator.
DROP PROCEDURE @extschema@.rfm_refresh(text, timestamptz);
CREATE PROCEDURE @extschema@.rfm_refresh(name text, as_of timestamptz DEFAULT NULL, full_rebuild boolean DEFAULT false)
LANGUAGE plpgsql AS $$
DECLARE
    in_block pg_catalog.bool := @extschema@.rfm_transaction_block();
    log_id pg_catalog.int8;
    e_state pg_catalog.text;
    e_message pg_catalog.text;
    e_detail pg_catalog.text;
    e_hint pg_catalog.text;
BEGIN
    -- Outside a transaction block the log entry commits first, so that it
    -- survives a failed refresh; inside one everything commits or rolls back
    -- with the caller's transaction.
    log_id := @extschema@.rfm_refresh_begin(name, as_of);
    IF NOT in_block THEN
        COMMIT;
    END IF;
    SELECT q.e_state, q.e_message, q.e_detail, q.e_hint INTO e_state, e_message, e_detail, e_hint
    FROM @extschema@.rfm_refresh_run(name, as_of, log_id, in_block, full_rebuild) q;
    IF NOT in_block THEN
        COMMIT;
    END IF;
    IF e_state IS NULL THEN
        RETURN;
    END IF;
    IF e_hint IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message, DETAIL = coalesce(e_detail, '');
    END IF;
    RAISE EXCEPTION USING ERRCODE = e_state, MESSAGE = e_message, DETAIL = coalesce(e_detail, ''), HINT = e_hint;
END
$$;
COMMENT ON PROCEDURE @extschema@.rfm_refresh(text, timestamptz, boolean) IS
    'Refreshes a model as of as_of (default: the model''s as_of, else now) in a transaction of its own (outside a transaction block: the log entry commits first); one refresh of a model at a time (55P03); failures keep the previous data, are logged and raised. full_rebuild: an incremental model reads every customer from the source again';

-- ==== Scheduling (pg_cron) ====

-- pg_cron's schedule function and the right to use it, or a clear error.
CREATE OR REPLACE FUNCTION @extschema@.rfm_cron_check() RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.to_regnamespace('cron') IS NOT NULL
       AND NOT pg_catalog.has_schema_privilege('cron', 'USAGE') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('scheduling needs USAGE on schema cron, which role "%s" does not have', current_user),
            HINT = format('A superuser can GRANT USAGE ON SCHEMA cron TO %I; pg_cron then lets the role schedule and unschedule jobs of its own.',
                          current_user);
    END IF;
    IF pg_catalog.to_regprocedure('cron.schedule(text,text)') IS NOT NULL THEN
        RETURN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_available_extensions WHERE name = 'pg_cron') THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = 'scheduling needs pg_cron, which is not installed on this server',
            HINT = format('Install it (Debian: apt-get install postgresql-%s-cron), add pg_cron to shared_preload_libraries, set cron.database_name to this database, restart, then CREATE EXTENSION pg_cron. Or schedule CALL rfm_refresh(...) with another scheduler.',
                          pg_catalog.current_setting('server_version_num')::integer / 10000);
    END IF;
    RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
        MESSAGE = format('scheduling needs the extension pg_cron in database "%s"', pg_catalog.current_database()),
        HINT = format('With pg_cron in shared_preload_libraries and cron.database_name = %L (now %L), run CREATE EXTENSION pg_cron.',
                      pg_catalog.current_database(),
                      coalesce(pg_catalog.current_setting('cron.database_name', true), 'not set'));
END
$$;

-- Whether pg_cron's runs can reach this server: a job runs in a background
-- worker (cron.use_background_workers), or over a connection to cron.host
-- -- a unix socket directory, or TCP, which the server must listen on and
-- whose pg_hba.conf line must let the job's role in without a password
-- (a ~/.pgpass of the server's OS user may hold one: a warning only).
CREATE FUNCTION @extschema@.rfm_cron_connect_check() RETURNS void
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    host text;
    socket_dir text;
    fix text;
    auth text;
BEGIN
    -- pg_cron's settings are for superusers and pg_read_all_settings only
    BEGIN
        host := coalesce(NULLIF(pg_catalog.current_setting('cron.host', true), ''), 'localhost');
        socket_dir := pg_catalog.split_part(pg_catalog.current_setting('unix_socket_directories'), ',', 1);
    EXCEPTION WHEN insufficient_privilege THEN
        RETURN;
    END;
    IF coalesce(pg_catalog.current_setting('cron.use_background_workers', true), 'off') = 'on'
       OR pg_catalog.left(host, 1) = '/' THEN
        RETURN;
    END IF;
    fix := format('Set cron.use_background_workers = on (and max_worker_processes high enough), or cron.host = %L '
                  '(the server''s socket directory) with a pg_hba.conf "local" line that lets the role in '
                  '(peer or trust); both in postgresql.conf, then restart the server and schedule again.',
                  coalesce(NULLIF(pg_catalog.btrim(socket_dir), ''), '/var/run/postgresql'));
    IF pg_catalog.btrim(pg_catalog.current_setting('listen_addresses')) = '' THEN
        RAISE EXCEPTION USING ERRCODE = 'feature_not_supported',
            MESSAGE = format('pg_cron would connect to "%s" over TCP, but this server does not listen on TCP '
                             '(listen_addresses is empty): no scheduled run could reach it', host),
            HINT = fix;
    END IF;
    IF pg_catalog.has_function_privilege('pg_catalog.pg_hba_file_rules()', 'EXECUTE') THEN
        SELECT r.auth_method INTO auth
        FROM pg_catalog.pg_hba_file_rules r
        WHERE r.type IN ('host', 'hostnossl') AND r.error IS NULL
          AND ('all' = ANY (r.database) OR pg_catalog.current_database() = ANY (r.database))
          AND ('all' = ANY (r.user_name) OR current_user = ANY (r.user_name))
          -- localhost: the loopback addresses (an approximation: the first
          -- line for 127.x, ::1, 0.0.0.0 or a keyword that covers them)
          AND (r.address IN ('all', 'samehost', 'samenet', 'localhost', '::1', '0.0.0.0', '::')
               OR r.address LIKE '127.%')
        ORDER BY r.line_number
        LIMIT 1;
        IF auth IS DISTINCT FROM 'trust' THEN
            RAISE WARNING 'pg_cron will connect to "%" over TCP as role "%", and pg_hba.conf asks for %',
                host, current_user, coalesce(auth || ' authentication there', 'no line that lets it in')
                USING DETAIL = 'Unless the server''s OS user has a ~/.pgpass entry for that connection, every run will fail with "connection failed" (see cron.job_run_details).',
                      HINT = fix;
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_cron_connect_check() IS
    'Raises 0A000 when pg_cron''s runs cannot reach this server (TCP to cron.host on a server that does not listen on TCP), and warns when pg_hba.conf asks them for a password; says how to fix it';

CREATE OR REPLACE FUNCTION @extschema@.rfm_schedule(name text, schedule text) RETURNS bigint
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
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
    PERFORM @extschema@.rfm_cron_connect_check();
    -- a new schedule replaces the old job entirely
    IF m.cron_job_id IS NOT NULL OR m.cron_job IS NOT NULL THEN
        PERFORM @extschema@.rfm_unschedule(m.name);
    END IF;
    -- an unnamed job: known by its id, which no other model's job can take
    EXECUTE 'SELECT cron.schedule($1::text, $2::text)' INTO job_id
        USING schedule, format('CALL @extschema@.rfm_refresh(%L)', m.name);
    PERFORM @extschema@.rfm_catalog_write('set', m.name, jsonb_build_object('cron_job_id', job_id));
    RETURN job_id;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_schedule(text, text) IS
    'Schedules CALL rfm_refresh(name) with pg_cron (cron expression, GMT; a second call replaces the job) as the model''s owner, who must call it; returns the pg_cron job id, kept in rfm_model.cron_job_id';

CREATE OR REPLACE FUNCTION @extschema@.rfm_unschedule(name text) RETURNS boolean
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(name);
    job_ids bigint[];
    job bigint;
    left_over bigint;
BEGIN
    IF m.cron_job_id IS NULL AND m.cron_job IS NULL THEN
        RETURN false;
    END IF;
    PERFORM @extschema@.rfm_cron_check();
    -- pg_cron lets a job's owner or a superuser remove it, and shows a job
    -- to them only: nobody else could make sure it is gone
    IF current_user <> m.owner AND NOT (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user) THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('permission denied to unschedule model "%s"', m.name),
            DETAIL = format('Its pg_cron job runs as its owner, role "%s", and only that role or a superuser may remove it.', m.owner),
            HINT = format('SET ROLE %I first.', m.owner);
    END IF;
    -- the job of 1.2 by id; one scheduled before 1.2 by its exact name
    job_ids := ARRAY[m.cron_job_id];
    IF m.cron_job IS NOT NULL AND m.cron_job_id IS NULL THEN
        EXECUTE 'SELECT array_agg(j.jobid) FROM cron.job j WHERE j.jobname = $1 AND j.username = $2'
            INTO job_ids USING left(m.cron_job, 63), m.owner;
    END IF;
    FOREACH job IN ARRAY coalesce(job_ids, '{}') LOOP
        CONTINUE WHEN job IS NULL;
        EXECUTE 'SELECT j.jobid FROM cron.job j WHERE j.jobid = $1' INTO left_over USING job;
        CONTINUE WHEN left_over IS NULL;   -- gone already
        EXECUTE 'SELECT cron.unschedule($1)' USING job;
        EXECUTE 'SELECT j.jobid FROM cron.job j WHERE j.jobid = $1' INTO left_over USING job;
        IF left_over IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'object_in_use',
                MESSAGE = format('pg_cron job %s of model "%s" is still there after cron.unschedule', job, m.name);
        END IF;
    END LOOP;
    PERFORM @extschema@.rfm_catalog_write('set', m.name, jsonb_build_object('cron_job_id', NULL, 'cron_job', NULL));
    RETURN true;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_unschedule(text) IS
    'Removes the pg_cron job of rfm_schedule and checks it is gone; false when the model was not scheduled; 42501 for roles that may not act as the model''s owner';

-- ==== History, read as the model's owner ====

-- A time as an SQL literal that means the same in every session: UTC with
-- its offset (a zone abbreviation such as CST would be read back as another
-- zone's).
CREATE FUNCTION @extschema@.rfm_timestamptz_sql(t timestamptz) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.quote_literal(pg_catalog.to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00')
       || '::pg_catalog.timestamptz'
$$;
COMMENT ON FUNCTION @extschema@.rfm_timestamptz_sql(timestamptz) IS
    'A timestamptz as an SQL literal in UTC with its offset, the same instant in any session''s TimeZone (for statements rfm builds)';

CREATE OR REPLACE FUNCTION @extschema@.rfm_snapshots(model text)
RETURNS TABLE (as_of timestamptz, customers bigint)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
BEGIN
    RETURN QUERY
    SELECT q.a, q.n
    FROM @extschema@.rfm_owner_query(@extschema@.rfm_model_reader(m, '{_history}'),
             format('SELECT h.as_of, count(*) FROM %I.%I h GROUP BY h.as_of ORDER BY h.as_of',
                    m.schema_name, m.name || '_history')) AS q(a timestamptz, n bigint);
END
$$;

CREATE OR REPLACE FUNCTION @extschema@.rfm_snapshot_pair(m @extschema@.rfm_model, from_as_of timestamptz,
                                                         to_as_of timestamptz,
                                                         OUT from_at timestamptz, OUT to_at timestamptz)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    snaps timestamptz[];
BEGIN
    SELECT q.s INTO snaps
    FROM @extschema@.rfm_owner_query(@extschema@.rfm_model_reader(m, '{_history}'),
             format('SELECT array_agg(DISTINCT h.as_of ORDER BY h.as_of) FROM %I.%I h',
                    m.schema_name, m.name || '_history')) AS q(s timestamptz[]);
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

CREATE OR REPLACE FUNCTION @extschema@.rfm_segment_movers(model text, from_segment text, to_segment text,
                                                          from_as_of timestamptz DEFAULT NULL,
                                                          to_as_of timestamptz DEFAULT NULL)
RETURNS TABLE (customer text, from_snapshot timestamptz, to_snapshot timestamptz,
               from_monetary numeric, to_monetary numeric, from_clv float8, to_clv float8)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    owner regrole := @extschema@.rfm_model_reader(m, '{_history}');
    p record;
    known text[];
BEGIN
    p := @extschema@.rfm_snapshot_pair(m, from_as_of, to_as_of);
    SELECT q.k INTO known
    FROM @extschema@.rfm_owner_query(owner,
             format('SELECT array_agg(DISTINCT h.segment ORDER BY h.segment) FROM %I.%I h',
                    m.schema_name, m.name || '_history')) AS q(k text[]);
    known := known || ARRAY(SELECT sa.segment FROM @extschema@.rfm_segment_action sa);
    IF (from_segment IS NOT NULL AND NOT from_segment = ANY (known))
       OR (to_segment IS NOT NULL AND NOT to_segment = ANY (known)) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown segment "%s"',
                             CASE WHEN from_segment IS NOT NULL AND NOT from_segment = ANY (known)
                                  THEN from_segment ELSE to_segment END),
            HINT = 'Segments are named as rfm_segment and rfm_value_type name them, e.g. ''Champions'' or ''At Risk''; NULL means not a customer at that time.';
    END IF;
    RETURN QUERY
    SELECT q.* FROM @extschema@.rfm_owner_query(owner, format(
        'SELECT coalesce(a.customer, b.customer)::text, %3$s, %4$s, '
        '       a.monetary, b.monetary, a.clv, b.clv '
        'FROM (SELECT * FROM %1$I.%2$I WHERE as_of OPERATOR(pg_catalog.=) %3$s) a '
        'FULL JOIN (SELECT * FROM %1$I.%2$I WHERE as_of OPERATOR(pg_catalog.=) %4$s) b ON %7$s '
        'WHERE a.segment IS NOT DISTINCT FROM %5$L::text AND b.segment IS NOT DISTINCT FROM %6$L::text '
        '  AND (a.customer IS NOT NULL OR %5$L::text IS NULL) AND (b.customer IS NOT NULL OR %6$L::text IS NULL) '
        'ORDER BY b.monetary DESC NULLS LAST, 1',
        m.schema_name, m.name || '_history', @extschema@.rfm_timestamptz_sql(p.from_at),
        @extschema@.rfm_timestamptz_sql(p.to_at), from_segment, to_segment,
        @extschema@.rfm_model_customer_eq(format('%I.%I', m.schema_name, m.name || '_history')::regclass,
                                          'a.customer', 'b.customer')))
        AS q(customer text, from_snapshot timestamptz, to_snapshot timestamptz,
             from_monetary numeric, to_monetary numeric, from_clv float8, to_clv float8);
END
$$;

-- Views of models made before 1.2 were parsed with their creator's
-- search_path: say which of them use a function or operator from outside
-- pg_catalog and the extension (rfm_drop_model and rfm_create_model rebuild
-- them as 1.2 does).
DO $$
DECLARE
    v record;
BEGIN
    FOR v IN
        SELECT DISTINCT rm.name, c.oid::regclass AS view_name
        FROM @extschema@.rfm_model rm
             JOIN pg_catalog.pg_namespace n ON n.nspname = rm.schema_name
             JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relkind = 'm'
                                       AND c.relname = ANY (ARRAY[rm.name || '_summary', rm.name || '_fit',
                                                                  rm.name || '_customers', rm.name || '_segments',
                                                                  rm.name || '_pareto'])
             JOIN pg_catalog.pg_rewrite rw ON rw.ev_class = c.oid
             JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = rw.oid
             LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::regclass
                                               AND o.oid = d.refobjid
             LEFT JOIN pg_catalog.pg_proc p ON d.refclassid = 'pg_catalog.pg_proc'::regclass AND p.oid = d.refobjid
        WHERE coalesce(o.oprnamespace, p.pronamespace) <> 'pg_catalog'::regnamespace
          -- not one of rfm's own
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend e
                          WHERE e.classid = d.refclassid AND e.objid = d.refobjid AND e.deptype = 'e'
                            AND e.refclassid = 'pg_catalog.pg_extension'::regclass
                            AND e.refobjid = (SELECT x.oid FROM pg_catalog.pg_extension x WHERE x.extname = 'rfm'))
    LOOP
        RAISE WARNING 'the materialized view % of model "%" uses a function or operator from outside pg_catalog and rfm',
            v.view_name, v.name
            USING HINT = 'Its creator''s search_path chose it. Drop the model and create it again.';
    END LOOP;
END
$$;
