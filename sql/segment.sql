-- Segments (rfm_segment) and value types (rfm_value_type), with labels.

-- Every one of the 125 score triples has exactly one segment, and every
-- segment is used.
SELECT count(*) AS triples, count(seg) AS with_segment, count(DISTINCT seg) AS segments
FROM (SELECT rfm_segment(r, f, m) AS seg
      FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) q;

-- The grid on R and FM = floor((F + M) / 2), as documented in the README.
-- Each cell holds one segment whatever F and M make up the FM score.
SELECT r, fm, string_agg(DISTINCT seg, ', ') AS segment
FROM (SELECT r, (f + m) / 2 AS fm, rfm_segment(r, f, m) AS seg
      FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) q
GROUP BY r, fm ORDER BY r DESC, fm;

-- The same table written out from the README's grid: no differences.
SELECT r, fm, seg, rfm_segment(r, fm, fm) AS got
FROM (VALUES
  (5, 1, 'New Customers'), (5, 2, 'Potential Loyalist'), (5, 3, 'Loyal Customers'), (5, 4, 'Champions'), (5, 5, 'Champions'),
  (4, 1, 'Promising'), (4, 2, 'Potential Loyalist'), (4, 3, 'Loyal Customers'), (4, 4, 'Champions'), (4, 5, 'Champions'),
  (3, 1, 'About To Sleep'), (3, 2, 'Need Attention'), (3, 3, 'Need Attention'), (3, 4, 'Loyal Customers'), (3, 5, 'Loyal Customers'),
  (2, 1, 'Hibernating'), (2, 2, 'Hibernating'), (2, 3, 'At Risk'), (2, 4, 'At Risk'), (2, 5, 'Can''t Lose Them'),
  (1, 1, 'Lost'), (1, 2, 'Hibernating'), (1, 3, 'At Risk'), (1, 4, 'Can''t Lose Them'), (1, 5, 'Can''t Lose Them')) v(r, fm, seg)
WHERE rfm_segment(r, fm, fm) <> seg;

-- Segment names in both languages.
SELECT seg, rfm_label(seg, 'en') AS en, rfm_label(seg, 'zh') AS zh
FROM (SELECT DISTINCT rfm_segment(r, f, m) AS seg
      FROM generate_series(1, 5) r, generate_series(1, 5) f, generate_series(1, 5) m) q ORDER BY 1;

SELECT rfm_segment(0, 3, 3);
SELECT rfm_segment(3, 6, 3);
SELECT rfm_segment(3, 3, -1);
SELECT rfm_segment(NULL, 3, 3) IS NULL AS null_score;

-- The 8 value types: every combination of high and low, by hand.  R is high
-- when recency is below the cut (a recent customer).
SELECT rec, freq, mon, rfm_value_type(rec, freq, mon, 30, 3, 100) AS code,
       rfm_label(rfm_value_type(rec, freq, mon, 30, 3, 100), 'zh') AS zh
FROM (VALUES (10, 5, 500), (10, 1, 500), (90, 5, 500), (90, 1, 500),
             (10, 5, 50), (10, 1, 50), (90, 5, 50), (90, 1, 50)) v(rec, freq, mon)
ORDER BY 4;
-- equal to the cut is low on every metric
SELECT rfm_value_type(30, 3, 100, 30, 3, 100) AS at_the_cut;

-- Window form: against the partition's mean (the default) or median; equal
-- to the scalar form with avg() and percentile_cont(0.5) as cuts.
SET TimeZone = 'UTC';
CREATE TEMP TABLE vcust AS
SELECT customer_id, (s).recency, (s).frequency, (s).monetary::float8 AS monetary
FROM (SELECT customer_id, rfm_summary(invoice_time, amount, '2011-12-10 00:00+00') AS s
      FROM retail GROUP BY customer_id) q
WHERE (s).frequency > 0;
SELECT count(*) AS customers,
       count(*) FILTER (WHERE w_mean = s_mean) AS mean_ok,
       count(*) FILTER (WHERE w_median = s_median) AS median_ok,
       count(DISTINCT w_mean) AS types_used
FROM (SELECT rfm_value_type(recency, frequency, monetary) OVER () AS w_mean,
             rfm_value_type(recency, frequency, monetary, 'median') OVER () AS w_median,
             rfm_value_type(recency, frequency, monetary, a.r, a.f, a.m) AS s_mean,
             rfm_value_type(recency, frequency, monetary, p.r, p.f, p.m) AS s_median
      FROM vcust,
           (SELECT avg(recency) r, avg(frequency) f, avg(monetary) m FROM vcust) a,
           (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY recency) r,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY frequency) f,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY monetary) m FROM vcust) p) q;
-- The direction of R: customers absent longer than average are never "R high".
SELECT count(*) AS long_absent_marked_recent
FROM (SELECT recency, avg(recency) OVER () AS mean_recency,
             rfm_value_type(recency, frequency, monetary) OVER () AS t FROM vcust) q
WHERE recency > mean_recency AND t IN ('important_value', 'important_develop', 'general_value', 'general_develop');
SELECT code, rfm_label(code, 'en') AS en, rfm_label(code, 'zh') AS zh, count(*) AS customers
FROM (SELECT rfm_value_type(recency, frequency, monetary) OVER () AS code FROM vcust) q
GROUP BY code ORDER BY code;

SELECT rfm_value_type(x, x, x, 'mode') OVER () FROM (VALUES (1.0)) v(x);
SELECT rfm_value_type(x, 1, 1) OVER () FROM (VALUES ('NaN'::float8)) v(x);
SELECT rfm_value_type(1, 1, 1, 'NaN', 1, 1);
SELECT rfm_label('Champions', 'fr');
SELECT rfm_label('champion', 'en');
