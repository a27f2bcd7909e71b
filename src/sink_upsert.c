/*
 * sink_upsert.c
 *		Rows that replace those of the same key in a table that was there
 *		before, or join it: an incremental refresh's rows of _customers
 *		that change, in place, without a table of their own in between and
 *		an INSERT ... ON CONFLICT DO UPDATE (which looks each row up, locks
 *		it, then updates it: two WAL records and the executor per row).
 *
 *		Each row's key is looked up by the table's index, in the order the
 *		rows come (a model's: by customer, so the index pages are read in
 *		order), and its tuple updated (heap-only where the page has room:
 *		then no index entry), or the row added.  Only where nothing else is
 *		to be done on a write: a plain heap table of the calling role with
 *		no trigger, rule, row-level security, check constraint, default or
 *		generated column, whose one index is a plain unique btree index on
 *		the key column; otherwise the caller writes the rows its other way
 *		(sink_can_upsert).  NOT NULL is checked here, row by row.
 */
#include "sink.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/nbtree.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

/*
 * The index of the table relid through which sink_open_upsert finds rows by
 * the column key_name, or InvalidOid when the table is not one that it
 * writes into (see above).
 */
Oid
sink_can_upsert(Oid relid, const char *key_name)
{
	Relation	rel;
	TupleDesc	td;
	List	   *indexes;
	Oid			found = InvalidOid;
	AttrNumber	key = get_attnum(relid, key_name);

	if (key == InvalidAttrNumber)
		return InvalidOid;
	rel = table_open(relid, AccessShareLock);
	td = RelationGetDescr(rel);
	indexes = RelationGetIndexList(rel);
	if (rel->rd_rel->relkind == RELKIND_RELATION && rel->rd_rel->relam == HEAP_TABLE_AM_OID &&
		rel->trigdesc == NULL && rel->rd_rules == NULL && !rel->rd_rel->relrowsecurity &&
		!(td->constr != NULL &&
		  (td->constr->num_check > 0 || td->constr->num_defval > 0 || td->constr->has_generated_stored)) &&
		list_length(indexes) == 1 &&
		/* (each: a mask of two passes with either) */
		pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) == ACLCHECK_OK &&
		pg_class_aclcheck(relid, GetUserId(), ACL_UPDATE) == ACLCHECK_OK)
	{
		HeapTuple	t = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(linitial_oid(indexes)));

		if (HeapTupleIsValid(t))
		{
			Form_pg_index ix = (Form_pg_index) GETSTRUCT(t);
			bool		plain;

			plain = ix->indisunique && ix->indimmediate && ix->indisvalid && ix->indisready && ix->indislive &&
				!ix->indisexclusion && ix->indnatts == 1 && ix->indkey.values[0] == key &&
				heap_attisnull(t, Anum_pg_index_indexprs, NULL) && heap_attisnull(t, Anum_pg_index_indpred, NULL);
			if (plain)
			{
				Relation	ir = index_open(ix->indexrelid, AccessShareLock);

				if (ir->rd_rel->relam == BTREE_AM_OID)
					found = ix->indexrelid;
				index_close(ir, AccessShareLock);
			}
			ReleaseSysCache(t);
		}
	}
	for (int i = 0; i < td->natts; i++)
		if (TupleDescAttr(td, i)->attisdropped)
			found = InvalidOid;
	table_close(rel, AccessShareLock);
	return found;
}

/*
 * The rows go into the table relid (its index index, from sink_can_upsert):
 * each replaces the table's row of the same key_column (a column of the
 * rows, and of the table), or is added.  Every column of the table is one
 * of the rows', by name and type.
 */
void
sink_open_upsert(RowSink *s, Oid relid, Oid index, int key_column, int ncolumns, const char *const *names,
				 const Oid *types, const char *fname)
{
	Relation	rel;
	TupleDesc	td;
	Oid			opfamily,
				opcintype,
				eq;

	memset(s, 0, sizeof(RowSink));
	rfm_require_own_table(relid, fname, true,
						  "A refresh calls it, as the model's owner, on the model's table.");
	rel = table_open(relid, RowExclusiveLock);
	td = RelationGetDescr(rel);
	sink_map_columns(s, rel, ncolumns, names, types, fname);
	s->rel = rel;
	s->scan_cxt = CurrentMemoryContext;
	s->cxt = AllocSetContextCreate(CurrentMemoryContext, "rfm upsert row", ALLOCSET_SMALL_SIZES);
	s->values = palloc(sizeof(Datum) * Max(td->natts, 1));
	s->nulls = palloc(sizeof(bool) * Max(td->natts, 1));
	s->index = index_open(index, RowExclusiveLock);
	s->index_info = BuildIndexInfo(s->index);
	s->key_column = key_column;
	/* the key's equality in the index's operator family, for a scan key */
	opfamily = s->index->rd_opfamily[0];
	opcintype = s->index->rd_opcintype[0];
	eq = get_opfamily_member(opfamily, opcintype, opcintype, BTEqualStrategyNumber);
	if (!OidIsValid(eq))
		elog(ERROR, "%s: no equality operator in the index of \"%s\"", fname, RelationGetRelationName(rel));
	/* (its function looked up once: each row sets only the argument) */
	ScanKeyEntryInitialize(&s->key, 0, 1, BTEqualStrategyNumber, InvalidOid, s->index->rd_indcollation[0],
						   get_opcode(eq), (Datum) 0);
	s->found = table_slot_create(rel, NULL);
	s->scan = index_beginscan(rel, s->index, GetActiveSnapshot(), 1, 0);
}

/* one row: the table's row of its key replaced, or the row added */
void
sink_upsert_put(RowSink *s, Datum *values, bool *nulls)
{
	TupleDesc	td = RelationGetDescr(s->rel);
	HeapTuple	tuple;
	MemoryContext old;
	bool		update_index = true;
	bool		found;
	Datum		ivalue[INDEX_MAX_KEYS];
	bool		inull[INDEX_MAX_KEYS];

	if (nulls[s->key_column])
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("a row of \"%s\" has no key", RelationGetRelationName(s->rel))));
	sink_row_values(s, values, nulls);
	/*
	 * The index scan's state lives on, in the context it was begun in (what
	 * it allocates as it goes too: the caller's context may be a row's) ...
	 */
	old = MemoryContextSwitchTo(s->scan_cxt);
	s->key.sk_argument = values[s->key_column];
	index_rescan(s->scan, &s->key, 1, NULL, 0);
	found = index_getnext_slot(s->scan, ForwardScanDirection, s->found);
	/* ... the row's tuple and what the writing allocates, for this row */
	MemoryContextReset(s->cxt);
	MemoryContextSwitchTo(s->cxt);
	tuple = heap_form_tuple(td, s->values, s->nulls);
	if (found)
	{
#if PG_VERSION_NUM >= 160000
		TU_UpdateIndexes which;

		simple_heap_update(s->rel, &s->found->tts_tid, tuple, &which);
		update_index = which == TU_All;
#else
		simple_heap_update(s->rel, &s->found->tts_tid, tuple);
		update_index = !HeapTupleIsHeapOnly(tuple);
#endif
	}
	else
		simple_heap_insert(s->rel, tuple);
	if (update_index)
	{
		ivalue[0] = values[s->key_column];
		inull[0] = false;
		/* (an update keeps the key: the index may delete old versions bottom-up) */
		index_insert(s->index, ivalue, inull, &tuple->t_self, s->rel, UNIQUE_CHECK_YES,
#if PG_VERSION_NUM >= 140000
					 found,
#endif
					 s->index_info);
	}
	MemoryContextSwitchTo(old);
	s->rows++;
}

void
sink_upsert_close(RowSink *s)
{
	index_endscan(s->scan);
	ExecDropSingleTupleTableSlot(s->found);
	index_close(s->index, NoLock);
	MemoryContextDelete(s->cxt);
}
