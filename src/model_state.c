/*
 * model_state.c
 *		rfm_state_at: a customer's stored state (of an incremental model,
 *		rfm_model_states) as of a later time.
 *
 * A state accumulated at as_of holds every row of its customer on or before
 * as_of.  When the customer had no row after it (the model keeps that fact
 * next to the state), the state is also the customer's state at any later
 * as_of: only as_of and its local day change.  The rows, sums and days stay
 * as they were, so the summary, lifecycle stage and repeat value read from
 * it are the ones a new grouping of the same rows would give.
 */
#include "rfm.h"

#include "fmgr.h"
#include "utils/date.h"
#include "utils/timestamp.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_state_at);

/*
 * A copy of st (in the current memory context) as of as_of, a timestamptz
 * in microseconds (a date state: its day in tzc's zone), which must not be
 * before the state's own as_of.
 */
RfmState *
rfm_state_redate(const RfmState *st, int64 as_of, TzCache *tzc)
{
	RfmState   *n;
	int32		day = rfm_local_day(tzc, as_of);

	if (st->kind == RFM_KIND_DATE)
		as_of = rfm_as_of_value(RFM_KIND_DATE, DateADTGetDatum((DateADT) day));
	else if (st->zone != rfm_tzcache_zone(tzc))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_state_at: the state counts days in another time zone")));
	if (as_of < st->as_of)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_state_at: as_of is before the state's own as_of"),
				 errdetail("A state leaves out the rows after its as_of; it cannot be moved back."),
				 errhint("Accumulate the state again from the orders.")));
	n = (RfmState *) palloc(VARSIZE(st));
	memcpy(n, st, VARSIZE(st));
	n->as_of = as_of;
	n->as_of_day = day;
	return n;
}

/*
 * rfm_state_at(state, as_of timestamptz, time_zone text): the state as of a
 * time not before its own as_of (a date state: the day of as_of in
 * time_zone; a timestamptz state must be of days in time_zone).
 */
Datum
rfm_state_at(PG_FUNCTION_ARGS)
{
	RfmState   *st;
	TzCache    *tzc;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_state_at: as_of must not be null")));
	st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	tzc = rfm_tzcache_get(fcinfo, 2);
	PG_RETURN_POINTER(rfm_state_redate(st, rfm_as_of_value(RFM_KIND_TIMESTAMPTZ, PG_GETARG_DATUM(1)), tzc));
}
