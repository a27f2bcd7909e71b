/*-------------------------------------------------------------------------
 *
 * bgnbd.c
 *	  The BG/NBD model (Fader, Hardie & Lee 2005) and the MBG/NBD model
 *	  (Batislam, Denizel & Filiztekin 2007; one-time buyers can be dead
 *	  too): the fitting aggregates' transition and final functions, the
 *	  log-likelihood with its analytic gradient, and the predictions
 *	  (P(alive), expected purchases, the discounted sums of rfm_clv).
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#define BTYD_CLV_COEFS		2048	/* cached 2F1 coefficients in rfm_clv */
#define CLV_BATCH_MAX_TERMS	256		/* more: rfm_clv goes step by step */

/*
 * rfm_bgnbd_fit(x, t_x, T, unit [, l2]) transition: count the row (x, t_x, T).
 * Rows with a NULL customer value are skipped; bad values raise errors.
 */
PG_FUNCTION_INFO_V1(rfm_bgnbd_fit_trans);
Datum
rfm_bgnbd_fit_trans(PG_FUNCTION_ARGS)
{
	return btyd_customer_trans(fcinfo, BTYD_KIND_BGNBD, "rfm_bgnbd_fit_trans");
}

/*
 * rfm_mbgnbd_fit(x, t_x, T, unit [, l2]) transition: count the row, as for
 * BG/NBD (the state is the same; only the final function differs).
 */
PG_FUNCTION_INFO_V1(rfm_mbgnbd_fit_trans);
Datum
rfm_mbgnbd_fit_trans(PG_FUNCTION_ARGS)
{
	return btyd_customer_trans(fcinfo, BTYD_KIND_MBGNBD, "rfm_mbgnbd_fit_trans");
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
		double		g1[4];

		btyd_prefetch_rows(fd, i);
		if (i + BTYD_PREFETCH_ROWS < fd->nrows)
		{
			__builtin_prefetch(&fd->iT[i + BTYD_PREFETCH_ROWS]);
			__builtin_prefetch(&fd->itx[i + BTYD_PREFETCH_ROWS]);
		}
		if (c[4] == -INFINITY)
			lse = A3;
		else
			lse = btyd_logaddexp_w(A3, c[4] - (r + x) * ltx, &w);

		g1[0] = c[1] + la - (1.0 - w) * lT - w * ltx;
		g1[1] = r / alpha - (r + x) * ((1.0 - w) * fd->rt[fd->iT[i]] + w * fd->rt[fd->itx[i]]);
		g1[2] = c[2] + w / a;
		g1[3] = c[2] + c[3] - w * c[5];
		ll += n * (c[0] + r * la + lse);
		gr += n * g1[0];
		gal += n * g1[1];
		ga += n * g1[2];
		gb += n * g1[3];
		if (unlikely(fd->infl_cov != NULL))
		{
			/* the customer's score in the log parameters */
			g1[0] *= r;
			g1[1] *= alpha;
			g1[2] *= a;
			g1[3] *= b;
			btyd_row_influence(fd, i, g1);
		}
	}

	fd->loglik = ll;
	if (!isfinite(ll))
		return INFINITY;

	/* minimize the mean negative log-likelihood; gradient in u = log theta */
	grad[0] = -gr * r / fd->ntotal;
	grad[1] = -gal * alpha / fd->ntotal;
	grad[2] = -ga * a / fd->ntotal;
	grad[3] = -gb * b / fd->ntotal;
	return -ll / fd->ntotal + btyd_l2_penalty(fd->l2, u, grad, 4);
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
	BtydRow    *rows;
	FitData		fd;
	BtydOptResult res;
	double		u[4],
				sumT,
				sumx;
	BtydFitStats stats;
	Datum		values[32];
	bool		nulls[32] = {0};
	int			nv;

	(void) btyd_agg_context(fcinfo, "rfm_bgnbd_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	btyd_state_flush(st);
	if (st->ncust == 0)
		PG_RETURN_NULL();

	rows = btyd_sorted_rows(st);
	btyd_check_customer_base(st, rows, &sumT, &sumx);

	btyd_fitdata_init(&fd, st, rows);
	/* start: r = a = b = 1 and alpha matching the mean purchase rate */
	u[0] = 0.0;
	u[1] = log(sumT / (sumx + st->ncust));
	u[2] = 0.0;
	u[3] = 0.0;
	btyd_run_fit(&fd, bg_objective, 4, u, names, &res);
	btyd_fit_stats(&fd, bg_objective, 4, u, names, &res, &stats);

	values[0] = CStringGetTextDatum(btyd_kind_name(st->kind));
	(void) btyd_fit_datums(&fd, st, u, 4, &res, values + 1, nulls + 1);
	values[9] = CStringGetTextDatum(st->unit);
	values[10] = Float8GetDatum(st->l2);
	nv = 11 + btyd_stats_datums(&stats, 4, st->nnull, values + 11, nulls + 11);
	PG_RETURN_DATUM(btyd_form_result(fcinfo, values, nulls, nv));
}

/* ---- reading a fitted model ---------------------------------------- */

/* a fitted BG/NBD or MBG/NBD model read from rfm_bgnbd_model */
typedef struct BgModel
{
	int			kind;
	double		r,
				alpha,
				a,
				b;
} BgModel;

StaticAssertDecl(sizeof(BgModel) <= BTYD_MODEL_MAX, "BgModel too large for the scoring cache");

/* memo tags of the scoring cache (src/btyd_score.c) */
#define BG_MEMO_EXPECTED	1	/* (x, T, t, a): C/(a-1) times the bracket */
#define BG_MEMO_CLV			2	/* (x, T, horizon, d): clv_sum; see bg_clv_a */

static void
bg_read_model(HeapTupleHeader th, void *model)
{
	BgModel    *m = model;
	Datum		values[11];
	bool		nulls[11];
	char	   *kind;

	btyd_read_row(th, 11, values, nulls, "rfm_bgnbd_model");
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
	m->r = btyd_model_param(values, nulls, 1, "r");
	m->alpha = btyd_model_param(values, nulls, 2, "alpha");
	m->a = btyd_model_param(values, nulls, 3, "a");
	m->b = btyd_model_param(values, nulls, 4, "b");
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
bg_p_alive_value(const BgModel *m, double x, double tx, double T)
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
 * C/(a-1) times the bracket depends on (x, T, t) and not on t_x: it is
 * memoized in the cache c.
 */
static double
cond_expected_a(BtydScoreCache *c, const BgModel *m, double a, double t,
				double x, double tx, double T)
{
	double		C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	double		key[BTYD_MEMO_KEYS] = {x, T, t, a};
	double		q;
	BgModel		ma = *m;

	if (t == 0.0)
		return 0.0;
	if (!btyd_memo_get(c, BG_MEMO_EXPECTED, key, &q))
	{
		double		z = t / (m->alpha + T + t);
		double		Fm1 = btyd_hyp2f1_series_m1(C - m->r - x, a - 1.0, C, z);
		double		bracket;

		if (isnan(Fm1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("hypergeometric series did not converge for horizon %g", t),
					 errdetail("The horizon is extremely long compared with alpha + T = %g.", m->alpha + T),
					 errhint("Use a shorter horizon or a larger time unit.")));
		bracket = -Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z));
		q = C / (a - 1.0) * bracket;
		btyd_memo_put(c, BG_MEMO_EXPECTED, key, q);
	}
	ma.a = a;
	return q * bg_p_alive_value(&ma, x, tx, T);
}

/* ---- the scoring functions of btyd_bg_ops ---------------------------- */

static double
bg_p_alive(BtydScoreCache *c, double x, double tx, double T)
{
	return bg_p_alive_value((const BgModel *) c->model, x, tx, T);
}

/*
 * The expected purchases for any a > 0.  At a = 1 the formula is 0/0; its
 * limit is smooth in a, so near 1 the mean of the values at 1 -/+ 1e-4 is
 * used (error of order 1e-8 relative).
 */
static double
bg_expected(BtydScoreCache *c, double t, double x, double tx, double T)
{
	const BgModel *m = (const BgModel *) c->model;
	const double h = 1e-4;

	if (fabs(m->a - 1.0) < h)
		return 0.5 * (cond_expected_a(c, m, 1.0 - h, t, x, tx, T) +
					  cond_expected_a(c, m, 1.0 + h, t, x, tx, T));
	return cond_expected_a(c, m, m->a, t, x, tx, T);
}

static double bg_clv(BtydScoreCache *c, double x, double tx, double T,
					 double horizon, int steps, double d);

const BtydScoreOps btyd_bg_ops = {bg_read_model, bg_p_alive, bg_expected, bg_clv};

/*
 * rfm_p_alive(model, x, t_x, T): probability that a customer with history
 * (x, t_x, T) is alive at T under the fitted BG/NBD or MBG/NBD model.
 */
PG_FUNCTION_INFO_V1(rfm_p_alive);
Datum
rfm_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &btyd_bg_ops);
}

/*
 * rfm_expected_purchases(model, horizon, x, t_x, T): expected number of
 * purchases in the next horizon time units of a customer (x, t_x, T).
 */
PG_FUNCTION_INFO_V1(rfm_expected_purchases);
Datum
rfm_expected_purchases(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &btyd_bg_ops);
}

/*
 * rfm_expected_purchases_new(model, horizon): E[X(t)], the expected repeat
 * purchases in (0, t] of a customer who made a first purchase at time 0.
 */
PG_FUNCTION_INFO_V1(rfm_expected_purchases_new);
Datum
rfm_expected_purchases_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &btyd_bg_ops);
}

/*
 * The CLV sums below leave out the factor pre = C/(a-1) P(alive) of
 * cond_expected_a (the one part that depends on t_x): they return the sum
 * over steps i = 1..steps of (G(t_i) - G(t_(i-1))) / (1 + d)^t_i, with
 * t_i = min(i, horizon) and G(t) the bracket at t, so that E(t) = pre G(t).
 *
 * clv_sum_stepwise: the bracket at every step, with the series
 * coefficients (which do not depend on t) computed once.  The general path
 * of clv_sum, for series that need many terms.
 */
static double
clv_sum_stepwise(const BgModel *m, double a, double x, double T,
				 double horizon, int steps, double d)
{
	double		buf[BTYD_CLV_COEFS];
	BtydSeries	series;
	double		C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	double		prev = 0.0,
				clv = 0.0;
	int			i;

	btyd_series_init(&series, C - m->r - x, a - 1.0, C, buf, BTYD_CLV_COEFS);
	for (i = 1; i <= steps; i++)
	{
		double		t = Min((double) i, horizon);
		double		z = t / (m->alpha + T + t);
		double		Fm1;
		double		cum;

		/* a step may sum a long series: let a cancel or timeout in */
		CHECK_FOR_INTERRUPTS();
		Fm1 = btyd_series_m1_eval(&series, z);

		if (isnan(Fm1))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("hypergeometric series did not converge for horizon %g", t),
					 errdetail("The horizon is extremely long compared with alpha + T = %g.", m->alpha + T),
					 errhint("Use a shorter horizon or a larger time unit.")));
		cum = -Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z));
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
clv_sum(const BgModel *m, double a, double x, double T,
		double horizon, int steps, double d)
{
	ClvSeries	s;
	double		K = m->alpha + T;
	double		w = 1.0 / (1.0 + d);
	double		disc = 1.0;
	double		tmax = Min((double) steps, horizon);
	double		prev = 0.0,
				clv = 0.0;
	int			N;
	const double *c = s.c;

	s.C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	s.A = s.C - m->r - x;
	s.B = a - 1.0;
	s.c[0] = 1.0;
	s.ncoef = 1;
	N = clv_series_terms(&s, tmax / (K + tmax));
	if (N < 0)
		return clv_sum_stepwise(m, a, x, T, horizon, steps, d);
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

		CHECK_FOR_INTERRUPTS();

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
			double		cum = -Fm1 - (1.0 + Fm1) * expm1((a - 1.0) * log1p(-z[j]));

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
 * pre times clv_sum for one value of a (variant 0: the model's, 1 and 2:
 * 1 -/+ 1e-4).  clv_sum depends on (x, T, horizon, steps, d) and not on
 * t_x: it is memoized, the steps and the variant in the tag.
 */
static double
bg_clv_a(BtydScoreCache *c, const BgModel *m, double a, int variant,
		 double x, double tx, double T, double horizon, int steps, double d)
{
	double		key[BTYD_MEMO_KEYS] = {x, T, horizon, d};
	int32		tag = (((int32) steps * 4 + variant) << 3) | BG_MEMO_CLV;
	double		C = a + m->b + x + ((m->kind == BTYD_KIND_MBGNBD) ? 0.0 : -1.0);
	double		sum;
	BgModel		ma = *m;

	if (!btyd_memo_get(c, tag, key, &sum))
	{
		sum = clv_sum(m, a, x, T, horizon, steps, d);
		btyd_memo_put(c, tag, key, sum);
	}
	ma.a = a;
	return C / (a - 1.0) * bg_p_alive_value(&ma, x, tx, T) * sum;
}

/*
 * The discounted expected purchases of rfm_clv: the sum over steps
 * i = 1..steps of (E(t_i) - E(t_(i-1))) / (1 + d)^t_i, t_i = min(i, horizon).
 */
static double
bg_clv(BtydScoreCache *c, double x, double tx, double T,
	   double horizon, int steps, double d)
{
	const BgModel *m = (const BgModel *) c->model;

	if (fabs(m->a - 1.0) < 1e-4)
		return 0.5 * (bg_clv_a(c, m, 1.0 - 1e-4, 1, x, tx, T, horizon, steps, d) +
					  bg_clv_a(c, m, 1.0 + 1e-4, 2, x, tx, T, horizon, steps, d));
	return bg_clv_a(c, m, m->a, 0, x, tx, T, horizon, steps, d);
}

/* ---- P(X(t) = n) -------------------------------------------------- */

/* log of the NBD probability of j purchases in t: Gamma(r, alpha) rates */
static inline double
log_nbd(double r, double alpha, double t, double j)
{
	return lgamma(r + j) - lgamma(r) - lgamma(j + 1.0) +
		r * (log(alpha) - log(alpha + t)) + j * (log(t) - log(alpha + t));
}

/*
 * P(N(t) >= n) of that NBD: one minus the terms below n when n is below the
 * mean, else the terms from n up (which then fall from the first), so that
 * nothing cancels where the tail is small.
 */
static double
nbd_tail(double r, double alpha, double t, double n)
{
	double		q = t / (alpha + t);
	double		sum = 0.0;
	double		lp;
	double		j;

	if (n <= 0.0)
		return 1.0;
	if (n <= r * t / alpha)
	{
		for (j = 0.0; j < n; j += 1.0)
		{
			if (fmod(j, 65536.0) == 65535.0)
				CHECK_FOR_INTERRUPTS();
			sum += exp(log_nbd(r, alpha, t, j));
		}
		return Max(0.0, 1.0 - sum);
	}
	lp = log_nbd(r, alpha, t, n);
	for (j = n;; j += 1.0)
	{
		double		term = exp(lp);

		if (fmod(j, 65536.0) == 65535.0)
			CHECK_FOR_INTERRUPTS();
		sum += term;
		if (term <= 1e-17 * sum || term == 0.0)
			break;
		/* the ratio of the next term, (r+j)/(j+1) q, falls towards q < 1 */
		lp += log((r + j) / (j + 1.0) * q);
	}
	return Min(1.0, sum);
}

/*
 * rfm_p_purchases(model, horizon, n): P(X(t) = n), the probability that a new
 * customer makes n repeat purchases in (0, t].  BG/NBD (Fader, Hardie & Lee
 * 2005, eq. 8): B(a, b+n)/B(a, b) NBD(n) + [n > 0] B(a+1, b+n-1)/B(a, b)
 * P(NBD >= n); MBG/NBD, where the customer may also die at time 0:
 * B(a, b+n+1)/B(a, b) NBD(n) + B(a+1, b+n)/B(a, b) P(NBD >= n).
 */
PG_FUNCTION_INFO_V1(rfm_p_purchases);
Datum
rfm_p_purchases(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	const BgModel *mp = (const BgModel *) btyd_score_cache(fcinfo, 0, bg_read_model, &local)->model;
	BgModel		m = *mp;
	double		t = PG_GETARG_FLOAT8(1),
				n = PG_GETARG_FLOAT8(2);
	double		d,
				lbab,
				p;

	btyd_check_horizon(t);
	btyd_check_count(n);
	if (t == 0.0)
		PG_RETURN_FLOAT8(n == 0.0 ? 1.0 : 0.0);
	d = (m.kind == BTYD_KIND_MBGNBD) ? 1.0 : 0.0;
	lbab = lgamma(m.a) + lgamma(m.b) - lgamma(m.a + m.b);
	p = exp(lgamma(m.a) + lgamma(m.b + n + d) - lgamma(m.a + m.b + n + d) - lbab +
			log_nbd(m.r, m.alpha, t, n));
	if (n > 0.0 || d > 0.0)
		p += exp(lgamma(m.a + 1.0) + lgamma(m.b + n - 1.0 + d) -
				 lgamma(m.a + m.b + n + d) - lbab) *
			nbd_tail(m.r, m.alpha, t, n);
	PG_RETURN_FLOAT8(btyd_check_result(p, "probability"));
}
