#!/usr/bin/env bash
# valgrind memcheck over every C unit test: no errors, no leaks.
set -uo pipefail
cd "$TH_BUILD"
# What make check gives the programs (Makefile.am, AM_TESTS_ENVIRONMENT):
# roles.t reads docs/SECURITY.md from the source tree.
export TOP_SRCDIR="$TH_SRC" TOP_BUILDDIR="$TH_BUILD"
make -j"$(nproc)" check TESTS= >/dev/null 2>&1
n=0; fail=0
for t in tests/unit/*.t; do
  n=$((n+1))
  tap=$(mktemp)
  out=$(valgrind -q --error-exitcode=9 --leak-check=full --show-leak-kinds=definite,indirect \
        --errors-for-leak-kinds=definite,indirect "$t" 2>&1 >"$tap")
  rc=$?
  # The program's own failures too (its TAP), not only valgrind's report.
  out+=$(grep -A3 "^not ok" "$tap")
  rm -f "$tap"
  if [ $rc -eq 0 ]; then
    echo "ok $n - valgrind: $(basename "$t") (no errors, no leaks)"
  else
    fail=1
    echo "not ok $n - valgrind: $(basename "$t")"
    echo "$out" | head -40 | sed 's/^/# /'
  fi
done
exit $fail
