"""Votes and page feedback."""
import datetime as _dt
import os
import shutil
import tempfile
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
    OTHER = ORIGIN + "/parking"

    def summary(self, page=None):
        return self.th.feedback_summary(SITE, page or self.PAGE)

    def test_answer_amend_and_summarise(self):
        d1 = Who.device("192.0.2.1", "Firefox")
        d2 = Who.device("192.0.2.2", "Chrome")
        a1 = self.th.answer_feedback(
            SITE, d1, self.PAGE + "?email=jo@example.com#top", useful=False,
            rating=2, comment="Collection day not listed. jo@example.com")
        self.assertIsInstance(a1, townhall.Answer)
        self.assertTrue(a1.recorded)
        self.assertRegex(a1.handle, r"^[A-Za-z0-9_-]{22}$")
        self.assertNotIn(a1.handle, repr(a1))  # a capability: not logged
        a2 = self.th.answer_feedback(SITE, d2, self.PAGE, useful=True,
                                     rating=5)
        # The same answer again, with no key, is an answer of its own.
        a3 = self.th.answer_feedback(SITE, d2, self.PAGE, useful=True,
                                     rating=5)
        self.assertTrue(a3.recorded)
        self.assertNotEqual(a2.handle, a3.handle)
        # A changed answer amends through its handle, and only that answer.
        self.assertTrue(self.th.amend_feedback(SITE, a2.handle, rating=4))
        self.assertFalse(self.th.amend_feedback(SITE, a2.handle, rating=4))
        s = self.summary()
        self.assertIsInstance(s, townhall.PageSummary)
        self.assertTrue(s.exact)
        self.assertEqual(s.page, self.PAGE)
        self.assertEqual((s.yes, s.no, s.responses), (2, 1, 3))
        self.assertEqual(s.ratings, (0, 1, 0, 1, 1))
        self.assertEqual(s.rating_count, 3)
        self.assertAlmostEqual(s.rating_mean, 11 / 3)
        self.assertEqual(s.comments, 1)
        self.assertEqual(s.first % 86400000, 0)
        comments = self.th.feedback_comments(SITE, self.PAGE)
        self.assertEqual(len(comments), 1)
        self.assertEqual(comments[0].text,
                         "Collection day not listed. [email]")
        self.assertFalse(comments[0].useful)
        self.assertEqual(comments[0].rating, 2)

    def test_two_answers_from_one_device_are_two_records(self):
        # Two residents behind one address with the same browser.
        d = Who.device("192.0.2.1", "Firefox")
        a = self.th.answer_feedback(SITE, d, self.PAGE, useful=True)
        b = self.th.answer_feedback(SITE, d, self.PAGE, useful=False)
        self.assertTrue(a.recorded and b.recorded)
        self.assertNotEqual(a.handle, b.handle)
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.responses), (1, 1, 2))
        # Amending one leaves the other as it was.
        self.assertTrue(self.th.amend_feedback(SITE, b.handle, useful=True))
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.responses), (2, 0, 2))

    def test_record_feedback_is_deprecated_and_always_a_new_answer(self):
        self.assertIn("Deprecated", townhall.Townhall.record_feedback.__doc__)
        d = Who.device("192.0.2.1", "Firefox")
        for _ in range(3):
            self.assertTrue(self.th.record_feedback(SITE, d, self.PAGE,
                                                    useful=True, rating=5))
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.responses), (3, 0, 3))
        self.assertEqual(s.ratings, (0, 0, 0, 0, 3))

    def test_retry_with_the_same_key_folds(self):
        d1 = Who.device("192.0.2.1", "Firefox")
        d2 = Who.device("192.0.2.2", "Firefox")
        first = self.th.answer_feedback(SITE, d1, self.PAGE, useful=False,
                                        rating=2, comment="No dates",
                                        key="answer-1")
        self.assertTrue(first.recorded)
        retry = self.th.answer_feedback(SITE, d1, self.PAGE, useful=False,
                                        rating=2, comment="No dates",
                                        key="answer-1")
        self.assertFalse(retry.recorded)
        self.assertEqual(retry.handle, first.handle)
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.rating_count, s.comments),
                         (0, 1, 1, 1))
        # A cached page may hand one key to many browsers: from another
        # device it is another answer.
        other = self.th.answer_feedback(SITE, d2, self.PAGE, useful=False,
                                        rating=2, comment="No dates",
                                        key="answer-1")
        self.assertTrue(other.recorded)
        self.assertNotEqual(other.handle, first.handle)
        self.assertEqual(self.summary().no, 2)
        # The handle a retry returned amends the first answer.
        self.assertTrue(self.th.amend_feedback(SITE, retry.handle,
                                               useful=True))
        s = self.summary()
        self.assertEqual((s.yes, s.no), (1, 1))

    def test_same_key_and_device_with_another_answer_conflicts(self):
        d = Who.device("192.0.2.1", "Firefox")
        self.th.answer_feedback(SITE, d, self.PAGE, useful=True, key="k-7")
        e = self.assertRaisesCode(townhall.Conflict, "TH_ECONFLICT",
                                  self.th.answer_feedback, SITE, d, self.PAGE,
                                  useful=False, key="k-7")
        self.assertEqual(e.code, -24)
        self.assertRaisesCode(townhall.Conflict, "TH_ECONFLICT",
                              self.th.answer_feedback, SITE, d, self.PAGE,
                              useful=True, rating=4, key="k-7")
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.rating_count), (1, 0, 0))
        self.assertIs(townhall.ERRORS[-24], townhall.Conflict)
        self.assertEqual(townhall.error_name(-24), "TH_ECONFLICT")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.answer_feedback, SITE, d, self.PAGE,
                              useful=True, key="not printable\t")
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.answer_feedback, SITE, d, self.PAGE,
                              useful=True, key="k" * 256)

    def test_amend_through_the_handle_only(self):
        d = Who.device("192.0.2.1", "Firefox")
        a = self.th.answer_feedback(SITE, d, self.PAGE, useful=True)
        b = self.th.answer_feedback(SITE, d, self.OTHER, useful=True)
        self.assertTrue(self.th.amend_feedback(SITE, a.handle, useful=False))
        s = self.summary()
        self.assertEqual((s.yes, s.no, s.responses), (0, 1, 1))
        self.assertTrue(self.th.amend_feedback(
            SITE, a.handle, rating=3, comment="Add the dates, 020 7946 0018"))
        s = self.summary()
        self.assertEqual((s.ratings, s.rating_count, s.comments),
                         ((0, 0, 1, 0, 0), 1, 1))
        self.assertEqual(self.th.feedback_comments(SITE, self.PAGE)[0].text,
                         "Add the dates, [phone]")
        # Nothing given, or white space for a comment: nothing changes.
        self.assertFalse(self.th.amend_feedback(SITE, a.handle))
        self.assertFalse(self.th.amend_feedback(SITE, a.handle,
                                                comment="  "))
        # The page, when given, must be the answer's.
        self.assertTrue(self.th.amend_feedback(SITE, a.handle, useful=True,
                                               page=self.PAGE + "#top"))
        before = self.summary()
        self.assertEqual((before.yes, before.no), (1, 0))
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.amend_feedback, SITE, a.handle,
                              useful=False, page=self.OTHER)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.amend_feedback, SITE, b.handle,
                              useful=False, page=self.PAGE)
        # Forged, malformed, or of another site: one answer for all.
        flip = "A" if a.handle[15] != "A" else "B"
        forged = a.handle[:15] + flip + a.handle[16:]  # in the secret half
        secret_changed = a.handle[:11] + b.handle[11:]
        self.th.create_site("islington", "Islington Council",
                            origins=ORIGIN)
        for site, handle in ((SITE, forged), (SITE, secret_changed),
                             (SITE, "not-a-handle"), (SITE, ""),
                             (SITE, a.handle + "A"),
                             ("islington", a.handle)):
            with self.subTest(site=site, handle=handle):
                self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                                      self.th.amend_feedback, site, handle,
                                      useful=False)
        self.assertEqual(self.summary(), before)
        self.assertEqual(self.summary(self.OTHER).yes, 1)
        self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                              self.th.amend_feedback, SITE, a.handle,
                              rating=6)
        with self.assertRaises(TypeError):
            self.th.amend_feedback(SITE, None, useful=False)
        with self.assertRaises(TypeError):
            self.th.amend_feedback(SITE, a.handle, useful="no")
        with self.assertRaises(TypeError):
            self.th.answer_feedback(SITE, d, self.PAGE, useful=None)

    def test_public_summary_waits_for_a_complete_week(self):
        for i in range(12):
            self.th.answer_feedback(SITE, Who.device(f"192.0.2.{i}", "UA"),
                                    self.PAGE, useful=True, rating=5)
        # Every answer is in the week in progress: nothing is published.
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_summary, SITE, self.PAGE,
                              public=True)
        s = self.th.feedback_summary(SITE, self.PAGE, public=False)
        self.assertTrue(s.exact)
        self.assertEqual((s.yes, s.responses, s.rating_count), (12, 12, 12))

    def test_pages_worst_first_with_cursor(self):
        for k in range(5):
            for d in range(k + 1):
                self.th.answer_feedback(
                    SITE, Who.device(f"192.0.2.{d}", "UA"),
                    f"{ORIGIN}/page-{k}", useful=d < k)
        first = self.th.feedback_pages(SITE, limit=3)
        self.assertEqual(len(first), 3)
        self.assertIsNotNone(first.next_cursor)
        rest = self.th.feedback_pages(SITE, limit=3,
                                      cursor=first.next_cursor)
        self.assertIsNone(rest.next_cursor)
        self.assertTrue(all(p.exact for p in list(first) + list(rest)))
        self.assertEqual(sorted(p.responses for p in list(first) + list(rest)),
                         [1, 2, 3, 4, 5])
        pages = [p.page for p in list(first) + list(rest)]
        self.assertEqual(len(set(pages)), 5)
        lowers = [p.useful_lower for p in list(first) + list(rest)]
        self.assertEqual(lowers, sorted(lowers))
        self.assertEqual(pages[0], f"{ORIGIN}/page-0")

    def test_errors(self):
        d = Who.device("192.0.2.1", "Firefox")
        for answer in (self.th.answer_feedback, self.th.record_feedback):
            with self.subTest(answer=answer.__name__):
                self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                                      answer, SITE, d, self.PAGE,
                                      useful=True, rating=6)
                self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                                      answer, SITE, d,
                                      "https://elsewhere.example/page",
                                      useful=True)
                self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                                      answer, SITE, d, "not a url",
                                      useful=True)
                self.assertRaisesCode(townhall.TooLong, "TH_ETOOLONG",
                                      answer, SITE, d, self.PAGE,
                                      useful=True, comment="x" * 2001)
                self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                                      answer, "nowhere", d, self.PAGE,
                                      useful=True)
        for public in (False, True):
            self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                                  self.th.feedback_summary, SITE, self.PAGE,
                                  public=public)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_comments, SITE, self.PAGE)
        self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                              self.th.feedback_pages, SITE, limit=101)
        self.assertRaisesCode(townhall.InvalidArgument, "TH_EINVAL",
                              self.th.feedback_pages, SITE, cursor="nope")


class PublishedFeedbackTest(unittest.TestCase):
    """The published figures, on a handle whose clock the test moves."""
    PAGE = ORIGIN + "/bins"
    CLEAN = ORIGIN + "/libraries"
    DAY = 86400000

    @staticmethod
    def ms(*date):
        return int(_dt.datetime(*date, tzinfo=_dt.timezone.utc).timestamp()
                   * 1000)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="townhall-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        # A Wednesday, at ten.
        self.now = self.ms(2026, 11, 25, 10)
        self.th = townhall.Townhall(os.path.join(self.dir, "council.db"),
                                    clock=lambda: self.now)
        self.addCleanup(self.th.close)
        # The defaults: counts under 8 withheld, others rounded to 5.
        self.th.create_site(SITE, "Camden Council", origins=ORIGIN)

    def answer(self, n, page, *, useful, rating=None, first=0):
        for i in range(first, first + n):
            self.th.answer_feedback(SITE, Who.device(f"198.51.100.{i}", "UA"),
                                    page, useful=useful, rating=rating)

    def test_complete_weeks_only_and_withheld_figures_are_none(self):
        self.assertEqual(_dt.datetime.fromtimestamp(
            self.now / 1000, _dt.timezone.utc).weekday(), 2)
        self.answer(11, self.PAGE, useful=True, rating=5)
        self.answer(3, self.PAGE, useful=False, first=100)
        self.answer(10, self.CLEAN, useful=True, rating=5)
        late = self.th.answer_feedback(SITE, Who.device("203.0.113.1"),
                                       self.CLEAN, useful=True)
        self.now += self.DAY  # Thursday: the same week
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_summary, SITE, self.PAGE,
                              public=True)
        # A handle amends its answer on the day it was given only.
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.amend_feedback, SITE, late.handle,
                              useful=False)

        self.now = self.ms(2026, 12, 2, 10)  # the next Wednesday
        pub = self.th.feedback_summary(SITE, self.PAGE, public=True)
        self.assertFalse(pub.exact)
        self.assertEqual(pub.page, self.PAGE)
        # 11 yes published as 10; 3 "no" withheld, and with them every
        # figure computed from them.
        self.assertEqual((pub.yes, pub.no, pub.responses), (10, None, None))
        self.assertIsNone(pub.useful_lower)
        self.assertEqual(pub.ratings, (None,) * 5)
        self.assertIsNone(pub.rating_count)
        self.assertIsNone(pub.rating_mean)
        self.assertIsNone(pub.comments)
        self.assertEqual(pub.first, self.ms(2026, 11, 23))  # Monday
        self.assertEqual(pub.last, self.ms(2026, 11, 29))   # Sunday
        exact = self.th.feedback_summary(SITE, self.PAGE)
        self.assertTrue(exact.exact)
        self.assertEqual((exact.yes, exact.no, exact.responses), (11, 3, 14))

        clean = self.th.feedback_summary(SITE, self.CLEAN, public=True)
        self.assertEqual((clean.yes, clean.no, clean.responses), (10, 0, 10))
        self.assertEqual(clean.ratings, (0, 0, 0, 0, 10))
        self.assertEqual((clean.rating_count, clean.rating_mean), (10, 5.0))
        self.assertGreater(clean.useful_lower, 0.5)
        self.assertIsNone(clean.comments)
        # This week's answers wait for the week to end.
        self.answer(9, self.CLEAN, useful=False, first=200)
        self.assertEqual(self.th.feedback_summary(SITE, self.CLEAN).no, 9)
        self.assertEqual(
            self.th.feedback_summary(SITE, self.CLEAN, public=True), clean)
        # Pages never seen before this week are not published.
        self.answer(10, ORIGIN + "/new", useful=True)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.feedback_summary, SITE, ORIGIN + "/new",
                              public=True)

    assertRaisesCode = TownhallTestCase.assertRaisesCode


if __name__ == "__main__":
    unittest.main()
