#!/usr/bin/env bash
# tests/run.py itself: --help and --list run nothing and exit 0; a word or
# an option that matches nothing is an error (exit 2); --test PATTERN runs
# only the matching tests of the Python suites and of the C unit tests.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d /tmp/townhall-05.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
RUN=$TH_SRC/tests/run.py
# runpy NAME: tests/run.py ARGS... with stdout in $tmp/NAME.out, stderr in
# $tmp/NAME.err, its status in $rc. TH_TEST from this run is not passed on.
runpy() {
  local name=$1; shift
  env -u TH_TEST "$PY" "$RUN" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err"
  rc=$?
}
show() { sed 's/^/#   /' "$tmp/$1.out" "$tmp/$1.err" | tail -20; }
# check NAME DESCRIPTION CONDITION...
check() {
  local name=$1 what=$2; shift 2
  if "$@"; then ok "$what"; else not_ok "$what"; show "$name"; fi
}
ran_nothing() { ! grep -q '^== \|suites in' "$tmp/$1.out"; }

for flag in --help -h; do
  runpy help "$flag"
  check help "run.py $flag exits 0" [ "$rc" -eq 0 ]
  check help "run.py $flag prints the usage, with --list and --test" \
    grep -q -- '--test PATTERN' "$tmp/help.out"
  check help "run.py $flag runs no suite" ran_nothing help
done

runpy list --list
check list "run.py --list exits 0" [ "$rc" -eq 0 ]
check list "run.py --list runs no suite" ran_nothing list
missing=
for s in "$TH_SRC"/tests/suites/*; do
  [ -x "$s" ] || continue
  grep -Eq "^$(basename "$s") +[A-Za-z]" "$tmp/list.out" || missing="$missing $(basename "$s")"
done
check list "run.py --list names every suite, each with what it tests" [ -z "$missing" ]
runpy list2 --list unit cli
check list2 "run.py --list unit cli lists only those" \
  test "$(cut -d' ' -f1 "$tmp/list2.out" | tr '\n' ' ')" = "10-unit.sh 22-cli.sh "

runpy nomatch no-such-suite
check nomatch "a word matching no suite: exit 2" [ "$rc" -eq 2 ]
check nomatch "... saying which word" grep -q 'no suite matches no-such-suite' "$tmp/nomatch.err"
check nomatch "... and running nothing" ran_nothing nomatch
runpy nomatch2 cli no-such-suite
check nomatch2 "one word of two matching nothing: exit 2, nothing run" \
  eval '[ "$rc" -eq 2 ] && ran_nothing nomatch2'
runpy badopt --no-such-option
check badopt "an unknown option: exit 2, nothing run" \
  eval '[ "$rc" -eq 2 ] && ran_nothing badopt && grep -q "unrecognized arguments" "$tmp/badopt.err"'

runpy one cli --test test_version
check one "--test NAME in a Python suite: exit 0" [ "$rc" -eq 0 ]
check one "... runs that test alone (1 passed)" \
  eval 'grep -q "Cli.test_version" "$tmp/one.out" && grep -qx "1 passed, 0 failed" "$tmp/one.out"'
runpy glob cli --test 'test_cli.Cli.test_unknown_c*'
check glob "--test with * matches module.Class.test names" \
  eval '[ "$rc" -eq 0 ] && grep -q "Cli.test_unknown_commands" "$tmp/glob.out" && grep -qx "1 passed, 0 failed" "$tmp/glob.out"'
runpy none cli --test no_such_test_anywhere
check none "--test matching no test: exit 2" \
  eval '[ "$rc" -eq 2 ] && grep -q "no test matches --test no_such_test_anywhere" "$tmp/none.err"'
TH_TEST=no_such_test_anywhere "$PY" "$RUN" cli >"$tmp/leak.out" 2>"$tmp/leak.err"; rc=$?
check leak "without --test, a TH_TEST in the environment filters nothing" \
  eval '[ "$rc" -eq 0 ] && ! grep -qx "0 passed, 0 failed" "$tmp/leak.out"'

runpy unit unit --test rank
check unit "--test PROGRAM in the C unit tests: exit 0" [ "$rc" -eq 0 ]
check unit "... reports that program's checks only" \
  eval 'grep -q "^   ok [0-9]* - rank " "$tmp/unit.out" && ! grep "^   \(not \)\?ok " "$tmp/unit.out" | grep -qv " - rank "'

echo "1..$n"
[ $fails -eq 0 ]
