/*
 * customers.h
 *		What src/customers.c (rfm_model_customers) and src/customers_build.c
 *		(reading a model's summary table into arrays, and the population's
 *		figures: percentiles, sorted columns, ranks) share: one customer's
 *		row and the build of all of them.
 */
#ifndef RFM_CUSTOMERS_H
#define RFM_CUSTOMERS_H

#include "rfm.h"

#include "fmgr.h"
#include "utils/array.h"

/* One customer of the summary, and what is computed for it. */
typedef struct Cust
{
	Datum		customer;
	Datum		revenue;		/* numeric */
	Datum		aov;			/* numeric */
	Datum		stage;			/* text */
	Datum		as_of;
	double		recency;
	double		tenure;
	double		tx;
	double		T;
	double		repeat_value;
	double		revenue_f;
	double		aov_f;
	double		profit;
	double		arpu;
	double		p_alive;
	double		expected;
	double		eov;
	double		clv;
	int64		orders;
	int64		revenue_rank;
	int64		profit_rank;
	int32		revenue_tie;	/* place among the customers of an equal revenue float, from 0 */
	int32		profit_tie;
	int32		x;
	int32		score[3];		/* r, f, m */
	int16		seg;			/* the segment's group (customers_totals.c) */
	int16		rev_dscale;		/* revenue's digits after the point ... */
	bool		rev_fast;		/* ... when it is rev_units millionths exactly */
	int64		rev_units;
	bool		in_work;		/* an incremental refresh read the customer again */
	bool		emit;			/* the row is written */
	bool		aov_null;
	bool		stage_null;
	bool		as_of_null;
	bool		rv_null;
	bool		arpu_null;
	bool		p_alive_null;
	bool		expected_null;
	bool		eov_null;
	bool		clv_null;
} Cust;

typedef struct Build
{
	Cust	   *c;
	int64		n;
	int64		cap;
	MemoryContext cxt;			/* where the rows live */
	int16		cust_len;
	bool		cust_byval;
	Oid			cust_type;
	FmgrInfo	cust_cmp;		/* the customer type's btree comparison */
	Oid			cust_coll;
	bool		ranking_revenue;	/* cust_rank(): ties by revenue, then customer */
	Datum		stages[16];		/* the lifecycle stages read, each copied once */
	int			nstages;
	/* the segments' names (Cust.seg indexes them; seg_null: no segment) */
	Datum	   *segs;
	bool	   *seg_null;
	int			nsegs;
} Build;

/*
 * The population's figures that a customer's row depends on: the scores'
 * cut points, the value types' means, the groups' cut points.  An
 * incremental refresh compares each kept customer's row under the last
 * refresh's figures and this one's (src/customers_delta.c).
 */
typedef struct Figures
{
	int			ncut[3];		/* r, f, m */
	double	   *cut[3];
	double		means[3];
	bool		has_f,
				has_a,
				has_basic,
				has_high,
				has_low,
				has_vhigh;
	double		cut_f,
				cut_a,
				cut_basic,
				cut_high,
				cut_low,
				cut_vhigh;
	bool		by_clv;
} Figures;

/* src/customers_build.c */
extern void cust_read_summary(Build *b, Oid relid);
extern void cust_sort_by_customer(Build *b);
extern bool cust_percentile(const double *sorted, int64 n, double p, double *out);
extern double *cust_sorted_values(Build *b, size_t offset, size_t null_offset, int64 *count);
extern bool cust_field_percentile(Build *b, size_t offset, size_t null_offset, double p, double *out);
extern void cust_rank(Build *b, bool by_profit, double *keys, int64 *order, const int64 *hint);
extern int64 cust_find(Build *b, Datum customer);

/* src/customers.c: calling rfm's own SQL functions */
typedef struct Fn
{
	FmgrInfo	fi;
	int			nargs;
} Fn;

extern void cust_fn_init(Fn *fn, const char *schema, const char *name, int nargs, const Oid *argtypes);
extern Datum cust_fn_call(Fn *fn, const Datum *args, const bool *nulls, bool *isnull);

/* src/customers_delta.c: what an incremental refresh writes again */
extern int32 cust_score_of(double x, const double *cuts, int ncut);
extern const char *cust_ae_group(const Cust *c, const Figures *f);
extern const char *cust_arpu_group(const Cust *c, const Figures *f);
extern const char *cust_value_tier(const Cust *c, const Figures *f);
extern Datum cust_figures_array(const Figures *f);
extern void cust_mark_work(Build *b, Oid work);
extern int64 cust_mark_emit(Build *b, const Figures *now, ArrayType *old_figures, ArrayType *old_revenue,
							ArrayType *old_profit, double *const keys[2], int64 *const order[2]);

/* src/customers_totals.c: _segments and _pareto from the customers in memory */
struct RowSink;
extern void cust_segments(Build *b, const char *schema, struct RowSink *sink);
extern void cust_pareto(Build *b, struct RowSink *sink);
extern void cust_open_segments(struct RowSink *sink, Oid relid, const char *fname);
extern void cust_open_pareto(struct RowSink *sink, Oid relid, const char *fname);
extern void cust_ranks_row(Build *b, Oid relid, double *const keys[2], ArrayType *const base[2],
						   const Figures *f, Datum basis, const char *fname);

#endif							/* RFM_CUSTOMERS_H */
