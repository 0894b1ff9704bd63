"""The server's log holds no address, user agent, resident id or e-mail,
whatever the request: successes, every kind of refusal, limits, timeouts,
rate limits, bad tokens - at the most talkative log level, with a client
address that comes through a trusted proxy (as it does in production)."""
import json
import os
import socket
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

from harness import ORIGIN, SITE, Server, jwt, probe  # noqa: E402

IP = "203.0.113.199"
UA = "LogProbe/3.1 (privacy test; like Gecko)"
SUB = "log-probe-resident-5521"
EMAIL = "log.probe.person@example.net"


class Logs(unittest.TestCase):
    def test_no_personal_data_in_logs(self):
        server = Server("--trusted-proxy", "127.0.0.1", "--header-timeout", "600",
                        "--rate-limit", "3", log_level="debug")
        h = {"X-Forwarded-For": IP, "User-Agent": UA}
        auth = dict(h, Authorization="Bearer " + jwt(SUB))
        try:
            calls = [
                ("GET", "/healthz", None, h),
                ("GET", "/nowhere", None, h),
                ("GET", f"/v1/sites/{SITE}/ideas", None, h),
                ("POST", f"/v1/sites/{SITE}/ideas",
                 {"title": "A log probe idea", "body": f"Write to {EMAIL}"}, auth),
                ("PUT", f"/v1/sites/{SITE}/ideas/1/vote", {"value": 1}, auth),
                ("PUT", f"/v1/sites/{SITE}/ideas/1/vote", {"value": 1},
                 dict(h, Authorization="Bearer " + jwt(SUB, secret=b"x" * 40))),
                ("POST", f"/v1/sites/{SITE}/feedback",
                 {"page": ORIGIN + "/x", "useful": True, "comment": f"mail {EMAIL}"}, h),
                ("POST", f"/v1/sites/{SITE}/feedback", {"page": 3}, h),
                ("GET", f"/v1/sites/{SITE}/feedback/pages", None,
                 dict(h, Authorization="Bearer th_1_wrong")),
                ("GET", f"/v1/sites/{SITE}/residents/me", None, auth),
                ("GET", "/metrics", None, h),
            ]
            statuses = []
            for method, path, body, headers in calls:
                statuses.append(server.request(method, path, json_body=body,
                                               headers=headers).status)
            for i in range(6):   # past the rate limit: 429
                statuses.append(server.request(
                    "POST", f"/v1/sites/{SITE}/feedback",
                    json_body={"page": ORIGIN + f"/r{i}", "useful": False},
                    headers=h).status)
            for i in range(12):  # staff-token guessing: 401s, then 429
                statuses.append(server.request(
                    "GET", f"/v1/sites/{SITE}/audit", headers=dict(
                        h, Authorization=f"Bearer th_1_guess{i}")).status)
            big = json.dumps({"comment": EMAIL * 5000}).encode()
            statuses.append(server.request("POST", f"/v1/sites/{SITE}/feedback",
                                           body=big, headers=dict(
                                               h, **{"Content-Type": "application/json"})).status)
            server.raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: " +
                       IP.encode() + b"\r\nUser-Agent: " + UA.encode() +
                       b"\r\nBad Header\r\n\r\n")
            # A header that never ends: the header timeout (600 ms).
            s = socket.create_connection(("127.0.0.1", server.port))
            s.sendall(b"GET /healthz HTTP/1.1\r\nX-Forwarded-For: " + IP.encode() +
                      b"\r\nUser-Agent: " + UA.encode() + b"\r\n")
            time.sleep(1.2)
            s.close()
            for want in (200, 404, 201, 401, 422, 429, 413):
                self.assertIn(want, statuses, f"the requests produced a {want}")
            self.assertEqual(server.stop(), 0)
            log = server.log_text()
            self.assertGreater(len(log.splitlines()), 3, "the server logged")
            for kind, value in (("ip", IP), ("ua", UA), ("sub", SUB),
                                ("email", EMAIL)):
                with self.subTest(kind):
                    at = log.lower().find(value.lower())
                    self.assertEqual(at, -1, f"the {kind} {value!r} is in the log: "
                                     f"...{log[max(0, at - 120):at + 60]}...")
            # Every line is one JSON object (a structured log).
            for line in log.splitlines():
                if line.startswith("{"):
                    json.loads(line)
        finally:
            for kind, value in (("ip", IP), ("ua", UA), ("sub", SUB), ("email", EMAIL)):
                probe(kind, value)
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
