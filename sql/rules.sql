-- The rule loader of the per-row functions (src/action_load.c): immune to
-- operators of other roles, strict about column types, NULLs and non-finite
-- numbers; tiers by spend for every customer; the digest of the rules.
-- Every change of the rules is rolled back: later tests see the defaults.

-- 1. An ordinary role that may create objects in public plants operators
--    that match the old loader's arithmetic exactly (integer - numeric for
--    1 - discount, numeric * integer for point_rate * 100).  Its functions
--    write a row each time they run.
CREATE ROLE regress_rfm_attacker;
GRANT CREATE ON SCHEMA public TO regress_rfm_attacker;
SET ROLE regress_rfm_attacker;
CREATE TABLE public.rules_attack_log (what text, by_role text);
GRANT INSERT ON public.rules_attack_log TO PUBLIC;
CREATE FUNCTION public.rules_minus(integer, numeric) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.rules_attack_log VALUES ('minus', current_user);
    RETURN 0.99;
END $$;
CREATE FUNCTION public.rules_times(numeric, integer) RETURNS numeric LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.rules_attack_log VALUES ('times', current_user);
    RETURN 99999;
END $$;
CREATE OPERATOR public.- (LEFTARG = integer, RIGHTARG = numeric, FUNCTION = public.rules_minus);
CREATE OPERATOR public.* (LEFTARG = numeric, RIGHTARG = integer, FUNCTION = public.rules_times);
RESET ROLE;
-- the operators do capture unqualified SQL run by a superuser: the loader's
-- old queries would have run them (two rows in the log)
SELECT 1 - discount AS captured_minus, point_rate * 100 AS captured_times FROM rfm_tier WHERE code = 'vip';
SELECT what, by_role FROM rules_attack_log ORDER BY what;
DELETE FROM rules_attack_log;
-- the functions as a superuser: the right values (by hand: VIP 40% off,
-- 100 -> 60; gold 3 orders (100 + 10 + 15 + 20) * 1.5 = 217), and the log
-- stays empty
SELECT rfm_tier_discount('vip') AS discount, rfm_discounted_price(100, 'vip') AS price,
       rfm_loyalty_points('gold', 3) AS points, (rfm_action('Champions')).tier AS tier,
       rfm_label('vip', 'zh') AS label;
SELECT count(*) AS attacker_calls FROM rules_attack_log;
DROP OWNED BY regress_rfm_attacker;
REVOKE CREATE ON SCHEMA public FROM regress_rfm_attacker;
DROP ROLE regress_rfm_attacker;

-- 2. A column of a rule table changed to another type, or a NULL where the
--    rules need a value: a clear error (42804, 23502), never a crash.  Every
--    column the functions read, changed in turn (text to varchar, integer to
--    bigint, numeric to float8 or, for point_rate whose CHECK needs numeric,
--    integer, text[] to varchar[]); each change is undone with its
--    subtransaction.
DO $$
DECLARE
    t record;
    st text;
    msg text;
BEGIN
    FOR t IN
        SELECT c.relname AS tab, a.attname AS col,
               CASE WHEN a.attname = 'point_rate' THEN 'integer'
                    ELSE CASE format_type(a.atttypid, a.atttypmod) WHEN 'text' THEN 'varchar' WHEN 'integer' THEN 'bigint'
                         WHEN 'numeric' THEN 'float8' WHEN 'text[]' THEN 'varchar[]' END END AS typ
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relname IN ('rfm_strategy', 'rfm_channel', 'rfm_sales_technique', 'rfm_tier', 'rfm_segment_action',
                            'rfm_tier_settings', 'rfm_loyalty_settings', 'rfm_customer_group')
          AND c.relnamespace = 'public'::regnamespace
          AND a.attname NOT IN ('origin', 'description', 'id', 'scheme', 'personal_care')
        ORDER BY c.relname, a.attnum
    LOOP
        BEGIN
            EXECUTE format('ALTER TABLE %I ALTER %I TYPE %s', t.tab, t.col, t.typ);
            IF t.tab = 'rfm_customer_group' THEN
                PERFORM rfm_group_label('A');
            ELSE
                PERFORM rfm_tier_discount('vip');
            END IF;
            RAISE NOTICE '%.% as %: no error', t.tab, t.col, t.typ;
        EXCEPTION WHEN others THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
            RAISE NOTICE '% %', st, msg;
        END;
    END LOOP;
END $$;
-- the whole error, with the statement that repairs the table
BEGIN;
ALTER TABLE rfm_tier ALTER min_spend TYPE float8;
SELECT rfm_tier_discount('vip');
ROLLBACK;
-- NULLs and non-finite numbers that the triggers would refuse, written with
-- the triggers off (as a table owner could)
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE rfm_tier ALTER point_rate DROP NOT NULL;
UPDATE rfm_tier SET point_rate = NULL WHERE code = 'gold';
SELECT rfm_tier_discount('vip');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE rfm_segment_action ALTER channels DROP NOT NULL;
UPDATE rfm_segment_action SET channels = NULL WHERE segment = 'Lost';
SELECT rfm_strategy('Lost');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE rfm_tier SET point_rate = 'NaN' WHERE code = 'gold';
SELECT rfm_tier_discount('vip');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE rfm_tier SET min_spend = NULL WHERE code = 'gold';
SELECT rfm_tier_discount('vip');
ROLLBACK;
-- ... which the triggers refuse
UPDATE rfm_tier SET point_rate = 'NaN' WHERE code = 'gold';
UPDATE rfm_tier SET min_spend = 'Infinity' WHERE code = 'vip';
UPDATE rfm_tier SET min_spend = NULL WHERE code = 'silver';

-- 3. Prices and spends that are not numbers: errors; NULL gives NULL.
SELECT rfm_discounted_price('NaN', 'vip');
SELECT rfm_discounted_price('Infinity', 'vip');
SELECT rfm_discounted_price('-Infinity', 'basic');
SELECT rfm_discounted_price(NULL, 'vip') IS NULL AS null_price,
       rfm_discounted_price(-100, 'vip') AS refund_of_100,
       rfm_discounted_price(1e30, 'gold') AS huge;
BEGIN;
UPDATE rfm_tier_settings SET tier_by = 'spend';
SELECT rfm_tier('Lost', NULL, 'NaN');
ROLLBACK;
BEGIN;
UPDATE rfm_tier_settings SET tier_by = 'spend';
SELECT rfm_tier('Lost', NULL, '-Infinity');
ROLLBACK;

-- 4. Tiers by spend for every customer.  The builtin basic tier has no
--    lower bound from 1.2 on, and is still a builtin row; the other bounds
--    are those of 1.0 (silver 1000, gold 5000, VIP 20000).
SELECT code, rank, min_spend, min_score, origin FROM rfm_tier ORDER BY rank;
-- The README's "Your own rules" example, then every customer of the Online
-- Retail data by net spend as of 2011-12-10: the tier of rfm_tier against
-- the bounds written out by hand.  Some customers have a negative net spend
-- (their returns exceed their orders), among them customers with orders.
BEGIN;
INSERT INTO rfm_strategy (code, label_en, label_zh) VALUES ('nurture', 'Nurture', '培育');
DELETE FROM rfm_segment_action WHERE segment LIKE 'important%' OR segment LIKE 'general%';
INSERT INTO rfm_segment_action (segment, strategy, service_lever, channels, price_lever, techniques, tier, label_en, label_zh)
VALUES ('key', 'retain', 'Account manager', '{account_manager_visit,email}', 'VIP price', '{up_sell,referral}', 'vip', 'Key customer', '关键客户'),
       ('growing', 'nurture', 'Onboarding', '{email,sms}', 'Silver price', '{cross_sell}', 'silver', 'Growing customer', '成长客户');
UPDATE rfm_tier SET discount = 0.05 WHERE code = 'silver';
UPDATE rfm_tier_settings SET tier_by = 'spend';
CREATE TEMP TABLE retail_spend AS
SELECT customer_id, (s).monetary AS spend, (s).frequency
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10') AS s
      FROM retail WHERE customer_id IS NOT NULL GROUP BY customer_id) q;
SELECT count(*) AS customers, count(*) FILTER (WHERE spend < 0) AS negative,
       count(*) FILTER (WHERE spend < 0 AND frequency > 0) AS negative_with_orders,
       count(rfm_tier(NULL, NULL, spend)) AS with_tier,
       count(*) FILTER (WHERE rfm_tier(NULL, NULL, spend) IS DISTINCT FROM
                        CASE WHEN spend >= 20000 THEN 'vip' WHEN spend >= 5000 THEN 'gold'
                             WHEN spend >= 1000 THEN 'silver' ELSE 'basic' END) AS differ
FROM retail_spend;
SELECT rfm_tier(NULL, NULL, spend) AS tier, count(*), min(spend), max(spend)
FROM retail_spend GROUP BY 1 ORDER BY min(spend);
SELECT (rfm_action('key', NULL, spend)).tier, rfm_discounted_price(100, rfm_tier('key', NULL, spend)) AS price_of_100
FROM retail_spend ORDER BY spend LIMIT 1;
ROLLBACK;
-- A lowest tier with a bound gives the old error, with a hint to remove it.
BEGIN;
UPDATE rfm_tier_settings SET tier_by = 'spend';
UPDATE rfm_tier SET min_spend = 0 WHERE code = 'basic';
SELECT origin FROM rfm_tier WHERE code = 'basic';
SELECT rfm_tier('Lost', NULL, -8.15);
ROLLBACK;
-- A new lowest tier without a bound: basic must then have one.
BEGIN;
UPDATE rfm_tier SET min_score = 1 WHERE code = 'basic';
SAVEPOINT two_unbounded;
INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
VALUES ('guest', 0, 0, 0, NULL, 0, 'Guest', '访客');
ROLLBACK TO SAVEPOINT two_unbounded;
UPDATE rfm_tier SET min_spend = 0 WHERE code = 'basic';
INSERT INTO rfm_tier (code, rank, discount, point_rate, min_spend, min_score, label_en, label_zh)
VALUES ('guest', 0, 0, 0, NULL, 0, 'Guest', '访客');
UPDATE rfm_tier_settings SET tier_by = 'spend';
SELECT rfm_tier('Lost', NULL, -5) AS below_zero, rfm_tier('Lost', NULL, 0) AS zero,
       rfm_tier('Lost', NULL, 999) AS below_silver;
ROLLBACK;

-- 5. The digest of the rules: one line per table, the row counts of the
--    defaults (4 strategies, 8 channels, 5 techniques, 4 tiers, 19 segment
--    rules, the two settings rows, no lifecycle settings row; 11 customer
--    groups and their settings row).
SELECT table_name, rows, length(digest) AS hex_digits FROM rfm_rules_digests();
CREATE TEMP TABLE digest0 AS SELECT rfm_rules_digest() AS d;
-- equal content, other physical order and history: rows rewritten in place,
-- a builtin row deleted and inserted again (now a user row, with a tombstone)
BEGIN;
UPDATE rfm_strategy SET label_en = label_en;
UPDATE rfm_channel SET code = code WHERE code IN ('email', 'web');
SELECT rfm_rules_digest() = (SELECT d FROM digest0) AS same_after_rewrite;
ROLLBACK;
BEGIN;
DELETE FROM rfm_channel WHERE code = 'kiosk';
INSERT INTO rfm_channel (code, contact_intensity, cost_level, label_en, label_zh)
VALUES ('kiosk', 'low', 'medium', 'Self-service terminal', '自助终端');
SELECT origin FROM rfm_channel WHERE code = 'kiosk';
SELECT rfm_rules_digest() = (SELECT d FROM digest0) AS same_after_reinsert;
ROLLBACK;
-- any edit changes it, and undoing the edit restores it
BEGIN;
UPDATE rfm_tier SET discount = 0.35 WHERE code = 'vip';
SELECT rfm_rules_digest() = (SELECT d FROM digest0) AS same_after_edit;
UPDATE rfm_tier SET discount = 0.40 WHERE code = 'vip';
SELECT rfm_rules_digest() = (SELECT d FROM digest0) AS same_after_undo;
ROLLBACK;
CREATE TEMP TABLE digests0 AS SELECT * FROM rfm_rules_digests();
DO $$
DECLARE
    e text;
    changed text;
BEGIN
    FOREACH e IN ARRAY ARRAY[
        'UPDATE rfm_strategy SET description = description || ''.'' WHERE code = ''reduce''',
        'UPDATE rfm_channel SET label_zh = ''电邮'' WHERE code = ''email''',
        'UPDATE rfm_sales_technique SET label_en = ''Upsell'' WHERE code = ''up_sell''',
        'UPDATE rfm_tier SET min_score = 14 WHERE code = ''vip''',
        'UPDATE rfm_segment_action SET channels = ''{email}'' WHERE segment = ''Champions''',
        'UPDATE rfm_tier_settings SET tier_by = ''score''',
        'UPDATE rfm_loyalty_settings SET signup_points = 101',
        'INSERT INTO rfm_lifecycle_settings DEFAULT VALUES']
    LOOP
        BEGIN
            EXECUTE e;
            SELECT string_agg(n.table_name, ', ') INTO changed
            FROM rfm_rules_digests() n JOIN digests0 o USING (table_name)
            WHERE n.digest <> o.digest;
            RAISE NOTICE '%: % (digest %)', e, changed,
                CASE WHEN rfm_rules_digest() = (SELECT d FROM digest0) THEN 'unchanged' ELSE 'changed' END;
            RAISE EXCEPTION 'undo' USING ERRCODE = 'P0001';
        EXCEPTION WHEN raise_exception THEN NULL;
        END;
    END LOOP;
END $$;
SELECT rfm_rules_digest() = (SELECT d FROM digest0) AS same_at_the_end;
