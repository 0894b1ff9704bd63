"""Votes and page feedback."""
import unittest

import townhall
from townhall import Who

from support import ORIGIN, SITE, TownhallTestCase


class VoteTest(TownhallTestCase):
    def setUp(self):
        super().setUp()
        self.idea = self.th.submit_idea(SITE, "author", "Longer library hours")

    def test_vote_change_withdraw(self):
        c = self.th.vote(SITE, "r1", self.idea.id, 1)
        self.assertEqual((c.up, c.down, c.my_vote, c.changed), (1, 0, 1, True))
        c = self.th.vote(SITE, "r1", self.idea.id, 1)
        self.assertFalse(c.changed)
        c = self.th.vote(SITE, "r1", self.idea.id, -1)
        self.assertEqual((c.up, c.down, c.my_vote), (0, 1, -1))
        c = self.th.vote(SITE, "r1", self.idea.id, 0)
        self.assertEqual((c.up, c.down, c.my_vote), (0, 0, 0))
        history = self.th.vote_history(SITE, self.idea.id)
        self.assertEqual(len(history), 1)  # all today
        self.assertEqual((history[0].up, history[0].down), (0, 0))
        self.assertEqual(history[0].day % 86400000, 0)

    def test_errors(self):
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.vote, SITE, "r1", self.idea.id, 2)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.vote, SITE, "r1", 999, 1)
        self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                              self.th.vote, SITE,
                              Who.device("192.0.2.1", "Safari"),
                              self.idea.id, 1)
        self.th.moderate_idea(SITE, self.idea.id, "hide", reason="spam")
        self.assertRaisesCode(townhall.InvalidState, "TH_ESTATE",
                              self.th.vote, SITE, "r1", self.idea.id, 1)
        with self.assertRaises(TypeError):
            self.th.vote(SITE, "r1", self.idea.id, True)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.vote_history, SITE, 999)

    def test_my_votes(self):
        other = self.th.submit_idea(SITE, "author", "Bins on the towpath")
        self.th.vote(SITE, "r1", self.idea.id, 1)
        self.th.vote(SITE, "r1", other.id, -1)
        self.th.vote(SITE, "r2", other.id, 1)
        self.assertEqual(self.th.my_votes(SITE, "r1", [self.idea.id, other.id, 999]),
                         {self.idea.id: 1, other.id: -1, 999: 0})
        self.assertEqual(self.th.my_votes(SITE, "r2", [self.idea.id, other.id]),
                         {self.idea.id: 0, other.id: 1})
        self.assertEqual(self.th.my_votes(SITE, "r3", []), {})
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.my_votes, "nowhere", "r1", [self.idea.id])

    def test_resident_token(self):
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.resident_token, SITE, "r1")
        self.th.set_site_secret(SITE, b"s" * 32)
        tok = self.th.resident_token(SITE, "r1", ttl=600)
        import base64, json as _json
        head, body, sig = tok.split(".")
        pad = lambda s: s + "=" * (-len(s) % 4)
        self.assertEqual(_json.loads(base64.urlsafe_b64decode(pad(head)))["alg"], "HS256")
        claims = _json.loads(base64.urlsafe_b64decode(pad(body)))
        self.assertEqual((claims["sub"], claims["aud"], claims["exp"] - claims["iat"]),
                         ("r1", SITE, 600))
        import hashlib, hmac
        want = hmac.new(b"s" * 32, f"{head}.{body}".encode(), hashlib.sha256).digest()
        self.assertEqual(base64.urlsafe_b64decode(pad(sig)), want)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.resident_token, SITE, "r1", ttl=7200)


class AnonymousVoteTest(TownhallTestCase):
    site_options = {"allow_anonymous": True}

    def test_devices_are_counted_apart(self):
        idea = self.th.submit_idea(SITE, "author", "A community fridge")
        c = self.th.vote(SITE, Who.device("192.0.2.1", "Firefox"), idea.id, 1)
        self.assertEqual((c.up, c.anon_up), (0, 1))
        c = self.th.vote(SITE, "resident", idea.id, 1)
        self.assertEqual((c.up, c.anon_up), (1, 1))
        self.assertEqual(self.th.get_idea(SITE, idea.id).score, 2)


class FeedbackTest(TownhallTestCase):
    PAGE = ORIGIN + "/bins"

    def test_record_and_summarise(self):
        d1 = Who.device("192.0.2.1", "Firefox")
        d2 = Who.device("192.0.2.2", "Chrome")
        self.assertTrue(self.th.record_feedback(
            SITE, d1, self.PAGE + "?email=jo@example.com#top", useful=False,
            rating=2, comment="Collection day not listed. jo@example.com"))
        self.assertTrue(self.th.record_feedback(SITE, d2, self.PAGE,
                                                useful=True, rating=5))
        # The same answer again is a duplicate; a changed one amends.
        self.assertFalse(self.th.record_feedback(SITE, d2, self.PAGE,
                                                 useful=True, rating=5))
        self.assertTrue(self.th.record_feedback(SITE, d2, self.PAGE,
                                                useful=True, rating=4))
        s = self.th.feedback_summary(SITE, self.PAGE)
        self.assertIsInstance(s, townhall.PageSummary)
        self.assertEqual(s.page, self.PAGE)
        self.assertEqual((s.yes, s.no), (1, 1))
        self.assertEqual(s.ratings, (0, 1, 0, 1, 0))
        self.assertEqual(s.rating_count, 2)
        self.assertAlmostEqual(s.rating_mean, 3.0)
        self.assertEqual(s.comments, 1)
        self.assertEqual(s.first % 86400000, 0)
        comments = self.th.feedback_comments(SITE, self.PAGE)
        self.assertEqual(len(comments), 1)
        self.assertEqual(comments[0].text,
                         "Collection day not listed. [email]")
        self.assertFalse(comments[0].useful)
        self.assertEqual(comments[0].rating, 2)

    def test_pages_worst_first_with_cursor(self):
        for k in range(5):
            for d in range(k + 1):
                self.th.record_feedback(
                    SITE, Who.device(f"192.0.2.{d}", "UA"),
                    f"{ORIGIN}/page-{k}", useful=d < k)
        first = self.th.feedback_pages(SITE, limit=3)
        self.assertEqual(len(first), 3)
        self.assertIsNotNone(first.next_cursor)
        rest = self.th.feedback_pages(SITE, limit=3,
                                      cursor=first.next_cursor)
        self.assertIsNone(rest.next_cursor)
        pages = [p.page for p in list(first) + list(rest)]
        self.assertEqual(len(set(pages)), 5)
        lowers = [p.useful_lower for p in list(first) + list(rest)]
        self.assertEqual(lowers, sorted(lowers))
        self.assertEqual(pages[0], f"{ORIGIN}/page-0")

    def test_errors(self):
        d = Who.device("192.0.2.1", "Firefox")
        self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                              self.th.record_feedback, SITE, d, self.PAGE,
                              useful=True, rating=6)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.record_feedback, SITE, d,
                              "https://elsewhere.example/page", useful=True)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.record_feedback, SITE, d, "not a url",
                              useful=True)
        self.assertRaisesCode(townhall.TooLong, "TH_ETOOLONG",
                              self.th.record_feedback, SITE, d, self.PAGE,
                              useful=True, comment="x" * 2001)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_summary, SITE, self.PAGE)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_comments, SITE, self.PAGE)
        self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                              self.th.feedback_pages, SITE, limit=101)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.feedback_pages, SITE, cursor="nope")


if __name__ == "__main__":
    unittest.main()
