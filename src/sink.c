/*
 * sink.c
 *		Where a model's C functions put their rows: an SRF's tuplestore, or a
 *		new table of a refresh, written in blocks by table_multi_insert as
 *		COPY writes (one WAL record and one buffer lock per block, not per
 *		row), with no tuplestore in between and no executor insert per row.
 *
 *		The table must be one that nothing but the caller could have touched
 *		and that no code runs on: a plain heap table of the calling role,
 *		made or truncated in this transaction, with no trigger, rule, index,
 *		check constraint, default, generated column or row-level security
 *		(NOT NULL is checked here, row by row).  A refresh makes it with
 *		CREATE TABLE ... AS ... WITH NO DATA just before, and indexes it
 *		after; or truncates an incremental model's table of states.
 */
#include "sink.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "catalog/pg_namespace.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

/* the subtransaction that gave the table new storage (TRUNCATE), if any */
#if PG_VERSION_NUM >= 160000
#define NEW_STORAGE_SUBID(rel) ((rel)->rd_newRelfilelocatorSubid)
#else
#define NEW_STORAGE_SUBID(rel) ((rel)->rd_newRelfilenodeSubid)
#endif

/* rows per block, and bytes: what COPY buffers before it writes */
#define SINK_ROWS 1000
#define SINK_BYTES 65535

static void
refuse(Relation rel, const char *fname, const char *why)
{
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("%s writes only into a new table of its own", fname),
			 errdetail("Table \"%s\" %s.", RelationGetRelationName(rel), why),
			 errhint("A refresh calls it, as the model's owner, on the table it has just made.")));
}

/* each column of the table rel: one of the rows' columns, by name and type */
void
sink_map_columns(RowSink *s, Relation rel, int ncolumns, const char *const *names, const Oid *types,
				 const char *fname)
{
	TupleDesc	td = RelationGetDescr(rel);

	s->column_of = palloc(sizeof(int) * Max(td->natts, 1));
	for (int i = 0; i < td->natts; i++)
	{
		Form_pg_attribute a = TupleDescAttr(td, i);
		int			k;

		if (a->attisdropped)
			refuse(rel, fname, "has a dropped column");
		for (k = 0; k < ncolumns; k++)
			if (strcmp(NameStr(a->attname), names[k]) == 0)
				break;
		if (k == ncolumns)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("%s has no column \"%s\" for table \"%s\"", fname, NameStr(a->attname),
							RelationGetRelationName(rel))));
		if (OidIsValid(types[k]) && a->atttypid != types[k])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" is of type %s, but %s makes %s",
							NameStr(a->attname), RelationGetRelationName(rel), format_type_be(a->atttypid),
							fname, format_type_be(types[k]))));
		s->column_of[i] = k;
	}
}

/* the row's values in the table's columns, NOT NULL checked */
void
sink_row_values(RowSink *s, Datum *values, bool *nulls)
{
	TupleDesc	td = RelationGetDescr(s->rel);

	for (int i = 0; i < td->natts; i++)
	{
		s->values[i] = values[s->column_of[i]];
		s->nulls[i] = nulls[s->column_of[i]];
		if (s->nulls[i] && TupleDescAttr(td, i)->attnotnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
							NameStr(TupleDescAttr(td, i)->attname), RelationGetRelationName(s->rel))));
	}
}

void
sink_open_table(RowSink *s, Oid relid, int ncolumns, const char *const *names, const Oid *types,
				const char *fname)
{
	Relation	rel;
	TupleDesc	td;
	List	   *indexes;

	memset(s, 0, sizeof(RowSink));
	rfm_require_own_table(relid, fname, true,
						  "A refresh calls it, as the model's owner, on the table it has just made.");
	rel = table_open(relid, RowExclusiveLock);
	td = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID)
		refuse(rel, fname, "is not a plain heap table");
	if (rel->rd_createSubid == InvalidSubTransactionId && NEW_STORAGE_SUBID(rel) == InvalidSubTransactionId)
		refuse(rel, fname, "was neither made nor truncated in this transaction");
	if (rel->trigdesc != NULL || rel->rd_rules != NULL)
		refuse(rel, fname, "has triggers or rules");
	indexes = RelationGetIndexList(rel);
	if (indexes != NIL || rel->rd_rel->relrowsecurity)
		refuse(rel, fname, "has an index or row-level security");
	if (td->constr != NULL &&
		(td->constr->num_check > 0 || td->constr->num_defval > 0 || td->constr->has_generated_stored))
		refuse(rel, fname, "has check constraints, defaults or generated columns");
	if (pg_class_aclcheck(relid, GetUserId(), ACL_INSERT) != ACLCHECK_OK)
		refuse(rel, fname, "may not be written by its owner");

	sink_map_columns(s, rel, ncolumns, names, types, fname);
	s->rel = rel;
	s->cxt = CurrentMemoryContext;
	s->bistate = GetBulkInsertState();
	s->cid = GetCurrentCommandId(true);
	s->slots = palloc(sizeof(TupleTableSlot *) * SINK_ROWS);
	for (int i = 0; i < SINK_ROWS; i++)
		s->slots[i] = MakeSingleTupleTableSlot(td, &TTSOpsHeapTuple);
	s->values = palloc(sizeof(Datum) * Max(td->natts, 1));
	s->nulls = palloc(sizeof(bool) * Max(td->natts, 1));
}

void
sink_open_store(RowSink *s, Tuplestorestate *store, TupleDesc desc)
{
	memset(s, 0, sizeof(RowSink));
	s->store = store;
	s->store_desc = desc;
}

static void
sink_flush(RowSink *s)
{
	if (s->nbuffered == 0)
		return;
	table_multi_insert(s->rel, s->slots, s->nbuffered, s->cid, 0, s->bistate);
	for (int i = 0; i < s->nbuffered; i++)
		ExecClearTuple(s->slots[i]);	/* frees the tuple */
	s->nbuffered = 0;
	s->buffered_bytes = 0;
}

/* One row; its values are copied (into the tuplestore, or a heap tuple). */
void
sink_put(RowSink *s, Datum *values, bool *nulls)
{
	TupleDesc	td;
	HeapTuple	tuple;
	MemoryContext old;

	if (s->index != NULL)
	{
		sink_upsert_put(s, values, nulls);
		return;
	}
	s->rows++;
	if (s->store != NULL)
	{
		tuplestore_putvalues(s->store, s->store_desc, values, nulls);
		return;
	}
	td = RelationGetDescr(s->rel);
	sink_row_values(s, values, nulls);
	old = MemoryContextSwitchTo(s->cxt);
	tuple = heap_form_tuple(td, s->values, s->nulls);
	MemoryContextSwitchTo(old);
	s->buffered_bytes += tuple->t_len;
	ExecStoreHeapTuple(tuple, s->slots[s->nbuffered++], true);
	if (s->nbuffered == SINK_ROWS || s->buffered_bytes >= SINK_BYTES)
		sink_flush(s);
}

/* The rows put; a table's last block written and the table left open (locked) until the end of the transaction. */
uint64
sink_close(RowSink *s)
{
	if (s->rel != NULL && s->index != NULL)
	{
		sink_upsert_close(s);
		table_close(s->rel, NoLock);
		s->rel = NULL;
	}
	else if (s->rel != NULL)
	{
		sink_flush(s);
		FreeBulkInsertState(s->bistate);
		for (int i = 0; i < SINK_ROWS; i++)
			ExecDropSingleTupleTableSlot(s->slots[i]);
		table_close(s->rel, NoLock);
		s->rel = NULL;
	}
	return s->rows;
}
