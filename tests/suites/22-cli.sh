#!/usr/bin/env bash
# The townhall command's usage: --help and -h for every command and
# subcommand (read from `townhall --help`), unknown options and commands
# refused with exit 2 (tests/cli/test_cli.py).
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
make -C "$TH_BUILD" -j"$(nproc)" townhall >/dev/null 2>&1 || { echo "not ok 1 - townhall builds"; exit 1; }
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/cli"
PYTHONPATH=$TH_SRC/tests/cli PYTHONDONTWRITEBYTECODE=1 exec "$PY" ../api/tap.py test_cli
