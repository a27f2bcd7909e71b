-- rfm_report: the HTML report of a model, its sections and helpers.
SET extra_float_digits = 0;
\set VERBOSITY default
\set SHOW_CONTEXT never
-- the SQLSTATE of a statement's error
CREATE FUNCTION pg_temp.sqlstate_of(query text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE query;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END
$$;

-- The one escaping function: the five characters, NULL as ''.
SELECT rfm_report_escape($$<a href="x" title='y'>&amp;</a>$$) AS escaped,
       rfm_report_escape(NULL) = '' AS null_is_empty, rfm_report_escape('客户 A') AS unchanged;

-- Numbers for people.
SELECT rfm_report_number(1234567.891, 2) AS two_digits, rfm_report_number(-1234.5) AS rounded,
       rfm_report_number(0) AS zero, rfm_report_number(0.004, 2) AS small, rfm_report_number(NULL) AS null_dash,
       rfm_report_percent(0.7361) AS percent, rfm_report_percent(1, 0) AS whole, rfm_report_percent(NULL) AS null_percent;

-- The colour scale: its two ends and the middle (236 - 114 = 122 = 7a,
-- 243 - 97.5 = 145.5 -> 146 = 92, 252 - 72.5 = 179.5 -> 180 = b4).
SELECT rfm_report_colour(0) AS light, rfm_report_colour(1) AS dark, rfm_report_colour(0.5) AS middle,
       rfm_report_colour(7) AS clamped, rfm_report_colour(NULL) AS null_light;

-- CLV bins: 1-2-5 steps, worked out by hand.
SELECT v, rfm_report_clv_bin(v) AS bin, rfm_report_clv_edge(rfm_report_clv_bin(v)) AS lower_edge,
       rfm_report_clv_edge(rfm_report_clv_bin(v) + 1) AS upper_edge
FROM unnest(ARRAY[-3, 0, 0.99, 1, 1.99, 2, 4.99, 5, 9.99, 10, 19.5, 999.9, 1000, 2500, 123456]::float8[]) v;
-- every value lies in its bin: edge(bin) <= v < edge(bin + 1)
SELECT count(*) AS values_checked,
       count(*) FILTER (WHERE NOT (v >= coalesce(rfm_report_clv_edge(rfm_report_clv_bin(v)), '-infinity')
                                   AND v < rfm_report_clv_edge(rfm_report_clv_bin(v) + 1))) AS outside_their_bin
FROM (SELECT (x * 1.37) ^ 1.9 - 3 AS v FROM generate_series(0, 4000) x) s;

-- A model of the R package's orders, as of mid-2006 and refreshed at the end.
SELECT count(*) FROM rfm_create_model('rep', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '2006-06-30', time_unit => 'week', clv_horizon => 52,
                                      margin => 0.3);
CALL rfm_refresh('rep', '2006-12-31');
CREATE TEMP TABLE doc AS SELECT rfm_report('rep') AS html, rfm_report('rep', 'zh') AS zh;
-- a chart of the document, and how often a pattern occurs in a text
CREATE FUNCTION pg_temp.chart(doc text, name text) RETURNS text LANGUAGE sql AS
$$ SELECT substring(doc FROM '<svg class="chart [a-z]+?" data-chart="' || name || '".*?</svg>') $$;
CREATE FUNCTION pg_temp.occurs(t text, pattern text) RETURNS bigint LANGUAGE sql AS
$$ SELECT count(*) FROM regexp_matches(t, pattern, 'g') $$;

SELECT left(html, 15) AS starts, right(html, 15) AS ends, html ~ '<script' AS has_script,
       pg_temp.occurs(html, '<section id=') AS sections
FROM doc;

-- The grids: one square per (R, F) and (R, M) cell with customers.
SELECT pg_temp.occurs(pg_temp.chart(html, 'grid-rf'), '<rect class="cell"') AS rf_cells,
       (SELECT count(DISTINCT (r_score, f_score)) FROM rep_customers) AS rf_cells_with_customers,
       pg_temp.occurs(pg_temp.chart(html, 'grid-rm'), '<rect class="cell"') AS rm_cells,
       (SELECT count(DISTINCT (r_score, m_score)) FROM rep_customers) AS rm_cells_with_customers
FROM doc;
-- the customers of the R 5 x F 5 cell, counted from the orders
SELECT substring(pg_temp.chart(html, 'grid-rf') FROM '<title>R 5 · F 5: ([0-9,]+) Customers') AS doc_r5f5,
       (SELECT count(*) FROM rep_customers WHERE r_score = 5 AND f_score = 5) AS view_r5f5
FROM doc;

-- The segment table: one row per segment, largest revenue first.
SELECT pg_temp.occurs(html, '<tr class="segment">') AS segment_rows,
       (SELECT count(*) FROM rep_segments) AS segments,
       substring(html FROM '<tr class="segment"><th>([^<]*)</th>') AS first_row,
       (SELECT segment FROM rep_segments ORDER BY revenue DESC LIMIT 1) AS top_segment
FROM doc;

-- The totals, read back from the document, against the orders.
SELECT replace(substring(html FROM '<div class="v">([0-9,.]+)</div><div class="k">Net revenue'), ',', '')::numeric
         AS doc_revenue,
       (SELECT sum(revenue) FROM rfm_orders WHERE order_date <= '2006-12-31') AS orders_revenue,
       replace(substring(html FROM '<div class="v">([0-9,.]+)</div><div class="k">Customers with an order'), ',', '')::int
         AS doc_customers,
       (SELECT count(DISTINCT customer_id) FROM rfm_orders WHERE order_date <= '2006-12-31') AS orders_customers
FROM doc;

-- The lifecycle funnel: one bar per stage with customers.
SELECT pg_temp.occurs(pg_temp.chart(html, 'lifecycle'), '<rect class="stage"') AS stage_bars,
       (SELECT count(DISTINCT lifecycle_stage) FROM rep_customers) AS stages
FROM doc;

-- The Pareto curve: the origin and 100 points; the top 20 % from the orders.
SELECT pg_temp.occurs(substring(pg_temp.chart(html, 'pareto') FROM 'class="curve" fill="none" points="([^"]*)"'),
                      '[0-9.]+,[0-9.]+') AS curve_points,
       substring(html FROM 'The top 20% of customers bring ([0-9.]+%)') AS doc_top20,
       (SELECT round(100 * sum(c.revenue) FILTER (WHERE c.rank <= ceil(0.2 * c.n)) / sum(c.revenue), 1)
        FROM (SELECT sum(revenue) AS revenue, row_number() OVER (ORDER BY sum(revenue) DESC, customer_id) AS rank,
                     count(*) OVER () AS n
              FROM rfm_orders WHERE order_date <= '2006-12-31' GROUP BY customer_id) c) AS orders_top20
FROM doc;

-- The transitions between 2006-06-30 and 2006-12-31: one square per
-- (from, to) pair with customers, as rfm_transition_matrix counts them.
SELECT pg_temp.occurs(pg_temp.chart(html, 'transitions'), '<rect class="cell"') AS transition_cells,
       (SELECT count(*) FROM rfm_transition_matrix('rep')) AS matrix_rows,
       substring(html FROM 'segment on ([^(]*) \(rows\) and on ([^(]*) \(columns\)') AS from_date
FROM doc;
-- the customers new since June: in the document, and from the orders
SELECT sum(replace(m[1], ',', '')::int) AS doc_new_customers,
       (SELECT count(DISTINCT customer_id) FROM rfm_orders WHERE order_date > '2006-06-30'
          AND customer_id NOT IN (SELECT customer_id FROM rfm_orders WHERE order_date <= '2006-06-30')) AS new_from_orders
FROM doc, regexp_matches(pg_temp.chart(html, 'transitions'), '<title>new customers → [^:]*: ([0-9,]+)</title>', 'g') m;

-- The whale curve (the model's profit is its margin times revenue, no
-- costs): the origin and 100 points; the top 20 % by profit and the bottom
-- 30 % from the orders.
SELECT pg_temp.occurs(substring(pg_temp.chart(html, 'whale') FROM 'class="curve" fill="none" points="([^"]*)"'),
                      '[0-9.]+,[0-9.]+') AS whale_points,
       array_to_string(regexp_match(html, 'The most profitable 20% of customers bring ([0-9.]+%) of the profit; '
                                          'the least profitable 30% bring ([-0-9.]+%)'), ' / ') AS doc_top20_bottom30,
       (SELECT round(100 * sum(c.revenue) FILTER (WHERE c.rank <= ceil(0.2 * c.n)) / sum(c.revenue), 1) || '% / ' ||
               round(100 - 100 * sum(c.revenue) FILTER (WHERE c.rank <= ceil(0.7 * c.n)) / sum(c.revenue), 1) || '%'
        FROM (SELECT sum(revenue) AS revenue, row_number() OVER (ORDER BY sum(revenue) DESC, customer_id) AS rank,
                     count(*) OVER () AS n
              FROM rfm_orders WHERE order_date <= '2006-12-31' GROUP BY customer_id) c) AS orders_top20_bottom30
FROM doc;

-- The A-E transitions: one square per (from, to) pair of groups with
-- customers, as rfm_transition_matrix(by => 'ae_group') counts them.
SELECT pg_temp.occurs(pg_temp.chart(html, 'ae_transitions'), '<rect class="cell"') AS ae_cells,
       (SELECT count(*) FROM rfm_transition_matrix('rep', by => 'ae_group')) AS matrix_rows
FROM doc;

-- The CLV histogram: one bar per 1-2-5 bin from the lowest to the highest
-- with customers; the bins found here by a join with the edges instead.
WITH edges AS (SELECT e * 10::numeric ^ k AS lo FROM unnest(ARRAY[1, 2, 5]) e, generate_series(0, 12) k
               UNION ALL SELECT 0),
     bins AS (SELECT c.customer, CASE WHEN c.clv < 0 THEN -1
                                      ELSE (SELECT count(*) FROM edges WHERE edges.lo <= c.clv::numeric) - 1 END AS bin
              FROM rep_customers c WHERE c.clv IS NOT NULL)
SELECT pg_temp.occurs(pg_temp.chart(html, 'clv'), '<rect class="bar"') AS clv_bars,
       (SELECT max(bin) - min(bin) + 1 FROM bins) AS bins_lowest_to_highest,
       (SELECT count(*) FROM bins) AS customers_with_clv
FROM doc;

-- The top customers: the largest net revenue first, from the orders.
SELECT pg_temp.occurs(html, '<tr class="customer">') AS top_rows,
       substring(html FROM '<tr class="customer"><th>([^<]*)</th>') AS doc_first,
       (SELECT customer_id FROM rfm_orders WHERE order_date <= '2006-12-31'
        GROUP BY customer_id ORDER BY sum(revenue) DESC LIMIT 1) AS orders_first
FROM doc;

-- Every tag of the document is one the report writes.
SELECT string_agg(DISTINCT lower(m[1]), ' ' ORDER BY lower(m[1])) AS tags
FROM doc, regexp_matches(html || zh, '<([!/]?[a-zA-Z][a-zA-Z0-9]*)', 'g') m;

-- Chinese: the labels of the rule tables and the report's own.
SELECT zh ~ '<html lang="zh-CN">' AS zh_lang, zh ~ '客户价值报告' AS zh_title,
       zh ~ rfm_label('Champions', 'zh') AS zh_segment, zh ~ rfm_label('retain', 'zh') AS zh_strategy,
       zh ~ '帕累托曲线' AS zh_pareto,
       pg_temp.occurs(zh, '<tr class="segment">') = pg_temp.occurs(html, '<tr class="segment">') AS same_rows
FROM doc;

-- A segment of the history that the rule tables do not know (any more) is
-- shown as it is, escaped; a model without segments (bins => 3) has a dash.
UPDATE rep_history SET segment = 'Gone <fishing>' WHERE segment = 'Lost' AND as_of = '2006-12-31';
SELECT r ~ '<title>[^<]* → Gone &lt;fishing&gt;: [0-9]+</title>' AS unknown_segment_escaped,
       pg_temp.occurs(pg_temp.chart(r, 'transitions'), '<rect class="cell"') AS transition_cells,
       (SELECT count(*) FROM rfm_transition_matrix('rep')) AS matrix_rows
FROM rfm_report('rep') r;
SELECT count(*) FROM rfm_create_model('rep3', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '2006-06-30', bins => 3);
CALL rfm_refresh('rep3', '2006-12-31');
-- rfm_transition_matrix has one row (NULL, NULL) for all of them, the new
-- customers included; the report keeps the 6 new customers (see above) apart:
-- two squares, "–" to "–" and "new customers" to "–".
SELECT pg_temp.occurs(pg_temp.chart(r, 'grid-rf'), '<rect class="cell"') AS rf_cells,
       (SELECT count(DISTINCT (r_score, f_score)) FROM rep3_customers) AS rf_cells_with_customers,
       substring(r FROM '<tr class="segment"><th>([^<]*)</th>') AS segment_label,
       substring(r FROM '<tr class="segment"><th>[^<]*</th><td>([^<]*)</td>') AS strategy_label,
       (SELECT string_agg(m[1], ' | ') FROM regexp_matches(pg_temp.chart(r, 'transitions'),
                                                           '<title>([^<]*)</title>', 'g') m) AS transitions
FROM rfm_report('rep3') r;
SELECT rfm_drop_model('rep3');

-- Bad input.
SELECT rfm_report('rep', 'fr');
SELECT rfm_report('rep', NULL);
SELECT rfm_report('nonesuch');
SELECT rfm_report(NULL);
SELECT count(*) FROM rfm_report_rows('rep', '_orders');
SELECT pg_temp.sqlstate_of($$SELECT rfm_report('rep', 'fr')$$) AS bad_lang,
       pg_temp.sqlstate_of($$SELECT rfm_report('nonesuch')$$) AS no_model,
       pg_temp.sqlstate_of($$SELECT rfm_report(NULL)$$) AS null_model,
       pg_temp.sqlstate_of($$SELECT rfm_report_rows('rep', '_orders')$$) AS bad_suffix;

-- The figures a section reads are computed by the query that reads the view
-- (rfm_report_rows ... figures): the same as those of the rows themselves.
SELECT (SELECT count(*) FROM (
            SELECT r->>'stage', (r->>'k')::bigint
            FROM rfm_report_rows('rep', '_customers', figures => 'lifecycle') r
            EXCEPT SELECT lifecycle_stage, count(*) FROM rep_customers GROUP BY 1) d) AS lifecycle_differs,
       (SELECT count(*) FROM rfm_report_rows('rep', '_customers', figures => 'lifecycle'))
           = (SELECT count(DISTINCT lifecycle_stage) FROM rep_customers) AS lifecycle_stages,
       (SELECT count(*) FROM (
            SELECT (r->>'rs')::integer, (r->>'xs')::integer, (r->>'k')::bigint, (r->>'revenue')::numeric
            FROM rfm_report_rows('rep', '_customers', figures => 'grid_m') r
            EXCEPT SELECT r_score, m_score, count(*), sum(monetary) FROM rep_customers
                   WHERE r_score IS NOT NULL GROUP BY 1, 2) d) AS grid_differs,
       (SELECT count(*) FROM rfm_report_rows('rep', '_customers', figures => 'grid_m'))
           = (SELECT count(DISTINCT (r_score, m_score)) FROM rep_customers WHERE r_score IS NOT NULL) AS grid_cells,
       (SELECT (r->>'people')::bigint = (SELECT count(*) FROM rep_summary)
               AND (r->>'revenue')::numeric = (SELECT sum(revenue) FROM rep_summary)
               AND (r->>'buyers')::bigint = (SELECT count(*) FROM rep_summary WHERE orders > 0)
        FROM rfm_report_rows('rep', '_summary', figures => 'totals') r) AS totals,
       (SELECT string_agg(r->>'revenue_rank', ',' ORDER BY (r->>'revenue_rank')::integer)
        FROM rfm_report_rows('rep', '_customers', figures => 'top', top => 3) r) AS top3,
       (SELECT sum((r->>'k')::bigint) FROM rfm_report_rows('rep', '_customers', figures => 'clv') r)
           = (SELECT count(clv) FROM rep_customers) AS clv_all_binned,
       (SELECT count(*) FROM rfm_report_rows('rep', '_customers', figures => 'clv') r)
           = (SELECT count(DISTINCT rfm_report_clv_bin(clv)) FROM rep_customers) AS clv_bins;
-- the moves between the last two snapshots (new customers from NULL, gone
-- ones to NULL): rfm_transition_matrix's counts and revenue
SELECT (SELECT count(*) FROM (
            SELECT r->>'fs', r->>'ts', (r->>'k')::bigint, (r->>'revenue')::numeric
            FROM rfm_report_rows('rep', '_history', figures => 'segment') r
            EXCEPT SELECT from_segment, to_segment, customers, to_revenue FROM rfm_transition_matrix('rep')) d)
           AS moves_differ,
       (SELECT count(*) FROM rfm_report_rows('rep', '_history', figures => 'segment'))
           = (SELECT count(*) FROM rfm_transition_matrix('rep')) AS moves_pairs,
       (SELECT count(*) FROM rfm_report_rows('rep', '_history', figures => 'segment') r
        WHERE (r->>'is_new')::boolean OR (r->>'is_gone')::boolean) > 0 AS some_new_or_gone;
SELECT pg_temp.sqlstate_of($$SELECT rfm_report_rows('rep', '_customers', figures => 'nonesuch')$$) AS bad_figures,
       pg_temp.sqlstate_of($$SELECT rfm_report_rows('rep', '_summary', figures => 'top')$$) AS figures_of_other_view,
       pg_temp.sqlstate_of($$SELECT rfm_report_moves('rep', 'en', 'customer')$$) AS moves_by_other_column;

-- A model without history and without customers yet says so.
SELECT count(*) FROM rfm_create_model('rep_empty', 'rfm_orders', 'customer_id', 'order_date', 'revenue',
                                      as_of => '1990-01-01', keep_history => false);
SELECT pg_temp.occurs(r, '<section id=') AS sections, r ~ 'No customer has an order' AS says_no_customers,
       r ~ 'Transitions need two snapshots' AS says_no_history, r ~ 'No CLV' AS says_no_clv,
       r ~ 'data-chart="(lifecycle|clv|pareto|transitions)"' AS empty_charts
FROM rfm_report('rep_empty') r;
SELECT rfm_drop_model('rep_empty');

-- Hostile values: a model name, customer keys and an edited segment label
-- with markup; none of it may reach the document as markup.
CREATE TABLE hostile_orders (customer text, t date, amount numeric);
INSERT INTO hostile_orders
SELECT CASE i % 4 WHEN 0 THEN '<img src=x onerror=alert(1)>' || i WHEN 1 THEN 'a&b "' || i || '"'
                  WHEN 2 THEN '</td></table><script>alert(' || i || ')</script>' ELSE $$'$$ || i END,
       date '2024-01-01' + (i * 7 + j * 13) % 300, 10 + (i * 37 + j * 11) % 500
FROM generate_series(1, 40) i, generate_series(1, 1 + i % 5) j;
UPDATE rfm_segment_action SET label_en = '<b onmouseover="alert(1)">Champions</b>' WHERE segment = 'Champions';
SELECT count(*) FROM rfm_create_model($$<script>alert(1)</script>"'&$$, 'hostile_orders', 'customer', 't', 'amount',
                                      as_of => '2024-08-01', clv => false);
CALL rfm_refresh($$<script>alert(1)</script>"'&$$, '2024-11-01');
CREATE TEMP TABLE hostile AS SELECT rfm_report($$<script>alert(1)</script>"'&$$) AS html;
SELECT html ~ '<script' AS script_tag, html ~ '<img' AS img_tag, html ~ '<b ' AS b_tag,
       html ~ '</td></table>' AS closing_tags,
       html ~ $$<h1>Customer value report: &lt;script&gt;alert\(1\)&lt;/script&gt;&quot;&#39;&amp;</h1>$$ AS name_escaped,
       html ~ '<title>Customer value report: &lt;script&gt;' AS title_escaped,
       html ~ '&lt;b onmouseover=&quot;alert\(1\)&quot;&gt;Champions&lt;/b&gt;' AS label_escaped,
       html ~ '&lt;img src=x onerror=alert\(1\)&gt;' AS key_escaped,
       html ~ '<th>a&amp;b &quot;[0-9]+&quot;</th>' AS quotes_escaped,
       html ~ '<th>&#39;[0-9]+</th>' AS apostrophe_escaped
FROM hostile;
SELECT string_agg(DISTINCT lower(m[1]), ' ' ORDER BY lower(m[1])) AS tags
FROM hostile, regexp_matches(html, '<([!/]?[a-zA-Z][a-zA-Z0-9]*)', 'g') m;
SELECT rfm_drop_model($$<script>alert(1)</script>"'&$$);
UPDATE rfm_segment_action SET label_en = 'Champions' WHERE segment = 'Champions';
DROP TABLE hostile_orders;

-- A superuser's report of an ordinary role's model reads only what the
-- model created: a view of other code put in the place of a model's view,
-- or a relation owned by another role, is refused before it is read.
CREATE ROLE regress_rfm_report_owner;
CREATE ROLE regress_rfm_report_other;
CREATE SCHEMA report_shop AUTHORIZATION regress_rfm_report_owner;
CREATE TABLE report_shop.orders AS SELECT customer_id AS customer, order_date AS t, revenue AS amount FROM rfm_orders;
ALTER TABLE report_shop.orders OWNER TO regress_rfm_report_owner;
SET ROLE regress_rfm_report_owner;
SELECT count(*) FROM rfm_create_model('rshop', 'report_shop.orders', 'customer', 't', 'amount',
                                      schema_name => 'report_shop', as_of => '2006-12-31', clv => false);
CREATE FUNCTION report_shop.steal() RETURNS text LANGUAGE plpgsql AS
$$ BEGIN RAISE NOTICE 'steal() runs as %', current_user; RETURN 'Champions'; END $$;
RESET ROLE;
SELECT pg_temp.occurs(rfm_report('rshop'), '<section id=') AS sections_of_her_model;
-- a relation of the model given to another role
ALTER VIEW report_shop.rshop_pareto OWNER TO regress_rfm_report_other;
SELECT rfm_report('rshop');
SELECT pg_temp.sqlstate_of($$SELECT rfm_report('rshop')$$) AS other_owner;
ALTER VIEW report_shop.rshop_pareto OWNER TO regress_rfm_report_owner;
-- her view, calling her function, in the place of the model's view
SET ROLE regress_rfm_report_owner;
DROP VIEW report_shop.rshop_segments;
CREATE VIEW report_shop.rshop_segments AS SELECT report_shop.steal() AS segment, 1::bigint AS customers;
RESET ROLE;
SELECT rfm_report('rshop');
SELECT pg_temp.sqlstate_of($$SELECT rfm_report('rshop')$$) AS view_instead;
SELECT pg_temp.sqlstate_of($$SELECT count(*) FROM rfm_report_rows('rshop', '_segments')$$) AS rows_of_view;
SET ROLE regress_rfm_report_owner;
DROP VIEW report_shop.rshop_segments;
SELECT rfm_drop_model('rshop');
DROP TABLE report_shop.orders;
DROP FUNCTION report_shop.steal();
RESET ROLE;
DROP SCHEMA report_shop;
DROP ROLE regress_rfm_report_owner, regress_rfm_report_other;
SELECT rfm_drop_model('rep');
SELECT count(*) AS models_left FROM rfm_model;
