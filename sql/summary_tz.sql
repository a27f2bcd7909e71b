-- Explicit time zones: rfm_summary and rfm_lifecycle over timestamptz with a
-- time_zone argument give the same result whatever the session's TimeZone,
-- and the same as the session-zone aggregates when the zones agree.
SET extra_float_digits = 0;

-- By hand: an order at 2024-01-01 20:00 UTC is on Jan 2 in Shanghai (UTC+8)
-- and on Jan 1 in New York (UTC-5); as_of 2024-01-10 00:00 UTC is Jan 10 in
-- Shanghai, Jan 9 in New York.  A second order on 2024-01-05 12:00 UTC.
-- Shanghai: days {Jan 2, Jan 5}, t_x 3, T 8; New York: {Jan 1, Jan 5}, 4, 8.
SET TimeZone = 'America/Los_Angeles';
SELECT z, (s).purchase_days, (s).repeat_recency, (s).age, (s).recency
FROM (VALUES ('Asia/Shanghai'), ('America/New_York'), ('UTC')) zones(z),
     LATERAL (SELECT rfm_summary(t, 1::numeric, '2024-01-10 00:00+00', z) AS s
              FROM (VALUES ('2024-01-01 20:00+00'::timestamptz), ('2024-01-05 12:00+00')) v(t)) q
ORDER BY z;

-- Every customer of the Online Retail data, days in Auckland (daylight
-- saving changes in April and September), under three session zones: equal.
CREATE TEMP TABLE tz_runs (session_zone text, customer_id int, s rfm_summary, stage text);
SET TimeZone = 'UTC';
INSERT INTO tz_runs SELECT 'UTC', customer_id,
       rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland'),
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland')
FROM retail GROUP BY customer_id;
SET TimeZone = 'America/Los_Angeles';
INSERT INTO tz_runs SELECT 'Los Angeles', customer_id,
       rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland'),
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland')
FROM retail GROUP BY customer_id;
-- and the session-zone aggregates with the session in Auckland
SET TimeZone = 'Pacific/Auckland';
INSERT INTO tz_runs SELECT 'Auckland, no argument', customer_id,
       rfm_summary(invoice_time, amount, '2011-12-10 00:00+13'),
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13')
FROM retail GROUP BY customer_id;
SET TimeZone = 'UTC';
SELECT r.session_zone, count(*) AS customers,
       count(*) FILTER (WHERE r.s IS NOT DISTINCT FROM u.s AND r.stage IS NOT DISTINCT FROM u.stage) AS same_as_utc_session,
       sum((r.s).purchase_days) AS purchase_days
FROM tz_runs r JOIN tz_runs u ON u.session_zone = 'UTC' AND u.customer_id IS NOT DISTINCT FROM r.customer_id
GROUP BY r.session_zone ORDER BY 1;
-- the zone matters: Auckland's days are not UTC's
SELECT sum((s).purchase_days) AS purchase_days_utc
FROM (SELECT rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'UTC') AS s
      FROM retail GROUP BY customer_id) q;
-- and Auckland's days equal plain SQL's calendar days in Auckland
SELECT count(*) AS customers,
       count(*) FILTER (WHERE (s).purchase_days = d.days AND (s).age = d.t_age) AS days_ok
FROM (SELECT customer_id, s FROM tz_runs WHERE session_zone = 'Los Angeles') g
JOIN (SELECT customer_id,
             count(DISTINCT (invoice_time AT TIME ZONE 'Pacific/Auckland')::date) FILTER (WHERE amount >= 0) AS days,
             date '2011-12-10' - min((invoice_time AT TIME ZONE 'Pacific/Auckland')::date) FILTER (WHERE amount >= 0) AS t_age
      FROM retail WHERE invoice_time <= '2011-12-10 00:00+13' GROUP BY customer_id) d USING (customer_id)
WHERE (s).frequency > 0;

-- float8 amounts take the same argument
SET TimeZone = 'Asia/Tokyo';
SELECT (rfm_summary(invoice_time, amount::float8, '2011-12-10 00:00+00', 'UTC')).purchase_days
     = (SELECT (rfm_summary(invoice_time, amount, '2011-12-10 00:00+00', 'UTC')).purchase_days
        FROM retail WHERE customer_id = 12347) AS float8_same,
       rfm_lifecycle(invoice_time, amount::float8, '2011-12-10 00:00+00', 'UTC') AS stage
FROM retail WHERE customer_id = 12347;

-- A state carries day numbers and an id of its zone: its text form made
-- under one session zone finishes identically under another, and states of
-- different zones are not combined.
CREATE AGGREGATE zone_state_of(timestamptz, numeric, timestamptz, text) (
    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
SET TimeZone = 'Asia/Kolkata';
CREATE TEMP TABLE zone_states AS
SELECT customer_id, zone_state_of(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland')::text AS st
FROM retail GROUP BY customer_id;
SET TimeZone = 'America/Sao_Paulo';
SELECT count(*) AS customers,
       count(*) FILTER (WHERE rfm_summary_final(z.st::rfm_state) IS NOT DISTINCT FROM r.s) AS same
FROM zone_states z JOIN tz_runs r ON r.session_zone = 'UTC' AND r.customer_id IS NOT DISTINCT FROM z.customer_id;
CREATE AGGREGATE zone_combined(rfm_state) (
    SFUNC = rfm_summary_combine, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
\set VERBOSITY default
SELECT rfm_summary_final(zone_combined(st)) FROM
  (SELECT zone_state_of(t, 1::numeric, '2024-01-10 00:00+00', 'UTC') AS st FROM (VALUES (timestamptz '2024-01-02')) v(t)
   UNION ALL
   SELECT zone_state_of(t, 1::numeric, '2024-01-10 00:00+00', 'Asia/Tokyo') FROM (VALUES (timestamptz '2024-01-02')) v(t)) s;
-- the session zone is recorded too: states made under different TimeZone
-- settings are not combined (a distributed engine's workers may differ)
CREATE AGGREGATE session_state_of(timestamptz, numeric, timestamptz) (
    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
SET TimeZone = 'UTC';
CREATE TEMP TABLE utc_state AS SELECT session_state_of(timestamptz '2024-01-02', 1::numeric, '2024-01-10 00:00+00')::text AS st;
SET TimeZone = 'Asia/Tokyo';
SELECT rfm_summary_final(zone_combined(st)) FROM
  (SELECT st::rfm_state FROM utc_state
   UNION ALL
   SELECT session_state_of(timestamptz '2024-01-03', 1::numeric, '2024-01-10 00:00+00')) s;
-- the same zone however it is spelt combines
SELECT (rfm_summary_final(zone_combined(st))).purchase_days FROM
  (SELECT zone_state_of(t, 1::numeric, '2024-01-10 00:00+00', 'asia/tokyo') AS st FROM (VALUES (timestamptz '2024-01-02')) v(t)
   UNION ALL
   SELECT session_state_of(timestamptz '2024-01-05', 1::numeric, '2024-01-10 00:00+00')) s;
\set VERBOSITY terse

-- Parallel aggregation (partial states in workers, combined in the leader)
-- with the session in yet another zone: equal to the serial result.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF)
SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland'),
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland')
FROM retail GROUP BY country;
CREATE TEMP TABLE tz_parallel AS
SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS s,
       rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS stage,
       rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS rv
FROM retail GROUP BY country;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
SET TimeZone = 'UTC';
SELECT count(*) AS countries,
       count(*) FILTER (WHERE p.s = q.s AND p.stage = q.stage AND p.rv IS NOT DISTINCT FROM q.rv) AS serial_equal
FROM tz_parallel p
JOIN (SELECT country, rfm_summary(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS s,
             rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS stage,
             rfm_repeat_value(invoice_time, amount, '2011-12-10 00:00+13', 'Pacific/Auckland') AS rv
      FROM retail GROUP BY country) q USING (country);

-- Rejected zones: unknown names, abbreviations (their meaning depends on
-- timezone_abbreviations), NULL, and a zone that changes between rows.
\set VERBOSITY default
SELECT rfm_summary(now(), 1::numeric, now(), 'Mars/Olympus');
SELECT rfm_summary(now(), 1::numeric, now(), 'CEST');
SELECT rfm_summary(now(), 1::numeric, now(), '');
SELECT rfm_summary(now(), 1::numeric, now(), NULL);
SELECT rfm_lifecycle(t, 1::numeric, now(), z)
FROM (VALUES (now(), 'UTC'), (now(), 'Europe/Berlin')) v(t, z);
-- (the zone may differ between groups)
SELECT z, rfm_lifecycle(t, 1::numeric, '2024-01-10 00:00+00', z) AS stage
FROM (VALUES ('2024-01-02 00:00+00'::timestamptz, 'UTC'), ('2024-01-02 00:00+00', 'Europe/Berlin')) v(t, z)
GROUP BY z ORDER BY z;
