/*-------------------------------------------------------------------------
 *
 * clv.c
 *	  Customer lifetime value: rfm_clv, the discounted expected margin of a
 *	  customer under a fitted customer-base model, and rfm_simple_clv, the
 *	  model-free retention formula.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#define BTYD_MAX_CLV_STEPS	100000

/*
 * The arguments of rfm_clv after the model: (x, t_x, T, order_value,
 * horizon, margin, discount_rate), checked; returns the number of steps.
 */
typedef struct ClvArgs
{
	double		x,
				tx,
				T,
				value,
				horizon,
				margin,
				d;
} ClvArgs;

static int
clv_args(FunctionCallInfo fcinfo, ClvArgs *a)
{
	double		steps;

	a->x = PG_GETARG_FLOAT8(1);
	a->tx = PG_GETARG_FLOAT8(2);
	a->T = PG_GETARG_FLOAT8(3);
	a->value = PG_GETARG_FLOAT8(4);
	a->horizon = PG_GETARG_FLOAT8(5);
	a->margin = PG_GETARG_FLOAT8(6);
	a->d = PG_GETARG_FLOAT8(7);
	btyd_check_customer(a->x, a->tx, a->T);
	btyd_check_horizon(a->horizon);
	btyd_check_finite(a->value, "order value");
	btyd_check_finite(a->margin, "margin");
	if (!isfinite(a->d) || a->d < 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("discount rate must be a finite number >= 0, got %g", a->d),
				 errhint("Give the discount rate per time unit of the model, e.g. 0.10/52 a week for 10%% a year.")));
	steps = ceil(a->horizon);
	if (steps > BTYD_MAX_CLV_STEPS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("horizon of %g time units is too long", a->horizon),
				 errdetail("The CLV sums one step per time unit, at most %d steps.", BTYD_MAX_CLV_STEPS),
				 errhint("Fit the model in a larger time unit.")));
	return (int) steps;
}

/* order value times margin times the discounted expected purchases */
static double
clv_value(const ClvArgs *a, double purchases)
{
	btyd_check_result(purchases, "expected discounted purchases");
	/* a zero value or margin gives 0, not 0 times an overflow */
	if (a->value == 0.0 || a->margin == 0.0 || purchases == 0.0)
		return 0.0;
	return btyd_check_result(purchases * a->value * a->margin, "CLV");
}

/* rfm_clv under the model of ops (BG/NBD, MBG/NBD or Pareto/NBD) */
static Datum
clv_call(FunctionCallInfo fcinfo, const BtydScoreOps *ops)
{
	BtydScoreCache local;
	BtydScoreCache *c = btyd_score_cache(fcinfo, 0, ops->read, &local);
	ClvArgs		a;
	int			steps = clv_args(fcinfo, &a);

	PG_RETURN_FLOAT8(clv_value(&a, ops->clv(c, a.x, a.tx, a.T, a.horizon, steps, a.d)));
}

/*
 * rfm_clv(model, x, t_x, T, order_value, horizon, margin, discount_rate):
 * discounted expected margin over the horizon, in steps of one time unit,
 * under a BG/NBD or MBG/NBD model.
 */
PG_FUNCTION_INFO_V1(rfm_clv);
Datum
rfm_clv(PG_FUNCTION_ARGS)
{
	return clv_call(fcinfo, &btyd_bg_ops);
}

/* rfm_clv(pnbd model, ...): the same under a Pareto/NBD model. */
PG_FUNCTION_INFO_V1(rfm_pnbd_clv);
Datum
rfm_pnbd_clv(PG_FUNCTION_ARGS)
{
	return clv_call(fcinfo, &btyd_pnbd_ops);
}

/*
 * rfm_clv(bgbb model, x, t_x, n, ...): the same under a BG/BB model, the
 * horizon a whole number of opportunities and the discount rate per
 * opportunity.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_clv);
Datum
rfm_bgbb_clv(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	BtydScoreCache *c = btyd_score_cache(fcinfo, 0, bgbb_read_model, &local);
	ClvArgs		a;

	(void) clv_args(fcinfo, &a);
	PG_RETURN_FLOAT8(clv_value(&a, bgbb_clv(c, a.x, a.tx, a.T, a.horizon, a.d)));
}

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

	btyd_check_finite(aov, "average order value");
	btyd_check_finite(rate, "purchase rate");
	btyd_check_finite(margin, "margin");
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
	/* a zero factor gives 0 whatever the others (no 0 times an overflow) */
	if (aov == 0.0 || rate == 0.0 || margin == 0.0 || ret == 0.0)
		PG_RETURN_FLOAT8(0.0);
	PG_RETURN_FLOAT8(btyd_check_result(ret / (1.0 + d - ret) * aov * rate * margin, "CLV"));
}
