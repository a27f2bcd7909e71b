-- Scores: rfm_score (window and scalar), rfm_breaks, rfm_scores.
SET extra_float_digits = 0;
SET TimeZone = 'UTC';

-- With no ties, rfm_score is NTILE: every row count 1..40, every bin count 1..12.
SELECT count(*) AS rows, count(*) FILTER (WHERE s = nt) AS equal_to_ntile
FROM (SELECT rfm_score(b) OVER w AS s, ntile(b) OVER w AS nt
      FROM generate_series(1, 40) n, generate_series(1, 12) b, generate_series(1, n) x
      WINDOW w AS (PARTITION BY n, b ORDER BY (x * 37) % 41)) q;

-- Ties: NTILE splits the six customers with one order over scores 1 to 3
-- and crowds the others into 4 and 5; rfm_score keeps the six together and
-- spreads the rest evenly.
SELECT x, rfm_score(5) OVER (ORDER BY x), ntile(5) OVER (ORDER BY x)
FROM (VALUES (1), (1), (1), (1), (1), (1), (2), (3), (4), (5)) v(x);
-- a large group at the top opens the next score, it is not held back
SELECT x, rfm_score(4) OVER (ORDER BY x)
FROM (VALUES (1), (2), (2), (2), (2), (2), (2), (2)) v(x);

-- Second method: the rule written as a PL/pgSQL loop over the peer groups
-- (numeric arithmetic), on data with many ties (the retail customers'
-- frequency, monetary and recency), for several bin counts.
CREATE FUNCTION ref_scores(vals float8[], bins int) RETURNS TABLE (v float8, score int)
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := cardinality(vals);
    s int := 1;
    start bigint := 0;
    a bigint := 0;
    grp record;
BEGIN
    FOR grp IN SELECT x, count(*) AS g FROM unnest(vals) x GROUP BY x ORDER BY x LOOP
        -- a group opens the next score when the current one holds rows and
        -- the group's middle row lies beyond the current score's fair share
        IF a > start AND s < bins
           AND (a - start) + (grp.g - 1) / 2.0 >= (n - start)::numeric / (bins - s + 1) THEN
            s := s + 1;
            start := a;
        END IF;
        v := grp.x;
        score := s;
        RETURN NEXT;
        a := a + grp.g;
    END LOOP;
END $$;
CREATE TEMP TABLE cust AS
SELECT customer_id, (s).recency, (s).frequency, (s).monetary
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s
      FROM retail GROUP BY customer_id) q
WHERE (s).frequency > 0;
CREATE TEMP TABLE ref_f AS SELECT b AS bins, r.* FROM (VALUES (2), (3), (5), (7), (10)) v(b),
    LATERAL ref_scores((SELECT array_agg(frequency) FROM cust), b) r;
CREATE TEMP TABLE ref_m AS SELECT b AS bins, r.* FROM (VALUES (2), (3), (5), (7), (10)) v(b),
    LATERAL ref_scores((SELECT array_agg(monetary) FROM cust), b) r;
CREATE TEMP TABLE ref_r AS SELECT b AS bins, r.* FROM (VALUES (2), (3), (5), (7), (10)) v(b),
    LATERAL ref_scores((SELECT array_agg(-recency) FROM cust), b) r;
SELECT b AS bins, count(*) AS rows,
       count(*) FILTER (WHERE f = rf.score) AS f_ok,
       count(*) FILTER (WHERE m = rm.score) AS m_ok,
       count(*) FILTER (WHERE r = rr.score) AS r_ok,
       count(DISTINCT f) AS f_scores_used
FROM (SELECT b, frequency, monetary, recency,
             rfm_score(b) OVER (PARTITION BY b ORDER BY frequency) AS f,
             rfm_score(b) OVER (PARTITION BY b ORDER BY monetary) AS m,
             rfm_score(b) OVER (PARTITION BY b ORDER BY recency DESC) AS r
      FROM cust, (VALUES (2), (3), (5), (7), (10)) v(b)) q
JOIN ref_f rf ON rf.bins = q.b AND rf.v = q.frequency
JOIN ref_m rm ON rm.bins = q.b AND rm.v = q.monetary
JOIN ref_r rr ON rr.bins = q.b AND rr.v = -q.recency
GROUP BY b ORDER BY b;
-- how the retail customers' frequency spreads: NTILE against rfm_score
SELECT s, count(*) FILTER (WHERE kind = 'rfm_score') AS rfm_score, count(*) FILTER (WHERE kind = 'ntile') AS ntile
FROM (SELECT 'rfm_score' AS kind, rfm_score(5) OVER (ORDER BY frequency) AS s FROM cust
      UNION ALL SELECT 'ntile', ntile(5) OVER (ORDER BY frequency) FROM cust) q
GROUP BY s ORDER BY s;

-- Peers always share a score: no value has two scores.
SELECT count(*) AS values_with_two_scores
FROM (SELECT frequency FROM (SELECT frequency, rfm_score(5) OVER (ORDER BY frequency) AS s FROM cust) q
      GROUP BY frequency HAVING count(DISTINCT s) > 1) z;
-- ... while NTILE splits them.
SELECT count(*) > 0 AS ntile_splits_ties
FROM (SELECT frequency FROM (SELECT frequency, ntile(5) OVER (ORDER BY frequency) AS s FROM cust) q
      GROUP BY frequency HAVING count(DISTINCT s) > 1) z;

-- Stored cut points: rfm_breaks + scalar rfm_score agree with the window on
-- the data they came from (recency scored as -recency: smaller is better).
SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY frequency) AS f_breaks FROM cust;
SELECT b AS bins, count(*) AS rows,
       count(*) FILTER (WHERE rfm_score(frequency, fb) = f) AS f_ok,
       count(*) FILTER (WHERE rfm_score(monetary, mb) = m) AS m_ok,
       count(*) FILTER (WHERE rfm_score(-recency, rb) = r) AS r_ok
FROM (SELECT b, frequency, monetary, recency,
             rfm_score(b) OVER (PARTITION BY b ORDER BY frequency) AS f,
             rfm_score(b) OVER (PARTITION BY b ORDER BY monetary) AS m,
             rfm_score(b) OVER (PARTITION BY b ORDER BY recency DESC) AS r
      FROM cust, (VALUES (2), (3), (5), (7), (10)) v(b)) q
JOIN (SELECT b, rfm_breaks(b) WITHIN GROUP (ORDER BY frequency) AS fb,
             rfm_breaks(b) WITHIN GROUP (ORDER BY monetary) AS mb,
             rfm_breaks(b) WITHIN GROUP (ORDER BY -recency) AS rb
      FROM cust, (VALUES (2), (3), (5), (7), (10)) v(b) GROUP BY b) k USING (b)
GROUP BY b ORDER BY b;
-- A bin no value can reach has the cut point Infinity.
SELECT rfm_breaks(4) WITHIN GROUP (ORDER BY x) FROM (VALUES (1), (2), (2), (2), (2), (2), (2), (2)) v(x);
SELECT rfm_score(1, '{}'), rfm_score(1e9, '{1,2,Infinity}'), rfm_score(2, '{1,2,3}', true);

-- rfm_scores: the three window scores in one pass.
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (sc).r = r AND (sc).f = f AND (sc).m = m) AS equal
FROM (SELECT rfm_scores(recency, frequency, monetary) OVER () AS sc,
             rfm_score(5) OVER (ORDER BY recency DESC) AS r,
             rfm_score(5) OVER (ORDER BY frequency) AS f,
             rfm_score(5) OVER (ORDER BY monetary) AS m
      FROM cust) q;
-- per partition, with other bins, NULLs left out
SELECT g, x, rfm_scores(x, x, x, 2) OVER (PARTITION BY g)
FROM (VALUES (1, 1.0), (1, 2), (1, NULL), (2, 5), (2, 5), (2, 6), (2, 7)) v(g, x) ORDER BY g, x;

-- The R package rfm: cut points are R's default quantiles plus one, scores
-- count the cut points at or below the value (reversed for recency).  The
-- package's documented figures for rfm_data_orders at 2006-12-31:
-- recency 115 / 181 / 297.4 / 482 days, frequency 4 / 5 / 6 / 8 orders, and
-- Abbey O'Reilly (205 days, 6 orders, 472) scores 3-4-3.
CREATE TEMP TABLE rcust AS
SELECT customer_id, (s).recency, (s).frequency, (s).monetary
FROM (SELECT customer_id, rfm_summary(order_date, revenue, '2006-12-31'::date) AS s
      FROM rfm_orders GROUP BY customer_id) q;
CREATE TEMP TABLE rbreaks AS
SELECT rfm_breaks(5, 'r') WITHIN GROUP (ORDER BY recency) AS rb,
       rfm_breaks(5, 'r') WITHIN GROUP (ORDER BY frequency) AS fb,
       rfm_breaks(5, 'r') WITHIN GROUP (ORDER BY monetary) AS mb
FROM rcust;
SELECT rb, fb, mb FROM rbreaks;
SELECT customer_id, recency, frequency, monetary,
       rfm_score(recency, rb, true) AS r, rfm_score(frequency, fb) AS f, rfm_score(monetary, mb) AS m
FROM rcust, rbreaks WHERE customer_id = 'Abbey O''Reilly';
-- second method: percentile_cont is R's type-7 quantile
SELECT array_agg(round(x::numeric, 9)) = (SELECT array_agg(round(y::numeric, 9)) FROM rbreaks, unnest(rb || fb || mb) y) AS same_as_percentile_cont
FROM (SELECT unnest(percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY recency)) + 1 FROM rcust
      UNION ALL SELECT unnest(percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY frequency)) + 1 FROM rcust
      UNION ALL SELECT unnest(percentile_cont(ARRAY[0.2, 0.4, 0.6, 0.8]) WITHIN GROUP (ORDER BY monetary)) + 1 FROM rcust) p(x);
-- every customer's score by the R package's own rule (lower <= value < upper)
SELECT count(*) AS customers,
       count(*) FILTER (WHERE rfm_score(recency, rb, true) = 5 - (SELECT count(*) FROM unnest(rb) c WHERE c <= recency)) AS r_ok,
       count(*) FILTER (WHERE rfm_score(frequency, fb) = 1 + (SELECT count(*) FROM unnest(fb) c WHERE c <= frequency)) AS f_ok
FROM rcust, rbreaks;

-- Many values (sorted by their bits, not compared): 20,000 of them with
-- duplicates, negatives, -0 and +0, and huge ones; the cut points still
-- give every value the window's score.
CREATE TEMP TABLE many AS
SELECT CASE WHEN i % 97 = 0 THEN '-0'::float8 WHEN i % 89 = 0 THEN 0::float8
            WHEN i % 1001 = 0 THEN -1e308 WHEN i % 1003 = 0 THEN 1e308
            ELSE ((hashint4(i) % 5000) / 7.0)::float8 END AS x
FROM generate_series(1, 20000) i;
SELECT b AS bins, count(*) AS rows, count(*) FILTER (WHERE rfm_score(x, k.xb) = s) AS ok
FROM (SELECT b, x, rfm_score(b) OVER (PARTITION BY b ORDER BY x) AS s
      FROM many, (VALUES (2), (5), (10)) v(b)) q
JOIN (SELECT b, rfm_breaks(b) WITHIN GROUP (ORDER BY x) AS xb FROM many, (VALUES (2), (5), (10)) v(b) GROUP BY b) k
USING (b)
GROUP BY b ORDER BY b;

-- Bad input.
SELECT rfm_score(0) OVER () FROM (VALUES (1)) v(x);
SELECT rfm_score(1001) OVER () FROM (VALUES (1)) v(x);
SELECT rfm_score(NULL) OVER () FROM (VALUES (1)) v(x);
SELECT rfm_scores(x, x, x, 0) OVER () FROM (VALUES (1.0)) v(x);
SELECT rfm_scores(x, x, x, NULL) OVER () FROM (VALUES (1.0)) v(x);
SELECT rfm_scores(x, x, x) OVER () FROM (VALUES ('NaN'::float8)) v(x);
SELECT rfm_breaks(0) WITHIN GROUP (ORDER BY x) FROM (VALUES (1)) v(x);
SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY x DESC) FROM (VALUES (1)) v(x);
SELECT rfm_breaks(5, 'ntile') WITHIN GROUP (ORDER BY x) FROM (VALUES (1)) v(x);
SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY x) FROM (VALUES ('NaN'::float8)) v(x);
SELECT rfm_breaks(5) WITHIN GROUP (ORDER BY x) IS NULL AS no_values FROM (VALUES (NULL::float8)) v(x);
SELECT rfm_breaks(3) WITHIN GROUP (ORDER BY x) FROM (VALUES (1), ('Infinity'::float8)) v(x);
SELECT rfm_score(1, '{3,2}');
SELECT rfm_score(1, '{1,NaN}');
SELECT rfm_score(1, '{1,NULL}');
SELECT rfm_score(1, '{{1},{2}}');
SELECT rfm_score('NaN', '{1}');
SELECT rfm_score(NULL, '{1}') IS NULL AS null_value;
