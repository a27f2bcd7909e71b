/*-------------------------------------------------------------------------
 *
 * btyd.h
 *	  Declarations shared by the files of the probabilistic customer-base
 *	  ("buy till you die") models:
 *
 *	  src/btyd.c			fitting machinery: the rows of a fit, the
 *							optimizer run, standard errors, reading a
 *							fitted model
 *	  src/btyd_score.c	scoring: the cache of a call site, the shared
 *							P(alive) and expected-purchases calls, rfm_hyp2f1
 *	  src/btyd_state.c	the fitting aggregates' state (distinct rows with
 *							counts) and its combine/serialize/deserialize
 *	  src/bgnbd.c			BG/NBD and MBG/NBD: fit and predictions
 *	  src/gamma_gamma.c	Gamma-Gamma spend model: fit and prediction
 *	  src/pnbd.c			Pareto/NBD: fit and predictions
 *	  src/bgbb.c			BG/BB (discrete time): fit, predictions, the
 *							opportunity index of the summary
 *	  src/clv.c			rfm_clv and rfm_simple_clv
 *	  src/btyd_math.c		digamma, 2F1, BFGS (pure C)
 *
 *	  A new model adds its kind below, its objective and final function in
 *	  a file of its own, and reuses the state, fitting and reading code.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTYD_H
#define BTYD_H

#include "rfm.h"

#include <math.h>

#include "access/htup_details.h"
#include "fmgr.h"

#include "btyd_math.h"

/* the models; the number is stored in serialized aggregate states */
#define BTYD_KIND_BGNBD		1
#define BTYD_KIND_MBGNBD	2
#define BTYD_KIND_GG		3
#define BTYD_KIND_PNBD		4
#define BTYD_KIND_BGBB		5
#define BTYD_KIND_MAX		5

#define BTYD_UNIT_LEN		16

/*
 * one distinct input row: (x, t_x, T), for BG/BB (x, t_x, n), or for
 * Gamma-Gamma (x, mean value, 0)
 */
typedef struct BtydRow
{
	double		x;
	double		v;				/* t_x, or the mean value for Gamma-Gamma */
	double		T;
	int64		n;				/* number of customers with this row */
} BtydRow;

/*
 * A slot of the state's hash table: the row's hash beside its index, so that
 * probing reads the row only when the hashes agree.
 */
typedef struct BtydSlot
{
	uint32		hash;
	int32		row;			/* index into rows, or -1: empty */
} BtydSlot;

/*
 * Rows given to the transition functions wait in a short queue before they
 * are counted: each one's slot is prefetched when it arrives, and its row
 * (if the slot holds one with its hash) half-way through, so that counting
 * it finds both in the cache.  Without the queue each row waited on one or
 * two cache misses one after the other.
 */
#define BTYD_PENDING		16	/* a power of two */

typedef struct BtydPending
{
	double		x;
	double		v;
	double		T;
	int64		n;
	uint32		hash;
} BtydPending;

typedef struct BtydState
{
	int32		kind;
	bool		l2_set;
	double		l2;
	char		unit[BTYD_UNIT_LEN];	/* "" until the first row (BG/MBG) */
	int64		ncust;			/* customers counted (sum of n, with the
								 * queue's) */
	int64		nskipped;		/* Gamma-Gamma: rows with x = 0, not counted */
	int64		nnull;			/* rows skipped for a NULL customer value */
	int32		nrows;
	int32		maxrows;
	BtydRow    *rows;
	int32		nslots;			/* power of two, at least 2 * maxrows */
	BtydSlot   *slots;
	MemoryContext mcxt;
	int32		npending;		/* rows in the queue, not yet in rows */
	int32		pending_head;	/* the oldest of them */
	BtydPending pending[BTYD_PENDING];
} BtydState;


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
	void	   *extra;			/* a model's own precomputed indexes */

	/*
	 * Influence of single customers, computed by the objective on its pass
	 * over the rows when infl_cov is set (see btyd_row_influence).
	 */
	int			np;
	const double *infl_cov;		/* np x np covariance of the log parameters */
	const double *infl_se;		/* their standard errors */
	double		max_influence;
	int			infl_row;		/* row of the most influential customer */
	int			infl_param;		/* parameter it moves most */
} FitData;

/*
 * What a fit reports besides its parameters: standard errors (natural
 * parameters, from the inverse Hessian of the objective), information
 * criteria and the largest influence of a single customer.
 */
typedef struct BtydFitStats
{
	bool		se_ok;			/* false: not converged, or Hessian not
								 * positive definite */
	double		se[BTYD_MAX_PARAMS];
	double		aic;
	double		bic;
	double		max_influence;	/* NaN when se_ok is false */
} BtydFitStats;

/*
 * The likelihoods run over the rows in order, but a row's arithmetic (a log
 * or two) is too short for the processor to read ahead on its own: without
 * help each pass waits on memory for nearly every row once the rows no
 * longer fit the caches (GG at 1M rows: 17 against 8 ms a pass).  Each
 * pass asks for row i + BTYD_PREFETCH_ROWS and its indexes while it works
 * on row i.  A prefetch changes no result.
 */
#define BTYD_PREFETCH_ROWS	64

/*
 * Always inlined: GCC takes a function that only prefetches for one without
 * effects and drops its calls.
 */
static pg_attribute_always_inline void
btyd_prefetch_rows(const FitData *fd, int i)
{
	int			j = i + BTYD_PREFETCH_ROWS;

	if (j < fd->nrows)
	{
		__builtin_prefetch(&fd->rows[j]);
		__builtin_prefetch(&fd->group[j]);
	}
}

/*
 * Influence of one customer with score g (gradient of its log-likelihood in
 * the log parameters) at the optimum: removing it moves the log parameters
 * by about cov g (one Newton step), here in standard errors.
 */
static inline void
btyd_row_influence(FitData *fd, int row, const double *g)
{
	const int	np = fd->np;

	for (int j = 0; j < np; j++)
	{
		double		d = 0.0;

		for (int k = 0; k < np; k++)
			d += fd->infl_cov[j * np + k] * g[k];
		d = fabs(d) / fd->infl_se[j];
		if (d > fd->max_influence)
		{
			fd->max_influence = d;
			fd->infl_row = row;
			fd->infl_param = j;
		}
	}
}

/* ---- validation helpers ------------------------------------------- */

/*
 * The largest count of repeat purchases accepted: beyond it the models'
 * arithmetic (r + x, b + x - 1 and their differences) loses the precision
 * that the predictions need, and no customer base has such customers.
 */
#define BTYD_MAX_X			1e9

static inline void
btyd_check_x_range(double x)
{
	if (x > BTYD_MAX_X)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("x = %.15g repeat purchases is out of range", x),
				 errdetail("The models accept at most %.15g repeat purchases per customer.", BTYD_MAX_X),
				 errhint("Check how x is computed: it counts distinct purchase periods minus one.")));
}

/* a number of purchases n of P(X(t) = n): a whole number, 0 <= n <= 1e9 */
static inline void
btyd_check_count(double n)
{
	if (!isfinite(n) || n < 0.0 || n != floor(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("number of purchases must be a whole number >= 0, got %g", n)));
	btyd_check_x_range(n);
}

/*
 * A prediction computed from finite inputs that is not finite (an overflow,
 * or an infinity times zero) is an error, never a silent NaN or Infinity.
 */
static inline double
btyd_check_result(double v, const char *what)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s is out of range", what),
				 errdetail("The inputs are finite, but the result cannot be represented in double precision."),
				 errhint("Check the inputs for extreme values, for example amounts near 1e308.")));
	return v;
}

static inline void
btyd_check_finite(double v, const char *what)
{
	if (!isfinite(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be finite", what),
				 errdetail("The value given is %g.", v),
				 errhint("Remove or correct rows with infinite or NaN values.")));
}

/* x, a count of repeat purchases: a whole number, 0 <= x <= BTYD_MAX_X */
static inline void
btyd_check_x(double x)
{
	btyd_check_finite(x, "x");
	if (x < 0.0 || x != floor(x))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must be a whole number of repeat purchases, not %g", x),
				 errdetail("x counts the repeat purchases (distinct purchase periods minus one)."),
				 errhint("Compute x as count(DISTINCT purchase period) - 1.")));
	btyd_check_x_range(x);
}

/*
 * A customer row (x, t_x, T) of the BG/NBD family: x a whole number >= 0,
 * 0 <= t_x <= T, and t_x = 0 when x = 0.
 */
static inline void
btyd_check_customer(double x, double tx, double T)
{
	btyd_check_x(x);
	btyd_check_finite(tx, "t_x");
	btyd_check_finite(T, "T");
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
btyd_check_l2(double l2)
{
	if (!isfinite(l2) || l2 < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 penalty must be a finite number >= 0, got %g", l2),
				 errhint("Use 0 for no penalty; small values such as 0.001 usually suffice.")));
}

static inline void
btyd_check_horizon(double t)
{
	if (!isfinite(t) || t < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon must be a finite number >= 0, got %g", t),
				 errhint("Give the horizon in the time unit of the model.")));
}

/* log(exp(p) + exp(q)) and the weight exp(q) / (exp(p) + exp(q)) */
static inline double
btyd_logaddexp_w(double p, double q, double *wq)
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
btyd_l2_penalty(double l2, const double *u, double *grad, int np)
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

/* ---- scoring: the model and memoized terms, cached per call site ---- */

/*
 * A scoring function (rfm_p_alive, rfm_expected_purchases, rfm_clv, ...) is
 * called once per customer with the same model.  Its cache, in
 * fn_extra, holds the model as read from the composite argument (re-read
 * only when the argument's bytes change) and a bounded hash table of terms
 * that depend on part of the customer's inputs: keyed by a tag (which term)
 * and up to four float8 bit patterns, so that a hit returns the very value
 * the computation would give.  Calendar data repeat the pairs (x, T) and
 * (x, t_x) a lot.  The table grows up to BTYD_MEMO_MAX_SLOTS slots and is
 * emptied when it is three-quarters full at that size; it is emptied too
 * when the model changes.
 */
#define BTYD_MEMO_KEYS		4
#define BTYD_MEMO_MIN_SLOTS 256
#define BTYD_MEMO_MAX_SLOTS 65536	/* 48 bytes each: 3 MB at most */
#define BTYD_MODEL_MAX		64	/* bytes of a model struct */

typedef struct BtydMemoEntry
{
	uint64		key[BTYD_MEMO_KEYS];
	double		val;
	int32		tag;			/* 0: empty slot */
} BtydMemoEntry;

typedef struct BtydScoreCache
{
	MemoryContext mcxt;			/* fn_mcxt; NULL: no memo (no flinfo) */
	Size		len;			/* the model datum last read, or 0 */
	char	   *bytes;
	double		model[BTYD_MODEL_MAX / sizeof(double)];	/* e.g. a BgModel */
	int			nslots;
	int			nused;
	BtydMemoEntry *slots;
} BtydScoreCache;

typedef void (*btyd_read_fn) (HeapTupleHeader th, void *model);

/* src/btyd_score.c */
extern BtydScoreCache *btyd_score_cache(FunctionCallInfo fcinfo, int argno,
										btyd_read_fn read, BtydScoreCache *local);
extern bool btyd_memo_get(const BtydScoreCache *c, int32 tag, const double *key,
						  double *val);
extern void btyd_memo_put(BtydScoreCache *c, int32 tag, const double *key, double val);

/*
 * The scoring functions that BG/NBD, MBG/NBD and Pareto/NBD share, with
 * arguments (x, t_x, T): each model fills this table, and one wrapper per
 * SQL function reads and checks the arguments and calls it.
 */
typedef struct BtydScoreOps
{
	btyd_read_fn read;
	double		(*p_alive) (BtydScoreCache *c, double x, double tx, double T);
	double		(*expected) (BtydScoreCache *c, double t, double x, double tx, double T);
	double		(*clv) (BtydScoreCache *c, double x, double tx, double T,
						double horizon, int steps, double d);
} BtydScoreOps;

extern Datum btyd_p_alive_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops);
extern Datum btyd_expected_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops);
extern Datum btyd_expected_new_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops);

/* src/btyd_state.c */
extern BtydState *btyd_state_create(MemoryContext mcxt, int kind, int maxrows);
extern void btyd_state_push(BtydState *st, double x, double v, double T, int64 n);
extern void btyd_state_flush(BtydState *st);
extern const char *btyd_kind_name(int kind);
extern void btyd_state_set_l2(BtydState *st, double l2);
extern void btyd_state_take_l2(BtydState *st, FunctionCallInfo fcinfo, int argno);
extern void btyd_state_set_unit(BtydState *st, text *unit_t);
extern MemoryContext btyd_agg_context(FunctionCallInfo fcinfo, const char *fname);
extern Datum btyd_customer_trans(FunctionCallInfo fcinfo, int kind, const char *fname);
extern Datum btyd_rows_trans(FunctionCallInfo fcinfo, int kind, const char *fname,
							 int unit_arg, void (*check) (double, double, double));

/* src/radix.c */
extern void btyd_sort_rows(BtydRow *rows, size_t n);

/* src/btyd.c */
extern BtydRow *btyd_sorted_rows(const BtydState *st);
extern void btyd_fitdata_init(FitData *fd, const BtydState *st, BtydRow *rows);
extern void btyd_check_customer_base(const BtydState *st, const BtydRow *rows,
									 double *sumT, double *sumx);
extern void btyd_run_fit(FitData *fd, btyd_objective fn, int np, double *u,
						 const char *const *names, BtydOptResult *res);
extern void btyd_fit_stats(FitData *fd, btyd_objective fn, int np,
						   const double *u, const char *const *names,
						   const BtydOptResult *res, BtydFitStats *stats);
extern int	btyd_fit_datums(const FitData *fd, const BtydState *st, const double *u,
							int np, const BtydOptResult *res, Datum *values, bool *nulls);
extern int	btyd_stats_datums(const BtydFitStats *stats, int np, int64 nskipped,
							  Datum *values, bool *nulls);
extern Datum btyd_form_result(FunctionCallInfo fcinfo, Datum *values,
							  bool *nulls, int nvalues);
extern void btyd_read_row(HeapTupleHeader th, int natts, Datum *values,
						  bool *nulls, const char *tname);
extern void btyd_read_params(HeapTupleHeader th, const char *tname, int np,
							 const char *const *names, double *params);
extern double btyd_model_param(Datum *values, bool *nulls, int i, const char *name);

/* src/bgnbd.c */
extern const BtydScoreOps btyd_bg_ops;

/* src/pnbd.c */
extern const BtydScoreOps btyd_pnbd_ops;

/* src/bgbb.c */
extern double bgbb_clv(BtydScoreCache *c, double x, double tx, double n,
					   double horizon, double d);
extern void bgbb_read_model(HeapTupleHeader th, void *model);

#endif							/* BTYD_H */
