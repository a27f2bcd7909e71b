#!/bin/bash
# Benchmark rfm against the built-in aggregates and the usual NTILE recipe on
# generated data (default: 10 million orders of 1 million customers), in one
# session of a throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/bench.sh [orders] [customers] [repetitions] [parallel workers]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
orders=${1:-10000000}
customers=${2:-1000000}
reps=${3:-3}
workers=${4:-0}
bash "$top/tools/setup.sh"
cd "$top"
echo "== $orders orders, $customers customers, best of $reps runs, $workers parallel workers per query"
pg_virtualenv -v 15 -o shared_buffers=2GB -o max_wal_size=8GB \
    psql -X -q -v orders="$orders" -v customers="$customers" -v reps="$reps" -v workers="$workers" \
    -f test/bench/bench.sql
