#!/bin/bash
# Set everything up (tools/setup.sh), start a throwaway PostgreSQL 15
# cluster, load the sample orders the repository ships (UCI Online Retail:
# 22,190 invoices of 4,372 customers, 2010-12-01 .. 2011-12-09), print the
# segment table and write the model's report (rfm_report) to
# /tmp/rfm-demo-report.html and /tmp/rfm-demo-report-zh.html (Chinese), or
# to $RFM_DEMO_REPORT.html and $RFM_DEMO_REPORT-zh.html (a path without
# spaces: psql's \o takes it from a variable).  With --psql, stay
# in psql on that database afterwards (the cluster is dropped when psql exits).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
bash "$top/tools/setup.sh"
cd "$top"
report=${RFM_DEMO_REPORT:-/tmp/rfm-demo-report}
if [ "${1:-}" = "--psql" ]; then
    pg_virtualenv -v 15 sh -c 'psql -X -q -v ON_ERROR_STOP=1 -v report="$0" -f tools/demo.sql && psql -X' "$report"
else
    pg_virtualenv -v 15 psql -X -q -v ON_ERROR_STOP=1 -v report="$report" -f tools/demo.sql
fi
