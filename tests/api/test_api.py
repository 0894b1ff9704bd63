"""The JSON API against a real server on loopback: every route, success and
each error status, authentication, CORS, the form post and its 303, the
open-redirect attempt, keep-alive and pipelining. Every answer is checked
against docs/openapi.yaml."""
import csv
import http.client
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import openapi_check
from harness import (ORIGIN, PAGE, PG, SECRET, SITE, Server, jwt,
                     parse_responses, run)

Q = urllib.parse.quote


class Api(openapi_check.ServerCase):
    server = None

    @classmethod
    def setUpClass(cls):
        # Rate limits high enough for the whole class from one address.
        cls.server = Server("--rate-limit", "100000", "--min-form-seconds", "1")
        cls.admin = cls.server.tokens["admin"]
        cls.councillor = cls.server.tokens["councillor"]
        cls.moderator = cls.server.tokens["moderator"]

    def problem(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("content-type"), "application/problem+json")
        doc = r.json()
        self.assertEqual(doc["status"], status)
        self.assertTrue(doc["type"].startswith("urn:townhall:problem:"))
        self.assertTrue(doc["title"])
        return doc

    def idea(self, title, resident="r-author", **fields):
        body = {"title": title, **fields}
        r = self.call("POST", f"/v1/sites/{SITE}/ideas",
                      json_body=body, token=jwt(resident))
        self.assertIn(r.status, (200, 201), r)
        return r.json()["id"]

    # ---- operations ---------------------------------------------------------

    def test_healthz(self):
        r = self.call("GET", "/healthz")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual(doc["status"], "ok")
        self.assertEqual(doc["synchronous"], "full",
                         "the writer's connection must run synchronous=FULL")
        r = self.call("HEAD", "/healthz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        self.assertGreater(int(r.header("content-length")), 0)
        r = self.call("POST", "/healthz", body=b"")
        self.problem(r, 405)
        self.assertEqual(r.header("allow"), "GET")

    def test_common_headers(self):
        r = self.call("GET", "/healthz")
        self.assertEqual(r.header("x-content-type-options"), "nosniff")
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertIsNotNone(r.header("date"))
        self.assertIsNone(r.header("set-cookie"))

    def test_metrics(self):
        self.call("GET", "/healthz")
        r = self.call("GET", "/metrics")
        self.assertEqual(r.status, 200)
        self.assertTrue(r.header("content-type").startswith("text/plain"))
        text = r.body.decode()
        for name in ("townhall_http_requests_total",
                     "townhall_http_request_duration_seconds_bucket",
                     "townhall_write_queue_depth", "townhall_write_batch_size",
                     "townhall_connections", "townhall_spam_discarded_total",
                     "townhall_rate_limited_total"):
            self.assertIn(name, text)
        self.assertIn('route="/healthz",status="200"', text)
        promtool = shutil.which("promtool")
        self.assertIsNotNone(promtool, "promtool (Debian's prometheus) is needed")
        p = subprocess.run([promtool, "check", "metrics"], input=r.body,
                           capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_unknown_routes(self):
        self.problem(self.call("GET", "/nothing-here"), 404)
        self.problem(self.call("GET", "/v1/sites/no-such-site/ideas"), 404)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas/12x"), 404)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/nothing"), 404)
        self.problem(self.call("GET", "/v1/sites/%00/ideas"), 404)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?limit=%ZZ"), 400)

    def test_site(self):
        r = self.call("GET", f"/v1/sites/{SITE}")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json()["slug"], SITE)
        self.assertTrue(r.json()["allow_anonymous"])
        self.problem(self.call("DELETE", f"/v1/sites/{SITE}"), 405)

    # ---- feedback -----------------------------------------------------------

    def post_feedback(self, body, ua, key=None, **kw):
        h = {"User-Agent": ua}
        if key:
            h["Idempotency-Key"] = key
        return self.call("POST", f"/v1/sites/{SITE}/feedback", headers=h,
                         json_body=body, **kw)

    def exact(self, page):
        return self.call("GET", f"/v1/sites/{SITE}/feedback/summary?page="
                         + Q(page), token=self.admin).json()

    def test_feedback_json(self):
        page = PAGE + "/json?utm_source=x#top"
        ua = "feedback-json/1"
        r = self.post_feedback({"page": page, "useful": True}, ua, key="k-json-1")
        self.assertEqual(r.status, 201, r)
        handle = r.json()["answer"]
        self.assertEqual(r.json(), {"recorded": True, "answer": handle})
        self.assertRegex(handle, r"^[A-Za-z0-9_-]{22}$")
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        r = self.post_feedback({"page": page, "useful": "yes"}, ua, key="k-json-1")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json(), {"recorded": False, "answer": handle},
                         "a retry folds, and gets the same handle back")
        r = self.post_feedback({"answer": handle, "rating": 4,
                                "comment": "Clear, but email me at jo@example.org"}, ua)
        self.assertEqual((r.status, r.json()), (200, {"recorded": True}),
                         "the handle amends the answer")
        r = self.post_feedback({"answer": handle, "rating": "4"}, ua)
        self.assertEqual((r.status, r.json()), (200, {"recorded": False}))
        doc = self.exact(PAGE + "/json")
        self.assertEqual((doc["yes"], doc["no"], doc["ratings"][3]), (1, 0, 1))
        self.assertTrue(doc["exact"])
        r = self.call("GET", f"/v1/sites/{SITE}/feedback/comments?page="
                      + Q(PAGE + "/json"), token=self.admin)
        self.assertEqual(r.json()["items"][0]["text"],
                         "Clear, but email me at [email]")

    def test_feedback_two_people_one_device(self):
        # One address, one browser: a library's public computer, an office.
        page, ua = PAGE + "/shared", "shared-device/1"
        a = self.post_feedback({"page": page, "useful": True}, ua, key="ka")
        b = self.post_feedback({"page": page, "useful": False, "comment": "No"},
                               ua, key="kb")
        self.assertEqual((a.status, b.status), (201, 201))
        ha, hb = a.json()["answer"], b.json()["answer"]
        self.assertNotEqual(ha, hb)
        doc = self.exact(page)
        self.assertEqual((doc["yes"], doc["no"], doc["responses"]), (1, 1, 2),
                         "both answers counted")
        r = self.post_feedback({"answer": hb, "page": page, "rating": 1}, ua)
        self.assertEqual(r.json(), {"recorded": True})
        doc = self.exact(page)
        self.assertEqual((doc["yes"], doc["no"], doc["ratings"][0]), (1, 1, 1))
        # A handle amends its own answer only.
        r = self.post_feedback({"answer": ha, "page": PAGE + "/other",
                                "rating": 5}, ua)
        self.problem(r, 404)
        forged = hb[:11] + ha[11:]
        self.problem(self.post_feedback({"answer": forged, "rating": 5}, ua), 404)
        self.problem(self.post_feedback({"answer": "x" * 22, "rating": 5}, ua), 404)
        self.assertEqual(self.exact(page)["ratings"], [1, 0, 0, 0, 0])
        # The same key from another device is another answer; with another
        # answer from the same device, a conflict.
        r = self.post_feedback({"page": page, "useful": True}, "other-ua/2", key="ka")
        self.assertEqual(r.status, 201)
        self.assertNotEqual(r.json()["answer"], ha)
        doc = self.problem(self.post_feedback({"page": page, "useful": False}, ua,
                                              key="ka"), 422)
        self.assertEqual(doc["type"], "urn:townhall:problem:conflict")
        self.assertEqual(self.exact(page)["responses"], 3)
        # Malformed keys are refused before anything is written.
        for bad in ("with space", "x" * 256, '"unterminated', "caf\u00e9"):
            self.problem(self.call("POST", f"/v1/sites/{SITE}/feedback",
                                   headers={"User-Agent": ua, "Idempotency-Key": bad},
                                   json_body={"page": page, "useful": True}), 400)
        r = self.post_feedback({"page": page, "useful": True}, ua, key='"quoted-key"')
        self.assertEqual(r.status, 201, "a structured-field string is accepted")
        self.assertEqual(self.exact(page)["responses"], 4)

    def test_feedback_widget_010(self):
        # The 0.1.0 widget: "yes", then its rating and comment in a second
        # post with neither a key nor a handle. Two residents on one device.
        page, ua = PAGE + "/legacy", "legacy-widget/0.1.0"
        for _ in range(2):
            r = self.post_feedback({"page": page, "useful": "yes"}, ua)
            self.assertEqual(r.status, 201)
        for rating in (5, 3):
            r = self.post_feedback({"page": page, "useful": "yes", "rating": rating,
                                    "comment": None}, ua)
            self.assertEqual(r.status, 201)
            self.assertEqual(r.json()["recorded"], True)
        doc = self.exact(page)
        self.assertEqual((doc["yes"], doc["responses"]), (2, 2),
                         "two answers: the follow-ups amended, not added")
        self.assertEqual(doc["ratings"], [0, 0, 1, 0, 1])
    def test_feedback_invalid(self):
        url = f"/v1/sites/{SITE}/feedback"
        self.problem(self.call("POST", url, json_body={"useful": True}), 422)
        self.problem(self.call("POST", url, json_body={"page": PAGE, "useful": "maybe"}), 422)
        self.problem(self.call("POST", url, json_body={"page": PAGE, "useful": True, "rating": 6}), 422)
        self.problem(self.call("POST", url, json_body={"page": PAGE, "useful": True, "rating": "x"}), 422)
        self.problem(self.call("POST", url, json_body={"page": "https://evil.example/x", "useful": True}), 422)
        self.problem(self.call("POST", url, json_body={"page": "javascript:alert(1)", "useful": True}), 422)
        self.problem(self.call("POST", url, json_body={"page": PAGE, "useful": True, "comment": "too long " * 223}), 422)
        self.problem(self.call("POST", url, body=b"{not json",
                               headers={"Content-Type": "application/json"}), 400)
        self.problem(self.call("POST", url, body=b"[1,2]",
                               headers={"Content-Type": "application/json"}), 400)
        self.problem(self.call("POST", url, body=b'{"page":"\xff\xfe","useful":true}',
                               headers={"Content-Type": "application/json"}), 400)
        self.problem(self.call("POST", url, body=b"page=x",
                               headers={"Content-Type": "text/plain"}), 415)
        # A malformed form comes from a person's browser: a page, not JSON.
        r = self.call("POST", url, body=b"page=%ZZ&useful=yes",
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual((r.status, r.header("content-type")), (400, "text/html; charset=utf-8"))
        self.problem(self.call("GET", url), 405)

    def form(self, fields, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.call("POST", f"/v1/sites/{SITE}/feedback",
                         body=urllib.parse.urlencode(fields), headers=h)

    def test_feedback_form_303(self):
        r = self.form({"page": PAGE + "/form", "useful": "no"},
                      {"User-Agent": "form/1", "Origin": ORIGIN})
        self.assertEqual(r.status, 303, r)
        self.assertEqual(r.header("location"), PAGE + "/form")

    def test_feedback_form_thanks_and_follow_up(self):
        # With next=thanks (the no-script form's), the post is answered with
        # the thank-you page itself: the handle goes into its follow-up form
        # and never into a URL.
        r = self.form({"page": PAGE + "/form2", "useful": "yes", "next": "thanks",
                       "lang": "cy"}, {"User-Agent": "form/2"})
        self.assertEqual(r.status, 200, r)
        self.assertIsNone(r.header("location"))
        self.assertEqual(r.header("cache-control"), "no-store")
        self.assertEqual(r.header("referrer-policy"), "no-referrer")
        self.assertIn("form-action 'self'", r.header("content-security-policy"))
        self.assertIn("frame-ancestors 'none'", r.header("content-security-policy"))
        html = r.body.decode()
        self.assertIn('<html lang="cy"', html)
        self.assertIn('href="' + PAGE + "/form2", html)
        handle = re.search(r'name="answer" value="([A-Za-z0-9_-]{22})"', html).group(1)
        ts = re.search(r'name="ts" value="([^"]+)"', html).group(1)
        time.sleep(1.1)
        r = self.form({"answer": handle, "page": PAGE + "/form2", "rating": "2",
                       "comment": "Anodd ei ddarllen", "next": "thanks", "lang": "cy",
                       "ts": ts}, {"User-Agent": "form/2"})
        self.assertEqual(r.status, 200, r)
        self.assertNotIn('name="answer"', r.body.decode(), "no second follow-up")
        doc = self.exact(PAGE + "/form2")
        self.assertEqual((doc["yes"], doc["ratings"][1], doc["comments"]), (1, 1, 1))
        # The same cached form posted from two browsers (same address, same
        # user agent): two answers, each with its own handle.
        pages = [self.form({"page": PAGE + "/cached", "useful": "yes",
                            "next": "thanks"}, {"User-Agent": "same/1"})
                 for _ in range(2)]
        handles = [re.search(r'name="answer" value="([^"]+)"', p.body.decode()).group(1)
                   for p in pages]
        self.assertNotEqual(handles[0], handles[1])
        self.assertEqual(self.exact(PAGE + "/cached")["yes"], 2)
        r = self.form({"answer": handles[0], "page": PAGE + "/form2", "rating": "5",
                       "next": "thanks"}, {"User-Agent": "same/1"})
        self.assertEqual(r.status, 404, "a handle does not reach another page's answer")
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        # The old thank-you URL still works for links already out there.
        thanks = self.call("GET", f"/thanks?site={SITE}&lang=cy&return=" + Q(PAGE + "/form2"))
        self.assertEqual(thanks.status, 200)
        self.assertIn(b'href="' + (PAGE + "/form2").encode(), thanks.body)
        self.assertIn("default-src 'none'", thanks.header("content-security-policy"))

    def test_open_redirect_refused(self):
        # A page on another origin is never a redirect target.
        r = self.form({"page": "https://evil.example/phish", "useful": "yes"},
                      {"User-Agent": "redirect/1"})
        self.assertEqual(r.status, 422)
        self.assertIsNone(r.header("location"))
        self.assertNotIn(b"evil.example", r.body, "no link to the other origin either")
        # Nor can the thank-you page be made to link elsewhere.
        r = self.call("GET", f"/thanks?site={SITE}&return=" + Q("https://evil.example/"))
        self.assertEqual(r.status, 200)
        self.assertNotIn(b"evil.example", r.body)
        r = self.call("GET", f"/thanks?site={SITE}&return=" + Q("javascript:alert(1)"))
        self.assertNotIn(b"javascript:", r.body)
        r = self.call("GET", f"/thanks?site={SITE}&return=" + Q("//evil.example/"))
        self.assertNotIn(b"evil.example", r.body)

    def test_form_errors_are_pages(self):
        # Without JavaScript the browser shows whatever comes back: a failed
        # form post gets a page in the form's language with its status, what
        # to do, and the way back to the page (only on the site's origins).
        r = self.form({"page": PAGE + "/e", "useful": "maybe", "lang": "cy"},
                      {"User-Agent": "form-err/1", "Origin": ORIGIN})
        self.assertEqual(r.status, 422)
        self.assertEqual(r.header("content-type"), "text/html; charset=utf-8")
        self.assertIsNone(r.header("location"))
        self.assertIn("default-src 'none'", r.header("content-security-policy"))
        page = r.body.decode()
        self.assertIn('<html lang="cy"', page)
        self.assertIn("Ni anfonwyd eich ateb", page)
        self.assertIn(f'href="{PAGE}/e"', page)
        r = self.form({"page": PAGE + "/e", "useful": "yes", "rating": "9", "lang": "ar"},
                      {"User-Agent": "form-err/2"})
        self.assertEqual(r.status, 422)
        self.assertIn('dir="rtl"', r.body.decode())
        # JSON clients still get problem+json for the same mistake.
        self.problem(self.call("POST", f"/v1/sites/{SITE}/feedback",
                               json_body={"page": PAGE, "useful": "maybe"}), 422)

    def test_cross_site_form_post(self):
        r = self.form({"page": PAGE + "/x", "useful": "yes"},
                      {"User-Agent": "xs/1", "Origin": "https://evil.example"})
        self.problem(r, 403)
        r = self.form({"page": PAGE + "/x", "useful": "yes"},
                      {"User-Agent": "xs/2", "Origin": "null"})
        self.assertEqual(r.status, 303, "a browser hiding its origin is allowed")

    def test_summary_public_suppression(self):
        # The public sees complete weeks only (tests/opendata covers what it
        # sees then, on data from earlier weeks): answers of this week are
        # not published yet, while staff see them at once.
        page = PAGE + "/quiet"
        for i in range(3):
            self.post_feedback({"page": page, "useful": True, "rating": 5},
                               f"quiet/{i}", key=f"q{i}")
        for i in range(9):
            self.post_feedback({"page": page, "useful": False}, f"loud/{i}",
                               key=f"l{i}")
        doc = self.problem(self.call("GET", f"/v1/sites/{SITE}/feedback/summary?page="
                                     + Q(page)), 404)
        never = self.problem(self.call("GET", f"/v1/sites/{SITE}/feedback/summary?page="
                                       + Q(PAGE + "/never")), 404)
        self.assertEqual(doc, never, "this week's page looks like a page with none")
        r = self.call("GET", f"/v1/sites/{SITE}/feedback/summary?page=" + Q(page),
                      token=self.moderator)
        doc = r.json()
        self.assertTrue(doc["exact"])
        self.assertEqual((doc["yes"], doc["no"]), (3, 9))
        self.problem(self.call("GET", f"/v1/sites/{SITE}/feedback/summary"), 422)

    def test_feedback_pages_and_csv(self):
        for i, useful in enumerate([False, False, True]):
            self.call("POST", f"/v1/sites/{SITE}/feedback",
                      headers={"User-Agent": f"pages/{i}"},
                      json_body={"page": PAGE + "/worst", "useful": useful})
        url = f"/v1/sites/{SITE}/feedback/pages?sort=worst&limit=2"
        self.problem(self.call("GET", url), 401)
        self.problem(self.call("GET", url, token="th_1_" + "A" * 32), 401)
        r = self.call("GET", url, token=self.moderator)
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual(len(doc["items"]), 2)
        self.assertIsNotNone(doc["next_cursor"])
        r2 = self.call("GET", url + "&cursor=" + Q(doc["next_cursor"]),
                       token=self.moderator)
        self.assertEqual(r2.status, 200)
        self.assertNotIn(doc["items"][0]["page"], [p["page"] for p in r2.json()["items"]])
        self.problem(self.call("GET", url + "&cursor=garbage", token=self.moderator), 422)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/feedback/pages?sort=best",
                               token=self.moderator), 422)
        r = self.call("GET", f"/v1/sites/{SITE}/feedback/pages?format=csv",
                      token=self.moderator)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel")
        rows = list(csv.reader(io.StringIO(r.body[3:].decode())))
        self.assertEqual(rows[0][0], "page")
        self.assertTrue(any(row[0] == PAGE + "/worst" for row in rows[1:]))

    def test_page_paths_scrubbed(self):
        # Sites put people in their paths; the page is listed to staff and
        # published in open/feedback.csv, so its path is scrubbed like free
        # text (docs/privacy.md), with the placeholder percent-encoded.
        raw = ORIGIN + "/users/canary-path@example.org/profile"
        stored = ORIGIN + "/users/%5Bemail%5D/profile"
        r = self.post_feedback({"page": raw, "useful": False}, "paths/1")
        self.assertEqual(r.status, 201, r)
        r = self.post_feedback({"page": ORIGIN + "/users/canary-path%40example.org/profile",
                                "useful": False}, "paths/2")
        self.assertEqual(r.status, 201, r)
        doc = self.exact(raw)
        self.assertEqual((doc["page"], doc["no"]), (stored, 2), doc)
        self.assertEqual(self.exact(stored)["no"], 2, "the stored address finds itself")
        pages = []
        cursor = None
        for _ in range(100):
            url = f"/v1/sites/{SITE}/feedback/pages?limit=100"
            if cursor:
                url += "&cursor=" + Q(cursor)
            doc = self.call("GET", url, token=self.moderator).json()
            pages += [p["page"] for p in doc["items"]]
            cursor = doc["next_cursor"]
            if not cursor:
                break
        self.assertIn(stored, pages)
        r = self.call("GET", f"/v1/sites/{SITE}/feedback/pages?format=csv",
                      token=self.moderator)
        text = r.body.decode("utf-8-sig")
        self.assertIn(stored, text)
        for where in [" ".join(pages), text]:
            self.assertNotIn("canary-path", where)
        # Not in any byte the server wrote: database, WAL, log. (The SQLite
        # files only: PostgreSQL's data directory and WAL are the privacy
        # scan's, issue 15.)
        if not PG:
            for suffix in ("", "-wal"):
                path = self.server.db + suffix
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        self.assertNotIn(b"canary-path", f.read(), path)
        self.assertNotIn("canary-path", self.server.log_text())

    # ---- consultations ------------------------------------------------------

    def test_consultations(self):
        r = self.call("GET", f"/v1/sites/{SITE}/consultations")
        self.assertEqual(r.status, 200)
        self.assertIn("ideas", [c["slug"] for c in r.json()["items"]])
        body = {"slug": "libraries-2026", "title": "The future of our libraries",
                "description": "Tell us what matters.", "ward": "Kentish Town",
                "closes": "2099-01-01"}
        url = f"/v1/sites/{SITE}/consultations"
        self.problem(self.call("POST", url, json_body=body), 401)
        self.problem(self.call("POST", url, json_body=body, token=self.moderator), 403)
        r = self.call("POST", url, json_body=body, token=self.councillor)
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["slug"], "libraries-2026")
        self.problem(self.call("POST", url, json_body=body, token=self.councillor), 409)
        self.problem(self.call("POST", url, json_body=dict(body, slug="x", closes="soon"),
                               token=self.councillor), 422)
        self.problem(self.call("POST", url, json_body=dict(body, slug="Bad Slug"),
                               token=self.councillor), 422)
        closed = dict(body, slug="closed-one", opens="2020-01-01", closes="2020-02-01")
        self.assertEqual(self.call("POST", url, json_body=closed,
                                   token=self.councillor).status, 201)
        r = self.call("POST", f"/v1/sites/{SITE}/ideas", token=jwt("r-closed"),
                      json_body={"title": "Too late for this", "consultation": "closed-one"})
        self.problem(r, 409)
        items = self.call("GET", url).json()["items"]
        by_slug = {c["slug"]: c for c in items}
        self.assertTrue(by_slug["libraries-2026"]["open"])
        self.assertFalse(by_slug["closed-one"]["open"])
        r = self.call("POST", f"/v1/sites/{SITE}/ideas", token=jwt("r-lib"),
                      json_body={"title": "Open on Sundays", "consultation": "libraries-2026"})
        self.assertEqual(r.status, 201)
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?consultation=libraries-2026")
        self.assertEqual([i["title"] for i in r.json()["items"]], ["Open on Sundays"])
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?consultation=nope"), 404)

    # ---- ideas --------------------------------------------------------------

    def test_ideas_submit_and_read(self):
        url = f"/v1/sites/{SITE}/ideas"
        r = self.call("POST", url, token=jwt("r-1"), json_body={
            "title": "Repair the swings in the park",
            "body": "Call me on 07700 900123", "category": "parks", "ward": "Gospel Oak"})
        self.assertEqual(r.status, 201, r)
        self.assertEqual(r.json()["status"], "published")
        iid = r.json()["id"]
        r = self.call("POST", url, token=jwt("r-1"), json_body={
            "title": "Repair the swings in the park"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"recorded": False, "id": iid})
        r = self.call("GET", f"{url}/{iid}")
        doc = r.json()
        self.assertEqual(doc["body"], "Call me on [phone]")
        self.assertEqual(doc["ward"], "Gospel Oak")
        self.problem(self.call("GET", f"{url}/999999"), 404)
        self.problem(self.call("POST", url, token=jwt("r-1"), json_body={"title": "ab"}), 422)
        self.problem(self.call("POST", url, token=jwt("r-1"), json_body={"title": "x" * 141}), 422)
        self.problem(self.call("POST", url, token=jwt("r-1"), json_body={}), 422)
        self.problem(self.call("POST", url, body=b"title=abc", token=jwt("r-1"),
                               headers={"Content-Type": "application/x-www-form-urlencoded"}), 415)
        r = self.call("GET", f"{url}/{iid}/history")
        self.assertEqual(r.status, 200)
        self.problem(self.call("GET", f"{url}/999999/history"), 404)

    def test_invisible_titles_and_bidi_controls(self):
        url = f"/v1/sites/{SITE}/ideas"
        # A title that shows nothing: zero-width spaces, no-break spaces,
        # direction controls. Refused in the domain, 422 here.
        for title in ["\u200b\u200b\u200b", "\u00a0\u202e\u2066\u00a0 \u2069",
                      "\ufeff\u200d\u200c\u3164"]:
            doc = self.problem(self.call("POST", url, token=jwt("r-invisible"),
                                         json_body={"title": title}), 422)
            self.assertIn("no visible character", doc.get("detail", ""), doc)
        # Bidirectional overrides and isolates are dropped from what is
        # stored, so nothing shown or exported holds one.
        r = self.call("POST", url, token=jwt("r-bidi"), json_body={
            "title": "Bins \u202egnp.exe\u202c at the corner",
            "body": "\u2067Smells\u2069 \u202d07700\u200b900461\u202c"})
        self.assertEqual(r.status, 201, r)
        iid = r.json()["id"]
        doc = self.call("GET", f"{url}/{iid}").json()
        self.assertEqual(doc["title"], "Bins gnp.exe at the corner")
        self.assertEqual(doc["body"], "Smells [phone]")
        controls = re.compile("[\u202a-\u202e\u2066-\u2069]")
        # (open/ideas.csv lists ideas from past days only: the same stored
        # title, tests/opendata.)
        r = self.call("GET", f"{url}?format=csv&sort=new")
        self.assertEqual(r.status, 200, r)
        text = r.body.decode("utf-8-sig")
        self.assertIn("Bins gnp.exe at the corner", text)
        self.assertIsNone(controls.search(text))
        page = PAGE + "/bidi"
        r = self.post_feedback({"page": page, "useful": False}, "bidi/1")
        self.assertEqual(r.status, 201, r)
        r = self.post_feedback({"answer": r.json()["answer"],
                                "comment": "\u202eLooks fine\u202c, \u2066really\u2069"},
                               "bidi/1")
        self.assertEqual(r.status, 200, r)
        r = self.call("GET", f"/v1/sites/{SITE}/feedback/comments?page=" + Q(page),
                      token=self.admin)
        self.assertEqual([c["text"] for c in r.json()["items"]],
                         ["Looks fine, really"])

    def test_ideas_anonymous_and_spam(self):
        url = f"/v1/sites/{SITE}/ideas"
        r = self.call("POST", url, headers={"User-Agent": "anon-idea/1"},
                      json_body={"title": "A bench by the bus stop"})
        self.assertEqual(r.status, 201, "this site allows devices to propose")
        r = self.call("POST", url, headers={"User-Agent": "bot/1"},
                      json_body={"title": "Cheap watches here", "website": "http://spam"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"recorded": False}, "honeypot: silent success")
        r = self.call("POST", url, headers={"User-Agent": "bot/2"},
                      json_body={"title": "Same words", "body": "same words"})
        self.assertEqual(r.json(), {"recorded": False}, "identical fields")
        r = self.call("POST", url, headers={"User-Agent": "bot/3"},
                      json_body={"title": "asdkjqwhekjqwhekjqwhekqwjhe"})
        self.assertEqual(r.json(), {"recorded": False}, "one-word gibberish")
        titles = [i["title"] for i in self.call("GET", url + "?sort=new&limit=100").json()["items"]]
        self.assertNotIn("Cheap watches here", titles)
        self.assertNotIn("Same words", titles)
        m = self.call("GET", "/metrics").body.decode()
        self.assertRegex(m, r'townhall_spam_discarded_total\{reason="honeypot"\} [1-9]')

    def test_form_token(self):
        url = f"/v1/sites/{SITE}/feedback"
        ts = self.call("GET", f"/v1/sites/{SITE}/form-token").json()["ts"]
        h = {"User-Agent": "ts/1"}
        r = self.call("POST", url, headers=h, json_body={"page": PAGE + "/ts", "useful": True, "ts": ts})
        self.assertEqual(r.json(), {"recorded": False}, "posted too soon after the form")
        r = self.call("POST", url, headers=h, json_body={"page": PAGE + "/ts", "useful": True,
                                                         "ts": ts[:-2] + "AA"})
        self.assertEqual(r.json(), {"recorded": False}, "forged timestamp")
        time.sleep(1.1)
        r = self.call("POST", url, headers=h, json_body={"page": PAGE + "/ts", "useful": True, "ts": ts})
        self.assertEqual(r.status, 201, "after the minimum time")

    def test_ideas_list_and_cursor(self):
        ids = [self.idea(f"Cursor idea {i}", resident=f"cur-{i}", category="cursor")
               for i in range(7)]
        url = f"/v1/sites/{SITE}/ideas?category=cursor&sort=new&limit=3"
        seen, cursor, pages = [], None, 0
        while True:
            r = self.call("GET", url + (f"&cursor={Q(cursor)}" if cursor else ""))
            doc = r.json()
            seen += [i["id"] for i in doc["items"]]
            cursor = doc["next_cursor"]
            pages += 1
            if not cursor:
                break
        self.assertEqual(seen, sorted(ids, reverse=True))
        self.assertEqual(pages, 3)
        for sort in ("top", "hot", "controversial", "random"):
            self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas?sort={sort}&seed=3").status, 200)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?sort=best"), 422)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?limit=0"), 422)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?limit=101"), 422)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?status=bogus"), 422)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?from=yesterday"), 422)
        # Every query parameter is read as docs/openapi.yaml types it:
        # a malformed one is refused, never read as 0 or ignored.
        for q in ("seed=abc", "seed=-1", "seed=1e3", "seed=",
                  "seed=18446744073709551616", "format=xml", "format="):
            with self.subTest(q=q):
                self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?{q}"), 422)
        self.assertEqual(self.call(
            "GET", f"/v1/sites/{SITE}/ideas?sort=random&seed=18446744073709551615").status, 200)
        for q in ("before=abc", "before=-5", "before=9223372036854775808"):
            with self.subTest(q=q):
                self.problem(self.call("GET", f"/v1/sites/{SITE}/audit?{q}",
                                       token=self.admin), 422)
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/audit?before=5",
                                   token=self.admin).status, 200)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/feedback/pages?format=pdf",
                               token=self.admin), 422)
        self.problem(self.call("GET", "/form?site=" + SITE + "&page=" + Q(PAGE)
                               + "&fragment=bogus"), 422)
        self.assertEqual(self.call("GET", "/form?site=" + SITE + "&page=" + Q(PAGE)
                                   + "&fragment=1").status, 200)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas?status=pending"), 401)
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?status=pending,hidden", token=self.moderator)
        self.assertEqual(r.status, 200)
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?from=2000-01-01&to=2999-01-01T00:00:00Z")
        self.assertEqual(r.status, 200)
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?category=cursor&format=csv")
        self.assertTrue(r.body.startswith(b"\xef\xbb\xbf"))
        self.assertEqual(len(list(csv.reader(io.StringIO(r.body[3:].decode())))), 8)

    def test_list_cache(self):
        """The public list is answered from the loop's cache between commits,
        and is never older than the last commit: a vote through the server,
        a status change, and a change committed by another process all show
        in the next answer."""
        def cache(result):
            m = self.server.get("/metrics").body.decode()
            return int(re.search(r'townhall_list_cache_total\{result="%s"\} (\d+)' % result, m).group(1))
        iid = self.idea("Cache: a bench by the pond", resident="cache-author", category="cachetest")
        url = f"/v1/sites/{SITE}/ideas?category=cachetest&sort=top"
        first = self.call("GET", url)
        hits, misses = cache("hit"), cache("miss")
        again = self.call("GET", url)
        self.assertEqual(again.body, first.body)
        self.assertEqual((cache("hit"), cache("miss")), (hits + 1, misses),
                         "the same request with nothing committed is a hit")
        self.assertEqual(again.header("content-type"), "application/json")
        self.assertEqual(again.header("cache-control"), "no-store")
        r = self.call("GET", url, headers={"Origin": ORIGIN})
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN,
                         "a cached body still gets this request's own headers")
        r = self.call("GET", url + "&limit=5")
        self.assertEqual(cache("miss"), misses + 1, "another query string is another entry")

        r = self.call("PUT", f"/v1/sites/{SITE}/ideas/{iid}/vote", token=jwt("cache-voter"),
                      json_body={"value": 1})
        self.assertEqual(r.status, 201, r)
        item = self.call("GET", url).json()["items"][0]
        self.assertEqual((item["id"], item["votes"]["up"]), (iid, 1), "a vote shows at once")
        mine = self.call("GET", url, token=jwt("cache-voter")).json()["items"][0]
        self.assertEqual(mine["my_vote"], 1, "a resident's list is their own, never the cached one")
        self.assertNotIn("my_vote", self.call("GET", url).json()["items"][0],
                         "and theirs is not cached for the public")

        # Another process commits (a host application, the CLI, a repair).
        self.server.execute("UPDATE ideas SET title = ? WHERE id = ?",
                            ("Cache: a bench by the lake", iid))
        self.assertEqual(self.call("GET", url).json()["items"][0]["title"],
                         "Cache: a bench by the lake", "a commit by another process shows at once")

        r = self.call("POST", f"/v1/sites/{SITE}/ideas/{iid}/status", token=self.councillor,
                      json_body={"status": "accepted", "response": "Ordered."})
        self.assertEqual(r.status, 201, r)
        item = self.call("GET", url).json()["items"][0]
        self.assertEqual((item["status"], item["response"]["text"]), ("accepted", "Ordered."))
        self.assertEqual(self.call("GET", url + "&status=accepted").json()["items"][0]["id"], iid)
        r = self.call("GET", url + "&status=pending", token=self.moderator)
        self.assertEqual([i["id"] for i in r.json()["items"]], [], "staff lists are built each time")

    def test_site_changes_show_at_once(self):
        """Each loop keeps the sites it served, and drops them at the next
        request after any commit: a site's origins changed by another
        process govern CORS on the very next request."""
        other = "https://cache-origin.example"
        url = f"/v1/sites/{SITE}/ideas?sort=new&limit=1"
        for _ in range(2):  # the second is answered from the loop's copy
            r = self.call("GET", url, headers={"Origin": other})
            self.assertIsNone(r.header("access-control-allow-origin"))
        try:
            self.server.execute("UPDATE sites SET origins = origins || ' ' || ? WHERE slug = ?",
                                (other, SITE))
            r = self.call("GET", url, headers={"Origin": other})
            self.assertEqual(r.header("access-control-allow-origin"), other)
        finally:
            self.server.execute("UPDATE sites SET origins = replace(origins, ' ' || ?, '') WHERE slug = ?",
                                (other, SITE))
        r = self.call("GET", url, headers={"Origin": other})
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertEqual(self.call("GET", "/v1/sites/no-such-site/ideas").status, 404)

    def test_asset_validators(self):
        """Every compiled-in file has its own strong ETag, the same on every
        request, and If-None-Match with it answers 304 without a body."""
        tags = {}
        for path in ("/widget.js", "/widget.css", "/demo.js", "/dashboard/",
                     "/i18n/cy.json", "/robots.txt"):
            r = self.server.get(path)
            self.assertEqual(r.status, 200, (path, r))
            tag = r.header("etag")
            self.assertRegex(tag or "", r'^"[0-9a-f]{16}"$', path)
            self.assertEqual(self.server.get(path).header("etag"), tag, "stable")
            tags[path] = tag
            r = self.server.get(path, headers={"If-None-Match": tag})
            self.assertEqual((r.status, r.body), (304, b""), path)
            r = self.server.get(path, headers={"If-None-Match": '"0000000000000000"'})
            self.assertEqual(r.status, 200, path)
        self.assertEqual(len(set(tags.values())), len(tags), "one tag per file")

    def test_csv_neutralised(self):
        self.idea("=HYPERLINK(\"http://evil\")", resident="csv-1", category="csvtest")
        self.idea("+1 more bins", resident="csv-2", category="csvtest")
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?category=csvtest&format=csv")
        rows = list(csv.reader(io.StringIO(r.body[3:].decode())))
        titles = {row[2] for row in rows[1:]}
        self.assertIn("'=HYPERLINK(\"http://evil\")", titles)
        self.assertIn("'+1 more bins", titles)
        for row in rows[1:]:
            self.assertTrue(row[0].isdigit(), "numbers stay numbers")

    # ---- votes and identity -----------------------------------------------

    def test_votes(self):
        iid = self.idea("Votes: more cycle racks", resident="v-author")
        url = f"/v1/sites/{SITE}/ideas/{iid}/vote"
        r = self.call("PUT", url, token=jwt("v-1"), json_body={"value": 1})
        self.assertEqual(r.status, 201, r)
        self.assertEqual((r.json()["up"], r.json()["my_vote"]), (1, 1))
        r = self.call("PUT", url, token=jwt("v-1"), json_body={"value": 1})
        self.assertEqual((r.status, r.json()["recorded"]), (200, False))
        r = self.call("PUT", url, token=jwt("v-2"), json_body={"value": -1})
        self.assertEqual((r.json()["up"], r.json()["down"]), (1, 1))
        r = self.call("PUT", url, token=jwt("v-1"), json_body={"value": -1})
        self.assertEqual((r.json()["up"], r.json()["down"]), (0, 2), "a changed vote moves exactly")
        r = self.call("PUT", url, token=jwt("v-1"), json_body={"value": 0})
        self.assertEqual((r.json()["up"], r.json()["down"], r.json()["my_vote"]), (0, 1, 0))
        r = self.call("PUT", url, headers={"User-Agent": "device-voter/1"}, json_body={"value": 1})
        self.assertEqual((r.status, r.json()["anon_up"], r.json()["up"]), (201, 1, 0),
                         "a device's vote is counted apart")
        self.problem(self.call("PUT", url, token=jwt("v-1"), json_body={"value": 2}), 422)
        self.problem(self.call("PUT", url, token=jwt("v-1"), json_body={"value": "1"}), 422)
        self.problem(self.call("PUT", f"/v1/sites/{SITE}/ideas/999999/vote",
                               token=jwt("v-1"), json_body={"value": 1}), 404)
        self.problem(self.call("POST", url, token=jwt("v-1"), json_body={"value": 1}), 405)
        h = self.call("GET", f"/v1/sites/{SITE}/ideas/{iid}/history").json()["days"]
        self.assertEqual((h[-1]["up"], h[-1]["down"]), (1, 1))
        # The list tells a signed-in resident their own votes, and nobody else's.
        self.call("PUT", url, token=jwt("v-2"), json_body={"value": -1})
        q = f"/v1/sites/{SITE}/ideas?sort=new&limit=100"
        mine = {i["id"]: i.get("my_vote") for i in self.call("GET", q, token=jwt("v-2")).json()["items"]}
        self.assertEqual(mine[iid], -1)
        self.assertTrue(all(v in (-1, 0, 1) for v in mine.values()))
        mine = {i["id"]: i.get("my_vote") for i in self.call("GET", q, token=jwt("v-new")).json()["items"]}
        self.assertEqual(mine[iid], 0)
        anon = self.call("GET", q).json()["items"]
        self.assertTrue(all("my_vote" not in i for i in anon))
        self.problem(self.call("GET", q, token=jwt("v-2", aud="another-site")), 401)

    def test_bad_tokens(self):
        iid = self.idea("Tokens: fix the lights", resident="t-author")
        url = f"/v1/sites/{SITE}/ideas/{iid}/vote"
        cases = {
            "wrong signature": jwt("t-1", secret=b"x" * 40),
            "alg none": jwt("t-1", alg="none"),
            "alg HS512": jwt("t-1", header={"alg": "HS512", "typ": "JWT"}),
            "alg RS256": jwt("t-1", header={"alg": "RS256", "typ": "JWT"}),
            "expired": jwt("t-1", exp_in=-3600),
            "more than an hour": jwt("t-1", exp_in=7200),
            "no exp": jwt("t-1", exp=False),
            "another audience": jwt("t-1", aud="islington"),
            "no subject": jwt("", ),
            "garbage": "not.a.jwt",
            "two parts": "abc.def",
        }
        for name, token in cases.items():
            with self.subTest(name):
                r = self.call("PUT", url, token=token, json_body={"value": 1})
                self.problem(r, 401)
                self.assertIn("Bearer", r.header("www-authenticate"))
        r = self.call("PUT", url, token=jwt("t-1", aud=["other", SITE]), json_body={"value": 1})
        self.assertEqual(r.status, 201, "aud may be a list that names the site")

    # ---- staff ----------------------------------------------------------------

    def test_status_and_response(self):
        iid = self.idea("Status: a new crossing", resident="s-author")
        url = f"/v1/sites/{SITE}/ideas/{iid}/status"
        body = {"status": "accepted", "response": "We will build it in spring."}
        self.problem(self.call("POST", url, json_body=body), 401)
        self.problem(self.call("POST", url, json_body=body, token=self.moderator), 403)
        self.problem(self.call("POST", url, json_body=body, token=jwt("s-author")), 401)
        r = self.call("POST", url, json_body=body, token=self.councillor)
        self.assertEqual(r.status, 201, r)
        r = self.call("POST", url, json_body=body, token=self.councillor)
        self.assertEqual((r.status, r.json()["recorded"]), (200, False))
        doc = self.call("GET", f"/v1/sites/{SITE}/ideas/{iid}").json()
        self.assertEqual(doc["status"], "accepted")
        self.assertEqual(doc["response"]["text"], "We will build it in spring.")
        self.problem(self.call("POST", url, json_body={"status": "hidden"}, token=self.councillor), 422)
        self.problem(self.call("POST", url, json_body={"status": "nope"}, token=self.councillor), 422)
        self.problem(self.call("POST", url, json_body={"status": "done", "response": 5},
                               token=self.councillor), 422)
        self.problem(self.call("POST", f"/v1/sites/{SITE}/ideas/999999/status",
                               json_body=body, token=self.councillor), 404)
        audit = self.call("GET", f"/v1/sites/{SITE}/audit?limit=50", token=self.admin).json()
        self.assertTrue(any(e["action"] == "status" and e["idea"] == iid for e in audit["items"]))
        self.problem(self.call("GET", f"/v1/sites/{SITE}/audit", token=self.councillor), 403)

    def test_moderation(self):
        a = self.idea("Moderation: first idea", resident="m-1")
        b = self.idea("Moderation: same idea again", resident="m-2")
        for voter, value, idea in (("mv-1", 1, a), ("mv-2", 1, a), ("mv-1", -1, b), ("mv-3", 1, b)):
            self.call("PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote", token=jwt(voter),
                      json_body={"value": value})
        url = f"/v1/sites/{SITE}/ideas/{b}/moderation"
        self.problem(self.call("POST", url, json_body={"action": "hide", "reason": "x"},
                               token=self.councillor), 403)
        self.problem(self.call("POST", url, json_body={"action": "hide"}, token=self.moderator), 422)
        self.problem(self.call("POST", url, json_body={"action": "explode", "reason": "x"},
                               token=self.moderator), 422)
        self.problem(self.call("POST", url, json_body={"action": "merge", "reason": "dup"},
                               token=self.moderator), 422)
        r = self.call("POST", url, json_body={"action": "merge", "into": a, "reason": "duplicate"},
                      token=self.moderator)
        self.assertEqual(r.status, 201, r)
        target = self.call("GET", f"/v1/sites/{SITE}/ideas/{a}").json()["votes"]
        self.assertEqual((target["up"], target["down"]), (3, 0),
                         "mv-1 voted on both: the target's vote stands")
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas/{b}").json()["merged_into"], a)
        url = f"/v1/sites/{SITE}/ideas/{a}/moderation"
        r = self.call("POST", url, json_body={"action": "hide", "reason": "abusive"},
                      token=self.moderator)
        self.assertEqual(r.status, 201)
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas/{a}"), 404)
        # Nor can its votes be read through its history.
        self.problem(self.call("GET", f"/v1/sites/{SITE}/ideas/{a}/history"), 404)
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas/{a}/history",
                                   token=self.moderator).status, 200)
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas/{a}", token=self.moderator).status, 200)
        r = self.call("POST", url, json_body={"action": "reject", "reason": "x"}, token=self.moderator)
        self.assertEqual(r.json()["recorded"], False)
        self.problem(self.call("POST", f"/v1/sites/{SITE}/ideas/{b}/moderation",
                               json_body={"action": "publish", "reason": "x"},
                               token=self.moderator), 409)
        r = self.call("POST", url, json_body={"action": "publish", "reason": "ok on appeal"},
                      token=self.admin)
        self.assertEqual(r.status, 201)

    def test_withdraw(self):
        iid = self.idea("Withdraw: my own idea", resident="w-author")
        url = f"/v1/sites/{SITE}/ideas/{iid}/withdraw"
        self.problem(self.call("POST", url, token=jwt("w-other")), 403)
        self.assertEqual(self.call("POST", url, token=jwt("w-author")).status, 201)
        self.assertEqual(self.call("POST", url, token=jwt("w-author")).json()["recorded"], False)

    # ---- residents' rights -----------------------------------------------------

    def test_residents_me(self):
        iid = self.idea("Rights: a community garden", resident="me-1")
        other = self.idea("Rights: another idea", resident="me-2")
        self.call("PUT", f"/v1/sites/{SITE}/ideas/{other}/vote", token=jwt("me-1"),
                  json_body={"value": 1})
        url = f"/v1/sites/{SITE}/residents/me"
        self.problem(self.call("GET", url), 401)
        r = self.call("GET", url, token=jwt("me-1"))
        self.assertEqual(r.status, 200)
        board = [c for c in r.json()["consultations"] if c["consultation"] == "ideas"][0]
        self.assertEqual([v["idea"] for v in board["votes"]], [other])
        self.assertEqual([i["id"] for i in board["ideas"]], [iid])
        r = self.call("DELETE", url, token=jwt("me-1"))
        self.assertEqual((r.status, r.json()["recorded"], r.json()["erased"]), (200, True, 2))
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas/{other}").json()["votes"]["up"], 0)
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}/ideas/{iid}").status, 200,
                         "the idea stays, detached")
        r = self.call("DELETE", url, token=jwt("me-1"))
        self.assertEqual(r.json()["recorded"], False)
        self.problem(self.call("PUT", url, token=jwt("me-1")), 405)

    # ---- CORS -------------------------------------------------------------------

    def test_cors(self):
        url = f"/v1/sites/{SITE}/feedback"
        r = self.call("OPTIONS", url, headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type"})
        self.assertEqual(r.status, 204)
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
        self.assertIn("POST", r.header("access-control-allow-methods"))
        self.assertIn("Content-Type", r.header("access-control-allow-headers"))
        self.assertEqual(r.header("vary"), "Origin")
        r = self.call("OPTIONS", url, headers={"Origin": "https://evil.example",
                                               "Access-Control-Request-Method": "POST"})
        self.problem(r, 403)
        self.assertIsNone(r.header("access-control-allow-origin"))
        r = self.call("GET", f"/v1/sites/{SITE}/ideas", headers={"Origin": ORIGIN})
        self.assertEqual(r.header("access-control-allow-origin"), ORIGIN)
        self.assertEqual(r.header("vary"), "Origin")
        r = self.call("GET", f"/v1/sites/{SITE}/ideas", headers={"Origin": "https://evil.example"})
        self.assertIsNone(r.header("access-control-allow-origin"))
        self.assertEqual(r.header("vary"), "Origin")
        r = self.call("OPTIONS", f"/v1/sites/{SITE}/ideas/1/vote", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "PUT"})
        self.assertIn("PUT", r.header("access-control-allow-methods"))

    # ---- connections ---------------------------------------------------------------

    def test_keep_alive(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=5)
        conn.request("GET", "/healthz")
        r1 = conn.getresponse()
        r1.read()
        sock = conn.sock
        conn.request("GET", f"/v1/sites/{SITE}/ideas?limit=1")
        r2 = conn.getresponse()
        r2.read()
        self.assertIs(conn.sock, sock, "the same connection served both")
        self.assertEqual((r1.status, r2.status), (200, 200))
        self.assertEqual(r2.getheader("connection"), "keep-alive")
        conn.close()

    def test_pipelining(self):
        reqs = (b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                b"GET /v1/sites/camden HTTP/1.1\r\nHost: x\r\n\r\n"
                b"PUT /v1/sites/camden/ideas/1/vote HTTP/1.1\r\nHost: x\r\n"
                b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
                b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        out = parse_responses(self.server.raw(reqs))
        self.assertEqual([s for s, _, _ in out], [200, 200, 422, 404],
                         "answers in request order, the write in between")
        self.assertEqual(json.loads(out[1][2])["slug"], "camden")
        many = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" * 100
        out = parse_responses(self.server.raw(many + b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        self.assertEqual(len(out), 101)

    def test_http10_and_close(self):
        out = parse_responses(self.server.raw(b"GET /healthz HTTP/1.0\r\n\r\n"))
        self.assertEqual(out[0][0], 200)
        self.assertEqual(out[0][1]["connection"], "close")

    def test_urllib_client(self):
        # Python's urllib, as a council's script would use it.
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.server.port}/v1/sites/{SITE}/feedback",
            data=json.dumps({"page": PAGE + "/urllib", "useful": False}).encode(),
            headers={"Content-Type": "application/json", "User-Agent": "urllib-test"},
            method="POST")
        with urllib.request.urlopen(req, timeout=5) as r:
            self.assertEqual(r.status, 201)
            doc = json.loads(r.read())
            self.assertEqual(doc["recorded"], True)
            self.assertEqual(len(doc["answer"]), 22)


class RateLimits(unittest.TestCase):
    def setUp(self):
        self.server = Server("--rate-limit", "3")

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0)
        self.server.cleanup()

    def test_anonymous_writes_limited(self):
        statuses = []
        for i in range(5):
            r = self.server.request("POST", f"/v1/sites/{SITE}/feedback",
                                    headers={"User-Agent": f"rl/{i}"},
                                    json_body={"page": PAGE + f"/{i}", "useful": True})
            openapi_check.check("POST", f"/v1/sites/{SITE}/feedback", r)
            statuses.append(r.status)
        self.assertEqual(statuses, [201, 201, 201, 429, 429])
        r = self.server.request("POST", f"/v1/sites/{SITE}/feedback",
                                headers={"User-Agent": "rl/x"},
                                json_body={"page": PAGE, "useful": True})
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        # Residents are not limited by the anonymous bucket.
        iid = self.server.request("POST", f"/v1/sites/{SITE}/ideas", token=jwt("rl-r"),
                                  json_body={"title": "Limits do not apply"}).json()["id"]
        self.assertGreater(iid, 0)
        m = self.server.get("/metrics").body.decode()
        self.assertRegex(m, r'townhall_rate_limited_total\{limit="anonymous_write"\} 3')
        # A no-script form post over the limit: a page saying to wait.
        r = self.server.request("POST", f"/v1/sites/{SITE}/feedback",
                                headers={"User-Agent": "rl/form",
                                         "Content-Type": "application/x-www-form-urlencoded"},
                                body=urllib.parse.urlencode({"page": PAGE, "useful": "yes",
                                                             "lang": "so"}))
        openapi_check.check("POST", f"/v1/sites/{SITE}/feedback", r)
        self.assertEqual((r.status, r.header("content-type")), (429, "text/html; charset=utf-8"))
        self.assertGreaterEqual(int(r.header("retry-after")), 1)
        self.assertIn("Fadlan sug", r.body.decode())

    def test_page_answers_limited(self):
        # The per-page cap: new answers on one page from one address, per
        # hour. The user agent and the key are the sender's to choose, so
        # they make no difference.
        server = Server("--rate-limit", "100", "--rate-limit-page", "2")
        try:
            def post(page, n, body=None):
                return server.request(
                    "POST", f"/v1/sites/{SITE}/feedback",
                    headers={"User-Agent": f"stuffer/{n}", "Idempotency-Key": f"s{n}"},
                    json_body=body or {"page": page, "useful": False})
            first = post(PAGE + "/stuffed", 1)
            self.assertEqual(first.status, 201)
            self.assertEqual(post(PAGE + "/stuffed", 2).status, 201)
            r = post(PAGE + "/stuffed", 3)
            openapi_check.check("POST", f"/v1/sites/{SITE}/feedback", r)
            self.assertEqual(r.status, 429)
            self.assertEqual(r.json()["type"], "urn:townhall:problem:rate-limited")
            self.assertGreaterEqual(int(r.header("retry-after")), 60,
                                    "a token comes back every half hour here")
            self.assertEqual(post(PAGE + "/other", 4).status, 201, "another page: its own cap")
            r = post(None, 5, {"answer": first.json()["answer"], "rating": 2})
            self.assertEqual((r.status, r.json()), (200, {"recorded": True}),
                             "an amendment adds no answer: not capped")
            r = server.request("GET", f"/v1/sites/{SITE}/feedback/summary?page="
                               + Q(PAGE + "/stuffed"), token=server.tokens["admin"])
            self.assertEqual(r.json()["responses"], 2, "nothing refused was recorded")
            m = server.get("/metrics").body.decode()
            self.assertRegex(m, r'townhall_rate_limited_total\{limit="page_answers"\} 1')
            self.assertRegex(m, r"townhall_rate_limit_per_page_hour 2")
        finally:
            self.assertEqual(server.stop(), 0)
            server.cleanup()

    def test_staff_token_guessing_slowed(self):
        url = f"/v1/sites/{SITE}/audit"
        statuses = [self.server.get(url, token=f"th_1_{i:032d}").status for i in range(12)]
        self.assertEqual(statuses[:10], [401] * 10)
        self.assertEqual(statuses[10:], [429, 429])
        r = self.server.get(url, token=self.server.tokens["admin"])
        self.assertEqual(r.status, 429, "even a right token waits once the limit is hit")


class Proxies(unittest.TestCase):
    def test_trusted_proxy_and_logs(self):
        """The client address comes from X-Forwarded-For only through a
        trusted proxy; it is used (rate limit, device) and never logged."""
        server = Server("--trusted-proxy", "127.0.0.1", "--rate-limit", "2")
        try:
            def post(ip, n):
                return server.request(
                    "POST", f"/v1/sites/{SITE}/feedback",
                    headers={"X-Forwarded-For": f"198.51.100.1, {ip}",
                             "User-Agent": "ProbeAgent/7.7"},
                    json_body={"page": PAGE + f"/p{n}", "useful": True}).status
            self.assertEqual([post("203.0.113.77", i) for i in range(3)], [201, 201, 429])
            self.assertEqual(post("203.0.113.78", 9), 201, "another client: its own bucket")
        finally:
            self.assertEqual(server.stop(), 0)
        log = server.log_text()
        for secret in ("203.0.113.77", "203.0.113.78", "198.51.100.1", "ProbeAgent"):
            self.assertNotIn(secret, log)
        server.cleanup()


class Vocabularies(openapi_check.ServerCase):
    """Wards and categories: a site's own lists (townhall site set), or
    free text scrubbed like every other field a resident writes; and the
    text staff write, scrubbed except for the council's own contacts."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("--rate-limit", "100000")
        cls.admin = cls.server.tokens["admin"]
        cls.councillor = cls.server.tokens["councillor"]

    def site(self, slug, *args):
        """A site of its own (resident tokens signed with the harness's
        secret), set with `townhall site set SLUG ARGS...`."""
        db = self.server.db
        run("site", "add", slug, "--name", f"Site {slug}", db=db)
        secret = os.path.join(self.server.dir, "secret-" + slug)
        with open(secret, "wb") as f:
            f.write(SECRET)
        run("site", "secret", slug, "--from-file", secret, db=db)
        os.unlink(secret)
        if args:
            run("site", "set", slug, *args, db=db)

    def post(self, slug, who, **fields):
        return self.call("POST", f"/v1/sites/{slug}/ideas",
                         json_body=fields, token=jwt(who, aud=slug))

    def test_free_text_category_and_ward_scrubbed(self):
        """The issue's own request: a site with no lists takes free text,
        but scrubbed, in the API, the staff CSV and open/ideas.csv."""
        r = self.call("POST", f"/v1/sites/{SITE}/ideas", token=jwt("vocab-1"),
                      json_body={"title": "Fix the lights",
                                 "category": "canary@example.org",
                                 "ward": "07700 900461"})
        self.assertEqual(r.status, 201, r)
        iid = r.json()["id"]
        secrets = (b"canary@example.org", b"canary", b"07700", b"900461")
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?sort=new&limit=100")
        self.assertEqual(r.status, 200)
        for s in secrets:
            self.assertNotIn(s, r.body)
        mine = [i for i in r.json()["items"] if i["id"] == iid]
        self.assertEqual(len(mine), 1)
        self.assertEqual((mine[0]["category"], mine[0]["ward"]),
                         ("[email]", "[phone]"))
        r = self.call("GET", f"/v1/sites/{SITE}/ideas?format=csv",
                      token=self.admin)
        self.assertEqual(r.status, 200)
        self.assertIn(b"Fix the lights", r.body)
        for s in secrets:
            self.assertNotIn(s, r.body)
        # Open data publishes last week's ideas: move this one back a week
        # (as if proposed then) and ask a fresh server for the file.
        self.server.stop()
        self.server.execute("UPDATE ideas SET created = created - 8 * 86400000"
                            " WHERE id = ?", (iid,))
        self.server.start()
        r = self.call("GET", f"/v1/sites/{SITE}/open/ideas.csv")
        self.assertEqual(r.status, 200)
        self.assertIn(b"Fix the lights", r.body)
        for s in secrets:
            self.assertNotIn(s, r.body)
        rows = list(csv.reader(io.StringIO(r.body[3:].decode())))
        row = [x for x in rows if x[0] == str(iid)]
        self.assertEqual(len(row), 1, rows)
        head = rows[0]
        self.assertEqual((row[0][head.index("category")],
                          row[0][head.index("ward")]), ("[email]", "[phone]"))

    def test_site_lists(self):
        """A site's wards and categories: served for the widget, and the
        only values an idea may take (422 naming the field otherwise)."""
        self.site("vocab", "--wards", "Kentish Town,Highgate",
                  "--categories", "Parks,Roads and pavements")
        r = self.call("GET", "/v1/sites/vocab")
        self.assertEqual(r.status, 200)
        doc = r.json()
        self.assertEqual(doc["wards"], ["Kentish Town", "Highgate"])
        self.assertEqual(doc["categories"], ["Parks", "Roads and pavements"])
        self.assertEqual(self.call("GET", f"/v1/sites/{SITE}").json()["wards"],
                         [], "a site without a list says so")
        r = self.post("vocab", "v-1", title="Benches by the pond",
                      ward="Gospel Oak", category="Parks")
        doc = self.problem(r, 422)
        self.assertIn("ward", doc["detail"])
        self.assertIn("Gospel Oak", doc["detail"])
        self.assertIn("Highgate", doc["detail"], "the choices are named")
        r = self.post("vocab", "v-1", title="Benches by the pond",
                      ward="Highgate", category="canary@example.org")
        doc = self.problem(r, 422)
        self.assertIn("category", doc["detail"])
        self.assertNotIn("canary", doc["detail"])
        r = self.post("vocab", "v-1", title="Benches by the pond",
                      ward="highgate", category="  Parks ")
        self.assertEqual(r.status, 201, r)
        idea = self.call("GET", f"/v1/sites/vocab/ideas/{r.json()['id']}").json()
        self.assertEqual((idea["ward"], idea["category"]), ("Highgate", "Parks"),
                         "stored as the list spells it")
        r = self.post("vocab", "v-2", title="A borough-wide idea")
        self.assertEqual(r.status, 201, "ward and category stay optional")
        r = self.post("vocab", "v-3", title="Another borough-wide idea",
                      ward="", category="")
        self.assertEqual(r.status, 201, "\"Not given\" is an empty value")
        # Lists can be changed and dropped while the server runs.
        run("site", "set", "vocab", "--wards", "", db=self.server.db)
        self.assertEqual(self.call("GET", "/v1/sites/vocab").json()["wards"], [])
        r = self.post("vocab", "v-4", title="Lights on the heath",
                      ward="Gospel Oak 07700 900461")
        self.assertEqual(r.status, 201, r)
        idea = self.call("GET", f"/v1/sites/vocab/ideas/{r.json()['id']}").json()
        self.assertEqual(idea["ward"], "Gospel Oak [phone]")

    def test_staff_text_scrubbed(self):
        """A councillor pasting a resident's e-mail into a response does not
        publish it; the council's own switchboard (its contacts) stays."""
        self.site("staff", "--contacts", "020 7974 4444")
        token = run("token", "create", "--site", "staff", "--role", "admin",
                    "--label", "staff admin", db=self.server.db).stdout
        token = re.search(r"(th_\d+_\S+)", token).group(1)
        r = self.post("staff", "s-1", title="A crossing on the high road")
        iid = r.json()["id"]
        said = ("Agreed. jo.bloggs@example.net asked us to call back: ring "
                "020 7974 4444 for the works.")
        r = self.call("POST", f"/v1/sites/staff/ideas/{iid}/status",
                      token=token,
                      json_body={"status": "accepted", "response": said})
        self.assertEqual(r.status, 201, r)
        want = ("Agreed. [email] asked us to call back: ring 020 7974 4444 "
                "for the works.")
        doc = self.call("GET", f"/v1/sites/staff/ideas/{iid}").json()
        self.assertEqual(doc["response"]["text"], want)
        r = self.call("GET", "/v1/sites/staff/ideas?format=csv", token=token)
        self.assertNotIn(b"jo.bloggs", r.body)
        self.assertIn(b"020 7974 4444", r.body)
        r = self.call("POST", f"/v1/sites/staff/ideas/{iid}/moderation",
                      token=token,
                      json_body={"action": "hide",
                                 "reason": "Names sam@example.net"})
        self.assertEqual(r.status, 201, r)
        audit = self.call("GET", "/v1/sites/staff/audit", token=token)
        self.assertNotIn(b"sam@example.net", audit.body)
        self.assertIn(b"Names [email]", audit.body)

    def problem(self, r, status):
        self.assertEqual(r.status, status, r)
        self.assertEqual(r.header("content-type"), "application/problem+json")
        return r.json()

    def test_site_set_and_show(self):
        """townhall site set changes a site after site add; site show
        prints it; bad values are usage errors (status 2)."""
        db = self.server.db
        run("site", "add", "setme", "--name", "Set Me", db=db)
        r = run("site", "set", "setme", "--moderation", "on",
                "--origins", "https://www.example.gov.uk",
                "--retention-days", "90", "--open-data-threshold", "10",
                "--wards", "North,South", "--categories", "Parks",
                "--contacts", "020 7974 4444,NW1 2DB", db=db)
        self.assertIn("updated site setme", r.stdout)
        show = run("site", "show", "setme", db=db).stdout
        settings = dict(re.match(r"(\S+)\s+(.*)$", line).groups()
                        for line in show.splitlines() if " " in line.strip())
        self.assertEqual(settings["moderation"], "on")
        self.assertEqual(settings["origins"], "https://www.example.gov.uk")
        self.assertEqual(settings["retention-days"], "90")
        self.assertEqual(settings["open-data-threshold"], "10")
        self.assertEqual(settings["wards"], "North, South")
        self.assertEqual(settings["contacts"], "020 7974 4444, NW1 2DB")
        self.assertEqual(settings["anonymous"], "off", "what was not named stays")
        site = self.call("GET", "/v1/sites/setme").json()
        self.assertTrue(site["moderate_ideas"])
        self.assertEqual(site["wards"], ["North", "South"])
        r = run("site", "set", "setme", "--moderation", "on", db=db)
        self.assertIn("nothing changed", r.stdout)
        for args, says in (
                (["--moderation", "maybe"], "on or off"),
                (["--retention-days", "ninety"], "whole number"),
                (["--retention-days", "99999"],
                 "--retention-days must be 1 to 36500"),
                (["--open-data-threshold", "2"],
                 "--open-data-threshold 2 would show"),
                (["--origins", "https://x.example/path"], "origin"),
                (["--wards", "North,north"], "twice"),
                (["--bogus", "1"], "unknown option"),
                ([], "nothing to change")):
            with self.subTest(args=args):
                p = run("site", "set", "setme", *args, db=db, check=False)
                self.assertEqual(p.returncode, 2, p.stderr)
                self.assertIn(says, p.stderr)
        p = run("site", "set", db=db, check=False)
        self.assertEqual(p.returncode, 2)
        p = run("site", "set", "nowhere", "--moderation", "on", db=db,
                check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no site", p.stderr)
        p = run("site", "show", "nowhere", db=db, check=False)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(run("site", "show", "setme", db=db).stdout, show,
                         "a refused change changed nothing")


if __name__ == "__main__":
    unittest.main()
