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
 * versions).  With more digits (an average order value has 16 or more), N
 * up to 128 bits and F <= 22: the quotient computed in doubles is within
 * two units in the last place of the nearest double; it is then moved to
 * the double whose rounding interval holds N * 10^-F, found by comparing
 * the exact value with the midpoints between doubles in 128-bit integers
 * (ties to even, as strtod rounds).  Anything else -- NaN, infinities,
 * values that do not fit those bounds, a value stored out of line or
 * compressed -- goes through numeric_float8.
 */
#include "rfm.h"

#include "utils/fmgrprotos.h"

#include <float.h>
#include <math.h>

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

#ifdef HAVE_INT128
/* the number of bits of x (0 for 0) */
static int
bits128(uint128 x)
{
	uint64		hi = (uint64) (x >> 64);

	return hi != 0 ? 128 - __builtin_clzll(hi) : (uint64) x != 0 ? 64 - __builtin_clzll((uint64) x) : 0;
}

static uint128
pow10_128(int f)
{
	uint128		p = 1;

	while (f-- > 0)
		p *= 10;
	return p;
}

/*
 * The sign of n * 10^-f - m * 2^e (n, m > 0; f >= 0); false when the
 * products would not fit in 127 bits.
 */
static bool
cmp_dyadic(uint128 n, int f, uint64 m, int e, int *sign)
{
	uint128		a = n,
				b = m;
	uint128		p = pow10_128(f);
	int			pb = bits128(p);

	/* n vs m * 2^e * 10^f: shift the side that e favours */
	if (e < 0)
	{
		if (bits128(a) - e > 127)
			return false;
		a <<= -e;
	}
	else
	{
		if (bits128(b) + e > 127)
			return false;
		b <<= e;
	}
	if (bits128(b) + pb > 127)
		return false;
	b *= p;
	*sign = (a > b) - (a < b);
	return true;
}

/* the midpoint between x (> 0, normal) and the next double up: m * 2^e, m odd */
static void
midpoint_up(double x, uint64 *m, int *e)
{
	int			ex;
	double		fr = frexp(x, &ex);
	uint64		s = (uint64) ldexp(fr, 53);

	*m = 2 * s + 1;
	*e = ex - 53 - 1;
}

/*
 * The double nearest n * 10^-f (n > 0, 0 <= f <= 22), ties to even, into
 * *out; false when the bounds of the integers do not hold (then the caller
 * goes the slow way).
 */
static bool
nearest_double(uint128 n, int f, double *out)
{
	double		c = (double) n / pow10d[f];

	for (int step = 0; step < 4; step++)
	{
		double		lo = nextafter(c, 0);
		uint64		m;
		int			e,
					up,
					down;

		if (!isfinite(c) || c < DBL_MIN || lo < DBL_MIN)
			return false;
		midpoint_up(c, &m, &e);
		if (!cmp_dyadic(n, f, m, e, &up))
			return false;
		midpoint_up(lo, &m, &e);
		if (!cmp_dyadic(n, f, m, e, &down))
			return false;
		if (up > 0)
			c = nextafter(c, INFINITY);
		else if (down < 0)
			c = lo;
		else
		{
			/* within c's interval; on a midpoint, the even one of the two */
			int			ex;

			if (up == 0 && ((uint64) ldexp(frexp(c, &ex), 53) & 1))
				c = nextafter(c, INFINITY);
			else if (down == 0 && ((uint64) ldexp(frexp(c, &ex), 53) & 1))
				c = lo;
			*out = c;
			return true;
		}
	}
	return false;
}
#endif

bool
rfm_numeric_form(const struct varlena *num, RfmNumericForm *f, bool *special)
{
	const char *p = VARDATA_ANY(num);
	int			len = VARSIZE_ANY_EXHDR(num);
	uint16		h;

	*special = false;
	if (len < (int) sizeof(uint16))
		return false;
	memcpy(&h, p, sizeof(h));
	if ((h & NUM_SIGN_MASK) == NUM_SPECIAL)
	{
		*special = true;
		return false;
	}
	if (h & NUM_SHORT)
	{
		f->neg = (h & NUM_SHORT_SIGN_MASK) != 0;
		f->dscale = (h & NUM_SHORT_DSCALE_MASK) >> NUM_SHORT_DSCALE_SHIFT;
		f->weight = (int) (int16) (((h & NUM_SHORT_WEIGHT_SIGN) ? ~NUM_SHORT_WEIGHT_MASK : 0) |
								   (h & NUM_SHORT_WEIGHT_MASK));
		f->digits = p + sizeof(uint16);
		f->ndigits = (len - (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	else
	{
		int16		w;

		if (len < 2 * (int) sizeof(uint16))
			return false;
		f->neg = (h & NUM_SIGN_MASK) == NUM_NEG;
		f->dscale = h & NUM_DSCALE_MASK;
		memcpy(&w, p + sizeof(uint16), sizeof(w));
		f->weight = w;
		f->digits = p + 2 * sizeof(uint16);
		f->ndigits = (len - 2 * (int) sizeof(uint16)) / (int) sizeof(int16);
	}
	return true;
}

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
	RfmNumericForm form;
	bool		special;
	int			frac;
	uint64		n = 0;
	bool		fits = true;
#ifdef HAVE_INT128
	uint128		wide = 0;
	bool		wide_fits = true;
#endif

	*exact = false;
	if (VARATT_IS_EXTERNAL(v) || VARATT_IS_COMPRESSED(v) || !rfm_numeric_form(v, &form, &special))
		goto slow;
	/* N: the digits as one integer; the value is N * 10^-frac */
	for (int i = 0; i < form.ndigits; i++)
	{
		int16		dig;

		memcpy(&dig, form.digits + i * sizeof(int16), sizeof(dig));
		if (dig < 0 || dig >= 10000)
			goto slow;
		if (fits)
		{
			fits = n < (UINT64CONST(1) << EXACT_BITS) / 10000 + 1;
			n = n * 10000 + (uint64) dig;
		}
#ifdef HAVE_INT128
		wide_fits = wide_fits && bits128(wide) <= 110;
		wide = wide * 10000 + (uint64) dig;
#endif
	}
	frac = form.ndigits == 0 ? 0 : 4 * (form.ndigits - 1 - form.weight);
	if (!fits || n >= (UINT64CONST(1) << EXACT_BITS))
	{
#ifdef HAVE_INT128
		if (wide_fits && frac >= 0 && frac <= 22 && nearest_double(wide, frac, f))
		{
			if (form.neg)
				*f = -*f;
			return;
		}
#endif
		goto slow;
	}
	if (frac >= 0 && frac <= 22)
		*f = (double) n / pow10d[frac];
	else if (frac < 0 && -frac <= 22 && (double) n * pow10d[-frac] < (double) (UINT64CONST(1) << EXACT_BITS))
		*f = (double) n * pow10d[-frac];
	else
		goto slow;
	if (form.neg)
		*f = -*f;

	/* millionths: at most 6 digits after the point, and room for them */
	if (form.dscale <= UNITS)
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
			*units = form.neg ? -(int64) u : (int64) u;
			*dscale = (int16) form.dscale;
			*exact = true;
		}
	}
	return;

slow:
	*f = DatumGetFloat8(DirectFunctionCall1(numeric_float8, d));
}

/*
 * rfm_numeric_to_float8(numeric) -> float8: rfm_numeric_parts' double, for
 * the tests, which compare it with numeric_float8 (not part of the
 * extension's SQL: a test creates it for itself).
 */
PG_FUNCTION_INFO_V1(rfm_numeric_to_float8);
Datum
rfm_numeric_to_float8(PG_FUNCTION_ARGS)
{
	double		f;
	int64		u;
	int16		d;
	bool		e;

	rfm_numeric_parts(PG_GETARG_DATUM(0), &f, &u, &d, &e);
	PG_RETURN_FLOAT8(f);
}
