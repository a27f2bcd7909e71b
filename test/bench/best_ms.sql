-- Best-of-n wall time of a query, in milliseconds (shared by the benchmarks).
-- The query's rows are fetched and discarded.
CREATE OR REPLACE FUNCTION pg_temp.best_ms(q text, n int) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    best numeric;
    ms numeric;
BEGIN
    FOR i IN 1 .. n LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        ms := extract(epoch FROM clock_timestamp() - t0) * 1000;
        best := least(best, ms);
    END LOOP;
    RETURN round(best);
END $$;
