"""th_open with a PostgreSQL URI (issue 15, part 1: the connection), through
the Python binding against the freshly built library.

What is built: the URI selects the PostgreSQL store, which connects and
identifies the database before anything writes, then keeps its data there
(an empty database gets townhall's schema). Every refusal leaves the
database and the disk as they were, and no message names the password.
"""
import glob
import os
import shutil
import sys
import tempfile
import unittest

from pgenv import SRC  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall, TownhallError  # noqa: E402

PASSWORD = "right-Pw-4f9e"
CANARY = "Canary-7c1b-pw"


class OpenPostgres(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster(password=PASSWORD).start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-open-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.key = os.path.join(self.tmp, self.id().rsplit(".", 1)[-1] + ".key")

    def refused(self, uri, key_file=True):
        """The error th_open gives for `uri` (it must refuse)."""
        with self.assertRaises(TownhallError) as cm:
            Townhall(uri, key_file=self.key if key_file else None).close()
        err = cm.exception
        for secret in (PASSWORD, CANARY):
            self.assertNotIn(secret, str(err))
        self.assertFalse(os.path.exists(self.key), "a key file was made")
        return err

    def test_a_uri_needs_a_named_key_file(self):
        err = self.refused(self.pg.uri, key_file=False)
        self.assertEqual(err.name, "TH_EKEY", str(err))
        self.assertIn("key file", str(err))
        self.assertFalse(any(f.startswith("postgres") for f in os.listdir(".")))

    def test_a_malformed_uri_is_einval_and_quotes_nothing(self):
        uri = "postgresql://townhall:%s%%zz@/townhall?host=%s" % (
            CANARY, self.pg.path)
        err = self.refused(uri)
        self.assertEqual(err.name, "TH_EINVAL", str(err))
        self.assertIn("not a valid PostgreSQL connection URI", str(err))
        err = self.refused("postgres://townhall@/townhall?bogus_%s=1" % CANARY)
        self.assertEqual(err.name, "TH_EINVAL", str(err))

    def test_a_refused_password_is_eauth_without_the_password(self):
        err = self.refused(self.pg.uri_for(password=CANARY))
        self.assertEqual(err.name, "TH_EAUTH", str(err))
        self.assertIn("postgresql://townhall@/townhall?host=" + self.pg.path,
                      str(err))
        self.assertIn("password authentication failed", str(err))
        with open(self.pg.logfile, errors="replace") as f:
            self.assertNotIn(CANARY, f.read())

    def test_an_unreachable_server_is_eio(self):
        gone = os.path.join(self.tmp, "no-server-here")
        os.makedirs(gone, exist_ok=True)
        err = self.refused("postgresql://townhall:%s@/townhall?host=%s"
                           "&connect_timeout=2" % (CANARY, gone))
        self.assertEqual(err.name, "TH_EIO", str(err))
        self.assertIn("connecting to postgresql://townhall@/townhall?host="
                      + gone, str(err))

    def test_a_missing_database_is_enotfound(self):
        err = self.refused(self.pg.uri_for(database="nosuchdb",
                                           password=PASSWORD))
        self.assertEqual(err.name, "TH_ENOTFOUND", str(err))

    def test_another_applications_database_is_refused_untouched(self):
        uri = self.pg.createdb("otherapp")
        self.pg.psql("CREATE TABLE orders (id int); INSERT INTO orders "
                     "VALUES (1)", uri=uri)
        before = self.pg.psql("SELECT string_agg(relname, ',' ORDER BY relname)"
                              " FROM pg_class WHERE relnamespace = "
                              "'public'::regnamespace", uri=uri)
        err = self.refused(uri)
        self.assertEqual(err.name, "TH_ENOTDB", str(err))
        self.assertIn("not a townhall database", str(err))
        after = self.pg.psql("SELECT string_agg(relname, ',' ORDER BY relname)"
                             " FROM pg_class WHERE relnamespace = "
                             "'public'::regnamespace", uri=uri)
        self.assertEqual(before, after)
        self.assertEqual(self.pg.psql("SELECT count(*) FROM orders", uri=uri),
                         "1")

    def test_a_newer_townhalls_database_is_enewer(self):
        uri = self.pg.createdb("newer")
        self.pg.psql("CREATE TABLE townhall_meta (application text, "
                     "schema_version int); INSERT INTO townhall_meta "
                     "VALUES ('townhall', 9999)", uri=uri)
        err = self.refused(uri)
        self.assertEqual(err.name, "TH_ENEWER", str(err))
        self.assertEqual(self.pg.psql("SELECT schema_version FROM "
                                      "townhall_meta", uri=uri), "9999")

    def test_an_empty_database_gets_the_schema_and_keeps_data(self):
        uri = self.pg.createdb("fresh")
        latest = max(int(os.path.basename(m)[:4]) for m in
                     glob.glob(os.path.join(SRC, "migrations", "0*.sql")))
        th = Townhall(uri, key_file=self.key)
        try:
            self.assertTrue(os.path.exists(self.key), "no key file was made")
        finally:
            th.close()
        self.assertEqual(self.pg.psql("SELECT application || ' ' || "
                                      "schema_version FROM townhall_meta",
                                      uri=uri), "townhall %d" % latest)
        # Opened again: identified as townhall's, nothing to migrate.
        Townhall(uri, key_file=self.key).close()

    def test_multi_host_and_target_session_attrs_are_accepted(self):
        gone = os.path.join(self.tmp, "first-host-down")
        os.makedirs(gone, exist_ok=True)
        uri = ("postgresql://townhall:%s@/townhall?host=%s,%s&port=%d,%d"
               "&target_session_attrs=read-write" % (
                   PASSWORD, gone, self.pg.path, self.pg.port, self.pg.port))
        # Past the first host (down) to the second: connected, identified,
        # given the schema.
        Townhall(uri, key_file=self.key).close()
        Townhall(uri.replace("postgresql://", "postgres://", 1),
                 key_file=self.key).close()


if __name__ == "__main__":
    unittest.main()
