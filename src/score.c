/*
 * score.c
 *		Tie-aware scores: the rfm_score and rfm_scores window functions, the
 *		rfm_breaks ordered-set aggregate and the scalar rfm_score.
 *
 * The rule ("as even as ties allow"): walk the peer groups (rows with equal
 * values) in order.  Each score s in turn is given a fair share of the rows
 * not yet scored, (rows left) / (scores left).  A group joins the current
 * score, unless that score already holds rows and the group's middle row lies
 * beyond its share: then the group opens the next score.
 *
 * So peers always share a score (unlike NTILE), the lowest group scores 1,
 * no score is skipped, a large group of ties does not squeeze the others into
 * fewer scores, and with no ties the scores are NTILE's.  rfm_breaks returns
 * the first value of each score, so scoring a value against those cut points
 * (1 + the number of cut points <= value) gives the same score for every
 * value of the data they came from.
 *
 * rfm_breaks(bins, 'r') instead returns the cut points of the R package rfm:
 * R's default (type 7) quantiles at 1/bins, 2/bins, ... plus one.
 */
#include "rfm.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
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

/*
 * The scores of consecutive peer groups; call score_next once per group, in
 * order, with its size.  Integer arithmetic only: the share test
 * (a - start) + (g - 1) / 2 >= (n - start) / (bins - s + 1) is multiplied out.
 */
typedef struct ScoreWalk
{
	int64		n;				/* rows in all */
	int32		bins;
	int32		score;			/* the current score */
	int64		start;			/* first row of the current score */
	int64		next;			/* first row of the next group */
} ScoreWalk;

static inline void
score_walk_init(ScoreWalk *w, int64 n, int32 bins)
{
	w->n = n;
	w->bins = bins;
	w->score = 1;
	w->start = 0;
	w->next = 0;
}

static inline int32
score_next(ScoreWalk *w, int64 g)
{
	int64		a = w->next;

	if (a > w->start && w->score < w->bins)
	{
		int64		left = w->bins - w->score + 1;

		/* 2 * middle offset >= 2 * share, with both sides times left */
		if (left * (2 * (a - w->start) + g - 1) >= 2 * (w->n - w->start))
		{
			w->score++;
			w->start = a;
		}
	}
	w->next = a + g;
	return w->score;
}

/* ------------------------------------------------------------------------
 * rfm_score(bins) OVER (ORDER BY ...)
 * ------------------------------------------------------------------------
 */

typedef struct ScoreContext
{
	bool		ready;
	bool		bins_null;
	int16	   *scores;			/* score of each row of the partition */
} ScoreContext;

/*
 * rfm_score(bins) window function: scores 1..bins as even as ties allow;
 * peers share a score.  NULL bins gives NULL, as with ntile.
 */
Datum
rfm_score_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	ScoreContext *ctx;
	int64		curpos = WinGetCurrentPosition(winobj);

	ctx = (ScoreContext *) WinGetPartitionLocalMemory(winobj, sizeof(ScoreContext));
	if (!ctx->ready)
	{
		bool		isnull;
		Datum		b = WinGetFuncArgCurrent(winobj, 0, &isnull);
		int64		n = WinGetPartitionRowCount(winobj);

		ctx->ready = true;
		ctx->bins_null = isnull;
		if (!isnull)
		{
			ScoreWalk	w;
			int64		gstart = 0;

			rfm_check_bins(DatumGetInt32(b), "rfm_score");
			ctx->scores = MemoryContextAllocHuge(GetMemoryChunkContext(ctx),
												 Max(n, 1) * sizeof(int16));
			score_walk_init(&w, n, DatumGetInt32(b));
			/* find the peer groups; score each when its end is known */
			for (int64 pos = 1; pos <= n; pos++)
			{
				if (pos == n || !WinRowsArePeers(winobj, pos - 1, pos))
				{
					int16		sc = (int16) score_next(&w, pos - gstart);

					for (int64 i = gstart; i < pos; i++)
						ctx->scores[i] = sc;
					gstart = pos;
				}
			}
		}
	}
	WinSetMarkPosition(winobj, curpos);

	if (ctx->bins_null)
		PG_RETURN_NULL();
	PG_RETURN_INT32(ctx->scores[curpos]);
}

/*
 * Score sorted values: the distinct values and the score of each.  v is
 * sorted ascending, n > 0; *distinct and *scores are allocated in cxt.
 */
static int64
score_sorted(const double *v, int64 n, int32 bins, MemoryContext cxt,
			 double **distinct, int16 **scores)
{
	ScoreWalk	w;
	int64		nd = 0,
				gstart = 0;

	*distinct = MemoryContextAllocHuge(cxt, Max(n, 1) * sizeof(double));
	*scores = MemoryContextAllocHuge(cxt, Max(n, 1) * sizeof(int16));
	score_walk_init(&w, n, bins);
	for (int64 i = 1; i <= n; i++)
	{
		if (i == n || v[i] != v[i - 1])
		{
			(*distinct)[nd] = v[gstart];
			(*scores)[nd] = (int16) score_next(&w, i - gstart);
			nd++;
			gstart = i;
		}
	}
	return nd;
}

/* ------------------------------------------------------------------------
 * Sorting
 * ------------------------------------------------------------------------
 */

/* a value and the partition row it came from */
typedef struct ValuePos
{
	double		v;
	int64		pos;
} ValuePos;

#if PG_VERSION_NUM >= 140000
#define ST_SORT sort_doubles
#define ST_ELEMENT_TYPE double
#define ST_COMPARE(a, b) ((*(a) > *(b)) - (*(a) < *(b)))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"

#define ST_SORT sort_value_pos
#define ST_ELEMENT_TYPE ValuePos
#define ST_COMPARE(a, b) (((a)->v > (b)->v) - ((a)->v < (b)->v))
#define ST_SCOPE static
#define ST_CHECK_FOR_INTERRUPTS
#define ST_DEFINE
#include "lib/sort_template.h"
#else
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

static void
sort_doubles(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
}

static void
sort_value_pos(ValuePos *v, size_t n)
{
	qsort(v, n, sizeof(ValuePos), cmp_double);
}
#endif

/* ------------------------------------------------------------------------
 * rfm_scores(recency, frequency, monetary, bins) OVER ()
 * ------------------------------------------------------------------------
 */

typedef struct ScoresContext
{
	bool		ready;
	int16	   *scores[3];		/* per row; 0 where the value is NULL */
} ScoresContext;

static const char *const metric_names[3] = {"recency", "frequency", "monetary"};

/*
 * rfm_scores(recency, frequency, monetary, bins) window function: the three
 * scores of a row from one read of the partition; the executor sorts nothing.
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
		ValuePos   *vals[3];
		int64		n[3] = {0, 0, 0};
		int32		bins;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_scores: bins must not be null")));
		bins = DatumGetInt32(b);
		rfm_check_bins(bins, "rfm_scores");

		for (k = 0; k < 3; k++)
			vals[k] = palloc_extended(Max(nrows, 1) * sizeof(ValuePos), MCXT_ALLOC_HUGE);
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
					/* recency: smaller is better, so rank its negation */
					vals[k][n[k]].v = (k == 0) ? -d : d;
					vals[k][n[k]].pos = pos;
					n[k]++;
				}
			}
		}
		for (k = 0; k < 3; k++)
		{
			ScoreWalk	w;
			int64		gstart = 0;
			int16	   *sc = MemoryContextAllocHuge(partcxt, Max(nrows, 1) * sizeof(int16));

			memset(sc, 0, Max(nrows, 1) * sizeof(int16));
			sort_value_pos(vals[k], n[k]);
			score_walk_init(&w, n[k], bins);
			for (int64 i = 1; i <= n[k]; i++)
			{
				if (i == n[k] || vals[k][i].v != vals[k][i - 1].v)
				{
					int16		s = (int16) score_next(&w, i - gstart);

					for (int64 j = gstart; j < i; j++)
						sc[vals[k][j].pos] = s;
					gstart = i;
				}
			}
			ctx->scores[k] = sc;
			pfree(vals[k]);
		}
		ctx->ready = true;
	}
	WinSetMarkPosition(winobj, curpos);

	for (k = 0; k < 3; k++)
	{
		int16		s = ctx->scores[k][curpos];

		nulls[k] = (s == 0);
		values[k] = Int32GetDatum(s);
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
		if (isinf(d))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rfm_breaks: value must be finite"),
					 errdetail("Infinity marks a score no value reaches in the cut points."),
					 errhint("Filter out infinite values.")));
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
 * Cut points of the rank rule: breaks[k-1] is the first (smallest) value with
 * score k + 1, or +Infinity if no value scores k + 1.
 */
static void
rank_breaks(const double *v, int64 n, int32 bins, Datum *out)
{
	double	   *distinct;
	int16	   *scores;
	int64		nd = score_sorted(v, n, bins, CurrentMemoryContext, &distinct, &scores);
	int32		k = 1;

	for (int64 i = 0; i < nd; i++)
	{
		while (k < scores[i])
			out[(k++) - 1] = Float8GetDatum(distinct[i]);
	}
	while (k < bins)
		out[(k++) - 1] = Float8GetDatum(get_float8_infinity());
}

/* For other files: sort_doubles, and rank_breaks into plain doubles. */
void
rfm_sort_doubles(double *v, size_t n)
{
	/* many values (a model's customers): by their bits */
	if (n >= 256)
		rfm_radix_sort_doubles(v, n);
	else
		sort_doubles(v, n);
}

void
rfm_rank_cuts(const double *sorted, int64 n, int32 bins, double *cuts)
{
	Datum	   *out = palloc(sizeof(Datum) * Max(bins - 1, 1));

	rank_breaks(sorted, n, bins, out);
	for (int32 k = 0; k < bins - 1; k++)
		cuts[k] = DatumGetFloat8(out[k]);
	pfree(out);
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
	rfm_sort_doubles(st->v, st->n);
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

/* Validated cut points of rfm_score(value, breaks), kept between calls. */
typedef struct BreaksCache
{
	Size		rawlen;			/* the array's bytes, to recognise it again */
	char	   *raw;
	int			n;
	double	   *cuts;
} BreaksCache;

/* Parse and check a breaks array, and remember it in fn_extra. */
static BreaksCache *
breaks_cache_fill(FunctionCallInfo fcinfo, struct varlena *raw)
{
	ArrayType  *arr = DatumGetArrayTypeP(PointerGetDatum(raw));
	MemoryContext cxt = fcinfo->flinfo->fn_mcxt;
	BreaksCache *cache = (BreaksCache *) fcinfo->flinfo->fn_extra;
	Datum	   *elems;
	bool	   *elnulls;
	int			nelems;
	double		prev = -get_float8_infinity();

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
		rfm_check_not_nan(c, "rfm_score", "a break");
		if (c < prev)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rfm_score: breaks must be in ascending order"),
					 errdetail("Element %d (%g) is below element %d (%g).",
							   i + 1, c, i, prev),
					 errhint("Use the array rfm_breaks returns.")));
		prev = c;
	}

	/* only valid breaks are remembered */
	if (cache == NULL)
		cache = MemoryContextAllocZero(cxt, sizeof(BreaksCache));
	else
	{
		pfree(cache->raw);
		pfree(cache->cuts);
	}
	cache->rawlen = VARSIZE_ANY_EXHDR(raw);
	cache->raw = MemoryContextAlloc(cxt, Max(cache->rawlen, 1));
	memcpy(cache->raw, VARDATA_ANY(raw), cache->rawlen);
	cache->n = nelems;
	cache->cuts = MemoryContextAlloc(cxt, sizeof(double) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		cache->cuts[i] = DatumGetFloat8(elems[i]);
	fcinfo->flinfo->fn_extra = cache;
	return cache;
}

/*
 * rfm_score(value, breaks, reverse) scalar: 1 + the number of cut points at
 * or below value; reverse gives bins + 1 minus that (R's recency score).
 */
Datum
rfm_score_breaks(PG_FUNCTION_ARGS)
{
	double		value = PG_GETARG_FLOAT8(0);
	struct varlena *raw = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(1));
	bool		reverse = PG_GETARG_BOOL(2);
	BreaksCache *cache = (BreaksCache *) fcinfo->flinfo->fn_extra;
	Size		rawlen = VARSIZE_ANY_EXHDR(raw);
	int32		score = 1;

	rfm_check_not_nan(value, "rfm_score", "value");

	/* the same breaks as the last call (the usual case): no parsing */
	if (cache == NULL || cache->rawlen != rawlen ||
		memcmp(cache->raw, VARDATA_ANY(raw), rawlen) != 0)
		cache = breaks_cache_fill(fcinfo, raw);

	for (int i = 0; i < cache->n; i++)
		if (value >= cache->cuts[i])
			score++;
	if (reverse)
		score = cache->n + 2 - score;
	PG_RETURN_INT32(score);
}
