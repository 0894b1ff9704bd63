#!/usr/bin/env python3
"""The privacy scan over a PostgreSQL cluster (issue 15): run by suite 96
inside tests/pg/with_cluster.py, after the unit and API suites have run on
that cluster.

    scan_cluster.py SCANNER

stores a control string through the C API (a site's idea, in a database
kept for the purpose: the scan must find it, or it proves nothing), then,
as the issue says, `VACUUM` (every database), `CHECKPOINT; SELECT
pg_switch_wal();`, takes a `pg_dumpall`, and runs tests/privacy/scan.py
over the cluster's directory (data files, WAL, server log) and over the
dump: no IP address, user agent, resident id, e-mail, answer handle or
idempotency key that the API tests recorded in $TH_ARTIFACTS/probes.txt
(tests/api/harness.py) may be found in any of the forms scan.py knows, and
the control must be. SCANNER is tests/privacy/scan.c, built. Prints TAP.
"""
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

from pgenv import SRC  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall  # noqa: E402


def main(argv):
    scanner = argv[0]
    admin = os.environ["TH_TEST_PG"]
    host = urllib.parse.parse_qs(urllib.parse.urlsplit(admin).query)["host"][0]
    pg = Cluster.attach(host)
    tmp = tempfile.mkdtemp(prefix="th-pg-scan-")
    try:
        control = "control-pg-" + secrets.token_hex(8)
        uri = pg.createdb("privacy_control")
        with Townhall(uri, key_file=os.path.join(tmp, "control.key")) as db:
            db.create_site("control", "Control")
            db.submit_idea("control", "control-resident-0001", control)
        pg.run(["vacuumdb", "--all", "-q", "--maintenance-db", admin],
               as_owner=False)
        pg.psql("CHECKPOINT", uri=admin)
        pg.psql("SELECT pg_switch_wal()", uri=admin)
        pg.psql("CHECKPOINT", uri=admin)
        dumpdir = os.path.join(tmp, "dump")
        os.makedirs(dumpdir)
        dump = pg.run(["pg_dumpall", "-d", admin], as_owner=False)
        with open(os.path.join(dumpdir, "pg_dumpall.sql"), "w") as f:
            f.write(dump.stdout)

        # The probes the API tests recorded (the SQLite run's controls
        # belong to its own files), and this cluster's control.
        probes = os.path.join(tmp, "probes.txt")
        art = os.environ.get("TH_ARTIFACTS")
        with open(probes, "w") as out:
            if art and os.path.exists(os.path.join(art, "probes.txt")):
                with open(os.path.join(art, "probes.txt")) as f:
                    for line in f:
                        if json.loads(line)["kind"] != "control":
                            out.write(line)
            out.write(json.dumps({"kind": "control", "value": control}) + "\n")
        rc = 0
        for what, d in (("the cluster's files (data, WAL, log)", host),
                        ("a pg_dumpall", dumpdir)):
            print("# scanning %s" % what, flush=True)
            r = subprocess.run([sys.executable,
                                os.path.join(SRC, "tests", "privacy",
                                             "scan.py"), scanner, probes, d],
                               capture_output=True, text=True)
            for line in r.stdout.splitlines():
                if line.startswith(("ok ", "not ok ")):
                    head, _, name = line.partition(" - ")
                    line = "%s - %s: %s" % (head, what, name)
                print(line, flush=True)
            sys.stderr.write(r.stderr)
            rc = rc or r.returncode
        return rc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
