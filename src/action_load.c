/*
 * action_load.c
 *		Reading the rule tables of src/action.c (rfm_segment_action,
 *		rfm_strategy, rfm_channel, rfm_sales_technique, rfm_tier and the two
 *		one-row settings tables) into a cache per call site.
 *
 * Reading them through SPI on every call would cost several microseconds a
 * row, so each call site (FmgrInfo) keeps the rules in fn_extra: loaded on
 * its first call, and loaded again only when the active snapshot differs
 * from the one they were read under (another statement that may see other
 * rules).  Within one query the snapshot is fixed, so a million rows cost
 * one load and a million in-memory lookups.
 *
 * The loader's queries name only columns and schema-qualified tables: no
 * operator, function or ORDER BY that another role's objects could
 * capture through the caller's search_path (arithmetic and sorting are done
 * here in C).  It checks the type of every column it reads and refuses NULLs
 * and non-finite numbers with clear errors, since the owner of the rule
 * tables can change their columns.
 */
#include "rfm.h"
#include "action.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#if PG_VERSION_NUM >= 170000
#define MY_LXID (MyProc->vxid.lxid)
#else
#define MY_LXID (MyProc->lxid)
#endif
const char *const rfm_level_names[] = {"low", "medium", "high"};

static int
level_of(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(s, rfm_level_names[i]) == 0)
			return i;
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("rfm_channel has the level \"%s\"", s),
			 errhint("Levels are low, medium or high.")));
	return 0;
}

/* The table a loader query reads, for its error messages. */
static const char *load_table = "";

/*
 * Run a query of the loader; the result is in SPI_tuptable.  coltypes gives
 * the type each column must have (the query's column count is theirs).
 */
void
rfm_load_query(const char *schema, const char *table, const char *cols,
		   const Oid *coltypes, int ncols, bool read_only)
{
	char	   *q = psprintf("SELECT %s FROM %s.%s", cols, schema, table);
	int			rc = SPI_execute(q, read_only, 0);
	TupleDesc	desc;

	if (rc != SPI_OK_SELECT)
		elog(ERROR, "rfm: loading the rules failed: %s", SPI_result_code_string(rc));
	load_table = table;
	desc = SPI_tuptable->tupdesc;
	if (desc->natts != ncols)
		elog(ERROR, "rfm: the query of %s returned %d columns, not %d", table, desc->natts, ncols);
	for (int i = 0; i < ncols; i++)
	{
		Oid			got = SPI_gettypeid(desc, i + 1);

		if (got != coltypes[i])
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("rfm: column %s.%s has type %s, expected %s",
							table, SPI_fname(desc, i + 1), format_type_be(got),
							format_type_be(coltypes[i])),
					 errdetail("The extension's functions read the rule tables with the column types it created."),
					 errhint("Change the column back: ALTER TABLE %s ALTER %s TYPE %s.",
							 table, quote_identifier(SPI_fname(desc, i + 1)),
							 format_type_be(coltypes[i]))));
	}
}

/* An error for a NULL where the rules need a value. */
static void
null_error(int row, int col)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("rfm: column %s.%s is null in a rule row",
					load_table, SPI_fname(SPI_tuptable->tupdesc, col)),
			 errdetail("Row %d of the table has no value there.", row + 1),
			 errhint("Set a value, or restore the column's NOT NULL constraint.")));
}

char *
rfm_load_str(int row, int col, MemoryContext cxt)
{
	char	   *v = SPI_getvalue(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col);

	if (v == NULL)
		null_error(row, col);
	return MemoryContextStrdup(cxt, v);
}

/* A copy of a varlena column in cxt; NULL allowed only if *isnull is set. */
static Datum
get_copy(int row, int col, MemoryContext cxt, bool *isnull)
{
	bool		null_ok = *isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
	MemoryContext old;

	if (*isnull)
	{
		if (!null_ok)
			null_error(row, col);
		return (Datum) 0;
	}
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

	if (isnull)
		null_error(row, col);
	return DatumGetInt32(d);
}

/* A numeric column, finite; NULL only where null_ok (then NULL is returned). */
static Numeric
get_numeric(int row, int col, MemoryContext cxt, bool null_ok, const char *code)
{
	bool		isnull = null_ok;
	Datum		d = get_copy(row, col, cxt, &isnull);
	Numeric		n;

	if (isnull)
		return NULL;
	n = DatumGetNumeric(d);
	if (rfm_numeric_not_finite(n))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("rfm: %s \"%s\" has the non-finite %s %s", load_table, code,
						SPI_fname(SPI_tuptable->tupdesc, col),
						DatumGetCString(DirectFunctionCall1(numeric_out, d))),
				 errhint("Use a finite number.")));
	return n;
}

static inline Datum
numeric_of_int(int64 v)
{
	return DirectFunctionCall1(int8_numeric, Int64GetDatum(v));
}

static int
tier_rank_cmp(const void *a, const void *b)
{
	int32		x = ((const TierRule *) a)->rank;
	int32		y = ((const TierRule *) b)->rank;

	return (x > y) - (x < y);
}

static void
load_labels(CodeLabel *out, int row, MemoryContext cxt)
{
	out->code = rfm_load_str(row, 1, cxt);
	out->len = strlen(out->code);
	out->en = rfm_load_str(row, 2, cxt);
	out->zh = rfm_load_str(row, 3, cxt);
}

/*
 * Run a query whose first three columns are code, label_en, label_zh and
 * load those of every row; the rows stay in SPI_tuptable for more columns.
 */
static CodeLabel *
load_label_rows(const char *schema, const char *table, const char *cols, int ncols,
				bool read_only, MemoryContext cxt, int *count)
{
	static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	CodeLabel  *rows;
	uint64		n;

	Assert(ncols <= lengthof(types));
	rfm_load_query(schema, table, cols, types, ncols, read_only);
	n = SPI_processed;
	*count = (int) n;
	rows = MemoryContextAllocZero(cxt, sizeof(CodeLabel) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
		load_labels(&rows[i], i, cxt);
	return rows;
}

int
rfm_find_code(const CodeLabel *arr, int n, size_t stride, const char *s, int len)
{
	for (int i = 0; i < n; i++)
	{
		const CodeLabel *c = (const CodeLabel *) ((const char *) arr + i * stride);

		if (c->len == len && memcmp(c->code, s, len) == 0)
			return i;
	}
	return -1;
}

char *
rfm_code_list(const CodeLabel *arr, int n, size_t stride)
{
	StringInfoData codes;

	initStringInfo(&codes);
	for (int i = 0; i < n; i++)
		appendStringInfo(&codes, "%s%s", i ? ", " : "",
						 ((const CodeLabel *) ((const char *) arr + i * stride))->code);
	return codes.data;
}

/* The schema of the calling function (the extension's), quoted. */
char *
rfm_rules_schema(FunctionCallInfo fcinfo)
{
	char	   *nsp = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));

	if (nsp == NULL)
		elog(ERROR, "rfm: schema of function %u not found", fcinfo->flinfo->fn_oid);
	return (char *) quote_identifier(nsp);
}

/* Remember the snapshot rules were just read under. */
void
rfm_rules_snapshot_remember(RulesSnapshot *s, bool read_only)
{
	s->reusable = read_only;
	if (read_only)
	{
		Snapshot	snap = GetActiveSnapshot();

		s->lxid = MY_LXID;
		s->xmin = snap->xmin;
		s->xmax = snap->xmax;
		s->xcnt = snap->xcnt;
		s->subxcnt = snap->suboverflowed ? -1 : snap->subxcnt;
		s->curcid = snap->curcid;
	}
}

/*
 * May rules read under *s be used under the active snapshot?  Yes if it is
 * of the same transaction with the same xmin, xmax, numbers of running
 * (sub)transactions and command id: such a snapshot sees the same committed
 * data (below an unchanged xmax the set of running transactions can only
 * shrink, which changes the count).
 */
bool
rfm_rules_snapshot_valid(const RulesSnapshot *s)
{
	Snapshot	snap;

	if (!s->reusable || !ActiveSnapshotSet())
		return false;
	snap = GetActiveSnapshot();
	return snap->curcid == s->curcid && snap->xmin == s->xmin && snap->xmax == s->xmax &&
		snap->xcnt == s->xcnt && (snap->suboverflowed ? -1 : snap->subxcnt) == s->subxcnt &&
		MY_LXID == s->lxid;
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
	schema = rfm_rules_schema(fcinfo);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "rfm: SPI_connect failed");

	c->strat = load_label_rows(schema, "rfm_strategy", "code, label_en, label_zh", 3,
							   read_only, cxt, &c->nstrat);
	c->tech = load_label_rows(schema, "rfm_sales_technique", "code, label_en, label_zh", 3,
							  read_only, cxt, &c->ntech);
	c->chan = load_label_rows(schema, "rfm_channel",
							  "code, label_en, label_zh, contact_intensity, cost_level", 5,
							  read_only, cxt, &c->nchan);
	n = SPI_processed;
	for (uint64 i = 0; i < n; i++)
	{
		c->chan[i].contact = level_of(rfm_load_str(i, 4, cxt));
		c->chan[i].cost = level_of(rfm_load_str(i, 5, cxt));
	}

	{
		static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, INT4OID, NUMERICOID,
		NUMERICOID, NUMERICOID, INT4OID};

		rfm_load_query(schema, "rfm_tier",
				   "code, label_en, label_zh, rank, discount, point_rate, min_spend, min_score",
				   types, lengthof(types), read_only);
	}
	n = SPI_processed;
	c->ntier = n;
	c->tier = MemoryContextAllocZero(cxt, sizeof(TierRule) * Max(n, 1));
	for (uint64 i = 0; i < n; i++)
	{
		TierRule   *t = &c->tier[i];
		Numeric		rate;
		MemoryContext old;

		load_labels(&t->c, i, cxt);
		t->rank = get_int(i, 4);
		t->discount = get_numeric(i, 5, cxt, false, t->c.code);
		rate = get_numeric(i, 6, cxt, false, t->c.code);
		t->min_spend = get_numeric(i, 7, cxt, true, t->c.code);
		t->min_score = get_int(i, 8);
		/* 1 - discount and point_rate * 100, computed here, not in SQL */
		old = MemoryContextSwitchTo(cxt);
		t->multiplier = DatumGetNumeric(DirectFunctionCall2(numeric_sub, numeric_of_int(1),
															NumericGetDatum(t->discount)));
		t->rate100 = DatumGetInt64(DirectFunctionCall1(numeric_int8,
													   DirectFunctionCall2(numeric_mul, NumericGetDatum(rate),
																		   numeric_of_int(100))));
		MemoryContextSwitchTo(old);
	}
	/* ascending rank; only the lowest tier may have no lower bound of spend */
	if (n > 1)
		qsort(c->tier, n, sizeof(TierRule), tier_rank_cmp);
	for (uint64 i = 1; i < n; i++)
		if (c->tier[i].min_spend == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm: tier \"%s\" has no min_spend but is not the lowest tier", c->tier[i].c.code),
					 errhint("Only the tier of the lowest rank may leave min_spend NULL (no lower bound).")));

	{
		static const Oid types[] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTARRAYOID, TEXTOID, TEXTARRAYOID, TEXTOID};

		rfm_load_query(schema, "rfm_segment_action",
				   "segment, label_en, label_zh, strategy, service_lever, channels, price_lever,"
				   " techniques, tier", types, lengthof(types), read_only);
	}
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
		s->strategy = rfm_load_str(i, 4, cxt);
		s->service = rfm_load_str(i, 5, cxt);
		isnull = false;
		s->channels = get_copy(i, 6, cxt, &isnull);
		s->price = rfm_load_str(i, 7, cxt);
		isnull = false;
		s->techniques = get_copy(i, 8, cxt, &isnull);
		tier = rfm_load_str(i, 9, cxt);
		s->tier = rfm_find_code(&c->tier[0].c, c->ntier, sizeof(TierRule), tier, strlen(tier));
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
			int			j = nulls[k] ? -1 : rfm_find_code(c->chan, c->nchan, sizeof(CodeLabel),
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

	{
		static const Oid types[] = {TEXTOID};

		rfm_load_query(schema, "rfm_tier_settings", "tier_by", types, 1, read_only);
	}
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rfm_tier_settings must have one row"),
				 errhint("Reinstall the extension's settings with INSERT INTO rfm_tier_settings (tier_by) VALUES ('segment').")));
	{
		char	   *by = rfm_load_str(0, 1, cxt);

		c->tier_by = strcmp(by, "score") == 0 ? TIER_BY_SCORE :
			strcmp(by, "spend") == 0 ? TIER_BY_SPEND : TIER_BY_SEGMENT;
	}

	{
		static const Oid types[] = {INT4OID, INT4OID, INT4OID, INT4OID, INT4OID, INT4OID};

		rfm_load_query(schema, "rfm_loyalty_settings",
				   "signup_points, order_points, order_points_step, order_points_max,"
				   " online_service_points, popular_repeat_points", types, lengthof(types), read_only);
	}
	if (SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("rfm_loyalty_settings must have one row")));
	for (int k = 0; k < 6; k++)
		c->loyalty[k] = get_int(0, k + 1);

	SPI_finish();

	c->last_seg = -1;
	c->loaded = true;
	rfm_rules_snapshot_remember(&c->snap, read_only);
}

/*
 * The rules for this call site, loaded if needed: again when the snapshot
 * they were read under is no longer valid (rfm_rules_snapshot_valid).
 */
ActionCache *
rfm_get_rules(FunctionCallInfo fcinfo)
{
	ActionCache *c = (ActionCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(ActionCache));
		c->data = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt, "rfm action rules",
										ALLOCSET_SMALL_SIZES);
		fcinfo->flinfo->fn_extra = c;
	}
	if (c->loaded && rfm_rules_snapshot_valid(&c->snap))
		return c;
	load_rules(c, fcinfo);
	return c;
}

