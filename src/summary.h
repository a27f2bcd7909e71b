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

#include "utils/memutils.h"

#ifdef HAVE_INT128
typedef int128 rfm_wide;
#define RFM_WIDE_DIGITS		38	/* decimal digits that always fit */
#define RFM_WIDE_MAX_SCALE	30	/* keeps 8 integer digits at worst */
#else
typedef int64 rfm_wide;
#define RFM_WIDE_DIGITS		18
#define RFM_WIDE_MAX_SCALE	10
#endif

#define RFM_STATE_VERSION	1

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
 * when there is none), then maxdays int32 day numbers, ndays of them in use,
 * strictly increasing.
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
	int32		maxdays;
	int32		overflow_len;
	int32		overflow_cap;
	int32		as_of_day;		/* local day number of as_of */
	int64		as_of;			/* microseconds; dates as day * USECS_PER_DAY */
	int64		orders;			/* rows with amount >= 0 */
	int64		returns;		/* rows with amount < 0 */
	int64		first_time;		/* of orders; valid when orders > 0 */
	int64		last_time;
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

/* a new state (with room for 8 days on 64-bit builds) is a 128-byte request */
#define RFM_INITIAL_DAYS	((int32) ((128 - MAXALIGN(sizeof(RfmState))) / sizeof(int32)))

#define RFM_HDRSZ			MAXALIGN(sizeof(RfmState))
#define RFM_OVERFLOW(st)	((char *) (st) + RFM_HDRSZ)
#define RFM_DAYS(st)		((int32 *) ((char *) (st) + RFM_HDRSZ + (st)->overflow_cap))
#define RFM_SIZE(maxdays, ocap) \
	(RFM_HDRSZ + (Size) (ocap) + (Size) (maxdays) * sizeof(int32))

/* The largest number of distinct purchase days a state may hold. */
#define RFM_MAX_DAYS	((int32) ((MaxAllocSize - RFM_HDRSZ - 65536) / sizeof(int32)))

#endif							/* RFM_SUMMARY_H */
