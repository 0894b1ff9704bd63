#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz/ (clang, ASan + UBSan): built into
# $TH_BUILD-fuzz, then for each harness
#   - every file of its checked-in corpus and of tests/fuzz/regressions/
#     replayed one by one (each must run to the end without a report), and
#   - a short fuzzing run (FUZZ_SECONDS, default 15, two harnesses at a
#     time) from that corpus into a scratch directory.
# And the request-path harness is checked to be really driving the server:
# replaying its seeds must produce well-formed answers, most of them 2xx and
# some 4xx (a harness that silently fed nothing would pass everything else).
# Long runs: tests/fuzz/README.md.
set -uo pipefail
SRC=$TH_SRC
OUT="$TH_BUILD-fuzz"
SECS=${FUZZ_SECONDS:-15}
HARNESSES=(http json form url redact cursor jwt jose)
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }

if ! command -v clang >/dev/null; then
  notok "clang is installed (apt-get install clang)"
  exit 1
fi
if log=$(nice -n 10 "$SRC/tests/fuzz/build.sh" "$TH_BUILD" "$OUT" 2>&1); then
  ok "fuzz harnesses build (clang $(clang -dumpversion), ASan+UBSan+libFuzzer)"
else
  notok "fuzz harnesses build"
  tail -30 <<<"$log" | sed 's/^/# /'
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/townhall-fuzz-ci-XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

report() { # log: the harness's report, shortened, as TAP comments
  grep -E "ERROR|runtime error|property failed|malformed answer|SUMMARY|^    #[0-9] |Test unit written|^Base64" "$1" |
    head -30 | sed 's/^/# /'
}

# ---- replay -------------------------------------------------------------
for h in "${HARNESSES[@]}"; do
  files=()
  for d in "$SRC/tests/fuzz/corpus/$h" "$SRC/tests/fuzz/regressions/$h"; do
    [ -d "$d" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$d" -type f | sort)
  done
  if [ ${#files[@]} -eq 0 ]; then
    notok "replay $h: no corpus in tests/fuzz/corpus/$h"
    continue
  fi
  echo=""
  [ "$h" = http ] && echo="$work/http-answers" && : >"$echo"
  TH_FUZZ_ECHO=$echo "$OUT/fuzz_$h" -timeout=25 "${files[@]}" >"$work/replay-$h.log" 2>&1
  rc=$?
  ran=$(grep -c "^Executed " "$work/replay-$h.log")
  if [ $rc -eq 0 ] && [ "$ran" -eq ${#files[@]} ]; then
    ok "replay $h: ${#files[@]} corpus and regression inputs"
  else
    notok "replay $h: $ran of ${#files[@]} inputs ran (exit $rc)"
    report "$work/replay-$h.log"
  fi
done

# ---- the request-path harness reaches the handlers ------------------------
if [ -s "$work/http-answers" ]; then
  seeds=$(find "$SRC/tests/fuzz/corpus/http" -type f | wc -l)
  # Answers follow bodies without a line break: count status lines anywhere.
  statuses=$(grep -aoE 'HTTP/1\.1 [1-5][0-9][0-9] [A-Z]' "$work/http-answers" | cut -c10)
  s2=$(grep -c '^2' <<<"$statuses")
  s4=$(grep -c '^4' <<<"$statuses")
  s5=$(grep -c '^5' <<<"$statuses")
  if [ "$s2" -ge $((seeds / 2)) ] && [ "$s4" -ge 1 ] && [ "$s5" -eq 0 ]; then
    ok "fuzz_http drives the server: $s2 2xx, $s4 4xx, no 5xx answers to $seeds seeds"
  else
    notok "fuzz_http drives the server: $s2 2xx, $s4 4xx, $s5 5xx answers to $seeds seeds"
  fi
else
  notok "fuzz_http drives the server: no answers recorded"
fi

# ---- short runs, two at a time -------------------------------------------
run_short() { # harness
  local h=$1
  mkdir -p "$work/new-$h" "$work/art-$h"
  local dirs=("$work/new-$h" "$SRC/tests/fuzz/corpus/$h")
  [ -d "$SRC/tests/fuzz/regressions/$h" ] && dirs+=("$SRC/tests/fuzz/regressions/$h")
  nice -n 10 "$OUT/fuzz_$h" -max_total_time="$SECS" -timeout=25 -print_final_stats=1 \
    -artifact_prefix="$work/art-$h/" "${dirs[@]}" >"$work/run-$h.log" 2>&1
  echo $? >"$work/run-$h.rc"
}
for h in "${HARNESSES[@]}"; do
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  run_short "$h" &
done
wait
for h in "${HARNESSES[@]}"; do
  rc=$(cat "$work/run-$h.rc" 2>/dev/null || echo "?")
  runs=$(awk '/^stat::number_of_executed_units/ {print $2 + 0}' "$work/run-$h.log")
  cov=$(grep -E '^#[0-9]+.*cov: ' "$work/run-$h.log" | tail -1 | sed -E 's/.*(cov: [0-9]+ ft: [0-9]+).*/\1/')
  if [ "$rc" = 0 ] && [ "${runs:-0}" -gt 0 ]; then
    ok "fuzz $h for ${SECS}s: ${runs} runs, $cov"
  else
    notok "fuzz $h for ${SECS}s (exit $rc): add the input below to tests/fuzz/regressions/$h/ and fix"
    report "$work/run-$h.log"
    for a in "$work/art-$h"/*; do
      [ -f "$a" ] && echo "# $(basename "$a"): $(head -c 3000 "$a" | base64 -w0)"
    done
  fi
done
echo "1..$n"
exit $fail
