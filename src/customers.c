/*
 * customers.c
 *		rfm_model_customers: the rows of a model's _customers table from its
 *		summary table, in one pass in C.
 *
 * A model's customers need figures of the whole population -- the cut
 * points of the scores, the means of the value types, the cut points of the
 * groups, the ranks by revenue and by profit -- and then, per customer, the
 * rule functions (segment, strategy, tier, lifecycle stage, groups) and the
 * fitted models (P(alive), expected purchases and order value, CLV).  In
 * SQL that is several sorts of all customers and window functions that keep
 * every row; here the summary rows are read once into arrays, the
 * population's figures come from sorted copies of a few columns, and each
 * customer's rule and model values are computed by calling rfm's own
 * SQL-callable functions through their function-manager entries, so that
 * their caches (rule tables, fitted models, memoized terms) work as in a
 * query and every value is the one those functions give.
 *
 * Definitions, the same as rfm_scores, rfm_value_type ... OVER () and
 * percentile_cont give: quantile scores are rfm_score against rfm_breaks of
 * the same values; the value types' cuts are the plain means (sum in the
 * customer order, divided by their count); the groups' cuts are
 * percentile_cont's (linear interpolation between the two nearest order
 * statistics); ranks order by revenue (then customer) and by profit (then
 * customer), largest first.  Profit is computed in double precision:
 * margin * revenue - cost_per_order * orders - cost_per_customer.
 */
#include "customers.h"
#include "sink.h"

#include "access/htup_details.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/typcache.h"



PG_FUNCTION_INFO_V1(rfm_model_customers);
PG_FUNCTION_INFO_V1(rfm_model_customers_into);

#define OUT_COLS 33

/* The columns of a row, as rfm_model_customers returns them. */
static const char *const out_names[OUT_COLS] = {
	"customer", "recency", "frequency", "monetary", "avg_order_value", "r_score", "f_score", "m_score",
	"rfm_score", "rfm_cell", "segment", "value_type", "strategy", "tier", "tier_discount",
	"lifecycle_stage", "p_alive", "expected_purchases", "expected_order_value", "clv", "revenue_rank",
	"as_of", "profit", "profit_rank", "ae_group", "ae_strategy", "arpu", "arpu_group", "arpu_strategy",
	"value_tier", "value_strategy", "revenue_tie", "profit_tie"
};
static const Oid out_types[OUT_COLS] = {
	InvalidOid, FLOAT8OID, INT8OID, NUMERICOID, NUMERICOID, INT4OID, INT4OID, INT4OID,
	INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, NUMERICOID,
	TEXTOID, FLOAT8OID, FLOAT8OID, FLOAT8OID, FLOAT8OID, INT8OID,
	TIMESTAMPTZOID, FLOAT8OID, INT8OID, TEXTOID, TEXTOID, FLOAT8OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, INT4OID, INT4OID
};

/* ---- calling rfm's functions ---- */

void
cust_fn_init(Fn *fn, const char *schema, const char *name, int nargs, const Oid *argtypes)
{
	List	   *names = list_make2(makeString(pstrdup(schema)), makeString(pstrdup(name)));
	Oid			oid = LookupFuncName(names, nargs, argtypes, false);

	fmgr_info_cxt(oid, &fn->fi, CurrentMemoryContext);
	fn->nargs = nargs;
}

Datum
cust_fn_call(Fn *fn, const Datum *args, const bool *nulls, bool *isnull)
{
	LOCAL_FCINFO(fcinfo, 8);
	Datum		result;

	if (fn->fi.fn_strict)
		for (int i = 0; i < fn->nargs; i++)
			if (nulls[i])
			{
				*isnull = true;
				return (Datum) 0;
			}
	InitFunctionCallInfoData(*fcinfo, &fn->fi, fn->nargs, DEFAULT_COLLATION_OID, NULL, NULL);
	for (int i = 0; i < fn->nargs; i++)
	{
		fcinfo->args[i].value = args[i];
		fcinfo->args[i].isnull = nulls[i];
	}
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

/*
 * A customer group's code and strategy as output columns.  The codes come
 * from rfm_*_of as string constants, so their pointers identify them: each
 * code's text and strategy are made once per call (the strategies' rule
 * table does not change within the query).
 */
typedef struct GroupOut
{
	const char *code;
	Datum		code_text;
	Datum		strategy;
	bool		strategy_null;
} GroupOut;

#define MAX_GROUP_CODES 16

static void
group_out(Fn *f_group, GroupOut *cache, int *ncache, MemoryContext cxt, const char *g,
		  Datum *out, bool *out_null)
{
	GroupOut   *e = NULL;

	out_null[0] = out_null[1] = (g == NULL);
	if (g == NULL)
		return;
	for (int i = 0; i < *ncache; i++)
		if (cache[i].code == g)
			e = &cache[i];
	if (e == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		Datum		args[2] = {CStringGetTextDatum(g), CStringGetTextDatum("en")};
		bool		nulls[2] = {false, false};

		if (*ncache == MAX_GROUP_CODES)
			elog(ERROR, "rfm_model_customers: more group codes than expected");
		e = &cache[(*ncache)++];
		e->code = g;
		e->code_text = args[0];
		e->strategy = cust_fn_call(f_group, args, nulls, &e->strategy_null);
		MemoryContextSwitchTo(old);
	}
	out[0] = e->code_text;
	out[1] = e->strategy;
	out_null[1] = e->strategy_null;
}

/* a call with arguments that are never NULL but the first (a model) */
#define CALL(fn, isnull, first_null, ...) \
	cust_fn_call((fn), (Datum[]) {__VA_ARGS__}, (bool[]) {(first_null), false, false, false, false, false, false, false}, (isnull))

/* a float8 setting of the rfm_group_settings row, NULL without the row */
static bool
setting(HeapTupleHeader gs, const char *name, double *v)
{
	bool		isnull = true;
	Datum		d;

	if (gs == NULL)
		return false;
	d = GetAttributeByName(gs, name, &isnull);
	if (!isnull)
		*v = DatumGetFloat8(d);
	return !isnull;
}

/*
 * What rfm_model_customers_into writes besides the customers' rows: the
 * tables of _segments, _pareto and the ranks' keys, and, for an incremental
 * refresh that keeps the _customers table, what says which rows to write.
 */
/* numbers of orders up to this many are counted, not sorted */
#define ORDERS_COUNTED 65536

typedef struct Extra
{
	Oid			segments;
	Oid			pareto;
	Oid			ranks;
	Datum		basis;			/* text, or 0 */
	Oid			work;			/* InvalidOid: a full build, every row */
	ArrayType  *old_figures;
	ArrayType  *old_revenue;
	ArrayType  *old_profit;
	ArrayType  *old_keys[2];	/* the $rnk table's keys of revenue and profit */
} Extra;

/* the id of a segment name among b->segs (made once per name) */
static int16
segment_id(Build *b, Datum seg, bool seg_null)
{
	for (int i = 0; i < b->nsegs; i++)
	{
		if (b->seg_null[i] != seg_null)
			continue;
		if (seg_null || (VARSIZE_ANY_EXHDR(DatumGetPointer(seg)) == VARSIZE_ANY_EXHDR(DatumGetPointer(b->segs[i])) &&
						 memcmp(VARDATA_ANY(DatumGetPointer(seg)), VARDATA_ANY(DatumGetPointer(b->segs[i])),
								VARSIZE_ANY_EXHDR(DatumGetPointer(seg))) == 0))
			return (int16) i;
	}
	if (b->nsegs == PG_INT16_MAX)
		elog(ERROR, "rfm_model_customers: too many segments");
	if (b->segs == NULL)
	{
		b->segs = MemoryContextAlloc(b->cxt, sizeof(Datum) * PG_INT16_MAX);
		b->seg_null = MemoryContextAlloc(b->cxt, sizeof(bool) * PG_INT16_MAX);
	}
	b->segs[b->nsegs] = seg_null ? (Datum) 0 : datumCopy(seg, false, -1);
	b->seg_null[b->nsegs] = seg_null;
	return (int16) b->nsegs++;
}

/*
 * The rows of the customers of the summary table in argument 0, computed
 * from the arguments 0..15 of rfm_model_customers, into sink; cust_type: the
 * customer column's type; x: what rfm_model_customers_into writes besides
 * (NULL: the rows only).
 */
static void
customers_run(FunctionCallInfo fcinfo, Oid cust_type, RowSink *sink, const char *fname, Extra *x)
{
	Oid			relid = PG_GETARG_OID(0);
	int32		bins = PG_GETARG_INT32(2);
	bool		fixed = !PG_ARGISNULL(3);
	bool		model_null[3] = {PG_ARGISNULL(6), PG_ARGISNULL(7), PG_ARGISNULL(8)};
	Datum		model[3];
	double		horizon = PG_GETARG_FLOAT8(9),
				margin = PG_GETARG_FLOAT8(10),
				discount = PG_GETARG_FLOAT8(11),
				cpo = PG_GETARG_FLOAT8(12),
				cpc = PG_GETARG_FLOAT8(13),
				unit_days = PG_GETARG_FLOAT8(14);
	HeapTupleHeader gs = PG_ARGISNULL(15) ? NULL : PG_GETARG_HEAPTUPLEHEADER(15);
	MemoryContext per_query = CurrentMemoryContext,
				work,
				row_cxt,
				old;
	Build		b;
	Oid		   *argtypes;
	int			nargs;
	Oid			fnargs[8];
	const char *schema;
	Fn			f_score,
				f_segment,
				f_value_type,
				f_strategy,
				f_tier,
				f_discount,
				f_stage,
				f_alive[2],
				f_expected[2],
				f_eov,
				f_clv[2],
				f_group;
	Figures		fig;
	int16		segtab[125];
	double	   *sorted_metric[3] = {NULL, NULL, NULL};	/* ascending, quantile scoring */
	double	   *rank_keys[2] = {NULL, NULL};
	double	   *key[2];			/* each customer's revenue, profit */
	double	   *arpu = NULL;	/* the ARPUs there are */
	int64		narpu = 0;
	double		aov_sum = 0;
	int64		naov = 0;
	int64		max_orders = 0;	/* (every summary row has an order or more) */
	bool		in_place;
	EmitCheck	emit;
	int64	   *rank_order[2];	/* the customers in rank order */
	double		period = 0,
				share;
	bool		has_period;
	bool		any_model = !model_null[0] || !model_null[1] || !model_null[2];
	char	   *ae_cut = NULL;
	GroupOut	groups[MAX_GROUP_CODES];
	int			ngroups = 0;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(2) || PG_ARGISNULL(9) || PG_ARGISNULL(10) || PG_ARGISNULL(11) ||
		PG_ARGISNULL(12) || PG_ARGISNULL(13) || PG_ARGISNULL(14))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: only the breaks, the models and the settings may be NULL", fname)));
	rfm_check_bins(bins, fname);
	/* a model's own table, read with its owner's rights: nobody else's code */
	rfm_require_own_table(relid, fname, false,
						  "A refresh calls it as the model's owner on the model's summary table.");
	if (fixed && (PG_ARGISNULL(4) || PG_ARGISNULL(5)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s: fixed scoring needs all three breaks", fname)));
	if (x != NULL && OidIsValid(x->work) && any_model)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: the rows of a model with fitted models are all written again", fname),
				 errhint("Give no customers read again (changed) for a model with CLV.")));
	for (int k = 0; k < 3; k++)
		model[k] = model_null[k] ? (Datum) 0 : PG_GETARG_DATUM(6 + k);

	old = MemoryContextSwitchTo(per_query);
	work = AllocSetContextCreate(per_query, "rfm_model_customers", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(work);
	row_cxt = AllocSetContextCreate(work, "rfm_model_customers row", ALLOCSET_DEFAULT_SIZES);
	memset(&fig, 0, sizeof(fig));
	for (int i = 0; i < 125; i++)
		segtab[i] = -1;

	/* the customer type, its comparison and the summary column's collation */
	memset(&b, 0, sizeof(b));
	b.cxt = work;
	b.cust_type = cust_type;
	get_typlenbyval(b.cust_type, &b.cust_len, &b.cust_byval);
	{
		TypeCacheEntry *tc = lookup_type_cache(b.cust_type, TYPECACHE_CMP_PROC_FINFO);
		Oid			coltype;
		int32		coltypmod;
		AttrNumber	att = get_attnum(relid, "customer");

		if (!OidIsValid(tc->cmp_proc_finfo.fn_oid))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("rfm_model_customers: type %s has no btree ordering", format_type_be(b.cust_type))));
		fmgr_info_copy(&b.cust_cmp, &tc->cmp_proc_finfo, work);
		b.cust_coll = DEFAULT_COLLATION_OID;
		if (att != InvalidAttrNumber)
			get_atttypetypmodcoll(relid, att, &coltype, &coltypmod, &b.cust_coll);
		if (!OidIsValid(b.cust_coll))
			b.cust_coll = DEFAULT_COLLATION_OID;
	}

	/* rfm's functions, from the schema of this one */
	schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));
	get_func_signature(fcinfo->flinfo->fn_oid, &argtypes, &nargs);
	fnargs[0] = FLOAT8OID;
	fnargs[1] = FLOAT8ARRAYOID;
	fnargs[2] = BOOLOID;
	cust_fn_init(&f_score, schema, "rfm_score", 3, fnargs);
	fnargs[0] = fnargs[1] = fnargs[2] = INT4OID;
	cust_fn_init(&f_segment, schema, "rfm_segment", 3, fnargs);
	for (int i = 0; i < 6; i++)
		fnargs[i] = FLOAT8OID;
	cust_fn_init(&f_value_type, schema, "rfm_value_type", 6, fnargs);
	fnargs[0] = TEXTOID;
	cust_fn_init(&f_strategy, schema, "rfm_strategy", 1, fnargs);
	cust_fn_init(&f_discount, schema, "rfm_tier_discount", 1, fnargs);
	fnargs[1] = INT4OID;
	fnargs[2] = NUMERICOID;
	cust_fn_init(&f_tier, schema, "rfm_tier", 3, fnargs);
	fnargs[1] = FLOAT8OID;
	cust_fn_init(&f_stage, schema, "rfm_lifecycle_stage", 2, fnargs);
	fnargs[1] = TEXTOID;
	cust_fn_init(&f_group, schema, "rfm_group_strategy", 2, fnargs);
	for (int k = 0; k < 2; k++)
	{
		fnargs[0] = argtypes[6 + k];
		for (int i = 1; i < 8; i++)
			fnargs[i] = FLOAT8OID;
		cust_fn_init(&f_alive[k], schema, "rfm_p_alive", 4, fnargs);
		cust_fn_init(&f_expected[k], schema, "rfm_expected_purchases", 5, fnargs);
		cust_fn_init(&f_clv[k], schema, "rfm_clv", 8, fnargs);
	}
	fnargs[0] = argtypes[8];
	cust_fn_init(&f_eov, schema, "rfm_expected_order_value", 3, fnargs);

	/* the settings of the groups */
	if (gs != NULL)
	{
		bool		isnull;
		Datum		d = GetAttributeByName(gs, "ae_cut", &isnull);

		ae_cut = isnull ? NULL : TextDatumGetCString(d);
		d = GetAttributeByName(gs, "value_by", &isnull);
		fig.by_clv = !isnull && strcmp(TextDatumGetCString(d), "clv") == 0;
	}
	has_period = setting(gs, "arpu_period_days", &period);
	fig.has_high = setting(gs, "arpu_high", &fig.cut_high);

	if (any_model)
	{
		/* (room for one: the reading makes room for all) */
		b.m = MemoryContextAllocHuge(work, sizeof(CustModel));
		b.mcap = 1;
	}
	/* (in customer order: src/customers_read.c) */
	cust_read_summary(&b, relid);

	/*
	 * per customer: profit, ARPU; the means of the value types and of the
	 * average order value (in customer order); the columns that the
	 * population's figures are taken from, apart (one pass over the rows)
	 */
	key[0] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	key[1] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	if (!fixed)
	{
		sorted_metric[0] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
		sorted_metric[1] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	}
	if (has_period)
		arpu = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	b.rev_units_exact = true;
	{
		double		sum[3] = {0, 0, 0};

		for (int64 i = 0; i < b.n; i++)
		{
			Cust	   *c = &b.c[i];

			b.rev_units_exact = b.rev_units_exact && c->rev_fast &&
				c->rev_units < (INT64CONST(1) << 53) && c->rev_units > -(INT64CONST(1) << 53);

			if ((i & 0xffff) == 0)
				CHECK_FOR_INTERRUPTS();
			/* (revenue's and the average order value's floats: read with them) */
			c->profit = float8_mi(float8_mi(float8_mul(margin, c->revenue_f), float8_mul(cpo, (double) c->orders)),
								  cpc);
			c->arpu_null = !has_period ||
				!rfm_arpu_of(c->revenue_f, float8_mul(c->tenure, unit_days), period, &c->arpu);
			sum[0] = float8_pl(sum[0], c->recency);
			sum[1] = float8_pl(sum[1], (double) c->orders);
			sum[2] = float8_pl(sum[2], c->revenue_f);
			if (!c->aov_null)
			{
				aov_sum = float8_pl(aov_sum, c->aov_f);
				naov++;
			}
			key[0][i] = c->revenue_f;
			key[1][i] = c->profit;
			if (!fixed)
			{
				sorted_metric[0][i] = -c->recency;
				sorted_metric[1][i] = (double) c->orders;
			}
			max_orders = Max(max_orders, c->orders);
			if (!c->arpu_null)
				arpu[narpu++] = c->arpu;
		}
		for (int k = 0; k < 3 && b.n > 0; k++)
			fig.means[k] = sum[k] / (double) b.n;
	}

	/*
	 * The ranks and ties, with the keys in rank order (the $rnk table): by
	 * revenue first, whose order also gives revenue's sorted values for its
	 * cut points, and profit's order when profit grows with revenue alone
	 * (no cost per order, a positive margin).
	 */
	rank_keys[0] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	rank_keys[1] = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
	rank_order[0] = MemoryContextAllocHuge(work, sizeof(int64) * Max(b.n, 1));
	rank_order[1] = MemoryContextAllocHuge(work, sizeof(int64) * Max(b.n, 1));
	for (int k = 0; k < 2; k++)
	{
		b.rank[k] = MemoryContextAllocHuge(work, sizeof(int64) * Max(b.n, 1));
		b.tie[k] = MemoryContextAllocHuge(work, sizeof(int32) * Max(b.n, 1));
	}
	cust_rank(&b, false, key[0], rank_keys[0], rank_order[0], NULL);
	cust_rank(&b, true, key[1], rank_keys[1], rank_order[1], cpo == 0 && margin > 0 ? rank_order[0] : NULL);

	/* the scores' cut points: rfm_breaks of each metric (quantile scoring), or the given ones */
	for (int k = 0; k < 3; k++)
	{
		if (fixed)
		{
			Datum	   *e;
			bool	   *nulls;
			int			n;
			bool		isnull;

			/* rfm_score's checks of the breaks, once */
			(void) CALL(&f_score, &isnull, false, Float8GetDatum(0), PG_GETARG_DATUM(3 + k), BoolGetDatum(false));
			deconstruct_array(PG_GETARG_ARRAYTYPE_P(3 + k), FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL,
							  TYPALIGN_DOUBLE, &e, &nulls, &n);
			fig.ncut[k] = n;
			fig.cut[k] = palloc(sizeof(double) * Max(n, 1));
			for (int j = 0; j < n; j++)
				fig.cut[k][j] = DatumGetFloat8(e[j]);
		}
		else
		{
			fig.ncut[k] = b.n > 0 ? bins - 1 : 0;
			fig.cut[k] = palloc(sizeof(double) * Max(bins - 1, 1));
			if (b.n > 0)
			{
				double	   *v;

				/* (revenue's: its ranks' keys, reversed) */
				if (k == 2)
				{
					v = sorted_metric[2] = MemoryContextAllocHuge(work, sizeof(double) * b.n);
					for (int64 i = 0; i < b.n; i++)
						v[i] = rank_keys[0][b.n - 1 - i];
				}
				v = sorted_metric[k];
				for (int64 i = 0; i < b.n; i++)
					rfm_check_not_nan(v[i], "rfm_model_customers", "a metric");
				if (k == 1 && max_orders < ORDERS_COUNTED)
				{
					/* whole numbers of orders, from 1: counted, not sorted */
					int64	   *count = MemoryContextAllocZero(work, sizeof(int64) * (max_orders + 1));
					int64		at = 0;

					for (int64 i = 0; i < b.n; i++)
						count[b.c[i].orders]++;
					for (int64 o = 1; o <= max_orders; o++)
						for (int64 j = 0; j < count[o]; j++)
							v[at++] = (double) o;
					pfree(count);
				}
				else if (k < 2)
					rfm_sort_doubles(v, b.n);
				rfm_rank_cuts(v, b.n, bins, fig.cut[k]);
			}
		}
	}

	/* the groups' cut points */
	if (ae_cut != NULL && strcmp(ae_cut, "fixed") == 0)
	{
		fig.has_f = setting(gs, "ae_frequency_cut", &fig.cut_f);
		fig.has_a = setting(gs, "ae_aov_cut", &fig.cut_a);
	}
	else if (ae_cut != NULL && b.n > 0)
	{
		int64		nf = b.n,
					na;

		if (strcmp(ae_cut, "median") == 0)
		{
			double	   *vf = sorted_metric[1];
			double	   *va = cust_sorted_values(&b, offsetof(Cust, aov_f), offsetof(Cust, aov_null), &na);

			if (vf == NULL)
			{
				vf = MemoryContextAllocHuge(work, sizeof(double) * b.n);
				for (int64 i = 0; i < b.n; i++)
					vf[i] = (double) b.c[i].orders;
				rfm_sort_doubles(vf, nf);
			}
			fig.has_f = cust_percentile(vf, nf, 0.5, &fig.cut_f);
			fig.has_a = cust_percentile(va, na, 0.5, &fig.cut_a);
		}
		else
		{
			fig.cut_f = fig.means[1];
			fig.has_f = true;
			fig.has_a = naov > 0;
			if (fig.has_a)
				fig.cut_a = aov_sum / (double) naov;
		}
	}
	if (setting(gs, "arpu_basic_share", &share))
		fig.has_basic = cust_values_percentile(arpu, narpu, share, &fig.cut_basic);

	/* per customer: the fitted models' values (NULL as read, without models) */
	for (int64 i = 0; i < b.n && any_model; i++)
	{
		CustModel  *c = cust_model(&b, &b.c[i]);
		double		x = (double) c->x;
		bool		isnull;

		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(row_cxt);
		MemoryContextSwitchTo(row_cxt);
		for (int k = 0; k < 2; k++)
		{
			Datum		d;

			if (c->p_alive_null)
			{
				d = CALL(&f_alive[k], &isnull, model_null[k], model[k], Float8GetDatum(x), Float8GetDatum(c->tx),
						 Float8GetDatum(c->T));
				if (!isnull)
				{
					c->p_alive = DatumGetFloat8(d);
					c->p_alive_null = false;
				}
			}
			if (c->expected_null)
			{
				d = CALL(&f_expected[k], &isnull, model_null[k], model[k], Float8GetDatum(horizon),
						 Float8GetDatum(x), Float8GetDatum(c->tx), Float8GetDatum(c->T));
				if (!isnull)
				{
					c->expected = DatumGetFloat8(d);
					c->expected_null = false;
				}
			}
		}
		{
			double		rv = c->rv_null ? 0 : c->repeat_value;
			double		mean = c->x > 0 ? (float8_gt(rv, 0.01) ? rv : 0.01) : 0;
			Datum		d = CALL(&f_eov, &isnull, model_null[2], model[2], Float8GetDatum(x),
								 Float8GetDatum(mean));

			c->eov_null = isnull;
			c->eov = isnull ? 0 : DatumGetFloat8(d);
		}
		for (int k = 0; k < 2 && c->clv_null; k++)
		{
			Datum		args[8] = {model[k], Float8GetDatum(x), Float8GetDatum(c->tx), Float8GetDatum(c->T),
			Float8GetDatum(c->eov), Float8GetDatum(horizon), Float8GetDatum(margin), Float8GetDatum(discount)};
			bool		nulls[8] = {model_null[k], false, false, false, c->eov_null, false, false, false};
			Datum		d = cust_fn_call(&f_clv[k], args, nulls, &isnull);

			if (!isnull)
			{
				c->clv = DatumGetFloat8(d);
				c->clv_null = false;
			}
		}
		MemoryContextSwitchTo(work);
	}

	/* the value tiers' cut points: of revenue, or of CLV */
	if (setting(gs, "value_low_share", &share))
	{
		int64		k;
		double	   *v;

		if (fig.by_clv)
		{
			v = MemoryContextAllocHuge(work, sizeof(double) * Max(b.n, 1));
			k = 0;
			for (int64 i = 0; i < b.n; i++)
			{
				CustModel  *m = cust_model(&b, &b.c[i]);

				if (!m->clv_null)
					v[k++] = m->clv;
			}
			rfm_sort_doubles(v, k);
		}
		else if (sorted_metric[2] != NULL)
		{
			v = sorted_metric[2];
			k = b.n;
		}
		else
			v = cust_sorted_values(&b, offsetof(Cust, revenue_f), 0, &k);

		fig.has_low = cust_percentile(v, k, share, &fig.cut_low);
		if (setting(gs, "value_high_share", &share))
			fig.has_vhigh = cust_percentile(v, k, 1 - share, &fig.cut_vhigh);
	}

	/*
	 * every customer's scores and segment (the segments' rows need them
	 * all); an incremental refresh writes only the rows that differ from
	 * the table's
	 */
	in_place = x != NULL && OidIsValid(x->work);
	if (in_place)
	{
		cust_mark_work(&b, x->work);
		cust_emit_begin(&b, &fig, x->old_figures, x->old_revenue, x->old_profit, rank_keys, rank_order, &emit);
	}
	for (int64 i = 0; i < b.n; i++)
	{
		Cust	   *c = &b.c[i];
		bool		isnull;

		if ((i & 0xffff) == 0)
			CHECK_FOR_INTERRUPTS();
		for (int k = 0; k < 3; k++)
		{
			double		v = k == 0 ? -c->recency : k == 1 ? (double) c->orders : c->revenue_f;

			rfm_check_not_nan(v, "rfm_score", "value");
			c->score[k] = cust_score_of(v, fig.cut[k], fig.ncut[k]);
		}
		if (bins != 5)
			c->seg = segment_id(&b, (Datum) 0, true);
		else
		{
			bool		small = c->score[0] <= 5 && c->score[1] <= 5 && c->score[2] <= 5;
			int			t = (c->score[0] - 1) * 25 + (c->score[1] - 1) * 5 + (c->score[2] - 1);

			if (!small || segtab[t] < 0)
			{
				Datum		d;

				MemoryContextReset(row_cxt);
				MemoryContextSwitchTo(row_cxt);
				d = CALL(&f_segment, &isnull, false, Int32GetDatum(c->score[0]), Int32GetDatum(c->score[1]),
						 Int32GetDatum(c->score[2]));
				MemoryContextSwitchTo(work);
				c->seg = segment_id(&b, d, isnull);
				if (small)
					segtab[t] = c->seg;
			}
			else
				c->seg = segtab[t];
		}
		c->emit = !in_place || cust_emit_of(&b, c, i, &emit, &fig);
	}

	/* the rows */
	for (int64 i = 0; i < b.n; i++)
	{
		Cust	   *c = &b.c[i];
		CustModel  *m = cust_model(&b, c);
		Datum		v[OUT_COLS];
		bool		n[OUT_COLS];
		const char *g;
		char		cell[64];

		if (!c->emit)
			continue;
		CHECK_FOR_INTERRUPTS();
		MemoryContextReset(row_cxt);
		MemoryContextSwitchTo(row_cxt);
		memset(n, false, sizeof(n));

		v[0] = c->customer;
		v[1] = Float8GetDatum(c->recency);
		v[2] = Int64GetDatum(c->orders);
		v[3] = c->revenue;
		v[4] = c->aov;
		n[4] = c->aov_null;
		v[5] = Int32GetDatum(c->score[0]);
		v[6] = Int32GetDatum(c->score[1]);
		v[7] = Int32GetDatum(c->score[2]);
		v[8] = Int32GetDatum(c->score[0] + c->score[1] + c->score[2]);
		if (bins <= 9)
			snprintf(cell, sizeof(cell), "%d%d%d", c->score[0], c->score[1], c->score[2]);
		else
			snprintf(cell, sizeof(cell), "%d.%d.%d", c->score[0], c->score[1], c->score[2]);
		v[9] = CStringGetTextDatum(cell);
		v[10] = b.segs[c->seg];
		n[10] = b.seg_null[c->seg];
		v[11] = CALL(&f_value_type, &n[11], false, Float8GetDatum(c->recency), Float8GetDatum((double) c->orders),
					 Float8GetDatum(c->revenue_f), Float8GetDatum(fig.means[0]), Float8GetDatum(fig.means[1]),
					 Float8GetDatum(fig.means[2]));
		{
			Datum		a1[1] = {v[10]};
			bool		n1[1] = {n[10]};

			v[12] = cust_fn_call(&f_strategy, a1, n1, &n[12]);
		}
		{
			Datum		a3[3] = {v[10], Int32GetDatum(c->score[0] + c->score[1] + c->score[2]), c->revenue};
			bool		n3[3] = {n[10], false, false};

			v[13] = cust_fn_call(&f_tier, a3, n3, &n[13]);
		}
		{
			Datum		a1[1] = {v[13]};
			bool		n1[1] = {n[13]};

			v[14] = cust_fn_call(&f_discount, a1, n1, &n[14]);
		}
		{
			Datum		a2[2] = {c->stage, Float8GetDatum(m->p_alive)};
			bool		n2[2] = {c->stage_null, m->p_alive_null};

			v[15] = cust_fn_call(&f_stage, a2, n2, &n[15]);
		}
		v[16] = Float8GetDatum(m->p_alive);
		n[16] = m->p_alive_null;
		v[17] = Float8GetDatum(m->expected);
		n[17] = m->expected_null;
		v[18] = Float8GetDatum(m->eov);
		n[18] = m->eov_null;
		v[19] = Float8GetDatum(m->clv);
		n[19] = m->clv_null;
		v[20] = Int64GetDatum(b.rank[0][i]);
		v[21] = c->as_of;
		n[21] = c->as_of_null;
		v[22] = Float8GetDatum(c->profit);
		v[23] = Int64GetDatum(b.rank[1][i]);
		g = cust_ae_group(c, &fig);
		group_out(&f_group, groups, &ngroups, work, g, &v[24], &n[24]);
		v[26] = Float8GetDatum(c->arpu);
		n[26] = c->arpu_null;
		group_out(&f_group, groups, &ngroups, work, cust_arpu_group(c, &fig), &v[27], &n[27]);
		group_out(&f_group, groups, &ngroups, work, cust_value_tier(c, m, &fig), &v[29], &n[29]);
		v[31] = Int32GetDatum(b.tie[0][i]);
		v[32] = Int32GetDatum(b.tie[1][i]);
		for (int k = 0; k < OUT_COLS; k++)
			if (n[k])
				v[k] = (Datum) 0;
		sink_put(sink, v, n);
	}
	MemoryContextSwitchTo(work);

	/* _segments, _pareto and the ranks' keys */
	if (x != NULL)
	{
		RowSink		s;

		if (OidIsValid(x->segments))
		{
			cust_open_segments(&s, x->segments, fname);
			cust_segments(&b, schema, &s);
			sink_close(&s);
		}
		if (OidIsValid(x->pareto))
		{
			cust_open_pareto(&s, x->pareto, fname);
			cust_pareto(&b, &s);
			sink_close(&s);
		}
		if (OidIsValid(x->ranks))
			cust_ranks_row(&b, x->ranks, rank_keys, OidIsValid(x->work) ? x->old_keys : (ArrayType *[2]) {NULL, NULL},
						   &fig, x->basis, fname);
	}

	MemoryContextSwitchTo(old);
	MemoryContextDelete(work);
}

/*
 * rfm_model_customers(summary regclass, customer_type anyelement, bins,
 *     r_breaks, f_breaks, m_breaks, bgnbd, pnbd, gamma_gamma, clv_horizon,
 *     margin, discount_rate, cost_per_order, cost_per_customer, unit_days,
 *     settings rfm_group_settings) -> the rows of _customers (leads aside)
 */
Datum
rfm_model_customers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	TupleDesc	desc;
	Tuplestorestate *store;
	RowSink		sink;
	MemoryContext old;

	rfm_srf_check(fcinfo, "rfm_model_customers");
	if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE || desc->natts != OUT_COLS)
		elog(ERROR, "rfm_model_customers: return type must be the %d columns of _customers", OUT_COLS);
	store = rfm_srf_store(fcinfo, &desc);
	sink_open_store(&sink, store, desc);
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	customers_run(fcinfo, TupleDescAttr(desc, 0)->atttypid, &sink, "rfm_model_customers", NULL);
	MemoryContextSwitchTo(old);
	sink_close(&sink);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = store;
	rsinfo->setDesc = desc;
	return (Datum) 0;
}

/* a regclass of the array targets, InvalidOid for NULL or missing */
static Oid
target_of(ArrayType *a, int i)
{
	Datum	   *e;
	bool	   *nulls;
	int			n;

	deconstruct_array(a, REGCLASSOID, sizeof(Oid), true, TYPALIGN_INT, &e, &nulls, &n);
	return i < n && !nulls[i] ? DatumGetObjectId(e[i]) : InvalidOid;
}

/*
 * rfm_model_customers_into(the arguments of rfm_model_customers, targets
 *     regclass[], basis text, changed regclass, old_figures float8[],
 *     old_revenue float8[], old_profit float8[], old_revenue_keys float8[],
 *     old_profit_keys float8[]) -> bigint: the same rows
 *     written into targets[1], a new table of the caller's whose columns are
 *     some of the rows' (src/sink.c), and _segments', _pareto's and the
 *     ranks' into targets[2..4] (each may be NULL); the number of rows.
 *     With changed (the table of the customers an incremental refresh read
 *     again), only the rows that differ from those the last refresh wrote
 *     with the figures old_figures (src/customers_delta.c), and the keys
 *     that went and came since the table's (old_*_keys); those rows go in
 *     place of theirs in targets[5], the current table of the rows, where
 *     it is a table of the caller's that can be written so (src/sink_upsert.c),
 *     else into targets[1].
 */
Datum
rfm_model_customers_into(PG_FUNCTION_ARGS)
{
	Oid			types[OUT_COLS];
	RowSink		sink;
	Extra		x;
	ArrayType  *targets;
	Oid			target;
	Oid			in_place;
	Oid			in_place_index;

	if (PG_ARGISNULL(16))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_model_customers_into: the target tables must not be NULL")));
	targets = PG_GETARG_ARRAYTYPE_P(16);
	if (ARR_NDIM(targets) != 1 || ARR_ELEMTYPE(targets) != REGCLASSOID)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_model_customers_into: targets must be a one-dimensional regclass array")));
	target = target_of(targets, 0);
	if (!OidIsValid(target))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("rfm_model_customers_into: the table of the customers' rows must not be NULL")));
	memset(&x, 0, sizeof(x));
	x.segments = target_of(targets, 1);
	x.pareto = target_of(targets, 2);
	x.ranks = target_of(targets, 3);
	x.basis = PG_ARGISNULL(17) ? (Datum) 0 : PG_GETARG_DATUM(17);
	x.work = PG_ARGISNULL(18) ? InvalidOid : PG_GETARG_OID(18);
	x.old_figures = PG_ARGISNULL(19) ? NULL : PG_GETARG_ARRAYTYPE_P(19);
	x.old_revenue = PG_ARGISNULL(20) ? NULL : PG_GETARG_ARRAYTYPE_P(20);
	x.old_profit = PG_ARGISNULL(21) ? NULL : PG_GETARG_ARRAYTYPE_P(21);
	for (int k = 0; k < 2; k++)
		x.old_keys[k] = PG_ARGISNULL(22 + k) ? NULL : PG_GETARG_ARRAYTYPE_P(22 + k);

	memcpy(types, out_types, sizeof(types));
	types[0] = get_fn_expr_argtype(fcinfo->flinfo, 1);
	if (!OidIsValid(types[0]))
		elog(ERROR, "rfm_model_customers_into: could not determine the customer type");
	/*
	 * An incremental refresh's rows that change: in place of theirs in the
	 * current table (targets[5]) where it can be written so, else into the
	 * new table targets[1], which the refresh then upserts
	 */
	in_place = target_of(targets, 4);
	if (OidIsValid(x.work) && OidIsValid(in_place) &&
		OidIsValid(in_place_index = sink_can_upsert(in_place, "customer")))
		sink_open_upsert(&sink, in_place, in_place_index, 0, OUT_COLS, out_names, types, "rfm_model_customers_into");
	else
		sink_open_table(&sink, target, OUT_COLS, out_names, types, "rfm_model_customers_into");
	customers_run(fcinfo, types[0], &sink, "rfm_model_customers_into", &x);
	PG_RETURN_INT64((int64) sink_close(&sink));
}
