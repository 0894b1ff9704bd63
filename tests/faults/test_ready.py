"""Liveness and readiness (issue 12): on a full disk, where every write
fails, /readyz (and /healthz, its old name) turn 503 and name the failing
check while /livez stays 200; once there is room again, ready again."""
import json
import random
import time
import unittest

from faultlib import Acks, Client, Server, SmallFs, seed_ideas, write_once


def doc(body):
    try:
        return json.loads(body)
    except ValueError:
        return {}


class Readiness(unittest.TestCase):
    def test_full_disk_is_not_ready_but_live(self):
        fs = SmallFs("6m")
        if not fs.mounted:
            self.fail("cannot mount a tmpfs to fill (this test needs root, "
                      "as CI has): " + fs.error)
        server = None
        try:
            server = Server("--rate-limit", "1000000", directory=fs.dir)
            c = Client(server)
            st, _, body = c.request("GET", "/readyz")
            self.assertEqual(st, 200, body)
            d = doc(body)
            self.assertEqual(d["status"], "ok")
            self.assertEqual(d["failing"], [])
            self.assertTrue(d["checks"]["write"]["ok"], d)
            ideas = seed_ideas(server, 10, "ready")

            fs.fill()
            # Writes go on for a while on a full disk (the WAL reuses its
            # room); drive them until one is refused, as residents would,
            # and ask for readiness in between: at most one probe every
            # five seconds reaches the writer.
            rnd, acks = random.Random(5), Acks()
            ready, live, k = None, [], 0
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                for _ in range(20):
                    kind = ("vote", "feedback", "idea")[k % 3]
                    write_once(c, kind, "ready-full", k, k, ideas, rnd, acks)
                    k += 1
                st, h, body = c.request("GET", "/readyz")
                live.append(c.request("GET", "/livez")[0])
                if st == 503:
                    ready = (st, h, doc(body))
                    break
                time.sleep(0.2)
            self.assertIsNotNone(ready, "/readyz turned 503 on a full disk")
            st, h, d = ready
            print(f"# not ready after {k} writes: {d}")
            self.assertEqual(d["status"], "unavailable")
            self.assertIn("write", d["failing"], "the failing check is named")
            self.assertFalse(d["checks"]["write"]["ok"])
            self.assertIn("full", d["checks"]["write"]["detail"].lower(), d)
            self.assertTrue(d["checks"]["database"]["ok"], d)
            self.assertTrue(h.get("retry-after", "").isdigit())
            self.assertEqual(set(live), {200}, "live all along")
            st, _, body = c.request("GET", "/healthz")
            self.assertEqual(st, 503, "/healthz means readiness: " + str(body))
            self.assertEqual(c.request("GET", "/livez")[0], 200)

            fs.unfill()
            back = False
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                st, _, body = c.request("GET", "/readyz")
                if st == 200:
                    back = True
                    break
                time.sleep(0.5)
            self.assertTrue(back, "ready again once there is room: " + str(body))
            c.close()
            self.assertEqual(server.stop(), 0)
        finally:
            try:
                fs.unfill()
                if server and server.proc:
                    server.stop()
                fs.keep("ready")
            finally:
                fs.close()


if __name__ == "__main__":
    unittest.main()
