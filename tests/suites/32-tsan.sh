#!/usr/bin/env bash
# ThreadSanitizer over the server: the loop threads, the writer thread and
# their hand-offs. A build with -fsanitize=thread in $TH_BUILD-tsan runs the
# embedded-server unit test (tests/unit/server.t: one host loop, extra loops,
# graceful close) and the HTTP API and robustness suites against its
# `townhall` binary; any ThreadSanitizer report in the server's output fails
# the test that stopped it (tests/api/harness.py), and a report from server.t
# fails that test.
set -uo pipefail
b="$TH_BUILD-tsan"
mkdir -p "$b"
cd "$b"
flags="-fsanitize=thread -fno-omit-frame-pointer -O1 -g"
if [ ! -f Makefile ] || [ "$TH_SRC/configure" -nt config.status ]; then
  "$TH_SRC/configure" -q --enable-werror CFLAGS="$flags" LDFLAGS="-fsanitize=thread" >/dev/null ||
    { echo "not ok 1 - configure with ThreadSanitizer"; exit 1; }
fi
# Two make runs, not one with both goals: in one parallel run "all" (a
# recursive make) and server.t both link core/libthcore.la at once.
if ! { make -j"$(nproc)" all >/dev/null 2>&1 && make -j"$(nproc)" tests/unit/server.t >/dev/null 2>&1; }; then
  echo "not ok 1 - build with ThreadSanitizer"
  { make all && make tests/unit/server.t; } 2>&1 | tail -20 | sed 's/^/# /'
  exit 1
fi
# Every report is printed (halt_on_error=0) and makes the process exit 66,
# which the tests also see.
export TSAN_OPTIONS="halt_on_error=0 exitcode=66 second_deadlock_stack=1 history_size=4"
n=0
fail=0
out=$(./tests/unit/server.t 2>&1)
rc=$?
n=$((n+1))
if [ $rc -eq 0 ] && ! grep -q "ThreadSanitizer" <<<"$out" && grep -q "^1\.\." <<<"$out" &&
   ! grep -q "^not ok" <<<"$out"; then
  echo "ok $n - tsan: tests/unit/server.t ($(grep -c '^ok' <<<"$out") checks)"
else
  echo "not ok $n - tsan: tests/unit/server.t (exit $rc)"
  grep -E "^not ok|WARNING: ThreadSanitizer|SUMMARY|^    #[0-3] " <<<"$out" | head -40 | sed 's/^/# /'
  fail=1
fi
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
# The open-data fixture (a plain build: it only writes the database), for
# the file built in libuv's thread pool beside the loop (export.c).
tmp=$(mktemp -d /tmp/townhall-32.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc -std=c11 -I"$TH_SRC/core" -o "$tmp/fixture" "$TH_SRC/tests/opendata/fixture.c" \
   "$TH_BUILD/core/.libs/libthcore.a" $(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) \
   -lm -lpthread >"$tmp/cc.log" 2>&1 || { echo "not ok $((n+1)) - the open-data fixture builds"; exit 1; }
servers() {
  TH_BIN="$b/townhall" "$PY" tap.py test_api test_robust
  local api=$?
  (cd "$TH_SRC/tests/opendata" && TH_BIN="$b/townhall" TH_OPENDATA_FIXTURE="$tmp/fixture" \
     PYTHONPATH="$TH_SRC/tests/opendata:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1 \
     "$PY" ../api/tap.py test_opendata.BuiltOffTheLoop)
  local open=$?
  [ $api -eq 0 ] && [ $open -eq 0 ]
}
cd "$TH_SRC/tests/api"
# Numbered on from server.t's line; tap.py's own plan lines are dropped.
servers |
  awk -v off=$n '/^(ok|not ok) [0-9]+ - / { s = ($1 == "ok") ? "ok" : "not ok";
                   i = index($0, " - "); print s, ++off, "- tsan server:", substr($0, i + 3); next }
                 /^1\.\./ { next } { print }'
api=${PIPESTATUS[0]}
[ $fail -eq 0 ] && [ $api -eq 0 ]
