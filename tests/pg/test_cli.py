"""The `townhall` command with a PostgreSQL URI (issue 15): every command
that opens a database takes `--db postgresql://...` (and $TOWNHALL_DB), a
URI needs a key file named by --key-file or $TOWNHALL_KEY_FILE, each
failure is a clear message and exit 1, and a password in the URI is in no
output and is blanked in the command line (/proc/PID/cmdline) other local
users can read.

Each refusal is checked against a cluster that refuses the password (or
no server at all); test_every_command_works_on_a_uri_and_shows_no_password
runs every command, and the server, on a database the store uses.
"""
import http.client
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from pgenv import BIN  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster  # noqa: E402

PASSWORD = "right-Pw-4f9e"
CANARY = "Canary-7c1b-pw"

# Every command that opens a database, with the arguments it needs.
COMMANDS = [
    ["site", "list"],
    ["site", "show", "camden"],
    ["site", "add", "camden", "--name", "Camden"],
    ["token", "list"],
    ["migrate"],
    ["purge"],
    ["backup", "DEST"],
    ["key", "rotate", "NEWKEY"],
    ["open-data", "ideas.csv", "--site", "camden"],
    ["serve", "--listen", "127.0.0.1:0"],
]


class CliPostgres(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster(password=PASSWORD).start()
        cls.tmp = tempfile.mkdtemp(prefix="th-pg-cli-")

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=self.tmp)
        self.key = os.path.join(self.dir, "townhall.key")

    def townhall(self, *args, env=None, timeout=60):
        e = {k: v for k, v in os.environ.items()
             if not k.startswith(("TOWNHALL_", "PG"))}
        e.update(env or {})
        args = [a.replace("DEST", os.path.join(self.dir, "copy.db"))
                 .replace("NEWKEY", os.path.join(self.dir, "new.key"))
                for a in args]
        return subprocess.run([BIN, *args], capture_output=True, text=True,
                              cwd=self.dir, env=e, timeout=timeout)

    def assertNoPassword(self, *texts):
        for t in texts:
            for secret in (PASSWORD, CANARY):
                self.assertNotIn(secret, t)

    def assertNothingMade(self):
        made = sorted(os.listdir(self.dir))
        self.assertEqual(made, [], "files made: %s" % made)

    def test_every_command_takes_a_uri(self):
        """Each command passes --db's URI to the library: a refused
        password is that command's clear failure (exit 1), not a usage
        error and not a SQLite file named after the URI."""
        uri = self.pg.uri_for(password=CANARY)
        for cmd in COMMANDS:
            with self.subTest(command=" ".join(cmd[:2])):
                r = self.townhall(*cmd, "--db", uri, "--key-file", self.key)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("cannot open the database", r.stderr)
                self.assertIn("password authentication failed", r.stderr)
                self.assertIn("(TH_EAUTH)", r.stderr)
                self.assertIn("postgresql://townhall@/townhall?host=" +
                              self.pg.path, r.stderr)
                self.assertNoPassword(r.stdout, r.stderr)
                self.assertNothingMade()
        with open(self.pg.logfile, errors="replace") as f:
            self.assertNoPassword(f.read())

    def test_townhall_db_and_key_file_from_the_environment(self):
        r = self.townhall("site", "list", env={
            "TOWNHALL_DB": self.pg.uri_for(password=CANARY),
            "TOWNHALL_KEY_FILE": self.key})
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("(TH_EAUTH)", r.stderr)
        self.assertNoPassword(r.stdout, r.stderr)
        self.assertNothingMade()

    def test_a_uri_needs_a_key_file(self):
        for cmd in (["site", "list"], ["serve", "--listen", "127.0.0.1:0"]):
            with self.subTest(command=cmd[0]):
                r = self.townhall(*cmd, "--db", self.pg.uri)
                self.assertEqual(r.returncode, 1, r)
                self.assertIn("(TH_EKEY)", r.stderr)
                self.assertIn("--key-file", r.stderr)
                self.assertNoPassword(r.stdout, r.stderr)
                self.assertNothingMade()
        # Named by the environment or the option, the key file is enough:
        # whatever the store says next, it is not the key file's absence.
        for how in ({"env": {"TOWNHALL_KEY_FILE": self.key}},
                    {"extra": ["--key-file", self.key]}):
            with self.subTest(how=list(how)[0]):
                r = self.townhall("site", "list", "--db", self.pg.uri,
                                  *how.get("extra", []),
                                  env=how.get("env"))
                self.assertNotIn("TH_EKEY", r.stderr, r)
                self.assertNoPassword(r.stdout, r.stderr)

    def test_a_malformed_uri_quotes_nothing(self):
        uri = "postgresql://townhall:%s%%zz@/townhall?host=%s" % (
            CANARY, self.pg.path)
        r = self.townhall("site", "list", "--db", uri, "--key-file", self.key)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("not a valid PostgreSQL connection URI", r.stderr)
        self.assertIn("(TH_EINVAL)", r.stderr)
        self.assertNoPassword(r.stdout, r.stderr)
        self.assertNothingMade()

    def test_no_server_there(self):
        gone = os.path.join(self.dir, "no-server")
        os.mkdir(gone)
        r = self.townhall("site", "list", "--db",
                          "postgres://townhall:%s@/townhall?host=%s"
                          "&connect_timeout=2" % (CANARY, gone),
                          "--key-file", self.key)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("(TH_EIO)", r.stderr)
        self.assertIn("connecting to postgresql://townhall@/townhall?host="
                      + gone, r.stderr)
        self.assertNoPassword(r.stdout, r.stderr)

    def test_a_missing_database(self):
        r = self.townhall("site", "list", "--db",
                          self.pg.uri_for(database="nosuchdb",
                                          password=PASSWORD),
                          "--key-file", self.key)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("(TH_ENOTFOUND)", r.stderr)
        self.assertNoPassword(r.stdout, r.stderr)

    def test_a_password_on_the_command_line_is_blanked_and_warned_of(self):
        """While libpq waits on a server that never answers, the process's
        command line (what `ps` shows every local user) no longer holds the
        password, in the userinfo or as a password= parameter."""
        sock_dir = os.path.join(self.dir, "mute")
        os.mkdir(sock_dir)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(os.path.join(sock_dir, ".s.PGSQL.5432"))
        listener.listen(8)
        held = []
        stop = threading.Event()

        def accept():
            listener.settimeout(0.2)
            while not stop.is_set():
                try:
                    held.append(listener.accept()[0])
                except OSError:
                    pass
        t = threading.Thread(target=accept, daemon=True)
        t.start()
        try:
            for uri in ("postgresql://townhall:%s@/townhall?host=%s"
                        "&connect_timeout=4" % (CANARY, sock_dir),
                        "postgresql:///townhall?host=%s&password=%s"
                        "&connect_timeout=4" % (sock_dir, CANARY)):
                with self.subTest(uri=uri.replace(CANARY, "CANARY")):
                    p = subprocess.Popen(
                        [BIN, "serve", "--listen", "127.0.0.1:0", "--db", uri,
                         "--key-file", self.key], cwd=self.dir,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
                    try:
                        cmdline = b""
                        deadline = time.time() + 3
                        while time.time() < deadline:
                            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                                cmdline = f.read()
                            if b"****" in cmdline:
                                break
                            time.sleep(0.05)
                        self.assertIn(b"postgresql:", cmdline)
                        self.assertNotIn(CANARY.encode(), cmdline)
                        self.assertIn(b"*" * len(CANARY), cmdline)
                        out, err = p.communicate(timeout=30)
                    finally:
                        if p.poll() is None:
                            p.kill()
                            p.wait()
                    self.assertEqual(p.returncode, 1, err)
                    self.assertIn("the --db URI holds a password", err)
                    self.assertNoPassword(out, err)
        finally:
            stop.set()
            t.join()
            listener.close()
            for c in held:
                c.close()

    def test_every_command_works_on_a_uri_and_shows_no_password(self):
        """On a database the store can use, with the right password in the
        URI: each command does its work, says what it could not do on
        PostgreSQL (backup, the copies migrate and key rotate take on
        SQLite), and the password is in no output, no log line, no metric
        and, once read, not in the server's command line."""
        db = self.pg.createdb("cli_%d" % os.getpid())
        self.pg.psql("SELECT 1", uri=db)
        uri = db  # carries PASSWORD
        self.assertIn(PASSWORD, uri)
        outputs = []

        def th(*args, expect=0):
            r = self.townhall(*args, "--db", uri, "--key-file", self.key)
            outputs.extend([r.stdout, r.stderr])
            self.assertEqual(r.returncode, expect, r)
            return r

        th("site", "add", "camden", "--name", "Camden", "--origin",
           "https://www.camden.gov.uk")
        self.assertEqual(os.stat(self.key).st_mode & 0o777, 0o600)
        self.assertIn("camden", th("site", "list").stdout)
        tok = th("token", "create", "--role", "admin", "--label", "cli",
                 "--site", "camden").stdout
        self.assertRegex(tok, r"th_\d+_")
        r = th("migrate")
        self.assertRegex(r.stdout, r"schema version (\d+) \(was \1; latest \1\)")
        r = th("backup", "DEST", expect=1)
        self.assertIn("pg_dump", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "copy.db")))
        th("purge")
        r = th("open-data", "ideas.csv", "--site", "camden")
        self.assertTrue(r.stdout, r)
        r = th("key", "rotate", "NEWKEY")
        self.assertIn("no copy of postgresql://townhall@/cli_", r.stdout)
        self.assertIn("revoked 1 staff tokens", r.stdout)
        os.replace(os.path.join(self.dir, "new.key"), self.key)
        self.assertIn("camden", th("site", "show", "camden").stdout)

        p = subprocess.Popen(
            [BIN, "serve", "--listen", "127.0.0.1:0", "--log-level", "debug",
             "--db", uri, "--key-file", self.key], cwd=self.dir,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            port, log = None, []
            deadline = time.time() + 20
            while time.time() < deadline and port is None:
                line = p.stderr.readline()
                if not line:
                    break
                log.append(line)
                m = re.search(r'"msg":"listening".*"port":(\d+)', line)
                port = int(m.group(1)) if m else None
            self.assertIsNotNone(port, "".join(log))
            with open("/proc/%d/cmdline" % p.pid, "rb") as f:
                cmdline = f.read()
            self.assertNotIn(PASSWORD.encode(), cmdline)
            self.assertIn(b"*" * len(PASSWORD), cmdline)
            for path in ("/healthz", "/readyz", "/v1/sites/camden/ideas",
                         "/metrics"):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", path)
                resp = c.getresponse()
                body = resp.read().decode("utf-8", "replace")
                c.close()
                self.assertEqual(resp.status, 200, (path, body[:300]))
                outputs.append(body)
        finally:
            p.terminate()
            out, err = p.communicate(timeout=30)
        outputs.extend(log + [out, err])
        self.assertEqual(p.returncode, 0, err)
        self.assertNoPassword(*outputs)
        with open(self.pg.logfile, errors="replace") as f:
            self.assertNoPassword(f.read())

    def test_the_usage_names_the_uri(self):
        r = self.townhall("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--db postgresql://", r.stdout)


if __name__ == "__main__":
    unittest.main()
