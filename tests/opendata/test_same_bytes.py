"""Open data is the same file wherever it comes from: a running server's
/v1/sites/{site}/open/feedback.csv and ideas.csv, `townhall open-data`, the
Python binding (Townhall.open_data_feedback, open_data_ideas) and the Node
binding (openDataFeedback, openDataIdeas) give the same bytes for the same
database (fixture.c), for every site of it and several windows."""
import base64
import json
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "api"))

from harness import BIN, Server  # noqa: E402

FIXTURE = os.environ.get("TH_OPENDATA_FIXTURE")
BUILD = os.environ.get("TH_BUILD") or os.path.join(SRC, "build")
LIBRARY = os.environ.get("TOWNHALL_LIBRARY") or os.path.join(
    BUILD, "core", ".libs", "libtownhall.so")
ADDON = os.environ.get("TOWNHALL_NODE_ADDON")

SITES = ("camden", "small", "tens", "recovery")
# (file, from): the server's default window, a window from before the
# first answer, one starting mid-week, one in the future.
FILES = (("feedback.csv", None), ("feedback.csv", "2025-12-29"),
         ("feedback.csv", "2026-01-14"), ("feedback.csv", "2099-01-05"),
         ("ideas.csv", None))

NODE_SCRIPT = r"""
const townhall = require(process.argv[1]);
(async () => {
  const jobs = JSON.parse(process.argv[3]);
  const th = await townhall.open(process.argv[2], { readonly: true });
  const out = {};
  for (const [site, file, from] of jobs) {
    const b = file === 'ideas.csv' ? await th.openDataIdeas(site)
                                   : await th.openDataFeedback(site, { from });
    out[[site, file, from].join(' ')] = b.toString('base64');
  }
  await th.close();
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def key(site, file, start):
    return f"{site} {file} {start or ''}"


class SameBytes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        d = tempfile.mkdtemp(prefix="townhall-opendata-same-",
                             dir=os.environ.get("TH_ARTIFACTS"))
        cls.db = os.path.join(d, "townhall.db")
        r = subprocess.run([FIXTURE, cls.db], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("fixture: " + r.stderr)
        cls.server = Server(site=False, directory=d)
        # The server's files, fetched once: what every other caller must
        # give. (A week could end between two fetches; the fixture's data
        # are all in past weeks, and the tests finish in seconds.)
        cls.served = {}
        for site in SITES:
            for file, start in FILES:
                url = f"/v1/sites/{site}/open/{file}"
                if start:
                    url += f"?from={start}"
                r = cls.server.get(url)
                if r.status != 200:
                    raise RuntimeError(f"{url}: {r.status}")
                cls.served[key(site, file, start)] = r.body

    @classmethod
    def tearDownClass(cls):
        cls.server.cleanup()

    def test_the_files_are_not_trivial(self):
        body = self.served[key("camden", "feedback.csv", "2025-12-29")]
        self.assertGreater(body.count(b"\r\n"), 5, body)
        self.assertIn(b"\"'=HYPERLINK(",
                      self.served[key("camden", "ideas.csv", None)])

    def test_the_command(self):
        for site in SITES:
            for file, start in FILES:
                with self.subTest(site=site, file=file, start=start):
                    args = [BIN, "open-data", file, "--site", site,
                            "--db", self.db]
                    if start:
                        args += ["--from", start]
                    r = subprocess.run(args, capture_output=True, timeout=60)
                    self.assertEqual(r.returncode, 0, r.stderr)
                    self.assertEqual(r.stdout,
                                     self.served[key(site, file, start)])

    def test_python(self):
        sys.path.insert(0, os.path.join(SRC, "bindings", "python"))
        os.environ.setdefault("TOWNHALL_LIBRARY", LIBRARY)
        import townhall
        with townhall.Townhall(self.db, readonly=True, create=False) as th:
            for site in SITES:
                for file, start in FILES:
                    with self.subTest(site=site, file=file, start=start):
                        if file == "ideas.csv":
                            got = th.open_data_ideas(site)
                        else:
                            got = th.open_data_feedback(site, start=start)
                        self.assertEqual(got,
                                         self.served[key(site, file, start)])

    def test_node(self):
        self.assertTrue(ADDON and os.path.exists(ADDON),
                        "the suite builds the Node addon (TOWNHALL_NODE_ADDON)")
        jobs = [[site, file, start] for site in SITES for file, start in FILES]
        r = subprocess.run(
            ["node", "-e", NODE_SCRIPT, os.path.join(SRC, "bindings", "node"),
             self.db, json.dumps(jobs)],
            capture_output=True, text=True, timeout=120,
            env=dict(os.environ, TOWNHALL_NODE_ADDON=ADDON))
        self.assertEqual(r.returncode, 0, r.stderr)
        got = json.loads(r.stdout)
        for site, file, start in jobs:
            with self.subTest(site=site, file=file, start=start):
                k = " ".join([site, file, start or ""])
                self.assertEqual(base64.b64decode(got[k]),
                                 self.served[key(site, file, start)])


if __name__ == "__main__":
    unittest.main()
