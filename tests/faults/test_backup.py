"""Backups and recovery: `townhall backup DEST` takes a consistent copy of a
database while the server keeps committing writes; restoring it (stop,
replace the database, start) gives a server that passes integrity_check
and still holds every write acknowledged before the backup began;
`townhall migrate` takes a backup before it changes a schema, and changes
nothing if it cannot."""
import os
import secrets
import shutil
import sqlite3
import subprocess
import tempfile
import time
import unittest

from faultlib import (HERE, Acks, Load, Server, SmallFs, integrity,
                      seed_ideas, verify)
from harness import BIN, SITE, jwt

SRC = os.path.dirname(os.path.dirname(HERE))


def invariants(path):
    """Counters that every committed state keeps equal to the rows they
    count: a copy torn between two transactions would break them."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    bad = []
    try:
        bad += db.execute(
            "SELECT i.id FROM ideas i WHERE i.up + i.anon_up != (SELECT count(*)"
            " FROM votes v WHERE v.idea_id = i.id AND v.value = 1)"
            " OR i.down + i.anon_down != (SELECT count(*) FROM votes v"
            " WHERE v.idea_id = i.id AND v.value = -1)").fetchall()
        bad += db.execute(
            "SELECT p.id FROM pages p WHERE p.yes != (SELECT count(*) FROM"
            " feedback f WHERE f.page_id = p.id AND f.useful = 1) OR p.no !="
            " (SELECT count(*) FROM feedback f WHERE f.page_id = p.id AND"
            " f.useful = 0) OR p.r3 != (SELECT count(*) FROM feedback f WHERE"
            " f.page_id = p.id AND f.rating = 3)").fetchall()
        mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        db.close()
    return bad, mode


def snapshot(acks):
    """What was acknowledged so far (the lists only ever grow)."""
    with acks.lock:
        out = Acks()
        out.votes = list(acks.votes)
        out.feedback = list(acks.feedback)
        out.ideas = list(acks.ideas)
    return out


class Backup(unittest.TestCase):
    def test_online_backup_under_load_and_restore(self):
        server = Server("--rate-limit", "1000000")
        try:
            ideas = seed_ideas(server, 60, "backup")
            load = Load(server, "backup", ideas, threads=6).start()
            backups = []
            for k in range(3):
                time.sleep(0.4)
                before = snapshot(load.acks)
                dest = os.path.join(server.dir, f"backup-{k}.db")
                t0 = time.monotonic()
                r = subprocess.run([BIN, "backup", dest, "--db", server.db],
                                   capture_output=True, text=True)
                took = time.monotonic() - t0
                after = snapshot(load.acks)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("key file", r.stdout,
                              "it reminds that the key file is backed up apart")
                backups.append((dest, before, after, took))
            count_during = load.acks.count()
            time.sleep(0.3)
            load.join()
            self.assertGreater(load.acks.count(), count_during,
                               "the server kept committing after the backups")
            for dest, before, _, took in backups:
                self.assertFalse(os.path.exists(dest + "-wal"),
                                 "a backup is one self-contained file")
                self.assertEqual(integrity(dest), "ok", dest)
                bad, mode = invariants(dest)
                self.assertEqual(bad, [], f"{dest}: counters match their rows")
                self.assertEqual(mode, "delete")
                print(f"# {os.path.basename(dest)}: {before.count()} writes "
                      f"acknowledged before it began; took {took:.2f} s")
            r = subprocess.run([BIN, "backup", backups[0][0], "--db", server.db],
                               capture_output=True, text=True)
            self.assertNotEqual(r.returncode, 0, "an existing backup is not "
                                                 "overwritten")

            # Restore the second backup: stop, replace the database, start.
            dest, before, after, _ = backups[1]
            self.assertEqual(server.stop(), 0)
            for suffix in ("-wal", "-shm"):
                if os.path.exists(server.db + suffix):
                    os.unlink(server.db + suffix)
            shutil.copy2(dest, server.db)
            server.start()
            self.assertEqual(server.get("/healthz").status, 200)
            self.assertEqual(verify(server, before), [],
                             "the restored database holds every write "
                             "acknowledged before the backup began")
            later = Acks()
            later.votes = load.acks.votes[len(after.votes):]
            later.feedback = load.acks.feedback[len(after.feedback):]
            later.ideas = load.acks.ideas[len(after.ideas):]
            self.assertGreater(later.count(), 0)
            self.assertEqual(len(verify(server, later)), later.count(),
                             "and none of those acknowledged after it ended "
                             "(the control: the check can tell)")
            self.assertEqual(server.stop(), 0)
            self.assertEqual(integrity(server.db), "ok")
        finally:
            server.cleanup()


def old_database(directory, version=4):
    """A database of schema `version`, made from the migrations themselves,
    with a site in it, and its key file."""
    path = os.path.join(directory, "old.db")
    db = sqlite3.connect(path)
    names = sorted(n for n in os.listdir(os.path.join(SRC, "migrations"))
                   if n.endswith(".sql"))
    for n in names[:version]:
        with open(os.path.join(SRC, "migrations", n)) as f:
            db.executescript("BEGIN;" + f.read() + "COMMIT;")
    db.execute(f"PRAGMA user_version={version}")
    db.execute("PRAGMA application_id=1414021452")  # 'THAL'
    db.execute("INSERT INTO sites (slug, name, created) VALUES"
               " ('oldtown', 'Old Town Council', 1767225600000)")
    db.commit()
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    fd = os.open(path + ".key", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, secrets.token_bytes(32))
    os.close(fd)
    return path


def user_version(path):
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


class Migrate(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="townhall-migrate-",
                                    dir=os.environ.get("TH_ARTIFACTS"))

    def tearDown(self):
        if not os.environ.get("TH_ARTIFACTS"):
            shutil.rmtree(self.dir, ignore_errors=True)

    def test_migrate_backs_up_first(self):
        path = old_database(self.dir)
        latest = len([n for n in os.listdir(os.path.join(SRC, "migrations"))
                      if n.endswith(".sql")])
        self.assertLess(user_version(path), latest)
        # Nothing else migrates behind the operator's back (and without a
        # backup): serve and the other commands refuse, and say what to run.
        for args in (["serve", "--listen", "127.0.0.1:0"], ["site", "list"],
                     ["purge"]):
            r = subprocess.run([BIN, *args, "--db", path], capture_output=True,
                               text=True, timeout=30)
            self.assertNotEqual(r.returncode, 0, args)
            self.assertIn("townhall migrate", r.stderr, args)
            self.assertEqual(user_version(path), 4, f"{args} left the schema alone")
        r = subprocess.run([BIN, "migrate", "--db", path], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        saved = [n for n in os.listdir(self.dir) if ".pre-migrate-4-" in n]
        self.assertEqual(len(saved), 1, os.listdir(self.dir))
        backup = os.path.join(self.dir, saved[0])
        self.assertIn(backup, r.stdout, "it says where the backup is")
        self.assertEqual(user_version(backup), 4, "the backup is the old schema")
        self.assertEqual(integrity(backup), "ok")
        self.assertEqual(user_version(path), latest, "the database is migrated")
        self.assertEqual(integrity(path), "ok")
        sites = subprocess.run([BIN, "site", "list", "--db", path],
                               capture_output=True, text=True).stdout
        self.assertIn("oldtown", sites, "and keeps its data")
        r = subprocess.run([BIN, "migrate", "--db", path], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len([n for n in os.listdir(self.dir) if "pre-migrate" in n]),
                         1, "no backup when there is nothing to migrate")

    def test_migrate_without_room_for_the_backup_changes_nothing(self):
        fs = SmallFs("2m")
        if not fs.mounted:
            self.fail("cannot mount a tmpfs to fill (needs root): " + fs.error)
        try:
            path = old_database(fs.dir)
            # Another reader keeps the WAL index open, so that opening the
            # database needs no new space and the backup is what fails.
            reader = sqlite3.connect(path)
            reader.execute("SELECT count(*) FROM sites").fetchone()
            fs.fill()
            r = subprocess.run([BIN, "migrate", "--db", path],
                               capture_output=True, text=True)
            reader.close()
            self.assertNotEqual(r.returncode, 0, "no backup, no migration")
            self.assertIn("taking the backup before migrating", r.stderr)
            self.assertIn("TH_EFULL", r.stderr)
            fs.unfill()
            self.assertEqual(user_version(path), 4, "the schema is untouched")
            self.assertEqual(integrity(path), "ok")
            self.assertEqual([n for n in os.listdir(fs.dir)
                              if "pre-migrate" in n], [], "no half backup left")
        finally:
            fs.unfill()
            fs.close()



class KeyRotation(unittest.TestCase):
    """`townhall key rotate`: refused while the server runs; after it, with
    the new key file installed, residents are recognised as before, resident
    tokens signed with the site's secret still verify, and the old staff
    tokens do not."""

    def rotate(self, server, new_key):
        return subprocess.run([BIN, "key", "rotate", new_key, "--db", server.db],
                              capture_output=True, text=True, timeout=60)

    def test_rotate_with_the_server_stopped(self):
        s = Server()
        self.addCleanup(s.cleanup)
        idea = seed_ideas(s, 1, tag="rotate")[0]
        vote = f"/v1/sites/{SITE}/ideas/{idea}/vote"
        r = s.request("PUT", vote, token=jwt("rotate-voter"), json_body={"value": 1})
        self.assertEqual(r.status, 201, r)
        audit = f"/v1/sites/{SITE}/audit"
        self.assertEqual(s.get(audit, token=s.tokens["admin"]).status, 200)

        new_key = os.path.join(s.dir, "new.key")
        r = self.rotate(s, new_key)
        self.assertEqual(r.returncode, 1, "refused while the server is running")
        self.assertIn("is the server running?", r.stderr)
        self.assertIn("TH_EBUSY", r.stderr)
        self.assertFalse(os.path.exists(new_key), "no new key file")
        self.assertEqual([n for n in os.listdir(s.dir) if "pre-rotate" in n], [],
                         "no backup")
        r = s.request("PUT", vote, token=jwt("rotate-voter-2"), json_body={"value": 1})
        self.assertEqual(r.status, 201, "the server went on serving")

        self.assertEqual(s.stop(), 0)
        with open(s.db + ".key", "rb") as f:
            old_key = f.read()
        r = self.rotate(s, new_key)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("revoked 3 staff tokens", r.stdout)
        saved = [n for n in os.listdir(s.dir) if ".pre-rotate-" in n]
        self.assertEqual(len(saved), 1, os.listdir(s.dir))
        self.assertIn(saved[0], r.stdout, "it says where the backup is")
        self.assertEqual(integrity(os.path.join(s.dir, saved[0])), "ok")
        self.assertEqual(os.stat(new_key).st_mode & 0o777, 0o600)
        with open(new_key, "rb") as f:
            self.assertNotEqual(f.read(), old_key)

        os.replace(new_key, s.db + ".key")  # installed as docs/operations.md says
        s.start()
        r = s.request("PUT", vote, token=jwt("rotate-voter"), json_body={"value": 1})
        self.assertEqual((r.status, r.json()["recorded"]), (200, False),
                         "a resident who voted is recognised: same token, same pseudonym")
        r = s.request("PUT", vote, token=jwt("rotate-voter-3"), json_body={"value": 1})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["up"], 3, "every vote is still counted")
        self.assertEqual(s.get(audit, token=s.tokens["admin"]).status, 401,
                         "the old staff tokens are revoked")
        out = subprocess.run([BIN, "token", "create", "--site", SITE, "--role",
                              "admin", "--label", "after rotation", "--db", s.db],
                             capture_output=True, text=True).stdout
        token = out.split()[-1]
        entries = s.get(audit, token=token).json()["items"]
        self.assertIn("key:rotate", [e["action"] for e in entries],
                      "a new token works, and the audit log records the rotation")
        self.assertEqual(s.stop(), 0)

        # The old key file back in place: nothing sealed opens.
        with open(s.db + ".key", "wb") as f:
            f.write(old_key)
        s.start()
        r = s.request("PUT", vote, token=jwt("rotate-voter-4"), json_body={"value": 1})
        self.assertEqual((r.status, r.json()["type"]), (500, "urn:townhall:problem:key"),
                         "no vote under the old key: a server error, not the resident's")
        self.assertEqual(s.stop(), 0)
        self.assertIn("the site's secret does not open under the key file", s.log_text(),
                      "and the log says why")


if __name__ == "__main__":
    unittest.main()
