"""Open data that is safe to publish: the two CSV files of each site, served
by a real server over hand-made data (fixture.c, see README.md), compared
cell by cell with expected/*.csv, written by hand."""
import csv
import datetime
import io
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

from harness import Server  # noqa: E402

FIXTURE = os.environ.get("TH_OPENDATA_FIXTURE")
OGL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"


def rows(text):
    return list(csv.reader(io.StringIO(text, newline="")))


def expected(name):
    with open(os.path.join(HERE, "expected", name), encoding="utf-8", newline="") as f:
        return rows(f.read())


class OpenData(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = tempfile.mkdtemp(prefix="townhall-opendata-",
                             dir=os.environ.get("TH_ARTIFACTS"))
        r = subprocess.run([FIXTURE, os.path.join(d, "townhall.db")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("fixture: " + r.stderr)
        cls.server = Server(site=False, directory=d)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def fetch(self, path):
        r = self.server.get(path)
        self.assertEqual(r.status, 200, r)
        body = r.body
        self.assertTrue(body.startswith(b"\xef\xbb\xbf"),
                        "UTF-8 with a byte-order mark, for spreadsheets")
        text = body[3:].decode("utf-8")
        # Records end with CRLF (RFC 4180); a bare LF only inside quotes.
        self.assertTrue(text.endswith("\r\n"))
        return r, text

    def test_feedback_running_totals(self):
        for site in ("camden", "small", "tens"):
            with self.subTest(site):
                _, text = self.fetch(f"/v1/sites/{site}/open/feedback.csv?from=2025-12-29")
                self.assertEqual(rows(text), expected(f"{site}-feedback.csv"))

    def test_ideas(self):
        _, text = self.fetch("/v1/sites/camden/open/ideas.csv")
        self.assertEqual(rows(text), expected("camden-ideas.csv"))
        for who in ("author-", "voter-", "Cllr Fixture", "moderator"):
            self.assertNotIn(who, text, "no author, voter or staff member")
        self.assertIn("\"'=HYPERLINK(", text, "a formula is neutralised")

    def test_licence_and_headers(self):
        for f in ("feedback.csv", "ideas.csv"):
            with self.subTest(f):
                r, _ = self.fetch(f"/v1/sites/camden/open/{f}")
                self.assertTrue(r.header("Content-Type").startswith("text/csv"))
                link = r.header("Link") or ""
                self.assertIn(OGL, link)
                self.assertIn('rel="license"', link)
                self.assertIn("Open Government Licence v3.0", link)
                self.assertEqual(r.header("Access-Control-Allow-Origin"), "*")
                self.assertIn("public", r.header("Cache-Control"))
                self.assertIn(f'filename="camden-{f}"', r.header("Content-Disposition"))

    def test_only_complete_weeks(self):
        _, text = self.fetch("/v1/sites/camden/open/feedback.csv")
        y, w, _ = datetime.datetime.now(datetime.timezone.utc).date().isocalendar()
        this_week = f"{y:04d}-W{w:02d}"
        got = rows(text)
        self.assertEqual(got[0], expected("camden-feedback.csv")[0])
        self.assertFalse([r for r in got[1:] if r[1] == this_week],
                         "the week in progress is not published")
        self.assertTrue(all(r in expected("camden-feedback.csv") for r in got[1:]),
                        "the default window (52 weeks) holds only complete weeks")

    def test_from(self):
        _, text = self.fetch("/v1/sites/camden/open/feedback.csv?from=2026-01-14")
        want = [r for r in expected("camden-feedback.csv") if r[1] != "2026-W01"
                and r[1] != "2026-W02"]
        self.assertEqual(rows(text), want, "from a Wednesday: its whole week")
        r = self.server.get("/v1/sites/camden/open/feedback.csv?from=soon")
        self.assertEqual(r.status, 422)
        _, text = self.fetch("/v1/sites/camden/open/feedback.csv?from=2099-01-05")
        self.assertEqual(len(rows(text)), 1, "a future window: the header only")

    def test_settings_change_the_file_at_once(self):
        """A file kept from an earlier request (complete weeks do not
        change) is never served once the site's settings have changed."""
        url = "/v1/sites/tens/open/feedback.csv?from=2025-12-29"
        want = expected("tens-feedback.csv")
        for _ in range(3):
            self.assertEqual(rows(self.fetch(url)[1]), want, "the same, again")
        db = sqlite3.connect(os.path.join(self.server.dir, "townhall.db"))
        try:
            db.execute("UPDATE sites SET open_min = 16 WHERE slug = 'tens'")
            db.commit()
            got = rows(self.fetch(url)[1])
        finally:
            db.execute("UPDATE sites SET open_min = 10 WHERE slug = 'tens'")
            db.commit()
            db.close()
        # /x: 15 yes and 9 no are now below 16: both withheld, so the
        # ratings and responses are too.
        self.assertEqual(got[1], ["https://www.tens.example/x", "2026-W02",
                                  "*", "*", "*", "*", "*", "*", "*", "*"])
        self.assertEqual(rows(self.fetch(url)[1]), want, "and back")

    def test_unknown_file_and_site(self):
        self.assertEqual(self.server.get("/v1/sites/camden/open/secrets.csv").status, 404)
        self.assertEqual(self.server.get("/v1/sites/nowhere/open/ideas.csv").status, 404)
        r = self.server.request("HEAD", "/v1/sites/camden/open/ideas.csv")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        r = self.server.request("POST", "/v1/sites/camden/open/ideas.csv", body=b"")
        self.assertEqual(r.status, 405)


class BuiltOffTheLoop(unittest.TestCase):
    """feedback.csv aggregates every answer in its window: on a large site
    that takes a while, and anyone may ask for it. It is built off the
    server's loop, one file at a time: meanwhile the loop answers everyone
    else, and another open-data file to build gets 503 and Retry-After."""

    def test_a_slow_build_leaves_the_loop_serving(self):
        d = tempfile.mkdtemp(prefix="townhall-opendata-big-",
                             dir=os.environ.get("TH_ARTIFACTS"))
        db = os.path.join(d, "townhall.db")
        r = subprocess.run([FIXTURE, db], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        con = sqlite3.connect(db)
        page, first, last = con.execute(
            "SELECT p.id, p.first_day, p.last_day FROM pages p JOIN sites s"
            " ON s.id = p.site_id WHERE s.slug = 'camden' ORDER BY p.id"
            " LIMIT 1").fetchone()
        n = 1500000  # a second or so of aggregation on this machine
        con.executemany(
            "INSERT INTO feedback (page_id, day, useful, rating) VALUES (?, ?, ?, ?)",
            ((page, first + i % (last - first + 1), i % 2, 1 + i % 5) for i in range(n)))
        con.commit()
        con.close()
        # The database is not left for the privacy scan (1.5 million
        # made-up answers, nothing the tests sent, would only slow it down);
        # the server's log is.
        def drop_database():  # the server's cleanup may have removed it all
            for f in os.listdir(d) if os.path.isdir(d) else ():
                if f.startswith("townhall.db"):
                    os.unlink(os.path.join(d, f))
        self.addCleanup(drop_database)
        server = Server(site=False, directory=d)
        self.addCleanup(server.cleanup)

        # Two different files asked for at the same moment: whichever the
        # server reads second arrives while the first is being built.
        url = "/v1/sites/camden/open/feedback.csv"
        paths = {"a": url, "b": url + "?from=2025-12-01"}
        answers = {}

        def fetch(k):
            try:
                answers[k] = server.get(paths[k], timeout=600)
            except Exception as e:  # noqa: BLE001 (reported below)
                answers[k] = e
        threads = {k: threading.Thread(target=fetch, args=(k,)) for k in paths}
        for t in threads.values():
            t.start()
        deadline = time.time() + 600
        while not answers and time.time() < deadline:
            time.sleep(0.002)
        self.assertTrue(answers, "no answer at all in 10 minutes")
        quick = next(iter(answers))
        self.assertNotIsInstance(answers[quick], Exception, answers[quick])
        slow = "b" if quick == "a" else "a"
        busy = answers[quick]
        self.assertEqual(busy.status, 503, "the second file asked for while the first "
                         "is built: 503 (both built in turn would mean the loop built them)")
        self.assertEqual(busy.header("retry-after"), "5")
        self.assertEqual(busy.json()["type"], "urn:townhall:problem:busy")
        self.assertTrue(threads[slow].is_alive())
        health = server.get("/healthz")
        self.assertEqual(health.status, 200)
        future = server.get(url + "?from=2099-01-05")
        self.assertEqual((future.status, len(rows(future.body[3:].decode("utf-8")))),
                         (200, 1), "a window with no complete week needs no build: "
                         "the header, at once")
        self.assertTrue(threads[slow].is_alive(), "the loop answered /healthz and the "
                        "empty window while the file was still being built")
        threads[slow].join(600)
        built = answers[slow]
        self.assertNotIsInstance(built, Exception, built)
        self.assertEqual(built.status, 200, built)
        data = [row for row in rows(built.body[3:].decode("utf-8"))[1:] if row[2] != "*"]
        self.assertTrue(data, "the answers added are in the file")
        again = server.get(paths[slow])
        self.assertEqual(again.body, built.body, "the same file again")
        r = server.get(paths[quick], timeout=600)
        self.assertEqual(r.status, 200, "and the other file is built in turn")


if __name__ == "__main__":
    unittest.main()
