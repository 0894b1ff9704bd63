"""Every CSV file the server serves, opened as a spreadsheet opens it.

Text that residents and staff write reaches four CSV files: the staff
exports (ideas?format=csv, feedback/pages?format=csv) and the open data
(open/ideas.csv, open/feedback.csv). A spreadsheet evaluates a cell that
starts with = (and often +, - or @) as a formula, and where it splits the
file depends on its locale and its user: the comma, the semicolon (most
of Europe), a tab, a vertical bar, or several at once (LibreOffice's
import dialog lets the user tick them all). So the text `x;=1+2;y` in a
comma-separated file becomes a formula for a reader splitting at ";".

Each file is opened by LibreOffice Calc itself (headless, the import
filter told the separator and to evaluate formulas), converted to flat
OpenDocument (.fods), and read back:

  - with every separator configuration, no cell is a formula;
  - where the reader splits at the comma alone, or at every separator
    but honours quotes, every row has its columns in place and every cell
    that holds injected text holds all of it (quoting kept it whole).

The data is written through the Python binding with a clock three weeks
back, so that the open data (which leaves out the week in progress)
publishes it.
"""
import csv
import datetime
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
sys.path.insert(0, os.path.join(SRC, "tests", "api"))
sys.path.insert(0, os.path.join(SRC, "bindings", "python"))
os.environ.setdefault("TOWNHALL_LIBRARY",
                      os.path.join(BUILD, "core", ".libs", "libtownhall.so.1"))

from harness import Server, run  # noqa: E402
from townhall import Townhall, Who  # noqa: E402

sys.path.insert(0, HERE)
import calc  # noqa: E402

SITE = "sheets"
ORIGIN = "https://www.sheets.example"
# Text that a spreadsheet would evaluate somewhere, once split.
TITLES = ["x;=1+2;y", "x,=1+2,y", "x|=1+2|y", "=1+2", "  =1+2", "+1+2",
          "-1+2", "@SUM(1)", "x; =1+2", "x;+1+2;y", "x|-1+2", "x,@SUM(1)"]
RESPONSES = ["a\n=1+2", "b\r\n=1+2", "c\t=1+2", "d;=1+2", "\t=1+2",
             "e\n@SUM(1)"]
PAGES = ["/a;=1+2;b", "/a,=1+2", "/x|=1+2", "/y;-1+2", "/z;@SUM(1)"]
# Separators as LibreOffice's CSV import takes them (calc.convert).
SEPARATORS = {"comma": "44", "semicolon": "59", "tab": "9",
              "vertical bar": "124", "all four at once": "44/59/9/124"}
QUOTES_HONOURED = ("comma", "all four at once")

T = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
X = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"


class Spreadsheets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="townhall-sheets-",
                                   dir=os.environ.get("TH_ARTIFACTS"))
        # The server's directory apart: its cleanup removes it.
        served = os.path.join(cls.dir, "server")
        os.mkdir(served)
        db = os.path.join(served, "townhall.db")
        when = datetime.datetime.now(datetime.timezone.utc) - \
            datetime.timedelta(days=21)
        with Townhall(db, clock=lambda: when) as th:
            th.create_site(SITE, "Spreadsheets", origins=ORIGIN)
            device = 0
            for page in PAGES:
                for _ in range(10):
                    device += 1
                    th.record_feedback(SITE, Who.device(
                        f"10.0.{device // 256}.{device % 256}", "sheets"),
                        ORIGIN + page, useful=True, rating=4)
            for k, title in enumerate(TITLES):
                idea = th.submit_idea(SITE, f"author-{k}", title)
                for v in range(10):
                    th.vote(SITE, f"voter-{v}", idea.id, 1)
                if k < len(RESPONSES):
                    th.set_idea_status(SITE, idea.id, "accepted",
                                       response=RESPONSES[k],
                                       actor="sheets test")
        token = run("token", "create", "--site", SITE, "--role", "admin",
                    "--label", "sheets", db=db).stdout.split()[-1]
        server = Server(site=False, directory=served)
        cls.files = {}
        try:
            for name, path, tok in (
                    ("open-ideas", f"/v1/sites/{SITE}/open/ideas.csv", None),
                    ("open-feedback", f"/v1/sites/{SITE}/open/feedback.csv",
                     None),
                    ("staff-ideas", f"/v1/sites/{SITE}/ideas?format=csv",
                     token),
                    ("staff-pages",
                     f"/v1/sites/{SITE}/feedback/pages?format=csv", token)):
                r = server.get(path, token=tok)
                if r.status != 200:
                    raise RuntimeError(f"GET {path}: {r}")
                cls.files[name] = os.path.join(cls.dir, name + ".csv")
                with open(cls.files[name], "wb") as f:
                    f.write(r.body)
        finally:
            server.cleanup()
        # Each configuration once, every file in one run of LibreOffice.
        cls.sheets = {}
        cls.soffice_error = None
        try:
            for label, seps in SEPARATORS.items():
                got = calc.convert(list(cls.files.values()), seps, cls.dir)
                for name, path in cls.files.items():
                    cls.sheets[label, name] = got[path]
        except calc.CalcError as e:
            cls.soffice_error = str(e)

    @classmethod
    def tearDownClass(cls):
        if not os.environ.get("TH_ARTIFACTS"):
            shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        if self.soffice_error:
            self.fail(self.soffice_error)

    def expected(self, name):
        """The file as a CSV reader honouring quotes reads it."""
        with open(self.files[name], encoding="utf-8-sig", newline="") as f:
            rows = list(csv.reader(f))
        for r in rows:
            while r and r[-1] == "":
                r.pop()
        return rows

    def test_the_files_hold_the_injected_text(self):
        # Proves the data reached every file (else the rest proves nothing).
        for name in self.files:
            with self.subTest(name):
                text = "\n".join("\t".join(r) for r in self.expected(name))
                self.assertIn("1+2", text)
        staff = "\n".join(c for r in self.expected("staff-ideas") for c in r)
        for t in TITLES + RESPONSES:
            self.assertIn(t.replace("\r\n", "\n").strip()[-4:],
                          staff.replace("\r\n", "\n"))

    def test_no_cell_is_a_formula(self):
        for (label, name), rows in sorted(self.sheets.items()):
            with self.subTest(separator=label, file=name):
                self.assertEqual(calc.formulas(rows), [],
                                 f"{name}.csv opened with {label} as "
                                 "separator has formulas (row, column, "
                                 "shown, formula)")

    def test_cells_stay_whole_where_quotes_are_honoured(self):
        for label in QUOTES_HONOURED:
            for name in self.files:
                with self.subTest(separator=label, file=name):
                    want = self.expected(name)
                    got = self.sheets[label, name]
                    self.assertEqual([len(r) for r in got],
                                     [len(r) for r in want],
                                     "columns per row: a cell was split")
                    for i, row in enumerate(want):
                        for j, cell in enumerate(row):
                            if "1+2" in cell or "SUM" in cell:
                                self.assertEqual(
                                    got[i][j][0].replace("\r\n", "\n"),
                                    cell.replace("\r\n", "\n"),
                                    f"row {i + 1}, column {j + 1}")


if __name__ == "__main__":
    unittest.main()
