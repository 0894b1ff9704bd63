#!/usr/bin/env bash
# Static analysis of townhall's C: cppcheck and clang-tidy (configuration
# in .clang-tidy at the top of the source tree) over the library, the
# command, the Node addon and the examples. One test per tool and
# directory; any finding fails it and is printed. Findings are fixed in
# the code; the few suppressions below are false positives, each with its
# reason.
set -uo pipefail
SRC=$TH_SRC
B=$TH_BUILD
cd "$SRC" || exit 1
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
notok() { n=$((n + 1)); echo "not ok $n - $*"; fail=1; }

for tool in cppcheck clang-tidy; do
  command -v $tool >/dev/null || { notok "$tool is installed (apt-get install $tool)"; }
done
[ $fail -eq 0 ] || exit 1
# config.h and the generated sources come from the build tree.
[ -f "$B/config.h" ] || { notok "configured build in $B (config.h)"; exit 1; }

DEPS=$(pkg-config --cflags libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq))
NODE_INC=/usr/include/node
SETS=("core:core/*.c core/store/*.c core/server/*.c core/server/handlers/*.c core/cli/*.c core/auth/*.c"
        "bindings/node:bindings/node/src/*.c"
        "examples:examples/*.c examples/scenario/*.c")

# ---- cppcheck ------------------------------------------------------------
# Suppressed, each a false positive:
#  - badBitmaskCheck in core/db.c: th_version() ORs in TH_VERSION_PATCH,
#    which is 0 in this release and not in the next.
#  - arrayIndexOutOfBoundsCond in core/server/static.c: th__strings("en")
#    stops at the literal's NUL before index 3; cppcheck assumes it reads on.
#  - missingIncludeSystem: system headers are not analysed, only ours.
CPPCHECK_OPTS=(--std=c11 --enable=warning,style,performance,portability
  --inline-suppr --error-exitcode=1 --quiet --library=posix -D__GNUC__
  -D__linux__ -I"$B" -I"$B/core" -Icore -Icore/server
  --suppress=missingIncludeSystem
  --suppress=badBitmaskCheck:core/db.c
  --suppress=arrayIndexOutOfBoundsCond:core/server/static.c)
for g in "${SETS[@]}"; do
  name=${g%%:*}
  files=$(eval "ls ${g#*:}" 2>/dev/null)
  if out=$(nice -n 10 cppcheck "${CPPCHECK_OPTS[@]}" $files 2>&1) && [ -z "$out" ]; then
    ok "cppcheck $(cppcheck --version | cut -d' ' -f2): $name ($(wc -w <<<"$files") files)"
  else
    notok "cppcheck: $name"
    sed 's/^/# /' <<<"$out" | head -60
  fi
done

# ---- clang-tidy ------------------------------------------------------------
if ! grep -q "^Checks:" .clang-tidy 2>/dev/null; then
  notok "clang-tidy configuration .clang-tidy"
  exit 1
fi
tidy() { # file: prints the findings, fails on any
  local f=$1 extra=()
  case $f in
  bindings/node/*) extra=(-I"$NODE_INC") ;;
  examples/*) extra=(-D_GNU_SOURCE) ;;
  esac
  nice -n 10 clang-tidy --quiet "$f" -- -std=c11 -I"$B" -I"$B/core" -I"$B/llhttp" \
    -Icore -Icore/server $DEPS "${extra[@]}" 2>&1 |
    grep -E "^[^ ].*(warning|error):|^ +\^" | grep -v "warnings generated" |
    grep -A1 -E "(warning|error):"
  return "${PIPESTATUS[0]}"
}
for g in "${SETS[@]}"; do
  name=${g%%:*}
  files=$(eval "ls ${g#*:}" 2>/dev/null)
  all=""
  bad=0
  # Two files at a time.
  tmp=$(mktemp -d)
  i=0
  for f in $files; do
    (tidy "$f" >"$tmp/$i.out"; echo $? >"$tmp/$i.rc") &
    i=$((i + 1))
    while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n; done
  done
  wait
  for r in "$tmp"/*.rc; do
    o=${r%.rc}.out
    if [ "$(cat "$r")" != 0 ] || [ -s "$o" ]; then
      bad=1
      all+=$(cat "$o")$'\n'
    fi
  done
  rm -rf "$tmp"
  if [ $bad -eq 0 ]; then
    ok "clang-tidy $(clang-tidy --version | grep -o 'version [0-9.]*' | cut -d' ' -f2): $name ($(wc -w <<<"$files") files)"
  else
    notok "clang-tidy: $name"
    sed 's/^/# /' <<<"$all" | head -80
  fi
done
echo "1..$n"
exit $fail
