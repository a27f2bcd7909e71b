/*-------------------------------------------------------------------------
 *
 * btyd.c
 *	  The fitting machinery shared by the "buy till you die" models (see
 *	  btyd.h for the files of each model): the distinct rows of a fit
 *	  sorted and indexed for the likelihoods, the run of the BFGS minimizer
 *	  (src/btyd_math.c) with its failures turned into errors or warnings,
 *	  the GUC rfm.max_fit_iterations, the fits' standard errors and
 *	  diagnostics, and reading a fitted model from its composite type.
 *	  Scoring with a fitted model is in src/btyd_score.c.
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
#define BTYD_LOG_NEAR		7.0		/* this far at the end (1,100): warn */
#define BTYD_INFLUENCE_WARN	3.0		/* standard errors: warn about a customer */

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

/*
 * A copy of the state's distinct rows sorted by (x, v, T): the rows of a fit
 * are summed in this order, never in the order they came, so that the fit's
 * last bits do not depend on the order of the input (a restored model's
 * views read their rows in another order).
 */
BtydRow *
btyd_sorted_rows(const BtydState *st)
{
	BtydRow    *rows = MemoryContextAllocHuge(CurrentMemoryContext,
											  sizeof(BtydRow) * Max(st->nrows, 1));

	Assert(st->npending == 0);
	memcpy(rows, st->rows, sizeof(BtydRow) * st->nrows);
	btyd_sort_rows(rows, st->nrows);
	return rows;
}

/* The data of a fit over the state's rows, sorted by btyd_sorted_rows. */
void
btyd_fitdata_init(FitData *fd, const BtydState *st, BtydRow *rows)
{
	int			n = Max(st->nrows, 1);
	int			i;

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
		double	   *all = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(double) * 2 * n);
		int64	   *order = MemoryContextAllocHuge(CurrentMemoryContext, sizeof(int64) * 2 * n);

		for (i = 0; i < st->nrows; i++)
		{
			/* +0.0 turns -0.0 into 0.0: one value, as the rows compare */
			all[2 * i] = rows[i].T + 0.0;
			all[2 * i + 1] = rows[i].v + 0.0;
		}

		/*
		 * The distinct values ascending, each row's two found on the way: the
		 * values are finite, so the radix order is the order of <.
		 */
		rfm_radix_order(all, 2 * (size_t) st->nrows, false, order);
		fd->ts = palloc(sizeof(double) * 2 * n);
		fd->iT = palloc(sizeof(int) * n);
		fd->itx = palloc(sizeof(int) * n);
		for (i = 0; i < 2 * st->nrows; i++)
		{
			int64		j = order[i];

			if (fd->nt == 0 || fd->ts[fd->nt - 1] != all[j])
				fd->ts[fd->nt++] = all[j];
			if (j % 2 == 0)
				fd->iT[j / 2] = fd->nt - 1;
			else
				fd->itx[j / 2] = fd->nt - 1;
		}
		pfree(order);
		pfree(all);
		fd->lt = palloc(sizeof(double) * Max(fd->nt, 1));
		fd->rt = palloc(sizeof(double) * Max(fd->nt, 1));
	}
	fd->ntotal = (double) st->ncust;
	fd->l2 = st->l2;
	fd->loglik = NAN;
	fd->extra = NULL;
	fd->np = 0;
	fd->infl_cov = NULL;
	fd->infl_se = NULL;
	fd->max_influence = 0.0;
	fd->infl_row = -1;
	fd->infl_param = 0;
}


/*
 * Check that the rows of a fit over (x, t_x, T), sorted by btyd_sorted_rows,
 * describe a customer base the models can be fitted to (at least 2
 * customers, one of them a repeat buyer, observed for some time), and return
 * the sums of T and x.
 */
void
btyd_check_customer_base(const BtydState *st, const BtydRow *rows,
						 double *sumT, double *sumx)
{
	int64		nrepeat = 0;
	int			i;

	/* summed over the sorted rows: the starting point depends on the sums */
	*sumT = 0.0;
	*sumx = 0.0;
	for (i = 0; i < st->nrows; i++)
	{
		*sumT += rows[i].n * rows[i].T;
		*sumx += rows[i].n * rows[i].x;
		if (rows[i].x > 0)
			nrepeat += rows[i].n;
	}
	if (st->ncust < 2)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs at least 2 customers, got " INT64_FORMAT,
						btyd_kind_name(st->kind), st->ncust),
				 errdetail("The model describes the heterogeneity of a customer base."),
				 errhint("Fit the model over all customers, not one.")));
	if (nrepeat == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs at least one repeat customer", btyd_kind_name(st->kind)),
				 errdetail("All " INT64_FORMAT " customers have x = 0, so the purchase rate cannot be estimated.",
						   st->ncust),
				 errhint("Use a longer calibration period, or check how x is computed.")));
	if (!(*sumT > 0.0))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("%s needs customers observed for some time", btyd_kind_name(st->kind)),
				 errdetail("All customers have T = 0."),
				 errhint("Use a calibration period that ends after the first purchases.")));
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
					 errdetail("The gradient norm is %g after %d iterations; the result has converged = false and no standard errors.",
							   res->gnorm, res->iterations),
					 errhint("Raise rfm.max_fit_iterations, check the data, or add a small L2 penalty.")));
			break;
	}

	/*
	 * A parameter that ended far from its start but short of the divergence
	 * error (a factor between e^7 = 1,100 and e^15) has run towards the edge
	 * of the parameter space: the likelihood is nearly flat there, the
	 * maximum (if any) is poorly determined, and a slightly different
	 * sample could send it to 0 or infinity.  Name the farthest one.
	 */
	{
		int			worst = -1;
		double		dmax = BTYD_LOG_NEAR;

		for (i = 0; i < np; i++)
			if (fabs(u[i] - u0[i]) > dmax)
			{
				dmax = fabs(u[i] - u0[i]);
				worst = i;
			}
		if (worst >= 0)
			ereport(WARNING,
					(errcode(ERRCODE_WARNING),
					 errmsg("%s fit: parameter %s ran towards %s, to %.3g",
							btyd_kind_name(fd->kind), names[worst],
							u[worst] < u0[worst] ? "0" : "infinity", exp(u[worst])),
					 errdetail("It ended a factor %.2g from its starting value (a factor %.2g is an error): the likelihood is nearly flat in that direction, so the data hardly bound the parameter, and its estimate and standard error mean little.",
							   exp(dmax), exp(BTYD_LOG_FINAL)),
					 errhint("A shape parameter near infinity means that what it describes hardly varies across customers; near 0, that it is concentrated at an extreme (for example nobody drops out).  Check the data, fit over more varied customers, or add an L2 penalty with the overload that takes an l2 argument.")));
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

/* ---- uncertainty and diagnostics ---------------------------------- */

/*
 * Invert the symmetric positive definite n x n matrix a (row-major) into
 * inv by its Cholesky factor; false when a is not positive definite.
 */
static bool
spd_inverse(const double *a, int n, double *inv)
{
	double		l[BTYD_MAX_PARAMS * BTYD_MAX_PARAMS] = {0};
	double		li[BTYD_MAX_PARAMS * BTYD_MAX_PARAMS] = {0};
	int			i,
				j,
				k;

	for (j = 0; j < n; j++)
	{
		double		d = a[j * n + j];

		for (k = 0; k < j; k++)
			d -= l[j * n + k] * l[j * n + k];
		if (!(d > 0.0) || !isfinite(d))
			return false;
		l[j * n + j] = sqrt(d);
		for (i = j + 1; i < n; i++)
		{
			double		v = a[i * n + j];

			for (k = 0; k < j; k++)
				v -= l[i * n + k] * l[j * n + k];
			l[i * n + j] = v / l[j * n + j];
		}
	}
	/* li = l^-1 (lower triangular), inv = li' li */
	for (j = 0; j < n; j++)
	{
		li[j * n + j] = 1.0 / l[j * n + j];
		for (i = j + 1; i < n; i++)
		{
			double		v = 0.0;

			for (k = j; k < i; k++)
				v -= l[i * n + k] * li[k * n + j];
			li[i * n + j] = v / l[i * n + i];
		}
	}
	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
		{
			double		v = 0.0;

			for (k = Max(i, j); k < n; k++)
				v += li[k * n + i] * li[k * n + j];
			inv[i * n + j] = v;
		}
	return true;
}

/*
 * Standard errors, AIC, BIC and the influence of single customers at the
 * optimum u of fn; for a fit that did not converge (res) AIC and BIC only.
 *
 * The Hessian of the objective in the log parameters u is the central
 * difference of its gradient (step 1e-5 in u); times the number of
 * customers it is the observed information of the log parameters (with an
 * L2 penalty: of the penalized log-likelihood, whose curvature includes
 * the penalty's 2 l2 N on the diagonal).  Its inverse is the covariance of
 * u; the natural parameters theta = exp(u) have se(theta) = theta se(u),
 * the delta method, which at a maximum (zero gradient) is the inverse of
 * the observed information in theta itself.
 *
 * AIC = 2k - 2 LL and BIC = k log(n) - 2 LL with the unpenalized LL and n
 * the customers used.  The influence of a customer is how far (in
 * standard errors of the log parameters) one Newton step moves the
 * estimate when that customer is removed; a warning names a customer who
 * moves a parameter by more than BTYD_INFLUENCE_WARN standard errors.
 */
void
btyd_fit_stats(FitData *fd, btyd_objective fn, int np, const double *u,
			   const char *const *names, const BtydOptResult *res,
			   BtydFitStats *stats)
{
	const double h = 1e-5;
	double		hess[BTYD_MAX_PARAMS * BTYD_MAX_PARAMS];
	double		cov[BTYD_MAX_PARAMS * BTYD_MAX_PARAMS];
	double		seu[BTYD_MAX_PARAMS];
	double		up[BTYD_MAX_PARAMS],
				gp[BTYD_MAX_PARAMS],
				gm[BTYD_MAX_PARAMS],
				g[BTYD_MAX_PARAMS];
	int			i,
				j;
	double		loglik;

	(void) fn(u, g, fd);
	loglik = fd->loglik;
	stats->aic = 2.0 * np - 2.0 * loglik;
	stats->bic = np * log(fd->ntotal) - 2.0 * loglik;
	stats->se_ok = false;
	stats->max_influence = NAN;
	for (i = 0; i < np; i++)
		stats->se[i] = NAN;

	/*
	 * A fit that did not converge stopped at a point that is not a maximum:
	 * the curvature there is no observed information, so no standard errors
	 * (nor the influence, which needs them).
	 */
	if (res->status != BTYD_OPT_CONVERGED)
		goto done;

	for (j = 0; j < np; j++)
	{
		memcpy(up, u, sizeof(double) * np);
		up[j] = u[j] + h;
		if (!isfinite(fn(up, gp, fd)))
			goto done;
		up[j] = u[j] - h;
		if (!isfinite(fn(up, gm, fd)))
			goto done;
		for (i = 0; i < np; i++)
			hess[i * np + j] = (gp[i] - gm[i]) / (2.0 * h) * fd->ntotal;
	}
	for (i = 0; i < np; i++)
		for (j = 0; j < i; j++)
			hess[i * np + j] = hess[j * np + i] =
				0.5 * (hess[i * np + j] + hess[j * np + i]);
	if (!spd_inverse(hess, np, cov))
	{
		ereport(WARNING,
				(errmsg("%s fit: standard errors are not available", btyd_kind_name(fd->kind)),
				 errdetail("The Hessian of the negative log-likelihood is not positive definite at the estimate: the data do not determine all parameters."),
				 errhint("Fit over more customers or a longer period, or add a small L2 penalty.")));
		goto done;
	}
	stats->se_ok = true;
	for (i = 0; i < np; i++)
	{
		seu[i] = sqrt(cov[i * np + i]);
		stats->se[i] = exp(u[i]) * seu[i];
	}

	/* one more pass over the rows for the influence of each customer */
	fd->np = np;
	fd->infl_cov = cov;
	fd->infl_se = seu;
	fd->max_influence = 0.0;
	fd->infl_row = -1;
	fd->infl_param = 0;
	(void) fn(u, g, fd);
	fd->infl_cov = NULL;
	fd->infl_se = NULL;
	stats->max_influence = fd->max_influence;
	if (fd->max_influence > BTYD_INFLUENCE_WARN && fd->infl_row >= 0)
	{
		const BtydRow *row = &fd->rows[fd->infl_row];

		ereport(WARNING,
				(errmsg("%s fit: one customer moves parameter %s by %.1f standard errors",
						btyd_kind_name(fd->kind), names[fd->infl_param], fd->max_influence),
				 errdetail("The customer with x = %g and %s = %g (%s = %g) carries an outsized share of the log-likelihood's gradient.",
						   row->x, fd->kind == BTYD_KIND_GG ? "mean value" : "t_x", row->v,
						   fd->kind == BTYD_KIND_BGBB ? "n" : "T", row->T),
				 errhint("Check that customer's data (a reseller, a test account, duplicated orders); max_influence in the result says how far the most influential customer moves the estimate.")));
	}

done:
	/* leave the objective's last evaluation at the optimum */
	(void) fn(u, g, fd);
	fd->loglik = loglik;
}

/*
 * The fields of a fit's result after its leading ones (BG/NBD's model
 * name): the np parameters exp(u), the log-likelihood, the customers, the
 * BFGS iterations and whether the fit converged.  Returns how many were
 * written.
 */
int
btyd_fit_datums(const FitData *fd, const BtydState *st, const double *u, int np,
				const BtydOptResult *res, Datum *values, bool *nulls)
{
	int			i;

	for (i = 0; i < np; i++)
		values[i] = Float8GetDatum(exp(u[i]));
	values[np] = Float8GetDatum(fd->loglik);
	values[np + 1] = Int64GetDatum(st->ncust);
	values[np + 2] = Int32GetDatum(res->iterations);
	values[np + 3] = BoolGetDatum(res->status == BTYD_OPT_CONVERGED);
	for (i = 0; i < np + 4; i++)
		nulls[i] = false;
	return np + 4;
}

/*
 * The datums that follow a model's own fields in its result type:
 * <parameter>_se for each parameter, aic, bic, n_skipped, max_influence.
 * Returns how many were written.
 */
int
btyd_stats_datums(const BtydFitStats *stats, int np, int64 nskipped,
				  Datum *values, bool *nulls)
{
	int			i;

	for (i = 0; i < np; i++)
	{
		values[i] = Float8GetDatum(stats->se[i]);
		nulls[i] = !stats->se_ok;
	}
	values[np] = Float8GetDatum(stats->aic);
	nulls[np] = false;
	values[np + 1] = Float8GetDatum(stats->bic);
	nulls[np + 1] = false;
	values[np + 2] = Int64GetDatum(nskipped);
	nulls[np + 2] = false;
	values[np + 3] = Float8GetDatum(stats->max_influence);
	nulls[np + 3] = !stats->se_ok;
	return np + 4;
}

/*
 * The result row of a final function from values[0..nvalues-1]: the
 * function's declared result type may have fewer attributes (the library
 * is newer than the extension's SQL) or more (then NULL).
 */
Datum
btyd_form_result(FunctionCallInfo fcinfo, Datum *values, bool *nulls, int nvalues)
{
	TupleDesc	tupdesc;
	Datum	   *v;
	bool	   *n;
	int			i;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	v = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	n = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	for (i = 0; i < tupdesc->natts; i++)
	{
		v[i] = i < nvalues ? values[i] : (Datum) 0;
		n[i] = i < nvalues ? nulls[i] : true;
	}
	return HeapTupleGetDatum(heap_form_tuple(tupdesc, v, n));
}

/* ---- reading fitted models ------------------------------------------ */

/* deform a composite argument; at least natts attributes expected */
void
btyd_read_row(HeapTupleHeader th, int natts, Datum *values, bool *nulls, const char *tname)
{
	TupleDesc	td = lookup_rowtype_tupdesc(HeapTupleHeaderGetTypeId(th),
											HeapTupleHeaderGetTypMod(th));
	HeapTupleData tuple;
	Datum	   *v;
	bool	   *n;

	/* attributes added in later versions follow the ones read here */
	if (td->natts < natts)
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
	v = palloc(sizeof(Datum) * td->natts);
	n = palloc(sizeof(bool) * td->natts);
	heap_deform_tuple(&tuple, td, v, n);
	memcpy(values, v, sizeof(Datum) * natts);
	memcpy(nulls, n, sizeof(bool) * natts);
	pfree(v);
	pfree(n);
	ReleaseTupleDesc(td);
}

/*
 * The np parameters that open a model of type tname (named names[i]), each
 * finite and positive.
 */
void
btyd_read_params(HeapTupleHeader th, const char *tname, int np,
				 const char *const *names, double *params)
{
	Datum		values[BTYD_MAX_PARAMS];
	bool		nulls[BTYD_MAX_PARAMS];
	int			i;

	Assert(np <= BTYD_MAX_PARAMS);
	btyd_read_row(th, np, values, nulls, tname);
	for (i = 0; i < np; i++)
		params[i] = btyd_model_param(values, nulls, i, names[i]);
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
