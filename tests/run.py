#!/usr/bin/env python3
"""Runs townhall's test suites and prints one summary line: "N passed, N failed".

A suite is an executable in tests/suites/, run in name order, that prints
TAP ("ok N - name" / "not ok N - name") on standard output. A skipped test
("# SKIP") counts as failed: a check that did not run proves nothing. A
suite that exits non-zero without reporting a failure counts one failure.

Suites get TH_SRC (the source tree), TH_BUILD (the main build directory),
TH_BIN (the townhall command) and TH_ARTIFACTS (a directory where tests
leave the databases, logs and exports they made, for the privacy scan that
runs last) in their environment, and TH_TEST when --test is given.

examples:
  tests/run.py                       every suite (about 25 minutes)
  tests/run.py unit api              suites whose names contain these words
  tests/run.py --list                the suites, with what each tests
  tests/run.py api --test test_cors  in those suites, only tests whose
                                     names contain test_cors
"""
import argparse
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TH_BUILD", os.path.join(SRC, "build"))
SUITES = os.path.join(SRC, "tests", "suites")

TEST_HELP = """\
run only the tests whose names match PATTERN: a substring, or a shell
pattern with * (unittest's -k). Suites pass it on as TH_TEST: the Python
suites (tests/api/tap.py) match it against module.Class.test names, the C
unit tests (suite unit) against the test program's name (tests/unit/NAME.c)
or else each check's name; other suites run whole. Matching no test at all
is an error (exit 2)."""


def suites():
    return sorted(f for f in os.listdir(SUITES)
                  if os.access(os.path.join(SUITES, f), os.X_OK))


def describe(suite):
    """The first sentence of a suite's header comment."""
    lines = []
    with open(os.path.join(SUITES, suite), encoding="utf-8",
              errors="replace") as f:
        for line in f:
            if line.startswith("#!"):
                continue
            if not line.startswith("#"):
                break
            text = line[1:].strip()
            if not text:
                break
            lines.append(text)
    text = " ".join(lines)
    m = re.match(r"(.+?\.)(\s|$)", text)
    text = m.group(1) if m else text
    return text if len(text) <= 100 else text[:97].rstrip() + "..."


def parse(argv):
    p = argparse.ArgumentParser(
        prog="tests/run.py",
        description=__doc__.split("\n\n")[0].split(": ")[0] + ".",
        epilog=__doc__[__doc__.index("examples:"):],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("words", nargs="*", metavar="WORD",
                   help="run only the suites whose file names contain one "
                        "of these words (each must match a suite)")
    p.add_argument("--list", action="store_true",
                   help="list the suites (those the words select) and exit")
    p.add_argument("--test", metavar="PATTERN", help=TEST_HELP)
    return p, p.parse_args(argv)


def main(argv):
    parser, args = parse(argv)
    selected = suites()
    if args.words:
        unmatched = [w for w in args.words
                     if not any(w in s for s in selected)]
        if unmatched:
            parser.print_usage(sys.stderr)
            print(f"tests/run.py: no suite matches {', '.join(unmatched)} "
                  "(tests/run.py --list shows them)", file=sys.stderr)
            return 2
        selected = [s for s in selected if any(w in s for w in args.words)]
    if args.list:
        width = max(len(s) for s in selected)
        for s in selected:
            print(f"{s:<{width}}  {describe(s)}")
        return 0
    if args.test is not None and not args.test.strip():
        parser.print_usage(sys.stderr)
        print("tests/run.py: --test needs a pattern", file=sys.stderr)
        return 2

    artifacts = tempfile.mkdtemp(prefix="townhall-artifacts-")
    env = dict(os.environ, TH_SRC=SRC, TH_BUILD=BUILD,
               TH_BIN=os.path.join(BUILD, "townhall"),
               TH_ARTIFACTS=artifacts, PYTHONUNBUFFERED="1")
    env.pop("TH_TEST", None)  # only what this run was asked for
    if args.test is not None:
        env["TH_TEST"] = args.test
    passed = failed = 0
    failures = []
    started = time.time()
    for suite in selected:
        t0 = time.time()
        print(f"== {suite}", flush=True)
        proc = subprocess.Popen([os.path.join(SUITES, suite)], env=env,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True,
                                errors="replace")
        s_pass = s_fail = 0
        for line in proc.stdout:
            sys.stdout.write("   " + line)
            m = re.match(r"^(not ok|ok)\b(.*)$", line)
            if not m:
                continue
            skipped = re.search(r"#\s*SKIP", m.group(2), re.I)
            if m.group(1) == "ok" and not skipped:
                s_pass += 1
            else:
                s_fail += 1
                failures.append(f"{suite}: {line.strip()}")
        rc = proc.wait()
        if rc != 0 and s_fail == 0:
            s_fail += 1
            failures.append(f"{suite}: exited with status {rc}")
        passed += s_pass
        failed += s_fail
        print(f"== {suite}: {s_pass} passed, {s_fail} failed "
              f"({time.time() - t0:.0f} s)", flush=True)
    if failures:
        print("\nFailures:")
        for f in failures:
            print("  " + f)
    if os.environ.get("TH_KEEP_ARTIFACTS"):
        print(f"\nartifacts kept in {artifacts}")
    else:
        shutil.rmtree(artifacts, ignore_errors=True)
    print(f"\n{len(selected)} suites in {time.time() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    if args.test is not None and passed + failed == 0:
        print(f"tests/run.py: no test matches --test {args.test}",
              file=sys.stderr)
        return 2
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
