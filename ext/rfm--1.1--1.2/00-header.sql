-- rfm 1.1 -> 1.2.
--
-- This script is joined by the Makefile from the per-area files of
-- ext/rfm--1.1--1.2/, in the order of their names; edit those, not the
-- joined rfm--1.1--1.2.sql.

\echo Use "ALTER EXTENSION rfm UPDATE TO '1.2'" to load this file. \quit
