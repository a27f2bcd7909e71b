/*
 * summarize_fn.c
 *		The SQL-callable functions of the grouping in C (src/summarize.c):
 *		rfm_summarize, orders -> one rfm_summary, lifecycle stage and repeat
 *		value per customer, and rfm_model_states, the states an incremental
 *		model keeps.
 *
 * Both check the source's columns, build the SELECT of customer, time and
 * amount that the grouping reads as the caller (so privileges and row-level
 * security apply), and return their rows through a tuplestore.
 */
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "sink.h"
#include "summary.h"
#include "summarize.h"

PG_FUNCTION_INFO_V1(rfm_summarize);
PG_FUNCTION_INFO_V1(rfm_model_states);
PG_FUNCTION_INFO_V1(rfm_model_states_into);
PG_FUNCTION_INFO_V1(rfm_model_summarize);
PG_FUNCTION_INFO_V1(rfm_model_state_summary);

/* The type of column colname of relid, or an error. */
static Oid
column_type(Oid relid, Name colname, const char *what)
{
	AttrNumber	attnum = get_attnum(relid, NameStr(*colname));

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("rfm_summarize: column \"%s\" of relation \"%s\" does not exist",
						NameStr(*colname), get_rel_name(relid)),
				 errhint("Name the %s column of the source.", what)));
	return get_atttype(relid, attnum);
}

/* Where the rows of one call go. */
typedef struct SummarizeOut
{
	RowSink		sink;			/* an SRF's tuplestore, or a table */
	TupleDesc	outdesc;
	TupleDesc	sumdesc;		/* rfm_summary's (rfm_summarize) */
	void	   *lcache;			/* lifecycle settings (rfm_summarize) */
	MemoryContext rowcxt;
} SummarizeOut;

/* rfm_summarize's output row for a customer's state. */
static void
emit(void *arg, Datum key, bool key_null, RfmState *st, bool after)
{
	SummarizeOut *out = (SummarizeOut *) arg;
	Datum		values[4];
	bool		nulls[4] = {key_null, false, false, false};
	double		rv;
	MemoryContext old = MemoryContextSwitchTo(out->rowcxt);
	const char *stage;

	CHECK_FOR_INTERRUPTS();
	/* sort the days once here (the state is ours) rather than per reader */
	if (st->nsorted < st->ndays)
		st->ndays = st->nsorted = rfm_days_normalize(RFM_DAYS(st), st->ndays);
	values[0] = key;
	if (st->orders == 0 && st->returns == 0)
		nulls[1] = true;
	else
	{
		Datum		sv[RFM_SUMMARY_NATTS];
		bool		sn[RFM_SUMMARY_NATTS];

		rfm_summary_values(st, sv, sn, out->sumdesc->natts);
		values[1] = HeapTupleGetDatum(heap_form_tuple(out->sumdesc, sv, sn));
	}
	/* the cache's scratch space lives as long as the cache */
	stage = rfm_lifecycle_code(st, out->lcache, GetMemoryChunkContext(out->lcache));
	if (stage == NULL)
		nulls[2] = true;
	else
		values[2] = CStringGetTextDatum(stage);
	if (rfm_state_repeat_value(st, &rv))
		values[3] = Float8GetDatum(rv);
	else
		nulls[3] = true;
	sink_put(&out->sink, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(out->rowcxt);
}

/*
 * A model's stored state of a customer (rfm_model_states): the state with
 * its days sorted, in as little room as it needs.
 */
static void
emit_state(void *arg, Datum key, bool key_null, RfmState *st, bool after)
{
	SummarizeOut *out = (SummarizeOut *) arg;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	MemoryContext old;
	RfmState   *c;

	CHECK_FOR_INTERRUPTS();
	if (key_null)
		return;
	old = MemoryContextSwitchTo(out->rowcxt);
	if (st->nsorted < st->ndays)
		st->ndays = st->nsorted = rfm_days_normalize(RFM_DAYS(st), st->ndays);
	c = state_alloc(out->rowcxt, st->ndays, st->overflow_cap);
	memcpy(c, st, offsetof(RfmState, unused));
	memcpy(&c->scale, &st->scale, sizeof(RfmState) - offsetof(RfmState, scale));
	SET_VARSIZE(c, RFM_SIZE(st->ndays, st->overflow_cap));
	c->maxdays = st->ndays;
	c->overflow_cap = st->overflow_cap;
	if (st->overflow_len > 0)
		memcpy(RFM_OVERFLOW(c), RFM_OVERFLOW(st), st->overflow_len);
	memcpy(RFM_DAYS(c), RFM_DAYS(st), st->ndays * sizeof(int32));
	values[0] = key;
	values[1] = PointerGetDatum(c);
	values[2] = BoolGetDatum(after);
	sink_put(&out->sink, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(out->rowcxt);
}

/* what summarize_common returns */
typedef enum SummarizeMode
{
	MODE_SUMMARY,				/* rfm_summarize: (customer, summary, lifecycle, repeat_value) */
	MODE_STATES,				/* rfm_model_states: (customer, state, after_as_of) */
	MODE_FLAT					/* rfm_model_summarize: a model's summary rows, flat */
} SummarizeMode;

/*
 * A model's summary row, flat: the customer, the 13 attributes of
 * rfm_summary, the lifecycle stage and the repeat value; none for the NULL
 * customer or a customer without an order on or before as_of (a model
 * leaves them out: their summary has NULL attributes, so `summary IS NOT
 * NULL` is false for it).  A composite summary would cost a model a copy
 * of it for each of the attributes it reads.
 */
static void
emit_flat(void *arg, Datum key, bool key_null, RfmState *st, bool after)
{
	SummarizeOut *out = (SummarizeOut *) arg;
	Datum		values[RFM_SUMMARY_NATTS + 3];
	bool		nulls[RFM_SUMMARY_NATTS + 3];
	double		rv;
	MemoryContext old;
	const char *stage;

	CHECK_FOR_INTERRUPTS();
	if (key_null || st->orders == 0)
		return;
	old = MemoryContextSwitchTo(out->rowcxt);
	if (st->nsorted < st->ndays)
		st->ndays = st->nsorted = rfm_days_normalize(RFM_DAYS(st), st->ndays);
	values[0] = key;
	nulls[0] = false;
	rfm_summary_values(st, values + 1, nulls + 1, RFM_SUMMARY_NATTS);
	stage = rfm_lifecycle_code(st, out->lcache, GetMemoryChunkContext(out->lcache));
	nulls[RFM_SUMMARY_NATTS + 1] = (stage == NULL);
	values[RFM_SUMMARY_NATTS + 1] = stage ? CStringGetTextDatum(stage) : (Datum) 0;
	nulls[RFM_SUMMARY_NATTS + 2] = !rfm_state_repeat_value(st, &rv);
	values[RFM_SUMMARY_NATTS + 2] = nulls[RFM_SUMMARY_NATTS + 2] ? (Datum) 0 : Float8GetDatum(rv);
	sink_put(&out->sink, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(out->rowcxt);
}

static Datum summarize_common(FunctionCallInfo fcinfo, SummarizeMode mode, bool into);

/* The schema of an operator. */
static Oid
operator_namespace(Oid opno)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Oid			nsp;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for operator %u", opno);
	nsp = ((Form_pg_operator) GETSTRUCT(tup))->oprnamespace;
	ReleaseSysCache(tup);
	return nsp;
}

/*
 * rfm_summarize(source, customer_column, time_column, amount_column, as_of,
 * time_zone, customer_type): one row per customer of source, with the
 * rfm_summary and lifecycle stage that rfm_summary/rfm_lifecycle ... GROUP BY
 * customer give.  customer_type (a NULL of the customer column's type) fixes
 * the type of the customer output column.
 */
Datum
rfm_summarize(PG_FUNCTION_ARGS)
{
	return summarize_common(fcinfo, MODE_SUMMARY, false);
}

/*
 * Restrict the query in q to the customers listed in table filter (its
 * column customer), compared with the customer type's own equality
 * operator: "WHERE column = ANY (SELECT f.customer FROM filter f)", or,
 * where an index on column finds each (indexed: an incremental model's
 * states), "= ANY (ARRAY(SELECT ...))", which the planner cannot turn
 * into a join that reads the whole table.
 */
static void
append_customer_filter(StringInfo q, const char *fn, const char *column, Oid key_type, Oid filter, bool indexed)
{
	TypeCacheEntry *tce = lookup_type_cache(key_type, TYPECACHE_EQ_OPR);

	if (get_rel_name(filter) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("%s: relation with OID %u does not exist", fn, filter)));
	if (!OidIsValid(tce->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("%s: customer type %s has no equality operator", fn, format_type_be(key_type))));
	appendStringInfo(q, indexed ? " WHERE %s OPERATOR(%s.%s) ANY (ARRAY(SELECT f.customer FROM %s f))"
					 : " WHERE %s OPERATOR(%s.%s) ANY (SELECT f.customer FROM %s f)",
					 column,
					 quote_identifier(get_namespace_name(operator_namespace(tce->eq_opr))),
					 get_opname(tce->eq_opr),
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(filter)),
												get_rel_name(filter)));
}

/*
 * rfm_model_states(source, customer_column, time_column, amount_column,
 * as_of, time_zone, customer_type, customers): the same grouping, kept for
 * an incremental model: one row per customer (NULL customers left out) with
 * its rfm_state at as_of and whether it has rows after as_of (which the
 * state leaves out).  customers, a table with a column "customer" of the
 * customer type, or NULL: only the customers it lists.
 */
Datum
rfm_model_states(PG_FUNCTION_ARGS)
{
	return summarize_common(fcinfo, MODE_STATES, false);
}

/*
 * rfm_model_states_into(the arguments of rfm_model_states, target): the same
 * rows written into target, a table of the caller's made or truncated in
 * this transaction (src/sink.c): an incremental model's table of states,
 * read again in full; the number of rows.
 */
Datum
rfm_model_states_into(PG_FUNCTION_ARGS)
{
	return summarize_common(fcinfo, MODE_STATES, true);
}

/*
 * rfm_model_summarize(source, customer_column, time_column, amount_column,
 * as_of, time_zone, customer_type): rfm_summarize's grouping, as a model's
 * summary rows (emit_flat).
 */
Datum
rfm_model_summarize(PG_FUNCTION_ARGS)
{
	return summarize_common(fcinfo, MODE_FLAT, false);
}

static Datum
summarize_common(FunctionCallInfo fcinfo, SummarizeMode mode, bool into)
{
	bool		states = (mode == MODE_STATES);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	Oid			key_type,
				time_type,
				amount_type;
	TupleDesc	outdesc;
	TupleDesc	sumdesc;
	Tuplestorestate *ts;
	SummarizeCtx ctx;
	SummarizeOut out;
	StringInfoData q;
	const char *amount_cast = "";
	void	   *lcache;
	text	   *zone;

	if (!into)
		rfm_srf_check(fcinfo, "rfm_summarize");
	else if (PG_ARGISNULL(8))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_model_states_into: the target table must not be NULL")));
	for (int i = 0; i < 6; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_summarize: argument %d must not be null", i + 1),
					 errhint("Only customer_type is passed as NULL (of the customer column's type).")));

	relid = PG_GETARG_OID(0);
	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("rfm_summarize: relation with OID %u does not exist", relid)));
	key_type = column_type(relid, PG_GETARG_NAME(1), "customer");
	time_type = column_type(relid, PG_GETARG_NAME(2), "order time");
	amount_type = column_type(relid, PG_GETARG_NAME(3), "amount");
	zone = PG_GETARG_TEXT_PP(5);

	if (get_fn_expr_argtype(fcinfo->flinfo, 6) != key_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_summarize: customer column \"%s\" has type %s, not %s",
						NameStr(*PG_GETARG_NAME(1)), format_type_be(key_type),
						format_type_be(get_fn_expr_argtype(fcinfo->flinfo, 6))),
				 errhint("Pass customer_type as NULL::%s.", format_type_be(key_type))));

	memset(&ctx, 0, sizeof(ctx));
	if (time_type == TIMESTAMPTZOID)
		ctx.kind = RFM_KIND_TIMESTAMPTZ;
	else if (time_type == DATEOID)
		ctx.kind = RFM_KIND_DATE;
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_summarize: order time column \"%s\" has type %s",
						NameStr(*PG_GETARG_NAME(2)), format_type_be(time_type)),
				 errhint("Use a timestamptz or date column (a view can convert others).")));
	switch (amount_type)
	{
		case NUMERICOID:
			ctx.amount_kind = RFM_AMOUNT_NUMERIC;
			break;
		case FLOAT8OID:
			ctx.amount_kind = RFM_AMOUNT_FLOAT8;
			break;
		case INT2OID:
		case INT4OID:
		case INT8OID:
			ctx.amount_kind = RFM_AMOUNT_NUMERIC;
			amount_cast = "pg_catalog.numeric";
			break;
		case FLOAT4OID:
			ctx.amount_kind = RFM_AMOUNT_FLOAT8;
			amount_cast = "pg_catalog.float8";
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("rfm_summarize: amount column \"%s\" has type %s",
							NameStr(*PG_GETARG_NAME(3)), format_type_be(amount_type)),
					 errhint("Use a numeric, float8 or integer column.")));
	}

	/* the customer key: integers fast, others through their hash opclass */
	ctx.key_type = key_type;
	get_typlenbyval(key_type, &ctx.key_len, &ctx.key_byval);
	ctx.int_keys = (key_type == INT2OID || key_type == INT4OID || key_type == INT8OID);
	if (!ctx.int_keys)
	{
		TypeCacheEntry *tce = lookup_type_cache(key_type,
												TYPECACHE_HASH_PROC_FINFO | TYPECACHE_EQ_OPR_FINFO);

		if (!OidIsValid(tce->hash_proc) || !OidIsValid(tce->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("rfm_summarize: customer type %s has no hash operator class",
							format_type_be(key_type)),
					 errhint("Use a customer column of a hashable type (integer, text, uuid, ...).")));
		fmgr_info_copy(&ctx.hash_fn, &tce->hash_proc_finfo, CurrentMemoryContext);
		fmgr_info_copy(&ctx.eq_fn, &tce->eq_opr_finfo, CurrentMemoryContext);
		{
			Oid			typid;
			int32		typmod;

			get_atttypetypmodcoll(relid, get_attnum(relid, NameStr(*PG_GETARG_NAME(1))),
								  &typid, &typmod, &ctx.key_collation);
		}
	}

	/* time zone (validated once) and as_of */
	ctx.tzc = rfm_tzcache_new(CurrentMemoryContext, zone);
	if (ctx.kind == RFM_KIND_TIMESTAMPTZ)
		ctx.as_of = rfm_as_of_value(RFM_KIND_TIMESTAMPTZ, PG_GETARG_DATUM(4));
	else
	{
		/* order dates: as_of is the calendar day of as_of in time_zone */
		RfmState   *probe;
		int64		t = rfm_as_of_value(RFM_KIND_TIMESTAMPTZ, PG_GETARG_DATUM(4));

		probe = rfm_state_new(RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_FLOAT8, t, ctx.tzc, 1);
		ctx.as_of = rfm_as_of_value(RFM_KIND_DATE, DateADTGetDatum((DateADT) probe->as_of_day));
		pfree(probe);
		ctx.tzc = NULL;
	}

	/* output: (customer, summary, lifecycle, repeat_value) */
	if (into)
		outdesc = NULL;
	else if (get_call_result_type(fcinfo, NULL, &outdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_summarize: return type must be a row type");
	/* (customer, state, after) for a model's states */
	sumdesc = (mode != MODE_SUMMARY) ? NULL :
		lookup_rowtype_tupdesc_copy(TupleDescAttr(outdesc, 1)->atttypid, -1);
	lcache = states ? NULL : rfm_lifecycle_cache_new(fcinfo->flinfo->fn_oid, CurrentMemoryContext);

	/* SELECT customer, time, amount FROM source, as the caller */
	initStringInfo(&q);
	appendStringInfo(&q, "SELECT %s, %s, ",
					 quote_identifier(NameStr(*PG_GETARG_NAME(1))),
					 quote_identifier(NameStr(*PG_GETARG_NAME(2))));
	if (*amount_cast)
		appendStringInfo(&q, "CAST(%s AS %s)",
						 quote_identifier(NameStr(*PG_GETARG_NAME(3))), amount_cast);
	else
		appendStringInfoString(&q, quote_identifier(NameStr(*PG_GETARG_NAME(3))));
	appendStringInfo(&q, " FROM %s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (states && !PG_ARGISNULL(7))
		append_customer_filter(&q, "rfm_model_states", quote_identifier(NameStr(*PG_GETARG_NAME(1))),
							   key_type, PG_GETARG_OID(7), false);

	ctx.track_after = states;
	summarize_begin(&ctx);
	summarize_read(&ctx, q.data);

	/* results */
	if (into)
	{
		static const char *const names[3] = {"customer", "state", "after_as_of"};
		Oid			types[3] = {key_type,
			GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("rfm_state"),
							ObjectIdGetDatum(get_func_namespace(fcinfo->flinfo->fn_oid))),
		BOOLOID};

		ts = NULL;
		sink_open_table(&out.sink, PG_GETARG_OID(8), 3, names, types, "rfm_model_states_into");
	}
	else
	{
		ts = rfm_srf_store(fcinfo, &outdesc);
		sink_open_store(&out.sink, ts, outdesc);
	}
	out.outdesc = outdesc;
	out.sumdesc = sumdesc;
	out.lcache = lcache;
	out.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rfm_summarize row", ALLOCSET_SMALL_SIZES);
	summarize_foreach(&ctx, mode == MODE_STATES ? emit_state : mode == MODE_FLAT ? emit_flat : emit, &out);
	MemoryContextDelete(out.rowcxt);
	summarize_end(&ctx);
	if (into)
		PG_RETURN_INT64((int64) sink_close(&out.sink));
	sink_close(&out.sink);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = outdesc;
	return (Datum) 0;
}


/*
 * rfm_model_state_summary(states, as_of, time_zone, customer_type, customers): a
 * model's summary rows (emit_flat) from an incremental model's table of
 * states (columns customer and state), each re-dated to as_of
 * (rfm_state_redate); with customers (a table with a column customer, or
 * NULL), only the customers it lists.  It reads only a plain table of states
 * of the calling role: a refresh calls it as the model's owner on the
 * model's $state.
 */
Datum
rfm_model_state_summary(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	TupleDesc	outdesc;
	MemoryContext old;
	SummarizeOut out;
	TzCache    *tzc;
	int64		as_of;
	int32		as_of_day;
	StringInfoData q;
	SPIPlanPtr	plan;
	Portal		portal;
	Oid			state_type;

	rfm_srf_check(fcinfo, "rfm_model_state_summary");
	for (int i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_model_state_summary: argument %d must not be null", i + 1)));
	relid = PG_GETARG_OID(0);
	rfm_require_own_table(relid, "rfm_model_state_summary", false,
						  "A refresh calls it as the model's owner on the model's table of states.");
	tzc = rfm_tzcache_get(fcinfo, 2);
	as_of = rfm_as_of_value(RFM_KIND_TIMESTAMPTZ, PG_GETARG_DATUM(1));
	as_of_day = rfm_local_day(tzc, as_of);
	/* rfm_state, of this function's schema */
	state_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid, CStringGetDatum("rfm_state"),
								 ObjectIdGetDatum(get_func_namespace(fcinfo->flinfo->fn_oid)));

	if (get_call_result_type(fcinfo, NULL, &outdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_model_state_summary: return type must be a row type");
	sink_open_store(&out.sink, rfm_srf_store(fcinfo, &outdesc), outdesc);
	out.outdesc = outdesc;
	out.sumdesc = NULL;
	out.lcache = rfm_lifecycle_cache_new(fcinfo->flinfo->fn_oid, CurrentMemoryContext);
	out.rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rfm_model_state_summary row",
									   ALLOCSET_SMALL_SIZES);

	initStringInfo(&q);
	appendStringInfo(&q, "SELECT s.customer, s.state FROM %s s",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												get_rel_name(relid)));
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4))
		append_customer_filter(&q, "rfm_model_state_summary", "s.customer",
							   TupleDescAttr(out.outdesc, 0)->atttypid, PG_GETARG_OID(4), true);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_model_state_summary: SPI_connect failed");
	plan = SPI_prepare(q.data, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "rfm_model_state_summary: %s", SPI_result_code_string(SPI_result));
	portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
	for (;;)
	{
		TupleDesc	d;

		SPI_cursor_fetch(portal, true, 10000);
		if (SPI_processed == 0)
			break;
		d = SPI_tuptable->tupdesc;
		if (d->natts != 2 || TupleDescAttr(d, 0)->atttypid != TupleDescAttr(out.outdesc, 0)->atttypid ||
			TupleDescAttr(d, 1)->atttypid != state_type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("rfm_model_state_summary: %s is not a table of states of customers of type %s",
							get_rel_name(relid), format_type_be(TupleDescAttr(out.outdesc, 0)->atttypid)),
					 errdetail("Its columns customer and state are of types %s and %s.",
							   format_type_be(TupleDescAttr(d, 0)->atttypid),
							   format_type_be(TupleDescAttr(d, 1)->atttypid))));
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			bool		knull,
						snull;
			Datum		key = SPI_getbinval(SPI_tuptable->vals[i], d, 1, &knull);
			Datum		sd = SPI_getbinval(SPI_tuptable->vals[i], d, 2, &snull);
			RfmState   *st;

			if (knull || snull)
				continue;
			old = MemoryContextSwitchTo(out.rowcxt);
			st = rfm_state_redate((RfmState *) PG_DETOAST_DATUM(sd), as_of, as_of_day, rfm_tzcache_zone(tzc));
			MemoryContextSwitchTo(old);
			emit_flat(&out, key, false, st, false);
			/* also when emit_flat made no row */
			MemoryContextReset(out.rowcxt);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	SPI_finish();
	MemoryContextDelete(out.rowcxt);

	sink_close(&out.sink);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = out.sink.store;
	rsinfo->setDesc = out.outdesc;
	return (Datum) 0;
}
