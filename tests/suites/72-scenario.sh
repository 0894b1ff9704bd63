#!/usr/bin/env bash
# One scenario (examples/scenario/scenario.json: a site, an idea, three
# residents voting, page feedback, a summary, one resident erased) run
# through the C API, the Python binding and the Node.js binding: all three
# must report the same codes and counts, and those must be the right ones.
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d /tmp/townhall-72.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
PY=$(command -v /usr/bin/python3 || command -v python3)
SC=$TH_SRC/examples/scenario

if make -C "$TH_BUILD" -j"$(nproc)" >"$tmp/make.log" 2>&1 &&
   make -C "$TH_BUILD" install DESTDIR="$tmp/inst" >>"$tmp/make.log" 2>&1; then
  ok "libtownhall builds and installs"
else
  not_ok "libtownhall builds and installs"; tail -30 "$tmp/make.log" | sed 's/^/# /'
  echo "1..$n"; exit 1
fi
export PKG_CONFIG_SYSROOT_DIR=$tmp/inst
export PKG_CONFIG_PATH=$(dirname "$(find "$tmp/inst" -name townhall.pc | head -1)")
LIBDIR=$(dirname "$(find "$tmp/inst" -name 'libtownhall.so.1' | head -1)")

run() { # run NAME OUTFILE COMMAND...
  local name=$1 out=$2; shift 2
  if "$@" >"$out" 2>"$out.err" && [ -s "$out" ]; then
    ok "$name"
  else
    not_ok "$name"; sed 's/^/# /' "$out.err" | tail -20
  fi
}

# C: built with pkg-config against the installed library.
if cc -Wall -Wextra -Werror "$SC/scenario.c" $(pkg-config --cflags --libs townhall jansson) \
     -o "$tmp/scenario" 2>"$tmp/cc.log"; then
  ok "C: scenario.c builds with pkg-config --cflags --libs townhall jansson"
else
  not_ok "C: scenario.c builds"; sed 's/^/# /' "$tmp/cc.log"
fi
run "C: scenario runs through the C API" "$tmp/c.json" \
  env LD_LIBRARY_PATH="$LIBDIR" "$tmp/scenario" "$SC/scenario.json" "$tmp/c.db"

run "Python: scenario runs through the binding" "$tmp/py.json" \
  env TOWNHALL_LIBRARY="$LIBDIR/libtownhall.so.1" PYTHONPATH="$TH_SRC/bindings/python" \
  PYTHONDONTWRITEBYTECODE=1 "$PY" "$SC/scenario.py" "$SC/scenario.json" "$tmp/py.db"

if TOWNHALL_ADDON_OUT=$tmp/townhall.node node "$TH_SRC/bindings/node/build.js" >"$tmp/nb.log" 2>&1; then
  ok "Node: addon builds against the installed library"
else
  not_ok "Node: addon builds"; sed 's/^/# /' "$tmp/nb.log"
fi
run "Node: scenario runs through the binding" "$tmp/node.json" \
  env TOWNHALL_NODE_ADDON="$tmp/townhall.node" node "$SC/scenario.js" "$SC/scenario.json" "$tmp/node.db"

# The comparison, and the expected values (so that three equal wrong
# answers cannot pass).
"$PY" - "$tmp/c.json" "$tmp/py.json" "$tmp/node.json" >"$tmp/compare.log" 2>&1 <<'EOF'
import json, sys
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception as e:
        return {"unreadable": str(e)}
c, py, node = (load(p) for p in sys.argv[1:4])
points = []
def check(name, cond, detail=""):
    points.append((bool(cond), name, detail))
for key in sorted(set(c) | set(py) | set(node)):
    check(f"Python and C agree on {key}", py.get(key) == c.get(key),
          f"C {c.get(key)!r} / Python {py.get(key)!r}")
    check(f"Node.js and C agree on {key}", node.get(key) == c.get(key),
          f"C {c.get(key)!r} / Node {node.get(key)!r}")
check("site created once, then TH_EEXIST",
      (c.get("site"), c.get("site_again")) == ("TH_RECORDED", "TH_EEXIST"))
check("idea body scrubbed of the phone number",
      c.get("idea", {}).get("body") == "Cars go too fast here. Ring me on [phone].")
check("votes: three residents, a repeat is TH_DUPLICATE, bad value TH_EINVAL, missing idea TH_ENOTFOUND",
      [v["rc"] for v in c.get("votes", [])] ==
      ["TH_RECORDED"] * 3 + ["TH_DUPLICATE", "TH_EINVAL", "TH_ENOTFOUND"])
check("counts after the votes: 2 up, 1 down", c.get("after_votes") == {"up": 2, "down": 1})
check("feedback: 3 recorded, a repeat TH_DUPLICATE, another origin TH_EINVAL, rating 6 TH_ERANGE",
      c.get("feedback") == ["TH_RECORDED"] * 3 + ["TH_DUPLICATE", "TH_EINVAL", "TH_ERANGE"])
s = c.get("summary", {})
check("summary of the page: 2 yes, 1 no, ratings 2 and 5, one scrubbed comment",
      (s.get("yes"), s.get("no"), s.get("ratings"), s.get("rating_mean"), s.get("comment_texts")) ==
      (2, 1, [0, 1, 0, 0, 1], 3.5, ["Collection days are missing. Mail me: [email]"]))
check("summary page stored without query string or fragment",
      s.get("page") == "https://council.example/bins")
check("the erased resident held one vote; erasing withdrew it",
      (c.get("export_before"), c.get("erased"), c.get("after_erase"), c.get("export_after")) ==
      ({"votes": 1, "ideas": 0}, 1, {"up": 2, "down": 0}, {"consultations": 0}))
for good, name, detail in points:
    print(("ok" if good else "not ok") + " - " + name)
    if not good and detail:
        print("# " + detail)
EOF
compare_rc=$?
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }";;
    "not ok - "*) not_ok "${line#not ok - }";;
    *) echo "# $line";;
  esac
done <"$tmp/compare.log"
[ $compare_rc -eq 0 ] || not_ok "the comparison ran (exit $compare_rc)"

# For the final privacy scan (99-privacy.sh): the three databases stay in
# $TH_ARTIFACTS, and the identifiers the scenario passed to the library are
# recorded as probes there, as tests/api/harness.py records its own.
if [ -n "${TH_ARTIFACTS:-}" ]; then
  keep=$(mktemp -d "$TH_ARTIFACTS/townhall-scenario.XXXXXX")
  cp -p "$tmp"/*.db* "$keep"/ 2>/dev/null
  "$PY" - "$SC/scenario.json" >>"$TH_ARTIFACTS/probes.txt" <<'EOF'
import json, re, sys
sc = json.load(open(sys.argv[1]))
def probe(kind, v):
    if isinstance(v, str) and len(v) >= 8:
        print(json.dumps({"kind": kind, "value": v}))
probe("sub", sc.get("idea", {}).get("author"))
probe("sub", sc.get("erase"))
for v in sc.get("votes", []):
    probe("sub", v.get("resident"))
for f in sc.get("feedback", []):
    probe("ip", f.get("ip"))
    probe("ua", f.get("user_agent"))
    for text in (f.get("page") or "", f.get("comment") or ""):
        for m in re.findall(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", text):
            probe("email", m)
EOF
fi
echo "1..$n"
[ $fails -eq 0 ]
