-- From segment to action: the rule tables and the per-row functions.
-- Expected values are written out by hand from DOMAIN.md (seed 000); the
-- queries print only the rows that differ from them.

-- 1. The strategy of each of the 8 value types (seed 000's table; general_keep,
--    which the table leaves out, is ours: win_back, with purchase reminders).
SELECT code, want, rfm_strategy(code) AS got
FROM (VALUES ('important_value', 'retain'), ('important_keep', 'retain'),
             ('important_develop', 'develop'), ('general_develop', 'develop'),
             ('general_value', 'develop'), ('important_win_back', 'win_back'),
             ('general_win_back', 'reduce'), ('general_keep', 'win_back')) v(code, want)
WHERE rfm_strategy(code) IS DISTINCT FROM want;

-- Chinese names of the strategies, through the type's strategy.
SELECT rfm_label(code, 'zh') AS type, rfm_label(rfm_strategy(code), 'zh') AS strategy
FROM (VALUES ('important_value'), ('important_keep'), ('important_develop'), ('important_win_back'),
             ('general_value'), ('general_develop'), ('general_keep'), ('general_win_back')) v(code);

-- 2. Channels, with contact intensity and cost (seed 000): important value and
--    keep: email, SMS (low to medium); important develop: phone, direct mail,
--    SMS (medium); important win-back: phone, account-manager visit (high).
SELECT code, want, rfm_channels(code) AS got
FROM (VALUES ('important_value', '{email,sms}'::text[]), ('important_keep', '{email,sms}'),
             ('important_develop', '{phone,direct_mail,sms}'),
             ('important_win_back', '{phone,account_manager_visit}')) v(code, want)
WHERE rfm_channels(code) IS DISTINCT FROM want;
SELECT code, (a).contact_intensity, (a).cost_level
FROM (SELECT code, rfm_action(code) AS a
      FROM (VALUES (1, 'important_value'), (2, 'important_keep'), (3, 'important_develop'),
                   (4, 'important_win_back')) v(i, code) ORDER BY i) q;
SELECT code, contact_intensity, cost_level, rfm_label(code, 'zh') AS zh
FROM rfm_channel ORDER BY code;

-- 3. The four tier discounts and prices by hand: 100 at 9折 is 90, at 8折 80,
--    at 6折 60; 59.99 * 0.6 = 35.994; 1234.56 * 0.9 = 1111.104.
SELECT tier, want, rfm_tier_discount(tier) AS got
FROM (VALUES ('basic', 0), ('silver', 0.10), ('gold', 0.20), ('vip', 0.40)) v(tier, want)
WHERE rfm_tier_discount(tier) <> want;
SELECT price, tier, want, rfm_discounted_price(price, tier) AS got
FROM (VALUES (100, 'basic', 100), (100, 'silver', 90), (100, 'gold', 80), (100, 'vip', 60),
             (59.99, 'vip', 35.994), (1234.56, 'silver', 1111.104), (0, 'gold', 0)) v(price, tier, want)
WHERE rfm_discounted_price(price, tier) <> want;
SELECT rfm_discounted_price(59.99, 'vip') AS exact, rfm_label('vip', 'zh') AS vip, rfm_label('silver', 'en') AS silver;

-- 4. Every classic segment and every value type has a rule; every one of the
--    125 score triples gets a plan.
SELECT count(*) AS triples, count(DISTINCT (rfm_action(rfm_segment(r, f, m))).strategy) AS strategies
FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m;
SELECT segment, strategy, tier, channels, techniques FROM rfm_segment_action ORDER BY strategy, segment;

-- The whole plan of the 8 types: tiers VIP, gold, gold, gold, silver, silver,
-- basic, basic and their discounts.
SELECT code, want_tier, want_discount, (a).tier, (a).discount
FROM (SELECT code, want_tier, want_discount, rfm_action(code) AS a
      FROM (VALUES ('important_value', 'vip', 0.40), ('important_keep', 'gold', 0.20),
                   ('important_develop', 'gold', 0.20), ('important_win_back', 'gold', 0.20),
                   ('general_value', 'silver', 0.10), ('general_develop', 'silver', 0.10),
                   ('general_keep', 'basic', 0), ('general_win_back', 'basic', 0)) v(code, want_tier, want_discount)) q
WHERE (a).tier <> want_tier OR (a).discount <> want_discount;
SELECT (rfm_action('important_value')).*;
SELECT rfm_action(NULL) IS NULL AS null_segment, rfm_strategy(NULL) IS NULL AS null_strategy,
       rfm_tier(NULL) IS NULL AS null_tier;

-- Labels of every code in the rule tables.
SELECT rfm_label('develop', 'en') AS en, rfm_label('win_back', 'zh') AS zh,
       rfm_label('cross_sell', 'zh') AS technique, rfm_label('account_manager_visit', 'zh') AS channel,
       rfm_label('important_value', 'zh') AS type, rfm_label('Champions', 'zh') AS segment;

-- 5. Loyalty points by hand (sign-up 100; the k-th order min(10 + 5(k - 1), 50);
--    online service 5; popular repeat 2; rates basic 1, silver 1.2, gold 1.5, VIP 2):
--    gold, 3 orders: (100 + 10 + 15 + 20) * 1.5 = 217.5 -> 217;
--    VIP, 12 orders of which 2 popular repeats, 3 online services:
--      (100 + (10+15+20+25+30+35+40+45+50+50) + 2*2 + 3*5) * 2 = 878;
--    silver, 5 orders, signed up elsewhere: (10+15+20+25+30) * 1.2 = 120.
SELECT tier, orders, online, popular, signed_up, want,
       rfm_loyalty_points(tier, orders, online, popular, signed_up) AS got
FROM (VALUES ('basic', 0, 0, 0, true, 100), ('basic', 1, 0, 0, true, 110),
             ('gold', 3, 0, 0, true, 217), ('vip', 12, 3, 2, true, 878),
             ('silver', 5, 0, 0, false, 120), ('basic', 3, 0, 3, false, 6)) v(tier, orders, online, popular, signed_up, want)
WHERE rfm_loyalty_points(tier, orders, online, popular, signed_up) <> want;
SELECT rfm_loyalty_points('gold', 3) AS gold_3_orders;
SELECT rfm_loyalty_points('gold', 2, 0, 3);
SELECT rfm_loyalty_points('gold', -1);
-- fewer points for a popular repeat: 2 points each instead of 10 and more
UPDATE rfm_loyalty_settings SET popular_repeat_points = 1, signup_points = 50;
SELECT rfm_loyalty_points('basic', 3, 0, 1) AS points;   -- 50 + 10 + 15 + 1
SELECT origin FROM rfm_loyalty_settings;

-- 6. Tiering by score (r + f + m; silver from 7, gold from 10, VIP from 13)
--    and by spend (silver from 1000, gold from 5000, VIP from 20000).
UPDATE rfm_tier_settings SET tier_by = 'score';
SELECT score, want, rfm_tier('Lost', score) AS got
FROM (VALUES (3, 'basic'), (6, 'basic'), (7, 'silver'), (9, 'silver'), (10, 'gold'),
             (12, 'gold'), (13, 'vip'), (15, 'vip')) v(score, want)
WHERE rfm_tier('Lost', score) <> want;
SELECT (rfm_action('Lost', 14)).tier AS lost_but_high_score, rfm_tier(NULL, 8) AS no_segment_needed;
SELECT rfm_tier('Champions');
UPDATE rfm_tier_settings SET tier_by = 'spend';
SELECT spend, want, rfm_tier('Lost', NULL, spend) AS got
FROM (VALUES (0, 'basic'), (999.99, 'basic'), (1000, 'silver'), (4999.99, 'silver'), (5000, 'gold'),
             (19999.999, 'gold'), (20000, 'vip'), (1e9, 'vip')) v(spend, want)
WHERE rfm_tier('Lost', NULL, spend) <> want;
SELECT (a).tier, (a).discount FROM (SELECT rfm_action('New Customers', NULL, 7500) AS a) q;
SELECT rfm_tier('Lost', NULL, -1);
SELECT rfm_tier('Lost', 5);
UPDATE rfm_tier_settings SET tier_by = 'segment';

-- 7. A changed discount table: silver 5% off, gold 25%, and a new diamond tier.
UPDATE rfm_tier SET discount = 0.05 WHERE code = 'silver';
UPDATE rfm_tier SET discount = 0.25 WHERE code = 'gold';
INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
VALUES ('diamond', 5, 0.50, 3, 100000, 15, 'Diamond member', '钻石会员');
SELECT price, tier, want, rfm_discounted_price(price, tier) AS got
FROM (VALUES (100, 'silver', 95), (100, 'gold', 75), (80, 'diamond', 40), (100, 'vip', 60)) v(price, tier, want)
WHERE rfm_discounted_price(price, tier) <> want;
SELECT code, rank, discount, origin FROM rfm_tier ORDER BY rank;
UPDATE rfm_segment_action SET tier = 'diamond' WHERE segment = 'important_value';
SELECT (a).tier, (a).discount FROM (SELECT rfm_action('important_value') AS a) q;
SELECT rfm_loyalty_points('diamond', 1, 0, 0, false) AS diamond_points;   -- 10 * 3

-- The rules are read once per query, and again when they change: in one
-- transaction and in a PL/pgSQL loop.
BEGIN;
SELECT rfm_strategy('general_keep');
UPDATE rfm_segment_action SET strategy = 'retain' WHERE segment = 'general_keep';
SELECT rfm_strategy('general_keep');
ROLLBACK;
DO $$
DECLARE s text;
BEGIN
  FOR i IN 1 .. 2 LOOP
    s := rfm_strategy('general_keep');
    RAISE NOTICE 'pass %: %', i, s;
    UPDATE rfm_segment_action SET strategy = 'develop' WHERE segment = 'general_keep';
  END LOOP;
  RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
SELECT rfm_strategy('general_keep');

-- 8. A company with its own 4 types instead of the 8: it deletes the 8 rules
--    and adds its own, with a strategy of its own.
INSERT INTO rfm_strategy (code, label_en, label_zh) VALUES ('nurture', 'Nurture', '培育');
DELETE FROM rfm_segment_action WHERE segment IN ('important_value', 'important_keep', 'important_develop',
    'important_win_back', 'general_value', 'general_develop', 'general_keep', 'general_win_back');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh)
VALUES ('key', 'retain', 'Account manager', '{account_manager_visit,email}', 'VIP price', '{up_sell,referral}', 'vip', 'Key customer', '关键客户'),
       ('growing', 'nurture', 'Onboarding', '{email,sms}', 'Silver price', '{cross_sell}', 'silver', 'Growing customer', '成长客户'),
       ('slipping', 'win_back', 'A call', '{phone}', 'Gold price', '{purchase_reminder}', 'gold', 'Slipping customer', '流失风险客户'),
       ('occasional', 'reduce', 'Self-service', '{email}', 'List price', '{}', 'basic', 'Occasional customer', '偶然客户');
-- their mapping from the value types: M high and R high -> key, M high and R
-- low -> slipping, M low and R high -> growing, else occasional
SELECT t, seg, (a).strategy, rfm_label((a).strategy, 'zh') AS zh, (a).channels, (a).tier, (a).discount,
       rfm_discounted_price(200, (a).tier) AS price_of_200
FROM (SELECT t, seg, rfm_action(seg) AS a
      FROM (SELECT t, CASE WHEN t IN ('important_value', 'important_develop') THEN 'key'
                           WHEN t IN ('important_keep', 'important_win_back') THEN 'slipping'
                           WHEN t IN ('general_value', 'general_develop') THEN 'growing'
                           ELSE 'occasional' END AS seg
            FROM (VALUES ('important_value'), ('important_win_back'), ('general_develop'), ('general_keep')) v(t)) q) r;
SELECT rfm_label('growing', 'zh') AS own_type, rfm_label('nurture', 'en') AS own_strategy;

-- 9. A segment with no rule is an error that names it, never a NULL.
SELECT rfm_strategy('important_value');
SELECT rfm_action('champions');
SELECT rfm_channels('');
SELECT rfm_tier_discount('Gold');

-- 10. Bad rules are rejected.
UPDATE rfm_tier SET discount = 1 WHERE code = 'vip';
UPDATE rfm_tier SET discount = -0.1 WHERE code = 'basic';
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('x', 'retian', '', '{email}', '', 'basic', 'x', 'x');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('x', 'retain', '', '{email}', '', 'platinum', 'x', 'x');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('x', 'retain', '', '{email,fax}', '', 'basic', 'x', 'x');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh)
VALUES ('x', 'retain', '', '{email}', '', '{upsell}', 'basic', 'x', 'x');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('x', 'retain', '', '{}', '', 'basic', 'x', 'x');
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('x', 'retain', '', '{email,email}', '', 'basic', 'x', 'x');
-- duplicate rules: a user rule twice, a changed rule again
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, tier, label_en, label_zh)
VALUES ('key', 'retain', '', '{email}', '', 'basic', 'x', 'x');
INSERT INTO rfm_strategy (code, label_en, label_zh) VALUES ('nurture', 'Nurture', '培育');
-- tiers: overlap (a higher rank starting lower), the same rank twice
INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
VALUES ('bronze', 6, 0.05, 1, 500, 5, 'Bronze', '铜牌会员');
UPDATE rfm_tier SET min_spend = 20000 WHERE code = 'gold';
INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
VALUES ('bronze', 4, 0.05, 1, 500, 5, 'Bronze', '铜牌会员');
UPDATE rfm_tier SET point_rate = 1.234 WHERE code = 'basic';
-- reshuffling bounds in one statement is fine: the check runs at its end
UPDATE rfm_tier SET min_spend = CASE code WHEN 'silver' THEN 2000 WHEN 'gold' THEN 8000 ELSE min_spend END;
SELECT code, min_spend FROM rfm_tier ORDER BY rank;
-- channels and settings
INSERT INTO rfm_channel (code, contact_intensity, cost_level, label_en, label_zh) VALUES ('fax', 'medium', 'huge', 'Fax', '传真');
DELETE FROM rfm_channel WHERE code = 'phone';
UPDATE rfm_channel SET code = 'telephone' WHERE code = 'phone';
DELETE FROM rfm_sales_technique WHERE code = 'referral';
DELETE FROM rfm_strategy WHERE code = 'retain';
UPDATE rfm_tier_settings SET tier_by = 'age';
INSERT INTO rfm_tier_settings (tier_by) VALUES ('score');
DELETE FROM rfm_loyalty_settings;
TRUNCATE rfm_segment_action;
SELECT count(*) AS tier_settings_rows FROM rfm_tier_settings;

-- 11. Which rows pg_dump keeps: changed and added rows, and the keys of the
--     deleted builtin rows (restored and applied after CREATE EXTENSION).
SELECT origin, count(*) FROM rfm_segment_action GROUP BY origin ORDER BY origin;
SELECT code, origin FROM rfm_tier WHERE origin <> 'builtin' ORDER BY code;
SELECT table_name, key FROM rfm_builtin_deleted ORDER BY 1, 2;
-- inserting a row with a builtin key replaces the builtin row
INSERT INTO rfm_channel (code, contact_intensity, cost_level, label_en, label_zh)
VALUES ('web', 'medium', 'low', 'Website', '官网');
SELECT code, contact_intensity, label_zh, origin FROM rfm_channel WHERE code = 'web';

-- 12. In parallel workers: the same plans as in the leader.
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
CREATE TABLE action_customers AS
SELECT i, (ARRAY['Champions', 'Lost', 'At Risk', 'key', 'growing'])[1 + i % 5] AS seg FROM generate_series(1, 5000) i;
ANALYZE action_customers;
EXPLAIN (COSTS OFF) SELECT (rfm_action(seg)).strategy, count(*) FROM action_customers GROUP BY 1;
SELECT (rfm_action(seg)).strategy, (rfm_action(seg)).tier, count(*) FROM action_customers GROUP BY 1, 2 ORDER BY 1, 2;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
DROP TABLE action_customers;
