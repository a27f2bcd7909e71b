--
-- rfm_holdout: calibration and holdout check of a customer-base model in
-- one call, on the CDNOW sample (the README's table: BG/NBD fitted to
-- 1997-09-30 predicts 1,653 of the 1,882 purchase days of the next 39
-- weeks), against the same computed step by step.
--
SET extra_float_digits = 0;
\set VERBOSITY default

CREATE FUNCTION ho_err(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

CREATE TABLE ho_raw (line text);
\copy ho_raw FROM 'test/data/cdnow_sample.txt'
-- a table and columns whose names need quoting
CREATE TABLE "CDNOW orders" ("Customer" int, "Order date" date, dollars numeric);
INSERT INTO "CDNOW orders"
SELECT f[2]::int, to_date(f[3], 'YYYYMMDD'), f[5]::numeric
FROM (SELECT regexp_split_to_array(btrim(line), '\s+') AS f FROM ho_raw) s;

SELECT x_calibration, customers, round(actual_mean::numeric, 3) AS actual_mean,
       round(predicted_mean::numeric, 3) AS predicted_mean, actual_total,
       round(predicted_total::numeric, 1) AS predicted_total,
       round(mean_absolute_error::numeric, 3) AS mae,
       round((bgnbd).r::numeric, 3) AS r, pnbd IS NULL AS no_pnbd
FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30');

-- the same step by step: calibration summary, fit, predictions, actuals
CREATE TABLE ho_cal AS
WITH d AS (SELECT DISTINCT "Customer" AS c, "Order date" AS day FROM "CDNOW orders")
SELECT c, (count(*) FILTER (WHERE day <= '1997-09-30') - 1)::float8 AS x,
       ((max(day) FILTER (WHERE day <= '1997-09-30') - min(day)) / 7.0)::float8 AS t_x,
       (('1997-09-30'::date - min(day)) / 7.0)::float8 AS "T",
       count(*) FILTER (WHERE day > '1997-09-30' AND day <= '1998-06-30') AS actual
FROM d GROUP BY c HAVING min(day) <= '1997-09-30';
WITH f AS (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM ho_cal),
     p AS (SELECT actual, rfm_expected_purchases(m, 39, x, t_x, "T") AS predicted FROM ho_cal, f),
     h AS (SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30')
           WHERE x_calibration = 'all')
SELECT h.actual_total = (SELECT sum(actual) FROM p) AS actual_ok,
       abs(h.predicted_total - (SELECT sum(predicted) FROM p)) < 1e-6 AS predicted_ok,
       abs(h.mean_absolute_error - (SELECT avg(abs(predicted - actual)) FROM p)) < 1e-9 AS mae_ok,
       (h.bgnbd).r = (SELECT (m).r FROM f) AS same_fit
FROM h;

-- Pareto/NBD, and the calibration in days (alpha and beta scale by 7)
SELECT x_calibration, customers, round(predicted_mean::numeric, 3) AS predicted_mean,
       round(predicted_total::numeric, 1) AS predicted_total, round((pnbd).r::numeric, 3) AS r
FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30', 'pnbd')
WHERE x_calibration IN ('0', '7+', 'all');
SELECT abs((d.bgnbd).alpha / 7 - (w.bgnbd).alpha) / (w.bgnbd).alpha < 1e-4 AS day_alpha_ok,
       abs(d.predicted_total - w.predicted_total) < 1e-3 AS same_prediction
FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30', 'bgnbd', 'day') d,
     rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30') w
WHERE d.x_calibration = 'all' AND w.x_calibration = 'all';

-- ---------------------------------------------------------------------
-- P(X(t) = n).  Independent checks: over n = 0..3000 the probabilities sum
-- to 1 and their mean is E[X(t)] (rfm_expected_purchases_new), for BG/NBD,
-- MBG/NBD and Pareto/NBD at the published CDNOW parameters.
-- ---------------------------------------------------------------------
SELECT model, t, abs(sum(p) - 1) < 1e-12 AS sums_to_one, abs(sum(n * p) - e) < 1e-11 AS mean_ok
FROM (SELECT 'bgnbd' AS model, t, n, rfm_p_purchases(m, t, n) AS p, rfm_expected_purchases_new(m, t) AS e
      FROM (SELECT rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426) AS m) b, (VALUES (1), (39), (78), (500)) v(t),
           generate_series(0, 3000) n
      UNION ALL
      SELECT 'mbgnbd', t, n, rfm_p_purchases(m, t, n), rfm_expected_purchases_new(m, t)
      FROM (SELECT rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426, 'week', 'mbgnbd') AS m) b,
           (VALUES (1), (39), (78), (500)) v(t), generate_series(0, 3000) n
      UNION ALL
      SELECT 'pnbd', t, n, rfm_p_purchases(m, t, n), rfm_expected_purchases_new(m, t)
      FROM (SELECT rfm_pnbd_model(0.553, 10.578, 0.606, 11.669) AS m) b,
           (VALUES (1), (39), (78), (500)) v(t), generate_series(0, 3000) n) q
GROUP BY model, t, e ORDER BY model, t;
-- at t = 0 nobody has bought yet
SELECT rfm_p_purchases(rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426), 0, 0) AS p0,
       rfm_p_purchases(rfm_pnbd_model(0.553, 10.578, 0.606, 11.669), 0, 2) AS p2;
-- the calibration-period fit: customers expected with n repeat purchases in
-- their own T, sum over customers of P(X(T) = n), against the actual counts
WITH f AS (SELECT rfm_bgnbd_fit(x, t_x, "T", 'week') AS m FROM ho_cal),
     e AS (SELECT n, sum(rfm_p_purchases(m, "T", n)) AS expected FROM ho_cal, f, generate_series(0, 6) n GROUP BY n)
SELECT e.n, (SELECT count(*) FROM ho_cal WHERE x = e.n) AS actual, round(e.expected::numeric, 1) AS expected
FROM e ORDER BY n;
SELECT q, ho_err(q) AS result FROM (VALUES
    ($q$SELECT rfm_p_purchases(rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426), 39, 1.5)$q$),
    ($q$SELECT rfm_p_purchases(rfm_pnbd_model(0.553, 10.578, 0.606, 11.669), 39, -1)$q$),
    ($q$SELECT rfm_p_purchases(rfm_pnbd_model(0.553, 10.578, 0.606, 11.669), 'infinity', 1)$q$)
) v(q);

-- errors; the function reads the table with the caller's rights
SELECT q, ho_err(q) AS result FROM (VALUES
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'customer', 'Order date', '1997-09-30', '1998-06-30')$q$),
    ($q$SELECT * FROM rfm_holdout('no_such_table', 'Customer', 'Order date', '1997-09-30', '1998-06-30')$q$),
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1998-06-30', '1997-09-30')$q$),
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30', 'pareto')$q$),
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30', 'bgnbd', 'fortnight')$q$),
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', NULL, '1998-06-30')$q$),
    ($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer; DROP TABLE ho_cal', 'Order date', '1997-09-30', '1998-06-30')$q$)
) v(q);
CREATE ROLE ho_reader;
SET ROLE ho_reader;
SELECT ho_err($q$SELECT * FROM rfm_holdout('"CDNOW orders"', 'Customer', 'Order date', '1997-09-30', '1998-06-30')$q$) AS as_reader;
RESET ROLE;
DROP ROLE ho_reader;
SELECT count(*) AS ho_cal_still_there FROM ho_cal;

DROP FUNCTION ho_err(text);
DROP TABLE ho_raw, "CDNOW orders", ho_cal;
