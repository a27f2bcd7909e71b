/*-------------------------------------------------------------------------
 *
 * btyd_math.c
 *	  Numerical helpers of the probabilistic customer-base models
 *	  (src/btyd.c): digamma, the Gauss hypergeometric function 2F1 and a
 *	  BFGS minimizer with a strong-Wolfe line search (Nocedal & Wright,
 *	  "Numerical Optimization", algorithms 3.5, 3.6 and 6.1).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <string.h>

#include "btyd_math.h"

/* number of series terms before 2F1 gives up (z very close to 1) */
#define HYP2F1_MAX_TERMS 2000000
/* terms between two checks for a cancelled query (a mask: 2^16 - 1) */
#define HYP2F1_CHECK_MASK 0xFFFF

/*
 * digamma(x) for x > 0: shift x up to >= 10 with psi(x) = psi(x+1) - 1/x,
 * then the asymptotic expansion in 1/x^2 (Bernoulli numbers).  Absolute
 * error below 1e-15 over the range the models use.
 */
double
btyd_digamma(double x)
{
	double		r = 0.0;
	double		f;

	if (!(x > 0.0) || isinf(x))
		return isinf(x) ? x : NAN;
	while (x < 10.0)
	{
		r -= 1.0 / x;
		x += 1.0;
	}
	f = 1.0 / (x * x);
	return r + log(x) - 0.5 / x
		- f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (1.0 / 132)))));
}

/*
 * Sum of the terms n >= 1 of the series sum_n (a)_n (b)_n / ((c)_n n!) z^n
 * for 0 <= z < 1, that is 2F1(a, b; c; z) - 1 without the cancellation of a
 * subtraction.  Stops when the tail, bounded by a geometric series with the
 * larger of the current term ratio and z, is below double precision of the
 * sum.  NaN when that takes more than HYP2F1_MAX_TERMS terms.
 */
double
btyd_hyp2f1_series_m1(double a, double b, double c, double z)
{
	double		sum = 0.0;
	double		term = 1.0;
	int			n;

	if (z == 0.0)
		return 0.0;
	if (!(z > 0.0 && z < 1.0))
		return NAN;
	for (n = 0; n < HYP2F1_MAX_TERMS; n++)
	{
		double		rho;

		if ((n & HYP2F1_CHECK_MASK) == HYP2F1_CHECK_MASK)
			btyd_check_interrupts();
		if (c + n == 0.0)
			return NAN;
		term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
		sum += term;
		if (term == 0.0)
			return sum;			/* a or b a non-positive integer: finite sum */
		if (!isfinite(sum))
			return NAN;
		/* cheap test first: the tail bound below needs a small term */
		if (fabs(term) > 1e-15 * fabs(sum))
			continue;
		/* bound on the ratio of all later terms to this one */
		rho = fabs((a + n + 1) * (b + n + 1) / ((c + n + 1) * (n + 2.0)) * z);
		if (rho < z)
			rho = z;
		if (rho < 1.0 && fabs(term) * rho / (1.0 - rho) <= 1e-17 * fabs(sum))
			return sum;
	}
	return NAN;
}

void
btyd_series_init(BtydSeries *s, double a, double b, double c,
				 double *buf, int bufsize)
{
	s->a = a;
	s->b = b;
	s->c = c;
	s->coef = buf;
	s->maxcoef = bufsize;
	s->coef[0] = 1.0;
	s->ncoef = 1;
}

/*
 * 2F1(a, b; c; z) - 1 from the cached coefficients, with the stopping rule
 * of btyd_hyp2f1_series_m1; falls back to that function when the buffer is
 * too small for this z.
 */
double
btyd_series_m1_eval(BtydSeries *s, double z)
{
	double		sum = 0.0,
				zn = 1.0;
	int			n;

	if (z == 0.0)
		return 0.0;
	if (!(z > 0.0 && z < 1.0))
		return NAN;
	for (n = 1;; n++)
	{
		double		term,
					rho;
		int			k = n - 1;	/* the original loop's index */

		if (n >= s->maxcoef)
			return btyd_hyp2f1_series_m1(s->a, s->b, s->c, z);
		if (n >= s->ncoef)
		{
			if (s->c + k == 0.0)
				return NAN;
			s->coef[n] = s->coef[k] * (s->a + k) * (s->b + k) / ((s->c + k) * (k + 1.0));
			s->ncoef = n + 1;
		}
		zn *= z;
		term = s->coef[n] * zn;
		sum += term;
		if (term == 0.0)
			return sum;
		if (!isfinite(sum))
			return NAN;
		if (fabs(term) > 1e-15 * fabs(sum))
			continue;
		rho = fabs((s->a + n) * (s->b + n) / ((s->c + n) * (n + 1.0)) * z);
		if (rho < z)
			rho = z;
		if (rho < 1.0 && fabs(term) * rho / (1.0 - rho) <= 1e-17 * fabs(sum))
			return sum;
	}
}

/* the plain series 2F1(a, b; c; z) for 0 <= z < 1 */
double
btyd_hyp2f1_series(double a, double b, double c, double z)
{
	return 1.0 + btyd_hyp2f1_series_m1(a, b, c, z);
}

/*
 * 2F1(a, b; c; z) for z < 1.  For z < 0 Pfaff's transformation
 * 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)) maps to (0, 1).  For z in
 * [0, 1) the direct series is used when c - a - b >= 0 (its terms fall like
 * n^(a+b-c-1) z^n), otherwise Euler's transformation
 * 2F1(a,b;c;z) = (1-z)^(c-a-b) 2F1(c-a, c-b; c; z), whose terms fall faster.
 */
double
btyd_hyp2f1(double a, double b, double c, double z)
{
	if (!(z < 1.0) || !isfinite(a) || !isfinite(b) || !isfinite(c))
		return NAN;
	if (z < 0.0)
		return pow(1.0 - z, -a) * btyd_hyp2f1(a, c - b, c, z / (z - 1.0));
	if (c - a - b >= 0.0)
		return btyd_hyp2f1_series(a, b, c, z);
	return pow(1.0 - z, c - a - b) * btyd_hyp2f1_series(c - a, c - b, c, z);
}

/* ---- BFGS ---------------------------------------------------------- */

typedef struct LineCtx
{
	btyd_objective fn;
	void	   *ctx;
	int			n;
	const double *u;			/* start point */
	const double *p;			/* direction */
	double	   *ut;				/* scratch: trial point */
	double	   *gt;				/* gradient at the last trial point */
	int			evals;
} LineCtx;

static inline double
dot(const double *x, const double *y, int n)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < n; i++)
		s += x[i] * y[i];
	return s;
}

/* phi(alpha) = f(u + alpha p); its slope goes to *dphi */
static double
line_eval(LineCtx *lc, double alpha, double *dphi)
{
	double		f;
	int			i;

	for (i = 0; i < lc->n; i++)
		lc->ut[i] = lc->u[i] + alpha * lc->p[i];
	f = lc->fn(lc->ut, lc->gt, lc->ctx);
	lc->evals++;
	if (!isfinite(f))
		return INFINITY;
	for (i = 0; i < lc->n; i++)
		if (!isfinite(lc->gt[i]))
			return INFINITY;
	*dphi = dot(lc->gt, lc->p, lc->n);
	return f;
}

/*
 * Minimizer of the cubic through (x0, f0, d0), (x1, f1, d1), kept inside
 * the middle 80% of the bracket; bisection when the cubic has none.
 */
static double
cubic_step(double x0, double f0, double d0, double x1, double f1, double d1)
{
	double		lo = fmin(x0, x1),
				hi = fmax(x0, x1),
				width = hi - lo;
	double		d1c,
				d2sq,
				x;

	if (isfinite(f0) && isfinite(f1) && x0 != x1)
	{
		d1c = d0 + d1 - 3.0 * (f0 - f1) / (x0 - x1);
		d2sq = d1c * d1c - d0 * d1;
		if (d2sq >= 0.0)
		{
			double		d2 = copysign(sqrt(d2sq), x1 - x0);
			double		den = d1 - d0 + 2.0 * d2;

			if (den != 0.0)
			{
				x = x1 - (x1 - x0) * (d1 + d2 - d1c) / den;
				if (isfinite(x) && x > lo + 0.1 * width && x < hi - 0.1 * width)
					return x;
			}
		}
	}
	return lo + 0.5 * width;
}

/*
 * Strong-Wolfe line search.  Returns the accepted step (f and gradient of
 * the new point left in *fnew and lc->gt), or 0 when no step decreased f.
 */
static double
line_search(LineCtx *lc, double f0, double dphi0, double alpha1,
			double alpha_max, double *fnew)
{
	const double c1 = 1e-4,
				c2 = 0.9;
	double		a_prev = 0.0,
				f_prev = f0,
				d_prev = dphi0;
	double		a = alpha1,
				fa,
				da = 0.0;
	double		lo,
				hi,
				flo,
				fhi,
				dlo,
				dhi;
	int			i;

	for (i = 0; i < 40; i++)
	{
		fa = line_eval(lc, a, &da);
		if (!isfinite(fa))
		{
			/* overflow: the step left the region where f is defined */
			a = a_prev + 0.25 * (a - a_prev);
			if (a - a_prev < 1e-20)
				break;
			continue;
		}
		if (fa > f0 + c1 * a * dphi0 || (i > 0 && fa >= f_prev))
		{
			lo = a_prev, flo = f_prev, dlo = d_prev;
			hi = a, fhi = fa, dhi = da;
			goto zoom;
		}
		if (fabs(da) <= -c2 * dphi0)
		{
			*fnew = fa;
			return a;
		}
		if (da >= 0.0)
		{
			lo = a, flo = fa, dlo = da;
			hi = a_prev, fhi = f_prev, dhi = d_prev;
			goto zoom;
		}
		if (a >= alpha_max)
		{
			*fnew = fa;
			return a;
		}
		a_prev = a, f_prev = fa, d_prev = da;
		a = fmin(2.0 * a, alpha_max);
	}
	/* could not bracket; fall back on the best sufficient decrease seen */
	if (a_prev > 0.0)
	{
		*fnew = line_eval(lc, a_prev, &da);
		return a_prev;
	}
	return 0.0;

zoom:
	for (i = 0; i < 60; i++)
	{
		double		at = cubic_step(lo, flo, dlo, hi, fhi, dhi);
		double		ft,
					dt = 0.0;

		if (fabs(hi - lo) <= 1e-16 * fmax(1.0, fabs(lo)))
			break;
		ft = line_eval(lc, at, &dt);
		if (!isfinite(ft) || ft > f0 + c1 * at * dphi0 || ft >= flo)
		{
			hi = at, fhi = ft, dhi = dt;
		}
		else
		{
			if (fabs(dt) <= -c2 * dphi0)
			{
				*fnew = ft;
				return at;
			}
			if (dt * (hi - lo) >= 0.0)
			{
				hi = lo, fhi = flo, dhi = dlo;
			}
			lo = at, flo = ft, dlo = dt;
		}
	}
	/* bracket collapsed: accept lo if it improved on f0 */
	if (lo > 0.0 && flo < f0)
	{
		*fnew = line_eval(lc, lo, &dlo);
		return lo;
	}
	return 0.0;
}

void
btyd_minimize(btyd_objective fn, void *ctx, int n, double *u,
			  int maxiter, double gtol, double bound, BtydOptResult *res)
{
	double		H[BTYD_MAX_PARAMS][BTYD_MAX_PARAMS];
	double		g[BTYD_MAX_PARAMS],
				p[BTYD_MAX_PARAMS],
				s[BTYD_MAX_PARAMS],
				y[BTYD_MAX_PARAMS],
				ut[BTYD_MAX_PARAMS],
				gt[BTYD_MAX_PARAMS],
				Hy[BTYD_MAX_PARAMS];
	double		u0[BTYD_MAX_PARAMS];
	double		f;
	int			i,
				j,
				it;
	bool		first = true;
	LineCtx		lc;

	memcpy(u0, u, sizeof(double) * n);
	memset(res, 0, sizeof(*res));
	res->diverged_param = -1;
	f = fn(u, g, ctx);
	res->evaluations = 1;
	for (i = 0; i < n; i++)
		if (!isfinite(g[i]))
			f = NAN;
	if (!isfinite(f))
	{
		res->status = BTYD_OPT_NONFINITE;
		res->f = f;
		return;
	}

	for (i = 0; i < n; i++)
		for (j = 0; j < n; j++)
			H[i][j] = (i == j) ? 1.0 : 0.0;

	lc.fn = fn;
	lc.ctx = ctx;
	lc.n = n;
	lc.u = u;
	lc.p = p;
	lc.ut = ut;
	lc.gt = gt;
	lc.evals = 0;

	for (it = 0;; it++)
	{
		double		gnorm = 0.0,
					pnorm = 0.0,
					dphi0,
					alpha,
					alpha_max,
					fnew = f,
					sy;

		for (i = 0; i < n; i++)
			gnorm = fmax(gnorm, fabs(g[i]));
		res->gnorm = gnorm;
		res->iterations = it;
		res->f = f;
		if (gnorm <= gtol)
		{
			res->status = BTYD_OPT_CONVERGED;
			break;
		}
		if (it >= maxiter)
		{
			res->status = BTYD_OPT_MAXITER;
			break;
		}

		/* search direction p = -H g; reset H if it is not a descent */
		for (i = 0; i < n; i++)
		{
			p[i] = 0.0;
			for (j = 0; j < n; j++)
				p[i] -= H[i][j] * g[j];
		}
		dphi0 = dot(g, p, n);
		if (!(dphi0 < 0.0))
		{
			for (i = 0; i < n; i++)
				for (j = 0; j < n; j++)
					H[i][j] = (i == j) ? 1.0 : 0.0;
			for (i = 0; i < n; i++)
				p[i] = -g[i];
			dphi0 = -dot(g, g, n);
			first = true;
		}
		for (i = 0; i < n; i++)
			pnorm = fmax(pnorm, fabs(p[i]));
		/* never move a log-parameter by more than 5 in one step */
		alpha_max = 5.0 / pnorm;
		alpha = first ? fmin(1.0 / pnorm, alpha_max) : fmin(1.0, alpha_max);

		alpha = line_search(&lc, f, dphi0, alpha, alpha_max, &fnew);
		res->evaluations = 1 + lc.evals;
		if (alpha <= 0.0)
		{
			/* no further decrease: at the precision limit if g is small */
			res->status = (gnorm <= 1e3 * gtol) ? BTYD_OPT_CONVERGED : BTYD_OPT_STALLED;
			break;
		}

		for (i = 0; i < n; i++)
		{
			s[i] = alpha * p[i];
			u[i] += s[i];
			y[i] = gt[i] - g[i];
			g[i] = gt[i];
		}
		f = fnew;
		for (i = 0; i < n; i++)
			if (fabs(u[i] - u0[i]) > bound)
			{
				res->status = BTYD_OPT_DIVERGED;
				res->diverged_param = i;
				res->iterations = it + 1;
				res->f = f;
				return;
			}

		/* BFGS update of the inverse Hessian */
		sy = dot(s, y, n);
		if (sy > 1e-12 * sqrt(dot(s, s, n) * dot(y, y, n)))
		{
			double		rho = 1.0 / sy,
						yHy;

			if (first)
			{
				/* scale the initial matrix (Nocedal & Wright, 6.20) */
				double		scale = sy / dot(y, y, n);

				for (i = 0; i < n; i++)
					for (j = 0; j < n; j++)
						H[i][j] = (i == j) ? scale : 0.0;
				first = false;
			}
			for (i = 0; i < n; i++)
			{
				Hy[i] = 0.0;
				for (j = 0; j < n; j++)
					Hy[i] += H[i][j] * y[j];
			}
			yHy = dot(y, Hy, n);
			for (i = 0; i < n; i++)
				for (j = 0; j < n; j++)
					H[i][j] += -rho * (Hy[i] * s[j] + s[i] * Hy[j])
						+ (rho * rho * yHy + rho) * s[i] * s[j];
		}
	}
}
