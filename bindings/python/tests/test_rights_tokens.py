"""Residents' rights (export, erase), staff tokens, purge and audit."""
import time
import unittest

import townhall
from townhall import Role

from support import SITE, TownhallTestCase


class ResidentTest(TownhallTestCase):
    def test_export_and_erase(self):
        mine = self.th.submit_idea(SITE, "alice", "A bench by the pond")
        other = self.th.submit_idea(SITE, "bob", "A bigger playground")
        self.th.vote(SITE, "alice", other.id, 1)
        self.th.vote(SITE, "bob", mine.id, 1)
        doc = self.th.export_resident(SITE, "alice")
        self.assertEqual(doc["site"], SITE)
        cons = doc["consultations"]
        self.assertEqual(len(cons), 1)
        self.assertEqual([v["idea"] for v in cons[0]["votes"]], [other.id])
        self.assertEqual([i["id"] for i in cons[0]["ideas"]], [mine.id])
        self.assertNotIn("alice", str(doc))

        erased = self.th.erase_resident(SITE, "alice")
        self.assertEqual(erased, 2)  # one vote withdrawn, one idea detached
        self.assertEqual(self.th.get_idea(SITE, other.id).up, 0)
        self.assertEqual(self.th.get_idea(SITE, mine.id).up, 1)  # kept
        self.assertEqual(self.th.export_resident(SITE, "alice")
                         ["consultations"], [])
        self.assertEqual(self.th.erase_resident(SITE, "alice"), 0)

    def test_errors(self):
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.export_resident, SITE, "")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.erase_resident, SITE, "")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.export_resident, "nowhere", "alice")


class TokenTest(TownhallTestCase):
    def test_create_check_revoke(self):
        t = self.th.create_token("councillor", "Cllr Smith", site=SITE,
                                 actor="admin")
        self.assertTrue(t.token.startswith(f"th_{t.id}_"))
        self.assertNotIn(t.token, repr(t))
        info = self.th.check_token(t.token, SITE)
        self.assertEqual((info.id, info.role, info.label, info.site),
                         (t.id, Role.COUNCILLOR, "Cllr Smith", SITE))
        self.assertFalse(info.revoked)
        self.assertEqual([x.id for x in self.th.tokens()], [t.id])
        self.assertTrue(self.th.revoke_token(t.id))
        self.assertFalse(self.th.revoke_token(t.id))
        self.assertTrue(self.th.tokens()[0].revoked)
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.check_token, t.token, SITE)

    def test_errors(self):
        self.th.create_site("barnet", "Barnet")
        t = self.th.create_token(Role.MODERATOR, "mod", site=SITE)
        self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                              self.th.check_token, t.token, "barnet")
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.check_token, "th_1_guess")
        # Another last character (one in 64 tokens already ends in "x").
        other = "x" if t.token[-1] != "x" else "y"
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.check_token, t.token[:-1] + other)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.create_token, "admin", "past",
                              expires=int(time.time() * 1000) - 1000)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.create_token, "admin", "")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.create_token, "admin", "x",
                              site="nowhere")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.revoke_token, 999)
        with self.assertRaises(townhall.InvalidArgument):
            self.th.create_token("emperor", "x")


class PurgeAuditTest(TownhallTestCase):
    def test_purge_report(self):
        report = self.th.purge()
        self.assertIsInstance(report, townhall.PurgeReport)
        self.assertGreaterEqual(report.comments, 0)

    def test_audit_paging(self):
        for k in range(3):
            self.th.create_token("admin", f"token {k}", site=SITE)
        entries = self.th.audit_log(SITE, limit=2)
        self.assertEqual(len(entries), 2)
        older = self.th.audit_log(SITE, before_id=entries[-1].id)
        self.assertTrue(all(e.id < entries[-1].id for e in older))
        self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                              self.th.audit_log, SITE, limit=5000)


if __name__ == "__main__":
    unittest.main()
