#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ with clang, AddressSanitizer
# and UndefinedBehaviorSanitizer.
#
#   tests/fuzz/build.sh BUILD [OUT]
#   FUZZ_COVERAGE=1 tests/fuzz/build.sh BUILD OUT   (line coverage build)
#
# BUILD is a configured and built tree of this source (for config.h, the
# generated core/migrations.c and core/assets.c, and the llhttp sources that
# configure linked into BUILD/llhttp/). OUT (default BUILD-fuzz) receives the
# objects and one executable per harness: fuzz_http, fuzz_json, fuzz_form,
# fuzz_url, fuzz_redact, fuzz_cursor, fuzz_jwt, fuzz_jose.
#
# The library's own sources are compiled straight into each harness (not
# linked from libtownhall.so, which hides its th__ internals), instrumented
# for coverage with -fsanitize=fuzzer-no-link. Objects are rebuilt only when
# a source or any header is newer.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "${1:?usage: build.sh BUILD [OUT]}" && pwd)
OUT=${2:-$BUILD-fuzz}
CC=${CC_FUZZ:-clang}
mkdir -p "$OUT/obj"

for f in config.h core/migrations.c core/assets.c llhttp/llhttp.c llhttp/api.c llhttp/http.c llhttp/llhttp.h; do
  [ -e "$BUILD/$f" ] || { echo "build.sh: $BUILD/$f is missing: run make in $BUILD first" >&2; exit 1; }
done

SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# FUZZ_COVERAGE=1: source-based coverage instead of the sanitizers, for
# measuring the line coverage of a corpus (tests/fuzz/README.md).
if [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
  SAN="-fprofile-instr-generate -fcoverage-mapping"
fi
# libpq when the build was configured with it (config.h's HAVE_LIBPQ): then
# the store's PostgreSQL engine (core/store/pg*.c, and the migrations the
# build embeds for it, core/pg_migrations.c) is part of the library.
PQ=
if grep -q '^#define HAVE_LIBPQ 1' "$BUILD/config.h" 2>/dev/null; then PQ=libpq; fi
DEPS=$(pkg-config --cflags libuv sqlite3 libsodium jansson libutf8proc $PQ)
LIBS="$(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $PQ) -lm -lpthread"
# libcrypto: staff sign-in's JOSE code (core/auth/, issue 17).
DEPS="$DEPS $(pkg-config --cflags libcrypto)"
LIBS="$LIBS $(pkg-config --libs libcrypto)"
INC="-I$BUILD -I$BUILD/core -I$BUILD/llhttp -I$SRC/core -I$SRC/core/server -I$SRC/tests/fuzz"
CFLAGS="-std=c11 -g -O1 $SAN -fsanitize=fuzzer-no-link $INC $DEPS -Wall -Wno-unused-parameter"

# Headers every object depends on: any change rebuilds everything.
newest_header=$(ls -t "$SRC"/core/*.h "$SRC"/core/store/*.h "$SRC"/core/server/*.h \
                    "$SRC"/core/auth/*.h "$BUILD/config.h" \
                    "$BUILD/llhttp/llhttp.h" "$SRC"/tests/fuzz/*.h "$0" | head -1)

objs=()
pids=()
compile() { # src obj extra-flags...
  local src=$1 obj=$2; shift 2
  objs+=("$obj")
  if [ ! -e "$obj" ] || [ "$src" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ]; then
    "$CC" $CFLAGS "$@" -c "$src" -o "$obj" &
    pids+=($!)
    # Two compilers at a time: this machine is shared.
    if [ ${#pids[@]} -ge "${FUZZ_JOBS:-2}" ]; then wait "${pids[0]}"; pids=("${pids[@]:1}"); fi
  fi
}

for src in "$SRC"/core/*.c "$SRC"/core/store/*.c "$SRC"/core/server/*.c \
           "$SRC"/core/server/handlers/*.c \
           "$SRC"/core/auth/*.c; do
  case "$src" in */store/pg*.c) [ -n "$PQ" ] || continue ;; esac
  compile "$src" "$OUT/obj/$(basename "$(dirname "$src")")_$(basename "$src" .c).o"
done
compile "$BUILD/core/migrations.c" "$OUT/obj/gen_migrations.o"
if [ -n "$PQ" ]; then
  compile "$BUILD/core/pg_migrations.c" "$OUT/obj/gen_pg_migrations.o"
fi
compile "$BUILD/core/assets.c" "$OUT/obj/gen_assets.o"
# As Makefile.am builds llhttp: strict mode.
for f in llhttp api http; do
  compile "$BUILD/llhttp/$f.c" "$OUT/obj/llhttp_$f.o" -DLLHTTP_STRICT_MODE=1
done
compile "$SRC/tests/fuzz/fuzz_server.c" "$OUT/obj/fuzz_server.o"
for p in "${pids[@]}"; do wait "$p"; done
pids=()

lib_objs=("${objs[@]}")
for h in http json form url redact cursor jwt jose; do
  compile "$SRC/tests/fuzz/fuzz_$h.c" "$OUT/obj/harness_$h.o"
done
for p in "${pids[@]}"; do wait "$p"; done

for h in http json form url redact cursor jwt jose; do
  exe="$OUT/fuzz_$h"
  obj="$OUT/obj/harness_$h.o"
  stale=0
  [ -e "$exe" ] || stale=1
  for o in "${lib_objs[@]}" "$obj"; do [ "$o" -nt "$exe" ] && stale=1 && break; done
  if [ $stale = 1 ]; then
    "$CC" -g $SAN -fsanitize=fuzzer "$obj" "${lib_objs[@]}" $LIBS -o "$exe"
  fi
done
echo "harnesses in $OUT"
