"""The HTTP server while PostgreSQL goes away and comes back (issue 15:
"a server that goes away mid-request - a clear error (problem+json 503
with Retry-After over HTTP), never a crash or a hang; the node reconnects
by itself when PostgreSQL is back").

A real `townhall serve` on a database of a throwaway cluster: answers are
recorded; the cluster is stopped; every write is then a 503 problem+json
with Retry-After, answered within seconds, and /readyz says not ready;
the cluster is started again and, without touching the server, writes
are recorded again within seconds and /readyz says ready once its
5-second-old probe has been redone; every answer acknowledged with a
201, before and after, is a row in the database.
"""
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest

from pgenv import BIN  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall  # noqa: E402


class Outage(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-outage-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def pg_ctl(self, *args):
        self.pg.run(["pg_ctl", "-D", self.pg.datadir, "-l", self.pg.logfile,
                     "-w", "-t", "60"] + list(args))

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        h = {"User-Agent": "outage-test/1.0"}
        if body is not None:
            h["Content-Type"] = "application/json"
        started = time.time()
        c.request(method, path, json.dumps(body) if body else None, h)
        r = c.getresponse()
        data = r.read()
        c.close()
        return r, data, time.time() - started

    def answer(self, n):
        return self.request("POST", "/v1/sites/s/feedback", {
            "page": "https://council.example/outage/%d" % n, "useful": True})

    def test_postgresql_away_is_503_and_back_is_recorded(self):
        uri = self.pg.createdb("outage")
        key = os.path.join(self.tmp, "outage.key")
        with Townhall(uri, key_file=key) as db:
            db.create_site("s", "Site")
        p = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--db", uri,
             "--key-file", key, "--log-level", "info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self.port = None
            deadline = time.time() + 30
            while time.time() < deadline and self.port is None:
                line = p.stderr.readline()
                m = re.search(r'"msg":"listening".*"port":(\d+)', line)
                self.port = int(m.group(1)) if m else None
            self.assertIsNotNone(self.port)
            acked = 0
            for n in range(5):
                r, data, _ = self.answer(n)
                self.assertEqual(r.status, 201, data)
                acked += 1

            self.pg_ctl("-m", "fast", "stop")
            for n in range(5, 8):
                r, data, took = self.answer(n)
                self.assertEqual(r.status, 503, data)
                self.assertEqual(r.getheader("Content-Type"),
                                 "application/problem+json")
                self.assertGreaterEqual(int(r.getheader("Retry-After")), 1)
                self.assertLess(took, 12, "answered, not hung")
                self.assertEqual(json.loads(data)["status"], 503)
            r, data, _ = self.request("GET", "/readyz")
            self.assertEqual(r.status, 503, data)
            self.assertIsNone(p.poll(), "the server is still running")

            self.pg_ctl("start")
            deadline = time.time() + 20
            status = None
            n = 100
            while time.time() < deadline and status != 201:
                r, data, _ = self.answer(n)
                status = r.status
                n += 1
                if status != 201:
                    time.sleep(0.5)
            self.assertEqual(status, 201, data)
            acked += 1
            for n in range(200, 205):
                r, data, _ = self.answer(n)
                self.assertEqual(r.status, 201, data)
                acked += 1
            # /readyz answers from a probe up to 5 s old, then probes again.
            deadline = time.time() + 15
            while True:
                r, data, _ = self.request("GET", "/readyz")
                if r.status == 200 or time.time() > deadline:
                    break
                time.sleep(0.5)
            self.assertEqual(r.status, 200, data)
        finally:
            p.terminate()
            p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0)
        self.assertEqual(int(self.pg.psql("SELECT count(*) FROM feedback",
                                          uri=uri)), acked)


if __name__ == "__main__":
    unittest.main()
