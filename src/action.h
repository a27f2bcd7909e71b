/*
 * action.h
 *		The rules of src/action.c as loaded from the rule tables into a
 *		per-call-site cache by src/action_load.c.
 */
#ifndef RFM_ACTION_H
#define RFM_ACTION_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "utils/numeric.h"

/*
 * The snapshot rules were read under: they stay valid under any snapshot of
 * the same transaction with the same xmin, xmax, numbers of running
 * (sub)transactions and command id (see rfm_rules_snapshot_valid).
 */
typedef struct RulesSnapshot
{
	bool		reusable;		/* read under an active snapshot */
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	CommandId	curcid;
} RulesSnapshot;

/* a code with its labels */
typedef struct CodeLabel
{
	char	   *code;
	int			len;
	char	   *en;
	char	   *zh;
	int			contact;		/* channels only: 0 low, 1 medium, 2 high */
	int			cost;
} CodeLabel;

typedef struct TierRule
{
	CodeLabel	c;
	int32		rank;
	Numeric		discount;
	Numeric		multiplier;		/* 1 - discount */
	int64		rate100;		/* point_rate * 100 */
	Numeric		min_spend;		/* NULL: no lower bound (lowest tier only) */
	int32		min_score;
} TierRule;

typedef struct SegRule
{
	CodeLabel	c;
	char	   *strategy;
	char	   *service;
	Datum		channels;		/* text[] */
	char	   *price;
	Datum		techniques;		/* text[] */
	int			tier;			/* index into tiers */
	int			contact;		/* highest over the channels */
	int			cost;
} SegRule;

typedef enum TierBy
{
	TIER_BY_SEGMENT,
	TIER_BY_SCORE,
	TIER_BY_SPEND
} TierBy;

typedef struct ActionCache
{
	MemoryContext data;			/* the rules; reset on reload */
	bool		loaded;
	RulesSnapshot snap;			/* what the rules were read under */

	int			nseg;
	SegRule    *seg;
	int			last_seg;
	int			ntier;
	TierRule   *tier;			/* ascending rank */
	int			nstrat;
	CodeLabel  *strat;
	int			nchan;
	CodeLabel  *chan;
	int			ntech;
	CodeLabel  *tech;
	TierBy		tier_by;
	int32		loyalty[6];		/* the columns of rfm_loyalty_settings */

	TupleDesc	plan_desc;		/* rfm_action's result, blessed */
} ActionCache;
/* channel levels: 0 low, 1 medium, 2 high */
extern const char *const rfm_level_names[];

/* snapshots of loaded rules */
extern void rfm_rules_snapshot_remember(RulesSnapshot *s, bool read_only);
extern bool rfm_rules_snapshot_valid(const RulesSnapshot *s);

/* loader queries (within SPI_connect): checked column types, values */
extern void rfm_load_query(const char *schema, const char *table, const char *cols,
						   const Oid *coltypes, int ncols, bool read_only);
extern char *rfm_load_str(int row, int col, MemoryContext cxt);
extern char *rfm_rules_schema(FunctionCallInfo fcinfo);

/* the rules for this call site, loaded if needed */
extern ActionCache *rfm_get_rules(FunctionCallInfo fcinfo);

/* the index of a code in an array of structs that begin with a CodeLabel */
extern int	rfm_find_code(const CodeLabel *arr, int n, size_t stride, const char *s, int len);

/* the codes of such an array, "a, b, c", for error details */
extern char *rfm_code_list(const CodeLabel *arr, int n, size_t stride);

/* is a numeric NaN or infinite? */
static inline bool
rfm_numeric_not_finite(Numeric n)
{
#if PG_VERSION_NUM >= 140000
	return numeric_is_nan(n) || numeric_is_inf(n);
#else
	return numeric_is_nan(n);
#endif
}

#endif							/* RFM_ACTION_H */
