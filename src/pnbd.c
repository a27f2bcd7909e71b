/*-------------------------------------------------------------------------
 *
 * pnbd.c
 *	  The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): while
 *	  alive a customer buys as a Poisson process of rate lambda ~ Gamma(r,
 *	  alpha) and dies after an exponential lifetime of rate mu ~ Gamma(s,
 *	  beta).  The fitting aggregate's final function, the log-likelihood,
 *	  P(alive), the conditional expected purchases, P(X(t) = n) and the
 *	  cumulative expected purchases of rfm_clv.
 *
 *	  The likelihood follows Fader & Hardie (2005), "A Note on Deriving the
 *	  Pareto/NBD Model and Related Expressions", in the integral form of
 *	  its second term:
 *
 *	  L = Gamma(r+x) alpha^r beta^s / Gamma(r) * [(alpha+T)^-(r+x)
 *		  (beta+T)^-s + s I],  I = int_{t_x}^T (alpha+tau)^-(r+x)
 *		  (beta+tau)^-(s+1) dtau
 *
 *	  and I = J(t_x) - J(T) with, for alpha >= beta (the note's A0),
 *	  J(t) = (alpha+t)^-(r+s+x) / (r+s+x) 2F1(r+s+x, s+1; r+s+x+1; z(t)),
 *	  z(t) = (alpha-beta)/(alpha+t), and for alpha < beta the same with
 *	  alpha and beta, and s+1 and r+x, exchanged; at alpha = beta, z = 0 and
 *	  2F1 = 1.  2F1(a, b; a+1; z) is summed after Euler's transformation,
 *	  (1-z)^(1-b) 2F1(1, a+1-b; a+1; z), whose terms fall at least as fast
 *	  as z^n, in log space; the gradient is analytic, the derivatives of
 *	  the series in its parameters summed on the same pass.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "miscadmin.h"
#include "utils/builtins.h"

/* a fitted Pareto/NBD model read from rfm_pnbd_model */
typedef struct PnbdModel
{
	double		r,
				alpha,
				s,
				beta;
} PnbdModel;

StaticAssertDecl(sizeof(PnbdModel) <= BTYD_MODEL_MAX, "PnbdModel too large for the scoring cache");

/* memo tags of the scoring cache (src/btyd_score.c) */
#define PNBD_MEMO_LOG_J		1	/* (x, t): log J(t) */
#define PNBD_MEMO_CLV		2	/* (T, horizon, d): see pnbd_clv */

static bool log_J_grad(const PnbdModel *m, double x, double t, double *lj, double g[4]);

/*
 * log J(t) of a customer with x repeat purchases, memoized in the scoring
 * cache c (NULL: none): the series, the expensive part of P(alive), depends
 * on (x, t_x) and (x, T) only, pairs that calendar data repeat a lot.
 */
static bool
log_J_memo(BtydScoreCache *c, const PnbdModel *m, double x, double t, double *lj)
{
	double		key[BTYD_MEMO_KEYS] = {x, t, 0.0, 0.0};

	if (c != NULL && btyd_memo_get(c, PNBD_MEMO_LOG_J, key, lj))
		return true;
	if (!log_J_grad(m, x, t, lj, NULL))
		return false;
	if (c != NULL)
		btyd_memo_put(c, PNBD_MEMO_LOG_J, key, *lj);
	return true;
}

/*
 * The two log terms of the likelihood's bracket of a customer: *l1 for
 * "alive at T", *l2 = log(s I) for "died in (t_x, T]" (-Inf when t_x = T).
 * False when the series did not converge.
 */
static bool
pnbd_terms(BtydScoreCache *c, const PnbdModel *m, double x, double tx, double T,
		   double *l1, double *l2)
{
	*l1 = -(m->r + x) * log(m->alpha + T) - m->s * log(m->beta + T);
	*l2 = -INFINITY;
	if (tx < T)
	{
		double		j1,
					j2;

		if (!log_J_memo(c, m, x, tx, &j1) || !log_J_memo(c, m, x, T, &j2))
			return false;
		/* J falls with t; rounding may make it equal when T - t_x is tiny */
		if (j2 < j1)
			*l2 = log(m->s) + j1 + log1p(-exp(j2 - j1));
	}
	return true;
}

/* log(exp(p) + exp(q)) */
static inline double
logaddexp(double p, double q)
{
	if (q == -INFINITY)
		return p;
	if (p >= q)
		return p + log1p(exp(q - p));
	return q + log1p(exp(p - q));
}

/*
 * The Euler series S = sum_n (A)_n / (C)_n z^n (0 <= z < 1, 0 < A < C) with
 * the derivatives of log S in A, C and z, in one pass: d/dA of the n-th
 * term is the term times sum_{k<n} 1/(A+k), d/dC minus the term times
 * sum_{k<n} 1/(C+k).  The terms fall at least as fast as z^n; the sum
 * stops when a geometric bound on the tail (also of n times the terms,
 * for d/dz) is below double precision.  With d NULL, the sum alone.
 * False if it does not converge.
 */
static bool
euler_series(double A, double C, double z, double *logS, double d[3])
{
	double		term = 1.0,
				sum = 1.0,
				sA = 0.0,
				sC = 0.0,
				sz = 0.0,
				hA = 0.0,
				hC = 0.0;
	int			n;

	if (z == 0.0)
	{
		*logS = 0.0;
		if (d != NULL)
		{
			d[0] = d[1] = 0.0;
			d[2] = A / C;
		}
		return true;
	}
	if (d == NULL)
	{
		/* the sum alone, for the predictions */
		for (n = 1; n < 2000000; n++)
		{
			if ((n & 0xFFFF) == 0)
				CHECK_FOR_INTERRUPTS();
			term *= (A + n - 1) / (C + n - 1) * z;
			sum += term;
			if (term <= 1e-17 * (1.0 - z) * sum)
			{
				*logS = log(sum);
				return true;
			}
		}
		return false;
	}
	for (n = 1; n < 2000000; n++)
	{
		if ((n & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		hA += 1.0 / (A + n - 1);
		hC += 1.0 / (C + n - 1);
		term *= (A + n - 1) / (C + n - 1) * z;
		sum += term;
		sA += term * hA;
		sC -= term * hC;
		sz += n * term;
		if (term * (n + 1.0) * (hA + hC + 1.0) <= 1e-17 * (1.0 - z) * (1.0 - z) * sum)
		{
			*logS = log(sum);
			d[0] = sA / sum;
			d[1] = sC / sum;
			d[2] = sz / (z * sum);
			return true;
		}
	}
	return false;
}

/*
 * log J(t) (see the header comment) with its gradient in (r, alpha, s,
 * beta), unless g is NULL.  With a = r+s+x, b the second parameter and z the argument,
 * log J = -a log(m+t) - log a + (1-b) log(1-z) + log S(a+1-b, a+1, z).
 */
static bool
log_J_grad(const PnbdModel *m, double x, double t, double *lj, double g[4])
{
	const bool	abig = (m->alpha >= m->beta);
	double		a = m->r + m->s + x;
	double		b = abig ? m->s + 1.0 : m->r + x;
	double		big = abig ? m->alpha : m->beta;
	double		small = abig ? m->beta : m->alpha;
	double		z = (big - small) / (big + t);
	double		logS,
				d[3],
				ga,
				gb,
				gz,
				gbig,
				gsmall;

	if (!euler_series(a + 1.0 - b, a + 1.0, z, &logS, g == NULL ? NULL : d))
		return false;
	*lj = -a * log(big + t) - log(a) + (1.0 - b) * log1p(-z) + logS;
	if (g == NULL)
		return true;
	ga = -log(big + t) - 1.0 / a + d[0] + d[1];
	gb = -log1p(-z) - d[0];
	gz = -(1.0 - b) / (1.0 - z) + d[2];
	/* z = (big - small)/(big + t): dz/dbig = (small + t)/(big + t)^2 */
	gbig = -a / (big + t) + gz * (small + t) / ((big + t) * (big + t));
	gsmall = -gz / (big + t);
	g[0] = ga + (abig ? 0.0 : gb);	/* r */
	g[2] = ga + (abig ? gb : 0.0);	/* s */
	g[1] = abig ? gbig : gsmall;	/* alpha */
	g[3] = abig ? gsmall : gbig;	/* beta */
	return true;
}

/*
 * Log-likelihood of one customer with its gradient in (r, alpha, s, beta),
 * from log J at t_x and T with their gradients (j1, d1, j2, d2); c0 =
 * lgamma(r+x) - lgamma(r) and c1 = psi(r+x) - psi(r) come cached per x.
 */
static void
pnbd_row_grad(const PnbdModel *m, double x, double tx, double T,
			  double c0, double c1, double j1, const double *d1,
			  double j2, const double *d2, double *ll, double g[4])
{
	double		lat = log(m->alpha + T),
				lbt = log(m->beta + T);
	double		l1 = -(m->r + x) * lat - m->s * lbt;
	double		g1[4] = {-lat, -(m->r + x) / (m->alpha + T), -lbt, -m->s / (m->beta + T)};
	double		l2 = -INFINITY,
				g2[4] = {0},
				w = 0.0,
				lse;
	int			k;

	/* J falls with t; rounding may make it equal when T - t_x is tiny */
	if (tx < T && j2 < j1)
	{
		double		e = exp(j2 - j1);

		l2 = log(m->s) + j1 + log1p(-e);
		for (k = 0; k < 4; k++)
			g2[k] = (d1[k] - e * d2[k]) / (1.0 - e);
		g2[2] += 1.0 / m->s;
	}
	lse = logaddexp(l1, l2);
	if (l2 > -INFINITY)
		w = exp(l2 - lse);
	*ll = c0 + m->r * log(m->alpha) + m->s * log(m->beta) + lse;
	g[0] = c1 + log(m->alpha);
	g[1] = m->r / m->alpha;
	g[2] = log(m->beta);
	g[3] = m->s / m->beta;
	for (k = 0; k < 4; k++)
		g[k] += (1.0 - w) * g1[k] + w * g2[k];
}

/*
 * log J and its gradient depend on x and t only: calendar data have far
 * fewer distinct pairs (x, t_x) and (x, T) than rows (x, t_x, T), so each
 * evaluation computes them once per pair.  pair1[i] and pair2[i] index the
 * pairs (x, t_x) and (x, T) of row i in px/pt.
 */
typedef struct PnbdPairs
{
	int			npairs;
	double	   *px;
	double	   *pt;
	int		   *pair1;
	int		   *pair2;
	double	   *lj;				/* per pair: log J */
	double	   *gj;				/* per pair: its gradient, 4 values */
	bool	   *ok;				/* per pair: the series converged */
} PnbdPairs;

static int
pair_cmp(const void *a, const void *b)
{
	const double *pa = a,
			   *pb = b;

	if (pa[0] != pb[0])
		return pa[0] < pb[0] ? -1 : 1;
	if (pa[1] != pb[1])
		return pa[1] < pb[1] ? -1 : 1;
	return 0;
}

/* index of the pair (x, t) in the sorted pairs, where it is known to be */
static int
pair_find(const PnbdPairs *pp, double x, double t)
{
	int			lo = 0,
				hi = pp->npairs - 1;

	while (lo < hi)
	{
		int			mid = lo + (hi - lo) / 2;

		if (pp->px[mid] < x || (pp->px[mid] == x && pp->pt[mid] < t))
			lo = mid + 1;
		else
			hi = mid;
	}
	Assert(pp->px[lo] == x && pp->pt[lo] == t);
	return lo;
}

static PnbdPairs *
pnbd_pairs_init(const FitData *fd)
{
	PnbdPairs  *pp = palloc(sizeof(PnbdPairs));
	int			n = Max(fd->nrows, 1);
	double	   *all = palloc(sizeof(double) * 4 * n);
	int			i,
				k = 0;

	for (i = 0; i < fd->nrows; i++)
	{
		/* +0.0 turns -0.0 into 0.0, so that the search finds it */
		all[4 * i] = fd->rows[i].x;
		all[4 * i + 1] = fd->rows[i].v + 0.0;
		all[4 * i + 2] = fd->rows[i].x;
		all[4 * i + 3] = fd->rows[i].T + 0.0;
	}
	qsort(all, 2 * fd->nrows, 2 * sizeof(double), pair_cmp);
	pp->px = palloc(sizeof(double) * 2 * n);
	pp->pt = palloc(sizeof(double) * 2 * n);
	for (i = 0; i < 2 * fd->nrows; i++)
		if (k == 0 || pp->px[k - 1] != all[2 * i] || pp->pt[k - 1] != all[2 * i + 1])
		{
			pp->px[k] = all[2 * i];
			pp->pt[k] = all[2 * i + 1];
			k++;
		}
	pp->npairs = k;
	pp->pair1 = palloc(sizeof(int) * n);
	pp->pair2 = palloc(sizeof(int) * n);
	for (i = 0; i < fd->nrows; i++)
	{
		pp->pair1[i] = pair_find(pp, fd->rows[i].x, fd->rows[i].v + 0.0);
		pp->pair2[i] = pair_find(pp, fd->rows[i].x, fd->rows[i].T + 0.0);
	}
	pp->lj = palloc(sizeof(double) * Max(k, 1));
	pp->gj = palloc(sizeof(double) * 4 * Max(k, 1));
	pp->ok = palloc(sizeof(bool) * Max(k, 1));
	pfree(all);
	return pp;
}

/*
 * Negative mean log-likelihood (plus the L2 penalty) at u = log(r, alpha,
 * s, beta), with its analytic gradient in u.  With fd->infl_cov set, each
 * customer's score goes to the influence diagnostic.
 */
static double
pnbd_objective(const double *u, double *grad, void *ctx)
{
	FitData    *fd = ctx;
	PnbdPairs  *pp = fd->extra;
	PnbdModel	m;
	double		ll = 0.0,
				gs[4] = {0},
				lgr,
				psr;
	int			k,
				i;

	CHECK_FOR_INTERRUPTS();
	m.r = exp(u[0]);
	m.alpha = exp(u[1]);
	m.s = exp(u[2]);
	m.beta = exp(u[3]);
	if (!isfinite(m.r) || !isfinite(m.alpha) || !isfinite(m.s) || !isfinite(m.beta) ||
		m.r == 0.0 || m.alpha == 0.0 || m.s == 0.0 || m.beta == 0.0)
		return INFINITY;

	/* terms that depend on x only */
	lgr = lgamma(m.r);
	psr = btyd_digamma(m.r);
	for (k = 0; k < fd->nx; k++)
	{
		fd->cx[8 * k] = lgamma(m.r + fd->xs[k]) - lgr;
		fd->cx[8 * k + 1] = btyd_digamma(m.r + fd->xs[k]) - psr;
	}

	/* log J per pair (x, t); a pass may sum many series */
	for (k = 0; k < pp->npairs; k++)
	{
		if ((k & 1023) == 1023)
			CHECK_FOR_INTERRUPTS();
		pp->ok[k] = log_J_grad(&m, pp->px[k], pp->pt[k], &pp->lj[k], &pp->gj[4 * k]);
	}

	for (i = 0; i < fd->nrows; i++)
	{
		const BtydRow *row = &fd->rows[i];
		const double *c = &fd->cx[8 * fd->group[i]];
		double		n = (double) row->n;
		int			p1 = pp->pair1[i],
					p2 = pp->pair2[i];
		double		li,
					g1[4];

		btyd_prefetch_rows(fd, i);
		if (i + BTYD_PREFETCH_ROWS < fd->nrows)
		{
			__builtin_prefetch(&pp->pair1[i + BTYD_PREFETCH_ROWS]);
			__builtin_prefetch(&pp->pair2[i + BTYD_PREFETCH_ROWS]);
		}
		if (!pp->ok[p1] || !pp->ok[p2])
		{
			fd->loglik = NAN;
			return INFINITY;
		}
		pnbd_row_grad(&m, row->x, row->v, row->T, c[0], c[1],
					  pp->lj[p1], &pp->gj[4 * p1], pp->lj[p2], &pp->gj[4 * p2], &li, g1);
		if (!isfinite(li))
		{
			fd->loglik = NAN;
			return INFINITY;
		}
		ll += n * li;
		for (k = 0; k < 4; k++)
			gs[k] += n * g1[k];
		if (unlikely(fd->infl_cov != NULL))
		{
			g1[0] *= m.r;
			g1[1] *= m.alpha;
			g1[2] *= m.s;
			g1[3] *= m.beta;
			btyd_row_influence(fd, i, g1);
		}
	}

	fd->loglik = ll;
	grad[0] = -gs[0] * m.r / fd->ntotal;
	grad[1] = -gs[1] * m.alpha / fd->ntotal;
	grad[2] = -gs[2] * m.s / fd->ntotal;
	grad[3] = -gs[3] * m.beta / fd->ntotal;
	return -ll / fd->ntotal + btyd_l2_penalty(fd->l2, u, grad, 4);
}

/*
 * rfm_pnbd_fit(x, t_x, T, unit [, l2]) transition: count the row (x, t_x, T)
 * as the BG/NBD fit does.
 */
PG_FUNCTION_INFO_V1(rfm_pnbd_fit_trans);
Datum
rfm_pnbd_fit_trans(PG_FUNCTION_ARGS)
{
	return btyd_customer_trans(fcinfo, BTYD_KIND_PNBD, "rfm_pnbd_fit_trans");
}

/*
 * rfm_pnbd_fit final function: the maximum-likelihood fit as rfm_pnbd_model
 * with standard errors and diagnostics.  NULL over no rows.
 */
PG_FUNCTION_INFO_V1(rfm_pnbd_fit_final);
Datum
rfm_pnbd_fit_final(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"r", "alpha", "s", "beta"};
	BtydState  *st;
	BtydRow    *rows;
	FitData		fd;
	BtydOptResult res;
	BtydFitStats stats;
	double		u[4],
				sumT,
				sumx;
	int			nv;
	Datum		values[32];
	bool		nulls[32] = {0};

	(void) btyd_agg_context(fcinfo, "rfm_pnbd_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	btyd_state_flush(st);
	if (st->ncust == 0)
		PG_RETURN_NULL();
	rows = btyd_sorted_rows(st);
	btyd_check_customer_base(st, rows, &sumT, &sumx);

	btyd_fitdata_init(&fd, st, rows);
	fd.extra = pnbd_pairs_init(&fd);

	/*
	 * Start: r = s = 1, alpha matching the mean purchase rate and beta the
	 * mean observation time (a lifetime of the order of the data's span).
	 */
	u[0] = 0.0;
	u[1] = log(sumT / (sumx + st->ncust));
	u[2] = 0.0;
	u[3] = log(sumT / st->ncust);
	btyd_run_fit(&fd, pnbd_objective, 4, u, names, &res);
	btyd_fit_stats(&fd, pnbd_objective, 4, u, names, &res, &stats);

	(void) btyd_fit_datums(&fd, st, u, 4, &res, values, nulls);
	values[8] = CStringGetTextDatum(st->unit);
	values[9] = Float8GetDatum(st->l2);
	nv = 10 + btyd_stats_datums(&stats, 4, st->nnull, values + 10, nulls + 10);
	PG_RETURN_DATUM(btyd_form_result(fcinfo, values, nulls, nv));
}

/* ---- predictions ----------------------------------------------------- */

static void
pnbd_read_model(HeapTupleHeader th, void *model)
{
	static const char *const names[] = {"r", "alpha", "s", "beta"};
	PnbdModel  *m = model;
	double		p[4];

	btyd_read_params(th, "rfm_pnbd_model", 4, names, p);
	m->r = p[0];
	m->alpha = p[1];
	m->s = p[2];
	m->beta = p[3];
}

/* P(alive at T | x, t_x, T) = the "alive" term's share of the likelihood */
static double
pnbd_p_alive(BtydScoreCache *c, double x, double tx, double T)
{
	const PnbdModel *m = (const PnbdModel *) c->model;
	double		l1,
				l2;

	if (!pnbd_terms(c, m, x, tx, T, &l1, &l2))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("hypergeometric series of the Pareto/NBD likelihood did not converge"),
				 errdetail("alpha = %g and beta = %g are too far apart for t_x = %g.",
						   m->alpha, m->beta, tx),
				 errhint("Measure t_x and T in a larger time unit.")));
	return exp(l1 - logaddexp(l1, l2));
}

/*
 * [1 - ((beta+T)/(beta+T+t))^(s-1)] / (s-1), and its limit log(1 +
 * t/(beta+T)) at s = 1, without cancellation.
 */
static double
pnbd_lifetime_factor(const PnbdModel *m, double t, double T)
{
	double		L = log1p(t / (m->beta + T));
	double		e = (m->s - 1.0) * L;

	if (fabs(e) < 1e-10)
		return L * (1.0 - 0.5 * e);
	return -expm1(-e) / (m->s - 1.0);
}

/*
 * Expected purchases in (T, T + t] of a customer (x, t_x, T) (Schmittlein,
 * Morrison & Colombo 1987; Fader & Hardie 2005, eq. 19 of the note):
 * P(alive) (r+x)(beta+T)/(alpha+T) [1 - ((beta+T)/(beta+T+t))^(s-1)]/(s-1).
 * With x = t_x = T = 0, P(alive) = 1 and this is E[X(t)] of a new customer,
 * r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)].
 */
static double
pnbd_expected(BtydScoreCache *c, double t, double x, double tx, double T)
{
	const PnbdModel *m = (const PnbdModel *) c->model;

	return pnbd_p_alive(c, x, tx, T) * (m->r + x) * (m->beta + T) / (m->alpha + T) *
		pnbd_lifetime_factor(m, t, T);
}

/*
 * The discounted expected purchases of rfm_clv for Pareto/NBD: the sum over
 * steps i = 1..steps of (E(t_i) - E(t_(i-1))) / (1 + d)^t_i with t_i =
 * min(i, horizon); E is pre times the lifetime factor, whose discounted
 * differences depend on (T, horizon, steps, d) only and are memoized (the
 * steps in the tag).
 */
static double
pnbd_clv(BtydScoreCache *c, double x, double tx, double T,
		 double horizon, int steps, double d)
{
	const PnbdModel *m = (const PnbdModel *) c->model;
	double		key[BTYD_MEMO_KEYS] = {T, horizon, d, 0.0};
	int32		tag = ((int32) steps << 3) | PNBD_MEMO_CLV;
	double		pre,
				sum;

	pre = pnbd_p_alive(c, x, tx, T) * (m->r + x) * (m->beta + T) / (m->alpha + T);
	if (!btyd_memo_get(c, tag, key, &sum))
	{
		double		prev = 0.0,
					w = 1.0 / (1.0 + d),
					disc = 1.0;

		sum = 0.0;
		for (int i = 1; i <= steps; i++)
		{
			double		t = Min((double) i, horizon);
			double		cum = pnbd_lifetime_factor(m, t, T);

			if ((i & 4095) == 0)
				CHECK_FOR_INTERRUPTS();
			if (t == (double) i)
				disc *= w;
			else
				disc = pow(w, t);	/* the last, partial step */
			sum += (cum - prev) * disc;
			prev = cum;
		}
		btyd_memo_put(c, tag, key, sum);
	}
	return pre * sum;
}

const BtydScoreOps btyd_pnbd_ops = {pnbd_read_model, pnbd_p_alive, pnbd_expected, pnbd_clv};

/*
 * rfm_p_alive(pnbd model, x, t_x, T): probability that a customer with
 * history (x, t_x, T) is alive at T under the Pareto/NBD model.
 */
PG_FUNCTION_INFO_V1(rfm_pnbd_p_alive);
Datum
rfm_pnbd_p_alive(PG_FUNCTION_ARGS)
{
	return btyd_p_alive_call(fcinfo, &btyd_pnbd_ops);
}

/*
 * rfm_expected_purchases(pnbd model, horizon, x, t_x, T): expected number of
 * purchases in the next horizon time units.
 */
PG_FUNCTION_INFO_V1(rfm_pnbd_expected_purchases);
Datum
rfm_pnbd_expected_purchases(PG_FUNCTION_ARGS)
{
	return btyd_expected_call(fcinfo, &btyd_pnbd_ops);
}

/* rfm_expected_purchases_new(pnbd model, horizon): E[X(t)] of a new customer. */
PG_FUNCTION_INFO_V1(rfm_pnbd_expected_purchases_new);
Datum
rfm_pnbd_expected_purchases_new(PG_FUNCTION_ARGS)
{
	return btyd_expected_new_call(fcinfo, &btyd_pnbd_ops);
}

/*
 * rfm_p_purchases(pnbd model, horizon, n): P(X(t) = n) of a new customer,
 * NBD(n) (beta/(beta+t))^s (alive throughout) plus the integral over the
 * time of death tau in (0, t) of s beta^s (beta+tau)^-(s+1) times the NBD
 * probability of n purchases in tau.  The integral is taken in v =
 * log(1 + tau/c), c = min(alpha, beta), by 8-point Gauss-Legendre rules on
 * 64 panels (the test checks that the probabilities sum to 1 and their
 * mean is E[X(t)]).
 */
PG_FUNCTION_INFO_V1(rfm_pnbd_p_purchases);
Datum
rfm_pnbd_p_purchases(PG_FUNCTION_ARGS)
{
	static const double gx[4] = {0.1834346424956498, 0.5255324099163290,
	0.7966664774136267, 0.9602898564975363};
	static const double gw[4] = {0.3626837833783620, 0.3137066458778873,
	0.2223810344533745, 0.1012285362903763};
	const int	panels = 64;
	BtydScoreCache local;
	PnbdModel	m = *(const PnbdModel *) btyd_score_cache(fcinfo, 0, pnbd_read_model, &local)->model;
	double		t = PG_GETARG_FLOAT8(1),
				n = PG_GETARG_FLOAT8(2);
	double		c,
				vmax,
				width,
				lc,
				integral = 0.0,
				alive;
	int			k,
				i;

	btyd_check_horizon(t);
	btyd_check_count(n);
	if (t == 0.0)
		PG_RETURN_FLOAT8(n == 0.0 ? 1.0 : 0.0);
	/* constant part of the log integrand: log(s beta^s Gamma(r+n) alpha^r / (Gamma(r) n!)) */
	lc = log(m.s) + m.s * log(m.beta) + lgamma(m.r + n) - lgamma(m.r) -
		lgamma(n + 1.0) + m.r * log(m.alpha);
	c = Min(m.alpha, m.beta);
	vmax = log1p(t / c);
	width = vmax / panels;
	for (k = 0; k < panels; k++)
	{
		double		mid = (k + 0.5) * width;

		for (i = 0; i < 8; i++)
		{
			double		v = mid + (i < 4 ? -gx[i] : gx[i - 4]) * width / 2.0;
			double		tau = c * expm1(v);
			double		lh;

			/* tau^n (alpha+tau)^-(r+n) (beta+tau)^-(s+1) dtau/dv */
			lh = lc - (m.r + n) * log(m.alpha + tau) - (m.s + 1.0) * log(m.beta + tau) +
				log(c + tau);
			if (n > 0.0)
				lh += n * log(tau);
			integral += gw[i % 4] * width / 2.0 * exp(lh);
		}
	}
	alive = exp(lgamma(m.r + n) - lgamma(m.r) - lgamma(n + 1.0) +
				m.r * (log(m.alpha) - log(m.alpha + t)) +
				n * (log(t) - log(m.alpha + t)) +
				m.s * (log(m.beta) - log(m.beta + t)));
	PG_RETURN_FLOAT8(btyd_check_result(alive + integral, "probability"));
}
