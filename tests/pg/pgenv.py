"""Where the tests under tests/pg/ find what they test: the source tree and
this run's build (TH_SRC and TH_BUILD, which tests/run.py sets; else the
tree this file is in and its build/), the `townhall` binary (TH_BIN), and
the Python binding, loaded from that build's libtownhall (unless
TOWNHALL_LIBRARY names another). Importing it puts tests/pg/ and the
binding on sys.path, so that `cluster` and `townhall` import after it.

For several townhall nodes on one database (issue 16): `townhall()` runs a
command on a URI with a key file, `provision()` makes a site on a database,
and `Node` is one `townhall serve` with its own copy of the key file (so
its own salts file), its port, its log, `request()` and `metrics()`.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("TH_SRC") or os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
BIN = os.environ.get("TH_BIN") or os.path.join(BUILD, "townhall")

for _p in (os.path.join(SRC, "bindings", "python"), HERE):
    if _p not in sys.path:
        sys.path.insert(0, _p)
os.environ.setdefault("TOWNHALL_LIBRARY",
                      os.path.join(BUILD, "core", ".libs", "libtownhall.so"))


# ---- townhall nodes on one database (issue 16) --------------------------------
# Several `townhall serve` processes on one PostgreSQL database, as a council
# runs replicas: the same key file on every node (it opens the sealed site
# secrets and consultation keys, which are in the shared database), but each
# node's own copy of it in a directory of its own, so that each keeps its own
# salts file beside it (docs/privacy.md, "On PostgreSQL": the daily salts are
# per node and never shared).

import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402


def townhall(*args, uri, key_file, check=True):
    """Runs a `townhall` command on the database `uri` with the key file
    `key_file` ($TOWNHALL_KEY_FILE); returns the CompletedProcess, raising
    when it fails and `check`."""
    env = dict(os.environ, TOWNHALL_KEY_FILE=key_file)
    proc = subprocess.run([BIN, *args, "--db", uri], capture_output=True,
                          text=True, env=env)
    if check and proc.returncode != 0:
        raise RuntimeError("townhall %s: %s" % (" ".join(args), proc.stderr))
    return proc


def provision(uri, key_file, site="s", secret=None, origin=None):
    """Makes a site on the database (creating townhall's schema and the key
    file when the database is empty): anonymous participation allowed, the
    resident-token secret `secret` (bytes) when given, an origin when given.
    Returns an admin staff token for it."""
    args = ["site", "add", site, "--name", "Site " + site, "--anonymous"]
    if origin:
        args += ["--origin", origin]
    townhall(*args, uri=uri, key_file=key_file)
    if secret is not None:
        path = key_file + ".secret"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secret)
        try:
            townhall("site", "secret", site, "--from-file", path, uri=uri,
                     key_file=key_file)
        finally:
            os.unlink(path)
    out = townhall("token", "create", "--site", site, "--role", "admin",
                   "--label", "test admin", uri=uri, key_file=key_file).stdout
    return re.search(r"(th_\d+_\S+)", out).group(1)


class Node:
    """One `townhall serve` on the database `uri`, in `directory` (made if
    missing) with its own copy of `key_file` there as townhall.key (mode
    0600) and so its own salts file, townhall.key.salts. `args`: more
    options for `townhall serve`. start() waits until it listens (its
    port in .port); its log is kept in .log_lines.

        a = Node(uri, key, os.path.join(tmp, "a"), "--rate-limit", "100000")
        b = Node(uri, key, os.path.join(tmp, "b"))
        with a, b:
            a.request("GET", "/readyz")
    """

    def __init__(self, uri, key_file, directory, *args, start=True):
        self.uri = uri
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.key_file = os.path.join(directory, "townhall.key")
        if os.path.abspath(key_file) != os.path.abspath(self.key_file):
            shutil.copyfile(key_file, self.key_file)
        os.chmod(self.key_file, 0o600)
        self.args = list(args)
        self.proc = None
        self.port = None
        self.log_lines = []
        if start:
            self.start()

    @property
    def salts_file(self):
        return self.key_file + ".salts"

    def start(self, timeout=30):
        self.log_lines = []
        self.proc = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--db", self.uri,
             "--key-file", self.key_file, "--log-level", "info", *self.args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.port = None
        deadline = time.time() + timeout
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
            self.proc.wait()
            raise RuntimeError("townhall serve did not start: " +
                               "".join(self.log_lines))
        # Its log keeps being read, so that it never blocks on a full pipe.
        self._drain = threading.Thread(target=self._read_log, daemon=True)
        self._drain.start()
        return self

    def _read_log(self):
        for line in self.proc.stderr:
            self.log_lines.append(line)

    def stop(self, sig=signal.SIGTERM, timeout=30):
        """Signals the node and waits for it: its exit status (None when it
        was not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self._drain.join(timeout=5)
        self.proc.stderr.close()
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def request(self, method, path, body=None, headers=None, token=None,
                timeout=30):
        """One request on a connection of its own: (status, headers as a
        dict with lower-case names, body bytes). A dict or list body is
        sent as JSON."""
        h = {"User-Agent": "townhall-node-test/1.0"}
        h.update(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        if token:
            h["Authorization"] = "Bearer " + token
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body, h)
            r = c.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            c.close()

    def metrics(self):
        """/metrics as {'name{labels}': value} (from loopback: no token)."""
        status, _, data = self.request("GET", "/metrics")
        if status != 200:
            raise RuntimeError("/metrics answered %d" % status)
        out = {}
        for line in data.decode().splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                out[name] = float(value)
        return out

    def log_text(self):
        return "".join(self.log_lines)
