"""Runs unittest modules and reports each test as a TAP line.

  tap.py MODULE_OR_TEST...

TH_TEST (tests/run.py --test PATTERN) runs only the tests whose names
(module.Class.test) match PATTERN: a substring, or a shell pattern with *,
as unittest's -k takes it.
"""
import os
import sys
import unittest


class TapResult(unittest.TestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.n = 0

    def _line(self, test, ok, note=""):
        self.n += 1
        name = test.id().split(".", 1)[-1]
        print(f"{'ok' if ok else 'not ok'} {self.n} - {name}{note}", flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._line(test, True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._line(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))

    def addError(self, test, err):
        super().addError(test, err)
        self._line(test, False)
        print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._line(test, False, f" # SKIP {reason}")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._line(subtest, False)
            print("# " + self._exc_info_to_string(err, test).replace("\n", "\n# "))


def main(names):
    loader = unittest.TestLoader()
    pattern = os.environ.get("TH_TEST")
    if pattern:
        loader.testNamePatterns = [pattern if "*" in pattern
                                   else f"*{pattern}*"]
    suite = unittest.TestSuite()
    for name in names:
        suite.addTests(loader.loadTestsFromName(name))
    result = TapResult()
    suite.run(result)
    print(f"1..{result.n}")
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
