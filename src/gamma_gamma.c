/*-------------------------------------------------------------------------
 *
 * gamma_gamma.c
 *	  The Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV:
 *	  Using Iso-Value Curves for Customer Base Analysis"): the fitting
 *	  aggregate's transition and final functions, the log-likelihood with
 *	  its analytic gradient, and rfm_expected_order_value.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "funcapi.h"
#include "miscadmin.h"

/*
 * rfm_gamma_gamma_fit(x, mean_value [, l2]) transition: count (x, mean value)
 * of a repeat customer; rows with x = 0 are not part of the model and skipped.
 */
PG_FUNCTION_INFO_V1(rfm_gamma_gamma_fit_trans);
Datum
rfm_gamma_gamma_fit_trans(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = btyd_agg_context(fcinfo, "rfm_gamma_gamma_fit_trans");
	BtydState  *st = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	double		x,
				m;

	if (st == NULL)
		st = btyd_state_create(aggcxt, BTYD_KIND_GG, 64);
	btyd_state_take_l2(st, fcinfo, 3);

	if (PG_ARGISNULL(1))
	{
		st->nnull++;
		PG_RETURN_POINTER(st);
	}
	x = PG_GETARG_FLOAT8(1);
	btyd_check_x(x);
	if (x == 0.0)
	{
		/* one-time buyers carry no spend information */
		st->nskipped++;
		PG_RETURN_POINTER(st);
	}
	if (PG_ARGISNULL(2))
	{
		st->nnull++;
		PG_RETURN_POINTER(st);
	}
	m = PG_GETARG_FLOAT8(2);
	if (!isfinite(m) || m <= 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("mean value must be a finite positive amount, got %g", m),
				 errdetail("The Gamma-Gamma model describes positive spend per transaction."),
				 errhint("Exclude returns and zero-value orders, or customers whose mean repeat order value is not positive.")));
	btyd_state_push(st, x, m, 0.0, 1);
	PG_RETURN_POINTER(st);
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
		double		lm = fd->extra != NULL ? ((const double *) fd->extra)[i] : log(m);
		double		lgxm = log(g + x * m);
		double		g1[3];

		btyd_prefetch_rows(fd, i);
		if (fd->extra != NULL && i + BTYD_PREFETCH_ROWS < fd->nrows)
			__builtin_prefetch(&((const double *) fd->extra)[i + BTYD_PREFETCH_ROWS]);
		g1[0] = x * (c[1] - c[2] + lm + c[3] - lgxm);
		g1[1] = c[1] - psq + lg - lgxm;
		g1[2] = q / g - (p * x + q) / (g + x * m);
		ll += n * (c[0] + (p * x - 1.0) * lm - (p * x + q) * lgxm);
		gp += n * g1[0];
		gq += n * g1[1];
		gg += n * g1[2];
		if (unlikely(fd->infl_cov != NULL))
		{
			g1[0] *= p;
			g1[1] *= q;
			g1[2] *= g;
			btyd_row_influence(fd, i, g1);
		}
	}

	fd->loglik = ll;
	if (!isfinite(ll))
		return INFINITY;
	grad[0] = -gp * p / fd->ntotal;
	grad[1] = -gq * q / fd->ntotal;
	grad[2] = -gg * g / fd->ntotal;
	return -ll / fd->ntotal + btyd_l2_penalty(fd->l2, u, grad, 3);
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
	BtydFitStats stats;
	Datum		values[32];
	bool		nulls[32] = {0};
	int			nv;

	(void) btyd_agg_context(fcinfo, "rfm_gamma_gamma_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	btyd_state_flush(st);
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
	/* over the sorted rows: the start must not depend on the input's order */
	btyd_fitdata_init(&fd, st, btyd_sorted_rows(st));
	/* log(mean value) of each row, the same at every step of the fit */
	fd.extra = palloc_extended(sizeof(double) * Max(fd.nrows, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < fd.nrows; i++)
	{
		summ += fd.rows[i].n * fd.rows[i].v;
		((double *) fd.extra)[i] = log(fd.rows[i].v);
	}

	/* start: p = 1, q = 2 and gamma such that the mean spend p gamma/(q-1) matches */
	u[0] = 0.0;
	u[1] = log(2.0);
	u[2] = log(summ / st->ncust);
	btyd_run_fit(&fd, gg_objective, 3, u, names, &res);
	btyd_fit_stats(&fd, gg_objective, 3, u, names, &res, &stats);

	(void) btyd_fit_datums(&fd, st, u, 3, &res, values, nulls);
	values[7] = Float8GetDatum(st->l2);
	nv = 8 + btyd_stats_datums(&stats, 3, st->nskipped + st->nnull, values + 8, nulls + 8);
	PG_RETURN_DATUM(btyd_form_result(fcinfo, values, nulls, nv));
}

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

	btyd_read_row(PG_GETARG_HEAPTUPLEHEADER(0), 8, values, nulls, "rfm_gamma_gamma_model");
	p = btyd_model_param(values, nulls, 0, "p");
	q = btyd_model_param(values, nulls, 1, "q");
	g = btyd_model_param(values, nulls, 2, "gamma");
	btyd_check_x(x);
	if (x == 0.0)
	{
		if (q <= 1.0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("population mean order value is infinite when q <= 1 (q = %g)", q),
					 errhint("Use the function only for repeat customers (x > 0).")));
		PG_RETURN_FLOAT8(btyd_check_result(p * g / (q - 1.0), "expected order value"));
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

	/*
	 * p (gamma + x m) / (p x + q - 1), written as the weighted mean of the
	 * population mean and the customer's own mean so that a large mean value
	 * m does not overflow in x m: (p gamma)/den + (p x/den) m.
	 */
	{
		double		den = p * x + q - 1.0;

		PG_RETURN_FLOAT8(btyd_check_result(p * g / den + (p * x / den) * mv,
										   "expected order value"));
	}
}
