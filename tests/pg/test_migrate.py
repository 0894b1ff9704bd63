"""PostgreSQL's schema and its advisory-locked migration (core/store/
pgmigrate.c, migrations/postgresql/), run through tests/pg/migrate.c (the
migration function alone, linked with this build's libthcore.a) against a
cluster of its own.

Ten nodes starting at once migrate once: ten processes at the same moment
on an empty database all succeed, at the library's schema version, with
one townhall_meta row (a second application of the baseline would fail on
its first CREATE TABLE). The tables are SQLite's, column for column. A
database holding another application's tables is refused untouched, and
the data-version counter moves once per writing transaction, for psql's
writes too.
"""
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

from pgenv import HERE, SRC, BUILD  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall  # noqa: E402


def pkg_flags(*names):
    out = subprocess.run(["pkg-config", "--cflags", "--libs"] + list(names),
                         capture_output=True, text=True, check=True)
    return out.stdout.split()


def latest_sqlite_version():
    return max(int(f[:4]) for f in os.listdir(os.path.join(SRC, "migrations"))
               if re.match(r"^\d{4}_.*\.sql$", f))


class Migrate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-migrate-")
        cls.prog = os.path.join(cls.tmp, "migrate")
        subprocess.run(
            ["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-g",
             "-I" + os.path.join(SRC, "core"), "-I" + BUILD,
             "-o", cls.prog, os.path.join(HERE, "migrate.c"),
             os.path.join(BUILD, "core", ".libs", "libthcore.a")] +
            pkg_flags("libpq", "libuv", "sqlite3", "libsodium", "jansson",
                     "libutf8proc") + ["-lm", "-lpthread"],
            check=True)
        cls.pg = Cluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def migrate(self, uri):
        out = subprocess.run([self.prog, uri], capture_output=True, text=True,
                             timeout=60)
        return out.returncode, out.stdout.strip() + out.stderr.strip()

    def test_ten_nodes_at_once_migrate_once(self):
        uri = self.pg.createdb("ten")
        procs = [subprocess.Popen([self.prog, uri], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
                 for _ in range(10)]
        outs = [(p.wait(timeout=60), p.stdout.read().strip()) for p in procs]
        for p in procs:
            p.stdout.close()
        want = "ok %d" % latest_sqlite_version()
        self.assertEqual(outs, [(0, want)] * 10)
        self.assertEqual(self.pg.psql("SELECT application || ' ' || "
                                      "schema_version FROM townhall_meta",
                                      uri=uri),
                         "townhall %d" % latest_sqlite_version())
        # Made in the baseline's transaction and untouched since.
        self.assertEqual(self.pg.psql("SELECT v FROM townhall_version",
                                      uri=uri), "1")
        # Again, later: nothing to do, nothing changed.
        self.assertEqual(self.migrate(uri), (0, want))
        self.assertEqual(self.pg.psql("SELECT count(*) FROM townhall_meta",
                                      uri=uri), "1")

    def test_the_tables_are_sqlites_column_for_column(self):
        uri = self.pg.createdb("columns")
        self.assertEqual(self.migrate(uri)[0], 0)
        # SQLite's schema at the same version, made by this build's library.
        path = os.path.join(self.tmp, "columns.db")
        Townhall(path).close()
        lite = sqlite3.connect(path)
        tables = [r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " ORDER BY name")]
        pg_tables = self.pg.psql(
            "SELECT string_agg(table_name, ',' ORDER BY table_name) FROM "
            "information_schema.tables WHERE table_schema = 'public'"
            " AND table_name NOT IN ('townhall_meta', 'townhall_version')",
            uri=uri).split(",")
        self.assertEqual(sorted(t for t in tables if t != "townhall_meta"),
                         pg_tables)
        for t in pg_tables:
            cols = [r[1] for r in lite.execute("PRAGMA table_info(%s)" % t)]
            pg_cols = self.pg.psql(
                "SELECT string_agg(column_name, ',' ORDER BY ordinal_position)"
                " FROM information_schema.columns WHERE table_name = '%s'" % t,
                uri=uri).split(",")
            self.assertEqual(cols, pg_cols, t)
        indexes = sorted(r[0] for r in lite.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql"
            " IS NOT NULL"))
        pg_indexes = self.pg.psql(
            "SELECT string_agg(indexname, ',' ORDER BY indexname) FROM "
            "pg_indexes WHERE schemaname = 'public' AND indexname NOT LIKE"
            " '%_pkey' AND indexname NOT LIKE '%_key'", uri=uri).split(",")
        self.assertEqual(indexes, pg_indexes)

    def test_another_applications_database_is_refused_untouched(self):
        uri = self.pg.createdb("other")
        self.pg.psql("CREATE TABLE orders (id int)", uri=uri)
        rc, out = self.migrate(uri)
        self.assertEqual(rc, 1, out)
        self.assertTrue(out.startswith("error TH_ENOTDB "), out)
        self.assertEqual(self.pg.psql(
            "SELECT string_agg(relname, ',') FROM pg_class WHERE "
            "relnamespace = 'public'::regnamespace", uri=uri), "orders")

    def test_the_data_version_moves_once_per_writing_transaction(self):
        uri = self.pg.createdb("version")
        self.assertEqual(self.migrate(uri)[0], 0)
        v = lambda: int(self.pg.psql("SELECT v FROM townhall_version",
                                     uri=uri))
        before = v()
        self.pg.psql("BEGIN; INSERT INTO sites (slug, name, created) VALUES"
                     " ('a', 'A', 1); UPDATE sites SET name = 'B';"
                     " INSERT INTO sites (slug, name, created) VALUES"
                     " ('b', 'B', 1); COMMIT", uri=uri)
        self.assertEqual(v(), before + 1)
        self.pg.psql("SELECT count(*) FROM sites", uri=uri)
        self.assertEqual(v(), before + 1, "a read moved it")
        self.pg.psql("UPDATE sites SET name = 'C' WHERE slug = 'a'", uri=uri)
        self.assertEqual(v(), before + 2)
        self.pg.psql("INSERT INTO probe (id, at, room) VALUES (1, 1, '')",
                     uri=uri)
        self.assertEqual(v(), before + 2, "the readiness probe moved it")
        self.pg.psql("BEGIN; DELETE FROM sites WHERE slug = 'b'; ROLLBACK",
                     uri=uri)
        self.assertEqual(v(), before + 2, "a rolled-back write moved it")

    def test_text_sorts_bytewise_whatever_the_locale(self):
        uri = self.pg.createdb("bytewise")
        self.assertEqual(self.migrate(uri)[0], 0)
        # Every text column says so itself, so a database made with a
        # linguistic default collation (a managed service's en_US) sorts
        # as SQLite does.
        self.assertEqual(self.pg.psql(
            "SELECT string_agg(table_name || '.' || column_name, ',') FROM"
            " information_schema.columns WHERE table_schema = 'public' AND"
            " data_type = 'text' AND collation_name IS DISTINCT FROM 'C'",
            uri=uri), "")
        self.pg.psql("INSERT INTO sites (slug, name, created) VALUES"
                     " ('b', 'x', 1), ('B', 'x', 1), ('a', 'x', 1),"
                     " ('é', 'x', 1), ('Z', 'x', 1)", uri=uri)
        self.assertEqual(self.pg.psql(
            "SELECT string_agg(slug, ',' ORDER BY slug) FROM sites", uri=uri),
            "B,Z,a,b,é")


if __name__ == "__main__":
    unittest.main()
