
-- ==== Models: the views of 1.2 ====
-- New in a model's views (models created with 1.1 keep theirs until they
-- are created again):
--  * days over timestamptz and timestamp are counted in the model's own time
--    zone, passed to rfm_summary and rfm_lifecycle: a view's data do not
--    depend on the TimeZone of whoever refreshes or restores it;
--  * the spend model (Gamma-Gamma) is fitted on the mean value of the repeat
--    purchases (rfm_repeat_value), as it assumes;
--  * the purchase model is BG/NBD, MBG/NBD or Pareto/NBD (purchase_model),
--    with standard errors, log-likelihood, AIC and BIC in _fit;
--  * the customer groups of the source articles (A-E, ARPU, value tiers)
--    and profit in _customers and _history, the profit (whale) curve in
--    _pareto, and leads (customers without an order, from a table of
--    customers) in _customers as the acquisition stage and group A.

ALTER TABLE @extschema@.rfm_model
    ADD COLUMN purchase_model text NOT NULL DEFAULT 'bgnbd'
        CONSTRAINT purchase_model_known CHECK (purchase_model IN ('bgnbd', 'mbgnbd', 'pareto_nbd')),
    ADD COLUMN leads text,
    ADD COLUMN leads_column name,
    ADD COLUMN cost_per_order float8 NOT NULL DEFAULT 0
        CONSTRAINT cost_per_order_finite CHECK (cost_per_order > '-infinity' AND cost_per_order < 'infinity'),
    ADD COLUMN cost_per_customer float8 NOT NULL DEFAULT 0
        CONSTRAINT cost_per_customer_finite CHECK (cost_per_customer > '-infinity' AND cost_per_customer < 'infinity'),
    ADD COLUMN views_version text NOT NULL DEFAULT '1.1',
    ADD CONSTRAINT leads_with_column CHECK ((leads IS NULL) = (leads_column IS NULL));
ALTER TABLE @extschema@.rfm_model ALTER COLUMN views_version SET DEFAULT '1.2';
COMMENT ON COLUMN @extschema@.rfm_model.purchase_model IS 'The purchase model fitted for P(alive), expected purchases and CLV: bgnbd, mbgnbd or pareto_nbd';
COMMENT ON COLUMN @extschema@.rfm_model.leads IS 'A table or view of customers (leads included), schema-qualified and quoted; its customers without an order are in _customers as the acquisition stage; NULL: none';
COMMENT ON COLUMN @extschema@.rfm_model.leads_column IS 'The customer column of leads';
COMMENT ON COLUMN @extschema@.rfm_model.cost_per_order IS 'Cost to serve one order, for profit: margin * revenue - cost_per_order * orders - cost_per_customer';
COMMENT ON COLUMN @extschema@.rfm_model.cost_per_customer IS 'Cost to serve one customer (per model period), for profit';
COMMENT ON COLUMN @extschema@.rfm_model.views_version IS 'The rfm version whose views the model has (1.1: created before 1.2, without the columns 1.2 added; create it again to have them)';

-- The columns of every model of 1.2, in view order.
CREATE OR REPLACE FUNCTION @extschema@.rfm_model_columns()
RETURNS TABLE (view_suffix text, column_name text, data_type text, description text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
VALUES
 ('_summary', 'customer', 'the customer column''s type', 'The customer (the source''s customer column; NULL customers are left out)'),
 ('_summary', 'orders', 'bigint', 'Orders (rows with amount >= 0) on or before as_of'),
 ('_summary', 'returns', 'bigint', 'Returns (rows with amount < 0) on or before as_of'),
 ('_summary', 'revenue', 'numeric', 'Net revenue: orders plus returns'),
 ('_summary', 'avg_order_value', 'numeric', 'revenue / orders'),
 ('_summary', 'first_order', 'timestamp with time zone', 'Time of the first order'),
 ('_summary', 'last_order', 'timestamp with time zone', 'Time of the last order on or before as_of'),
 ('_summary', 'recency', 'double precision', 'Time units from the last order to as_of'),
 ('_summary', 'tenure', 'double precision', 'Time units from the first order to as_of'),
 ('_summary', 'purchase_days', 'integer', 'Distinct calendar days with an order'),
 ('_summary', 'repeat_frequency', 'integer', 'BTYD x: purchase_days - 1'),
 ('_summary', 'repeat_recency', 'double precision', 'BTYD t_x: time units from the first to the last purchase day'),
 ('_summary', 'age', 'double precision', 'BTYD T: time units from the first purchase day to the day of as_of'),
 ('_summary', 'lifecycle_rule_stage', 'text', 'Lifecycle stage by the rules of rfm_lifecycle_settings (rfm_lifecycle), before P(alive)'),
 ('_summary', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_summary', 'repeat_value', 'double precision', 'Mean net value of the repeat purchase days (the first day left out; rfm_repeat_value): the Gamma-Gamma input; NULL without a repeat purchase day or when it is zero or less'),
 ('_fit', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_fit', 'customers', 'bigint', 'Customers the models were fitted on (with at least one order)'),
 ('_fit', 'time_unit', 'text', 'Time unit of the purchase model''s rates and of the CLV horizon'),
 ('_fit', 'bgnbd_r', 'double precision', 'BG/NBD or MBG/NBD r (purchase rates ~ Gamma(r, alpha)); NULL with Pareto/NBD'),
 ('_fit', 'bgnbd_alpha', 'double precision', 'BG/NBD or MBG/NBD alpha'),
 ('_fit', 'bgnbd_a', 'double precision', 'BG/NBD or MBG/NBD a (dropout probabilities ~ Beta(a, b))'),
 ('_fit', 'bgnbd_b', 'double precision', 'BG/NBD or MBG/NBD b'),
 ('_fit', 'bgnbd_converged', 'boolean', 'Whether the BG/NBD or MBG/NBD fit converged'),
 ('_fit', 'gg_p', 'double precision', 'Gamma-Gamma p'),
 ('_fit', 'gg_q', 'double precision', 'Gamma-Gamma q'),
 ('_fit', 'gg_gamma', 'double precision', 'Gamma-Gamma gamma'),
 ('_fit', 'gg_converged', 'boolean', 'Whether the Gamma-Gamma fit converged'),
 ('_fit', 'bgnbd', 'rfm_bgnbd_model', 'The whole BG/NBD or MBG/NBD model, for rfm_p_alive, rfm_clv and friends; NULL when the model has clv off, fewer than 2 repeat buyers, or Pareto/NBD'),
 ('_fit', 'gamma_gamma', 'rfm_gamma_gamma_model', 'The whole Gamma-Gamma model, for rfm_expected_order_value; NULL when the model has clv off or fewer than 2 customers with a positive repeat value'),
 ('_fit', 'purchase_model', 'text', 'The purchase model fitted: bgnbd, mbgnbd or pareto_nbd'),
 ('_fit', 'pnbd_r', 'double precision', 'Pareto/NBD r (purchase rates ~ Gamma(r, alpha)); NULL with the other models'),
 ('_fit', 'pnbd_alpha', 'double precision', 'Pareto/NBD alpha'),
 ('_fit', 'pnbd_s', 'double precision', 'Pareto/NBD s (dropout rates ~ Gamma(s, beta))'),
 ('_fit', 'pnbd_beta', 'double precision', 'Pareto/NBD beta'),
 ('_fit', 'pnbd', 'rfm_pnbd_model', 'The whole Pareto/NBD model; NULL with the other purchase models'),
 ('_fit', 'purchase_se', 'jsonb', 'Standard errors of the purchase model''s parameters (observed information), by parameter name'),
 ('_fit', 'purchase_log_likelihood', 'double precision', 'Log-likelihood of the purchase model at its optimum'),
 ('_fit', 'purchase_aic', 'double precision', 'AIC of the purchase model'),
 ('_fit', 'purchase_bic', 'double precision', 'BIC of the purchase model'),
 ('_fit', 'purchase_converged', 'boolean', 'Whether the purchase model''s fit converged'),
 ('_fit', 'gg_p_se', 'double precision', 'Standard error of Gamma-Gamma p'),
 ('_fit', 'gg_q_se', 'double precision', 'Standard error of Gamma-Gamma q'),
 ('_fit', 'gg_gamma_se', 'double precision', 'Standard error of Gamma-Gamma gamma'),
 ('_fit', 'gg_customers', 'bigint', 'Customers the Gamma-Gamma model was fitted on: repeat buyers whose repeat purchases net to more than zero'),
 ('_customers', 'customer', 'the customer column''s type', 'The customer; customers with an order on or before as_of, and the leads of the model''s leads table'),
 ('_customers', 'recency', 'double precision', 'Time units from the last order to as_of; NULL for a lead'),
 ('_customers', 'frequency', 'bigint', 'Orders on or before as_of (0: a lead)'),
 ('_customers', 'monetary', 'numeric', 'Net revenue: orders plus returns'),
 ('_customers', 'avg_order_value', 'numeric', 'monetary / frequency'),
 ('_customers', 'r_score', 'integer', 'Recency score 1..bins (higher: more recent)'),
 ('_customers', 'f_score', 'integer', 'Frequency score 1..bins'),
 ('_customers', 'm_score', 'integer', 'Monetary score 1..bins'),
 ('_customers', 'rfm_score', 'integer', 'r_score + f_score + m_score'),
 ('_customers', 'rfm_cell', 'text', 'The three scores as digits, e.g. 545 (bins <= 9), else separated by dots'),
 ('_customers', 'segment', 'text', 'rfm_segment of the scores (bins = 5; NULL otherwise, and for leads)'),
 ('_customers', 'value_type', 'text', 'rfm_value_type against the means of all customers'),
 ('_customers', 'strategy', 'text', 'rfm_strategy of the segment'),
 ('_customers', 'tier', 'text', 'rfm_tier of the segment, rfm_score and monetary'),
 ('_customers', 'tier_discount', 'numeric', 'rfm_tier_discount of the tier'),
 ('_customers', 'lifecycle_stage', 'text', 'rfm_lifecycle_stage: the rule stage worsened by P(alive); acquisition for a lead'),
 ('_customers', 'p_alive', 'double precision', 'Probability that the customer is alive at as_of, by the purchase model'),
 ('_customers', 'expected_purchases', 'double precision', 'Expected purchases over the CLV horizon, by the purchase model'),
 ('_customers', 'expected_order_value', 'double precision', 'Gamma-Gamma expected order value (of a customer''s repeat purchases)'),
 ('_customers', 'clv', 'double precision', 'rfm_clv over the horizon, with the model''s margin and discount rate'),
 ('_customers', 'revenue_rank', 'bigint', 'Rank by monetary, largest first (ties by customer); NULL for a lead'),
 ('_customers', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_customers', 'profit', 'double precision', 'margin * monetary - cost_per_order * frequency - cost_per_customer (the model''s options); NULL for a lead'),
 ('_customers', 'profit_rank', 'bigint', 'Rank by profit, most profitable first (ties by customer); NULL for a lead'),
 ('_customers', 'ae_group', 'text', 'A-E group (rfm_ae_group): A a lead, B low frequency and order value, C high frequency only, D high order value only, E both; cut points by rfm_group_settings over this refresh''s buyers'),
 ('_customers', 'ae_strategy', 'text', 'rfm_group_strategy of the A-E group'),
 ('_customers', 'arpu', 'double precision', 'Revenue per period of tenure (rfm_arpu, period rfm_group_settings.arpu_period_days); NULL for a lead'),
 ('_customers', 'arpu_group', 'text', 'ARPU group (rfm_arpu_group): arpu_basic, arpu_mid or arpu_high'),
 ('_customers', 'arpu_strategy', 'text', 'rfm_group_strategy of the ARPU group'),
 ('_customers', 'value_tier', 'text', 'Value tier (rfm_value_tier) by revenue or CLV (rfm_group_settings.value_by): high_value, medium_value or low_value'),
 ('_customers', 'value_strategy', 'text', 'rfm_group_strategy of the value tier'),
 ('_segments', 'segment', 'text', 'Segment (NULL: scores of other than 5 bins)'),
 ('_segments', 'segment_label', 'text', 'English label of the segment'),
 ('_segments', 'segment_label_zh', 'text', 'Chinese label of the segment'),
 ('_segments', 'strategy', 'text', 'The segment''s strategy'),
 ('_segments', 'customers', 'bigint', 'Customers in the segment (customers with an order)'),
 ('_segments', 'customer_share', 'numeric', 'Share of all customers with an order, 0..1'),
 ('_segments', 'revenue', 'numeric', 'Net revenue of the segment'),
 ('_segments', 'revenue_share', 'numeric', 'Share of the net revenue of all customers'),
 ('_segments', 'avg_recency', 'double precision', 'Mean recency in time units'),
 ('_segments', 'avg_frequency', 'numeric', 'Mean number of orders'),
 ('_segments', 'avg_monetary', 'numeric', 'Mean net revenue'),
 ('_segments', 'avg_r_score', 'numeric', 'Mean recency score'),
 ('_segments', 'avg_f_score', 'numeric', 'Mean frequency score'),
 ('_segments', 'avg_m_score', 'numeric', 'Mean monetary score'),
 ('_segments', 'avg_p_alive', 'double precision', 'Mean P(alive)'),
 ('_segments', 'total_clv', 'double precision', 'Sum of CLV'),
 ('_segments', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_segments', 'profit', 'double precision', 'Profit of the segment'),
 ('_segments', 'profit_share', 'double precision', 'Share of the profit of all customers (negative: the segment loses money)'),
 ('_pareto', 'customer_percent', 'integer', 'The top customer_percent % of customers by revenue (1..100)'),
 ('_pareto', 'customers', 'bigint', 'How many customers that is: ceil(customer_percent * all / 100)'),
 ('_pareto', 'revenue', 'numeric', 'Their net revenue'),
 ('_pareto', 'revenue_share', 'numeric', 'Their share of the net revenue of all customers (the Pareto curve)'),
 ('_pareto', 'as_of', 'timestamp with time zone', 'The as-of time of the refresh'),
 ('_pareto', 'profit', 'double precision', 'Profit of the top customer_percent % of customers by profit'),
 ('_pareto', 'profit_share', 'double precision', 'Their share of the profit of all customers: the whale curve, above 1 where the least profitable lose money (20/80/30: its value at 20; 1 - its value at 70 is the share of the bottom 30 %)'),
 ('_history', 'as_of', 'timestamp with time zone', 'As-of time of the snapshot (one per refresh)'),
 ('_history', 'customer', 'the customer column''s type', 'The customer'),
 ('_history', 'segment', 'text', 'Segment at as_of'),
 ('_history', 'value_type', 'text', 'Value type at as_of'),
 ('_history', 'lifecycle_stage', 'text', 'Lifecycle stage at as_of'),
 ('_history', 'r_score', 'integer', 'Recency score at as_of'),
 ('_history', 'f_score', 'integer', 'Frequency score at as_of'),
 ('_history', 'm_score', 'integer', 'Monetary score at as_of'),
 ('_history', 'recency', 'double precision', 'Recency at as_of, in time units'),
 ('_history', 'frequency', 'bigint', 'Orders up to as_of'),
 ('_history', 'monetary', 'numeric', 'Net revenue up to as_of'),
 ('_history', 'clv', 'double precision', 'CLV at as_of'),
 ('_history', 'ae_group', 'text', 'A-E group at as_of'),
 ('_history', 'arpu_group', 'text', 'ARPU group at as_of'),
 ('_history', 'value_tier', 'text', 'Value tier at as_of'),
 ('_history', 'profit', 'double precision', 'Profit up to as_of')
$$;

CREATE OR REPLACE FUNCTION @extschema@.rfm_model_view_comment(view_suffix text, model text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT format(CASE view_suffix
    WHEN '_summary' THEN 'rfm model %s: one row per customer, the RFM summary (rfm_summary) and rule lifecycle stage at as_of'
    WHEN '_fit' THEN 'rfm model %s: the purchase model (BG/NBD, MBG/NBD or Pareto/NBD) and the Gamma-Gamma spend model fitted on the customers, with standard errors (one row; none without customers)'
    WHEN '_customers' THEN 'rfm model %s: one row per customer with an order, and per lead: scores, segment, value type, strategy, tier, lifecycle stage, CLV, profit, A-E and ARPU groups and value tier'
    WHEN '_segments' THEN 'rfm model %s: one row per segment: customers, revenue, profit and their shares, averages, CLV'
    WHEN '_pareto' THEN 'rfm model %s: the share of revenue of the top 1..100 %% of customers (the Pareto curve), and of profit (the whale curve)'
    WHEN '_history' THEN 'rfm model %s: a snapshot of every customer per refresh (rfm_transition_matrix, rfm_segment_movers)'
    END, model)
$$;

-- A model's comments name its time unit where rfm_model_columns says
-- "time units".
CREATE OR REPLACE FUNCTION @extschema@.rfm_model_comment(schema_name name, model text, view_suffix text, kind text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    units text := m.time_unit || 's';
    col record;
BEGIN
    EXECUTE format('COMMENT ON %s %I.%I IS %L', kind, schema_name, model || view_suffix,
                   @extschema@.rfm_model_view_comment(view_suffix, model));
    FOR col IN SELECT * FROM @extschema@.rfm_model_columns() c
               WHERE c.view_suffix = rfm_model_comment.view_suffix
                 AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                             WHERE a.attrelid = format('%I.%I', schema_name, model || rfm_model_comment.view_suffix)::regclass
                               AND a.attname = c.column_name AND NOT a.attisdropped) LOOP
        EXECUTE format('COMMENT ON COLUMN %I.%I.%I IS %L', schema_name, model || view_suffix, col.column_name,
                       replace(replace(col.description, 'Time units', initcap(units)), 'time units', units));
    END LOOP;
END
$$;

-- For a model of a date column: rfm_summary gives the times of order days
-- as midnight in the session's time zone; the views give midnight in the
-- model's, whatever the session (a restore's) zone.
CREATE FUNCTION @extschema@.rfm_model_day_time(m @extschema@.rfm_model, expr text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN m.time_type = 'date'
            THEN format('(((%s) AT TIME ZONE pg_catalog.current_setting(''TimeZone''))::date::timestamp AT TIME ZONE %L)',
                        expr, m.time_zone)
            ELSE expr END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_day_time(@extschema@.rfm_model, text) IS
    'The SQL of a time of a model''s summary: for a date column, the day at midnight in the model''s time zone (rfm_summary gives it in the session''s)';

-- A model's summary rows: rfm_summarize's grouping with the attributes of
-- rfm_summary as columns of their own (no composite to take apart), and
-- only customers with an order on or before as_of (those whose summary IS
-- NOT NULL: a customer with returns only has NULL attributes).
CREATE FUNCTION @extschema@.rfm_model_summarize(
        source regclass, customer_column name, time_column name, amount_column name,
        as_of timestamptz, time_zone text, customer_type anyelement)
    RETURNS TABLE (customer anyelement, recency float8, frequency bigint, monetary numeric, avg_order_value numeric,
                   first_order timestamptz, last_order timestamptz, tenure float8, purchase_days integer,
                   repeat_frequency integer, repeat_recency float8, age float8, returns bigint, as_of timestamptz,
                   lifecycle text, repeat_value float8)
    AS 'MODULE_PATHNAME', 'rfm_model_summarize' LANGUAGE C STABLE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_model_summarize(regclass, name, name, name, timestamptz, text, anyelement) IS
    'A model''s summary rows: what rfm_summarize gives, with the attributes of rfm_summary as columns, for the customers (not NULL) with an order on or before as_of';

-- The rows of a model's _customers (the leads aside) from its summary table,
-- in one pass in C (src/customers.c).
CREATE FUNCTION @extschema@.rfm_model_customers(
    summary regclass, customer_type anyelement, bins integer,
    r_breaks float8[], f_breaks float8[], m_breaks float8[],
    bgnbd @extschema@.rfm_bgnbd_model, pnbd @extschema@.rfm_pnbd_model,
    gamma_gamma @extschema@.rfm_gamma_gamma_model,
    clv_horizon float8, margin float8, discount_rate float8, cost_per_order float8, cost_per_customer float8,
    unit_days float8, settings @extschema@.rfm_group_settings)
RETURNS TABLE (customer anyelement, recency float8, frequency bigint, monetary numeric, avg_order_value numeric,
               r_score integer, f_score integer, m_score integer, rfm_score integer, rfm_cell text,
               segment text, value_type text, strategy text, tier text, tier_discount numeric,
               lifecycle_stage text, p_alive float8, expected_purchases float8, expected_order_value float8,
               clv float8, revenue_rank bigint, as_of timestamptz, profit float8, profit_rank bigint,
               ae_group text, ae_strategy text, arpu float8, arpu_group text, arpu_strategy text,
               value_tier text, value_strategy text, revenue_tie integer, profit_tie integer)
AS 'MODULE_PATHNAME' LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.rfm_model_customers(regclass, anyelement, integer, float8[], float8[], float8[],
                                                    @extschema@.rfm_bgnbd_model, @extschema@.rfm_pnbd_model,
                                                    @extschema@.rfm_gamma_gamma_model, float8, float8, float8,
                                                    float8, float8, float8, @extschema@.rfm_group_settings) IS
    'The customers of a model''s summary table (orders > 0) with scores (quantile, or the given breaks), value type, segment, strategy, tier, lifecycle stage, the fitted models'' P(alive), expected purchases and order value and CLV, ranks (and ties: the place among the customers of an equal revenue float or profit, from 0), profit, and groups: the rows of <name>_customers but the leads, in one pass (called by a refresh, as the model''s owner)';

-- The same rows written straight into a new table of the caller's (made in
-- this transaction, with none of the table's code to run: src/sink.c), as
-- a refresh writes _customers, with the rows of _segments and _pareto and
-- the keys of the ranks (src/customers_totals.c) into three more; returns
-- how many rows of customers.  With changed (an incremental refresh that
-- keeps its _customers table: the customers it read again), only the rows
-- that differ from those the last refresh wrote (src/customers_delta.c).
CREATE FUNCTION @extschema@.rfm_model_customers_into(
    summary regclass, customer_type anyelement, bins integer,
    r_breaks float8[], f_breaks float8[], m_breaks float8[],
    bgnbd @extschema@.rfm_bgnbd_model, pnbd @extschema@.rfm_pnbd_model,
    gamma_gamma @extschema@.rfm_gamma_gamma_model,
    clv_horizon float8, margin float8, discount_rate float8, cost_per_order float8, cost_per_customer float8,
    unit_days float8, settings @extschema@.rfm_group_settings, targets regclass[], basis text DEFAULT NULL,
    changed regclass DEFAULT NULL, old_figures float8[] DEFAULT NULL, old_revenue float8[] DEFAULT NULL,
    old_profit float8[] DEFAULT NULL, old_revenue_keys float8[] DEFAULT NULL, old_profit_keys float8[] DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME' LANGUAGE C VOLATILE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION @extschema@.rfm_model_customers_into(regclass, anyelement, integer, float8[], float8[], float8[],
                                                         @extschema@.rfm_bgnbd_model, @extschema@.rfm_pnbd_model,
                                                         @extschema@.rfm_gamma_gamma_model, float8, float8, float8,
                                                         float8, float8, float8, @extschema@.rfm_group_settings,
                                                         regclass[], text, regclass, float8[], float8[], float8[],
                                                         float8[], float8[]) IS
    'Writes the rows of rfm_model_customers into targets[1], and those of _segments, _pareto and the keys of the ranks (revenue, profit, figures, basis) into targets[2..4] (each may be NULL): plain tables of the caller''s made in this transaction, without triggers, rules, indexes, constraints or row-level security, whose columns are some of those rows'' (by name and type), a block of rows at a time; returns the number of rows of customers (called by a refresh, as the model''s owner).  With changed, a table of the customers an incremental refresh read again, only the rows that differ from the last refresh''s, whose figures and ranks'' keys of those customers are old_figures, old_revenue and old_profit; the keys of the ranks stay (old_revenue_keys, old_profit_keys: those of the table) and the row of targets[4] says which went and came since, unless they are more than an eighth of the customers''; those rows replace theirs in targets[5], the current table of the rows, or join it, where it is a table of the caller''s with one plain unique btree index on customer and nothing else to do on a write (no trigger, rule, row-level security, check constraint, default or generated column), else they go into targets[1]';

-- A customer's rank from the keys of all customers in rank order (a
-- refresh's $rnk table: those of the refresh that wrote them, less those
-- that went, plus those that came since) and its tie (src/rank.c).
CREATE FUNCTION @extschema@.rfm_model_rank(keys float8[], removed float8[], added float8[], key float8, tie integer)
RETURNS bigint
AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.rfm_model_rank(float8[], float8[], float8[], float8, integer) IS
    '1 + the number of keys greater than key, less those of removed, plus those of added, + tie: a customer''s revenue_rank or profit_rank in a model''s _customers view, from the keys of all customers in descending order (float8 order: NaN first; removed and added too) and the customer''s place among those of an equal key, from 0';

-- The SQL of a customer's rank (by revenue or by profit) in the view
-- _customers over its table c, from the $rnk table ranks.
CREATE FUNCTION @extschema@.rfm_model_rank_sql(ranks text, by_profit boolean) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.format('@extschema@.rfm_model_rank((SELECT r.%2$s FROM %1$s r), (SELECT r.%2$s_removed FROM %1$s r), '
                         '(SELECT r.%2$s_added FROM %1$s r), %3$s, c.%2$s_tie)',
                         ranks, CASE WHEN by_profit THEN 'profit' ELSE 'revenue' END,
                         CASE WHEN by_profit THEN 'c.profit' ELSE '(c.monetary)::pg_catalog.float8' END)
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_rank_sql(text, boolean) IS
    'The SQL of revenue_rank (or profit_rank) in a model''s _customers view over its table c: rfm_model_rank of the keys in the $rnk table ranks';

-- What the rows of a model's _customers depend on besides its customers'
-- summaries and the population's figures: an incremental refresh with the
-- same basis as the last one keeps the rows that do not change.
CREATE FUNCTION @extschema@.rfm_model_customers_basis(m @extschema@.rfm_model, as_of timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.format('%s; model %s; rules %s', @extschema@.rfm_model_summary_basis(as_of),
    ROW(m.bins, m.scoring, m.r_breaks, m.f_breaks, m.m_breaks, m.time_unit, m.clv, m.clv_horizon, m.margin,
        m.discount_rate, m.l2, m.purchase_model, m.cost_per_order, m.cost_per_customer)::text,
    pg_catalog.md5(pg_catalog.concat_ws('|',
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_segment_action t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_strategy t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_tier t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_tier_settings t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_builtin_deleted t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_group_settings t),
        (SELECT pg_catalog.string_agg(t::text, ',' ORDER BY t::text) FROM @extschema@.rfm_customer_group t))))
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_customers_basis(@extschema@.rfm_model, timestamptz) IS
    'What the rows of a model''s _customers at as_of depend on besides the customers'' summaries and the population''s figures (the summary basis, the model''s scoring, CLV and profit options, the rule and settings tables), as text: an incremental refresh with the basis of the last one rewrites only the rows that change';

-- The equality operator of a customer type's default hash operator class
-- (the type's own, or one it has a binary cast to, as for varchar and
-- text), as OPERATOR(schema.name) for SQL that rfm builds; NULL: none, and
-- the grouping in C cannot take the type.
CREATE FUNCTION @extschema@.rfm_model_eq_operator(typ regtype) RETURNS text
LANGUAGE sql STABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT format('OPERATOR(%I.%s)', n.nspname, o.oprname)
FROM pg_catalog.pg_opclass oc
     JOIN pg_catalog.pg_am am ON am.oid = oc.opcmethod AND am.amname = 'hash'
     JOIN pg_catalog.pg_amop ao ON ao.amopfamily = oc.opcfamily AND ao.amopstrategy = 1
                                AND ao.amoplefttype = oc.opcintype AND ao.amoprighttype = oc.opcintype
     JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr
     JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace
WHERE oc.opcdefault
  AND (oc.opcintype = typ
       OR EXISTS (SELECT 1 FROM pg_catalog.pg_cast k
                  WHERE k.castsource = typ AND k.casttarget = oc.opcintype AND k.castmethod = 'b'))
ORDER BY oc.opcintype = typ DESC
LIMIT 1
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_eq_operator(regtype) IS
    'The equality operator of a type''s default hash operator class (its own, or through a binary cast), as OPERATOR(schema.name) for SQL that rfm builds; NULL when the type has none';

-- The SQL that compares customers a and b of a model's relation rel (its
-- column customer): by the type's equality (rfm_model_eq_operator), else as
-- jsonb, for a type without a hash operator class (a FULL JOIN needs a
-- hashable or mergeable comparison).
CREATE FUNCTION @extschema@.rfm_model_customer_eq(rel regclass, a text, b text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN e.op IS NULL
            THEN format('pg_catalog.to_jsonb(%s) OPERATOR(pg_catalog.=) pg_catalog.to_jsonb(%s)', a, b)
            ELSE format('%s %s %s', a, e.op, b) END
FROM (SELECT @extschema@.rfm_model_eq_operator(
                 (SELECT t.atttypid FROM pg_catalog.pg_attribute t
                  WHERE t.attrelid = rel AND t.attname = 'customer' AND NOT t.attisdropped)) AS op) e
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_customer_eq(regclass, text, text) IS
    'SQL comparing the customer expressions a and b of the relation rel (column customer) with the equality of the customer type''s default hash operator class, schema-qualified, or as jsonb when it has none: for the joins of snapshots that rfm builds';

-- Why the grouping in C (rfm_model_summarize, rfm_model_states) cannot read
-- a model's source as it is, or NULL: it takes date and timestamptz times,
-- numeric, float and integer amounts, and customers of a type with a hash
-- operator class (rfm_model_eq_operator).
CREATE FUNCTION @extschema@.rfm_model_summarize_problem(m @extschema@.rfm_model) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    src regclass := m.source::regclass;
    cust_typid oid := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = src AND a.attname = m.customer_column AND NOT a.attisdropped);
    amount_typid oid := (SELECT a.atttypid FROM pg_catalog.pg_attribute a
                         WHERE a.attrelid = src AND a.attname = m.amount_column AND NOT a.attisdropped);
BEGIN
    IF m.time_type NOT IN ('date', 'timestamptz') THEN
        RETURN format('its time column has type %s; the grouping in C takes date or timestamptz', m.time_type);
    END IF;
    IF amount_typid NOT IN ('numeric'::regtype, 'float8'::regtype, 'float4'::regtype,
                            'int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN
        RETURN format('its amount column has type %s; the grouping in C takes numeric, float or integer amounts',
                      amount_typid::regtype);
    END IF;
    IF @extschema@.rfm_model_eq_operator(cust_typid) IS NULL THEN
        RETURN format('its customer column has type %s, which has no hash operator class', cust_typid::regtype);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_summarize_problem(@extschema@.rfm_model) IS
    'Why the grouping in C cannot read a model''s source as it is (time, amount or customer type), or NULL: then the model''s summary is rfm_model_summarize''s, else the aggregates''';

-- The SQL of the five views of a model, in build order.  With storage
-- ('a' or 'b'), the queries read the tables of that generation (a refresh
-- builds them in turn); without it, the views themselves (the definitions
-- of a model's materialized views before 1.2's tables); summary_storage:
-- the generation of _summary's table, when it is not storage (an incremental
-- model's _summary table can stay for several refreshes).  keep_summary, for
-- an incremental model: its current _summary table, whose rows of the
-- customers not in $work are kept (rfm_model_fold says when they can be):
-- _summary's query then gives the rows that replace those of $work there.
-- customers_storage: the generation of _customers' table, when it is not
-- storage; keep_customers, for an incremental model without CLV whose
-- basis has not changed: its current _customers table, kept too, with only
-- the rows that change replaced, and so is its table of the ranks' keys
-- ($rnk, of the same generation: its figures and keys say what the last
-- refresh had).  _customers' fill writes the rows of _segments and _pareto
-- and the ranks' keys too (rfm_model_customers_into).
DROP FUNCTION @extschema@.rfm_model_view_sql(@extschema@.rfm_model);
CREATE FUNCTION @extschema@.rfm_model_view_sql(m @extschema@.rfm_model, storage text DEFAULT NULL,
                                               keep_summary regclass DEFAULT NULL, summary_storage text DEFAULT NULL,
                                               customers_storage text DEFAULT NULL,
                                               keep_customers regclass DEFAULT NULL)
RETURNS TABLE (view_suffix text, definition text, unique_column text, fill text[])
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    unit_days float8 := CASE m.time_unit WHEN 'hour' THEN 1.0 / 24 WHEN 'day' THEN 1 WHEN 'week' THEN 7
                                         WHEN 'month' THEN 365.25 / 12 WHEN 'quarter' THEN 365.25 / 4
                                         ELSE 365.25 END;
    as_of_expr text := format('(SELECT COALESCE(vi.as_of, pg_catalog.now()) '
                              'FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %L)', m.name);
    aggregate_args text;
    amount_expr text;
    scores text;
    fit_bg text;
    fit_pnbd text;
    cust_type text := (SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a
                       WHERE a.attrelid = m.source::regclass AND a.attname = m.customer_column
                         AND NOT a.attisdropped);
    summarize boolean;
    summary_rows text;
    leads text;
    customers_args text;
    lead_rows text;
    s text := coalesce(keep_summary::text,
                       format('%I.%I', m.schema_name,
                              coalesce(@extschema@.rfm_model_storage_name(m.name, '_summary',
                                                                          coalesce(summary_storage, storage)),
                                       m.name || '_summary')));
    f text := format('%I.%I', m.schema_name, coalesce(@extschema@.rfm_model_storage_name(m.name, '_fit', storage),
                                                      m.name || '_fit'));
    c text := coalesce(keep_customers::text,
                       format('%I.%I', m.schema_name,
                              coalesce(@extschema@.rfm_model_storage_name(m.name, '_customers',
                                                                          coalesce(customers_storage, storage)),
                                       m.name || '_customers')));
    -- (the tables that _customers' fill makes: a refresh's only)
    rk text := format('%I.%I', m.schema_name,
                      @extschema@.rfm_model_storage_name(m.name, '_ranks', coalesce(customers_storage, storage, 'a')));
    rk_new text := format('%I.%I', m.schema_name, m.name || '$rnk_new');
    seg_t text := format('%I.%I', m.schema_name, @extschema@.rfm_model_storage_name(m.name, '_segments', coalesce(storage, 'a')));
    par_t text := format('%I.%I', m.schema_name, @extschema@.rfm_model_storage_name(m.name, '_pareto', coalesce(storage, 'a')));
    delta text := format('%I.%I', m.schema_name, m.name || '$cus_new');
    work text := format('%I.%I', m.schema_name, m.name || '$work');
    eq text;
    rank_rev text := 'c.revenue_rank';
    rank_prof text := 'c.profit_rank';
    made text[];
    customers_def text;
    basis text;
BEGIN
    amount_expr := format('(src.%I)::%s', m.amount_column, m.amount_type);
    -- calendar days in the model's time zone, whatever the session's
    CASE m.time_type
    WHEN 'date' THEN
        aggregate_args := format('src.%I, %s, ((%s) AT TIME ZONE %L)::date',
                                 m.time_column, amount_expr, as_of_expr, m.time_zone);
    WHEN 'timestamptz' THEN
        aggregate_args := format('src.%I, %s, %s, %L', m.time_column, amount_expr, as_of_expr, m.time_zone);
    ELSE
        aggregate_args := format('(src.%I AT TIME ZONE %L), %s, %s, %L',
                                 m.time_column, m.time_zone, amount_expr, as_of_expr, m.time_zone);
    END CASE;

    -- The summary in one pass (rfm_summarize: one state per customer gives
    -- rfm_summary, rfm_lifecycle and rfm_repeat_value, grouped in C) where it
    -- reads the source as it is: date and timestamptz times, numeric, float
    -- and integer amounts, customers of a type with a hash operator class.
    -- Otherwise (timestamp times converted in the model's zone, money
    -- amounts) the aggregates, which share their state too.  Both read the
    -- source as the view's owner: REFRESH switches to it, so its privileges
    -- and row-level security apply.
    summarize := @extschema@.rfm_model_summarize_problem(m) IS NULL;

    -- read whole by the model, and by customer through _customers, which has
    -- the index: none here
    view_suffix := '_summary';
    unique_column := NULL;
    IF m.incremental THEN
        -- the stored states (rfm_model_fold brought them to this refresh),
        -- re-dated to as_of
        summary_rows := format($q$@extschema@.rfm_model_state_summary(%1$L::pg_catalog.regclass, %2$s,
    %3$L::pg_catalog.text, NULL::%4$s, %5$s) q$q$,
            format('%I.%I', m.schema_name, m.name || '$state'), as_of_expr, m.time_zone, cust_type,
            CASE WHEN keep_summary IS NULL THEN 'NULL'
                 ELSE format('%L::pg_catalog.regclass', format('%I.%I', m.schema_name, m.name || '$work')) END);
    ELSIF summarize THEN
        summary_rows := format($q$@extschema@.rfm_model_summarize(%1$L::pg_catalog.regclass, %2$L::pg_catalog.name,
    %3$L::pg_catalog.name, %4$L::pg_catalog.name, %5$s, %6$L::pg_catalog.text, NULL::%7$s) q$q$,
            m.source, m.customer_column, m.time_column, m.amount_column, as_of_expr, m.time_zone, cust_type);
    ELSE
        summary_rows := format($q$(SELECT g.customer, (g.summary).recency, (g.summary).frequency, (g.summary).monetary,
             (g.summary).avg_order_value, (g.summary).first_order, (g.summary).last_order, (g.summary).tenure,
             (g.summary).purchase_days, (g.summary).repeat_frequency, (g.summary).repeat_recency, (g.summary).age,
             (g.summary).returns, (g.summary).as_of, g.lifecycle, g.repeat_value
      FROM (SELECT src.%1$I AS customer,
                   @extschema@.rfm_summary(%3$s) AS summary,
                   @extschema@.rfm_lifecycle(%3$s) AS lifecycle,
                   @extschema@.rfm_repeat_value(%3$s) AS repeat_value
            FROM %2$s src
            WHERE src.%1$I IS NOT NULL
            GROUP BY src.%1$I) g
      WHERE g.summary IS NOT NULL) q$q$,
            m.customer_column, m.source, aggregate_args);
    END IF;
    definition := format($q$
SELECT q.customer::%3$s AS customer,
       q.frequency AS orders, q.returns AS returns, q.monetary AS revenue,
       q.avg_order_value AS avg_order_value,
       %4$s AS first_order, %5$s AS last_order,
       q.recency / %2$s AS recency, q.tenure / %2$s AS tenure,
       q.purchase_days AS purchase_days, q.repeat_frequency AS repeat_frequency,
       q.repeat_recency / %2$s AS repeat_recency, q.age / %2$s AS age,
       q.lifecycle AS lifecycle_rule_stage, %6$s AS as_of, q.repeat_value
FROM %1$s
WHERE q.customer IS NOT NULL$q$, summary_rows, unit_days, cust_type,
        @extschema@.rfm_model_day_time(m, 'q.first_order'),
        @extschema@.rfm_model_day_time(m, 'q.last_order'),
        @extschema@.rfm_model_day_time(m, 'q.as_of'));
    -- (keep_summary: the rows of the customers in $work only, which replace
    -- theirs in that table; rfm_model_rebuild)
    definition := definition || E'\nORDER BY 1';
    RETURN NEXT;

    view_suffix := '_fit';
    unique_column := 'as_of';
    IF m.clv THEN
        fit_bg := CASE m.purchase_model
                  WHEN 'bgnbd' THEN format('@extschema@.rfm_bgnbd_fit(s.repeat_frequency, s.repeat_recency, s.age, %L, %s)'
                                           ' FILTER (WHERE n.repeat_buyers >= 2)', m.time_unit, m.l2)
                  WHEN 'mbgnbd' THEN format('@extschema@.rfm_mbgnbd_fit(s.repeat_frequency, s.repeat_recency, s.age, %L, %s)'
                                            ' FILTER (WHERE n.repeat_buyers >= 2)', m.time_unit, m.l2)
                  ELSE 'NULL::@extschema@.rfm_bgnbd_model' END;
        fit_pnbd := CASE m.purchase_model
                    WHEN 'pareto_nbd' THEN format('@extschema@.rfm_pnbd_fit(s.repeat_frequency, s.repeat_recency, s.age, %L, %s)'
                                                  ' FILTER (WHERE n.repeat_buyers >= 2)', m.time_unit, m.l2)
                    ELSE 'NULL::@extschema@.rfm_pnbd_model' END;
        definition := format($q$
SELECT f.as_of, f.customers, %2$L::text AS time_unit,
       (f.bg).r AS bgnbd_r, (f.bg).alpha AS bgnbd_alpha, (f.bg).a AS bgnbd_a, (f.bg).b AS bgnbd_b,
       (f.bg).converged AS bgnbd_converged,
       (f.gg).p AS gg_p, (f.gg).q AS gg_q, (f.gg).gamma AS gg_gamma, (f.gg).converged AS gg_converged,
       f.bg AS bgnbd, f.gg AS gamma_gamma,
       %5$L::text AS purchase_model,
       (f.pn).r AS pnbd_r, (f.pn).alpha AS pnbd_alpha, (f.pn).s AS pnbd_s, (f.pn).beta AS pnbd_beta,
       f.pn AS pnbd,
       CASE WHEN (f.bg).r IS NOT NULL
            THEN pg_catalog.jsonb_build_object('r', (f.bg).r_se, 'alpha', (f.bg).alpha_se, 'a', (f.bg).a_se,
                                               'b', (f.bg).b_se)
            WHEN (f.pn).r IS NOT NULL
            THEN pg_catalog.jsonb_build_object('r', (f.pn).r_se, 'alpha', (f.pn).alpha_se, 's', (f.pn).s_se,
                                               'beta', (f.pn).beta_se) END AS purchase_se,
       coalesce((f.bg).log_likelihood, (f.pn).log_likelihood) AS purchase_log_likelihood,
       coalesce((f.bg).aic, (f.pn).aic) AS purchase_aic,
       coalesce((f.bg).bic, (f.pn).bic) AS purchase_bic,
       coalesce((f.bg).converged, (f.pn).converged) AS purchase_converged,
       (f.gg).p_se AS gg_p_se, (f.gg).q_se AS gg_q_se, (f.gg).gamma_se AS gg_gamma_se,
       (f.gg).n_customers AS gg_customers
FROM (SELECT max(s.as_of) AS as_of, count(*) AS customers,
             %3$s AS bg,
             %4$s AS pn,
             @extschema@.rfm_gamma_gamma_fit(s.repeat_frequency, s.repeat_value, %6$s)
                 FILTER (WHERE s.repeat_frequency > 0 AND s.repeat_value > 0 AND n.spenders >= 2) AS gg
      FROM %1$s s,
           (SELECT count(*) FILTER (WHERE c.repeat_frequency > 0) AS repeat_buyers,
                   count(*) FILTER (WHERE c.repeat_frequency > 0 AND c.repeat_value > 0) AS spenders
            FROM %1$s c WHERE c.orders > 0) n
      WHERE s.orders > 0
      HAVING count(*) > 0) f$q$, s, m.time_unit, fit_bg, fit_pnbd, m.purchase_model, m.l2);
    ELSE
        definition := format($q$
SELECT max(s.as_of) AS as_of, count(*) AS customers, %2$L::text AS time_unit,
       NULL::float8 AS bgnbd_r, NULL::float8 AS bgnbd_alpha, NULL::float8 AS bgnbd_a, NULL::float8 AS bgnbd_b,
       NULL::boolean AS bgnbd_converged,
       NULL::float8 AS gg_p, NULL::float8 AS gg_q, NULL::float8 AS gg_gamma, NULL::boolean AS gg_converged,
       NULL::@extschema@.rfm_bgnbd_model AS bgnbd, NULL::@extschema@.rfm_gamma_gamma_model AS gamma_gamma,
       %3$L::text AS purchase_model,
       NULL::float8 AS pnbd_r, NULL::float8 AS pnbd_alpha, NULL::float8 AS pnbd_s, NULL::float8 AS pnbd_beta,
       NULL::@extschema@.rfm_pnbd_model AS pnbd, NULL::jsonb AS purchase_se,
       NULL::float8 AS purchase_log_likelihood, NULL::float8 AS purchase_aic, NULL::float8 AS purchase_bic,
       NULL::boolean AS purchase_converged,
       NULL::float8 AS gg_p_se, NULL::float8 AS gg_q_se, NULL::float8 AS gg_gamma_se, NULL::bigint AS gg_customers
FROM %1$s s WHERE s.orders > 0
HAVING count(*) > 0$q$, s, m.time_unit, m.purchase_model);
    END IF;
    RETURN NEXT;

    leads := format('SELECT NULL::%s AS customer WHERE false', cust_type);
    IF m.leads IS NOT NULL THEN
        -- the customers of the leads table without an order: the acquisition stage
        leads := format($q$
SELECT DISTINCT ON (l.%2$I) l.%2$I::%3$s AS customer
FROM %1$s l
WHERE l.%2$I IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM %4$s s WHERE s.customer %5$s l.%2$I::%3$s AND s.orders OPERATOR(pg_catalog.>) 0)$q$,
            m.leads, m.leads_column, cust_type, s,
            coalesce(@extschema@.rfm_model_eq_operator((SELECT a.atttypid FROM pg_catalog.pg_attribute a
                                                        WHERE a.attrelid = m.source::regclass
                                                          AND a.attname = m.customer_column AND NOT a.attisdropped)),
                     'OPERATOR(pg_catalog.=)'));
    END IF;
    IF m.scoring = 'fixed' THEN
        scores := format('(SELECT vi.r_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L), '
                         '(SELECT vi.f_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L), '
                         '(SELECT vi.m_breaks FROM @extschema@.rfm_model_view_input vi WHERE vi.name = %1$L)',
                         m.name);
    ELSE
        scores := 'NULL::pg_catalog.float8[], NULL::pg_catalog.float8[], NULL::pg_catalog.float8[]';
    END IF;

    -- The customers with an order in one pass in C (rfm_model_customers:
    -- the population's cut points, means and ranks, then the rules and the
    -- fitted models per customer), the leads after them.  The fitted models
    -- and the settings of the groups are scalar subqueries, evaluated once.
    -- The groups' strategies are not stored: the view gives them from the
    -- group codes (rfm_model_customers_columns).
    view_suffix := '_customers';
    unique_column := 'customer';
    customers_args := format($q$%1$L::pg_catalog.regclass, NULL::%2$s, %3$s, %4$s,
         (SELECT fit.bgnbd FROM %5$s fit), (SELECT fit.pnbd FROM %5$s fit), (SELECT fit.gamma_gamma FROM %5$s fit),
         %6$s::pg_catalog.float8, %7$s::pg_catalog.float8, %8$s::pg_catalog.float8, %9$s::pg_catalog.float8,
         %10$s::pg_catalog.float8, %11$s::pg_catalog.float8,
         (SELECT gs FROM @extschema@.rfm_group_settings gs)$q$,
        s, cust_type, m.bins, scores, f, m.clv_horizon, m.margin, m.discount_rate, m.cost_per_order,
        m.cost_per_customer, unit_days);
    lead_rows := format($q$
SELECT l.customer, NULL::float8, 0::bigint, 0::numeric, NULL::numeric, NULL::int, NULL::int, NULL::int,
       NULL::int, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::numeric,
       'acquisition'::text, NULL::float8, NULL::float8, NULL::float8, NULL::float8,
       (SELECT max(sa.as_of) FROM %1$s sa),
       NULL::float8,
       'A'::text, NULL::float8, NULL::text, NULL::text, NULL::int, NULL::int
FROM (%2$s) l$q$, s, leads);
    definition := format($q$
SELECT x.customer, x.recency, x.frequency, x.monetary, x.avg_order_value, x.r_score, x.f_score, x.m_score,
       x.rfm_score, x.rfm_cell, x.segment, x.value_type, x.strategy, x.tier, x.tier_discount,
       x.lifecycle_stage, x.p_alive, x.expected_purchases, x.expected_order_value, x.clv,
       x.as_of, x.profit, x.ae_group, x.arpu, x.arpu_group, x.value_tier, x.revenue_tie, x.profit_tie
FROM @extschema@.rfm_model_customers(%1$s) x
UNION ALL%2$s$q$, customers_args, lead_rows);
    customers_def := definition;
    -- A refresh writes the same rows straight into the new table, without
    -- a tuplestore or the executor's insert per row, the leads after them,
    -- and the rows of _segments and _pareto and the ranks' keys, from the
    -- customers in memory, into their new tables (rfm_model_customers_into,
    -- src/sink.c, src/customers_totals.c).  The table keeps each customer's
    -- tie; the view gives the ranks (rfm_model_rank over the $rnk table).
    IF storage IS NOT NULL THEN
        basis := @extschema@.rfm_model_customers_basis(m, (SELECT COALESCE(vi.as_of, pg_catalog.now())
                                                           FROM @extschema@.rfm_model_view_input vi
                                                           WHERE vi.name = m.name));
        made := ARRAY[
            format('CREATE TABLE %s (%s)', seg_t, @extschema@.rfm_model_table_columns('_segments')),
            format('CREATE TABLE %s (%s)', par_t, @extschema@.rfm_model_table_columns('_pareto'))];
        IF keep_customers IS NULL THEN
            made := made || ARRAY[
                format('CREATE TABLE %s (revenue pg_catalog.float8[], profit pg_catalog.float8[], '
                       'revenue_removed pg_catalog.float8[], revenue_added pg_catalog.float8[], '
                       'profit_removed pg_catalog.float8[], profit_added pg_catalog.float8[], '
                       'figures pg_catalog.float8[], basis pg_catalog.text)', rk),
                -- keys do not compress: stored as they are
                format('ALTER TABLE %s ALTER COLUMN revenue SET STORAGE EXTERNAL, ALTER COLUMN profit SET STORAGE EXTERNAL, '
                       'ALTER COLUMN revenue_removed SET STORAGE EXTERNAL, ALTER COLUMN revenue_added SET STORAGE EXTERNAL, '
                       'ALTER COLUMN profit_removed SET STORAGE EXTERNAL, ALTER COLUMN profit_added SET STORAGE EXTERNAL',
                       rk),
                format('COMMENT ON TABLE %s IS %L', rk,
                       format('rfm model %s: the data of view %I.%I that its ranks are counted from (rfm_model_rank), and what its rows were made with, since a refresh (rfm replaces this table, or its row, at each refresh: read the view)',
                              m.name, m.schema_name, m.name || '_customers'))];
            fill := made || ARRAY[
                format('SELECT @extschema@.rfm_model_customers_into(%s, ARRAY[%L, %L, %L, %L]::pg_catalog.regclass[], %L)',
                       customers_args, c, seg_t, par_t, rk, basis),
                format('INSERT INTO %s%s', c, lead_rows)];
        ELSE
            -- the rows that change, in place of theirs (found by the
            -- table's index: rfm_model_customers_into, src/sink_upsert.c),
            -- or, where the table is not one it writes so (an index or a
            -- trigger added, say), into a table of their own, then upserted;
            -- the customers gone deleted; the leads anew (the ranks' keys
            -- stay; which went and came since, into a row of a table of its
            -- own, then into the $rnk table's row).  The two tables live for
            -- this statement list only: unlogged, so that their rows are not
            -- written to the WAL twice.
            eq := @extschema@.rfm_model_eq_operator(cust_type::pg_catalog.regtype);
            fill := made || ARRAY[
                format('CREATE UNLOGGED TABLE %s AS %s WITH NO DATA', delta, customers_def),
                format('CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING STORAGE)', rk_new, rk),
                -- (the old keys of the customers read again: found by the
                -- index, in one pass)
                format($q$SELECT @extschema@.rfm_model_customers_into(%1$s, ARRAY[%2$L, %3$L, %4$L, %5$L, %11$L]::pg_catalog.regclass[],
    %6$L, %7$L::pg_catalog.regclass, (SELECT r.figures FROM %8$s r), o.revenue, o.profit,
    (SELECT r.revenue FROM %8$s r), (SELECT r.profit FROM %8$s r))
FROM (SELECT pg_catalog.array_agg((k.monetary)::pg_catalog.float8) AS revenue, pg_catalog.array_agg(k.profit) AS profit
      FROM %9$s k
      WHERE k.customer %10$s ANY (ARRAY(SELECT w.customer FROM %7$s w)) AND k.frequency OPERATOR(pg_catalog.>) 0) o$q$,
                       customers_args, delta, seg_t, par_t, rk_new, basis, work, rk, c, eq, keep_customers),
                -- (keys that stay are NULL there: the table's TOASTed keys are kept, not copied)
                format('UPDATE %1$s r SET revenue = coalesce(n.revenue, r.revenue), profit = coalesce(n.profit, r.profit), '
                       'revenue_removed = n.revenue_removed, revenue_added = n.revenue_added, '
                       'profit_removed = n.profit_removed, profit_added = n.profit_added, figures = n.figures, '
                       'basis = n.basis FROM %2$s n', rk, rk_new),
                format('DROP TABLE %s', rk_new),
                -- the customers gone: read again (not those whose new
                -- orders were added to their states: they have orders),
                -- without an order in the summary now (found by the tables'
                -- indexes, not by a join that reads them all); then the rows
                -- that change, where they were not written in place: an
                -- update of a row whose page has room for it (the table of
                -- an incremental model has: fillfactor) touches no index
                format('DELETE FROM %1$s k WHERE k.customer %4$s ANY (ARRAY(SELECT w.customer FROM %3$s w '
                       'WHERE NOT w.merged AND NOT EXISTS (SELECT 1 FROM %2$s d WHERE d.customer %4$s w.customer '
                       'AND d.orders OPERATOR(pg_catalog.>) 0)))',
                       c, s, work, eq)]
                || CASE WHEN m.leads IS NULL THEN '{}'::text[]
                        ELSE ARRAY[format('DELETE FROM %s k WHERE k.frequency OPERATOR(pg_catalog.=) 0', c)] END
                || ARRAY[format('INSERT INTO %s SELECT * FROM %s d ON CONFLICT (customer) DO UPDATE SET %s', c, delta,
                                (SELECT pg_catalog.string_agg(format('%1$I = EXCLUDED.%1$I', a.attname), ', '
                                                              ORDER BY a.attnum)
                                 FROM pg_catalog.pg_attribute a
                                 WHERE a.attrelid = keep_customers AND a.attnum > 0 AND NOT a.attisdropped
                                   AND a.attname <> 'customer'))]
                || CASE WHEN m.leads IS NULL THEN '{}'::text[]
                        ELSE ARRAY[format('INSERT INTO %s%s', c, lead_rows)] END
                || ARRAY[format('DROP TABLE %s', delta)];
        END IF;
        rank_rev := @extschema@.rfm_model_rank_sql(rk, false);
        rank_prof := @extschema@.rfm_model_rank_sql(rk, true);
    END IF;
    RETURN NEXT;
    -- (made, with their rows, by _customers' fill)
    fill := CASE WHEN storage IS NOT NULL THEN '{}'::text[] END;

    view_suffix := '_segments';
    unique_column := 'segment';
    definition := format($q$
SELECT c.segment,
       @extschema@.rfm_label(c.segment) AS segment_label,
       @extschema@.rfm_label(c.segment, 'zh') AS segment_label_zh,
       @extschema@.rfm_strategy(c.segment) AS strategy,
       count(*) AS customers,
       count(*)::numeric / sum(count(*)) OVER () AS customer_share,
       sum(c.monetary) AS revenue,
       sum(c.monetary) / NULLIF(sum(sum(c.monetary)) OVER (), 0) AS revenue_share,
       avg(c.recency) AS avg_recency, avg(c.frequency) AS avg_frequency, avg(c.monetary) AS avg_monetary,
       avg(c.r_score) AS avg_r_score, avg(c.f_score) AS avg_f_score, avg(c.m_score) AS avg_m_score,
       avg(c.p_alive) AS avg_p_alive, sum(c.clv) AS total_clv,
       max(c.as_of) AS as_of,
       sum(c.profit) AS profit,
       sum(c.profit) / NULLIF(sum(sum(c.profit)) OVER (), 0) AS profit_share
FROM %1$s c
WHERE c.frequency > 0
GROUP BY c.segment$q$, c);
    RETURN NEXT;

    -- The top p % of customers are those of rank <= ceil(p n / 100): a
    -- customer of rank k counts from p = floor(100 (k - 1) / n) + 1 on.  So
    -- one pass sums revenue and profit into 100 buckets by each rank, and
    -- the totals (grouping sets; n, the customers with an order, is _fit's
    -- count of them), and the curve is the buckets' running sums.
    view_suffix := '_pareto';
    unique_column := 'customer_percent';
    definition := format($q$
WITH agg AS MATERIALIZED (
SELECT GROUPING(b.rb) AS by_revenue, GROUPING(b.pb) AS by_profit, b.rb, b.pb, count(*) AS n,
       sum(b.monetary) AS revenue, sum(b.profit) AS profit, max(b.as_of) AS as_of
FROM (SELECT (100 * (%3$s - 1)) / (SELECT fit.customers FROM %2$s fit) + 1 AS rb,
             (100 * (%4$s - 1)) / (SELECT fit.customers FROM %2$s fit) + 1 AS pb,
             c.monetary, c.profit, c.as_of
      FROM %1$s c WHERE c.frequency > 0) b
GROUP BY GROUPING SETS ((b.rb), (b.pb), ())),
     tot AS (SELECT a.n, a.revenue AS total, a.profit AS total_profit, a.as_of FROM agg a
             WHERE a.by_revenue = 1 AND a.by_profit = 1),
     curve AS (
SELECT p.customer_percent,
       sum(rb.revenue) OVER w AS revenue, sum(pb.profit) OVER w AS profit
FROM pg_catalog.generate_series(1, 100) AS p(customer_percent)
     LEFT JOIN agg rb ON rb.by_revenue = 0 AND rb.rb = p.customer_percent
     LEFT JOIN agg pb ON pb.by_profit = 0 AND pb.pb = p.customer_percent
WINDOW w AS (ORDER BY p.customer_percent))
SELECT curve.customer_percent, ceil(curve.customer_percent * tot.n / 100.0)::bigint AS customers, curve.revenue,
       curve.revenue / NULLIF(tot.total, 0) AS revenue_share, tot.as_of,
       curve.profit, curve.profit / NULLIF(tot.total_profit, 0) AS profit_share
FROM curve CROSS JOIN tot
WHERE tot.n > 0$q$, c, f, rank_rev, rank_prof);
    RETURN NEXT;
END
$$;

COMMENT ON FUNCTION @extschema@.rfm_model_view_sql(@extschema@.rfm_model, text, regclass, text, text, regclass) IS
    'The queries of a model''s five views in build order, reading the tables of storage generation storage (a or b; summary_storage, customers_storage: of _summary, _customers, when it differs), or the views themselves when it is NULL; with the column of each table''s unique index (none for _summary) and, for a table a refresh fills otherwise than from the query, the statements that fill it once made from the query WITH NO DATA (_customers: rfm_model_customers_into, which fills the tables of _segments and _pareto too, and of the ranks'' keys: theirs are empty); keep_summary: an incremental model''s current _summary table, which the others then read, and _summary''s query gives only the rows of the customers in $work, which replace theirs there; keep_customers: its current _customers table, kept too (fill replaces the rows that change), with its table of the ranks'' keys ($rnk, whose row fill updates)';

-- The history of a 1.2 model keeps the groups and profit too; a refresh
-- copies the columns its model's _customers and _history have in common.
CREATE FUNCTION @extschema@.rfm_model_history_columns() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT 'segment text, value_type text, lifecycle_stage text, r_score integer, f_score integer, m_score integer, '
       'recency float8, frequency bigint, monetary numeric, clv float8, ae_group text, arpu_group text, '
       'value_tier text, profit float8'
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_history_columns() IS
    'The columns of a model''s <name>_history table after as_of and customer (rfm_create_model)';

-- The groups' strategies, as CASE branches over a group code: taken once
-- per refresh from rfm_group_strategy, for the view _customers and the
-- history snapshot (a model's _customers table keeps the codes only).
CREATE FUNCTION @extschema@.rfm_model_group_strategies() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
    SELECT pg_catalog.string_agg(pg_catalog.format('WHEN %L THEN %L', g.code, @extschema@.rfm_group_strategy(g.code)),
                                 ' ' ORDER BY g.code)
    FROM @extschema@.rfm_customer_group g
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_group_strategies() IS
    'The strategy of every customer group code (rfm_group_strategy) as the branches of an SQL CASE, for a model''s _customers view and history';

-- The columns of a model's _customers view over its table c: the table's
-- columns, with the groups' strategies put back in their places and the
-- ranks from the keys of the table ranks (rfm_model_rank; NULL: none).
CREATE FUNCTION @extschema@.rfm_model_customers_columns(strategies text, ranks text DEFAULT NULL) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.format(
    'c.customer, c.recency, c.frequency, c.monetary, c.avg_order_value, c.r_score, c.f_score, c.m_score, '
    'c.rfm_score, c.rfm_cell, c.segment, c.value_type, c.strategy, c.tier, c.tier_discount, '
    'c.lifecycle_stage, c.p_alive, c.expected_purchases, c.expected_order_value, c.clv, %2$s AS revenue_rank, '
    'c.as_of, c.profit, %3$s AS profit_rank, c.ae_group, (CASE c.ae_group %1$s END)::pg_catalog.text AS ae_strategy, '
    'c.arpu, c.arpu_group, (CASE c.arpu_group %1$s END)::pg_catalog.text AS arpu_strategy, '
    'c.value_tier, (CASE c.value_tier %1$s END)::pg_catalog.text AS value_strategy',
    coalesce(strategies, 'WHEN NULL THEN NULL'),
    coalesce(@extschema@.rfm_model_rank_sql(ranks, false), 'NULL::pg_catalog.int8'),
    coalesce(@extschema@.rfm_model_rank_sql(ranks, true), 'NULL::pg_catalog.int8'))
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_customers_columns(text, text) IS
    'The select list of a model''s _customers view over its table, aliased c: its columns, the groups'' strategies from the CASE branches given (rfm_model_group_strategies), and the ranks from the keys in the table ranks (rfm_model_rank; NULL: the ranks are NULL)';

-- The columns of a view of rfm_model_columns as those of a table.
CREATE FUNCTION @extschema@.rfm_model_table_columns(view_suffix text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $$
SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', c.column_name, c.data_type), ', ' ORDER BY c.n)
FROM @extschema@.rfm_model_columns() WITH ORDINALITY AS c(view_suffix, column_name, data_type, description, n)
WHERE c.view_suffix = rfm_model_table_columns.view_suffix
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_table_columns(text) IS
    'The columns of a model''s view (_segments or _pareto: of built-in types) as a table''s column definitions, for the tables a refresh fills';

-- Counts a model's customers in customers_rel of its schema (its
-- _customers view, or the table a refresh has just built) and, with
-- keep_history, keeps them in _history as a snapshot.  With strategies,
-- customers_rel is such a table, without the groups' strategies, which
-- these CASE branches give (rfm_model_rebuild).
CREATE FUNCTION @extschema@.rfm_model_keep_snapshot(m @extschema@.rfm_model, owner regrole, customers_rel name,
                                                    strategies text DEFAULT NULL,
                                                    OUT customers bigint, OUT as_of timestamptz)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cols text;
    src text := format('%I.%I c', m.schema_name, customers_rel);
BEGIN
    SELECT q.n, q.a INTO customers, as_of
    FROM @extschema@.rfm_owner_query(owner, format('SELECT count(*), max(c.as_of) FROM %s', src))
         AS q(n bigint, a timestamptz);
    IF m.keep_history AND as_of IS NOT NULL THEN
        -- the columns both have (a model of 1.1 has fewer)
        SELECT string_agg(format('%I', h.attname), ', ' ORDER BY h.attnum) INTO cols
        FROM pg_catalog.pg_attribute h
        WHERE h.attrelid = format('%I.%I', m.schema_name, m.name || '_history')::regclass
          AND h.attnum > 0 AND NOT h.attisdropped
          AND (EXISTS (SELECT 1 FROM pg_catalog.pg_attribute c
                       WHERE c.attrelid = format('%I.%I', m.schema_name, customers_rel)::regclass
                         AND c.attname = h.attname AND c.attnum > 0 AND NOT c.attisdropped)
               OR (strategies IS NOT NULL AND h.attname IN ('ae_strategy', 'arpu_strategy', 'value_strategy')));
        IF strategies IS NOT NULL THEN
            src := format('(SELECT %s FROM %s) c', @extschema@.rfm_model_customers_columns(strategies), src);
        END IF;
        PERFORM @extschema@.rfm_owner_exec(owner,
            format('DELETE FROM %I.%I h WHERE h.as_of = %s',
                   m.schema_name, m.name || '_history', @extschema@.rfm_timestamptz_sql(as_of)));
        PERFORM @extschema@.rfm_owner_exec(owner,
            format('INSERT INTO %I.%I (%s) SELECT %s FROM %s',
                   m.schema_name, m.name || '_history', cols, cols, src));
    END IF;
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_model_keep_snapshot(@extschema@.rfm_model, regrole, name, text) IS
    'Counts a model''s customers in the given relation of its schema and, with keep_history, copies them into <name>_history as the snapshot of their as_of time, as the model''s owner; with strategies (rfm_model_group_strategies), the relation is a _customers table, whose groups'' strategies they give';

CREATE OR REPLACE FUNCTION @extschema@.rfm_model_snapshot(model text, OUT customers bigint, OUT as_of timestamptz)
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
BEGIN
    SELECT k.customers, k.as_of INTO customers, as_of
    FROM @extschema@.rfm_model_keep_snapshot(m, @extschema@.rfm_model_owner(m), (m.name || '_customers')::name) k;
END
$$;

-- rfm_transition_matrix by any group a model's history keeps.
DROP FUNCTION @extschema@.rfm_transition_matrix(text, timestamptz, timestamptz);
CREATE FUNCTION @extschema@.rfm_transition_matrix(model text, from_as_of timestamptz DEFAULT NULL,
                                                  to_as_of timestamptz DEFAULT NULL, by text DEFAULT 'segment')
RETURNS TABLE (from_segment text, to_segment text, customers bigint, from_revenue numeric, to_revenue numeric)
LANGUAGE plpgsql STABLE PARALLEL UNSAFE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    p record;
BEGIN
    IF by IS NULL OR by NOT IN ('segment', 'value_type', 'lifecycle_stage', 'ae_group', 'arpu_group', 'value_tier') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('cannot group transitions by "%s"', by),
            HINT = 'Use segment, value_type, lifecycle_stage, ae_group, arpu_group or value_tier.';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                   WHERE a.attrelid = format('%I.%I', m.schema_name, m.name || '_history')::regclass
                     AND a.attname = by AND NOT a.attisdropped) THEN
        RAISE EXCEPTION USING ERRCODE = 'undefined_column',
            MESSAGE = format('the history of model "%s" has no column %s', m.name, by),
            HINT = 'Models created before 1.2 keep segments, value types and lifecycle stages only; create the model again for the groups.';
    END IF;
    p := @extschema@.rfm_snapshot_pair(m, from_as_of, to_as_of);
    RETURN QUERY
    SELECT q.* FROM @extschema@.rfm_owner_query(@extschema@.rfm_model_reader(m, '{_history}'), format(
        'SELECT a.%3$I, b.%3$I, count(*), sum(a.monetary), sum(b.monetary) '
        'FROM (SELECT * FROM %1$I.%2$I WHERE as_of OPERATOR(pg_catalog.=) %4$s) a '
        'FULL JOIN (SELECT * FROM %1$I.%2$I WHERE as_of OPERATOR(pg_catalog.=) %5$s) b ON %6$s '
        'GROUP BY a.%3$I, b.%3$I ORDER BY a.%3$I NULLS FIRST, b.%3$I NULLS FIRST',
        m.schema_name, m.name || '_history', by, @extschema@.rfm_timestamptz_sql(p.from_at),
        @extschema@.rfm_timestamptz_sql(p.to_at),
        @extschema@.rfm_model_customer_eq(format('%I.%I', m.schema_name, m.name || '_history')::regclass,
                                          'a.customer', 'b.customer')))
        AS q(from_segment text, to_segment text, customers bigint, from_revenue numeric, to_revenue numeric);
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_transition_matrix(text, timestamptz, timestamptz, text) IS
    'From-group x to-group counts of customers and their revenue at each snapshot (defaults: the last two snapshots; by segment, or value_type, lifecycle_stage, ae_group, arpu_group, value_tier); a NULL from group is a customer new since from_as_of';
