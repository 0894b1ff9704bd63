#!/usr/bin/env bash
# Privacy, proven. Runs after every other suite (the runner goes in name
# order) and looks at everything they left in $TH_ARTIFACTS.
#
#  1. The scanner's self-test: a probe planted in each form a careless
#     program might store it (text, hex, base64 at any alignment, unkeyed
#     SHA-256/BLAKE2b/MD5/SHA-1 digests, packed addresses...) is found, and a
#     megabyte of random bytes is clean.
#  2. tests/privacy/clock.c, with a clock the test moves: a backup taken on
#     day 0 holds no salt; 48 h later no file holds day 0's salt and no
#     rating of day 0 can be linked to its device; after its retention
#     period a consultation's key is destroyed, the resident's pseudonym
#     cannot be recomputed and their export shows nothing.
#  3. tests/privacy/test_logs.py: no address, user agent, resident id or
#     e-mail in the server's log, whatever the request.
#  4. tests/privacy/collect.py: a control server stores a "control" string
#     the scan must find; every database the tests left is backed up and
#     every export it gives is saved beside it.
#  5. tests/privacy/scan.py: every file under $TH_ARTIFACTS (databases,
#     -wal, -shm, backups, key and salts files, server.log, exports) is
#     searched for every IP address, user agent, resident id and e-mail the
#     tests used - as tests/api/harness.py recorded them in
#     $TH_ARTIFACTS/probes.txt - in all those forms: none may be found, and
#     the control must be.
#
# What the registry leaves out, and why: loopback addresses (the server
# listens there and every local client comes from one; they are not a
# person's address), and any other string shorter than 8 characters (or
# over 2048: the oversized headers of limit tests, refused unread): short
# strings turn up by chance in megabytes of binary pages, so a hit would
# prove nothing. Tests choose longer values for what they want checked.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}" "${TH_ARTIFACTS:?}"
tmp=$(mktemp -d /tmp/townhall-99.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }
# Renumbers TAP from a sub-program into this suite's sequence.
relay() {
  local line
  while IFS= read -r line; do
    case "$line" in
      "ok "*) n=$((n + 1)); echo "ok $n - ${line#* - }";;
      "not ok "*) n=$((n + 1)); fail=1; echo "not ok $n - ${line#* - }";;
      1..*) ;;
      *) echo "$line";;
    esac
  done
}
# Runs a program and relays its TAP; a non-zero exit without a failing
# test point is a failure too.
run() {
  local what=$1; shift
  "$@" >"$tmp/out" 2>&1
  local rc=$? before=$fail
  fail=0
  relay <"$tmp/out"
  if [ $rc -ne 0 ] && [ $fail -eq 0 ]; then nok "$what exited with status $rc"; fi
  [ $before -ne 0 ] && fail=1
  return 0
}
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export PYTHONDONTWRITEBYTECODE=1

make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 || { nok "build"; tail -20 "$tmp/make.log" | sed 's/^/# /'; }
if cc -O2 -Wall -Wextra -Werror -o "$tmp/scan" "$TH_SRC/tests/privacy/scan.c" 2>"$tmp/cc.log"; then
  ok "the scanner builds"
else
  nok "the scanner builds"; sed 's/^/# /' "$tmp/cc.log"; exit 1
fi
run "the scanner's self-test" "$PY" "$TH_SRC/tests/privacy/scan.py" "$tmp/scan" --self-test

# helpers.c includes libpq-fe.h when the build has libpq (HAVE_LIBPQ).
if cc -std=c11 -O1 -g -Wall -Wextra -Werror -I"$TH_BUILD" -I"$TH_SRC/core" \
      -I"$TH_SRC/tests/unit" $(pkg-config --exists libpq && pkg-config --cflags libpq) \
      -o "$tmp/clock" "$TH_SRC/tests/privacy/clock.c" \
      "$TH_SRC/tests/unit/helpers.c" "$TH_BUILD/core/.libs/libthcore.a" \
      $(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) -lm -lpthread \
      2>"$tmp/cc.log"; then
  run "the clock test" env TMPDIR="$tmp" "$tmp/clock"
else
  nok "the clock test builds"; sed 's/^/# /' "$tmp/cc.log" | head -20
fi

export PYTHONPATH="$TH_SRC/tests/privacy:$TH_SRC/tests/api"
run "the log test" "$PY" "$TH_SRC/tests/api/tap.py" test_logs
run "the collection of exports" "$PY" "$TH_SRC/tests/privacy/collect.py"
run "the scan" "$PY" "$TH_SRC/tests/privacy/scan.py" "$tmp/scan" "$TH_ARTIFACTS/probes.txt" "$TH_ARTIFACTS"
[ $fail -eq 0 ]
