"""The test switch itself (issue 15): TH_TEST_ENGINE=postgresql makes the C
unit tests' helpers and the API tests' server fixture put each test
database in a database of its own on the cluster TH_TEST_PG names, as the
role TH_TEST_PG_ROLE, with the key file in the test's directory, and leave
no database behind.

What the tests then do on that database is the store's business: until the
PostgreSQL store can keep townhall's data, th_open refuses the (empty,
identified) database with TH_ESTATE, and these tests accept exactly that
refusal or a pass; tests/pg/domain-suite.sh is the run that must pass.
"""
import os
import re
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("TH_SRC") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
sys.path.insert(0, HERE)
from cluster import Cluster  # noqa: E402

NOT_YET = "cannot keep its data on PostgreSQL yet"


class Switch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.env = dict(os.environ, TH_TEST_ENGINE="postgresql",
                       TH_TEST_PG=cls.pg.admin_uri, TH_TEST_PG_ROLE="townhall",
                       TOP_SRCDIR=SRC, TOP_BUILDDIR=BUILD)
        cls.env.pop("TH_KEEP", None)

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def databases(self):
        return self.pg.psql("SELECT string_agg(datname, ',' ORDER BY datname)"
                            " FROM pg_database WHERE datname LIKE 'th\\_%'",
                            uri=self.pg.admin_uri)

    def unit(self, name, env=None):
        prog = os.path.join(BUILD, "tests", "unit", name + ".t")
        if not os.access(prog, os.X_OK):
            subprocess.run(["make", "-C", BUILD, "-s",
                            "tests/unit/%s.t" % name], check=True,
                           capture_output=True)
        return subprocess.run([prog], capture_output=True, text=True,
                              env=env or self.env, timeout=300)

    def test_unit_helpers_make_a_database_per_name_and_drop_it(self):
        r = self.unit("server")
        out = r.stdout
        if r.returncode == 0:
            self.assertNotIn("not ok", out)
            self.assertRegex(out, r"(?m)^1\.\.[1-9]")
        else:
            # The helper's URI reached the store, which connected as the
            # role to the database made for "server.db" and found it empty.
            self.assertIn("Bail out! cannot open a test database", out)
            self.assertIn(NOT_YET, out)
            self.assertRegex(out, r"postgresql://townhall@/th_t\d+_0_server_db"
                                  r"\?host=" + re.escape(self.pg.path))
        self.assertEqual(self.databases(), "", "no test database is left")

    def test_unit_helpers_refuse_an_unknown_engine_or_no_cluster(self):
        r = self.unit("server", dict(self.env, TH_TEST_ENGINE="mysql"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("Bail out! TH_TEST_ENGINE is sqlite", r.stdout)
        env = dict(self.env)
        del env["TH_TEST_PG"]
        r = self.unit("server", env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("needs TH_TEST_PG", r.stdout)

    def test_a_sqlite_only_program_reports_nothing_on_postgresql(self):
        r = self.unit("bytes")
        self.assertEqual(r.returncode, 0, r.stdout)
        self.assertRegex(r.stdout, r"^1\.\.0 # SKIP SQLite only: ")
        self.assertEqual(self.databases(), "")

    def test_api_fixture_serves_a_database_of_its_own(self):
        code = (
            "import harness\n"
            "assert harness.PG\n"
            "try:\n"
            "    s = harness.Server()\n"
            "except RuntimeError as e:\n"
            "    print('REFUSED', e)\n"
            "else:\n"
            "    print('SERVED', s.get('/healthz').status, s.db)\n"
            "    s.cleanup()\n")
        env = dict(self.env, PYTHONPATH=os.path.join(SRC, "tests", "api"))
        env.pop("TH_ARTIFACTS", None)
        r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        if r.stdout.startswith("SERVED"):
            self.assertRegex(r.stdout, r"^SERVED 200 postgresql://\?")
            self.assertEqual(self.databases(), "", "cleanup() drops it")
        else:
            # `townhall site add --db URI` with $TOWNHALL_KEY_FILE reached
            # the store, as the role, on the fixture's own database.
            self.assertIn(NOT_YET, r.stdout)
            self.assertRegex(r.stdout, r"postgresql://townhall@/th_api_\d+_1"
                                       r"\?host=" + re.escape(self.pg.path))
            self.assertNotIn("TH_EKEY", r.stdout)
            self.assertEqual(self.databases(), "", "a failed start drops it")


if __name__ == "__main__":
    unittest.main()
