/*
 * summary_final.c
 *		The final function of rfm_summary: the rfm_summary composite built
 *		from an rfm_state.
 */
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_summary_final);
PG_FUNCTION_INFO_V1(rfm_repeat_value_final);

/* ------------------------------------------------------------------------
 * Final function
 * ------------------------------------------------------------------------
 */


static Datum
time_to_timestamptz(const RfmState *st, int64 t)
{
	if (st->kind == RFM_KIND_DATE)
	{
		int			overflow = 0;
		TimestampTz ts = date2timestamptz_opt_overflow((DateADT) (t / USECS_PER_DAY), &overflow);

		if (overflow != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("rfm_summary: date out of range for timestamptz")));
		return TimestampTzGetDatum(ts);
	}
	return TimestampTzGetDatum((TimestampTz) t);
}

/* The total amount of a state as a numeric datum. */
static Datum
state_monetary(const RfmState *st)
{
	Datum		m;

	if (st->amount_kind == RFM_AMOUNT_FLOAT8)
		return DirectFunctionCall1(float8_numeric,
								   Float8GetDatum(st->u.f.fsum + st->u.f.fcomp));
	m = wide_to_numeric(st->u.sum, st->scale);
	if (st->overflow_len > 0)
		m = DirectFunctionCall2(numeric_add, m,
								PointerGetDatum(RFM_OVERFLOW(st)));
	return m;
}

/* a - b for two times of a state, without int64 wrap-around */
static inline double
time_diff_days(int64 a, int64 b)
{
	int64		d;

	if (pg_sub_s64_overflow(a, b, &d))
		return ((double) a - (double) b) / USECS_PER_DAY;
	return (double) d / USECS_PER_DAY;
}

/*
 * The attribute values of rfm_summary for a state with at least one order
 * or return (natts of them).
 */
void
rfm_summary_values(const RfmState *st, Datum *values, bool *nulls, int natts)
{
	Datum		monetary;
	const int32 *days;
	int32		n;

	memset(nulls, 0, natts * sizeof(bool));
	monetary = state_monetary(st);
	days = rfm_sorted_days(st, &n);

	if (st->orders > 0)
	{
		values[0] = Float8GetDatum(time_diff_days(st->as_of, st->last_time));
		values[3] = DirectFunctionCall2(numeric_div, monetary,
										DirectFunctionCall1(int8_numeric, Int64GetDatum(st->orders)));
		values[4] = time_to_timestamptz(st, st->first_time);
		values[5] = time_to_timestamptz(st, st->last_time);
		values[6] = Float8GetDatum(time_diff_days(st->as_of, st->first_time));
		values[8] = Int32GetDatum(n - 1);
		values[9] = Float8GetDatum((double) days[n - 1] - (double) days[0]);
		values[10] = Float8GetDatum((double) st->as_of_day - (double) days[0]);
	}
	else
	{
		nulls[0] = nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
		nulls[8] = nulls[9] = nulls[10] = true;
	}
	values[1] = Int64GetDatum(st->orders);
	values[2] = monetary;
	values[7] = Int32GetDatum(n);
	values[11] = Int64GetDatum(st->returns);
	values[12] = time_to_timestamptz(st, st->as_of);

	if (days != RFM_DAYS(st))
		pfree((void *) days);
}

/*
 * rfm_summary final function: the rfm_summary composite for one customer,
 * or NULL when the group had no order or return on or before as_of.
 */
Datum
rfm_summary_final(PG_FUNCTION_ARGS)
{
	RfmState   *st;
	TupleDesc	tupdesc;
	Datum		values[RFM_SUMMARY_NATTS];
	bool		nulls[RFM_SUMMARY_NATTS];

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	if (st->orders == 0 && st->returns == 0)
		PG_RETURN_NULL();

	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_summary: return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		if (tupdesc->natts != RFM_SUMMARY_NATTS)
			elog(ERROR, "rfm_summary: return type has %d attributes, expected %d",
				 tupdesc->natts, RFM_SUMMARY_NATTS);
		fcinfo->flinfo->fn_extra = tupdesc;
	}

	rfm_summary_values(st, values, nulls, tupdesc->natts);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The Gamma-Gamma input of a state: the mean net value of the repeat purchase
 * days, that is the net total (returns included) less the orders of the
 * first purchase day, over the repeat purchase days.  False (no value) when
 * there is no repeat purchase day, when that net is zero or less (the spend
 * model only takes positive values) and for a state read from a version 1
 * text form, which lacks the first day's orders.
 */
bool
rfm_state_repeat_value(const RfmState *st, double *value)
{
	const int32 *days;
	int32		n;
	double		total;
	double		v;

	if (st->orders == 0 || !st->first_known)
		return false;
	days = rfm_sorted_days(st, &n);
	if (days != RFM_DAYS(st))
		pfree((void *) days);
	if (n < 2)
		return false;
	if (st->amount_kind == RFM_AMOUNT_FLOAT8)
		total = st->u.f.fsum + st->u.f.fcomp;
	else if (st->overflow_len == 0)
		total = (double) st->u.sum / (double) pow10_table()[st->scale];
	else
		total = DatumGetFloat8(DirectFunctionCall1(numeric_float8, state_monetary(st)));
	v = (total - st->first_day_amount) / (double) (n - 1);
	if (!isfinite(v) || v <= 0.0)
		return false;
	*value = v;
	return true;
}

/*
 * rfm_repeat_value final function: the mean net value of the repeat purchase
 * days (see rfm_state_repeat_value), or NULL.  Does not change the state.
 */
Datum
rfm_repeat_value_final(PG_FUNCTION_ARGS)
{
	double		v;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (!rfm_state_repeat_value((RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0)), &v))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(v);
}
