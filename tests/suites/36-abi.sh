#!/usr/bin/env bash
# The ABI only grows (NEWS): the built libtownhall.so, read by abidw, is
# held by scripts/abi against every baseline in abi/ with abidiff. New
# functions and members appended to a struct that carries its size pass;
# anything else that a program built against the baseline would notice
# fails, with abidiff's report. Builds nothing: it reads $TH_BUILD's
# library, which scripts/build makes with -g.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }
lib=$TH_BUILD/core/.libs/libtownhall.so

if command -v abidw >/dev/null && command -v abidiff >/dev/null; then
  ok "abidw and abidiff $(abidiff --version | cut -d' ' -f2) are installed"
else
  nok "abidw and abidiff are installed (scripts/deps: abigail-tools)"
  echo "1..$n"; exit 1
fi
if [ ! -e "$lib" ]; then
  nok "$lib is built (scripts/build)"
elif ! readelf -S "$lib" | grep -c "\.debug_info" >/dev/null; then
  nok "$lib has debug information (built with -g, as scripts/build does)"
else
  ok "$(readelf -d "$lib" | sed -n 's/.*soname: \[\(.*\)\]/\1/p') has debug information"
  if out=$(python3 "$TH_SRC/scripts/abi" check "$lib" 2>&1); then
    ok "the ABI only grew against $(cd "$TH_SRC/abi" && echo libtownhall-*.abi)"
    sed 's/^/# /' <<<"$out"
  else
    nok "the ABI only grows: scripts/abi check"
    sed 's/^/# /' <<<"$out" | head -80
  fi
fi
echo "1..$n"
[ $fail -eq 0 ]
