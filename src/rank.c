/*
 * rank.c
 *		rfm_model_rank: a customer's rank in a model's _customers view,
 *		computed where it is read from the population's keys.
 *
 * A model's table keeps, per customer, its tie: its place among the
 * customers of an equal key (revenue as a float, or profit), from 0.  Its
 * rank is then 1 + the number of greater keys + the tie, and the keys, all
 * customers' in descending order, are one array of the refresh (one row of
 * the model's $rnk table).  So a refresh that changes a few customers
 * rewrites their rows and the array, not the ranks of everyone below them.
 *
 * An incremental refresh that keeps the table does not write a million keys
 * again: the keys stay, and two short arrays say which keys went since
 * (the old keys of the customers read again) and which came (their new
 * ones); the rank counts the greater keys of the first, less those of the
 * second, plus those of the third.
 *
 * The arrays are read once per query: the function remembers the last ones
 * it was given (an on-disk value by its TOAST pointer, a small one by its
 * bytes) and, for the keys, where each of 65,536 ranges of them starts, so
 * that a lookup searches a few keys.  Keys compare as float8 does: -0 equals
 * 0, NaN is above everything and equals NaN.
 */
#include "rfm.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(rfm_model_rank);

#define RANK_BUCKET_BITS 16

/* one array of keys, as last given */
typedef struct KeysCache
{
	char	   *ident;			/* the value's TOAST pointer or bytes */
	Size		ident_len;
	ArrayType  *arr;
	const double *keys;
	int64		n;
	int64	   *start;			/* start[b]: the first key whose bucket is >= b (NULL: none) */
} KeysCache;

typedef struct RankCache
{
	KeysCache	k[3];			/* the keys, those removed since, those added since */
} RankCache;

/* order-reversing image: larger keys (NaN largest) get smaller images; -0 as 0 */
static inline uint64
image_desc(double d)
{
	return ~rfm_double_image(d + 0.0);
}

static void
keys_load(KeysCache *c, MemoryContext cxt, struct varlena *raw, bool buckets)
{
	bool		ondisk = VARATT_IS_EXTERNAL_ONDISK(raw);
	Size		len = ondisk ? VARSIZE_EXTERNAL(raw) : VARSIZE_ANY(raw);
	MemoryContext old;
	int64		nb = INT64CONST(1) << RANK_BUCKET_BITS;

	if (c->ident != NULL && c->ident_len == len && memcmp(c->ident, raw, len) == 0)
		return;
	if (c->ident != NULL)
	{
		pfree(c->ident);
		pfree(c->arr);
		if (c->start != NULL)
			pfree(c->start);
		c->ident = NULL;
		c->start = NULL;
	}
	old = MemoryContextSwitchTo(cxt);
	c->arr = (ArrayType *) PG_DETOAST_DATUM_COPY(PointerGetDatum(raw));
	if (ARR_NDIM(c->arr) > 1 || ARR_HASNULL(c->arr) || ARR_ELEMTYPE(c->arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_model_rank: keys must be one-dimensional float8 arrays without NULLs")));
	c->n = ARR_NDIM(c->arr) == 0 ? 0 : ARR_DIMS(c->arr)[0];
	c->keys = (const double *) ((char *) c->arr + ARR_OVERHEAD_NONULLS(ARR_NDIM(c->arr)));
	for (int64 i = 1; i < c->n; i++)
		if (image_desc(c->keys[i]) < image_desc(c->keys[i - 1]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("rfm_model_rank: keys must be in descending order")));
	if (buckets)
	{
		int64		i = 0;

		c->start = palloc(sizeof(int64) * (nb + 1));
		for (int64 b = 0; b <= nb; b++)
		{
			while (i < c->n && (int64) (image_desc(c->keys[i]) >> (64 - RANK_BUCKET_BITS)) < b)
				i++;
			c->start[b] = i;
		}
	}
	c->ident = palloc(len);
	memcpy(c->ident, raw, len);
	c->ident_len = len;
	MemoryContextSwitchTo(old);
}

/* how many of the keys are greater than the key of image u */
static int64
keys_greater(const KeysCache *c, uint64 u)
{
	int64		lo = 0,
				hi = c->n;

	if (c->start != NULL)
	{
		int64		b = (int64) (u >> (64 - RANK_BUCKET_BITS));

		lo = c->start[b];
		hi = c->start[b + 1];
	}
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (image_desc(c->keys[mid]) < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * rfm_model_rank(keys float8[], removed float8[], added float8[], key
 * float8, tie integer) -> bigint: 1 + the number of keys greater than key,
 * less those of removed, plus those of added, + tie.
 */
Datum
rfm_model_rank(PG_FUNCTION_ARGS)
{
	RankCache  *c = (RankCache *) fcinfo->flinfo->fn_extra;
	double		key = PG_GETARG_FLOAT8(3);
	int32		tie = PG_GETARG_INT32(4);
	uint64		u = image_desc(key);
	int64		rank;

	if (tie < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_model_rank: tie must not be negative")));
	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RankCache));
		fcinfo->flinfo->fn_extra = c;
	}
	for (int a = 0; a < 3; a++)
		keys_load(&c->k[a], fcinfo->flinfo->fn_mcxt, (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(a)), a == 0);
	rank = 1 + keys_greater(&c->k[0], u) - keys_greater(&c->k[1], u) + keys_greater(&c->k[2], u) + tie;
	PG_RETURN_INT64(rank);
}
