/*-------------------------------------------------------------------------
 *
 * btyd.c
 *	  "Buy till you die" models fitted inside PostgreSQL: the BG/NBD model
 *	  (Fader, Hardie & Lee 2005), the MBG/NBD model (Batislam, Denizel &
 *	  Filiztekin 2007; one-time buyers can be dead too) and the Gamma-Gamma
 *	  spend model (Fader, Hardie & Lee 2005, "RFM and CLV").
 *
 *	  The fitting aggregates keep the distinct input rows with their counts
 *	  in a hash table (the "internal" state, with combine, serialize and
 *	  deserialize functions for parallel aggregation); the final function
 *	  maximizes the log-likelihood over the log parameters by BFGS with
 *	  analytic gradients (src/btyd_math.c).  The per-customer functions
 *	  (P(alive), expected purchases, expected order value, CLV) read the
 *	  fitted model from its composite type.
 *
 *-------------------------------------------------------------------------
 */
#include "rfm.h"

#include <math.h>

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/typcache.h"

#include "btyd_math.h"


#define BTYD_KIND_BGNBD		1
#define BTYD_KIND_MBGNBD	2
#define BTYD_KIND_GG		3

#define BTYD_UNIT_LEN		16
#define BTYD_MAX_ITER		1000
#define BTYD_GTOL			1e-8
#define BTYD_LOG_BOUND		30.0	/* log parameter this far from its start:
									 * diverged */
#define BTYD_LOG_FINAL		15.0	/* ... or this far at the end (3.3e6) */
#define BTYD_MAX_CLV_STEPS	100000
#define BTYD_CLV_COEFS		2048	/* cached 2F1 coefficients in rfm_clv */
#define CLV_BATCH_MAX_TERMS	256		/* more: rfm_clv goes step by step */
#define BTYD_SERIAL_VERSION 1

static const char *const btyd_units[] = {"hour", "day", "week", "month", "quarter", "year", NULL};

/* rfm.max_fit_iterations: BFGS iteration budget of the fitting aggregates */
static int	btyd_max_iterations = BTYD_MAX_ITER;

/* Define the GUCs of this file; called once, from _PG_init (src/rfm.c). */
void
rfm_btyd_define_gucs(void)
{
	DefineCustomIntVariable("rfm.max_fit_iterations",
							"Maximum number of BFGS iterations of the BG/NBD, MBG/NBD and Gamma-Gamma fits.",
							"A fit that reaches it returns converged = false with a warning.",
							&btyd_max_iterations,
							BTYD_MAX_ITER, 1, 1000000,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
}

/* one distinct input row: (x, t_x, T) or, for Gamma-Gamma, (x, mean value, 0) */
typedef struct BtydRow
{
	double		x;
	double		v;				/* t_x, or the mean value for Gamma-Gamma */
	double		T;
	int64		n;				/* number of customers with this row */
} BtydRow;

typedef struct BtydState
{
	int32		kind;
	bool		l2_set;
	double		l2;
	char		unit[BTYD_UNIT_LEN];	/* "" until the first row (BG/MBG) */
	int64		ncust;			/* customers counted (sum of n) */
	int64		nskipped;		/* Gamma-Gamma: rows with x = 0, not counted */
	int32		nrows;
	int32		maxrows;
	BtydRow    *rows;
	int32		nslots;			/* power of two, at least 2 * maxrows */
	int32	   *slots;			/* index into rows, or -1 */
	MemoryContext mcxt;
} BtydState;

/* a fitted BG/NBD or MBG/NBD model read from rfm_bgnbd_model */
typedef struct BgModel
{
	int			kind;
	double		r,
				alpha,
				a,
				b;
} BgModel;

/* ---- validation helpers ------------------------------------------- */

static inline void
check_finite(double v, const char *what)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be finite", what),
				 errdetail("The value given is %g.", v),
				 errhint("Remove or correct rows with infinite or NaN values.")));
}

/*
 * A customer row (x, t_x, T) of the BG/NBD family: x a whole number >= 0,
 * 0 <= t_x <= T, and t_x = 0 when x = 0.
 */
static inline void
check_customer(double x, double tx, double T)
{
	check_finite(x, "x");
	check_finite(tx, "t_x");
	check_finite(T, "T");
	if (x < 0.0 || x != floor(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number of repeat purchases, not %g", x),
				 errdetail("x counts the repeat purchases (distinct purchase periods minus one)."),
				 errhint("Compute x as count(DISTINCT purchase period) - 1.")));
	if (T < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("T must not be negative, got %g", T),
				 errdetail("T is the time from the first purchase to the end of the calibration period."),
				 errhint("Check that the end of the period is not before the first purchase.")));
	if (tx < 0.0 || tx > T)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_x must lie between 0 and T, got t_x = %g and T = %g", tx, T),
				 errdetail("t_x is the time of the last repeat purchase since the first purchase."),
				 errhint("Check that t_x and T are measured from the same first purchase and in the same unit.")));
	if (x == 0.0 && tx != 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_x must be 0 when x is 0, got t_x = %g", tx),
				 errdetail("A customer without repeat purchases has no last repeat purchase."),
				 errhint("Set t_x to 0 for customers with x = 0.")));
}

static inline void
check_l2(double l2)
{
	if (!isfinite(l2) || l2 < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 penalty must be a finite number >= 0, got %g", l2),
				 errhint("Use 0 for no penalty; small values such as 0.001 usually suffice.")));
}

static inline void
check_horizon(double t)
{
	if (!isfinite(t) || t < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be a finite number >= 0, got %g", t),
				 errhint("Give the horizon in the time unit of the model.")));
}

/* ---- aggregate state ---------------------------------------------- */

static BtydState *
state_create(MemoryContext mcxt, int kind, int maxrows)
{
	BtydState  *st = MemoryContextAllocZero(mcxt, sizeof(BtydState));
	int			i;

	st->kind = kind;
	st->mcxt = mcxt;
	st->maxrows = Max(maxrows, 64);
	st->nslots = 1;
	while (st->nslots < 2 * st->maxrows)
		st->nslots <<= 1;
	st->rows = MemoryContextAlloc(mcxt, sizeof(BtydRow) * st->maxrows);
	st->slots = MemoryContextAlloc(mcxt, sizeof(int32) * st->nslots);
	for (i = 0; i < st->nslots; i++)
		st->slots[i] = -1;
	return st;
}

static inline uint32
row_hash(double x, double v, double T)
{
	double		key[3];

	/* +0.0 and -0.0 must hash alike */
	key[0] = x + 0.0;
	key[1] = v + 0.0;
	key[2] = T + 0.0;
	return hash_bytes((const unsigned char *) key, sizeof(key));
}

static void
state_grow(BtydState *st)
{
	int			i;

	if (st->maxrows >= (int32) (MaxAllocSize / sizeof(BtydRow) / 2) ||
		st->nslots >= (int32) (MaxAllocSize / sizeof(int32) / 2))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customer rows to fit the model"),
				 errdetail("The aggregate keeps each distinct input row; there are more than %d.", st->maxrows),
				 errhint("Round t_x and T (for example to whole days) so that customers share rows.")));
	st->maxrows *= 2;
	st->rows = repalloc(st->rows, sizeof(BtydRow) * st->maxrows);
	st->nslots *= 2;
	pfree(st->slots);
	st->slots = MemoryContextAlloc(st->mcxt, sizeof(int32) * st->nslots);
	for (i = 0; i < st->nslots; i++)
		st->slots[i] = -1;
	for (i = 0; i < st->nrows; i++)
	{
		uint32		h = row_hash(st->rows[i].x, st->rows[i].v, st->rows[i].T);
		uint32		mask = st->nslots - 1;

		while (st->slots[h & mask] >= 0)
			h++;
		st->slots[h & mask] = i;
	}
}

/* count n more customers with row (x, v, T) */
static void
state_add(BtydState *st, double x, double v, double T, int64 n)
{
	uint32		h = row_hash(x, v, T);
	uint32		mask = st->nslots - 1;
	BtydRow    *row;

	for (;; h++)
	{
		int32		i = st->slots[h & mask];

		if (i < 0)
			break;
		row = &st->rows[i];
		if (row->x == x && row->v == v && row->T == T)
		{
			row->n += n;
			st->ncust += n;
			return;
		}
	}
	if (st->nrows >= st->maxrows)
	{
		state_grow(st);
		state_add(st, x, v, T, n);
		return;
	}
	st->slots[h & mask] = st->nrows;
	row = &st->rows[st->nrows++];
	row->x = x;
	row->v = v;
	row->T = T;
	row->n = n;
	st->ncust += n;
}

static const char *
kind_name(int kind)
{
	switch (kind)
	{
		case BTYD_KIND_BGNBD:
			return "bgnbd";
		case BTYD_KIND_MBGNBD:
			return "mbgnbd";
		case BTYD_KIND_GG:
			return "gamma_gamma";
	}
	return "?";
}

/* record the l2 penalty of a row: it must be the same on every row */
static void
state_set_l2(BtydState *st, double l2)
{
	check_l2(l2);
	if (!st->l2_set)
	{
		st->l2 = l2;
		st->l2_set = true;
	}
	else if (st->l2 != l2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 penalty must be the same for all rows"),
				 errdetail("Rows carry the penalties %g and %g.", st->l2, l2),
				 errhint("Pass a constant as the l2 argument.")));
}

/* The optional l2 argument at argno (0 when the overload has none). */
static void
state_take_l2(BtydState *st, FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno)
	{
		state_set_l2(st, 0.0);
		return;
	}
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("l2 penalty must not be null"),
				 errhint("Use 0 for no penalty.")));
	state_set_l2(st, PG_GETARG_FLOAT8(argno));
}

/* record the time unit of a row: a known unit, the same on every row */
static void
state_set_unit(BtydState *st, text *unit_t)
{
	char	   *unit;
	int			i;

	/* the usual case, checked without a copy: the unit seen before */
	if (st->unit[0] != '\0' &&
		VARSIZE_ANY_EXHDR(unit_t) == strlen(st->unit) &&
		memcmp(VARDATA_ANY(unit_t), st->unit, VARSIZE_ANY_EXHDR(unit_t)) == 0)
		return;
	unit = text_to_cstring(unit_t);
	for (i = 0; btyd_units[i] != NULL; i++)
		if (strcmp(unit, btyd_units[i]) == 0)
			break;
	if (btyd_units[i] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time unit \"%s\"", unit),
				 errdetail("The time unit says in which unit t_x and T are measured."),
				 errhint("Use one of hour, day, week, month, quarter, year.")));
	if (st->unit[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time unit must be the same for all rows"),
				 errdetail("Rows carry the units \"%s\" and \"%s\".", st->unit, unit),
				 errhint("Pass a constant as the unit argument.")));
	strlcpy(st->unit, unit, BTYD_UNIT_LEN);
	pfree(unit);
}

static MemoryContext
agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/* shared transition step of rfm_bgnbd_fit and rfm_mbgnbd_fit */
static Datum
bg_trans(FunctionCallInfo fcinfo, int kind, const char *fname)
{
	MemoryContext aggcxt = agg_context(fcinfo, fname);
	BtydState  *st = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	double		x,
				tx,
				T;

	if (st == NULL)
		st = state_create(aggcxt, kind, 64);

	if (PG_ARGISNULL(4))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("time unit must not be null"),
				 errhint("Pass the unit of t_x and T, for example 'week'.")));
	state_set_unit(st, PG_GETARG_TEXT_PP(4));
	state_take_l2(st, fcinfo, 5);

	/* a customer with any unknown value is skipped, as in other aggregates */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
		PG_RETURN_POINTER(st);
	x = PG_GETARG_FLOAT8(1);
	tx = PG_GETARG_FLOAT8(2);
	T = PG_GETARG_FLOAT8(3);
	check_customer(x, tx, T);
	state_add(st, x, tx, T, 1);
	PG_RETURN_POINTER(st);
}

/*
 * rfm_bgnbd_fit(x, t_x, T, unit [, l2]) transition: count the row (x, t_x, T).
 * Rows with a NULL customer value are skipped; bad values raise errors.
 */
PG_FUNCTION_INFO_V1(rfm_bgnbd_fit_trans);
Datum
rfm_bgnbd_fit_trans(PG_FUNCTION_ARGS)
{
	return bg_trans(fcinfo, BTYD_KIND_BGNBD, "rfm_bgnbd_fit_trans");
}

/*
 * rfm_mbgnbd_fit(x, t_x, T, unit [, l2]) transition: count the row, as for
 * BG/NBD (the state is the same; only the final function differs).
 */
PG_FUNCTION_INFO_V1(rfm_mbgnbd_fit_trans);
Datum
rfm_mbgnbd_fit_trans(PG_FUNCTION_ARGS)
{
	return bg_trans(fcinfo, BTYD_KIND_MBGNBD, "rfm_mbgnbd_fit_trans");
}

/*
 * rfm_gamma_gamma_fit(x, mean_value [, l2]) transition: count (x, mean value)
 * of a repeat customer; rows with x = 0 are not part of the model and skipped.
 */
PG_FUNCTION_INFO_V1(rfm_gamma_gamma_fit_trans);
Datum
rfm_gamma_gamma_fit_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "rfm_gamma_gamma_fit_trans");
	BtydState  *st = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	double		x,
				m;

	if (st == NULL)
		st = state_create(aggcxt, BTYD_KIND_GG, 64);
	state_take_l2(st, fcinfo, 3);

	if (PG_ARGISNULL(1))
		PG_RETURN_POINTER(st);
	x = PG_GETARG_FLOAT8(1);
	check_finite(x, "x");
	if (x < 0.0 || x != floor(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number of repeat purchases, not %g", x),
				 errhint("Compute x as count(DISTINCT purchase period) - 1.")));
	if (x == 0.0)
	{
		/* one-time buyers carry no spend information */
		st->nskipped++;
		PG_RETURN_POINTER(st);
	}
	if (PG_ARGISNULL(2))
		PG_RETURN_POINTER(st);
	m = PG_GETARG_FLOAT8(2);
	if (!isfinite(m) || m <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean value must be a finite positive amount, got %g", m),
				 errdetail("The Gamma-Gamma model describes positive spend per transaction."),
				 errhint("Exclude returns and zero-value orders, or customers whose mean repeat order value is not positive.")));
	state_add(st, x, m, 0.0, 1);
	PG_RETURN_POINTER(st);
}

/*
 * Combine function of the three fitting aggregates: merge the row counts of
 * the second state into the first (either may be NULL).
 */
PG_FUNCTION_INFO_V1(rfm_btyd_combine);
Datum
rfm_btyd_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "rfm_btyd_combine");
	BtydState  *s1 = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	BtydState  *s2 = PG_ARGISNULL(1) ? NULL : (BtydState *) PG_GETARG_POINTER(1);
	int			i;

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
	{
		s1 = state_create(aggcxt, s2->kind, s2->nrows);
		s1->l2 = s2->l2;
		s1->l2_set = s2->l2_set;
		memcpy(s1->unit, s2->unit, BTYD_UNIT_LEN);
	}
	if (s1->kind != s2->kind)
		elog(ERROR, "rfm_btyd_combine: states of different models");
	if (s2->l2_set)
		state_set_l2(s1, s2->l2);
	if (s2->unit[0] != '\0')
	{
		if (s1->unit[0] == '\0')
			memcpy(s1->unit, s2->unit, BTYD_UNIT_LEN);
		else if (strcmp(s1->unit, s2->unit) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time unit must be the same for all rows"),
					 errdetail("Rows carry the units \"%s\" and \"%s\".", s1->unit, s2->unit),
					 errhint("Pass a constant as the unit argument.")));
	}
	s1->nskipped += s2->nskipped;
	for (i = 0; i < s2->nrows; i++)
		state_add(s1, s2->rows[i].x, s2->rows[i].v, s2->rows[i].T, s2->rows[i].n);
	PG_RETURN_POINTER(s1);
}

/*
 * Serialize function of the fitting aggregates: a versioned, portable
 * encoding (network byte order) of the state's settings and distinct rows.
 */
PG_FUNCTION_INFO_V1(rfm_btyd_serialize);
Datum
rfm_btyd_serialize(PG_FUNCTION_ARGS)
{
	BtydState  *st = (BtydState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			i;

	(void) agg_context(fcinfo, "rfm_btyd_serialize");
	pq_begintypsend(&buf);
	pq_sendint32(&buf, BTYD_SERIAL_VERSION);
	pq_sendint32(&buf, st->kind);
	pq_sendbyte(&buf, st->l2_set ? 1 : 0);
	pq_sendfloat8(&buf, st->l2);
	pq_sendbytes(&buf, st->unit, BTYD_UNIT_LEN);
	pq_sendint64(&buf, st->ncust);
	pq_sendint64(&buf, st->nskipped);
	pq_sendint32(&buf, st->nrows);
	for (i = 0; i < st->nrows; i++)
	{
		pq_sendfloat8(&buf, st->rows[i].x);
		pq_sendfloat8(&buf, st->rows[i].v);
		pq_sendfloat8(&buf, st->rows[i].T);
		pq_sendint64(&buf, st->rows[i].n);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Deserialize function of the fitting aggregates: rebuild the state in the
 * aggregate context, checking the version, the sizes and the values.
 */
PG_FUNCTION_INFO_V1(rfm_btyd_deserialize);
Datum
rfm_btyd_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = agg_context(fcinfo, "rfm_btyd_deserialize");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	BtydState  *st;
	int32		version,
				kind,
				nrows,
				i;
	int64		ncust,
				nskipped,
				total = 0;
	bool		l2_set;
	double		l2;
	char		unit[BTYD_UNIT_LEN];
	const int	header = 4 + 4 + 1 + 8 + BTYD_UNIT_LEN + 8 + 8 + 4;
	const int	rowsize = 8 * 4;

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (buf.len < header)
		elog(ERROR, "rfm_btyd_deserialize: state of %d bytes is too short", buf.len);
	version = pq_getmsgint(&buf, 4);
	if (version != BTYD_SERIAL_VERSION)
		elog(ERROR, "rfm_btyd_deserialize: unknown state version %d", version);
	kind = pq_getmsgint(&buf, 4);
	if (kind < BTYD_KIND_BGNBD || kind > BTYD_KIND_GG)
		elog(ERROR, "rfm_btyd_deserialize: unknown model %d", kind);
	l2_set = pq_getmsgbyte(&buf) != 0;
	l2 = pq_getmsgfloat8(&buf);
	memcpy(unit, pq_getmsgbytes(&buf, BTYD_UNIT_LEN), BTYD_UNIT_LEN);
	if (unit[BTYD_UNIT_LEN - 1] != '\0')
		elog(ERROR, "rfm_btyd_deserialize: corrupt time unit");
	ncust = pq_getmsgint64(&buf);
	nskipped = pq_getmsgint64(&buf);
	nrows = pq_getmsgint(&buf, 4);
	if (nrows < 0 || (int64) buf.len - header != (int64) nrows * rowsize)
		elog(ERROR, "rfm_btyd_deserialize: %d rows do not match a state of %d bytes",
			 nrows, buf.len);

	st = state_create(aggcxt, kind, nrows);
	st->l2_set = l2_set;
	st->l2 = l2;
	memcpy(st->unit, unit, BTYD_UNIT_LEN);
	st->nskipped = nskipped;
	for (i = 0; i < nrows; i++)
	{
		double		x = pq_getmsgfloat8(&buf);
		double		v = pq_getmsgfloat8(&buf);
		double		T = pq_getmsgfloat8(&buf);
		int64		n = pq_getmsgint64(&buf);

		if (n <= 0)
			elog(ERROR, "rfm_btyd_deserialize: non-positive row count");
		state_add(st, x, v, T, n);
		total += n;
	}
	pq_getmsgend(&buf);
	if (total != ncust)
		elog(ERROR, "rfm_btyd_deserialize: row counts do not add up to the customer count");
	PG_RETURN_POINTER(st);
}

/* ---- likelihoods ---------------------------------------------------- */

/*
 * The rows of a fit, sorted by x, with the distinct values of x so that
 * lgamma and digamma terms that depend on x only are computed once per x,
 * and (BG/NBD, MBG/NBD) the distinct values of t_x and T, so that
 * log(alpha + t) is computed once per value: calendar data have few of
 * them (one per day of first or last purchase), however many customers.
 */
typedef struct FitData
{
	int			kind;
	int			nrows;
	const BtydRow *rows;		/* sorted by x */
	int		   *group;			/* rows[i].x == xs[group[i]] */
	int			nx;
	double	   *xs;
	double	   *cx;				/* per-x scratch, 8 per x */
	int			nt;				/* distinct values of t_x and T */
	double	   *ts;
	int		   *iT;				/* rows[i].T == ts[iT[i]] */
	int		   *itx;			/* rows[i].v == ts[itx[i]] */
	double	   *lt;				/* scratch: log(alpha + ts[j]) */
	double	   *rt;				/* scratch: 1 / (alpha + ts[j]) */
	double		ntotal;
	double		l2;
	double		loglik;			/* unpenalized log-likelihood of the last call */
} FitData;

static int
row_cmp(const void *a, const void *b)
{
	const BtydRow *ra = a,
			   *rb = b;

	if (ra->x != rb->x)
		return ra->x < rb->x ? -1 : 1;
	if (ra->v != rb->v)
		return ra->v < rb->v ? -1 : 1;
	if (ra->T != rb->T)
		return ra->T < rb->T ? -1 : 1;
	return 0;
}

static int
double_cmp(const void *a, const void *b)
{
	double		da = *(const double *) a,
				db = *(const double *) b;

	return (da > db) - (da < db);
}

/* index of v in the sorted array ts[0..n-1], where it is known to be */
static int
find_value(const double *ts, int n, double v)
{
	int			lo = 0,
				hi = n - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (ts[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	Assert(ts[lo] == v);
	return lo;
}

static void
fitdata_init(FitData *fd, const BtydState *st)
{
	int			n = Max(st->nrows, 1);
	BtydRow    *rows = palloc(sizeof(BtydRow) * n);
	int			i;

	memcpy(rows, st->rows, sizeof(BtydRow) * st->nrows);
	qsort(rows, st->nrows, sizeof(BtydRow), row_cmp);
	fd->kind = st->kind;
	fd->nrows = st->nrows;
	fd->rows = rows;
	fd->group = palloc(sizeof(int) * n);
	fd->xs = palloc(sizeof(double) * n);
	fd->nx = 0;
	for (i = 0; i < st->nrows; i++)
	{
		if (fd->nx == 0 || fd->xs[fd->nx - 1] != rows[i].x)
			fd->xs[fd->nx++] = rows[i].x;
		fd->group[i] = fd->nx - 1;
	}
	fd->cx = palloc(sizeof(double) * 8 * Max(fd->nx, 1));

	fd->nt = 0;
	if (st->kind != BTYD_KIND_GG)
	{
		double	   *all = palloc(sizeof(double) * 2 * n);

		for (i = 0; i < st->nrows; i++)
		{
			/* +0.0 turns -0.0 into 0.0, so that the search finds it */
			all[2 * i] = rows[i].T + 0.0;
			all[2 * i + 1] = rows[i].v + 0.0;
		}
		qsort(all, 2 * st->nrows, sizeof(double), double_cmp);
		for (i = 0; i < 2 * st->nrows; i++)
			if (fd->nt == 0 || all[fd->nt - 1] != all[i])
				all[fd->nt++] = all[i];
		fd->ts = all;
		fd->iT = palloc(sizeof(int) * n);
		fd->itx = palloc(sizeof(int) * n);
		for (i = 0; i < st->nrows; i++)
		{
			fd->iT[i] = find_value(fd->ts, fd->nt, rows[i].T + 0.0);
			fd->itx[i] = find_value(fd->ts, fd->nt, rows[i].v + 0.0);
		}
		fd->lt = palloc(sizeof(double) * Max(fd->nt, 1));
		fd->rt = palloc(sizeof(double) * Max(fd->nt, 1));
	}
	fd->ntotal = (double) st->ncust;
	fd->l2 = st->l2;
	fd->loglik = NAN;
}

/* log(exp(p) + exp(q)) and the weight exp(q) / (exp(p) + exp(q)) */
static inline double
logaddexp_w(double p, double q, double *wq)
{
	if (p >= q)
	{
		double		e = exp(q - p);

		*wq = e / (1.0 + e);
		return p + log1p(e);
	}
	else
	{
		double		e = exp(p - q);

		*wq = 1.0 / (1.0 + e);
		return q + log1p(e);
	}
}

/*
 * L2 penalty l2 * sum(log(theta)^2), added to the mean negative
 * log-likelihood, with its gradient added to grad.  It pulls the parameters
 * towards 1 and so bounds them on both sides; a penalty on theta^2 (as
 * lifetimes' penalizer_coef) pushes them towards 0, which is itself a way
 * to diverge (b -> 0, a -> 0).
 */
static inline double
l2_penalty(double l2, const double *u, double *grad, int np)
{
	double		pen = 0.0;
	int			i;

	for (i = 0; i < np; i++)
	{
		pen += u[i] * u[i];
		grad[i] += 2.0 * l2 * u[i];
	}
	return l2 * pen;
}

/*
 * Negative mean log-likelihood (plus the L2 penalty) of BG/NBD or MBG/NBD at u = log(r, alpha, a, b),
 * with its gradient in u.  Per customer, with
 *   A1 = lgamma(r+x) - lgamma(r) + r log(alpha),
 * BG/NBD:  L = exp(A1 + lB(a, b+x) - lB(a, b)) * [(alpha+T)^-(r+x)
 *              + [x>0] a/(b+x-1) (alpha+t_x)^-(r+x)]
 * MBG/NBD: L = exp(A1 + lB(a, b+x+1) - lB(a, b)) * [(alpha+T)^-(r+x)
 *              + a/(b+x) (alpha+t_x)^-(r+x)]
 * The bracket is summed in log space; w is the weight of its second term.
 */
static double
bg_objective(const double *u, double *grad, void *ctx)
{
	FitData    *fd = ctx;
	const bool	mbg = (fd->kind == BTYD_KIND_MBGNBD);
	const double r = exp(u[0]),
				alpha = exp(u[1]),
				a = exp(u[2]),
				b = exp(u[3]);
	const double d = mbg ? 1.0 : 0.0;	/* MBG/NBD shifts b + x by one */
	const double la = log(alpha);
	const double lgr = lgamma(r),
				lgab = lgamma(a + b),
				lgb = lgamma(b);
	const double psr = btyd_digamma(r),
				psab = btyd_digamma(a + b),
				psb = btyd_digamma(b);
	double		ll = 0.0,
				gr = 0.0,
				gal = 0.0,
				ga = 0.0,
				gb = 0.0;
	int			k,
				i;

	/* one evaluation is a pass over the distinct rows: let a cancel in */
	CHECK_FOR_INTERRUPTS();

	if (!isfinite(r) || !isfinite(alpha) || !isfinite(a) || !isfinite(b) ||
		r == 0.0 || alpha == 0.0 || a == 0.0 || b == 0.0)
		return INFINITY;

	/* terms that depend on x only */
	for (k = 0; k < fd->nx; k++)
	{
		double		x = fd->xs[k];
		double	   *c = &fd->cx[8 * k];

		c[0] = lgamma(r + x) - lgr + lgab + lgamma(b + x + d) - lgb - lgamma(a + b + x + d);
		c[1] = btyd_digamma(r + x) - psr;
		c[2] = psab - btyd_digamma(a + b + x + d);
		c[3] = btyd_digamma(b + x + d) - psb;
		/* log a/(b+x-1) (BG, x > 0) or log a/(b+x) (MBG) */
		c[4] = (mbg || x > 0.0) ? log(a) - log(b + x - 1.0 + d) : -INFINITY;
		c[5] = (mbg || x > 0.0) ? 1.0 / (b + x - 1.0 + d) : 0.0;
	}

	/* terms that depend on t_x or T only */
	for (k = 0; k < fd->nt; k++)
	{
		fd->lt[k] = log(alpha + fd->ts[k]);
		fd->rt[k] = 1.0 / (alpha + fd->ts[k]);
	}

	for (i = 0; i < fd->nrows; i++)
	{
		const BtydRow *row = &fd->rows[i];
		const double *c = &fd->cx[8 * fd->group[i]];
		double		n = (double) row->n;
		double		x = row->x;
		double		lT = fd->lt[fd->iT[i]];
		double		ltx = fd->lt[fd->itx[i]];
		double		A3 = -(r + x) * lT;
		double		w = 0.0;
		double		lse;

		if (c[4] == -INFINITY)
			lse = A3;
		else
			lse = logaddexp_w(A3, c[4] - (r + x) * ltx, &w);

		ll += n * (c[0] + r * la + lse);
		gr += n * (c[1] + la - (1.0 - w) * lT - w * ltx);
		gal += n * (r / alpha - (r + x) * ((1.0 - w) * fd->rt[fd->iT[i]] + w * fd->rt[fd->itx[i]]));
		ga += n * (c[2] + w / a);
		gb += n * (c[2] + c[3] - w * c[5]);
	}

	fd->loglik = ll;
	if (!isfinite(ll))
		return INFINITY;

	/* minimize the mean negative log-likelihood; gradient in u = log theta */
	grad[0] = -gr * r / fd->ntotal;
	grad[1] = -gal * alpha / fd->ntotal;
	grad[2] = -ga * a / fd->ntotal;
	grad[3] = -gb * b / fd->ntotal;
	return -ll / fd->ntotal + l2_penalty(fd->l2, u, grad, 4);
}

/*
 * Negative mean log-likelihood (plus the L2 penalty) of the Gamma-Gamma
 * model at u = log(p, q, gamma), with its gradient.  The density of the mean
 * zbar = m of x transactions is
 *   lgamma(px+q) - lgamma(px) - lgamma(q) + q log(gamma) + (px-1) log(m)
 *   + px log(x) - (px+q) log(gamma + x m).
 */
static double
gg_objective(const double *u, double *grad, void *ctx)
{
	FitData    *fd = ctx;
	const double p = exp(u[0]),
				q = exp(u[1]),
				g = exp(u[2]);
	const double lg = log(g),
				lgq = lgamma(q),
				psq = btyd_digamma(q);
	double		ll = 0.0,
				gp = 0.0,
				gq = 0.0,
				gg = 0.0;
	int			k,
				i;

	CHECK_FOR_INTERRUPTS();

	if (!isfinite(p) || !isfinite(q) || !isfinite(g) ||
		p == 0.0 || q == 0.0 || g == 0.0)
		return INFINITY;

	for (k = 0; k < fd->nx; k++)
	{
		double		x = fd->xs[k];
		double	   *c = &fd->cx[8 * k];

		c[0] = lgamma(p * x + q) - lgamma(p * x) - lgq + q * lg + p * x * log(x);
		c[1] = btyd_digamma(p * x + q);
		c[2] = btyd_digamma(p * x);
		c[3] = log(x);
	}

	for (i = 0; i < fd->nrows; i++)
	{
		const BtydRow *row = &fd->rows[i];
		const double *c = &fd->cx[8 * fd->group[i]];
		double		n = (double) row->n;
		double		x = row->x;
		double		m = row->v;
		double		lm = log(m);
		double		lgxm = log(g + x * m);

		ll += n * (c[0] + (p * x - 1.0) * lm - (p * x + q) * lgxm);
		gp += n * x * (c[1] - c[2] + lm + c[3] - lgxm);
		gq += n * (c[1] - psq + lg - lgxm);
		gg += n * (q / g - (p * x + q) / (g + x * m));
	}

	fd->loglik = ll;
	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -gp * p / fd->ntotal;
	grad[1] = -gq * q / fd->ntotal;
	grad[2] = -gg * g / fd->ntotal;
	return -ll / fd->ntotal + l2_penalty(fd->l2, u, grad, 3);
}

/*
 * Run the minimizer and turn its failures into errors (or, for a fit that
 * stopped short of the tolerance, a warning and converged = false).
 */
static void
run_fit(FitData *fd, btyd_objective fn, int np, double *u,
		const char *const *names, BtydOptResult *res)
{
	double		g[BTYD_MAX_PARAMS],
				u0[BTYD_MAX_PARAMS];
	int			i;

	/*
	 * The starting values are scaled to the data (alpha to the time unit,
	 * gamma to the currency), so distances from them are unit-free.
	 */
	memcpy(u0, u, sizeof(double) * np);
	btyd_minimize(fn, fd, np, u, btyd_max_iterations, BTYD_GTOL, BTYD_LOG_BOUND, res);

	/*
	 * A parameter that ends near 0 or infinity (a factor e^15 = 3.3e6 from
	 * its start) means that the likelihood still rises towards the edge of
	 * the parameter space (for example the Poisson limit r, alpha ->
	 * infinity when customers do not differ): the flat gradient there is no
	 * maximum.  Treat it as divergence.
	 */
	if (res->status != BTYD_OPT_NONFINITE && res->status != BTYD_OPT_DIVERGED)
		for (i = 0; i < np; i++)
			if (fabs(u[i] - u0[i]) > BTYD_LOG_FINAL)
			{
				res->status = BTYD_OPT_DIVERGED;
				res->diverged_param = i;
				break;
			}

	switch (res->status)
	{
		case BTYD_OPT_CONVERGED:
			break;
		case BTYD_OPT_NONFINITE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s log-likelihood is not finite at the starting values", kind_name(fd->kind)),
					 errdetail("The input values are too extreme for double precision."),
					 errhint("Measure t_x and T in a larger time unit.")));
			break;
		case BTYD_OPT_DIVERGED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s fit diverged: parameter %s went to %g",
							kind_name(fd->kind), names[res->diverged_param],
							exp(u[res->diverged_param])),
					 errdetail("The likelihood keeps rising as the parameter goes to 0 or infinity (after %d iterations): the data do not bound it, for example because the customers do not differ.",
							   res->iterations),
					 errhint("Fit over more varied customers, or add an L2 penalty with the overload that takes an l2 argument.")));
			break;
		case BTYD_OPT_MAXITER:
		case BTYD_OPT_STALLED:
			ereport(WARNING,
					(errmsg("%s fit did not converge", kind_name(fd->kind)),
					 errdetail("The gradient norm is %g after %d iterations; the result has converged = false.",
							   res->gnorm, res->iterations),
					 errhint("Raise rfm.max_fit_iterations, check the data, or add a small L2 penalty.")));
			break;
	}
	/* the reported log-likelihood is the unpenalized one at the final point */
	(void) fn(u, g, fd);
	for (i = 0; i < np; i++)
		if (!isfinite(u[i]))
			elog(ERROR, "%s fit returned a non-finite parameter", kind_name(fd->kind));
}

/*
 * rfm_bgnbd_fit / rfm_mbgnbd_fit final function: the maximum-likelihood fit
 * as rfm_bgnbd_model.  NULL over no rows; errors on degenerate data.
 */
PG_FUNCTION_INFO_V1(rfm_bgnbd_fit_final);
Datum
rfm_bgnbd_fit_final(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"r", "alpha", "a", "b"};
	BtydState  *st;
	FitData		fd;
	BtydOptResult res;
	double		u[4],
				sumT = 0.0,
				sumx = 0.0;
	int64		nrepeat = 0;
	int			i;
	TupleDesc	tupdesc;
	Datum		values[11];
	bool		nulls[11] = {0};

	(void) agg_context(fcinfo, "rfm_bgnbd_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	if (st->ncust == 0)
		PG_RETURN_NULL();

	for (i = 0; i < st->nrows; i++)
	{
		sumT += st->rows[i].n * st->rows[i].T;
		sumx += st->rows[i].n * st->rows[i].x;
		if (st->rows[i].x > 0)
			nrepeat += st->rows[i].n;
	}
	if (st->ncust < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs at least 2 customers, got " INT64_FORMAT,
						kind_name(st->kind), st->ncust),
				 errdetail("The model describes the heterogeneity of a customer base."),
				 errhint("Fit the model over all customers, not one.")));
	if (nrepeat == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs at least one repeat customer", kind_name(st->kind)),
				 errdetail("All " INT64_FORMAT " customers have x = 0, so the purchase rate cannot be estimated.",
						   st->ncust),
				 errhint("Use a longer calibration period, or check how x is computed.")));
	if (!(sumT > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs customers observed for some time", kind_name(st->kind)),
				 errdetail("All customers have T = 0."),
				 errhint("Use a calibration period that ends after the first purchases.")));

	fitdata_init(&fd, st);
	/* start: r = a = b = 1 and alpha matching the mean purchase rate */
	u[0] = 0.0;
	u[1] = log(sumT / (sumx + st->ncust));
	u[2] = 0.0;
	u[3] = 0.0;
	run_fit(&fd, bg_objective, 4, u, names, &res);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_bgnbd_fit_final: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = CStringGetTextDatum(kind_name(st->kind));
	for (i = 0; i < 4; i++)
		values[1 + i] = Float8GetDatum(exp(u[i]));
	values[5] = Float8GetDatum(fd.loglik);
	values[6] = Int64GetDatum(st->ncust);
	values[7] = Int32GetDatum(res.iterations);
	values[8] = BoolGetDatum(res.status == BTYD_OPT_CONVERGED);
	values[9] = CStringGetTextDatum(st->unit);
	values[10] = Float8GetDatum(st->l2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * rfm_gamma_gamma_fit final function: the maximum-likelihood fit over the
 * repeat customers as rfm_gamma_gamma_model.  NULL over no rows.
 */
PG_FUNCTION_INFO_V1(rfm_gamma_gamma_fit_final);
Datum
rfm_gamma_gamma_fit_final(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"p", "q", "gamma"};
	BtydState  *st;
	FitData		fd;
	BtydOptResult res;
	double		u[3],
				summ = 0.0;
	int			i;
	TupleDesc	tupdesc;
	Datum		values[8];
	bool		nulls[8] = {0};

	(void) agg_context(fcinfo, "rfm_gamma_gamma_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	if (st->ncust == 0 && st->nskipped == 0)
		PG_RETURN_NULL();		/* no rows with known values at all */
	if (st->ncust == 0)
	{
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gamma_gamma needs repeat customers, got none"),
				 errdetail("The Gamma-Gamma model is fitted over customers with x > 0 and a known mean value."),
				 errhint("Use a longer calibration period, or check how x is computed.")));
	}
	if (st->ncust < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("gamma_gamma needs at least 2 repeat customers, got " INT64_FORMAT, st->ncust),
				 errdetail("The model describes the heterogeneity of spend across customers."),
				 errhint("Fit the model over all repeat customers, not one.")));
	for (i = 0; i < st->nrows; i++)
		summ += st->rows[i].n * st->rows[i].v;

	fitdata_init(&fd, st);
	/* start: p = 1, q = 2 and gamma such that the mean spend p gamma/(q-1) matches */
	u[0] = 0.0;
	u[1] = log(2.0);
	u[2] = log(summ / st->ncust);
	run_fit(&fd, gg_objective, 3, u, names, &res);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "rfm_gamma_gamma_fit_final: return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	for (i = 0; i < 3; i++)
		values[i] = Float8GetDatum(exp(u[i]));
	values[3] = Float8GetDatum(fd.loglik);
	values[4] = Int64GetDatum(st->ncust);
	values[5] = Int32GetDatum(res.iterations);
	values[6] = BoolGetDatum(res.status == BTYD_OPT_CONVERGED);
	values[7] = Float8GetDatum(st->l2);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* ---- reading fitted models ------------------------------------------ */

/* deform a composite argument; at least natts attributes expected */
static void
read_row(HeapTupleHeader th, int natts, Datum *values, bool *nulls, const char *tname)
{
	TupleDesc	td = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
											HeapTupleHeaderGetTypMod(th));
	HeapTupleData tuple;

	if (td->natts != natts)
	{
		ReleaseTupleDesc(td);
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("model must be of type %s", tname)));
	}
	tuple.t_len = HeapTupleHeaderGetDatumLength(th);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = InvalidOid;
	tuple.t_data = th;
	heap_deform_tuple(&tuple, td, values, nulls);
	ReleaseTupleDesc(td);
}

static inline double
model_param(Datum *values, bool *nulls, int i, const char *name)
{
	double		v;

	if (nulls[i])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model parameter %s is null", name),
				 errhint("Pass a model returned by a fitting aggregate.")));
	v = DatumGetFloat8(values[i]);
	if (!isfinite(v) || v <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("model parameter %s must be finite and positive, got %g", name, v),
				 errhint("Pass a model returned by a fitting aggregate.")));
	return v;
}

static void
read_bg_model(HeapTupleHeader th, BgModel *m)
{
	Datum		values[11];
	bool		nulls[11];
	char	   *kind;

	read_row(th, 11, values, nulls, "rfm_bgnbd_model");
	if (nulls[0])
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("model name is null"),
				 errhint("The model field must be 'bgnbd' or 'mbgnbd'.")));
	kind = TextDatumGetCString(values[0]);
	if (strcmp(kind, "bgnbd") == 0)
		m->kind = BTYD_KIND_BGNBD;
	else if (strcmp(kind, "mbgnbd") == 0)
		m->kind = BTYD_KIND_MBGNBD;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown model \"%s\"", kind),
				 errhint("The model field must be 'bgnbd' or 'mbgnbd'.")));
	m->r = model_param(values, nulls, 1, "r");
	m->alpha = model_param(values, nulls, 2, "alpha");
	m->a = model_param(values, nulls, 3, "a");
	m->b = model_param(values, nulls, 4, "b");
}

/* ---- BG/NBD and MBG/NBD predictions ------------------------------- */

/* log of the odds of "dead" against "alive" at T for a customer (x, t_x, T) */
static double
log_dead_odds(const BgModel *m, double x, double tx, double T)
{
	double		shift = (m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0;

	if (m->kind == BTYD_KIND_BGNBD && x == 0.0)
		return -INFINITY;		/* BG/NBD: no one dies before a repeat purchase */
	return log(m->a) - log(m->b + x + shift)
		+ (m->r + x) * (log(m->alpha + T) - log(m->alpha + tx));
}

/* P(alive at T | x, t_x, T) = 1 / (1 + odds), evaluated without overflow */
static double
p_alive(const BgModel *m, double x, double tx, double T)
{
	double		lo = log_dead_odds(m, x, tx, T);

	if (lo > 0.0)
	{
		double		e = exp(-lo);

		return e / (1.0 + e);
	}
	return 1.0 / (1.0 + exp(lo));
}

/*
 * Expected purchases in (T, T + t] given (x, t_x, T), for a != 1.
 * BG/NBD (Fader, Hardie & Lee 2005) and MBG/NBD (Wagner & Hoppe 2008):
 *   E = C/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, B; C; z)] P(alive)
 * with z = t/(alpha+T+t), C = a+b+x-1 and B = b+x (BG/NBD), C = a+b+x and
 * B = b+x+1 (MBG/NBD).  By Euler's transformation
 *   (1-z)^(r+x) 2F1(r+x, B; C; z) = (1-z)^(a-1) 2F1(C-r-x, a-1; C; z),
 * a series whose parameters do not grow with x and whose terms fall like
 * n^(a-r-x-2) z^n; the bracket is then
 *   -(F - 1) - F expm1((a-1) log1p(-z))
 * with F - 1 summed directly, so nothing cancels and nothing overflows.
 */
static double
cond_expected_a(const BgModel *m, double a, double t, double x, double tx, double T)
{
	double		C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	double		z = t / (m->alpha + T + t);
	double		Fm1,
				bracket;
	BgModel		ma = *m;

	if (t == 0.0)
		return 0.0;
	Fm1 = btyd_hyp2f1_series_m1(C - m->r - x, a - 1.0, C, z);
	if (isnan(Fm1))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("hypergeometric series did not converge for horizon %g", t),
				 errdetail("The horizon is extremely long compared with alpha + T = %g.", m->alpha + T),
				 errhint("Use a shorter horizon or a larger time unit.")));
	bracket = -Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z));
	ma.a = a;
	return C / (a - 1.0) * bracket * p_alive(&ma, x, tx, T);
}

/*
 * The same for any a > 0.  At a = 1 the formula is 0/0; its limit is smooth
 * in a, so near 1 the mean of the values at 1 -/+ 1e-4 is used (error of
 * order 1e-8 relative).
 */
static double
cond_expected(const BgModel *m, double t, double x, double tx, double T)
{
	const double h = 1e-4;

	if (fabs(m->a - 1.0) < h)
		return 0.5 * (cond_expected_a(m, 1.0 - h, t, x, tx, T) +
					  cond_expected_a(m, 1.0 + h, t, x, tx, T));
	return cond_expected_a(m, m->a, t, x, tx, T);
}

/*
 * rfm_p_alive(model, x, t_x, T): probability that a customer with history
 * (x, t_x, T) is alive at T under the fitted BG/NBD or MBG/NBD model.
 */
PG_FUNCTION_INFO_V1(rfm_p_alive);
Datum
rfm_p_alive(PG_FUNCTION_ARGS)
{
	BgModel		m;
	double		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3);

	read_bg_model(PG_GETARG_HEAPTUPLEHEADER(0), &m);
	check_customer(x, tx, T);
	PG_RETURN_FLOAT8(p_alive(&m, x, tx, T));
}

/*
 * rfm_expected_purchases(model, horizon, x, t_x, T): expected number of
 * purchases in the next horizon time units of a customer (x, t_x, T).
 */
PG_FUNCTION_INFO_V1(rfm_expected_purchases);
Datum
rfm_expected_purchases(PG_FUNCTION_ARGS)
{
	BgModel		m;
	double		t = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				T = PG_GETARG_FLOAT8(4);

	read_bg_model(PG_GETARG_HEAPTUPLEHEADER(0), &m);
	check_horizon(t);
	check_customer(x, tx, T);
	PG_RETURN_FLOAT8(cond_expected(&m, t, x, tx, T));
}

/*
 * rfm_expected_purchases_new(model, horizon): E[X(t)], the expected repeat
 * purchases in (0, t] of a customer who made a first purchase at time 0.
 */
PG_FUNCTION_INFO_V1(rfm_expected_purchases_new);
Datum
rfm_expected_purchases_new(PG_FUNCTION_ARGS)
{
	BgModel		m;
	double		t = PG_GETARG_FLOAT8(1);

	read_bg_model(PG_GETARG_HEAPTUPLEHEADER(0), &m);
	check_horizon(t);
	/* E[X(t)] is the conditional expectation of a customer with x = t_x = T = 0 */
	PG_RETURN_FLOAT8(cond_expected(&m, t, 0.0, 0.0, 0.0));
}

/*
 * sum over steps i = 1..steps of (E(t_i) - E(t_(i-1))) / (1 + d)^t_i with
 * t_i = min(i, horizon), for a != 1: cond_expected_a at every step, but
 * with the series coefficients (which do not depend on t) computed once.
 * The general path of clv_sum, for series that need many terms.
 */
static double
clv_sum_stepwise(const BgModel *m, double a, double x, double tx, double T,
				 double horizon, int steps, double d)
{
	double		buf[BTYD_CLV_COEFS];
	BtydSeries	series;
	BgModel		ma = *m;
	double		C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	double		pre,
				prev = 0.0,
				clv = 0.0;
	int			i;

	ma.a = a;
	pre = C / (a - 1.0) * p_alive(&ma, x, tx, T);
	btyd_series_init(&series, C - m->r - x, a - 1.0, C, buf, BTYD_CLV_COEFS);
	for (i = 1; i <= steps; i++)
	{
		double		t = Min((double) i, horizon);
		double		z = t / (m->alpha + T + t);
		double		Fm1 = btyd_series_m1_eval(&series, z);
		double		cum;

		if (isnan(Fm1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("hypergeometric series did not converge for horizon %g", t),
					 errdetail("The horizon is extremely long compared with alpha + T = %g.", m->alpha + T),
					 errhint("Use a shorter horizon or a larger time unit.")));
		cum = pre * (-Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z)));
		clv += (cum - prev) / pow(1.0 + d, t);
		prev = cum;
	}
	return clv;
}

/*
 * Coefficients c[1..] of the series of 2F1(A, B; C; z) - 1 and the number of
 * terms after which it may be cut at a given z: the stopping rule of
 * btyd_hyp2f1_series_m1 (a term below 1e-15 of the sum, and a geometric
 * bound on the tail, with the larger of the next term ratio and z, below
 * 1e-17 of it).
 */
typedef struct ClvSeries
{
	double		A,
				B,
				C;
	int			ncoef;			/* c[0..ncoef - 1] computed */
	double		c[CLV_BATCH_MAX_TERMS + 1];
} ClvSeries;

/* N such that terms 1..N suffice at z, or -1 if more than the buffer. */
static int
clv_series_terms(ClvSeries *s, double z)
{
	double		sum = 0.0,
				zn = 1.0;

	for (int n = 1; n <= CLV_BATCH_MAX_TERMS; n++)
	{
		int			k = n - 1;
		double		term,
					rho;

		if (n >= s->ncoef)
		{
			if (s->C + k == 0.0)
				return -1;
			s->c[n] = s->c[k] * (s->A + k) * (s->B + k) / ((s->C + k) * (k + 1.0));
			s->ncoef = n + 1;
		}
		if (s->c[n] == 0.0)
			return k;			/* A or B a non-positive integer: a polynomial */
		zn *= z;
		term = s->c[n] * zn;
		sum += term;
		if (term == 0.0)
			return n;
		if (!isfinite(sum))
			return -1;
		if (fabs(term) > 1e-15 * fabs(sum))
			continue;
		rho = fabs((s->A + n) * (s->B + n) / ((s->C + n) * (n + 1.0)) * z);
		if (rho < z)
			rho = z;
		if (rho < 1.0 && fabs(term) * rho / (1.0 - rho) <= 1e-17 * fabs(sum))
			return n;
	}
	return -1;
}

/*
 * clv_sum: as clv_sum_stepwise, with the series evaluated at every step on
 * the N terms that the largest z (the last step's) needs by the stepwise
 * stopping rule: terms shrink faster at smaller z, so N terms are enough at
 * every step (the btyd test checks the result against the step-by-step sum
 * of rfm_expected_purchases).  Horner's rule on eight steps at a time, with
 * no branches in the inner loop, runs about twice as fast as one series per
 * step.  The discount factors of whole steps are running products (at most
 * one rounding per step).  Falls back to the stepwise path when the series
 * needs more than CLV_BATCH_MAX_TERMS terms.
 */
static double
clv_sum(const BgModel *m, double a, double x, double tx, double T,
		double horizon, int steps, double d)
{
	ClvSeries	s;
	double		K = m->alpha + T;
	double		w = 1.0 / (1.0 + d);
	double		disc = 1.0;
	double		tmax = Min((double) steps, horizon);
	double		pre,
				prev = 0.0,
				clv = 0.0;
	BgModel		ma = *m;
	int			N;
	const double *c = s.c;

	s.C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	s.A = s.C - m->r - x;
	s.B = a - 1.0;
	s.c[0] = 1.0;
	s.ncoef = 1;
	N = clv_series_terms(&s, tmax / (K + tmax));
	if (N < 0)
		return clv_sum_stepwise(m, a, x, tx, T, horizon, steps, d);

	ma.a = a;
	pre = s.C / (a - 1.0) * p_alive(&ma, x, tx, T);
	for (int i0 = 1; i0 <= steps; i0 += 8)
	{
		double		t[8],
					z[8],
					p[8];
		double		p0 = 0.0,
					p1 = 0.0,
					p2 = 0.0,
					p3 = 0.0,
					p4 = 0.0,
					p5 = 0.0,
					p6 = 0.0,
					p7 = 0.0;
		int			nb = Min(8, steps - i0 + 1);

		for (int j = 0; j < 8; j++)
		{
			t[j] = Min((double) Min(i0 + j, steps), horizon);
			z[j] = t[j] / (K + t[j]);
		}
		/* p = c[1] + c[2] z + ... + c[N] z^(N-1); 2F1 - 1 = z p */
		{
			double		z0 = z[0],
						z1 = z[1],
						z2 = z[2],
						z3 = z[3],
						z4 = z[4],
						z5 = z[5],
						z6 = z[6],
						z7 = z[7];

			for (int n = N; n >= 1; n--)
			{
				double		cn = c[n];

				p0 = p0 * z0 + cn;
				p1 = p1 * z1 + cn;
				p2 = p2 * z2 + cn;
				p3 = p3 * z3 + cn;
				p4 = p4 * z4 + cn;
				p5 = p5 * z5 + cn;
				p6 = p6 * z6 + cn;
				p7 = p7 * z7 + cn;
			}
		}
		p[0] = p0;
		p[1] = p1;
		p[2] = p2;
		p[3] = p3;
		p[4] = p4;
		p[5] = p5;
		p[6] = p6;
		p[7] = p7;
		for (int j = 0; j < nb; j++)
		{
			double		Fm1 = z[j] * p[j];
			double		cum = pre * (-Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z[j])));

			if (t[j] == (double) (i0 + j))
				disc *= w;
			else
				disc = pow(w, t[j]);	/* the last, partial step */
			clv += (cum - prev) * disc;
			prev = cum;
		}
	}
	return clv;
}

/*
 * rfm_clv(model, x, t_x, T, order_value, horizon, margin, discount_rate):
 * discounted expected margin over the horizon, in steps of one time unit.
 */
PG_FUNCTION_INFO_V1(rfm_clv);
Datum
rfm_clv(PG_FUNCTION_ARGS)
{
	BgModel		m;
	double		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				T = PG_GETARG_FLOAT8(3),
				value = PG_GETARG_FLOAT8(4),
				horizon = PG_GETARG_FLOAT8(5),
				margin = PG_GETARG_FLOAT8(6),
				d = PG_GETARG_FLOAT8(7);
	double		clv,
				steps;

	read_bg_model(PG_GETARG_HEAPTUPLEHEADER(0), &m);
	check_customer(x, tx, T);
	check_horizon(horizon);
	check_finite(value, "order value");
	check_finite(margin, "margin");
	if (!isfinite(d) || d < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount rate must be a finite number >= 0, got %g", d),
				 errhint("Give the discount rate per time unit of the model, e.g. 0.10/52 a week for 10%% a year.")));
	steps = ceil(horizon);
	if (steps > BTYD_MAX_CLV_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon of %g time units is too long", horizon),
				 errdetail("The CLV sums one step per time unit, at most %d steps.", BTYD_MAX_CLV_STEPS),
				 errhint("Fit the model in a larger time unit.")));
	if (fabs(m.a - 1.0) < 1e-4)
		clv = 0.5 * (clv_sum(&m, 1.0 - 1e-4, x, tx, T, horizon, (int) steps, d) +
					 clv_sum(&m, 1.0 + 1e-4, x, tx, T, horizon, (int) steps, d));
	else
		clv = clv_sum(&m, m.a, x, tx, T, horizon, (int) steps, d);
	PG_RETURN_FLOAT8(clv * value * margin);
}

/* ---- Gamma-Gamma ----------------------------------------------------- */

/*
 * rfm_expected_order_value(model, x, mean_value): the Gamma-Gamma conditional
 * expectation of a customer's mean order value; the population mean if x = 0.
 */
PG_FUNCTION_INFO_V1(rfm_expected_order_value);
Datum
rfm_expected_order_value(PG_FUNCTION_ARGS)
{
	Datum		values[8];
	bool		nulls[8];
	double		p,
				q,
				g,
				x = PG_GETARG_FLOAT8(1),
				mv = PG_GETARG_FLOAT8(2);

	read_row(PG_GETARG_HEAPTUPLEHEADER(0), 8, values, nulls, "rfm_gamma_gamma_model");
	p = model_param(values, nulls, 0, "p");
	q = model_param(values, nulls, 1, "q");
	g = model_param(values, nulls, 2, "gamma");
	check_finite(x, "x");
	if (x < 0.0 || x != floor(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number of repeat purchases, not %g", x),
				 errhint("Compute x as count(DISTINCT purchase period) - 1.")));
	if (x == 0.0)
	{
		if (q <= 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("population mean order value is infinite when q <= 1 (q = %g)", q),
					 errhint("Use the function only for repeat customers (x > 0).")));
		PG_RETURN_FLOAT8(p * g / (q - 1.0));
	}
	if (!isfinite(mv) || mv <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean value must be a finite positive amount, got %g", mv),
				 errhint("Pass the mean value of the customer's repeat purchases.")));
	if (p * x + q <= 1.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("expected order value is infinite when p x + q <= 1"),
				 errhint("The fitted q is too small for customers with so few purchases.")));
	PG_RETURN_FLOAT8(p * (g + x * mv) / (p * x + q - 1.0));
}

/* ---- model-free CLV and 2F1 -------------------------------------------- */

/*
 * rfm_simple_clv(avg_order_value, purchases_per_period, margin, retention,
 * discount_rate): aov * rate * margin * retention / (1 + discount - retention).
 */
PG_FUNCTION_INFO_V1(rfm_simple_clv);
Datum
rfm_simple_clv(PG_FUNCTION_ARGS)
{
	double		aov = PG_GETARG_FLOAT8(0),
				rate = PG_GETARG_FLOAT8(1),
				margin = PG_GETARG_FLOAT8(2),
				ret = PG_GETARG_FLOAT8(3),
				d = PG_GETARG_FLOAT8(4);

	check_finite(aov, "average order value");
	check_finite(rate, "purchase rate");
	check_finite(margin, "margin");
	if (!(ret >= 0.0 && ret <= 1.0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retention must lie between 0 and 1, got %g", ret),
				 errhint("Give the share of customers kept from one period to the next.")));
	if (!isfinite(d) || d < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount rate must be a finite number >= 0, got %g", d),
				 errhint("Give the discount rate per period.")));
	if (1.0 + d - ret <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("CLV is infinite with retention 1 and discount rate 0"),
				 errhint("Use a positive discount rate or a retention below 1.")));
	PG_RETURN_FLOAT8(aov * rate * margin * ret / (1.0 + d - ret));
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

	check_finite(a, "a");
	check_finite(b, "b");
	check_finite(c, "c");
	check_finite(z, "z");
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
