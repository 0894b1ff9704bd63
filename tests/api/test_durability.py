"""Nothing acknowledged is lost: clients write while the server is killed
(SIGKILL) or stopped (SIGTERM); after a restart every vote and rating that
got a 2xx is there, and the database passes PRAGMA integrity_check."""
import json
import os
import random
import signal
import sqlite3
import threading
import time
import unittest

from harness import ORIGIN, PG, SITE, Server, jwt


class Load:
    """Writers that remember exactly what the server acknowledged."""

    def __init__(self, server, threads=6):
        self.server = server
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.votes = []      # (resident, idea) answered 2xx "recorded"
        self.feedback = []   # (page, user agent) answered 201
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(15)

    def run(self, n):
        rnd = random.Random(n)
        i = 0
        while not self.stop.is_set():
            i += 1
            try:
                if i % 2:
                    resident = f"load-{n}-{i}"
                    idea = rnd.randint(1, 5)
                    r = self.server.request("PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote",
                                            token=jwt(resident), json_body={"value": 1},
                                            timeout=5)
                    if r.status == 201:
                        with self.lock:
                            self.votes.append((resident, idea))
                else:
                    ua = f"load-agent-{n}-{i}"
                    page = f"{ORIGIN}/page-{rnd.randint(1, 20)}"
                    r = self.server.request("POST", f"/v1/sites/{SITE}/feedback",
                                            headers={"User-Agent": ua},
                                            json_body={"page": page, "useful": True,
                                                       "rating": 3}, timeout=5)
                    if r.status == 201:
                        with self.lock:
                            self.feedback.append((page, ua))
            except (OSError, ValueError):
                with self.lock:
                    self.errors += 1
                time.sleep(0.01)


def seed_ideas(server):
    for i in range(5):
        r = server.request("POST", f"/v1/sites/{SITE}/ideas", token=jwt(f"seed-{i}"),
                           json_body={"title": f"Durable idea number {i}"})
        assert r.status == 201, r


def verify(testcase, server, load):
    """Every acknowledged write is in the database, exactly."""
    if not PG:  # SQLite's own check of its file
        db = sqlite3.connect(server.db)
        testcase.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        db.close()
    ups = dict(server.query("SELECT id, up FROM ideas"))
    pages = dict(server.query("SELECT url, yes FROM pages"))
    acked_votes = {}
    for _, idea in load.votes:
        acked_votes[idea] = acked_votes.get(idea, 0) + 1
    for idea, n in acked_votes.items():
        testcase.assertGreaterEqual(ups[idea], n, f"idea {idea} lost votes")
    acked_pages = {}
    for page, _ in load.feedback:
        acked_pages[page] = acked_pages.get(page, 0) + 1
    for page, n in acked_pages.items():
        testcase.assertGreaterEqual(pages.get(page, 0), n, f"{page} lost ratings")
    # And one by one: each acknowledged resident's vote, by their own export.
    sample = random.Random(1).sample(load.votes, min(40, len(load.votes)))
    for resident, idea in sample:
        r = server.request("GET", f"/v1/sites/{SITE}/residents/me", token=jwt(resident))
        board = [c for c in r.json()["consultations"] if c["consultation"] == "ideas"]
        testcase.assertTrue(board and any(v["idea"] == idea for v in board[0]["votes"]),
                            f"{resident}'s acknowledged vote on {idea} is missing")


class Durability(unittest.TestCase):
    def test_sigkill_under_load(self):
        server = Server("--rate-limit", "1000000")
        try:
            seed_ideas(server)
            for round_ in range(3):
                load = Load(server)
                load.start()
                time.sleep(1.0 + round_ * 0.37)
                server.kill()
                load.join()
                self.assertGreater(len(load.votes) + len(load.feedback), 20,
                                   "the load generator wrote something")
                server.start()
                verify(self, server, load)
        finally:
            server.cleanup()

    def test_sigterm_commits_and_exits_zero(self):
        server = Server("--rate-limit", "1000000")
        try:
            seed_ideas(server)
            load = Load(server)
            load.start()
            time.sleep(1.0)
            rc = server.stop(signal.SIGTERM)
            load.join()
            self.assertEqual(rc, 0, "a graceful stop exits 0")
            self.assertIn('"msg":"closed"', server.log_text())
            server.start()
            verify(self, server, load)
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
