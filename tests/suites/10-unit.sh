#!/usr/bin/env bash
# The C unit tests (make check), reported test point by test point.
set -uo pipefail
cd "$TH_BUILD"
make -j"$(nproc)" check >/dev/null 2>&1
rc=$?
n=0
for trs in tests/unit/*.trs; do
  t=$(basename "$trs" .trs)
  while IFS= read -r line; do
    case "$line" in
      ":test-result: PASS"*) n=$((n+1)); echo "ok $n - $t ${line#:test-result: PASS }";;
      ":test-result: SKIP"*) n=$((n+1)); echo "not ok $n - $t ${line#:test-result: SKIP } # SKIP";;
      ":test-result: "*) n=$((n+1)); echo "not ok $n - $t ${line#:test-result: }";;
    esac
  done < "$trs"
done
if [ $rc -ne 0 ]; then cat tests/unit/*.log | grep -E "^not ok|^#" | head -50; fi
exit $rc
