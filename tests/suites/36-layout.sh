#!/usr/bin/env bash
# The house's layout, checked in the source: only core/store/ speaks to the
# database engine (no sqlite3.h, sqlite3_ name or SQL text elsewhere in
# core/; tests/layout/test_store_seam.py), and both engines' migrations
# share their version numbers (test_migrations.py). Needs no build.
set -uo pipefail
: "${TH_SRC:?}"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$TH_SRC/tests/layout:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1
cd "$TH_SRC/tests/layout"
exec "$PY" ../api/tap.py test_store_seam test_migrations
