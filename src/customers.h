/*
 * customers.h
 *		What src/customers.c (rfm_model_customers), src/customers_read.c
 *		(reading a model's summary table into arrays) and
 *		src/customers_build.c (the population's figures: percentiles,
 *		sorted columns, ranks) share: one customer's row and the build of
 *		all of them.
 */
#ifndef RFM_CUSTOMERS_H
#define RFM_CUSTOMERS_H

#include "rfm.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "utils/array.h"

/*
 * One customer of the summary, and what is computed for it.  What only the
 * fitted models use is apart (CustModel), and only with fitted models: the
 * rows of a million customers are passed over many times.
 */
typedef struct Cust
{
	Datum		customer;
	Datum		revenue;		/* numeric */
	Datum		aov;			/* numeric */
	Datum		stage;			/* text */
	Datum		as_of;
	double		recency;
	double		tenure;
	double		revenue_f;
	double		aov_f;
	double		profit;
	double		arpu;
	int64		orders;
	int64		rev_units;
	int64		mi;				/* its CustModel in Build.m */
	int32		score[3];		/* r, f, m */
	int16		seg;			/* the segment's group (customers_totals.c) */
	int16		rev_dscale;		/* revenue's digits after the point ... */
	bool		rev_fast;		/* ... when it is rev_units millionths exactly */
	bool		in_work;		/* an incremental refresh read the customer again */
	bool		emit;			/* the row is written */
	bool		aov_null;
	bool		stage_null;
	bool		as_of_null;
	bool		arpu_null;
} Cust;

/* A customer's fitted models' inputs (from the summary) and values. */
typedef struct CustModel
{
	double		tx;
	double		T;
	double		repeat_value;
	double		p_alive;
	double		expected;
	double		eov;
	double		clv;
	int32		x;
	bool		rv_null;
	bool		p_alive_null;
	bool		expected_null;
	bool		eov_null;
	bool		clv_null;
} CustModel;

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
	/*
	 * Every revenue is a whole number of millionths (rev_fast) of less than
	 * 2^53: equal floats are then equal values (cust_rank).
	 */
	bool		rev_units_exact;
	Datum		stages[16];		/* the lifecycle stages read, each copied once */
	int			nstages;
	/* the segments' names (Cust.seg indexes them; seg_null: no segment) */
	Datum	   *segs;
	bool	   *seg_null;
	int			nsegs;
	/*
	 * Each customer's ranks (1 + its place in rank order) and ties (its place
	 * among the customers of an equal key, from 0), by revenue [0] and by
	 * profit [1], indexed as c (cust_rank): apart, so that setting them in
	 * rank order does not touch every row.
	 */
	int64	   *rank[2];
	int32	   *tie[2];
	/* the customers an incremental refresh read again: their places in c */
	int64	   *work;
	int64		nwork;
	/* the customers' CustModel, in the order read; NULL: no fitted models */
	CustModel  *m;
	int64		nm;
	int64		mcap;
	/* while the summary is read (src/customers_read.c) */
	Cust	   *aside;			/* rows out of customer order, merged in after */
	int64		naside;
	int64		aside_cap;
	char	   *arena;			/* where the rows' numerics and customers are copied */
	Size		arena_left;
} Build;

/* every value NULL: a customer's CustModel without fitted models */
extern const CustModel cust_no_model;

static inline CustModel *
cust_model(const Build *b, const Cust *c)
{
	return b->m != NULL ? &b->m[c->mi] : (CustModel *) &cust_no_model;
}

/* -1, 0, 1 as customer x is before, the same as or after customer y */
static inline int
cust_cmp_customer(Datum x, Datum y, Build *build)
{
	switch (build->cust_type)
	{
		case INT8OID:
			return (DatumGetInt64(x) > DatumGetInt64(y)) - (DatumGetInt64(x) < DatumGetInt64(y));
		case INT4OID:
			return (DatumGetInt32(x) > DatumGetInt32(y)) - (DatumGetInt32(x) < DatumGetInt32(y));
		case INT2OID:
			return (DatumGetInt16(x) > DatumGetInt16(y)) - (DatumGetInt16(x) < DatumGetInt16(y));
		default:
			return DatumGetInt32(FunctionCall2Coll(&build->cust_cmp, build->cust_coll, x, y));
	}
}

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

/* src/customers_read.c */
extern void cust_read_summary(Build *b, Oid relid);

/* src/customers_build.c */
extern void cust_sort_by_customer(Build *b);
extern bool cust_percentile(const double *sorted, int64 n, double p, double *out);
extern double *cust_sorted_values(Build *b, size_t offset, size_t null_offset, int64 *count);
extern void cust_rank(Build *b, bool by_profit, const double *kv, double *keys, int64 *order, const int64 *hint);
extern bool cust_values_percentile(double *v, int64 k, double p, double *out);
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
extern const char *cust_value_tier(const Cust *c, const CustModel *m, const Figures *f);
extern Datum cust_figures_array(const Figures *f);
extern void cust_mark_work(Build *b, Oid work);
typedef struct EmitCheck
{
	bool		all;			/* every row (no last figures to compare with) */
	Figures		was;			/* the last refresh's figures */
	bool	   *hit;			/* in a run of equal keys that a customer read again left or joined */
} EmitCheck;
extern void cust_emit_begin(Build *b, const Figures *now, ArrayType *old_figures, ArrayType *old_revenue,
							ArrayType *old_profit, double *const keys[2], int64 *const order[2], EmitCheck *e);
extern bool cust_emit_of(Build *b, const Cust *c, int64 i, const EmitCheck *e, const Figures *now);

/* src/customers_totals.c: _segments and _pareto from the customers in memory */
struct RowSink;
extern void cust_segments(Build *b, const char *schema, struct RowSink *sink);
extern void cust_pareto(Build *b, struct RowSink *sink);
extern void cust_open_segments(struct RowSink *sink, Oid relid, const char *fname);
extern void cust_open_pareto(struct RowSink *sink, Oid relid, const char *fname);
extern void cust_ranks_row(Build *b, Oid relid, double *const keys[2], ArrayType *const base[2],
						   const Figures *f, Datum basis, const char *fname);

#endif							/* RFM_CUSTOMERS_H */
