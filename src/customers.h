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
	int32		x;
	int32		score[3];		/* r, f, m */
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
} Build;

/* src/customers_build.c */
extern void cust_read_summary(Build *b, Oid relid);
extern void cust_sort_by_customer(Build *b);
extern bool cust_percentile(const double *sorted, int64 n, double p, double *out);
extern double *cust_sorted_values(Build *b, size_t offset, size_t null_offset, int64 *count);
extern void cust_rank(Build *b, bool by_profit);

#endif							/* RFM_CUSTOMERS_H */
