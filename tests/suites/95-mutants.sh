#!/usr/bin/env bash
# Tests that would catch a broken promise. Each file in tests/mutants/ is a
# small patch (unified diff against the repository, applied with patch -p1)
# that breaks one promise, with a header naming it and the test that must
# catch it:
#
#   # promise: what must hold
#   # mutant: how the patch breaks it
#   # test: the test that must now FAIL, one of
#   #   tests/DIR MODULE.Class[.test]   Python unittest names, run from DIR
#   #   unit NAME                       tests/unit/NAME.t (the C unit tests)
#   #   powerloss MODE ROUNDS           tests/faults/powerloss.c
#   #   clock [PART...]                 tests/privacy/clock.c (parts 1-3)
#   #   abi                             scripts/abi check (suite 36-abi)
#
# The source tree and the main build directory ($TH_BUILD, built by the
# suites before) are copied once; in a private mount namespace (unshare -m:
# root, as CI has) the copies are mounted over the originals, so every
# absolute path the build recorded still holds and only what a mutant
# changes is rebuilt. Without root the copy is configured and built from
# scratch instead (slower). Each mutant in turn is applied, built
# incrementally (one file and the link), its test is run and must fail,
# and the patch is reversed. Before any mutant, every named test is run on
# the unmutated copy and must pass: a test that fails anyway proves
# nothing. A mutant that survives, no longer applies or does not build
# fails this suite. Nothing here touches the real tree. When edits around a
# mutant stop it applying, tests/mutants/rebase.py re-bases every patch on
# the current tree.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
LIBS="$(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) -lm -lpthread"

if [ -z "${TH_MUTANTS_TMP:-}" ]; then
  # ---- outside: copy, then run the rest in a mount namespace ------------------
  started=$(date +%s)
  tmp=$(mktemp -d /tmp/townhall-95.XXXXXX)
  trap 'rm -rf "$tmp"' EXIT
  make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 || { nok "the main build is up to date"; tail -20 "$tmp/make.log" | sed 's/^/# /'; exit 1; }
  mkdir -p "$tmp/src" "$tmp/build"
  excl=(--exclude=.git --exclude=node_modules --exclude=./var --exclude=./build
        --exclude='./build-[!a]*')
  case "$TH_BUILD" in "$TH_SRC"/*) excl+=(--exclude="./${TH_BUILD#"$TH_SRC"/}");; esac
  tar -C "$TH_SRC" -cf - "${excl[@]}" . | tar -C "$tmp/src" -xf -
  case "$TH_BUILD" in "$TH_SRC"/*) mkdir -p "$tmp/src/${TH_BUILD#"$TH_SRC"/}";; esac
  if unshare -m --propagation private true 2>/dev/null; then
    cp -a "$TH_BUILD/." "$tmp/build/"
    TH_MUTANTS_TMP=$tmp TH_MUTANTS_STARTED=$started \
      unshare -m --propagation private bash "$0"
    rc=$?
    [ $rc -ne 99 ] && exit $rc
    rm -rf "${tmp:?}/build" && mkdir -p "$tmp/build"
    echo "# could not mount the copies over the tree: building the copy afresh"
  fi
  TH_MUTANTS_TMP=$tmp TH_MUTANTS_STARTED=$started TH_MUTANTS_FRESH=1 bash "$0"
  exit $?
fi

# ---- inside ------------------------------------------------------------------------
tmp=$TH_MUTANTS_TMP
started=$TH_MUTANTS_STARTED
if [ -z "${TH_MUTANTS_FRESH:-}" ]; then
  mount --bind "$tmp/src" "$TH_SRC" 2>/dev/null || exit 99
  mount --bind "$tmp/build" "$TH_BUILD" 2>/dev/null || exit 99
  src=$TH_SRC
  build=$TH_BUILD
  if make -C "$build" -j"$(nproc)" >"$tmp/build.log" 2>&1; then
    ok "copies of the tree and of its build, mounted over them ($(( $(date +%s) - started )) s)"
  else
    nok "the copied build is usable"; tail -20 "$tmp/build.log" | sed 's/^/# /'; exit 1
  fi
else
  src=$tmp/src
  build=$tmp/build
  (cd "$src" && { [ -x configure ] || autoreconf -fi; }) >"$tmp/build.log" 2>&1
  if (cd "$build" && "$src/configure" -q && make -j"$(nproc)") >>"$tmp/build.log" 2>&1; then
    ok "a copy of the tree builds ($(( $(date +%s) - started )) s)"
  else
    nok "a copy of the tree builds"; tail -30 "$tmp/build.log" | sed 's/^/# /'; exit 1
  fi
fi

# Builds what a named test needs, and no more: the C programs (unit tests,
# power loss, clock, the open-data fixture) link the library's objects;
# the Python tests run the `townhall` command. Files a mutant changed are
# compiled without optimisation (quicker; the promise broken is the same).
build_for() {
  local words targets
  read -r -a words <<<"$1"
  case "${words[0]}" in
    unit) targets=(core/libthcore.la "tests/unit/${words[1]}.t");;
    abi) targets=(core/libtownhall.la);;
    powerloss|clock) targets=(core/libthcore.la);;
    tests/opendata) targets=(core/libthcore.la townhall);;
    *) targets=(townhall);;
  esac
  make -C "$build" -j"$(nproc)" CFLAGS="-O0 -g" "${targets[@]}"
}

# Runs a named test against the copy; its exit status is the test's.
run_test() {
  local spec=$1 words
  read -r -a words <<<"$spec"
  local out=$tmp/test.out
  case "${words[0]}" in
    unit)
      make -C "$build" "tests/unit/${words[1]}.t" >"$out" 2>&1 &&
        (cd "$build" && TOP_SRCDIR=$src TOP_BUILDDIR=$build TMPDIR=$tmp \
           "./tests/unit/${words[1]}.t") >>"$out" 2>&1
      ;;
    powerloss)
      cc -std=c11 -O1 -I"$src/core" -o "$tmp/powerloss" "$src/tests/faults/powerloss.c" \
         "$build/core/.libs/libthcore.a" $LIBS >"$out" 2>&1 &&
        mkdir -p "$tmp/pl" && "$tmp/powerloss" "$tmp/pl" "${words[1]}" "${words[2]}" >>"$out" 2>&1
      ;;
    clock)
      # helpers.c includes libpq-fe.h when the build has libpq (HAVE_LIBPQ).
      cc -std=c11 -O1 -I"$build" -I"$src/core" -I"$src/tests/unit" \
         $(pkg-config --exists libpq && pkg-config --cflags libpq) -o "$tmp/clock" \
         "$src/tests/privacy/clock.c" "$src/tests/unit/helpers.c" \
         "$build/core/.libs/libthcore.a" $LIBS >"$out" 2>&1 &&
        TMPDIR=$tmp "$tmp/clock" "${words[@]:1}" >>"$out" 2>&1
      ;;
    abi)
      # The copy's library against the baselines of the tree (abi/).
      "$PY" "$src/scripts/abi" check "$build/core/.libs/libtownhall.so" >"$out" 2>&1
      ;;
    tests/*)
      local dir=${words[0]}
      if [ "$dir" = tests/opendata ]; then
        cc -std=c11 -I"$src/core" -o "$tmp/fixture" "$src/tests/opendata/fixture.c" \
           "$build/core/.libs/libthcore.a" $LIBS >"$out" 2>&1 || return 1
      fi
      # Without TH_ARTIFACTS: what a mutant writes (an address in a log)
      # must not reach the final privacy scan's directory.
      (cd "$src/$dir" && env -u TH_ARTIFACTS TH_SRC="$src" TH_BUILD="$build" \
         TH_BIN="$build/townhall" TH_OPENDATA_FIXTURE="$tmp/fixture" \
         PYTHONPATH="$src/$dir:$src/tests/api" PYTHONDONTWRITEBYTECODE=1 \
         "$PY" "$src/tests/api/tap.py" "${words[@]:1}") >"$out" 2>&1
      ;;
    *)
      echo "unknown test spec: $spec" >"$out"; return 2
      ;;
  esac
}

header() { sed -n "s/^# $2: //p" "$1" | head -1; }

mutants=("$TH_SRC"/tests/mutants/*.patch)
# TH_TEST (tests/run.py --test PATTERN) picks mutants by name; it is never
# passed on to the tests a mutant must fail, which would then "fail" only
# because the filter left them nothing to run. A pattern that names no
# mutant runs them all.
if [ -n "${TH_TEST:-}" ]; then
  picked=()
  for m in "${mutants[@]}"; do
    case "$(basename "$m" .patch)" in *$TH_TEST*) picked+=("$m");; esac
  done
  [ ${#picked[@]} -gt 0 ] && mutants=("${picked[@]}")
fi
unset TH_TEST
[ -e "${mutants[0]}" ] || { nok "no mutants in tests/mutants"; exit 1; }

# ---- every named test passes on the unmutated copy ------------------------------
declare -A baseline
for m in "${mutants[@]}"; do
  spec=$(header "$m" test)
  [ -n "$spec" ] || { nok "$(basename "$m"): no '# test:' line"; continue; }
  [ -n "${baseline[$spec]:-}" ] && continue
  t0=$(date +%s)
  if run_test "$spec"; then
    baseline[$spec]=pass
    ok "baseline: '$spec' passes unmutated ($(( $(date +%s) - t0 )) s)"
  else
    baseline[$spec]=fail
    nok "baseline: '$spec' fails without any mutant, so it cannot judge one"
    grep -E "not ok|Error|error|LOST|#" "$tmp/test.out" | head -15 | sed 's/^/# /'
  fi
done

# ---- each mutant must be caught -------------------------------------------------
for m in "${mutants[@]}"; do
  name=$(basename "$m" .patch)
  spec=$(header "$m" test)
  promise=$(header "$m" promise)
  [ "${baseline[$spec]:-}" = pass ] || continue
  t0=$(date +%s)
  if ! (cd "$src" && patch -p1 --dry-run -s <"$m" >/dev/null 2>&1); then
    nok "mutant $name no longer applies: run tests/mutants/rebase.py (or update tests/mutants/$name.patch by hand)"
    continue
  fi
  (cd "$src" && patch -p1 -s <"$m")
  if ! build_for "$spec" >"$tmp/make.log" 2>&1; then
    nok "mutant $name does not build"; tail -10 "$tmp/make.log" | sed 's/^/# /'
  elif run_test "$spec"; then
    nok "mutant $name SURVIVED: '$spec' still passes though $promise is broken"
  else
    ok "mutant $name is caught by '$spec' ($promise; $(( $(date +%s) - t0 )) s)"
  fi
  (cd "$src" && patch -p1 -R -s <"$m")
done
echo "# ${#mutants[@]} mutants in $(( $(date +%s) - started )) s"
[ $fail -eq 0 ]
