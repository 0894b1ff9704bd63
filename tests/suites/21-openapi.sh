#!/usr/bin/env bash
# docs/openapi.yaml validated against the OpenAPI 3.1 schema (npm package,
# pinned in tests/openapi/package-lock.json).
set -uo pipefail
cd "$TH_SRC/tests/openapi"
npm ci --silent --no-audit --no-fund >/dev/null 2>&1 || { echo "not ok 1 - npm ci for the OpenAPI validator"; exit 1; }
exec node check.js "$TH_SRC/docs/openapi.yaml"
