#!/usr/bin/env bash
# The HTTP server with real clients on loopback: the API (every answer
# checked against docs/openapi.yaml), robustness (limits, timeouts,
# smuggling, many connections) and durability (SIGKILL and SIGTERM under
# write load).
set -uo pipefail
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/api"
exec "$PY" tap.py test_api test_robust test_durability test_holes
