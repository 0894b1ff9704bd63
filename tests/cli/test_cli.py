"""The `townhall` command's usage, for every command and subcommand.

The commands are read from `townhall --help` itself, so a command added
to the usage is checked here without a change to this file:

  - COMMAND [SUB] --help and -h print that command's usage on standard
    output and exit 0, touching nothing (no database appears);
  - an option the command does not know, or one missing its value, says
    so on standard error with the usage, and exits 2, touching nothing;
  - an unknown command or subcommand is refused the same way.

And `townhall serve --demo` prints one staff token per role, each named
for the role it has.
"""
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.error
import urllib.request

SRC = os.environ.get("TH_SRC") or os.path.dirname(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
BIN = os.environ.get("TH_BIN") or os.path.join(BUILD, "townhall")


class Cli(unittest.TestCase):
    def setUp(self):
        self.cwd = tempfile.mkdtemp(prefix="townhall-cli-")

    def tearDown(self):
        shutil.rmtree(self.cwd, ignore_errors=True)

    def townhall(self, *args):
        env = {k: v for k, v in os.environ.items()
               if k not in ("TOWNHALL_DB", "TOWNHALL_KEY_FILE")}
        return subprocess.run([BIN, *args], cwd=self.cwd, env=env,
                              capture_output=True, text=True, timeout=30)

    def commands(self):
        """[(command, subcommand or None)] from `townhall --help`."""
        out = self.townhall("--help").stdout
        found = []
        for line in out.splitlines():
            m = re.match(r"^  ([a-z][a-z-]*)(?: ([a-z][a-z.-]*))?(?=\s|$)",
                         line)
            if m and (m.group(1), m.group(2)) not in found:
                found.append((m.group(1), m.group(2)))
        return found

    def assertNothingMade(self, what):
        self.assertEqual(os.listdir(self.cwd), [],
                         f"{what} left files behind")

    def test_the_usage_lists_the_commands(self):
        r = self.townhall("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        found = self.commands()
        for want in [("serve", None), ("site", "add"), ("site", "list"),
                     ("site", "secret"), ("token", "create"),
                     ("token", "revoke"), ("token", "list"),
                     ("migrate", None), ("backup", None), ("key", "rotate"),
                     ("purge", None), ("open-data", "feedback.csv"),
                     ("open-data", "ideas.csv"), ("version", None)]:
            self.assertIn(want, found)

    def test_help_for_every_command_and_subcommand(self):
        words = set()
        for cmd, sub in self.commands():
            words.add((cmd,))
            if sub:
                words.add((cmd, sub))
        for w in sorted(words):
            for flag in ("--help", "-h"):
                with self.subTest(" ".join(w + (flag,))):
                    r = self.townhall(*w, flag)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(r.stderr, "")
                    self.assertTrue(r.stdout.startswith("usage:"), r.stdout)
                    self.assertIn(f"  {w[0]}", r.stdout)
                    if len(w) == 2:
                        self.assertIn(f"  {w[0]} {w[1]}", r.stdout)
                    self.assertNothingMade(" ".join(w + (flag,)))
        # Every command's usage under the global one; `help COMMAND` too.
        for args in (["help"], ["-h"], ["help", "serve"]):
            r = self.townhall(*args)
            self.assertEqual(r.returncode, 0, args)
            self.assertIn("serve [--listen HOST:PORT]", r.stdout)

    def test_help_after_other_options(self):
        r = self.townhall("serve", "--listen", "127.0.0.1:0", "--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("--listen HOST:PORT", r.stdout)
        self.assertNothingMade("serve --listen ... --help")

    def test_unknown_option_for_every_command_and_subcommand(self):
        for cmd, sub in self.commands():
            if cmd == "help":
                continue
            w = [cmd] + ([sub] if sub else [])
            for bad, said in (("--no-such-option",
                               "unknown option --no-such-option"),
                              ("-Q", "unknown option -Q")):
                with self.subTest(" ".join(w + [bad])):
                    r = self.townhall(*w, bad)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertEqual(r.stdout, "")
                    if cmd != "version":  # takes no arguments at all
                        self.assertIn(f"townhall {cmd}: {said}", r.stderr)
                    self.assertIn("usage:", r.stderr)
                    self.assertIn(f"  {cmd}", r.stderr)
                    self.assertNothingMade(" ".join(w + [bad]))

    def test_missing_value(self):
        r = self.townhall("serve", "--listen")
        self.assertEqual(r.returncode, 2)
        self.assertIn("townhall serve: option --listen needs a value",
                      r.stderr)
        self.assertIn("usage:", r.stderr)
        self.assertNothingMade("serve --listen")

    def test_value_for_a_flag(self):
        r = self.townhall("serve", "--demo=yes")
        self.assertEqual(r.returncode, 2)
        self.assertIn("townhall serve: option --demo takes no value",
                      r.stderr)
        self.assertNothingMade("serve --demo=yes")

    def test_unknown_commands(self):
        for args, said in ((["frobnicate"], "townhall: unknown command "
                            "frobnicate"),
                           (["site", "frobnicate"],
                            "townhall site: unknown command frobnicate"),
                           (["site", "list\n"],
                            "townhall site: unknown command list\n"),
                           (["site"], "townhall site: which site command?"),
                           (["token", "--role", "admin"],
                            "townhall token: which token command?"),
                           (["key"], "townhall key: which key command?"),
                           (["backup"], "townhall backup: where to?")):
            with self.subTest(" ".join(args)):
                r = self.townhall(*args)
                self.assertEqual(r.returncode, 2)
                self.assertIn(said, r.stderr)
                self.assertIn("usage:", r.stderr)
                self.assertNothingMade(" ".join(args))

    def test_arguments_counted_before_anything_opens(self):
        for args, said in (
                (["site", "add"], "townhall site add: SLUG missing"),
                (["site", "add", "a", "b"],
                 "townhall site add: unexpected argument b"),
                (["site", "secret"], "townhall site secret: SLUG missing"),
                (["site", "list", "extra"],
                 "townhall site list: unexpected argument extra"),
                (["token", "revoke"], "townhall token revoke: ID missing"),
                (["token", "revoke", "abc"],
                 "townhall token revoke: the ID is a number"),
                (["token", "revoke", "0"],
                 "townhall token revoke: the ID is a number"),
                (["token", "list", "extra"],
                 "townhall token list: unexpected argument extra"),
                (["token", "create", "extra", "--role", "admin"],
                 "townhall token create: unexpected argument extra"),
                (["migrate", "extra"],
                 "townhall migrate: unexpected argument extra"),
                (["purge", "extra"],
                 "townhall purge: unexpected argument extra"),
                (["backup", "a", "b"], "townhall backup: unexpected argument b"),
                (["key", "rotate"],
                 "townhall key rotate: NEW_KEY_FILE missing"),
                (["key", "rotate", "a", "b"],
                 "townhall key rotate: unexpected argument b"),
                (["open-data", "feedback.csv"],
                 "townhall open-data feedback.csv: which site? (--site SLUG)"),
                (["open-data", "feedback.csv", "x", "--site", "s"],
                 "townhall open-data feedback.csv: unexpected argument x"),
                (["open-data", "feedback.csv", "--site", "s", "--weeks", "0"],
                 "townhall open-data: --weeks must be 1 to 104"),
                (["open-data", "ideas.csv", "--site", "s", "--from",
                  "2026-01-05"],
                 "townhall open-data ideas.csv: ideas.csv has no window"),
                (["open-data", "csv"],
                 "townhall open-data: unknown command csv")):
            with self.subTest(" ".join(args)):
                r = self.townhall(*args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertIn(said, r.stderr)
                self.assertNothingMade(" ".join(args))

    def test_open_data(self):
        """The files themselves are compared with the server's in
        tests/opendata (test_same_bytes.py); here, what the command says."""
        db = os.path.join(self.cwd, "t.db")
        r = self.townhall("site", "add", "camden", "--name", "Camden",
                          "--db", db)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.townhall("open-data", "feedback.csv", "--site", "camden",
                          "--db", db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "\ufeffpage,week,yes,no,rating_1,rating_2,"
                         "rating_3,rating_4,rating_5,responses\n")
        r = self.townhall("open-data", "ideas.csv", "--site", "camden",
                          "--db", db)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("\ufeffid,consultation,title,"))
        r = self.townhall("open-data", "ideas.csv", "--site", "nowhere",
                          "--db", db)
        self.assertEqual(r.returncode, 1)
        self.assertEqual(r.stdout, "")
        self.assertIn('no site "nowhere" (TH_ENOTFOUND)', r.stderr)
        for bad in ("soon", "2026-13-01", "2026-01-05x"):
            with self.subTest(bad):
                r = self.townhall("open-data", "feedback.csv", "--site",
                                  "camden", "--from", bad, "--db", db)
                self.assertEqual(r.returncode, 2)
                self.assertEqual(r.stdout, "")
                self.assertIn("townhall open-data feedback.csv: from is a "
                              "date such as 2026-01-05.", r.stderr)
                self.assertIn("usage:", r.stderr)
        r = self.townhall("open-data", "feedback.csv", "--site", "camden",
                          "--db", os.path.join(self.cwd, "absent.db"))
        self.assertEqual(r.returncode, 1, "no database is created")
        self.assertFalse(os.path.exists(os.path.join(self.cwd, "absent.db")))

    def test_version(self):
        r = self.townhall("version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^townhall \d+\.\d+\.\d+")
        self.assertEqual(self.townhall("--version").stdout, r.stdout)


class Demo(unittest.TestCase):
    def test_one_token_per_role_named_for_it(self):
        d = tempfile.mkdtemp(prefix="townhall-cli-demo-",
                             dir=os.environ.get("TH_ARTIFACTS"))
        db = os.path.join(d, "townhall.db")
        proc = subprocess.Popen([BIN, "serve", "--demo", "--listen",
                                 "127.0.0.1:0", "--db", db, "--log-level",
                                 "error"], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        try:
            banner = []
            for line in proc.stdout:
                banner.append(line)
                if line.lstrip().startswith("try:"):
                    break
            text = "".join(banner)
            port = int(re.search(r"http://127\.0\.0\.1:(\d+)/", text)[1])
            named = dict(re.findall(r"^  (\w+) token:\s+(th_\S+)$", text,
                                    re.M))
            self.assertEqual(sorted(named),
                             ["admin", "councillor", "moderator"], text)
            self.assertNotIn("councillor token:   " + named["admin"], text)
            # The role the database gives each token (th_ID_...).
            listed = subprocess.run([BIN, "token", "list", "--db", db],
                                    capture_output=True, text=True).stdout
            roles = {row.split("\t")[0]: row.split("\t")[2]
                     for row in listed.splitlines()}
            for role, token in named.items():
                self.assertEqual(roles[token.split("_")[1]], role, listed)

            # And the server agrees: only the admin reads the audit log.
            def audit(token):
                req = urllib.request.Request(
                    f"http://127.0.0.1:{port}/v1/sites/demo/audit",
                    headers={"Authorization": "Bearer " + token})
                try:
                    return urllib.request.urlopen(req, timeout=10).status
                except urllib.error.HTTPError as e:
                    return e.code
            self.assertEqual({r: audit(t) for r, t in named.items()},
                             {"admin": 200, "councillor": 403,
                              "moderator": 403})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            if not os.environ.get("TH_ARTIFACTS"):
                shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
