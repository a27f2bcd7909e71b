-- rfm_lifecycle: lifecycle stages from the order history.
--
-- Defaults (rfm_lifecycle_settings empty): new_days 90, min_purchase_days 2,
-- churn_days 365, churn_ratio 4, decline_ratio 2, single_purchase_interval
-- 90, recent_days 180, rate_ratio 0.5.  Rules, first match wins:
--   no order -> acquisition; recency > churn_days -> churned;
--   age <= new_days -> growth; recency > churn_ratio * usual -> churned;
--   recency > decline_ratio * usual -> decline;
--   recent rate < rate_ratio * earlier rate (earlier span >= recent_days
--   days) -> decline; purchase days < min_purchase_days -> growth;
--   else maturity.
-- recency / age: days from the last / first purchase day to as_of's day;
-- usual: median gap between purchase days (single_purchase_interval for one
-- purchase day).  Recent: purchase days in the last recent_days days
-- (k < 180 below), earlier: the others; earlier span = first k - 180 + 1.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- Orders as "k days before as_of" (as_of = 2024-01-01), so recency is the
-- smallest k and age the largest.
CREATE TEMP TABLE lc_orders (customer text, k integer, amount numeric);
INSERT INTO lc_orders
SELECT c, k, 10 FROM (VALUES
    -- age 30 <= 90: growth
    ('g_new', ARRAY[30]),
    -- age 90 = new_days: still growth
    ('g_age_90', ARRAY[90]),
    -- age 91 > 90; one day, usual = 90: 91 <= 2*90, the earlier span
    -- 91-180+1 < 180 skips the rate rule, 1 purchase day < 2: growth
    ('g_single_91', ARRAY[91]),
    -- one day, 180 = 2*90 is not more: growth
    ('g_single_180', ARRAY[180]),
    -- one day, 181 > 2*90: decline
    ('d_single_181', ARRAY[181]),
    -- one day, 360 = 4*90 is not more: decline
    ('d_single_360', ARRAY[360]),
    -- one day, 361 > 4*90: churned
    ('c_single_361', ARRAY[361]),
    -- recency 366 > 365: churned, whatever the interval (gaps of 1 day)
    ('c_window_366', ARRAY[366, 367, 368]),
    -- recency 365 is not more than 365; gaps 200, 200: usual 200, 365 <= 400;
    -- earlier span 765-180+1 = 586, recent 0 < 0.5 * 3 * 180 / 586: decline
    ('d_window_365', ARRAY[365, 565, 765]),
    -- every 30 days from k = 10 to 430 (15 days): usual 30, recency 10;
    -- recent k 10..160 = 6, earlier 190..430 = 9 over 430-180+1 = 251 days:
    -- 6 * 251 = 1506 >= 0.5 * 9 * 180 = 810: maturity
    ('m_monthly', ARRAY(SELECT 10 + 30 * i FROM generate_series(0, 14) i)),
    -- every 30 days from 60 to 360 (11 days): recency 60 = 2*30 is not more;
    -- recent 60..150 = 4, earlier 180..360 = 7 over 181 days:
    -- 4 * 181 = 724 >= 0.5 * 7 * 180 = 630: maturity
    ('m_gap_60', ARRAY(SELECT 60 + 30 * i FROM generate_series(0, 10) i)),
    -- every 30 days from 61 to 361: recency 61 > 2*30: decline
    ('d_gap_61', ARRAY(SELECT 61 + 30 * i FROM generate_series(0, 10) i)),
    -- every 30 days from 120 to 420: 120 = 4*30 is not more, > 60: decline
    ('d_gap_120', ARRAY(SELECT 120 + 30 * i FROM generate_series(0, 10) i)),
    -- every 30 days from 121 to 421: 121 > 4*30: churned
    ('c_gap_121', ARRAY(SELECT 121 + 30 * i FROM generate_series(0, 10) i)),
    -- gaps 59, 50, 50, 100, 95: median 59, recency 5; earlier span
    -- 359-180+1 = 180; recent 2 (100, 5), earlier 4:
    -- 2 * 180 = 360 is not below 0.5 * 4 * 180 = 360: maturity
    ('m_rate_equal', ARRAY[359, 300, 250, 200, 100, 5]),
    -- gaps 39, 30, 40, 50, 100, 95: median (40 + 50) / 2 = 45, recency 5;
    -- recent 2, earlier 5: 360 < 0.5 * 5 * 180 = 450: decline
    ('d_rate_below', ARRAY[359, 320, 290, 250, 200, 100, 5]),
    -- as d_rate_below but the first day at 358: earlier span 179 < 180,
    -- the rate rule is skipped (gaps 58, 50, 50, 10, 90, 95: median 54): maturity
    ('m_rate_short', ARRAY[358, 300, 250, 200, 190, 100, 5]),
    -- median, not mean: gaps 100, 10, 10 (median 10, mean 40), recency 30:
    -- 30 > 2*10 but not > 4*10: decline (the mean would say maturity)
    ('d_median', ARRAY[150, 50, 40, 30])
) v(c, ks), unnest(ks) k;
-- several orders on one day count as one purchase day; returns are not
-- purchases; orders after as_of do not exist yet
INSERT INTO lc_orders VALUES ('g_new', 30, 5), ('g_new', 30, 7), ('g_new', 20, -10),
                             ('g_new', -5, 10), ('g_new', -400, 10);

CREATE TEMP TABLE lc_customers (customer text, expected text);
INSERT INTO lc_customers
SELECT DISTINCT customer,
       CASE left(customer, 2) WHEN 'g_' THEN 'growth' WHEN 'd_' THEN 'decline'
                              WHEN 'c_' THEN 'churned' WHEN 'm_' THEN 'maturity' END
FROM lc_orders;
INSERT INTO lc_customers VALUES
    -- no order at all: acquisition (LEFT JOIN)
    ('a_lead', 'acquisition'),
    -- only orders after as_of: a lead at as_of
    ('a_future', 'acquisition'),
    -- a return only: the returned order is not in the data, stage unknown
    ('n_return_only', NULL);
INSERT INTO lc_orders VALUES ('a_future', -1, 10), ('n_return_only', 10, -10);

CREATE TEMP VIEW lc_stages AS
SELECT c.customer, c.expected,
       rfm_lifecycle(date '2024-01-01' - o.k, o.amount, date '2024-01-01') AS stage
FROM lc_customers c LEFT JOIN lc_orders o USING (customer)
GROUP BY c.customer, c.expected;

SELECT customer, stage, rfm_label(stage, 'zh') AS zh, stage IS NOT DISTINCT FROM expected AS ok
FROM lc_stages ORDER BY customer;

-- The other overloads give the same stages: float8 amounts, and
-- timestamptz at noon UTC with a UTC as_of.
SELECT count(*) AS customers,
       count(*) FILTER (WHERE s_num IS NOT DISTINCT FROM s_f8
                          AND s_num IS NOT DISTINCT FROM s_tz
                          AND s_num IS NOT DISTINCT FROM s_tz_f8) AS same
FROM (SELECT c.customer,
             rfm_lifecycle(date '2024-01-01' - o.k, o.amount, date '2024-01-01') AS s_num,
             rfm_lifecycle(date '2024-01-01' - o.k, o.amount::float8, date '2024-01-01') AS s_f8,
             rfm_lifecycle(timestamptz '2024-01-01 12:00+00' - o.k * interval '1 day', o.amount,
                           timestamptz '2024-01-01 12:00+00') AS s_tz,
             rfm_lifecycle(timestamptz '2024-01-01 12:00+00' - o.k * interval '1 day', o.amount::float8,
                           timestamptz '2024-01-01 12:00+00') AS s_tz_f8
      FROM lc_customers c LEFT JOIN lc_orders o USING (customer)
      GROUP BY c.customer) q;

-- As a window aggregate the final function runs again on a growing state
-- (it must not change it): with orders in time order, the running stage at
-- a customer's last order equals the grouped stage.
SELECT count(*) AS customers, count(*) FILTER (WHERE w.stage IS NOT DISTINCT FROM g.stage) AS same
FROM (SELECT DISTINCT ON (customer) customer, stage
      FROM (SELECT customer, k,
                   rfm_lifecycle(date '2024-01-01' - k, amount, date '2024-01-01')
                       OVER (PARTITION BY customer ORDER BY k DESC
                             ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS stage
            FROM lc_orders) r
      ORDER BY customer, k) w
JOIN lc_stages g USING (customer);

-- Date input does not depend on the session time zone.
CREATE TEMP TABLE lc_utc AS SELECT customer, stage FROM lc_stages;
SET TimeZone = 'Pacific/Kiritimati';
SELECT count(*) AS differ FROM lc_stages s JOIN lc_utc u USING (customer)
WHERE s.stage IS DISTINCT FROM u.stage;
SET TimeZone = 'America/Los_Angeles';
SELECT count(*) AS differ FROM lc_stages s JOIN lc_utc u USING (customer)
WHERE s.stage IS DISTINCT FROM u.stage;
-- timestamptz input uses the session's calendar days, as rfm_summary does:
-- one order at 2023-07-05 06:00 UTC, as_of 2024-01-01 12:00 UTC.  In Los
-- Angeles the order is on 2023-07-04 (23:00 PDT) and as_of on 2024-01-01
-- (04:00 PST): recency 181 > 2 * 90, decline; in UTC recency
-- 2024-01-01 - 2023-07-05 = 180, not more than 180: growth.
SELECT date '2024-01-01' - date '2023-07-05' AS utc_days,
       rfm_lifecycle(timestamptz '2023-07-05 06:00+00', 1::numeric, timestamptz '2024-01-01 12:00+00') AS la;
SET TimeZone = 'UTC';
SELECT rfm_lifecycle(timestamptz '2023-07-05 06:00+00', 1::numeric, timestamptz '2024-01-01 12:00+00') AS utc;

-- NULL and empty input.
SELECT rfm_lifecycle(NULL::date, NULL::numeric, date '2024-01-01') AS no_order;
SELECT rfm_lifecycle(d, a, date '2024-01-01') AS no_rows
FROM (VALUES (date '2023-01-01', 1::numeric)) v(d, a) WHERE false;
SELECT rfm_lifecycle(date '2023-12-01', NULL::numeric, date '2024-01-01') AS amount_null;
SELECT rfm_lifecycle(date '2023-12-01', 1::numeric, NULL::date) AS as_of_null;

-- Settings: an explicit row with the column defaults changes nothing.
SELECT count(*) AS rows FROM rfm_lifecycle_settings;
INSERT INTO rfm_lifecycle_settings DEFAULT VALUES;
SELECT * FROM rfm_lifecycle_settings;
SELECT count(*) AS differ FROM lc_stages s JOIN lc_utc u USING (customer)
WHERE s.stage IS DISTINCT FROM u.stage;
-- new_days 0, decline_ratio 4, min_purchase_days 20.  Changed:
--   d_gap_61 (61 <= 4*30; rate: recent 61..151 = 4, earlier 181..361 = 7 over
--     182 days, 728 >= 630; 11 days < 20), d_median (30 <= 4*10; span < 180;
--     4 days), d_single_181 (181 <= 4*90; span 2 < 180; 1 day): growth;
--   m_gap_60 (11 days), m_monthly (15), m_rate_equal (6), m_rate_short (7):
--     growth.
-- Unchanged: d_gap_120 (120 <= 4*30, rate: 2 * 241 = 482 < 0.5 * 9 * 180),
--   d_rate_below, d_window_365 and d_single_360 (rate rule) stay decline; the
--   churned ones (ratio 4 and 365 days) and growth ones (fewer than 20 days)
--   stay as they were.
UPDATE rfm_lifecycle_settings SET new_days = 0, decline_ratio = 4, min_purchase_days = 20;
SELECT customer, s.stage AS now, u.stage AS before
FROM lc_stages s JOIN lc_utc u USING (customer)
WHERE s.stage IS DISTINCT FROM u.stage ORDER BY customer;
-- A later statement sees a later change.  churn_days 10: only recency <= 10
-- escapes churn: m_monthly (10), m_rate_equal, m_rate_short (5; growth:
-- fewer than 20 days) and d_rate_below (5; decline by rate).
UPDATE rfm_lifecycle_settings SET churn_days = 10;
SELECT stage, count(*) FROM lc_stages GROUP BY stage ORDER BY stage;
-- Restored: deleting the row brings back the defaults.
DELETE FROM rfm_lifecycle_settings;
SELECT count(*) AS differ FROM lc_stages s JOIN lc_utc u USING (customer)
WHERE s.stage IS DISTINCT FROM u.stage;

-- Bad settings are rejected.
INSERT INTO rfm_lifecycle_settings (new_days) VALUES (-1);
INSERT INTO rfm_lifecycle_settings (min_purchase_days) VALUES (0);
INSERT INTO rfm_lifecycle_settings (churn_days) VALUES (0);
INSERT INTO rfm_lifecycle_settings (churn_ratio) VALUES (1.5);
INSERT INTO rfm_lifecycle_settings (churn_ratio, decline_ratio) VALUES ('infinity', 2);
INSERT INTO rfm_lifecycle_settings (churn_ratio, decline_ratio) VALUES (4, 'NaN');
INSERT INTO rfm_lifecycle_settings (churn_ratio, decline_ratio) VALUES (4, 0);
INSERT INTO rfm_lifecycle_settings (single_purchase_interval) VALUES (0);
INSERT INTO rfm_lifecycle_settings (recent_days) VALUES (0);
INSERT INTO rfm_lifecycle_settings (rate_ratio) VALUES (0);
INSERT INTO rfm_lifecycle_settings (rate_ratio) VALUES (1.01);
INSERT INTO rfm_lifecycle_settings (p_alive_churned) VALUES (0.7);
INSERT INTO rfm_lifecycle_settings (p_alive_decline) VALUES ('NaN');
INSERT INTO rfm_lifecycle_settings (churn_days) VALUES (NULL);
INSERT INTO rfm_lifecycle_settings (id) VALUES (false);
INSERT INTO rfm_lifecycle_settings DEFAULT VALUES;
INSERT INTO rfm_lifecycle_settings DEFAULT VALUES;
DELETE FROM rfm_lifecycle_settings;

-- rfm_lifecycle_stage: P(alive) only worsens a stage (thresholds 0.3, 0.6).
SELECT stage, p, rfm_lifecycle_stage(stage, p) AS with_p_alive
FROM unnest(ARRAY['acquisition', 'growth', 'maturity', 'decline', 'churned']) stage,
     unnest(ARRAY[NULL, 0.9, 0.6, 0.59, 0.3, 0.29]::float8[]) p
ORDER BY array_position(ARRAY['acquisition', 'growth', 'maturity', 'decline', 'churned'], stage), p DESC NULLS FIRST;
SELECT rfm_lifecycle_stage(NULL, 0.5) AS null_stage;
SELECT rfm_lifecycle_stage('lost', 0.5);
SELECT rfm_lifecycle_stage('growth', 1.5);
SELECT rfm_lifecycle_stage('growth', 'NaN');
INSERT INTO rfm_lifecycle_settings (p_alive_churned, p_alive_decline) VALUES (0.1, 0.2);
SELECT rfm_lifecycle_stage('maturity', 0.15) AS p_015, rfm_lifecycle_stage('maturity', 0.3) AS p_03;
DELETE FROM rfm_lifecycle_settings;

-- Labels of the stage codes.
SELECT code, rfm_label(code, 'en') AS en, rfm_label(code, 'zh') AS zh
FROM unnest(ARRAY['acquisition', 'growth', 'maturity', 'decline', 'churned']) code;

-- A second method: the same rules in plain SQL (window functions over the
-- distinct purchase days) on UCI Online Retail, as of 2011-12-10 00:00 UTC,
-- with whatever rfm_lifecycle_settings holds (or the defaults).
CREATE TEMP VIEW lc_settings AS
SELECT new_days, min_purchase_days, churn_days, churn_ratio, decline_ratio,
       single_purchase_interval, recent_days, rate_ratio
FROM rfm_lifecycle_settings
UNION ALL
SELECT 90, 2, 365, 4, 2, 90, 180, 0.5
WHERE NOT EXISTS (SELECT FROM rfm_lifecycle_settings);

CREATE TEMP VIEW lc_retail_sql AS
WITH days AS (
    SELECT DISTINCT customer_id, (invoice_time AT TIME ZONE 'UTC')::date AS d
    FROM retail
    WHERE amount >= 0 AND invoice_time <= '2011-12-10 00:00+00'
), gaps AS (
    SELECT customer_id, d, d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap
    FROM days
), per AS (
    SELECT customer_id, count(*) AS n,
           date '2011-12-10' - max(d) AS recency,
           date '2011-12-10' - min(d) AS age,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median_gap,
           count(*) FILTER (WHERE d > date '2011-12-10' - s.recent_days) AS recent,
           (date '2011-12-10' - s.recent_days) - min(d) + 1 AS earlier_span
    FROM gaps, lc_settings s
    GROUP BY customer_id, s.recent_days
)
SELECT c.customer_id,
       CASE WHEN p.n IS NULL THEN NULL
            WHEN p.recency > s.churn_days THEN 'churned'
            WHEN p.age <= s.new_days THEN 'growth'
            WHEN p.recency > s.churn_ratio * coalesce(p.median_gap, s.single_purchase_interval) THEN 'churned'
            WHEN p.recency > s.decline_ratio * coalesce(p.median_gap, s.single_purchase_interval) THEN 'decline'
            WHEN p.earlier_span >= s.recent_days
                 AND p.recent * p.earlier_span < s.rate_ratio * (p.n - p.recent) * s.recent_days THEN 'decline'
            WHEN p.n < s.min_purchase_days THEN 'growth'
            ELSE 'maturity' END AS stage,
       -- which rule decided (the same conditions, numbered as in the README)
       CASE WHEN p.n IS NULL THEN NULL
            WHEN p.recency > s.churn_days THEN 2
            WHEN p.age <= s.new_days THEN 3
            WHEN p.recency > s.churn_ratio * coalesce(p.median_gap, s.single_purchase_interval) THEN 4
            WHEN p.recency > s.decline_ratio * coalesce(p.median_gap, s.single_purchase_interval) THEN 5
            WHEN p.earlier_span >= s.recent_days
                 AND p.recent * p.earlier_span < s.rate_ratio * (p.n - p.recent) * s.recent_days THEN 6
            WHEN p.n < s.min_purchase_days THEN 7
            ELSE 8 END AS rule
FROM (SELECT DISTINCT customer_id FROM retail) c
     LEFT JOIN per p USING (customer_id), lc_settings s;

CREATE TEMP VIEW lc_retail_c AS
SELECT customer_id, rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00') AS stage
FROM retail GROUP BY customer_id;

CREATE TEMP VIEW lc_retail_compare AS
SELECT count(*) AS customers,
       count(*) FILTER (WHERE c.stage IS NOT DISTINCT FROM q.stage) AS same,
       count(*) FILTER (WHERE c.stage = 'growth') AS growth,
       count(*) FILTER (WHERE c.stage = 'maturity') AS maturity,
       count(*) FILTER (WHERE c.stage = 'decline') AS decline,
       count(*) FILTER (WHERE c.stage = 'churned') AS churned,
       count(*) FILTER (WHERE c.stage IS NULL) AS returns_only
FROM lc_retail_c c FULL JOIN lc_retail_sql q USING (customer_id);

SELECT * FROM lc_retail_compare;
-- every rule decides some customers (2: window, 3: new, 4: churn ratio,
-- 5: decline ratio, 6: rate, 7: few purchase days, 8: maturity)
SELECT rule, stage, count(*) FROM lc_retail_sql GROUP BY rule, stage ORDER BY rule;
-- shorter windows, so that the rate rule and the growth count rule bite
INSERT INTO rfm_lifecycle_settings (new_days, min_purchase_days, churn_days, churn_ratio,
                                    decline_ratio, single_purchase_interval, recent_days, rate_ratio)
VALUES (30, 3, 200, 5, 3, 60, 60, 0.75);
SELECT * FROM lc_retail_compare;
SELECT rule, stage, count(*) FROM lc_retail_sql GROUP BY rule, stage ORDER BY rule;
DELETE FROM rfm_lifecycle_settings;

-- With a model: P(alive) from BG/NBD.  A fit on these customers finds
-- almost no dropout (a near 0: P(alive) above 0.68 for everyone), so to see
-- the thresholds at work use the published CDNOW parameters (r 0.243, alpha
-- 4.414 weeks, a 0.793, b 2.426) on the customers' histories in weeks.
-- rfm_lifecycle_stage moves a stage to churned below 0.3 and to at least
-- decline below 0.6, and never improves one.
CREATE TEMP TABLE lc_alive AS
WITH s AS (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s,
                  rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00') AS stage
           FROM retail GROUP BY customer_id),
     m AS (SELECT rfm_bgnbd_model(0.243, 4.414, 0.793, 2.426, 'week', 'bgnbd') AS m)
SELECT customer_id, stage, p_alive, rfm_lifecycle_stage(stage, p_alive) AS combined
FROM (SELECT customer_id, stage,
             rfm_p_alive(m, (s).repeat_frequency, (s).repeat_recency / 7, (s).age / 7) AS p_alive
      FROM s, m) q;
SELECT count(*) FILTER (WHERE p_alive IS NOT NULL) AS with_p_alive,
       count(*) FILTER (WHERE combined IS DISTINCT FROM
                        CASE WHEN p_alive < 0.3 THEN 'churned'
                             WHEN p_alive < 0.6 AND stage IN ('growth', 'maturity') THEN 'decline'
                             ELSE stage END) AS differ,
       count(*) FILTER (WHERE combined <> stage) AS moved,
       count(*) FILTER (WHERE array_position(ARRAY['growth', 'maturity', 'decline', 'churned'], combined)
                            < array_position(ARRAY['growth', 'maturity', 'decline', 'churned'], stage)) AS improved
FROM lc_alive;
SELECT stage, combined, count(*) FROM lc_alive WHERE combined <> stage GROUP BY 1, 2 ORDER BY 1, 2;

-- Parallel aggregation gives the same stages.
CREATE TEMP TABLE lc_serial AS SELECT * FROM lc_retail_c;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SET parallel_leader_participation = off;
SET enable_hashagg = off;
EXPLAIN (COSTS OFF)
SELECT customer_id, rfm_lifecycle(invoice_time, amount, '2011-12-10 00:00+00') FROM retail GROUP BY customer_id;
SELECT count(*) AS customers, count(*) FILTER (WHERE p.stage IS NOT DISTINCT FROM s.stage) AS same
FROM lc_retail_c p FULL JOIN lc_serial s USING (customer_id);
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
RESET parallel_leader_participation;
RESET enable_hashagg;
