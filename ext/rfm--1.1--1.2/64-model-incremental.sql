
-- ==== Models: incremental refresh ====
-- A model created with incremental => true keeps each customer's rfm_state
-- in <name>$state and, through triggers on its source, the customers whose
-- orders changed in <name>$changes, with the rows of new orders.  A refresh
-- adds a customer's new orders to the stored state when that gives exactly
-- the state of all his orders (rfm_model_state_merge), reads from the source
-- the other changed customers (and the ones with orders after the last
-- as_of), and builds _summary from the stored states re-dated to the new
-- as_of (rfm_model_state_summary): the same rows a full grouping would give.  Everything
-- after _summary (fits, scores, segments, Pareto, history) is built from it
-- as in a full refresh.  A full rebuild of the states happens, and the log
-- says why, when: asked for (rfm_refresh(..., full_rebuild => true)), the source was
-- truncated or rewritten or its columns changed (rfm_model_source_signature),
-- as_of moved back, the triggers are missing or disabled, or the model has
-- no states yet.

ALTER TABLE @extschema@.rfm_model
    ADD COLUMN incremental boolean NOT NULL DEFAULT false,
    ADD COLUMN state_as_of timestamptz,
    ADD COLUMN summary_basis text,
    ADD COLUMN state_source jsonb;
COMMENT ON COLUMN @extschema@.rfm_model.incremental IS
    'Whether the model keeps per-customer states and the customers changed since its last refresh (triggers on its source), so that a refresh reads from the source only those';
COMMENT ON COLUMN @extschema@.rfm_model.state_as_of IS
    'The as-of time of the last refresh that updated the stored states of an incremental model; NULL: none yet';
COMMENT ON COLUMN @extschema@.rfm_model.state_source IS
    'The storage (file node) of an incremental model''s source and its customer, time and amount columns (name, number, type) when the stored states were read (rfm_model_source_signature): a refresh that finds others reads every customer again';
COMMENT ON COLUMN @extschema@.rfm_model.summary_basis IS
    'What the _summary rows of an incremental model''s last refresh were made with (rfm_model_summary_basis: as_of, rfm''s version, the lifecycle settings); a refresh with the same basis keeps the rows of the customers it does not read again';

-- What a model's summary rows depend on besides the customer's state: the
-- as-of time, rfm's version, and the thresholds of the lifecycle stage.
CREATE FUNCTION @extschema@.rfm_model_summary_basis(as_of timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.format('as_of %s; rfm %s; lifecycle %s', @extschema@.rfm_timestamptz_sql(as_of),
                             (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'rfm'),
                             coalesce((SELECT s::text FROM @extschema@.rfm_lifecycle_settings s), 'defaults'))
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_summary_basis(timestamptz) IS
    'What a model''s summary rows at as_of depend on besides each customer''s state (as_of, rfm''s version, the row of rfm_lifecycle_settings), as text: equal texts, equal rows';

-- What the stored states of a model depend on in its source besides the
-- rows that its triggers see written: the table's storage (a rewrite, as by
-- ALTER TABLE ... TYPE ... USING, changes rows without firing triggers) and
-- which columns, of which types, the model reads.
CREATE FUNCTION @extschema@.rfm_model_source_signature(m @extschema@.rfm_model) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.jsonb_build_object(
    'filenode', pg_catalog.pg_relation_filenode(m.source::regclass),
    'columns', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(a.attname, a.attnum,
                                                                         pg_catalog.format_type(a.atttypid, a.atttypmod))
                                            ORDER BY a.attname)
                FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = m.source::regclass AND NOT a.attisdropped
                  AND a.attname IN (m.customer_column, m.time_column, m.amount_column)))
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_source_signature(@extschema@.rfm_model) IS
    'The file node of a model''s source and the name, number and type of its customer, time and amount columns, as jsonb: what an incremental model''s stored states were read from (rfm_model.state_source)';

CREATE FUNCTION @extschema@.rfm_model_states(
        source regclass, customer_column name, time_column name, amount_column name,
        as_of timestamptz, time_zone text, customer_type anyelement, customers regclass DEFAULT NULL)
    RETURNS TABLE (customer anyelement, state @extschema@.rfm_state, after_as_of boolean)
    AS 'MODULE_PATHNAME', 'rfm_model_states' LANGUAGE C STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_model_states(regclass, name, name, name, timestamptz, text, anyelement, regclass) IS
    'One row per customer of source (read as the caller, like rfm_summarize; NULL customers left out): its rfm_state at as_of and whether it has rows after as_of, which the state leaves out; customers: a table with a column customer, to read only those customers. The stored states of an incremental model';

-- The same rows written straight into a table of the caller's made or
-- truncated in this transaction (src/sink.c): the full read of a model's
-- states.  Returns how many.
CREATE FUNCTION @extschema@.rfm_model_states_into(
        source regclass, customer_column name, time_column name, amount_column name,
        as_of timestamptz, time_zone text, customer_type anyelement, customers regclass, target regclass)
    RETURNS bigint
    AS 'MODULE_PATHNAME', 'rfm_model_states_into' LANGUAGE C VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_model_states_into(regclass, name, name, name, timestamptz, text, anyelement,
                                                      regclass, regclass) IS
    'Writes the rows of rfm_model_states into target, a plain table of the caller''s made or truncated in this transaction, without triggers, rules, indexes, check constraints, defaults or row-level security, whose columns are some of customer, state and after_as_of, a block of rows at a time; returns the number of rows (a full read of an incremental model''s states, as its owner)';

CREATE FUNCTION @extschema@.rfm_model_state_summary(states regclass, as_of timestamptz, time_zone text,
                                                    customer_type anyelement, customers regclass DEFAULT NULL)
    RETURNS TABLE (customer anyelement, recency float8, frequency bigint, monetary numeric, avg_order_value numeric,
                   first_order timestamptz, last_order timestamptz, tenure float8, purchase_days integer,
                   repeat_frequency integer, repeat_recency float8, age float8, returns bigint, as_of timestamptz,
                   lifecycle text, repeat_value float8)
    AS 'MODULE_PATHNAME', 'rfm_model_state_summary' LANGUAGE C STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_model_state_summary(regclass, timestamptz, text, anyelement, regclass) IS
    'A model''s summary rows (as rfm_model_summarize gives them) from an incremental model''s table of states re-dated to as_of, in one call; customers: a table with a column customer, to make only those customers'' rows; reads only a plain table of states of the calling role (a refresh calls it as the model''s owner)';

CREATE FUNCTION @extschema@.rfm_model_state_merge(stored @extschema@.rfm_state, added @extschema@.rfm_state)
    RETURNS @extschema@.rfm_state
    AS 'MODULE_PATHNAME', 'rfm_model_state_merge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_model_state_merge(@extschema@.rfm_state, @extschema@.rfm_state) IS
    'A stored state of an incremental model with the state of the customer''s orders written since added, as of the added state''s as_of, when that is exactly the state of all his orders (numeric or integer amounts, no new order on or before his first purchase day); else NULL';

-- Why a source cannot feed an incremental model, or NULL: a plain table
-- without inheritance children (a statement's triggers see the rows written
-- through it) that rfm_model_states can read in one pass
-- (rfm_model_summarize_problem).
-- The index of a model's states by customer: a btree when the customer
-- type has one (built in a fraction of a hash index's time: 0.3 against
-- 1.6 s at 1M customers), else a hash index (the type has a hash operator
-- class, or the model could not be incremental).
CREATE FUNCTION @extschema@.rfm_model_state_index_method(typ regtype) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_opclass oc
                         JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'btree'
                         WHERE oc.opcdefault
                           AND (oc.opcintype = typ
                                OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                                           WHERE k.castsource = typ AND k.casttarget = oc.opcintype
                                             AND k.castmethod = 'b')))
            THEN 'btree' ELSE 'hash' END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_state_index_method(regtype) IS
    'The access method of an incremental model''s index of states by customer: btree when the customer type has a default btree operator class (its own or one it has a binary cast to), else hash';

CREATE FUNCTION @extschema@.rfm_model_incremental_problem(m @extschema@.rfm_model) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := m.source::regclass;
    kind "char" := (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = src);
BEGIN
    IF kind <> 'r' THEN
        RETURN format('%s is not a plain table (a view, materialized view, foreign or partitioned table cannot report its changed rows to the model)', src);
    END IF;
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhparent = src) THEN
        RETURN format('%s has inheritance children, whose rows are written without its triggers', src);
    END IF;
    RETURN @extschema@.rfm_model_summarize_problem(m);
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_incremental_problem(@extschema@.rfm_model) IS
    'Why a model''s source cannot feed an incremental model (not a plain table, inheritance children, column types), or NULL';

-- The names of an incremental model's triggers on its source.
CREATE FUNCTION @extschema@.rfm_model_trigger_names(model text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT ARRAY[model || '$ins', model || '$upd', model || '$del', model || '$trunc']
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_trigger_names(text) IS
    'The names of an incremental model''s triggers on its source: <name>$ins, $upd, $del, $trunc';

-- The triggers of an incremental model that are missing or disabled on its
-- source (empty: all four fire).
CREATE FUNCTION @extschema@.rfm_model_triggers_off(m @extschema@.rfm_model) RETURNS text[]
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT coalesce(array_agg(x.tgname ORDER BY x.tgname), '{}')
FROM pg_catalog.unnest(@extschema@.rfm_model_trigger_names(m.name)) AS x(tgname)
WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                  WHERE t.tgrelid = m.source::regclass AND t.tgname = x.tgname AND t.tgenabled IN ('O', 'A')
                    AND t.tgfoid = pg_catalog.to_regprocedure(format('%I.%I()', m.schema_name, m.name || '$capture')))
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_triggers_off(@extschema@.rfm_model) IS
    'The triggers of an incremental model that are missing on its source, disabled, or call another function (empty: all four fire)';

-- Create what an incremental model keeps (as its owner): the tables of
-- states, of changed customers and of this refresh's work, the capture
-- function (SECURITY DEFINER of the owner: whoever writes the source adds
-- customer keys to the owner's $changes and does nothing else) and the
-- triggers on the source that are missing.
CREATE FUNCTION @extschema@.rfm_model_capture_setup(m @extschema@.rfm_model, owner regrole) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cust_type text := (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.customer_column
                         AND NOT a.attisdropped);
    time_type text := (SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.time_column
                         AND NOT a.attisdropped);
    amount_type text := (SELECT pg_catalog.format_type(a.atttypid, NULL) FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = m.source::regclass AND a.attname = m.amount_column
                           AND NOT a.attisdropped);
    changes text := format('%I.%I', m.schema_name, m.name || '$changes');
    fn text := format('%I.%I', m.schema_name, m.name || '$capture');
    cust text := format('%I', m.customer_column);
    tcol text := format('%I', m.time_column);
    acol text := format('%I', m.amount_column);
    -- missing by name (a trigger disabled by the source's owner stays so)
    missing text[] := (SELECT coalesce(array_agg(x.tgname), '{}')
                       FROM pg_catalog.unnest(@extschema@.rfm_model_trigger_names(m.name)) AS x(tgname)
                       WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t
                                         WHERE t.tgrelid = m.source::regclass AND t.tgname = x.tgname));
    trig record;
BEGIN
    -- each table that is missing (a model's first refresh, or one dropped by hand)
    IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, m.name || '$state')) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'CREATE TABLE %I.%I (customer %s NOT NULL, state @extschema@.rfm_state NOT NULL, after_as_of boolean NOT NULL) '
            -- (a state a refresh adds new orders to stays on its page)
            'WITH (fillfactor = 90)',
            m.schema_name, m.name || '$state', cust_type));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'COMMENT ON TABLE %I.%I IS %L', m.schema_name, m.name || '$state',
            format('rfm model %s: each customer''s rfm_state as of the refresh that last read it, and whether it left out rows after that as_of (kept by rfm_refresh)', m.name)));
    END IF;
    -- the states a refresh adds to, replaces or reads are found by customer
    IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, m.name || '$state_customer')) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE INDEX %I ON %I.%I USING %s (customer)',
            m.name || '$state_customer', m.schema_name, m.name || '$state',
            @extschema@.rfm_model_state_index_method((SELECT a.atttypid FROM pg_catalog.pg_attribute a
                                                      WHERE a.attrelid = m.source::regclass
                                                        AND a.attname = m.customer_column AND NOT a.attisdropped))));
    END IF;
    -- the customers with orders after their state's as_of, which every
    -- refresh reads again: found without reading all states
    IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, m.name || '$state_after')) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE INDEX %I ON %I.%I (after_as_of) WHERE after_as_of',
            m.name || '$state_after', m.schema_name, m.name || '$state'));
    END IF;
    -- the rows of new orders are copied with the column types of the source
    -- (without modifiers, so that a wider column later loses nothing)
    IF pg_catalog.to_regclass(changes) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'CREATE TABLE %s (customer %s, truncated boolean NOT NULL DEFAULT false, '
            'inserted boolean NOT NULL DEFAULT false, order_time %s, amount %s)',
            changes, cust_type, time_type, amount_type));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'COMMENT ON TABLE %s IS %L', changes,
            format('rfm model %s: customers whose orders were written since the last refresh (inserted: a new order, with its time and amount), and TRUNCATEs of the source (filled by the triggers %s on it)',
                   m.name, array_to_string(@extschema@.rfm_model_trigger_names(m.name), ', '))));
    END IF;
    IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, m.name || '$added')) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'CREATE TABLE %I.%I (customer %s, order_time %s, amount %s)',
            m.schema_name, m.name || '$added', cust_type, time_type, amount_type));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'COMMENT ON TABLE %I.%I IS %L', m.schema_name, m.name || '$added',
            format('rfm model %s: the new orders one refresh adds to the stored states', m.name)));
    END IF;
    IF pg_catalog.to_regclass(format('%I.%I', m.schema_name, m.name || '$work')) IS NULL THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'CREATE TABLE %I.%I (customer %s, merged boolean NOT NULL DEFAULT false)',
            m.schema_name, m.name || '$work', cust_type));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'COMMENT ON TABLE %I.%I IS %L', m.schema_name, m.name || '$work',
            format('rfm model %s: the customers one refresh reads again from the source, and (merged) those whose new orders it adds to their stored states', m.name)));
    END IF;
    IF pg_catalog.to_regprocedure(fn || '()') IS NULL THEN
        -- no operator and no function of the customer type runs here: keys,
        -- and new orders' times and amounts, are copied as they are
        -- (duplicates too), so nobody's code runs as the owner
        PERFORM @extschema@.rfm_owner_exec(owner, format($f$
CREATE FUNCTION %1$s() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $body$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO %2$s (customer, inserted, order_time, amount)
        SELECT n.%3$s, true, n.%4$s, n.%5$s FROM rfm_new n WHERE n.%3$s IS NOT NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO %2$s (customer)
        SELECT o.%3$s FROM rfm_old o WHERE o.%3$s IS NOT NULL
        UNION ALL
        SELECT n.%3$s FROM rfm_new n WHERE n.%3$s IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO %2$s (customer) SELECT o.%3$s FROM rfm_old o WHERE o.%3$s IS NOT NULL;
    ELSE
        INSERT INTO %2$s (customer, truncated) VALUES (NULL, true);
    END IF;
    RETURN NULL;
END
$body$
$f$, fn, changes, cust, tcol, acol));
        PERFORM @extschema@.rfm_owner_exec(owner, format('REVOKE ALL ON FUNCTION %s() FROM PUBLIC', fn));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'COMMENT ON FUNCTION %s() IS %L', fn,
            format('rfm model %s: the triggers on %s record the customers of written rows in %s', m.name, m.source, changes)));
    END IF;
    IF array_length(missing, 1) IS NULL THEN
        RETURN;
    END IF;
    IF NOT pg_catalog.has_table_privilege(owner, m.source::regclass, 'TRIGGER') THEN
        RAISE EXCEPTION USING ERRCODE = 'insufficient_privilege',
            MESSAGE = format('model "%s" cannot create its triggers on %s', m.name, m.source),
            DETAIL = format('An incremental model learns of changed orders through triggers on its source; role "%s" has no TRIGGER privilege on it.', m.owner),
            HINT = format('The owner of %s can GRANT TRIGGER ON it TO %I, or create the model with incremental => false.',
                          m.source, m.owner);
    END IF;
    FOR trig IN SELECT * FROM (VALUES
                   ('$ins', 'INSERT', 'REFERENCING NEW TABLE AS rfm_new'),
                   ('$upd', 'UPDATE', 'REFERENCING OLD TABLE AS rfm_old NEW TABLE AS rfm_new'),
                   ('$del', 'DELETE', 'REFERENCING OLD TABLE AS rfm_old'),
                   ('$trunc', 'TRUNCATE', '')) AS t(suffix, event, referencing)
                WHERE m.name || t.suffix = ANY (missing) LOOP
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'CREATE TRIGGER %I AFTER %s ON %s %s FOR EACH STATEMENT EXECUTE FUNCTION %s()',
            m.name || trig.suffix, trig.event, m.source, trig.referencing, fn));
    END LOOP;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_capture_setup(@extschema@.rfm_model, regrole) IS
    'Creates, as the model''s owner, what an incremental model keeps: <name>$state, <name>$changes, <name>$work, <name>$added, the capture function <name>$capture and the missing triggers on the source';

-- Bring an incremental model's stored states to the refresh's as_of, as its
-- owner, before _summary is built from them; returns what was done, for the
-- log.  Incremental: the changed customers recorded by the triggers, and the
-- customers that had orders after the last as_of, are read again from the
-- source; the others' states stay (rfm_model_state_summary re-dates them).  Full: all
-- states read again.
CREATE FUNCTION @extschema@.rfm_model_fold(m @extschema@.rfm_model, owner regrole, full_rebuild boolean,
                                           OUT message text, OUT keep_summary boolean)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    as_of timestamptz := (SELECT COALESCE(vi.as_of, pg_catalog.now())
                          FROM @extschema@.rfm_model_view_input vi WHERE vi.name = m.name);
    cust_typid oid := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.customer_column
                         AND NOT a.attisdropped);
    cust_type text := pg_catalog.format_type(cust_typid, NULL);
    st text := format('%I.%I', m.schema_name, m.name || '$state');
    changes text := format('%I.%I', m.schema_name, m.name || '$changes');
    work text := format('%I.%I', m.schema_name, m.name || '$work');
    added text := format('%I.%I', m.schema_name, m.name || '$added');
    time_typid oid := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.time_column AND NOT a.attisdropped);
    amount_typid oid := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = m.source::regclass AND a.attname = m.amount_column AND NOT a.attisdropped);
    eq text := @extschema@.rfm_model_eq_operator(cust_typid);
    merging boolean;
    merged bigint := 0;
    source jsonb;
    many bigint;
    off text[];
    problem text := @extschema@.rfm_model_incremental_problem(m);
    reason text;
    n bigint;
    states_sql text;
    basis text;
BEGIN
    keep_summary := false;
    IF problem IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('model "%s" cannot be refreshed incrementally any more: %s', m.name, problem),
            HINT = 'Create the model again, with incremental => false.';
    END IF;
    -- No TRUNCATE or rewrite of the source between here and the end of the
    -- refresh: the statements below see every change committed before them.
    PERFORM @extschema@.rfm_owner_exec(owner, format('LOCK TABLE %s IN ACCESS SHARE MODE', m.source));
    source := @extschema@.rfm_model_source_signature(m);
    off := @extschema@.rfm_model_triggers_off(m);
    reason := CASE WHEN full_rebuild THEN 'asked for'
                   WHEN m.state_as_of IS NULL
                        OR pg_catalog.to_regclass(st) IS NULL THEN 'no stored states'
                   WHEN as_of < m.state_as_of
                   THEN format('as_of (%s) is before the stored states'' (%s)', as_of, m.state_as_of)
                   WHEN array_length(off, 1) IS NOT NULL
                   THEN format('triggers %s on the source were missing or disabled', array_to_string(off, ', '))
                   END;
    IF reason IS NULL AND EXISTS (SELECT 1 FROM @extschema@.rfm_owner_query(owner,
                                      format('SELECT 1 FROM %s c WHERE c.truncated LIMIT 1', changes)) AS q(one integer)) THEN
        reason := 'the source was truncated';
    END IF;
    -- rows changed without firing the triggers, or other columns read
    IF reason IS NULL AND m.state_source IS DISTINCT FROM source THEN
        reason := CASE WHEN m.state_source -> 'filenode' IS DISTINCT FROM source -> 'filenode'
                       THEN 'the source was rewritten since its rows were read (ALTER TABLE, VACUUM FULL, CLUSTER, a restore)'
                       ELSE 'the source''s customer, time or amount column changed since its rows were read' END;
    END IF;
    -- A bulk load: taking out and adding many changes one by one costs
    -- more than reading the source once.
    IF reason IS NULL THEN
        many := greatest(1000, (SELECT c.reltuples FROM pg_catalog.pg_class c
                                WHERE c.oid = pg_catalog.to_regclass(st))::bigint / 2);
        IF (SELECT q.n FROM @extschema@.rfm_owner_query(owner,
                format('SELECT count(*) FROM (SELECT 1 FROM %s c LIMIT %s) x', changes, many + 1)) AS q(n bigint)) > many THEN
            reason := format('more than %s changes were recorded (a bulk load: the source is read once)', many);
        END IF;
    END IF;
    -- missing triggers (and tables) come back: changes from now on are seen
    PERFORM @extschema@.rfm_model_capture_setup(m, owner);
    states_sql := format('SELECT s.customer, s.state, s.after_as_of FROM @extschema@.rfm_model_states('
                         '%L::pg_catalog.regclass, %L::pg_catalog.name, %L::pg_catalog.name, %L::pg_catalog.name, '
                         '%L::pg_catalog.timestamptz, %L::pg_catalog.text, NULL::%s, %%s) s',
                         m.source, m.customer_column, m.time_column, m.amount_column, as_of, m.time_zone, cust_type);
    IF reason IS NOT NULL THEN
        -- every change visible now is in what the next statements read
        PERFORM @extschema@.rfm_owner_exec(owner, format('DELETE FROM %s', changes));
        -- the indexes are built after the rows, not kept up row by row
        PERFORM @extschema@.rfm_owner_exec(owner, format('DROP INDEX %I.%I, %I.%I', m.schema_name,
                                                         m.name || '$state_customer', m.schema_name, m.name || '$state_after'));
        PERFORM @extschema@.rfm_owner_exec(owner, format('TRUNCATE %s', st));
        -- written straight into the truncated table, a block at a time
        SELECT q.n INTO n FROM @extschema@.rfm_owner_query(owner, format(
            'SELECT @extschema@.rfm_model_states_into(%L::pg_catalog.regclass, %L::pg_catalog.name, '
            '%L::pg_catalog.name, %L::pg_catalog.name, %L::pg_catalog.timestamptz, %L::pg_catalog.text, '
            'NULL::%s, NULL, %L::pg_catalog.regclass)',
            m.source, m.customer_column, m.time_column, m.amount_column, as_of, m.time_zone, cust_type, st))
            AS q(n bigint);
        PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE INDEX %I ON %s USING %s (customer)',
                                                         m.name || '$state_customer', st,
                                                         @extschema@.rfm_model_state_index_method(cust_typid)));
        PERFORM @extschema@.rfm_owner_exec(owner, format('CREATE INDEX %I ON %s (after_as_of) WHERE after_as_of',
                                                         m.name || '$state_after', st));
        -- one row per customer: the planner then finds a few states by the index
        PERFORM @extschema@.rfm_owner_exec(owner, format('ANALYZE %s', st));
        -- new orders committed since the DELETE may be in the states read:
        -- their customers are read again next time, not added to twice
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'UPDATE %s c SET inserted = false, order_time = NULL, amount = NULL WHERE c.inserted', changes));
        PERFORM @extschema@.rfm_catalog_write('set', m.name, jsonb_build_object(
            'state_as_of', as_of, 'summary_basis', @extschema@.rfm_model_summary_basis(as_of), 'state_source', source));
        message := format('full: %s; %s customers read', reason, n);
        RETURN;
    END IF;
    -- Taken out of $changes in one statement (so that a change committed
    -- later stays for the next refresh): the new orders, into $added, and
    -- the other changed customers with those that had orders after the last
    -- as_of, into $work, to be read again.  New orders are added to stored
    -- states only when the source has no row-level security (the owner might
    -- not see them all), the owner may read the columns, and the amounts
    -- are exact (numeric or integer) and of the types $added keeps.
    merging := NOT (SELECT c.relrowsecurity FROM pg_catalog.pg_class c WHERE c.oid = m.source::regclass)
               AND amount_typid IN ('numeric'::regtype, 'int2'::regtype, 'int4'::regtype, 'int8'::regtype)
               AND (SELECT pg_catalog.array_agg(a.atttypid ORDER BY a.attname) FROM pg_catalog.pg_attribute a
                    WHERE a.attrelid = pg_catalog.to_regclass(added) AND a.attname IN ('order_time', 'amount')
                      AND NOT a.attisdropped)
                   = ARRAY[amount_typid, time_typid]::oid[]
               AND pg_catalog.has_column_privilege(owner::oid, m.source::regclass, m.customer_column::text, 'SELECT')
               AND pg_catalog.has_column_privilege(owner::oid, m.source::regclass, m.time_column::text, 'SELECT')
               AND pg_catalog.has_column_privilege(owner::oid, m.source::regclass, m.amount_column::text, 'SELECT');
    PERFORM @extschema@.rfm_owner_exec(owner, format('TRUNCATE %s, %s', work, added));
    n := @extschema@.rfm_owner_exec(owner, format(
        'WITH d AS (DELETE FROM %1$s c WHERE NOT c.truncated RETURNING c.customer, c.inserted, c.order_time, c.amount), '
        'a AS (INSERT INTO %4$s (customer, order_time, amount) '
        '      SELECT d.customer, d.order_time, d.amount FROM d WHERE d.inserted AND %5$L) '
        'INSERT INTO %2$s (customer) SELECT d.customer FROM d WHERE NOT (d.inserted AND %5$L) '
        'UNION SELECT s.customer FROM %3$s s WHERE s.after_as_of',
        changes, work, st, added, merging));
    IF merging THEN
        -- the states of the new orders of the customers not read again,
        -- added to theirs where that is exact; the others read again
        n := n + @extschema@.rfm_owner_exec(owner, format(
            'WITH n AS (SELECT x.customer, x.state, x.after_as_of FROM (%1$s) x '
            '           WHERE NOT EXISTS (SELECT 1 FROM %2$s w WHERE w.customer %4$s x.customer)), '
            'u AS (UPDATE %3$s s SET state = @extschema@.rfm_model_state_merge(s.state, n.state), after_as_of = n.after_as_of '
            '      FROM n WHERE s.customer %4$s n.customer '
            '        AND @extschema@.rfm_model_state_merge(s.state, n.state) IS NOT NULL RETURNING s.customer) '
            'INSERT INTO %2$s (customer) SELECT n.customer FROM n '
            'WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.customer %4$s n.customer)',
            format('SELECT s.customer, s.state, s.after_as_of FROM @extschema@.rfm_model_states('
                   '%L::pg_catalog.regclass, %L::pg_catalog.name, %L::pg_catalog.name, %L::pg_catalog.name, '
                   '%L::pg_catalog.timestamptz, %L::pg_catalog.text, NULL::%s, NULL) s',
                   added, 'customer', 'order_time', 'amount', as_of, m.time_zone, cust_type),
            work, st, eq));
    END IF;
    IF n > 0 THEN
        PERFORM @extschema@.rfm_owner_exec(owner, format('ANALYZE %s', work));
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'DELETE FROM %1$s s WHERE s.customer %3$s ANY (SELECT w.customer FROM %2$s w)',
            st, work, eq));
        PERFORM @extschema@.rfm_owner_exec(owner, format('INSERT INTO %s %s', st,
                                                         format(states_sql, format('%L::pg_catalog.regclass', work))));
        -- their new orders committed since the first statement may be in the
        -- states read: read again next time, not added to twice
        PERFORM @extschema@.rfm_owner_exec(owner, format(
            'UPDATE %1$s c SET inserted = false, order_time = NULL, amount = NULL '
            'WHERE c.inserted AND c.customer %3$s ANY (SELECT w.customer FROM %2$s w)',
            changes, work, eq));
    END IF;
    -- the customers whose new orders were added: their summary rows are new too
    IF merging THEN
        merged := @extschema@.rfm_owner_exec(owner, format(
            'INSERT INTO %1$s (customer, merged) SELECT DISTINCT a.customer, true FROM %2$s a '
            'WHERE NOT EXISTS (SELECT 1 FROM %1$s w WHERE w.customer %3$s a.customer)',
            work, added, eq));
        IF merged > 0 THEN
            PERFORM @extschema@.rfm_owner_exec(owner, format('ANALYZE %s', work));
        END IF;
    END IF;
    -- The summary rows of the others are what they were if nothing else
    -- they depend on changed (rfm_model_summary_basis).
    basis := @extschema@.rfm_model_summary_basis(as_of);
    keep_summary := coalesce(basis = m.summary_basis, false);
    PERFORM @extschema@.rfm_catalog_write('set', m.name, jsonb_build_object('state_as_of', as_of, 'summary_basis', basis,
                                                                        'state_source', source));
    message := format('incremental: %s customers read again, %s with new orders added', n, merged)
               || CASE WHEN keep_summary THEN ', the summaries of the others kept' ELSE '' END;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_fold(@extschema@.rfm_model, regrole, boolean) IS
    'Brings an incremental model''s stored states to the refresh''s as_of as its owner: reads again from the source the customers its triggers recorded (left in its $work) and those with orders after the last as_of, or all of them (full: asked for, truncated or rewritten source or other columns, as_of moved back, triggers missing or disabled, no states); returns what it did, for the log, and whether the current _summary rows of the customers not read again can be kept (same as_of, rfm version and lifecycle settings)';

-- Drop what an incremental model keeps.  The triggers go with their function
-- (CASCADE): a model's owner with the TRIGGER privilege on the source may
-- create them but, not owning the table, not drop them by name.
CREATE FUNCTION @extschema@.rfm_model_capture_drop(m @extschema@.rfm_model) RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF pg_catalog.to_regprocedure(format('%I.%I()', m.schema_name, m.name || '$capture')) IS NOT NULL THEN
        EXECUTE format('DROP FUNCTION %I.%I() CASCADE', m.schema_name, m.name || '$capture');
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %1$I.%2$I, %1$I.%3$I, %1$I.%4$I, %1$I.%5$I', m.schema_name,
                   m.name || '$state', m.name || '$changes', m.name || '$work', m.name || '$added');
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_capture_drop(@extschema@.rfm_model) IS
    'Drops an incremental model''s capture function with its triggers on the source, and its tables of states, changes, work and added orders';
