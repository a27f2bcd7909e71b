/*
 * summarize.h
 *		The grouping of orders by customer in C (src/summarize.c), shared by
 *		its SQL-callable functions (src/summarize_fn.c): rfm_summarize and an
 *		incremental model's rfm_model_states.
 */
#ifndef RFM_SUMMARIZE_H
#define RFM_SUMMARIZE_H

#include "postgres.h"

#include "fmgr.h"

#include "summary.h"

/*
 * One grouping: the caller fills in the key type, the kinds, as_of and the
 * zone cache, then summarize_begin, summarize_read (as often as needed),
 * summarize_foreach and summarize_end.
 */
typedef struct SummarizeCtx SummarizeCtx;

struct SummarizeCtx
{
	MemoryContext statecxt;		/* states and copied keys */
	Oid			key_type;
	int16		key_len;
	bool		key_byval;
	bool		int_keys;		/* int2/int4/int8: rfm_ih, else rfm_gh */
	Oid			key_collation;
	FmgrInfo	hash_fn;
	FmgrInfo	eq_fn;
	struct rfm_ih_hash *ih;
	struct rfm_gh_hash *gh;
	RfmState   *null_key_state; /* the group of NULL customers */
	bool		null_key_seen;
	int			kind;			/* RFM_KIND_* */
	int			amount_kind;	/* RFM_AMOUNT_* */
	int64		as_of;
	TzCache    *tzc;
	struct RowBatch *batch;			/* integer keys */
	bool		track_after;	/* note customers with rows after as_of */
};

/* per group: its key (key_null for the NULL customer's), its state, and
 * whether a row after as_of was left out (with track_after) */
typedef void (*SummarizeGroupFn) (void *arg, Datum key, bool key_null, RfmState *st, bool after);

extern void summarize_begin(SummarizeCtx *ctx);
extern void summarize_read(SummarizeCtx *ctx, const char *query);
extern void summarize_foreach(SummarizeCtx *ctx, SummarizeGroupFn fn, void *arg);
extern void summarize_end(SummarizeCtx *ctx);

#endif							/* RFM_SUMMARIZE_H */
