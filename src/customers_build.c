/*
 * customers_build.c
 *		The first half of rfm_model_customers (src/customers.c): a model's
 *		summary table read once into arrays (as the model's owner, through a
 *		receiver of its own), and the population's figures taken from them:
 *		percentile_cont's cut points, the sorted values of a column, and the
 *		ranks by revenue and by profit (ties by customer).
 */
#include "customers.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "utils/rel.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"
#include "utils/typcache.h"

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

/* ---- reading the summary ---- */

static void
add_row(Build *b, Datum *v, bool *isnull)
{
	Cust	   *c;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	for (int i = 0; i <= 8; i++)
		if (isnull[i] && i != 4)
			elog(ERROR, "rfm_model_customers: summary column %s is NULL", summary_cols[i]);
	if (b->n == b->cap)
	{
		b->cap = Max(b->cap * 2, 1024);
		b->c = b->c == NULL
			? MemoryContextAllocHuge(b->cxt, sizeof(Cust) * b->cap)
			: repalloc_huge(b->c, sizeof(Cust) * b->cap);
	}
	c = &b->c[b->n++];
	memset(c, 0, sizeof(Cust));
	old = MemoryContextSwitchTo(b->cxt);
	c->customer = datumCopy(v[0], b->cust_byval, b->cust_len);
	c->recency = DatumGetFloat8(v[1]);
	c->orders = DatumGetInt64(v[2]);
	c->revenue = datumCopy(v[3], false, -1);
	c->aov_null = isnull[4];
	if (!isnull[4])
		c->aov = datumCopy(v[4], false, -1);
	c->tenure = DatumGetFloat8(v[5]);
	c->x = DatumGetInt32(v[6]);
	c->tx = DatumGetFloat8(v[7]);
	c->T = DatumGetFloat8(v[8]);
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
			Datum		d = datumCopy(v[9], false, -1);

			if (b->nstages < (int) lengthof(b->stages))
				b->stages[b->nstages++] = d;
			c->stage = d;
		}
		else
			c->stage = b->stages[j];
	}
	c->as_of_null = isnull[10];
	c->as_of = isnull[10] ? (Datum) 0 : v[10];
	c->rv_null = isnull[11];
	c->repeat_value = isnull[11] ? 0 : DatumGetFloat8(v[11]);
	/* no fitted model's values until there are models */
	c->p_alive_null = c->expected_null = c->eov_null = c->clv_null = true;
	MemoryContextSwitchTo(old);
}

static void
check_desc(TupleDesc d, Oid cust_type)
{
	if (d->natts != SUMMARY_COLS)
		elog(ERROR, "rfm_model_customers: the summary query returns %d columns", d->natts);
	for (int i = 0; i < SUMMARY_COLS; i++)
	{
		Oid			want = i == 0 ? cust_type : summary_types[i];

		if (TupleDescAttr(d, i)->atttypid != want)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("rfm_model_customers: column %s of the summary is of type %s, not %s",
							summary_cols[i], format_type_be(TupleDescAttr(d, i)->atttypid),
							format_type_be(want))));
	}
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

void
cust_read_summary(Build *b, Oid relid)
{
	StringInfoData q;
	char	   *rel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												 get_rel_name(relid));

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

/* ---- the population's figures ---- */

/* percentile_cont(p) WITHIN GROUP (ORDER BY v) of n values sorted ascending */
bool
cust_percentile(const double *sorted, int64 n, double p, double *out)
{
	double		first_row,
				second_row;

	if (n == 0)
		return false;
	if (p < 0 || p > 1 || isnan(p))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("percentile value %g is not between 0 and 1", p)));
	first_row = floor(p * (n - 1));
	second_row = ceil(p * (n - 1));
	if (first_row == second_row)
		*out = sorted[(int64) first_row];
	else
	{
		double		lo = sorted[(int64) first_row];
		double		hi = sorted[(int64) second_row];

		*out = lo + ((p * (n - 1) - first_row) * (hi - lo));
	}
	return true;
}

/* the k-th smallest of v[0..n) (from 0), v reordered; no NaN in v */
static double
select_kth(double *v, int64 n, int64 k)
{
	int64		lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		double		pivot = v[lo + (hi - lo) / 2];
		int64		i = lo,
					j = hi;

		while (i <= j)
		{
			while (v[i] < pivot)
				i++;
			while (v[j] > pivot)
				j--;
			if (i <= j)
			{
				double		t = v[i];

				v[i] = v[j];
				v[j] = t;
				i++;
				j--;
			}
		}
		if (k <= j)
			hi = j;
		else if (k >= i)
			lo = i;
		else
			break;
	}
	return v[k];
}

/*
 * percentile_cont(p) of the non-NULL values of one field, by selection (no
 * sort: the two order statistics it interpolates between); false: no values.
 */
bool
cust_field_percentile(Build *b, size_t offset, size_t null_offset, double p, double *out)
{
	double	   *v = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(b->n, 1));
	int64		k = 0;
	bool		nan = false;
	double		first_row,
				second_row;

	for (int64 i = 0; i < b->n; i++)
	{
		char	   *c = (char *) &b->c[i];

		if (null_offset != 0 && *(bool *) (c + null_offset))
			continue;
		v[k] = *(double *) (c + offset);
		nan = nan || isnan(v[k]);
		k++;
	}
	if (k == 0 || nan || p < 0 || p > 1 || isnan(p))
	{
		/* (the errors and the NaN order of the sort) */
		bool		r;

		rfm_sort_doubles(v, k);
		r = cust_percentile(v, k, p, out);
		pfree(v);
		return r;
	}
	CHECK_FOR_INTERRUPTS();
	first_row = floor(p * (k - 1));
	second_row = ceil(p * (k - 1));
	{
		double		lo = select_kth(v, k, (int64) first_row);
		double		hi = lo;

		/* the next order statistic: the least of those above */
		if (second_row != first_row)
		{
			hi = v[(int64) first_row + 1];
			for (int64 i = (int64) first_row + 2; i < k; i++)
				if (v[i] < hi)
					hi = v[i];
		}
		*out = first_row == second_row ? lo : lo + ((p * (k - 1) - first_row) * (hi - lo));
	}
	pfree(v);
	return true;
}

/* the sorted non-NULL values of one field */
double *
cust_sorted_values(Build *b, size_t offset, size_t null_offset, int64 *count)
{
	double	   *v = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(b->n, 1));
	int64		k = 0;

	for (int64 i = 0; i < b->n; i++)
	{
		char	   *c = (char *) &b->c[i];

		if (null_offset != 0 && *(bool *) (c + null_offset))
			continue;
		v[k++] = *(double *) (c + offset);
	}
	rfm_sort_doubles(v, k);
	*count = k;
	return v;
}

/*
 * The order of ORDER BY customer in the summary table's collation; integer
 * customers (the usual ids) without a function call.
 */
static inline int
cmp_customer(const Cust *x, const Cust *y, Build *build)
{
	switch (build->cust_type)
	{
		case INT8OID:
			return (DatumGetInt64(x->customer) > DatumGetInt64(y->customer)) -
				(DatumGetInt64(x->customer) < DatumGetInt64(y->customer));
		case INT4OID:
			return (DatumGetInt32(x->customer) > DatumGetInt32(y->customer)) -
				(DatumGetInt32(x->customer) < DatumGetInt32(y->customer));
		case INT2OID:
			return (DatumGetInt16(x->customer) > DatumGetInt16(y->customer)) -
				(DatumGetInt16(x->customer) < DatumGetInt16(y->customer));
		default:
			return DatumGetInt32(FunctionCall2Coll(&build->cust_cmp, build->cust_coll, x->customer, y->customer));
	}
}

/* ---- the customers in customer order ---- */

/*
 * A customer's sort key: its abbreviated key when the type has them (text:
 * the first bytes of strxfrm's image in the collation), else the customer
 * itself; ties of abbreviated keys go to the full comparison.
 */
typedef struct CustKey
{
	Datum		key;
	int64		i;
} CustKey;

typedef struct CustSort
{
	Build	   *b;
	SortSupport ssup;
	bool		abbreviated;
} CustSort;

static inline int
cmp_cust_key(const CustKey *x, const CustKey *y, CustSort *s)
{
	int			r = ApplySortComparator(x->key, false, y->key, false, s->ssup);

	if (r == 0 && s->abbreviated)
		r = ApplySortAbbrevFullComparator(s->b->c[x->i].customer, false, s->b->c[y->i].customer, false,
										  s->ssup);
	return r;
}

#if PG_VERSION_NUM >= 140000
#define ST_SORT sort_cust_keys
#define ST_ELEMENT_TYPE CustKey
#define ST_COMPARE(a, b, arg) cmp_cust_key(a, b, arg)
#define ST_COMPARE_ARG_TYPE CustSort
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"
#else
static int
cmp_cust_key_arg(const void *a, const void *b, void *arg)
{
	return cmp_cust_key((const CustKey *) a, (const CustKey *) b, (CustSort *) arg);
}
#define sort_cust_keys(k, n, s) qsort_arg((k), (n), sizeof(CustKey), cmp_cust_key_arg, (s))
#endif

/*
 * The order of the customers of other types into pos, by the type's
 * ordering operator in the summary column's collation, with abbreviated
 * keys where the type has them (as the executor's sorts do).
 */
static void
order_by_sortsupport(Build *b, int64 *pos)
{
	SortSupportData ssup;
	CustSort	s;
	CustKey    *k = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(CustKey) * b->n);
	TypeCacheEntry *tc = lookup_type_cache(b->cust_type, TYPECACHE_LT_OPR);

	if (!OidIsValid(tc->lt_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("rfm_model_customers: type %s has no ordering operator", format_type_be(b->cust_type))));
	memset(&ssup, 0, sizeof(ssup));
	ssup.ssup_cxt = CurrentMemoryContext;
	ssup.ssup_collation = b->cust_coll;
	ssup.ssup_nulls_first = false;
	ssup.abbreviate = true;
	PrepareSortSupportFromOrderingOp(tc->lt_opr, &ssup);
	s.b = b;
	s.ssup = &ssup;
	s.abbreviated = ssup.abbrev_converter != NULL;
	for (int64 i = 0; i < b->n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		k[i].key = s.abbreviated ? ssup.abbrev_converter(b->c[i].customer, &ssup) : b->c[i].customer;
		k[i].i = i;
	}
	sort_cust_keys(k, b->n, &s);
	for (int64 r = 0; r < b->n; r++)
		pos[r] = k[r].i;
	pfree(k);
}

/*
 * Put the rows in customer order, the order in which a refresh writes the
 * summary table: what is computed from them (the means' float sums) and the
 * rows of _customers then come out the same whatever order the table gives
 * them in (an incremental model's summary table, whose changed rows are
 * deleted and inserted in place).  A table read in that order costs one
 * comparison per row, one in order but for a few rows a merge (above);
 * otherwise integer customers are sorted by a radix
 * sort, others by their type's sort support (abbreviated keys), and the
 * rows put in place along the cycles of the permutation (no second copy of
 * them).
 */
/*
 * The table read nearly in customer order: an incremental model's summary,
 * written in customer order, whose rows replaced in place went to its end
 * or, after a vacuum, into the room of deleted ones.  The rows out of place
 * -- smaller than the last row kept, or greater than both neighbours that
 * are in order -- are taken aside and sorted, the others closed up, and the
 * two merged from the back, each row moved about once, in order.  False
 * (nothing moved) when more than an eighth of the rows are out of place.
 */
#define ASIDE_SHARE 8

static bool
merge_aside(Build *b)
{
	int64		n = b->n,
				most = n / ASIDE_SHARE,
				nside = 0,
				nkeep = 0,
				last = -1;
	bool	   *aside = palloc0(Max(n, 1));
	Cust	   *t;
	int64		i,
				j,
				k;

	for (i = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (last >= 0 && cmp_customer(&b->c[i], &b->c[last], b) < 0)
			aside[i] = true;
		else if (i + 1 < n && cmp_customer(&b->c[i], &b->c[i + 1], b) > 0 &&
				 (last < 0 || cmp_customer(&b->c[i + 1], &b->c[last], b) > 0))
			aside[i] = true;		/* a spike: its next row follows the last kept */
		else
			last = i;
		if (aside[i] && ++nside > most)
		{
			pfree(aside);
			return false;
		}
	}
	/* the rows aside, sorted; the others closed up, in place */
	t = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(Cust) * Max(nside, 1));
	for (i = 0, j = 0; i < n; i++)
	{
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (aside[i])
			t[j++] = b->c[i];
		else if (nkeep++ != i)
			b->c[nkeep - 1] = b->c[i];
	}
	pfree(aside);
	if (nside > 1)
	{
		Build		tb = *b;

		tb.c = t;
		tb.n = nside;
		tb.cap = nside;
		cust_sort_by_customer(&tb);
	}
	/* merge from the back: the larger of the two ends goes last */
	i = nkeep - 1;
	j = nside - 1;
	k = n - 1;
	while (j >= 0)
	{
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		if (i >= 0 && cmp_customer(&b->c[i], &t[j], b) > 0)
			b->c[k--] = b->c[i--];
		else
			b->c[k--] = t[j--];
	}
	pfree(t);
	return true;
}

void
cust_sort_by_customer(Build *b)
{
	int64	   *pos;
	int64		i;

	for (i = 1; i < b->n; i++)
		if (cmp_customer(&b->c[i - 1], &b->c[i], b) > 0)
			break;
	if (i >= b->n)
		return;
	if (merge_aside(b))
		return;
	pos = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * b->n);
	if (b->cust_type == INT8OID || b->cust_type == INT4OID || b->cust_type == INT2OID)
	{
		int64	   *key = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * b->n);

		for (i = 0; i < b->n; i++)
			key[i] = b->cust_type == INT8OID ? DatumGetInt64(b->c[i].customer)
				: b->cust_type == INT4OID ? DatumGetInt32(b->c[i].customer)
				: DatumGetInt16(b->c[i].customer);
		rfm_radix_order_int64(key, b->n, pos);
		pfree(key);
	}
	else
		order_by_sortsupport(b, pos);
	/* row r of the result is row pos[r]: follow each cycle once */
	for (i = 0; i < b->n; i++)
	{
		Cust		first;
		int64		j = i;

		if (pos[i] == i)
			continue;
		if ((i & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		first = b->c[i];
		for (;;)
		{
			int64		k = pos[j];

			pos[j] = j;
			if (k == i)
			{
				b->c[j] = first;
				break;
			}
			b->c[j] = b->c[k];
			j = k;
		}
	}
	pfree(pos);
}

/* A customer's key in a sort by revenue or by profit, largest first. */
typedef struct RankKey
{
	double		key;
	int64		i;
} RankKey;

/* the same numeric, byte for byte */
static inline bool
same_numeric(Datum a, Datum b)
{
	struct varlena *x = (struct varlena *) DatumGetPointer(a);
	struct varlena *y = (struct varlena *) DatumGetPointer(b);

	return VARSIZE_ANY(x) == VARSIZE_ANY(y) && memcmp(x, y, VARSIZE_ANY(x)) == 0;
}

/* ties of the key: revenue (for the revenue rank: its float was equal), then customer */
static int
cmp_tie(const RankKey *a, const RankKey *b, Build *build)
{
	const Cust *x = &build->c[a->i];
	const Cust *y = &build->c[b->i];

	if (build->ranking_revenue)
	{
		/* equal floats are nearly always the same numeric: same bytes, no call */
		if (!same_numeric(x->revenue, y->revenue))
		{
			int			c = DatumGetInt32(DirectFunctionCall2(numeric_cmp, x->revenue, y->revenue));

			if (c != 0)
				return -c;
		}
	}
	return cmp_customer(x, y, build);
}

static inline int
cmp_rank_key(const RankKey *a, const RankKey *b, Build *build)
{
	if (a->key != b->key)
		return float8_gt(a->key, b->key) ? -1 : 1;
	return cmp_tie(a, b, build);
}

#if PG_VERSION_NUM >= 140000
#define ST_SORT sort_rank_keys
#define ST_ELEMENT_TYPE RankKey
#define ST_COMPARE(a, b, arg) cmp_rank_key(a, b, arg)
#define ST_COMPARE_ARG_TYPE Build
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"
#else
static int
cmp_rank_key_arg(const void *a, const void *b, void *arg)
{
	return cmp_rank_key((const RankKey *) a, (const RankKey *) b, (Build *) arg);
}
#define sort_rank_keys(k, n, b) qsort_arg((k), (n), sizeof(RankKey), cmp_rank_key_arg, (b))
#endif

/* equal keys of a rank: as PostgreSQL compares float8 (-0 = 0, NaN = NaN) */
static inline bool
same_key(double a, double b)
{
	return a == b || (isnan(a) && isnan(b));
}

/*
 * The ranks by revenue (its float orders as the numeric does: the
 * conversion is monotonic; equal floats fall back to the numeric) and by
 * profit; ties by customer.  Each customer's tie is its place, from 0, among
 * the customers of an equal key (a view's rank is 1 + the number of greater
 * keys + the tie: rfm_model_rank).  keys, if not NULL, gets the n keys in
 * rank order, -0 as 0; order, if not NULL, the customers in rank order.
 * hint, if not NULL, is an order in which the keys may already be largest
 * first (profit in the order of revenue, when profit grows with revenue
 * alone): then only the runs of equal keys are sorted.
 */
void
cust_rank(Build *b, bool by_profit, double *keys, int64 *order, const int64 *hint)
{
	RankKey    *k = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(RankKey) * Max(b->n, 1));
	int64		s,
				runs = 0;
	bool		sorted = false;

	b->ranking_revenue = !by_profit;
	if (hint != NULL)
	{
		sorted = true;
		for (int64 r = 0; r < b->n && sorted; r++)
		{
			k[r].i = hint[r];
			k[r].key = by_profit ? b->c[hint[r]].profit : b->c[hint[r]].revenue_f;
			sorted = !isnan(k[r].key) && (r == 0 || k[r].key <= k[r - 1].key);
		}
	}
	if (!sorted)
	{
		double	   *kv = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * Max(b->n, 1));
		int64	   *ord = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(b->n, 1));

		for (int64 i = 0; i < b->n; i++)
			kv[i] = by_profit ? b->c[i].profit : b->c[i].revenue_f;
		/* by the key, largest first (radix) */
		rfm_radix_order(kv, b->n, true, ord);
		for (int64 r = 0; r < b->n; r++)
		{
			k[r].key = kv[ord[r]];
			k[r].i = ord[r];
		}
		pfree(kv);
		pfree(ord);
	}
	/*
	 * Then each run of equal keys by the ties' order.  The customers are in
	 * customer order and the radix sort is stable: a run whose customers
	 * come in increasing places (and, by revenue, of one numeric) is in
	 * that order already.
	 */
	for (s = 0; s < b->n;)
	{
		int64		e = s + 1;
		bool		in_order = true;

		if ((++runs & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();

		while (e < b->n && same_key(k[e].key, k[s].key))
		{
			in_order = in_order && k[e].i > k[e - 1].i &&
				(by_profit || same_numeric(b->c[k[e].i].revenue, b->c[k[s].i].revenue));
			e++;
		}
		if (e - s > 1 && !in_order)
			sort_rank_keys(k + s, e - s, b);
		if (e - s > PG_INT32_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("rfm_model_customers: more than %d customers of an equal %s", PG_INT32_MAX,
							by_profit ? "profit" : "revenue")));
		for (int64 r = s; r < e; r++)
		{
			Cust	   *c = &b->c[k[r].i];

			if (by_profit)
			{
				c->profit_rank = r + 1;
				c->profit_tie = (int32) (r - s);
			}
			else
			{
				c->revenue_rank = r + 1;
				c->revenue_tie = (int32) (r - s);
			}
			if (keys != NULL)
				keys[r] = k[r].key == 0 ? 0 : k[r].key;
			if (order != NULL)
				order[r] = k[r].i;
		}
		s = e;
	}
	pfree(k);
}

/* where a customer is among the customers in customer order (cust_sort_by_customer); -1: not there */
int64
cust_find(Build *b, Datum customer)
{
	Cust		key;
	int64		lo = 0,
				hi = b->n;

	key.customer = customer;
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;
		int			c = cmp_customer(&b->c[mid], &key, b);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
