-- Install the extension by walking the upgrade chain to the newest version,
-- and load the data sets the other tests share.
CREATE EXTENSION rfm VERSION '1.0';
ALTER EXTENSION rfm UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'rfm';

-- Every object of the extension has a comment (but the row and array types
-- that come with its tables, which PostgreSQL 17 lists as members too).
SELECT pg_describe_object(classid, objid, 0) AS uncommented
FROM pg_depend d
WHERE d.refclassid = 'pg_extension'::regclass
  AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rfm')
  AND d.deptype = 'e'
  AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)::name) IS NULL
  AND NOT (d.classid = 'pg_type'::regclass
           AND EXISTS (SELECT 1 FROM pg_type t
                       WHERE t.oid = d.objid
                         AND ((t.typrelid <> 0
                               AND (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) <> 'c')
                              OR EXISTS (SELECT 1 FROM pg_type e JOIN pg_class c ON c.oid = e.typrelid
                                         WHERE e.typarray = t.oid AND c.relkind <> 'c'))))
ORDER BY 1;

-- Every function is labelled parallel safe, but those that create, refresh,
-- schedule or drop models (DDL and writes), those that work as a model's
-- owner or write rfm's catalog (they change the user and settings), the
-- report and history readers that call them, and rfm_holdout,
-- rfm_bgbb_summary and rfm_summarize (restricted: the orders table they
-- read may be a temporary one).
SELECT p.oid::regprocedure AS not_parallel_safe
FROM pg_proc p JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
WHERE d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'rfm') AND d.deptype = 'e'
  AND p.proparallel <> 's'
ORDER BY 1;

-- The R package rfm's example orders (MIT): 4,906 orders of 995 customers.
CREATE TABLE rfm_orders (customer_id text, order_date date, revenue numeric,
                         first_name text, last_name text, email text);
\copy rfm_orders FROM 'test/data/rfm_data_orders.csv' WITH (FORMAT csv, HEADER true)
SELECT count(*) AS orders, count(DISTINCT customer_id) AS customers FROM rfm_orders;

-- UCI Online Retail, one row per invoice (CC BY 4.0); cancellations are
-- negative amounts.  Invoice times are UTC.
CREATE TABLE retail (invoice text, customer_id integer, invoice_time timestamptz,
                     amount numeric, cancelled boolean, country text);
SET TimeZone = 'UTC';
\copy retail FROM 'test/data/online_retail_invoices.csv' WITH (FORMAT csv, HEADER true)
RESET TimeZone;
SELECT count(*) AS invoices, count(DISTINCT customer_id) AS customers,
       count(*) FILTER (WHERE amount < 0) AS negative, count(*) FILTER (WHERE cancelled) AS cancelled
FROM retail;
ANALYZE rfm_orders, retail;
