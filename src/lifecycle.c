/*
 * lifecycle.c
 *		Lifecycle stages: the rfm_lifecycle aggregate (the rfm_summary state
 *		with its own final function) and rfm_lifecycle_stage, which lets a
 *		fitted model's P(alive) worsen a stage.
 *
 * rfm_lifecycle shares rfm_summary's transition and combine functions and
 * its state type (src/summary.h), so it runs in parallel and ships between
 * nodes like rfm_summary.  The final function reads the sorted distinct
 * purchase days of the state and applies these rules, in this order (days
 * are calendar days: for timestamptz input, of the time_zone argument or,
 * without one, of the session's TimeZone):
 *
 *	no order on or before as_of ........................... acquisition
 *	  (a customer row LEFT JOINed to no orders; a group with only returns
 *	  gives NULL, since the orders returned are not in the data)
 *	recency > churn_days .................................. churned
 *	age <= new_days ....................................... growth
 *	recency > churn_ratio * usual interval ................ churned
 *	recency > decline_ratio * usual interval .............. decline
 *	recent rate < rate_ratio * earlier rate ............... decline
 *	fewer than min_purchase_days purchase days ............ growth
 *	otherwise ............................................. maturity
 *
 * recency: days from the last purchase day to the day of as_of; age: days
 * from the first purchase day to the day of as_of; usual interval: the median
 * of the gaps between consecutive purchase days, or single_purchase_interval
 * for a customer with one purchase day.  Recent rate: purchase days in the
 * last recent_days days (the day of as_of and the recent_days - 1 days before
 * it) per day; earlier rate: purchase days from the first purchase day up to
 * the day before that window, per calendar day of that span; this rule only
 * applies when the earlier span has at least recent_days days.
 *
 * The thresholds live in the table rfm_lifecycle_settings (one row at most;
 * no row means the defaults below, which equal the column defaults).  It is
 * read once per call site and query and kept in fn_extra.
 */
#include "rfm.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_lifecycle_final);
PG_FUNCTION_INFO_V1(rfm_lifecycle_stage);

typedef struct LifecycleSettings
{
	int32		new_days;
	int32		min_purchase_days;
	int32		churn_days;
	double		churn_ratio;
	double		decline_ratio;
	int32		single_purchase_interval;
	int32		recent_days;
	double		rate_ratio;
	double		p_alive_churned;
	double		p_alive_decline;
} LifecycleSettings;

/* the defaults: keep in step with the column defaults in rfm--1.0.sql */
static const LifecycleSettings lifecycle_defaults = {
	.new_days = 90,
	.min_purchase_days = 2,
	.churn_days = 365,
	.churn_ratio = 4.0,
	.decline_ratio = 2.0,
	.single_purchase_interval = 90,
	.recent_days = 180,
	.rate_ratio = 0.5,
	.p_alive_churned = 0.3,
	.p_alive_decline = 0.6,
};

#define LIFECYCLE_NSETTINGS 10

/* Per call site: the settings of this query and a scratch array of gaps. */
typedef struct LifecycleCache
{
	LifecycleSettings s;
	int32	   *gaps;
	int32		gapcap;
} LifecycleCache;

static const char *const stage_codes[] = {
	"acquisition", "growth", "maturity", "decline", "churned"
};

enum
{
	STAGE_ACQUISITION,
	STAGE_GROWTH,
	STAGE_MATURITY,
	STAGE_DECLINE,
	STAGE_CHURNED
};

/*
 * Read rfm_lifecycle_settings (in the schema of the calling function) into
 * *s, or the defaults when it has no row.
 */
static void
read_settings(Oid fn_oid, LifecycleSettings *s)
{
	char	   *nsp = get_namespace_name(get_func_namespace(fn_oid));
	StringInfoData q;
	int			rc;

	*s = lifecycle_defaults;
	if (nsp == NULL)
		elog(ERROR, "rfm_lifecycle: schema of function %u not found", fn_oid);

	initStringInfo(&q);
	appendStringInfo(&q,
					 "SELECT new_days::int4, min_purchase_days::int4, churn_days::int4, "
					 "churn_ratio::float8, decline_ratio::float8, "
					 "single_purchase_interval::int4, recent_days::int4, "
					 "rate_ratio::float8, p_alive_churned::float8, p_alive_decline::float8 "
					 "FROM %s.rfm_lifecycle_settings",
					 quote_identifier(nsp));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm_lifecycle: SPI_connect failed");
	rc = SPI_execute(q.data, true, 2);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rfm_lifecycle: reading the settings failed: %s",
			 SPI_result_code_string(rc));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("rfm_lifecycle_settings must hold at most one row"),
				 errhint("Delete the extra rows; no row means the defaults.")));
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		Datum		v[LIFECYCLE_NSETTINGS];

		for (int i = 0; i < LIFECYCLE_NSETTINGS; i++)
		{
			bool		isnull;

			v[i] = SPI_getbinval(tup, desc, i + 1, &isnull);
			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("rfm_lifecycle_settings.%s must not be null",
								SPI_fname(desc, i + 1)),
						 errhint("Set it to a value or delete the row to use the defaults.")));
		}
		s->new_days = DatumGetInt32(v[0]);
		s->min_purchase_days = DatumGetInt32(v[1]);
		s->churn_days = DatumGetInt32(v[2]);
		s->churn_ratio = DatumGetFloat8(v[3]);
		s->decline_ratio = DatumGetFloat8(v[4]);
		s->single_purchase_interval = DatumGetInt32(v[5]);
		s->recent_days = DatumGetInt32(v[6]);
		s->rate_ratio = DatumGetFloat8(v[7]);
		s->p_alive_churned = DatumGetFloat8(v[8]);
		s->p_alive_decline = DatumGetFloat8(v[9]);
	}
	SPI_finish();
	pfree(q.data);
}

/* The cache of this call site, reading the settings on the first call. */
static LifecycleCache *
get_cache(FunctionCallInfo fcinfo)
{
	LifecycleCache *c = (LifecycleCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		LifecycleSettings s;

		read_settings(fcinfo->flinfo->fn_oid, &s);
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(LifecycleCache));
		c->s = s;
		fcinfo->flinfo->fn_extra = c;
	}
	return c;
}

/* Median gap in days between consecutive purchase days (n >= 2). */
static double
median_gap(LifecycleCache *c, const int32 *days, int32 n, MemoryContext mcxt)
{
	int32		m = n - 1;

	if (m > c->gapcap)
	{
		int32		cap = Max(m, 2 * c->gapcap);

		if (c->gaps)
			pfree(c->gaps);
		c->gaps = MemoryContextAlloc(mcxt, (Size) cap * sizeof(int32));
		c->gapcap = cap;
	}
	for (int32 i = 0; i < m; i++)
		c->gaps[i] = days[i + 1] - days[i];
	qsort(c->gaps, m, sizeof(int32), rfm_cmp_int32);
	if (m % 2 == 1)
		return (double) c->gaps[m / 2];
	return ((double) c->gaps[m / 2 - 1] + (double) c->gaps[m / 2]) / 2.0;
}

/* The stage of a state with at least one order. */
static int
stage_of(const RfmState *st, LifecycleCache *c, MemoryContext mcxt)
{
	const LifecycleSettings *s = &c->s;
	int32		n;
	const int32 *days = rfm_sorted_days(st, &n);
	int64		recency = (int64) st->as_of_day - days[n - 1];
	int64		age = (int64) st->as_of_day - days[0];
	double		usual;
	int64		earlier_end;
	int64		earlier_len;

	if (recency > s->churn_days)
		return STAGE_CHURNED;
	if (age <= s->new_days)
		return STAGE_GROWTH;

	usual = (n >= 2) ? median_gap(c, days, n, mcxt) : (double) s->single_purchase_interval;
	if ((double) recency > s->churn_ratio * usual)
		return STAGE_CHURNED;
	if ((double) recency > s->decline_ratio * usual)
		return STAGE_DECLINE;

	/* purchase days after earlier_end are in the recent window */
	earlier_end = (int64) st->as_of_day - s->recent_days;
	earlier_len = earlier_end - days[0] + 1;
	if (earlier_len >= s->recent_days)
	{
		int32		recent = 0;

		while (recent < n && days[n - 1 - recent] > earlier_end)
			recent++;
		if ((double) recent * (double) earlier_len <
			s->rate_ratio * (double) (n - recent) * (double) s->recent_days)
			return STAGE_DECLINE;
	}

	if (n < s->min_purchase_days)
		return STAGE_GROWTH;
	return STAGE_MATURITY;
}

/*
 * rfm_lifecycle final function: the lifecycle stage code of one customer, or
 * NULL for no rows or a group with returns only.  Does not change the state.
 */
Datum
rfm_lifecycle_final(PG_FUNCTION_ARGS)
{
	RfmState   *st;
	LifecycleCache *c;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	if (st->orders == 0)
	{
		if (st->returns > 0)
			PG_RETURN_NULL();
		PG_RETURN_TEXT_P(cstring_to_text(stage_codes[STAGE_ACQUISITION]));
	}
	c = get_cache(fcinfo);
	PG_RETURN_TEXT_P(cstring_to_text(stage_codes[stage_of(st, c, fcinfo->flinfo->fn_mcxt)]));
}

/*
 * For rfm_summarize (src/summarize.c): the settings of the extension that
 * holds function fn_oid, in a cache allocated in mcxt ...
 */
void *
rfm_lifecycle_cache_new(Oid fn_oid, MemoryContext mcxt)
{
	LifecycleSettings s;
	LifecycleCache *c;

	read_settings(fn_oid, &s);
	c = MemoryContextAllocZero(mcxt, sizeof(LifecycleCache));
	c->s = s;
	return c;
}

/*
 * ... and the stage code of a state, as rfm_lifecycle_final gives it (NULL
 * for a group with returns only).
 */
const char *
rfm_lifecycle_code(const RfmState *st, void *cache, MemoryContext mcxt)
{
	if (st->orders == 0)
		return st->returns > 0 ? NULL : stage_codes[STAGE_ACQUISITION];
	return stage_codes[stage_of(st, (LifecycleCache *) cache, mcxt)];
}

/*
 * rfm_lifecycle_stage(stage, p_alive): the stage worsened by a model's
 * P(alive): below p_alive_churned churned, below p_alive_decline at least
 * decline.  NULL p_alive leaves the stage as it is.
 */
Datum
rfm_lifecycle_stage(PG_FUNCTION_ARGS)
{
	const char *code;
	int			stage = -1;
	double		p;
	LifecycleCache *c;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	for (int i = 0; i < (int) lengthof(stage_codes); i++)
		if (strcmp(code, stage_codes[i]) == 0)
			stage = i;
	if (stage < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_lifecycle_stage: unknown stage \"%s\"", code),
				 errhint("Pass a value of rfm_lifecycle: acquisition, growth, maturity, decline or churned.")));
	if (PG_ARGISNULL(1) || stage == STAGE_ACQUISITION)
		PG_RETURN_TEXT_P(cstring_to_text(stage_codes[stage]));

	p = PG_GETARG_FLOAT8(1);
	if (!(p >= 0.0 && p <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_lifecycle_stage: p_alive must be between 0 and 1"),
				 errdetail("The value given was %g.", p),
				 errhint("Pass rfm_p_alive(model, x, t_x, \"T\") or NULL.")));

	c = get_cache(fcinfo);
	if (p < c->s.p_alive_churned)
		stage = STAGE_CHURNED;
	else if (p < c->s.p_alive_decline && stage < STAGE_DECLINE)
		stage = STAGE_DECLINE;
	PG_RETURN_TEXT_P(cstring_to_text(stage_codes[stage]));
}
