#!/usr/bin/env bash
# Line coverage of core/ (gcov, reported by gcovr) from the C unit tests, the
# server tests, and the open-data, backup and attack tests, and (in a build
# with libpq) the unit tests again on PostgreSQL and the PostgreSQL engine's
# own tests; it must be at least 85%.
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
# The tests of the open data (over a fixture built against this build's
# libthcore.a), backups and migrations (the CLI), and the attacks on the
# server and its static files (not the minute-long slowhttptest runs).
tmp=$(mktemp -d /tmp/townhall-50.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 --coverage -I"$TH_SRC/core" -o "$tmp/fixture" "$TH_SRC/tests/opendata/fixture.c" \
  "$b/core/.libs/libthcore.a" $(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) -lm -lpthread \
  >"$tmp/cc.log" 2>&1 &&
  (cd "$TH_SRC/tests/opendata" && TH_BIN="$b/townhall" TH_OPENDATA_FIXTURE="$tmp/fixture" \
     PYTHONPATH="$TH_SRC/tests/opendata:$TH_SRC/tests/api" "$PY" ../api/tap.py test_opendata >"$tmp/od.log" 2>&1) &&
  (cd "$TH_SRC/tests/faults" && TH_BIN="$b/townhall" PYTHONPATH="$TH_SRC/tests/faults" \
     "$PY" ../api/tap.py test_backup >"$tmp/bk.log" 2>&1) &&
  (cd "$TH_SRC/tests/attacks" && TH_BIN="$b/townhall" PYTHONPATH="$TH_SRC/tests/attacks" \
     "$PY" "$TH_SRC/tests/api/tap.py" test_attacks >"$tmp/at.log" 2>&1)
rc=$?
echo "$([ $rc -eq 0 ] && echo ok || echo not ok) 3 - open-data, backup and attack tests pass in the coverage build"
[ $rc -eq 0 ] || grep -h "^not ok" "$tmp"/*.log | head -20 | sed 's/^/# /'
# The PostgreSQL engine (core/store/pg*.c) runs only against a server: the
# unit tests under the switch (suite 96's way, on a throwaway cluster) and
# the engine's own tests of suite 94 that go through the library.
if grep -q '^#define HAVE_LIBPQ 1' config.h; then
  TH_SRC="$TH_SRC" TH_BUILD="$b" "$PY" "$TH_SRC/tests/pg/with_cluster.py" \
    "$TH_SRC/tests/suites/10-unit.sh" >"$tmp/pgunit.log" 2>&1 &&
    (cd "$TH_SRC/tests/pg" && TH_SRC="$TH_SRC" TH_BUILD="$b" \
       PYTHONPATH="$TH_SRC/tests/pg:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1 \
       "$PY" ../api/tap.py test_engine test_session test_privacy \
       >"$tmp/pgown.log" 2>&1)
  rc=$?
  echo "$([ $rc -eq 0 ] && echo ok || echo not ok) 4 - the unit tests on PostgreSQL and the engine's own tests pass in the coverage build"
  [ $rc -eq 0 ] || grep -h "^not ok" "$tmp"/pg*.log | head -20 | sed 's/^/# /'
fi
report=$(gcovr --root "$TH_SRC" --filter "$TH_SRC/core/" "$b" 2>/dev/null)
echo "$report" | sed 's/^/# /'
pct=$(echo "$report" | awk '/^TOTAL/ { sub("%", "", $NF); print $NF }')
pct=${pct:-0}
if awk -v p="$pct" 'BEGIN { exit !(p >= 85) }'; then
  echo "ok 5 - line coverage of core/ is ${pct}% (at least 85%)"
else
  echo "not ok 5 - line coverage of core/ is ${pct}% (at least 85% wanted)"
  exit 1
fi
