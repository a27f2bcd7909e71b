/*
 * numeric_fast.c
 *		A numeric's value as a double, and in millionths, without printing
 *		it: for the million revenues of a model's refresh.
 *
 * numeric_float8 prints the numeric and reads the text back (strtod: the
 * double nearest the decimal value).  When the value is an integer N of at
 * most 53 bits times a power of ten 10^-F with F <= 22 (both exact as
 * doubles), one division (or multiplication) gives that same nearest
 * double, as IEEE arithmetic rounds exactly.  The digits are read from the
 * numeric's stored form (base-10000 digits, a weight and a display scale,
 * in a short or a long header: the on-disk format PostgreSQL keeps across
 * versions); anything else -- NaN, infinities, more digits, a value stored
 * out of line or compressed -- goes through numeric_float8.
 */
#include "rfm.h"

#include "utils/fmgrprotos.h"

#define NUM_SIGN_MASK			0xC000
#define NUM_NEG					0x4000
#define NUM_SHORT				0x8000
#define NUM_SPECIAL				0xC000
#define NUM_SHORT_SIGN_MASK		0x2000
#define NUM_SHORT_DSCALE_MASK	0x1F80
#define NUM_SHORT_DSCALE_SHIFT	7
#define NUM_SHORT_WEIGHT_SIGN	0x0040
#define NUM_SHORT_WEIGHT_MASK	0x003F
#define NUM_DSCALE_MASK			0x3FFF

#define EXACT_BITS	53
#define UNITS		6

static const double pow10d[23] = {
	1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
	1e18, 1e19, 1e20, 1e21, 1e22
};

/*
 * The value of the numeric d as numeric_float8 gives it, into *f; and, when
 * it has at most 6 digits after the point (its display scale), exactly in
 * millionths into *units with the display scale into *dscale (*exact:
 * whether those are set).
 */
void
rfm_numeric_parts(Datum d, double *f, int64 *units, int16 *dscale, bool *exact)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(d);
	const char *p;
	int			len;
	uint16		h;
	bool		neg;
	int			weight,
				scale,
				ndigits,
				frac;
	const char *digits;
	uint64		n = 0;
	bool		fits = true;

	*exact = false;
	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v))
		goto slow;
	p = VARDATA_ANY(v);
	len = VARSIZE_ANY_EXHDR(v);
	if (len < (int) sizeof(uint16))
		goto slow;
	memcpy(&h, p, sizeof(h));
	if ((h & NUM_SIGN_MASK) == NUM_SPECIAL)
		goto slow;
	if (h & NUM_SHORT)
	{
		neg = (h & NUM_SHORT_SIGN_MASK) != 0;
		scale = (h & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
		weight = (int) (int16) (((h & NUM_SHORT_WEIGHT_SIGN) ? ~NUM_SHORT_WEIGHT_MASK : 0) |
								(h & NUM_SHORT_WEIGHT_MASK));
		digits = p + sizeof(uint16);
		ndigits = (len - (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	else
	{
		int16		w;

		if (len < 2 * (int) sizeof(uint16))
			goto slow;
		neg = (h & NUM_SIGN_MASK) == NUM_NEG;
		scale = h & NUM_DSCALE_MASK;
		memcpy(&w, p + sizeof(uint16), sizeof(w));
		weight = w;
		digits = p + 2 * sizeof(uint16);
		ndigits = (len - 2 * (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	/* N: the digits as one integer; the value is N * 10^-frac */
	for (int i = 0; i < ndigits && fits; i++)
	{
		int16		dig;

		memcpy(&dig, digits + i * sizeof(int16), sizeof(dig));
		if (dig < 0 || dig >= 10000)
			goto slow;
		fits = n < (UINT64CONST(1) << EXACT_BITS) / 10000 + 1;
		n = n * 10000 + (uint64) dig;
	}
	if (!fits || n >= (UINT64CONST(1) << EXACT_BITS))
		goto slow;
	frac = ndigits == 0 ? 0 : 4 * (ndigits - 1 - weight);
	if (frac >= 0 && frac <= 22)
		*f = (double) n / pow10d[frac];
	else if (frac < 0 && -frac <= 22 && (double) n * pow10d[-frac] < (double) (UINT64CONST(1) << EXACT_BITS))
		*f = (double) n * pow10d[-frac];
	else
		goto slow;
	if (neg)
		*f = -*f;

	/* millionths: at most 6 digits after the point, and room for them */
	if (scale <= UNITS)
	{
		uint64		u = n;
		bool		ok = true;

		if (frac > UNITS)
		{
			/* (the digits past the display scale are zeros) */
			for (int k = frac; k > UNITS; k--)
				u /= 10;
		}
		else
			for (int k = frac; k < UNITS && ok; k++)
			{
				ok = u < (UINT64CONST(1) << 62) / 10;
				u *= 10;
			}
		if (ok && u < (UINT64CONST(1) << 62))
		{
			*units = neg ? -(int64) u : (int64) u;
			*dscale = (int16) scale;
			*exact = true;
		}
	}
	return;

slow:
	*f = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
}
