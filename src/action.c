/*
 * action.c
 *		From segment to action: rfm_strategy, rfm_channels, rfm_tier,
 *		rfm_tier_discount, rfm_discounted_price, rfm_loyalty_points and
 *		rfm_action, and the labels of the configurable codes for rfm_label.
 *
 * The rules live in the extension's configuration tables (rfm_segment_action,
 * rfm_strategy, rfm_channel, rfm_sales_technique, rfm_tier and two one-row
 * settings tables; see rfm--1.0.sql).  Reading them through SPI on every call
 * would cost several microseconds a row, so each call site (FmgrInfo) keeps
 * the rules in fn_extra: loaded on its first call, and loaded again only when
 * the active snapshot differs from the one they were read under (another
 * statement that may see other rules).  Within one query the snapshot is
 * fixed, so a million rows cost one load and a million in-memory lookups.
 */
#include "rfm.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(rfm_strategy_of);
PG_FUNCTION_INFO_V1(rfm_channels_of);
PG_FUNCTION_INFO_V1(rfm_tier_of);
PG_FUNCTION_INFO_V1(rfm_tier_discount);
PG_FUNCTION_INFO_V1(rfm_discounted_price);
PG_FUNCTION_INFO_V1(rfm_loyalty_points);
PG_FUNCTION_INFO_V1(rfm_action);

#if PG_VERSION_NUM >= 170000
#define MY_LXID (MyProc->vxid.lxid)
#else
#define MY_LXID (MyProc->lxid)
#endif

/* a code with its labels */
typedef struct CodeLabel
{
	char	   *code;
	int			len;
	char	   *en;
	char	   *zh;
	int			contact;		/* channels only: 0 low, 1 medium, 2 high */
	int			cost;
} CodeLabel;

typedef struct TierRule
{
	CodeLabel	c;
	int32		rank;
	Numeric		discount;
	Numeric		multiplier;		/* 1 - discount */
	int64		rate100;		/* point_rate * 100 */
	Numeric		min_spend;
	int32		min_score;
} TierRule;

typedef struct SegRule
{
	CodeLabel	c;
	char	   *strategy;
	char	   *service;
	Datum		channels;		/* text[] */
	char	   *price;
	Datum		techniques;		/* text[] */
	int			tier;			/* index into tiers */
	int			contact;		/* highest over the channels */
	int			cost;
} SegRule;

typedef enum TierBy
{
	TIER_BY_SEGMENT,
	TIER_BY_SCORE,
	TIER_BY_SPEND
} TierBy;

typedef struct ActionCache
{
	MemoryContext data;			/* the rules; reset on reload */
	bool		loaded;
	bool		reusable;		/* loaded under an active snapshot */
	LocalTransactionId lxid;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	int32		subxcnt;
	CommandId	curcid;

	int			nseg;
	SegRule    *seg;
	int			last_seg;
	int			ntier;
	TierRule   *tier;			/* ascending rank */
	int			nstrat;
	CodeLabel  *strat;
	int			nchan;
	CodeLabel  *chan;
	int			ntech;
	CodeLabel  *tech;
	TierBy		tier_by;
	int32		loyalty[6];		/* the columns of rfm_loyalty_settings */

	TupleDesc	plan_desc;		/* rfm_action's result, blessed */
} ActionCache;

static const char *const level_names[] = {"low", "medium", "high"};

static int
level_of(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, level_names[i]) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("rfm_channel has the level \"%s\"", s),
			 errhint("Levels are low, medium or high.")));
	return 0;
}

/* Run a query of the loader; the result is in SPI_tuptable. */
static void
load_query(const char *schema, const char *fmt, bool read_only)
{
	char	   *q = psprintf(fmt, schema);
	int			rc = SPI_execute(q, read_only, 0);

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rfm: loading the rules failed: %s", SPI_result_code_string(rc));
}

static char *
get_str(int row, int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	return MemoryContextStrdup(cxt, v ? v : "");
}

static Datum
get_copy(int row, int col, MemoryContext cxt, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
	MemoryContext old;

	if (*isnull)
		return (Datum) 0;
	old = MemoryContextSwitchTo(cxt);
	d = PointerGetDatum(PG_DETOAST_DATUM_COPY(d));
	MemoryContextSwitchTo(old);
	return d;
}

static int32
get_int(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}

static void
load_labels(CodeLabel *out, int row, MemoryContext cxt)
{
	out->code = get_str(row, 1, cxt);
	out->len = strlen(out->code);
	out->en = get_str(row, 2, cxt);
	out->zh = get_str(row, 3, cxt);
}

/*
 * Run a query whose first three columns are code, label_en, label_zh and
 * load those of every row; the rows stay in SPI_tuptable for more columns.
 */
static CodeLabel *
load_label_rows(const char *schema, const char *fmt, bool read_only,
				MemoryContext cxt, int *count)
{
	CodeLabel  *rows;
	uint64		n;

	load_query(schema, fmt, read_only);
	n = SPI_processed;
	*count = (int) n;
	rows = MemoryContextAllocZero(cxt, sizeof(CodeLabel) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
		load_labels(&rows[i], i, cxt);
	return rows;
}

static int
find_code(const CodeLabel *arr, int n, size_t stride, const char *s, int len)
{
	for (int i = 0; i < n; i++)
	{
		const CodeLabel *c = (const CodeLabel *) ((const char *) arr + i * stride);

		if (c->len == len && memcmp(c->code, s, len) == 0)
			return i;
	}
	return -1;
}

static void
load_rules(ActionCache *c, FunctionCallInfo fcinfo)
{
	MemoryContext cxt = c->data;
	const char *schema;
	bool		read_only = ActiveSnapshotSet();
	bool		isnull;
	uint64		n;

	MemoryContextReset(cxt);
	c->loaded = false;
	schema = quote_identifier(get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid)));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm: SPI_connect failed");

	c->strat = load_label_rows(schema, "SELECT code, label_en, label_zh FROM %s.rfm_strategy",
							   read_only, cxt, &c->nstrat);
	c->tech = load_label_rows(schema, "SELECT code, label_en, label_zh FROM %s.rfm_sales_technique",
							  read_only, cxt, &c->ntech);
	c->chan = load_label_rows(schema, "SELECT code, label_en, label_zh, contact_intensity, cost_level FROM %s.rfm_channel",
							  read_only, cxt, &c->nchan);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		c->chan[i].contact = level_of(get_str(i, 4, cxt));
		c->chan[i].cost = level_of(get_str(i, 5, cxt));
	}

	load_query(schema,
			   "SELECT code, label_en, label_zh, rank, discount, 1 - discount, (point_rate * 100)::int8,"
			   " min_spend, min_score FROM %s.rfm_tier ORDER BY rank", read_only);
	n = SPI_processed;
	c->ntier = n;
	c->tier = MemoryContextAllocZero(cxt, sizeof(TierRule) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		TierRule   *t = &c->tier[i];
		Datum		d;

		load_labels(&t->c, i, cxt);
		t->rank = get_int(i, 4);
		t->discount = DatumGetNumeric(get_copy(i, 5, cxt, &isnull));
		t->multiplier = DatumGetNumeric(get_copy(i, 6, cxt, &isnull));
		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 7, &isnull);
		t->rate100 = isnull ? 0 : DatumGetInt64(d);
		t->min_spend = DatumGetNumeric(get_copy(i, 8, cxt, &isnull));
		t->min_score = get_int(i, 9);
	}

	load_query(schema,
			   "SELECT segment, label_en, label_zh, strategy, service_lever, channels, price_lever,"
			   " techniques, tier FROM %s.rfm_segment_action", read_only);
	n = SPI_processed;
	c->nseg = n;
	c->seg = MemoryContextAllocZero(cxt, sizeof(SegRule) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		SegRule    *s = &c->seg[i];
		char	   *tier;
		ArrayType  *arr;
		Datum	   *elems;
		bool	   *nulls;
		int			nelems;

		load_labels(&s->c, i, cxt);
		s->strategy = get_str(i, 4, cxt);
		s->service = get_str(i, 5, cxt);
		s->channels = get_copy(i, 6, cxt, &isnull);
		s->price = get_str(i, 7, cxt);
		s->techniques = get_copy(i, 8, cxt, &isnull);
		tier = get_str(i, 9, cxt);
		s->tier = find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), tier, strlen(tier));
		if (s->tier < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
					 errmsg("the rule of segment \"%s\" names the unknown tier \"%s\"", s->c.code, tier)));
		/* the highest contact intensity and cost level among the channels */
		arr = DatumGetArrayTypeP(s->channels);
		deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &nelems);
		s->contact = s->cost = 0;
		for (int k = 0; k < nelems; k++)
		{
			text	   *t = DatumGetTextPP(elems[k]);
			int			j = nulls[k] ? -1 : find_code(c->chan, c->nchan, sizeof(CodeLabel),
													   VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));

			if (j < 0)
				ereport(ERROR,
						(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
						 errmsg("the rule of segment \"%s\" names an unknown channel", s->c.code),
						 errhint("Add the channel to rfm_channel or change the rule.")));
			s->contact = Max(s->contact, c->chan[j].contact);
			s->cost = Max(s->cost, c->chan[j].cost);
		}
	}

	load_query(schema, "SELECT tier_by FROM %s.rfm_tier_settings", read_only);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rfm_tier_settings must have one row"),
				 errhint("Reinstall the extension's settings with INSERT INTO rfm_tier_settings (tier_by) VALUES ('segment').")));
	{
		char	   *by = get_str(0, 1, cxt);

		c->tier_by = strcmp(by, "score") == 0 ? TIER_BY_SCORE :
			strcmp(by, "spend") == 0 ? TIER_BY_SPEND : TIER_BY_SEGMENT;
	}

	load_query(schema,
			   "SELECT signup_points, order_points, order_points_step, order_points_max,"
			   " online_service_points, popular_repeat_points FROM %s.rfm_loyalty_settings", read_only);
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rfm_loyalty_settings must have one row")));
	for (int k = 0; k < 6; k++)
		c->loyalty[k] = get_int(0, k + 1);

	SPI_finish();

	c->last_seg = -1;
	c->loaded = true;
	c->reusable = read_only;
	if (read_only)
	{
		Snapshot	snap = GetActiveSnapshot();

		c->lxid = MY_LXID;
		c->xmin = snap->xmin;
		c->xmax = snap->xmax;
		c->xcnt = snap->xcnt;
		c->subxcnt = snap->suboverflowed ? -1 : snap->subxcnt;
		c->curcid = snap->curcid;
	}
}

/*
 * The rules for this call site, loaded if needed.  The rules read under a
 * snapshot stay valid under any snapshot of the same transaction with the
 * same xmin, xmax, numbers of running (sub)transactions and command id: such
 * a snapshot sees the same committed data (below an unchanged xmax the set
 * of running transactions can only shrink, which changes the count).
 */
static ActionCache *
get_rules(FunctionCallInfo fcinfo)
{
	ActionCache *c = (ActionCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ActionCache));
		c->data = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "rfm action rules",
										ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->loaded && c->reusable && ActiveSnapshotSet())
	{
		Snapshot	snap = GetActiveSnapshot();

		if (snap->curcid == c->curcid && snap->xmin == c->xmin && snap->xmax == c->xmax &&
			snap->xcnt == c->xcnt && (snap->suboverflowed ? -1 : snap->subxcnt) == c->subxcnt &&
			MY_LXID == c->lxid)
			return c;
	}
	load_rules(c, fcinfo);
	return c;
}

static void
no_rule_error(ActionCache *c, const char *fname, const char *s, int len)
{
	char	   *code = pnstrdup(s, len);
	const char *near = NULL;

	for (int i = 0; i < c->nseg && !near; i++)
		if (pg_strcasecmp(c->seg[i].c.code, code) == 0)
			near = c->seg[i].c.code;
	if (near)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: no action rule for segment \"%s\"", fname, code),
				 errdetail("Table rfm_segment_action has no row for \"%s\"; segment codes are case-sensitive.", code),
				 errhint("Did you mean \"%s\"?", near)));
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("%s: no action rule for segment \"%s\"", fname, code),
			 errdetail("Table rfm_segment_action has no row for \"%s\".", code),
			 errhint("Add one: INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh) VALUES (%s, 'develop', '...', '{email}', '...', '{}', 'basic', '...', '...').",
					 quote_literal_cstr(code))));
}

static SegRule *
find_segment(ActionCache *c, text *seg, const char *fname)
{
	const char *s = VARDATA_ANY(seg);
	int			len = VARSIZE_ANY_EXHDR(seg);
	int			i;

	if (c->last_seg >= 0)
	{
		SegRule    *r = &c->seg[c->last_seg];

		if (r->c.len == len && memcmp(r->c.code, s, len) == 0)
			return r;
	}
	i = find_code(&c->seg[0].c, c->nseg, sizeof(SegRule), s, len);
	if (i < 0)
		no_rule_error(c, fname, s, len);
	c->last_seg = i;
	return &c->seg[i];
}

static TierRule *
find_tier(ActionCache *c, text *tier, const char *fname)
{
	const char *s = VARDATA_ANY(tier);
	int			len = VARSIZE_ANY_EXHDR(tier);
	int			i = find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), s, len);

	if (i < 0)
	{
		StringInfoData codes;

		initStringInfo(&codes);
		for (int k = 0; k < c->ntier; k++)
			appendStringInfo(&codes, "%s%s", k ? ", " : "", c->tier[k].c.code);
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: unknown tier \"%s\"", fname, pnstrdup(s, len)),
				 errdetail("The tiers are: %s.", codes.data),
				 errhint("Tier codes are case-sensitive; add tiers to rfm_tier.")));
	}
	return &c->tier[i];
}

/*
 * The tier of a customer as rfm_tier_settings says; NULL only for a NULL
 * segment when tiers go by segment.
 */
static TierRule *
tier_for(ActionCache *c, FunctionCallInfo fcinfo, SegRule *rule, const char *fname)
{
	int			found = -1;

	if (c->tier_by == TIER_BY_SEGMENT)
		return rule ? &c->tier[rule->tier] : NULL;

	if (c->tier_by == TIER_BY_SCORE)
	{
		int32		score;

		if (PG_NARGS() < 2 || PG_ARGISNULL(1))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: tiers go by score, but the score is null", fname),
					 errdetail("rfm_tier_settings.tier_by is 'score'."),
					 errhint("Pass the score r + f + m as the second argument, e.g. %s(segment, r + f + m), or set tier_by to 'segment'.", fname)));
		score = PG_GETARG_INT32(1);
		for (int i = 0; i < c->ntier; i++)
			if (c->tier[i].min_score <= score)
				found = i;
		if (found < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: score %d is below every tier's min_score", fname, score),
					 errhint("Give the lowest tier min_score 0.")));
	}
	else
	{
		Numeric		spend;

		if (PG_NARGS() < 3 || PG_ARGISNULL(2))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s: tiers go by spend, but the spend is null", fname),
					 errdetail("rfm_tier_settings.tier_by is 'spend'."),
					 errhint("Pass the spend as the third argument, e.g. %s(segment, NULL, monetary), or set tier_by to 'segment'.", fname)));
		spend = PG_GETARG_NUMERIC(2);
		if (numeric_is_nan(spend))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: spend must not be NaN", fname)));
		for (int i = 0; i < c->ntier; i++)
			if (DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(c->tier[i].min_spend),
												  NumericGetDatum(spend))) <= 0)
				found = i;
		if (found < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: spend %s is below every tier's min_spend", fname,
							DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(spend)))),
					 errhint("Give the lowest tier min_spend 0.")));
	}
	return &c->tier[found];
}

static inline Datum
copy_varlena(Datum d)
{
	return datumCopy(d, false, -1);
}

/*
 * rfm_strategy(segment): the strategy code of the segment's rule.
 * An error for a segment with no rule.
 */
Datum
rfm_strategy_of(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	SegRule    *r = find_segment(c, PG_GETARG_TEXT_PP(0), "rfm_strategy");

	PG_RETURN_TEXT_P(cstring_to_text(r->strategy));
}

/*
 * rfm_channels(segment): the channel codes of the segment's rule, as text[].
 * An error for a segment with no rule.
 */
Datum
rfm_channels_of(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	SegRule    *r = find_segment(c, PG_GETARG_TEXT_PP(0), "rfm_channels");

	PG_RETURN_DATUM(copy_varlena(r->channels));
}

/*
 * rfm_tier(segment, score, spend): the customer's tier code, by segment,
 * score or spend as rfm_tier_settings says.  Not strict: score and spend may
 * be absent when they are not needed.
 */
Datum
rfm_tier_of(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	SegRule    *r = NULL;
	TierRule   *t;

	if (c->tier_by == TIER_BY_SEGMENT)
	{
		if (PG_ARGISNULL(0))
			PG_RETURN_NULL();
		r = find_segment(c, PG_GETARG_TEXT_PP(0), "rfm_tier");
	}
	t = tier_for(c, fcinfo, r, "rfm_tier");
	PG_RETURN_TEXT_P(cstring_to_text(t->c.code));
}

/*
 * rfm_tier_discount(tier): the tier's discount, a share in [0, 1).
 * An error for an unknown tier.
 */
Datum
rfm_tier_discount(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	TierRule   *t = find_tier(c, PG_GETARG_TEXT_PP(0), "rfm_tier_discount");

	PG_RETURN_DATUM(copy_varlena(NumericGetDatum(t->discount)));
}

/*
 * rfm_discounted_price(price, tier): price * (1 - discount), exact.
 * An error for an unknown tier.
 */
Datum
rfm_discounted_price(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	Numeric		price = PG_GETARG_NUMERIC(0);
	TierRule   *t = find_tier(c, PG_GETARG_TEXT_PP(1), "rfm_discounted_price");

	PG_RETURN_DATUM(DirectFunctionCall2(numeric_mul, NumericGetDatum(price),
										NumericGetDatum(t->multiplier)));
}

static inline int64
add64(int64 a, int64 b)
{
	int64		r;

	if (pg_add_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("rfm_loyalty_points: points out of range")));
	return r;
}

static inline int64
mul64(int64 a, int64 b)
{
	int64		r;

	if (pg_mul_s64_overflow(a, b, &r))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("rfm_loyalty_points: points out of range")));
	return r;
}

/*
 * rfm_loyalty_points(tier, orders, online_services, popular_repeats,
 * signed_up): the points of rfm_loyalty_settings times the tier's point_rate.
 */
Datum
rfm_loyalty_points(PG_FUNCTION_ARGS)
{
	ActionCache *c = get_rules(fcinfo);
	TierRule   *t = find_tier(c, PG_GETARG_TEXT_PP(0), "rfm_loyalty_points");
	int32		orders = PG_GETARG_INT32(1);
	int32		online = PG_GETARG_INT32(2);
	int32		popular = PG_GETARG_INT32(3);
	bool		signed_up = PG_GETARG_BOOL(4);
	int64		signup = c->loyalty[0],
				op = c->loyalty[1],
				step = c->loyalty[2],
				opmax = c->loyalty[3],
				osp = c->loyalty[4],
				prp = c->loyalty[5];
	int64		regular,
				growing,
				base;

	if (orders < 0 || online < 0 || popular < 0 || popular > orders)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_loyalty_points: counts must be non-negative and popular_repeats at most orders"),
				 errdetail("orders = %d, online_services = %d, popular_repeats = %d.", orders, online, popular),
				 errhint("popular_repeats counts the orders that were repeat purchases of popular products.")));

	/* regular orders: the k-th earns min(op + (k - 1) step, opmax) */
	regular = orders - popular;
	growing = (step == 0) ? regular : Min(regular, (opmax - op) / step + 1);
	base = signed_up ? signup : 0;
	base = add64(base, mul64(growing, op));
	base = add64(base, mul64(step, growing * (growing - 1) / 2));
	base = add64(base, mul64(regular - growing, opmax));
	base = add64(base, mul64(popular, prp));
	base = add64(base, mul64(online, osp));
	PG_RETURN_INT64(mul64(base, t->rate100) / 100);
}

/*
 * rfm_action(segment, score, spend): the whole plan as an rfm_action_plan.
 * NULL for a NULL segment; an error for a segment with no rule.
 */
Datum
rfm_action(PG_FUNCTION_ARGS)
{
	ActionCache *c;
	SegRule    *r;
	TierRule   *t;
	Datum		values[10];
	bool		nulls[10] = {false};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	c = get_rules(fcinfo);
	if (c->plan_desc == NULL)
	{
		TupleDesc	desc;
		MemoryContext old;

		if (get_call_result_type(fcinfo, NULL, &desc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "rfm_action: return type must be a row type");
		old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
		c->plan_desc = BlessTupleDesc(CreateTupleDescCopy(desc));
		MemoryContextSwitchTo(old);
	}
	r = find_segment(c, PG_GETARG_TEXT_PP(0), "rfm_action");
	t = tier_for(c, fcinfo, r, "rfm_action");

	values[0] = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	values[1] = CStringGetTextDatum(r->strategy);
	values[2] = CStringGetTextDatum(r->service);
	values[3] = r->channels;
	values[4] = CStringGetTextDatum(level_names[r->contact]);
	values[5] = CStringGetTextDatum(level_names[r->cost]);
	values[6] = CStringGetTextDatum(r->price);
	values[7] = r->techniques;
	values[8] = CStringGetTextDatum(t->c.code);
	values[9] = NumericGetDatum(t->discount);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(c->plan_desc, values, nulls)));
}

/*
 * The label of a configurable code (a segment with a rule, a strategy,
 * channel, sales technique or tier) for rfm_label, or NULL if no table has
 * the code.  Uses rfm_label's fn_extra as the other functions do.
 */
const char *
rfm_action_label(FunctionCallInfo fcinfo, const char *code, bool zh)
{
	ActionCache *c = get_rules(fcinfo);
	int			len = strlen(code);
	int			i;
	const CodeLabel *found = NULL;

	if ((i = find_code(&c->seg[0].c, c->nseg, sizeof(SegRule), code, len)) >= 0)
		found = &c->seg[i].c;
	else if ((i = find_code(c->strat, c->nstrat, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->strat[i];
	else if ((i = find_code(c->chan, c->nchan, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->chan[i];
	else if ((i = find_code(c->tech, c->ntech, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->tech[i];
	else if ((i = find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), code, len)) >= 0)
		found = &c->tier[i].c;
	if (!found)
		return NULL;
	return zh ? found->zh : found->en;
}
