"""Where the tests under tests/pg/ find what they test: the source tree and
this run's build (TH_SRC and TH_BUILD, which tests/run.py sets; else the
tree this file is in and its build/), the `townhall` binary (TH_BIN), and
the Python binding, loaded from that build's libtownhall (unless
TOWNHALL_LIBRARY names another). Importing it puts tests/pg/ and the
binding on sys.path, so that `cluster` and `townhall` import after it.
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
