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
 * The array is read once per query: the function remembers the last one it
 * was given (an on-disk value by its TOAST pointer, a small one by its
 * bytes) and, for it, where each of 65,536 ranges of keys starts, so that a
 * lookup searches a few keys.  Keys compare as float8 does: -0 equals 0,
 * NaN is above everything and equals NaN.
 */
#include "rfm.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/float.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(rfm_model_rank);

#define RANK_BUCKET_BITS 16

typedef struct RankCache
{
	char	   *ident;			/* the value's TOAST pointer or bytes */
	Size		ident_len;
	ArrayType  *arr;
	const double *keys;
	int64		n;
	int64	   *start;			/* start[b]: the first key whose bucket is >= b */
} RankCache;

/* order-reversing image: larger keys (NaN largest) get smaller images */
static inline uint64
image_desc(double d)
{
	uint64		u;

	if (isnan(d))
		return 0;
	if (d == 0)
		d = 0;
	memcpy(&u, &d, sizeof(u));
	u = (u >> 63) ? ~u : (u | (UINT64CONST(1) << 63));
	return PG_UINT64_MAX - u;
}

static RankCache *
rank_cache(FunctionCallInfo fcinfo, struct varlena *raw)
{
	RankCache  *c = (RankCache *) fcinfo->flinfo->fn_extra;
	bool		ondisk = VARATT_IS_EXTERNAL_ONDISK(raw);
	Size		len = ondisk ? VARSIZE_EXTERNAL(raw) : VARSIZE_ANY(raw);
	MemoryContext old;
	int64		nb = INT64CONST(1) << RANK_BUCKET_BITS;

	if (c != NULL && c->ident_len == len && memcmp(c->ident, raw, len) == 0)
		return c;
	if (c == NULL)
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(RankCache));
	else
	{
		pfree(c->ident);
		pfree(c->arr);
		pfree(c->start);
	}
	fcinfo->flinfo->fn_extra = c;
	old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c->ident = palloc(len);
	memcpy(c->ident, raw, len);
	c->ident_len = len;
	c->arr = (ArrayType *) PG_DETOAST_DATUM_COPY(PointerGetDatum(raw));
	if (ARR_NDIM(c->arr) > 1 || ARR_HASNULL(c->arr) || ARR_ELEMTYPE(c->arr) != FLOAT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_model_rank: keys must be a one-dimensional float8 array without NULLs")));
	c->n = ARR_NDIM(c->arr) == 0 ? 0 : ARR_DIMS(c->arr)[0];
	c->keys = (const double *) ((char *) c->arr + ARR_OVERHEAD_NONULLS(ARR_NDIM(c->arr)));
	c->start = palloc(sizeof(int64) * (nb + 1));
	{
		int64		i = 0;
		uint64		prev = 0;

		for (int64 b = 0; b <= nb; b++)
		{
			while (i < c->n && (int64) (image_desc(c->keys[i]) >> (64 - RANK_BUCKET_BITS)) < b)
			{
				uint64		u = image_desc(c->keys[i]);

				if (u < prev)
					ereport(ERROR,
							(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							 errmsg("rfm_model_rank: keys must be in descending order")));
				prev = u;
				i++;
			}
			c->start[b] = i;
		}
	}
	MemoryContextSwitchTo(old);
	return c;
}

/*
 * rfm_model_rank(keys float8[], key float8, tie integer) -> bigint:
 * 1 + the number of keys greater than key + tie.
 */
Datum
rfm_model_rank(PG_FUNCTION_ARGS)
{
	struct varlena *raw = (struct varlena *) DatumGetPointer(PG_GETARG_DATUM(0));
	double		key = PG_GETARG_FLOAT8(1);
	int32		tie = PG_GETARG_INT32(2);
	RankCache  *c;
	uint64		u = image_desc(key);
	int64		b = (int64) (u >> (64 - RANK_BUCKET_BITS));
	int64		lo,
				hi;

	if (tie < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_model_rank: tie must not be negative")));
	c = rank_cache(fcinfo, raw);
	/* the keys of smaller images (greater keys) come before the bucket */
	lo = c->start[b];
	hi = c->start[b + 1];
	while (lo < hi)
	{
		int64		mid = lo + (hi - lo) / 2;

		if (image_desc(c->keys[mid]) < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	PG_RETURN_INT64(lo + 1 + (int64) tie);
}
