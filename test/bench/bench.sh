#!/bin/bash
# Benchmark rfm against the built-in aggregates and the usual NTILE recipe on
# generated data (default: 10 million orders of 1 million customers), in one
# session of a throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/bench.sh [orders] [customers] [repetitions] [parallel workers]
# With PGHOST or PGPORT set it runs against that running server instead (the
# extension installed there; PG_BIN: the directory of its psql), e.g. a
# private build:
#   PG_BIN=/path/to/bin PGHOST=/tmp PGPORT=5499 PGUSER=postgres bash test/bench/bench.sh
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
orders=${1:-10000000}
customers=${2:-1000000}
reps=${3:-3}
workers=${4:-0}
cd "$top"
if [ -n "${PGHOST:-}${PGPORT:-}" ]; then
    run=("${PG_BIN:+$PG_BIN/}psql")
else
    bash "$top/tools/setup.sh"
    run=(pg_virtualenv -v 15 -o shared_buffers=2GB -o max_wal_size=8GB psql)
fi
echo "== $orders orders, $customers customers, best of $reps runs, $workers parallel workers per query"
"${run[@]}" -X -q -v orders="$orders" -v customers="$customers" -v reps="$reps" -v workers="$workers" \
    -f test/bench/bench.sql
