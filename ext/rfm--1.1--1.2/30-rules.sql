
-- ==== Rule tables: tiers for every spend, and a digest to compare nodes ====

-- The lowest tier may have no lower bound of spend (min_spend NULL), so that
-- tiering by spend gives every customer a tier, net returns included (a
-- customer whose returns exceed the orders has a negative spend).  The
-- builtin basic tier becomes unbounded; a basic row the user changed keeps
-- its min_spend (set it to NULL to get the same).
ALTER TABLE @extschema@.rfm_tier ALTER COLUMN min_spend DROP NOT NULL;
COMMENT ON TABLE @extschema@.rfm_tier IS
    'Member tiers (会员等级): discount on single products in [0, 1), loyalty point multiplier, and the lower bounds of spend and score (r + f + m) from which a customer reaches the tier; a tier runs up to the next higher tier''s bound; the lowest tier may have min_spend NULL (no lower bound: any spend, negative included)';
COMMENT ON COLUMN @extschema@.rfm_tier.min_spend IS
    'Spend from which a customer reaches the tier (tier_by = ''spend''); NULL (lowest tier only): no lower bound';

-- Only the tier of the lowest rank may have no min_spend; checked at the end
-- of each statement, before rfm_order (rfm_tier_order_check, which a NULL
-- bound passes), so that tiers can be reshuffled in one UPDATE.
CREATE FUNCTION @extschema@.rfm_tier_bound_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
BEGIN
    SELECT u.code, u.rank INTO t
    FROM @extschema@.rfm_tier u
    WHERE u.min_spend IS NULL
      AND EXISTS (SELECT FROM @extschema@.rfm_tier l WHERE l.rank < u.rank)
    ORDER BY u.rank LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'tier "%" has no min_spend but is not the lowest tier', t.code
            USING ERRCODE = 'not_null_violation',
                  DETAIL = format('Tier %s has rank %s; a tier of a lower rank exists.', t.code, t.rank),
                  HINT = 'Only the tier of the lowest rank may leave min_spend NULL (no lower bound).';
    END IF;
    RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_tier_bound_check() IS
    'Trigger (end of statement): only the tier of the lowest rank may have min_spend NULL (no lower bound)';
CREATE TRIGGER rfm_bound AFTER INSERT OR UPDATE OR DELETE ON @extschema@.rfm_tier
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_tier_bound_check();

-- numeric admits NaN (and, from PostgreSQL 14, infinities), which pass the
-- CHECK constraints of 1.0 (NaN sorts above every number).
CREATE FUNCTION @extschema@.rfm_tier_finite_check() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NEW.point_rate::text IN ('NaN', 'Infinity', '-Infinity')
       OR NEW.min_spend::text IN ('NaN', 'Infinity', '-Infinity') THEN
        RAISE EXCEPTION 'tier "%": point_rate and min_spend must be finite', NEW.code
            USING ERRCODE = 'check_violation',
                  DETAIL = format('The row has point_rate %s and min_spend %s.', NEW.point_rate, NEW.min_spend),
                  HINT = 'Use finite numbers; leave the lowest tier''s min_spend NULL for no lower bound.';
    END IF;
    RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_tier_finite_check() IS
    'Trigger: rejects a tier whose point_rate or min_spend is NaN or infinite';
CREATE TRIGGER rfm_a_finite BEFORE INSERT OR UPDATE ON @extschema@.rfm_tier
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_tier_finite_check();

-- The builtin basic tier loses its bound; it stays a builtin row (not
-- dumped), as CREATE EXTENSION installs it so on restore.
ALTER TABLE @extschema@.rfm_tier DISABLE TRIGGER rfm_b_update;
UPDATE @extschema@.rfm_tier SET min_spend = NULL
WHERE code = 'basic' AND origin = 'builtin' AND min_spend = 0;
ALTER TABLE @extschema@.rfm_tier ENABLE TRIGGER rfm_b_update;

-- A digest of the rules, to check that every node of a distributed database
-- (Citus) has the same: the C functions read these tables on the node where
-- they run.  The tables are the extension's configuration tables that hold
-- rules or settings (those with an origin column, and rfm_lifecycle_settings);
-- each row is its jsonb text without origin (keys in jsonb's canonical
-- order), the rows sorted bytewise, so that equal content gives an equal
-- digest whatever the physical order and history of the rows.
CREATE FUNCTION @extschema@.rfm_rules_digests()
    RETURNS TABLE (table_name text, rows bigint, digest text)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1 AS $$
DECLARE
    rel regclass;
BEGIN
    FOR rel IN
        SELECT c.oid::regclass
        FROM pg_extension e, unnest(e.extconfig) AS t(oid) JOIN pg_class c ON c.oid = t.oid
        WHERE e.extname = 'rfm' AND c.relkind = 'r'
          AND (c.relname = 'rfm_lifecycle_settings'
               OR EXISTS (SELECT FROM pg_attribute a
                          WHERE a.attrelid = c.oid AND a.attname = 'origin' AND NOT a.attisdropped))
        ORDER BY c.relname COLLATE "C"
    LOOP
        table_name := (SELECT relname::text FROM pg_class WHERE oid = rel);
        EXECUTE format('SELECT pg_catalog.count(*), pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to('
                       'coalesce(pg_catalog.string_agg(j, E''\n'' ORDER BY j COLLATE "C"), ''''), ''UTF8'')), ''hex'')'
                       ' FROM (SELECT (pg_catalog.to_jsonb(r) OPERATOR(pg_catalog.-) ''origin''::text)::text AS j FROM %s r) q', rel)
            INTO rows, digest;
        RETURN NEXT;
    END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_rules_digests() IS
    'Per rule and settings table: its row count and a SHA-256 digest of its content (rows as jsonb text without origin, sorted), to find which table differs between nodes';

CREATE FUNCTION @extschema@.rfm_rules_digest() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT encode(sha256(convert_to(string_agg(format('%s %s %s', table_name, rows, digest), E'\n'
                                               ORDER BY table_name COLLATE "C"), 'UTF8')), 'hex')
    FROM @extschema@.rfm_rules_digests()
$$;
COMMENT ON FUNCTION @extschema@.rfm_rules_digest() IS
    'One SHA-256 digest of the content of every rule and settings table: equal on two databases (or Citus nodes) exactly when their rules are equal';
