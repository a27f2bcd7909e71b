#!/bin/bash
# Set everything up (tools/setup.sh) and run every test: the pg_regress suite
# and the TAP tests, on a throwaway PostgreSQL 15 cluster, as the postgres
# user (initdb and the TAP clusters refuse to run as root).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tools/setup.sh"

work=$(mktemp -d /tmp/rfm-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -a "$top/." "$work/"
chown -R postgres "$work"
cd "$work"
echo "== regression and TAP tests"
status=0
runuser -u postgres -- env PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config \
    pg_virtualenv -v 15 make -s installcheck || status=$?
if [ $status -ne 0 ] && [ -f regression.diffs ]; then
    head -n 200 regression.diffs
fi
exit $status
