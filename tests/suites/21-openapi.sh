#!/usr/bin/env bash
# docs/openapi.yaml: validated against the OpenAPI 3.1 schema (npm package,
# pinned in tests/openapi/package-lock.json), and held against the route
# table (core/server/routes.h) both ways, with a real server for the 405s
# and preflights the document describes (tests/openapi/table_check.py).
set -uo pipefail
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/openapi" || exit 1
rc=0
if npm ci --silent --no-audit --no-fund >/dev/null 2>&1; then
  out=$(node check.js "$TH_SRC/docs/openapi.yaml") || rc=1
  printf '%s\n' "$out" | grep -v '^1\.\.'
  n=$(printf '%s\n' "$out" | grep -cE '^(not )?ok ')
else
  echo "not ok 1 - npm ci for the OpenAPI validator"
  n=1 rc=1
fi
# The table as the server compiles it (tests/openapi/routes.c).
routes=$(mktemp)
trap 'rm -f "$routes"' EXIT
n=$((n + 1))
if make -s -C "$TH_BUILD" tests/openapi/routes >/dev/null 2>&1 &&
   "$TH_BUILD/tests/openapi/routes" >"$routes"; then
  echo "ok $n - the route table is dumped (tests/openapi/routes)"
else
  echo "not ok $n - the route table is dumped (tests/openapi/routes)"
  echo "1..$n"
  exit 1
fi
"$PY" table_check.py "$routes" "$TH_SRC/docs/openapi.yaml" $((n + 1)) || rc=1
exit $rc
