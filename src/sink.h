/*
 * sink.h
 *		Where a model's C functions put the rows they make (src/sink.c): the
 *		tuplestore of a set-returning function, or straight into a table of
 *		the caller's that the same transaction made (a refresh's new table),
 *		a block of rows at a time, without the executor's per-row insert.
 */
#ifndef RFM_SINK_H
#define RFM_SINK_H

#include "rfm.h"

#include "access/skey.h"
#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

typedef struct RowSink
{
	/* a set-returning function's result ... */
	Tuplestorestate *store;
	TupleDesc	store_desc;
	/* ... or a table */
	Relation	rel;
	struct BulkInsertStateData *bistate;
	CommandId	cid;
	MemoryContext cxt;			/* of the buffered tuples, freed as written */
	TupleTableSlot **slots;
	int			nbuffered;
	Size		buffered_bytes;
	int		   *column_of;		/* the table's attribute i gets the row's value column_of[i] */
	Datum	   *values;
	bool	   *nulls;
	uint64		rows;
	/* ... or rows in place of those of the same key (src/sink_upsert.c) */
	Relation	index;
	MemoryContext scan_cxt;		/* of the index scan, for as long as the sink */
	struct IndexInfo *index_info;
	struct IndexScanDescData *scan;
	TupleTableSlot *found;
	ScanKeyData key;			/* the key's equality, its argument set per row */
	int			key_column;
} RowSink;

/*
 * The rows of ncolumns columns named names[] of types types[] (InvalidOid:
 * any) go to the table relid: a plain heap table of the calling role, made or
 * truncated in this transaction, without triggers, rules, indexes, check
 * constraints, defaults, generated columns or row-level security, whose
 * columns are some of those, by name and type.
 */
extern void sink_open_table(RowSink *s, Oid relid, int ncolumns, const char *const *names, const Oid *types,
							const char *fname);
extern void sink_open_store(RowSink *s, Tuplestorestate *store, TupleDesc desc);

/*
 * The rows replace those of the same key in a table of the caller's that
 * was there before, or are added (src/sink_upsert.c): sink_can_upsert gives
 * the index to find them by, or InvalidOid when the table is not one that
 * can be written so.
 */
extern Oid	sink_can_upsert(Oid relid, const char *key_name);
extern void sink_open_upsert(RowSink *s, Oid relid, Oid index, int key_column, int ncolumns,
							 const char *const *names, const Oid *types, const char *fname);
extern void sink_upsert_put(RowSink *s, Datum *values, bool *nulls);
extern void sink_upsert_close(RowSink *s);
/* (shared by the two) */
extern void sink_map_columns(RowSink *s, Relation rel, int ncolumns, const char *const *names, const Oid *types,
							 const char *fname);
extern void sink_row_values(RowSink *s, Datum *values, bool *nulls);
extern void sink_put(RowSink *s, Datum *values, bool *nulls);
extern uint64 sink_close(RowSink *s);

#endif							/* RFM_SINK_H */
