/*
 * storage.c
 *		The guard of a model's views over the tables a refresh builds.
 *
 * A refresh of a model builds new tables and points the model's views at
 * them in one short transaction.  A transaction whose snapshot was taken
 * before that transaction committed would read the new tables as empty
 * (their rows are newer than its snapshot): each view carries the one-time
 * filter rfm_model_visible(table), which raises a serialization failure
 * instead, as PostgreSQL does for other changes a snapshot cannot see.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/transam.h"
#include "access/xact.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(rfm_model_visible);

/*
 * rfm_model_visible(regclass) -> boolean: true when the table's catalog row
 * (its creation by a refresh) is visible to the running query's snapshot;
 * otherwise ERROR 40001.
 */
Datum
rfm_model_visible(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	HeapTuple	tuple;
	TransactionId xmin;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	xmin = HeapTupleHeaderGetXmin(tuple->t_data);
	ReleaseSysCache(tuple);

	if (ActiveSnapshotSet() && TransactionIdIsNormal(xmin) &&
		!TransactionIdIsCurrentTransactionId(xmin) &&
		XidInMVCCSnapshot(xmin, GetActiveSnapshot()))
	{
		char	   *name = get_rel_name(relid);

		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not read a model's view: the model was refreshed after this transaction's snapshot was taken"),
				 errdetail("Table \"%s\", which the view reads, was built by a refresh that this snapshot does not see.",
						   name ? name : "?"),
				 errhint("Retry the transaction; or read models at READ COMMITTED, where each statement sees the last refresh.")));
	}
	PG_RETURN_BOOL(true);
}
