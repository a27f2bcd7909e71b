#!/bin/bash
# Benchmark the BTYD models on generated customers (default: 1 million):
# fitting BG/NBD and Gamma-Gamma, scoring P(alive) and CLV, without and with
# parallel workers; and rfm_lifecycle against rfm_summary on generated orders
# (default: 2 million orders of 200,000 customers).  In one session of a
# throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/btyd.sh [customers] [repetitions] [parallel workers] [orders] [order customers]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
customers=${1:-1000000}
reps=${2:-3}
workers=${3:-2}
orders=${4:-2000000}
lc_customers=${5:-200000}
bash "$top/tools/setup.sh"
cd "$top"
echo "== $customers customers, best of $reps runs, 0 and $workers parallel workers per query"
pg_virtualenv -v 15 -o shared_buffers=1GB -o max_wal_size=4GB \
    psql -X -q -v customers="$customers" -v reps="$reps" -v workers="$workers" \
    -v orders="$orders" -v lc_customers="$lc_customers" \
    -f test/bench/btyd.sql
