/*
 * customers_build.c
 *		The population's figures of rfm_model_customers (src/customers.c),
 *		taken from the summary rows in memory (src/customers_read.c):
 *		percentile_cont's cut points, the sorted values of a column, the
 *		customers in customer order, and the ranks by revenue and by profit
 *		(ties by customer).
 */
#include "customers.h"

#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/sortsupport.h"
#include "utils/typcache.h"

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
 * percentile_cont(p) of the k values v (reordered), by selection (no sort:
 * the two order statistics it interpolates between); false: no values.
 */
bool
cust_values_percentile(double *v, int64 k, double p, double *out)
{
	bool		nan = false;
	double		first_row,
				second_row;

	for (int64 i = 0; i < k; i++)
		nan = nan || isnan(v[i]);
	if (k == 0 || nan || p < 0 || p > 1 || isnan(p))
	{
		/* (the errors and the NaN order of the sort) */
		rfm_sort_doubles(v, k);
		return cust_percentile(v, k, p, out);
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
	return cust_cmp_customer(x->customer, y->customer, build);
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
 * deleted and inserted in place).  Rows read in that order cost one
 * comparison each (the reading puts the few out of order in place:
 * src/customers_read.c); otherwise integer customers are sorted by a radix
 * sort, others by their type's sort support (abbreviated keys), and the
 * rows put in place along the cycles of the permutation (no second copy of
 * them).
 */
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
 * keys + the tie: rfm_model_rank), into b->rank and b->tie; kv: each
 * customer's key, as b->c.  keys, if not NULL, gets the n keys in
 * rank order, -0 as 0; order, if not NULL, the customers in rank order.
 * hint, if not NULL, is an order in which the keys may already be largest
 * first (profit in the order of revenue, when profit grows with revenue
 * alone): then only the runs of equal keys are sorted.
 */
void
cust_rank(Build *b, bool by_profit, const double *kv, double *keys, int64 *order, const int64 *hint)
{
	RankKey    *k = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(RankKey) * Max(b->n, 1));
	int64	   *rank = b->rank[by_profit ? 1 : 0];
	int32	   *tie = b->tie[by_profit ? 1 : 0];
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
			k[r].key = kv[hint[r]];
			sorted = !isnan(k[r].key) && (r == 0 || k[r].key <= k[r - 1].key);
		}
	}
	if (!sorted)
	{
		int64	   *ord = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * Max(b->n, 1));

		/* by the key, largest first (radix) */
		rfm_radix_order(kv, b->n, true, ord);
		for (int64 r = 0; r < b->n; r++)
		{
			k[r].key = kv[ord[r]];
			k[r].i = ord[r];
		}
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

		/*
		 * (Revenues of equal floats that are all whole millionths of less
		 * than 2^53 are equal values: in customer order, whatever their
		 * display scales; no need to look at each.)
		 */
		while (e < b->n && same_key(k[e].key, k[s].key))
		{
			in_order = in_order && k[e].i > k[e - 1].i &&
				(by_profit || b->rev_units_exact || same_numeric(b->c[k[e].i].revenue, b->c[k[s].i].revenue));
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
			rank[k[r].i] = r + 1;
			tie[k[r].i] = (int32) (r - s);
			if (keys != NULL)
				keys[r] = k[r].key == 0 ? 0 : k[r].key;
			if (order != NULL)
				order[r] = k[r].i;
		}
		s = e;
	}
	pfree(k);
}

/* where a customer is among the customers in customer order (cust_read_summary); -1: not there */
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
