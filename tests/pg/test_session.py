"""A PostgreSQL handle's session, whatever the server, the database or
another client do to it (issue 15; the review of the engine, 2026-12-03):

- a write that waits too long for the writer's advisory lock (another
  node's long write, here a psql session holding it) is TH_EBUSY, and the
  handle's next write, once the lock is free, is recorded: the failed
  BEGIN's transaction block is rolled back, not left open and failed;
- a database whose defaults say `bytea_output = escape` and
  `extra_float_digits = 0` reads back the same bytes and figures: the
  session pins what decides how values read back;
- a read-only open of an empty database is TH_ENOTFOUND, names the
  database without its password, and makes nothing (no schema, no key
  file), as a missing file is on SQLite.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

import pgenv  # noqa: E402,F401  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall, TownhallError  # noqa: E402

PASSWORD = "Session-pw-91c3"
WRITER_LOCK = "1414021452, 2"


class Session(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster(password=PASSWORD).start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-session-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def key(self, name):
        return os.path.join(self.tmp, name + ".key")

    def test_a_writer_lock_timeout_leaves_the_handle_usable(self):
        uri = self.pg.createdb("locked")
        with Townhall(uri, key_file=self.key("locked"),
                      busy_timeout_ms=300) as db:
            db.create_site("s", "Site")
            # Another client holds the writer's lock in an open transaction.
            holder = subprocess.Popen(
                ["psql", "-X", "-q", "-d", uri, "-c",
                 "BEGIN; SELECT pg_advisory_xact_lock(%s); SELECT "
                 "pg_sleep(3); COMMIT" % WRITER_LOCK],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                deadline = time.time() + 10
                while time.time() < deadline and self.pg.psql(
                        "SELECT count(*) FROM pg_locks WHERE locktype = "
                        "'advisory' AND granted", uri=uri) == "0":
                    time.sleep(0.05)
                with self.assertRaises(TownhallError) as cm:
                    db.submit_idea("s", "resident-lock-1", "Benches")
                self.assertEqual(cm.exception.name, "TH_EBUSY",
                                 str(cm.exception))
            finally:
                holder.wait(timeout=30)
            # The lock is free: the next write is recorded.
            idea = db.submit_idea("s", "resident-lock-1", "Benches").id
            self.assertEqual(db.vote("s", "resident-lock-2", idea, 1).up, 1)

    def test_the_databases_output_defaults_change_nothing_read(self):
        uri = self.pg.createdb("defaults")
        self.pg.psql("ALTER DATABASE defaults SET bytea_output = 'escape';"
                     " ALTER DATABASE defaults SET extra_float_digits = 0",
                     uri=self.pg.admin_uri)
        secret = bytes(range(40))
        with Townhall(uri, key_file=self.key("defaults")) as db:
            db.create_site("d", "Site")
            db.set_site_secret("d", secret)
            idea = db.submit_idea("d", "resident-def-1", "Trees").id
            for n in range(3):
                db.vote("d", "resident-def-v%d" % n, idea, 1)
            top = db.get_idea("d", idea)
        with Townhall(uri, key_file=self.key("defaults")) as db:
            self.assertEqual(db.get_site_secret("d"), secret)
            self.assertEqual(db.get_idea("d", idea), top)

    def test_a_read_only_open_of_an_empty_database_is_enotfound(self):
        uri = self.pg.createdb("empty")
        for ro in ({"readonly": True}, {"create": False}):
            with self.assertRaises(TownhallError) as cm:
                Townhall(uri, key_file=self.key("empty"), **ro).close()
            err = cm.exception
            self.assertEqual(err.name, "TH_ENOTFOUND", str(err))
            self.assertNotIn(PASSWORD, str(err))
            self.assertIn("postgresql://townhall@/empty", str(err))
        self.assertFalse(os.path.exists(self.key("empty")))
        self.assertEqual(self.pg.psql(
            "SELECT count(*) FROM pg_class WHERE relnamespace = "
            "'public'::regnamespace", uri=uri), "0")


if __name__ == "__main__":
    unittest.main()
