"""What the fault tests share: a write load that remembers exactly what the
server acknowledged, a check that replays each acknowledged write against a
server (an acknowledged write comes back "already recorded", never
"recorded"), PRAGMA integrity_check, and small file systems to fill."""
import datetime
import http.client
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

from harness import ORIGIN, SITE, Server, jwt  # noqa: E402


def today():
    return datetime.datetime.now(datetime.timezone.utc).date()


class Client:
    """One keep-alive connection, reopened after any error."""

    def __init__(self, server, timeout=10):
        self.server = server
        self.timeout = timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        # Through the harness's registry, so the privacy scan knows them.
        from harness import _probe_request
        h.setdefault("User-Agent", "townhall-fault-test/1.0")
        _probe_request(h.items(), data)
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(
                        "127.0.0.1", self.server.port, timeout=self.timeout)
                self.conn.request(method, path, body=data, headers=h)
                r = self.conn.getresponse()
                payload = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, dict((k.lower(), v) for k, v in r.getheaders()), payload
            except (OSError, http.client.HTTPException):
                self.close()
                if attempt:
                    raise
        raise OSError("unreachable")

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


class Acks:
    """Writes the server acknowledged (2xx), by kind."""

    def __init__(self):
        self.lock = threading.Lock()
        self.votes = []      # (resident, idea, value)
        self.feedback = []   # (user agent, page, useful, rating, date)
        self.ideas = []      # idea id
        self.refused = []    # ("vote"|..., details) answered 503

    def count(self):
        return len(self.votes) + len(self.feedback) + len(self.ideas)

    def extend(self, other):
        with self.lock:
            self.votes += other.votes
            self.feedback += other.feedback
            self.ideas += other.ideas
            self.refused += other.refused


def seed_ideas(server, n, tag="seed"):
    c = Client(server)
    ids = []
    for i in range(n):
        st, _, body = c.request("POST", f"/v1/sites/{SITE}/ideas",
                                {"title": f"Seeded idea {i} for the {tag} test"},
                                {"Authorization": "Bearer " + jwt(f"{tag}-author-{i // 10}")})
        assert st == 201, (st, body)
        ids.append(json.loads(body)["id"])
    c.close()
    return ids


def write_once(client, kind, tag, thread, k, ideas, rnd, acks):
    """One write of `kind`; records it in acks if acknowledged. Returns
    the HTTP status (or -1 when the connection failed)."""
    resident = f"{tag}-resident-{thread}"
    try:
        if kind == "vote":
            idea = ideas[k % len(ideas)]
            value = rnd.choice((1, 1, -1))
            st, _, _ = client.request(
                "PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote", {"value": value},
                {"Authorization": "Bearer " + jwt(resident)})
            if st == 201:
                with acks.lock:
                    acks.votes.append((resident, idea, value))
            elif st == 503:
                with acks.lock:
                    acks.refused.append(("vote", (resident, idea, value)))
        elif kind == "feedback":
            ua = f"{tag}-agent-{thread}"
            page = f"{ORIGIN}/{tag}/page-{thread}-{k}"
            useful, rating = rnd.choice((True, False)), rnd.randint(1, 5)
            d = today()
            st, _, _ = client.request(
                "POST", f"/v1/sites/{SITE}/feedback",
                {"page": page, "useful": useful, "rating": rating},
                {"User-Agent": ua})
            if st == 201:
                with acks.lock:
                    acks.feedback.append((ua, page, useful, rating, d))
            elif st == 503:
                with acks.lock:
                    acks.refused.append(("feedback", (ua, page, useful, rating, d)))
        else:
            st, _, body = client.request(
                "POST", f"/v1/sites/{SITE}/ideas",
                {"title": f"Idea {k} of writer {thread} in {tag}"},
                {"Authorization": "Bearer " + jwt(resident)})
            if st == 201:
                with acks.lock:
                    acks.ideas.append(json.loads(body)["id"])
        return st
    except (OSError, http.client.HTTPException, ValueError):
        client.close()
        return -1


class Load:
    """Writer threads sending a mix of votes, feedback and new ideas, each
    resident voting on each idea at most once, each device rating each page
    once: every acknowledged write can be replayed and recognised."""

    def __init__(self, server, tag, ideas, threads=6, seed=0):
        self.server = server
        self.tag = tag
        self.ideas = ideas
        self.acks = Acks()
        self.stop_flag = threading.Event()
        self.after_stop = 0   # acknowledged after `mark` was called
        self.marked = None
        self.errors = 0
        self.threads = [threading.Thread(target=self.run, args=(i, seed), daemon=True)
                        for i in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def mark(self):
        """Notes the moment (e.g. a signal sent); see acked_after_mark."""
        self.marked = time.monotonic()

    def join(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(30)

    def run(self, n, seed):
        rnd = random.Random(seed * 1000 + n)
        order = list(self.ideas)
        rnd.shuffle(order)
        c = Client(self.server, timeout=15)
        k = 0
        while not self.stop_flag.is_set():
            kind = ("vote", "feedback", "idea")[k % 3] if k // 3 < len(order) \
                else ("feedback", "idea")[k % 2]
            before = self.acks.count()
            st = write_once(c, kind, self.tag, n, k // 3 if kind == "vote" else k,
                            order, rnd, self.acks)
            if st == -1:
                self.errors += 1
                time.sleep(0.005)
            elif self.marked is not None and self.acks.count() > before:
                self.after_stop += 1
            k += 1
        c.close()


def verify(server, acks, check_refused=False):
    """Replays every acknowledged write against a running server: each must
    be recognised as already recorded. Returns a list of problems."""
    c = Client(server)
    problems = []
    for resident, idea, value in acks.votes:
        st, _, body = c.request("PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote",
                                {"value": value},
                                {"Authorization": "Bearer " + jwt(resident)})
        if st != 200:
            problems.append(f"vote {resident} on {idea}: replay answered {st} {body[:80]!r}")
    d = today()
    for ua, page, useful, rating, when in acks.feedback:
        if when != d:
            continue  # a new day deduplicates afresh: nothing to compare
        st, _, body = c.request("POST", f"/v1/sites/{SITE}/feedback",
                                {"page": page, "useful": useful, "rating": rating},
                                {"User-Agent": ua})
        if st != 200:
            problems.append(f"feedback {ua} on {page}: replay answered {st} {body[:80]!r}")
    for idea in acks.ideas:
        st, _, _ = c.request("GET", f"/v1/sites/{SITE}/ideas/{idea}")
        if st != 200:
            problems.append(f"idea {idea}: GET answered {st}")
    if check_refused:
        for kind, w in acks.refused:
            if kind == "vote":
                resident, idea, value = w
                st, _, _ = c.request("PUT", f"/v1/sites/{SITE}/ideas/{idea}/vote",
                                     {"value": value},
                                     {"Authorization": "Bearer " + jwt(resident)})
            else:
                ua, page, useful, rating, when = w
                if when != d:
                    continue
                st, _, _ = c.request("POST", f"/v1/sites/{SITE}/feedback",
                                     {"page": page, "useful": useful, "rating": rating},
                                     {"User-Agent": ua})
            if st != 201:
                problems.append(f"a {kind} answered 503 was recorded all the same "
                                f"(replay answered {st}): {w}")
    c.close()
    return problems


def integrity(db_path):
    db = sqlite3.connect(db_path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


# ---- small file systems ----------------------------------------------------------

class SmallFs:
    """A tmpfs of `size` mounted on a fresh directory (needs root, as CI
    has). .fill() leaves it with no free space; .unfill() gives it back."""

    def __init__(self, size="6m"):
        self.dir = tempfile.mkdtemp(prefix="townhall-smallfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755",
                            "tmpfs", self.dir], capture_output=True, text=True)
        self.mounted = r.returncode == 0
        self.error = r.stderr.strip()
        self.ballast = os.path.join(self.dir, "ballast")

    def fill(self):
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 65536, 4096, 512, 1):
                block = b"\0" * chunk
                while True:
                    try:
                        os.write(fd, block)
                    except OSError:
                        break
        finally:
            os.close(fd)
        return os.statvfs(self.dir).f_bavail

    def unfill(self):
        try:
            os.unlink(self.ballast)
        except FileNotFoundError:
            pass

    def keep(self, name):
        """Copies what is on it to $TH_ARTIFACTS (for the privacy scan)."""
        art = os.environ.get("TH_ARTIFACTS")
        if art:
            dest = tempfile.mkdtemp(prefix=f"townhall-faults-{name}-", dir=art)
            for n in os.listdir(self.dir):
                if n != "ballast" and os.path.isfile(os.path.join(self.dir, n)):
                    shutil.copy2(os.path.join(self.dir, n), dest)

    def close(self):
        if self.mounted:
            subprocess.run(["umount", "-l", self.dir], capture_output=True)
        shutil.rmtree(self.dir, ignore_errors=True)
