"""The test switch itself (issue 15): TH_TEST_ENGINE=postgresql makes the C
unit tests' helpers and the API tests' server fixture put each test
database in a database of its own on the cluster TH_TEST_PG names, made
and opened as the role TH_TEST_PG_ROLE, with the key file in the test's
directory, and leave no database behind.

What the tests then do on that database is the store's business (and
suite 96-postgresql-domain's): these checks read what the switch did in the
server's own log (log_statement = ddl, log_connections), whatever the
store answered, so they hold before, while and after the engine lands.
"""
import os
import re
import subprocess
import sys
import unittest

from pgenv import SRC, BUILD  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402


class Switch(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster(settings={"log_statement": "ddl",
                                   "log_connections": "on"}).start()
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

    def log(self):
        with open(self.pg.logfile, errors="replace") as f:
            return f.read()

    def assertMadeUsedDropped(self, log, dbname):
        """dbname (a regular expression) was made from template0 for the
        role, connected to as the role, and dropped."""
        made = re.search(r'CREATE DATABASE "(%s)" TEMPLATE template0 OWNER '
                         r'"townhall"' % dbname, log)
        self.assertTrue(made, "no CREATE DATABASE %s in the log" % dbname)
        name = made.group(1)
        self.assertRegex(log, r"connection authorized: user=townhall "
                              r"database=%s\b" % re.escape(name))
        self.assertIn('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name, log)
        return name

    def unit(self, name, env=None):
        prog = os.path.join(BUILD, "tests", "unit", name + ".t")
        if not os.access(prog, os.X_OK):
            subprocess.run(["make", "-C", BUILD, "-s",
                            "tests/unit/%s.t" % name], check=True,
                           capture_output=True)
        return subprocess.run([prog], capture_output=True, text=True,
                              env=env or self.env, timeout=300)

    def test_unit_helpers_make_a_database_per_name_and_drop_it(self):
        before = len(self.log())
        r = self.unit("privacy")  # opens salts.db, mem.db and seal.db
        log = self.log()[before:]
        pid = r"th_t\d+_%d_%s"
        self.assertMadeUsedDropped(log, pid % (0, "salts_db"))
        if r.returncode == 0:  # the store got past the first database
            self.assertMadeUsedDropped(log, pid % (1, "mem_db"))
            self.assertMadeUsedDropped(log, pid % (2, "seal_db"))
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
            "    print('SERVED', s.db)\n"
            "    s.cleanup()\n")
        env = dict(self.env, PYTHONPATH=os.path.join(SRC, "tests", "api"))
        env.pop("TH_ARTIFACTS", None)
        before = len(self.log())
        r = subprocess.run([sys.executable, "-c", code], capture_output=True,
                           text=True, env=env, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("TH_EKEY", r.stdout, "the key file was named")
        name = self.assertMadeUsedDropped(self.log()[before:],
                                          r"th_api_\d+_1")
        if r.stdout.startswith("SERVED"):
            self.assertIn("dbname=" + name, r.stdout)
        self.assertEqual(self.databases(), "", "no test database is left")


if __name__ == "__main__":
    unittest.main()
