"""Small holes an attacker could use (issue 12, sections 2 and 3), against a
real server on loopback: what a merged idea shows, the one staff-token gate,
the headers of every HTML answer, liveness and readiness, file modes, and
resident ids with surrounding white space."""
import json
import os
import re
import stat
import unittest
import urllib.parse

import openapi_check
from harness import (ORIGIN, PAGE, SECRET, SITE, Server, jwt, run,
                     sqlite_only)

Q = urllib.parse.quote
MOD = "hackney"  # a site that moderates ideas


class Holes(openapi_check.ServerCase):
    server = None

    @classmethod
    def setUpClass(cls):
        # The usual umask, so that a file SQLite creates would be 0644.
        os.umask(0o022)
        cls.server = Server("--rate-limit", "100000", "--min-form-seconds", "1")
        db = cls.server.db
        run("site", "add", MOD, "--name", "London Borough of Hackney",
            "--origin", ORIGIN, "--moderate", db=db)
        secret_file = os.path.join(cls.server.dir, "secret-mod")
        with open(secret_file, "wb") as f:
            f.write(SECRET)
        run("site", "secret", MOD, "--from-file", secret_file, db=db)
        os.unlink(secret_file)
        out = run("token", "create", "--site", MOD, "--role", "moderator",
                  "--label", "hackney moderator", db=db).stdout
        cls.mod_token = re.search(r"(th_\d+_\S+)", out).group(1)

    def propose(self, site, title, resident, body=""):
        r = self.call("POST", f"/v1/sites/{site}/ideas",
                      json_body={"title": title, "body": body},
                      token=jwt(resident, aud=site))
        self.assertEqual(r.status, 201, r)
        return r.json()["id"]

    def moderate(self, idea, action, **extra):
        r = self.call("POST", f"/v1/sites/{MOD}/ideas/{idea}/moderation",
                      json_body={"action": action, "reason": "tests", **extra},
                      token=self.mod_token)
        self.assertEqual(r.status, 201, r)

    # ---- section 2: merging never publishes what was not approved ----------

    def test_pending_idea_merged_into_a_public_one_stays_private(self):
        target = self.propose(MOD, "Plant trees on Mare Street", "m-author")
        self.moderate(target, "publish")
        secret_title = "Pending: my neighbour at number 12 deals drugs"
        secret_body = "Unapproved text that no moderator has read"
        pending = self.propose(MOD, secret_title, "m-other", secret_body)
        base = f"/v1/sites/{MOD}/ideas"
        self.assertEqual(self.call("GET", f"{base}/{pending}").status, 404,
                         "a pending idea is private")
        self.moderate(pending, "merge", into=target)

        for path in (f"{base}/{pending}", f"{base}/{pending}/history"):
            r = self.call("GET", path)
            self.assertEqual(r.status, 404, f"{path}: {r}")
            self.assertNotIn(b"neighbour", r.body)
            self.assertNotIn(b"Unapproved", r.body)
        # The same answer as an idea that never existed: ids are
        # sequential, and a different word would say which exist.
        gone = self.call("GET", f"{base}/{pending}").json()
        missing = self.call("GET", f"{base}/987654").json()
        self.assertEqual(gone["detail"].replace(str(pending), "N"),
                         missing["detail"].replace("987654", "N"))
        # Nor does any public list or export show it.
        for q in ("", "?sort=new", "?format=csv", "?sort=new&limit=100"):
            r = self.call("GET", f"{base}{q}")
            self.assertEqual(r.status, 200, r)
            self.assertNotIn(b"neighbour", r.body, q)
        r = self.call("GET", f"{base}?status=merged")
        self.assertEqual(r.status, 401, "merged ideas are listed for staff")

        # Staff see it, and that it is not public: the dashboard shows that.
        r = self.call("GET", f"{base}/{pending}", token=self.mod_token)
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual(doc["status"], "merged")
        self.assertEqual(doc["merged_into"], target)
        self.assertIs(doc["public"], False)
        self.assertEqual(doc["title"], secret_title)
        r = self.call("GET", f"{base}/{target}")
        self.assertIs(r.json()["public"], True)

    def test_public_idea_merged_stays_public(self):
        target = self.propose(MOD, "Fix the lights on Dalston Lane", "m-a2")
        self.moderate(target, "publish")
        dup = self.propose(MOD, "Dalston Lane lights are out", "m-b2")
        self.moderate(dup, "publish")
        self.moderate(dup, "merge", into=target)
        r = self.call("GET", f"/v1/sites/{MOD}/ideas/{dup}")
        self.assertEqual(r.status, 200, r)
        doc = r.json()
        self.assertEqual((doc["status"], doc["merged_into"], doc["public"]),
                         ("merged", target, True))
        self.assertEqual(doc["title"], "Dalston Lane lights are out")
        r = self.call("GET", f"/v1/sites/{MOD}/ideas/{dup}/history")
        self.assertEqual(r.status, 200, r)

    # ---- a resident JWT's sub is taken exactly as given ---------------------

    def test_sub_with_white_space_is_refused_not_trimmed(self):
        own = self.propose(SITE, "Trees on Camden High Street", "j-alice")
        for sub in (" j-alice", "j-alice ", "\tj-alice", "j-alice\n",
                    "j-\u0001alice", "j-alice\u00a0", "\u200bj-alice"):
            tok = jwt(sub)
            for method, path, body in (
                    ("POST", f"/v1/sites/{SITE}/ideas",
                     {"title": "Trees on Camden High Street"}),
                    ("PUT", f"/v1/sites/{SITE}/ideas/{own}/vote", {"value": 1}),
                    ("POST", f"/v1/sites/{SITE}/ideas/{own}/withdraw", None),
                    ("GET", f"/v1/sites/{SITE}/residents/me", None),
                    ("DELETE", f"/v1/sites/{SITE}/residents/me", None)):
                r = self.call(method, path, json_body=body, token=tok)
                self.assertEqual(r.status, 401, f"{sub!r} {method} {path}: {r}")
                doc = r.json()
                self.assertIn("sub", doc["detail"], doc)
                self.assertIn("white space", doc["detail"], doc)
        r = self.call("GET", f"/v1/sites/{SITE}/ideas/{own}")
        self.assertEqual(r.json()["status"], "published",
                         "alice's idea was not withdrawn by a look-alike")
        self.assertEqual(r.json()["votes"]["up"], 0, "nor voted on")
        # A space inside an id is part of it.
        r = self.call("PUT", f"/v1/sites/{SITE}/ideas/{own}/vote",
                      json_body={"value": 1}, token=jwt("j-alice smith"))
        self.assertEqual(r.status, 201, r)

    # ---- file modes -----------------------------------------------------------

    @sqlite_only("the modes of the SQLite file, its WAL and shm, and of "
                 "th_backup's copy; a PostgreSQL database has no file of "
                 "townhall's (its key file's mode is tests/unit/db.c's)")
    def test_database_wal_shm_and_backup_are_owner_only(self):
        # Something written, so that the WAL holds frames.
        self.propose(SITE, "Bins on Kentish Town Road", "f-author")
        db = self.server.db
        for f in (db, db + "-wal", db + "-shm"):
            self.assertTrue(os.path.exists(f), f)
            mode = stat.S_IMODE(os.stat(f).st_mode)
            self.assertEqual(mode, 0o600, f"{os.path.basename(f)}: {mode:o}")
        dest = os.path.join(self.server.dir, "backup-modes.db")
        run("backup", dest, db=db)
        mode = stat.S_IMODE(os.stat(dest).st_mode)
        self.assertEqual(mode, 0o600, f"backup: {mode:o}")
        self.assertFalse(os.path.exists(dest + ".tmp"))

    # ---- every HTML answer carries a CSP with frame-ancestors ---------------

    def check_html(self, r, what, ancestors):
        self.assertTrue(r.header("content-type").startswith("text/html"),
                        f"{what}: {r}")
        csp = r.header("content-security-policy") or ""
        self.assertIn("default-src 'none'", csp, what)
        m = re.search(r"frame-ancestors ([^;]+)$", csp)
        self.assertTrue(m, f"{what}: frame-ancestors in {csp!r}")
        self.assertEqual(m.group(1).strip(), ancestors, what)
        self.assertEqual(r.header("x-content-type-options"), "nosniff", what)

    def test_every_html_answer_has_csp_and_frame_ancestors(self):
        page = Q(PAGE, safe="")
        form = {"useful": "yes", "page": PAGE, "next": "thanks", "lang": "en"}
        bad = {"useful": "maybe", "page": PAGE, "lang": "en"}
        gets = [
            (f"/form?site={SITE}&page={page}", ORIGIN),
            (f"/form?site={SITE}&page={page}&fragment=1", ORIGIN),
            (f"/form?site={SITE}&page={page}&fragment=1&lang=cy", ORIGIN),
            (f"/thanks?site={SITE}&return={page}", ORIGIN),
            (f"/thanks?site={SITE}", ORIGIN),
            ("/thanks", "'none'"),
            ("/dashboard/", "'none'"),
            ("/dashboard/index.html", "'none'"),
        ]
        for path, ancestors in gets:
            documented = path.startswith(("/form", "/thanks"))
            r = (self.call if documented else self.server.request)("GET", path)
            self.check_html(r, path, ancestors)
        r = self.server.request("GET", "/dashboard/")
        etag = r.header("etag")
        r = self.server.request("GET", "/dashboard/",
                                headers={"If-None-Match": etag})
        self.assertEqual(r.status, 304)
        self.assertIn("frame-ancestors 'none'",
                      r.header("content-security-policy") or "")
        # The answer to a form post may hold the answer's handle: 'none'.
        for body, status, ancestors in ((form, 200, "'none'"),
                                        (bad, 422, "'none'")):
            r = self.server.request(
                "POST", f"/v1/sites/{SITE}/feedback",
                body=urllib.parse.urlencode(body),
                headers={"Content-Type": "application/x-www-form-urlencoded"})
            self.assertEqual(r.status, status, r)
            self.check_html(r, f"form post {body}", ancestors)
        demo = Server("--demo", site=False)
        try:
            r = demo.request("GET", "/")
            self.assertEqual(r.status, 200, r)
            self.check_html(r, "the demo page", "'none'")
        finally:
            demo.stop()
            demo.cleanup()

    # ---- liveness and readiness (the full disk: tests/faults/test_ready) ----

    def test_livez_and_readyz(self):
        r = self.call("GET", "/livez")
        self.assertEqual((r.status, r.json()), (200, {"status": "ok"}))
        for path in ("/readyz", "/healthz"):
            r = self.call("GET", path)
            self.assertEqual(r.status, 200, r)
            doc = r.json()
            self.assertEqual(doc["status"], "ok")
            self.assertEqual(doc["failing"], [])
            self.assertEqual(sorted(doc["checks"]),
                             ["database", "serving", "write", "writer"])
            self.assertTrue(all(c["ok"] for c in doc["checks"].values()), doc)
            r = self.call("HEAD", path)
            self.assertEqual((r.status, r.body), (200, b""))
            r = self.call("POST", path, body=b"")
            self.assertEqual(r.status, 405)
        # Pipelined: answered in order, whether a probe is under way or not.
        raw = self.server.raw(b"".join(
            f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
            for p in ("/readyz", "/livez", "/healthz", "/readyz")) +
            b"GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(raw.count(b"HTTP/1.1 200 OK"), 5, raw[:400])


class StaffGate(unittest.TestCase):
    """One rule for every route that reads a staff token: a bad one is 401
    everywhere, and once an address has spent its failures (10 a minute)
    every request carrying a staff token, or needing one, is 429 with
    Retry-After, whichever route it tries."""

    def routes(self, idea):
        s = f"/v1/sites/{SITE}"
        page = Q(PAGE, safe="")
        # (method, path, JSON body, whether it answers the public without one)
        return [
            ("GET", f"{s}/feedback/summary?page={page}", None, True),
            ("GET", f"{s}/feedback/pages", None, False),
            ("GET", f"{s}/feedback/pages?format=csv", None, False),
            ("GET", f"{s}/feedback/comments?page={page}", None, False),
            ("GET", f"{s}/ideas/{idea}", None, True),
            ("GET", f"{s}/ideas/{idea}/history", None, True),
            ("GET", f"{s}/ideas", None, True),
            ("GET", f"{s}/ideas?status=pending", None, False),
            ("POST", f"{s}/ideas/{idea}/status", {"status": "accepted"}, False),
            ("POST", f"{s}/ideas/{idea}/moderation",
             {"action": "hide", "reason": "x"}, False),
            ("POST", f"{s}/consultations", {"slug": "c1", "title": "C"}, False),
            ("GET", f"{s}/audit", None, False),
        ]

    def test_every_route_that_reads_a_token(self):
        probe = Server("--rate-limit", "100000")
        try:
            names = [f"{m} {p}" for m, p, _, _ in self.routes(1)]
        finally:
            probe.cleanup()
        for k, name in enumerate(names):
            with self.subTest(route=name):
                server = Server("--rate-limit", "100000")
                try:
                    r = server.request("POST", f"/v1/sites/{SITE}/ideas",
                                       json_body={"title": "Gate idea"},
                                       token=jwt("gate-author"))
                    idea = r.json()["id"]
                    method, path, body, public = self.routes(idea)[k]
                    good = server.tokens["admin"]
                    bad = good[:-4] + ("AAAA" if not good.endswith("AAAA")
                                       else "BBBB")
                    for i in range(10):
                        r = server.request(method, path, json_body=body,
                                           token=bad)
                        openapi_check.check(method, path, r)
                        self.assertEqual(r.status, 401, f"try {i}: {r}")
                        self.assertEqual(r.json()["type"],
                                         "urn:townhall:problem:auth")
                    for tok in (bad, good):
                        r = server.request(method, path, json_body=body,
                                           token=tok)
                        openapi_check.check(method, path, r)
                        self.assertEqual(r.status, 429, r)
                        self.assertTrue(
                            (r.header("retry-after") or "").isdigit(), r)
                    # The public is not locked out by someone's guessing.
                    r = server.request(method, path, json_body=body)
                    if public:
                        self.assertNotIn(r.status, (401, 429), r)
                    else:
                        self.assertEqual(r.status, 429, r)
                finally:
                    server.cleanup()


if __name__ == "__main__":
    unittest.main()
