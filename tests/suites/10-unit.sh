#!/usr/bin/env bash
# The C unit tests (make check), reported test point by test point.
# TH_TEST (tests/run.py --test PATTERN): only the test programs whose names
# (tests/unit/NAME.c) match it; if none does, every program runs and only
# the checks whose names match are reported (and every failure).
set -uo pipefail
cd "$TH_BUILD"
all=$(make -s --no-print-directory --eval 'th-print-unit-tests: ; @echo $(UNIT_TESTS)' th-print-unit-tests)
# On PostgreSQL (TH_TEST_ENGINE=postgresql: suite 96-postgresql-domain),
# the programs about SQLite itself (t_sqlite_program in their source) do
# not run: they would only report a SKIP.
if [ "${TH_TEST_ENGINE:-sqlite}" = postgresql ]; then
  keep=
  for t in $all; do
    grep -q 't_sqlite_program(' "$TH_SRC/tests/unit/$(basename "$t" .t).c" ||
      keep="$keep $t"
  done
  all=$keep
fi
run=$all
filter=
if [ -n "${TH_TEST:-}" ]; then
  run=
  for t in $all; do
    # shellcheck disable=SC2254
    case "$(basename "$t" .t)" in *$TH_TEST*) run="$run $t";; esac
  done
  if [ -z "$run" ]; then run=$all; filter=$TH_TEST; fi
fi
make -j"$(nproc)" check TESTS="$run" >/dev/null 2>&1
rc=$?
n=0
# Each program's verdicts, with their checks' names, are the driver's
# "PASS: tests/unit/NAME.t N - check" lines in its .log (its .trs holds
# the verdicts alone).
for t in $run; do
  log=${t%.t}.log trs=${t%.t}.trs
  t=$(basename "$t" .t)
  [ -f "$trs" ] && [ -f "$log" ] || { n=$((n+1)); echo "not ok $n - $t did not run"; continue; }
  bad=0
  while IFS= read -r line; do
    verdict=${line%%:*}
    case "$verdict" in PASS|FAIL|XFAIL|XPASS|SKIP|ERROR) ;; *) continue;; esac
    name="$t ${line#* - }"
    case "$line" in *" - "*) ;; *) name="$t ${line#*: }";; esac
    case "$verdict" in
      PASS|XFAIL)
        # shellcheck disable=SC2254
        if [ -n "$filter" ]; then case "$name" in *$filter*) ;; *) continue;; esac; fi
        n=$((n+1)); echo "ok $n - $name";;
      SKIP) n=$((n+1)); echo "not ok $n - $name # SKIP";;
      *) bad=1; n=$((n+1)); echo "not ok $n - $name";;
    esac
  done < "$log"
  if [ $bad -eq 0 ] && ! grep -q "^:global-test-result: PASS" "$trs"; then
    n=$((n+1)); echo "not ok $n - $t: $(grep "^:global-test-result" "$trs")"
  fi
done
if [ $rc -ne 0 ]; then for t in $run; do cat "${t%.t}.log"; done | grep -E "^not ok|^#" | head -50 | sed "s|^|# |"; fi
exit $rc
