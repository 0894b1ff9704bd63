"""Test harness: a real `townhall serve` on loopback, a real client.

Server() makes a fresh directory with a database holding a site "camden"
(origin https://www.camden.gov.uk, anonymous participation allowed, a known
resident-token secret) and staff tokens for each role, made with the
`townhall` command itself; then starts the server on a free port.
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

SRC = os.environ.get("TH_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
BIN = os.environ.get("TH_BIN") or os.path.join(BUILD, "townhall")

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


def run(*args, db, check=True):
    proc = subprocess.run([BIN, *args, "--db", db], capture_output=True,
                          text=True)
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
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.tokens = {}
        self.proc = None
        self.log_lines = []
        if site and not os.path.exists(self.db):
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

    def start(self):
        args = [BIN, "serve", "--db", self.db, "--listen", "127.0.0.1:0",
                "--log-level", self.log_level, *self.extra_args]
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
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._reader.join(timeout=5)
        self.proc = None
        with open(os.path.join(self.dir, "server.log"), "a") as f:
            f.write(self.log_text())
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
        if not self.artifacts:
            shutil.rmtree(self.dir, ignore_errors=True)

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
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        resp = Response(r.status, r.getheaders(), r.read())
        conn.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def raw(self, data, read_timeout=5.0, shutdown=False):
        """Sends raw bytes on one connection and returns everything read
        until the server closes it (or the timeout)."""
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
