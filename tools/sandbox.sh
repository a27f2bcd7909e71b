#!/bin/bash
# Run the test suite of this checkout against a private copy of PostgreSQL 15,
# so that several checkouts (branches, worktrees) can build and test at the
# same time without installing into the one system tree that tools/test.sh
# uses.  Run as root after tools/setup.sh:
#   bash tools/sandbox.sh                 # pg_regress, isolation and TAP tests
#   bash tools/sandbox.sh REGRESS='setup model' TAP_TESTS= PROVE_TESTS=/dev/null
#   bash tools/sandbox.sh PROVE_TESTS=test/t/009_security.pl   # one TAP file
# Extra arguments go to `make installcheck`.  The copy and the cluster live in
# .sandbox/ of this checkout (ignored by git); the cluster is new every run.
# Debian's PostgreSQL finds its share and lib directories relative to its
# binaries, so a copy of /usr/lib/postgresql/15 and /usr/share/postgresql/15
# side by side is a working installation of its own.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
box=$top/.sandbox
pg=$box/pg
if [ ! -x "$pg/usr/lib/postgresql/15/bin/postgres" ]; then
    mkdir -p "$pg/usr/lib/postgresql" "$pg/usr/share/postgresql"
    cp -a /usr/lib/postgresql/15 "$pg/usr/lib/postgresql/"
    cp -a /usr/share/postgresql/15 "$pg/usr/share/postgresql/"
    ln -sfn /usr/include "$pg/usr/include"
fi
bin=$pg/usr/lib/postgresql/15/bin
export PG_CONFIG=$bin/pg_config
(cd "$top" && make -s -j2 RFM_WERROR=1 && make -s install) >/dev/null

run=$box/run
rm -rf "$run"
mkdir -p "$run"
# a port of this checkout's own, from its path
port=$((20000 + $(printf '%s' "$top" | cksum | cut -d' ' -f1) % 20000))
mkdir -p "$run/src"
tar -C "$top" --exclude=./.sandbox -cf - . | tar -C "$run/src" -xf -
chown -R postgres "$run"
chmod -R a+rX "$box"
runuser -u postgres -- "$bin/initdb" -D "$run/data" -A trust -U postgres >/dev/null
runuser -u postgres -- "$bin/pg_ctl" -D "$run/data" -l "$run/server.log" -w \
    -o "-p $port -k $run -c listen_addresses=''" start >/dev/null
trap 'runuser -u postgres -- "$bin/pg_ctl" -D "$run/data" stop -m immediate >/dev/null 2>&1 || true' EXIT
status=0
(cd "$run/src" && runuser -u postgres -- env PATH="$bin:$PATH" PGHOST="$run" PGPORT="$port" PGUSER=postgres \
    make -s installcheck PG_CONFIG="$PG_CONFIG" "$@") > "$run/test.log" 2>&1 || status=$?
cat "$run/test.log"
if [ "$status" -ne 0 ]; then
    for diffs in "$run/src/regression.diffs" "$run/src/output_iso/regression.diffs"; do
        [ -f "$diffs" ] && head -n 300 "$diffs"
    done
fi
echo "sandbox: exit $status (logs in $run)"
exit "$status"
