"""Slow HTTP attacks with the real tool, slowhttptest (Debian package
slowhttptest): slowloris (headers that never end), slow body (R-U-Dead-Yet)
and slow read (a client that drains its answers a few bytes a second), each
a short run (-l 20) against a real `townhall serve` with its default
timeouts, while an ordinary client asks for /healthz four times a second on
fresh connections and must be served promptly every time.

Besides that, each run shows the server's own defence working: the
server's open-connection gauge (townhall_connections in /metrics) falls
back to (almost) nothing before the run ends, because the header deadline
(10 s from the first byte), the body I/O timeout (5 s) or the write and
idle timeouts closed the attacker's connections, whatever slowhttptest
still believes about them."""
import csv
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from common import ORIGIN, SITE, Prober, Server  # noqa: F401

TOOL = shutil.which("slowhttptest")
LENGTH = 20  # seconds of each attack (slowhttptest -l)


def open_connections(server):
    """The server's townhall_connections gauge (this request included)."""
    body = server.get("/metrics", timeout=5).body.decode()
    m = re.search(r"^townhall_connections (\d+)$", body, re.M)
    assert m, "no townhall_connections in /metrics"
    return int(m.group(1))


class SlowAttacks(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if TOOL is None:
            raise AssertionError("slowhttptest is not installed (apt-get install slowhttptest)")
        # The defaults are what is under test; only the per-address write
        # rate limit is lifted, since every client here is 127.0.0.1.
        cls.server = Server("--rate-limit", "100000")
        cls.work = tempfile.mkdtemp(prefix="townhall-slow-")

    @classmethod
    def tearDownClass(cls):
        assert cls.server.stop() == 0
        cls.server.cleanup()
        shutil.rmtree(cls.work, ignore_errors=True)

    def attack(self, name, *args):
        """Runs slowhttptest for LENGTH seconds with `args` while probing;
        returns (csv rows, probe summary, gauge samples)."""
        prefix = os.path.join(self.work, name)
        cmd = [TOOL, *args, "-l", str(LENGTH), "-p", "3", "-g", "-o", prefix]
        gauge = []
        stop = threading.Event()

        def sample():
            while not stop.wait(1.0):
                try:
                    gauge.append((time.time(), open_connections(self.server)))
                except (OSError, AssertionError):
                    gauge.append((time.time(), None))
        t0 = time.time()
        sampler = threading.Thread(target=sample, daemon=True)
        with Prober(self.server, every=0.25) as probe:
            sampler.start()
            proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=LENGTH + 60)
            took = time.time() - t0
            # slowhttptest stops as soon as the server has closed all its
            # connections; give the gauge a few more seconds to settle.
            deadline = time.time() + 8
            while time.time() < deadline and not (gauge and gauge[-1][1] is not None
                                                   and gauge[-1][1] <= 5):
                time.sleep(0.5)
        stop.set()
        sampler.join(10)
        out = proc.stdout.decode("utf-8", "replace")
        self.last_output = out
        self.assertEqual(proc.returncode, 0, f"slowhttptest failed:\n{out[-2000:]}")
        with open(prefix + ".csv", newline="") as f:
            rows = [{k.strip(): int(v) for k, v in r.items()} for r in csv.DictReader(f)]
        self.assertGreaterEqual(len(rows), 5, f"slowhttptest ran {len(rows)} s:\n{out[-2000:]}")
        summary = probe.summary()
        summary["attack_s"] = round(took, 1)
        return rows, summary, [(round(t - t0, 1), n) for t, n in gauge]

    def check(self, name, rows, probes, gauge, want_connections):
        peak = max(r["Connected"] for r in rows)
        # The attack really happened: the tool held its connections open.
        self.assertGreaterEqual(peak, want_connections * 0.8,
                                f"{name}: slowhttptest only connected {peak}")
        # slowhttptest's own probe found the service available throughout
        # (its CSV puts 0 in that column when not).
        self.assertTrue(all(r["Service Available"] > 0 for r in rows),
                        f"{name}: slowhttptest saw the service unavailable: {rows}")
        # An ordinary client was served, every time, promptly.
        self.assertGreaterEqual(probes["probes"], int(probes["attack_s"] * 2), f"{name}: {probes}")
        self.assertEqual(probes["failed"], [], f"{name}: ordinary requests failed: {probes}")
        self.assertLess(probes["median_s"], 0.25, f"{name}: {probes}")
        self.assertLess(probes["max_s"], 2.0, f"{name}: {probes}")
        # The server's side: the attacker's connections were many at the
        # peak, and the timeouts closed them before the run ended.
        seen = [n for _, n in gauge if n is not None]
        self.assertTrue(seen, f"{name}: no /metrics sample")
        self.assertGreaterEqual(max(seen), want_connections * 0.5,
                                f"{name}: the server never held the attack's connections: {gauge}")
        self.assertLessEqual(seen[-1], 5, f"{name}: connections still open at the end: {gauge}")

    def test_slowloris(self):
        """Headers trickled every 4 s on 300 connections: the 10 s header
        deadline, counted from the first byte and not extended by the
        trickle, closes every one of them."""
        rows, probes, gauge = self.attack(
            "slowloris", "-H", "-c", "300", "-r", "100", "-i", "4", "-x", "24",
            "-u", f"http://127.0.0.1:{self.server.port}/v1/sites/{SITE}/ideas")
        self.check("slowloris", rows, probes, gauge, 300)
        # The tool stopped early because the server had closed every one.
        self.assertIn("No open connections left", self.last_output, f"slowloris: {rows[-3:]}")

    def test_slow_body(self):
        """POST bodies announced as 8 KiB and sent a few bytes every 10 s
        on 300 connections: the 5 s body I/O timeout closes them."""
        rows, probes, gauge = self.attack(
            "slowbody", "-B", "-c", "300", "-r", "100", "-i", "10", "-x", "10", "-s", "8192",
            "-t", "POST", "-f", "application/x-www-form-urlencoded",
            "-u", f"http://127.0.0.1:{self.server.port}/v1/sites/{SITE}/feedback")
        self.check("slow body", rows, probes, gauge, 300)
        self.assertIn("No open connections left", self.last_output, f"slow body: {rows[-3:]}")

    def test_slow_read(self):
        """Ten pipelined requests for the widget per connection on 100
        connections, read 32 bytes a second through a tiny receive window:
        back-pressure stops the server reading more requests, and the
        write and idle timeouts let go of the connections even though the
        tool still holds its end."""
        rows, probes, gauge = self.attack(
            "slowread", "-X", "-c", "100", "-r", "50", "-k", "10", "-n", "1",
            "-w", "1", "-y", "64", "-z", "32",
            "-u", f"http://127.0.0.1:{self.server.port}/widget.js")
        self.check("slow read", rows, probes, gauge, 100)


if __name__ == "__main__":
    unittest.main()
