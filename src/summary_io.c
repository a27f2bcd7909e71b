/*
 * summary_io.c
 *		Text and binary input/output of rfm_state, the transition state of
 *		rfm_summary and rfm_lifecycle, which parallel workers and distributed
 *		engines ship between processes and nodes.  Input checks every field
 *		so that a damaged or forged state is rejected, never trusted.
 */
#include "rfm.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "summary.h"

PG_FUNCTION_INFO_V1(rfm_state_in);
PG_FUNCTION_INFO_V1(rfm_state_out);
PG_FUNCTION_INFO_V1(rfm_state_recv);
PG_FUNCTION_INFO_V1(rfm_state_send);

/* ------------------------------------------------------------------------
 * rfm_state input/output
 *
 * Binary form (send/recv), all integers in network byte order:
 *   uint8 version, uint8 kind, uint8 amount_kind,
 *   int64 as_of, int32 as_of_day, int64 orders, int64 returns,
 *   int64 first_time, int64 last_time,
 *   [version 2: uint8 first_known, float8 first_day_amount, uint32 zone id]
 *   int32 scale, text sum (decimal integer), float8 fsum, float8 fcomp,
 *   text overflow (a numeric literal, empty when none),
 *   int32 ndays, ndays x int32 day numbers (strictly increasing).
 * The text form is the binary form in hexadecimal.
 * ------------------------------------------------------------------------
 */

static void
state_serialize(StringInfo buf, const RfmState *st)
{
	char		digits[64];
	const int32 *days;
	int32		n;

	pq_sendbyte(buf, RFM_STATE_VERSION);
	pq_sendbyte(buf, st->kind);
	pq_sendbyte(buf, st->amount_kind);
	pq_sendint64(buf, st->as_of);
	pq_sendint32(buf, st->as_of_day);
	pq_sendint64(buf, st->orders);
	pq_sendint64(buf, st->returns);
	pq_sendint64(buf, st->first_time);
	pq_sendint64(buf, st->last_time);
	pq_sendbyte(buf, st->first_known ? 1 : 0);
	pq_sendfloat8(buf, st->first_day_amount);
	pq_sendint32(buf, st->zone);
	pq_sendint32(buf, st->scale);
	if (st->amount_kind == RFM_AMOUNT_NUMERIC)
	{
		pq_sendstring(buf, wide_to_cstring(st->u.sum, 0, digits));
		pq_sendfloat8(buf, 0.0);
		pq_sendfloat8(buf, 0.0);
	}
	else
	{
		pq_sendstring(buf, "0");
		pq_sendfloat8(buf, st->u.f.fsum);
		pq_sendfloat8(buf, st->u.f.fcomp);
	}
	if (st->overflow_len > 0)
		pq_sendstring(buf, DatumGetCString(DirectFunctionCall1(numeric_out,
															   PointerGetDatum(RFM_OVERFLOW(st)))));
	else
		pq_sendstring(buf, "");
	days = rfm_sorted_days(st, &n);
	pq_sendint32(buf, n);
	for (int i = 0; i < n; i++)
		pq_sendint32(buf, days[i]);
}

static void
bad_state(int code, const char *detail)
{
	ereport(ERROR,
			(errcode(code),
			 errmsg("invalid rfm_state value"),
			 errdetail("%s", detail)));
}

/*
 * Readers that report a short value as invalid input (code), not as the
 * protocol violation (08P01) that pq_getmsg* raise: connection poolers take
 * that for a broken connection.
 */
static void
need(StringInfo buf, int n, int code)
{
	if (n < 0 || buf->cursor + n > buf->len)
		bad_state(code, "The value is truncated.");
}

static int
get_byte(StringInfo buf, int code)
{
	need(buf, 1, code);
	return pq_getmsgbyte(buf);
}

static int32
get_int32(StringInfo buf, int code)
{
	need(buf, 4, code);
	return (int32) pq_getmsgint(buf, 4);
}

static int64
get_int64(StringInfo buf, int code)
{
	need(buf, 8, code);
	return pq_getmsgint64(buf);
}

static double
get_float8(StringInfo buf, int code)
{
	need(buf, 8, code);
	return pq_getmsgfloat8(buf);
}

static const char *
get_string(StringInfo buf, int code)
{
	if (buf->cursor >= buf->len ||
		memchr(buf->data + buf->cursor, '\0', buf->len - buf->cursor) == NULL)
		bad_state(code, "The value is truncated.");
	return pq_getmsgstring(buf);
}

/* a finite time within PostgreSQL's timestamp range */
static inline bool
valid_time(int64 t)
{
	return !TIMESTAMP_NOT_FINITE(t) && IS_VALID_TIMESTAMP(t);
}

/* floor(t / USECS_PER_DAY) */
static inline int64
utc_day(int64 t)
{
	int64		q = t / USECS_PER_DAY;

	if (t % USECS_PER_DAY < 0)
		q--;
	return q;
}

/*
 * Is day (a local calendar day) the day of time t in some time zone?  UTC
 * offsets stay within a day; dates are exact.
 */
static inline bool
day_of_time(int kind, int64 day, int64 t)
{
	if (kind == RFM_KIND_DATE)
		return t % USECS_PER_DAY == 0 && day == t / USECS_PER_DAY;
	return day >= utc_day(t) - 1 && day <= utc_day(t) + 1;
}

static RfmState *
state_deserialize(StringInfo buf, int code)
{
	RfmState   *st;
	int			version,
				kind,
				amount_kind;
	int64		as_of,
				orders,
				returns,
				first_time,
				last_time;
	int32		as_of_day,
				scale,
				ndays;
	bool		first_known = false;
	uint32		zone = 0;
	double		first_day_amount = 0.0;
	const char *digits;
	const char *overflow;
	double		fsum,
				fcomp;
	rfm_wide	sum = 0;
	bool		neg = false;
	const char *c;

	version = get_byte(buf, code);
	if (version != 1 && version != RFM_STATE_VERSION)
		bad_state(code, "Unknown version.");
	kind = get_byte(buf, code);
	amount_kind = get_byte(buf, code);
	if ((kind != RFM_KIND_TIMESTAMPTZ && kind != RFM_KIND_DATE) ||
		(amount_kind != RFM_AMOUNT_NUMERIC && amount_kind != RFM_AMOUNT_FLOAT8))
		bad_state(code, "Unknown input kind.");
	as_of = get_int64(buf, code);
	as_of_day = get_int32(buf, code);
	orders = get_int64(buf, code);
	returns = get_int64(buf, code);
	first_time = get_int64(buf, code);
	last_time = get_int64(buf, code);
	if (version >= 2)
	{
		int			known = get_byte(buf, code);

		if (known != 0 && known != 1)
			bad_state(code, "Invalid flag.");
		first_known = known == 1;
		first_day_amount = get_float8(buf, code);
		zone = (uint32) get_int32(buf, code);
	}
	scale = get_int32(buf, code);
	digits = get_string(buf, code);
	fsum = get_float8(buf, code);
	fcomp = get_float8(buf, code);
	overflow = get_string(buf, code);
	ndays = get_int32(buf, code);

	if (orders < 0 || returns < 0)
		bad_state(code, "Negative counts.");
	if (scale < 0 || scale > RFM_WIDE_MAX_SCALE)
		bad_state(code, "Scale out of range.");
	if (!isfinite(fsum) || !isfinite(fcomp) || !isfinite(fsum + fcomp) ||
		!isfinite(first_day_amount))
		bad_state(code, "Non-finite float sum.");
	if (ndays < 0 || ndays > RFM_MAX_DAYS || (int64) ndays > orders ||
		(int64) ndays * 4 != (int64) (buf->len - buf->cursor))
		bad_state(code, "Wrong number of purchase days.");
	if ((orders > 0) != (ndays > 0))
		bad_state(code, "Orders without purchase days.");
	if (!valid_time(as_of) || !day_of_time(kind, as_of_day, as_of))
		bad_state(code, "Invalid as_of.");
	if (orders > 0 &&
		(!valid_time(first_time) || !valid_time(last_time) ||
		 first_time > last_time || last_time > as_of))
		bad_state(code, "Order times out of range or out of order.");

	c = digits;
	if (*c == '-')
	{
		neg = true;
		c++;
	}
	if (*c == '\0')
		bad_state(code, "Empty sum.");
	for (; *c; c++)
	{
		if (*c < '0' || *c > '9' ||
			wide_mul_overflow(sum, 10, &sum) ||
			wide_add_overflow(sum, neg ? -(*c - '0') : (*c - '0'), &sum))
			bad_state(code, "Invalid sum.");
	}

	st = state_alloc(CurrentMemoryContext, Max(ndays, RFM_INITIAL_DAYS), 0);
	st->kind = kind;
	st->amount_kind = amount_kind;
	st->as_of = as_of;
	st->as_of_day = as_of_day;
	st->orders = orders;
	st->returns = returns;
	st->first_time = first_time;
	st->last_time = last_time;
	st->first_known = first_known;
	st->zone = zone;
	st->first_day_amount = first_day_amount;
	st->scale = scale;
	if (amount_kind == RFM_AMOUNT_NUMERIC)
		st->u.sum = sum;
	else
	{
		if (sum != 0)
			bad_state(code, "A fixed-point sum in a float8 state.");
		st->u.f.fsum = fsum;
		st->u.f.fcomp = fcomp;
	}
	for (int i = 0; i < ndays; i++)
	{
		int32		d = get_int32(buf, code);

		if (i > 0 && d <= RFM_DAYS(st)[i - 1])
			bad_state(code, "Purchase days are not strictly increasing.");
		RFM_DAYS(st)[i] = d;
	}
	st->ndays = st->nsorted = ndays;
	if (ndays > 0)
	{
		st->first_day = RFM_DAYS(st)[0];
		if (!day_of_time(kind, RFM_DAYS(st)[0], first_time) ||
			!day_of_time(kind, RFM_DAYS(st)[ndays - 1], last_time) ||
			RFM_DAYS(st)[ndays - 1] > as_of_day)
			bad_state(code, "Purchase days do not match the order times.");
	}
	if (*overflow != '\0')
	{
		Datum		num = DirectFunctionCall3(numeric_in, CStringGetDatum(overflow),
											  ObjectIdGetDatum(InvalidOid),
											  Int32GetDatum(-1));

		if (numeric_is_nan(DatumGetNumeric(num)))
			bad_state(code, "Invalid overflow total.");
#if PG_VERSION_NUM >= 140000
		if (numeric_is_inf(DatumGetNumeric(num)))
			bad_state(code, "Invalid overflow total.");
#endif
		st = state_add_overflow(st, num);
	}
	pq_getmsgend(buf);
	return st;
}

/*
 * rfm_state_send: binary output of the aggregate state.
 * Portable across platforms (network byte order, numbers as text).
 */
Datum
rfm_state_send(PG_FUNCTION_ARGS)
{
	RfmState   *st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;

	pq_begintypsend(&buf);
	state_serialize(&buf, st);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * rfm_state_recv: binary input of the aggregate state.
 * Checks every field, so a damaged value is rejected, not trusted.
 */
Datum
rfm_state_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);

	PG_RETURN_POINTER(state_deserialize(buf, ERRCODE_INVALID_BINARY_REPRESENTATION));
}

/*
 * rfm_state_out: text output of the aggregate state (hex of the binary form).
 * Lets engines that ship partial aggregates as text move it between nodes.
 */
Datum
rfm_state_out(PG_FUNCTION_ARGS)
{
	RfmState   *st = (RfmState *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));
	StringInfoData buf;
	char	   *out;
	static const char hex[] = "0123456789abcdef";

	initStringInfo(&buf);
	state_serialize(&buf, st);
	out = palloc(buf.len * 2 + 1);
	for (int i = 0; i < buf.len; i++)
	{
		out[2 * i] = hex[((unsigned char) buf.data[i]) >> 4];
		out[2 * i + 1] = hex[((unsigned char) buf.data[i]) & 0xF];
	}
	out[buf.len * 2] = '\0';
	PG_RETURN_CSTRING(out);
}

static inline int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * rfm_state_in: text input of the aggregate state.
 * Accepts what rfm_state_out writes and validates it like rfm_state_recv.
 */
Datum
rfm_state_in(PG_FUNCTION_ARGS)
{
	const char *s = PG_GETARG_CSTRING(0);
	size_t		len = strlen(s);
	StringInfoData buf;

	if (len % 2 != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("invalid input syntax for type rfm_state"),
				 errdetail("The value must be an even number of hexadecimal digits.")));
	initStringInfo(&buf);
	for (size_t i = 0; i < len; i += 2)
	{
		int			hi = hexval(s[i]),
					lo = hexval(s[i + 1]);

		if (hi < 0 || lo < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("invalid input syntax for type rfm_state"),
					 errdetail("The value must consist of hexadecimal digits.")));
		appendStringInfoChar(&buf, (char) ((hi << 4) | lo));
	}
	PG_RETURN_POINTER(state_deserialize(&buf, ERRCODE_INVALID_TEXT_REPRESENTATION));
}
