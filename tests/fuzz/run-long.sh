#!/usr/bin/env bash
# Runs the libFuzzer harnesses for a long time, at low priority, and prints
# one summary line per harness (the figures tests/fuzz/README.md records).
#
#   tests/fuzz/run-long.sh FUZZ_OUT [SECONDS] [HARNESS...]
#
# FUZZ_OUT is where tests/fuzz/build.sh put the harnesses. SECONDS (default
# 600) is the fuzzing time of each harness; HARNESS names (http json form url
# redact cursor jwt, the default) pick some. FUZZ_JOBS (default 2) harnesses
# run at a time, each under nice -n 19.
#
# Each harness starts from the checked-in corpus and regressions and adds
# what it finds to FUZZ_OUT/long/corpus/NAME (never to the checked-in
# corpus: `-merge=1` a few of them in by hand). A crash is kept in
# FUZZ_OUT/long/artifacts/NAME/ and the harness is started again for the
# rest of its time, so one bug does not end the run; the summary counts the
# crashes. Logs: FUZZ_OUT/long/NAME.log.
set -uo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$(cd "${1:?usage: run-long.sh FUZZ_OUT [SECONDS] [HARNESS...]}" && pwd)
SECS=${2:-600}
shift $(( $# >= 2 ? 2 : 1 ))
HARNESSES=("$@")
[ ${#HARNESSES[@]} -gt 0 ] || HARNESSES=(http json form url redact cursor jwt)
WORK=$OUT/long
mkdir -p "$WORK"

run_one() { # name
  local h=$1 exe=$OUT/fuzz_$1 log=$WORK/$1.log
  local corpus=$WORK/corpus/$h art=$WORK/artifacts/$h
  mkdir -p "$corpus" "$art"
  local dirs=("$corpus" "$SRC/tests/fuzz/corpus/$h")
  [ -d "$SRC/tests/fuzz/regressions/$h" ] && dirs+=("$SRC/tests/fuzz/regressions/$h")
  : >"$log"
  local start end left runs=0 crashes=0 rc
  start=$(date +%s)
  end=$((start + SECS))
  while left=$((end - $(date +%s))); [ "$left" -gt 0 ]; do
    nice -n 19 "$exe" -max_total_time="$left" -timeout=25 -print_final_stats=1 \
      -artifact_prefix="$art/" "${dirs[@]}" >>"$log" 2>&1
    rc=$?
    [ $rc -eq 0 ] || crashes=$((crashes + 1))
    [ $crashes -lt 20 ] || break
  done
  runs=$(awk '/^stat::number_of_executed_units/ {s += $2} END {print s + 0}' "$log")
  local last
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
  local cov ft
  cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$last")
  ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$last")
  local took=$(( $(date +%s) - start ))
  printf '%s: %s runs in %s s (%s/s), cov %s ft %s, corpus %s files, %s crashes, %s\n' \
    "$h" "$runs" "$took" "$((runs / (took > 0 ? took : 1)))" "${cov:-?}" "${ft:-?}" \
    "$(find "$corpus" "$SRC/tests/fuzz/corpus/$h" -type f | wc -l)" "$crashes" \
    "$(date -u +%Y-%m-%dT%H:%MZ)" | tee "$WORK/$h.summary"
}

jobs=${FUZZ_JOBS:-2}
for h in "${HARNESSES[@]}"; do
  [ -x "$OUT/fuzz_$h" ] || { echo "run-long.sh: no $OUT/fuzz_$h (run build.sh)" >&2; exit 1; }
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_one "$h" &
done
wait
