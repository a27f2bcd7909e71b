/*
 * summary.c
 *		The rfm_summary aggregate: one pass over a customer's orders gives
 *		recency, frequency, monetary value and the BTYD model inputs.
 *
 * The transition state is a type of our own, rfm_state (a varlena updated in
 * place in the aggregate memory context, the way float8_accum updates its
 * array), so that PostgreSQL's parallel aggregation and engines that push
 * partial aggregates down to other nodes can ship it: it has text and binary
 * input/output functions and a combine function.
 *
 * Money is summed by src/summary_money.c; the final function is in
 * src/summary_final.c and the input/output functions in src/summary_io.c.
 *
 * Distinct purchase days (for the BTYD fields) are kept as an array of day
 * numbers, sorted lazily.  For timestamptz input the day is the calendar day
 * in the time zone argument or the session's TimeZone (src/summary_tz.c).
 */
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_numeric);
PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_float8);
PG_FUNCTION_INFO_V1(rfm_summary_trans_date_numeric);
PG_FUNCTION_INFO_V1(rfm_summary_trans_date_float8);
PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_numeric_zone);
PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_float8_zone);
PG_FUNCTION_INFO_V1(rfm_summary_combine);

/* qsort comparator of int32 values (also used by src/lifecycle.c) */
int
rfm_cmp_int32(const void *a, const void *b)
{
	int32		x = *(const int32 *) a;
	int32		y = *(const int32 *) b;

	return (x > y) - (x < y);
}

/*
 * Sort days[0 .. n) and remove repeats; returns the new count.  The first
 * run that is already sorted is not sorted again when the rest is short.
 */
int32
rfm_days_normalize(int32 *days, int32 n)
{
	int32		k;

	if (n < 2)
		return n;
	if (n <= 32)
	{
		/* insertion sort: the usual customer has a few days */
		for (int32 i = 1; i < n; i++)
		{
			int32		v = days[i];
			int32		j = i;

			while (j > 0 && days[j - 1] > v)
			{
				days[j] = days[j - 1];
				j--;
			}
			days[j] = v;
		}
	}
	else
		pg_qsort(days, n, sizeof(int32), rfm_cmp_int32);
	k = 1;
	for (int32 i = 1; i < n; i++)
	{
		if (days[i] != days[k - 1])
			days[k++] = days[i];
	}
	return k;
}

/*
 * The purchase days of a state, sorted and distinct, in *n.  The state is
 * not changed: when days were appended out of order, a sorted copy is
 * returned (in the current memory context).
 */
const int32 *
rfm_sorted_days(const RfmState *st, int32 *n)
{
	int32	   *copy;

	if (st->nsorted == st->ndays)
	{
		*n = st->ndays;
		return RFM_DAYS(st);
	}
	copy = palloc(st->ndays * sizeof(int32));
	memcpy(copy, RFM_DAYS(st), st->ndays * sizeof(int32));
	*n = rfm_days_normalize(copy, st->ndays);
	return copy;
}

/* Is day among the sorted days[0 .. n)? */
static inline bool
day_in_sorted(const int32 *days, int32 n, int32 day)
{
	int32		lo = 0,
				hi = n;

	while (lo < hi)
	{
		int32		mid = lo + (hi - lo) / 2;

		if (days[mid] < day)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && days[lo] == day;
}

/*
 * Record a purchase day; may return a grown copy of the state.
 *
 * Days in increasing order (the usual case) are appended and stay sorted.
 * A day out of order that the sorted part does not hold is appended too,
 * leaving the tail unsorted; when the array is full the whole of it is sorted
 * and deduplicated, and grown if that freed less than half of it.  So each
 * day costs O(log n) amortized whatever the input order (inserting each
 * into place would cost O(n)).
 */
static inline RfmState *
state_add_day(RfmState *st, int32 day)
{
	int32	   *days = RFM_DAYS(st);

	if (st->ndays > 0)
	{
		int32		last = days[st->ndays - 1];

		if (day == last)
			return st;
		if (day < last &&
			st->nsorted > 0 && day <= days[st->nsorted - 1] &&
			day_in_sorted(days, st->nsorted, day))
			return st;
	}

	if (st->ndays >= st->maxdays)
	{
		if (st->nsorted < st->ndays)
		{
			st->ndays = rfm_days_normalize(days, st->ndays);
			st->nsorted = st->ndays;
			if (day_in_sorted(days, st->ndays, day))
				return st;
		}
		if (st->ndays >= st->maxdays / 2)
		{
			st = state_grow(st, Max(st->maxdays * 2, RFM_INITIAL_DAYS), st->overflow_cap);
			days = RFM_DAYS(st);
		}
	}
	days[st->ndays++] = day;
	if (st->nsorted == st->ndays - 1 &&
		(st->ndays == 1 || days[st->ndays - 2] < day))
		st->nsorted = st->ndays;
	return st;
}

/* ------------------------------------------------------------------------
 * Transition functions
 * ------------------------------------------------------------------------
 */

static inline void
check_as_of(RfmState *st, int64 as_of)
{
	if (unlikely(st->as_of != as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: as_of must be the same for every row of a group"),
				 errhint("Pass a constant such as now() or a literal timestamp.")));
}

static void
not_finite_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("rfm_summary: %s must be finite", what),
			 errdetail("Infinite times have no recency or age."),
			 errhint("Exclude rows with infinite times or use a finite as_of.")));
}

/*
 * as_of of a transition call as microseconds (dates as days times
 * USECS_PER_DAY), checked.
 */
int64
rfm_as_of_value(int kind, Datum d)
{
	if (kind == RFM_KIND_TIMESTAMPTZ)
	{
		TimestampTz as_of = DatumGetTimestampTz(d);

		if (TIMESTAMP_NOT_FINITE(as_of))
			not_finite_error("as_of");
		return as_of;
	}
	else
	{
		DateADT		date = DatumGetDateADT(d);

		if (DATE_NOT_FINITE(date))
			not_finite_error("as_of");
		if (date >= (DateADT) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("rfm_summary: as_of date out of range"),
					 errdetail("Dates after 294276 AD cannot be summarized.")));
		return (int64) date * USECS_PER_DAY;
	}
}

/*
 * A new, empty state (in the current memory context) of the given kinds at
 * as_of; tzc is the zone cache for timestamptz input, NULL for dates.
 * maxdays is the room for purchase days to start with.
 */
RfmState *
rfm_state_new(int kind, int amount_kind, int64 as_of, TzCache *tzc, int32 maxdays)
{
	RfmState   *st = state_alloc(CurrentMemoryContext, maxdays, 0);

	st->kind = kind;
	st->amount_kind = amount_kind;
	st->as_of = as_of;
	st->first_known = true;
	st->zone = (tzc != NULL) ? rfm_tzcache_zone(tzc) : 0;
	st->as_of_day = (kind == RFM_KIND_TIMESTAMPTZ) ?
		rfm_local_day(tzc, as_of) : (int32) (as_of / USECS_PER_DAY);
	return st;
}

/*
 * Add one row (an order, or a return if the amount is negative) to a state;
 * may return a grown copy, allocated in the current memory context.  time
 * is a timestamptz or date datum per st->kind, amount a numeric (possibly
 * packed, never toasted) or float8 datum per st->amount_kind.  Rows after
 * as_of are ignored.
 */
RfmState *
rfm_state_add(RfmState *st, TzCache *tzc, Datum time, Datum amount)
{
	int64		t;
	int32		day;
	bool		is_return;
	double		famount = 0.0;

	if (st->kind == RFM_KIND_TIMESTAMPTZ)
	{
		t = DatumGetTimestampTz(time);
		if (TIMESTAMP_IS_NOBEGIN(t))
			not_finite_error("order time");
	}
	else
	{
		DateADT		d = DatumGetDateADT(time);

		if (DATE_IS_NOBEGIN(d))
			not_finite_error("order time");
		/* a date beyond as_of's range is after as_of: treat it as infinity */
		t = (DATE_IS_NOEND(d) || d >= (DateADT) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)) ?
			DT_NOEND : (int64) d * USECS_PER_DAY;
	}

	/* rows after as_of do not exist yet at as_of */
	if (t > st->as_of)
		return st;

	if (st->amount_kind == RFM_AMOUNT_NUMERIC)
	{
		struct varlena *a = (struct varlena *) DatumGetPointer(amount);

		is_return = numeric_packed_is_negative(a);
		st = state_add_numeric(st, a);
	}
	else
	{
		famount = DatumGetFloat8(amount);
		is_return = famount < 0;
		state_add_float8(st, famount);
	}

	if (is_return)
	{
		st->returns++;
		return st;
	}

	day = (st->kind == RFM_KIND_TIMESTAMPTZ) ? rfm_local_day(tzc, t) : (int32) (t / USECS_PER_DAY);

	/* the orders of the first purchase day, for the mean repeat value */
	if (st->orders == 0 || day <= st->first_day)
	{
		if (st->amount_kind == RFM_AMOUNT_NUMERIC)
			famount = amount_to_float8(RFM_AMOUNT_NUMERIC, amount);
		if (st->orders == 0 || day < st->first_day)
		{
			st->first_day = day;
			st->first_day_amount = famount;
		}
		else
			st->first_day_amount += famount;
	}

	if (st->orders == 0)
		st->first_time = st->last_time = t;
	else if (t < st->first_time)
		st->first_time = t;
	else if (t > st->last_time)
		st->last_time = t;
	st->orders++;

	return state_add_day(st, day);
}

/*
 * The common transition step: the state, order time, amount, as_of and, when
 * zone_arg >= 0, the time zone argument.
 */
static Datum
summary_step(FunctionCallInfo fcinfo, int kind, int amount_kind, int zone_arg)
{
	MemoryContext aggcxt;
	RfmState   *st = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	int64		as_of;
	TzCache    *tzc = NULL;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_summary transition function called in non-aggregate context")));

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_summary: as_of must not be null"),
				 errhint("Pass the time the summary is taken at, e.g. now().")));

	if (kind == RFM_KIND_TIMESTAMPTZ)
		tzc = rfm_tzcache_get(fcinfo, zone_arg);
	as_of = rfm_as_of_value(kind, PG_GETARG_DATUM(3));

	if (st == NULL)
	{
		/*
		 * A new state is returned as a new pointer, which the aggregate
		 * machinery copies into its own context: allocate it in the
		 * short-lived current context so that only that copy remains.
		 */
		st = rfm_state_new(kind, amount_kind, as_of, tzc, RFM_INITIAL_DAYS);
	}
	else
	{
		check_as_of(st, as_of);
		if (unlikely(tzc != NULL && st->zone != rfm_tzcache_zone(tzc)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rfm_summary: time_zone must be the same for every row of a group"),
					 errhint("Pass a constant such as 'UTC'.")));
	}

	/* rows with an unknown time or amount are not orders: skip them */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	st = rfm_state_add(st, tzc, PG_GETARG_DATUM(1),
					   (amount_kind == RFM_AMOUNT_NUMERIC) ?
					   PointerGetDatum(PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(2))) :
					   PG_GETARG_DATUM(2));
	PG_RETURN_POINTER(st);
}

/*
 * rfm_summary(timestamptz, numeric, timestamptz) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_tz_numeric(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_NUMERIC, -1);
}

/*
 * rfm_summary(timestamptz, float8, timestamptz) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_tz_float8(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_FLOAT8, -1);
}

/*
 * rfm_summary(date, numeric, date) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_date_numeric(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_DATE, RFM_AMOUNT_NUMERIC, -1);
}

/*
 * rfm_summary(date, float8, date) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_date_float8(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_DATE, RFM_AMOUNT_FLOAT8, -1);
}

/*
 * rfm_summary(timestamptz, numeric, timestamptz, text) transition function:
 * calendar days in the time zone of the last argument.
 */
Datum
rfm_summary_trans_tz_numeric_zone(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_NUMERIC, 4);
}

/*
 * rfm_summary(timestamptz, float8, timestamptz, text) transition function:
 * calendar days in the time zone of the last argument.
 */
Datum
rfm_summary_trans_tz_float8_zone(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_FLOAT8, 4);
}

/* ------------------------------------------------------------------------
 * Combine
 * ------------------------------------------------------------------------
 */

/* Merge b's purchase days into a's. */
static RfmState *
state_merge_days(RfmState *a, const RfmState *b)
{
	int32	   *ad,
			   *merged;
	const int32 *bd;
	int32		an,
				bn;
	int			i = 0,
				j = 0,
				k = 0;
	int64		need;

	if (b->ndays == 0)
		return a;
	bd = rfm_sorted_days(b, &bn);
	if (a->nsorted < a->ndays)
	{
		a->ndays = rfm_days_normalize(RFM_DAYS(a), a->ndays);
		a->nsorted = a->ndays;
	}
	an = a->ndays;
	need = (int64) an + bn;
	if (need > a->maxdays)
		a = state_grow(a, (int32) Min(need, (int64) RFM_MAX_DAYS + 1), a->overflow_cap);
	ad = RFM_DAYS(a);
	merged = palloc(need * sizeof(int32));
	while (i < an && j < bn)
	{
		if (ad[i] < bd[j])
			merged[k++] = ad[i++];
		else if (ad[i] > bd[j])
			merged[k++] = bd[j++];
		else
		{
			merged[k++] = ad[i++];
			j++;
		}
	}
	while (i < an)
		merged[k++] = ad[i++];
	while (j < bn)
		merged[k++] = bd[j++];
	memcpy(ad, merged, k * sizeof(int32));
	a->ndays = a->nsorted = k;
	pfree(merged);
	if (bd != RFM_DAYS(b))
		pfree((void *) bd);
	return a;
}

/*
 * Adds the rows of state b to state a (of the same kinds, zone and as_of):
 * the states of two parts of one group's rows become the state of all of
 * them.  a may be enlarged: the result, in a's memory context.
 */
static RfmState *
state_combine(RfmState *a, const RfmState *b)
{
	if (a->kind != b->kind || a->amount_kind != b->amount_kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_summary: cannot combine states of different input types")));
	if (a->zone != b->zone)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: cannot combine states summarized in different time zones"),
				 errdetail("Partial states were computed with different time zones (or TimeZone settings)."),
				 errhint("Pass the time_zone argument so that every server uses the same zone.")));
	if (a->as_of != b->as_of || a->as_of_day != b->as_of_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: as_of must be the same for every row of a group"),
				 errhint("Pass a constant such as now() or a literal timestamp.")));

	if (b->orders > 0)
	{
		if (a->orders == 0)
		{
			a->first_time = b->first_time;
			a->last_time = b->last_time;
			a->first_day = b->first_day;
			a->first_day_amount = b->first_day_amount;
			a->first_known = b->first_known;
		}
		else
		{
			a->first_time = Min(a->first_time, b->first_time);
			a->last_time = Max(a->last_time, b->last_time);
			if (b->first_day < a->first_day)
			{
				a->first_day = b->first_day;
				a->first_day_amount = b->first_day_amount;
			}
			else if (b->first_day == a->first_day)
				a->first_day_amount += b->first_day_amount;
			a->first_known = a->first_known && b->first_known;
		}
	}
	a->orders += b->orders;
	a->returns += b->returns;

	if (a->amount_kind == RFM_AMOUNT_NUMERIC)
	{
		if (b->u.sum != 0)
			a = state_add_wide(a, b->u.sum, b->scale, (Datum) 0);
		else if (b->scale > a->scale)
			a = state_add_wide(a, 0, b->scale, (Datum) 0);
		if (b->overflow_len > 0)
			a = state_add_overflow(a, PointerGetDatum(RFM_OVERFLOW(b)));
	}
	else
	{
		double		bcomp = b->u.f.fcomp;

		state_add_float8(a, b->u.f.fsum);
		a->u.f.fcomp += bcomp;
	}

	a = state_merge_days(a, b);
	if (a->ndays > RFM_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rfm_summary: too many distinct purchase days in one group")));
	return a;
}

/*
 * rfm_summary combine function: merges two partial states of one group.
 * Used by parallel aggregation; handles NULL on either side.
 */
Datum
rfm_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	RfmState   *a;
	RfmState   *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_summary combine function called in non-aggregate context")));

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));

	if (PG_ARGISNULL(0))
	{
		/* a new pointer: the aggregate machinery copies it into its context */
		PG_RETURN_POINTER(b);
	}
	a = (RfmState *) PG_GETARG_POINTER(0);
	PG_RETURN_POINTER(state_combine(a, b));
}

/*
 * A copy of st (in the current memory context) as of a later time: as_of, a
 * timestamptz in microseconds, whose local day in the state's time zone is
 * day (zone: that zone's rfm_zone_id; a date state takes the day as its
 * as_of).  Valid for a state that left out no row after its own as_of (an
 * incremental model knows which): the rows, sums and days stay, so the
 * summary, stage and repeat value read from the copy are those a new
 * grouping of the same rows at the later time gives.
 */
RfmState *
rfm_state_redate(const RfmState *st, int64 as_of, int32 day, uint32 zone)
{
	RfmState   *n;

	if (st->kind == RFM_KIND_DATE)
		as_of = rfm_as_of_value(RFM_KIND_DATE, DateADTGetDatum((DateADT) day));
	else if (st->zone != zone)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: a stored state counts days in another time zone than the model")));
	if (as_of < st->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: as_of is before a stored state's own as_of"),
				 errdetail("A state leaves out the rows after its as_of; it cannot be moved back."),
				 errhint("Refresh the model with full_rebuild => true.")));
	n = (RfmState *) palloc(VARSIZE(st));
	memcpy(n, st, VARSIZE(st));
	n->as_of = as_of;
	n->as_of_day = day;
	return n;
}

/*
 * rfm_model_state_merge(stored rfm_state, added rfm_state) -> rfm_state
 *		The state of an incremental model's customer after new orders: the
 *		stored state (which left out no row after its own as_of) with the
 *		state of the orders written since (of a later or the same as_of)
 *		added, as of the added state's as_of -- when that is exactly the state
 *		a new grouping of all the customer's rows gives, whatever their
 *		order; else NULL, and the refresh reads the customer again.
 *
 * Exact: numeric (and integer) amounts, whose sums are; counts, first and
 * last times and the set of days.  Not exact: float amounts, whose sums
 * depend on the order of the rows, and the first purchase day's sum (a
 * float, for the repeat value) when new orders fall on or before the stored
 * first day -- so then NULL.
 */
PG_FUNCTION_INFO_V1(rfm_model_state_merge);
Datum
rfm_model_state_merge(PG_FUNCTION_ARGS)
{
	RfmState   *stored = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	RfmState   *added = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));
	RfmState   *a;

	if (stored->kind != added->kind || stored->amount_kind != added->amount_kind ||
		stored->zone != added->zone || added->as_of < stored->as_of)
		PG_RETURN_NULL();
	if (stored->amount_kind != RFM_AMOUNT_NUMERIC || !stored->first_known || !added->first_known)
		PG_RETURN_NULL();
	if (added->orders > 0 && (stored->orders == 0 || added->first_day <= stored->first_day))
		PG_RETURN_NULL();

	a = (RfmState *) palloc(VARSIZE(stored));
	memcpy(a, stored, VARSIZE(stored));
	a->as_of = added->as_of;
	a->as_of_day = added->as_of_day;
	PG_RETURN_POINTER(state_combine(a, added));
}
