#!/bin/bash
# Benchmark of a model's refresh (rfm_refresh) against the baseline a DBA
# would otherwise run: rebuilding the same per-customer and per-segment
# tables with plain SQL.
# Generated data, default 2 million orders of 200,000 customers; one
# session of a throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/model.sh [orders] [customers] [repetitions] [explain]
# explain = 1 also prints EXPLAIN (ANALYZE, BUFFERS) of each view's query.
# With PGHOST or PGPORT set it runs against that running server instead (the
# extension installed there; PG_BIN: the directory of its psql), e.g. a
# private build:
#   PG_BIN=/path/to/bin PGHOST=/tmp PGPORT=5499 PGUSER=postgres bash test/bench/model.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
orders=${1:-2000000}
customers=${2:-200000}
reps=${3:-3}
explain=${4:-0}
cd "$top"
if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
    run=("${PG_BIN:+$PG_BIN/}psql")
else
    bash "$top/tools/setup.sh"
    run=(pg_virtualenv -v 15 -o shared_buffers=1GB -o max_wal_size=8GB psql)
fi
echo "== $orders orders, $customers customers, best of $reps runs"
"${run[@]}" -X -q -v orders="$orders" -v customers="$customers" -v reps="$reps" -v explain="$explain" \
    -f test/bench/model.sql
