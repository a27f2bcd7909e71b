-- Incremental refresh: a model that keeps per-customer states and reads
-- again only the customers whose orders changed must give, after every
-- change, exactly the rows of a model refreshed in full from the same data.
SET client_min_messages = warning;
SET TimeZone = 'Europe/Berlin';

-- Two sources: integer customers, timestamptz times, numeric amounts; text
-- customers, date times, float8 amounts.
CREATE TABLE inc_orders (id bigserial PRIMARY KEY, customer_id integer, order_time timestamptz, amount numeric(10,2));
CREATE INDEX ON inc_orders (customer_id);
CREATE TABLE inc_orders_d (id bigserial PRIMARY KEY, customer text, order_day date, amount float8);
-- "random" numbers in [0, 1) that depend on their key only, not on how
-- often a plan evaluates them
CREATE FUNCTION inc_rand(k bigint) RETURNS float8 LANGUAGE sql IMMUTABLE
    AS $$ SELECT (hashint8(k) & 2147483647)::float8 / 2147483648 $$;
INSERT INTO inc_orders (customer_id, order_time, amount)
SELECT (inc_rand(i * 3) * 300)::int, timestamptz '2023-01-01 00:00+01' + inc_rand(i * 3 + 1) * interval '700 days',
       round((inc_rand(i * 3 + 2) * 200 - 10)::numeric, 2)
FROM generate_series(1, 3000) i;
INSERT INTO inc_orders_d (customer, order_day, amount)
SELECT 'c' || (inc_rand(-i * 3) * 200)::int, date '2023-01-01' + (inc_rand(-i * 3 - 1) * 700)::int,
       round((inc_rand(-i * 3 - 2) * 150 - 8)::numeric, 2)::float8
FROM generate_series(1, 2000) i;

SELECT count(*) FROM rfm_create_model('inc_i', 'inc_orders', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', time_unit => 'week', clv_horizon => 52,
                                      incremental => true);
SELECT count(*) FROM rfm_create_model('inc_f', 'inc_orders', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', time_unit => 'week', clv_horizon => 52);
SELECT count(*) FROM rfm_create_model('incd_i', 'inc_orders_d', 'customer', 'order_day', 'amount',
                                      as_of => '2024-12-01 00:00+01', incremental => true);
SELECT count(*) FROM rfm_create_model('incd_f', 'inc_orders_d', 'customer', 'order_day', 'amount',
                                      as_of => '2024-12-01 00:00+01');
-- without CLV (and with a cost per order, so that the profit ranks differ
-- from the revenue's): an incremental refresh at the same as_of keeps the
-- _customers table too, and writes again only the rows that change
SELECT count(*) FROM rfm_create_model('incp_i', 'inc_orders', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', clv => false, cost_per_order => 7,
                                      incremental => true);
SELECT count(*) FROM rfm_create_model('incp_f', 'inc_orders', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', clv => false, cost_per_order => 7);
SELECT name, incremental, state_as_of FROM rfm_model ORDER BY name;

-- the rows in which two models' views differ (both ways), view by view
CREATE FUNCTION inc_diff(a text, b text) RETURNS TABLE (view_suffix text, differing bigint)
LANGUAGE plpgsql AS $$
DECLARE
    s text;
    cols text;
BEGIN
    FOREACH s IN ARRAY ARRAY['_summary', '_fit', '_customers', '_segments', '_pareto', '_history'] LOOP
        -- _fit's whole-model columns compare through their text forms
        SELECT string_agg(CASE WHEN format_type(atttypid, NULL) LIKE 'rfm_%' THEN quote_ident(attname) || '::text'
                               ELSE quote_ident(attname) END, ', ' ORDER BY attnum)
        INTO cols FROM pg_attribute WHERE attrelid = (a || s)::regclass AND attnum > 0 AND NOT attisdropped
                                      AND format_type(atttypid, NULL) <> 'jsonb';
        view_suffix := s;
        EXECUTE format('SELECT count(*) FROM ((SELECT %1$s FROM %2$I EXCEPT ALL SELECT %1$s FROM %3$I) '
                       'UNION ALL (SELECT %1$s FROM %3$I EXCEPT ALL SELECT %1$s FROM %2$I)) x', cols, a || s, b || s)
            INTO differing;
        RETURN NEXT;
    END LOOP;
END
$$;
SELECT * FROM inc_diff('inc_i', 'inc_f') WHERE differing > 0;
SELECT * FROM inc_diff('incd_i', 'incd_f') WHERE differing > 0;

-- 40 random steps: new orders (some late, some after as_of, some of new
-- customers), returns, changed amounts, times and customers, deleted
-- orders, as_of moving on; and other lifecycle thresholds (steps 12 and 13),
-- a TRUNCATE (24), as_of moving back (30), a disabled trigger (33), a full
-- rebuild asked for (37).  After each, both pairs of models are refreshed
-- and compared.  An incremental refresh at the same as_of keeps the summary
-- rows of the customers it does not read again ("kept").
CREATE TABLE inc_steps (step integer, model text, message text, differing bigint);
CREATE PROCEDURE inc_step(step integer) LANGUAGE plpgsql AS $$
DECLARE
    op integer := (inc_rand(step * 1000000) * 9)::int;
    k bigint := step * 1000000;
    t timestamptz;
BEGIN
    SELECT m.as_of INTO t FROM rfm_model m WHERE m.name = 'inc_i';
    IF step = 24 THEN
        CREATE TEMP TABLE keep AS SELECT * FROM inc_orders WHERE customer_id < 100;
        TRUNCATE inc_orders;
        INSERT INTO inc_orders SELECT * FROM keep;
        DROP TABLE keep;
    ELSIF step = 30 THEN
        -- as_of moves back: the states, which leave out later rows, cannot serve
        UPDATE rfm_model SET as_of = t - interval '20 days'
        WHERE name IN ('inc_i', 'inc_f', 'incd_i', 'incd_f', 'incp_i', 'incp_f');
    ELSIF step = 12 THEN
        -- other lifecycle thresholds: every summary row's stage may change,
        -- so none is kept
        INSERT INTO rfm_lifecycle_settings (new_days, churn_days) VALUES (30, 200);
        INSERT INTO inc_orders (customer_id, order_time, amount) VALUES (8, t - interval '1 day', 20);
    ELSIF step = 13 THEN
        DELETE FROM rfm_lifecycle_settings;
    ELSIF step = 18 THEN
        -- other group settings: every customer's value tier may change, so
        -- no _customers row is kept
        UPDATE rfm_group_settings SET value_low_share = value_low_share / 2;
        INSERT INTO inc_orders (customer_id, order_time, amount) VALUES (9, t - interval '2 days', 15);
    ELSIF step = 19 THEN
        UPDATE rfm_group_settings SET value_low_share = value_low_share * 2;
    ELSIF step = 33 THEN
        -- a trigger disabled by the source's owner: changes may be lost
        ALTER TABLE inc_orders_d DISABLE TRIGGER "incd_i$upd";
        UPDATE inc_orders_d SET amount = amount * 2 WHERE customer = 'c5';
    ELSIF step = 34 THEN
        ALTER TABLE inc_orders_d ENABLE TRIGGER "incd_i$upd";
        UPDATE inc_orders_d SET amount = amount * 2 WHERE customer = 'c6';
    ELSIF op <= 2 THEN
        INSERT INTO inc_orders (customer_id, order_time, amount)
        SELECT (inc_rand(k + i * 3) * 330)::int, t - inc_rand(k + i * 3 + 1) * interval '500 days' + interval '3 days',
               round((inc_rand(k + i * 3 + 2) * 200 - 10)::numeric, 2)
        FROM generate_series(1, (inc_rand(k + 1) * 40)::int) i;
        INSERT INTO inc_orders_d (customer, order_day, amount)
        SELECT 'c' || (inc_rand(k + 500000 + i * 3) * 220)::int,
               (t - inc_rand(k + 500000 + i * 3 + 1) * interval '500 days' + interval '3 days')::date,
               round((inc_rand(k + 500000 + i * 3 + 2) * 150 - 8)::numeric, 2)::float8
        FROM generate_series(1, (inc_rand(k + 2) * 30)::int) i;
    ELSIF op = 3 THEN
        UPDATE inc_orders SET amount = -amount
        WHERE id IN (SELECT id FROM inc_orders ORDER BY inc_rand(k + id), id LIMIT 5);
        UPDATE inc_orders_d SET amount = amount + 1.25
        WHERE id IN (SELECT id FROM inc_orders_d ORDER BY inc_rand(k + id), id LIMIT 5);
    ELSIF op = 4 THEN
        UPDATE inc_orders SET order_time = order_time - interval '40 days', customer_id = customer_id + 1
        WHERE id IN (SELECT id FROM inc_orders ORDER BY inc_rand(k + id), id LIMIT 4);
        UPDATE inc_orders_d SET customer = NULL
        WHERE id IN (SELECT id FROM inc_orders_d ORDER BY inc_rand(k + id), id LIMIT 2);
    ELSIF op = 5 THEN
        DELETE FROM inc_orders WHERE id IN (SELECT id FROM inc_orders ORDER BY inc_rand(k + id), id LIMIT 20);
        DELETE FROM inc_orders_d WHERE customer = 'c' || (inc_rand(k + 3) * 200)::int;
    ELSIF op = 6 THEN
        UPDATE rfm_model SET as_of = t + (step % 5) * interval '1 day' + interval '7 hours'
        WHERE name IN ('inc_i', 'inc_f', 'incd_i', 'incd_f', 'incp_i', 'incp_f');
    ELSIF op = 7 THEN
        -- a late order of every customer
        INSERT INTO inc_orders (customer_id, order_time, amount)
        SELECT DISTINCT customer_id, timestamptz '2023-06-01 12:00+02', 3.5 FROM inc_orders WHERE customer_id % 7 = 0;
    ELSE
        INSERT INTO inc_orders (customer_id, order_time, amount) VALUES (7, t + interval '2 days', 50);
    END IF;
    COMMIT;
    CALL rfm_refresh('inc_i', full_rebuild => step = 37);
    CALL rfm_refresh('inc_f');
    CALL rfm_refresh('incd_i');
    CALL rfm_refresh('incd_f');
    CALL rfm_refresh('incp_i');
    CALL rfm_refresh('incp_f');
    INSERT INTO inc_steps
    SELECT step, 'inc_i', (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'inc_i' ORDER BY l.id DESC LIMIT 1),
           (SELECT sum(d.differing) FROM inc_diff('inc_i', 'inc_f') d)
    UNION ALL
    SELECT step, 'incd_i', (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'incd_i' ORDER BY l.id DESC LIMIT 1),
           (SELECT sum(d.differing) FROM inc_diff('incd_i', 'incd_f') d)
    UNION ALL
    SELECT step, 'incp_i', (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'incp_i' ORDER BY l.id DESC LIMIT 1),
           (SELECT sum(d.differing) FROM inc_diff('incp_i', 'incp_f') d);
    COMMIT;
END
$$;
DO $$
BEGIN
    FOR i IN 1..40 LOOP
        CALL inc_step(i);
    END LOOP;
END
$$;
-- every step: no differing row, and the refreshes were incremental but for
-- the asked-for, truncated and moved-back cases
SELECT model, count(*) AS steps, sum(differing) AS differing_rows,
       count(*) FILTER (WHERE message LIKE 'incremental:%') AS incremental,
       count(*) FILTER (WHERE message LIKE 'full:%') AS full,
       count(*) FILTER (WHERE message LIKE '%others kept%') AS kept,
       count(*) FILTER (WHERE message LIKE '%_customers that do not change kept') AS customers_kept,
       sum(substring(message FROM '(\d+) with new orders added')::bigint) AS added_to
FROM inc_steps GROUP BY model ORDER BY model;
-- kept: not after as_of moved, nor after the lifecycle thresholds changed
SELECT step, model, message FROM inc_steps WHERE step IN (12, 13, 14) ORDER BY step, model;
SELECT step, model, message FROM inc_steps WHERE message NOT LIKE 'incremental:%' OR differing > 0 ORDER BY step, model;
SELECT (SELECT count(*) FROM inc_i_customers) = (SELECT count(*) FROM inc_f_customers) AS same_customers,
       (SELECT count(*) FROM inc_i_customers) > 100 AS many;

-- A refresh that keeps the other customers' summary rows replaces the rows
-- of the customers it read again in _summary's table, in place: the view
-- reads the same table as before, the other views new ones.  No table of
-- either generation is left behind (the summary's may be of the other one).
CREATE TEMP TABLE inc_storage AS
SELECT rfm_model_storage(m, '_summary') AS summary, rfm_model_storage(m, '_customers') AS customers
FROM rfm_model m WHERE m.name = 'inc_i';
INSERT INTO inc_orders (customer_id, order_time, amount)
SELECT customer_id, max(order_time) + interval '1 hour', 3 FROM inc_orders
WHERE order_time < '2024-06-01' GROUP BY customer_id ORDER BY customer_id LIMIT 5;
CALL rfm_refresh('inc_i');
CALL rfm_refresh('inc_f');
SELECT (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'inc_i' ORDER BY l.id DESC LIMIT 1) AS message,
       rfm_model_storage(m, '_summary') = s.summary AS summary_in_place,
       rfm_model_storage(m, '_customers') <> s.customers AS customers_new,
       (SELECT count(*) FROM pg_class c WHERE c.relname ~ '^inc_i\$(sum|fit|cus|seg|par)_[ab]$') AS tables
FROM rfm_model m, inc_storage s WHERE m.name = 'inc_i';
SELECT * FROM inc_diff('inc_i', 'inc_f') WHERE differing > 0;
DROP TABLE inc_storage;
-- Without CLV the _customers table stays too: the rows that change replace
-- theirs in it (the customers read again, and those whose scores, value
-- type, groups or place among equal revenues or profits moved); the view
-- reads it and a new table of the ranks' keys ($rnk).
CREATE TEMP TABLE inc_storage AS
SELECT rfm_model_storage(m, '_summary') AS summary, rfm_model_storage(m, '_customers') AS customers,
       (SELECT count(*) FROM incp_i_customers) AS rows
FROM rfm_model m WHERE m.name = 'incp_i';
CREATE TEMP TABLE inc_five AS
SELECT customer_id, max(order_time) + interval '1 hour' AS t FROM inc_orders
WHERE order_time < '2024-06-01' GROUP BY customer_id ORDER BY customer_id LIMIT 5;
INSERT INTO inc_orders (customer_id, order_time, amount) SELECT customer_id, t, 3 FROM inc_five;
CALL rfm_refresh('incp_i');
CALL rfm_refresh('incp_f');
CALL rfm_refresh('inc_i');
CALL rfm_refresh('inc_f');
SELECT (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'incp_i' ORDER BY l.id DESC LIMIT 1) AS message,
       rfm_model_storage(m, '_summary') = s.summary AS summary_in_place,
       rfm_model_storage(m, '_customers') = s.customers AS customers_in_place,
       (SELECT count(*) FROM pg_class c WHERE c.relname ~ '^incp_i\$(sum|fit|cus|seg|par|rnk)_[ab]$') AS tables,
       (SELECT count(*) FROM pg_class c WHERE c.relname ~ '^incp_i\$cus_new') AS work_tables_left
FROM rfm_model m, inc_storage s WHERE m.name = 'incp_i';
-- of the rows, those written by the last refresh (by the transaction that
-- wrote the 5 customers'): those and the few whose scores, groups or place
-- among the others moved, not all of them
CREATE FUNCTION pg_temp.written(t regclass, ids integer[], OUT written bigint, OUT total bigint) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT count(*) FILTER (WHERE xmin::text = (SELECT min(c.xmin::text) FROM %1$s c '
                   'WHERE c.customer = ANY ($1))), count(*) FROM %1$s', t) INTO written, total USING ids;
END
$$;
SELECT w.written BETWEEN 5 AND s.rows / 2 AS few_written, w.total = s.rows AS all_there
FROM inc_storage s,
     pg_temp.written(s.customers, (SELECT array_agg(f.customer_id) FROM inc_five f)) w;
SELECT * FROM inc_diff('incp_i', 'incp_f') WHERE differing > 0;
-- the ranks' keys stay in the $rnk table of _customers' generation; its
-- row says which went and came since they were written (the old and new
-- revenues of the customers read again since: up to an eighth of them)
CREATE FUNCTION pg_temp.rank_keys(t regclass, OUT keys integer, OUT went integer, OUT came integer) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('SELECT cardinality(r.revenue), cardinality(r.revenue_removed), cardinality(r.revenue_added) FROM %s r',
                   regexp_replace(t::text, '\$cus_', '$rnk_')) INTO keys, went, came;
END
$$;
SELECT k.keys, k.went, k.came, k.keys - k.went + k.came = s.rows AS counts_add_up
FROM inc_storage s, pg_temp.rank_keys(s.customers) k;
DROP TABLE inc_storage, inc_five;

-- Ties: a customer's rank is 1 + the customers of a greater revenue (or
-- profit) + its place among those of an equal one, which the table keeps.
-- A customer joining or leaving a run of equal revenues moves the places
-- of the others in it: their rows are written again.  Orders of 10: 60
-- customers of 7 or 8 orders, 60 of 5: three runs.
CREATE TABLE inc_ties (id bigserial PRIMARY KEY, customer_id integer, order_time timestamptz, amount numeric);
INSERT INTO inc_ties (customer_id, order_time, amount)
SELECT i % 120, timestamptz '2024-01-01 00:00+00' + (i % 200) * interval '1 day', 10
FROM generate_series(1, 900) i WHERE i % 120 < 60 OR i <= 600;
SELECT count(*) FROM rfm_create_model('inck_i', 'inc_ties', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+00', clv => false, incremental => true);
SELECT count(*) FROM rfm_create_model('inck_f', 'inc_ties', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+00', clv => false);
SELECT monetary, count(*), min(revenue_rank), max(revenue_rank), count(DISTINCT revenue_rank) AS ranks
FROM inck_i_customers GROUP BY monetary ORDER BY monetary DESC;
CREATE TABLE inck_steps (step integer, message text, differing bigint);
CREATE PROCEDURE inck_step(step integer, change text) LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE change;
    COMMIT;
    CALL rfm_refresh('inck_i');
    CALL rfm_refresh('inck_f');
    INSERT INTO inck_steps
    SELECT step, (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'inck_i' ORDER BY l.id DESC LIMIT 1),
           (SELECT sum(d.differing) FROM inc_diff('inck_i', 'inck_f') d);
    COMMIT;
END
$$;
-- a customer leaves the upper run, joins it again; two form a run of their
-- own; a new customer joins the lower run last, the first one leaves it; a
-- customer's revenue changes in place of another's
CALL inck_step(1, $$INSERT INTO inc_ties (customer_id, order_time, amount) VALUES (5, '2024-11-01', 10)$$);
-- (the keys stay: one went, one came)
SELECT k.keys, k.went, k.came FROM rfm_model m, pg_temp.rank_keys(rfm_model_storage(m, '_customers')) k
WHERE m.name = 'inck_i';
CALL inck_step(2, $$DELETE FROM inc_ties WHERE customer_id = 5 AND order_time = '2024-11-01'$$);
CALL inck_step(3, $$UPDATE inc_ties SET amount = 20 WHERE id IN (SELECT min(id) FROM inc_ties WHERE customer_id IN (7, 8) GROUP BY customer_id)$$);
CALL inck_step(4, $$INSERT INTO inc_ties (customer_id, order_time, amount) SELECT 500, '2024-10-01'::timestamptz + i * interval '1 day', 10 FROM generate_series(1, 5) i$$);
CALL inck_step(5, $$DELETE FROM inc_ties WHERE customer_id = 60$$);
CALL inck_step(6, $$UPDATE inc_ties SET customer_id = 61 WHERE id IN (SELECT min(id) FROM inc_ties WHERE customer_id = 9)$$);
SELECT step, differing, message LIKE '%_customers that do not change kept' AS customers_kept FROM inck_steps ORDER BY step;
SELECT monetary, count(*), min(revenue_rank), max(revenue_rank), count(DISTINCT revenue_rank) AS ranks
FROM inck_i_customers GROUP BY monetary ORDER BY monetary DESC;
SELECT rfm_drop_model('inck_i'), rfm_drop_model('inck_f');
DROP PROCEDURE inck_step(integer, text);
DROP TABLE inc_ties, inck_steps;

-- _customers kept in place with text customers, leads, 4 bins (no segment)
-- and a cost per order: a lead who buys, a customer gone, a changed amount,
-- a new lead; a changed rule table makes every row again (no "kept")
CREATE TABLE inc_txt (id bigserial PRIMARY KEY, customer text, t timestamptz, amount numeric);
INSERT INTO inc_txt (customer, t, amount)
SELECT 'c' || ((i * 7919) % 300), timestamptz '2024-01-01 00:00+00' + (i % 300) * interval '1 day', ((i % 97) + 1)::numeric / 4
FROM generate_series(1, 5000) i;
CREATE TABLE inc_txt_leads AS SELECT 'c' || i AS id FROM generate_series(0, 349) i;
SELECT count(*) FROM rfm_create_model('inct2_i', 'inc_txt', 'customer', 't', 'amount', as_of => '2025-01-01 00:00+00',
                                      clv => false, incremental => true, leads => 'inc_txt_leads', leads_column => 'id',
                                      bins => 4, cost_per_order => 0.5);
SELECT count(*) FROM rfm_create_model('inct2_f', 'inc_txt', 'customer', 't', 'amount', as_of => '2025-01-01 00:00+00',
                                      clv => false, leads => 'inc_txt_leads', leads_column => 'id', bins => 4,
                                      cost_per_order => 0.5);
-- whether the last refresh kept _customers' rows, its leads, and the rows
-- that differ from the full refresh's
CREATE FUNCTION pg_temp.inct2_outcome(OUT kept boolean, OUT leads bigint, OUT differing bigint) LANGUAGE sql AS $$
SELECT (SELECT message FROM rfm_refresh_log WHERE model = 'inct2_i' ORDER BY id DESC LIMIT 1)
           LIKE '%_customers that do not change kept',
       (SELECT count(*) FROM inct2_i_customers WHERE frequency = 0),
       (SELECT sum(differing) FROM inc_diff('inct2_i', 'inct2_f'))
$$;
INSERT INTO inc_txt (customer, t, amount) VALUES ('c5', '2024-12-01', 10), ('c310', '2024-12-02', 7.25), ('c0', '2024-12-03', 3);
DELETE FROM inc_txt WHERE customer = 'c7';
UPDATE inc_txt SET amount = amount * 2 WHERE customer = 'c9';
CALL rfm_refresh('inct2_i');
CALL rfm_refresh('inct2_f');
SELECT * FROM pg_temp.inct2_outcome();
INSERT INTO inc_txt_leads VALUES ('c400');
INSERT INTO inc_txt (customer, t, amount) VALUES ('c6', '2024-12-04', 1);
CALL rfm_refresh('inct2_i');
CALL rfm_refresh('inct2_f');
SELECT * FROM pg_temp.inct2_outcome();
-- a _customers table that is not one the refresh writes into in place (an
-- index added to it): the rows that change go through a table of their
-- own, the same rows
DO $$ BEGIN EXECUTE format('CREATE INDEX inct2_extra ON %s (segment)',
                           (SELECT c.oid::regclass FROM pg_class c WHERE c.relname LIKE 'inct2_i$cus\__'));
END $$;
INSERT INTO inc_txt (customer, t, amount) VALUES ('c11', '2024-12-04', 2), ('c401', '2024-12-04', 5);
CALL rfm_refresh('inct2_i');
CALL rfm_refresh('inct2_f');
SELECT * FROM pg_temp.inct2_outcome();
DROP INDEX inct2_extra;
BEGIN;
UPDATE rfm_strategy SET label_en = label_en || '!' WHERE code = (SELECT min(code) FROM rfm_strategy);
INSERT INTO inc_txt (customer, t, amount) VALUES ('c8', '2024-12-05', 1);
CALL rfm_refresh('inct2_i');
CALL rfm_refresh('inct2_f');
SELECT * FROM pg_temp.inct2_outcome();
ROLLBACK;
SELECT rfm_drop_model('inct2_i'), rfm_drop_model('inct2_f');
DROP TABLE inc_txt, inc_txt_leads;
-- the states are found by a btree index on customer (integers have one;
-- a type with only a hash operator class gets a hash index)
SELECT am.amname AS state_index, rfm_model_state_index_method('xid') AS for_xid
FROM pg_class i JOIN pg_am am ON am.oid = i.relam WHERE i.relname = 'inc_i$state_customer';

-- Sources that cannot feed an incremental model
CREATE VIEW inc_orders_v AS SELECT * FROM inc_orders;
SELECT rfm_create_model('inc_v', 'inc_orders_v', 'customer_id', 'order_time', 'amount', incremental => true);
CREATE TABLE inc_orders_ts (customer_id integer, order_time timestamp, amount numeric);
SELECT rfm_create_model('inc_ts', 'inc_orders_ts', 'customer_id', 'order_time', 'amount', incremental => true);
CREATE TABLE inc_orders_child () INHERITS (inc_orders_d);
SELECT rfm_create_model('inc_ch', 'inc_orders_d', 'customer', 'order_day', 'amount', incremental => true);
DROP TABLE inc_orders_child;

-- A role that only writes the orders: its rows reach the model's $changes
-- through the owner's capture function; it cannot touch $changes itself.
CREATE ROLE inc_writer;
GRANT INSERT, UPDATE, DELETE, SELECT ON inc_orders TO inc_writer;
GRANT USAGE ON SEQUENCE inc_orders_id_seq TO inc_writer;
SET ROLE inc_writer;
INSERT INTO inc_orders (customer_id, order_time, amount) VALUES (9001, '2024-11-01 10:00+01', 12.5);
SELECT count(*) FROM "inc_i$changes";
INSERT INTO "inc_i$changes" (customer) VALUES (1);
-- nor read the model's states through rfm's functions, which read only a
-- table of the caller (rfm_model_state_summary) or as the caller
-- (rfm_model_states, a table it may not read)
SELECT count(*) FROM rfm_model_state_summary('"inc_i$state"', '2024-12-01 00:00+01', 'Europe/Berlin', NULL::integer);
SELECT count(*) FROM rfm_model_states('inc_orders_d', 'customer', 'order_day', 'amount', '2024-12-01 00:00+01',
                                      'Europe/Berlin', NULL::text);
-- nor learn which customers a refresh reads again: its own states filtered
-- by the model's $work are read as itself
CREATE TEMP TABLE w_states (customer integer, state rfm_state);
\set VERBOSITY terse
SELECT count(*) FROM rfm_model_state_summary('w_states', '2024-12-01 00:00+01', 'Europe/Berlin', NULL::integer,
                                             '"inc_i$work"');
-- nor write states into the model's table through rfm_model_states_into,
-- which writes only into a new (or truncated) table of the caller
SELECT rfm_model_states_into('inc_orders', 'customer_id', 'order_time', 'amount', '2024-12-01 00:00+01',
                             'Europe/Berlin', NULL::integer, NULL, '"inc_i$state"');
\set VERBOSITY default
DROP TABLE w_states;
RESET ROLE;
SELECT customer, truncated FROM "inc_i$changes";
CALL rfm_refresh('inc_i');
CALL rfm_refresh('inc_f');
SELECT message FROM rfm_refresh_log WHERE model = 'inc_i' ORDER BY id DESC LIMIT 1;
SELECT * FROM inc_diff('inc_i', 'inc_f') WHERE differing > 0;
SELECT customer, orders, revenue FROM inc_i_summary WHERE customer = 9001;

-- New orders added to the stored states (rfm_model_state_merge): exact for
-- numeric amounts, unless an order falls on or before the customer's first
-- purchase day (whose sum, a float, depends on the order of the rows) or the
-- customer had no order yet; those customers are read again.
CREATE TABLE inc_orders_n (customer_id integer, order_time timestamptz, amount numeric(10,2));
INSERT INTO inc_orders_n VALUES
    (1, '2024-01-10 09:00+01', 10.10), (1, '2024-01-10 18:00+01', 20.20), (1, '2024-03-01 12:00+01', 5),
    (2, '2024-02-01 12:00+01', 7.77), (2, '2024-05-01 12:00+01', 3.33),
    (3, '2024-04-01 12:00+01', 1.10), (3, '2024-04-02 12:00+01', 0.70),
    (4, '2024-06-01 12:00+01', -4);
SELECT count(*) FROM rfm_create_model('incn_i', 'inc_orders_n', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', clv => false, incremental => true);
SELECT count(*) FROM rfm_create_model('incn_f', 'inc_orders_n', 'customer_id', 'order_time', 'amount',
                                      as_of => '2024-12-01 00:00+01', clv => false);
INSERT INTO inc_orders_n VALUES
    (1, '2024-11-01 12:00+01', 0.10),   -- after the first day: added
    (1, '2024-11-02 12:00+01', -0.05),  -- a return: added
    (1, '2024-12-03 12:00+01', 100),    -- after as_of: left out, and read again next time
    (2, '2024-02-01 20:00+01', 0.10),   -- two on the first day: read again (the day's
    (2, '2024-02-01 21:00+01', 0.20),   -- float sum: 7.77 + 0.1 + 0.2 <> 7.77 + (0.1 + 0.2))
    (3, '2023-12-24 12:00+01', 2.00),   -- before the first day: read again
    (4, '2024-07-01 12:00+01', 9.99),   -- the first order of a customer with a return only: read again
    (5, '2024-08-01 12:00+01', 5.00);   -- a new customer: read again
-- after each step both models are refreshed: the incremental one's log
-- message, and the rows in which the two differ (0)
CREATE PROCEDURE incn_refresh() LANGUAGE plpgsql AS $$
BEGIN
    CALL rfm_refresh('incn_i');
    CALL rfm_refresh('incn_f');
END
$$;
CREATE FUNCTION incn_outcome(OUT message text, OUT differing_rows bigint) LANGUAGE sql AS $$
    SELECT (SELECT l.message FROM rfm_refresh_log l WHERE l.model = 'incn_i' ORDER BY l.id DESC LIMIT 1),
           (SELECT sum(d.differing) FROM inc_diff('incn_i', 'incn_f') d)
$$;
SELECT customer, inserted, order_time, amount FROM "incn_i$changes" ORDER BY customer, order_time;
CALL incn_refresh();
SELECT * FROM incn_outcome();
-- 10.10 + 20.20 + 5 + 0.10 - 0.05; 3 purchase days, 1 return; the first
-- day's 30.30 kept, so the repeat value is (35.35 - 30.30) / 2
SELECT customer, orders, revenue, purchase_days, returns, round(repeat_value::numeric, 6) AS repeat_value
FROM incn_i_summary WHERE customer = 1;
SELECT customer, after_as_of FROM "incn_i$state" ORDER BY customer;
-- An order added and another changed of one customer: read again.  The
-- customer with an order after as_of: read again.  Customer 3's new order
-- after his first day: added.
INSERT INTO inc_orders_n VALUES (1, '2024-11-20 12:00+01', 1), (2, '2024-11-21 12:00+01', 2),
                                (3, '2024-11-22 12:00+01', 4);
UPDATE inc_orders_n SET amount = 6 WHERE customer_id = 2 AND amount = 3.33;
CALL incn_refresh();
SELECT * FROM incn_outcome();
-- as_of moves past the order after it
UPDATE rfm_model SET as_of = '2024-12-10 00:00+01' WHERE name IN ('incn_i', 'incn_f');
INSERT INTO inc_orders_n VALUES (3, '2024-12-06 12:00+01', 1.50);
CALL incn_refresh();
SELECT * FROM incn_outcome();
SELECT customer, orders, revenue FROM incn_i_summary WHERE customer IN (1, 3) ORDER BY customer;
-- With row-level security on the source the owner might not see every new
-- order: the customers are read again, as the owner.
ALTER TABLE inc_orders_n ENABLE ROW LEVEL SECURITY;
INSERT INTO inc_orders_n VALUES (3, '2024-12-07 12:00+01', 2.50);
CALL incn_refresh();
SELECT * FROM incn_outcome();
ALTER TABLE inc_orders_n DISABLE ROW LEVEL SECURITY;
-- Rows changed without firing triggers: a rewrite of the source (here its
-- amounts rounded to dimes by ALTER TABLE ... TYPE) and another column read
-- under the amount's name.  Each makes the next refresh read everything.
ALTER TABLE inc_orders_n ALTER amount TYPE numeric(10,1);
CALL incn_refresh();
SELECT * FROM incn_outcome();
ALTER TABLE inc_orders_n ALTER amount TYPE numeric(10,1) USING amount * 2;
CALL rfm_refresh('incn_i');
SELECT message FROM rfm_refresh_log WHERE model = 'incn_i' ORDER BY id DESC LIMIT 1;
ALTER TABLE inc_orders_n ADD COLUMN amount_net numeric;
UPDATE inc_orders_n SET amount_net = amount - 1;
CALL rfm_refresh('incn_i');
ALTER TABLE inc_orders_n RENAME amount TO amount_gross;
ALTER TABLE inc_orders_n RENAME amount_net TO amount;
CALL incn_refresh();
SELECT * FROM incn_outcome();
SELECT sum(revenue) = (SELECT sum(amount) FROM inc_orders_n WHERE order_time <= '2024-12-10 00:00+01') AS net_revenue
FROM incn_i_summary;
-- A bulk load: more changes than half the stored states (at least 1,000)
-- are not taken out one by one; the source is read once.
INSERT INTO inc_orders_n SELECT i % 7, '2024-10-01 00:00+01'::timestamptz + i * interval '1 minute', 1
FROM generate_series(1, 1001) i;
CALL incn_refresh();
SELECT * FROM incn_outcome();
SELECT rfm_drop_model('incn_i'), rfm_drop_model('incn_f');
DROP PROCEDURE incn_refresh();
DROP FUNCTION incn_outcome();
DROP TABLE inc_orders_n;

-- Customers of a type with abbreviated sort keys (uuid: the first 8 bytes)
-- that share those bytes, so that their abbreviated keys tie and the full
-- comparison orders them: after summary rows are replaced in place,
-- rfm_model_customers puts them back in customer order.
CREATE TABLE inc_orders_t (customer uuid, t timestamptz, amount numeric);
INSERT INTO inc_orders_t
SELECT ('00000000-0000-4000-8000-' || lpad(((i * 7919) % 500)::text, 12, '0'))::uuid,
       timestamptz '2024-01-01 12:00+00' + (i % 300) * interval '1 day', round((inc_rand(i * 5) * 90 + 10)::numeric, 2)
FROM generate_series(1, 3000) i;
SELECT count(*) FROM rfm_create_model('inct_i', 'inc_orders_t', 'customer', 't', 'amount',
                                      as_of => '2024-12-01 00:00+00', clv => false, incremental => true);
SELECT count(*) FROM rfm_create_model('inct_f', 'inc_orders_t', 'customer', 't', 'amount',
                                      as_of => '2024-12-01 00:00+00', clv => false);
INSERT INTO inc_orders_t
SELECT ('00000000-0000-4000-8000-' || lpad(((i * 31) % 500)::text, 12, '0'))::uuid, timestamptz '2024-11-20 12:00+00', 5 + i
FROM generate_series(1, 40) i;
CALL rfm_refresh('inct_i');
CALL rfm_refresh('inct_f');
SELECT message FROM rfm_refresh_log WHERE model = 'inct_i' ORDER BY id DESC LIMIT 1;
SELECT * FROM inc_diff('inct_i', 'inct_f') WHERE differing > 0;
SELECT rfm_drop_model('inct_i'), rfm_drop_model('inct_f');
DROP TABLE inc_orders_t;

-- The table of states dropped by hand: the next refresh makes it again, in full
DROP TABLE "inc_i$state";
CALL rfm_refresh('inc_i');
SELECT message FROM rfm_refresh_log WHERE model = 'inc_i' ORDER BY id DESC LIMIT 1;
SELECT * FROM inc_diff('inc_i', 'inc_f') WHERE differing > 0;

-- The table of states given to another role, which puts a trigger on it: a
-- refresh, writing it as the model's owner, would run that role's code with
-- the owner's rights, so it stops first.  The same for the capture function.
CREATE FUNCTION inc_steal() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE NOTICE 'ran as %', current_user; RETURN NULL; END $$;
ALTER TABLE "inc_i$state" OWNER TO inc_writer;
SET ROLE inc_writer;
CREATE TRIGGER steal AFTER INSERT OR DELETE ON "inc_i$state" FOR EACH STATEMENT EXECUTE FUNCTION inc_steal();
RESET ROLE;
CALL rfm_refresh('inc_i');
DROP TRIGGER steal ON "inc_i$state";
ALTER TABLE "inc_i$state" OWNER TO CURRENT_USER;
ALTER FUNCTION "inc_i$capture"() OWNER TO inc_writer;
CALL rfm_refresh('inc_i');
ALTER FUNCTION "inc_i$capture"() OWNER TO CURRENT_USER;
-- the table of the new orders a refresh adds, which it also writes as the owner
ALTER TABLE "inc_i$added" OWNER TO inc_writer;
CALL rfm_refresh('inc_i');
ALTER TABLE "inc_i$added" OWNER TO CURRENT_USER;
DROP FUNCTION inc_steal();
CALL rfm_refresh('inc_i');
SELECT message FROM rfm_refresh_log WHERE model = 'inc_i' ORDER BY id DESC LIMIT 1;
SELECT * FROM inc_diff('inc_i', 'inc_f') WHERE differing > 0;

-- The owner needs the TRIGGER privilege on the source
CREATE ROLE inc_analyst;
GRANT SELECT ON inc_orders TO inc_analyst;
GRANT CREATE ON SCHEMA public TO inc_analyst;
SET ROLE inc_analyst;
\set SHOW_CONTEXT never
SELECT rfm_create_model('inc_a', 'inc_orders', 'customer_id', 'order_time', 'amount', incremental => true, clv => false);
\set SHOW_CONTEXT errors
RESET ROLE;
GRANT TRIGGER ON inc_orders TO inc_analyst;
SET ROLE inc_analyst;
SELECT count(*) FROM rfm_create_model('inc_a', 'inc_orders', 'customer_id', 'order_time', 'amount',
                                      incremental => true, clv => false);
-- and its drop takes the triggers it made on a table it does not own
SELECT rfm_drop_model('inc_a');
RESET ROLE;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'inc_orders'::regclass AND NOT tgisinternal ORDER BY tgname;

-- A varchar customer (hashed and compared through text's operator class)
CREATE TABLE inc_orders_vc (c varchar(10), t date, a numeric);
INSERT INTO inc_orders_vc SELECT 'v' || (i % 30), date '2024-01-01' + (i % 300), i % 50 FROM generate_series(1, 600) i;
SELECT count(*) FROM rfm_create_model('incv_i', 'inc_orders_vc', 'c', 't', 'a', as_of => '2024-12-01 00:00+01',
                                      incremental => true, clv => false);
SELECT count(*) FROM rfm_create_model('incv_f', 'inc_orders_vc', 'c', 't', 'a', as_of => '2024-12-01 00:00+01',
                                      clv => false);
INSERT INTO inc_orders_vc VALUES ('v1', '2024-11-30', 5), ('new', '2024-11-01', 9);
DELETE FROM inc_orders_vc WHERE c = 'v2';
CALL rfm_refresh('incv_i');
CALL rfm_refresh('incv_f');
SELECT message FROM rfm_refresh_log WHERE model = 'incv_i' ORDER BY id DESC LIMIT 1;
SELECT * FROM inc_diff('incv_i', 'incv_f') WHERE differing > 0;
SELECT rfm_drop_model('incv_i'), rfm_drop_model('incv_f');
DROP TABLE inc_orders_vc;

SELECT rfm_drop_model(name) FROM rfm_model WHERE name IN ('inc_i', 'inc_f', 'incd_i', 'incd_f', 'incp_i', 'incp_f')
ORDER BY name;
SELECT count(*) FROM pg_class WHERE relname LIKE 'inc%$%';
SELECT count(*) FROM pg_trigger WHERE tgrelid IN ('inc_orders'::regclass, 'inc_orders_d'::regclass) AND NOT tgisinternal;
REVOKE ALL ON inc_orders FROM inc_writer, inc_analyst;
REVOKE ALL ON SEQUENCE inc_orders_id_seq FROM inc_writer;
REVOKE CREATE ON SCHEMA public FROM inc_analyst;
DROP ROLE inc_writer, inc_analyst;
DROP VIEW inc_orders_v;
DROP TABLE inc_orders, inc_orders_d, inc_orders_ts, inc_steps;
DROP FUNCTION inc_diff(text, text);
DROP PROCEDURE inc_step(integer);
DROP FUNCTION inc_rand(bigint);
