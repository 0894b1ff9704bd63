#!/usr/bin/env bash
# The domain unit tests and the HTTP API tests on PostgreSQL (issue 15):
# suites 10-unit and 20-api run again, unchanged, with TH_TEST_ENGINE=
# postgresql against a throwaway cluster (tests/pg/with_cluster.py), each
# test database a database of its own on it, made and used as the role
# townhall. The tests about SQLite itself are marked and do not run here
# (docs/design/postgresql.md, "Tests"). Every TAP name is prefixed
# "postgresql: ". The rest of the suite stays on SQLite. Then the privacy
# scan over the cluster they used (tests/pg/scan_cluster.py): after VACUUM,
# CHECKPOINT and pg_switch_wal(), no identifier the API tests sent is in
# its data files, WAL, log or a pg_dumpall, and a control string is.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
PY=/usr/bin/python3; [ -x "$PY" ] || PY=python3
export PY
# Each line of TAP a test reports, its name prefixed with "postgresql: ".
exec "$PY" "$TH_SRC/tests/pg/with_cluster.py" bash -c '
  rc=0
  for s in 10-unit 20-api; do
    "$TH_SRC/tests/suites/$s.sh" | sed -E "s/^((not )?ok [0-9]+ - )/\1postgresql: /"
    r=${PIPESTATUS[0]}
    [ "$r" -eq 0 ] || rc=$r
  done
  # Then the privacy scan over what they left in the cluster.
  scan=$(mktemp -d /tmp/townhall-96.XXXXXX)
  trap "rm -rf \"$scan\"" EXIT
  if cc -O2 -Wall -Wextra -Werror -o "$scan/scan" "$TH_SRC/tests/privacy/scan.c" 2>"$scan/cc.log"; then
    PYTHONPATH="$TH_SRC/tests/pg" "$PY" "$TH_SRC/tests/pg/scan_cluster.py" "$scan/scan" |
      sed -E "s/^((not )?ok [0-9]+ - )/\1postgresql: privacy scan, /"
    r=${PIPESTATUS[0]}
  else
    echo "not ok 1 - postgresql: the privacy scanner builds"; sed "s/^/# /" "$scan/cc.log"; r=1
  fi
  [ "$r" -eq 0 ] || rc=$r
  exit $rc'
