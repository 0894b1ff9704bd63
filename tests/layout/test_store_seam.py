"""The store seam (issue 14): only core/store/ speaks to the engine.

Outside core/store/, no C file of the library or the command includes
sqlite3.h or libpq's libpq-fe.h (issue 15), names a sqlite3_ function or
type, a SQLITE_ constant or a libpq function or type (PQ..., PGconn), or
holds SQL text in a string literal. SQL lives in core/store/ (statements.h
and the builders of queries whose shape varies) and in migrations/. Run
from the top of the source tree (TH_SRC).
"""
import os
import re
import unittest

SRC = os.environ.get("TH_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))

# A statement's first words, as the store writes them (upper case).
SQL = re.compile(
    r"^\s*(SELECT\s|INSERT\s+INTO\s|INSERT\s+OR\s|UPDATE\s+\w+\s+SET\s|"
    r"DELETE\s+FROM\s|REPLACE\s+INTO\s|PRAGMA\s|BEGIN(\s|$)|COMMIT\b|"
    r"ROLLBACK\b|SAVEPOINT\s|RELEASE\s|CREATE\s+(TABLE|INDEX|UNIQUE|VIEW|"
    r"TRIGGER)\s|DROP\s|ALTER\s+TABLE\s|WITH\s+\w+\s+AS\s*\(|VACUUM\b|"
    r"ATTACH\s)|\b(FROM\s+\w+\s+WHERE|ORDER\s+BY\s+\w+|WHERE\s+\w+\s*=\s*[?$])")
ENGINE = re.compile(r"\bsqlite3\w*|\bSQLITE_\w+|\bPQ[a-z]\w*|\bPG(conn|result)\b")
INCLUDE = re.compile(
    r'#\s*include\s*[<"]([^>"]*(?:sqlite3|libpq-fe|libpq/)[^>"]*)[>"]')


def c_files():
    for top in ("core",):
        for d, dirs, files in os.walk(os.path.join(SRC, top)):
            rel = os.path.relpath(d, SRC)
            if rel == os.path.join("core", "store") or rel.startswith(
                    os.path.join("core", "store") + os.sep):
                continue
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    yield os.path.join(rel, f)


def strip_comments(text):
    """Text with comments blanked and every string literal kept, one
    literal per entry of the second result (adjacent ones joined)."""
    out, lits, i, n = [], [], 0, len(text)
    cur = None  # the literal being joined
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(" " * (j - i))
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            i = j
        elif c == '"':
            j, s = i + 1, []
            while j < n and text[j] != '"':
                if text[j] == "\\" and j + 1 < n:
                    s.append(text[j:j + 2])
                    j += 2
                else:
                    s.append(text[j])
                    j += 1
            lit = "".join(s)
            if cur is not None:
                lits[-1] += lit
            else:
                lits.append(lit)
            cur = True
            out.append('""')
            i = j + 1
            continue
        elif c == "'":
            j = i + 1
            while j < n and text[j] != "'":
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            i = j + 1
        else:
            out.append(c)
            if not c.isspace():
                cur = None
            i += 1
            continue
        if not text[i - 1].isspace():
            cur = None
    return "".join(out), lits


class StoreSeam(unittest.TestCase):
    def setUp(self):
        self.files = list(c_files())
        self.assertGreater(len(self.files), 30, "found the library's sources")

    def read(self, f):
        with open(os.path.join(SRC, f), encoding="utf-8") as fh:
            return fh.read()

    def test_sqlite_header_only_in_the_store(self):
        bad = [f"{f}: includes {m}" for f in self.files
               for m in INCLUDE.findall(self.read(f))]
        self.assertEqual(bad, [], "sqlite3.h and libpq-fe.h are the store's alone")

    def test_no_engine_names_outside_the_store(self):
        bad = []
        for f in self.files:
            code, _ = strip_comments(self.read(f))
            for no, line in enumerate(code.split("\n"), 1):
                for m in ENGINE.findall(line):
                    bad.append(f"{f}:{no}: {m}")
        self.assertEqual(bad, [], "engine names outside core/store/")

    def test_no_sql_outside_the_store(self):
        bad = []
        for f in self.files:
            _, lits = strip_comments(self.read(f))
            for lit in lits:
                if SQL.search(lit):
                    bad.append(f"{f}: \"{lit[:70]}\"")
        self.assertEqual(bad, [], "SQL text outside core/store/ and migrations/")

    def test_the_check_sees_sql(self):
        # The detectors themselves, on text that must and must not match.
        _, lits = strip_comments('x = "SELECT id " "FROM ideas WHERE id = ?1";'
                                 ' /* "DELETE FROM votes" */ y = "Select a ward";')
        self.assertEqual([bool(SQL.search(s)) for s in lits], [True, False])
        self.assertTrue(SQL.search("UPDATE ideas SET up = ?2"))
        self.assertTrue(SQL.search("PRAGMA journal_mode=WAL"))
        self.assertFalse(SQL.search("update the idea's status"))
        self.assertTrue(INCLUDE.search("#include <sqlite3.h>"))
        self.assertTrue(INCLUDE.search("#include <libpq-fe.h>"))
        self.assertFalse(INCLUDE.search("#include <stdio.h>"))
        self.assertTrue(ENGINE.search("PGconn *c = PQconnectdb(uri);"))
        self.assertFalse(ENGINE.search("PQ = 1; PGCONN; th_pq"))


if __name__ == "__main__":
    unittest.main()
