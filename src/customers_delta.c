/*
 * customers_delta.c
 *		Which customers' rows an incremental refresh writes again when it
 *		keeps a model's _customers table in place.
 *
 * A row depends on the customer's summary and on figures of the whole
 * population (src/customers.c): the scores' cut points, the value types'
 * means, the groups' cut points, and the customer's tie among equal keys
 * of the ranks (the ranks themselves are not stored: rfm_model_rank).
 * Everything else it depends on -- as_of, rfm's version, the model's
 * options, the rule and settings tables -- the refresh checks is what the
 * last one had (rfm_model_customers_basis), and the fitted models are off
 * (a model with CLV writes every row again).  So a customer's row is
 * written again when the customer was read again ($work), or its scores,
 * value type or groups differ under the last refresh's figures and this
 * one's, or a customer read again had or has its key of a rank (then the
 * ties of that key may have moved).
 */
#include "customers.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* rfm_score(x, cuts): 1 + the number of cuts <= x */
int32
cust_score_of(double x, const double *cuts, int ncut)
{
	int32		s = 1;

	for (int i = 0; i < ncut; i++)
		if (x >= cuts[i])
			s++;
	return s;
}

const char *
cust_ae_group(const Cust *c, const Figures *f)
{
	return rfm_ae_group_of(false, (double) c->orders, c->aov_null, c->aov_f, !f->has_f, f->cut_f, !f->has_a,
						   f->cut_a);
}

const char *
cust_arpu_group(const Cust *c, const Figures *f)
{
	return c->arpu_null ? NULL : rfm_arpu_group_of(c->arpu, !f->has_basic, f->cut_basic, !f->has_high, f->cut_high);
}

const char *
cust_value_tier(const Cust *c, const CustModel *m, const Figures *f)
{
	if (f->by_clv)
		return m->clv_null ? NULL : rfm_value_tier_of(m->clv, !f->has_low, f->cut_low, !f->has_vhigh, f->cut_vhigh);
	return rfm_value_tier_of(c->revenue_f, !f->has_low, f->cut_low, !f->has_vhigh, f->cut_vhigh);
}

/*
 * The figures as one float8 array: for r, f and m the number of cut points
 * and the cut points, then the three means, then has_f, cut_f, has_a,
 * cut_a, has_basic, cut_basic, has_low, cut_low, has_vhigh, cut_vhigh (has:
 * 1 or 0).  (has_high, cut_high and by_clv are settings, in the basis.)
 */
#define FIGURES_TAIL 13

Datum
cust_figures_array(const Figures *f)
{
	int			n = 3 + f->ncut[0] + f->ncut[1] + f->ncut[2] + FIGURES_TAIL;
	Datum	   *e = palloc(sizeof(Datum) * n);
	int			j = 0;
	double		tail[FIGURES_TAIL] = {
		f->means[0], f->means[1], f->means[2],
		f->has_f, f->cut_f, f->has_a, f->cut_a, f->has_basic, f->cut_basic,
		f->has_low, f->cut_low, f->has_vhigh, f->cut_vhigh
	};

	for (int k = 0; k < 3; k++)
	{
		e[j++] = Float8GetDatum((double) f->ncut[k]);
		for (int i = 0; i < f->ncut[k]; i++)
			e[j++] = Float8GetDatum(f->cut[k][i]);
	}
	for (int i = 0; i < FIGURES_TAIL; i++)
		e[j++] = Float8GetDatum(tail[i]);
	return PointerGetDatum(construct_array(e, n, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* the figures of cust_figures_array, with the settings of now; false: not such an array */
static bool
figures_parse(ArrayType *a, const Figures *now, Figures *f)
{
	Datum	   *e;
	bool	   *nulls;
	int			n,
				j = 0;

	if (a == NULL || ARR_NDIM(a) != 1 || ARR_ELEMTYPE(a) != FLOAT8OID)
		return false;
	deconstruct_array(a, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &e, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
			return false;
	*f = *now;
	for (int k = 0; k < 3; k++)
	{
		double		m;

		if (j >= n)
			return false;
		m = DatumGetFloat8(e[j++]);
		if (!(m >= 0 && m <= RFM_MAX_BINS) || j + (int) m > n)
			return false;
		f->ncut[k] = (int) m;
		f->cut[k] = palloc(sizeof(double) * Max(f->ncut[k], 1));
		for (int i = 0; i < f->ncut[k]; i++)
			f->cut[k][i] = DatumGetFloat8(e[j++]);
	}
	if (n - j != FIGURES_TAIL)
		return false;
	for (int k = 0; k < 3; k++)
		f->means[k] = DatumGetFloat8(e[j++]);
	f->has_f = DatumGetFloat8(e[j++]) != 0;
	f->cut_f = DatumGetFloat8(e[j++]);
	f->has_a = DatumGetFloat8(e[j++]) != 0;
	f->cut_a = DatumGetFloat8(e[j++]);
	f->has_basic = DatumGetFloat8(e[j++]) != 0;
	f->cut_basic = DatumGetFloat8(e[j++]);
	f->has_low = DatumGetFloat8(e[j++]) != 0;
	f->cut_low = DatumGetFloat8(e[j++]);
	f->has_vhigh = DatumGetFloat8(e[j++]) != 0;
	f->cut_vhigh = DatumGetFloat8(e[j++]);
	return true;
}

/*
 * Marks the customers of the table work (column customer: the customers an
 * incremental refresh read again), read as the caller, a model's owner.
 */
void
cust_mark_work(Build *b, Oid work)
{
	char	   *q;
	int			rc;

	rfm_require_own_table(work, "rfm_model_customers_into", false,
						  "A refresh calls it as the model's owner on the model's $work table.");
	q = psprintf("SELECT w.customer FROM %s w",
				 quote_qualified_identifier(get_namespace_name(get_rel_namespace(work)), get_rel_name(work)));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_model_customers_into: SPI_connect failed");
	rc = SPI_execute(q, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rfm_model_customers_into: %s", SPI_result_code_string(rc));
	if (SPI_tuptable->tupdesc->natts != 1 || TupleDescAttr(SPI_tuptable->tupdesc, 0)->atttypid != b->cust_type)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_model_customers_into: the customers read again must be of type %s",
						format_type_be(b->cust_type))));
	b->work = MemoryContextAllocHuge(b->cxt, sizeof(int64) * Max(SPI_processed, 1));
	b->nwork = 0;
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		int64		at;

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		at = cust_find(b, d);
		if (at >= 0 && !b->c[at].in_work)
		{
			b->c[at].in_work = true;
			b->work[b->nwork++] = at;
		}
	}
	SPI_finish();
}

/*
 * Marks the customers whose key of a rank is one that a customer read again
 * had (old) or has: all of a run of equal keys, found among the keys in rank
 * order (descending, -0 as 0; at[r]: the customer of place r).
 */
static int
cmp_key(const void *a, const void *b)
{
	return float8_cmp_internal(*(const double *) a, *(const double *) b);
}

static void
mark_runs(Build *b, ArrayType *old, bool profit, const double *keys, const int64 *at, bool *hit)
{
	int			nold = 0;
	Datum	   *e = NULL;
	bool	   *nulls = NULL;
	double	   *moved;
	int64		nmoved = 0,
				nwork = b->nwork;

	if (old != NULL)
		deconstruct_array(old, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &e, &nulls, &nold);
	/* the old keys and those of the customers read again, each once */
	moved = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * (nold + nwork + 1));
	for (int j = 0; j < nold; j++)
		if (!nulls[j])
			moved[nmoved++] = DatumGetFloat8(e[j]);
	for (int64 w = 0; w < nwork; w++)
	{
		Cust	   *c = &b->c[b->work[w]];

		moved[nmoved++] = profit ? c->profit : c->revenue_f;
	}
	for (int64 j = 0; j < nmoved; j++)
		if (moved[j] == 0)
			moved[j] = 0;
	qsort(moved, nmoved, sizeof(double), cmp_key);
	for (int64 j = 0; j < nmoved; j++)
	{
		double		x = moved[j];
		int64		lo = 0,
					hi = b->n;

		if (j > 0 && float8_cmp_internal(moved[j - 1], x) == 0)
			continue;
		if ((j & 0xfff) == 0)
			CHECK_FOR_INTERRUPTS();
		/* the first place whose key is not greater than x: the start of x's run */
		while (lo < hi)
		{
			int64		mid = lo + (hi - lo) / 2;

			if (float8_cmp_internal(keys[mid], x) > 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (int64 r = lo; r < b->n && float8_cmp_internal(keys[r], x) == 0; r++)
			hit[at[r]] = true;
	}
	pfree(moved);
}

static bool
same_code(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/*
 * What decides which rows an incremental refresh writes again (cust_emit_of):
 * old_figures, the last refresh's figures (every row, when it is not such
 * an array); old_revenue, old_profit: the keys that the customers read
 * again had then, whose runs of equal keys are marked (e->hit), with those
 * of the keys they have now.
 */
void
cust_emit_begin(Build *b, const Figures *now, ArrayType *old_figures, ArrayType *old_revenue,
				ArrayType *old_profit, double *const keys[2], int64 *const order[2], EmitCheck *e)
{
	e->all = !figures_parse(old_figures, now, &e->was);
	e->hit = NULL;
	if (e->all)
		return;
	e->hit = MemoryContextAllocHuge(CurrentMemoryContext, Max(b->n, 1));
	memset(e->hit, 0, Max(b->n, 1));
	mark_runs(b, old_revenue, false, keys[0], order[0], e->hit);
	mark_runs(b, old_profit, true, keys[1], order[1], e->hit);
}

/*
 * Whether customer c (place i; c->score holds this refresh's scores) gets
 * its row written again: read again, in a run of equal keys that moved, or
 * with scores, value type or groups that differ under the last refresh's
 * figures and this one's.
 */
bool
cust_emit_of(Build *b, const Cust *c, int64 i, const EmitCheck *e, const Figures *now)
{
	const Figures *was = &e->was;
	const CustModel *m = cust_model(b, c);

	if (e->all || c->in_work || e->hit[i])
		return true;
	for (int k = 0; k < 3; k++)
	{
		double		x = k == 0 ? -c->recency : k == 1 ? (double) c->orders : c->revenue_f;

		if (cust_score_of(x, was->cut[k], was->ncut[k]) != c->score[k])
			return true;
	}
	return (c->recency < was->means[0]) != (c->recency < now->means[0]) ||
		((double) c->orders > was->means[1]) != ((double) c->orders > now->means[1]) ||
		(c->revenue_f > was->means[2]) != (c->revenue_f > now->means[2]) ||
		!same_code(cust_ae_group(c, was), cust_ae_group(c, now)) ||
		!same_code(cust_arpu_group(c, was), cust_arpu_group(c, now)) ||
		!same_code(cust_value_tier(c, m, was), cust_value_tier(c, m, now));
}
