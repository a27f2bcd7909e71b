-- rfm_state: purchase days arriving in any order, and the input functions'
-- checks of damaged or forged states.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- 200,000 distinct days (and every day twice), ascending, descending and
-- shuffled, give one summary, equal to plain SQL's count(DISTINCT day).
-- (Days out of order are appended and sorted lazily: n log n, not n^2;
-- test/bench/bench.sh times it.)
CREATE TEMP TABLE many_days AS
SELECT date '1500-01-01' + (i % 200000) AS d, i AS n, (i::int8 * 7919) % 400000 AS shuffle
FROM generate_series(0, 399999) i;
CREATE TEMP TABLE many_days_expected AS
SELECT count(DISTINCT d) AS days, max(d) - min(d) AS t_x, date '2100-01-01' - min(d) AS age, sum(1) AS orders
FROM many_days;
SELECT * FROM many_days_expected;
SELECT o.ord, (s).purchase_days = e.days AND (s).repeat_recency = e.t_x AND (s).age = e.age
             AND (s).frequency = e.orders AS same_as_sql
FROM (SELECT 'ascending' AS ord, rfm_summary(d, 1::numeric, date '2100-01-01' ORDER BY d) AS s FROM many_days
      UNION ALL
      SELECT 'descending', rfm_summary(d, 1::numeric, date '2100-01-01' ORDER BY d DESC) FROM many_days
      UNION ALL
      SELECT 'shuffled', rfm_summary(d, 1::numeric, date '2100-01-01' ORDER BY shuffle) FROM many_days) o,
     many_days_expected e
ORDER BY 1;
-- lifecycle reads the same days: the same stage whatever the order
SELECT count(DISTINCT stage) AS stages, min(stage) AS stage
FROM (SELECT rfm_lifecycle(d, 1::numeric, date '1500-01-01' + 200000 ORDER BY d) AS stage FROM many_days
      UNION ALL
      SELECT rfm_lifecycle(d, 1::numeric, date '1500-01-01' + 200000 ORDER BY shuffle DESC) FROM many_days) s;

-- A state with days still unsorted survives its text form, and combining
-- (a state made from descending days merged into one from ascending days).
CREATE AGGREGATE state_of(date, numeric, date) (
    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
CREATE AGGREGATE combined(rfm_state) (
    SFUNC = rfm_summary_combine, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
SELECT rfm_summary_final(state_of(d, 1::numeric, date '2100-01-01' ORDER BY shuffle)::text::rfm_state)
         = rfm_summary(d, 1::numeric, date '2100-01-01') AS text_form_ok
FROM many_days;
SELECT rfm_summary_final(combined(st ORDER BY part)) = (SELECT rfm_summary(d, 1::numeric, date '2100-01-01') FROM many_days)
         AS combined_ok
FROM (SELECT n % 3 AS part, state_of(d, 1::numeric, date '2100-01-01' ORDER BY d DESC) AS st
      FROM many_days GROUP BY n % 3) p;

-- ---------------------------------------------------------------------
-- Damaged and forged states.  The text form is the binary form in hex:
--   pos 1 version, 3 kind, 5 amount kind, 7 as_of (int64), 23 as_of_day,
--   31 orders, 47 returns, 63 first_time, 79 last_time, 95 first_known,
--   97 first day's amount (float8), 113 zone id, 121 scale, 129 sum (text), ...
-- A good state: two orders (2024-01-01 10:00, 2024-01-07), as_of 2024-01-10.
-- ---------------------------------------------------------------------
CREATE AGGREGATE tz_state_of(timestamptz, numeric, timestamptz) (
    SFUNC = rfm_summary_trans, STYPE = rfm_state, COMBINEFUNC = rfm_summary_combine, PARALLEL = SAFE);
CREATE TEMP TABLE good AS
SELECT tz_state_of(t, a, '2024-01-10 00:00+00')::text AS s
FROM (VALUES ('2024-01-01 10:00+00'::timestamptz, 10.50::numeric), ('2024-01-07 00:00+00', 100.001)) v(t, a);
SELECT s FROM good;
SELECT (rfm_summary_final(s::rfm_state)).* FROM good;
CREATE FUNCTION try_state(s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM s::rfm_state;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;
CREATE FUNCTION forge(s text, pos int, hex text, len int DEFAULT NULL) RETURNS text
    LANGUAGE sql AS $$ SELECT overlay(s PLACING hex FROM pos FOR coalesce(len, length(hex))) $$;

\set VERBOSITY default
-- first and last order at the lowest int64 (not a valid time): as_of -
-- first_time would wrap to a negative recency
SELECT forge(forge(s, 63, '8000000000000001'), 79, '8000000000000001')::rfm_state FROM good;
-- the widest valid span (4714 BC to 294276 AD) is more than int64
-- microseconds can hold: recency and tenure stay positive, in the aggregate
-- and through the text form
SELECT (s).recency > 1.0e8 AS recency_positive, (s).tenure = (s).recency AS tenure_ok,
       (rfm_summary_final(st::text::rfm_state)).recency = (s).recency AS text_form_ok
FROM (SELECT rfm_summary(t, 1::numeric, '294276-12-31 00:00+00') AS s,
             tz_state_of(t, 1::numeric, '294276-12-31 00:00+00') AS st
      FROM (VALUES ('4714-11-24 00:00+00 BC'::timestamptz)) v(t)) q;
-- an infinite last order time (timestamptz 'infinity')
SELECT forge(s, 79, '7fffffffffffffff')::rfm_state FROM good;
-- an infinite as_of
SELECT forge(s, 7, '7fffffffffffffff')::rfm_state FROM good;
-- an overflow total of 'Infinity' (the empty overflow text is at pos 175)
SELECT substr(s, 175, 2) AS empty_overflow FROM good;
SELECT forge(s, 175, encode('Infinity', 'hex') || '00', 2)::rfm_state FROM good;
SELECT forge(s, 175, encode('NaN', 'hex') || '00', 2)::rfm_state FROM good;
-- a finite overflow total is accepted and added: 112.751 + 1000
SELECT (rfm_summary_final(forge(s, 175, encode('1000', 'hex') || '00', 2)::rfm_state)).monetary FROM good;
-- purchase days that do not match the order times (the last day moved a
-- year on) or lie after as_of
SELECT forge(s, length(s) - 7, lpad(to_hex(('x' || substr(s, length(s) - 7))::bit(32)::int4 + 365), 8, '0'))::rfm_state FROM good;
-- an unknown version and a version-1 value (no first day's amount: read,
-- with rfm_repeat_value NULL)
SELECT forge(s, 1, '07')::rfm_state FROM good;
SELECT rfm_repeat_value_final(s::rfm_state) AS v2_repeat_value,
       rfm_repeat_value_final(forge(forge(s, 1, '01'), 95, '', 26)::rfm_state) IS NULL AS v1_no_repeat_value,
       (rfm_summary_final(forge(forge(s, 1, '01'), 95, '', 26)::rfm_state)).monetary AS v1_monetary
FROM good;
-- truncated anywhere: invalid text representation (22P02), never a
-- protocol violation
SELECT count(*) AS prefixes,
       count(*) FILTER (WHERE state = '22P02') AS invalid_text_representation
FROM good, generate_series(0, length(s) - 2, 2) n,
     LATERAL (SELECT try_state(substr(s, 1, n)) AS state) t;

-- The binary form (rfm_state_recv, here through COPY BINARY of the same
-- bytes) applies the same checks; truncation is 22P03
-- (invalid_binary_representation).
CREATE TEMP TABLE states (st rfm_state);
\copy (SELECT decode(s, 'hex') FROM good) TO 'results/summary_state_good.bin' WITH (FORMAT binary)
\copy states FROM 'results/summary_state_good.bin' WITH (FORMAT binary)
SELECT (rfm_summary_final(st)).monetary AS binary_ok FROM states;
\copy (SELECT decode(forge(s, 79, '7fffffffffffffff'), 'hex') FROM good) TO 'results/summary_state_bad.bin' WITH (FORMAT binary)
\copy states FROM 'results/summary_state_bad.bin' WITH (FORMAT binary)
\copy (SELECT decode(substr(s, 1, 100), 'hex') FROM good) TO 'results/summary_state_short.bin' WITH (FORMAT binary)
\copy states FROM 'results/summary_state_short.bin' WITH (FORMAT binary)
