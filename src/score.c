/*
 * score.c
 *		Tie-aware scores: the rfm_score and rfm_scores window functions, the
 *		rfm_breaks ordered-set aggregate and the scalar rfm_score.
 *
 * The rule, for n rows of which "less" rank strictly below the row:
 *
 *		score = 1 + floor(bins * less / n)
 *
 * Rows that are peers (equal values) have the same "less" and so always share
 * a score, unlike NTILE.  With no ties and n divisible by bins this is NTILE.
 * rfm_breaks returns the smallest value reaching each score, so scoring a
 * value against those cut points (1 + the number of cut points <= value)
 * gives the same score for every value of the data they came from.
 *
 * rfm_breaks(bins, 'r') instead returns the cut points of the R package rfm:
 * R's default (type 7) quantiles at 1/bins, 2/bins, ... plus one.
 */
#include "rfm.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "nodes/primnodes.h"
#include "nodes/pg_list.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "windowapi.h"

PG_FUNCTION_INFO_V1(rfm_score_window);
PG_FUNCTION_INFO_V1(rfm_scores_window);
PG_FUNCTION_INFO_V1(rfm_breaks_transition);
PG_FUNCTION_INFO_V1(rfm_breaks_final);
PG_FUNCTION_INFO_V1(rfm_breaks_method_final);
PG_FUNCTION_INFO_V1(rfm_score_breaks);

/* score = 1 + floor(bins * less / n), in exact integer arithmetic */
static inline int32
score_of(int64 less, int64 n, int32 bins)
{
	return 1 + (int32) (((int64) bins * less) / n);
}

/* ------------------------------------------------------------------------
 * rfm_score(bins) OVER (ORDER BY ...)
 * ------------------------------------------------------------------------
 */

typedef struct ScoreContext
{
	int64		nrows;			/* rows in the partition; 0 until known */
	int64		less;			/* rows before the current peer group */
	int32		bins;
	bool		bins_null;
} ScoreContext;

/*
 * rfm_score(bins) window function: 1 + floor(bins * rows before the peer
 * group / rows in the partition).  Peers share a score; NULL bins gives NULL.
 */
Datum
rfm_score_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	ScoreContext *ctx;
	int64		curpos = WinGetCurrentPosition(winobj);

	ctx = (ScoreContext *) WinGetPartitionLocalMemory(winobj, sizeof(ScoreContext));
	if (ctx->nrows == 0)
	{
		bool		isnull;
		Datum		b = WinGetFuncArgCurrent(winobj, 0, &isnull);

		ctx->nrows = WinGetPartitionRowCount(winobj);
		ctx->bins_null = isnull;
		if (!isnull)
		{
			rfm_check_bins(DatumGetInt32(b), "rfm_score");
			ctx->bins = DatumGetInt32(b);
		}
		ctx->less = 0;
	}
	else if (!WinRowsArePeers(winobj, curpos - 1, curpos))
		ctx->less = curpos;
	WinSetMarkPosition(winobj, curpos);

	if (ctx->bins_null)
		PG_RETURN_NULL();
	PG_RETURN_INT32(score_of(ctx->less, ctx->nrows, ctx->bins));
}

/* ------------------------------------------------------------------------
 * rfm_scores(recency, frequency, monetary, bins) OVER ()
 * ------------------------------------------------------------------------
 */

typedef struct ScoresContext
{
	bool		ready;
	int32		bins;
	int64		n[3];			/* non-NULL values of each metric */
	double	   *sorted[3];		/* ascending */
} ScoresContext;

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/* number of elements of v[0..n) strictly below x */
static int64
count_below(const double *v, int64 n, double x)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (v[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* number of elements of v[0..n) strictly above x */
static int64
count_above(const double *v, int64 n, double x)
{
	int64		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (v[mid] <= x)
			lo = mid + 1;
		else
			hi = mid;
	}
	return n - lo;
}

static const char *const metric_names[3] = {"recency", "frequency", "monetary"};

/*
 * rfm_scores(recency, frequency, monetary, bins) window function: the three
 * scores of a row in one pass over the partition (no sort of the rows).
 */
Datum
rfm_scores_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	ScoresContext *ctx;
	int64		curpos = WinGetCurrentPosition(winobj);
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3];
	bool		isnull;
	int			k;

	ctx = (ScoresContext *) WinGetPartitionLocalMemory(winobj, sizeof(ScoresContext));
	if (!ctx->ready)
	{
		int64		nrows = WinGetPartitionRowCount(winobj);
		Datum		b = WinGetFuncArgCurrent(winobj, 3, &isnull);
		MemoryContext partcxt = GetMemoryChunkContext(ctx);

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_scores: bins must not be null")));
		rfm_check_bins(DatumGetInt32(b), "rfm_scores");
		ctx->bins = DatumGetInt32(b);

		for (k = 0; k < 3; k++)
			ctx->sorted[k] = MemoryContextAllocHuge(partcxt, Max(nrows, 1) * sizeof(double));
		for (int64 pos = 0; pos < nrows; pos++)
		{
			for (k = 0; k < 3; k++)
			{
				bool		isout;
				Datum		v = WinGetFuncArgInPartition(winobj, k, pos,
														 WINDOW_SEEK_HEAD, false,
														 &isnull, &isout);

				if (!isnull)
				{
					double		d = DatumGetFloat8(v);

					rfm_check_not_nan(d, "rfm_scores", metric_names[k]);
					ctx->sorted[k][ctx->n[k]++] = d;
				}
			}
		}
		for (k = 0; k < 3; k++)
			qsort(ctx->sorted[k], ctx->n[k], sizeof(double), cmp_double);
		ctx->ready = true;
	}
	WinSetMarkPosition(winobj, curpos);

	for (k = 0; k < 3; k++)
	{
		Datum		v = WinGetFuncArgCurrent(winobj, k, &isnull);
		int64		less;

		nulls[k] = isnull;
		if (isnull)
		{
			values[k] = (Datum) 0;
			continue;
		}
		/* recency: smaller is better, so rank against the larger values */
		less = (k == 0) ? count_above(ctx->sorted[k], ctx->n[k], DatumGetFloat8(v))
			: count_below(ctx->sorted[k], ctx->n[k], DatumGetFloat8(v));
		values[k] = Int32GetDatum(score_of(less, ctx->n[k], ctx->bins));
	}

	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_scores: return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		fcinfo->flinfo->fn_extra = tupdesc;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * rfm_breaks(bins [, method]) WITHIN GROUP (ORDER BY value)
 * ------------------------------------------------------------------------
 */

typedef struct BreaksState
{
	int64		n;
	int64		cap;
	double	   *v;
} BreaksState;

/*
 * rfm_breaks transition function: collects the non-NULL values of a group
 * (sorted later, in the final function).
 */
Datum
rfm_breaks_transition(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	BreaksState *st;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_breaks transition function called in non-aggregate context")));
	if (PG_ARGISNULL(0))
	{
		st = MemoryContextAlloc(aggcxt, sizeof(BreaksState));
		st->n = 0;
		st->cap = 64;
		st->v = MemoryContextAlloc(aggcxt, st->cap * sizeof(double));
	}
	else
		st = (BreaksState *) PG_GETARG_POINTER(0);

	if (!PG_ARGISNULL(1))
	{
		double		d = PG_GETARG_FLOAT8(1);

		rfm_check_not_nan(d, "rfm_breaks", "value");
		if (st->n == st->cap)
		{
			st->cap *= 2;
			st->v = repalloc_huge(st->v, st->cap * sizeof(double));
		}
		st->v[st->n++] = d;
	}
	PG_RETURN_POINTER(st);
}

/* Refuse a descending WITHIN GROUP order: the cut points are ascending. */
static void
check_ascending(FunctionCallInfo fcinfo)
{
	Aggref	   *aggref = AggGetAggref(fcinfo);
	ListCell   *lc;

	if (aggref == NULL)
		return;
	foreach(lc, aggref->aggorder)
	{
		SortGroupClause *sc = (SortGroupClause *) lfirst(lc);
		bool		reverse = false;

		if (OidIsValid(sc->sortop))
			(void) get_equality_op_for_ordering_op(sc->sortop, &reverse);
		if (reverse)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("rfm_breaks requires an ascending WITHIN GROUP order"),
					 errdetail("Cut points are lower bounds of scores, with higher values scoring higher."),
					 errhint("Where smaller is better, as for recency, order by the negated value and score the negated value.")));
	}
}

/*
 * Cut points of the rank rule: breaks[k-1] is the smallest value v with
 * bins * (number of values below v) >= k * n, or +Infinity if none.
 */
static void
rank_breaks(const double *v, int64 n, int32 bins, Datum *out)
{
	int64		j = 0;

	for (int32 k = 1; k < bins; k++)
	{
		/* smallest count of lower values that reaches score k + 1 */
		int64		m = ((int64) k * n + bins - 1) / bins;

		if (j < m)
			j = m;
		/* move to the start of a peer group */
		while (j < n && j > 0 && v[j] == v[j - 1])
			j++;
		out[k - 1] = Float8GetDatum(j < n ? v[j] : get_float8_infinity());
	}
}

/*
 * Cut points of the R package rfm: quantile(x, k / bins) of R's default type
 * 7 (linear interpolation between order statistics), plus one.
 */
static void
r_breaks(const double *v, int64 n, int32 bins, Datum *out)
{
	double		by = 1.0 / (double) bins;

	for (int32 k = 1; k < bins; k++)
	{
		double		p = (double) k * by;
		double		index = 1.0 + (double) (n - 1) * p;
		int64		lo = (int64) floor(index);
		int64		hi = (int64) ceil(index);
		double		q = v[lo - 1];

		if (index > (double) lo && v[hi - 1] != q)
		{
			double		h = index - (double) lo;

			q = (1.0 - h) * q + h * v[hi - 1];
		}
		out[k - 1] = Float8GetDatum(q + 1.0);
	}
}

static Datum
breaks_final(FunctionCallInfo fcinfo, bool r_method)
{
	BreaksState *st;
	int32		bins;
	Datum	   *out;

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	bins = PG_GETARG_INT32(1);
	rfm_check_bins(bins, "rfm_breaks");
	check_ascending(fcinfo);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BreaksState *) PG_GETARG_POINTER(0);
	if (st->n == 0)
		PG_RETURN_NULL();

	/* sorting in place is harmless: the state is not used again unsorted */
	qsort(st->v, st->n, sizeof(double), cmp_double);
	out = palloc(sizeof(Datum) * Max(bins - 1, 1));
	if (r_method)
		r_breaks(st->v, st->n, bins, out);
	else
		rank_breaks(st->v, st->n, bins, out);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, bins - 1, FLOAT8OID, sizeof(float8),
										  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * rfm_breaks(bins) final function: cut points that reproduce the
 * rfm_score(bins) window function's scores with the scalar rfm_score.
 */
Datum
rfm_breaks_final(PG_FUNCTION_ARGS)
{
	return breaks_final(fcinfo, false);
}

/*
 * rfm_breaks(bins, method) final function: method 'rank' (the default rule)
 * or 'r' (the R package rfm's quantile cut points).
 */
Datum
rfm_breaks_method_final(PG_FUNCTION_ARGS)
{
	const char *method;

	if (PG_ARGISNULL(2))
		PG_RETURN_NULL();
	method = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (strcmp(method, "rank") == 0)
		return breaks_final(fcinfo, false);
	if (strcmp(method, "r") == 0)
		return breaks_final(fcinfo, true);
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("rfm_breaks: unknown method \"%s\"", method),
			 errhint("Use 'rank' (scores as rfm_score's window form) or 'r' (the R package rfm's quantiles).")));
	PG_RETURN_NULL();			/* keep the compiler quiet */
}

/* ------------------------------------------------------------------------
 * rfm_score(value, breaks [, reverse])
 * ------------------------------------------------------------------------
 */

/*
 * rfm_score(value, breaks, reverse) scalar: 1 + the number of cut points at
 * or below value; reverse gives bins + 1 minus that (R's recency score).
 */
Datum
rfm_score_breaks(PG_FUNCTION_ARGS)
{
	double		value = PG_GETARG_FLOAT8(0);
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	bool		reverse = PG_GETARG_BOOL(2);
	Datum	   *elems;
	bool	   *elnulls;
	int			nelems;
	int32		score = 1;
	double		prev = -get_float8_infinity();

	rfm_check_not_nan(value, "rfm_score", "value");
	if (ARR_NDIM(arr) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("rfm_score: breaks must be a one-dimensional array")));
	deconstruct_array(arr, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &elems, &elnulls, &nelems);
	if (nelems + 1 > RFM_MAX_BINS)
		rfm_check_bins(nelems + 1, "rfm_score");
	for (int i = 0; i < nelems; i++)
	{
		double		c;

		if (elnulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_score: breaks must not contain NULL")));
		c = DatumGetFloat8(elems[i]);
		if (isnan(c) || c < prev)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rfm_score: breaks must be in ascending order"),
					 errdetail("Element %d (%g) is below element %d (%g) or NaN.",
							   i + 1, c, i, prev),
					 errhint("Use the array rfm_breaks returns.")));
		prev = c;
		if (value >= c)
			score++;
	}
	if (reverse)
		score = nelems + 2 - score;
	PG_RETURN_INT32(score);
}
