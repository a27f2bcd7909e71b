/*-------------------------------------------------------------------------
 *
 * bgbb.c
 *	  The BG/BB model for discrete-time data (Fader, Hardie & Shang 2010,
 *	  "Customer-Base Analysis in a Discrete-Time Noncontractual Setting",
 *	  Marketing Science 29(6)): at each transaction opportunity after the
 *	  first purchase a customer who is alive buys with probability p ~
 *	  Beta(alpha, beta), and before each opportunity dies with probability
 *	  theta ~ Beta(gamma, delta).  A customer's data are (x, t_x, n): x
 *	  opportunities with a transaction out of n, the last one at
 *	  opportunity t_x (0 when x = 0).
 *
 *	  The fitting aggregate's functions, the log-likelihood with its
 *	  analytic gradient, P(alive), the conditional and unconditional
 *	  expected transactions, P(X(n) = x), and rfm_bgbb_opportunity, the
 *	  calendar period index that the summary counts opportunities with.
 *
 *	  The likelihood is the paper's sum over the last opportunity alive:
 *
 *	  L = B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
 *		+ sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha, beta)
 *							  B(gamma+1, delta+t_x+i)/B(gamma, delta)
 *
 *	  The terms of the sum fall with i; each is the previous one times a
 *	  ratio of linear factors, and so are the differences of the digamma
 *	  functions in its gradient, so a customer costs lgamma and digamma at
 *	  the first term only.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"

/*
 * The largest number of opportunities accepted (n, and the horizon n* of a
 * prediction): the likelihood and the predictions sum one term per
 * opportunity.  A million daily opportunities are 2,700 years.
 */
#define BGBB_MAX_N			1e6

/* a fitted BG/BB model read from rfm_bgbb_model */
typedef struct BgbbModel
{
	double		alpha,
				beta,
				gamma,
				delta;
} BgbbModel;

StaticAssertDecl(sizeof(BgbbModel) <= BTYD_MODEL_MAX, "BgbbModel too large for the scoring cache");

/*
 * memo tags of the scoring cache (src/btyd_score.c): whole results, the inputs
 * being whole numbers that repeat a lot
 */
#define BGBB_MEMO_P_ALIVE	1	/* (x, t_x, n, ahead) */
#define BGBB_MEMO_EXPECTED	2	/* (x, t_x, n, horizon) */

static inline double
log_beta(double a, double b)
{
	return lgamma(a) + lgamma(b) - lgamma(a + b);
}

/* a whole number of opportunities 0 <= v <= BGBB_MAX_N */
static inline void
bgbb_check_opportunities(double v, const char *what)
{
	btyd_check_finite(v, what);
	if (v < 0.0 || v != floor(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be a whole number of opportunities >= 0, got %g", what, v),
				 errhint("Count transaction opportunities (periods) after the first purchase.")));
	if (v > BGBB_MAX_N)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s = %.15g opportunities is out of range", what, v),
				 errdetail("BG/BB accepts at most %.15g opportunities.", BGBB_MAX_N),
				 errhint("Use a longer period, for example months instead of days.")));
}

/*
 * A customer (x, t_x, n): whole numbers with x <= t_x <= n, t_x = 0 when
 * x = 0 (and so t_x >= x >= 1 otherwise: x distinct opportunities up to t_x).
 */
static void
bgbb_check_customer(double x, double tx, double n)
{
	btyd_check_x(x);
	bgbb_check_opportunities(tx, "t_x");
	bgbb_check_opportunities(n, "n");
	if (tx > n)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_x must not exceed n, got t_x = %g and n = %g", tx, n),
				 errdetail("t_x is the opportunity of the last transaction, one of the n opportunities observed."),
				 errhint("Count t_x and n from the same first purchase and in the same period.")));
	if (x > tx)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("x must not exceed t_x, got x = %g and t_x = %g", x, tx),
				 errdetail("x counts opportunities with a transaction, the last of which is t_x."),
				 errhint("Compute x as the number of distinct periods with a transaction after the first.")));
	if (x == 0.0 && tx != 0.0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("t_x must be 0 when x is 0, got t_x = %g", tx),
				 errdetail("A customer without repeat transactions has no last repeat transaction."),
				 errhint("Set t_x to 0 for customers with x = 0.")));
}

/* per-evaluation constants of the likelihood */
typedef struct BgbbConst
{
	double		lbab,			/* log B(alpha, beta) */
				lbgd,			/* log B(gamma, delta) */
				psa,			/* digamma(alpha) */
				psb,
				psab,
				psd,
				psgd;
} BgbbConst;

static void
bgbb_const(const BgbbModel *m, BgbbConst *c, bool grad)
{
	c->lbab = log_beta(m->alpha, m->beta);
	c->lbgd = log_beta(m->gamma, m->delta);
	if (grad)
	{
		c->psa = btyd_digamma(m->alpha);
		c->psb = btyd_digamma(m->beta);
		c->psab = btyd_digamma(m->alpha + m->beta);
		c->psd = btyd_digamma(m->delta);
		c->psgd = btyd_digamma(m->gamma + m->delta);
	}
}

/*
 * log of the "alive through opportunity n + ahead" term of a customer,
 * B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n+ahead)/B(gamma, delta)
 */
static double
bgbb_log_alive(const BgbbModel *m, const BgbbConst *c, double x, double n, double ahead)
{
	return log_beta(m->alpha + x, m->beta + n - x) - c->lbab +
		log_beta(m->gamma, m->delta + n + ahead) - c->lbgd;
}

/*
 * Log-likelihood of one customer (x, t_x, n), with its gradient in (alpha,
 * beta, gamma, delta) unless g is NULL.
 */
static double
bgbb_row_ll(const BgbbModel *m, const BgbbConst *c, double x, double tx, double n, double *g)
{
	const double a = m->alpha,
				b = m->beta,
				gm = m->gamma,
				d = m->delta;
	double		l0 = bgbb_log_alive(m, c, x, n, 0.0),
				l1,
				sum = 1.0,
				r = 1.0,
				cur[4],
				acc[4],
				w;
	double		ll;
	int64		i,
				last;

	if (tx >= n)
	{
		if (g != NULL)
		{
			g[0] = btyd_digamma(a + x) - btyd_digamma(a + b + n) - c->psa + c->psab;
			g[1] = btyd_digamma(b + n - x) - btyd_digamma(a + b + n) - c->psb + c->psab;
			g[2] = c->psgd - btyd_digamma(gm + d + n);
			g[3] = btyd_digamma(d + n) - btyd_digamma(gm + d + n) - c->psd + c->psgd;
		}
		return l0;
	}

	/* the first term of the sum, i = 0: died just after opportunity t_x */
	l1 = log_beta(a + x, b + tx - x) - c->lbab + log_beta(gm + 1.0, d + tx) - c->lbgd;
	if (g != NULL)
	{
		cur[0] = btyd_digamma(a + x) - btyd_digamma(a + b + tx) - c->psa + c->psab;
		cur[1] = btyd_digamma(b + tx - x) - btyd_digamma(a + b + tx) - c->psb + c->psab;
		cur[2] = 1.0 / gm - btyd_digamma(gm + d + tx + 1.0) + c->psgd;
		cur[3] = btyd_digamma(d + tx) - btyd_digamma(gm + d + tx + 1.0) - c->psd + c->psgd;
		memcpy(acc, cur, sizeof(acc));
	}
	/* term i+1 = term i (beta+t_x-x+i)/(alpha+beta+t_x+i) (delta+t_x+i)/(gamma+delta+t_x+i+1) */
	last = (int64) (n - tx) - 1;
	for (i = 0; i < last; i++)
	{
		double		k = tx + (double) i;
		double		pb = 1.0 / (b + k - x),
					pab = 1.0 / (a + b + k),
					qd = 1.0 / (d + k),
					qgd = 1.0 / (gm + d + k + 1.0);

		if ((i & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		r *= (b + k - x) * pab * (d + k) * qgd;
		sum += r;
		if (g != NULL)
		{
			cur[0] -= pab;
			cur[1] += pb - pab;
			cur[2] -= qgd;
			cur[3] += qd - qgd;
			acc[0] += r * cur[0];
			acc[1] += r * cur[1];
			acc[2] += r * cur[2];
			acc[3] += r * cur[3];
		}
	}
	l1 += log(sum);
	ll = btyd_logaddexp_w(l0, l1, &w);
	if (g != NULL)
	{
		double		g0[4];

		g0[0] = btyd_digamma(a + x) - btyd_digamma(a + b + n) - c->psa + c->psab;
		g0[1] = btyd_digamma(b + n - x) - btyd_digamma(a + b + n) - c->psb + c->psab;
		g0[2] = c->psgd - btyd_digamma(gm + d + n);
		g0[3] = btyd_digamma(d + n) - btyd_digamma(gm + d + n) - c->psd + c->psgd;
		for (int j = 0; j < 4; j++)
			g[j] = (1.0 - w) * g0[j] + w * acc[j] / sum;
	}
	return ll;
}

/*
 * Negative mean log-likelihood (plus the L2 penalty) at u = log(alpha, beta,
 * gamma, delta), with its analytic gradient in u.  With fd->infl_cov set,
 * each customer's score goes to the influence diagnostic.
 */
static double
bgbb_objective(const double *u, double *grad, void *ctx)
{
	FitData    *fd = ctx;
	BgbbModel	m;
	BgbbConst	c;
	double		ll = 0.0,
				gs[4] = {0};
	int			i,
				k;

	CHECK_FOR_INTERRUPTS();
	m.alpha = exp(u[0]);
	m.beta = exp(u[1]);
	m.gamma = exp(u[2]);
	m.delta = exp(u[3]);
	if (!isfinite(m.alpha) || !isfinite(m.beta) || !isfinite(m.gamma) || !isfinite(m.delta) ||
		m.alpha == 0.0 || m.beta == 0.0 || m.gamma == 0.0 || m.delta == 0.0)
		return INFINITY;
	bgbb_const(&m, &c, true);

	for (i = 0; i < fd->nrows; i++)
	{
		const BtydRow *row = &fd->rows[i];
		double		g1[4];
		double		li = bgbb_row_ll(&m, &c, row->x, row->v, row->T, g1);

		if (!isfinite(li))
		{
			fd->loglik = NAN;
			return INFINITY;
		}
		ll += (double) row->n * li;
		for (k = 0; k < 4; k++)
			gs[k] += (double) row->n * g1[k];
		if (unlikely(fd->infl_cov != NULL))
		{
			g1[0] *= m.alpha;
			g1[1] *= m.beta;
			g1[2] *= m.gamma;
			g1[3] *= m.delta;
			btyd_row_influence(fd, i, g1);
		}
	}

	fd->loglik = ll;
	grad[0] = -gs[0] * m.alpha / fd->ntotal;
	grad[1] = -gs[1] * m.beta / fd->ntotal;
	grad[2] = -gs[2] * m.gamma / fd->ntotal;
	grad[3] = -gs[3] * m.delta / fd->ntotal;
	return -ll / fd->ntotal + btyd_l2_penalty(fd->l2, u, grad, 4);
}

/*
 * rfm_bgbb_fit(x, t_x, n [, l2]) transition: count the customer (x, t_x, n).
 * Rows with a NULL value are skipped; bad values raise errors.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_fit_trans);
Datum
rfm_bgbb_fit_trans(PG_FUNCTION_ARGS)
{
	return btyd_rows_trans(fcinfo, BTYD_KIND_BGBB, "rfm_bgbb_fit_trans", -1, bgbb_check_customer);
}

/*
 * rfm_bgbb_fit final function: the maximum-likelihood fit as rfm_bgbb_model
 * with standard errors and diagnostics.  NULL over no rows.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_fit_final);
Datum
rfm_bgbb_fit_final(PG_FUNCTION_ARGS)
{
	static const char *const names[] = {"alpha", "beta", "gamma", "delta"};
	BtydState  *st;
	BtydRow    *rows;
	FitData		fd;
	BtydOptResult res;
	BtydFitStats stats;
	double		u[4] = {0},
				sumn,
				sumx;
	int			nv;
	Datum		values[32];
	bool		nulls[32] = {0};

	(void) btyd_agg_context(fcinfo, "rfm_bgbb_fit_final");
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	st = (BtydState *) PG_GETARG_POINTER(0);
	btyd_state_flush(st);
	if (st->ncust == 0)
		PG_RETURN_NULL();
	rows = btyd_sorted_rows(st);
	btyd_check_customer_base(st, rows, &sumn, &sumx);

	btyd_fitdata_init(&fd, st, rows);
	/* start at alpha = beta = gamma = delta = 1: uniform p and theta */
	btyd_run_fit(&fd, bgbb_objective, 4, u, names, &res);
	btyd_fit_stats(&fd, bgbb_objective, 4, u, names, &res, &stats);

	(void) btyd_fit_datums(&fd, st, u, 4, &res, values, nulls);
	values[8] = Float8GetDatum(st->l2);
	nv = 9 + btyd_stats_datums(&stats, 4, st->nnull, values + 9, nulls + 9);
	PG_RETURN_DATUM(btyd_form_result(fcinfo, values, nulls, nv));
}

/* ---- predictions ----------------------------------------------------- */

void
bgbb_read_model(HeapTupleHeader th, void *model)
{
	static const char *const names[] = {"alpha", "beta", "gamma", "delta"};
	BgbbModel  *m = model;
	double		p[4];

	btyd_read_params(th, "rfm_bgbb_model", 4, names, p);
	m->alpha = p[0];
	m->beta = p[1];
	m->gamma = p[2];
	m->delta = p[3];
}

/*
 * sum_{k=1}^{h} B(gamma, delta+n+k)/B(gamma, delta): the expected number of
 * the next h opportunities a customer alive through n is alive at, times
 * P(alive through n).  Summed term by term (ratio (delta+n+k)/(gamma+delta+
 * n+k)); the paper's closed form divides by gamma - 1 and loses precision
 * near gamma = 1 and for large n.
 */
static double
bgbb_alive_sum(const BgbbModel *m, double n, double h)
{
	double		t,
				sum = 0.0;
	int64		k,
				nh = (int64) h;

	if (nh == 0)
		return 0.0;
	t = exp(log_beta(m->gamma, m->delta + n + 1.0) - log_beta(m->gamma, m->delta));
	for (k = 1; k <= nh; k++)
	{
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		sum += t;
		t *= (m->delta + n + k) / (m->gamma + m->delta + n + k);
	}
	return sum;
}

/*
 * E[X(n, n+h) | x, t_x, n]: expected transactions in the next h
 * opportunities (Fader, Hardie & Shang 2010, eq. 13, as a finite sum):
 * B(alpha+x+1, beta+n-x)/B(alpha, beta) / L times bgbb_alive_sum.
 */
static double
bgbb_cond_expected(const BgbbModel *m, double h, double x, double tx, double n)
{
	BgbbConst	c;
	double		ll;

	bgbb_const(m, &c, false);
	ll = bgbb_row_ll(m, &c, x, tx, n, NULL);
	return exp(log_beta(m->alpha + x + 1.0, m->beta + n - x) - c.lbab - ll) *
		bgbb_alive_sum(m, n, h);
}

/*
 * The discounted expected transactions of rfm_clv for BG/BB: the sum over
 * the next horizon opportunities k = 1..horizon of the expected transaction
 * at opportunity n+k, B(alpha+x+1, beta+n-x)/B(alpha, beta) / L
 * B(gamma, delta+n+k)/B(gamma, delta), discounted by (1 + d)^k.
 */
double
bgbb_clv(BtydScoreCache *cache, double x, double tx, double n,
		 double horizon, double d)
{
	const BgbbModel *mp = (const BgbbModel *) cache->model;
	BgbbModel	m = *mp;
	BgbbConst	c;
	double		pre,
				t,
				w = 1.0 / (1.0 + d),
				disc = 1.0,
				sum = 0.0;
	int64		k,
				nh;

	bgbb_check_customer(x, tx, n);
	bgbb_check_opportunities(horizon, "horizon");
	bgbb_const(&m, &c, false);
	pre = log_beta(m.alpha + x + 1.0, m.beta + n - x) - c.lbab -
		bgbb_row_ll(&m, &c, x, tx, n, NULL);
	t = exp(pre + log_beta(m.gamma, m.delta + n + 1.0) - c.lbgd);
	nh = (int64) horizon;
	for (k = 1; k <= nh; k++)
	{
		if ((k & 0xFFFF) == 0)
			CHECK_FOR_INTERRUPTS();
		disc *= w;
		sum += t * disc;
		t *= (m.delta + n + k) / (m.gamma + m.delta + n + k);
	}
	return sum;
}

/*
 * rfm_p_alive(bgbb model, x, t_x, n [, ahead]): probability that a customer
 * with history (x, t_x, n) is alive at opportunity n + ahead; ahead = 1 (the
 * default) is the paper's P(alive in period n+1), eq. 11.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_p_alive);
Datum
rfm_bgbb_p_alive(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	BtydScoreCache *cache = btyd_score_cache(fcinfo, 0, bgbb_read_model, &local);
	const BgbbModel *m = (const BgbbModel *) cache->model;
	double		x = PG_GETARG_FLOAT8(1),
				tx = PG_GETARG_FLOAT8(2),
				n = PG_GETARG_FLOAT8(3),
				ahead = PG_GETARG_FLOAT8(4);
	double		key[BTYD_MEMO_KEYS] = {x, tx, n, ahead};
	double		p;

	bgbb_check_customer(x, tx, n);
	bgbb_check_opportunities(ahead, "ahead");
	if (!btyd_memo_get(cache, BGBB_MEMO_P_ALIVE, key, &p))
	{
		BgbbConst	c;

		bgbb_const(m, &c, false);
		p = btyd_check_result(exp(bgbb_log_alive(m, &c, x, n, ahead) -
								  bgbb_row_ll(m, &c, x, tx, n, NULL)),
							  "probability alive");
		btyd_memo_put(cache, BGBB_MEMO_P_ALIVE, key, p);
	}
	PG_RETURN_FLOAT8(p);
}

/*
 * rfm_expected_purchases(bgbb model, horizon, x, t_x, n): expected number of
 * transactions in the next horizon opportunities.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_expected_purchases);
Datum
rfm_bgbb_expected_purchases(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	BtydScoreCache *cache = btyd_score_cache(fcinfo, 0, bgbb_read_model, &local);
	double		h = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				tx = PG_GETARG_FLOAT8(3),
				n = PG_GETARG_FLOAT8(4);
	double		key[BTYD_MEMO_KEYS] = {x, tx, n, h};
	double		e;

	bgbb_check_opportunities(h, "horizon");
	bgbb_check_customer(x, tx, n);
	if (!btyd_memo_get(cache, BGBB_MEMO_EXPECTED, key, &e))
	{
		e = btyd_check_result(bgbb_cond_expected((const BgbbModel *) cache->model, h, x, tx, n),
							  "expected purchases");
		btyd_memo_put(cache, BGBB_MEMO_EXPECTED, key, e);
	}
	PG_RETURN_FLOAT8(e);
}

/*
 * rfm_expected_purchases_new(bgbb model, horizon): E[X(n)], the expected
 * repeat transactions in the first n opportunities of a new customer
 * (eq. 9 of the paper), the conditional expectation at x = t_x = n = 0.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_expected_purchases_new);
Datum
rfm_bgbb_expected_purchases_new(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	const BgbbModel *m = (const BgbbModel *) btyd_score_cache(fcinfo, 0, bgbb_read_model, &local)->model;
	double		h = PG_GETARG_FLOAT8(1);

	bgbb_check_opportunities(h, "horizon");
	PG_RETURN_FLOAT8(btyd_check_result(bgbb_cond_expected(m, h, 0.0, 0.0, 0.0), "expected purchases"));
}

/*
 * rfm_p_purchases(bgbb model, n, x): P(X(n) = x), the probability that a new
 * customer makes x repeat transactions in the first n opportunities (eq. 8):
 * C(n, x) B(alpha+x, beta+n-x)/B(alpha, beta) B(gamma, delta+n)/B(gamma, delta)
 * + sum_{i=x}^{n-1} C(i, x) B(alpha+x, beta+i-x)/B(alpha, beta)
 * B(gamma+1, delta+i)/B(gamma, delta).
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_p_purchases);
Datum
rfm_bgbb_p_purchases(PG_FUNCTION_ARGS)
{
	BtydScoreCache local;
	BgbbModel	m = *(const BgbbModel *) btyd_score_cache(fcinfo, 0, bgbb_read_model, &local)->model;
	BgbbConst	c;
	double		n = PG_GETARG_FLOAT8(1),
				x = PG_GETARG_FLOAT8(2),
				p,
				lgx;
	int64		i;

	bgbb_check_opportunities(n, "horizon");
	btyd_check_count(x);
	if (x > n)
		PG_RETURN_FLOAT8(0.0);
	bgbb_const(&m, &c, false);
	lgx = lgamma(x + 1.0);
	p = exp(lgamma(n + 1.0) - lgx - lgamma(n - x + 1.0) + bgbb_log_alive(&m, &c, x, n, 0.0));
	for (i = (int64) x; i < (int64) n; i++)
	{
		double		di = (double) i;

		if ((i & 0xFFFF) == 0xFFFF)
			CHECK_FOR_INTERRUPTS();
		p += exp(lgamma(di + 1.0) - lgx - lgamma(di - x + 1.0) +
				 log_beta(m.alpha + x, m.beta + di - x) - c.lbab +
				 log_beta(m.gamma + 1.0, m.delta + di) - c.lbgd);
	}
	PG_RETURN_FLOAT8(btyd_check_result(p, "probability"));
}

/* ---- the opportunity of a date ------------------------------------- */

/*
 * rfm_bgbb_opportunity(day, origin, period): the number of calendar periods
 * ('day', 'week' (from Monday), 'month', 'quarter', 'year') from the one
 * that holds origin to the one that holds day; negative before origin.
 */
PG_FUNCTION_INFO_V1(rfm_bgbb_opportunity);
Datum
rfm_bgbb_opportunity(PG_FUNCTION_ARGS)
{
	DateADT		day = PG_GETARG_DATEADT(0),
				origin = PG_GETARG_DATEADT(1);
	char	   *period = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int			y1,
				m1,
				d1,
				y0,
				m0,
				d0;
	int64		k;

	if (DATE_NOT_FINITE(day) || DATE_NOT_FINITE(origin))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("dates of rfm_bgbb_opportunity must be finite")));
	j2date(day + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(origin + POSTGRES_EPOCH_JDATE, &y0, &m0, &d0);
	if (strcmp(period, "day") == 0)
		k = (int64) day - origin;
	else if (strcmp(period, "week") == 0)
	{
		/* 2000-01-03 (day 2) is a Monday; floor division for earlier days */
		int64		w1 = ((int64) day - 2 - (((int64) day - 2) % 7 + 7) % 7) / 7,
					w0 = ((int64) origin - 2 - (((int64) origin - 2) % 7 + 7) % 7) / 7;

		k = w1 - w0;
	}
	else if (strcmp(period, "month") == 0)
		k = 12 * (int64) (y1 - y0) + (m1 - m0);
	else if (strcmp(period, "quarter") == 0)
		k = 4 * (int64) (y1 - y0) + (m1 - 1) / 3 - (m0 - 1) / 3;
	else if (strcmp(period, "year") == 0)
		k = (int64) y1 - y0;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown period \"%s\"", period),
				 errhint("Use one of day, week, month, quarter, year.")));
	if (k > PG_INT32_MAX || k < PG_INT32_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s count between the dates is out of range", period)));
	PG_RETURN_INT32((int32) k);
}
