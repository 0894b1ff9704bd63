"""What the attack tests share: the API harness (tests/api/harness.py), a
strict reader of raw HTTP/1.1 answers, and a prober that measures how
promptly an ordinary client is served while an attack runs."""
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "api"))

import harness  # noqa: E402
from harness import ORIGIN, PAGE, SECRET, SITE, Server, b64url, jwt  # noqa: E402,F401


def raw(server, data, timeout=5.0, shutdown=False):
    """Sends bytes on a fresh connection; returns everything the server
    sent until it closed (or the timeout), tolerating a reset. What it
    sends is recorded for the final privacy scan, as Server.raw does."""
    harness._probe_raw(data)
    s = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    out = b""
    try:
        try:
            s.sendall(data)
            if shutdown:
                s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        s.settimeout(timeout)
        while True:
            try:
                chunk = s.recv(65536)
            except (socket.timeout, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
    finally:
        s.close()
    return out


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (lower-case name, value)
        self.body = body

    def header(self, name):
        vals = [v for k, v in self.headers if k == name.lower()]
        return vals[0] if vals else None

    def names(self):
        return [k for k, _ in self.headers]

    def __repr__(self):
        return f"<{self.status} {self.headers} {self.body[:100]!r}>"


def answers(data, head=False):
    """Splits raw bytes into answers, failing (AssertionError) on anything
    that is not a well-formed HTTP/1.1 response: status line, header lines
    of name ':' value without CR, LF or NUL in them, a blank line, exactly
    one Content-Length (none on a 204 or 304) and that many bytes of body
    (none after a HEAD)."""
    out = []
    i = 0
    while i < len(data):
        end = data.find(b"\r\n\r\n", i)
        assert end >= 0, f"headers not ended at byte {i}: {data[i:i + 300]!r}"
        lines = data[i:end].split(b"\r\n")
        status_line = lines[0].decode("latin-1")
        assert status_line.startswith("HTTP/1.1 ") and status_line[9:12].isdigit(), \
            f"bad status line {status_line!r}"
        headers = []
        for line in lines[1:]:
            assert b"\n" not in line and b"\r" not in line and b"\0" not in line, \
                f"CR/LF/NUL inside a header line: {line!r}"
            name, sep, value = line.partition(b":")
            assert sep and name and all(
                c in b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
                     b"ABCDEFGHIJKLMNOPQRSTUVWXYZ" for c in name), f"bad header line {line!r}"
            headers.append((name.decode().lower(), value.decode("latin-1").strip()))
        cls = [v for k, v in headers if k == "content-length"]
        status = int(status_line[9:12])
        body_start = end + 4
        if status in (204, 304):
            # RFC 9110 section 8.6: no Content-Length on a 204 (and this
            # server sends none on a 304); neither has a body.
            assert not cls, f"Content-Length on a {status}: {headers}"
            n = 0
        else:
            assert len(cls) == 1, f"{len(cls)} Content-Length headers: {headers}"
            assert cls[0].isdigit(), f"bad Content-Length {cls[0]!r}"
            n = 0 if head else int(cls[0])
        body = data[body_start:body_start + n]
        assert len(body) == n, f"body cut short: {len(body)} of {n} bytes"
        out.append(Answer(status, headers, body))
        i = body_start + n
    return out


class Prober:
    """GET /healthz on a fresh connection every `every` seconds, in a
    thread, recording (status, seconds) of each."""

    def __init__(self, server, every=0.25, path="/healthz"):
        self.server = server
        self.every = every
        self.path = path
        self.results = []
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _one(self):
        t0 = time.time()
        try:
            r = self.server.get(self.path, timeout=10)
            return r.status, time.time() - t0
        except OSError as e:
            return repr(e), time.time() - t0

    def _run(self):
        while not self._stop.is_set():
            self.results.append(self._one())
            self._stop.wait(self.every)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(15)

    def summary(self):
        lat = [t for _, t in self.results]
        return {"probes": len(lat),
                "failed": [s for s, _ in self.results if s != 200],
                "median_s": round(statistics.median(lat), 4) if lat else None,
                "max_s": round(max(lat), 4) if lat else None}


def idea_url(iid):
    return f"/v1/sites/{SITE}/ideas/{iid}"
