#!/usr/bin/env python3
"""Runs a command with a throwaway PostgreSQL cluster and the test switch
set (issue 15):

    tests/pg/with_cluster.py COMMAND [ARG...]

starts a cluster (tests/pg/cluster.py, in a new directory under /tmp),
runs COMMAND with

    TH_TEST_ENGINE=postgresql
    TH_TEST_PG=<the superuser's URI of the cluster's `postgres` database>
    TH_TEST_PG_ROLE=townhall

in its environment, so that the C unit tests' helpers (tests/unit/helpers.c)
and the API tests' server fixture (tests/api/harness.py) make a database of
their own on it for each test database (CREATE DATABASE ... TEMPLATE
template0, owned by and used as the role `townhall`, not the superuser),
then stops and removes the cluster, and exits with COMMAND's status. For
example, from a build directory's source tree:

    TH_SRC=$PWD TH_BUILD=/tmp/th-x tests/pg/with_cluster.py tests/suites/10-unit.sh

Suite 96-postgresql-domain runs the unit and API suites this way.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cluster import Cluster, ClusterError  # noqa: E402


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    # A short directory: the socket's path is limited to about 100 bytes.
    path = tempfile.mkdtemp(prefix="th-pg-", dir="/tmp")
    os.rmdir(path)
    try:
        pg = Cluster(path).start()
    except ClusterError as e:
        print("Bail out! cannot start a PostgreSQL cluster: %s" % e,
              flush=True)
        return 1
    try:
        env = dict(os.environ, TH_TEST_ENGINE="postgresql",
                   TH_TEST_PG=pg.admin_uri, TH_TEST_PG_ROLE="townhall")
        return subprocess.call(argv, env=env)
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
