
-- ==== The report: one HTML document of a model (rfm_report) ====
--
-- rfm_report(model, lang) returns a self-contained HTML document (inline CSS
-- and SVG, no script, nothing fetched) built from one function per section;
-- each section takes the model's name and the language and returns an HTML
-- fragment.  Every string that a user can set (model names, labels of the
-- rule tables, customer keys, time zones) goes through rfm_report_escape.
-- Every read of a model's views and history table goes through
-- rfm_report_rows, which refuses relations that are not what
-- rfm_create_model made them.

-- The one escaping function of the report: text to HTML text or attribute
-- value.  NULL becomes the empty string, so that a NULL never empties the
-- whole document.
CREATE FUNCTION @extschema@.rfm_report_escape(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT replace(replace(replace(replace(replace(coalesce(value, ''),
       '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;'), '''', '&#39;')
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_escape(text) IS
    'HTML escape of the report: & < > " and '' as entities; NULL gives the empty string';

-- A number for people: thousands separated by commas, a fixed number of
-- decimals; NULL as a dash.
CREATE FUNCTION @extschema@.rfm_report_number(value numeric, digits integer DEFAULT 0) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN value IS NULL THEN '–'
            ELSE to_char(round(value, greatest(digits, 0)),
                         'FM999,999,999,999,999,999,990'
                         || CASE WHEN digits > 0 THEN '.' || repeat('0', digits) ELSE '' END) END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_number(numeric, integer) IS
    'A number as the report prints it: rounded to digits decimals, thousands separated by commas (1,234,567.89); NULL as a dash';

CREATE FUNCTION @extschema@.rfm_report_percent(share numeric, digits integer DEFAULT 1) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN share IS NULL THEN '–'
            ELSE @extschema@.rfm_report_number(share * 100, digits) || '%' END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_percent(numeric, integer) IS
    'A share (0.736) as the report prints it (73.6%); NULL as a dash';

-- A fill colour from light (0) to dark blue (1).
CREATE FUNCTION @extschema@.rfm_report_colour(t float8) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT format('#%s%s%s', lpad(to_hex(round(236 - 228 * x)::integer), 2, '0'),
              lpad(to_hex(round(243 - 195 * x)::integer), 2, '0'),
              lpad(to_hex(round(252 - 145 * x)::integer), 2, '0'))
FROM (SELECT greatest(0, least(1, coalesce(t, 0))) AS x) s
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_colour(float8) IS
    'The report''s colour scale: #ecf3fc at 0 to #08306b at 1 (clamped; NULL as 0)';

-- The label of a code of the model's data (segment, strategy, channel), as
-- HTML.  rfm_label fails on a code it does not know, and a snapshot of the
-- history may hold a segment that the rule tables no longer have: the code
-- itself is shown then; a NULL (a model without segments) is a dash.
CREATE FUNCTION @extschema@.rfm_report_label(code text, lang text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN code IS NULL THEN '–'
            WHEN EXISTS (SELECT 1 FROM @extschema@.rfm_segment_action sa WHERE sa.segment = code)
              OR EXISTS (SELECT 1 FROM @extschema@.rfm_strategy st WHERE st.code = rfm_report_label.code)
              OR EXISTS (SELECT 1 FROM @extschema@.rfm_channel ch WHERE ch.code = rfm_report_label.code)
              OR code IN ('acquisition', 'growth', 'maturity', 'decline', 'churned')
            THEN @extschema@.rfm_report_escape(@extschema@.rfm_label(code, lang))
            ELSE @extschema@.rfm_report_escape(code) END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_label(text, text) IS
    'The label (rfm_label) of a segment, strategy, channel or lifecycle stage code as escaped HTML; a code the rule tables no longer have as itself, NULL as a dash';

-- The fixed texts of the report in English and Chinese.
CREATE FUNCTION @extschema@.rfm_report_text(key text, lang text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT coalesce((SELECT CASE WHEN lang = 'zh' THEN t.zh ELSE t.en END
                 FROM (VALUES
    ('title', 'Customer value report', '客户价值报告'),
    ('model', 'Model', '模型'),
    ('as_of', 'As of', '截至'),
    ('source', 'Orders from', '订单来源'),
    ('customers', 'Customers', '客户数'),
    ('buyers', 'Customers with an order', '有订单的客户'),
    ('orders', 'Orders', '订单数'),
    ('returns', 'Returns', '退货数'),
    ('revenue', 'Net revenue', '净收入'),
    ('aov', 'Average order value', '客单价'),
    ('fit', 'Fitted models', '模型参数'),
    ('no_fit', 'No BG/NBD or Gamma-Gamma fit (too few repeat buyers, or the model has clv => false).', '没有 BG/NBD 或 Gamma-Gamma 拟合（复购客户太少，或模型设置 clv => false）。'),
    ('no_customers', 'No customer has an order on or before the as-of time.', '截至该时间没有客户下过订单。'),
    ('grid', 'The RFM grid', 'RFM 网格'),
    ('grid_note', 'One square per score cell: its area is the number of customers, its colour their net revenue (darker: more).', '每个方块是一个评分格：面积表示客户数，颜色表示净收入（越深越多）。'),
    ('r_score', 'R score (recency: 5 = most recent)', 'R 分（最近一次消费，5 = 最近）'),
    ('f_score', 'F score (orders)', 'F 分（消费频率）'),
    ('m_score', 'M score (net revenue)', 'M 分（消费金额）'),
    ('segments', 'Segments and strategies', '客户分群与策略'),
    ('segment', 'Segment', '客户分群'),
    ('strategy', 'Strategy', '策略'),
    ('channels', 'Channels', '沟通渠道'),
    ('customer_share', 'Share of customers', '客户占比'),
    ('revenue_share', 'Share of revenue', '收入占比'),
    ('avg_recency', 'Average recency', '平均最近消费间隔'),
    ('avg_orders', 'Average orders', '平均订单数'),
    ('avg_monetary', 'Average net revenue', '平均消费金额'),
    ('p_alive', 'Average P(alive)', '平均活跃概率'),
    ('p_alive_one', 'P(alive)', '活跃概率'),
    ('clv', 'CLV', '客户生命周期价值'),
    ('lifecycle', 'Lifecycle', '客户生命周期'),
    ('lifecycle_note', 'Customers with an order, by lifecycle stage.', '有订单的客户，按生命周期阶段。'),
    ('pareto', 'Pareto curve', '帕累托曲线'),
    ('pareto_note', 'The top %s of customers bring %s of the net revenue.', '前 %s 的客户带来了 %s 的净收入。'),
    ('pareto_x', 'Top customers by net revenue', '按净收入排序的前 N% 客户'),
    ('pareto_y', 'Share of net revenue', '净收入占比'),
    ('whale', 'Profit curve (whale curve)', '利润曲线（鲸鱼曲线）'),
    ('whale_note', 'The most profitable %s of customers bring %s of the profit; the least profitable 30%% bring %s.', '利润最高的 %s 客户带来 %s 的利润；利润最低的 30%% 客户带来 %s。'),
    ('whale_x', 'Top customers by profit', '按利润排序的前 N% 客户'),
    ('whale_y', 'Share of profit', '利润占比'),
    ('ae_transitions', 'A–E group transitions', 'A–E 客户组迁移'),
    ('ae_transitions_note', 'Customers by their A–E group on %1$s (rows) and on %2$s (columns): the aim is to move them from B to E and keep them there.', '客户在 %1$s 的 A–E 组（行）与在 %2$s 的 A–E 组（列）：目标是把客户从 B 推向 E 并留在 E。'),
    ('transitions', 'Segment transitions', '客户分群迁移'),
    ('transitions_note', 'Customers by their segment on %1$s (rows) and on %2$s (columns); the colour is the share of the row.', '客户在 %1$s 的分群（行）与在 %2$s 的分群（列）；颜色表示在该行中的占比。'),
    ('no_transitions', 'Transitions need two snapshots in the model''s history: refresh it again later, or as of a past time.', '迁移需要历史中至少两个快照：稍后再次刷新，或按过去的时间刷新。'),
    ('new', 'new customers', '新客户'),
    ('gone', 'no longer a customer', '不再是客户'),
    ('clv_dist', 'CLV distribution', 'CLV 分布'),
    ('clv_note', 'Customers by CLV over the next %1$s %2$s (margin %3$s, discount rate %4$s per %5$s); the bars are 1-2-5 steps of CLV.', '按未来 %1$s %2$s 的 CLV 统计的客户数（毛利率 %3$s，每%5$s折现率 %4$s）；柱按 1-2-5 的 CLV 区间划分。'),
    ('no_clv', 'No CLV: the model has no fitted BG/NBD and Gamma-Gamma models.', '没有 CLV：模型没有拟合 BG/NBD 与 Gamma-Gamma。'),
    ('top', 'Top customers', '最有价值的客户'),
    ('customer', 'Customer', '客户'),
    ('footer', 'Made by the PostgreSQL extension rfm', '由 PostgreSQL 扩展 rfm 生成'),
    ('hour', 'hours', '小时'), ('day', 'days', '天'), ('week', 'weeks', '周'),
    ('month', 'months', '月'), ('quarter', 'quarters', '季度'), ('year', 'years', '年')
                 ) AS t(key, en, zh)
                 WHERE t.key = rfm_report_text.key), key)
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_text(text, text) IS
    'A fixed text of the report in English (''en'') or Chinese (''zh''); an unknown key gives itself';

-- The one place that reads a model's views and history table: their rows
-- as jsonb, or (figures) what a section shows of them, computed by the
-- query that reads them, so that a section of a model of a million
-- customers reads a few rows, not a million.  The queries are fixed here;
-- only names of the model's own relations and columns go into them (%I).
CREATE FUNCTION @extschema@.rfm_report_rows(model text, view_suffix text, snapshots integer DEFAULT NULL,
                                            figures text DEFAULT NULL, top integer DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    reader regrole;
    rel text;
    q text;
BEGIN
    IF view_suffix IS NULL
       OR view_suffix NOT IN ('_summary', '_fit', '_customers', '_segments', '_pareto', '_history') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('"%s" is not a view of a model', view_suffix),
            HINT = 'A model has _summary, _fit, _customers, _segments, _pareto and _history.';
    END IF;
    IF figures IS NOT NULL
       AND (view_suffix, figures) NOT IN (('_summary', 'totals'), ('_customers', 'grid_f'), ('_customers', 'grid_m'),
                                          ('_customers', 'lifecycle'), ('_customers', 'clv'),
                                          ('_customers', 'top'), ('_history', 'segment'), ('_history', 'ae_group')) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('the report has no figures "%s" of %s', figures, view_suffix),
            HINT = 'Figures: totals of _summary; grid_f, grid_m, lifecycle, clv and top of _customers; segment and ae_group of _history.';
    END IF;
    -- checks that the model's objects are what rfm_create_model made, all
    -- the owner's; reads as the owner, or as the caller where that runs
    -- nobody's code (see "Security" in the README)
    reader := @extschema@.rfm_model_reader(m, ARRAY[view_suffix]);
    rel := format('%I.%I', m.schema_name, m.name || view_suffix);
    q := CASE
        WHEN figures = 'totals' THEN format($q$
SELECT pg_catalog.jsonb_build_object('people', count(*), 'buyers', count(*) FILTER (WHERE v.orders OPERATOR(pg_catalog.>) 0),
                                     'orders', sum(v.orders), 'returns', sum(v.returns), 'revenue', sum(v.revenue),
                                     'as_of', max(v.as_of))
FROM %s v$q$, rel)
        WHEN figures IN ('grid_f', 'grid_m') THEN format($q$
SELECT pg_catalog.jsonb_build_object('rs', v.r_score, 'xs', v.%2$I, 'k', count(*), 'revenue', sum(v.monetary))
FROM %1$s v WHERE v.r_score IS NOT NULL AND v.%2$I IS NOT NULL GROUP BY v.r_score, v.%2$I$q$,
            rel, CASE figures WHEN 'grid_f' THEN 'f_score' ELSE 'm_score' END)
        WHEN figures = 'lifecycle' THEN format($q$
SELECT pg_catalog.jsonb_build_object('stage', v.lifecycle_stage, 'k', count(*))
FROM %s v WHERE v.lifecycle_stage IS NOT NULL GROUP BY v.lifecycle_stage$q$, rel)
        WHEN figures = 'clv' THEN format($q$
SELECT pg_catalog.jsonb_build_object('bin', b.bin, 'k', count(*))
FROM (SELECT @extschema@.rfm_report_clv_bin(v.clv) AS bin FROM %s v WHERE v.clv IS NOT NULL) b GROUP BY b.bin$q$, rel)
        WHEN figures = 'top' THEN format(
            'SELECT pg_catalog.to_jsonb(v) FROM %s v WHERE v.revenue_rank OPERATOR(pg_catalog.<=) %s',
            rel, coalesce(top, 0))
        WHEN figures IN ('segment', 'ae_group') THEN NULL
        WHEN view_suffix = '_history' AND snapshots IS NOT NULL THEN format(
            'SELECT pg_catalog.to_jsonb(h) FROM %1$s h WHERE h.as_of OPERATOR(pg_catalog.=) ANY '
            '(SELECT s.as_of FROM %1$s s GROUP BY s.as_of ORDER BY s.as_of DESC LIMIT %2$s)', rel, snapshots)
        ELSE format('SELECT pg_catalog.to_jsonb(v) FROM %s v', rel) END;
    IF figures IN ('segment', 'ae_group') THEN
        -- The customers by their group at the last two snapshots (the
        -- earlier one a, the later one b): new ones, gone ones, moves.
        -- Customers compare by their type's equality, else as jsonb.
        q := format($q$
WITH s AS (SELECT h.as_of FROM %1$s h GROUP BY h.as_of ORDER BY h.as_of DESC LIMIT 2),
     t AS (SELECT min(s.as_of) AS a, max(s.as_of) AS b FROM s),
     fa AS (SELECT h.customer, h.%2$I AS g FROM %1$s h, t WHERE h.as_of OPERATOR(pg_catalog.=) t.a),
     tb AS (SELECT h.customer, h.%2$I AS g, h.monetary FROM %1$s h, t
            WHERE h.as_of OPERATOR(pg_catalog.=) t.b AND t.b OPERATOR(pg_catalog.>) t.a),
     x AS (SELECT fa.customer IS NULL AS is_new, fa.g AS fs, tb.customer IS NULL AS is_gone, tb.g AS ts,
                  count(*) AS k, sum(tb.monetary) AS revenue
           FROM fa FULL JOIN tb ON %3$s
           GROUP BY 1, 2, 3, 4)
SELECT pg_catalog.jsonb_build_object('a', t.a, 'b', t.b, 'is_new', x.is_new, 'fs', x.fs, 'is_gone', x.is_gone,
                                     'ts', x.ts, 'k', x.k, 'revenue', x.revenue)
FROM x, t$q$,
            rel, figures, @extschema@.rfm_model_customer_eq(rel::regclass, 'fa.customer', 'tb.customer'));
    END IF;
    RETURN QUERY SELECT r.j FROM @extschema@.rfm_owner_query(reader, q) AS r(j jsonb);
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_rows(text, text, integer, text, integer) IS
    'The single place where the report reads a model''s relations, as rfm_model_reader says (the model''s owner, in a security-restricted operation, for roles that may become it); refuses a model whose objects are not those rfm_create_model made, all the owner''s. Without figures: the rows of <model><view_suffix> as jsonb (of _history, with snapshots, those of the last snapshots only). With figures, what a section shows, computed where the rows are read: totals of _summary (people, buyers, orders, returns, revenue, as_of); of _customers, grid_f and grid_m (customers and revenue by r_score and f_score or m_score), lifecycle (customers by stage), clv (customers by rfm_report_clv_bin), top (the rows of revenue_rank <= top); of _history, segment and ae_group (customers by that group at the last two snapshots, a and b: new, gone, or from fs to ts, with their revenue at b)';

-- A time of a model, in its time zone.
CREATE FUNCTION @extschema@.rfm_report_time(m @extschema@.rfm_model, t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN t IS NULL THEN '–'
            ELSE @extschema@.rfm_report_escape(to_char(t AT TIME ZONE m.time_zone, 'YYYY-MM-DD HH24:MI')
                                               || ' ' || m.time_zone) END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_time(@extschema@.rfm_model, timestamptz) IS
    'A time as the report prints it: in the model''s time zone, escaped';

-- The frame of a section: its heading, a note (omitted when NULL) and its
-- body.  Its arguments are HTML: the callers escape what needs it.
CREATE FUNCTION @extschema@.rfm_report_section(id text, title text, note text, body text DEFAULT '') RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT format('<section id="%s"><h2>%s</h2>%s%s</section>', id, title,
              CASE WHEN note IS NULL THEN '' ELSE format('<p class="note">%s</p>', note) END, coalesce(body, ''))
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_section(text, text, text, text) IS
    'The frame of a report section: <section id> with its <h2> title, a note paragraph (none when NULL) and the body, all given as HTML';

-- A chart: an SVG element named by data-chart (what the tests count by).
CREATE FUNCTION @extschema@.rfm_report_svg(kind text, chart text, width numeric, height numeric, content text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT format('<svg class="chart %1$s" data-chart="%2$s" xmlns="http://www.w3.org/2000/svg" '
              'width="%3$s" height="%4$s" viewBox="0 0 %3$s %4$s">%5$s</svg>',
              kind, chart, width, height, coalesce(content, ''))
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_svg(text, text, numeric, numeric, text) IS
    'An SVG chart of the report: <svg class="chart kind" data-chart="chart"> of the given size around the content (HTML)';

-- Section: title, totals and the fitted models.
CREATE FUNCTION @extschema@.rfm_report_overview(model text, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    s record;
    f jsonb;
    fit text;
BEGIN
    SELECT (r->>'people')::bigint AS people, (r->>'buyers')::bigint AS buyers, (r->>'orders')::numeric AS orders,
           (r->>'returns')::numeric AS returns, (r->>'revenue')::numeric AS revenue,
           (r->>'as_of')::timestamptz AS as_of
    INTO s FROM @extschema@.rfm_report_rows(model, '_summary', figures => 'totals') r;
    SELECT r INTO f FROM @extschema@.rfm_report_rows(model, '_fit') r LIMIT 1;
    IF f IS NULL OR (f->>'bgnbd_r') IS NULL THEN
        fit := format('<p class="note">%s</p>', @extschema@.rfm_report_text('no_fit', lang));
    ELSE
        fit := format('<p class="note">%s: BG/NBD r = %s, α = %s, a = %s, b = %s; Gamma-Gamma p = %s, q = %s, γ = %s</p>',
                      @extschema@.rfm_report_text('fit', lang),
                      @extschema@.rfm_report_number((f->>'bgnbd_r')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'bgnbd_alpha')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'bgnbd_a')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'bgnbd_b')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'gg_p')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'gg_q')::numeric, 3),
                      @extschema@.rfm_report_number((f->>'gg_gamma')::numeric, 3));
    END IF;
    RETURN format('<section id="overview"><h1>%s: %s</h1>'
                  '<p class="sub">%s %s · %s %s</p><div class="kpis">%s</div>%s</section>',
                  @extschema@.rfm_report_text('title', lang), @extschema@.rfm_report_escape(m.name),
                  @extschema@.rfm_report_text('as_of', lang),
                  @extschema@.rfm_report_time(m, coalesce(s.as_of, m.refresh_as_of)),
                  @extschema@.rfm_report_text('source', lang), @extschema@.rfm_report_escape(m.source),
                  (SELECT string_agg(format('<div class="kpi"><div class="v">%s</div><div class="k">%s</div></div>',
                                            k.v, @extschema@.rfm_report_text(k.k, lang)), '' ORDER BY k.i)
                   FROM (VALUES (1, 'buyers', @extschema@.rfm_report_number(s.buyers)),
                                (2, 'revenue', @extschema@.rfm_report_number(s.revenue, 2)),
                                (3, 'orders', @extschema@.rfm_report_number(s.orders)),
                                (4, 'aov', @extschema@.rfm_report_number(s.revenue / NULLIF(s.orders, 0), 2)),
                                (5, 'returns', @extschema@.rfm_report_number(s.returns))) AS k(i, k, v)),
                  fit);
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_overview(text, text) IS
    'Report section: the model''s name, as-of time and source, its totals (from <name>_summary) and fitted BTYD parameters (<name>_fit)';

-- Section: the R x F and R x M grids.
CREATE FUNCTION @extschema@.rfm_report_grid(model text, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    cell constant integer := 56;
    lft constant integer := 40;
    top constant integer := 12;
    n integer := m.bins;
    axis text;
    cells text;
    axes text;
    out text := '';
BEGIN
    FOREACH axis IN ARRAY ARRAY['f', 'm'] LOOP
        WITH g AS (SELECT (r->>'rs')::integer AS rs, (r->>'xs')::integer AS xs, (r->>'k')::bigint AS k,
                          (r->>'revenue')::numeric AS revenue
                   FROM @extschema@.rfm_report_rows(model, '_customers', figures => 'grid_' || axis) r),
             mx AS (SELECT max(g.k) AS k, max(g.revenue) AS revenue FROM g),
             sq AS (SELECT g.*, greatest(4, round((cell - 4) * sqrt(g.k::float8 / mx.k)))::integer AS side,
                           CASE WHEN mx.revenue > 0 THEN greatest(g.revenue, 0) / mx.revenue ELSE 0 END AS t
                    FROM g, mx)
        SELECT string_agg(format('<g><rect class="cell" x="%s" y="%s" width="%s" height="%s" fill="%s">'
                                 '<title>R %s · %s %s: %s %s, %s %s</title></rect>%s</g>',
                                 lft + (sq.xs - 1) * cell + (cell - sq.side) / 2,
                                 top + (n - sq.rs) * cell + (cell - sq.side) / 2,
                                 sq.side, sq.side, @extschema@.rfm_report_colour(sq.t),
                                 sq.rs, upper(axis), sq.xs, @extschema@.rfm_report_number(sq.k),
                                 @extschema@.rfm_report_text('customers', lang),
                                 @extschema@.rfm_report_text('revenue', lang),
                                 @extschema@.rfm_report_number(sq.revenue, 2),
                                 CASE WHEN sq.side >= 24 THEN
                                     format('<text x="%s" y="%s" class="in" fill="%s">%s</text>',
                                            lft + (sq.xs - 1) * cell + cell / 2, top + (n - sq.rs) * cell + cell / 2 + 4,
                                            CASE WHEN sq.t > 0.5 THEN '#fff' ELSE '#123' END, sq.k)
                                 ELSE '' END),
                          '' ORDER BY sq.rs DESC, sq.xs)
        INTO cells FROM sq;
        SELECT string_agg(format('<text x="%s" y="%s" class="tick">%s</text>'
                                 '<text x="%s" y="%s" class="tick">%s</text>',
                                 lft - 10, top + (n - i) * cell + cell / 2 + 4, i,
                                 lft + (i - 1) * cell + cell / 2, top + n * cell + 16, i), '' ORDER BY i)
        INTO axes FROM generate_series(1, n) i;
        out := out || format('<figure>%s<figcaption>%s × %s</figcaption></figure>',
                             @extschema@.rfm_report_svg('grid', 'grid-r' || axis, lft + n * cell + 8, top + n * cell + 44,
                                 format('<rect class="frame" x="%s" y="%s" width="%s" height="%s"/>%s%s'
                                        '<text x="12" y="%s" class="axis" transform="rotate(-90 12 %s)">R</text>'
                                        '<text x="%s" y="%s" class="axis">%s</text>',
                                        lft, top, n * cell, n * cell, coalesce(cells, ''), axes,
                                        top + n * cell / 2, top + n * cell / 2,
                                        lft + n * cell / 2, top + n * cell + 36, upper(axis))),
                             @extschema@.rfm_report_text('r_score', lang),
                             @extschema@.rfm_report_text(axis || '_score', lang));
    END LOOP;
    RETURN @extschema@.rfm_report_section('grid', @extschema@.rfm_report_text('grid', lang),
                                          @extschema@.rfm_report_text('grid_note', lang),
                                          format('<div class="row">%s</div>', out));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_grid(text, text) IS
    'Report section: two SVG grids, R x F and R x M scores, one square per cell with customers (<rect class="cell">), its area the customers, its colour their net revenue (from <name>_customers)';

-- Section: the segment table with strategies and channels.
CREATE FUNCTION @extschema@.rfm_report_segments(model text, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    body text;
BEGIN
    SELECT string_agg(format('<tr class="segment"><th>%s</th><td>%s</td><td>%s</td><td class="n">%s</td>'
                             '<td class="n">%s<span class="share" style="width:%spx"></span></td><td class="n">%s</td>'
                             '<td class="n">%s<span class="share" style="width:%spx"></span></td>'
                             '<td class="n">%s</td><td class="n">%s</td><td class="n">%s</td><td class="n">%s</td>'
                             '<td class="n">%s</td></tr>',
                             @extschema@.rfm_report_label(s.segment, lang),
                             @extschema@.rfm_report_label(s.strategy, lang),
                             coalesce((SELECT string_agg(@extschema@.rfm_report_label(ch.code, lang), ', ' ORDER BY ch.i)
                                       FROM @extschema@.rfm_segment_action sa,
                                            unnest(sa.channels) WITH ORDINALITY AS ch(code, i)
                                       WHERE sa.segment = s.segment), '–'),
                             @extschema@.rfm_report_number(s.customers),
                             @extschema@.rfm_report_percent(s.customer_share),
                             round(60 * greatest(coalesce(s.customer_share, 0), 0)),
                             @extschema@.rfm_report_number(s.revenue, 2),
                             @extschema@.rfm_report_percent(s.revenue_share),
                             round(60 * least(greatest(coalesce(s.revenue_share, 0), 0), 1)),
                             @extschema@.rfm_report_number(s.avg_recency, 1),
                             @extschema@.rfm_report_number(s.avg_frequency, 1),
                             @extschema@.rfm_report_number(s.avg_monetary, 2),
                             @extschema@.rfm_report_number(s.avg_p_alive, 2),
                             @extschema@.rfm_report_number(s.total_clv, 0)),
                      '' ORDER BY s.revenue DESC NULLS LAST, s.segment)
    INTO body
    FROM (SELECT r->>'segment' AS segment, r->>'strategy' AS strategy, (r->>'customers')::bigint AS customers,
                 (r->>'customer_share')::numeric AS customer_share, (r->>'revenue')::numeric AS revenue,
                 (r->>'revenue_share')::numeric AS revenue_share, (r->>'avg_recency')::numeric AS avg_recency,
                 (r->>'avg_frequency')::numeric AS avg_frequency, (r->>'avg_monetary')::numeric AS avg_monetary,
                 (r->>'avg_p_alive')::numeric AS avg_p_alive, (r->>'total_clv')::numeric AS total_clv
          FROM @extschema@.rfm_report_rows(model, '_segments') r) s;
    IF body IS NULL THEN
        RETURN @extschema@.rfm_report_section('segments', @extschema@.rfm_report_text('segments', lang),
                                              @extschema@.rfm_report_text('no_customers', lang));
    END IF;
    RETURN @extschema@.rfm_report_section('segments', @extschema@.rfm_report_text('segments', lang), NULL, format(
                  '<table class="segments"><thead><tr>'
                  '<th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th>'
                  '<th>%s (%s)</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>',
                  @extschema@.rfm_report_text('segment', lang),
                  @extschema@.rfm_report_text('strategy', lang), @extschema@.rfm_report_text('channels', lang),
                  @extschema@.rfm_report_text('customers', lang), @extschema@.rfm_report_text('customer_share', lang),
                  @extschema@.rfm_report_text('revenue', lang), @extschema@.rfm_report_text('revenue_share', lang),
                  @extschema@.rfm_report_text('avg_recency', lang), @extschema@.rfm_report_text(m.time_unit, lang),
                  @extschema@.rfm_report_text('avg_orders', lang), @extschema@.rfm_report_text('avg_monetary', lang),
                  @extschema@.rfm_report_text('p_alive', lang), @extschema@.rfm_report_text('clv', lang), body));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_segments(text, text) IS
    'Report section: the table of segments (<tr class="segment"> each) with strategy, channels, customers, revenue, averages and CLV (from <name>_segments and the rule tables)';

-- Section: the lifecycle funnel.
CREATE FUNCTION @extschema@.rfm_report_lifecycle(model text, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bars text;
    k integer;
BEGIN
    WITH c AS (SELECT r->>'stage' AS stage, (r->>'k')::bigint AS k
               FROM @extschema@.rfm_report_rows(model, '_customers', figures => 'lifecycle') r),
         st AS (SELECT s.stage, s.i, c.k
                FROM unnest(ARRAY['acquisition', 'growth', 'maturity', 'decline', 'churned'])
                         WITH ORDINALITY AS s(stage, i)
                     JOIN c ON c.stage = s.stage),
         t AS (SELECT st.*, row_number() OVER (ORDER BY st.i) AS pos,
                      greatest(2, round(400.0 * st.k / max(st.k) OVER ()))::integer AS w,
                      sum(st.k) OVER () AS total FROM st)
    SELECT string_agg(format('<g><rect class="stage" x="%s" y="%s" width="%s" height="30" fill="%s">'
                             '<title>%s: %s</title></rect>'
                             '<text x="150" y="%s" class="label" text-anchor="end">%s</text>'
                             '<text x="%s" y="%s" class="label">%s (%s)</text></g>',
                             round(160 + (400 - t.w) / 2.0, 1), 8 + (t.pos - 1) * 38, t.w,
                             @extschema@.rfm_report_colour(0.25 + 0.15 * t.i),
                             @extschema@.rfm_report_label(t.stage, lang),
                             @extschema@.rfm_report_number(t.k),
                             28 + (t.pos - 1) * 38, @extschema@.rfm_report_label(t.stage, lang),
                             570, 28 + (t.pos - 1) * 38, @extschema@.rfm_report_number(t.k),
                             @extschema@.rfm_report_percent(t.k::numeric / t.total)),
                      '' ORDER BY t.i),
           count(*)
    INTO bars, k FROM t;
    IF bars IS NULL THEN
        RETURN @extschema@.rfm_report_section('lifecycle', @extschema@.rfm_report_text('lifecycle', lang),
                                              @extschema@.rfm_report_text('no_customers', lang));
    END IF;
    RETURN @extschema@.rfm_report_section('lifecycle', @extschema@.rfm_report_text('lifecycle', lang),
                                          @extschema@.rfm_report_text('lifecycle_note', lang),
                                          @extschema@.rfm_report_svg('funnel', 'lifecycle', 700, 16 + k * 38, bars));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_lifecycle(text, text) IS
    'Report section: the lifecycle funnel, one centred bar (<rect class="stage">) per stage with customers, acquisition to churned (from <name>_customers)';

-- Section: the Pareto curve.
CREATE FUNCTION @extschema@.rfm_report_curve(model text, lang text, measure text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    w constant integer := 480;
    h constant integer := 260;
    lft constant integer := 56;
    top constant integer := 12;
    lo float8;
    hi float8;
    pts text;
    top20 numeric;
    top70 numeric;
    id text := CASE measure WHEN 'profit' THEN 'whale' ELSE 'pareto' END;
    grid text;
BEGIN
    WITH p AS (SELECT (r->>'customer_percent')::integer AS pct, (r->>(measure || '_share'))::float8 AS share
               FROM @extschema@.rfm_report_rows(model, '_pareto') r)
    SELECT least(0, min(p.share)), greatest(1, max(p.share)),
           '0,0 ' || string_agg(format('%s,%s', p.pct, round(p.share::numeric, 4)), ' ' ORDER BY p.pct),
           max(p.share) FILTER (WHERE p.pct = 20), max(p.share) FILTER (WHERE p.pct = 70)
    INTO lo, hi, pts, top20, top70 FROM p WHERE p.share IS NOT NULL;
    IF pts IS NULL THEN
        RETURN @extschema@.rfm_report_section(id, @extschema@.rfm_report_text(id, lang),
                                              @extschema@.rfm_report_text('no_customers', lang));
    END IF;
    -- the points in pixels
    SELECT string_agg(format('%s,%s', round(lft + w * split_part(xy, ',', 1)::numeric / 100, 1),
                             round((top + h - h * (split_part(xy, ',', 2)::float8 - lo) / (hi - lo))::numeric, 1)),
                      ' ' ORDER BY i)
    INTO pts FROM unnest(string_to_array(pts, ' ')) WITH ORDINALITY AS u(xy, i);
    SELECT string_agg(format('<line class="gridline" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                             '<text x="%s" y="%s" class="tick" text-anchor="end">%s%%</text>'
                             '<text x="%s" y="%s" class="tick">%s%%</text>',
                             lft, round((top + h - h * (g / 100.0 - lo) / (hi - lo))::numeric, 1),
                             lft + w, round((top + h - h * (g / 100.0 - lo) / (hi - lo))::numeric, 1),
                             lft - 6, round((top + h - h * (g / 100.0 - lo) / (hi - lo))::numeric, 1) + 4, g,
                             lft + w * g / 100 - 10, top + h + 16, g), '')
    INTO grid FROM generate_series(0, 100, 20) g;
    RETURN @extschema@.rfm_report_section(id, @extschema@.rfm_report_text(id, lang),
               format(@extschema@.rfm_report_text(id || '_note', lang), '20%', @extschema@.rfm_report_percent(top20),
                      @extschema@.rfm_report_percent(1 - top70)),
               @extschema@.rfm_report_svg('pareto', id, lft + w + 30, top + h + 44, format(
                   '%s<line class="even" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                   '<line class="mark" x1="%s" y1="%s" x2="%s" y2="%s"/>'
                   '<polyline class="curve" fill="none" points="%s"/>'
                   '<text x="%s" y="%s" class="axis">%s</text>'
                   '<text x="14" y="%s" class="axis" transform="rotate(-90 14 %s)">%s</text>',
                   grid,
                   lft, round((top + h - h * (0 - lo) / (hi - lo))::numeric, 1),
                   lft + w, round((top + h - h * (1 - lo) / (hi - lo))::numeric, 1),
                   lft + w / 5, top, lft + w / 5, top + h,
                   pts, lft + w / 2 - 80, top + h + 38, @extschema@.rfm_report_text(id || '_x', lang),
                   top + h / 2 + 60, top + h / 2 + 60, @extschema@.rfm_report_text(id || '_y', lang))));
END
$$;
CREATE FUNCTION @extschema@.rfm_report_pareto(model text, lang text) RETURNS text
LANGUAGE sql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT @extschema@.rfm_report_curve(model, lang, 'revenue')
$$;
-- Whether a model has the views of 1.2 (profit, groups): those of 1.1 do not.
CREATE FUNCTION @extschema@.rfm_report_v12(model text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT EXISTS (SELECT 1 FROM @extschema@.rfm_model m WHERE m.name = model AND m.views_version <> '1.1')
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_v12(text) IS
    'Whether a model was created with 1.2 or later (its views have profit and the customer groups)';
CREATE FUNCTION @extschema@.rfm_report_whale(model text, lang text) RETURNS text
LANGUAGE sql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN @extschema@.rfm_report_v12(model) THEN @extschema@.rfm_report_curve(model, lang, 'profit') ELSE '' END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_whale(text, text) IS
    'Report section: the profit (whale) curve from _pareto.profit_share, with the 20/80/30 figures (nothing for a model created before 1.2)';
COMMENT ON FUNCTION @extschema@.rfm_report_curve(text, text, text) IS
    'The Pareto curve (measure revenue) or the whale curve (measure profit) of a model''s _pareto view, as a report section';
COMMENT ON FUNCTION @extschema@.rfm_report_pareto(text, text) IS
    'Report section: the Pareto curve (<polyline class="curve">: the origin and one point per row of <name>_pareto) and the share of the top 20%';

-- Section: the segment transitions between the last two snapshots.
CREATE FUNCTION @extschema@.rfm_report_moves(model text, lang text, by text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    cell constant integer := 46;
    lft constant integer := 170;
    top constant integer := 120;
    q record;
    id text := CASE by WHEN 'segment' THEN 'transitions' ELSE 'ae_transitions' END;
BEGIN
    IF by IS NULL OR by NOT IN ('segment', 'ae_group') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('the report shows moves by segment or ae_group, not by "%s"', by);
    END IF;
    -- the groups of the last two snapshots' customers, counted where they are read
    WITH xr AS (SELECT r FROM @extschema@.rfm_report_rows(model, '_history', figures => by) r),
         t AS (SELECT min((xr.r->>'a')::timestamptz) AS a, max((xr.r->>'b')::timestamptz) AS b FROM xr),
         x AS (SELECT (xr.r->>'is_new')::boolean AS is_new, xr.r->>'fs' AS fs, (xr.r->>'is_gone')::boolean AS is_gone,
                      xr.r->>'ts' AS ts, (xr.r->>'k')::bigint AS k, (xr.r->>'revenue')::numeric AS revenue
               FROM xr),
         -- the segments by their revenue at the later snapshot, as the segment table
         -- orders them: the same order on both axes
         ord AS (SELECT u.seg, row_number() OVER (ORDER BY sum(u.revenue) DESC NULLS LAST, u.seg) AS pos
                 FROM (SELECT coalesce(x.ts, '–') AS seg, x.revenue FROM x WHERE NOT x.is_gone
                       UNION ALL
                       SELECT coalesce(x.fs, '–'), NULL FROM x WHERE NOT x.is_new) u
                 GROUP BY u.seg),
         nseg AS (SELECT count(*) AS n FROM ord),
         c AS (SELECT x.*, CASE WHEN x.is_new THEN nseg.n + 1 ELSE fo.pos END AS rowpos,
                      CASE WHEN x.is_gone THEN nseg.n + 1 ELSE tob.pos END AS colpos,
                      x.k::float8 / sum(x.k) OVER (PARTITION BY x.is_new, x.fs) AS share
               FROM x CROSS JOIN nseg
                    LEFT JOIN ord fo ON NOT x.is_new AND fo.seg = coalesce(x.fs, '–')
                    LEFT JOIN ord tob ON NOT x.is_gone AND tob.seg = coalesce(x.ts, '–')),
         lab AS (SELECT ord.pos, CASE WHEN ord.seg = '–' THEN '–'
                                      WHEN by = 'segment' THEN @extschema@.rfm_report_label(ord.seg, lang)
                                      -- a group's code on the axes; the note names them
                                      ELSE @extschema@.rfm_report_escape(ord.seg) END AS label
                 FROM ord
                 UNION ALL
                 SELECT nseg.n + 1, NULL FROM nseg)
    SELECT t.a, t.b, (SELECT nseg.n FROM nseg) AS n,
           (SELECT string_agg(format('<g><rect class="cell" x="%s" y="%s" width="%s" height="%s" fill="%s">'
                                     '<title>%s → %s: %s</title></rect>'
                                     '<text x="%s" y="%s" class="in" fill="%s">%s</text></g>',
                                     lft + (c.colpos - 1) * cell + 1, top + (c.rowpos - 1) * cell + 1, cell - 2, cell - 2,
                                     @extschema@.rfm_report_colour(0.1 + 0.9 * c.share),
                                     CASE WHEN c.is_new THEN @extschema@.rfm_report_text('new', lang)
                                          ELSE (SELECT lab.label FROM lab WHERE lab.pos = c.rowpos) END,
                                     CASE WHEN c.is_gone THEN @extschema@.rfm_report_text('gone', lang)
                                          ELSE (SELECT lab.label FROM lab WHERE lab.pos = c.colpos) END,
                                     @extschema@.rfm_report_number(c.k),
                                     lft + (c.colpos - 1) * cell + cell / 2, top + (c.rowpos - 1) * cell + cell / 2 + 4,
                                     CASE WHEN c.share > 0.45 THEN '#fff' ELSE '#123' END, c.k),
                              '' ORDER BY c.rowpos, c.colpos) FROM c) AS cells,
           (SELECT string_agg(format('<text x="%s" y="%s" class="label" text-anchor="end">%s</text>'
                                     '<text x="%s" y="%s" class="label" transform="rotate(-40 %s %s)">%s</text>',
                                     lft - 6, top + (lab.pos - 1) * cell + cell / 2 + 4,
                                     coalesce(lab.label, @extschema@.rfm_report_text('new', lang)),
                                     lft + (lab.pos - 1) * cell + cell / 2, top - 6,
                                     lft + (lab.pos - 1) * cell + cell / 2, top - 6,
                                     coalesce(lab.label, @extschema@.rfm_report_text('gone', lang))),
                              '' ORDER BY lab.pos) FROM lab) AS labels
    INTO q FROM t;
    IF q.a IS NULL OR q.b IS NULL OR q.a = q.b THEN
        RETURN @extschema@.rfm_report_section(id, @extschema@.rfm_report_text(id, lang),
                                              @extschema@.rfm_report_text('no_transitions', lang));
    END IF;
    RETURN @extschema@.rfm_report_section(id, @extschema@.rfm_report_text(id, lang),
               format(@extschema@.rfm_report_text(id || '_note', lang),
                      @extschema@.rfm_report_time(m, q.a), @extschema@.rfm_report_time(m, q.b))
               || CASE WHEN by = 'segment' THEN ''
                       ELSE ' ' || (SELECT string_agg(@extschema@.rfm_report_escape(
                                                          @extschema@.rfm_group_label(g.code, lang)), '; ' ORDER BY g.code)
                                    FROM @extschema@.rfm_customer_group g WHERE g.scheme = 'ae') || '.' END,
               @extschema@.rfm_report_svg('transitions', id, lft + (q.n + 1) * cell + 90,
                                          top + (q.n + 1) * cell + 10, q.labels || coalesce(q.cells, '')));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_moves(text, text, text) IS
    'Report section: customers by their group (by: segment or ae_group) at the last two snapshots of the history, a from x to grid coloured by the share of each row';
CREATE FUNCTION @extschema@.rfm_report_transitions(model text, lang text) RETURNS text
LANGUAGE sql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT @extschema@.rfm_report_moves(model, lang, 'segment')
$$;
CREATE FUNCTION @extschema@.rfm_report_ae_transitions(model text, lang text) RETURNS text
LANGUAGE sql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN @extschema@.rfm_report_v12(model) THEN @extschema@.rfm_report_moves(model, lang, 'ae_group') ELSE '' END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_ae_transitions(text, text) IS
    'Report section: the A-E group transitions between the last two snapshots (nothing for a model created before 1.2)';
COMMENT ON FUNCTION @extschema@.rfm_report_transitions(text, text) IS
    'Report section: from-segment x to-segment customers between the last two snapshots of <name>_history, one square (<rect class="cell">) per pair with customers, as rfm_transition_matrix counts them; a note when there are fewer than two snapshots';

-- The CLV bins of the report: 1-2-5 steps.
CREATE FUNCTION @extschema@.rfm_report_clv_bin(clv float8) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN v < 0 THEN -1
            WHEN v < 1 THEN 0
            ELSE 1 + 3 * e + CASE WHEN v >= 5 * 10::numeric ^ e THEN 2 WHEN v >= 2 * 10::numeric ^ e THEN 1 ELSE 0 END
       END
FROM (SELECT clv::numeric AS v, length(trunc(abs(clv::numeric))::text) - 1 AS e) s
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_clv_bin(float8) IS
    'The bin of a CLV in the report''s distribution: -1 below 0, 0 for [0, 1), then 1, 2, 3 ... for [1, 2), [2, 5), [5, 10), [10, 20) ... (rfm_report_clv_edge gives the lower edges)';

CREATE FUNCTION @extschema@.rfm_report_clv_edge(bin integer) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
SELECT CASE WHEN bin < 0 THEN NULL WHEN bin = 0 THEN 0
            ELSE (ARRAY[1, 2, 5])[(bin - 1) % 3 + 1] * 10::numeric ^ ((bin - 1) / 3) END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_clv_edge(integer) IS
    'Lower edge of a bin of rfm_report_clv_bin (NULL for the bin below 0)';

-- Section: the distribution of CLV.
CREATE FUNCTION @extschema@.rfm_report_clv(model text, lang text) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model := @extschema@.rfm_model_row(model);
    bw constant integer := 34;
    h constant integer := 200;
    lft constant integer := 20;
    top constant integer := 16;
    bars text;
    k integer;
BEGIN
    WITH b AS (SELECT (r->>'bin')::integer AS bin, (r->>'k')::bigint AS k
               FROM @extschema@.rfm_report_rows(model, '_customers', figures => 'clv') r),
         rng AS (SELECT min(b.bin) AS lo, max(b.bin) AS hi, max(b.k) AS maxk FROM b),
         s AS (SELECT g.bin, coalesce(b.k, 0) AS k, g.bin - rng.lo AS pos, rng.maxk,
                      CASE WHEN g.bin < 0 THEN '&lt; 0'
                           ELSE @extschema@.rfm_report_number(@extschema@.rfm_report_clv_edge(g.bin)) END AS edge,
                      CASE WHEN g.bin < 0 THEN '&lt; 0'
                           ELSE format('%s – %s', @extschema@.rfm_report_number(@extschema@.rfm_report_clv_edge(g.bin)),
                                       @extschema@.rfm_report_number(@extschema@.rfm_report_clv_edge(g.bin + 1))) END AS span
               FROM rng CROSS JOIN generate_series(rng.lo, rng.hi) AS g(bin) LEFT JOIN b ON b.bin = g.bin)
    SELECT string_agg(format('<g><rect class="bar" x="%s" y="%s" width="%s" height="%s" fill="%s">'
                             '<title>%s: %s</title></rect>%s'
                             '<text x="%s" y="%s" class="tick" text-anchor="end" transform="rotate(-45 %s %s)">%s</text></g>',
                             lft + s.pos * bw + 2, top + h - round(h * s.k::numeric / s.maxk), bw - 4,
                             round(h * s.k::numeric / s.maxk), @extschema@.rfm_report_colour(0.6), s.span,
                             @extschema@.rfm_report_number(s.k),
                             CASE WHEN s.k > 0 THEN format('<text x="%s" y="%s" class="tick" text-anchor="middle">%s</text>',
                                                           lft + s.pos * bw + bw / 2, top + h - round(h * s.k::numeric / s.maxk) - 3, s.k)
                                  ELSE '' END,
                             lft + s.pos * bw + bw / 2, top + h + 14, lft + s.pos * bw + bw / 2, top + h + 14, s.edge),
                      '' ORDER BY s.bin),
           count(*)
    INTO bars, k FROM s;
    IF bars IS NULL THEN
        RETURN @extschema@.rfm_report_section('clv', @extschema@.rfm_report_text('clv_dist', lang),
                                              @extschema@.rfm_report_text('no_clv', lang));
    END IF;
    RETURN @extschema@.rfm_report_section('clv', @extschema@.rfm_report_text('clv_dist', lang),
               format(@extschema@.rfm_report_text('clv_note', lang),
                      @extschema@.rfm_report_number(m.clv_horizon::numeric, 0),
                      @extschema@.rfm_report_text(m.time_unit, lang),
                      @extschema@.rfm_report_percent(m.margin::numeric, 0),
                      @extschema@.rfm_report_percent(m.discount_rate::numeric, 2),
                      CASE WHEN lang = 'zh' THEN @extschema@.rfm_report_text(m.time_unit, lang) ELSE m.time_unit END),
               @extschema@.rfm_report_svg('histogram', 'clv', lft + k * bw + 20, top + h + 70,
                   format('<line class="gridline" x1="%s" y1="%s" x2="%s" y2="%s"/>%s',
                          lft, top + h, lft + k * bw, top + h, bars)));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_clv(text, text) IS
    'Report section: a histogram of the customers'' CLV (from <name>_customers), one bar (<rect class="bar">) per 1-2-5 bin from the lowest to the highest bin with customers';

-- Section: the customers with the largest net revenue.
CREATE FUNCTION @extschema@.rfm_report_top_customers(model text, lang text, top integer DEFAULT 10) RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    body text;
BEGIN
    SELECT string_agg(format('<tr class="customer"><th>%s</th><td>%s</td><td class="n">%s</td><td class="n">%s</td>'
                             '<td class="n">%s</td><td class="n">%s</td></tr>',
                             @extschema@.rfm_report_escape(c.r->>'customer'),
                             @extschema@.rfm_report_label(c.r->>'segment', lang),
                             @extschema@.rfm_report_number((c.r->>'frequency')::numeric),
                             @extschema@.rfm_report_number((c.r->>'monetary')::numeric, 2),
                             @extschema@.rfm_report_number((c.r->>'p_alive')::numeric, 2),
                             @extschema@.rfm_report_number((c.r->>'clv')::numeric, 0)),
                      '' ORDER BY (c.r->>'revenue_rank')::bigint)
    INTO body
    FROM @extschema@.rfm_report_rows(model, '_customers', figures => 'top', top => top) AS c(r)
    WHERE (c.r->>'revenue_rank')::bigint <= top;
    IF body IS NULL THEN
        RETURN '';
    END IF;
    RETURN @extschema@.rfm_report_section('top', @extschema@.rfm_report_text('top', lang), NULL, format(
                  '<table class="customers"><thead><tr><th>%s</th><th>%s</th><th>%s</th>'
                  '<th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>',
                  @extschema@.rfm_report_text('customer', lang),
                  @extschema@.rfm_report_text('segment', lang), @extschema@.rfm_report_text('orders', lang),
                  @extschema@.rfm_report_text('revenue', lang), @extschema@.rfm_report_text('p_alive_one', lang),
                  @extschema@.rfm_report_text('clv', lang), body));
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report_top_customers(text, text, integer) IS
    'Report section: the top customers by net revenue (<tr class="customer"> each), with segment, orders, revenue, P(alive) and CLV (from <name>_customers)';

-- The report.
CREATE FUNCTION @extschema@.rfm_report(model text, lang text DEFAULT 'en') RETURNS text
LANGUAGE plpgsql STABLE PARALLEL UNSAFE
SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m @extschema@.rfm_model;
BEGIN
    IF lang IS NULL OR lang NOT IN ('en', 'zh') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown report language %s', coalesce(quote_literal(lang), 'NULL')),
            HINT = 'Use lang => ''en'' (English) or ''zh'' (Chinese).';
    END IF;
    m := @extschema@.rfm_model_row(model);
    RETURN '<!DOCTYPE html>' || E'\n'
        || format('<html lang="%s"><head><meta charset="utf-8">', CASE lang WHEN 'zh' THEN 'zh-CN' ELSE 'en' END)
        || '<meta http-equiv="Content-Security-Policy" content="default-src ''none''; style-src ''unsafe-inline''">'
        || '<meta name="viewport" content="width=device-width, initial-scale=1">'
        || format('<title>%s: %s</title>', @extschema@.rfm_report_text('title', lang), @extschema@.rfm_report_escape(m.name))
        || '<style>'
        || 'body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei","PingFang SC",system-ui,sans-serif;'
        || 'color:#123;background:#fff;margin:24px 32px;max-width:1140px}'
        || 'h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 6px;border-bottom:2px solid #08306b;padding-bottom:3px}'
        || '.sub,.note{color:#456;margin:4px 0 10px}.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0}'
        || '.kpi{background:#ecf3fc;border-radius:6px;padding:10px 16px;min-width:150px}'
        || '.kpi .v{font-size:22px;font-weight:600}.kpi .k{color:#456;font-size:13px}'
        || '.row{display:flex;flex-wrap:wrap;gap:32px}figure{margin:0}figcaption{text-align:center;color:#456;font-size:13px}'
        || 'table{border-collapse:collapse;font-size:13px}th,td{padding:4px 8px;border-bottom:1px solid #d8e2ee;text-align:left}'
        || 'thead th{background:#ecf3fc;vertical-align:bottom}td.n{text-align:right;white-space:nowrap}'
        || '.share{display:inline-block;height:8px;background:#4a7fc1;margin-left:6px;vertical-align:middle}'
        || 'svg text{font-size:12px;fill:#123}svg text.in{font-size:11px;text-anchor:middle}svg text.tick{fill:#456;font-size:11px}'
        || 'svg text.axis{font-size:12px;fill:#456}svg .frame{fill:none;stroke:#d8e2ee}'
        || 'svg .gridline{stroke:#d8e2ee}svg .even{stroke:#aaa;stroke-dasharray:4 4}svg .mark{stroke:#c0392b;stroke-dasharray:3 3}'
        || 'svg .curve{stroke:#08306b;stroke-width:2.5}footer{margin-top:32px;color:#789;font-size:12px}'
        || '</style></head><body>' || E'\n'
        || @extschema@.rfm_report_overview(model, lang) || E'\n'
        || @extschema@.rfm_report_grid(model, lang) || E'\n'
        || @extschema@.rfm_report_segments(model, lang) || E'\n'
        || @extschema@.rfm_report_lifecycle(model, lang) || E'\n'
        || @extschema@.rfm_report_pareto(model, lang) || E'\n'
        || @extschema@.rfm_report_whale(model, lang) || E'\n'
        || @extschema@.rfm_report_transitions(model, lang) || E'\n'
        || @extschema@.rfm_report_ae_transitions(model, lang) || E'\n'
        || @extschema@.rfm_report_clv(model, lang) || E'\n'
        || @extschema@.rfm_report_top_customers(model, lang) || E'\n'
        || format('<footer>%s %s</footer>', @extschema@.rfm_report_text('footer', lang),
                  (SELECT @extschema@.rfm_report_escape(e.extversion) FROM pg_catalog.pg_extension e WHERE e.extname = 'rfm'))
        || E'\n</body></html>\n';
END
$$;
COMMENT ON FUNCTION @extschema@.rfm_report(text, text) IS
    'A model as one self-contained HTML document (inline CSS and SVG, no script): totals, the R x F and R x M grids, segments and strategies, lifecycle funnel, Pareto curve, segment transitions between the last two snapshots, CLV distribution and top customers; lang ''en'' or ''zh''';
