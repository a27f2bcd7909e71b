/*
 * segment.c
 *		Segments from scores and value types from metrics: rfm_segment,
 *		rfm_value_type (scalar and window forms) and rfm_label (which also
 *		labels the lifecycle stages of src/lifecycle.c).
 *
 * rfm_segment maps 1..5 scores to the 11 widely used segment names through a
 * grid on R and FM = floor((F + M) / 2), the combined frequency-monetary
 * score of Putler's segment table.  Putler's published ranges overlap; the
 * grid below is one reading of them in which every cell has exactly one
 * segment and every segment at least one cell (see README, "Segments").
 *
 * rfm_value_type gives the 8 value types of the standard Chinese RFM model:
 * each metric is high or low against a cut (the population mean or median);
 * R is high when recency is *below* the cut (a recent last order).
 */
#include "rfm.h"

#include "fmgr.h"
#include "utils/builtins.h"
#include "windowapi.h"

PG_FUNCTION_INFO_V1(rfm_segment);
PG_FUNCTION_INFO_V1(rfm_value_type);
PG_FUNCTION_INFO_V1(rfm_value_type_window);
PG_FUNCTION_INFO_V1(rfm_label);

enum
{
	SEG_CHAMPIONS,
	SEG_LOYAL,
	SEG_POTENTIAL,
	SEG_NEW,
	SEG_PROMISING,
	SEG_ATTENTION,
	SEG_SLEEP,
	SEG_RISK,
	SEG_CANT_LOSE,
	SEG_HIBERNATING,
	SEG_LOST
};

typedef struct Label
{
	const char *code;
	const char *en;
	const char *zh;
} Label;

/* segment names are their own codes; the order follows the enum above */
static const Label segment_labels[] = {
	{"Champions", "Champions", "冠军客户"},
	{"Loyal Customers", "Loyal Customers", "忠诚客户"},
	{"Potential Loyalist", "Potential Loyalist", "潜在忠诚客户"},
	{"New Customers", "New Customers", "新客户"},
	{"Promising", "Promising", "有潜力客户"},
	{"Need Attention", "Need Attention", "需要关注客户"},
	{"About To Sleep", "About To Sleep", "即将沉睡客户"},
	{"At Risk", "At Risk", "有流失风险客户"},
	{"Can't Lose Them", "Can't Lose Them", "不能失去的客户"},
	{"Hibernating", "Hibernating", "休眠客户"},
	{"Lost", "Lost", "流失客户"},
};

/* grid[r - 1][fm - 1] */
static const int segment_grid[5][5] = {
	/* R = 1 */
	{SEG_LOST, SEG_HIBERNATING, SEG_RISK, SEG_CANT_LOSE, SEG_CANT_LOSE},
	/* R = 2 */
	{SEG_HIBERNATING, SEG_HIBERNATING, SEG_RISK, SEG_RISK, SEG_CANT_LOSE},
	/* R = 3 */
	{SEG_SLEEP, SEG_ATTENTION, SEG_ATTENTION, SEG_LOYAL, SEG_LOYAL},
	/* R = 4 */
	{SEG_PROMISING, SEG_POTENTIAL, SEG_LOYAL, SEG_CHAMPIONS, SEG_CHAMPIONS},
	/* R = 5 */
	{SEG_NEW, SEG_POTENTIAL, SEG_LOYAL, SEG_CHAMPIONS, SEG_CHAMPIONS},
};

/*
 * The value types, indexed by (R high) * 4 + (F high) * 2 + (M high).
 */
static const Label value_type_labels[8] = {
	{"general_win_back", "General win-back", "一般挽留客户"},	/* L L L */
	{"important_win_back", "Important win-back", "重要挽留客户"},	/* L L H */
	{"general_keep", "General keep", "一般保持客户"},	/* L H L */
	{"important_keep", "Important keep", "重要保持客户"},	/* L H H */
	{"general_develop", "General develop", "一般发展客户"},	/* H L L */
	{"important_develop", "Important develop", "重要发展客户"},	/* H L H */
	{"general_value", "General value", "一般价值客户"},	/* H H L */
	{"important_value", "Important value", "重要价值客户"},	/* H H H */
};

/* lifecycle stage codes, as rfm_lifecycle returns them (src/lifecycle.c) */
static const Label stage_labels[] = {
	{"acquisition", "Acquisition", "获取期"},
	{"growth", "Growth", "提升期"},
	{"maturity", "Maturity", "成熟期"},
	{"decline", "Decline", "衰退期"},
	{"churned", "Churned", "离开期"},
};

static inline void
check_score(int32 s, const char *what)
{
	if (s < 1 || s > 5)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_segment: %s score must be between 1 and 5", what),
				 errdetail("The %s score given was %d.", what, s),
				 errhint("The segments are defined on scores from 5 bins, e.g. rfm_score(5).")));
}

/*
 * rfm_segment(r, f, m): the segment name of a 1..5 score triple.
 * Every one of the 125 triples has exactly one segment.
 */
Datum
rfm_segment(PG_FUNCTION_ARGS)
{
	int32		r = PG_GETARG_INT32(0);
	int32		f = PG_GETARG_INT32(1);
	int32		m = PG_GETARG_INT32(2);

	check_score(r, "recency");
	check_score(f, "frequency");
	check_score(m, "monetary");
	PG_RETURN_TEXT_P(cstring_to_text(segment_labels[segment_grid[r - 1][(f + m) / 2 - 1]].code));
}

static inline int
value_type_index(double recency, double frequency, double monetary,
				 double rcut, double fcut, double mcut)
{
	return (recency < rcut ? 4 : 0) + (frequency > fcut ? 2 : 0) + (monetary > mcut ? 1 : 0);
}

/*
 * rfm_value_type(recency, frequency, monetary, recency_cut, frequency_cut,
 * monetary_cut): the value type code against given cuts.
 */
Datum
rfm_value_type(PG_FUNCTION_ARGS)
{
	double		v[6];

	for (int i = 0; i < 6; i++)
	{
		v[i] = PG_GETARG_FLOAT8(i);
		rfm_check_not_nan(v[i], "rfm_value_type", "an argument");
	}
	PG_RETURN_TEXT_P(cstring_to_text(value_type_labels[value_type_index(v[0], v[1], v[2], v[3], v[4], v[5])].code));
}

typedef struct ValueTypeContext
{
	bool		ready;
	double		cut[3];
} ValueTypeContext;

static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * rfm_value_type(recency, frequency, monetary [, method]) OVER (): the value
 * type against the partition's mean (default) or median of each metric.
 */
Datum
rfm_value_type_window(PG_FUNCTION_ARGS)
{
	WindowObject winobj = PG_WINDOW_OBJECT();
	ValueTypeContext *ctx;
	int64		curpos = WinGetCurrentPosition(winobj);
	double		v[3];
	bool		isnull;
	int			k;

	ctx = (ValueTypeContext *) WinGetPartitionLocalMemory(winobj, sizeof(ValueTypeContext));
	if (!ctx->ready)
	{
		int64		nrows = WinGetPartitionRowCount(winobj);
		bool		median = false;

		if (PG_NARGS() > 3)
		{
			Datum		m = WinGetFuncArgCurrent(winobj, 3, &isnull);
			const char *method;

			if (isnull)
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("rfm_value_type: method must not be null")));
			method = TextDatumGetCString(m);
			if (strcmp(method, "median") == 0)
				median = true;
			else if (strcmp(method, "mean") != 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("rfm_value_type: unknown method \"%s\"", method),
						 errhint("Use 'mean' or 'median'.")));
		}

		for (k = 0; k < 3; k++)
		{
			double	   *vals = median ? palloc_extended(Max(nrows, 1) * sizeof(double), MCXT_ALLOC_HUGE) : NULL;
			int64		n = 0;
			long double sum = 0;

			for (int64 pos = 0; pos < nrows; pos++)
			{
				bool		isout;
				Datum		d = WinGetFuncArgInPartition(winobj, k, pos,
														 WINDOW_SEEK_HEAD, false,
														 &isnull, &isout);
				double		x;

				if (isnull)
					continue;
				x = DatumGetFloat8(d);
				rfm_check_not_nan(x, "rfm_value_type", "a metric");
				if (median)
					vals[n] = x;
				else
					sum += x;
				n++;
			}
			if (n == 0)
				ctx->cut[k] = 0;	/* no row has a value: none is scored */
			else if (median)
			{
				qsort(vals, n, sizeof(double), cmp_double);
				ctx->cut[k] = (n % 2 == 1) ? vals[n / 2]
					: vals[n / 2 - 1] + (vals[n / 2] - vals[n / 2 - 1]) / 2.0;
			}
			else
				ctx->cut[k] = (double) (sum / n);
			if (vals)
				pfree(vals);
		}
		ctx->ready = true;
	}
	WinSetMarkPosition(winobj, curpos);

	for (k = 0; k < 3; k++)
	{
		Datum		d = WinGetFuncArgCurrent(winobj, k, &isnull);

		if (isnull)
			PG_RETURN_NULL();
		v[k] = DatumGetFloat8(d);
	}
	PG_RETURN_TEXT_P(cstring_to_text(value_type_labels[value_type_index(v[0], v[1], v[2],
																		 ctx->cut[0], ctx->cut[1], ctx->cut[2])].code));
}

/*
 * rfm_label(code, lang): the English or Chinese label of a segment name,
 * value type code or lifecycle stage code.
 */
Datum
rfm_label(PG_FUNCTION_ARGS)
{
	const char *code = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *lang = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		zh;
	const Label *found = NULL;

	if (strcmp(lang, "zh") == 0)
		zh = true;
	else if (strcmp(lang, "en") == 0)
		zh = false;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_label: unknown language \"%s\"", lang),
				 errhint("Use 'en' or 'zh'.")));

	/*
	 * The codes of the rule tables first (src/action.c: segments with a rule,
	 * strategies, channels, techniques, tiers): users may relabel or add
	 * codes.  Then the built-in codes below.
	 */
	{
		const char *label = rfm_action_label(fcinfo, code, zh);

		if (label)
			PG_RETURN_TEXT_P(cstring_to_text(label));
	}

	for (int i = 0; i < (int) lengthof(segment_labels) && !found; i++)
		if (strcmp(code, segment_labels[i].code) == 0)
			found = &segment_labels[i];
	for (int i = 0; i < (int) lengthof(value_type_labels) && !found; i++)
		if (strcmp(code, value_type_labels[i].code) == 0)
			found = &value_type_labels[i];
	for (int i = 0; i < (int) lengthof(stage_labels) && !found; i++)
		if (strcmp(code, stage_labels[i].code) == 0)
			found = &stage_labels[i];
	if (!found)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm_label: unknown code \"%s\"", code),
				 errhint("Codes are the values rfm_segment, rfm_value_type and rfm_lifecycle return.")));
	PG_RETURN_TEXT_P(cstring_to_text(zh ? found->zh : found->en));
}
