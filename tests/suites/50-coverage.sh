#!/usr/bin/env bash
# Line coverage of core/ (gcov, reported by gcovr) from the C unit tests and
# the server tests; it must be at least 85%.
set -uo pipefail
b="$TH_BUILD-cov"
mkdir -p "$b"
cd "$b"
if [ ! -f Makefile ] || [ "$TH_SRC/configure" -nt config.status ]; then
  "$TH_SRC/configure" -q --enable-coverage >/dev/null || { echo "not ok 1 - configure with coverage"; exit 1; }
fi
find . -name '*.gcda' -delete
make -j"$(nproc)" >/dev/null 2>&1 || { echo "not ok 1 - build with coverage"; exit 1; }
make -j"$(nproc)" check >/dev/null 2>&1
echo "$([ $? -eq 0 ] && echo ok || echo not ok) 1 - unit tests pass in the coverage build"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
(cd "$TH_SRC/tests/api" && TH_BIN="$b/townhall" "$PY" tap.py test_api test_robust >/dev/null 2>&1)
echo "$([ $? -eq 0 ] && echo ok || echo not ok) 2 - server tests pass in the coverage build"
report=$(gcovr --root "$TH_SRC" --filter "$TH_SRC/core/" "$b" 2>/dev/null)
echo "$report" | sed 's/^/# /'
pct=$(echo "$report" | awk '/^TOTAL/ { sub("%", "", $NF); print $NF }')
pct=${pct:-0}
if awk -v p="$pct" 'BEGIN { exit !(p >= 85) }'; then
  echo "ok 3 - line coverage of core/ is ${pct}% (at least 85%)"
else
  echo "not ok 3 - line coverage of core/ is ${pct}% (at least 85% wanted)"
  exit 1
fi
