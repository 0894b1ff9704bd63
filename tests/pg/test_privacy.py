"""Crypto-shredding on PostgreSQL (issue 15; docs/privacy.md, "On
PostgreSQL"): a destroyed consultation key, and a key file's old sealing
after a rotation, leave no file of the cluster.

PostgreSQL keeps an updated row's old version as a dead tuple in the
table's file until VACUUM, and a page's first change after a checkpoint
writes the whole page (old tuple and all) to the WAL. So after the purge
that destroys a key, townhall runs VACUUM itself (VACUUM FULL for the small
tables holding sealed keys and secrets: a new file, the old one unlinked);
then, as the issue says, `CHECKPOINT; SELECT pg_switch_wal();` (and one
more checkpoint, so that the segment holding the page image is behind the
redo point and removed: the cluster runs with wal_recycle = off, as the
design note says a privacy-minded operator's should) and the key's bytes
are in no file under the data directory. The control: before the purge,
after a checkpoint, the same scan finds them - the bytes searched for are
the ones really stored.
"""
import datetime as dt
import os
import shutil
import sys
import tempfile
import unittest

import pgenv  # noqa: E402,F401  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402
from townhall import Townhall  # noqa: E402

DAY = dt.timedelta(days=1)


def files_holding(root, needle):
    """Every file under root whose bytes contain needle."""
    hits = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                with open(p, "rb") as fh:
                    if needle in fh.read():
                        hits.append(os.path.relpath(p, root))
            except OSError:
                pass
    return hits


class Shredding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster(settings={"wal_recycle": "off",
                                   "wal_keep_size": "0",
                                   "min_wal_size": "32MB"}).start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-privacy-")
        # The cluster's files belong to its owner (postgres, when root runs
        # the suite); this test reads them as root, or as that owner.

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def flush_wal(self):
        """The issue's `CHECKPOINT; SELECT pg_switch_wal();`, and the
        checkpoint after it that puts the switched-out segments behind the
        redo point (removed: wal_recycle is off)."""
        for _ in range(2):
            self.pg.psql("CHECKPOINT", uri=self.pg.admin_uri)
            self.pg.psql("SELECT pg_switch_wal()", uri=self.pg.admin_uri)
        self.pg.psql("CHECKPOINT", uri=self.pg.admin_uri)

    def sealed(self, uri, table, col, where):
        out = self.pg.psql("SELECT encode(%s, 'hex') FROM %s WHERE %s" % (
            col, table, where), uri=uri)
        self.assertTrue(out, "%s.%s is empty" % (table, col))
        return bytes.fromhex(out)

    def test_a_destroyed_key_is_in_no_file_after_townhalls_vacuum(self):
        uri = self.pg.createdb("shred")
        now = [dt.datetime(2026, 3, 2, 12, tzinfo=dt.timezone.utc)]
        key = os.path.join(self.tmp, "shred.key")
        with Townhall(uri, key_file=key, clock=lambda: now[0]) as db:
            db.create_site("s", "Site", key_days=30)
            db.create_consultation("s", "parks", "Parks", closes=now[0] + DAY)
            idea = db.submit_idea("s", "resident-shred-0001", "More benches",
                                  consultation="parks").id
            db.vote("s", "resident-shred-0002", idea, 1)
            pkey = self.sealed(uri, "consultations", "pkey", "slug = 'parks'")
            self.flush_wal()
            # The control: stored, the scan finds it.
            self.assertTrue(files_holding(self.pg.datadir, pkey))

            now[0] += 32 * DAY
            self.assertEqual(db.purge().keys, 1)
            self.assertEqual(self.pg.psql(
                "SELECT pkey IS NULL FROM consultations WHERE slug = 'parks'",
                uri=uri), "t")
            self.flush_wal()
            self.assertEqual(files_holding(self.pg.datadir, pkey), [])
            # The vote still counts.
            self.assertEqual(db.get_idea("s", idea).up, 1)

    def test_a_rotated_key_files_sealing_is_in_no_file(self):
        uri = self.pg.createdb("rotate")
        key = os.path.join(self.tmp, "rotate.key")
        with Townhall(uri, key_file=key) as db:
            db.create_site("r", "Site")
            db.set_site_secret("r", os.urandom(32))
            db.create_consultation("r", "roads", "Roads")
            old_secret = self.sealed(uri, "sites", "secret", "slug = 'r'")
            old_pkey = self.sealed(uri, "consultations", "pkey",
                                   "slug = 'roads'")
            self.flush_wal()
            self.assertTrue(files_holding(self.pg.datadir, old_secret))
            report = db.rotate_key(os.path.join(self.tmp, "rotate.key.new"))
            self.assertGreaterEqual(report.consultation_keys, 1)
            self.assertEqual(report.site_secrets, 1)
            self.flush_wal()
            self.assertEqual(files_holding(self.pg.datadir, old_secret), [])
            self.assertEqual(files_holding(self.pg.datadir, old_pkey), [])
            self.assertNotEqual(self.sealed(uri, "sites", "secret",
                                            "slug = 'r'"), old_secret)


if __name__ == "__main__":
    unittest.main()
