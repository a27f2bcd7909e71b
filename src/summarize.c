/*
 * summarize.c
 *		The grouping of orders by customer in C: one rfm_state per customer
 *		in one pass, for rfm_summarize and rfm_model_states (their SQL
 *		faces are in src/summarize_fn.c).
 *
 * The source is read through the executor as the caller (a plain SELECT of
 * three columns run through SPI), so privileges and row-level security apply
 * as to any query of the caller.  Rows arrive in a DestReceiver (PG 14+;
 * PG 13 fetches from a cursor) and go straight into the rfm_state of their
 * customer, found in a hash table made with lib/simplehash.h: one
 * specialised for integer keys (int2, int4, int8), one for any other
 * hashable type through the hash and equality functions of its default hash
 * operator class (typcache).  The states live in a memory context of their
 * own, deleted at the end (summarize_end); summarize_foreach hands each
 * group's state to the caller.
 *
 * Every customer key seen gives one row, as `GROUP BY customer` does: the
 * summary is what rfm_summary gives for the group (NULL when no order or
 * return is on or before as_of) and the stage what rfm_lifecycle gives, from
 * the same state, and so is repeat_value (rfm_repeat_value, the Gamma-Gamma
 * input).  A NULL customer is one group, as in GROUP BY.
 */
#include "rfm.h"

#include "access/htup_details.h"
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
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "summary.h"
#include "summarize.h"


/* the first three cache lines of a state, where its fields and first days are */
static inline void
prefetch_state(RfmState *st)
{
	__builtin_prefetch(st);
	__builtin_prefetch((char *) st + 64);
	__builtin_prefetch((char *) st + 128);
}

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
		prefetch_state(e->st);
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

/* Read the source into ctx: SELECT customer, time, amount FROM source. */
void
summarize_read(SummarizeCtx *ctx, const char *query)
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
	if (ctx->batch != NULL)
		flush_batch(ctx);
}


/* The hash table of ctx's key type, and for integers the batch. */
void
summarize_begin(SummarizeCtx *ctx)
{
	ctx->statecxt = AllocSetContextCreate(CurrentMemoryContext, "rfm_summarize states",
										  ALLOCSET_DEFAULT_SIZES);
	if (ctx->int_keys)
	{
		ctx->ih = rfm_ih_create(ctx->statecxt, 1024, NULL);
		ctx->batch = MemoryContextAllocZero(ctx->statecxt, sizeof(RowBatch));
		ctx->batch->bigcxt = AllocSetContextCreate(ctx->statecxt, "rfm_summarize amounts",
												   ALLOCSET_SMALL_SIZES);
	}
	else
		ctx->gh = rfm_gh_create(ctx->statecxt, 1024, ctx);
}

/*
 * summarize_foreach hands the groups on through a ring: each state is
 * prefetched when its entry is reached (the states are scattered in
 * memory) and handed to fn FOREACH_AHEAD entries later, in the same order.
 */
#define FOREACH_AHEAD 8

typedef struct ForeachRing
{
	struct
	{
		Datum		key;
		RfmState   *st;
		bool		after;
	}			p[FOREACH_AHEAD];
	uint64		n;
	SummarizeGroupFn fn;
	void	   *arg;
} ForeachRing;

static inline void
ring_push(ForeachRing *r, Datum key, RfmState *st, bool after)
{
	int			i = r->n % FOREACH_AHEAD;

	prefetch_state(st);
	if (r->n >= FOREACH_AHEAD)
		r->fn(r->arg, r->p[i].key, false, r->p[i].st, r->p[i].after);
	r->p[i].key = key;
	r->p[i].st = st;
	r->p[i].after = after;
	r->n++;
}

static void
ring_drain(ForeachRing *r)
{
	for (uint64 k = r->n > FOREACH_AHEAD ? r->n - FOREACH_AHEAD : 0; k < r->n; k++)
	{
		int			i = k % FOREACH_AHEAD;

		r->fn(r->arg, r->p[i].key, false, r->p[i].st, r->p[i].after);
	}
}

/*
 * Call fn for every group: the NULL customer's first (when there is one),
 * then every customer's, in the hash table's order.
 */
void
summarize_foreach(SummarizeCtx *ctx, SummarizeGroupFn fn, void *arg)
{
	ForeachRing r = {.n = 0,.fn = fn,.arg = arg};

	if (ctx->null_key_seen)
		fn(arg, (Datum) 0, true, ctx->null_key_state, false);
	if (ctx->int_keys)
	{
		rfm_ih_iterator it;
		IntEntry   *e;

		rfm_ih_start_iterate(ctx->ih, &it);
		while ((e = rfm_ih_iterate(ctx->ih, &it)) != NULL)
			ring_push(&r, (ctx->key_type == INT8OID) ? Int64GetDatum(e->key) :
					  (ctx->key_type == INT4OID) ? Int32GetDatum((int32) e->key) :
					  Int16GetDatum((int16) e->key), e->st, e->after);
	}
	else
	{
		rfm_gh_iterator it;
		GenEntry   *e;

		rfm_gh_start_iterate(ctx->gh, &it);
		while ((e = rfm_gh_iterate(ctx->gh, &it)) != NULL)
			ring_push(&r, e->key, e->st, e->after);
	}
	ring_drain(&r);
}

/* Free the states and the hash table. */
void
summarize_end(SummarizeCtx *ctx)
{
	MemoryContextDelete(ctx->statecxt);
	ctx->statecxt = NULL;
}
