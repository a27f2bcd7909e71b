/*-------------------------------------------------------------------------
 *
 * btyd.c
 *	  The fitting machinery shared by the "buy till you die" models (see
 *	  btyd.h for the files of each model): the distinct rows of a fit
 *	  sorted and indexed for the likelihoods, the run of the BFGS minimizer
 *	  (src/btyd_math.c) with its failures turned into errors or warnings,
 *	  the GUC rfm.max_fit_iterations, reading a fitted model from its
 *	  composite type, and rfm_hyp2f1.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/typcache.h"

#define BTYD_MAX_ITER		1000
#define BTYD_GTOL			1e-8
#define BTYD_LOG_BOUND		30.0	/* log parameter this far from its start:
									 * diverged */
#define BTYD_LOG_FINAL		15.0	/* ... or this far at the end (3.3e6) */

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

void
btyd_fitdata_init(FitData *fd, const BtydState *st)
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


/*
 * Run the minimizer and turn its failures into errors (or, for a fit that
 * stopped short of the tolerance, a warning and converged = false).
 */
void
btyd_run_fit(FitData *fd, btyd_objective fn, int np, double *u,
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
					 errmsg("%s log-likelihood is not finite at the starting values", btyd_kind_name(fd->kind)),
					 errdetail("The input values are too extreme for double precision."),
					 errhint("Measure t_x and T in a larger time unit.")));
			break;
		case BTYD_OPT_DIVERGED:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_EXCEPTION),
					 errmsg("%s fit diverged: parameter %s went to %g",
							btyd_kind_name(fd->kind), names[res->diverged_param],
							exp(u[res->diverged_param])),
					 errdetail("The likelihood keeps rising as the parameter goes to 0 or infinity (after %d iterations): the data do not bound it, for example because the customers do not differ.",
							   res->iterations),
					 errhint("Fit over more varied customers, or add an L2 penalty with the overload that takes an l2 argument.")));
			break;
		case BTYD_OPT_MAXITER:
		case BTYD_OPT_STALLED:
			ereport(WARNING,
					(errmsg("%s fit did not converge", btyd_kind_name(fd->kind)),
					 errdetail("The gradient norm is %g after %d iterations; the result has converged = false.",
							   res->gnorm, res->iterations),
					 errhint("Raise rfm.max_fit_iterations, check the data, or add a small L2 penalty.")));
			break;
	}
	/* the reported log-likelihood is the unpenalized one at the final point */
	(void) fn(u, g, fd);
	for (i = 0; i < np; i++)
		if (!isfinite(u[i]))
			elog(ERROR, "%s fit returned a non-finite parameter", btyd_kind_name(fd->kind));
}

/* The interrupt check of the series in src/btyd_math.c. */
void
btyd_check_interrupts(void)
{
	CHECK_FOR_INTERRUPTS();
}

/* ---- reading fitted models ------------------------------------------ */

/* deform a composite argument; at least natts attributes expected */
void
btyd_read_row(HeapTupleHeader th, int natts, Datum *values, bool *nulls, const char *tname)
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

double
btyd_model_param(Datum *values, bool *nulls, int i, const char *name)
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
