"""Open data: the two CSV files the server publishes, from the binding
(th_open_data_feedback, th_open_data_ideas). tests/opendata compares them
with a running server's byte for byte; here, their content and bad input."""
import datetime as _dt
import os
import shutil
import tempfile
import unittest

import townhall
from townhall import Who

from support import ORIGIN, SITE, TownhallTestCase

BOM = b"\xef\xbb\xbf"
FEEDBACK_HEAD = (BOM + b"page,week,yes,no,rating_1,rating_2,rating_3,"
                 b"rating_4,rating_5,responses\r\n")
IDEAS_HEAD = (BOM + b"id,consultation,title,status,category,ward,created,"
              b"votes_for,votes_against,response,response_date\r\n")


class OpenDataTest(unittest.TestCase):
    PAGE = ORIGIN + "/bins"
    DAY = 86400000

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="townhall-py-")
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        # Monday 2026-03-02, at ten: ISO week 2026-W10.
        self.now = int(_dt.datetime(2026, 3, 2, 10, tzinfo=_dt.timezone.utc)
                       .timestamp() * 1000)
        self.th = townhall.Townhall(os.path.join(self.dir, "council.db"),
                                    clock=lambda: self.now)
        self.addCleanup(self.th.close)
        self.th.create_site(SITE, "Camden Council", origins=ORIGIN)

    def test_feedback_csv(self):
        for i in range(10):
            self.th.answer_feedback(SITE, Who.device(f"198.51.100.{i}", "UA"),
                                    self.PAGE, useful=True)
        for i in range(3):
            self.th.answer_feedback(SITE, Who.device(f"198.51.101.{i}", "UA"),
                                    self.PAGE, useful=False)
        self.assertEqual(self.th.open_data_feedback(SITE), FEEDBACK_HEAD,
                         "the week in progress is not published")
        self.now += 7 * self.DAY
        row = (self.PAGE.encode() + b",2026-W10,10,*,*,*,*,*,*,*\r\n")
        self.assertEqual(self.th.open_data_feedback(SITE), FEEDBACK_HEAD + row,
                         "10 yes as 10; 3 no withheld, and what they give "
                         "away")
        self.assertEqual(self.th.open_data_feedback(SITE, start="2026-03-04"),
                         FEEDBACK_HEAD + row, "a day: its week")
        self.assertEqual(self.th.open_data_feedback(
            SITE, start=_dt.date(2026, 3, 2), weeks=1), FEEDBACK_HEAD + row)
        self.assertEqual(self.th.open_data_feedback(SITE, start="2026-03-09"),
                         FEEDBACK_HEAD, "after the answers: the header only")

    def test_ideas_csv(self):
        idea = self.th.submit_idea(SITE, "author-1", "=1+2 more bins")
        for i in range(9):
            self.th.vote(SITE, f"voter-{i}", idea.id, 1 if i < 8 else -1)
        self.assertEqual(self.th.open_data_ideas(SITE), IDEAS_HEAD)
        self.now += 7 * self.DAY
        got = self.th.open_data_ideas(SITE)
        self.assertEqual(got, IDEAS_HEAD + b"%d,ideas,\"'=1+2 more bins\","
                         b"published,,,2026-03-02,10,*,,\r\n" % idea.id)
        self.assertNotIn(b"author-1", got)


class OpenDataErrorsTest(TownhallTestCase):
    def test_bad_input(self):
        e = self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                                  self.th.open_data_feedback, "nowhere")
        self.assertIn('no site "nowhere"', e.message)
        self.assertRaisesCode(townhall.NotFound, "TH_ENOTFOUND",
                              self.th.open_data_ideas, "nowhere")
        for bad in ("soon", "2026-13-01", "2026-01-05x", ""):
            with self.subTest(bad):
                e = self.assertRaisesCode(townhall.InvalidArgument,
                                          "TH_EINVAL",
                                          self.th.open_data_feedback, SITE,
                                          start=bad)
                self.assertEqual(e.message,
                                 "from is a date such as 2026-01-05.")
        for bad in (-1, 105):
            with self.subTest(weeks=bad):
                self.assertRaisesCode(townhall.OutOfRange, "TH_ERANGE",
                                      self.th.open_data_feedback, SITE,
                                      weeks=bad)
        with self.assertRaises(TypeError):
            self.th.open_data_feedback(SITE, start=20260105)
        self.assertTrue(self.th.open_data_feedback(SITE, weeks=104)
                        .startswith(FEEDBACK_HEAD))


if __name__ == "__main__":
    unittest.main()
