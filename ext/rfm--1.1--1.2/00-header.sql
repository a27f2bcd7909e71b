-- rfm 1.1 -> 1.2.
--
-- This script is joined by the Makefile from the per-area files of
-- ext/rfm--1.1--1.2/, in the order of their names; edit those, not the
-- joined rfm--1.1--1.2.sql.

\echo Use "ALTER EXTENSION rfm UPDATE TO '1.2'" to load this file. \quit

-- Names in this script resolve in pg_catalog first and last: no operator or
-- function another role created in the extension's schema (public, say) can
-- slip into a definition below.  The extension's own objects are named
-- @extschema@.name.  (SET LOCAL: the setting ends with the script.)
SET LOCAL search_path = pg_catalog, pg_temp;
