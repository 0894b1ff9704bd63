#!/usr/bin/env bash
# The release checks: the .so exports only th_ symbols declared in
# townhall.h; `make install DESTDIR=...` installs library, header, .pc and
# command; `make distcheck` passes.
set -uo pipefail
cd "$TH_BUILD"
n=0
ok() { n=$((n+1)); echo "ok $n - $1"; }
nok() { n=$((n+1)); echo "not ok $n - $1"; fail=1; }
fail=0
so=core/.libs/libtownhall.so
syms=$(nm -D --defined-only "$so" | awk '{print $3}' | sort)
bad=$(echo "$syms" | grep -v '^th_' || true)
[ -z "$bad" ] && ok "nm -D shows only th_ symbols ($(echo "$syms" | wc -l))" || { nok "foreign symbols exported"; echo "$bad" | head | sed 's/^/# /'; }
declared=$(grep -oE '\bth_[a-z0-9_]+\(' "$TH_SRC/core/townhall.h" | tr -d '(' | sort -u)
undeclared=$(comm -23 <(echo "$syms") <(echo "$declared"))
[ -z "$undeclared" ] && ok "every exported symbol is declared in townhall.h" || { nok "exported but not declared"; echo "$undeclared" | sed 's/^/# /'; }
missing=$(comm -13 <(echo "$syms") <(echo "$declared"))
[ -z "$missing" ] && ok "every function townhall.h declares is exported" || { nok "declared but not exported"; echo "$missing" | sed 's/^/# /'; }
dest=$(mktemp -d)
if make install DESTDIR="$dest" >/dev/null 2>&1; then
  prefix=$(grep '^prefix=' townhall.pc | cut -d= -f2)
  for f in lib/libtownhall.so lib/libtownhall.a include/townhall.h lib/pkgconfig/townhall.pc bin/townhall; do
    [ -e "$dest$prefix/$f" ] && ok "make install DESTDIR: $f" || nok "make install DESTDIR: $f missing"
  done
else
  nok "make install DESTDIR"
fi
rm -rf "$dest"
if make distcheck >distcheck.log 2>&1; then
  ok "make distcheck"
else
  nok "make distcheck"; tail -30 distcheck.log | sed 's/^/# /'
fi
exit $fail
