--
-- The scoring functions' cache (src/btyd.c, btyd_score_cache): each call
-- site keeps the model it read (re-read when the model argument changes)
-- and memoizes the terms that depend on part of a customer's inputs (the
-- 2F1 terms of (x, T) and (x, t_x), CLV sums of (x, T, horizon, discount),
-- BG/BB results).  A memoized value must be the value a fresh call site
-- computes: every customer of CDNOW and of the donation data is scored in
-- one scan (memo hits for repeated pairs) and compared, exactly, with a call
-- in a plan of its own (EXECUTE: a new call site, an empty cache) per row.
--
SET extra_float_digits = 0;
\set VERBOSITY default

CREATE TABLE bs_raw (line text);
\copy bs_raw FROM 'test/data/cdnow_sample.txt'
CREATE TABLE bs_cal AS
WITH tx AS (SELECT f[2]::int AS customer_id, to_date(f[3], 'YYYYMMDD') AS day
            FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM bs_raw) s),
     days AS (SELECT DISTINCT customer_id, day FROM tx WHERE day <= date '1997-09-30')
SELECT customer_id, (count(*) - 1)::float8 AS x,
       ((max(day) - min(day)) / 7.0)::float8 AS t_x,
       ((date '1997-09-30' - min(day)) / 7.0)::float8 AS "T"
FROM days GROUP BY customer_id;
CREATE TABLE bs_m AS
SELECT (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') FROM bs_cal) AS bg,
       (SELECT rfm_mbgnbd_fit(x, t_x, "T", 'week') FROM bs_cal) AS mbg,
       (SELECT rfm_pnbd_fit(x, t_x, "T", 'week') FROM bs_cal) AS pn,
       -- a = 1: the mean of a = 1 -/+ 1e-4, two memoized variants
       rfm_bgnbd_model(0.243, 4.414, 1.0, 2.426, 'week', 'bgnbd') AS bg_a1;

-- pairs repeat: 2,357 customers, far fewer distinct (x, T) and (x, t_x)
SELECT count(*) AS customers, count(DISTINCT (x, "T")) AS "distinct (x, T)", count(DISTINCT (x, t_x)) AS "distinct (x, t_x)"
FROM bs_cal;

-- a query in a plan of its own, with the model and the customer as parameters
CREATE FUNCTION pg_temp.fresh(q text, m anyelement, x float8, t_x float8, t float8)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    v float8;
BEGIN
    EXECUTE q INTO v USING m, x, t_x, t;
    RETURN v;
END $$;

-- every model, every function with (x, t_x, T): memoized scan = fresh calls
SELECT k.model,
       count(*) AS customers,
       bool_and(pa = pg_temp.fresh('SELECT rfm_p_alive($1, $2, $3, $4)', k.m, x, t_x, "T")) AS p_alive_same,
       bool_and(ep = pg_temp.fresh('SELECT rfm_expected_purchases($1, 39, $2, $3, $4)', k.m, x, t_x, "T")) AS expected_same,
       bool_and(clv = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 35, 52, 0.3, 0.10 / 52)', k.m, x, t_x, "T")) AS clv_same,
       bool_and(clv2 = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 1, 10.5, 1, 0.002)', k.m, x, t_x, "T")) AS clv_partial_same
FROM (SELECT 'bgnbd' AS model, bg AS m FROM bs_m UNION ALL SELECT 'mbgnbd', mbg FROM bs_m
      UNION ALL SELECT 'bgnbd a=1', bg_a1 FROM bs_m) k,
     LATERAL (SELECT x, t_x, "T",
                     rfm_p_alive(k.m, x, t_x, "T") AS pa,
                     rfm_expected_purchases(k.m, 39, x, t_x, "T") AS ep,
                     rfm_clv(k.m, x, t_x, "T", 35, 52, 0.3, 0.10 / 52) AS clv,
                     rfm_clv(k.m, x, t_x, "T", 1, 10.5, 1, 0.002) AS clv2
              FROM bs_cal) s
GROUP BY k.model ORDER BY k.model;
SELECT count(*) AS customers,
       bool_and(pa = pg_temp.fresh('SELECT rfm_p_alive($1, $2, $3, $4)', pn, x, t_x, "T")) AS p_alive_same,
       bool_and(ep = pg_temp.fresh('SELECT rfm_expected_purchases($1, 39, $2, $3, $4)', pn, x, t_x, "T")) AS expected_same,
       bool_and(clv = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 35, 52, 0.3, 0.10 / 52)', pn, x, t_x, "T")) AS clv_same,
       bool_and(clv2 = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 1, 10.5, 1, 0.002)', pn, x, t_x, "T")) AS clv_partial_same
FROM (SELECT pn, x, t_x, "T",
             rfm_p_alive(pn, x, t_x, "T") AS pa,
             rfm_expected_purchases(pn, 39, x, t_x, "T") AS ep,
             rfm_clv(pn, x, t_x, "T", 35, 52, 0.3, 0.10 / 52) AS clv,
             rfm_clv(pn, x, t_x, "T", 1, 10.5, 1, 0.002) AS clv2
      FROM bs_m, bs_cal) s;

-- the values the other tests pin (sql/btyd.sql, sql/pnbd.sql), now scored
-- after the whole customer base went through the same call sites
SELECT round(rfm_p_alive(bg, 2, 30.43, 38.86)::numeric, 4) AS p_alive,
       round(rfm_expected_purchases(bg, 39, 2, 30.43, 38.86)::numeric, 4) AS next_39_weeks,
       round(rfm_clv(bg, 2, 30.43, 38.86, 35, 52, 0.3, 0.10 / 52)::numeric, 2) AS clv_52_weeks
FROM bs_m, (SELECT count(rfm_clv(bg, x, t_x, "T", 35, 52, 0.3, 0.10 / 52)) FROM bs_m, bs_cal) warm;
SELECT round(rfm_p_alive(pn, 2, 30.43, 38.86)::numeric, 4) AS p_alive,
       round(rfm_expected_purchases(pn, 39, 2, 30.43, 38.86)::numeric, 4) AS next_39_weeks,
       round(rfm_clv(pn, 2, 30.43, 38.86, 35, 52, 0.3, 0.10 / 52)::numeric, 2) AS clv_52_weeks
FROM bs_m, (SELECT count(rfm_clv(pn, x, t_x, "T", 35, 52, 0.3, 0.10 / 52)) FROM bs_m, bs_cal) warm;

-- A model that changes from row to row at one call site is read again and
-- its memo emptied: the same values as with each model at a call site of
-- its own.
SELECT count(*) AS scored,
       bool_and(alt_pa = CASE WHEN alt THEN pa_bg ELSE pa_mbg END) AS p_alive_same,
       bool_and(alt_ep = CASE WHEN alt THEN ep_bg ELSE ep_mbg END) AS expected_same,
       bool_and(alt_clv = CASE WHEN alt THEN clv_bg ELSE clv_mbg END) AS clv_same
FROM (SELECT c.customer_id % 3 = 0 AS alt,
             rfm_p_alive(CASE WHEN c.customer_id % 3 = 0 THEN bg ELSE mbg END, x, t_x, "T") AS alt_pa,
             rfm_expected_purchases(CASE WHEN c.customer_id % 3 = 0 THEN bg ELSE mbg END, 39, x, t_x, "T") AS alt_ep,
             rfm_clv(CASE WHEN c.customer_id % 3 = 0 THEN bg ELSE mbg END, x, t_x, "T", 1, 52, 1, 0.002) AS alt_clv,
             rfm_p_alive(bg, x, t_x, "T") AS pa_bg, rfm_p_alive(mbg, x, t_x, "T") AS pa_mbg,
             rfm_expected_purchases(bg, 39, x, t_x, "T") AS ep_bg,
             rfm_expected_purchases(mbg, 39, x, t_x, "T") AS ep_mbg,
             rfm_clv(bg, x, t_x, "T", 1, 52, 1, 0.002) AS clv_bg,
             rfm_clv(mbg, x, t_x, "T", 1, 52, 1, 0.002) AS clv_mbg
      FROM bs_m, bs_cal c) s;
-- the same for Pareto/NBD models that differ in one parameter only
SELECT count(*) AS scored,
       bool_and(alt_pa = CASE WHEN alt THEN pa1 ELSE pa2 END) AS p_alive_same,
       bool_and(alt_clv = CASE WHEN alt THEN clv1 ELSE clv2 END) AS clv_same
FROM (SELECT c.customer_id % 2 = 0 AS alt,
             rfm_p_alive(CASE WHEN c.customer_id % 2 = 0 THEN m1 ELSE m2 END, x, t_x, "T") AS alt_pa,
             rfm_clv(CASE WHEN c.customer_id % 2 = 0 THEN m1 ELSE m2 END, x, t_x, "T", 1, 52, 1, 0.002) AS alt_clv,
             rfm_p_alive(m1, x, t_x, "T") AS pa1, rfm_p_alive(m2, x, t_x, "T") AS pa2,
             rfm_clv(m1, x, t_x, "T", 1, 52, 1, 0.002) AS clv1,
             rfm_clv(m2, x, t_x, "T", 1, 52, 1, 0.002) AS clv2
      FROM (SELECT rfm_pnbd_model(0.553, 10.578, 0.606, 11.669, 'week') AS m1,
                   rfm_pnbd_model(0.553, 10.578, 0.606, 11.670, 'week') AS m2) k, bs_cal c) s;

-- The memo is bounded: 120,000 distinct (x, T) fill it (it is emptied at
-- 49,152 entries) and the values stay those of a fresh call site (checked
-- on every 200th customer) and those of the same customers in reverse
-- order, which meet the memo in another state.
CREATE TABLE bs_many AS
SELECT i, (i % 60)::float8 AS x, CASE WHEN i % 60 = 0 THEN 0 ELSE (i % 997) / 10.0 END AS t_x,
       100 + i / 60.0 AS "T"
FROM generate_series(1, 120000) i;
SELECT count(*) AS customers, count(DISTINCT (x, "T")) AS "distinct (x, T)" FROM bs_many;
CREATE TABLE bs_fwd AS
SELECT i, x, t_x, "T", rfm_p_alive(pn, x, t_x, "T") AS pa, rfm_clv(bg, x, t_x, "T", 1, 26, 1, 0.002) AS clv,
       rfm_clv(pn, x, t_x, "T", 1, 26, 1, 0.002) AS pclv
FROM bs_m, (SELECT * FROM bs_many ORDER BY i) c;
SELECT count(*) AS customers,
       bool_and(f.pa = r.pa AND f.clv = r.clv AND f.pclv = r.pclv) AS reverse_same
FROM bs_fwd f JOIN (SELECT i, rfm_p_alive(pn, x, t_x, "T") AS pa, rfm_clv(bg, x, t_x, "T", 1, 26, 1, 0.002) AS clv,
                           rfm_clv(pn, x, t_x, "T", 1, 26, 1, 0.002) AS pclv
                    FROM bs_m, (SELECT * FROM bs_many ORDER BY i DESC OFFSET 0) c) r USING (i);
SELECT count(*) AS checked,
       bool_and(f.pa = pg_temp.fresh('SELECT rfm_p_alive($1, $2, $3, $4)', m.pn, x, t_x, "T")) AS p_alive_same,
       bool_and(f.clv = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 1, 26, 1, 0.002)', m.bg, x, t_x, "T")) AS clv_same,
       bool_and(f.pclv = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 1, 26, 1, 0.002)', m.pn, x, t_x, "T")) AS pnbd_clv_same
FROM bs_fwd f, bs_m m WHERE f.i % 200 = 0;

-- BG/BB: P(alive) and the expected transactions are memoized whole, per
-- (x, t_x, n, ahead or horizon); the donation data have 22 patterns.
CREATE TABLE bs_bb_patterns (x int, t_x int, n int, customers int);
\copy bs_bb_patterns FROM 'test/data/donations.csv' WITH (FORMAT csv, HEADER)
CREATE TABLE bs_bb AS
SELECT x::float8 AS x, t_x::float8 AS t_x, n::float8 AS n
FROM bs_bb_patterns, generate_series(1, customers);
CREATE TABLE bs_bb_m AS SELECT rfm_bgbb_fit(x, t_x, n) AS m FROM bs_bb;
SELECT count(*) AS donors,
       bool_and(pa = pg_temp.fresh('SELECT rfm_p_alive($1, $2, $3, $4)', m, x, t_x, n)) AS p_alive_same,
       bool_and(pa3 = pg_temp.fresh('SELECT rfm_p_alive($1, $2, $3, $4, 3)', m, x, t_x, n)) AS p_alive_ahead_same,
       bool_and(ep = pg_temp.fresh('SELECT rfm_expected_purchases($1, 5, $2, $3, $4)', m, x, t_x, n)) AS expected_same,
       bool_and(clv = pg_temp.fresh('SELECT rfm_clv($1, $2, $3, $4, 1, 5, 1, 0.1)', m, x, t_x, n)) AS clv_same
FROM (SELECT m, x, t_x, n, rfm_p_alive(m, x, t_x, n) AS pa, rfm_p_alive(m, x, t_x, n, 3) AS pa3,
             rfm_expected_purchases(m, 5, x, t_x, n) AS ep, rfm_clv(m, x, t_x, n, 1, 5, 1, 0.1) AS clv
      FROM bs_bb_m, (SELECT * FROM bs_bb WHERE x IN (0, 2, 6) ORDER BY x, t_x, n) d) s;
-- the paper's Table 6, as in sql/bgbb.sql, after the scan
SELECT x, t_x, round(rfm_p_alive(m, x, t_x, 6)::numeric, 2) AS p_alive_2002
FROM bs_bb_m, (VALUES (0, 0), (2, 4), (6, 6)) v(x, t_x) ORDER BY x;

DROP TABLE bs_raw, bs_cal, bs_m, bs_many, bs_fwd, bs_bb_patterns, bs_bb, bs_bb_m;
