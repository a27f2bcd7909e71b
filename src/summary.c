/*
 * summary.c
 *		The rfm_summary aggregate: one pass over a customer's orders gives
 *		recency, frequency, monetary value and the BTYD model inputs.
 *
 * The transition state is a type of our own, rfm_state (a varlena updated in
 * place in the aggregate memory context, the way float8_accum updates its
 * array), so that PostgreSQL's parallel aggregation and engines that push
 * partial aggregates down to other nodes can ship it: it has text and binary
 * input/output functions and a combine function.
 *
 * Money over numeric is summed exactly.  The fast path keeps the running total
 * as a 128-bit integer at a decimal scale (the largest scale seen so far); a
 * value or total that does not fit there is added into an overflow numeric
 * kept in the state, so no input is ever rounded.  Amounts over float8 are
 * summed with Neumaier's compensated summation.
 *
 * Distinct purchase days (for the BTYD fields) are kept as a sorted array of
 * day numbers.  For timestamptz input the day is the calendar day in the
 * session's TimeZone; the UTC offset is looked up through a small cache of
 * daylight-saving intervals so that most rows need no time zone arithmetic.
 */
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_state_in);
PG_FUNCTION_INFO_V1(rfm_state_out);
PG_FUNCTION_INFO_V1(rfm_state_recv);
PG_FUNCTION_INFO_V1(rfm_state_send);
PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_numeric);
PG_FUNCTION_INFO_V1(rfm_summary_trans_tz_float8);
PG_FUNCTION_INFO_V1(rfm_summary_trans_date_numeric);
PG_FUNCTION_INFO_V1(rfm_summary_trans_date_float8);
PG_FUNCTION_INFO_V1(rfm_summary_combine);
PG_FUNCTION_INFO_V1(rfm_summary_final);

/* ------------------------------------------------------------------------
 * Time zone: local day numbers of timestamptz values
 * ------------------------------------------------------------------------
 */

#define RFM_TZ_INTERVALS 32

/* A UTC offset valid for [lo, hi) in pg_time_t seconds. */
typedef struct TzInterval
{
	pg_time_t	lo;
	pg_time_t	hi;
	long		gmtoff;
} TzInterval;

typedef struct TzCache
{
	const pg_tz *tz;			/* the zone this cache was filled for */
	bool		fixed;			/* zone has one offset forever */
	long		fixed_gmtoff;
	int			n;
	int			last;			/* the entry that answered last */
	TzInterval	iv[RFM_TZ_INTERVALS];
} TzCache;

static void
tzcache_reset(TzCache *c)
{
	c->tz = session_timezone;
	c->fixed = pg_get_timezone_offset(session_timezone, &c->fixed_gmtoff);
	c->n = 0;
	c->last = 0;
}

/* The UTC offset (seconds east) of the session zone at time t. */
static long
tzcache_offset(TzCache *c, pg_time_t t)
{
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	pg_time_t	boundary;
	int			r,
				i;

	if (c->tz != session_timezone)
		tzcache_reset(c);
	if (c->fixed)
		return c->fixed_gmtoff;

	if (c->n > 0 && c->iv[c->last].lo <= t && t < c->iv[c->last].hi)
		return c->iv[c->last].gmtoff;
	for (i = 0; i < c->n; i++)
	{
		if (c->iv[i].lo <= t && t < c->iv[i].hi)
		{
			c->last = i;
			return c->iv[i].gmtoff;
		}
	}

	r = pg_next_dst_boundary(&t, &before_gmtoff, &before_isdst,
							 &boundary, &after_gmtoff, &after_isdst, c->tz);
	if (r < 0)
	{
		/* outside what the zone data covers: ask pg_localtime directly */
		struct pg_tm *tm = pg_localtime(&t, c->tz);

		if (tm == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range for the session time zone")));
		return tm->tm_gmtoff;
	}
	if (r == 0)
		boundary = PG_INT64_MAX;

	/* extend an interval that ends at the same boundary, else add one */
	for (i = 0; i < c->n; i++)
	{
		if (c->iv[i].hi == boundary && c->iv[i].gmtoff == before_gmtoff)
		{
			if (t < c->iv[i].lo)
				c->iv[i].lo = t;
			c->last = i;
			return before_gmtoff;
		}
	}
	i = (c->n < RFM_TZ_INTERVALS) ? c->n++ : (int) (t & (RFM_TZ_INTERVALS - 1));
	c->iv[i].lo = t;
	c->iv[i].hi = boundary;
	c->iv[i].gmtoff = before_gmtoff;
	c->last = i;
	return before_gmtoff;
}

/* floor division for day numbers of times before 2000-01-01 */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * Calendar day (days since 2000-01-01) of a timestamptz in the session zone.
 */
static int32
local_day(TzCache *c, TimestampTz ts)
{
	/* seconds since the Unix epoch, floored */
	int64		secs = floor_div(ts, USECS_PER_SEC) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	long		off = tzcache_offset(c, (pg_time_t) secs);

	return (int32) floor_div(ts + (int64) off * USECS_PER_SEC, USECS_PER_DAY);
}

/* ------------------------------------------------------------------------
 * Exact numeric sums
 * ------------------------------------------------------------------------
 */

static const rfm_wide *
pow10_table(void)
{
	static rfm_wide p[39];
	static bool done = false;

	if (!done)
	{
		int			i;

		p[0] = 1;
		for (i = 1; i <= RFM_WIDE_DIGITS; i++)
			p[i] = p[i - 1] * 10;
		done = true;
	}
	return p;
}

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

/*
 * Decode a numeric datum (possibly with a short varlena header, never
 * toasted: the caller used PG_DETOAST_DATUM_PACKED) into value * 10^dscale.
 * Returns false when it does not fit the fast path; *special is set for NaN
 * and infinities.
 *
 * This reads numeric's storage format (a uint16 header, an optional int16
 * weight, base-10000 digits), which is fixed on disk across major versions.
 */
static bool
numeric_to_wide(struct varlena *num, rfm_wide *val, int *dscale, bool *special)
{
	const char *p = VARDATA_ANY(num);
	int			len = VARSIZE_ANY_EXHDR(num);
	uint16		header;
	int			weight;
	int			ndigits;
	bool		neg;
	const char *digits;
	rfm_wide	acc = 0;
	int			shift;
	int			i;
	const rfm_wide *p10 = pow10_table();

	*special = false;
	if (len < (int) sizeof(uint16))
		return false;
	memcpy(&header, p, sizeof(uint16));

	if ((header & 0xC000) == 0xC000)
	{
		/* NaN, +Infinity or -Infinity */
		*special = true;
		return false;
	}
	else if ((header & 0xC000) == 0x8000)
	{
		/* short format */
		neg = (header & 0x2000) != 0;
		*dscale = (header & 0x1F80) >> 7;
		weight = (header & 0x0040) ? ((int) (header & 0x003F) | ~0x003F) : (int) (header & 0x003F);
		digits = p + sizeof(uint16);
		ndigits = (len - (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	else
	{
		int16		w;

		if (len < 2 * (int) sizeof(uint16))
			return false;
		neg = (header & 0xC000) == 0x4000;
		*dscale = header & 0x3FFF;
		memcpy(&w, p + sizeof(uint16), sizeof(int16));
		weight = w;
		digits = p + 2 * sizeof(uint16);
		ndigits = (len - 2 * (int) sizeof(uint16)) / (int) sizeof(int16);
	}

	/* the scale first: a zero of a huge scale must keep it, in the overflow */
	if (*dscale > RFM_WIDE_MAX_SCALE || ndigits * 4 > RFM_WIDE_DIGITS)
		return false;
	if (ndigits == 0)
	{
		*val = 0;
		return true;
	}

	for (i = 0; i < ndigits; i++)
	{
		int16		d;

		memcpy(&d, digits + i * sizeof(int16), sizeof(int16));
		acc = acc * 10000 + d;	/* cannot overflow: ndigits * 4 <= RFM_WIDE_DIGITS */
	}

	/* acc = value * 10000^(ndigits - 1 - weight); want value * 10^dscale */
	shift = *dscale - 4 * (ndigits - 1 - weight);
	if (shift > 0)
	{
		if (shift > RFM_WIDE_DIGITS || wide_mul_overflow(acc, p10[shift], &acc))
			return false;
	}
	else if (shift < 0)
	{
		if (-shift > RFM_WIDE_DIGITS || acc % p10[-shift] != 0)
			return false;
		acc /= p10[-shift];
	}
	*val = neg ? -acc : acc;
	return true;
}

/* Is a numeric in storage format (see above) below zero? */
static inline bool
numeric_packed_is_negative(struct varlena *num)
{
	uint16		header;

	if (VARSIZE_ANY_EXHDR(num) < sizeof(uint16))
		return false;
	memcpy(&header, VARDATA_ANY(num), sizeof(uint16));
	if ((header & 0xC000) == 0x8000)
		return (header & 0x2000) != 0 && VARSIZE_ANY_EXHDR(num) > sizeof(uint16);
	return (header & 0xC000) == 0x4000;
}

/* Decimal text of v * 10^-scale, in buf (at least 64 bytes). */
static char *
wide_to_cstring(rfm_wide v, int scale, char *buf)
{
	char		tmp[64];
	int			n = 0;
	bool		neg = v < 0;
	char	   *out = buf;
	int			i;

	/* digits in reverse; work on the negative side to handle the minimum */
	do
	{
		rfm_wide	q = v / 10;
		int			d = (int) (v - q * 10);

		tmp[n++] = '0' + (d < 0 ? -d : d);
		v = q;
	} while (v != 0);
	while (n <= scale)
		tmp[n++] = '0';
	if (neg)
		*out++ = '-';
	for (i = n - 1; i >= 0; i--)
	{
		*out++ = tmp[i];
		if (i == scale && scale > 0)
			*out++ = '.';
	}
	*out = '\0';
	return buf;
}

static Datum
wide_to_numeric(rfm_wide v, int scale)
{
	char		buf[64];

	return DirectFunctionCall3(numeric_in,
							   CStringGetDatum(wide_to_cstring(v, scale, buf)),
							   ObjectIdGetDatum(InvalidOid),
							   Int32GetDatum(-1));
}

/* ------------------------------------------------------------------------
 * State allocation
 * ------------------------------------------------------------------------
 */

static RfmState *
state_alloc(MemoryContext cxt, int32 maxdays, int32 ocap)
{
	Size		sz = RFM_SIZE(maxdays, ocap);
	RfmState   *st = (RfmState *) MemoryContextAllocZero(cxt, sz);

	SET_VARSIZE(st, sz);
	st->version = RFM_STATE_VERSION;
	st->maxdays = maxdays;
	st->overflow_cap = ocap;
	return st;
}

/*
 * A copy of st with room for at least maxdays days and ocap overflow bytes,
 * allocated in the current memory context.  The aggregate machinery copies a
 * returned state that is not the one it passed in into the aggregate context
 * and frees the old one.
 */
static RfmState *
state_grow(const RfmState *st, int32 maxdays, int32 ocap)
{
	RfmState   *n;

	maxdays = Max(maxdays, st->maxdays);
	ocap = MAXALIGN(Max(ocap, st->overflow_cap));
	if (maxdays > RFM_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rfm_summary: too many distinct purchase days in one group"),
				 errdetail("At most %d distinct days can be summarized per customer.", RFM_MAX_DAYS)));
	n = state_alloc(CurrentMemoryContext, maxdays, ocap);
	memcpy(n, st, offsetof(RfmState, unused));
	memcpy(&n->scale, &st->scale, sizeof(RfmState) - offsetof(RfmState, scale));
	SET_VARSIZE(n, RFM_SIZE(maxdays, ocap));
	n->maxdays = maxdays;
	n->overflow_cap = ocap;
	if (st->overflow_len > 0)
		memcpy(RFM_OVERFLOW(n), RFM_OVERFLOW(st), st->overflow_len);
	memcpy(RFM_DAYS(n), RFM_DAYS(st), st->ndays * sizeof(int32));
	return n;
}

/* Add a numeric (given as a datum) to the overflow part of the total. */
static RfmState *
state_add_overflow(RfmState *st, Datum num)
{
	Datum		total;
	struct varlena *t;
	Size		len;

	if (st->overflow_len > 0)
		total = DirectFunctionCall2(numeric_add,
									PointerGetDatum(RFM_OVERFLOW(st)), num);
	else
		total = num;
	t = PG_DETOAST_DATUM(total);
	len = VARSIZE(t);
	if (len > (Size) st->overflow_cap)
		st = state_grow(st, st->maxdays, (int32) (len + len / 2));
	memcpy(RFM_OVERFLOW(st), t, len);
	st->overflow_len = (int32) len;
	return st;
}

/* Move the fixed-point sum into the overflow numeric and zero it. */
static RfmState *
state_flush_sum(RfmState *st)
{
	if (st->u.sum != 0)
	{
		st = state_add_overflow(st, wide_to_numeric(st->u.sum, st->scale));
		st->u.sum = 0;
	}
	return st;
}

/*
 * Add v * 10^-dscale to the fixed-point sum; orig is the same value as a
 * numeric datum, or 0 to have it built when it must go to the overflow.
 */
static RfmState *
state_add_wide(RfmState *st, rfm_wide v, int dscale, Datum orig)
{
	const rfm_wide *p10 = pow10_table();
	rfm_wide	s;

	if (dscale > st->scale)
	{
		if (wide_mul_overflow(st->u.sum, p10[dscale - st->scale], &s))
		{
			st = state_flush_sum(st);
			s = 0;
		}
		st->u.sum = s;
		st->scale = dscale;
	}
	else if (dscale < st->scale &&
			 wide_mul_overflow(v, p10[st->scale - dscale], &s))
		return state_add_overflow(st, orig ? orig : wide_to_numeric(v, dscale));
	else if (dscale < st->scale)
		v = s;

	if (wide_add_overflow(st->u.sum, v, &s))
	{
		st = state_flush_sum(st);
		st->u.sum = v;
	}
	else
		st->u.sum = s;
	return st;
}

/* Add one numeric amount exactly. */
static RfmState *
state_add_numeric(RfmState *st, struct varlena *num)
{
	rfm_wide	v;
	int			dscale;
	bool		special;

	if (numeric_to_wide(num, &v, &dscale, &special))
	{
		rfm_wide	sum;

		/* the common case: same scale as the total, no overflow */
		if (dscale == st->scale && !wide_add_overflow(st->u.sum, v, &sum))
		{
			st->u.sum = sum;
			return st;
		}
		return state_add_wide(st, v, dscale, PointerGetDatum(num));
	}
	if (special)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: amount must be finite"),
				 errdetail("An amount of NaN or infinity was found."),
				 errhint("Exclude such rows, or replace the value with NULL to skip the row.")));
	return state_add_overflow(st, PointerGetDatum(num));
}

/* Add one float8 amount (Neumaier's compensated summation). */
static inline void
state_add_float8(RfmState *st, double x)
{
	double		t;

	if (unlikely(isnan(x) || isinf(x)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: amount must be finite"),
				 errdetail("An amount of NaN or infinity was found."),
				 errhint("Exclude such rows, or replace the value with NULL to skip the row.")));
	t = st->u.f.fsum + x;
	if (fabs(st->u.f.fsum) >= fabs(x))
		st->u.f.fcomp += (st->u.f.fsum - t) + x;
	else
		st->u.f.fcomp += (x - t) + st->u.f.fsum;
	st->u.f.fsum = t;
	if (unlikely(isinf(t)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("rfm_summary: total amount out of range for float8"),
				 errhint("Use numeric amounts for totals this large.")));
}

/* Record a purchase day; may return a grown copy of the state. */
static inline RfmState *
state_add_day(RfmState *st, int32 day)
{
	int32	   *days = RFM_DAYS(st);
	int			lo,
				hi;

	if (st->ndays > 0)
	{
		int32		last = days[st->ndays - 1];

		if (day == last)
			return st;
		if (day < last)
		{
			/* binary search for the insertion point */
			lo = 0;
			hi = st->ndays - 1;
			while (lo < hi)
			{
				int			mid = (lo + hi) / 2;

				if (days[mid] < day)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (days[lo] == day)
				return st;
		}
		else
			lo = st->ndays;
	}
	else
		lo = 0;

	if (st->ndays >= st->maxdays)
	{
		st = state_grow(st, st->maxdays * 2, st->overflow_cap);
		days = RFM_DAYS(st);
	}
	if (lo < st->ndays)
		memmove(days + lo + 1, days + lo, (st->ndays - lo) * sizeof(int32));
	days[lo] = day;
	st->ndays++;
	return st;
}

/* ------------------------------------------------------------------------
 * Transition functions
 * ------------------------------------------------------------------------
 */

static inline void
check_as_of(RfmState *st, int64 as_of)
{
	if (unlikely(st->as_of != as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: as_of must be the same for every row of a group"),
				 errhint("Pass a constant such as now() or a literal timestamp.")));
}

static void
not_finite_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("rfm_summary: %s must be finite", what),
			 errdetail("Infinite times have no recency or age."),
			 errhint("Exclude rows with infinite times or use a finite as_of.")));
}

/*
 * The common transition step.  time is in microseconds (dates as days times
 * USECS_PER_DAY), day its local calendar day.  amount is a numeric or float8
 * datum per amount_kind.
 */
static Datum
summary_step(FunctionCallInfo fcinfo, int kind, int amount_kind)
{
	MemoryContext aggcxt;
	RfmState   *st = PG_ARGISNULL(0) ? NULL : (RfmState *) PG_GETARG_POINTER(0);
	int64		as_of;
	int64		t;
	int32		day = 0;
	bool		is_return;
	TzCache    *tzc = NULL;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_summary transition function called in non-aggregate context")));

	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_summary: as_of must not be null"),
				 errhint("Pass the time the summary is taken at, e.g. now().")));

	if (kind == RFM_KIND_TIMESTAMPTZ)
	{
		tzc = (TzCache *) fcinfo->flinfo->fn_extra;
		if (tzc == NULL)
		{
			tzc = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(TzCache));
			tzcache_reset(tzc);
			fcinfo->flinfo->fn_extra = tzc;
		}
		as_of = PG_GETARG_TIMESTAMPTZ(3);
		if (TIMESTAMP_NOT_FINITE(as_of))
			not_finite_error("as_of");
	}
	else
	{
		DateADT		d = PG_GETARG_DATEADT(3);

		if (DATE_NOT_FINITE(d))
			not_finite_error("as_of");
		if (d >= (DateADT) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE))
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("rfm_summary: as_of date out of range"),
					 errdetail("Dates after 294276 AD cannot be summarized.")));
		as_of = (int64) d * USECS_PER_DAY;
	}

	if (st == NULL)
	{
		/*
		 * A new state is returned as a new pointer, which the aggregate
		 * machinery copies into its own context: allocate it in the
		 * short-lived current context so that only that copy remains.
		 */
		st = state_alloc(CurrentMemoryContext, RFM_INITIAL_DAYS, 0);
		st->kind = kind;
		st->amount_kind = amount_kind;
		st->as_of = as_of;
		st->as_of_day = (kind == RFM_KIND_TIMESTAMPTZ) ?
			local_day(tzc, as_of) : (int32) (as_of / USECS_PER_DAY);
	}
	else
		check_as_of(st, as_of);

	/* rows with an unknown time or amount are not orders: skip them */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);

	if (kind == RFM_KIND_TIMESTAMPTZ)
	{
		t = PG_GETARG_TIMESTAMPTZ(1);
		if (TIMESTAMP_IS_NOBEGIN(t))
			not_finite_error("order time");
	}
	else
	{
		DateADT		d = PG_GETARG_DATEADT(1);

		if (DATE_IS_NOBEGIN(d))
			not_finite_error("order time");
		/* a date beyond as_of's range is after as_of: treat it as infinity */
		t = (DATE_IS_NOEND(d) || d >= (DateADT) (TIMESTAMP_END_JULIAN - POSTGRES_EPOCH_JDATE)) ?
			DT_NOEND : (int64) d * USECS_PER_DAY;
	}

	/* rows after as_of do not exist yet at as_of */
	if (t > as_of)
		PG_RETURN_POINTER(st);

	if (amount_kind == RFM_AMOUNT_NUMERIC)
	{
		struct varlena *a = PG_DETOAST_DATUM_PACKED(PG_GETARG_DATUM(2));

		is_return = numeric_packed_is_negative(a);
		st = state_add_numeric(st, a);
	}
	else
	{
		double		a = PG_GETARG_FLOAT8(2);

		is_return = a < 0;
		state_add_float8(st, a);
	}

	if (is_return)
	{
		st->returns++;
		PG_RETURN_POINTER(st);
	}

	if (st->orders == 0)
		st->first_time = st->last_time = t;
	else if (t < st->first_time)
		st->first_time = t;
	else if (t > st->last_time)
		st->last_time = t;
	st->orders++;

	day = (kind == RFM_KIND_TIMESTAMPTZ) ? local_day(tzc, t) : (int32) (t / USECS_PER_DAY);
	st = state_add_day(st, day);
	PG_RETURN_POINTER(st);
}

/*
 * rfm_summary(timestamptz, numeric, timestamptz) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_tz_numeric(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_NUMERIC);
}

/*
 * rfm_summary(timestamptz, float8, timestamptz) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_tz_float8(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_TIMESTAMPTZ, RFM_AMOUNT_FLOAT8);
}

/*
 * rfm_summary(date, numeric, date) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_date_numeric(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_DATE, RFM_AMOUNT_NUMERIC);
}

/*
 * rfm_summary(date, float8, date) transition function.
 * Adds one order (or return, if the amount is negative) to the state.
 */
Datum
rfm_summary_trans_date_float8(PG_FUNCTION_ARGS)
{
	return summary_step(fcinfo, RFM_KIND_DATE, RFM_AMOUNT_FLOAT8);
}

/* ------------------------------------------------------------------------
 * Combine
 * ------------------------------------------------------------------------
 */

/* Merge b's purchase days into a's (both sorted, distinct). */
static RfmState *
state_merge_days(RfmState *a, const RfmState *b)
{
	int32	   *ad,
			   *merged;
	const int32 *bd = RFM_DAYS(b);
	int			i = 0,
				j = 0,
				k = 0;
	int64		need = (int64) a->ndays + b->ndays;

	if (b->ndays == 0)
		return a;
	if (need > a->maxdays)
		a = state_grow(a, (int32) Min(need, (int64) RFM_MAX_DAYS + 1), a->overflow_cap);
	ad = RFM_DAYS(a);
	merged = palloc(need * sizeof(int32));
	while (i < a->ndays && j < b->ndays)
	{
		if (ad[i] < bd[j])
			merged[k++] = ad[i++];
		else if (ad[i] > bd[j])
			merged[k++] = bd[j++];
		else
		{
			merged[k++] = ad[i++];
			j++;
		}
	}
	while (i < a->ndays)
		merged[k++] = ad[i++];
	while (j < b->ndays)
		merged[k++] = bd[j++];
	memcpy(ad, merged, k * sizeof(int32));
	a->ndays = k;
	pfree(merged);
	return a;
}

/*
 * rfm_summary combine function: merges two partial states of one group.
 * Used by parallel aggregation; handles NULL on either side.
 */
Datum
rfm_summary_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt;
	RfmState   *a;
	RfmState   *b;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("rfm_summary combine function called in non-aggregate context")));

	if (PG_ARGISNULL(1))
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		PG_RETURN_DATUM(PG_GETARG_DATUM(0));
	}
	b = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(1));

	if (PG_ARGISNULL(0))
	{
		/* a new pointer: the aggregate machinery copies it into its context */
		PG_RETURN_POINTER(b);
	}
	a = (RfmState *) PG_GETARG_POINTER(0);

	if (a->kind != b->kind || a->amount_kind != b->amount_kind)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("rfm_summary: cannot combine states of different input types")));
	if (a->as_of != b->as_of || a->as_of_day != b->as_of_day)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_summary: as_of must be the same for every row of a group"),
				 errhint("Pass a constant such as now() or a literal timestamp.")));

	if (b->orders > 0)
	{
		if (a->orders == 0)
		{
			a->first_time = b->first_time;
			a->last_time = b->last_time;
		}
		else
		{
			a->first_time = Min(a->first_time, b->first_time);
			a->last_time = Max(a->last_time, b->last_time);
		}
	}
	a->orders += b->orders;
	a->returns += b->returns;

	if (a->amount_kind == RFM_AMOUNT_NUMERIC)
	{
		if (b->u.sum != 0)
			a = state_add_wide(a, b->u.sum, b->scale, (Datum) 0);
		else if (b->scale > a->scale)
			a = state_add_wide(a, 0, b->scale, (Datum) 0);
		if (b->overflow_len > 0)
			a = state_add_overflow(a, PointerGetDatum(RFM_OVERFLOW(b)));
	}
	else
	{
		double		bcomp = b->u.f.fcomp;

		state_add_float8(a, b->u.f.fsum);
		a->u.f.fcomp += bcomp;
	}

	a = state_merge_days(a, b);
	if (a->ndays > RFM_MAX_DAYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("rfm_summary: too many distinct purchase days in one group")));
	PG_RETURN_POINTER(a);
}

/* ------------------------------------------------------------------------
 * Final function
 * ------------------------------------------------------------------------
 */

#define RFM_SUMMARY_NATTS 13

static Datum
time_to_timestamptz(const RfmState *st, int64 t)
{
	if (st->kind == RFM_KIND_DATE)
	{
		int			overflow = 0;
		TimestampTz ts = date2timestamptz_opt_overflow((DateADT) (t / USECS_PER_DAY), &overflow);

		if (overflow != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("rfm_summary: date out of range for timestamptz")));
		return TimestampTzGetDatum(ts);
	}
	return TimestampTzGetDatum((TimestampTz) t);
}

/* The total amount of a state as a numeric datum. */
static Datum
state_monetary(const RfmState *st)
{
	Datum		m;

	if (st->amount_kind == RFM_AMOUNT_FLOAT8)
		return DirectFunctionCall1(float8_numeric,
								   Float8GetDatum(st->u.f.fsum + st->u.f.fcomp));
	m = wide_to_numeric(st->u.sum, st->scale);
	if (st->overflow_len > 0)
		m = DirectFunctionCall2(numeric_add, m,
								PointerGetDatum(RFM_OVERFLOW(st)));
	return m;
}

/*
 * rfm_summary final function: the rfm_summary composite for one customer,
 * or NULL when the group had no order or return on or before as_of.
 */
Datum
rfm_summary_final(PG_FUNCTION_ARGS)
{
	RfmState   *st;
	TupleDesc	tupdesc;
	Datum		values[RFM_SUMMARY_NATTS];
	bool		nulls[RFM_SUMMARY_NATTS];
	Datum		monetary;
	const int32 *days;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	if (st->orders == 0 && st->returns == 0)
		PG_RETURN_NULL();

	tupdesc = (TupleDesc) fcinfo->flinfo->fn_extra;
	if (tupdesc == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);

		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_summary: return type must be a row type");
		tupdesc = BlessTupleDesc(CreateTupleDescCopy(tupdesc));
		MemoryContextSwitchTo(old);
		if (tupdesc->natts != RFM_SUMMARY_NATTS)
			elog(ERROR, "rfm_summary: return type has %d attributes, expected %d",
				 tupdesc->natts, RFM_SUMMARY_NATTS);
		fcinfo->flinfo->fn_extra = tupdesc;
	}

	memset(nulls, 0, sizeof(nulls));
	monetary = state_monetary(st);
	days = RFM_DAYS(st);

	if (st->orders > 0)
	{
		values[0] = Float8GetDatum((double) (st->as_of - st->last_time) / USECS_PER_DAY);
		values[3] = DirectFunctionCall2(numeric_div, monetary,
										DirectFunctionCall1(int8_numeric, Int64GetDatum(st->orders)));
		values[4] = time_to_timestamptz(st, st->first_time);
		values[5] = time_to_timestamptz(st, st->last_time);
		values[6] = Float8GetDatum((double) (st->as_of - st->first_time) / USECS_PER_DAY);
		values[8] = Int32GetDatum(st->ndays - 1);
		values[9] = Float8GetDatum((double) (days[st->ndays - 1] - days[0]));
		values[10] = Float8GetDatum((double) ((int64) st->as_of_day - days[0]));
	}
	else
	{
		nulls[0] = nulls[3] = nulls[4] = nulls[5] = nulls[6] = true;
		nulls[8] = nulls[9] = nulls[10] = true;
	}
	values[1] = Int64GetDatum(st->orders);
	values[2] = monetary;
	values[7] = Int32GetDatum(st->ndays);
	values[11] = Int64GetDatum(st->returns);
	values[12] = time_to_timestamptz(st, st->as_of);

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ------------------------------------------------------------------------
 * rfm_state input/output
 *
 * Binary form (send/recv), all integers in network byte order:
 *   uint8 version, uint8 kind, uint8 amount_kind,
 *   int64 as_of, int32 as_of_day, int64 orders, int64 returns,
 *   int64 first_time, int64 last_time,
 *   int32 scale, text sum (decimal integer), float8 fsum, float8 fcomp,
 *   text overflow (a numeric literal, empty when none),
 *   int32 ndays, ndays x int32 day numbers (strictly increasing).
 * The text form is the binary form in hexadecimal.
 * ------------------------------------------------------------------------
 */

static void
state_serialize(StringInfo buf, const RfmState *st)
{
	char		digits[64];

	pq_sendbyte(buf, st->version);
	pq_sendbyte(buf, st->kind);
	pq_sendbyte(buf, st->amount_kind);
	pq_sendint64(buf, st->as_of);
	pq_sendint32(buf, st->as_of_day);
	pq_sendint64(buf, st->orders);
	pq_sendint64(buf, st->returns);
	pq_sendint64(buf, st->first_time);
	pq_sendint64(buf, st->last_time);
	pq_sendint32(buf, st->scale);
	if (st->amount_kind == RFM_AMOUNT_NUMERIC)
	{
		pq_sendstring(buf, wide_to_cstring(st->u.sum, 0, digits));
		pq_sendfloat8(buf, 0.0);
		pq_sendfloat8(buf, 0.0);
	}
	else
	{
		pq_sendstring(buf, "0");
		pq_sendfloat8(buf, st->u.f.fsum);
		pq_sendfloat8(buf, st->u.f.fcomp);
	}
	if (st->overflow_len > 0)
		pq_sendstring(buf, DatumGetCString(DirectFunctionCall1(numeric_out,
															   PointerGetDatum(RFM_OVERFLOW(st)))));
	else
		pq_sendstring(buf, "");
	pq_sendint32(buf, st->ndays);
	for (int i = 0; i < st->ndays; i++)
		pq_sendint32(buf, RFM_DAYS(st)[i]);
}

static void
bad_state(int code, const char *detail)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("invalid rfm_state value"),
			 errdetail("%s", detail)));
}

static RfmState *
state_deserialize(StringInfo buf, int code)
{
	RfmState   *st;
	int			version,
				kind,
				amount_kind;
	int64		as_of,
				orders,
				returns,
				first_time,
				last_time;
	int32		as_of_day,
				scale,
				ndays;
	const char *digits;
	const char *overflow;
	double		fsum,
				fcomp;
	rfm_wide	sum = 0;
	bool		neg = false;
	const char *c;

	version = pq_getmsgbyte(buf);
	if (version != RFM_STATE_VERSION)
		bad_state(code, "Unknown version.");
	kind = pq_getmsgbyte(buf);
	amount_kind = pq_getmsgbyte(buf);
	if ((kind != RFM_KIND_TIMESTAMPTZ && kind != RFM_KIND_DATE) ||
		(amount_kind != RFM_AMOUNT_NUMERIC && amount_kind != RFM_AMOUNT_FLOAT8))
		bad_state(code, "Unknown input kind.");
	as_of = pq_getmsgint64(buf);
	as_of_day = pq_getmsgint(buf, 4);
	orders = pq_getmsgint64(buf);
	returns = pq_getmsgint64(buf);
	first_time = pq_getmsgint64(buf);
	last_time = pq_getmsgint64(buf);
	scale = pq_getmsgint(buf, 4);
	digits = pq_getmsgstring(buf);
	fsum = pq_getmsgfloat8(buf);
	fcomp = pq_getmsgfloat8(buf);
	overflow = pq_getmsgstring(buf);
	ndays = pq_getmsgint(buf, 4);

	if (orders < 0 || returns < 0)
		bad_state(code, "Negative counts.");
	if (scale < 0 || scale > RFM_WIDE_MAX_SCALE)
		bad_state(code, "Scale out of range.");
	if (!isfinite(fsum) || !isfinite(fcomp))
		bad_state(code, "Non-finite float sum.");
	if (ndays < 0 || ndays > RFM_MAX_DAYS || (int64) ndays > orders ||
		(int64) ndays * 4 != (int64) (buf->len - buf->cursor))
		bad_state(code, "Wrong number of purchase days.");
	if ((orders > 0) != (ndays > 0))
		bad_state(code, "Orders without purchase days.");
	if (orders > 0 && (first_time > last_time || last_time > as_of))
		bad_state(code, "Order times out of order.");

	c = digits;
	if (*c == '-')
	{
		neg = true;
		c++;
	}
	if (*c == '\0')
		bad_state(code, "Empty sum.");
	for (; *c; c++)
	{
		if (*c < '0' || *c > '9' ||
			wide_mul_overflow(sum, 10, &sum) ||
			wide_add_overflow(sum, neg ? -(*c - '0') : (*c - '0'), &sum))
			bad_state(code, "Invalid sum.");
	}

	st = state_alloc(CurrentMemoryContext, Max(ndays, RFM_INITIAL_DAYS), 0);
	st->kind = kind;
	st->amount_kind = amount_kind;
	st->as_of = as_of;
	st->as_of_day = as_of_day;
	st->orders = orders;
	st->returns = returns;
	st->first_time = first_time;
	st->last_time = last_time;
	st->scale = scale;
	if (amount_kind == RFM_AMOUNT_NUMERIC)
		st->u.sum = sum;
	else
	{
		if (sum != 0)
			bad_state(code, "A fixed-point sum in a float8 state.");
		st->u.f.fsum = fsum;
		st->u.f.fcomp = fcomp;
	}
	for (int i = 0; i < ndays; i++)
	{
		int32		d = pq_getmsgint(buf, 4);

		if (i > 0 && d <= RFM_DAYS(st)[i - 1])
			bad_state(code, "Purchase days are not strictly increasing.");
		RFM_DAYS(st)[i] = d;
	}
	st->ndays = ndays;
	if (*overflow != '\0')
	{
		Datum		num = DirectFunctionCall3(numeric_in, CStringGetDatum(overflow),
											  ObjectIdGetDatum(InvalidOid),
											  Int32GetDatum(-1));

		if (numeric_is_nan(DatumGetNumeric(num)))
			bad_state(code, "Invalid overflow total.");
		st = state_add_overflow(st, num);
	}
	pq_getmsgend(buf);
	return st;
}

/*
 * rfm_state_send: binary output of the aggregate state.
 * Portable across platforms (network byte order, numbers as text).
 */
Datum
rfm_state_send(PG_FUNCTION_ARGS)
{
	RfmState   *st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	state_serialize(&buf, st);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * rfm_state_recv: binary input of the aggregate state.
 * Checks every field, so a damaged value is rejected, not trusted.
 */
Datum
rfm_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);

	PG_RETURN_POINTER(state_deserialize(buf, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

/*
 * rfm_state_out: text output of the aggregate state (hex of the binary form).
 * Lets engines that ship partial aggregates as text move it between nodes.
 */
Datum
rfm_state_out(PG_FUNCTION_ARGS)
{
	RfmState   *st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;
	char	   *out;
	static const char hex[] = "0123456789abcdef";

	initStringInfo(&buf);
	state_serialize(&buf, st);
	out = palloc(buf.len * 2 + 1);
	for (int i = 0; i < buf.len; i++)
	{
		out[2 * i] = hex[((unsigned char) buf.data[i]) >> 4];
		out[2 * i + 1] = hex[((unsigned char) buf.data[i]) & 0xF];
	}
	out[buf.len * 2] = '\0';
	PG_RETURN_CSTRING(out);
}

static inline int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * rfm_state_in: text input of the aggregate state.
 * Accepts what rfm_state_out writes and validates it like rfm_state_recv.
 */
Datum
rfm_state_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		len = strlen(s);
	StringInfoData buf;

	if (len % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state"),
				 errdetail("The value must be an even number of hexadecimal digits.")));
	initStringInfo(&buf);
	for (size_t i = 0; i < len; i += 2)
	{
		int			hi = hexval(s[i]),
					lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type rfm_state"),
					 errdetail("The value must consist of hexadecimal digits.")));
		appendStringInfoChar(&buf, (char) ((hi << 4) | lo));
	}
	PG_RETURN_POINTER(state_deserialize(&buf, ERRCODE_INVALID_TEXT_REPRESENTATION));
}
