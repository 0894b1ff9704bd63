"""Opening and closing, batches, the clock, threads, and open failures."""
import datetime as dt
import os
import shutil
import sqlite3
import tempfile
import threading
import unittest

import townhall
from townhall import Townhall

from support import SITE, TownhallTestCase


class OpenTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="townhall-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.path = os.path.join(self.dir, "t.db")

    def test_context_manager_creates_database_and_key(self):
        with Townhall(self.path) as th:
            self.assertFalse(th.closed)
            self.assertGreater(th.schema_version, 0)
        self.assertTrue(th.closed)
        self.assertTrue(os.path.exists(self.path))
        key = self.path + ".key"
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        self.assertEqual(os.path.getsize(key), 32)

    def test_closed_handle_raises(self):
        th = Townhall(self.path)
        th.close()
        th.close()  # idempotent
        with self.assertRaises(townhall.HandleClosed) as cm:
            th.sites()
        self.assertIsInstance(cm.exception, townhall.InvalidState)
        self.assertIn("closed", repr(th))

    def test_nocreate(self):
        with self.assertRaises(townhall.NotFound) as cm:
            Townhall(self.path, create=False)
        self.assertIn(self.path, cm.exception.message)
        self.assertFalse(os.path.exists(self.path))

    def test_not_a_database(self):
        with open(self.path, "w") as f:
            f.write("minutes of the planning committee\n" * 200)
        with self.assertRaises(townhall.NotADatabase) as cm:
            Townhall(self.path)
        self.assertEqual(cm.exception.code, -12)

    def test_newer_database_is_not_touched(self):
        Townhall(self.path).close()
        c = sqlite3.connect(self.path)
        c.execute("PRAGMA user_version = 999")
        c.commit()
        c.close()
        with self.assertRaises(townhall.NewerDatabase) as cm:
            Townhall(self.path)
        self.assertIn("999", cm.exception.message)

    def test_unsafe_key_file(self):
        Townhall(self.path).close()
        os.chmod(self.path + ".key", 0o644)
        with self.assertRaises(townhall.KeyFileError):
            Townhall(self.path)

    def test_separate_key_file(self):
        key = os.path.join(self.dir, "secret.key")
        with Townhall(self.path, key_file=key) as th:
            th.create_site("a", "A")
        self.assertTrue(os.path.exists(key))
        self.assertFalse(os.path.exists(self.path + ".key"))

    def test_readonly(self):
        Townhall(self.path).close()
        with Townhall(self.path, readonly=True) as th:
            self.assertEqual(th.sites(), [])
            with self.assertRaises(townhall.ReadOnly):
                th.create_site("a", "A")

    def test_bad_synchronous(self):
        with self.assertRaises(townhall.InvalidArgument):
            Townhall(self.path, synchronous="sometimes")

    def test_clock(self):
        at = dt.datetime(2030, 5, 1, 12, 0, tzinfo=dt.timezone.utc)
        with Townhall(self.path, clock=lambda: at) as th:
            self.assertEqual(th.now(), int(at.timestamp() * 1000))
            site = th.create_site("a", "A")
            self.assertEqual(townhall.to_datetime(site.created), at)


class BackupTest(TownhallTestCase):
    def test_backup_is_a_working_copy(self):
        idea = self.th.submit_idea(SITE, "r1", "Kept in the backup")
        dest = os.path.join(self.dir, "copy.db")
        self.th.backup(dest)
        shutil.copy(self.path + ".key", dest + ".key")
        with Townhall(dest, readonly=True) as copy:
            self.assertEqual(copy.get_idea(SITE, idea.id).title,
                             "Kept in the backup")
        self.assertRaisesCode(townhall.AlreadyExists, "TH_EEXIST",
                              self.th.backup, dest)


class KeyRotationTest(TownhallTestCase):
    def test_rotate_key(self):
        secret = bytes(range(40))
        self.th.set_site_secret(SITE, secret)
        self.th.vote(SITE, "r1", self.th.submit_idea(SITE, "author", "Benches").id, 1)
        token = self.th.create_token("admin", "ops").token
        new_key = os.path.join(self.dir, "new.key")
        with Townhall(self.path):  # another handle: the database is in use
            self.assertRaisesCode(townhall.Busy, "TH_EBUSY", self.th.rotate_key,
                                  new_key)
        self.assertFalse(os.path.exists(new_key))
        self.assertRaisesCode(townhall.AlreadyExists, "TH_EEXIST",
                              self.th.rotate_key, self.path + ".key")
        backup = os.path.join(self.dir, "before.db")
        r = self.th.rotate_key(new_key, backup=backup, actor="ops desk")
        self.assertEqual(r, townhall.KeyRotation(site_secrets=1, consultation_keys=1,
                                                 tokens_revoked=1))
        self.assertEqual(os.stat(new_key).st_mode & 0o777, 0o600)
        self.assertEqual(self.th.get_site_secret(SITE), secret)
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.check_token, token)
        self.th.close()
        with Townhall(self.path, key_file=new_key) as th:
            self.assertEqual(th.get_site_secret(SITE), secret)
        with Townhall(self.path) as th:  # the old key file
            self.assertRaisesCode(townhall.KeyFileError, "TH_EKEY",
                                  th.get_site_secret, SITE)
        with Townhall(backup, key_file=self.path + ".key", readonly=True) as th:
            self.assertEqual(th.check_token(token).label, "ops")


class HeaderTest(unittest.TestCase):
    def test_every_function_of_the_header_is_bound(self):
        # Every function core/townhall.h exports has a prototype here,
        # except the HTTP server's (run it with `townhall serve`).
        import re
        from townhall import _lib
        header = os.path.join(os.path.dirname(__file__), "..", "..", "..",
                              "core", "townhall.h")
        if not os.path.exists(header):
            self.skipTest("not in a townhall source tree")
        with open(header) as f:
            names = re.findall(r"TH_EXTERN[^;(]*?\b(th_[a-z0-9_]+)\(", f.read())
        self.assertGreater(len(names), 50)
        missing = [n for n in names
                   if n not in _lib.PROTOTYPES and not n.startswith("th_server_")]
        self.assertEqual(missing, [])


class BatchTest(TownhallTestCase):
    def test_commit(self):
        with self.th.batch():
            ids = [self.th.submit_idea(SITE, f"r{i}", f"Idea number {i}").id
                   for i in range(10)]
        self.assertEqual(len(set(ids)), 10)
        self.assertEqual(len(self.th.list_ideas(SITE, limit=100)), 10)

    def test_rollback_on_exception(self):
        with self.assertRaises(RuntimeError):
            with self.th.batch():
                self.th.submit_idea(SITE, "r1", "An idea never kept")
                raise RuntimeError("stop")
        self.assertEqual(len(self.th.list_ideas(SITE)), 0)

    def test_nested_batch_is_refused(self):
        with self.th.batch():
            with self.assertRaises(townhall.InvalidState):
                with self.th.batch():
                    pass


class ThreadTest(TownhallTestCase):
    def test_one_handle_many_threads(self):
        idea = self.th.submit_idea(SITE, "author", "Shared between threads")
        errors = []

        def voter(k):
            try:
                for i in range(25):
                    self.th.vote(SITE, f"resident-{k}-{i}", idea.id,
                                 1 if i % 5 else -1)
            except Exception as e:  # pragma: no cover
                errors.append(e)

        threads = [threading.Thread(target=voter, args=(k,))
                   for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        got = self.th.get_idea(SITE, idea.id)
        self.assertEqual((got.up, got.down), (80, 20))


if __name__ == "__main__":
    unittest.main()
