/*
 * summary_tz.c
 *		Calendar days of timestamptz values for rfm_state: in the session's
 *		TimeZone or in a time zone named by an argument (validated once).
 *
 * The UTC offset is looked up through a small cache of daylight-saving
 * intervals so that most rows need no time zone arithmetic.
 */
#include "rfm.h"

#include "fmgr.h"
#include "pgtime.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

#include "summary.h"

/* ------------------------------------------------------------------------
 * Time zone: local day numbers of timestamptz values
 * ------------------------------------------------------------------------
 */

#define RFM_TZ_INTERVALS 32

/* A UTC offset valid for [lo, hi) in pg_time_t seconds. */
typedef struct TzInterval
{
	pg_time_t	lo;
	pg_time_t	hi;
	long		gmtoff;
} TzInterval;

struct TzCache
{
	bool		explicit_zone;	/* a zone argument, not the session's */
	text	   *zone_name;		/* that argument (in fn_mcxt) */
	const pg_tz *tz;			/* the zone this cache was filled for */
	uint32		zone;			/* its rfm_zone_id */
	bool		fixed;			/* zone has one offset forever */
	long		fixed_gmtoff;
	int			n;
	int			last;			/* the entry that answered last */
	TzInterval	iv[RFM_TZ_INTERVALS];
};

static void
tzcache_reset(TzCache *c, const pg_tz *tz)
{
	c->tz = tz;
	c->zone = rfm_zone_id(pg_get_timezone_name((pg_tz *) tz));
	c->fixed = pg_get_timezone_offset(tz, &c->fixed_gmtoff);
	c->n = 0;
	c->last = 0;
}

/*
 * A portable 32-bit id of a time zone's name (FNV-1a over its bytes, case
 * folded), kept in the state so that partial states summarized in different
 * zones (say, on servers with different TimeZone settings) are not combined.
 * 0 means "no zone" (order dates).
 */
uint32
rfm_zone_id(const char *name)
{
	uint32		h = 2166136261u;

	for (const char *p = name; *p; p++)
	{
		h ^= (unsigned char) pg_ascii_tolower((unsigned char) *p);
		h *= 16777619u;
	}
	return h == 0 ? 1 : h;
}

/*
 * The zone named by a time_zone argument.  Only names of the time zone
 * database (pg_timezone_names) and POSIX zone specifications are accepted:
 * abbreviations are not, since their meaning depends on the setting
 * timezone_abbreviations, which may differ between servers.
 */
static const pg_tz *
zone_from_text(text *name)
{
	char	   *s = text_to_cstring(name);
	pg_tz	   *tz;

	if (strlen(s) == 0 || strlen(s) >= TZ_STRLEN_MAX)
		tz = NULL;
	else
		tz = pg_tzset(s);
	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", s),
				 errhint("Use a name from pg_timezone_names, such as 'UTC' or 'Europe/Berlin'.")));
	if (!pg_tz_acceptable(tz))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" appears to use leap seconds", s),
				 errdetail("PostgreSQL does not support leap seconds.")));
	pfree(s);
	return tz;
}

/*
 * The time zone cache of a transition function call site, set up on its
 * first call: the session zone, or the zone of argument zone_arg (>= 0),
 * looked up again only when the argument's text changes (a new group).
 */
TzCache *
rfm_tzcache_get(FunctionCallInfo fcinfo, int zone_arg)
{
	TzCache    *c = (TzCache *) fcinfo->flinfo->fn_extra;

	if (c == NULL)
	{
		c = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(TzCache));
		if (zone_arg >= 0)
		{
			if (PG_ARGISNULL(zone_arg))
				ereport(ERROR,
						(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						 errmsg("rfm_summary: time_zone must not be null"),
						 errhint("Pass a time zone name such as 'UTC'.")));
			c->explicit_zone = true;
			c->zone_name = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt,
													   VARSIZE_ANY(PG_GETARG_TEXT_PP(zone_arg)));
			memcpy(c->zone_name, PG_GETARG_TEXT_PP(zone_arg),
				   VARSIZE_ANY(PG_GETARG_TEXT_PP(zone_arg)));
			tzcache_reset(c, zone_from_text(c->zone_name));
		}
		else
			tzcache_reset(c, session_timezone);
		fcinfo->flinfo->fn_extra = c;
	}
	else if (zone_arg >= 0)
	{
		text	   *z;

		if (PG_ARGISNULL(zone_arg))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("rfm_summary: time_zone must not be null"),
					 errhint("Pass a time zone name such as 'UTC'.")));
		z = PG_GETARG_TEXT_PP(zone_arg);
		if (VARSIZE_ANY_EXHDR(z) != VARSIZE_ANY_EXHDR(c->zone_name) ||
			memcmp(VARDATA_ANY(z), VARDATA_ANY(c->zone_name), VARSIZE_ANY_EXHDR(z)) != 0)
		{
			const pg_tz *tz = zone_from_text(z);

			pfree(c->zone_name);
			c->zone_name = (text *) MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, VARSIZE_ANY(z));
			memcpy(c->zone_name, z, VARSIZE_ANY(z));
			tzcache_reset(c, tz);
		}
	}
	return c;
}

/*
 * A time zone cache in mcxt for the zone named zone (validated), or for the
 * session's zone when zone is NULL.
 */
TzCache *
rfm_tzcache_new(MemoryContext mcxt, text *zone)
{
	TzCache    *c = MemoryContextAllocZero(mcxt, sizeof(TzCache));

	if (zone != NULL)
	{
		c->explicit_zone = true;
		c->zone_name = (text *) MemoryContextAlloc(mcxt, VARSIZE_ANY(zone));
		memcpy(c->zone_name, zone, VARSIZE_ANY(zone));
		tzcache_reset(c, zone_from_text(c->zone_name));
	}
	else
		tzcache_reset(c, session_timezone);
	return c;
}

/* The UTC offset (seconds east) of the cache's zone at time t. */
static long
tzcache_offset(TzCache *c, pg_time_t t)
{
	long		before_gmtoff,
				after_gmtoff;
	int			before_isdst,
				after_isdst;
	pg_time_t	boundary;
	int			r,
				i;

	if (!c->explicit_zone && c->tz != session_timezone)
		tzcache_reset(c, session_timezone);
	if (c->fixed)
		return c->fixed_gmtoff;

	if (c->n > 0 && c->iv[c->last].lo <= t && t < c->iv[c->last].hi)
		return c->iv[c->last].gmtoff;
	for (i = 0; i < c->n; i++)
	{
		if (c->iv[i].lo <= t && t < c->iv[i].hi)
		{
			c->last = i;
			return c->iv[i].gmtoff;
		}
	}

	r = pg_next_dst_boundary(&t, &before_gmtoff, &before_isdst,
							 &boundary, &after_gmtoff, &after_isdst, c->tz);
	if (r < 0)
	{
		/* outside what the zone data covers: ask pg_localtime directly */
		struct pg_tm *tm = pg_localtime(&t, c->tz);

		if (tm == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range for the time zone")));
		return tm->tm_gmtoff;
	}
	if (r == 0)
		boundary = PG_INT64_MAX;

	/* extend an interval that ends at the same boundary, else add one */
	for (i = 0; i < c->n; i++)
	{
		if (c->iv[i].hi == boundary && c->iv[i].gmtoff == before_gmtoff)
		{
			if (t < c->iv[i].lo)
				c->iv[i].lo = t;
			c->last = i;
			return before_gmtoff;
		}
	}
	i = (c->n < RFM_TZ_INTERVALS) ? c->n++ : (int) (t & (RFM_TZ_INTERVALS - 1));
	c->iv[i].lo = t;
	c->iv[i].hi = boundary;
	c->iv[i].gmtoff = before_gmtoff;
	c->last = i;
	return before_gmtoff;
}

/* floor division for day numbers of times before 2000-01-01 */
static inline int64
floor_div(int64 a, int64 b)
{
	int64		q = a / b;

	if ((a % b != 0) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

/*
 * Calendar day (days since 2000-01-01) of a timestamptz in the cache's zone.
 */
int32
rfm_local_day(TzCache *c, TimestampTz ts)
{
	/* seconds since the Unix epoch, floored */
	int64		secs = floor_div(ts, USECS_PER_SEC) +
		(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY;
	long		off = tzcache_offset(c, (pg_time_t) secs);

	return (int32) floor_div(ts + (int64) off * USECS_PER_SEC, USECS_PER_DAY);
}


/* The rfm_zone_id of a cache's zone. */
uint32
rfm_tzcache_zone(const TzCache *c)
{
	return c->zone;
}

