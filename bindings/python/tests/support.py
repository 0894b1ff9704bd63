"""Shared set-up for the binding's tests: a fresh database per test."""
import os
import shutil
import tempfile
import unittest

import townhall

SITE = "camden"
ORIGIN = "https://www.camden.gov.uk"


class TownhallTestCase(unittest.TestCase):
    """Each test gets a new directory, a database in it (self.th) and a
    site named SITE with one origin."""

    site_options: dict = {}

    def setUp(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="townhall-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.path = os.path.join(self.dir, "council.db")
        self.th = townhall.Townhall(self.path)
        self.addCleanup(self.th.close)
        self.site = self.th.create_site(SITE, "Camden Council",
                                        origins=ORIGIN, **self.site_options)

    def assertRaisesCode(self, exc_class, c_name, fn, /, *args, **kwargs):
        """fn(*args, **kwargs) raises exc_class, with the C name and a
        non-empty message from the library."""
        with self.assertRaises(exc_class) as cm:
            fn(*args, **kwargs)
        self.assertEqual(cm.exception.name, c_name)
        self.assertTrue(cm.exception.message, "the message is empty")
        self.assertIn(c_name, str(cm.exception))
        return cm.exception
