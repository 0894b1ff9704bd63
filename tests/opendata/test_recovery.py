"""An attacker's pass over everything public about a page: can a withheld
count be worked out from what is shown?

fixture.c gives the site "recovery" two pages over three weeks of 2026:
/help has 23 "yes" and 3 "no" with every answer rated (95 stars in 26
ratings: the case in which the old summary's mean and Wilson bound gave
the 3 back), /guide 30 "yes", 12 "no", 20 five-star and 2 four-star
ratings (its ratings are shown beside one withheld bucket). The attacker
reads the public summary, every row of open data, and the pages list as
the public gets it, and for each published state searches every true
state consistent with it:

  - a count shown as a number could be any value that rounds to it; 0 is 0;
    "*" is 1 to open_min - 1 for "yes" and "no" (they are only ever
    withheld for being small), and for a rating bucket 1 to open_min - 1
    when the histogram is shown, else anything the answers allow;
  - every other figure shown (responses, the Wilson bound, the rating
    count and mean) must be explained either as the documented rules
    compute it (from the published counts) or as a careless server would
    (from the exact ones): the attacker takes whichever interpretation
    narrows the search.

A rated answer is an answer, so the ratings add up to at most yes + no.
Every withheld count must keep more than one candidate, and the true value
must be among them (else the attacker's model of the rules is wrong).
"""
import csv
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

from harness import Server  # noqa: E402

FIXTURE = os.environ.get("TH_OPENDATA_FIXTURE")
MIN, ROUND = 8, 5  # the site's settings (the defaults), which are public
SITE = "recovery"
PAGES = {
    "https://www.recovery.example/help": {"yes": 23, "no": 3,
                                          "ratings": [3, 3, 3, 8, 9]},
    "https://www.recovery.example/guide": {"yes": 30, "no": 12,
                                           "ratings": [0, 0, 0, 2, 20]},
}


def publish(v):
    if v <= 0:
        return 0
    if v < MIN:
        return None
    out = (v + ROUND // 2) // ROUND * ROUND
    return out or ROUND


def wilson(pos, n):
    if n <= 0:
        return 0.0
    z = 1.96
    p = pos / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
    return max(0.0, (centre - margin) / (1 + z2 / n))


def could_be(shown, small_only, most):
    """True values a published count cell `shown` (None for withheld)
    allows."""
    if shown == 0:
        return [0]
    if shown is None:
        return list(range(1, MIN)) if small_only else list(range(0, most + 1))
    return [v for v in range(max(0, shown - ROUND), shown + ROUND + 1)
            if publish(v) == shown]


def close(a, b):
    return a is not None and b is not None and abs(a - b) < 1e-9


class State:
    """One published state of a page: its counts and, from the summary,
    any derived figure shown (None: not shown)."""

    def __init__(self, yes, no, ratings, responses=None, useful_lower=None,
                 rating_count=None, rating_mean=None, where=""):
        self.yes, self.no, self.ratings = yes, no, ratings
        self.responses, self.useful_lower = responses, useful_lower
        self.rating_count, self.rating_mean = rating_count, rating_mean
        self.where = where


def candidates(s):
    """{"yes": set, "no": set, "r1".."r5": set} of true values that could
    have been published as state s."""
    answers_shown = s.yes is not None and s.no is not None
    hist_shown = answers_shown and any(r is not None for r in s.ratings)
    found = {k: set() for k in ("yes", "no", "r1", "r2", "r3", "r4", "r5")}
    for yes in could_be(s.yes, True, 0):
        for no in could_be(s.no, True, 0):
            n = yes + no
            # Figures of yes and no alone: documented or careless.
            if s.responses is not None and s.responses not in (
                    (publish(yes) or 0) + (publish(no) or 0), n):
                continue
            if s.useful_lower is not None and not (
                    close(s.useful_lower, wilson(publish(yes) or 0,
                                                 (publish(yes) or 0) + (publish(no) or 0)))
                    or close(s.useful_lower, wilson(yes, n))):
                continue
            sets = [could_be(r, hist_shown, n) for r in s.ratings]
            every = all(r is not None for r in s.ratings)

            def fits(vec):
                s0 = sum(vec)
                if s0 > n:
                    return False
                s1 = sum((i + 1) * v for i, v in enumerate(vec))
                pub = [publish(v) for v in vec]
                doc0 = sum(pub) if every and None not in pub else None
                doc1 = sum((i + 1) * v for i, v in enumerate(pub)) if doc0 is not None else None
                if s.rating_count is not None and s.rating_count not in (doc0, s0):
                    return False
                if s.rating_mean is not None and not (
                        (doc0 and close(s.rating_mean, doc1 / doc0)) or
                        (s0 and close(s.rating_mean, s1 / s0))):
                    return False
                return True

            if s.rating_count is None and s.rating_mean is None:
                # Only the sum constrains the buckets: a value fits if the
                # others can be at their least beside it.
                least = [min(x) for x in sets]
                if sum(least) > n:
                    continue
                for i, x in enumerate(sets):
                    found[f"r{i + 1}"].update(
                        v for v in x if v + sum(least) - least[i] <= n)
                found["yes"].add(yes)
                found["no"].add(no)
                continue
            hit = False
            for vec in _vectors(sets, n):
                if fits(vec):
                    hit = True
                    for i, v in enumerate(vec):
                        found[f"r{i + 1}"].add(v)
            if hit:
                found["yes"].add(yes)
                found["no"].add(no)
    return found


def _vectors(sets, budget):
    """Rating vectors from the per-bucket sets, adding up to at most
    budget (a rated answer is an answer)."""
    def rec(i, left, acc):
        if i == len(sets):
            yield tuple(acc)
            return
        for v in sets[i]:
            if v <= left:
                acc.append(v)
                yield from rec(i + 1, left - v, acc)
                acc.pop()
    yield from rec(0, budget, [])


def cell(v):
    return None if v in ("*", None) else int(v)


class Recovery(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = tempfile.mkdtemp(prefix="townhall-recovery-",
                             dir=os.environ.get("TH_ARTIFACTS"))
        r = subprocess.run([FIXTURE, os.path.join(d, "townhall.db")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("fixture: " + r.stderr)
        cls.server = Server(site=False, directory=d)

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def states(self, page):
        """Everything public about `page`: the summary and each open-data
        row."""
        out = []
        r = self.server.get(f"/v1/sites/{SITE}/feedback/summary?page="
                            + urllib.parse.quote(page, safe=""))
        self.assertEqual(r.status, 200, r)
        doc = json.loads(r.body)
        self.assertFalse(doc["exact"])
        out.append(State(doc["yes"], doc["no"], doc["ratings"], doc["responses"],
                         doc["useful_lower"], doc["rating_count"], doc["rating_mean"],
                         where="the summary"))
        r = self.server.get(f"/v1/sites/{SITE}/open/feedback.csv?from=2025-12-29")
        self.assertEqual(r.status, 200, r)
        rows = list(csv.reader(io.StringIO(r.body[3:].decode(), newline="")))
        self.assertEqual(rows[0][:4], ["page", "week", "yes", "no"])
        mine = [row for row in rows[1:] if row[0] == page]
        self.assertTrue(mine, "the page has open-data rows")
        for row in mine:
            vals = [cell(v) for v in row[2:]]
            out.append(State(vals[0], vals[1], vals[2:7], responses=vals[7],
                             where=f"open data, {row[1]}"))
        # The pages list is for staff: the public is refused it.
        r = self.server.get(f"/v1/sites/{SITE}/feedback/pages")
        self.assertEqual(r.status, 401)
        return out

    def assert_hidden(self, page, truth, states):
        final = states[0]  # the summary: every answer before this week
        got = candidates(final)
        self.assertIn(truth["yes"], got["yes"], "the model of the rules is wrong")
        self.assertIn(truth["no"], got["no"], "the model of the rules is wrong")
        for i, r in enumerate(truth["ratings"]):
            self.assertIn(r, got[f"r{i + 1}"], f"model: r{i + 1}")
        for st in states:
            got = candidates(st)
            hidden = [k for k, v in (("yes", st.yes), ("no", st.no)) if v is None]
            hidden += [f"r{i + 1}" for i, v in enumerate(st.ratings) if v is None]
            for k in hidden:
                self.assertGreater(len(got[k]), 1,
                                   f"{page}, {st.where}: the withheld {k} can only be "
                                   f"{sorted(got[k])}")

    def test_help_3_no_of_26(self):
        page = "https://www.recovery.example/help"
        states = self.states(page)
        s = states[0]
        self.assertEqual((s.yes, s.no), (25, None))
        self.assertIsNone(s.rating_mean, "no mean beside a withheld count")
        self.assertIsNone(s.useful_lower, "no bound beside a withheld count")
        self.assertIsNone(s.responses, "no total beside a withheld part")
        self.assert_hidden(page, PAGES[page], states)
        # What the server used to show (the exact mean and the bound of the
        # exact counts) next to the same counts pins the 3.
        old = State(25, None, [None] * 5, None, wilson(23, 26), None, 95 / 26,
                    where="the 0.1 summary")
        self.assertEqual(candidates(old)["no"], {3}, "the attack itself works")

    def test_guide_ratings_beside_a_withheld_bucket(self):
        page = "https://www.recovery.example/guide"
        states = self.states(page)
        s = states[0]
        self.assertEqual((s.yes, s.no, s.ratings), (30, 10, [0, 0, 0, None, 20]))
        self.assertEqual(s.responses, 40, "from the published counts")
        self.assertIsNone(s.rating_mean, "no mean beside a withheld bucket")
        self.assertIsNone(s.rating_count, "no count beside a withheld bucket")
        self.assert_hidden(page, PAGES[page], states)
        careless = State(30, 10, [0, 0, 0, None, 20], 40, None, None, 108 / 22,
                         where="an exact mean")
        self.assertEqual(candidates(careless)["r4"], {2}, "the attack itself works")

    def test_from_lists_the_same_running_totals(self):
        # No query picks a window of its own: ?from only chooses which rows
        # of the same running totals (from each page's first answer) are
        # listed, so two downloads cannot be subtracted.
        r1 = self.server.get(f"/v1/sites/{SITE}/open/feedback.csv?from=2026-01-12")
        r2 = self.server.get(f"/v1/sites/{SITE}/open/feedback.csv?from=2025-12-29")
        rows1 = list(csv.reader(io.StringIO(r1.body[3:].decode(), newline="")))
        rows2 = list(csv.reader(io.StringIO(r2.body[3:].decode(), newline="")))
        self.assertTrue(rows1[1:])
        for row in rows1[1:]:
            self.assertIn(row, rows2, "a later start lists the same rows")


if __name__ == "__main__":
    unittest.main()
