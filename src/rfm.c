/*
 * rfm.c
 *		Module magic and load-time set-up of the rfm extension: its GUCs, and
 *		the "rfm." prefix reserved so that a misspelt setting is reported.
 */
#include "rfm.h"

#include "fmgr.h"
#include "access/xact.h"
#include "utils/guc.h"

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
