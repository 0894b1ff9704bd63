"""`scripts/dev serve-pg`, the README's command for townhall on PostgreSQL
(issue 15), run as a developer runs it: it makes a local cluster the first
time, serves the demo site from it, stops the cluster (keeping its data)
when the server exits, and serves the same data from it the next time.

The cluster and the key file go to a temporary directory (TH_PG_DIR,
TH_PG_KEY_FILE) instead of var/; the build is this run's (TH_BUILD).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

from pgenv import SRC, BUILD  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402


class DevServePg(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="th-dev-pg-")
        # As root the cluster is the postgres user's: it must get in here.
        os.chmod(self.tmp, 0o711)
        self.pgdir = os.path.join(self.tmp, "pg")
        self.key = os.path.join(self.tmp, "townhall-pg.key")

    def tearDown(self):
        if os.path.exists(os.path.join(self.pgdir, "data",
                                       "postmaster.pid")):
            Cluster.attach(self.pgdir).stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve(self):
        """Starts scripts/dev serve-pg; returns (process, port, lines)."""
        env = dict(os.environ, TH_BUILD=BUILD, TH_PG_DIR=self.pgdir,
                   TH_PG_KEY_FILE=self.key)
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE",
                  "TOWNHALL_DB", "TOWNHALL_KEY_FILE"):
            env.pop(k, None)
        p = subprocess.Popen([os.path.join(SRC, "scripts", "dev"),
                              "serve-pg", "--listen", "127.0.0.1:0"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, env=env, start_new_session=True)
        lines, port = [], None
        deadline = time.time() + 120
        while time.time() < deadline:
            line = p.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r'"msg":"listening".*"port":(\d+)', line)
            if m:
                port = int(m.group(1))
                break
        if port is None:
            p.kill()
            self.fail("scripts/dev serve-pg did not start:\n" +
                      "".join(lines))
        threading.Thread(target=lambda: lines.extend(p.stdout),
                         daemon=True).start()
        return p, port, lines

    def stop(self, p):
        """Ctrl-C, as a developer stops it: SIGINT to its process group."""
        os.killpg(p.pid, signal.SIGINT)
        p.wait(timeout=60)

    def get(self, port, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path),
                                    timeout=10) as r:
            return r.status, json.loads(r.read())

    def post_feedback(self, port):
        req = urllib.request.Request(
            "http://127.0.0.1:%d/v1/sites/demo/feedback" % port,
            # The demo site's origin is the address it listens on.
            data=json.dumps({"page": "http://127.0.0.1:%d/bins" % port,
                             "useful": True, "rating": 4}).encode(),
            headers={"Content-Type": "application/json",
                     "Idempotency-Key": os.urandom(8).hex()},
            method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())

    def feedback_rows(self):
        c = Cluster.attach(self.pgdir)
        return int(c.psql("select count(*) from feedback"))

    def test_serve_stop_serve_again(self):
        p, port, lines = self.serve()
        try:
            status, body = self.get(port, "/v1/sites/demo/ideas?sort=top")
            self.assertEqual(status, 200)
            self.assertTrue(body["items"], body)
            status, body = self.post_feedback(port)
            self.assertEqual(status, 201)
            self.assertTrue(body["recorded"])
            # The answer is in PostgreSQL, not in a SQLite file.
            self.assertEqual(self.feedback_rows(), 1)
            out = "".join(lines)
            self.assertIn("townhall on PostgreSQL: postgresql://", out)
            self.assertIn("moderator token:", out)
        finally:
            self.stop(p)
        # The server is gone, the cluster stopped with it, its data kept;
        # the key file is the owner's alone.
        self.assertFalse(os.path.exists(os.path.join(
            self.pgdir, "data", "postmaster.pid")), "".join(lines))
        self.assertTrue(os.path.isdir(os.path.join(self.pgdir, "data")))
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        self.assertFalse(any(f.endswith(".db") for f in os.listdir(self.tmp)))

        # The next run starts the same cluster and serves the same data.
        p, port, lines = self.serve()
        try:
            self.assertEqual(self.feedback_rows(), 1)
            status, body = self.get(port, "/v1/sites/demo/ideas?sort=top")
            self.assertEqual(status, 200)
            self.assertEqual(self.post_feedback(port)[0], 201)
            self.assertEqual(self.feedback_rows(), 2)
        finally:
            self.stop(p)
        self.assertFalse(os.path.exists(os.path.join(
            self.pgdir, "data", "postmaster.pid")), "".join(lines))


if __name__ == "__main__":
    unittest.main()
