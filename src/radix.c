/*
 * radix.c
 *		Sorting many doubles by their bits: an LSD radix sort on an
 *		order-preserving 64-bit image of each value, one byte per pass, for
 *		the population sorts of a model's refresh (a million customers'
 *		recency, frequency and revenue, and the ranks).  A comparison sort
 *		makes about 20 comparisons per value there; this makes at most 8
 *		passes, and skips the bytes that every value shares.
 *
 * The image orders as the values compare (-0.0 just before +0.0, NaN after
 * everything, as PostgreSQL orders float8), and the sort is stable.
 *
 * btyd_sort_rows sorts the distinct rows of a model fit the same way, by
 * their three values.
 */
#include "btyd.h"

#include "miscadmin.h"

/* the order-preserving image of a double (rfm.h) */
#define image(d) rfm_double_image(d)

static inline double
value_of(uint64 u)
{
	double		d;

	u = (u >> 63) ? (u & ~(UINT64CONST(1) << 63)) : ~u;
	memcpy(&d, &u, sizeof(d));
	return d;
}

/*
 * The counts of one byte's 256 digits become where each digit's run starts
 * in the output of the pass; false when every value has the digit of
 * `first` (the pass would move nothing).  The passes can take long: they
 * check for interrupts.
 */
static bool
digit_starts(size_t *c, int first, size_t n)
{
	size_t		sum = 0;

	if (c[first] == n)
		return false;
	CHECK_FOR_INTERRUPTS();
	for (int d = 0; d < 256; d++)
	{
		size_t		t = c[d];

		c[d] = sum;
		sum += t;
	}
	return true;
}

/* the counts of each byte's 256 digits over n images (8 x 256) */
static size_t *
digit_counts(const uint64 *k, size_t n)
{
	size_t	   *count = palloc0(sizeof(size_t) * 8 * 256);

	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++)
			count[b * 256 + ((k[i] >> (8 * b)) & 0xff)]++;
	return count;
}

/*
 * Sort n (image, payload) pairs ascending by image, stably; scratch holds
 * room for n more of each.  The result is left in key[] and pay[].
 */
static void
radix_pairs(uint64 *key, int64 *pay, uint64 *key_scratch, int64 *pay_scratch, size_t n)
{
	size_t	   *count = digit_counts(key, n);
	uint64	   *k = key,
			   *k2 = key_scratch;
	int64	   *p = pay,
			   *p2 = pay_scratch;

	for (int b = 0; b < 8; b++)
	{
		size_t	   *c = count + b * 256;

		if (!digit_starts(c, (k[0] >> (8 * b)) & 0xff, n))
			continue;
		for (size_t i = 0; i < n; i++)
		{
			size_t		j = c[(k[i] >> (8 * b)) & 0xff]++;

			k2[j] = k[i];
			p2[j] = p[i];
		}
		{
			uint64	   *tk = k;
			int64	   *tp = p;

			k = k2, k2 = tk;
			p = p2, p2 = tp;
		}
	}
	if (k != key)
	{
		memcpy(key, k, sizeof(uint64) * n);
		memcpy(pay, p, sizeof(int64) * n);
	}
	pfree(count);
}

/* order[n] by the first n keys of key[2n] (the rest is scratch); frees key */
static void
order_by_keys(uint64 *key, size_t n, int64 *order)
{
	int64	   *scratch = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * n);

	for (size_t i = 0; i < n; i++)
		order[i] = (int64) i;
	radix_pairs(key, order, key + n, scratch, n);
	pfree(key);
	pfree(scratch);
}

/*
 * The order of n values into order[n] (order[r] is the index of the value
 * of rank r), ascending or descending; equal values (the same bits) keep
 * their index order.
 */
void
rfm_radix_order(const double *v, size_t n, bool descending, int64 *order)
{
	uint64	   *key;

	if (n == 0)
		return;
	key = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * n * 2);
	for (size_t i = 0; i < n; i++)
		key[i] = descending ? ~image(v[i]) : image(v[i]);
	order_by_keys(key, n, order);
}

/*
 * The ascending order of n integers into order[n], as rfm_radix_order's;
 * for integer customers (no two equal), whose order a model's summary
 * rows take.
 */
void
rfm_radix_order_int64(const int64 *v, size_t n, int64 *order)
{
	uint64	   *key;

	if (n == 0)
		return;
	key = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * n * 2);
	for (size_t i = 0; i < n; i++)
		key[i] = ((uint64) v[i]) ^ (UINT64CONST(1) << 63);
	order_by_keys(key, n, order);
}

/* Sort n images ascending; scratch holds room for n more.  The result is left in key[]. */
static void
radix_keys(uint64 *key, uint64 *scratch, size_t n)
{
	size_t	   *count = digit_counts(key, n);
	uint64	   *k = key,
			   *k2 = scratch;

	for (int b = 0; b < 8; b++)
	{
		size_t	   *c = count + b * 256;

		if (!digit_starts(c, (k[0] >> (8 * b)) & 0xff, n))
			continue;
		for (size_t i = 0; i < n; i++)
			k2[c[(k[i] >> (8 * b)) & 0xff]++] = k[i];
		{
			uint64	   *t = k;

			k = k2, k2 = t;
		}
	}
	if (k != key)
		memcpy(key, k, sizeof(uint64) * n);
	pfree(count);
}

/*
 * Sort n doubles ascending, in place: their images are sorted where they
 * are (one scratch array, no payload: a million values fault in 8 MB of
 * new memory, not 32).
 */
void
rfm_radix_sort_doubles(double *v, size_t n)
{
	uint64	   *key = (uint64 *) v;
	uint64	   *scratch;

	StaticAssertStmt(sizeof(uint64) == sizeof(double), "a double's image must fill its place");
	if (n < 2)
		return;
	scratch = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(uint64) * n);
	for (size_t i = 0; i < n; i++)
		key[i] = image(v[i]);
	radix_keys(key, scratch, n);
	for (size_t i = 0; i < n; i++)
		v[i] = value_of(key[i]);
	pfree(scratch);
}

/* the image of a row's field f (0: x, 1: v, 2: T), -0.0 taken as +0.0 */
static inline uint64
row_image(const BtydRow *row, int f)
{
	return image((f == 0 ? row->x : f == 1 ? row->v : row->T) + 0.0);
}

/*
 * Sort the distinct rows of a fit ascending by (x, v, T), the order the
 * likelihoods sum them in: whole rows, least significant byte of T first,
 * skipping the bytes that every row shares (T of Gamma-Gamma, the low bytes
 * of whole numbers x).  With -0.0 taken as +0.0 the images compare as the
 * values do under <, and the rows are distinct under ==, so this is the one
 * order a comparison sort by (x, v, T) gives too: a million rows in 10 to
 * 18 passes took a third to a half of pg_qsort's time.
 */
void
btyd_sort_rows(BtydRow *rows, size_t n)
{
	size_t	   *count;
	BtydRow    *a = rows,
			   *b;

	if (n < 2)
		return;
	count = palloc0(sizeof(size_t) * 3 * 8 * 256);
	b = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(BtydRow) * n);
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < 3; f++)
		{
			uint64		k = row_image(&rows[i], f);

			for (int byte = 0; byte < 8; byte++)
				count[(f * 8 + byte) * 256 + ((k >> (8 * byte)) & 0xff)]++;
		}
	for (int f = 2; f >= 0; f--)
		for (int byte = 0; byte < 8; byte++)
		{
			size_t	   *c = count + (f * 8 + byte) * 256;
			int			shift = 8 * byte;

			if (!digit_starts(c, (row_image(&a[0], f) >> shift) & 0xff, n))
				continue;
			for (size_t i = 0; i < n; i++)
				b[c[(row_image(&a[i], f) >> shift) & 0xff]++] = a[i];
			{
				BtydRow    *t = a;

				a = b, b = t;
			}
		}
	if (a != rows)
	{
		memcpy(rows, a, sizeof(BtydRow) * n);
		b = a;
	}
	pfree(b);
	pfree(count);
}
