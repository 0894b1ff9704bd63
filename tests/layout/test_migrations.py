"""The two engines' migrations share their version numbers (issue 15).

migrations/NNNN_name.sql are SQLite's; migrations/postgresql/ are
PostgreSQL's: one baseline at an existing SQLite version (PostgreSQL
started there), then from the version after it the same numbers as
SQLite's, one for one, so that a schema version means the same tables on
either engine. core/store/pgmigrate.c refuses at run time to call a
database migrated when the two disagree; this catches it before a build.
Every file is also listed in Makefile.am, or it would not be embedded.
"""
import os
import re
import unittest

SRC = os.environ.get("TH_SRC") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def versions(d):
    out = {}
    for f in os.listdir(d):
        if f.endswith(".sql"):
            m = NAME.match(f)
            assert m, "%s: badly named migration %s" % (d, f)
            out[int(m.group(1))] = f
    return out


class Migrations(unittest.TestCase):
    def setUp(self):
        self.lite = versions(os.path.join(SRC, "migrations"))
        self.pg = versions(os.path.join(SRC, "migrations", "postgresql"))
        with open(os.path.join(SRC, "Makefile.am")) as f:
            self.makefile = f.read()

    def test_postgresql_starts_at_a_sqlite_version_then_follows_one_for_one(self):
        self.assertTrue(self.pg, "no PostgreSQL migrations")
        base = min(self.pg)
        self.assertIn(base, self.lite, "the baseline is no SQLite version")
        self.assertIn("base", self.pg[base])
        self.assertEqual(sorted(v for v in self.lite if v > base),
                         sorted(v for v in self.pg if v > base))
        self.assertEqual(max(self.lite), max(self.pg))

    def test_every_migration_is_embedded(self):
        for f in self.lite.values():
            self.assertIn("migrations/" + f, self.makefile)
        for f in self.pg.values():
            self.assertIn("migrations/postgresql/" + f, self.makefile)


if __name__ == "__main__":
    unittest.main()
