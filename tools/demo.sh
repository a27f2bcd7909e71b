#!/bin/bash
# Set everything up (tools/setup.sh), start a throwaway PostgreSQL 15
# cluster, load the sample orders the repository ships (UCI Online Retail:
# 22,190 invoices of 4,372 customers, 2010-12-01 .. 2011-12-09) and print the
# segment table.  With --psql, stay in psql on that database afterwards (the
# cluster is dropped when psql exits).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tools/setup.sh"
cd "$top"
if [ "${1:-}" = "--psql" ]; then
    pg_virtualenv -v 15 sh -c 'psql -X -q -v ON_ERROR_STOP=1 -f tools/demo.sql && psql -X'
else
    pg_virtualenv -v 15 psql -X -q -v ON_ERROR_STOP=1 -f tools/demo.sql
fi
