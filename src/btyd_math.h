/*-------------------------------------------------------------------------
 *
 * btyd_math.h
 *	  Numerical helpers of the BG/NBD, MBG/NBD and Gamma-Gamma models:
 *	  the digamma function, the Gauss hypergeometric series 2F1 and a
 *	  BFGS minimizer with a strong-Wolfe line search.  Pure C, no
 *	  PostgreSQL calls (but btyd_check_interrupts, which the caller
 *	  defines), so that they can be reasoned about (and tested) on their
 *	  own.
 *
 *-------------------------------------------------------------------------
 */
#ifndef BTYD_MATH_H
#define BTYD_MATH_H

#include <stdbool.h>

#define BTYD_MAX_PARAMS 4

/*
 * Called every so many terms of a long series, so that a query can be
 * cancelled; src/btyd.c defines it as CHECK_FOR_INTERRUPTS().
 */
extern void btyd_check_interrupts(void);

/* digamma (psi) function for x > 0 */
extern double btyd_digamma(double x);

/*
 * Sum of the Gauss series 2F1(a, b; c; z) for 0 <= z < 1 (c not a
 * non-positive integer).  Returns NaN when the series did not reach full
 * precision within the term budget.
 */
extern double btyd_hyp2f1_series(double a, double b, double c, double z);

/* the same series without its first term 1, i.e. 2F1 - 1, for 0 <= z < 1 */
extern double btyd_hyp2f1_series_m1(double a, double b, double c, double z);

/*
 * The same series evaluated at many z with fixed (a, b, c): the coefficients
 * (a)_n (b)_n / ((c)_n n!) are computed once into a caller's buffer, and
 * each evaluation costs one multiply-add per term.
 */
typedef struct BtydSeries
{
	double		a,
				b,
				c;
	int			ncoef;			/* coefficients computed so far */
	int			maxcoef;		/* size of coef */
	double	   *coef;
} BtydSeries;

extern void btyd_series_init(BtydSeries *s, double a, double b, double c,
							 double *buf, int bufsize);
extern double btyd_series_m1_eval(BtydSeries *s, double z);

/*
 * 2F1(a, b; c; z) for z < 1, choosing between the direct series, Euler's
 * transformation (z in [0,1)) and Pfaff's transformation (z < 0).  NaN when
 * the value cannot be computed to full precision.
 */
extern double btyd_hyp2f1(double a, double b, double c, double z);

/* objective: returns f(u) and stores its gradient; may return +Inf or NaN */
typedef double (*btyd_objective) (const double *u, double *grad, void *ctx);

typedef enum BtydOptStatus
{
	BTYD_OPT_CONVERGED = 0,
	BTYD_OPT_MAXITER,			/* iteration budget used up */
	BTYD_OPT_STALLED,			/* line search could not improve, gradient not small */
	BTYD_OPT_DIVERGED,			/* a coordinate moved more than bound */
	BTYD_OPT_NONFINITE			/* objective not finite at the start */
} BtydOptStatus;

typedef struct BtydOptResult
{
	BtydOptStatus status;
	int			iterations;
	int			evaluations;
	double		f;				/* objective at the returned point */
	double		gnorm;			/* max-norm of the gradient there */
	int			diverged_param; /* index of the runaway coordinate */
} BtydOptResult;

/*
 * Minimize fn over R^n (n <= BTYD_MAX_PARAMS) from u (updated in place) by
 * BFGS.  Converged when the max-norm of the gradient is below gtol;
 * diverged when a coordinate moves more than bound from its start.
 */
extern void btyd_minimize(btyd_objective fn, void *ctx, int n, double *u,
						  int maxiter, double gtol, double bound,
						  BtydOptResult *res);

#endif							/* BTYD_MATH_H */
