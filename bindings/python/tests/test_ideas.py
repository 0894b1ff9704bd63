"""Ideas: submitting, reading, listing with sorts, filters and cursors,
statuses, moderation and withdrawal."""
import time
import unittest

import townhall
from townhall import Moderation, Sort, Status, Who

from support import SITE, TownhallTestCase


class SubmitTest(TownhallTestCase):
    def test_submit_and_get(self):
        sub = self.th.submit_idea(
            SITE, "resident-1", "More benches in Regent's Park",
            body="Ring me on 020 7946 0018", category="parks", ward="Camden")
        self.assertFalse(sub.duplicate)
        idea = self.th.get_idea(SITE, sub.id)
        self.assertIsInstance(idea, townhall.Idea)
        self.assertEqual(idea.title, "More benches in Regent's Park")
        self.assertEqual(idea.body, "Ring me on [phone]")  # scrubbed
        self.assertEqual((idea.category, idea.ward), ("parks", "Camden"))
        self.assertEqual(idea.status, Status.PUBLISHED)
        self.assertEqual(idea.consultation, "ideas")
        self.assertEqual(idea.score, 0)

    def test_same_author_same_title_is_a_duplicate(self):
        a = self.th.submit_idea(SITE, "r1", "Plant more street trees")
        b = self.th.submit_idea(SITE, "r1", "Plant more street trees")
        self.assertTrue(b.duplicate)
        self.assertEqual(a.id, b.id)
        c = self.th.submit_idea(SITE, "r2", "Plant more street trees")
        self.assertFalse(c.duplicate)
        self.assertNotEqual(a.id, c.id)

    def test_unicode_round_trip(self):
        title = "Café seating on Chalk Farm Road ✓ — 日本語"
        sub = self.th.submit_idea(SITE, "r1", title)
        self.assertEqual(self.th.get_idea(SITE, sub.id).title, title)

    def test_errors(self):
        self.assertRaisesCode(townhall.TooShort, "TH_ETOOSHORT",
                              self.th.submit_idea, SITE, "r1", "ab")
        self.assertRaisesCode(townhall.TooLong, "TH_ETOOLONG",
                              self.th.submit_idea, SITE, "r1", "x" * 141)
        self.assertRaisesCode(townhall.InvalidUTF8, "TH_EUTF8",
                              self.th.submit_idea, SITE, "r1", "bad \udcff")
        self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                              self.th.submit_idea, SITE,
                              Who.device("192.0.2.7", "Firefox"),
                              "Anonymous idea")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.submit_idea, "nowhere", "r1", "An idea")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.submit_idea, SITE, "r1", "An idea",
                              consultation="nothing")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.get_idea, SITE, 12345)
        with self.assertRaises(townhall.InvalidArgument):
            self.th.submit_idea(SITE, "r1", "Nul\0 inside")
        with self.assertRaises(TypeError):
            self.th.submit_idea(SITE, 42, "Who is 42?")

    def test_closed_consultations(self):
        now = int(time.time() * 1000)
        self.th.create_consultation(SITE, "past", "Past", opens=now - 2000,
                                    closes=now - 1000)
        self.th.create_consultation(SITE, "future", "Future",
                                    opens=now + 86400000)
        e = self.assertRaisesCode(townhall.Closed, "TH_ECLOSED",
                                  self.th.submit_idea, SITE, "r1",
                                  "Too late", consultation="past")
        self.assertIn("closed", e.message)
        self.assertRaisesCode(townhall.Closed, "TH_ECLOSED",
                              self.th.submit_idea, SITE, "r1", "Too early",
                              consultation="future")


class ListTest(TownhallTestCase):
    def setUp(self):
        super().setUp()
        # Five ideas, two wards; idea k gets k up votes and one down vote.
        self.ids = []
        for k in range(5):
            sub = self.th.submit_idea(
                SITE, f"author-{k}", f"Idea number {k}",
                category="parks" if k % 2 else "roads",
                ward="North" if k < 3 else "South")
            self.ids.append(sub.id)
            for v in range(k):
                self.th.vote(SITE, f"voter-{v}", sub.id, 1)
            self.th.vote(SITE, "grump", sub.id, -1)

    def test_top(self):
        page = self.th.list_ideas(SITE, sort="top")
        self.assertEqual([i.id for i in page], list(reversed(self.ids)))
        self.assertIsNone(page.next_cursor)

    def test_sort_names_and_enums_agree(self):
        for sort in Sort:
            a = self.th.list_ideas(SITE, sort=sort, seed=7)
            b = self.th.list_ideas(SITE, sort=sort.name.lower(), seed=7)
            self.assertEqual([i.id for i in a], [i.id for i in b])

    def test_new(self):
        ids = [i.id for i in self.th.list_ideas(SITE, sort=Sort.NEW)]
        self.assertEqual(ids, sorted(self.ids, reverse=True))

    def test_filters(self):
        north = self.th.list_ideas(SITE, ward="North")
        self.assertEqual(sorted(i.id for i in north), self.ids[:3])
        parks = self.th.list_ideas(SITE, category="parks")
        self.assertEqual(sorted(i.id for i in parks),
                         [self.ids[1], self.ids[3]])
        none = self.th.list_ideas(SITE, created_to=1)
        self.assertEqual(len(none), 0)

    def test_cursor_walk(self):
        seen = []
        cursor = None
        while True:
            page = self.th.list_ideas(SITE, sort="hot", limit=2,
                                      cursor=cursor)
            self.assertLessEqual(len(page), 2)
            seen += [i.id for i in page]
            cursor = page.next_cursor
            if cursor is None:
                break
        self.assertEqual(sorted(seen), self.ids)
        self.assertEqual([i.id for i in self.th.iter_ideas(SITE, sort="hot",
                                                           limit=2)], seen)

    def test_random_is_stable_per_seed(self):
        a = [i.id for i in self.th.iter_ideas(SITE, sort="random", seed=42,
                                              limit=2)]
        b = [i.id for i in self.th.iter_ideas(SITE, sort="random", seed=42,
                                              limit=3)]
        self.assertEqual(a, b)
        self.assertEqual(sorted(a), self.ids)

    def test_status_filter(self):
        self.th.moderate_idea(SITE, self.ids[0], "hide", reason="off-topic")
        public = [i.id for i in self.th.list_ideas(SITE)]
        self.assertNotIn(self.ids[0], public)
        hidden = self.th.list_ideas(SITE, statuses=[Status.HIDDEN])
        self.assertEqual([i.id for i in hidden], [self.ids[0]])
        both = self.th.list_ideas(SITE, statuses=["hidden", "published"])
        self.assertEqual(len(both), 5)

    def test_errors(self):
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.list_ideas, SITE, cursor="not-a-cursor")
        page = self.th.list_ideas(SITE, sort="top", limit=2)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.list_ideas, SITE, sort="new",
                              cursor=page.next_cursor)
        with self.assertRaises(townhall.InvalidArgument):
            self.th.list_ideas(SITE, sort="best")
        with self.assertRaises(townhall.InvalidArgument):
            self.th.list_ideas(SITE, statuses=["lost"])
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.list_ideas, "nowhere")


class StatusModerationTest(TownhallTestCase):
    site_options = {"moderate_ideas": True}

    def test_moderated_site(self):
        sub = self.th.submit_idea(SITE, "r1", "Needs a moderator first")
        self.assertEqual(self.th.get_idea(SITE, sub.id).status,
                         Status.PENDING)
        self.assertEqual(len(self.th.list_ideas(SITE)), 0)
        self.assertTrue(self.th.moderate_idea(SITE, sub.id,
                                              Moderation.PUBLISH,
                                              reason="fine",
                                              actor="moderator-1"))
        self.assertFalse(self.th.moderate_idea(SITE, sub.id, "publish",
                                               reason="again"))
        self.assertEqual(len(self.th.list_ideas(SITE)), 1)
        audit = self.th.audit_log(SITE)
        self.assertEqual(audit[0].action, "moderate:publish")
        self.assertEqual(audit[0].actor, "moderator-1")
        self.assertEqual(audit[0].idea_id, sub.id)

    def test_pending_idea_merged_stays_private(self):
        target = self.th.submit_idea(SITE, "r1", "Trees on the high street")
        self.th.moderate_idea(SITE, target.id, "publish", reason="ok")
        pending = self.th.submit_idea(SITE, "r2", "Not approved: number 12")
        self.th.moderate_idea(SITE, pending.id, "merge", into=target.id,
                              reason="same")
        staff = self.th.get_idea(SITE, pending.id)
        self.assertEqual(staff.status, Status.MERGED)
        self.assertFalse(staff.public)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.get_public_idea, SITE, pending.id)
        shown = self.th.get_public_idea(SITE, target.id)
        self.assertTrue(shown.public)
        self.assertEqual(shown.title, "Trees on the high street")

    def test_status_and_response(self):
        sub = self.th.submit_idea(SITE, "r1", "Resurface Camden Road")
        self.th.moderate_idea(SITE, sub.id, "publish", reason="ok")
        self.assertTrue(self.th.set_idea_status(
            SITE, sub.id, "under_review", response="Officers are looking.",
            actor="cllr-smith"))
        idea = self.th.get_idea(SITE, sub.id)
        self.assertEqual(idea.status, Status.UNDER_REVIEW)
        self.assertEqual(idea.response, "Officers are looking.")
        self.assertGreater(idea.response_at, 0)
        self.assertFalse(self.th.set_idea_status(SITE, sub.id,
                                                 Status.UNDER_REVIEW))

    def test_merge(self):
        a = self.th.submit_idea(SITE, "r1", "A crossing on the high street")
        b = self.th.submit_idea(SITE, "r2", "Zebra crossing, high street")
        for i in (a, b):
            self.th.moderate_idea(SITE, i.id, "publish", reason="ok")
        self.th.vote(SITE, "v1", a.id, 1)
        self.th.vote(SITE, "v2", b.id, 1)
        self.assertTrue(self.th.moderate_idea(SITE, b.id, "merge",
                                              into=a.id, reason="same"))
        merged = self.th.get_idea(SITE, b.id)
        self.assertEqual(merged.status, Status.MERGED)
        self.assertEqual(merged.merged_into, a.id)
        self.assertEqual(self.th.get_idea(SITE, a.id).up, 2)

    def test_withdraw(self):
        sub = self.th.submit_idea(SITE, "author", "Changed my mind")
        self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                              self.th.withdraw_idea, SITE, "someone-else",
                              sub.id)
        self.assertTrue(self.th.withdraw_idea(SITE, "author", sub.id))
        self.assertFalse(self.th.withdraw_idea(SITE, "author", sub.id))
        self.assertEqual(self.th.get_idea(SITE, sub.id).status,
                         Status.WITHDRAWN)

    def test_errors(self):
        sub = self.th.submit_idea(SITE, "r1", "Pending idea")
        # Status changes are for visible ideas only.
        self.assertRaisesCode(townhall.InvalidState, "TH_ESTATE",
                              self.th.set_idea_status, SITE, sub.id,
                              "accepted")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.moderate_idea, SITE, sub.id, 42,
                              reason="x")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.moderate_idea, SITE, sub.id, "hide",
                              reason="")
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.moderate_idea, SITE, 999, "hide",
                              reason="x")
        self.assertRaisesCode(townhall.TooLong, "TH_ETOOLONG",
                              self.th.moderate_idea, SITE, sub.id, "hide",
                              reason="x" * 501)


if __name__ == "__main__":
    unittest.main()
