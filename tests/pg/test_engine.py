"""The PostgreSQL engine's own behaviours (core/store/pgq.c) that the domain
suites run on PostgreSQL do not reach: a server that goes away and comes
back, a batch whose connection was lost, th_backup's refusal, a message
naming the database without the URI's password. Through the
Python binding against the freshly built library, on a cluster of its own.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

import pgenv  # noqa: E402,F401  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall, TownhallError  # noqa: E402

SITE = "camden"


class Engine(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-engine-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        name = self.id().rsplit(".", 1)[-1].lower()[:40]
        self.uri = self.pg.createdb(name)
        self.key = os.path.join(self.tmp, name + ".key")
        self.th = Townhall(self.uri, key_file=self.key)
        self.th.create_site(SITE, "London Borough of Camden")
        self.idea = self.th.submit_idea(SITE, "author",
                                        "More benches").id

    def tearDown(self):
        self.th.close()

    def pg_ctl(self, *args):
        # -l: a server it starts writes to its log, not to this process's
        # pipes (which would then never close).
        self.pg.run(["pg_ctl", "-D", self.pg.datadir, "-l", self.pg.logfile,
                     "-w", "-t", "60", *args])

    def votes(self):
        return self.th.get_idea(SITE, self.idea).up

    def until_back(self, seconds=10):
        """Calls until one succeeds: each failure TH_EIO, answered at once
        (never a wait on the server). The number of failures."""
        failures = 0
        deadline = time.monotonic() + seconds
        while True:
            t = time.monotonic()
            try:
                return failures, self.votes()
            except TownhallError as e:
                self.assertEqual(e.name, "TH_EIO", str(e))
                self.assertLess(time.monotonic() - t, 1.0,
                                "a call waited on the lost server")
                failures += 1
            self.assertLess(time.monotonic(), deadline, "never came back")
            time.sleep(0.2)

    def test_a_restarted_server_is_reconnected_to(self):
        self.th.vote(SITE, "r1", self.idea, 1)
        self.pg_ctl("-m", "immediate", "restart")
        _, up = self.until_back()
        self.assertEqual(up, 1, "the vote acknowledged before is there")
        self.th.vote(SITE, "r2", self.idea, 1)
        self.assertEqual(self.votes(), 2)

    def test_a_stopped_server_is_eio_at_once_then_reconnected(self):
        self.pg_ctl("-m", "fast", "stop")
        try:
            for _ in range(5):
                t = time.monotonic()
                with self.assertRaises(TownhallError) as cm:
                    self.th.vote(SITE, "r1", self.idea, 1)
                self.assertEqual(cm.exception.name, "TH_EIO",
                                 str(cm.exception))
                self.assertLess(time.monotonic() - t, 1.0)
                time.sleep(0.3)
        finally:
            self.pg_ctl("start")
        self.until_back()
        self.th.vote(SITE, "r1", self.idea, 1)
        self.assertEqual(self.votes(), 1)

    def test_a_batch_whose_connection_was_lost_commits_nothing(self):
        with self.assertRaises(TownhallError) as cm:
            with self.th.batch():
                self.th.vote(SITE, "r1", self.idea, 1)
                self.pg_ctl("-m", "immediate", "restart")
                # Each write after the loss is refused, and so is the
                # commit: nothing of the batch may look recorded.
                for who in ("r2", "r3"):
                    try:
                        self.th.vote(SITE, who, self.idea, 1)
                    except TownhallError as e:
                        self.assertEqual(e.name, "TH_EIO", str(e))
                    time.sleep(1.1)  # past the once-a-second reset
        self.assertEqual(cm.exception.name, "TH_EIO", str(cm.exception))
        self.until_back()
        self.assertEqual(self.votes(), 0, "a vote of the lost batch was kept")
        self.th.vote(SITE, "r4", self.idea, 1)
        self.assertEqual(self.votes(), 1)

    def test_a_refused_key_rotation_names_the_database_without_password(self):
        # The cluster trusts its socket: a password in the URI is accepted
        # and unused, and must appear in no message.
        canary = "Canary-Pw-9d2e"
        uri = self.uri.replace("postgresql://townhall@",
                               "postgresql://townhall:%s@" % canary, 1)
        self.assertIn(canary, uri)
        first = Townhall(uri, key_file=self.key)
        other = Townhall(uri, key_file=self.key)
        try:
            with self.assertRaises(TownhallError) as cm:
                first.rotate_key(os.path.join(self.tmp, "new.key"))
            self.assertEqual(cm.exception.name, "TH_EBUSY", str(cm.exception))
            self.assertIn("postgresql://townhall@", str(cm.exception))
            self.assertNotIn(canary, str(cm.exception))
        finally:
            other.close()
            first.close()

    def test_backup_is_refused_naming_pg_dump(self):
        dest = os.path.join(self.tmp, "copy.db")
        with self.assertRaises(TownhallError) as cm:
            self.th.backup(dest)
        self.assertEqual(cm.exception.name, "TH_ESTATE", str(cm.exception))
        self.assertIn("pg_dump", str(cm.exception))
        self.assertFalse(os.path.exists(dest))


if __name__ == "__main__":
    unittest.main()
