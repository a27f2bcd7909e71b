
-- ==== Who runs what: the owner's statements and the catalog's gate ====
-- See src/owner.c.  A model's objects belong to its owner; rfm runs every
-- statement on them as that owner, in a security-restricted operation, and
-- writes its catalog (rfm_model, rfm_refresh_log) only through
-- rfm_catalog_write.

CREATE FUNCTION @extschema@.rfm_owner_exec(role regrole, command text) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rfm_owner_exec(regrole, text) IS
    'Runs one statement as role (which the caller must be able to SET ROLE to) in a security-restricted operation with search_path = pg_catalog, pg_temp; returns the rows processed. The model functions write a model''s history through it';

CREATE FUNCTION @extschema@.rfm_owner_query(role regrole, query text) RETURNS SETOF record
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rfm_owner_query(regrole, text) IS
    'Runs a query as role (which the caller must be able to SET ROLE to) in a security-restricted operation with search_path = pg_catalog, pg_temp; call it with a column definition list. The model functions read a model''s objects through it';

CREATE FUNCTION @extschema@.rfm_catalog_write(op text, model text, args jsonb DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION @extschema@.rfm_catalog_write(text, text, jsonb) IS
    'The only writer of rfm_model and rfm_refresh_log: one of a fixed set of operations (register, set, delete, lock, log_start, log_finish, log_abandon), for roles that may act as the model''s owner';

-- ==== The catalog is written by the extension's functions only ====

-- pg_cron jobs are known by id: a job name is a name, cut at 63 bytes.
ALTER TABLE @extschema@.rfm_model ADD COLUMN cron_job_id bigint;
COMMENT ON COLUMN @extschema@.rfm_model.cron_job_id IS 'pg_cron job id of rfm_schedule, NULL when not scheduled';
COMMENT ON COLUMN @extschema@.rfm_model.cron_job IS
    'pg_cron job name of a schedule made before 1.2 (1.2 knows jobs by cron_job_id; rfm_unschedule clears both)';
DO $$
BEGIN
    IF pg_catalog.to_regclass('cron.job') IS NOT NULL THEN
        EXECUTE 'UPDATE @extschema@.rfm_model rm SET cron_job_id = j.jobid FROM cron.job j '
                'WHERE rm.cron_job IS NOT NULL AND j.jobname = pg_catalog.left(rm.cron_job, 63) '
                'AND j.username = rm.owner';
    END IF;
END
$$;

-- The log no longer locks its model's row for each entry: a refresh holds
-- that row's lock, and finds a second refresh's holder by it.
ALTER TABLE @extschema@.rfm_refresh_log DROP CONSTRAINT rfm_refresh_log_model_fkey;

REVOKE INSERT, UPDATE, DELETE ON @extschema@.rfm_model FROM PUBLIC;
GRANT UPDATE (as_of, r_breaks, f_breaks, m_breaks, keep_history) ON @extschema@.rfm_model TO PUBLIC;
REVOKE INSERT, UPDATE ON @extschema@.rfm_refresh_log FROM PUBLIC;
REVOKE USAGE ON SEQUENCE @extschema@.rfm_refresh_log_id_seq FROM PUBLIC;
DROP POLICY rfm_model_insert ON @extschema@.rfm_model;
DROP POLICY rfm_model_delete ON @extschema@.rfm_model;
DROP POLICY rfm_refresh_log_insert ON @extschema@.rfm_refresh_log;
DROP POLICY rfm_refresh_log_update ON @extschema@.rfm_refresh_log;
DROP POLICY rfm_refresh_log_read ON @extschema@.rfm_refresh_log;
-- a role reads the log of the models whose owner it may become: a failed
-- refresh's message can quote the source's data
CREATE POLICY rfm_refresh_log_read ON @extschema@.rfm_refresh_log FOR SELECT
    USING (EXISTS (SELECT 1 FROM @extschema@.rfm_model rm JOIN pg_catalog.pg_roles r ON r.rolname = rm.owner
                   WHERE rm.name = model AND pg_catalog.pg_has_role(r.oid, 'MEMBER')));

-- The advisory lock of 1.1 could be taken by anyone, and two names could
-- share a key: a refresh now holds a row lock on its model's rfm_model row.
DROP FUNCTION @extschema@.rfm_model_lock_holders(bigint);
DROP FUNCTION @extschema@.rfm_model_lock_key(text);
