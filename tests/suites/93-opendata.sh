#!/usr/bin/env bash
# Open data safe to publish: /v1/sites/{site}/open/feedback.csv and
# ideas.csv over hand-made data (tests/opendata/fixture.c, built here against
# libthcore.a), compared with CSV files worked out by hand
# (tests/opendata/expected/, explained in tests/opendata/README.md).
# test_spreadsheets opens every CSV file the server serves (these and the
# staff exports) in LibreOffice with each common separator: no formulas.
# test_same_bytes holds `townhall open-data`, the Python binding and the
# Node binding (its addon built here against the build's library) to the
# server's bytes.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
tmp=$(mktemp -d /tmp/townhall-93.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 || { echo "not ok 1 - build"; tail -20 "$tmp/make.log" | sed 's/^/# /'; exit 1; }
if ! cc -std=c11 -Wall -Wextra -Werror -I"$TH_SRC/core" -o "$tmp/fixture" \
     "$TH_SRC/tests/opendata/fixture.c" "$TH_BUILD/core/.libs/libthcore.a" \
     $(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) -lm -lpthread >"$tmp/cc.log" 2>&1; then
  echo "not ok 1 - the open-data fixture builds"; sed 's/^/# /' "$tmp/cc.log" | head -20; exit 1
fi
if command -v node >/dev/null &&
   TOWNHALL_CFLAGS="-I$TH_SRC/core -I$TH_BUILD/core -I$TH_BUILD" \
   TOWNHALL_LIBS="-L$TH_BUILD/core/.libs -ltownhall" \
   TOWNHALL_RPATH="$TH_BUILD/core/.libs" TOWNHALL_ADDON_OUT="$tmp/townhall.node" \
   node "$TH_SRC/bindings/node/build.js" >"$tmp/node.log" 2>&1; then
  export TOWNHALL_NODE_ADDON="$tmp/townhall.node"
else
  sed 's/^/# node addon: /' "$tmp/node.log" 2>/dev/null | tail -5 # test_node says so
fi
export TOWNHALL_LIBRARY="$TH_BUILD/core/.libs/libtownhall.so"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export TH_OPENDATA_FIXTURE="$tmp/fixture" PYTHONPATH="$TH_SRC/tests/opendata:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1
cd "$TH_SRC/tests/opendata"
exec "$PY" ../api/tap.py test_opendata test_recovery test_spreadsheets test_same_bytes
