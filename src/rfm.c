/*
 * rfm.c
 *		Module magic and load-time set-up of the rfm extension: its GUCs, and
 *		the "rfm." prefix reserved so that a misspelt setting is reported;
 *		and the start of its materializing set-returning functions.
 */
#include "rfm.h"

#include "fmgr.h"
#include "access/xact.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/* Called once when the library is loaded into a backend. */
void
_PG_init(void)
{
	rfm_btyd_define_gucs();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("rfm");
#else
	EmitWarningsOnPlaceholders("rfm");
#endif
}

/*
 * rfm_transaction_block(): true inside an explicit transaction block
 * (BEGIN ... COMMIT).  rfm_refresh commits its refresh log between steps,
 * which a transaction block forbids; it asks first, to say so clearly.
 */
PG_FUNCTION_INFO_V1(rfm_transaction_block);
Datum
rfm_transaction_block(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(IsTransactionBlock());
}

/*
 * The set-returning functions that fill a tuplestore (rfm_summarize and
 * the model functions): the call must accept a materialized set ...
 */
void
rfm_srf_check(FunctionCallInfo fcinfo, const char *fname)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) || (rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s: set-valued function called in context that cannot accept a set", fname),
				 errhint("Call it in FROM.")));
}

/*
 * ... and gets its tuplestore, and *desc copied, in the query's memory;
 * the caller hands both to rsinfo when the rows are in (SFRM_Materialize).
 */
Tuplestorestate *
rfm_srf_store(FunctionCallInfo fcinfo, struct TupleDescData **desc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	Tuplestorestate *ts;

	*desc = CreateTupleDescCopy(*desc);
	ts = tuplestore_begin_heap((rsinfo->allowedModes & SFRM_Materialize_Random) != 0, false, work_mem);
	MemoryContextSwitchTo(old);
	return ts;
}
