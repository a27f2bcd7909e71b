/*-------------------------------------------------------------------------
 *
 * btyd_state.c
 *	  The state of the fitting aggregates of the customer-base models: the
 *	  distinct input rows with their counts in an open-addressing hash
 *	  table (fed through a short queue that prefetches), the time unit and
 *	  the L2 penalty, with the combine, serialize and deserialize functions
 *	  of parallel aggregation.
 *
 *-------------------------------------------------------------------------
 */
#include "btyd.h"

#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#define BTYD_SERIAL_VERSION 2

static const char *const btyd_units[] = {"hour", "day", "week", "month", "quarter", "year", NULL};

/* ---- aggregate state ---------------------------------------------- */

BtydState *
btyd_state_create(MemoryContext mcxt, int kind, int maxrows)
{
	BtydState  *st = MemoryContextAllocZero(mcxt, sizeof(BtydState));
	int			i;

	st->kind = kind;
	st->mcxt = mcxt;
	st->maxrows = Max(maxrows, 64);
	st->nslots = 1;
	while (st->nslots < 2 * st->maxrows)
		st->nslots <<= 1;
	st->rows = MemoryContextAlloc(mcxt, sizeof(BtydRow) * st->maxrows);
	st->slots = MemoryContextAlloc(mcxt, sizeof(BtydSlot) * st->nslots);
	for (i = 0; i < st->nslots; i++)
		st->slots[i].row = -1;
	return st;
}

/* a 64-bit finalizer (MurmurHash3's) */
static inline uint64
mix64(uint64 k)
{
	k ^= k >> 33;
	k *= UINT64CONST(0xff51afd7ed558ccd);
	k ^= k >> 33;
	k *= UINT64CONST(0xc4ceb9fe1a85ec53);
	k ^= k >> 33;
	return k;
}

static inline uint32
row_hash(double x, double v, double T)
{
	uint64		k[3];

	/* +0.0 and -0.0 must hash alike */
	x += 0.0;
	v += 0.0;
	T += 0.0;
	memcpy(&k[0], &x, sizeof(uint64));
	memcpy(&k[1], &v, sizeof(uint64));
	memcpy(&k[2], &T, sizeof(uint64));
	return (uint32) mix64(k[0] ^ mix64(k[1] ^ mix64(k[2])));
}

/*
 * Twice the rows and slots.  The slots are moved in the order of the old
 * table, which writes the new one in two nearly sequential runs (a hash goes
 * to its old position or to that plus the old size).
 */
static void
state_grow(BtydState *st)
{
	BtydSlot   *old = st->slots;
	int32		nold = st->nslots;
	uint32		mask;
	int			i;

	if (st->maxrows >= (int32) (MaxAllocSize / sizeof(BtydRow) / 2) ||
		st->nslots >= (int32) (MaxAllocSize / sizeof(BtydSlot) / 2))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct customer rows to fit the model"),
				 errdetail("The aggregate keeps each distinct input row; there are more than %d.", st->maxrows),
				 errhint("Round t_x and T (for example to whole days) so that customers share rows.")));
	st->maxrows *= 2;
	st->rows = repalloc(st->rows, sizeof(BtydRow) * st->maxrows);
	st->nslots *= 2;
	st->slots = MemoryContextAlloc(st->mcxt, sizeof(BtydSlot) * st->nslots);
	for (i = 0; i < st->nslots; i++)
		st->slots[i].row = -1;
	mask = st->nslots - 1;
	for (i = 0; i < nold; i++)
	{
		uint32		pos;

		if (old[i].row < 0)
			continue;
		for (pos = old[i].hash & mask; st->slots[pos].row >= 0; pos = (pos + 1) & mask)
			;
		st->slots[pos] = old[i];
	}
	pfree(old);
}

/* count n more customers with row (x, v, T) of hash h; ncust is the caller's */
static void
state_insert(BtydState *st, double x, double v, double T, int64 n, uint32 h)
{
	uint32		mask = st->nslots - 1;
	uint32		pos;
	BtydRow    *row;

	for (pos = h & mask; st->slots[pos].row >= 0; pos = (pos + 1) & mask)
	{
		if (st->slots[pos].hash != h)
			continue;
		row = &st->rows[st->slots[pos].row];
		if (row->x == x && row->v == v && row->T == T)
		{
			row->n += n;
			return;
		}
	}
	if (st->nrows >= st->maxrows)
	{
		/* the row is new: after the growth only its free slot is sought */
		state_grow(st);
		mask = st->nslots - 1;
		for (pos = h & mask; st->slots[pos].row >= 0; pos = (pos + 1) & mask)
			;
	}
	st->slots[pos].hash = h;
	st->slots[pos].row = st->nrows;
	row = &st->rows[st->nrows++];
	row->x = x;
	row->v = v;
	row->T = T;
	row->n = n;
}

/*
 * Count n more customers with row (x, v, T) through the queue: the row is
 * counted BTYD_PENDING rows later, or by btyd_state_flush, which every
 * reader of the rows calls first.
 */
void
btyd_state_push(BtydState *st, double x, double v, double T, int64 n)
{
	uint32		h = row_hash(x, v, T);
	uint32		mask = st->nslots - 1;
	BtydPending *e;

	__builtin_prefetch(&st->slots[h & mask]);
	if (st->npending == BTYD_PENDING)
	{
		e = &st->pending[st->pending_head];
		state_insert(st, e->x, e->v, e->T, e->n, e->hash);
		st->pending_head = (st->pending_head + 1) & (BTYD_PENDING - 1);
		st->npending--;
		mask = st->nslots - 1;
	}
	e = &st->pending[(st->pending_head + st->npending) & (BTYD_PENDING - 1)];
	e->x = x;
	e->v = v;
	e->T = T;
	e->n = n;
	e->hash = h;
	st->npending++;
	st->ncust += n;

	/*
	 * The row that came half the queue ago: its slots are in the cache now;
	 * the first one with its hash points to the row it will be counted in
	 * (both ends: a row may span two cache lines).
	 */
	if (st->npending > BTYD_PENDING / 2)
	{
		uint32		pos;

		e = &st->pending[(st->pending_head + st->npending - 1 - BTYD_PENDING / 2) &
						 (BTYD_PENDING - 1)];
		for (pos = e->hash & mask; st->slots[pos].row >= 0; pos = (pos + 1) & mask)
			if (st->slots[pos].hash == e->hash)
			{
				const BtydRow *row = &st->rows[st->slots[pos].row];

				__builtin_prefetch(row);
				__builtin_prefetch(&row->n);
				break;
			}
	}
}

/*
 * Count the rows of the queue.  This changes where the state keeps rows, not
 * what it counts, so the final functions (declared read-only, and called
 * again after more rows in a window) call it first, as do the combine and
 * serialize functions.
 */
void
btyd_state_flush(BtydState *st)
{
	while (st->npending > 0)
	{
		BtydPending *e = &st->pending[st->pending_head];

		state_insert(st, e->x, e->v, e->T, e->n, e->hash);
		st->pending_head = (st->pending_head + 1) & (BTYD_PENDING - 1);
		st->npending--;
	}
}

const char *
btyd_kind_name(int kind)
{
	switch (kind)
	{
		case BTYD_KIND_BGNBD:
			return "bgnbd";
		case BTYD_KIND_MBGNBD:
			return "mbgnbd";
		case BTYD_KIND_GG:
			return "gamma_gamma";
		case BTYD_KIND_PNBD:
			return "pnbd";
		case BTYD_KIND_BGBB:
			return "bgbb";
	}
	return "?";
}

/* record the l2 penalty of a row: it must be the same on every row */
void
btyd_state_set_l2(BtydState *st, double l2)
{
	btyd_check_l2(l2);
	if (!st->l2_set)
	{
		st->l2 = l2;
		st->l2_set = true;
	}
	else if (st->l2 != l2)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("l2 penalty must be the same for all rows"),
				 errdetail("Rows carry the penalties %g and %g.", st->l2, l2),
				 errhint("Pass a constant as the l2 argument.")));
}

/* The optional l2 argument at argno (0 when the overload has none). */
void
btyd_state_take_l2(BtydState *st, FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() <= argno)
	{
		btyd_state_set_l2(st, 0.0);
		return;
	}
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("l2 penalty must not be null"),
				 errhint("Use 0 for no penalty.")));
	btyd_state_set_l2(st, PG_GETARG_FLOAT8(argno));
}

/* record the time unit of a row: a known unit, the same on every row */
void
btyd_state_set_unit(BtydState *st, text *unit_t)
{
	char	   *unit;
	int			i;

	/* the usual case, checked without a copy: the unit seen before */
	if (st->unit[0] != '\0' &&
		VARSIZE_ANY_EXHDR(unit_t) == strlen(st->unit) &&
		memcmp(VARDATA_ANY(unit_t), st->unit, VARSIZE_ANY_EXHDR(unit_t)) == 0)
		return;
	unit = text_to_cstring(unit_t);
	for (i = 0; btyd_units[i] != NULL; i++)
		if (strcmp(unit, btyd_units[i]) == 0)
			break;
	if (btyd_units[i] == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time unit \"%s\"", unit),
				 errdetail("The time unit says in which unit t_x and T are measured."),
				 errhint("Use one of hour, day, week, month, quarter, year.")));
	if (st->unit[0] != '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time unit must be the same for all rows"),
				 errdetail("Rows carry the units \"%s\" and \"%s\".", st->unit, unit),
				 errhint("Pass a constant as the unit argument.")));
	strlcpy(st->unit, unit, BTYD_UNIT_LEN);
	pfree(unit);
}

MemoryContext
btyd_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/*
 * The transition step of the fits over one row per customer (x, t_x, T
 * [, unit] [, l2]): the time unit at argument unit_arg (-1: none), the
 * optional l2 after it, the row checked by check.
 */
Datum
btyd_rows_trans(FunctionCallInfo fcinfo, int kind, const char *fname,
				int unit_arg, void (*check) (double, double, double))
{
	MemoryContext aggcxt = btyd_agg_context(fcinfo, fname);
	BtydState  *st = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	double		x,
				tx,
				T;

	if (st == NULL)
		st = btyd_state_create(aggcxt, kind, 64);

	if (unit_arg >= 0)
	{
		if (PG_ARGISNULL(unit_arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("time unit must not be null"),
					 errhint("Pass the unit of t_x and T, for example 'week'.")));
		btyd_state_set_unit(st, PG_GETARG_TEXT_PP(unit_arg));
	}
	btyd_state_take_l2(st, fcinfo, unit_arg >= 0 ? unit_arg + 1 : 4);

	/* a customer with any unknown value is skipped, as in other aggregates */
	if (PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3))
	{
		st->nnull++;
		PG_RETURN_POINTER(st);
	}
	x = PG_GETARG_FLOAT8(1);
	tx = PG_GETARG_FLOAT8(2);
	T = PG_GETARG_FLOAT8(3);
	check(x, tx, T);
	btyd_state_push(st, x, tx, T, 1);
	PG_RETURN_POINTER(st);
}

/*
 * The transition step of the fits over (x, t_x, T, unit [, l2]): BG/NBD,
 * MBG/NBD, Pareto/NBD.
 */
Datum
btyd_customer_trans(FunctionCallInfo fcinfo, int kind, const char *fname)
{
	return btyd_rows_trans(fcinfo, kind, fname, 4, btyd_check_customer);
}

/*
 * Combine function of the fitting aggregates: merge the row counts of
 * the second state into the first (either may be NULL).
 */
PG_FUNCTION_INFO_V1(rfm_btyd_combine);
Datum
rfm_btyd_combine(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = btyd_agg_context(fcinfo, "rfm_btyd_combine");
	BtydState  *s1 = PG_ARGISNULL(0) ? NULL : (BtydState *) PG_GETARG_POINTER(0);
	BtydState  *s2 = PG_ARGISNULL(1) ? NULL : (BtydState *) PG_GETARG_POINTER(1);
	int			i;

	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	if (s1 == NULL)
	{
		s1 = btyd_state_create(aggcxt, s2->kind, s2->nrows);
		s1->l2 = s2->l2;
		s1->l2_set = s2->l2_set;
		memcpy(s1->unit, s2->unit, BTYD_UNIT_LEN);
	}
	if (s1->kind != s2->kind)
		elog(ERROR, "rfm_btyd_combine: states of different models");
	if (s2->l2_set)
		btyd_state_set_l2(s1, s2->l2);
	if (s2->unit[0] != '\0')
	{
		if (s1->unit[0] == '\0')
			memcpy(s1->unit, s2->unit, BTYD_UNIT_LEN);
		else if (strcmp(s1->unit, s2->unit) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("time unit must be the same for all rows"),
					 errdetail("Rows carry the units \"%s\" and \"%s\".", s1->unit, s2->unit),
					 errhint("Pass a constant as the unit argument.")));
	}
	s1->nskipped += s2->nskipped;
	s1->nnull += s2->nnull;
	btyd_state_flush(s2);
	for (i = 0; i < s2->nrows; i++)
		btyd_state_push(s1, s2->rows[i].x, s2->rows[i].v, s2->rows[i].T, s2->rows[i].n);
	PG_RETURN_POINTER(s1);
}

/*
 * Serialize function of the fitting aggregates: a versioned, portable
 * encoding (network byte order) of the state's settings and distinct rows.
 */
PG_FUNCTION_INFO_V1(rfm_btyd_serialize);
Datum
rfm_btyd_serialize(PG_FUNCTION_ARGS)
{
	BtydState  *st = (BtydState *) PG_GETARG_POINTER(0);
	StringInfoData buf;
	int			i;

	(void) btyd_agg_context(fcinfo, "rfm_btyd_serialize");
	btyd_state_flush(st);
	pq_begintypsend(&buf);
	pq_sendint32(&buf, BTYD_SERIAL_VERSION);
	pq_sendint32(&buf, st->kind);
	pq_sendbyte(&buf, st->l2_set ? 1 : 0);
	pq_sendfloat8(&buf, st->l2);
	pq_sendbytes(&buf, st->unit, BTYD_UNIT_LEN);
	pq_sendint64(&buf, st->ncust);
	pq_sendint64(&buf, st->nskipped);
	pq_sendint64(&buf, st->nnull);
	pq_sendint32(&buf, st->nrows);
	for (i = 0; i < st->nrows; i++)
	{
		pq_sendfloat8(&buf, st->rows[i].x);
		pq_sendfloat8(&buf, st->rows[i].v);
		pq_sendfloat8(&buf, st->rows[i].T);
		pq_sendint64(&buf, st->rows[i].n);
	}
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * Deserialize function of the fitting aggregates: rebuild the state in the
 * aggregate context, checking the version, the sizes and the values.
 */
PG_FUNCTION_INFO_V1(rfm_btyd_deserialize);
Datum
rfm_btyd_deserialize(PG_FUNCTION_ARGS)
{
	MemoryContext aggcxt = btyd_agg_context(fcinfo, "rfm_btyd_deserialize");
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	StringInfoData buf;
	BtydState  *st;
	int32		version,
				kind,
				nrows,
				i;
	int64		ncust,
				nskipped,
				nnull,
				total = 0;
	bool		l2_set;
	double		l2;
	char		unit[BTYD_UNIT_LEN];
	const int	header = 4 + 4 + 1 + 8 + BTYD_UNIT_LEN + 8 + 8 + 8 + 4;
	const int	rowsize = 8 * 4;

	buf.data = VARDATA_ANY(b);
	buf.len = VARSIZE_ANY_EXHDR(b);
	buf.maxlen = buf.len;
	buf.cursor = 0;

	if (buf.len < header)
		elog(ERROR, "rfm_btyd_deserialize: state of %d bytes is too short", buf.len);
	version = pq_getmsgint(&buf, 4);
	if (version != BTYD_SERIAL_VERSION)
		elog(ERROR, "rfm_btyd_deserialize: unknown state version %d", version);
	kind = pq_getmsgint(&buf, 4);
	if (kind < BTYD_KIND_BGNBD || kind > BTYD_KIND_MAX)
		elog(ERROR, "rfm_btyd_deserialize: unknown model %d", kind);
	l2_set = pq_getmsgbyte(&buf) != 0;
	l2 = pq_getmsgfloat8(&buf);
	memcpy(unit, pq_getmsgbytes(&buf, BTYD_UNIT_LEN), BTYD_UNIT_LEN);
	if (unit[BTYD_UNIT_LEN - 1] != '\0')
		elog(ERROR, "rfm_btyd_deserialize: corrupt time unit");
	ncust = pq_getmsgint64(&buf);
	nskipped = pq_getmsgint64(&buf);
	nnull = pq_getmsgint64(&buf);
	nrows = pq_getmsgint(&buf, 4);
	if (nrows < 0 || (int64) buf.len - header != (int64) nrows * rowsize)
		elog(ERROR, "rfm_btyd_deserialize: %d rows do not match a state of %d bytes",
			 nrows, buf.len);

	st = btyd_state_create(aggcxt, kind, nrows);
	st->l2_set = l2_set;
	st->l2 = l2;
	memcpy(st->unit, unit, BTYD_UNIT_LEN);
	st->nskipped = nskipped;
	st->nnull = nnull;
	for (i = 0; i < nrows; i++)
	{
		double		x = pq_getmsgfloat8(&buf);
		double		v = pq_getmsgfloat8(&buf);
		double		T = pq_getmsgfloat8(&buf);
		int64		n = pq_getmsgint64(&buf);

		if (n <= 0)
			elog(ERROR, "rfm_btyd_deserialize: non-positive row count");
		btyd_state_push(st, x, v, T, n);
		total += n;
	}
	btyd_state_flush(st);
	pq_getmsgend(&buf);
	if (total != ncust)
		elog(ERROR, "rfm_btyd_deserialize: row counts do not add up to the customer count");
	PG_RETURN_POINTER(st);
}
