"""Nothing acknowledged is lost on PostgreSQL when a process dies (issue 15:
"SIGKILL of the node mid-load and of PostgreSQL mid-load (then restarted):
every acknowledged write is there").

A real `townhall serve` on a throwaway cluster takes answers from four
client threads, each on a page of its own (so each acknowledged answer is
a page row to look for). Mid-load the townhall server is killed with
SIGKILL; then, with a new server under the same load, PostgreSQL's
postmaster is killed with SIGKILL and started again. After each, every
answer that was acknowledged with a 201 is in the database.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

from pgenv import BIN  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall  # noqa: E402

PAGE = "https://council.example/kill/%s"


class Load:
    """Client threads posting one answer per new page until stopped;
    `acked` holds the pages whose answer got a 201."""

    def __init__(self, port, tag, threads=4):
        self.port, self.tag = port, tag
        self.acked, self.lock = [], threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(i,))
                        for i in range(threads)]
        for t in self.threads:
            t.start()

    def run(self, i):
        n = 0
        while not self.stop.is_set():
            page = PAGE % ("%s-%d-%d" % (self.tag, i, n))
            n += 1
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port,
                                               timeout=10)
                c.request("POST", "/v1/sites/s/feedback",
                          json.dumps({"page": page, "useful": True}),
                          {"Content-Type": "application/json",
                           "User-Agent": "kill-test/%d" % i})
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 201:
                    with self.lock:
                        self.acked.append(page)
            except OSError:
                time.sleep(0.05)  # the server is gone: keep trying

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        return list(self.acked)


class Kill(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-kill-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def serve(self, uri, key):
        p = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--db", uri,
             "--key-file", key, "--log-level", "info"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 30
        while time.time() < deadline:
            m = re.search(r'"msg":"listening".*"port":(\d+)',
                          p.stderr.readline())
            if m:
                # Its log is not read any more: let it go nowhere.
                threading.Thread(target=p.stderr.read, daemon=True).start()
                return p, int(m.group(1))
        p.kill()
        self.fail("the server did not start")

    def missing(self, uri, acked):
        stored = set(self.pg.psql("SELECT url FROM pages", uri=uri).split())
        return [a for a in acked if a not in stored]

    def test_every_acknowledged_answer_survives_sigkill(self):
        uri = self.pg.createdb("killed")
        key = os.path.join(self.tmp, "killed.key")
        with Townhall(uri, key_file=key) as db:
            db.create_site("s", "Site")

        # The node, mid-load.
        p, port = self.serve(uri, key)
        load = Load(port, "node")
        time.sleep(2)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        acked = load.finish()
        self.assertGreater(len(acked), 20, "the load was running")
        self.assertEqual(self.missing(uri, acked), [])

        # PostgreSQL, mid-load, then started again.
        p, port = self.serve(uri, key)
        load = Load(port, "postgres")
        try:
            time.sleep(2)
            os.kill(self.pg.postmaster_pid(), signal.SIGKILL)
            time.sleep(1)
            # The postmaster's children go with it; start the cluster again.
            deadline = time.time() + 30
            while True:
                r = self.pg.run(["pg_ctl", "-D", self.pg.datadir, "-l",
                                 self.pg.logfile, "-w", "-t", "60", "start"],
                                check=False)
                if r.returncode == 0 or time.time() > deadline:
                    break
                time.sleep(1)
            self.assertEqual(r.returncode, 0, r.stderr)
            time.sleep(3)  # the server reconnects and records again
        finally:
            acked = load.finish()
            p.terminate()
            p.wait(timeout=30)
        self.assertGreater(len(acked), 20, "the load was running")
        self.assertEqual(self.missing(uri, acked), [])


if __name__ == "__main__":
    unittest.main()
