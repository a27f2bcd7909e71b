-- The segment CASE an analyst writes by hand over NTILE scores (the grid of
-- rfm_segment), shared by the benchmarks.  A one-statement SQL function:
-- the planner inlines it, so it costs what the CASE costs.
CREATE OR REPLACE FUNCTION pg_temp.hand_segment(r int, f int, m int) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
SELECT CASE WHEN r >= 4 AND (f + m) / 2 >= 4 THEN 'Champions'
            WHEN r >= 3 AND (f + m) / 2 >= 3 THEN 'Loyal Customers'
            WHEN r >= 4 AND (f + m) / 2 = 2 THEN 'Potential Loyalist'
            WHEN r = 5 THEN 'New Customers'
            WHEN r = 4 THEN 'Promising'
            WHEN r = 3 AND (f + m) / 2 >= 2 THEN 'Need Attention'
            WHEN r = 3 THEN 'About To Sleep'
            WHEN (f + m) / 2 = 5 OR (r = 1 AND (f + m) / 2 = 4) THEN 'Can''t Lose Them'
            WHEN (f + m) / 2 >= 3 THEN 'At Risk'
            WHEN r = 1 AND (f + m) / 2 = 1 THEN 'Lost'
            ELSE 'Hibernating' END
$$;
