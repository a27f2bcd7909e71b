
-- ==== Customer groups of seeds 001, 003 and 004 ====
--
-- Three more views of the customers, each a handful of fixed groups with an
-- editable label and strategy (rfm_customer_group) and editable cut points
-- (rfm_group_settings):
--   A-E (seed 001): A = leads without an order; the buyers in four quadrants
--     of order frequency and average order value (客单价): B low/low (where a
--     new customer starts), C high frequency/low value, D low frequency/high
--     value, E high/high (where the firm wants them to stay).
--   ARPU groups (seed 004): revenue per customer per period (a year by
--     default; a customer younger than one period counts one period):
--     basic (the lowest ~60%), middle, and high (at or above a threshold,
--     500 in the article: a personal file and care).
--   Value tiers (seed 003): high, medium, low by revenue or CLV; by default
--     the top 20% and the bottom 30% (the 20/80/30 rule of seed 002).
-- The per-customer functions are IMMUTABLE SQL that the planner inlines;
-- rfm_group_cuts computes the cut points over a set of customers.  Both
-- tables are configuration tables like the rule tables of 1.0 (origin,
-- pg_dump keeps changed rows); their rows cannot be added or deleted, so
-- every group a function returns has its row.

CREATE TABLE @extschema@.rfm_customer_group (
    code text PRIMARY KEY
        CONSTRAINT rfm_customer_group_known_code CHECK (code IN ('A', 'B', 'C', 'D', 'E',
            'arpu_basic', 'arpu_mid', 'arpu_high', 'high_value', 'medium_value', 'low_value')),
    scheme text NOT NULL,
    label_en text NOT NULL,
    label_zh text NOT NULL,
    strategy_en text NOT NULL,
    strategy_zh text NOT NULL,
    personal_care boolean NOT NULL DEFAULT false,
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user')),
    CONSTRAINT rfm_customer_group_scheme CHECK (scheme = CASE WHEN code IN ('A', 'B', 'C', 'D', 'E') THEN 'ae'
                                                              WHEN code LIKE 'arpu%' THEN 'arpu' ELSE 'value' END)
);
GRANT SELECT ON @extschema@.rfm_customer_group TO PUBLIC;
COMMENT ON TABLE @extschema@.rfm_customer_group IS
    'The groups of rfm_ae_group (A-E, seed 001), rfm_arpu_group (seed 004) and rfm_value_tier (seed 003) with their labels and strategies; edit labels and strategies, the rows are fixed';
COMMENT ON COLUMN @extschema@.rfm_customer_group.scheme IS 'ae (frequency x average order value), arpu or value';
COMMENT ON COLUMN @extschema@.rfm_customer_group.strategy_en IS 'What to do for the group (English)';
COMMENT ON COLUMN @extschema@.rfm_customer_group.strategy_zh IS 'What to do for the group (Chinese)';
COMMENT ON COLUMN @extschema@.rfm_customer_group.personal_care IS 'The group''s customers get a personal file and care (seed 004: ARPU of 500 and more)';

CREATE TABLE @extschema@.rfm_group_settings (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    ae_cut text NOT NULL DEFAULT 'mean' CHECK (ae_cut IN ('mean', 'median', 'fixed')),
    ae_frequency_cut float8 CHECK (ae_frequency_cut >= 0 AND ae_frequency_cut < 'infinity'),
    ae_aov_cut float8 CHECK (ae_aov_cut > '-infinity' AND ae_aov_cut < 'infinity'),
    arpu_period_days float8 NOT NULL DEFAULT 365 CHECK (arpu_period_days > 0 AND arpu_period_days < 'infinity'),
    arpu_basic_share float8 NOT NULL DEFAULT 0.6 CHECK (arpu_basic_share > 0 AND arpu_basic_share < 1),
    arpu_high float8 NOT NULL DEFAULT 500 CHECK (arpu_high > '-infinity' AND arpu_high < 'infinity'),
    value_by text NOT NULL DEFAULT 'revenue' CHECK (value_by IN ('revenue', 'clv')),
    value_high_share float8 NOT NULL DEFAULT 0.2 CHECK (value_high_share > 0 AND value_high_share < 1),
    value_low_share float8 NOT NULL DEFAULT 0.3 CHECK (value_low_share > 0 AND value_low_share < 1),
    origin text NOT NULL DEFAULT 'user' CHECK (origin IN ('builtin', 'changed', 'user')),
    CONSTRAINT fixed_cuts_given CHECK (ae_cut <> 'fixed' OR (ae_frequency_cut IS NOT NULL AND ae_aov_cut IS NOT NULL)),
    CONSTRAINT value_shares_fit CHECK (value_high_share + value_low_share <= 1)
);
GRANT SELECT ON @extschema@.rfm_group_settings TO PUBLIC;
COMMENT ON TABLE @extschema@.rfm_group_settings IS
    'One row: the cut points of the A-E groups (mean, median or fixed), the ARPU period, basic share and high threshold, and the value tiers'' measure and shares; read by rfm_group_cuts';
COMMENT ON COLUMN @extschema@.rfm_group_settings.ae_cut IS 'A-E: high frequency (order value) is above the buyers'' mean, median, or the fixed cut below';
COMMENT ON COLUMN @extschema@.rfm_group_settings.ae_frequency_cut IS 'A-E with ae_cut = ''fixed'': orders above this are high frequency';
COMMENT ON COLUMN @extschema@.rfm_group_settings.ae_aov_cut IS 'A-E with ae_cut = ''fixed'': an average order value above this is high';
COMMENT ON COLUMN @extschema@.rfm_group_settings.arpu_period_days IS 'ARPU: revenue per this many days of tenure (365: per year; a younger customer counts one period)';
COMMENT ON COLUMN @extschema@.rfm_group_settings.arpu_basic_share IS 'ARPU: the basic group is the customers at or below this quantile of ARPU (seed 004: about 60%)';
COMMENT ON COLUMN @extschema@.rfm_group_settings.arpu_high IS 'ARPU: at or above this, the high group, with personal care (seed 004: 500)';
COMMENT ON COLUMN @extschema@.rfm_group_settings.value_by IS 'Value tiers: by revenue or by CLV (which value a model passes)';
COMMENT ON COLUMN @extschema@.rfm_group_settings.value_high_share IS 'Value tiers: the top share of customers by value that is high value (seed 002: 20%)';
COMMENT ON COLUMN @extschema@.rfm_group_settings.value_low_share IS 'Value tiers: the bottom share that is low value (seed 002: 30%)';

INSERT INTO @extschema@.rfm_customer_group (code, scheme, label_en, label_zh, strategy_en, strategy_zh, personal_care, origin) VALUES
 ('A', 'ae', 'A: leads', 'A 潜在客户',
  'Activate: a first purchase or the key first action (sign-up, log-in)', '激活:促成首次消费或注册、登录等核心动作', false, 'builtin'),
 ('B', 'ae', 'B: low frequency, low order value', 'B 低频低客单价',
  'Retain: a good first experience, a second-order incentive, then more orders and larger ones', '留存:保证首次体验,激励二次消费,提升频次与客单价', false, 'builtin'),
 ('C', 'ae', 'C: high frequency, low order value', 'C 高频低客单价',
  'Raise the order value: up-sell, bundles, cross-sell', '提升客单价:向上销售、组合、交叉销售', false, 'builtin'),
 ('D', 'ae', 'D: low frequency, high order value', 'D 低频高客单价',
  'Raise the frequency: purchase reminders, repeat sales, member days', '提升频次:购买提醒、重复销售、会员日', false, 'builtin'),
 ('E', 'ae', 'E: high frequency, high order value', 'E 高频高客单价',
  'Keep them in E: service, loyalty rewards, catch any decline early', '保持在E:优质服务、忠诚奖励,及早发现衰退', false, 'builtin'),
 ('arpu_basic', 'arpu', 'Basic group (low ARPU)', '基础业务客户群(ARPU偏低)',
  'Keep renewals: long-term basic plans, standard service, find latent needs', '以保持续费为主:长期基本业务套餐,标准化服务,挖掘潜在需求', false, 'builtin'),
 ('arpu_mid', 'arpu', 'Middle group (middle ARPU)', '中等ARPU客户群',
  'Plans built on what they use most; regular news of it; watch their experience', '针对所用业务的特色套餐,定期推送更新,关注使用体验', false, 'builtin'),
 ('arpu_high', 'arpu', 'High group (high ARPU)', '高ARPU客户群',
  'A personal file and a named contact, regular contact, premium service and the best prices', '建档立册,专人负责,定期沟通,尊享服务与最大优惠', true, 'builtin'),
 ('high_value', 'value', 'High value', '高价值客户',
  'Personal service, loyalty rewards, regular visits', '个性化服务、奖励忠诚度、定期回访', false, 'builtin'),
 ('medium_value', 'value', 'Medium value', '中等价值客户',
  'Promotions and coupons, personal recommendations, customer education', '促销活动与优惠券、个性化推荐、客户教育', false, 'builtin'),
 ('low_value', 'value', 'Low value', '低价值客户',
  'First-purchase incentives, regular contact, a better experience', '首次购买优惠等激励、定期沟通、优化客户体验', false, 'builtin');
INSERT INTO @extschema@.rfm_group_settings (origin) VALUES ('builtin');

-- Rows are fixed: no delete, no new key.
CREATE FUNCTION @extschema@.rfm_group_guard() RETURNS trigger
LANGUAGE plpgsql VOLATILE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'cannot delete rows of %', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation',
                  DETAIL = 'Every group the functions return has its row; the settings table has one row.',
                  HINT = format('Change the row with UPDATE %s SET ...', TG_TABLE_NAME);
    END IF;
    IF to_jsonb(NEW) ->> 'code' IS DISTINCT FROM to_jsonb(OLD) ->> 'code' THEN
        RAISE EXCEPTION 'cannot change the code of group "%"', OLD.code
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Change its labels and strategy instead.';
    END IF;
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_group_guard() IS
    'Trigger: rows of rfm_customer_group and rfm_group_settings cannot be deleted, nor group codes changed';

CREATE TRIGGER rfm_a_guard BEFORE UPDATE OR DELETE ON @extschema@.rfm_customer_group
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_group_guard();
CREATE TRIGGER rfm_a_guard BEFORE UPDATE OR DELETE ON @extschema@.rfm_group_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_group_guard();
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_customer_group
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('code');
CREATE TRIGGER rfm_b_insert BEFORE INSERT ON @extschema@.rfm_group_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_insert('id');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_customer_group
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('code');
CREATE TRIGGER rfm_b_update BEFORE UPDATE ON @extschema@.rfm_group_settings
    FOR EACH ROW EXECUTE FUNCTION @extschema@.rfm_rule_before_update('id');
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_customer_group
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();
CREATE TRIGGER rfm_no_truncate BEFORE TRUNCATE ON @extschema@.rfm_group_settings
    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.rfm_rule_no_truncate();

SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_customer_group', 'WHERE origin <> ''builtin''');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.rfm_group_settings', 'WHERE origin <> ''builtin''');

-- Per customer: C (src/group.c), one implementation for queries and for
-- rfm_model_customers.  High means above the cut, as for rfm_value_type.
-- NaN gives NULL (it sorts above every number and would silently count as
-- high).

CREATE FUNCTION @extschema@.rfm_ae_group(frequency float8, avg_order_value float8,
                                         frequency_cut float8, aov_cut float8)
    RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_ae_group(float8, float8, float8, float8) IS
    'Seed 001''s group: A (no order: frequency NULL or 0), else B (frequency and order value at most their cuts), C (frequency above its cut), D (order value above), E (both above); NULL for NaN or a missing cut';

CREATE FUNCTION @extschema@.rfm_arpu(revenue float8, tenure_days float8, period_days float8 DEFAULT 365)
    RETURNS float8 AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_arpu(float8, float8, float8) IS
    'ARPU: revenue per period of tenure (days from the first order to as_of), a customer younger than one period counting one; NULL for NULL, NaN or infinite input or a period not above 0';

CREATE FUNCTION @extschema@.rfm_arpu_group(arpu float8, basic_cut float8, high_cut float8)
    RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_arpu_group(float8, float8, float8) IS
    'Seed 004''s ARPU group: arpu_high at or above high_cut (personal care), else arpu_mid above basic_cut, else arpu_basic; NULL for a NULL or NaN ARPU';

CREATE FUNCTION @extschema@.rfm_value_tier(value float8, low_cut float8, high_cut float8)
    RETURNS text AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_value_tier(float8, float8, float8) IS
    'Seed 003''s value tier: high_value at or above high_cut, medium_value above low_cut, else low_value; NULL for a NULL or NaN value or a missing cut';

-- Over a set of customers: the cut points as rfm_group_settings says, from
-- the buyers (frequency > 0) of a table or view.
CREATE FUNCTION @extschema@.rfm_group_cuts(customers regclass, frequency name, avg_order_value name,
                                           arpu name DEFAULT NULL, value name DEFAULT NULL,
                                           OUT ae_frequency_cut float8, OUT ae_aov_cut float8,
                                           OUT arpu_basic_cut float8, OUT arpu_high_cut float8,
                                           OUT value_low_cut float8, OUT value_high_cut float8)
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s @extschema@.rfm_group_settings;
    agg text;
BEGIN
    SELECT * INTO s FROM @extschema@.rfm_group_settings;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'rfm_group_settings must have one row'
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    agg := CASE s.ae_cut WHEN 'mean' THEN 'pg_catalog.avg(%1$I::pg_catalog.float8)'
                         WHEN 'median' THEN 'pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY %1$I::pg_catalog.float8)'
                         ELSE 'NULL::pg_catalog.float8' END;
    EXECUTE format('SELECT ' || agg || ', ' || replace(agg, '%1$I', '%2$I') || ','
                   ' pg_catalog.percentile_cont($1) WITHIN GROUP (ORDER BY %3$s),'
                   ' pg_catalog.percentile_cont($2) WITHIN GROUP (ORDER BY %4$s),'
                   ' pg_catalog.percentile_cont($3) WITHIN GROUP (ORDER BY %4$s)'
                   ' FROM %5$s WHERE %1$I::pg_catalog.float8 OPERATOR(pg_catalog.>) 0',
                   frequency, avg_order_value,
                   CASE WHEN arpu IS NULL THEN 'NULL::pg_catalog.float8' ELSE format('%I::pg_catalog.float8', arpu) END,
                   CASE WHEN value IS NULL THEN 'NULL::pg_catalog.float8' ELSE format('%I::pg_catalog.float8', value) END,
                   customers)
        INTO ae_frequency_cut, ae_aov_cut, arpu_basic_cut, value_low_cut, value_high_cut
        USING s.arpu_basic_share, s.value_low_share, 1 - s.value_high_share;
    IF s.ae_cut = 'fixed' THEN
        ae_frequency_cut := s.ae_frequency_cut;
        ae_aov_cut := s.ae_aov_cut;
    END IF;
    arpu_high_cut := s.arpu_high;
END $$;
COMMENT ON FUNCTION @extschema@.rfm_group_cuts(regclass, name, name, name, name) IS
    'Cut points for rfm_ae_group, rfm_arpu_group and rfm_value_tier over the buyers (frequency > 0) of a table or view, as rfm_group_settings says: mean, median or fixed frequency and order value cuts; the basic-share quantile of ARPU and the high threshold; the low-share and (1 - high-share) quantiles of value';

-- Labels and strategies per customer: C (src/group.c), reading
-- rfm_customer_group once per query and call site.
CREATE FUNCTION @extschema@.rfm_group_label(code text, lang text DEFAULT 'en') RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_group_label(text, text) IS
    'The label of an A-E, ARPU or value group code in English (''en'') or Chinese (''zh''); an error for an unknown code';

CREATE FUNCTION @extschema@.rfm_group_strategy(code text, lang text DEFAULT 'en') RETURNS text
    AS 'MODULE_PATHNAME' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_group_strategy(text, text) IS
    'The strategy of an A-E, ARPU or value group code in English (''en'') or Chinese (''zh''), from rfm_customer_group; an error for an unknown code';
