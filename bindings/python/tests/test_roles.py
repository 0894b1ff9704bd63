"""Who may do what, through the Python binding: every cell of the table in
docs/SECURITY.md ("Who may do what"), read from the document, done as
anyone, a resident and a staff member of each role (Staff, made only by
staff_from_token)."""
import itertools
import os
import time
import unittest

import townhall
from townhall import Role, Staff, Status

from support import SITE, TownhallTestCase

DOC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                   "..", "docs", "SECURITY.md")
PAGE = "https://www.camden.gov.uk/bins"
DAY = 24 * 3600 * 1000
CALLERS = ["anyone", "resident", "moderator", "councillor", "admin"]


def read_table():
    """{action: {caller: cell}} from the document's table."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    section = text.split("\n## Who may do what\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    split = [[c.strip() for c in row.strip().strip("|").split("|")]
             for row in rows if not row.startswith("|---")]
    header, body = split[0], split[1:]
    cols = {name: header.index(name) for name in CALLERS}
    return {row[0]: {name: row[i] for name, i in cols.items()}
            for row in body}


class RolesTest(TownhallTestCase):
    site_options = {"moderate_ideas": True}

    def setUp(self):
        super().setUp()
        self.clock = int(time.time() * 1000)
        self.th.close()
        self.th = townhall.Townhall(self.path, clock=lambda: self.clock)
        self.addCleanup(self.th.close)
        self.counter = itertools.count(1)
        self.callers = {"anyone": None, "resident": None}
        for role, label in ((Role.MODERATOR, "Mo Moderator"),
                            (Role.COUNCILLOR, "Cy Councillor"),
                            (Role.ADMIN, "Al Admin")):
            tok = self.th.create_token(role, label, site=SITE, actor="test")
            self.callers[role.name.lower()] = \
                self.th.staff_from_token(tok.token, SITE)
        self.public = self.public_idea("A public idea")
        self.hidden = self.public_idea("An idea hidden later")
        self.th.vote(SITE, "bob", self.public, 1)
        self.th.vote(SITE, "bob", self.hidden, 1)
        self.th.moderate_idea(SITE, self.hidden, "hide", reason="spam")
        now, self.clock = self.clock, self.clock - 8 * DAY
        for k in range(12):
            self.th.answer_feedback(SITE, townhall.Who.device("192.0.2.1",
                                                              "test"),
                                    PAGE, useful=k % 3 != 0, rating=4,
                                    comment="The page was clear.")
        self.clock = now

    def idea(self, what):
        title = f"{what}, number {next(self.counter)}"
        return self.th.submit_idea(SITE, "alice", title).id

    def public_idea(self, what):
        i = self.idea(what)
        self.th.moderate_idea(SITE, i, "publish", reason="fixture")
        return i

    # ---- the actions, answering as the table words it --------------------

    @staticmethod
    def answer(fn, *args, **kwargs):
        try:
            fn(*args, **kwargs)
        except townhall.NotPermitted:
            return "no"
        except townhall.NotFound:
            return "not found"
        return "yes"

    def see(self, staff, idea):
        a = self.answer(self.th.get_idea_as, staff, SITE, idea)
        b = self.answer(self.th.vote_history_as, staff, SITE, idea)
        return a if a == b else "the idea and its history disagree"

    def audited(self, staff, action, fn, *args, **kwargs):
        a = self.answer(fn, *args, **kwargs)
        if a == "yes":
            last = self.th.audit_log(SITE, limit=1)[0]
            if (last.action, last.actor) != (action, staff.actor):
                return "recorded, but not audited under the staff member"
        return a

    def act(self, action, staff):
        th = self.th
        if action == "See a public idea and its vote history":
            return self.see(staff, self.public)
        if action.startswith("See an idea the public may not"):
            return self.see(staff, self.hidden)
        if action == "List ideas of the public's statuses":
            return self.answer(th.list_ideas_as, staff, SITE)
        if action == "List ideas of other statuses":
            return self.answer(th.list_ideas_as, staff, SITE,
                               statuses=[Status.PENDING, Status.HIDDEN])
        if action == "Read a page's feedback figures":
            s = th.feedback_summary_as(staff, SITE, PAGE)
            return "exact" if s.exact else "published"
        if action == "List the pages' feedback, worst first":
            return self.answer(th.feedback_pages_as, staff, SITE)
        if action == "Read a page's feedback comments":
            return self.answer(th.feedback_comments_as, staff, SITE, PAGE)
        if action == "Set an idea's status and official response":
            i = self.public_idea("Status to set")
            return self.audited(staff, "status", th.set_idea_status_as,
                                staff, SITE, i, "accepted",
                                response="We will.")
        if action == "Publish, hide, reject or merge an idea":
            i = self.idea("Idea to moderate")
            return self.audited(staff, "moderate:publish",
                                th.moderate_idea_as, staff, SITE, i,
                                "publish", reason="fine")
        if action == "Open a consultation":
            slug = f"roles-{next(self.counter)}"
            return self.audited(staff, "consultation:create",
                                th.create_consultation_as, staff, SITE, slug,
                                "Parks")
        if action == "Read the audit log":
            return self.answer(th.audit_log_as, staff, SITE)
        self.fail(f"no test for the row {action!r}")

    def test_every_cell_of_the_table(self):
        table = read_table()
        self.assertGreaterEqual(len(table), 11)
        for action, cells in table.items():
            for caller in CALLERS:
                with self.subTest(action=action, caller=caller):
                    self.assertEqual(
                        self.act(action, self.callers[caller]),
                        cells[caller])

    def test_staff(self):
        m = self.callers["moderator"]
        self.assertEqual(m.role, Role.MODERATOR)
        self.assertEqual(m.label, "Mo Moderator")
        self.assertEqual(m.site, SITE)
        self.assertEqual(m.actor, f"token {m.token_id} (Mo Moderator)")
        with self.assertRaises(TypeError):
            Staff()
        with self.assertRaises(TypeError):
            self.th.audit_log_as("admin", SITE)
        # A resident's token is no staff token.
        self.th.set_site_secret(SITE, b"a site secret of 32 bytes, ok..!")
        jwt = self.th.resident_token(SITE, "alice", 600)
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.staff_from_token, jwt, SITE)
        e = self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                                  self.th.moderate_idea_as,
                                  self.callers["councillor"], SITE,
                                  self.public, "hide", reason="no")
        self.assertEqual(e.message, "a councillor may not moderate ideas: "
                                    "only a moderator or an admin may")
        # Another site; expired since it was checked.
        self.th.create_site("barnet", "Barnet")
        self.assertRaisesCode(townhall.NotPermitted, "TH_EPERM",
                              self.th.audit_log_as, self.callers["admin"],
                              "barnet")
        self.clock += 91 * DAY
        self.assertRaisesCode(townhall.AuthenticationFailed, "TH_EAUTH",
                              self.th.audit_log_as, self.callers["admin"],
                              SITE)


if __name__ == "__main__":
    unittest.main()
