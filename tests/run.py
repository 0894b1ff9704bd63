#!/usr/bin/env python3
"""Runs every test suite and prints one summary line: "N passed, N failed".

A suite is an executable in tests/suites/, run in name order, that prints
TAP ("ok N - name" / "not ok N - name") on standard output. A skipped test
("# SKIP") counts as failed: a check that did not run proves nothing. A
suite that exits non-zero without reporting a failure counts one failure.

Suites get TH_SRC (the source tree), TH_BUILD (the main build directory),
TH_BIN (the townhall command) and TH_ARTIFACTS (a directory where tests
leave the databases, logs and exports they made, for the privacy scan that
runs last) in their environment.

  tests/run.py                 every suite
  tests/run.py unit api        suites whose names contain these words
"""
import os
import re
import shutil
import subprocess
import tempfile
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("TH_BUILD", os.path.join(SRC, "build"))


def main():
    wanted = sys.argv[1:]
    artifacts = tempfile.mkdtemp(prefix="townhall-artifacts-")
    env = dict(os.environ, TH_SRC=SRC, TH_BUILD=BUILD,
               TH_BIN=os.path.join(BUILD, "townhall"),
               TH_ARTIFACTS=artifacts, PYTHONUNBUFFERED="1")
    suites_dir = os.path.join(SRC, "tests", "suites")
    suites = sorted(f for f in os.listdir(suites_dir)
                    if os.access(os.path.join(suites_dir, f), os.X_OK))
    if wanted:
        suites = [s for s in suites if any(w in s for w in wanted)]
    passed = failed = 0
    failures = []
    started = time.time()
    for suite in suites:
        t0 = time.time()
        print(f"== {suite}", flush=True)
        proc = subprocess.Popen([os.path.join(suites_dir, suite)], env=env,
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
    print(f"\n{len(suites)} suites in {time.time() - started:.0f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
