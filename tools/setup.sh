#!/bin/bash
# Install what rfm needs on Debian 12 (run as root), then build and install
# the extension into PostgreSQL 15.  Safe to run again: it installs only what
# is missing and rebuilds only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# postgresql-15-cron: rfm_schedule and its TAP test (test/t/004_model_cron.pl);
# python3-psycopg2: the BI client test (test/bi/read_model.py, test/t/005_model_bi.pl);
# chromium, python3-pil and fonts-noto-cjk (Latin and Chinese glyphs): the report
# rendered in a browser and its screenshot measured (test/t/011_report.pl);
# python3-scipy, python3-numpy: the reference implementation of the customer-base
# models (test/ref/btyd_ref.py, test/t/007_btyd_reference.pl)
packages=(postgresql-15 postgresql-server-dev-15 postgresql-common
          libipc-run-perl make gcc postgresql-15-cron python3-psycopg2
          chromium python3-pil fonts-noto-cjk python3-scipy python3-numpy)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

export PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
echo "== building rfm"
make -s -j2 RFM_WERROR=1
make -s install
