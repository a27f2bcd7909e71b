-- The customer groups of seeds 001 (A-E), 004 (ARPU) and 003 (value tiers):
-- cut points over a set of customers, the group of each customer, and the
-- editable labels and strategies.  Expected values are worked out by hand
-- in the comments; the rules are changed only inside transactions.

-- Six customers: a lead and five buyers.
CREATE TABLE group_customers (customer text, frequency integer, revenue numeric, tenure_days float8);
INSERT INTO group_customers VALUES
 ('c1', 0, 0, NULL), ('c2', 1, 50, 100), ('c3', 2, 400, 730),
 ('c4', 5, 250, 365), ('c5', 6, 1800, 1095), ('c6', 1, 300, 10);
CREATE VIEW group_view AS
SELECT customer, frequency, revenue,
       revenue / nullif(frequency, 0) AS aov,
       rfm_arpu(revenue::float8, tenure_days) AS arpu
FROM group_customers;
-- ARPU per year, at least one year: c2 50/1 = 50, c3 400/2 = 200, c4 250/1,
-- c5 1800/3 = 600, c6 300/1 (10 days count one year); c1 no tenure: NULL.
SELECT customer, arpu FROM group_view ORDER BY customer;

-- 1. Cut points over the buyers.  Frequencies 1, 2, 5, 6, 1: mean 3,
--    median 2.  Order values 50, 200, 50, 300, 300: mean 180, median 200.
--    ARPU 50, 200, 250, 600, 300: the 0.6 quantile (linear, 0.6 * 4 = 2.4
--    between 250 and 300) is 270; the high threshold 500.  Revenue 50, 400,
--    250, 1800, 300: the 0.3 quantile 250 + 0.2 * 50 = 260, the 0.8 quantile
--    400 + 0.2 * 1400 = 680.
SELECT ae_frequency_cut, ae_aov_cut, round(arpu_basic_cut::numeric, 9) AS arpu_basic_cut, arpu_high_cut,
       round(value_low_cut::numeric, 9) AS value_low_cut, round(value_high_cut::numeric, 9) AS value_high_cut
FROM rfm_group_cuts('group_view', 'frequency', 'aov', 'arpu', 'revenue');

-- 2. The groups with the mean cuts (3, 180): c1 A (no order); c2 f 1, aov 50:
--    B; c3 f 2, aov 200: D; c4 f 5, aov 50: C; c5 f 6, aov 300: E; c6 f 1,
--    aov 300: D.  ARPU: c2, c3, c4 at most 270 basic (3 of 5 buyers, 60%),
--    c6 300 mid, c5 600 high (personal care).  Value: c5 1800 high; c3 400
--    and c6 300 medium; c2 50, c4 250 and the lead's 0 low.
SELECT g.customer, rfm_ae_group(frequency, aov, k.ae_frequency_cut, k.ae_aov_cut) AS ae,
       rfm_arpu_group(arpu, k.arpu_basic_cut, k.arpu_high_cut) AS arpu_group,
       rfm_value_tier(revenue, k.value_low_cut, k.value_high_cut) AS value_tier
FROM group_view g, rfm_group_cuts('group_view', 'frequency', 'aov', 'arpu', 'revenue') k
ORDER BY g.customer;

-- with the median (2, 200): c3 (2, 200) is not above either cut: B
BEGIN;
UPDATE rfm_group_settings SET ae_cut = 'median';
SELECT string_agg(g.customer || ':' || rfm_ae_group(frequency, aov, k.ae_frequency_cut, k.ae_aov_cut), ' ' ORDER BY g.customer) AS median_groups
FROM group_view g, rfm_group_cuts('group_view', 'frequency', 'aov') k;
-- fixed cuts (4 orders, 100): c2 B, c3 D, c4 C, c5 E, c6 D
UPDATE rfm_group_settings SET ae_cut = 'fixed', ae_frequency_cut = 4, ae_aov_cut = 100;
SELECT string_agg(g.customer || ':' || rfm_ae_group(frequency, aov, k.ae_frequency_cut, k.ae_aov_cut), ' ' ORDER BY g.customer) AS fixed_groups
FROM group_view g, rfm_group_cuts('group_view', 'frequency', 'aov') k;
-- other shares: ARPU basic 40% (0.4 * 4 = 1.6: 200 + 0.6 * 50 = 230), a
-- threshold of 250, value top 40% (0.6 quantile of revenue: 300 + 0.4 * 100 = 340)
UPDATE rfm_group_settings SET arpu_basic_share = 0.4, arpu_high = 250, value_high_share = 0.4;
SELECT round(arpu_basic_cut::numeric, 9) AS arpu_basic_cut, arpu_high_cut, round(value_high_cut::numeric, 9) AS value_high_cut
FROM rfm_group_cuts('group_view', 'frequency', 'aov', 'arpu', 'revenue');
SELECT origin FROM rfm_group_settings;
ROLLBACK;

-- 3. Edge cases: NULL, NaN, ties at the cuts, bad settings.
SELECT rfm_ae_group(NULL, NULL, 3, 180) AS lead, rfm_ae_group(0, NULL, 3, 180) AS no_order,
       rfm_ae_group(3, 180, 3, 180) AS at_cuts, rfm_ae_group(2, 50, NULL, 180) AS no_cut,
       rfm_ae_group('NaN', 50, 3, 180) AS nan_frequency, rfm_ae_group(4, 'NaN', 3, 180) AS nan_aov;
SELECT rfm_arpu(100, 730, 365) AS two_years, rfm_arpu(100, 0, 365) AS first_day,
       rfm_arpu(-30, 400, 365) AS net_returns, rfm_arpu(100, 30, 0) AS zero_period,
       rfm_arpu('Infinity', 10, 365) AS infinite, rfm_arpu(100, 'NaN', 365) AS nan_tenure,
       rfm_arpu(100, 45, 30) AS monthly;
SELECT rfm_arpu_group(500, 270, 500) AS at_threshold, rfm_arpu_group(270, 270, 500) AS at_basic_cut,
       rfm_arpu_group(-10, 270, 500) AS negative, rfm_arpu_group('NaN', 270, 500) AS nan,
       rfm_arpu_group(900, NULL, 500) AS high_without_basic_cut;
SELECT rfm_value_tier(680, 260, 680) AS at_high_cut, rfm_value_tier(260, 260, 680) AS at_low_cut,
       rfm_value_tier(-5, 260, 680) AS negative, rfm_value_tier('NaN', 260, 680) AS nan;
UPDATE rfm_group_settings SET ae_cut = 'fixed';
UPDATE rfm_group_settings SET ae_cut = 'mode';
UPDATE rfm_group_settings SET value_high_share = 0.8;
UPDATE rfm_group_settings SET arpu_period_days = 0;
DELETE FROM rfm_group_settings;
-- a second row replaces the one row in place (as a restore does)
BEGIN;
INSERT INTO rfm_group_settings (ae_cut) VALUES ('median');
SELECT count(*), min(ae_cut) AS ae_cut, min(origin) AS origin FROM rfm_group_settings;
ROLLBACK;
-- an empty set of customers: no cuts (NULL), so no group but A
CREATE TEMP TABLE no_customers (frequency integer, aov numeric);
SELECT ae_frequency_cut, ae_aov_cut, arpu_high_cut FROM rfm_group_cuts('no_customers', 'frequency', 'aov');
SELECT * FROM rfm_group_cuts('no_customers', 'frequency', 'no_such_column');

-- 4. The rule table: every group a function returns has a row, with both
--    labels and a strategy (11 groups); rows cannot be deleted or renamed;
--    edits are kept as changed rows (pg_dump: test/t/002_config_dump.pl).
SELECT scheme, string_agg(code, ' ' ORDER BY code) AS codes, bool_and(label_zh <> '' AND strategy_zh <> ''
       AND strategy_en <> '') AS complete, count(*) FILTER (WHERE personal_care) AS personal_care
FROM rfm_customer_group GROUP BY scheme ORDER BY scheme;
SELECT v.code FROM (VALUES ('A'), ('B'), ('C'), ('D'), ('E'), ('arpu_basic'), ('arpu_mid'), ('arpu_high'),
                           ('high_value'), ('medium_value'), ('low_value')) v(code)
WHERE rfm_group_label(v.code) IS NULL OR rfm_group_strategy(v.code, 'zh') IS NULL;
SELECT rfm_group_label('E', 'zh') AS e_zh, rfm_group_strategy('E') AS e_strategy,
       rfm_group_label('arpu_high') AS arpu_high, rfm_group_strategy('high_value', 'zh') AS high_value_zh,
       rfm_group_label(NULL) IS NULL AS null_code;
SELECT rfm_group_label('F');
SELECT rfm_group_strategy('e');
SELECT rfm_group_strategy('E', 'de');
DELETE FROM rfm_customer_group WHERE code = 'E';
UPDATE rfm_customer_group SET code = 'F' WHERE code = 'E';
INSERT INTO rfm_customer_group (code, scheme, label_en, label_zh, strategy_en, strategy_zh)
VALUES ('F', 'ae', 'F', 'F', 'x', 'x');
TRUNCATE rfm_customer_group;
BEGIN;
UPDATE rfm_customer_group SET strategy_en = 'Call them every quarter' WHERE code = 'high_value';
-- inserting a builtin code replaces the row (as a restore does)
INSERT INTO rfm_customer_group (code, scheme, label_en, label_zh, strategy_en, strategy_zh, personal_care)
VALUES ('arpu_mid', 'arpu', 'Middle', '中等', 'Video plans', '视频套餐', false);
SELECT code, origin, strategy_en FROM rfm_customer_group WHERE origin <> 'builtin' ORDER BY code;
SELECT rfm_group_strategy('high_value') AS high_value;
ROLLBACK;
-- per query, and again after a change within a transaction
BEGIN;
SELECT string_agg(rfm_group_strategy(code), ' | ' ORDER BY code) AS ae_strategies FROM (VALUES ('B'), ('D')) v(code);
UPDATE rfm_customer_group SET strategy_en = 'Remind them' WHERE code = 'D';
SELECT string_agg(rfm_group_strategy(code), ' | ' ORDER BY code) AS ae_strategies FROM (VALUES ('B'), ('D')) v(code);
ROLLBACK;
-- a changed column type is a clear error, as for the rule tables
BEGIN;
ALTER TABLE rfm_customer_group ALTER strategy_en TYPE varchar;
SELECT rfm_group_strategy('E');
ROLLBACK;

-- 5. The R package's orders as of 2007-01-01: the groups against an
--    independent computation with avg() and percentile_cont(); about 60% of
--    the buyers in the basic ARPU group.
CREATE TEMP TABLE r_customers AS
SELECT customer_id, (s).frequency, (s).monetary AS revenue, (s).avg_order_value AS aov,
       rfm_arpu((s).monetary::float8, (s).tenure) AS arpu
FROM (SELECT customer_id, rfm_summary(order_date, revenue, '2007-01-01') AS s
      FROM rfm_orders GROUP BY customer_id) q;
WITH k AS (SELECT * FROM rfm_group_cuts('r_customers', 'frequency', 'aov', 'arpu', 'revenue')),
     m AS (SELECT avg(frequency) AS f, avg(aov) AS a,
                  percentile_cont(0.6) WITHIN GROUP (ORDER BY arpu) AS b,
                  percentile_cont(0.3) WITHIN GROUP (ORDER BY revenue) AS lo,
                  percentile_cont(0.8) WITHIN GROUP (ORDER BY revenue) AS hi
           FROM r_customers WHERE frequency > 0)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE rfm_ae_group(frequency, aov, k.ae_frequency_cut, k.ae_aov_cut) IS DISTINCT FROM
           CASE WHEN frequency > m.f AND aov > m.a THEN 'E' WHEN frequency > m.f THEN 'C'
                WHEN aov > m.a THEN 'D' ELSE 'B' END) AS ae_differ,
       count(*) FILTER (WHERE rfm_arpu_group(arpu, k.arpu_basic_cut, k.arpu_high_cut) IS DISTINCT FROM
           CASE WHEN arpu >= 500 THEN 'arpu_high' WHEN arpu > m.b THEN 'arpu_mid' ELSE 'arpu_basic' END) AS arpu_differ,
       count(*) FILTER (WHERE rfm_value_tier(revenue, k.value_low_cut, k.value_high_cut) IS DISTINCT FROM
           CASE WHEN revenue >= m.hi THEN 'high_value' WHEN revenue > m.lo THEN 'medium_value' ELSE 'low_value' END) AS value_differ,
       round(count(*) FILTER (WHERE rfm_arpu_group(arpu, k.arpu_basic_cut, k.arpu_high_cut) = 'arpu_basic') / count(*)::numeric, 2) AS basic_share
FROM r_customers, k, m WHERE frequency > 0;
SELECT rfm_ae_group(frequency, aov, k.ae_frequency_cut, k.ae_aov_cut) AS ae, count(*)
FROM r_customers, rfm_group_cuts('r_customers', 'frequency', 'aov') k GROUP BY 1 ORDER BY 1;

-- 6. The cut points computed inline, as a model's view can (the query of
--    docs/drafts/rules.md), equal those of rfm_group_cuts: mean, median, fixed.
CREATE TEMP VIEW r_cuts_inline AS
WITH c AS (SELECT * FROM r_customers)
SELECT CASE s.ae_cut WHEN 'mean' THEN avg(c.frequency::float8)
                     WHEN 'median' THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY c.frequency::float8)
                     ELSE s.ae_frequency_cut END AS ae_frequency_cut,
       CASE s.ae_cut WHEN 'mean' THEN avg(c.aov::float8)
                     WHEN 'median' THEN percentile_cont(0.5) WITHIN GROUP (ORDER BY c.aov::float8)
                     ELSE s.ae_aov_cut END AS ae_aov_cut,
       percentile_cont(s.arpu_basic_share) WITHIN GROUP (ORDER BY c.arpu) AS arpu_basic_cut,
       s.arpu_high AS arpu_high_cut,
       percentile_cont(s.value_low_share) WITHIN GROUP (ORDER BY c.revenue::float8) AS value_low_cut,
       percentile_cont(1 - s.value_high_share) WITHIN GROUP (ORDER BY c.revenue::float8) AS value_high_cut
FROM c, rfm_group_settings s WHERE c.frequency > 0 GROUP BY s.id;
SELECT i.* IS NOT DISTINCT FROM g.* AS same_mean, i.ae_frequency_cut AS mean_frequency
FROM r_cuts_inline i, rfm_group_cuts('r_customers', 'frequency', 'aov', 'arpu', 'revenue') g;
BEGIN;
UPDATE rfm_group_settings SET ae_cut = 'median', arpu_basic_share = 0.5;
SELECT i.* IS NOT DISTINCT FROM g.* AS same_median, i.ae_frequency_cut AS median_frequency
FROM r_cuts_inline i, rfm_group_cuts('r_customers', 'frequency', 'aov', 'arpu', 'revenue') g;
UPDATE rfm_group_settings SET ae_cut = 'fixed', ae_frequency_cut = 5, ae_aov_cut = 100;
SELECT i.* IS NOT DISTINCT FROM g.* AS same_fixed
FROM r_cuts_inline i, rfm_group_cuts('r_customers', 'frequency', 'aov', 'arpu', 'revenue') g;
ROLLBACK;

-- The group functions (C, shared with rfm_model_customers) against their
-- rules written as SQL CASE expressions, on every combination of NULL, NaN,
-- the infinities, and values below, at and above the cuts.
WITH v(x) AS (VALUES (NULL::float8), ('NaN'), ('-Infinity'), (-1), (0), (0.5), (1), (2), (365), ('Infinity')),
ae AS (
SELECT rfm_ae_group(f.x, a.x, fc.x, ac.x) AS c,
       CASE WHEN f.x = 'NaN' OR a.x = 'NaN' THEN NULL
            WHEN f.x IS NULL OR f.x <= 0 THEN 'A'
            WHEN a.x IS NULL OR fc.x IS NULL OR ac.x IS NULL THEN NULL
            WHEN f.x > fc.x THEN CASE WHEN a.x > ac.x THEN 'E' ELSE 'C' END
            ELSE CASE WHEN a.x > ac.x THEN 'D' ELSE 'B' END END AS sql
FROM v f, v a, v fc, v ac),
arpu AS (
SELECT rfm_arpu(r.x, t.x, p.x) AS c,
       CASE WHEN p.x IS NULL OR NOT (p.x > 0 AND p.x < 'Infinity')
              OR NOT (t.x >= 0 AND t.x < 'Infinity') OR NOT (r.x > '-Infinity' AND r.x < 'Infinity') THEN NULL
            ELSE r.x / float8larger(t.x / p.x, 1) END AS sql
FROM v r, v t, v p),
arpu_group AS (
SELECT rfm_arpu_group(a.x, b.x, h.x) AS c,
       CASE WHEN a.x IS NULL OR a.x = 'NaN' THEN NULL
            WHEN h.x IS NOT NULL AND a.x >= h.x THEN 'arpu_high'
            WHEN b.x IS NULL THEN NULL
            WHEN a.x > b.x THEN 'arpu_mid' ELSE 'arpu_basic' END AS sql
FROM v a, v b, v h),
tier AS (
SELECT rfm_value_tier(x.x, l.x, h.x) AS c,
       CASE WHEN x.x IS NULL OR x.x = 'NaN' OR l.x IS NULL OR h.x IS NULL THEN NULL
            WHEN x.x >= h.x THEN 'high_value' WHEN x.x > l.x THEN 'medium_value' ELSE 'low_value' END AS sql
FROM v x, v l, v h)
SELECT 'rfm_ae_group' AS f, count(*) AS combinations, count(*) FILTER (WHERE c IS DISTINCT FROM sql) AS differ FROM ae
UNION ALL
SELECT 'rfm_arpu', count(*), count(*) FILTER (WHERE c IS DISTINCT FROM sql) FROM arpu
UNION ALL
SELECT 'rfm_arpu_group', count(*), count(*) FILTER (WHERE c IS DISTINCT FROM sql) FROM arpu_group
UNION ALL
SELECT 'rfm_value_tier', count(*), count(*) FILTER (WHERE c IS DISTINCT FROM sql) FROM tier;

DROP VIEW group_view;
DROP TABLE group_customers;
