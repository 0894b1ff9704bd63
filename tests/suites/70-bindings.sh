#!/usr/bin/env bash
# The Python and Node.js bindings against the freshly built library: their
# own test suites (python3 -m unittest, node --test), reported test by test,
# and their offline installation (pip, npm) and build checks.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
check() { # check NAME COMMAND...: one test point from a command's status
  local name=$1; shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else not_ok "$name"; sed 's/^/# /' "$tmp/out" | tail -30; fi
}

tmp=$(mktemp -d /tmp/townhall-70.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# Debian's python3 (what a fresh machine has), not a pyenv shim on PATH.
PY=$(command -v /usr/bin/python3 || command -v python3)
NODE=$(command -v node || true)

# ---- the library, freshly built and installed into a scratch root ----------
if make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 &&
   make -C "$TH_BUILD" install DESTDIR="$tmp/inst" >>"$tmp/make.log" 2>&1; then
  ok "libtownhall builds and installs (make install DESTDIR=...)"
else
  not_ok "libtownhall builds and installs"; tail -30 "$tmp/make.log" | sed 's/^/# /'
  echo "1..$n"; exit 1
fi
LIB=$TH_BUILD/core/.libs/libtownhall.so
export PKG_CONFIG_SYSROOT_DIR=$tmp/inst
export PKG_CONFIG_PATH=$(dirname "$(find "$tmp/inst" -name townhall.pc | head -1)")
check "pkg-config --cflags --libs townhall" pkg-config --cflags --libs townhall

# ---- Python ------------------------------------------------------------------
export PYTHONDONTWRITEBYTECODE=1
py_report() { # unittest -v lines ("name (module.Class.name) ... ok") as TAP
  local log=$1 prefix=$2
  local line name verdict
  while IFS= read -r line; do
    case "$line" in
      *" ... ok") name=${line% ... ok}; ok "$prefix: $name";;
      *" ... FAIL"|*" ... ERROR") verdict=${line##* ... }; name=${line% ... *}
                                  not_ok "$prefix: $name ($verdict)";;
      *" ... skipped"*) name=${line% ... skipped*}; not_ok "$prefix: $name # SKIP";;
      *" ... expected failure") name=${line% ... expected failure}; not_ok "$prefix: $name (expected failure)";;
    esac
  done < "$log"
}
TOWNHALL_LIBRARY=$LIB PYTHONPATH=$TH_SRC/bindings/python \
  "$PY" -m unittest discover -v -s "$TH_SRC/bindings/python/tests" >"$tmp/py.log" 2>&1
py_rc=$?
py_report "$tmp/py.log" "python"
if [ $py_rc -eq 0 ] && grep -q '^OK' "$tmp/py.log"; then
  ok "python: unittest suite passed ($("$PY" --version 2>&1), $(grep -Eo '^Ran [0-9]+ tests' "$tmp/py.log"))"
else
  not_ok "python: unittest suite (exit $py_rc)"; grep -E '^(FAIL|ERROR|Traceback|  File|[A-Za-z]+Error)' "$tmp/py.log" | head -40 | sed 's/^/# /'
fi

# Installable offline: pip with no index at all (the in-tree build backend
# needs nothing from the network); where pip itself is missing, the same
# backend builds the wheel and it is unpacked by hand.
py_install() {
  if "$PY" -m pip --version >/dev/null 2>&1; then
    env PIP_NO_INDEX=1 PIP_FIND_LINKS= PIP_DISABLE_PIP_VERSION_CHECK=1 \
      "$PY" -m pip install --no-cache-dir --target "$tmp/site" "$TH_SRC/bindings/python" || return 1
  else
    echo "no pip: building the wheel with the in-tree backend"
    (cd "$TH_SRC/bindings/python" && "$PY" -c "import sys; sys.path.insert(0, 'build_backend'); import townhall_build; print(townhall_build.build_wheel('$tmp'))") || return 1
    "$PY" -c "import zipfile, glob; zipfile.ZipFile(glob.glob('$tmp/townhall-*.whl')[0]).extractall('$tmp/site')" || return 1
  fi
  test -f "$tmp/site/townhall/py.typed" || { echo "py.typed missing"; return 1; }
  ls "$tmp"/site/townhall-*.dist-info/METADATA >/dev/null || return 1
  (cd "$tmp" && TOWNHALL_LIBRARY=$LIB PYTHONPATH=$tmp/site "$PY" -c \
    "import townhall, sys; assert townhall.__file__.startswith('$tmp/site'), townhall.__file__; print(townhall.version())")
}
if "$PY" -m pip --version >/dev/null 2>&1; then how="pip install --target, no index"; else how="no pip here: wheel from the in-tree backend, unpacked"; fi
check "python: package installs offline ($how) and imports" py_install

# The library found on the system's path when TOWNHALL_LIBRARY is not set.
check "python: finds libtownhall.so.1 on the library path without TOWNHALL_LIBRARY" \
  env -u TOWNHALL_LIBRARY LD_LIBRARY_PATH="$(dirname "$(find "$tmp/inst" -name 'libtownhall.so.1' | head -1)")" \
  PYTHONPATH="$TH_SRC/bindings/python" "$PY" -c "import townhall; print(townhall.version(), townhall.library_path())"

# ---- Node.js -------------------------------------------------------------------
if [ -z "$NODE" ]; then
  not_ok "node: no node on PATH"
  echo "1..$n"; exit 1
fi
ADDON=$tmp/townhall.node
if TOWNHALL_ADDON_OUT=$ADDON "$NODE" "$TH_SRC/bindings/node/build.js" >"$tmp/node-build.log" 2>&1; then
  ok "node: addon builds offline with cc against $(node -p 'process.versions.node') headers ($(head -1 "$tmp/node-build.log"))"
else
  not_ok "node: addon builds"; sed 's/^/# /' "$tmp/node-build.log" | tail -30
  echo "1..$n"; exit 1
fi
export TOWNHALL_NODE_ADDON=$ADDON

# node --test's TAP: the top-level test points (column 0), renumbered.
TOWNHALL_NODE_ADDON=$ADDON "$NODE" --test --test-reporter=tap "$TH_SRC"/bindings/node/test/*.test.js >"$tmp/node.log" 2>&1
node_rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok "*" # SKIP"*|"ok "*" # TODO"*) not_ok "node: ${line#ok * - }";;
    "ok "*) ok "node: ${line#ok * - }";;
    "not ok "*) not_ok "node: ${line#not ok * - }";;
  esac
done < "$tmp/node.log"
if [ $node_rc -eq 0 ]; then
  ok "node: node --test suite passed ($(grep -E '^# (pass|fail) ' "$tmp/node.log" | tr '\n' ' '))"
else
  not_ok "node: node --test suite (exit $node_rc)"
  grep -E "^\s+(error|expected|actual|code|location):" "$tmp/node.log" | head -40 | sed 's/^/# /'
fi

# The header check: headers of another Node major are refused, clearly.
mkdir -p "$tmp/fake-include"
printf '#define NODE_MAJOR_VERSION 99\n' >"$tmp/fake-include/node_version.h"
: >"$tmp/fake-include/node_api.h"
fake_headers() {
  ! NODE_INCLUDE_DIR=$tmp/fake-include TOWNHALL_ADDON_OUT=$tmp/x.node "$NODE" "$TH_SRC/bindings/node/build.js" >"$tmp/fake.log" 2>&1 &&
    grep -q "are for Node 99" "$tmp/fake.log" && ! test -e "$tmp/x.node"
}
check "node: build refuses headers of another Node major, saying so" fake_headers

# npm: pack, then install the tarball into an app with the network off; its
# install script compiles the addon.
npm_install() {
  command -v npm >/dev/null || { echo "no npm"; return 1; }
  mkdir -p "$tmp/npm/app" && cd "$tmp/npm" || return 1
  npm pack --silent "$TH_SRC/bindings/node" >pack.log 2>&1 || { cat pack.log; return 1; }
  cd app && printf '{"name":"app","version":"1.0.0","private":true}\n' >package.json
  env -u TOWNHALL_NODE_ADDON npm install --offline --no-audit --no-fund ../townhall-*.tgz || return 1
  test -f node_modules/townhall/build/townhall.node || { echo "the install script did not build the addon"; return 1; }
  env -u TOWNHALL_NODE_ADDON "$NODE" -e "const t = require('townhall'); if (t.version !== require('townhall/package.json').version) process.exit(1); console.log(t.version)"
}
check "node: npm install of the packed package builds the addon offline" npm_install

echo "1..$n"
[ $fails -eq 0 ]
