/*
 * owner.c
 *		Who runs what when rfm works on a model.
 *
 * A model's objects (its views, the tables under them and its history
 * table; the materialized views of a model made with 1.1) belong to
 * the role that created it, who may have put code of its own on them (a
 * trigger on the history table, a view in place of a table).  Whoever
 * refreshes or reads a model -- a superuser, pg_cron, a member of the
 * owner's group -- must not run that code with its own rights.  So every
 * statement rfm runs on a model's objects runs as the model's owner, inside
 * a security-restricted operation and with search_path pinned, as
 * PostgreSQL's own REFRESH MATERIALIZED VIEW runs a view's query:
 * rfm_owner_exec and rfm_owner_query.  They only serve roles that may
 * become the owner anyway (SET ROLE), so they grant nothing new.
 *
 * The catalog tables rfm_model and rfm_refresh_log are written only through
 * rfm_catalog_write, which checks that the caller may act for the model and
 * then runs one of a fixed set of statements as the owner of the catalog
 * (the extension's owner).
 */
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

/* What run_as saved, for run_as_end to put back. */
typedef struct RunAs
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} RunAs;

/*
 * Become role in a security-restricted operation with search_path pinned.
 * An error on the way out of the statement unwinds all of this with the
 * (sub)transaction, as it does for REFRESH MATERIALIZED VIEW.
 */
static void
run_as_begin(Oid role, RunAs *r)
{
	GetUserIdAndSecContext(&r->save_userid, &r->save_sec_context);
	SetUserIdAndSecContext(role, r->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	r->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
}

static void
run_as_end(RunAs *r)
{
	AtEOXact_GUC(false, r->save_nestlevel);
	SetUserIdAndSecContext(r->save_userid, r->save_sec_context);
}

/* Whether role may create objects in schema nsp. */
static bool
may_create_in(Oid nsp, Oid role)
{
#if PG_VERSION_NUM >= 160000
	return object_aclcheck(NamespaceRelationId, nsp, role, ACL_CREATE) == ACLCHECK_OK;
#else
	return pg_namespace_aclcheck(nsp, role, ACL_CREATE) == ACLCHECK_OK;
#endif
}

/* Whether the current user may become role with SET ROLE. */
static bool
may_become(Oid role)
{
	Oid			me = GetUserId();

	if (superuser_arg(me))
		return true;
#if PG_VERSION_NUM >= 160000
	return member_can_set_role(me, role);
#else
	return is_member_of_role(me, role);
#endif
}

/* The role of a regrole argument, which must exist and may be become. */
static Oid
checked_role(Oid role, const char *fname)
{
	char	   *name = GetUserNameFromId(role, true);

	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: role with OID %u does not exist", fname, role)));
	if (!may_become(role))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s: permission denied to act as role \"%s\"", fname, name),
				 errdetail("Only roles that may SET ROLE to \"%s\" may work on its models.", name)));
	return role;
}

/*
 * rfm_owner_exec(role regrole, command text) -> bigint
 *		Runs one SQL statement as role, in a security-restricted operation
 *		with search_path = pg_catalog, pg_temp; returns the rows it processed.
 *		For callers that may SET ROLE to role.
 */
PG_FUNCTION_INFO_V1(rfm_owner_exec);
Datum
rfm_owner_exec(PG_FUNCTION_ARGS)
{
	Oid			role = checked_role(PG_GETARG_OID(0), "rfm_owner_exec");
	char	   *command = text_to_cstring(PG_GETARG_TEXT_PP(1));
	RunAs		r;
	int			rc;
	uint64		n;

	run_as_begin(role, &r);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_owner_exec: SPI_connect failed");
	rc = SPI_execute(command, false, 0);
	if (rc < 0)
		elog(ERROR, "rfm_owner_exec: %s", SPI_result_code_string(rc));
	n = SPI_processed;
	SPI_finish();
	run_as_end(&r);
	PG_RETURN_INT64((int64) n);
}

/* The columns of a query's result must be those the call expects. */
static void
check_result_desc(TupleDesc got, TupleDesc want)
{
	if (got->natts != want->natts)
		elog(ERROR, "rfm_owner_query: the query returns %d columns, the call expects %d",
			 got->natts, want->natts);
	for (int i = 0; i < want->natts; i++)
	{
		Oid			t = TupleDescAttr(got, i)->atttypid;

		if (t != TupleDescAttr(want, i)->atttypid)
			elog(ERROR, "rfm_owner_query: column %d is of type %s, the call expects %s",
				 i + 1, format_type_be(t), format_type_be(TupleDescAttr(want, i)->atttypid));
	}
}

#if PG_VERSION_NUM >= 140000
/* The query's rows go straight into the call's tuplestore (PG 14+). */
typedef struct OwnerQueryReceiver
{
	DestReceiver pub;
	Tuplestorestate *store;
	TupleDesc	want;
	MemoryContext cxt;
	bool		started;		/* a query's result arrived */
} OwnerQueryReceiver;

static void
owner_query_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	check_result_desc(typeinfo, ((OwnerQueryReceiver *) self)->want);
	((OwnerQueryReceiver *) self)->started = true;
}

static bool
owner_query_receive(TupleTableSlot *slot, DestReceiver *self)
{
	OwnerQueryReceiver *r = (OwnerQueryReceiver *) self;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	old = MemoryContextSwitchTo(r->cxt);
	tuplestore_puttupleslot(r->store, slot);
	MemoryContextSwitchTo(old);
	return true;
}

static void
owner_query_noop(DestReceiver *self)
{
}
#endif

/*
 * rfm_owner_query(role regrole, query text) -> SETOF record
 *		Runs a query as rfm_owner_exec runs a statement; its rows must match
 *		the column definition list of the call.
 */
PG_FUNCTION_INFO_V1(rfm_owner_query);
Datum
rfm_owner_query(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			role = checked_role(PG_GETARG_OID(0), "rfm_owner_query");
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	TupleDesc	want;
	Tuplestorestate *store;
	MemoryContext per_query;
	MemoryContext old;
	RunAs		r;
	int			rc;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0 || rsinfo->expectedDesc == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_owner_query must be called in FROM with a column definition list")));
	per_query = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(per_query);
	want = CreateTupleDescCopy(rsinfo->expectedDesc);
	store = tuplestore_begin_heap(true, false, work_mem);
	MemoryContextSwitchTo(old);

	run_as_begin(role, &r);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_owner_query: SPI_connect failed");
#if PG_VERSION_NUM >= 140000
	{
		OwnerQueryReceiver recv;
		SPIExecuteOptions opts;

		memset(&recv, 0, sizeof(recv));
		recv.pub.receiveSlot = owner_query_receive;
		recv.pub.rStartup = owner_query_startup;
		recv.pub.rShutdown = owner_query_noop;
		recv.pub.rDestroy = owner_query_noop;
		recv.pub.mydest = DestNone;
		recv.store = store;
		recv.want = want;
		recv.cxt = per_query;
		memset(&opts, 0, sizeof(opts));
		opts.read_only = true;
		opts.dest = (DestReceiver *) &recv;
		rc = SPI_execute_extended(query, &opts);
		/* a SELECT into a receiver of ours reports SPI_OK_UTILITY */
		if ((rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY) || !recv.started)
			elog(ERROR, "rfm_owner_query: not a query (%s)", SPI_result_code_string(rc));
	}
#else
	rc = SPI_execute(query, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rfm_owner_query: %s", SPI_result_code_string(rc));
	check_result_desc(SPI_tuptable->tupdesc, want);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(per_query);
		tuplestore_puttuple(store, SPI_tuptable->vals[i]);
		MemoryContextSwitchTo(old);
	}
#endif
	SPI_finish();
	run_as_end(&r);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = want;
	return (Datum) 0;
}

/* ---- the catalog gate ---- */

/* The statements of rfm_catalog_write; %1$s is the extension's schema. */
typedef struct CatalogOp
{
	const char *name;
	bool		for_owner;		/* the caller must be able to act as the
								 * model's owner */
	const char *sql;			/* $1 model, $2 args jsonb, $3 caller */
} CatalogOp;

static const CatalogOp catalog_ops[] = {
	{"register", false,
		"INSERT INTO %1$s.rfm_model SELECT (pg_catalog.jsonb_populate_record(NULL::%1$s.rfm_model, "
		"$2 OPERATOR(pg_catalog.-) 'cron_job' OPERATOR(pg_catalog.-) 'cron_job_id')).*"},
	{"set", true,
		"UPDATE %1$s.rfm_model rm SET "
		"r_breaks = CASE WHEN $2 OPERATOR(pg_catalog.?) 'r_breaks' THEN j.r_breaks ELSE rm.r_breaks END, "
		"f_breaks = CASE WHEN $2 OPERATOR(pg_catalog.?) 'f_breaks' THEN j.f_breaks ELSE rm.f_breaks END, "
		"m_breaks = CASE WHEN $2 OPERATOR(pg_catalog.?) 'm_breaks' THEN j.m_breaks ELSE rm.m_breaks END, "
		"refresh_as_of = CASE WHEN $2 OPERATOR(pg_catalog.?) 'refresh_as_of' THEN j.refresh_as_of ELSE rm.refresh_as_of END, "
		"cron_job = CASE WHEN $2 OPERATOR(pg_catalog.?) 'cron_job' THEN j.cron_job ELSE rm.cron_job END, "
		"cron_job_id = CASE WHEN $2 OPERATOR(pg_catalog.?) 'cron_job_id' THEN j.cron_job_id ELSE rm.cron_job_id END, "
		"state_as_of = CASE WHEN $2 OPERATOR(pg_catalog.?) 'state_as_of' THEN j.state_as_of ELSE rm.state_as_of END, "
		"summary_basis = CASE WHEN $2 OPERATOR(pg_catalog.?) 'summary_basis' THEN j.summary_basis ELSE rm.summary_basis END, "
		"state_source = CASE WHEN $2 OPERATOR(pg_catalog.?) 'state_source' THEN j.state_source ELSE rm.state_source END "
		"FROM pg_catalog.jsonb_populate_record(NULL::%1$s.rfm_model, $2) j "
		"WHERE rm.name OPERATOR(pg_catalog.=) $1"},
	{"delete", true,
		"WITH l AS (DELETE FROM %1$s.rfm_refresh_log l WHERE l.model OPERATOR(pg_catalog.=) $1) "
		"DELETE FROM %1$s.rfm_model rm WHERE rm.name OPERATOR(pg_catalog.=) $1"},
	{"lock", true,
		"SELECT 1 FROM %1$s.rfm_model rm WHERE rm.name OPERATOR(pg_catalog.=) $1 "
		"FOR NO KEY UPDATE SKIP LOCKED"},
	{"log_start", true,
		"INSERT INTO %1$s.rfm_refresh_log (model, refreshed_by, pid, started_at) "
		"VALUES ($1, $3, pg_catalog.pg_backend_pid(), pg_catalog.clock_timestamp()) RETURNING id"},
	{"log_finish", true,
		"UPDATE %1$s.rfm_refresh_log l SET finished_at = pg_catalog.clock_timestamp(), "
		"outcome = j.outcome, as_of = j.as_of, customers = j.customers, sqlstate = j.sqlstate, "
		"message = j.message "
		"FROM pg_catalog.jsonb_populate_record(NULL::%1$s.rfm_refresh_log, $2) j "
		"WHERE l.id OPERATOR(pg_catalog.=) j.id AND l.model OPERATOR(pg_catalog.=) $1 "
		"AND l.outcome OPERATOR(pg_catalog.=) 'running' AND j.outcome OPERATOR(pg_catalog.<>) 'running' "
		"AND l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid()"},
	{"log_abandon", true,
		"UPDATE %1$s.rfm_refresh_log l SET outcome = 'abandoned', "
		"finished_at = pg_catalog.clock_timestamp() "
		"WHERE l.model OPERATOR(pg_catalog.=) $1 AND l.outcome OPERATOR(pg_catalog.=) 'running' "
		"AND l.id OPERATOR(pg_catalog.<>) ($2 OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8 "
		"AND (l.pid OPERATOR(pg_catalog.=) pg_catalog.pg_backend_pid() "
		"     OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a "
		"                    WHERE a.pid OPERATOR(pg_catalog.=) l.pid))"},
};

/* The owner of relation relname of the function's schema. */
static Oid
catalog_owner(Oid nsp, const char *relname)
{
	Oid			relid = get_relname_relid(relname, nsp);
	Relation	rel;
	Oid			owner;

	if (!OidIsValid(relid))
		elog(ERROR, "rfm: catalog table %s not found", relname);
	rel = RelationIdGetRelation(relid);
	owner = rel->rd_rel->relowner;
	RelationClose(rel);
	return owner;
}

/* The text of a top-level string field of a jsonb object, or NULL. */
static char *
jsonb_field(Jsonb *j, const char *key)
{
	JsonbValue	k;
	JsonbValue *v;

	if (j == NULL || !JB_ROOT_IS_OBJECT(j))
		return NULL;
	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	v = findJsonbValueFromContainer(&j->root, JB_FOBJECT, &k);
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

/*
 * rfm_catalog_write(op text, model text, args jsonb) -> bigint
 *		The one way the extension's functions write rfm_model and
 *		rfm_refresh_log: checks that the caller may act for the model (may
 *		become its owner; for "register", is the owner named and may create in
 *		the schema named), then runs the fixed statement of op as the
 *		catalog's owner.  Returns the id of a new log row ("log_start") or the
 *		rows the statement processed.
 */
PG_FUNCTION_INFO_V1(rfm_catalog_write);
Datum
rfm_catalog_write(PG_FUNCTION_ARGS)
{
	char	   *opname;
	text	   *model;
	Jsonb	   *args = PG_ARGISNULL(2) ? NULL : PG_GETARG_JSONB_P(2);
	Oid			caller = GetUserId();
	char	   *caller_name = GetUserNameFromId(caller, false);
	Oid			nsp = get_func_namespace(fcinfo->flinfo->fn_oid);
	const char *schema = quote_identifier(get_namespace_name(nsp));
	const CatalogOp *op = NULL;
	StringInfoData sql;
	RunAs		r;
	Oid			argtypes[3] = {TEXTOID, JSONBOID, TEXTOID};
	Datum		values[3];
	char		nulls[3] = {' ', ' ', ' '};
	int			rc;
	int64		result;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_catalog_write: op and model must not be NULL")));
	opname = text_to_cstring(PG_GETARG_TEXT_PP(0));
	model = PG_GETARG_TEXT_PP(1);
	for (size_t i = 0; i < lengthof(catalog_ops); i++)
		if (strcmp(catalog_ops[i].name, opname) == 0)
			op = &catalog_ops[i];
	if (op == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_catalog_write: unknown operation \"%s\"", opname)));

	if (op->for_owner)
	{
		/* the model's owner, read as the catalog's owner (no row security) */
		RunAs		look;
		char	   *owner = NULL;
		Oid			owner_oid;

		run_as_begin(catalog_owner(nsp, "rfm_model"), &look);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "rfm_catalog_write: SPI_connect failed");
		initStringInfo(&sql);
		appendStringInfo(&sql, "SELECT rm.owner::pg_catalog.text FROM %s.rfm_model rm "
						 "WHERE rm.name OPERATOR(pg_catalog.=) $1", schema);
		values[0] = PointerGetDatum(model);
		rc = SPI_execute_with_args(sql.data, 1, argtypes, values, nulls, true, 1);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "rfm_catalog_write: %s", SPI_result_code_string(rc));
		if (SPI_processed == 1)
		{
			char	   *o = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

			if (o != NULL)
				owner = MemoryContextStrdup(CurTransactionContext, o);
		}
		SPI_finish();
		run_as_end(&look);
		if (owner == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("model \"%s\" does not exist", text_to_cstring(model))));
		owner_oid = get_role_oid(owner, true);
		if (!(OidIsValid(owner_oid) ? may_become(owner_oid) : superuser_arg(caller)))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for model \"%s\"", text_to_cstring(model)),
					 errdetail("Only the model's owner, role \"%s\", and roles that may SET ROLE to it may change it.",
							   owner)));
	}
	else
	{
		/* register: the caller registers a model of its own */
		char	   *name = jsonb_field(args, "name");
		char	   *owner = jsonb_field(args, "owner");
		char	   *schema_name = jsonb_field(args, "schema_name");
		Oid			target;

		if (name == NULL || strcmp(name, text_to_cstring(model)) != 0 ||
			owner == NULL || strcmp(owner, caller_name) != 0 || schema_name == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to register model \"%s\"", text_to_cstring(model)),
					 errdetail("A role registers models of its own only.")));
		target = get_namespace_oid(schema_name, false);
		if (!may_create_in(target, caller))
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for schema %s", schema_name)));
	}

	initStringInfo(&sql);
	appendStringInfo(&sql, op->sql, schema);
	values[0] = PointerGetDatum(model);
	if (args != NULL)
		values[1] = JsonbPGetDatum(args);
	else
		nulls[1] = 'n';
	values[2] = CStringGetTextDatum(caller_name);

	run_as_begin(catalog_owner(nsp, "rfm_model"), &r);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_catalog_write: SPI_connect failed");
	rc = SPI_execute_with_args(sql.data, 3, argtypes, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "rfm_catalog_write: %s", SPI_result_code_string(rc));
	result = (int64) SPI_processed;
	if (strcmp(op->name, "log_start") == 0)
	{
		bool		isnull;

		result = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_finish();
	run_as_end(&r);
	PG_RETURN_INT64(result);
}

/*
 * Check that relid is a plain table of the calling role, or raise 42501
 * naming fname: a function that reads one of a model's tables through SPI
 * with the caller's rights so runs nobody else's code (no view, no
 * row-level security policy of another role); with writing, one that
 * writes into it (src/sink.c).  hint says who calls it.
 */
void
rfm_require_own_table(Oid relid, const char *fname, bool writing, const char *hint)
{
	if (get_rel_relkind(relid) != RELKIND_RELATION ||
#if PG_VERSION_NUM >= 160000
		!object_ownercheck(RelationRelationId, relid, GetUserId()))
#else
		!pg_class_ownercheck(relid, GetUserId()))
#endif
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("%s %s a table of the calling role", fname, writing ? "writes only into" : "reads only"),
				 errdetail("Relation \"%s\" is not a table owned by role \"%s\".",
						   get_rel_name(relid) ? get_rel_name(relid) : "?",
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("%s", hint)));
}
