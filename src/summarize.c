/*
 * summarize.c
 *		rfm_summarize: orders -> one rfm_summary (and lifecycle stage) per
 *		customer in one pass, grouped in C.
 *
 * The source is read through the executor as the caller (a plain SELECT of
 * three columns run through SPI), so privileges and row-level security apply
 * as to any query of the caller.  Rows arrive in a DestReceiver (PG 14+;
 * PG 13 fetches from a cursor) and go straight into the rfm_state of their
 * customer, found in a hash table made with lib/simplehash.h: one
 * specialised for integer keys (int2, int4, int8), one for any other
 * hashable type through the hash and equality functions of its default hash
 * operator class (typcache).  The states live in a memory context of their
 * own, deleted at the end; results go out through a tuplestore.
 *
 * Every customer key seen gives one row, as `GROUP BY customer` does: the
 * summary is what rfm_summary gives for the group (NULL when no order or
 * return is on or before as_of) and the stage what rfm_lifecycle gives, from
 * the same state, and so is repeat_value (rfm_repeat_value, the Gamma-Gamma
 * input).  A NULL customer is one group, as in GROUP BY.
 */
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_summarize);
PG_FUNCTION_INFO_V1(rfm_model_states);

typedef struct SummarizeCtx SummarizeCtx;

/* integer customer keys */
typedef struct IntEntry
{
	int64		key;
	char		status;
	bool		after;			/* a row after as_of was left out */
	RfmState   *st;
} IntEntry;

/* murmur3's 64-bit finalizer: good spread for sequential ids */
static inline uint32
int_key_hash(int64 k)
{
	uint64		h = (uint64) k;

	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

#define SH_PREFIX		rfm_ih
#define SH_ELEMENT_TYPE IntEntry
#define SH_KEY_TYPE		int64
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) int_key_hash(k)
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* any hashable customer key */
typedef struct GenEntry
{
	Datum		key;
	uint32		hash;
	char		status;
	bool		after;			/* a row after as_of was left out */
	RfmState   *st;
} GenEntry;

static uint32 gen_key_hash(SummarizeCtx *ctx, Datum key);
static bool gen_key_equal(SummarizeCtx *ctx, Datum a, Datum b);

#define SH_PREFIX		rfm_gh
#define SH_ELEMENT_TYPE GenEntry
#define SH_KEY_TYPE		Datum
#define SH_KEY			key
#define SH_HASH_KEY(tb, k) gen_key_hash((SummarizeCtx *) (tb)->private_data, k)
#define SH_EQUAL(tb, a, b) gen_key_equal((SummarizeCtx *) (tb)->private_data, a, b)
#define SH_STORE_HASH
#define SH_GET_HASH(tb, a) ((a)->hash)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * Rows of integer customers are processed in batches: first every row's
 * hash bucket is prefetched, then every row's state, then the rows are
 * added, so that the cache misses of a batch overlap instead of coming one
 * after the other (they are most of the time per row when the customers do
 * not fit in the CPU caches).  Amounts are copied into the batch: the row's
 * memory is the executor's.
 */
#define RFM_BATCH 64
#define RFM_BATCH_ARENA 32		/* bytes of amount per row kept inline */

typedef struct RowBatch
{
	int			n;
	int64		key[RFM_BATCH];
	uint32		hash[RFM_BATCH];
	bool		skip[RFM_BATCH];	/* NULL time or amount: only the group */
	Datum		time[RFM_BATCH];
	Datum		amount[RFM_BATCH];
	RfmState   *st[RFM_BATCH];
	char		arena[RFM_BATCH][RFM_BATCH_ARENA];
	MemoryContext bigcxt;		/* amounts larger than the arena */
} RowBatch;

struct SummarizeCtx
{
	MemoryContext statecxt;		/* states and copied keys */
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	bool		int_keys;		/* int2/int4/int8: rfm_ih, else rfm_gh */
	Oid			key_collation;
	FmgrInfo	hash_fn;
	FmgrInfo	eq_fn;
	rfm_ih_hash *ih;
	rfm_gh_hash *gh;
	RfmState   *null_key_state; /* the group of NULL customers */
	bool		null_key_seen;
	int			kind;			/* RFM_KIND_* */
	int			amount_kind;	/* RFM_AMOUNT_* */
	int64		as_of;
	TzCache    *tzc;
	RowBatch   *batch;			/* integer keys */
	bool		track_after;	/* note customers with rows after as_of */
};

/*
 * Whether an order time (a timestamptz or date datum per ctx->kind) is after
 * as_of: the rows rfm_state_add leaves out.
 */
static inline bool
row_after(SummarizeCtx *ctx, Datum time)
{
	int64		t;

	if (ctx->kind == RFM_KIND_TIMESTAMPTZ)
		t = DatumGetTimestampTz(time);
	else
	{
		DateADT		d = DatumGetDateADT(time);

		if (DATE_IS_NOBEGIN(d))
			return false;
		if (DATE_IS_NOEND(d) || d >= (DateADT) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE))
			return true;
		t = (int64) d * USECS_PER_DAY;
	}
	return t > ctx->as_of;
}

static uint32
gen_key_hash(SummarizeCtx *ctx, Datum key)
{
	return DatumGetUInt32(FunctionCall1Coll(&ctx->hash_fn, ctx->key_collation, key));
}

static bool
gen_key_equal(SummarizeCtx *ctx, Datum a, Datum b)
{
	return DatumGetBool(FunctionCall2Coll(&ctx->eq_fn, ctx->key_collation, a, b));
}

static void batch_row(SummarizeCtx *ctx, Datum *values, bool *nulls);

/* a customer's first row: an empty state, in the states' context */
static inline RfmState *
new_state(SummarizeCtx *ctx)
{
	MemoryContext old = MemoryContextSwitchTo(ctx->statecxt);
	RfmState   *st = rfm_state_new(ctx->kind, ctx->amount_kind, ctx->as_of, ctx->tzc, 4);

	MemoryContextSwitchTo(old);
	return st;
}

/* The state slot of a customer, created on its first row. */
static inline RfmState **
state_slot(SummarizeCtx *ctx, Datum key, bool isnull)
{
	bool		found;

	if (isnull)
	{
		if (!ctx->null_key_seen)
		{
			ctx->null_key_state = new_state(ctx);
			ctx->null_key_seen = true;
		}
		return &ctx->null_key_state;
	}
	if (ctx->int_keys)
	{
		int64		k;
		IntEntry   *e;

		k = (ctx->key_type == INT8OID) ? DatumGetInt64(key) :
			(ctx->key_type == INT4OID) ? (int64) DatumGetInt32(key) :
			(int64) DatumGetInt16(key);
		e = rfm_ih_insert(ctx->ih, k, &found);
		if (!found)
		{
			e->st = new_state(ctx);
			e->after = false;
		}
		return &e->st;
	}
	else
	{
		GenEntry   *e = rfm_gh_insert(ctx->gh, key, &found);

		if (!found)
		{
			MemoryContext old = MemoryContextSwitchTo(ctx->statecxt);

			/* keep a flat copy of the key: the row's memory is reused */
			if (ctx->key_len == -1)
				e->key = PointerGetDatum(PG_DETOAST_DATUM_COPY(key));
			else
				e->key = datumCopy(key, ctx->key_byval, ctx->key_len);
			MemoryContextSwitchTo(old);
			e->st = new_state(ctx);
			e->after = false;
		}
		return &e->st;
	}
}

/* One row of the source: customer, order time, amount. */
static void
add_row(SummarizeCtx *ctx, Datum *values, bool *nulls)
{
	RfmState  **slot;
	RfmState   *st;
	RfmState   *grown;
	MemoryContext old;
	Datum		amount;

	if (ctx->batch != NULL && !nulls[0])
	{
		batch_row(ctx, values, nulls);
		return;
	}
	CHECK_FOR_INTERRUPTS();
	slot = state_slot(ctx, values[0], nulls[0]);

	/* rows with an unknown time or amount are not orders: skip them */
	if (nulls[1] || nulls[2])
		return;

	if (ctx->track_after && !nulls[0] && !ctx->int_keys && row_after(ctx, values[1]))
		((GenEntry *) ((char *) slot - offsetof(GenEntry, st)))->after = true;
	st = *slot;
	amount = values[2];
	if (ctx->amount_kind == RFM_AMOUNT_NUMERIC)
		amount = PointerGetDatum(PG_DETOAST_DATUM_PACKED(amount));
	old = MemoryContextSwitchTo(ctx->statecxt);
	grown = rfm_state_add(st, ctx->tzc, values[1], amount);
	MemoryContextSwitchTo(old);
	/* a compressed or out-of-line amount was detoasted for this row only */
	if (amount != values[2])
		pfree(DatumGetPointer(amount));
	if (grown != st)
	{
		pfree(st);
		*slot = grown;
	}
}

/* Add the rows of the batch (see RowBatch) and empty it. */
static void
flush_batch(SummarizeCtx *ctx)
{
	RowBatch   *b = ctx->batch;
	rfm_ih_hash *tb = ctx->ih;
	bool		regrouped = false;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	for (int i = 0; i < b->n; i++)
	{
		b->hash[i] = int_key_hash(b->key[i]);
		__builtin_prefetch(&tb->data[b->hash[i] & tb->sizemask]);
	}
	for (int i = 0; i < b->n; i++)
	{
		bool		found;
		IntEntry   *e = rfm_ih_insert_hash(tb, b->key[i], b->hash[i], &found);

		if (!found)
		{
			e->st = new_state(ctx);
			e->after = false;
		}
		b->st[i] = e->st;
		__builtin_prefetch(e->st);
		__builtin_prefetch((char *) e->st + 64);
		__builtin_prefetch((char *) e->st + 128);
	}
	old = MemoryContextSwitchTo(ctx->statecxt);
	for (int i = 0; i < b->n; i++)
	{
		IntEntry   *e = NULL;
		RfmState   *st;
		RfmState   *grown;

		if (b->skip[i])
			continue;
		/* after a state moved, the batch's copies of it may be stale */
		if (regrouped)
		{
			e = rfm_ih_lookup_hash(tb, b->key[i], b->hash[i]);
			st = e->st;
		}
		else
			st = b->st[i];
		if (ctx->track_after && row_after(ctx, b->time[i]))
		{
			if (e == NULL)
				e = rfm_ih_lookup_hash(tb, b->key[i], b->hash[i]);
			e->after = true;
		}
		grown = rfm_state_add(st, ctx->tzc, b->time[i], b->amount[i]);
		if (grown != st)
		{
			if (e == NULL)
				e = rfm_ih_lookup_hash(tb, b->key[i], b->hash[i]);
			e->st = grown;
			pfree(st);
			regrouped = true;
		}
	}
	MemoryContextSwitchTo(old);
	b->n = 0;
	MemoryContextReset(b->bigcxt);
}

/* Queue one row of an integer customer (not NULL) into the batch. */
static void
batch_row(SummarizeCtx *ctx, Datum *values, bool *nulls)
{
	RowBatch   *b = ctx->batch;
	int			i = b->n;
	Datum		key = values[0];

	b->key[i] = (ctx->key_type == INT8OID) ? DatumGetInt64(key) :
		(ctx->key_type == INT4OID) ? (int64) DatumGetInt32(key) :
		(int64) DatumGetInt16(key);
	b->skip[i] = nulls[1] || nulls[2];
	if (!b->skip[i])
	{
		b->time[i] = values[1];
		if (ctx->amount_kind == RFM_AMOUNT_NUMERIC)
		{
			struct varlena *a = (struct varlena *) DatumGetPointer(values[2]);
			Size		len;

			if (VARATT_IS_EXTENDED(a) && !VARATT_IS_SHORT(a))
				a = PG_DETOAST_DATUM_PACKED(values[2]);
			len = VARSIZE_ANY(a);
			if (len <= RFM_BATCH_ARENA)
			{
				memcpy(b->arena[i], a, len);
				b->amount[i] = PointerGetDatum(b->arena[i]);
			}
			else
			{
				char	   *copy = MemoryContextAlloc(b->bigcxt, len);

				memcpy(copy, a, len);
				b->amount[i] = PointerGetDatum(copy);
			}
			if ((Pointer) a != DatumGetPointer(values[2]))
				pfree(a);
		}
		else
			b->amount[i] = values[2];
	}
	if (++b->n == RFM_BATCH)
		flush_batch(ctx);
}

#if PG_VERSION_NUM >= 140000
/* Rows arrive from the executor without being copied into a tuple table. */
typedef struct SummarizeReceiver
{
	DestReceiver pub;
	SummarizeCtx *ctx;
} SummarizeReceiver;

static bool
summarize_receive(TupleTableSlot *slot, DestReceiver *self)
{
	SummarizeCtx *ctx = ((SummarizeReceiver *) self)->ctx;

	slot_getallattrs(slot);
	add_row(ctx, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
summarize_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
}

static void
summarize_shutdown(DestReceiver *self)
{
}

static void
summarize_destroy(DestReceiver *self)
{
}
#endif

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

/* Read the source into ctx: SELECT customer, time, amount FROM source. */
static void
read_source(SummarizeCtx *ctx, const char *query)
{
	SPIPlanPtr	plan;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_summarize: SPI_connect failed");
	plan = SPI_prepare(query, 0, NULL);
	if (plan == NULL)
		elog(ERROR, "rfm_summarize: SPI_prepare failed: %s",
			 SPI_result_code_string(SPI_result));
#if PG_VERSION_NUM >= 140000
	{
		SummarizeReceiver r;
		SPIExecuteOptions opts;
		int			rc;

		memset(&r, 0, sizeof(r));
		r.pub.receiveSlot = summarize_receive;
		r.pub.rStartup = summarize_startup;
		r.pub.rShutdown = summarize_shutdown;
		r.pub.rDestroy = summarize_destroy;
		r.pub.mydest = DestNone;
		r.ctx = ctx;
		memset(&opts, 0, sizeof(opts));
		opts.read_only = true;
		opts.dest = (DestReceiver *) &r;
		rc = SPI_execute_plan_extended(plan, &opts);
		/* a receiver of DestNone makes SPI report a SELECT as a utility */
		if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
			elog(ERROR, "rfm_summarize: reading the source failed: %s",
				 SPI_result_code_string(rc));
	}
#else
	{
		Portal		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);

		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				Datum		values[3];
				bool		nulls[3];

				heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, values, nulls);
				add_row(ctx, values, nulls);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
	}
#endif
	SPI_finish();
}

/* One output row for a customer's state. */
static void
emit(SummarizeCtx *ctx, Tuplestorestate *ts, TupleDesc outdesc, TupleDesc sumdesc,
	 void *lcache, MemoryContext rowcxt, Datum key, bool key_null, RfmState *st)
{
	Datum		values[4];
	bool		nulls[4] = {key_null, false, false, false};
	double		rv;
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
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

		rfm_summary_values(st, sv, sn, sumdesc->natts);
		values[1] = HeapTupleGetDatum(heap_form_tuple(sumdesc, sv, sn));
	}
	/* the cache's scratch space lives as long as the cache */
	stage = rfm_lifecycle_code(st, lcache, GetMemoryChunkContext(lcache));
	if (stage == NULL)
		nulls[2] = true;
	else
		values[2] = CStringGetTextDatum(stage);
	if (rfm_state_repeat_value(st, &rv))
		values[3] = Float8GetDatum(rv);
	else
		nulls[3] = true;
	tuplestore_putvalues(ts, outdesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(rowcxt);
}

/*
 * A model's stored state of a customer (rfm_model_states): the state with
 * its days sorted, in as little room as it needs.
 */
static void
emit_state(Tuplestorestate *ts, TupleDesc outdesc, MemoryContext rowcxt,
		   Datum key, RfmState *st, bool after)
{
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	MemoryContext old = MemoryContextSwitchTo(rowcxt);
	RfmState   *c;

	CHECK_FOR_INTERRUPTS();
	if (st->nsorted < st->ndays)
		st->ndays = st->nsorted = rfm_days_normalize(RFM_DAYS(st), st->ndays);
	c = state_alloc(rowcxt, st->ndays, st->overflow_cap);
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
	tuplestore_putvalues(ts, outdesc, values, nulls);
	MemoryContextSwitchTo(old);
	MemoryContextReset(rowcxt);
}

static Datum summarize_common(FunctionCallInfo fcinfo, bool states);

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
	return summarize_common(fcinfo, false);
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
	return summarize_common(fcinfo, true);
}

static Datum
summarize_common(FunctionCallInfo fcinfo, bool states)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	Oid			key_type,
				time_type,
				amount_type;
	TupleDesc	outdesc;
	TupleDesc	sumdesc;
	Tuplestorestate *ts;
	MemoryContext per_query,
				old,
				rowcxt;
	SummarizeCtx ctx;
	StringInfoData q;
	const char *amount_cast = "";
	void	   *lcache;
	text	   *zone;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_summarize: set-valued function called in context that cannot accept a set")));
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
	if (get_call_result_type(fcinfo, NULL, &outdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_summarize: return type must be a row type");
	/* (customer, state, after) for a model's states */
	sumdesc = states ? NULL :
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
	{
		/* only the listed customers, compared with the type's own equality */
		Oid			filter = PG_GETARG_OID(7);
		TypeCacheEntry *tce = lookup_type_cache(key_type, TYPECACHE_EQ_OPR);

		if (get_rel_name(filter) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("rfm_model_states: relation with OID %u does not exist", filter)));
		if (!OidIsValid(tce->eq_opr))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("rfm_model_states: customer type %s has no equality operator",
							format_type_be(key_type))));
		appendStringInfo(&q, " WHERE %s OPERATOR(%s.%s) ANY (SELECT f.customer FROM %s f)",
						 quote_identifier(NameStr(*PG_GETARG_NAME(1))),
						 quote_identifier(get_namespace_name(operator_namespace(tce->eq_opr))),
						 get_opname(tce->eq_opr),
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(filter)),
													get_rel_name(filter)));
	}

	ctx.track_after = states;
	ctx.statecxt = AllocSetContextCreate(CurrentMemoryContext, "rfm_summarize states",
										 ALLOCSET_DEFAULT_SIZES);
	if (ctx.int_keys)
	{
		ctx.ih = rfm_ih_create(ctx.statecxt, 1024, NULL);
		ctx.batch = MemoryContextAllocZero(ctx.statecxt, sizeof(RowBatch));
		ctx.batch->bigcxt = AllocSetContextCreate(ctx.statecxt, "rfm_summarize amounts",
												  ALLOCSET_SMALL_SIZES);
	}
	else
		ctx.gh = rfm_gh_create(ctx.statecxt, 1024, &ctx);

	read_source(&ctx, q.data);
	if (ctx.batch != NULL)
		flush_batch(&ctx);

	/* results */
	per_query = rsinfo->econtext->ecxt_per_query_memory;
	old = MemoryContextSwitchTo(per_query);
	outdesc = CreateTupleDescCopy(outdesc);
	ts = tuplestore_begin_heap(rsinfo->allowedModes & SFRM_Materialize_Random, false, work_mem);
	MemoryContextSwitchTo(old);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "rfm_summarize row", ALLOCSET_SMALL_SIZES);

	if (ctx.null_key_seen && !states)
		emit(&ctx, ts, outdesc, sumdesc, lcache, rowcxt, (Datum) 0, true, ctx.null_key_state);
	if (ctx.int_keys)
	{
		rfm_ih_iterator it;
		IntEntry   *e;

		rfm_ih_start_iterate(ctx.ih, &it);
		while ((e = rfm_ih_iterate(ctx.ih, &it)) != NULL)
		{
			Datum		k = (key_type == INT8OID) ? Int64GetDatum(e->key) :
				(key_type == INT4OID) ? Int32GetDatum((int32) e->key) :
				Int16GetDatum((int16) e->key);

			if (states)
				emit_state(ts, outdesc, rowcxt, k, e->st, e->after);
			else
				emit(&ctx, ts, outdesc, sumdesc, lcache, rowcxt, k, false, e->st);
		}
	}
	else
	{
		rfm_gh_iterator it;
		GenEntry   *e;

		rfm_gh_start_iterate(ctx.gh, &it);
		while ((e = rfm_gh_iterate(ctx.gh, &it)) != NULL)
		{
			if (states)
				emit_state(ts, outdesc, rowcxt, e->key, e->st, e->after);
			else
				emit(&ctx, ts, outdesc, sumdesc, lcache, rowcxt, e->key, false, e->st);
		}
	}
	MemoryContextDelete(rowcxt);
	MemoryContextDelete(ctx.statecxt);

	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = outdesc;
	return (Datum) 0;
}
