"""Sites and consultations."""
import datetime as dt
import unittest

import townhall

from support import ORIGIN, SITE, TownhallTestCase


class SiteTest(TownhallTestCase):
    def test_created_with_defaults(self):
        s = self.site
        self.assertIsInstance(s, townhall.Site)
        self.assertEqual((s.slug, s.name, s.origins), (SITE, "Camden Council",
                                                       ORIGIN))
        self.assertGreater(s.id, 0)
        self.assertGreater(s.created, 0)
        # 0 takes the library's defaults, which come back filled in.
        self.assertGreater(s.comment_days, 0)
        self.assertGreater(s.open_min, 0)
        self.assertEqual(self.th.get_site(SITE), s)

    def test_list(self):
        self.th.create_site("barnet", "Barnet Council")
        self.assertEqual([s.slug for s in self.th.sites()],
                         ["barnet", SITE])

    def test_update(self):
        self.assertTrue(self.th.update_site(SITE, allow_anonymous=True,
                                            name="London Borough of Camden"))
        s = self.th.get_site(SITE)
        self.assertTrue(s.allow_anonymous)
        self.assertEqual(s.name, "London Borough of Camden")
        self.assertEqual(s.origins, ORIGIN)  # untouched
        self.assertFalse(self.th.update_site(SITE, allow_anonymous=True))
        with self.assertRaises(TypeError):
            self.th.update_site(SITE, colour="red")

    def test_lists(self):
        """Wards, categories and contacts: set, read back, kept by other
        changes, and enforced on ideas."""
        self.assertEqual((self.site.wards, self.site.categories,
                          self.site.contacts), ((), (), ()))
        self.assertTrue(self.th.update_site(
            SITE, wards=["Kentish Town", "Highgate"], categories=("Parks",),
            contacts=["020 7974 4444"]))
        s = self.th.get_site(SITE)
        self.assertEqual(s.wards, ("Kentish Town", "Highgate"))
        self.assertEqual(s.categories, ("Parks",))
        self.assertEqual(s.contacts, ("020 7974 4444",))
        self.th.update_site(SITE, name="Camden")
        self.assertEqual(self.th.get_site(SITE).wards, s.wards, "kept")
        self.assertEqual([x.wards for x in self.th.sites()], [s.wards])
        b = self.th.create_site("barnet", "Barnet", wards=["East", "West"])
        self.assertEqual(b.wards, ("East", "West"))
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.update_site, SITE, wards=["A", "a"])
        with self.assertRaises(townhall.InvalidArgument):
            self.th.update_site(SITE, wards=["Two\nlines"])
        with self.assertRaises(TypeError):
            self.th.update_site(SITE, wards="Highgate")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.submit_idea, SITE,
                              "r-lists", "Benches",
                              ward="Nowhere")

    def test_errors(self):
        self.assertRaisesCode(townhall.AlreadyExists, "TH_EEXIST",
                              self.th.create_site, SITE, "Again")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.create_site, "Not A Slug", "X")
        self.assertRaisesCode(townhall.TooLong, "TH_ETOOLONG",
                              self.th.create_site, "long", "x" * 121)
        self.assertRaisesCode(townhall.InvalidUTF8, "TH_EUTF8",
                              self.th.create_site, "bad", b"Caf\xe9")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.get_site, "nowhere")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.update_site, "nowhere", name="X")

    def test_secret(self):
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.get_site_secret, SITE)
        self.assertRaisesCode(townhall.TooShort, "TH_ETOOSHORT",
                              self.th.set_site_secret, SITE, b"short")
        secret = bytes(range(48))
        self.th.set_site_secret(SITE, secret)
        self.assertEqual(self.th.get_site_secret(SITE), secret)
        with self.assertRaises(TypeError):
            self.th.set_site_secret(SITE, "a str is not a secret")


class ConsultationTest(TownhallTestCase):
    def test_create_get_list(self):
        c = self.th.create_consultation(
            SITE, "parks-2030", "Parks for 2030", description="Tell us.",
            ward="Kentish Town",
            closes=dt.datetime(2099, 1, 1, tzinfo=dt.timezone.utc))
        self.assertEqual(c.slug, "parks-2030")
        self.assertEqual(c.ward, "Kentish Town")
        self.assertEqual(c.closes, 4070908800000)
        self.assertFalse(c.key_destroyed)
        self.assertEqual(self.th.get_consultation(SITE, "parks-2030"), c)
        slugs = [x.slug for x in self.th.consultations(SITE)]
        self.assertIn("parks-2030", slugs)
        self.assertIn("ideas", slugs)  # every site's ideas board

    def test_errors(self):
        self.th.create_consultation(SITE, "c", "A consultation")
        self.assertRaisesCode(townhall.AlreadyExists, "TH_EEXIST",
                              self.th.create_consultation, SITE, "c", "Again")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.create_consultation, "nowhere", "c",
                              "X")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.create_consultation, SITE, "d", "Back",
                              opens=2000, closes=1000)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.get_consultation, SITE, "nothing")


if __name__ == "__main__":
    unittest.main()
