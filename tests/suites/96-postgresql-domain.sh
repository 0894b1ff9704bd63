#!/usr/bin/env bash
# The domain unit tests and the HTTP API tests on PostgreSQL (issue 15):
# suites 10-unit and 20-api run again, unchanged, with TH_TEST_ENGINE=
# postgresql against a throwaway cluster (tests/pg/with_cluster.py), each
# test database a database of its own on it, made and used as the role
# townhall. The tests about SQLite itself are marked and do not run here
# (docs/design/postgresql.md, "Tests"). Every TAP name is prefixed
# "postgresql: ". The rest of the suite stays on SQLite.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
# Each line of TAP a test reports, its name prefixed with "postgresql: ".
exec "$PY" "$TH_SRC/tests/pg/with_cluster.py" bash -c '
  rc=0
  for s in 10-unit 20-api; do
    "$TH_SRC/tests/suites/$s.sh" | sed -E "s/^((not )?ok [0-9]+ - )/\1postgresql: /"
    r=${PIPESTATUS[0]}
    [ "$r" -eq 0 ] || rc=$r
  done
  exit $rc'
