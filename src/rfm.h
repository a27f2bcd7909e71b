/*
 * rfm.h
 *		Declarations shared by the rfm extension's C files.
 *
 * src/summary.c	the rfm_summary aggregate and its rfm_state type
 * src/summary.h	the layout of rfm_state, for final functions that read it
 * src/lifecycle.c	rfm_lifecycle, rfm_lifecycle_stage: lifecycle stages
 * src/score.c		rfm_score, rfm_scores, rfm_breaks: tie-aware scores
 * src/segment.c	rfm_segment, rfm_value_type: segments and value types
 * src/action.c	rfm_strategy, rfm_tier, rfm_action ...: rules from the rule tables
 * src/action_load.c	reads the rule tables for src/action.c (action.h)
 * src/group.c		rfm_group_label, rfm_group_strategy: customer groups
 * src/customers.c	rfm_model_customers: a model's customers in one pass
 * src/customers_build.c	its summary read into arrays, the population's figures
 * src/customers_delta.c	which rows an incremental refresh writes again
 * src/customers_totals.c	_segments and _pareto from the customers in memory
 * src/rank.c		rfm_model_rank: the ranks a model's view computes
 * src/numeric_fast.c	a numeric as a double without printing it
 * src/sink.c		rows written straight into a new table
 * src/radix.c		radix sorts of doubles and integers
 * src/storage.c	rfm_model_visible: the guard of a model's views
 * src/bgnbd.c		BG/NBD and MBG/NBD fits and predictions
 * src/gamma_gamma.c	Gamma-Gamma fit and rfm_expected_order_value
 * src/clv.c		rfm_clv, rfm_simple_clv
 * src/btyd.c, btyd_state.c, btyd_score.c, btyd.h	machinery shared by these models
 * src/btyd_math.c	their numerics (2F1, digamma, BFGS)
 * src/rfm.c		module magic and _PG_init (GUCs), rfm_srf_check/store
 */
#ifndef RFM_H
#define RFM_H

#include "postgres.h"

#include "fmgr.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"				/* VARSIZE_ANY and friends, out of postgres.h since 16 */
#endif

#include <math.h>

#include "common/int.h"

/*
 * Scores are small integers; a bin count beyond this is almost certainly a
 * mistake (and would make the per-score tables of later features huge).
 */
#define RFM_MAX_BINS	1000

/*
 * The order-preserving 64-bit image of a double: images compare as the
 * values do in PostgreSQL's float8 order (NaN after everything), but -0.0
 * just before +0.0 (the radix sorts of src/radix.c; src/rank.c adds 0.0
 * first, which makes -0.0 +0.0).
 */
static inline uint64
rfm_double_image(double d)
{
	uint64		u;

	if (isnan(d))
		return PG_UINT64_MAX;
	memcpy(&u, &d, sizeof(u));
	return (u >> 63) ? ~u : (u | (UINT64CONST(1) << 63));
}

/* a + b, or the error "<what> out of range" */
static inline int64
rfm_add_int64(int64 a, int64 b, const char *what)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("%s out of range", what)));
	return r;
}

/* Raise the standard error for a bin count outside 1..RFM_MAX_BINS. */
static inline void
rfm_check_bins(int64 bins, const char *fname)
{
	if (bins < 1 || bins > RFM_MAX_BINS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: bins must be between 1 and %d", fname, RFM_MAX_BINS),
				 errdetail("The number of bins given was " INT64_FORMAT ".", bins),
				 errhint("Five bins (scores 1 to 5) is the usual choice.")));
}

/* Raise the standard error for a NaN where a comparable value is needed. */
static inline void
rfm_check_not_nan(double v, const char *fname, const char *what)
{
	if (isnan(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: %s must not be NaN", fname, what),
				 errdetail("NaN has no place in an ordering of customers."),
				 errhint("Filter the rows out or replace NaN with NULL.")));
}

/* src/score.c: sort doubles ascending; the cut points of rfm_breaks(bins)
 * (the rank rule) over n > 0 values sorted ascending, into cuts[bins - 1] */
extern void rfm_sort_doubles(double *v, size_t n);

/* src/owner.c: a plain table of the calling role, or 42501 */
extern void rfm_require_own_table(Oid relid, const char *fname, bool writing, const char *hint);

/* src/rfm.c: set-returning functions that fill a tuplestore */
struct Tuplestorestate;
struct TupleDescData;
extern void rfm_srf_check(FunctionCallInfo fcinfo, const char *fname);
extern struct Tuplestorestate *rfm_srf_store(FunctionCallInfo fcinfo, struct TupleDescData **desc);

/* src/radix.c: radix sorts of doubles (ascending; -0.0 before +0.0, NaN last) */
/* src/numeric_fast.c */
extern void rfm_numeric_parts(Datum d, double *f, int64 *units, int16 *dscale, bool *exact);

/*
 * A numeric's stored form, read where it lies (a short or a long header,
 * base-10000 digits; the on-disk format, fixed across major versions):
 * rfm_numeric_form fills it from a numeric that is neither compressed nor
 * out of line, or returns false, with *special set for NaN and infinities.
 */
typedef struct RfmNumericForm
{
	bool		neg;
	int			weight;			/* of the first digit, in powers of 10000 */
	int			dscale;			/* the display scale: digits after the point */
	int			ndigits;
	const char *digits;			/* ndigits int16s, perhaps unaligned */
} RfmNumericForm;

extern bool rfm_numeric_form(const struct varlena *num, RfmNumericForm *f, bool *special);

extern void rfm_radix_sort_doubles(double *v, size_t n);
extern void rfm_radix_order(const double *v, size_t n, bool descending, int64 *order);
extern void rfm_radix_order_int64(const int64 *v, size_t n, int64 *order);
extern void rfm_rank_cuts(const double *sorted, int64 n, int32 bins, double *cuts);

/* src/group.c: the customer groups of one customer (NULL: no group) */
extern const char *rfm_ae_group_of(bool frequency_null, double frequency, bool aov_null, double aov,
								   bool fcut_null, double fcut, bool acut_null, double acut);
extern bool rfm_arpu_of(double revenue, double tenure_days, double period_days, double *arpu);
extern const char *rfm_arpu_group_of(double arpu, bool basic_null, double basic_cut,
									 bool high_null, double high_cut);
extern const char *rfm_value_tier_of(double value, bool low_null, double low_cut,
									 bool high_null, double high_cut);

/* src/action.c */
extern const char *rfm_action_label(FunctionCallInfo fcinfo, const char *code, bool zh);

/* src/btyd.c */
extern void rfm_btyd_define_gucs(void);

#endif							/* RFM_H */
