/*
 * action.c
 *		From segment to action: rfm_strategy, rfm_channels, rfm_tier,
 *		rfm_tier_discount, rfm_discounted_price, rfm_loyalty_points and
 *		rfm_action, and the labels of the configurable codes for rfm_label.
 *
 * The rules live in the extension's configuration tables (rfm_segment_action,
 * rfm_strategy, rfm_channel, rfm_sales_technique, rfm_tier and two one-row
 * settings tables; see rfm--1.0.sql); src/action_load.c reads them into a
 * cache per call site.
 */
#include "rfm.h"
#include "action.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/numeric.h"

PG_FUNCTION_INFO_V1(rfm_strategy_of);
PG_FUNCTION_INFO_V1(rfm_channels_of);
PG_FUNCTION_INFO_V1(rfm_tier_of);
PG_FUNCTION_INFO_V1(rfm_tier_discount);
PG_FUNCTION_INFO_V1(rfm_discounted_price);
PG_FUNCTION_INFO_V1(rfm_loyalty_points);
PG_FUNCTION_INFO_V1(rfm_action);

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
	i = rfm_find_code(&c->seg[0].c, c->nseg, sizeof(SegRule), s, len);
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
	int			i = rfm_find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), s, len);

	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: unknown tier \"%s\"", fname, pnstrdup(s, len)),
				 errdetail("The tiers are: %s.",
						   rfm_code_list(&c->tier[0].c, c->ntier, sizeof(TierRule))),
				 errhint("Tier codes are case-sensitive; add tiers to rfm_tier.")));
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
		if (rfm_numeric_not_finite(spend))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: spend must be a finite number", fname),
					 errdetail("The spend given was %s.",
							   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(spend)))),
					 errhint("Filter the row out or pass NULL.")));
		for (int i = 0; i < c->ntier; i++)
			if (c->tier[i].min_spend == NULL ||
				DatumGetInt32(DirectFunctionCall2(numeric_cmp, NumericGetDatum(c->tier[i].min_spend),
												  NumericGetDatum(spend))) <= 0)
				found = i;
		if (found < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s: spend %s is below every tier's min_spend", fname,
							DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(spend)))),
					 errhint("Give the lowest tier no lower bound: UPDATE rfm_tier SET min_spend = NULL WHERE code = '%s'.",
							 c->ntier > 0 ? c->tier[0].c.code : "basic")));
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
	ActionCache *c = rfm_get_rules(fcinfo);
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
	ActionCache *c = rfm_get_rules(fcinfo);
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
	ActionCache *c = rfm_get_rules(fcinfo);
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
	ActionCache *c = rfm_get_rules(fcinfo);
	TierRule   *t = find_tier(c, PG_GETARG_TEXT_PP(0), "rfm_tier_discount");

	PG_RETURN_DATUM(copy_varlena(NumericGetDatum(t->discount)));
}

/*
 * rfm_discounted_price(price, tier): price * (1 - discount), exact.
 * An error for an unknown tier or a price that is NaN or infinite.
 */
Datum
rfm_discounted_price(PG_FUNCTION_ARGS)
{
	ActionCache *c = rfm_get_rules(fcinfo);
	Numeric		price = PG_GETARG_NUMERIC(0);
	TierRule   *t = find_tier(c, PG_GETARG_TEXT_PP(1), "rfm_discounted_price");

	if (rfm_numeric_not_finite(price))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_discounted_price: price must be a finite number"),
				 errdetail("The price given was %s.",
						   DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(price)))),
				 errhint("Filter the row out or pass NULL (which gives NULL).")));

	PG_RETURN_DATUM(DirectFunctionCall2(numeric_mul, NumericGetDatum(price),
										NumericGetDatum(t->multiplier)));
}

static inline int64
add64(int64 a, int64 b)
{
	return rfm_add_int64(a, b, "rfm_loyalty_points: points");
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
	ActionCache *c = rfm_get_rules(fcinfo);
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
	c = rfm_get_rules(fcinfo);
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
	values[4] = CStringGetTextDatum(rfm_level_names[r->contact]);
	values[5] = CStringGetTextDatum(rfm_level_names[r->cost]);
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
	ActionCache *c = rfm_get_rules(fcinfo);
	int			len = strlen(code);
	int			i;
	const CodeLabel *found = NULL;

	if ((i = rfm_find_code(&c->seg[0].c, c->nseg, sizeof(SegRule), code, len)) >= 0)
		found = &c->seg[i].c;
	else if ((i = rfm_find_code(c->strat, c->nstrat, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->strat[i];
	else if ((i = rfm_find_code(c->chan, c->nchan, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->chan[i];
	else if ((i = rfm_find_code(c->tech, c->ntech, sizeof(CodeLabel), code, len)) >= 0)
		found = &c->tech[i];
	else if ((i = rfm_find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), code, len)) >= 0)
		found = &c->tier[i].c;
	if (!found)
		return NULL;
	return zh ? found->zh : found->en;
}
