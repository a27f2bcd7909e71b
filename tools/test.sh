#!/bin/bash
# Set everything up (tools/setup.sh) and run every test: the pg_regress suite,
# the isolation tests and the TAP tests, on a throwaway PostgreSQL 15 cluster,
# as the postgres user (initdb and the TAP clusters refuse to run as root).
# The last line counts the tests: "N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tools/setup.sh"

work=$(mktemp -d /tmp/rfm-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$top/." "$work/"
chown -R postgres "$work"
cd "$work"
echo "== regression and TAP tests"
set +e
runuser -u postgres -- env PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
    pg_virtualenv -v 15 make -s installcheck > test.log 2>&1
status=$?
set -e
# the server log that pg_virtualenv prints at the end is noise here
grep -vE '^[0-9]{4}-[0-9]{2}-[0-9]{2} ' test.log || true
if [ "$status" -ne 0 ]; then
    for diffs in regression.diffs output_iso/regression.diffs; do
        if [ -f "$diffs" ]; then
            head -n 200 "$diffs"
        fi
    done
fi

# count: pg_regress and pg_isolation_regress test lines (same format), and
# prove's subtests
regress_ok=$(grep -cE '^(ok|test) +.*\.\.\. ok' test.log || true)
regress_failed=$(grep -cE '^(not ok|test) +.*\.\.\. FAILED' test.log || true)
tap_total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' test.log | tail -1)
tap_failed=$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' test.log | awk '{s += $1} END {print s + 0}')
tap_total=${tap_total:-0}
if [ "$status" -ne 0 ] && [ "$regress_failed" -eq 0 ] && [ "$tap_failed" -eq 0 ]; then
    tap_failed=1     # a failure neither runner counted (a crash, a test that died)
fi
echo "$((regress_ok + tap_total - tap_failed)) passed, $((regress_failed + tap_failed)) failed"
exit "$status"
