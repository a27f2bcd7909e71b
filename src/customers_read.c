/*
 * customers_read.c
 *		The first step of rfm_model_customers (src/customers.c): a model's
 *		summary table read once into arrays, in customer order.
 *
 * The table is the caller's own (rfm_require_own_table).  Where neither its
 * row-level security nor its privileges stand in the way, it is read by a
 * plain scan with the query's snapshot -- what SELECT ... WHERE orders > 0
 * would return, without an executor, a projection or a receiver per row;
 * otherwise by that query, through a receiver of its own, so that what
 * applies to the query applies.
 *
 * A model writes its summary in customer order, and an incremental model's
 * in-place rows go to the table's end or into the room of deleted rows.  So
 * the rows come nearly in order: each is compared with the last one kept,
 * the few out of order are set aside (with a short run of rows before them
 * that they show out of place), then sorted and merged in, the rows kept
 * moving once by blocks.  Revenue's float (and its exact parts) and the
 * average order value's are taken from the tuple as it is read; numerics
 * and customers are copied into an arena, not a palloc each.
 */
#include "customers.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

/* The columns read from the summary table, in this order. */
#define SUMMARY_COLS 12
static const char *const summary_cols[SUMMARY_COLS] = {
	"customer", "recency", "orders", "revenue", "avg_order_value", "tenure", "repeat_frequency",
	"repeat_recency", "age", "lifecycle_rule_stage", "as_of", "repeat_value"
};
static const Oid summary_types[SUMMARY_COLS] = {
	InvalidOid, FLOAT8OID, INT8OID, NUMERICOID, NUMERICOID, FLOAT8OID, INT4OID,
	FLOAT8OID, FLOAT8OID, TEXTOID, TIMESTAMPTZOID, FLOAT8OID
};

const CustModel cust_no_model = {.rv_null = true, .p_alive_null = true, .expected_null = true,
.eov_null = true, .clv_null = true};

/* at most this many rows kept are set aside to keep one that comes after them */
#define RUN_ASIDE 8
#define ARENA_BLOCK (256 * 1024)

/* a copy of a by-reference datum (plain, not compressed or external) in the arena */
static Datum
arena_copy(Build *b, Datum d, int16 typlen)
{
	Size		size = datumGetSize(d, false, typlen);
	Size		room = MAXALIGN(size);
	char	   *p;

	if (room > b->arena_left)
	{
		Size		block = Max(room, ARENA_BLOCK);

		b->arena = MemoryContextAlloc(b->cxt, block);
		b->arena_left = block;
	}
	p = b->arena;
	memcpy(p, DatumGetPointer(d), size);
	b->arena += room;
	b->arena_left -= room;
	return PointerGetDatum(p);
}

/* a numeric as stored inline: decompressed or fetched when it is not */
static inline Datum
plain_varlena(Datum d)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);

	return VARATT_IS_EXTENDED(v) && !VARATT_IS_SHORT(v) ? PointerGetDatum(pg_detoast_datum_packed(v)) : d;
}

static Cust *
grow(Cust **rows, int64 *cap, int64 n, MemoryContext cxt)
{
	if (n == *cap)
	{
		*cap = Max(*cap * 2, 1024);
		*rows = *rows == NULL
			? MemoryContextAllocHuge(cxt, sizeof(Cust) * *cap)
			: repalloc_huge(*rows, sizeof(Cust) * *cap);
	}
	return &(*rows)[n];
}

/*
 * Where the row of customer goes: after the rows kept, or aside.  A customer
 * before the last one kept is kept if at most RUN_ASIDE rows kept come after
 * it (they go aside: a run of rows written into the room of others), else
 * it goes aside itself.
 */
static Cust *
place_row(Build *b, Datum customer)
{
	if (b->n > 0 && cust_cmp_customer(customer, b->c[b->n - 1].customer, b) < 0)
	{
		int64		j = b->n - 1;

		while (j >= 0 && b->n - 1 - j < RUN_ASIDE && cust_cmp_customer(b->c[j].customer, customer, b) > 0)
			j--;
		if (j >= 0 && cust_cmp_customer(b->c[j].customer, customer, b) > 0)
			return grow(&b->aside, &b->aside_cap, b->naside++, b->cxt);
		for (int64 k = j + 1; k < b->n; k++)
			*grow(&b->aside, &b->aside_cap, b->naside++, b->cxt) = b->c[k];
		b->n = j + 1;
	}
	return grow(&b->c, &b->cap, b->n++, b->cxt);
}

static void
add_row(Build *b, Datum *v, bool *isnull)
{
	Cust	   *c;

	CHECK_FOR_INTERRUPTS();
	for (int i = 0; i <= 8; i++)
		if (isnull[i] && i != 4)
			elog(ERROR, "rfm_model_customers: summary column %s is NULL", summary_cols[i]);
	c = place_row(b, v[0]);
	memset(c, 0, sizeof(Cust));
	c->customer = b->cust_byval ? v[0] : arena_copy(b, v[0], b->cust_len);
	c->recency = DatumGetFloat8(v[1]);
	c->orders = DatumGetInt64(v[2]);
	c->revenue = arena_copy(b, plain_varlena(v[3]), -1);
	rfm_numeric_parts(c->revenue, &c->revenue_f, &c->rev_units, &c->rev_dscale, &c->rev_fast);
	c->aov_null = isnull[4];
	if (!isnull[4])
	{
		int64		u;
		int16		d;
		bool		e;

		c->aov = arena_copy(b, plain_varlena(v[4]), -1);
		rfm_numeric_parts(c->aov, &c->aov_f, &u, &d, &e);
	}
	c->tenure = DatumGetFloat8(v[5]);
	if (b->m != NULL)
	{
		CustModel  *m;

		if (b->nm == b->mcap)
		{
			b->mcap *= 2;
			b->m = repalloc_huge(b->m, sizeof(CustModel) * b->mcap);
		}
		c->mi = b->nm++;
		m = &b->m[c->mi];
		m->x = DatumGetInt32(v[6]);
		m->tx = DatumGetFloat8(v[7]);
		m->T = DatumGetFloat8(v[8]);
		m->rv_null = isnull[11];
		m->repeat_value = isnull[11] ? 0 : DatumGetFloat8(v[11]);
		/* no fitted model's values until there are models */
		m->p_alive_null = m->expected_null = m->eov_null = m->clv_null = true;
	}
	c->stage_null = isnull[9];
	if (!isnull[9])
	{
		/* a few stages, each kept once */
		struct varlena *t = (struct varlena *) DatumGetPointer(v[9]);
		int			j;

		for (j = 0; j < b->nstages; j++)
		{
			struct varlena *u = (struct varlena *) DatumGetPointer(b->stages[j]);

			if (VARSIZE_ANY(t) == VARSIZE_ANY(u) && memcmp(t, u, VARSIZE_ANY(t)) == 0)
				break;
		}
		if (j == b->nstages)
		{
			Datum		d = arena_copy(b, plain_varlena(v[9]), -1);

			if (b->nstages < (int) lengthof(b->stages))
				b->stages[b->nstages++] = d;
			c->stage = d;
		}
		else
			c->stage = b->stages[j];
	}
	c->as_of_null = isnull[10];
	c->as_of = isnull[10] ? (Datum) 0 : v[10];
}

/*
 * The rows set aside, sorted, merged into those kept: from the largest, each
 * goes after the rows kept before it, which move up as one block.
 */
static void
merge_aside(Build *b)
{
	Build		tb = *b;
	int64		i = b->n;

	if (b->naside == 0)
		return;
	tb.c = b->aside;
	tb.n = tb.cap = b->naside;
	cust_sort_by_customer(&tb);
	if (b->n + b->naside > b->cap)
	{
		b->cap = b->n + b->naside;
		b->c = b->c == NULL ? MemoryContextAllocHuge(b->cxt, sizeof(Cust) * b->cap)
			: repalloc_huge(b->c, sizeof(Cust) * b->cap);
	}
	for (int64 j = b->naside - 1; j >= 0; j--)
	{
		Cust	   *a = &b->aside[j];
		int64		lo = i;

		if ((j & 0xFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the first row kept after a: back from the last one placed */
		while (lo > 0 && cust_cmp_customer(b->c[lo - 1].customer, a->customer, b) > 0)
			lo--;
		if (lo < i)
			memmove(&b->c[lo + j + 1], &b->c[lo], sizeof(Cust) * (i - lo));
		b->c[lo + j] = *a;
		i = lo;
	}
	b->n += b->naside;
	pfree(b->aside);
	b->aside = NULL;
	b->naside = b->aside_cap = 0;
}

static void
check_type(int i, Oid got, Oid cust_type)
{
	Oid			want = i == 0 ? cust_type : summary_types[i];

	if (got != want)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_model_customers: column %s of the summary is of type %s, not %s",
						summary_cols[i], format_type_be(got), format_type_be(want))));
}

static void
check_desc(TupleDesc d, Oid cust_type)
{
	if (d->natts != SUMMARY_COLS)
		elog(ERROR, "rfm_model_customers: the summary query returns %d columns", d->natts);
	for (int i = 0; i < SUMMARY_COLS; i++)
		check_type(i, TupleDescAttr(d, i)->atttypid, cust_type);
}

/*
 * The table read by a plain scan, when nothing applies to a query of it
 * that the scan would miss: no row-level security for the user, SELECT on
 * the table, every column there.  False: read it by the query.
 */
static bool
read_by_scan(Build *b, Oid relid)
{
	Relation	rel;
	TupleDesc	td;
	AttrNumber	att[SUMMARY_COLS];
	int			natts = 0;
	TableScanDesc scan;
	TupleTableSlot *slot;
	Datum		v[SUMMARY_COLS];
	bool		isnull[SUMMARY_COLS];

	if (check_enable_rls(relid, InvalidOid, true) == RLS_ENABLED ||
		pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK || !ActiveSnapshotSet())
		return false;
	rel = table_open(relid, AccessShareLock);
	td = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
	{
		table_close(rel, AccessShareLock);
		return false;
	}
	for (int i = 0; i < SUMMARY_COLS; i++)
	{
		att[i] = InvalidAttrNumber;
		for (int k = 0; k < td->natts; k++)
		{
			Form_pg_attribute a = TupleDescAttr(td, k);

			if (!a->attisdropped && strcmp(NameStr(a->attname), summary_cols[i]) == 0)
			{
				att[i] = a->attnum;
				check_type(i, a->atttypid, b->cust_type);
				natts = Max(natts, a->attnum);
			}
		}
		if (att[i] == InvalidAttrNumber)
		{
			/* (the query says which) */
			table_close(rel, AccessShareLock);
			return false;
		}
	}
	/* from the first page: no synchronized scan starting midway */
	scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, NULL, true, false);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		slot_getsomeattrs(slot, natts);
		for (int i = 0; i < SUMMARY_COLS; i++)
		{
			v[i] = slot->tts_values[att[i] - 1];
			isnull[i] = slot->tts_isnull[att[i] - 1];
		}
		/* WHERE orders > 0 */
		if (isnull[2] || DatumGetInt64(v[2]) <= 0)
			continue;
		add_row(b, v, isnull);
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	return true;
}

#if PG_VERSION_NUM >= 140000
typedef struct BuildReceiver
{
	DestReceiver pub;
	Build	   *b;
} BuildReceiver;

static bool
build_receive(TupleTableSlot *slot, DestReceiver *self)
{
	slot_getallattrs(slot);
	add_row(((BuildReceiver *) self)->b, slot->tts_values, slot->tts_isnull);
	return true;
}

static void
build_startup(DestReceiver *self, int operation, TupleDesc typeinfo)
{
	check_desc(typeinfo, ((BuildReceiver *) self)->b->cust_type);
}

static void
build_noop(DestReceiver *self)
{
}
#endif

/* the table read by its query, as the caller (row-level security applies) */
static void
read_by_query(Build *b, Oid relid)
{
	StringInfoData q;
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												 get_rel_name(relid));

	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (int i = 0; i < SUMMARY_COLS; i++)
		appendStringInfo(&q, "%ss.%s", i ? ", " : "", quote_identifier(summary_cols[i]));
	appendStringInfo(&q, " FROM %s s WHERE s.orders OPERATOR(pg_catalog.>) 0", rel);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_model_customers: SPI_connect failed");
#if PG_VERSION_NUM >= 140000
	{
		BuildReceiver r;
		SPIExecuteOptions opts;
		int			rc;

		memset(&r, 0, sizeof(r));
		r.pub.receiveSlot = build_receive;
		r.pub.rStartup = build_startup;
		r.pub.rShutdown = build_noop;
		r.pub.rDestroy = build_noop;
		r.pub.mydest = DestNone;
		r.b = b;
		memset(&opts, 0, sizeof(opts));
		opts.read_only = true;
		opts.dest = (DestReceiver *) &r;
		rc = SPI_execute_extended(q.data, &opts);
		if (rc != SPI_OK_SELECT && rc != SPI_OK_UTILITY)
			elog(ERROR, "rfm_model_customers: %s", SPI_result_code_string(rc));
	}
#else
	{
		SPIPlanPtr	plan = SPI_prepare(q.data, 0, NULL);
		Portal		portal;
		Datum		v[SUMMARY_COLS];
		bool		isnull[SUMMARY_COLS];

		if (plan == NULL)
			elog(ERROR, "rfm_model_customers: %s", SPI_result_code_string(SPI_result));
		portal = SPI_cursor_open(NULL, plan, NULL, NULL, true);
		for (;;)
		{
			SPI_cursor_fetch(portal, true, 10000);
			if (SPI_processed == 0)
				break;
			check_desc(SPI_tuptable->tupdesc, b->cust_type);
			for (uint64 i = 0; i < SPI_processed; i++)
			{
				heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, v, isnull);
				add_row(b, v, isnull);
			}
			SPI_freetuptable(SPI_tuptable);
		}
		SPI_cursor_close(portal);
	}
#endif
	SPI_finish();
}

/* The summary rows of relid into b, in customer order. */
void
cust_read_summary(Build *b, Oid relid)
{
	/*
	 * Room for the rows the table is thought to hold (a little more): a
	 * million rows grown by doubling would copy, and fault in, twice their
	 * memory.
	 */
	{
		Relation	r = table_open(relid, AccessShareLock);
		double		tuples = r->rd_rel->reltuples;

		table_close(r, AccessShareLock);
		if (tuples > 0 && b->c == NULL && tuples * 1.05 + 1024 < (double) (MaxAllocHugeSize / sizeof(Cust)))
		{
			b->cap = (int64) (tuples * 1.05) + 1024;
			b->c = MemoryContextAllocHuge(b->cxt, sizeof(Cust) * b->cap);
		}
	}
	if (b->m != NULL)
	{
		/* (models: b->m made, with room for one, by the caller) */
		b->mcap = Max(b->cap, 1);
		b->m = repalloc_huge(b->m, sizeof(CustModel) * b->mcap);
	}
	if (!read_by_scan(b, relid))
		read_by_query(b, relid);
	merge_aside(b);
}
