/*
 * summary_money.c
 *		Exact sums of money for the rfm_state: a 128-bit fixed-point total
 *		with an overflow numeric, Neumaier sums for float8, and the
 *		allocation and growth of a state.
 *
 * Money over numeric is summed exactly.  The fast path keeps the running total
 * as a 128-bit integer at a decimal scale (the largest scale seen so far); a
 * value or total that does not fit there is added into an overflow numeric
 * kept in the state, so no input is ever rounded.  Amounts over float8 are
 * summed with Neumaier's compensated summation.
 */
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "summary.h"

/* ------------------------------------------------------------------------
 * Exact numeric sums
 * ------------------------------------------------------------------------
 */

const rfm_wide *
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
	RfmNumericForm f;
	rfm_wide	acc = 0;
	int			shift;
	int			i;
	const rfm_wide *p10 = pow10_table();

	if (!rfm_numeric_form(num, &f, special))
		return false;
	*dscale = f.dscale;

	/* the scale first: a zero of a huge scale must keep it, in the overflow */
	if (*dscale > RFM_WIDE_MAX_SCALE || f.ndigits * 4 > RFM_WIDE_DIGITS)
		return false;
	if (f.ndigits == 0)
	{
		*val = 0;
		return true;
	}

	for (i = 0; i < f.ndigits; i++)
	{
		int16		d;

		memcpy(&d, f.digits + i * sizeof(int16), sizeof(int16));
		acc = acc * 10000 + d;	/* cannot overflow: f.ndigits * 4 <= RFM_WIDE_DIGITS */
	}

	/* acc = value * 10000^(f.ndigits - 1 - f.weight); want value * 10^dscale */
	shift = *dscale - 4 * (f.ndigits - 1 - f.weight);
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
	*val = f.neg ? -acc : acc;
	return true;
}

/* Is a numeric in storage format (see above) below zero? */
bool
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
char *
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

Datum
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

RfmState *
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
RfmState *
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
RfmState *
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
RfmState *
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
RfmState *
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
void
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


/*
 * An amount (numeric datum, possibly packed, or float8) as a float8: for the
 * value of the first purchase day, which only feeds a float8 mean.
 */
double
amount_to_float8(int amount_kind, Datum amount)
{
	struct varlena *num;
	rfm_wide	v;
	int			dscale;
	bool		special;

	if (amount_kind == RFM_AMOUNT_FLOAT8)
		return DatumGetFloat8(amount);
	num = (struct varlena *) DatumGetPointer(amount);
	if (numeric_to_wide(num, &v, &dscale, &special))
		return (double) v / (double) pow10_table()[dscale];
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  PointerGetDatum(PG_DETOAST_DATUM(amount))));
}
