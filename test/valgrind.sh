#!/bin/bash
# Run the pg_regress suite against a PostgreSQL 15 server running under
# valgrind memcheck (every backend and parallel worker), then report the
# errors whose stack passes through rfm.so.  Not part of tools/test.sh (it
# takes a few minutes).  Run as root after tools/setup.sh:
#   bash test/valgrind.sh
# Debian's PostgreSQL is not built with USE_VALGRIND, so overruns inside
# palloc'd chunks go unseen; uninitialised reads and malloc-level errors show.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
apt-get install -y -qq valgrind >/dev/null 2>&1 || true
bin=/usr/lib/postgresql/15/bin
work=$(mktemp -d /tmp/rfm-valgrind.XXXXXX)
chown postgres "$work"
runuser -u postgres -- "$bin/initdb" -D "$work/data" -A trust >/dev/null
runuser -u postgres -- valgrind --quiet --trace-children=yes --num-callers=30 --error-limit=no \
    --log-file="$work/vg.%p.log" "$bin/postgres" -D "$work/data" -p 5470 -k "$work" -c jit=off \
    > "$work/server.log" 2>&1 &
for _ in $(seq 1 120); do
    runuser -u postgres -- psql -h "$work" -p 5470 -Atc 'select 1' postgres >/dev/null 2>&1 && break
    sleep 1
done
cp -a "$top" "$work/src" && chown -R postgres "$work/src"
status=0
(cd "$work/src" && runuser -u postgres -- make -s installcheck PGHOST="$work" PGPORT=5470 \
    PROVE_TESTS=/dev/null TAP_TESTS=) || status=$?
runuser -u postgres -- "$bin/pg_ctl" -D "$work/data" stop -m fast >/dev/null
sleep 3
ours=$(grep -l 'rfm\.so' "$work"/vg.*.log || true)
if [ -n "$ours" ]; then
    cat $ours
    echo "valgrind: errors in rfm.so (logs in $work)"
    exit 1
fi
echo "valgrind: no errors in rfm.so ($(ls "$work"/vg.*.log | wc -l) processes checked; logs in $work)"
exit $status
