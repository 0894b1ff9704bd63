#!/usr/bin/env bash
# Attacks on a real `townhall serve` ($TH_BIN), tests/attacks/:
#   test_slow     slowhttptest slowloris, slow body and slow read (20 s each)
#                 while an ordinary client is served promptly;
#   test_attacks  request smuggling, CR/LF in reflected headers, path
#                 traversal, forged and malformed resident JWTs, staff token
#                 guessing against the rate limit, SQL metacharacters stored
#                 verbatim, oversized and deeply nested JSON.
# Each server's log is checked for sanitizer reports (tests/api/harness.py).
set -uo pipefail
command -v slowhttptest >/dev/null ||
  { echo "not ok 1 - slowhttptest is installed (apt-get install slowhttptest)"; exit 1; }
[ -x "$TH_BIN" ] || { echo "not ok 1 - $TH_BIN is built"; exit 1; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/attacks" || exit 1
PYTHONPATH="$TH_SRC/tests/attacks" "$PY" "$TH_SRC/tests/api/tap.py" test_attacks test_slow
