/*
 * summary.h
 *		The in-memory layout of rfm_state, the transition state of
 *		rfm_summary (src/summary.c), shared with the other final functions
 *		that read it (rfm_lifecycle in src/lifecycle.c).
 *
 * Only src/summary.c creates or changes a state; other files must treat it
 * as read-only.
 */
#ifndef RFM_SUMMARY_H
#define RFM_SUMMARY_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#ifdef HAVE_INT128
typedef int128 rfm_wide;
#define RFM_WIDE_DIGITS		38	/* decimal digits that always fit */
#define RFM_WIDE_MAX_SCALE	30	/* keeps 8 integer digits at worst */
#else
typedef int64 rfm_wide;
#define RFM_WIDE_DIGITS		18
#define RFM_WIDE_MAX_SCALE	10
#endif

/*
 * Version of the external (text and binary) form.  Version 2 adds the value
 * of the first purchase day; a version 1 value is still read (its
 * rfm_repeat_value is unknown and comes out as NULL).
 */
#define RFM_STATE_VERSION	2

/* kinds of order time */
#define RFM_KIND_TIMESTAMPTZ	1
#define RFM_KIND_DATE			2

/* kinds of amount */
#define RFM_AMOUNT_NUMERIC		1
#define RFM_AMOUNT_FLOAT8		2


/*
 * The in-memory state.  Only send/recv and in/out define the external form;
 * this layout never leaves the process except as the bytes of a datum passed
 * between parallel workers of the same server build.
 *
 * Layout: the fixed header, then overflow_cap bytes holding a numeric (the
 * part of the total that did not fit the fixed-point sum; overflow_len is 0
 * when there is none), then maxdays int32 day numbers, ndays of them in use:
 * the first nsorted strictly increasing, the rest appended since in any
 * order and possibly repeated (rfm_days_normalize sorts them; readers use
 * rfm_sorted_days).
 */
typedef struct RfmState
{
	int32		vl_len_;
	uint8		version;
	uint8		kind;			/* RFM_KIND_* */
	uint8		amount_kind;	/* RFM_AMOUNT_* */
	uint8		unused;
	int32		scale;			/* decimal scale of sum */
	int32		ndays;
	int32		nsorted;		/* days[0 .. nsorted) are sorted, distinct */
	int32		maxdays;
	int32		overflow_len;
	int32		overflow_cap;
	int32		as_of_day;		/* local day number of as_of */
	int64		as_of;			/* microseconds; dates as day * USECS_PER_DAY */
	int64		orders;			/* rows with amount >= 0 */
	int64		returns;		/* rows with amount < 0 */
	int64		first_time;		/* of orders; valid when orders > 0 */
	int64		last_time;
	uint32		zone;			/* rfm_zone_id of the time zone of the days */
	int32		first_day;		/* first purchase day; valid when orders > 0 */
	bool		first_known;	/* first_day_amount known (not a version 1 input) */
	double		first_day_amount;	/* orders of first_day: sum of amounts */
	union
	{
		rfm_wide	sum;		/* numeric amounts: sum * 10^-scale */
		struct
		{
			double		fsum;	/* float8 amounts: Neumaier sum ... */
			double		fcomp;	/* ... and its compensation */
		}			f;
	}			u;
} RfmState;

/* a new state (with room for 16 days on 64-bit builds) is a 192-byte request */
#define RFM_INITIAL_DAYS	((int32) Max(8, (192 - (int) MAXALIGN(sizeof(RfmState))) / (int) sizeof(int32)))

#define RFM_HDRSZ			MAXALIGN(sizeof(RfmState))
#define RFM_OVERFLOW(st)	((char *) (st) + RFM_HDRSZ)
#define RFM_DAYS(st)		((int32 *) ((char *) (st) + RFM_HDRSZ + (st)->overflow_cap))
#define RFM_SIZE(maxdays, ocap) \
	(RFM_HDRSZ + (Size) (ocap) + (Size) (maxdays) * sizeof(int32))

/* The largest number of distinct purchase days a state may hold. */
#define RFM_MAX_DAYS	((int32) ((MaxAllocSize - RFM_HDRSZ - 65536) / sizeof(int32)))

/* The attributes of rfm_summary. */
#define RFM_SUMMARY_NATTS	13

static inline bool
wide_mul_overflow(rfm_wide a, rfm_wide b, rfm_wide *r)
{
	return __builtin_mul_overflow(a, b, r);
}

static inline bool
wide_add_overflow(rfm_wide a, rfm_wide b, rfm_wide *r)
{
	return __builtin_add_overflow(a, b, r);
}

/* src/summary_money.c */
extern const rfm_wide *pow10_table(void);
extern bool numeric_packed_is_negative(struct varlena *num);
extern char *wide_to_cstring(rfm_wide v, int scale, char *buf);
extern Datum wide_to_numeric(rfm_wide v, int scale);
extern RfmState *state_alloc(MemoryContext cxt, int32 maxdays, int32 ocap);
extern RfmState *state_grow(const RfmState *st, int32 maxdays, int32 ocap);
extern RfmState *state_add_overflow(RfmState *st, Datum num);
extern RfmState *state_add_wide(RfmState *st, rfm_wide v, int dscale, Datum orig);
extern RfmState *state_add_numeric(RfmState *st, struct varlena *num);
extern void state_add_float8(RfmState *st, double x);
extern double amount_to_float8(int amount_kind, Datum amount);

/* src/lifecycle.c */
extern void *rfm_lifecycle_cache_new(Oid fn_oid, MemoryContext mcxt);
extern const char *rfm_lifecycle_code(const RfmState *st, void *cache, MemoryContext mcxt);

/* src/summary_final.c */
extern void rfm_summary_values(const RfmState *st, Datum *values, bool *nulls, int natts);
extern bool rfm_state_repeat_value(const RfmState *st, double *value);

/* src/summary_tz.c */
typedef struct TzCache TzCache;
extern uint32 rfm_zone_id(const char *name);
extern TzCache *rfm_tzcache_new(MemoryContext mcxt, text *zone);
extern TzCache *rfm_tzcache_get(FunctionCallInfo fcinfo, int zone_arg);
extern uint32 rfm_tzcache_zone(const TzCache *c);
extern int32 rfm_local_day(TzCache *c, TimestampTz ts);

/* src/summary.c */
extern int64 rfm_as_of_value(int kind, Datum d);
extern RfmState *rfm_state_new(int kind, int amount_kind, int64 as_of, TzCache *tzc, int32 maxdays);
extern RfmState *rfm_state_add(RfmState *st, TzCache *tzc, Datum time, Datum amount);
extern RfmState *rfm_state_redate(const RfmState *st, int64 as_of, int32 day, uint32 zone);
extern int	rfm_cmp_int32(const void *a, const void *b);
extern int32 rfm_days_normalize(int32 *days, int32 n);
extern const int32 *rfm_sorted_days(const RfmState *st, int32 *n);

#endif							/* RFM_SUMMARY_H */
