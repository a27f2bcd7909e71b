#!/bin/bash
# Benchmark of a model's refresh (rfm_refresh) against the baseline a DBA
# would otherwise run: rebuilding the same per-customer and per-segment
# tables with plain SQL, and plain (blocking) REFRESH of the model's views.
# Generated data, default 2 million orders of 200,000 customers; one
# session of a throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/model.sh [orders] [customers] [repetitions]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
orders=${1:-2000000}
customers=${2:-200000}
reps=${3:-3}
bash "$top/tools/setup.sh"
cd "$top"
echo "== $orders orders, $customers customers, best of $reps runs"
pg_virtualenv -v 15 -o shared_buffers=1GB -o max_wal_size=8GB \
    psql -X -q -v orders="$orders" -v customers="$customers" -v reps="$reps" -f test/bench/model.sql
