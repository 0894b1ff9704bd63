#!/usr/bin/env python3
"""rebase.py [PATCH...]: re-bases the mutants (tests/mutants/*.patch) on the
current tree, when others have edited the code around them:
each hunk's before-text is looked up in the file (trimming context lines
from the edges until it matches exactly once) and the patch is rewritten
with 2 lines of context. Prints what it did."""
import difflib
import glob
import os
import sys
TREE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
def hunks(text):
    files, cur = [], None
    for line in text.splitlines(True):
        if line.startswith("--- "):
            continue
        if line.startswith("+++ "):
            cur = [line[4:].strip().split("\t")[0][2:], []]; files.append(cur); continue
        if line.startswith("@@"):
            cur[1].append([]); continue
        if cur and cur[1] and line[:1] in " +-":
            cur[1][-1].append(line)
    return files
def regen(path):
    text = open(path).read()
    head = "".join(l for l in text.splitlines(True) if l.startswith("# "))
    out = head
    for f, hs in hunks(text):
        a = open(os.path.join(TREE, f)).read()
        b = a
        for h in hs:
            lo, hi = 0, len(h)
            while True:
                seg = h[lo:hi]
                old = "".join(l[1:] for l in seg if l[0] in " -")
                new = "".join(l[1:] for l in seg if l[0] in " +")
                if old and b.count(old) == 1:
                    b = b.replace(old, new); break
                # trim a context line from whichever edge has one
                if lo < hi and h[lo][0] == " ": lo += 1
                elif lo < hi and h[hi-1][0] == " ": hi -= 1
                else:
                    raise SystemExit(f"{path}: cannot place a hunk in {f}")
        out += "".join(difflib.unified_diff(a.splitlines(True), b.splitlines(True), "a/" + f, "b/" + f, n=2))
    if out != text:
        open(path, "w").write(out)
        print("rebased", os.path.basename(path))
for p in sys.argv[1:] or sorted(glob.glob(TREE + "/tests/mutants/*.patch")):
    regen(p)
