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

    def test_feedback_per_page_per_week(self):
        for site in ("camden", "exact", "tens"):
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
        # /x: 15 yes and 10 ones are now below 16; 9 no stays *; 14 fives
        # too; responses 24 (yes and no both withheld) -> 20.
        self.assertEqual(got[1], ["https://www.tens.example/x", "2026-W02",
                                  "*", "*", "*", "0", "0", "0", "*", "20"])
        self.assertEqual(rows(self.fetch(url)[1]), want, "and back")

    def test_unknown_file_and_site(self):
        self.assertEqual(self.server.get("/v1/sites/camden/open/secrets.csv").status, 404)
        self.assertEqual(self.server.get("/v1/sites/nowhere/open/ideas.csv").status, 404)
        r = self.server.request("HEAD", "/v1/sites/camden/open/ideas.csv")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, b"")
        r = self.server.request("POST", "/v1/sites/camden/open/ideas.csv", body=b"")
        self.assertEqual(r.status, 405)


if __name__ == "__main__":
    unittest.main()
