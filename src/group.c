/*
 * group.c
 *		rfm_group_label and rfm_group_strategy: the labels and strategies of
 *		the customer groups (A-E, ARPU groups, value tiers) that the SQL
 *		functions rfm_ae_group, rfm_arpu_group and rfm_value_tier return.
 *
 * The groups live in rfm_customer_group (ext/rfm--1.1--1.2/50-groups.sql).
 * Each call site keeps them in fn_extra, read once per query as
 * src/action_load.c reads the rule tables, so that a view with a strategy
 * column per customer costs one read and in-memory lookups.
 */
#include "rfm.h"
#include "action.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(rfm_group_label);
PG_FUNCTION_INFO_V1(rfm_group_strategy);

typedef struct GroupRule
{
	CodeLabel	c;
	char	   *strategy_en;
	char	   *strategy_zh;
} GroupRule;

typedef struct GroupCache
{
	MemoryContext data;			/* the groups; reset on reload */
	bool		loaded;
	RulesSnapshot snap;
	int			n;
	GroupRule  *g;
	int			last;			/* the group found last */
} GroupCache;

/* The groups for this call site, read if needed. */
static GroupCache *
get_groups(FunctionCallInfo fcinfo)
{
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	GroupCache *c = (GroupCache *) fcinfo->flinfo->fn_extra;
	bool		read_only = ActiveSnapshotSet();
	char	   *schema;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(GroupCache));
		c->data = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "rfm customer groups",
										ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->loaded && rfm_rules_snapshot_valid(&c->snap))
		return c;

	MemoryContextReset(c->data);
	c->loaded = false;
	schema = rfm_rules_schema(fcinfo);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm: SPI_connect failed");
	rfm_load_query(schema, "rfm_customer_group",
				   "code, label_en, label_zh, strategy_en, strategy_zh",
				   types, lengthof(types), read_only);
	c->n = (int) SPI_processed;
	c->g = MemoryContextAllocZero(c->data, sizeof(GroupRule) * Max(c->n, 1));
	for (int i = 0; i < c->n; i++)
	{
		GroupRule  *g = &c->g[i];

		g->c.code = rfm_load_str(i, 1, c->data);
		g->c.len = strlen(g->c.code);
		g->c.en = rfm_load_str(i, 2, c->data);
		g->c.zh = rfm_load_str(i, 3, c->data);
		g->strategy_en = rfm_load_str(i, 4, c->data);
		g->strategy_zh = rfm_load_str(i, 5, c->data);
	}
	SPI_finish();
	c->last = -1;
	c->loaded = true;
	rfm_rules_snapshot_remember(&c->snap, read_only);
	return c;
}

/* The group of a code; an error naming the codes for an unknown one. */
static GroupRule *
find_group(GroupCache *c, text *code, const char *fname)
{
	const char *s = VARDATA_ANY(code);
	int			len = VARSIZE_ANY_EXHDR(code);
	int			i;

	if (c->last >= 0 && c->g[c->last].c.len == len &&
		memcmp(c->g[c->last].c.code, s, len) == 0)
		return &c->g[c->last];
	i = rfm_find_code(&c->g[0].c, c->n, sizeof(GroupRule), s, len);
	if (i < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("%s: unknown customer group \"%s\"", fname, pnstrdup(s, len)),
				 errdetail("The groups are: %s.", rfm_code_list(&c->g[0].c, c->n, sizeof(GroupRule))),
				 errhint("Pass a code that rfm_ae_group, rfm_arpu_group or rfm_value_tier returns.")));
	c->last = i;
	return &c->g[i];
}

/* true for 'zh', false for 'en', else an error */
static bool
lang_is_zh(text *lang, const char *fname)
{
	const char *s = VARDATA_ANY(lang);
	int			len = VARSIZE_ANY_EXHDR(lang);

	if (len == 2 && memcmp(s, "zh", 2) == 0)
		return true;
	if (len == 2 && memcmp(s, "en", 2) == 0)
		return false;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("%s: unknown language \"%s\"", fname, pnstrdup(s, len)),
			 errhint("Use 'en' or 'zh'.")));
	return false;				/* keep the compiler quiet */
}

/*
 * rfm_group_label(code, lang): the English or Chinese label of a customer
 * group.  An error for an unknown code or language.
 */
Datum
rfm_group_label(PG_FUNCTION_ARGS)
{
	bool		zh = lang_is_zh(PG_GETARG_TEXT_PP(1), "rfm_group_label");
	GroupRule  *g = find_group(get_groups(fcinfo), PG_GETARG_TEXT_PP(0), "rfm_group_label");

	PG_RETURN_TEXT_P(cstring_to_text(zh ? g->c.zh : g->c.en));
}

/*
 * rfm_group_strategy(code, lang): the English or Chinese strategy of a
 * customer group.  An error for an unknown code or language.
 */
Datum
rfm_group_strategy(PG_FUNCTION_ARGS)
{
	bool		zh = lang_is_zh(PG_GETARG_TEXT_PP(1), "rfm_group_strategy");
	GroupRule  *g = find_group(get_groups(fcinfo), PG_GETARG_TEXT_PP(0), "rfm_group_strategy");

	PG_RETURN_TEXT_P(cstring_to_text(zh ? g->strategy_zh : g->strategy_en));
}

/* ------------------------------------------------------------------------
 * The groups of one customer: rfm_ae_group, rfm_arpu, rfm_arpu_group,
 * rfm_value_tier, and the same for rfm_model_customers (src/customers.c).
 * High means above the cut, as for rfm_value_type; a NaN value gives no
 * group (NaN sorts above every number and would silently count as high).
 * ------------------------------------------------------------------------
 */

const char *
rfm_ae_group_of(bool frequency_null, double frequency, bool aov_null, double aov,
				bool fcut_null, double fcut, bool acut_null, double acut)
{
	if ((!frequency_null && isnan(frequency)) || (!aov_null && isnan(aov)))
		return NULL;
	if (frequency_null || frequency <= 0)
		return "A";
	if (aov_null || fcut_null || acut_null)
		return NULL;
	if (float8_gt(frequency, fcut))
		return float8_gt(aov, acut) ? "E" : "C";
	return float8_gt(aov, acut) ? "D" : "B";
}

/* false: no ARPU (a period not above 0, a negative tenure, NaN or infinities) */
bool
rfm_arpu_of(double revenue, double tenure_days, double period_days, double *arpu)
{
	if (!(period_days > 0 && period_days < get_float8_infinity()) ||
		!(tenure_days >= 0 && tenure_days < get_float8_infinity()) ||
		!(revenue > -get_float8_infinity() && revenue < get_float8_infinity()))
		return false;
	*arpu = float8_div(revenue, float8_gt(float8_div(tenure_days, period_days), 1.0)
					   ? float8_div(tenure_days, period_days) : 1.0);
	return true;
}

const char *
rfm_arpu_group_of(double arpu, bool basic_null, double basic_cut, bool high_null, double high_cut)
{
	if (isnan(arpu))
		return NULL;
	if (!high_null && float8_ge(arpu, high_cut))
		return "arpu_high";
	if (basic_null)
		return NULL;
	return float8_gt(arpu, basic_cut) ? "arpu_mid" : "arpu_basic";
}

const char *
rfm_value_tier_of(double value, bool low_null, double low_cut, bool high_null, double high_cut)
{
	if (isnan(value) || low_null || high_null)
		return NULL;
	if (float8_ge(value, high_cut))
		return "high_value";
	return float8_gt(value, low_cut) ? "medium_value" : "low_value";
}

#define ARG_NULL_OR(i, v) (PG_ARGISNULL(i) ? (v) : PG_GETARG_FLOAT8(i))

PG_FUNCTION_INFO_V1(rfm_ae_group);
Datum
rfm_ae_group(PG_FUNCTION_ARGS)
{
	const char *g = rfm_ae_group_of(PG_ARGISNULL(0), ARG_NULL_OR(0, 0), PG_ARGISNULL(1), ARG_NULL_OR(1, 0),
									PG_ARGISNULL(2), ARG_NULL_OR(2, 0), PG_ARGISNULL(3), ARG_NULL_OR(3, 0));

	if (g == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(g));
}

PG_FUNCTION_INFO_V1(rfm_arpu);
Datum
rfm_arpu(PG_FUNCTION_ARGS)
{
	double		arpu;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) ||
		!rfm_arpu_of(PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2), &arpu))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(arpu);
}

PG_FUNCTION_INFO_V1(rfm_arpu_group);
Datum
rfm_arpu_group(PG_FUNCTION_ARGS)
{
	const char *g;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	g = rfm_arpu_group_of(PG_GETARG_FLOAT8(0), PG_ARGISNULL(1), ARG_NULL_OR(1, 0),
						  PG_ARGISNULL(2), ARG_NULL_OR(2, 0));
	if (g == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(g));
}

PG_FUNCTION_INFO_V1(rfm_value_tier);
Datum
rfm_value_tier(PG_FUNCTION_ARGS)
{
	const char *g;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	g = rfm_value_tier_of(PG_GETARG_FLOAT8(0), PG_ARGISNULL(1), ARG_NULL_OR(1, 0),
						  PG_ARGISNULL(2), ARG_NULL_OR(2, 0));
	if (g == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(g));
}
