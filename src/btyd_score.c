/*-------------------------------------------------------------------------
 *
 * btyd_score.c
 *	  Scoring with a fitted "buy till you die" model (see btyd.h for the
 *	  files of each model): the cache of a call site, which reads the model
 *	  argument again only when its bytes change and memoizes the values of
 *	  repeated customer rows; the calls of P(alive) and expected purchases
 *	  shared by the models; and rfm_hyp2f1.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

/* ---- scoring: the cache of a call site ------------------------------- */

/*
 * The cache of the scoring function called with fcinfo, its model (the
 * composite argument argno) read by read: the model is read again only
 * when the argument's bytes differ from the last ones read, and then the
 * memo is emptied.  Without flinfo (a direct call) the model is read into
 * *local, which has no memo.
 */
BtydScoreCache *
btyd_score_cache(FunctionCallInfo fcinfo, int argno, btyd_read_fn read,
				 BtydScoreCache *local)
{
	HeapTupleHeader th = PG_GETARG_HEAPTUPLEHEADER(argno);
	Size		len = HeapTupleHeaderGetDatumLength(th);
	FmgrInfo   *flinfo = fcinfo->flinfo;
	BtydScoreCache *c;
	double		model[BTYD_MODEL_MAX / sizeof(double)];

	if (flinfo == NULL)
	{
		memset(local, 0, sizeof(BtydScoreCache));
		read(th, local->model);
		return local;
	}
	c = (BtydScoreCache *) flinfo->fn_extra;
	if (c == NULL)
	{
		c = MemoryContextAllocZero(flinfo->fn_mcxt, sizeof(BtydScoreCache));
		c->mcxt = flinfo->fn_mcxt;
		flinfo->fn_extra = c;
	}
	if (c->len == len && memcmp(c->bytes, th, len) == 0)
		return c;

	/* another model: read it first, so that an error leaves no half state */
	read(th, model);
	c->len = 0;
	if (c->bytes != NULL)
		pfree(c->bytes);
	c->bytes = MemoryContextAlloc(c->mcxt, len);
	memcpy(c->bytes, th, len);
	c->len = len;
	memcpy(c->model, model, sizeof(model));
	if (c->slots != NULL)
		memset(c->slots, 0, sizeof(BtydMemoEntry) * c->nslots);
	c->nused = 0;
	return c;
}

static inline uint32
memo_hash(int32 tag, const uint64 *k)
{
	uint64		h = (uint64) (uint32) tag * UINT64CONST(0x9E3779B97F4A7C15);

	for (int i = 0; i < BTYD_MEMO_KEYS; i++)
	{
		h ^= k[i];
		h *= UINT64CONST(0xff51afd7ed558ccd);
		h ^= h >> 32;
	}
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h;
}

/* the slot of (tag, k): the entry itself, or the empty slot it would take */
static inline BtydMemoEntry *
memo_slot(BtydMemoEntry *slots, int nslots, int32 tag, const uint64 *k)
{
	uint32		i = memo_hash(tag, k) & (nslots - 1);

	for (;;)
	{
		BtydMemoEntry *e = &slots[i];

		if (e->tag == 0 ||
			(e->tag == tag && memcmp(e->key, k, sizeof(e->key)) == 0))
			return e;
		i = (i + 1) & (nslots - 1);
	}
}

/*
 * The memoized value of (tag, key[0..3]) compared bit for bit (tag > 0;
 * unused keys 0).  False when it is not there.
 */
bool
btyd_memo_get(const BtydScoreCache *c, int32 tag, const double *key, double *val)
{
	uint64		k[BTYD_MEMO_KEYS];
	BtydMemoEntry *e;

	if (c->slots == NULL)
		return false;
	memcpy(k, key, sizeof(k));
	e = memo_slot(c->slots, c->nslots, tag, k);
	if (e->tag == 0)
		return false;
	*val = e->val;
	return true;
}

/*
 * Memoize val for (tag, key).  The table doubles when three-quarters
 * full, up to BTYD_MEMO_MAX_SLOTS; at that size it is emptied instead, so
 * its memory stays bounded whatever the input.
 */
void
btyd_memo_put(BtydScoreCache *c, int32 tag, const double *key, double val)
{
	uint64		k[BTYD_MEMO_KEYS];
	BtydMemoEntry *e;

	Assert(tag > 0);
	if (c->mcxt == NULL)
		return;
	if (c->slots == NULL)
	{
		c->nslots = BTYD_MEMO_MIN_SLOTS;
		c->slots = MemoryContextAllocZero(c->mcxt, sizeof(BtydMemoEntry) * c->nslots);
		c->nused = 0;
	}
	else if ((c->nused + 1) * 4 > c->nslots * 3)
	{
		if (c->nslots < BTYD_MEMO_MAX_SLOTS)
		{
			int			n = c->nslots * 2;
			BtydMemoEntry *slots = MemoryContextAllocZero(c->mcxt, sizeof(BtydMemoEntry) * n);

			for (int i = 0; i < c->nslots; i++)
				if (c->slots[i].tag != 0)
					*memo_slot(slots, n, c->slots[i].tag, c->slots[i].key) = c->slots[i];
			pfree(c->slots);
			c->slots = slots;
			c->nslots = n;
		}
		else
		{
			memset(c->slots, 0, sizeof(BtydMemoEntry) * c->nslots);
			c->nused = 0;
		}
	}
	memcpy(k, key, sizeof(k));
	e = memo_slot(c->slots, c->nslots, tag, k);
	if (e->tag == 0)
	{
		e->tag = tag;
		memcpy(e->key, k, sizeof(k));
		c->nused++;
	}
	e->val = val;
}

/*
 * rfm_p_alive(model, x, t_x, T) of BG/NBD, MBG/NBD and Pareto/NBD:
 * the probability that a customer with history (x, t_x, T) is alive at T.
 */
Datum
btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops)
{
	BtydScoreCache local;
	BtydScoreCache *c = btyd_score_cache(fcinfo, 0, ops->read, &local);
	double		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	btyd_check_customer(x, tx, T);
	PG_RETURN_FLOAT8(btyd_check_result(ops->p_alive(c, x, tx, T), "probability alive"));
}

/*
 * rfm_expected_purchases(model, horizon, x, t_x, T): the expected number
 * of purchases in the next horizon time units of a customer (x, t_x, T).
 */
Datum
btyd_expected_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops)
{
	BtydScoreCache local;
	BtydScoreCache *c = btyd_score_cache(fcinfo, 0, ops->read, &local);
	double		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);

	btyd_check_horizon(t);
	btyd_check_customer(x, tx, T);
	PG_RETURN_FLOAT8(btyd_check_result(ops->expected(c, t, x, tx, T), "expected purchases"));
}

/*
 * rfm_expected_purchases_new(model, horizon): E[X(t)], the expected repeat
 * purchases in (0, t] of a customer who made a first purchase at time 0,
 * which is the conditional expectation of a customer with x = t_x = T = 0.
 */
Datum
btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops)
{
	BtydScoreCache local;
	BtydScoreCache *c = btyd_score_cache(fcinfo, 0, ops->read, &local);
	double		t = PG_GETARG_FLOAT8(1);

	btyd_check_horizon(t);
	PG_RETURN_FLOAT8(btyd_check_result(ops->expected(c, t, 0.0, 0.0, 0.0), "expected purchases"));
}

/*
 * rfm_hyp2f1(a, b, c, z): the Gauss hypergeometric function for z < 1, as
 * used by the expected-purchase functions (exposed for checks).
 */
PG_FUNCTION_INFO_V1(rfm_hyp2f1);
Datum
rfm_hyp2f1(PG_FUNCTION_ARGS)
{
	double		a = PG_GETARG_FLOAT8(0),
				b = PG_GETARG_FLOAT8(1),
				c = PG_GETARG_FLOAT8(2),
				z = PG_GETARG_FLOAT8(3),
				v;

	btyd_check_finite(a, "a");
	btyd_check_finite(b, "b");
	btyd_check_finite(c, "c");
	btyd_check_finite(z, "z");
	if (z >= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_hyp2f1 needs z < 1, got %g", z),
				 errhint("The series and its transformations used here cover z < 1 only.")));
	if (c <= 0.0 && c == floor(c))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("c must not be a non-positive integer, got %g", c)));
	v = btyd_hyp2f1(a, b, c, z);
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("hypergeometric series did not converge for z = %g", z),
				 errhint("Values of z very close to 1 or very negative need too many terms.")));
	PG_RETURN_FLOAT8(v);
}
