"""Two townhall nodes on one PostgreSQL database (issue 16: "Two `townhall
serve` nodes on one cluster under a load of votes and feedback through
both, with the same residents voting through both nodes at once:
afterwards every counter equals a recount from the rows, no resident has
two votes on one idea, every `recorded: true` answer is a row, and every
2xx was one"; "caches on every node follow writes made by the others").

Two `townhall serve` processes share one database and one key file, each
with its own copy of the key file and so its own salts file (pgenv.Node).
Client threads, each with a keep-alive connection to both nodes, send:

- votes raced through both nodes at once: the same resident token, the
  same idea, sent to node A and node B before either answer is read. The
  same value twice: exactly one of the two is recorded (201), the other
  is the duplicate (200, `recorded: false`), or both are duplicates when
  the vote was already that. Two different values: both change the vote
  (the order decides the last); the resident's own vote read back
  afterwards is one of the two, and the answers fit that order. Withdrawals
  (0) and changes are raced as well;
- page feedback through either node, each answer with its own
  Idempotency-Key, some retried on the same node (folded: 200, the same
  handle), some amended through the other node with their handle.

Afterwards, by SQL: every idea's counters and ranking keys and every
page's counters equal a recount from the votes and feedback rows; the
residents' own votes (read through the API with their tokens) are what
their acknowledged answers leave, and the votes table holds exactly those
(one resident, one vote: one participant per resident, one row per
participant and idea); the feedback rows are exactly the acknowledged
answers as amended; no answer was a 5xx (nor anything but 200 and 201).

The caches: each node's public ideas list and site rows are cached per
loop and dropped when townhall_version moves (core/server/cache.c). A vote
through one node shows in the other's next list, which that node had
served from its cache just before (townhall_list_cache_total's hit moved)
and builds again (its miss moved); page feedback through one node shows in
the other's next exact page summary (read per request, never cached),
whose site row the other node had in its cache (townhall_site_cache_total).

SIGKILL of one node mid-load while the other keeps serving: every answer
of the survivor stays a 2xx throughout, every write acknowledged by
either node is a row, and the killed node, started again, serves.
"""
import base64
import hashlib
import hmac
import http.client
import json
import math
import os
import random
import shutil
import tempfile
import threading
import time
import unittest
import urllib.parse
import uuid

from pgenv import Node, provision  # noqa: E402  (sys.path: cluster)
from cluster import Cluster  # noqa: E402

SITE = "s"
SECRET = b"nodes-resident-token-secret-0123456789abcdef"
PAGE = "https://council.example/nodes/%s"
LIMITS = ("--rate-limit", "1000000", "--rate-limit-page", "1000000")

# Words for comments that the redactor leaves alone and the spam filter
# takes for a person's: each acknowledged comment is told apart by its
# words, never by digits (which could be taken for a phone number).
WORDS = ("amber", "birch", "cedar", "delta", "ember", "fjord", "grove",
         "heath", "inlet", "juniper", "kestrel", "larch", "meadow", "nettle",
         "orchid", "poplar", "quarry", "rowan", "sorrel", "thistle")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub):
    """A resident token as the council's app signs it."""
    head = b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64url(json.dumps({"sub": sub, "aud": SITE,
                              "exp": int(time.time()) + 3600}).encode())
    sig = hmac.new(SECRET, (head + "." + body).encode(),
                   hashlib.sha256).digest()
    return head + "." + body + "." + b64url(sig)


def words(n):
    """n as three words of WORDS (8000 distinct)."""
    out = []
    for _ in range(3):
        out.append(WORDS[n % len(WORDS)])
        n //= len(WORDS)
    return " ".join(out)


# The ranking keys, as core/rank.c computes them (the site does not rank
# on devices' votes: rank_anonymous is 0).
def wilson_lower(pos, n):
    if n <= 0:
        return 0.0
    z = 1.96
    p = pos / n
    z2 = z * z
    centre = p + z2 / (2 * n)
    margin = z * math.sqrt((p * (1 - p) + z2 / (4 * n)) / n)
    lb = (centre - margin) / (1 + z2 / n)
    return lb if lb > 0 else 0.0


def hot(up, down, created):
    s = up - down
    order = math.log10(abs(s) if abs(s) > 1 else 1.0)
    sign = 1 if s > 0 else -1 if s < 0 else 0
    return sign * order + (created // 1000) / 45000.0


def controversial(up, down):
    if up <= 0 or down <= 0:
        return 0.0
    balance = down / up if up > down else up / down
    return math.pow(up + down, balance)


class Client:
    """A keep-alive connection to a node, opened again when the server
    closes it (after its max_requests) or, with `reopen`, when it went
    away. Each answer: (status, parsed JSON body or None)."""

    def __init__(self, node):
        self.node = node
        self.conn = None

    def send(self, method, path, body=None, headers=None, token=None):
        h = {"User-Agent": "townhall-node-test/1.0"}
        h.update(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if token:
            h["Authorization"] = "Bearer " + token
        if self.conn is None:
            self.conn = http.client.HTTPConnection(
                "127.0.0.1", self.node.port, timeout=30)
        self.conn.request(method, path, data, h)

    def answer(self):
        try:
            r = self.conn.getresponse()
            data = r.read()
        except BaseException:
            self.close()
            raise
        if r.will_close:
            self.close()
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return r.status, doc

    def call(self, *args, **kw):
        self.send(*args, **kw)
        return self.answer()

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def vote_path(idea):
    return "/v1/sites/%s/ideas/%d/vote" % (SITE, idea)


def my_votes(client, resident):
    """A resident's own votes, idea -> -1, 0 or 1, through the API."""
    status, doc = client.call("GET", "/v1/sites/%s/ideas?sort=new&limit=100"
                              % SITE, token=jwt(resident))
    assert status == 200, (status, doc)
    return {i["id"]: i["my_vote"] for i in doc["items"]}


class Recorder:
    """What the clients sent and were answered, shared by their threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.statuses = {}         # (node name, status) -> count
        self.bad = []              # answers that were not what they must be
        self.feedback = {}         # handle -> [url, useful, rating, comment]
        self.requests = 0

    def status(self, node, status):
        with self.lock:
            self.requests += 1
            key = (node, status)
            self.statuses[key] = self.statuses.get(key, 0) + 1

    def fail(self, what):
        with self.lock:
            self.bad.append(what)


class TwoNodes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-nodes-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def database(self, name):
        """A new database with the site, its secret and an admin token;
        (URI, key file, admin token)."""
        uri = self.pg.createdb(name)
        key = os.path.join(self.tmp, name + ".key")
        admin = provision(uri, key, SITE, SECRET)
        return uri, key, admin

    def nodes(self, uri, key, name, *args):
        a = Node(uri, key, os.path.join(self.tmp, name, "a"), *LIMITS, *args)
        try:
            b = Node(uri, key, os.path.join(self.tmp, name, "b"), *LIMITS,
                     *args)
        except BaseException:
            a.stop()
            raise
        self.addCleanup(b.stop)
        self.addCleanup(a.stop)
        return a, b

    def sql(self, uri, query):
        """Rows of a query, each a list of strings."""
        out = self.pg.psql(query, uri=uri)
        return [line.split("|") for line in out.splitlines() if line]

    def ideas(self, node, n, author="author-%d"):
        c = Client(node)
        ids = []
        for i in range(n):
            status, doc = c.call("POST", "/v1/sites/%s/ideas" % SITE,
                                 {"title": "Idea %s" % words(i)},
                                 token=jwt(author % i))
            self.assertEqual(status, 201, doc)
            ids.append(doc["id"])
        c.close()
        return ids

    # ---- the checks by SQL -------------------------------------------------

    def check_counters(self, uri):
        """Every idea's counters and ranking keys, its day's totals, and
        every page's counters equal a recount from the rows."""
        ideas = self.sql(uri, """
            SELECT i.id, i.up, i.down, i.anon_up, i.anon_down,
                   i.top, i.hot, i.controversial, i.created,
                   count(*) FILTER (WHERE v.value = 1 AND p.kind = 0),
                   count(*) FILTER (WHERE v.value = -1 AND p.kind = 0),
                   count(*) FILTER (WHERE v.value = 1 AND p.kind = 1),
                   count(*) FILTER (WHERE v.value = -1 AND p.kind = 1)
              FROM ideas i
              LEFT JOIN votes v ON v.idea_id = i.id
              LEFT JOIN participants p ON p.id = v.participant_id
             GROUP BY i.id ORDER BY i.id""")
        self.assertTrue(ideas)
        for row in ideas:
            iid = int(row[0])
            stored = [int(x) for x in row[1:5]]
            recount = [int(x) for x in row[9:13]]
            self.assertEqual(stored, recount,
                             "idea %d: up, down, anon_up, anon_down" % iid)
            up, down, created = recount[0], recount[1], int(row[8])
            keys = [float(x) for x in row[5:8]]
            want = [wilson_lower(up, up + down), hot(up, down, created),
                    controversial(up, down)]
            for name, got, exp in zip(("top", "hot", "controversial"), keys,
                                      want):
                self.assertTrue(math.isclose(got, exp, rel_tol=1e-12,
                                             abs_tol=1e-15),
                                "idea %d: %s is %r, recount %r"
                                % (iid, name, got, exp))
        # The history's last day holds the idea's totals (every vote of
        # this test is of today).
        days = self.sql(uri, """
            SELECT i.id, i.up + i.anon_up, i.down + i.anon_down, d.up, d.down
              FROM ideas i JOIN vote_days d ON d.idea_id = i.id
             WHERE d.day = (SELECT max(day) FROM vote_days
                             WHERE idea_id = i.id)""")
        for row in days:
            self.assertEqual(row[1:3], row[3:5],
                             "idea %s: the day's totals" % row[0])
        pages = self.sql(uri, """
            SELECT p.id, p.yes, p.no, p.r1, p.r2, p.r3, p.r4, p.r5,
                   p.comments, p.useful_lower,
                   p.pub_yes, p.pub_no, p.pub_r1, p.pub_r2, p.pub_r3,
                   p.pub_r4, p.pub_r5,
                   count(f.id) FILTER (WHERE f.useful = 1),
                   count(f.id) FILTER (WHERE f.useful = 0),
                   count(f.id) FILTER (WHERE f.rating = 1),
                   count(f.id) FILTER (WHERE f.rating = 2),
                   count(f.id) FILTER (WHERE f.rating = 3),
                   count(f.id) FILTER (WHERE f.rating = 4),
                   count(f.id) FILTER (WHERE f.rating = 5),
                   count(f.id) FILTER (WHERE f.comment IS NOT NULL),
                   count(f.id) FILTER (WHERE f.day < p.last_day
                                       - ((p.last_day + 3) % 7)),
                   min(f.day) = p.first_day, max(f.day) = p.last_day
              FROM pages p LEFT JOIN feedback f ON f.page_id = p.id
             GROUP BY p.id ORDER BY p.id""")
        self.assertTrue(pages)
        for row in pages:
            pid = row[0]
            stored = [int(x) for x in row[1:9]]
            recount = [int(x) for x in row[17:25]]
            self.assertEqual(stored, recount,
                             "page %s: yes, no, r1..r5, comments" % pid)
            self.assertTrue(math.isclose(
                float(row[9]), wilson_lower(recount[0], recount[0] +
                                            recount[1]),
                rel_tol=1e-12, abs_tol=1e-15), "page %s: useful_lower" % pid)
            # Published counts are those of earlier weeks: none here (a run
            # across Sunday midnight UTC could publish some: then they are
            # at most the totals).
            if int(row[25]) == 0:
                self.assertEqual([int(x) for x in row[10:17]], [0] * 7,
                                 "page %s: nothing published yet" % pid)
            self.assertEqual(row[26:28], ["t", "t"],
                             "page %s: first and last day" % pid)

    def check_feedback(self, uri, acked, unanswered=()):
        """The feedback rows are the acknowledged answers (as amended), and
        beyond them at most the writes that got no answer."""
        rows = self.sql(uri, """
            SELECT p.url, f.useful, coalesce(f.rating, 0),
                   coalesce(f.comment, '')
              FROM feedback f JOIN pages p ON p.id = f.page_id""")
        stored = {}
        for r in rows:
            k = (r[0], int(r[1]), int(r[2]), r[3])
            stored[k] = stored.get(k, 0) + 1
        want = {}
        for a in acked:
            k = (a[0], int(a[1]), a[2] or 0, a[3] or "")
            want[k] = want.get(k, 0) + 1
        missing = {k: n - stored.get(k, 0) for k, n in want.items()
                   if stored.get(k, 0) < n}
        self.assertEqual(missing, {}, "acknowledged answers without a row")
        extra = {k: n - want.get(k, 0) for k, n in stored.items()
                 if n > want.get(k, 0)}
        allowed = {}
        for a in unanswered:
            k = (a[0], int(a[1]), a[2] or 0, a[3] or "")
            allowed[k] = allowed.get(k, 0) + 1
        beyond = {k: n for k, n in extra.items() if n > allowed.get(k, 0)}
        self.assertEqual(beyond, {}, "rows no answer acknowledged")

    # ---- the load ----------------------------------------------------------

    def test_votes_and_feedback_through_both_nodes(self):
        uri, key, admin = self.database("load")
        a, b = self.nodes(uri, key, "load")
        ideas = self.ideas(a, 6)
        rec = Recorder()
        residents = ["resident-%d" % i for i in range(24)]
        # The final vote of each resident on each idea, as the answers say.
        state = {(r, i): 0 for r in residents for i in ideas}
        seq = [0]

        def race(ca, cb, resident, idea, va, vb):
            """Sends va to node A and vb to node B for the same resident
            and idea, both before either answer is read."""
            token = jwt(resident)
            ca.send("PUT", vote_path(idea), {"value": va}, token=token)
            cb.send("PUT", vote_path(idea), {"value": vb}, token=token)
            sa, da = ca.answer()
            sb, db = cb.answer()
            rec.status("a", sa)
            rec.status("b", sb)
            before = state[(resident, idea)]
            ok = sa in (200, 201) and sb in (200, 201)
            ra = ok and sa == 201 and da["recorded"] is True
            rb = ok and sb == 201 and db["recorded"] is True
            if ok and (da["recorded"] != (sa == 201) or
                       db["recorded"] != (sb == 201)):
                ok = False
            if ok and va == vb:
                # One of them records it, unless it already was so.
                ok = (ra + rb) == (0 if before == va else 1)
                after = va
            elif ok:
                mine = my_votes(ca if random.random() < 0.5 else cb,
                                resident)[idea]
                # Either order: the first recorded unless it was already
                # so, the last always (it differs from the first).
                if mine == vb:
                    ok = ra == (before != va) and rb
                elif mine == va:
                    ok = rb == (before != vb) and ra
                else:
                    ok = False
                after = mine
            if not ok:
                rec.fail(("vote race", resident, idea, before, va, vb,
                          sa, da, sb, db))
                return
            state[(resident, idea)] = after

        def voter(ca, cb, mine):
            rng = random.Random(hash(tuple(mine)))
            for _ in range(60):
                resident = rng.choice(mine)
                idea = rng.choice(ideas)
                kind = rng.random()
                if kind < 0.6:  # the same vote through both at once
                    v = rng.choice((1, -1, 1, 0))
                    race(ca, cb, resident, idea, v, v)
                elif kind < 0.8:  # two different votes at once
                    va, vb = rng.sample((1, -1, 0), 2)
                    race(ca, cb, resident, idea, va, vb)
                else:  # a change through one node, then the other
                    for c, name in ((ca, "a"), (cb, "b")):
                        v = rng.choice((1, -1, 0))
                        s, d = c.call("PUT", vote_path(idea), {"value": v},
                                      token=jwt(resident))
                        rec.status(name, s)
                        before = state[(resident, idea)]
                        want = 201 if v != before else 200
                        if s != want or d["recorded"] != (want == 201) or \
                                d["my_vote"] != v:
                            rec.fail(("vote", resident, idea, before, v, s,
                                      d))
                        else:
                            state[(resident, idea)] = v

        def answerer(ca, cb, n0, count):
            rng = random.Random(n0)
            for n in range(n0, n0 + count):
                first, other = (ca, cb) if rng.random() < 0.5 else (cb, ca)
                fname = "a" if first is ca else "b"
                oname = "b" if first is ca else "a"
                url = PAGE % ("page-%d" % rng.randrange(8))
                body = {"page": url, "useful": rng.random() < 0.6}
                if rng.random() < 0.5:
                    body["rating"] = rng.randint(1, 5)
                if rng.random() < 0.4:
                    body["comment"] = "The page on %s helped" % words(n)
                idem = {"Idempotency-Key": str(uuid.uuid4())}
                s, d = first.call("POST", "/v1/sites/%s/feedback" % SITE,
                                  body, headers=idem)
                rec.status(fname, s)
                if s != 201 or d.get("recorded") is not True or \
                        not d.get("answer"):
                    rec.fail(("answer", body, s, d))
                    continue
                handle = d["answer"]
                row = [url, 1 if body["useful"] else 0, body.get("rating"),
                       body.get("comment")]
                if rng.random() < 0.2:  # a retry, on the same node: folded
                    s, d = first.call("POST", "/v1/sites/%s/feedback" % SITE,
                                      body, headers=idem)
                    rec.status(fname, s)
                    if s != 200 or d != {"recorded": False,
                                         "answer": handle}:
                        rec.fail(("retry", body, s, d))
                if rng.random() < 0.3:  # amended through the other node
                    change = {"answer": handle, "page": url,
                              "useful": not body["useful"],
                              "rating": rng.randint(1, 5)}
                    s, d = other.call("POST", "/v1/sites/%s/feedback" % SITE,
                                      change)
                    rec.status(oname, s)
                    if s != 200 or d != {"recorded": True}:
                        rec.fail(("amend", change, s, d))
                    else:
                        row[1] = 1 - row[1]
                        row[2] = change["rating"]
                with rec.lock:
                    rec.feedback[handle] = row

        def reader(ca, cb, stop):
            while not stop.is_set():
                for c, name in ((ca, "a"), (cb, "b")):
                    s, _ = c.call("GET", "/v1/sites/%s/ideas?sort=top&limit=20"
                                  % SITE)
                    rec.status(name, s)
                time.sleep(0.01)

        def run(fn, *args):
            ca, cb = Client(a), Client(b)
            try:
                fn(ca, cb, *args)
            except Exception as e:  # noqa: BLE001 (reported, then failed)
                rec.fail(("exception", fn.__name__, repr(e)))
            finally:
                ca.close()
                cb.close()

        started = time.time()
        stop = threading.Event()
        threads = []
        for k in range(6):  # each voter has residents of its own
            threads.append(threading.Thread(
                target=run, args=(voter, residents[k::6])))
        for k in range(6):
            threads.append(threading.Thread(
                target=run, args=(answerer, 1000 * k, 220)))
        for t in threads:
            t.start()
        rt = threading.Thread(target=run, args=(reader, stop))
        rt.start()
        for t in threads:
            t.join(timeout=120)
        stop.set()
        rt.join(timeout=30)
        took = time.time() - started
        self.assertEqual(rec.bad, [], "answers that were not right")
        statuses = sorted(rec.statuses.items())
        self.assertEqual({s for (_, s) in rec.statuses} - {200, 201}, set(),
                         "every answer a 200 or a 201: %r" % statuses)
        for name in ("a", "b"):
            self.assertGreater(rec.statuses.get((name, 201), 0), 50,
                               "node %s recorded writes" % name)
        self.assertGreater(rec.requests, 3000, "the load ran")

        self.check_counters(uri)
        self.check_feedback(uri, list(rec.feedback.values()))
        # One resident, one vote: each resident's own votes, read back
        # through either node, are what their answers left; the votes
        # table holds exactly those, one participant per resident.
        ca, cb = Client(a), Client(b)
        for n, r in enumerate(residents):
            mine = my_votes(ca if n % 2 else cb, r)
            for i in ideas:
                self.assertEqual(mine[i], state[(r, i)], (r, i))
        ca.close()
        cb.close()
        cast = sum(1 for v in state.values() if v != 0)
        self.assertEqual(int(self.pg.psql("SELECT count(*) FROM votes",
                                          uri=uri)), cast)
        voted = {r for (r, _), v in state.items() if v != 0}
        # Each resident who ever cast a vote has one participant (kept
        # when the vote is withdrawn), each author one too.
        everyone = int(self.pg.psql(
            "SELECT count(*) FROM participants WHERE kind = 0", uri=uri))
        self.assertGreaterEqual(everyone, len(voted) + len(ideas))
        self.assertLessEqual(everyone, len(residents) + len(ideas))
        self.assertEqual(self.pg.psql(
            "SELECT count(*) FROM (SELECT consultation_id, pseudonym FROM "
            "participants GROUP BY 1, 2 HAVING count(*) > 1) d", uri=uri),
            "0")
        for node in (a, b):
            m = node.metrics()
            self.assertEqual(m['townhall_writes_total{outcome="failed"}'], 0)
            self.assertEqual(sum(v for k, v in m.items() if k.startswith(
                "townhall_spam_discarded_total")), 0)
        print("# %d requests through two nodes in %.1f s: %s"
              % (rec.requests, took, statuses))

    # ---- the caches --------------------------------------------------------

    def test_caches_follow_writes_on_the_other_node(self):
        uri, key, admin = self.database("caches")
        a, b = self.nodes(uri, key, "caches")
        idea = self.ideas(a, 1)[0]
        url = "/v1/sites/%s/ideas?sort=top&limit=20" % SITE

        def top(node):
            s, _, data = node.request("GET", url)
            self.assertEqual(s, 200, data)
            item = [i for i in json.loads(data)["items"] if i["id"] == idea]
            return item[0]["votes"]["up"]

        def cache(node, which="list"):
            m = node.metrics()
            return (m['townhall_%s_cache_total{result="hit"}' % which],
                    m['townhall_%s_cache_total{result="miss"}' % which])

        for n, (writer, other) in enumerate(((a, b), (b, a))):
            top(other)
            hit, miss = cache(other)
            self.assertEqual(top(other), n, "nothing voted yet")
            self.assertEqual(cache(other), (hit + 1, miss),
                             "the second read is the cache's")
            s, _, data = writer.request("PUT", vote_path(idea), {"value": 1},
                                        token=jwt("cache-voter-%d" % n))
            self.assertEqual(s, 201, data)
            self.assertEqual(top(other), n + 1,
                             "a vote through the other node shows at once")
            self.assertEqual(cache(other), (hit + 1, miss + 1),
                             "the cached list was dropped, and built again")
            self.assertEqual(top(other), n + 1)
            self.assertEqual(cache(other), (hit + 2, miss + 1))

        # The exact page summary is read for each request; the site row it
        # starts from is the loop's cached copy until a commit anywhere.
        page = PAGE % "summary"
        path = "/v1/sites/%s/feedback/summary?page=%s" % (
            SITE, urllib.parse.quote(page, safe=""))
        staff = {"Authorization": "Bearer " + admin}
        for n, (writer, other) in enumerate(((a, b), (b, a))):
            s, _, data = writer.request(
                "POST", "/v1/sites/%s/feedback" % SITE,
                {"page": page, "useful": True},
                headers={"Idempotency-Key": str(uuid.uuid4())})
            self.assertEqual(s, 201, data)
            other.request("GET", path, headers=staff)
            hit, miss = cache(other, "site")
            s, _, data = other.request("GET", path, headers=staff)
            self.assertEqual((s, json.loads(data)["yes"]), (200, n + 1), data)
            self.assertEqual(cache(other, "site"), (hit + 1, miss),
                             "the site row came from the cache")
            s, _, data = writer.request(
                "POST", "/v1/sites/%s/feedback" % SITE,
                {"page": page, "useful": False},
                headers={"Idempotency-Key": str(uuid.uuid4())})
            self.assertEqual(s, 201, data)
            s, _, data = other.request("GET", path, headers=staff)
            doc = json.loads(data)
            self.assertEqual((s, doc["yes"], doc["no"], doc["exact"]),
                             (200, n + 1, n + 1, True),
                             "an answer through the other node shows at once")
            self.assertEqual(cache(other, "site"), (hit + 1, miss + 1),
                             "the cached site row was dropped")
        self.check_counters(uri)

    # ---- a node killed -----------------------------------------------------

    def test_sigkill_of_one_node_while_the_other_serves(self):
        uri, key, admin = self.database("killed")
        a, b = self.nodes(uri, key, "killed")
        ideas = self.ideas(b, 4)
        rec = Recorder()
        acked, unanswered = [], []
        survivor_bad = []
        stop = threading.Event()
        a_down = threading.Event()
        votes = {}  # resident -> {idea: the values it may hold}

        def post(node, name, n, body):
            """One answer on a connection of its own: the status, or None
            when the node answered nothing (killed)."""
            try:
                s, _, data = node.request(
                    "POST", "/v1/sites/%s/feedback" % SITE, body,
                    headers={"Idempotency-Key": str(uuid.uuid4())},
                    timeout=15)
            except (OSError, http.client.HTTPException):
                return None
            rec.status(name, s)
            return s, json.loads(data) if data else None

        def answers(node, name, k):
            n = 0
            while not stop.is_set():
                n += 1
                body = {"page": PAGE % ("kill-%d" % (n % 5)), "useful": True,
                        "comment": "The %s page on %s was clear" % (
                            name, words(k * 4000 + n))}
                row = [body["page"], 1, None, body["comment"]]
                got = post(node, name, n, body)
                with rec.lock:
                    if got and got[0] == 201:
                        acked.append(row)
                    else:
                        unanswered.append(row)
                if got is None or got[0] >= 300:
                    if name == "b":
                        survivor_bad.append(("answer", got))
                    time.sleep(0.05)

        def voting(node, name, residents):
            rng = random.Random(name)
            while not stop.is_set():
                r = rng.choice(residents)
                i = rng.choice(ideas)
                v = rng.choice((1, -1, 0))
                held = votes.setdefault(r, {}).setdefault(i, {0})
                try:
                    s, _, data = node.request("PUT", vote_path(i),
                                              {"value": v}, token=jwt(r),
                                              timeout=15)
                except (OSError, http.client.HTTPException):
                    s = None
                if s is not None:
                    rec.status(name, s)
                if s in (200, 201):
                    votes[r][i] = {v}
                else:
                    held.add(v)  # no answer: it may have been recorded
                    if name == "b":
                        survivor_bad.append(("vote", s))
                    time.sleep(0.05)

        def reads(node, name):
            while not stop.is_set():
                try:
                    s, _, _ = node.request(
                        "GET", "/v1/sites/%s/ideas?sort=hot" % SITE,
                        timeout=15)
                except (OSError, http.client.HTTPException):
                    s = None
                if name == "b" and s != 200:
                    survivor_bad.append(("read", s))
                time.sleep(0.02)

        threads = [
            threading.Thread(target=answers, args=(a, "a", 0)),
            threading.Thread(target=answers, args=(a, "a", 1)),
            threading.Thread(target=answers, args=(b, "b", 2)),
            threading.Thread(target=answers, args=(b, "b", 3)),
            threading.Thread(target=voting, args=(
                a, "a", ["ka-%d" % i for i in range(6)])),
            threading.Thread(target=voting, args=(
                b, "b", ["kb-%d" % i for i in range(6)])),
            threading.Thread(target=reads, args=(b, "b")),
        ]
        for t in threads:
            t.start()
        try:
            time.sleep(2)
            before = rec.statuses.get(("b", 201), 0)
            a.kill()
            a_down.set()
            time.sleep(2)
            during = rec.statuses.get(("b", 201), 0) - before
            a.start()  # on a new port: the clients read it at each request
            time.sleep(2)
        finally:
            stop.set()
            for t in threads:
                t.join(timeout=60)
        self.assertEqual(survivor_bad, [],
                         "the survivor answered every request with a 2xx")
        self.assertGreater(during, 10, "the survivor recorded while A was "
                                       "down")
        # A serves again after its restart.
        s, _, data = a.request("POST", "/v1/sites/%s/feedback" % SITE,
                               {"page": PAGE % "after", "useful": True},
                               headers={"Idempotency-Key": str(uuid.uuid4())})
        self.assertEqual(s, 201, data)
        acked.append([PAGE % "after", 1, None, None])
        self.assertGreater(rec.statuses.get(("a", 201), 0), 10)
        self.assertEqual({s for (n, s) in rec.statuses if n == "b"} -
                         {200, 201}, set())
        self.check_feedback(uri, acked, unanswered)
        self.check_counters(uri)
        # Each resident's votes are the last acknowledged, or one sent
        # after it that got no answer.
        c = Client(b)
        for r, held in votes.items():
            mine = my_votes(c, r)
            for i, values in held.items():
                self.assertIn(mine[i], values, (r, i))
        c.close()
        print("# while A was down, B recorded %d writes; all: %s"
              % (during, sorted(rec.statuses.items())))


if __name__ == "__main__":
    unittest.main()
