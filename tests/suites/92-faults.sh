#!/usr/bin/env bash
# Faults: power loss (a crash VFS that forgets unsynced writes, through the C
# API and through the real server in-process), and the negative controls
# that show it catches a broken promise; a full disk (a small tmpfs: needs
# root, as CI has), a database locked by another process, bad key files,
# SIGTERM under load, 50 SIGKILLs at random moments; online backups under
# load, a restore, and `townhall migrate`'s backup. See tests/faults/.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
tmp=$(mktemp -d /tmp/townhall-92.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
nok() { n=$((n + 1)); fail=1; echo "not ok $n - $*"; }

# ---- power loss -----------------------------------------------------------------
make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 || { nok "build"; tail -20 "$tmp/make.log" | sed 's/^/# /'; }
if cc -std=c11 -O1 -g -Wall -Wextra -Werror -I"$TH_SRC/core" -I"$TH_BUILD" \
      -o "$tmp/powerloss" "$TH_SRC/tests/faults/powerloss.c" \
      "$TH_BUILD/core/.libs/libthcore.a" \
      $(pkg-config --libs libuv sqlite3 libsodium jansson libutf8proc $(pkg-config --exists libpq && echo libpq)) -lm -lpthread \
      >"$tmp/cc.log" 2>&1; then
  ok "the power-loss test builds against libthcore.a"
  # mode rounds expected-status description
  while read -r mode rounds want what; do
    out=$("$tmp/powerloss" "$tmp" "$mode" "$rounds" 2>&1)
    rc=$?
    echo "$out" | grep '^#' | tail -4
    if [ "$rc" -eq "$want" ]; then ok "power loss ($mode): $what"; else nok "power loss ($mode): $what (status $rc, wanted $want)"; fi
  done <<'EOF'
api 40 0 40 power cuts under C API writes and batches lose nothing acknowledged, integrity_check ok
server 25 0 25 power cuts under the HTTP server (in-process, 3 client threads) lose nothing acknowledged
nosync 10 1 control: a disk that ignores xSync loses acknowledged writes, and the test says so
normal 10 1 control: synchronous=NORMAL loses acknowledged writes on power loss, and the test says so
EOF
else
  nok "the power-loss test builds"; sed 's/^/# /' "$tmp/cc.log" | head -30
fi

# ---- the server under faults, backups ----------------------------------------------
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export PYTHONPATH="$TH_SRC/tests/faults:$TH_SRC/tests/api" PYTHONDONTWRITEBYTECODE=1
cd "$TH_SRC/tests/faults"
"$PY" ../api/tap.py test_faults test_backup test_ready |
  sed -E "s/^(ok|not ok) [0-9]+ - /\1 N - /" |
  while IFS= read -r line; do
    case "$line" in
      "ok N - "*) n=$((n + 1)); echo "ok $n - ${line#ok N - }";;
      "not ok N - "*) n=$((n + 1)); echo "not ok $n - ${line#not ok N - }";;
      1..*) ;;
      *) echo "$line";;
    esac
  done
py=${PIPESTATUS[0]}
[ $fail -eq 0 ] && [ "$py" -eq 0 ]
