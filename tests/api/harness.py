"""Test harness: a real `townhall serve` on loopback, a real client.

Server() makes a fresh directory with a database holding a site "camden"
(origin https://www.camden.gov.uk, anonymous participation allowed, a known
resident-token secret) and staff tokens for each role, made with the
`townhall` command itself; then starts the server on a free port.

The engine (issue 15): TH_TEST_ENGINE=postgresql (default sqlite) gives
each Server a database of its own on the cluster whose maintenance URI is
TH_TEST_PG (CREATE DATABASE ... TEMPLATE template0, owned by and used as
TH_TEST_PG_ROLE when set; dropped by cleanup()): Server.db is then its
URI, the key file is Server.key_file in the server's directory (where
SQLite keeps it), `townhall serve` gets --db URI --key-file FILE and the
other commands (run()) --db URI with $TOWNHALL_KEY_FILE. Server.execute()
and Server.query() are "another process" on either engine. A test about
SQLite itself is marked @sqlite_only(reason): on PostgreSQL it is not
collected at all (never a SKIP); docs/design/postgresql.md lists them.
"""
import base64
import errno
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

SRC = os.environ.get("TH_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
BIN = os.environ.get("TH_BIN") or os.path.join(BUILD, "townhall")

ENGINE = os.environ.get("TH_TEST_ENGINE") or "sqlite"
if ENGINE not in ("sqlite", "postgresql"):
    raise SystemExit("TH_TEST_ENGINE is sqlite (the default) or postgresql")
PG = ENGINE == "postgresql"

SITE = "camden"
ORIGIN = "https://www.camden.gov.uk"
SECRET = b"camden-resident-token-secret-0123456789abcdef"
PAGE = ORIGIN + "/bins-and-recycling"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(sub, aud=SITE, exp_in=600, secret=SECRET, alg="HS256", extra=None,
        header=None, exp=True):
    """A resident token as a council's app would sign it."""
    h = header or {"alg": alg, "typ": "JWT"}
    p = {"sub": sub, "aud": aud}
    if exp:
        p["exp"] = int(time.time()) + exp_in
    if extra:
        p.update(extra)
    signing = b64url(json.dumps(h).encode()) + "." + b64url(
        json.dumps(p).encode())
    if alg == "none":
        return signing + "."
    sig = hmac.new(secret, signing.encode(), hashlib.sha256).digest()
    return signing + "." + b64url(sig)


# ---- probe registry -----------------------------------------------------------
# Every request this harness sends records what identifies a person in it -
# its User-Agent, the X-Forwarded-For addresses, the `sub` of a resident JWT
# it carries, any e-mail address in its body - in $TH_ARTIFACTS/probes.txt
# (one JSON object per line: {"kind": ..., "value": ...}). The privacy suite
# (tests/suites/99-privacy.sh), which runs after every other suite, then
# looks for each of them in every file the tests left behind. Loopback
# addresses are not recorded (the server listens on them and they are in
# every log), nor other strings shorter than 8 characters, which would turn
# up by chance in megabytes of binary pages (nor over 2048: the oversized
# headers of limit tests). Tests may also record a
# "control": something that IS stored, which the scan must find.
# The local part is bounded (RFC 5321: 64 octets): unbounded, a megabyte of
# letters without an '@' took minutes to scan (quadratic backtracking).
_EMAIL = re.compile(rb"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_probe_lock = threading.Lock()
_probes_seen = set()


def probe(kind, value):
    """Records one probe (kind: ua, ip, sub, email, handle, key or
    control)."""
    art = os.environ.get("TH_ARTIFACTS")
    if not art or value is None:
        return
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    value = value.strip()
    if kind == "ip":
        if value.startswith("127.") or value in ("::1", "localhost") or \
                value.startswith("::ffff:127.") or not value:
            return
    elif len(value) < 8 or len(value) > 2048:
        # Longer ones are the oversized headers of limit tests, refused
        # before anything could store them.
        return
    with _probe_lock:
        if (kind, value) in _probes_seen:
            return
        _probes_seen.add((kind, value))
        with open(os.path.join(art, "probes.txt"), "a") as f:
            f.write(json.dumps({"kind": kind, "value": value}) + "\n")


def _probe_request(headers, body):
    """headers: (name, value) pairs; body: bytes or None."""
    for name, value in headers:
        n = name.lower()
        if isinstance(value, bytes):
            value = value.decode("latin-1")
        if n == "user-agent":
            probe("ua", value)
        elif n == "idempotency-key":
            probe("key", value.strip('"'))
        elif n == "x-forwarded-for":
            for ip in value.split(","):
                probe("ip", ip)
        elif n == "authorization" and value.lower().startswith("bearer "):
            parts = value[7:].strip().split(".")
            if len(parts) == 3:
                try:
                    pad = "=" * (-len(parts[1]) % 4)
                    sub = json.loads(base64.urlsafe_b64decode(parts[1] + pad)).get("sub")
                    if isinstance(sub, str):
                        probe("sub", sub)
                except (ValueError, AttributeError, RecursionError):
                    # Not a token's JSON (or one nested past Python's
                    # recursion limit, as the attack tests send).
                    pass
    if body:
        from urllib.parse import unquote_to_bytes
        for text in (body, unquote_to_bytes(body.replace(b"+", b" "))):
            if b"@" not in text:
                continue
            for m in _EMAIL.finditer(text):
                probe("email", m.group(0))


_HANDLE = re.compile(rb'(?:"answer":\s*"|name="answer" value=")([A-Za-z0-9_-]{22})"')


def _probe_handles(body):
    """Answer handles a response handed out (JSON or the thank-you page's
    hidden field): capabilities, which must not be stored either."""
    if body and b"answer" in body:
        for m in _HANDLE.finditer(body):
            probe("handle", m.group(1))


def _probe_raw(data):
    """Raw bytes of one or more requests, as Server.raw sends them."""
    headers = []
    for line in data.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() in (b"user-agent", b"x-forwarded-for",
                                            b"authorization"):
            headers.append((name.strip().decode("latin-1"), value.strip()))
    _probe_request(headers, data)


# ---- the engine under test ------------------------------------------------------

def sqlite_only(reason):
    """Marks a test about SQLite itself (its files, their modes, its
    backup): on PostgreSQL the method is not there to collect (a SKIP would
    count as a failure and prove nothing). `reason` says why, for the list
    in docs/design/postgresql.md."""
    def mark(fn):
        fn.sqlite_only = reason
        return None if PG else fn
    return mark


_pg_serial = [0]
_KEY_FILES = {}  # URI -> the key file made for it


def _psql_bin():
    sys.path.insert(0, os.path.join(SRC, "tests", "pg"))
    try:
        from cluster import bindir
    finally:
        sys.path.pop(0)
    return os.path.join(bindir(), "psql")


def psql(sql, uri=None):
    """Runs SQL through psql (on TH_TEST_PG, the maintenance database, by
    default); returns its unaligned output, fields split by a tab."""
    uri = uri or os.environ.get("TH_TEST_PG")
    if not uri:
        raise RuntimeError("TH_TEST_ENGINE=postgresql needs TH_TEST_PG, the "
                           "maintenance URI of a cluster (tests/pg/cluster.py)")
    proc = subprocess.run([_psql_bin(), "-X", "-q", "-A", "-t", "-F", "\t",
                           "-v", "ON_ERROR_STOP=1", "-d", uri, "-c", sql],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"psql: {sql}: {proc.stderr.strip()}")
    return proc.stdout


def pg_uri(dbname):
    """The URI of database `dbname` on TH_TEST_PG's cluster: its host, port
    and other parameters, as TH_TEST_PG_ROLE when that is set."""
    from urllib.parse import parse_qsl, quote, unquote, urlsplit
    admin = urlsplit(os.environ["TH_TEST_PG"])
    params = dict(parse_qsl(admin.query, keep_blank_values=True))
    userinfo, _, hosts = admin.netloc.rpartition("@")
    if hosts:
        hs, ps = [], []
        for h in hosts.split(","):
            host, port = h.rsplit(":", 1) if ":" in h.lstrip("[").split(
                "]")[-1] else (h, "")
            hs.append(unquote(host.strip("[]")))
            ps.append(port)
        params.setdefault("host", ",".join(hs))
        if any(ps):
            params.setdefault("port", ",".join(ps))
    user, _, password = userinfo.partition(":")
    role = os.environ.get("TH_TEST_PG_ROLE")
    if role:
        params["user"] = role
        params.pop("password", None)
    else:
        if user:
            params.setdefault("user", unquote(user))
        if password:
            params.setdefault("password", unquote(password))
    params["dbname"] = dbname
    return "postgresql://?" + "&".join(
        f"{k}={quote(v, safe='/')}" for k, v in params.items())


def pg_createdb(prefix="th_api"):
    """A new database (template0) on TH_TEST_PG's cluster: (name, URI)."""
    _pg_serial[0] += 1
    name = f"{prefix}_{os.getpid()}_{_pg_serial[0]}"
    role = os.environ.get("TH_TEST_PG_ROLE")
    psql(f'CREATE DATABASE "{name}" TEMPLATE template0' +
         (f' OWNER "{role}"' if role else ""))
    return name, pg_uri(name)


def pg_dropdb(name):
    psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sql_literal(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


def _is_uri(db):
    return db.startswith(("postgresql://", "postgres://"))


def run(*args, db, check=True):
    env = None
    if _is_uri(db):
        # A URI has no file beside it for the key: the one its Server made.
        env = dict(os.environ, TOWNHALL_KEY_FILE=_KEY_FILES[db])
    proc = subprocess.run([BIN, *args, "--db", db], capture_output=True,
                          text=True, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError(f"townhall {' '.join(args)}: {proc.stderr}")
    return proc


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name):
        for k, v in self.headers:
            if k.lower() == name.lower():
                return v
        return None

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return f"<{self.status} {self.body[:200]!r}>"


class Server:
    def __init__(self, *extra_args, site=True, directory=None,
                 log_level="debug"):
        # Under the test runner, everything a server leaves (database, WAL,
        # backups, its log) is kept in $TH_ARTIFACTS until the final privacy
        # scan has looked at every byte of it.
        self.artifacts = os.environ.get("TH_ARTIFACTS")
        self.dir = directory or tempfile.mkdtemp(prefix="townhall-api-",
                                                 dir=self.artifacts)
        self.db = os.path.join(self.dir, "townhall.db")
        # On SQLite the key file is th_open's default, beside the database;
        # a URI needs it named: the same path.
        self.key_file = self.db + ".key"
        self.pg_db = None
        if PG:
            self.pg_db, self.db = pg_createdb()
            _KEY_FILES[self.db] = self.key_file
        self.extra_args = list(extra_args)
        # A test that raises the anonymous-write limit to load the server
        # from one address raises the per-page limit with it, unless it
        # sets that one itself.
        if "--rate-limit" in self.extra_args and \
                "--rate-limit-page" not in self.extra_args:
            limit = self.extra_args[self.extra_args.index("--rate-limit") + 1]
            self.extra_args += ["--rate-limit-page", limit]
        self.log_level = log_level
        self.tokens = {}
        self.proc = None
        self.log_lines = []
        try:
            if site and (PG or not os.path.exists(self.db)):
                run("site", "add", SITE, "--name", "London Borough of Camden",
                    "--origin", ORIGIN, "--anonymous", db=self.db)
                secret_file = os.path.join(self.dir, "secret")
                with open(secret_file, "wb") as f:
                    f.write(SECRET)
                run("site", "secret", SITE, "--from-file", secret_file, db=self.db)
                os.unlink(secret_file)
                for role in ("admin", "councillor", "moderator"):
                    out = run("token", "create", "--site", SITE, "--role", role,
                              "--label", f"test {role}", db=self.db).stdout
                    self.tokens[role] = re.search(r"(th_\d+_\S+)", out).group(1)
            self.start()
        except BaseException:
            if self.pg_db:  # made for this server: not left behind
                pg_dropdb(self.pg_db)
                self.pg_db = None
            raise

    def start(self):
        args = [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                "--log-level", self.log_level, *self.extra_args]
        if PG:
            args[4:4] = ["--key-file", self.key_file]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + 10
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log_lines.append(line)
            m = re.search(r'"msg":"listening".*"port":(\d+)', line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("server did not start: " +
                               "".join(self.log_lines))
        # Keep draining the log so the server never blocks on a full pipe.
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self):
        for line in self.proc.stderr:
            self.log_lines.append(line)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if sig is not None:  # None: the test already signalled; just wait
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(timeout=5)
        self.proc = None
        # The log beside the database, for the privacy scan; on a disk a
        # test has filled (tests/faults) there may be no room for it, which
        # is the test's point and not a failure of the server it stops.
        try:
            with open(os.path.join(self.dir, "server.log"), "a") as f:
                f.write(self.log_text())
        except OSError as e:
            if e.errno != errno.ENOSPC:
                raise
        # Under AddressSanitizer / UndefinedBehaviorSanitizer builds, any
        # report in the server's output fails the test that stopped it.
        log = self.log_text()
        for marker in ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                       "runtime error:", "ThreadSanitizer"):
            if marker in log:
                raise AssertionError("sanitizer report from the server:\n" +
                                     log[log.index(marker) - 200:][:4000])
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        self.stop()
        if self.pg_db:
            pg_dropdb(self.pg_db)
            self.pg_db = None
        if not self.artifacts:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ---- the database, as another process sees it ---------------------------

    def execute(self, sql, params=()):
        """Runs one statement on the server's database from another process
        (a host application, a repair by hand), committed at once. `?`
        placeholders; SQL valid on both engines."""
        if PG:
            psql(self._inline(sql, params), uri=self.db)
            return
        con = sqlite3.connect(self.db, timeout=10)
        try:
            con.execute(sql, params)
            con.commit()
        finally:
            con.close()

    def query(self, sql, params=()):
        """The rows of a query from another process, as tuples (integers as
        int on both engines)."""
        if PG:
            # Each row as JSON, so that types (numbers, NULL) and any text
            # come back as sqlite3 gives them.
            out = psql("SELECT coalesce(json_agg(q), '[]') FROM (%s) q"
                       % self._inline(sql, params), uri=self.db)
            return [tuple(v for _, v in row) for row in
                    json.loads(out, object_pairs_hook=list)]
        con = sqlite3.connect(self.db, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    @staticmethod
    def _inline(sql, params):
        parts = sql.split("?")
        if len(parts) != len(params) + 1:
            raise ValueError("one parameter per ? (and no ? in literals)")
        out = parts[0]
        for v, rest in zip(params, parts[1:]):
            out += _sql_literal(v) + rest
        return out

    # ---- clients ----------------------------------------------------------

    def request(self, method, path, body=None, headers=None, token=None,
                json_body=None, timeout=10):
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        h = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        if isinstance(body, str):
            body = body.encode()
        if token:
            h["Authorization"] = "Bearer " + token
        h.setdefault("User-Agent", "townhall-api-test/1.0")
        _probe_request(h.items(), body)
        try:
            conn.request(method, path, body=body, headers=h)
        except (BrokenPipeError, ConnectionResetError):
            # The server answered early (413, 431) and stopped reading while
            # the body was still going out: read what it said, as curl does
            # (if the answer was lost too, getresponse fails the test).
            pass
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        _probe_handles(resp.body)
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def raw(self, data, read_timeout=5.0, shutdown=False):
        """Sends raw bytes on one connection and returns everything read
        until the server closes it (or the timeout)."""
        _probe_raw(data)
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
            s.settimeout(read_timeout)
            out = b""
            while True:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                if not chunk:
                    break
                out += chunk
            return out
        finally:
            s.close()

    def log_text(self):
        return "".join(self.log_lines)


def parse_responses(data):
    """Splits raw HTTP/1.1 responses (with Content-Length) into
    (status, headers dict, body) tuples."""
    out = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        n = int(headers.get("content-length", "0"))
        out.append((status, headers, rest[:n]))
        data = rest[n:]
    return out
