#!/usr/bin/env bash
# The C unit tests and the server tests again, built with AddressSanitizer
# and UndefinedBehaviorSanitizer (any report fails), in $TH_BUILD-asan. The
# fuzz harnesses (90-fuzz.sh) run under both sanitizers too.
set -uo pipefail
b="$TH_BUILD-asan"
mkdir -p "$b"
cd "$b"
flags="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -O1 -g"
if [ ! -f Makefile ] || [ "$TH_SRC/configure" -nt config.status ]; then
  "$TH_SRC/configure" -q --enable-werror CFLAGS="$flags" LDFLAGS="-fsanitize=address,undefined" >/dev/null || { echo "not ok 1 - configure with sanitizers"; exit 1; }
fi
make -j"$(nproc)" >/dev/null 2>&1 || { echo "not ok 1 - build with sanitizers"; make 2>&1 | tail -20 | sed 's/^/# /'; exit 1; }
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
make -j"$(nproc)" check >/dev/null 2>&1
rc=$?
n=0
for trs in tests/unit/*.trs; do
  t=$(basename "$trs" .trs)
  if grep -q ":global-test-result: PASS" "$trs"; then
    n=$((n+1)); echo "ok $n - asan+ubsan: $t"
  else
    n=$((n+1)); echo "not ok $n - asan+ubsan: $t"
    grep -E "ERROR|runtime error|not ok" "tests/unit/$t.log" | head -20 | sed 's/^/# /'
  fi
done
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/api"
# The API, robustness and durability tests, and the attack tests (hostile
# framing, tokens, JSON; not the timed slowhttptest runs).
TH_BIN="$b/townhall" PYTHONPATH="$TH_SRC/tests/attacks" "$PY" tap.py test_api test_robust test_durability test_attacks |
  sed -E 's/^(ok|not ok) ([0-9]+) - /\1 \2 - asan+ubsan server: /'
api=${PIPESTATUS[0]}
[ $rc -eq 0 ] && [ $api -eq 0 ]
