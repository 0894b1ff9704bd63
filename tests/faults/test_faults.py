"""Faults: a full disk, a database locked by another process, a bad key file,
SIGTERM under load, and 50 SIGKILLs at random moments. In every case
nothing the server acknowledged is lost, and it serves again once the
fault is gone."""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from faultlib import (SITE, Acks, Client, Load, Server, SmallFs, integrity, jwt,
                      seed_ideas, verify, write_once)
from harness import BIN, run


def problem(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


class DiskFull(unittest.TestCase):
    def test_disk_full_answers_503_keeps_acknowledged_and_recovers(self):
        fs = SmallFs("6m")
        if not fs.mounted:
            self.fail("cannot mount a tmpfs to fill (this test needs root, "
                      "as CI has): " + fs.error)
        server = None
        try:
            server = Server("--rate-limit", "1000000", directory=fs.dir)
            ideas = seed_ideas(server, 30, "full")
            load = Load(server, "full-before", ideas).start()
            time.sleep(0.5)
            load.join()
            acks = load.acks
            self.assertGreater(acks.count(), 20)

            left = fs.fill()
            self.assertLess(left, 8, "the file system is full")
            c = Client(server)
            full, rnd = None, random.Random(3)
            # Writes may go on for a while: the WAL reuses the space it
            # already has. Each comes from a resident or device of its own
            # (k), so that no write changes an earlier one.
            for k in range(3000):
                kind = ("vote", "feedback", "idea")[k % 3]
                st = write_once(c, kind, "full-during", k, k // 3 if kind == "vote" else k,
                                ideas, rnd, acks)
                if st == 503:
                    # The answer that said so, again, to read it.
                    full = k
                    break
            self.assertIsNotNone(full, "a write on a full disk was answered 503")
            # The answer that said so, again, to read it. A full disk is
            # not a steady state (a checkpoint or a rolled-back batch may
            # free a page or two), so a probe that still got in counts as
            # acknowledged and the next one tries again.
            for i in range(50):
                probe = f"full-probe-{i}"
                st, h, body = c.request("PUT", f"/v1/sites/{SITE}/ideas/{ideas[-1]}/vote",
                                        {"value": 1}, {"Authorization": "Bearer " +
                                                       jwt(probe)})
                if st != 201:
                    break
                with acks.lock:
                    acks.votes.append((probe, ideas[-1], 1))
            p = problem(body)
            print(f"# on a full disk: {st} {p} Retry-After: {h.get('retry-after')}")
            self.assertEqual(st, 503, body)
            self.assertEqual(p.get("type"), "urn:townhall:problem:full", p)
            self.assertEqual(p.get("title"), "disk full", p)
            self.assertIn("full", p.get("detail", ""), "the detail says why")
            self.assertTrue(h.get("retry-after", "").isdigit(), "Retry-After")
            acks.refused.append(("vote", (probe, ideas[-1], 1)))
            st, _, _ = c.request("GET", f"/v1/sites/{SITE}/ideas?sort=new")
            self.assertEqual(st, 200, "reads are still served")
            self.assertIn('"error":"TH_EFULL"', server.log_text(),
                          "the log says the disk is full")

            fs.unfill()
            ok = False
            seen = []
            for k in range(200):
                st = write_once(c, "feedback", "full-after", 0, k, ideas,
                                rnd, acks)
                seen.append(st)
                if st == 201:
                    ok = True
                    break
                time.sleep(0.05)
            self.assertTrue(ok, "writes are accepted again once space returns "
                            f"(answers {seen[:5]}...{seen[-3:]}, free blocks "
                            f"{os.statvfs(fs.dir).f_bavail}, files "
                            f"{[(n, os.path.getsize(os.path.join(fs.dir, n))) for n in os.listdir(fs.dir)]})")
            load = Load(server, "full-after-load", ideas, seed=2).start()
            time.sleep(0.3)
            load.join()
            acks.extend(load.acks)
            c.close()
            self.assertEqual(server.stop(), 0)
            self.assertEqual(integrity(server.db), "ok")
            server.start()
            self.assertEqual(verify(server, acks, check_refused=True), [],
                             "every acknowledged write is there, and none "
                             "answered 503 is")
            server.stop()
        finally:
            # The tmpfs is unmounted even when stopping the server or keeping
            # its files fails (a failed run can leave the disk full).
            try:
                fs.unfill()
                if server and server.proc:
                    server.stop()
                fs.keep("diskfull")
            finally:
                fs.close()


class Locked(unittest.TestCase):
    def test_locked_database_answers_503_then_recovers(self):
        server = Server("--rate-limit", "1000000")
        holder = None
        try:
            ideas = seed_ideas(server, 4, "locked")
            holder = subprocess.Popen(["sqlite3", server.db], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            holder.stdin.write("BEGIN EXCLUSIVE;\nSELECT 'locked';\n")
            holder.stdin.flush()
            self.assertEqual(holder.stdout.readline().strip(), "locked")
            acks = Acks()
            result = {}

            def blocked_write():
                c = Client(server, timeout=30)
                t0 = time.monotonic()
                result["status"], result["headers"], result["body"] = c.request(
                    "PUT", f"/v1/sites/{SITE}/ideas/{ideas[0]}/vote", {"value": 1},
                    {"Authorization": "Bearer " + jwt("locked-voter")})
                result["seconds"] = time.monotonic() - t0
                c.close()

            t = threading.Thread(target=blocked_write)
            t.start()
            time.sleep(0.5)
            c = Client(server)
            t0 = time.monotonic()
            st, _, _ = c.request("GET", f"/v1/sites/{SITE}/ideas?sort=new")
            read_s = time.monotonic() - t0
            t.join(30)
            self.assertEqual(st, 200)
            self.assertLess(read_s, 1.0, "reads go on while the writer waits")
            self.assertEqual(result.get("status"), 503, result)
            p = problem(result["body"])
            self.assertEqual(p.get("type"), "urn:townhall:problem:busy", p)
            self.assertTrue(result["headers"].get("retry-after", "").isdigit(),
                            "Retry-After tells the client when to come back")
            self.assertGreater(result["seconds"], 4.0,
                               "it waited for the busy timeout (5 s) first")
            acks.refused.append(("vote", ("locked-voter", ideas[0], 1)))

            holder.stdin.write("COMMIT;\n.quit\n")
            holder.stdin.flush()
            holder.wait(10)
            holder = None
            rnd = random.Random(1)
            st = write_once(c, "vote", "locked-after", 0, 1, ideas, rnd, acks)
            self.assertEqual(st, 201, "writes go through once the lock is gone")
            c.close()
            self.assertEqual(verify(server, acks, check_refused=True), [])
        finally:
            if holder:
                holder.kill()
            server.cleanup()


class KeyFile(unittest.TestCase):
    """`townhall serve` refuses to start, with a message naming the key
    file and what is wrong with it, and a non-zero status."""

    def setUp(self):
        # Not under $TH_ARTIFACTS (mode 0700): the unreadable case runs the
        # server as another user, who must reach the database. Nothing
        # here holds a probe.
        self.dir = tempfile.mkdtemp(prefix="townhall-keyfile-")
        os.chmod(self.dir, 0o755)
        self.db = os.path.join(self.dir, "townhall.db")
        self.key = self.db + ".key"
        run("site", "add", "camden", "--name", "Camden", "--generate-secret",
            db=self.db)
        with open(self.key, "rb") as f:
            self.key_bytes = f.read()

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def serve(self, *prefix):
        p = subprocess.Popen([*prefix, BIN, "serve", "--db", self.db, "--listen",
                              "127.0.0.1:0"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            out, err = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            out, err = p.communicate()
            return None, err
        return p.returncode, err

    def check_refused(self, rc, err, *words):
        self.assertIsNotNone(rc, "the server started all the same: " + err[-300:])
        self.assertNotEqual(rc, 0, err)
        self.assertNotIn('"msg":"listening"', err)
        self.assertIn(self.key, err, "the message names the key file")
        for w in words:
            self.assertIn(w, err)

    def test_missing_key_file(self):
        os.unlink(self.key)
        rc, err = self.serve()
        created = os.path.exists(self.key)
        self.check_refused(rc, err)
        self.assertFalse(created, "no new key file is made for an existing "
                                  "database (its pseudonyms and secrets need "
                                  "the old one)")

    def test_unreadable_key_file(self):
        os.chmod(self.key, 0)
        if os.geteuid() == 0:
            # root reads any file: run the server as root without the
            # capabilities that override file permissions (another user
            # could not even reach the binary when the clone is in /root).
            rc, err = self.serve("setpriv",
                                 "--bounding-set=-dac_override,-dac_read_search")
        else:
            rc, err = self.serve()
        self.check_refused(rc, err, "Permission denied")

    def test_key_file_others_may_read(self):
        os.chmod(self.key, 0o644)
        rc, err = self.serve()
        self.check_refused(rc, err, "chmod 600")

    def test_key_file_of_the_wrong_size(self):
        with open(self.key, "wb") as f:
            f.write(self.key_bytes[:16])
        rc, err = self.serve()
        self.check_refused(rc, err, "32")

    def test_key_file_is_a_directory(self):
        os.unlink(self.key)
        os.mkdir(self.key, 0o700)
        rc, err = self.serve()
        self.check_refused(rc, err)

    def test_good_key_file_serves(self):
        """The control: the same set-up with its key file starts."""
        rc, err = self.serve()
        self.assertIsNone(rc, "still serving after 5 s: " + err[-300:])
        self.assertIn('"msg":"listening"', err)


class Signals(unittest.TestCase):
    def test_sigterm_under_load_commits_queued_writes_and_exits_zero(self):
        server = Server("--rate-limit", "1000000")
        try:
            ideas = seed_ideas(server, 60, "term")
            load = Load(server, "term", ideas, threads=12).start()
            time.sleep(1.0)
            load.mark()
            rc = server.stop(signal.SIGTERM)
            load.join()
            self.assertEqual(rc, 0, "a graceful stop exits 0")
            self.assertIn('"msg":"closed"', server.log_text())
            self.assertGreater(load.acks.count(), 50)
            self.assertGreater(load.after_stop, 0,
                               "writes in flight when SIGTERM came were "
                               "committed and answered")
            self.assertEqual(integrity(server.db), "ok")
            server.start()
            self.assertEqual(verify(server, load.acks), [])
        finally:
            server.cleanup()

    def test_50_sigkills_at_random_moments(self):
        server = Server("--rate-limit", "1000000")
        rnd = random.Random(50)
        everything = Acks()
        try:
            ideas = seed_ideas(server, 60, "kill")
            for round_ in range(50):
                load = Load(server, f"kill{round_}", ideas, threads=6,
                            seed=round_).start()
                time.sleep(rnd.uniform(0.05, 0.45))
                server.kill()
                load.join()
                check = integrity(server.db)
                self.assertEqual(check, "ok", f"round {round_}: integrity_check")
                server.start()
                problems = verify(server, load.acks)
                self.assertEqual(problems, [], f"round {round_}: lost writes")
                everything.extend(load.acks)
            self.assertGreater(everything.count(), 1000,
                               "the load wrote plenty")
            self.assertEqual(verify(server, everything), [],
                             "after 50 kills every acknowledged write is there")
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
