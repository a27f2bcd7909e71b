#!/bin/bash
# Benchmark the per-row action functions (rfm_strategy, rfm_action,
# rfm_tier + rfm_discounted_price) against plain joins with the rule tables,
# over generated customers (default 1 million), best of 3 runs, in a
# throwaway PostgreSQL 15 cluster.  Not part of the test command.
#   bash test/bench/action.sh [rows] [repetitions]
# With PGDATABASE set, runs against that database instead (rfm installed).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
rows=${1:-1000000}
reps=${2:-3}
cd "$top"
echo "== $rows customers, best of $reps runs, no parallel workers"
if [ -n "${PGDATABASE:-}" ]; then
    psql -X -q -v rows="$rows" -v reps="$reps" -f test/bench/action.sql
else
    bash "$top/tools/setup.sh"
    pg_virtualenv -v 15 psql -X -q -v rows="$rows" -v reps="$reps" -f test/bench/action.sql
fi
