/*
 * customers_totals.c
 *		A model's _segments and _pareto rows from its customers in memory
 *		(src/customers.c), as the SQL of those views computes them from
 *		_customers (rfm_model_view_sql), so that a refresh does not read its
 *		million-row table twice more.
 *
 * The same operations as the SQL's aggregates: counts and integer sums
 * averaged by numeric division, numeric sums exact, float sums added in
 * customer order (the order in which a full refresh wrote _customers, and
 * in which an incremental refresh keeps reading the customers whatever the
 * table's order), float means as sum / count.  Segments come out in the
 * order of their names, the one of no segment (scores of other than 5
 * bins) last; the profit shares divide by the sum of the segments' profits
 * in that order.
 */
#include "customers.h"
#include "sink.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

static Datum
num_of(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

/* a + b of numerics, a freed (sums run over a million rows) */
static Datum
num_add(Datum a, Datum b)
{
	Datum		s = DirectFunctionCall2(numeric_add, a, b);

	pfree(DatumGetPointer(a));
	return s;
}

static bool
num_is_zero(Datum a)
{
	return DatumGetBool(DirectFunctionCall2(numeric_eq, a, num_of(0)));
}


/*
 * Sums of revenues, exact: in millionths in an integer while each revenue
 * is one (at most 6 digits after the point: rfm_numeric_parts), else as
 * numerics.  A numeric sum has as many
 * digits after the point as the most of its terms'.
 */
#define UNITS_DIGITS 6

static const int64 pow10i[UNITS_DIGITS + 1] = {1, 10, 100, 1000, 10000, 100000, 1000000};

typedef struct NumSum
{
	int64		units;
	int16		dscale;
	bool		any_slow;
	Datum		slow;
} NumSum;

static void
numsum_add(NumSum *s, const Cust *c)
{
	int64		t;

	if (c->rev_fast && !pg_add_s64_overflow(s->units, c->rev_units, &t))
	{
		s->units = t;
		s->dscale = Max(s->dscale, c->rev_dscale);
		return;
	}
	s->slow = s->any_slow ? num_add(s->slow, c->revenue) : DirectFunctionCall2(numeric_add, num_of(0), c->revenue);
	s->any_slow = true;
}

static Datum
numsum_value(const NumSum *s)
{
	int64		q = s->units / pow10i[UNITS_DIGITS - s->dscale];
	uint64		a = q < 0 ? -(uint64) q : (uint64) q;
	char		buf[64];
	Datum		v;

	if (s->dscale == 0)
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT, q < 0 ? "-" : "", a);
	else
		snprintf(buf, sizeof(buf), "%s" UINT64_FORMAT ".%0*" INT64_MODIFIER "u", q < 0 ? "-" : "",
				 a / (uint64) pow10i[s->dscale], (int) s->dscale, a % (uint64) pow10i[s->dscale]);
	v = DirectFunctionCall3(numeric_in, CStringGetDatum(buf), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	return s->any_slow ? DirectFunctionCall2(numeric_add, v, s->slow) : v;
}

typedef struct SegAcc
{
	int64		n;
	NumSum		rev;
	Datum		revenue;
	double		recency;
	int64		orders;
	int64		score[3];
	double		alive;
	int64		n_alive;
	double		clv;
	bool		any_clv;
	double		profit;
	TimestampTz as_of;
	bool		any_as_of;
} SegAcc;

/*
 * The rows of _segments: one per segment group (Cust.seg: b->segs[seg] its
 * name, NULL for none), of the columns of the view, into sink.
 */
void
cust_segments(Build *b, const char *schema, RowSink *sink)
{
	int			ng = b->nsegs;
	SegAcc	   *acc = palloc0(sizeof(SegAcc) * Max(ng, 1));
	Datum		total_n,
				total_rev;
	double		total_profit = 0;
	Fn			f_label,
				f_strategy;
	Oid			args[2] = {TEXTOID, TEXTOID};
	int		   *order = palloc(sizeof(int) * Max(ng, 1));

	cust_fn_init(&f_label, schema, "rfm_label", 2, args);
	cust_fn_init(&f_strategy, schema, "rfm_strategy", 1, args);
	for (int64 i = 0; i < b->n; i++)
	{
		Cust	   *c = &b->c[i];
		CustModel  *m = cust_model(b, c);
		SegAcc	   *a = &acc[c->seg];

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		a->n++;
		numsum_add(&a->rev, c);
		a->recency = float8_pl(a->recency, c->recency);
		a->orders = rfm_add_int64(a->orders, c->orders, "bigint");
		for (int k = 0; k < 3; k++)
			a->score[k] += c->score[k];
		if (!m->p_alive_null)
		{
			a->alive = float8_pl(a->alive, m->p_alive);
			a->n_alive++;
		}
		if (!m->clv_null)
		{
			a->clv = a->any_clv ? float8_pl(a->clv, m->clv) : m->clv;
			a->any_clv = true;
		}
		a->profit = float8_pl(a->profit, c->profit);
		if (!c->as_of_null && (!a->any_as_of || DatumGetTimestampTz(c->as_of) > a->as_of))
		{
			a->as_of = DatumGetTimestampTz(c->as_of);
			a->any_as_of = true;
		}
	}

	/* the groups by name, no segment last; the totals in that order */
	for (int g = 0; g < ng; g++)
		order[g] = g;
	for (int x = 1; x < ng; x++)
		for (int y = x; y > 0; y--)
		{
			int			p = order[y - 1],
						q = order[y];
			bool		swap;

			if (b->seg_null[p] || b->seg_null[q])
				swap = b->seg_null[p] && !b->seg_null[q];
			else
				swap = varstr_cmp(VARDATA_ANY(DatumGetPointer(b->segs[p])),
								  VARSIZE_ANY_EXHDR(DatumGetPointer(b->segs[p])),
								  VARDATA_ANY(DatumGetPointer(b->segs[q])),
								  VARSIZE_ANY_EXHDR(DatumGetPointer(b->segs[q])), DEFAULT_COLLATION_OID) > 0;
			if (!swap)
				break;
			order[y - 1] = q;
			order[y] = p;
		}
	total_n = num_of(0);
	total_rev = num_of(0);
	for (int x = 0; x < ng; x++)
	{
		SegAcc	   *a = &acc[order[x]];

		if (a->n == 0)
			continue;
		a->revenue = numsum_value(&a->rev);
		total_n = num_add(total_n, num_of(a->n));
		total_rev = DirectFunctionCall2(numeric_add, total_rev, a->revenue);
		total_profit = float8_pl(total_profit, a->profit);
	}

	for (int x = 0; x < ng; x++)
	{
		int			g = order[x];
		SegAcc	   *a = &acc[g];
		Datum		v[19];
		bool		n[19];
		Datum		cnt;

		if (a->n == 0)
			continue;
		memset(n, false, sizeof(n));
		cnt = num_of(a->n);
		v[0] = b->segs[g];
		n[0] = b->seg_null[g];
		{
			Datum		la[2] = {v[0], CStringGetTextDatum("en")};
			bool		ln[2] = {n[0], false};

			v[1] = cust_fn_call(&f_label, la, ln, &n[1]);
			la[1] = CStringGetTextDatum("zh");
			v[2] = cust_fn_call(&f_label, la, ln, &n[2]);
			v[3] = cust_fn_call(&f_strategy, la, ln, &n[3]);
		}
		v[4] = Int64GetDatum(a->n);
		v[5] = DirectFunctionCall2(numeric_div, cnt, total_n);
		v[6] = a->revenue;
		n[7] = num_is_zero(total_rev);
		v[7] = n[7] ? (Datum) 0 : DirectFunctionCall2(numeric_div, a->revenue, total_rev);
		v[8] = Float8GetDatum(a->recency / (double) a->n);
		v[9] = DirectFunctionCall2(numeric_div, num_of(a->orders), cnt);
		v[10] = DirectFunctionCall2(numeric_div, a->revenue, cnt);
		for (int k = 0; k < 3; k++)
			v[11 + k] = DirectFunctionCall2(numeric_div, num_of(a->score[k]), cnt);
		n[14] = a->n_alive == 0;
		v[14] = n[14] ? (Datum) 0 : Float8GetDatum(a->alive / (double) a->n_alive);
		n[15] = !a->any_clv;
		v[15] = Float8GetDatum(a->clv);
		n[16] = !a->any_as_of;
		v[16] = TimestampTzGetDatum(a->as_of);
		v[17] = Float8GetDatum(a->profit);
		n[18] = total_profit == 0;
		v[18] = n[18] ? (Datum) 0 : Float8GetDatum(float8_div(a->profit, total_profit));
		sink_put(sink, v, n);
	}
}

/*
 * The 100 rows of _pareto: the top p % of customers are those of rank <=
 * ceil(p n / 100); the revenue of each percent's new customers, and their
 * profit by the profit rank, summed in customer order, then run over p.
 */
void
cust_pareto(Build *b, RowSink *sink)
{
	NumSum		rev[101];
	bool		rev_any[101];
	double		prof[101];
	bool		prof_any[101];
	NumSum		total;
	Datum		total_rev,
				run_rev = (Datum) 0;
	double		total_profit = 0,
				run_prof = 0;
	bool		any_rev = false,
				any_prof = false;
	TimestampTz as_of = 0;
	bool		any_as_of = false;

	if (b->n == 0)
		return;
	memset(rev_any, false, sizeof(rev_any));
	memset(rev, 0, sizeof(rev));
	memset(&total, 0, sizeof(total));
	memset(prof_any, false, sizeof(prof_any));
	for (int64 i = 0; i < b->n; i++)
	{
		Cust	   *c = &b->c[i];
		int			rb = (int) ((100 * (b->rank[0][i] - 1)) / b->n + 1);
		int			pb = (int) ((100 * (b->rank[1][i] - 1)) / b->n + 1);

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		numsum_add(&rev[rb], c);
		rev_any[rb] = true;
		prof[pb] = prof_any[pb] ? float8_pl(prof[pb], c->profit) : c->profit;
		prof_any[pb] = true;
		numsum_add(&total, c);
		total_profit = float8_pl(total_profit, c->profit);
		if (!c->as_of_null && (!any_as_of || DatumGetTimestampTz(c->as_of) > as_of))
		{
			as_of = DatumGetTimestampTz(c->as_of);
			any_as_of = true;
		}
	}
	total_rev = numsum_value(&total);
	for (int p = 1; p <= 100; p++)
	{
		Datum		v[7];
		bool		n[7];

		if (rev_any[p])
		{
			Datum		r = numsum_value(&rev[p]);

			run_rev = any_rev ? DirectFunctionCall2(numeric_add, run_rev, r) : r;
			any_rev = true;
		}
		if (prof_any[p])
		{
			run_prof = any_prof ? float8_pl(run_prof, prof[p]) : prof[p];
			any_prof = true;
		}
		memset(n, false, sizeof(n));
		v[0] = Int32GetDatum(p);
		/* ceil(p n / 100) */
		v[1] = Int64GetDatum((p * b->n + 99) / 100);
		n[2] = !any_rev;
		v[2] = run_rev;
		n[3] = !any_rev || num_is_zero(total_rev);
		v[3] = n[3] ? (Datum) 0 : DirectFunctionCall2(numeric_div, run_rev, total_rev);
		n[4] = !any_as_of;
		v[4] = TimestampTzGetDatum(as_of);
		n[5] = !any_prof;
		v[5] = Float8GetDatum(run_prof);
		n[6] = !any_prof || total_profit == 0;
		v[6] = n[6] ? (Datum) 0 : Float8GetDatum(float8_div(run_prof, total_profit));
		sink_put(sink, v, n);
	}
}

static const char *const seg_names[19] = {
	"segment", "segment_label", "segment_label_zh", "strategy", "customers", "customer_share", "revenue",
	"revenue_share", "avg_recency", "avg_frequency", "avg_monetary", "avg_r_score", "avg_f_score",
	"avg_m_score", "avg_p_alive", "total_clv", "as_of", "profit", "profit_share"
};
static const Oid seg_types[19] = {
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, INT8OID, NUMERICOID, NUMERICOID,
	NUMERICOID, FLOAT8OID, NUMERICOID, NUMERICOID, NUMERICOID, NUMERICOID,
	NUMERICOID, FLOAT8OID, FLOAT8OID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID
};
static const char *const par_names[7] = {
	"customer_percent", "customers", "revenue", "revenue_share", "as_of", "profit", "profit_share"
};
static const Oid par_types[7] = {
	INT4OID, INT8OID, NUMERICOID, NUMERICOID, TIMESTAMPTZOID, FLOAT8OID, FLOAT8OID
};

void
cust_open_segments(RowSink *sink, Oid relid, const char *fname)
{
	sink_open_table(sink, relid, 19, seg_names, seg_types, fname);
}

void
cust_open_pareto(RowSink *sink, Oid relid, const char *fname)
{
	sink_open_table(sink, relid, 7, par_names, par_types, fname);
}

/* n keys as one float8 array, made directly */
static Datum
keys_array(const double *keys, int64 n, const char *fname)
{
	Size		bytes = (Size) ARR_OVERHEAD_NONULLS(1) + sizeof(double) * (Size) n;
	ArrayType  *a;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(FLOAT8OID));
	if (!AllocSizeIsValid(bytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("%s: too many customers for the array of ranks", fname)));
	a = palloc0(bytes);
	SET_VARSIZE(a, bytes);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = FLOAT8OID;
	ARR_DIMS(a)[0] = (int) n;
	ARR_LBOUND(a)[0] = 1;
	memcpy((char *) a + ARR_OVERHEAD_NONULLS(1), keys, sizeof(double) * n);
	return PointerGetDatum(a);
}

/*
 * The keys that went (in base, not in now) and came (in now, not in base),
 * both in descending order, as float8 arrays; false when they are more than
 * an eighth of the customers (then the keys are written anew).
 */
static bool
keys_diff(const double *now, int64 n, ArrayType *base, Datum *went, Datum *came, const char *fname)
{
	const double *old;
	int64		m,
				i = 0,
				j = 0,
				nw = 0,
				nc = 0,
				most = n / 8;
	double	   *w,
			   *c;

	if (base == NULL || ARR_NDIM(base) > 1 || ARR_HASNULL(base) || ARR_ELEMTYPE(base) != FLOAT8OID)
		return false;
	m = ARR_NDIM(base) == 0 ? 0 : ARR_DIMS(base)[0];
	old = (const double *) ((char *) base + ARR_OVERHEAD_NONULLS(ARR_NDIM(base)));
	w = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * (most + 1));
	c = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * (most + 1));
	while (i < n || j < m)
	{
		int			cmp = i >= n ? -1 : j >= m ? 1 : float8_cmp_internal(now[i], old[j]);

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		if (cmp == 0)
		{
			i++;
			j++;
			continue;
		}
		if (nw + nc >= most)
			return false;
		if (cmp > 0)
			c[nc++] = now[i++];
		else
			w[nw++] = old[j++];
	}
	*went = keys_array(w, nw, fname);
	*came = keys_array(c, nc, fname);
	return true;
}

/*
 * The one row of a model's $rnk table: the keys of the ranks by revenue and
 * by profit in rank order (rfm_model_rank), or, for an incremental refresh
 * that keeps the table (base: its keys), NULL there (they stay) and the
 * keys that went and came since; the figures; the basis the refresh was
 * given (what else the rows depend on).
 */
void
cust_ranks_row(Build *b, Oid relid, double *const keys[2], ArrayType *const base[2], const Figures *f, Datum basis,
			   const char *fname)
{
	static const char *const names[8] = {
		"revenue", "profit", "revenue_removed", "revenue_added", "profit_removed", "profit_added", "figures", "basis"
	};
	static const Oid types[8] = {
		FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID, FLOAT8ARRAYOID,
		FLOAT8ARRAYOID, TEXTOID
	};
	RowSink		sink;
	Datum		v[8];
	bool		n[8];

	memset(n, false, sizeof(n));
	for (int k = 0; k < 2; k++)
	{
		if (base[k] != NULL && keys_diff(keys[k], b->n, base[k], &v[2 + 2 * k], &v[3 + 2 * k], fname))
			n[k] = true;
		else
		{
			v[k] = keys_array(keys[k], b->n, fname);
			v[2 + 2 * k] = v[3 + 2 * k] = PointerGetDatum(construct_empty_array(FLOAT8OID));
		}
	}
	/* both keep their keys, or neither (the view reads them together) */
	if (n[0] != n[1])
		for (int k = 0; k < 2; k++)
		{
			n[k] = false;
			v[k] = keys_array(keys[k], b->n, fname);
			v[2 + 2 * k] = v[3 + 2 * k] = PointerGetDatum(construct_empty_array(FLOAT8OID));
		}
	v[6] = cust_figures_array(f);
	v[7] = basis;
	n[7] = basis == (Datum) 0;
	sink_open_table(&sink, relid, 8, names, types, fname);
	sink_put(&sink, v, n);
	sink_close(&sink);
}
