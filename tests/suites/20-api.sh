#!/usr/bin/env bash
# The HTTP API with a real server on loopback and real clients (Python's
# http.client and urllib); every answer is checked against docs/openapi.yaml.
set -uo pipefail
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
cd "$TH_SRC/tests/api"
exec "$PY" tap.py test_api
