#!/usr/bin/env bash
# The widgets, the demo council page and the councillors' dashboard in
# Debian's Chromium, driven by playwright-core (tests/browser/run.js).
# Installs its npm packages from the committed lockfile (no browser
# download), starts its own `townhall serve --demo` on a free port with a
# temporary database, stops it, and prints TAP.
set -uo pipefail
cd "$TH_SRC/tests/browser"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >"$log" 2>&1
fi
if [ ! -x "${CHROMIUM:-/usr/bin/chromium}" ]; then
  echo "not ok 1 - Chromium is installed at ${CHROMIUM:-/usr/bin/chromium} (apt-get install chromium)"
  sed 's/^/# /' "$log" | tail -20
  exit 1
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "not ok 1 - node and npm are installed (Node 18 or later)"
  exit 1
fi
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
if ! npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1; then
  echo "not ok 1 - npm ci in tests/browser"
  sed 's/^/# /' "$log" | tail -20
  exit 1
fi
# Screenshots go with the run's artifacts, so that running the tests does
# not rewrite docs/screenshots; to refresh those, run with
# TH_SCREENSHOTS=$TH_SRC/docs/screenshots and commit what changed.
if [ -z "${TH_SCREENSHOTS:-}" ] && [ -n "${TH_ARTIFACTS:-}" ]; then
  export TH_SCREENSHOTS="$TH_ARTIFACTS/screenshots"
  mkdir -p "$TH_SCREENSHOTS"
fi
exec node run.js
