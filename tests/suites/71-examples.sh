#!/usr/bin/env bash
# Every example under examples/ built or run, and its output checked:
# embed.c, uv-embed.c, python/weekly_report.py, node/server.js (against a
# real townhall server, and in Chromium: its ideas widget appears and takes
# a vote) and deploy/ (systemd unit, nginx snippet).
set -uo pipefail
: "${TH_SRC:?}" "${TH_BUILD:?}"
TH_BIN=${TH_BIN:-$TH_BUILD/townhall}
n=0
fails=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $*"; }
tmp=$(mktemp -d /tmp/townhall-71.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
PY=$(command -v /usr/bin/python3 || command -v python3)
EX=$TH_SRC/examples
export PYTHONDONTWRITEBYTECODE=1

# expect NAME FILE PATTERN: FILE holds a line matching the fixed string
expect() {
  if grep -qF -- "$3" "$2"; then ok "$1"; else not_ok "$1"; echo "# wanted: $3"; sed 's/^/#   /' "$2" | head -30; fi
}
# A line of a file matching a fixed string, with its line number.
line_of() { grep -nF -- "$2" "$1" | head -1 | cut -d: -f1; }
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { # wait_http URL: up to 10 s
  for _ in $(seq 100); do
    node -e "fetch(process.argv[1]).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
# Lines "ok - x" / "not ok - x" / other, from a checker, into this plan.
report() {
  while IFS= read -r line; do
    case "$line" in
      "ok - "*) ok "${line#ok - }";;
      "not ok - "*) not_ok "${line#not ok - }";;
      *) echo "# $line";;
    esac
  done <"$1"
}

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

# ---- embed.c ------------------------------------------------------------------
if cc -Wall -Wextra -Werror "$EX/embed.c" $(pkg-config --cflags --libs townhall) -o "$tmp/embed" 2>"$tmp/cc.log"; then
  ok "embed.c builds with cc embed.c \$(pkg-config --cflags --libs townhall)"
else
  not_ok "embed.c builds"; sed 's/^/# /' "$tmp/cc.log"
fi
LD_LIBRARY_PATH=$LIBDIR "$tmp/embed" "$tmp/embed.db" >"$tmp/embed.out" 2>&1
if [ $? -eq 0 ]; then ok "embed runs"; else not_ok "embed runs"; sed 's/^/# /' "$tmp/embed.out"; fi
expect "embed: five answers recorded" "$tmp/embed.out" "feedback: 5 recorded, 0 already there"
expect "embed: the bins page summarised (query string dropped)" "$tmp/embed.out" \
  "page https://www.riverside.example/bins: 1 yes, 2 no, mean rating 2.33 of 3, 1 comment"
expect "embed: the parking page summarised (utm_source dropped)" "$tmp/embed.out" \
  "page https://www.riverside.example/parking: 2 yes, 0 no, mean rating 4.50 of 2, 1 comment"
expect "embed: the comment was stored scrubbed" "$tmp/embed.out" \
  "comment on /bins: Which day is my collection? Call me on [phone]"
a=$(line_of "$tmp/embed.out" "1. A safer crossing outside the primary school [Riverside] +4 -1")
b=$(line_of "$tmp/embed.out" "2. More bins along the river path [Riverside] +2 -0")
c=$(line_of "$tmp/embed.out" "3. Longer library opening hours on Saturdays [North] +1 -2")
if [ -n "$a" ] && [ -n "$b" ] && [ -n "$c" ] && [ "$a" -lt "$b" ] && [ "$b" -lt "$c" ]; then
  ok "embed: ideas ranked by the Wilson lower bound"
else
  not_ok "embed: ideas ranked"; sed 's/^/#   /' "$tmp/embed.out"
fi
LD_LIBRARY_PATH=$LIBDIR "$tmp/embed" "$tmp/embed.db" >"$tmp/embed2.out" 2>&1
expect "embed: a second run finds the same answers already there" "$tmp/embed2.out" \
  "feedback: 0 recorded, 5 already there"

# ---- uv-embed.c -----------------------------------------------------------------
if cc -Wall -Wextra -Werror "$EX/uv-embed.c" $(pkg-config --cflags --libs townhall libuv) -o "$tmp/uv-embed" 2>"$tmp/cc.log"; then
  ok "uv-embed.c builds with pkg-config townhall libuv"
else
  not_ok "uv-embed.c builds"; sed 's/^/# /' "$tmp/cc.log"
fi
LD_LIBRARY_PATH=$LIBDIR timeout 60 "$tmp/uv-embed" "$tmp/uv.db" >"$tmp/uv.out" 2>"$tmp/uv.err"
uv_rc=$?
if [ $uv_rc -eq 0 ]; then ok "uv-embed exits 0"; else not_ok "uv-embed exits 0 (got $uv_rc)"; sed 's/^/# /' "$tmp/uv.err"; fi
expect "uv-embed: townhall answered /healthz on the host's loop" "$tmp/uv.out" "GET /healthz -> HTTP/1.1 200 OK"
expect "uv-embed: townhall served the ranked ideas" "$tmp/uv.out" "GET /v1/sites/riverside/ideas?sort=top -> HTTP/1.1 200 OK"
expect "uv-embed: ... with the idea written through the C API" "$tmp/uv.out" '"title":"A safer crossing outside the primary school"'
expect "uv-embed: the host's own TCP service answered on the same loop" "$tmp/uv.out" "host service said: hello from the host application"
expect "uv-embed: the host's timer ran beside townhall" "$tmp/uv.out" "the host's timer ticked on while townhall served"
expect "uv-embed: th_server_close called back" "$tmp/uv.out" "townhall server closed"
expect "uv-embed: uv_loop_close() == 0" "$tmp/uv.out" "uv_loop_close() = 0"

# ---- python/weekly_report.py --------------------------------------------------------
export TOWNHALL_LIBRARY=$LIBDIR/libtownhall.so.1 PYTHONPATH=$TH_SRC/bindings/python
"$PY" - "$tmp/report.db" >"$tmp/seed.log" 2>&1 <<'EOF'
import sys
from townhall import Townhall, Who
O = "https://www.riverside.example"
with Townhall(sys.argv[1]) as th:
    th.create_site("riverside", "Riverside Borough Council", origins=O)
    # page: answers (1 = useful), and the first device's comment
    pages = [("/bins", [0, 0, 1], "=HYPERLINK(\"http://x\") Which day? jo@example.com"),
             ("/parking", [1, 1, 1, 0], None),
             ("/council-tax", [0, 0, 0, 0, 1], "Far too long."),
             ("/libraries", [1, 1], "Open late?;=1+2;@SUM(1)")]
    for page, answers, comment in pages:
        for k, u in enumerate(answers):
            th.record_feedback("riverside", Who.device(f"192.0.2.{k}", "UA"), O + page,
                               useful=bool(u), rating=2 + 2 * u,
                               comment=comment if k == 0 else None)
    ideas = [("North", "Better street lighting on Elm Road", 5, 1),
             ("North", "A bench at the bus stop", 2, 0),
             ("North", "Fewer parking permits", 1, 4),
             ("North", "A fourth idea for the North ward", 0, 3),
             ("South", "Safer crossing by the school", 7, 0),
             ("", "Borough-wide composting", 3, 1)]
    for k, (ward, title, up, down) in enumerate(ideas):
        i = th.submit_idea("riverside", f"author-{k}", title, ward=ward or None)
        for v in range(up):
            th.vote("riverside", f"up-{v}", i.id, 1)
        for v in range(down):
            th.vote("riverside", f"down-{v}", i.id, -1)
EOF
if [ $? -eq 0 ]; then ok "weekly report: a database seeded through the Python binding"; else not_ok "weekly report: seeding"; sed 's/^/# /' "$tmp/seed.log"; fi
before=$(sha256sum "$tmp/report.db" | cut -d' ' -f1)
"$PY" "$EX/python/weekly_report.py" --db "$tmp/report.db" --site riverside --csv "$tmp/csv" >"$tmp/report.txt" 2>"$tmp/report.err"
if [ $? -eq 0 ]; then ok "weekly report runs"; else not_ok "weekly report runs"; sed 's/^/# /' "$tmp/report.err"; fi
after=$(sha256sum "$tmp/report.db" | cut -d' ' -f1)
if [ "$before" = "$after" ]; then ok "weekly report: opened the database read-only (file unchanged)"; else not_ok "weekly report: the database changed"; fi
expect "weekly report: heading names the site" "$tmp/report.txt" "Weekly report: Riverside Borough Council (riverside)"
expect "weekly report: worst page first" "$tmp/report.txt" "  1. https://www.riverside.example/council-tax"
expect "weekly report: its counts" "$tmp/report.txt" "1 yes, 4 no (20% found it useful), mean rating 2.4 of 5, 1 comment"
expect "weekly report: second worst" "$tmp/report.txt" "  2. https://www.riverside.example/bins"
expect "weekly report: the latest comment, scrubbed" "$tmp/report.txt" 'latest comment: "=HYPERLINK("http://x") Which day? [email]"'
expect "weekly report: the best page last" "$tmp/report.txt" "  4. https://www.riverside.example/libraries"
n1=$(line_of "$tmp/report.txt" "  North"); n2=$(line_of "$tmp/report.txt" "    1. Better street lighting on Elm Road (+5 -1, published)")
n3=$(line_of "$tmp/report.txt" "    3. Fewer parking permits (+1 -4, published)"); s1=$(line_of "$tmp/report.txt" "  South")
bw=$(line_of "$tmp/report.txt" "  Borough-wide")
if [ -n "$n1" ] && [ -n "$n2" ] && [ -n "$n3" ] && [ -n "$s1" ] && [ -n "$bw" ] &&
   [ "$n1" -lt "$n2" ] && [ "$n2" -lt "$n3" ] && [ "$n3" -lt "$s1" ] && [ "$s1" -lt "$bw" ] &&
   ! grep -q "A fourth idea" "$tmp/report.txt"; then
  ok "weekly report: top three ideas per ward, wards in order, borough-wide last"
else
  not_ok "weekly report: top ideas per ward"; sed 's/^/#   /' "$tmp/report.txt"
fi
expect "weekly report: new ideas counted" "$tmp/report.txt" "New ideas in the last 7 days: 6"
"$PY" - "$tmp/csv" >"$tmp/csvcheck.log" 2>&1 <<'EOF'
import csv, sys, os
d = sys.argv[1]
def rows(name):
    with open(os.path.join(d, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))
def check(name, cond):
    print(("ok - " if cond else "not ok - ") + name)
pages = rows("worst-pages.csv")
check("weekly report CSV: four pages, worst first",
      [p["page"].rsplit("/", 1)[1] for p in pages] == ["council-tax", "bins", "parking", "libraries"])
check("weekly report CSV: counts of the worst page",
      (pages[0]["yes"], pages[0]["no"], pages[0]["ratings"], pages[0]["comments"]) == ("1", "4", "5", "1"))
check("weekly report CSV: a comment starting with = is neutralised",
      pages[1]["latest_comment"].startswith("'=HYPERLINK"))
ideas = rows("top-ideas.csv")
check("weekly report CSV: top ideas per ward",
      [(i["ward"], i["rank"], i["title"]) for i in ideas] == [
          ("North", "1", "Better street lighting on Elm Road"),
          ("North", "2", "A bench at the bus stop"),
          ("North", "3", "Fewer parking permits"),
          ("South", "1", "Safer crossing by the school"),
          ("Borough-wide", "1", "Borough-wide composting")])
check("weekly report CSV: votes", (ideas[0]["up"], ideas[0]["down"]) == ("5", "1"))
check("weekly report CSV: a formula after a ; inside a cell is neutralised too",
      pages[3]["latest_comment"] == "Open late?;'=1+2;'@SUM(1)")
EOF
report "$tmp/csvcheck.log"
# ... and opened in LibreOffice splitting at ";" (or at every common
# separator at once), no cell of either file is a formula.
for seps in 59 44/59/9/124; do
  if "$PY" "$TH_SRC/tests/opendata/calc.py" "$seps" "$tmp/csv/worst-pages.csv" "$tmp/csv/top-ideas.csv" >"$tmp/calc.log" 2>&1; then
    ok "weekly report CSV in LibreOffice, separators $seps: no formula"
  else
    not_ok "weekly report CSV in LibreOffice, separators $seps: no formula"; sed 's/^/# /' "$tmp/calc.log"
  fi
done
"$PY" "$EX/python/weekly_report.py" --db "$tmp/report.db" --site nowhere >"$tmp/r2.out" 2>&1
if [ $? -eq 1 ] && grep -q 'no site "nowhere"' "$tmp/r2.out"; then
  ok "weekly report: an unknown site is an error with the library's message"
else
  not_ok "weekly report: unknown site"; sed 's/^/# /' "$tmp/r2.out"
fi
unset TOWNHALL_LIBRARY PYTHONPATH

# ---- node/server.js: the council's token app, against a real townhall --------------
# As examples/README.md says: the site lists the app's origin, and the page
# loads townhall's widget from its versioned address.
APP_PORT=$(free_port)
VERSION=$("$TH_BIN" version | awk '{print $2}')
"$TH_BIN" site add riverside --name "Riverside Borough Council" --generate-secret \
  --origin "http://127.0.0.1:$APP_PORT" --db "$tmp/app.db" >"$tmp/site.out" 2>&1
SECRET=$(tail -1 "$tmp/site.out")
if [ ${#SECRET} -ge 43 ]; then ok "node app: a site with a generated secret (townhall site add --generate-secret)"; else not_ok "node app: site secret"; sed 's/^/# /' "$tmp/site.out"; fi
TOWNHALL_LIBRARY=$LIBDIR/libtownhall.so.1 PYTHONPATH=$TH_SRC/bindings/python "$PY" -c \
  "import townhall, sys; th = townhall.Townhall(sys.argv[1]); print(th.submit_idea('riverside', 'resident-0', 'Plant trees on the high street').id); th.close()" \
  "$tmp/app.db" >"$tmp/idea.out" 2>&1
TH_PORT=$(free_port)
"$TH_BIN" serve --db "$tmp/app.db" --listen "127.0.0.1:$TH_PORT" --log-level error >"$tmp/serve.log" 2>&1 &
pids+=($!)
ASSETS="http://127.0.0.1:$TH_PORT/v/$VERSION"
PORT=$APP_PORT TOWNHALL_SITE=riverside TOWNHALL_SECRET=$SECRET COOKIE_SECURE=0 \
  TOWNHALL_ASSETS="$ASSETS" node "$EX/node/server.js" >"$tmp/app.log" 2>&1 &
pids+=($!)
if wait_http "http://127.0.0.1:$TH_PORT/healthz" && wait_http "http://127.0.0.1:$APP_PORT/"; then
  ok "node app: townhall serve and the council app are up"
else
  not_ok "node app: servers up"; sed 's/^/# /' "$tmp/serve.log" "$tmp/app.log"
fi
APP=http://127.0.0.1:$APP_PORT TH=http://127.0.0.1:$TH_PORT SECRET=$SECRET ASSETS=$ASSETS \
  node - >"$tmp/appcheck.log" 2>&1 <<'EOF'
const crypto = require('node:crypto');
const { APP, TH, SECRET, ASSETS } = process.env;
const check = (name, cond, detail) => {
  console.log(`${cond ? 'ok' : 'not ok'} - node app: ${name}`);
  if (!cond && detail !== undefined) console.log(JSON.stringify(detail));
};
const form = (o) => ({ method: 'POST', redirect: 'manual', body: new URLSearchParams(o),
  headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
(async () => {
  let r = await fetch(`${APP}/townhall/token`);
  check('no token before signing in (401, no-store)', r.status === 401 && r.headers.get('cache-control') === 'no-store', r.status);
  r = await fetch(`${APP}/login`, form({ username: 'alice', password: 'wrong' }));
  check('a wrong password is refused, with no cookie', r.status === 401 && !r.headers.get('set-cookie'), r.status);
  r = await fetch(`${APP}/login`, form({ username: 'alice', password: 'alice-demo-password' }));
  const set = r.headers.get('set-cookie') || '';
  check('signing in sets an HttpOnly, SameSite session cookie', r.status === 303 && /HttpOnly/.test(set) && /SameSite=Lax/.test(set), set);
  const cookie = set.split(';')[0];
  r = await fetch(`${APP}/`, { headers: { cookie } });
  const html = await r.text();
  check('the page embeds the ideas widget and the sign-in script', /data-townhall-ideas data-site="riverside"/.test(html) &&
    html.includes(`${ASSETS}/widget.js`) && html.includes('/townhall-sign-in.js'), html);
  for (const src of html.match(/src="[^"]*"/g) || []) {
    const url = new URL(src.slice(5, -1), APP);
    r = await fetch(url);
    check(`the page's script ${url} loads (200)`, r.status === 200, r.status);
  }
  r = await fetch(`${APP}/townhall-sign-in.js`);
  check('the sign-in script hands the token to townhall.setResidentToken', (await r.text()).includes('setResidentToken'));
  r = await fetch(`${APP}/townhall/token`, { headers: { cookie, 'sec-fetch-site': 'cross-site' } });
  check('no token for a cross-site request (403)', r.status === 403, r.status);
  r = await fetch(`${APP}/townhall/token`, { headers: { cookie } });
  const { token, expires } = await r.json();
  check('a token for the signed-in resident (200, no-store)', r.status === 200 && typeof token === 'string' && r.headers.get('cache-control') === 'no-store');
  const [h, p, s] = token.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  const now = Date.now() / 1000;
  check('the token is HS256', header.alg === 'HS256' && header.typ === 'JWT', header);
  check('aud is the site, sub the resident id', claims.aud === 'riverside' && claims.sub === 'uid-1001', claims);
  check('it expires within the hour', claims.exp > now && claims.exp - claims.iat <= 3600 && claims.exp * 1000 === expires, claims);
  const mac = crypto.createHmac('sha256', Buffer.from(SECRET, 'base64url')).update(`${h}.${p}`).digest('base64url');
  check("it is signed with the site's secret", mac === s);
  const bearer = { authorization: `Bearer ${token}` };
  r = await fetch(`${TH}/v1/sites/riverside/residents/me`, { headers: bearer });
  check('townhall accepts it (GET residents/me: 200)', r.status === 200, await r.text());
  r = await fetch(`${TH}/v1/sites/riverside/ideas/1/vote`, { method: 'PUT', headers: { ...bearer, 'content-type': 'application/json' }, body: '{"value": 1}' });
  const voted = await r.text();
  check('the resident votes with it', r.status >= 200 && r.status < 300, voted);
  r = await fetch(`${TH}/v1/sites/riverside/residents/me`, { headers: bearer });
  const me = await r.json();
  check("townhall's export shows the vote", me.consultations?.[0]?.votes?.[0]?.idea === 1, me);
  const forged = Buffer.from(JSON.stringify({ ...claims, sub: 'uid-1002' })).toString('base64url');
  r = await fetch(`${TH}/v1/sites/riverside/residents/me`, { headers: { authorization: `Bearer ${h}.${forged}.${s}` } });
  check('townhall refuses a token whose claims were changed (401)', r.status === 401, r.status);
  r = await fetch(`${APP}/v1/sites/riverside/ideas`);
  check('the app proxies nothing to townhall (404)', r.status === 404, r.status);
  r = await fetch(`${APP}/logout`, { method: 'POST', redirect: 'manual', headers: { cookie } });
  r = await fetch(`${APP}/townhall/token`, { headers: { cookie } });
  check('after signing out, no token (401)', r.status === 401, r.status);
})().catch((e) => { console.log(`not ok - node app: the checks ran (${e.stack})`); });
EOF
report "$tmp/appcheck.log"

# The same app in Chromium, as a resident uses it: the ideas widget appears
# and takes a vote (tests/browser/examples.js).
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$CHROMIUM" ]; then
  not_ok "node app in Chromium: Chromium is installed at $CHROMIUM (scripts/deps installs chromium)"
elif [ ! -d "$TH_SRC/tests/browser/node_modules/playwright-core" ] &&
     ! (cd "$TH_SRC/tests/browser" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
          npm ci --no-audit --no-fund --loglevel=error) >"$tmp/npm.log" 2>&1; then
  not_ok "node app in Chromium: npm ci in tests/browser"; tail -20 "$tmp/npm.log" | sed 's/^/# /'
else
  APP=http://127.0.0.1:$APP_PORT TH=http://127.0.0.1:$TH_PORT SITE=riverside \
    IDEA="Plant trees on the high street" CHROMIUM=$CHROMIUM \
    timeout 120 node "$TH_SRC/tests/browser/examples.js" >"$tmp/chromium.log" 2>&1
  grep -q '^\(not \)\?ok - ' "$tmp/chromium.log" || echo "not ok - node app in Chromium: the checks ran" >>"$tmp/chromium.log"
  report "$tmp/chromium.log"
fi

# Every widget version the examples mention is one townhall serves, and
# the current one is among them.
refs=$(grep -rhoE '/v/[0-9]+\.[0-9]+\.[0-9]+(/[A-Za-z0-9_.-]+)?' "$EX" | sort -u)
case " $(echo $refs) " in *" /v/$VERSION "*|*" /v/$VERSION/"*) ok "the examples mention the current widgets, /v/$VERSION";;
  *) not_ok "the examples mention the current widgets, /v/$VERSION (they mention: $(echo $refs))";; esac
for ref in $refs; do
  case "$ref" in /v/*.*.*/*) url=$ref;; *) url=$ref/widget.js;; esac
  code=$(node -e "fetch(process.argv[1]).then(r=>console.log(r.status),()=>console.log('no answer'))" \
    "http://127.0.0.1:$TH_PORT$url")
  if [ "$code" = 200 ]; then ok "the examples mention $url: townhall serves it"; else not_ok "the examples mention $url: townhall answers $code"; fi
done

# ---- README.md's "Three ways in": each block run as written -----------------------
mkdir -p "$tmp/snip/node_modules"
"$PY" - "$TH_SRC/README.md" "$tmp/snip" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
text = text.split("## Three ways in", 1)[1].split("\n## ", 1)[0]
names = {"c": "app.c", "python": "app.py", "js": "app.js"}
for lang, body in re.findall(r"```(\w+)\n(.*?)```", text, re.S):
    if lang in names:
        open(f"{sys.argv[2]}/{names[lang]}", "w").write(body)
EOF
ln -s "$TH_SRC/bindings/node" "$tmp/snip/node_modules/townhall"
TOWNHALL_ADDON_OUT=$tmp/snip/townhall.node node "$TH_SRC/bindings/node/build.js" >"$tmp/snip/build.log" 2>&1 ||
  sed 's/^/# /' "$tmp/snip/build.log"
snippet() { # snippet NAME DIR COMMAND...: run twice in DIR; each run prints the line
  local name=$1 dir=$2 out1 out2; shift 2
  mkdir -p "$dir" || return 1
  out1=$(cd "$dir" && "$@" 2>&1); out2=$(cd "$dir" && "$@" 2>&1)
  if [ "$out1" = "idea 1: 1 up, 0 down" ] && [ "$out2" = "idea 1: 1 up, 0 down" ]; then
    ok "README snippet, $name: prints 'idea 1: 1 up, 0 down' (and again on a second run)"
  else
    not_ok "README snippet, $name"; printf '%s\n%s\n' "$out1" "$out2" | sed 's/^/# /'
  fi
}
if cc -Wall -Wextra -Werror "$tmp/snip/app.c" $(pkg-config --cflags --libs townhall) -o "$tmp/snip/app" 2>"$tmp/snip/cc.log"; then
  ok "README snippet, C: builds with pkg-config"
else
  not_ok "README snippet, C: builds"; sed 's/^/# /' "$tmp/snip/cc.log"
fi
snippet "C" "$tmp/snip/c" env LD_LIBRARY_PATH="$LIBDIR" "$tmp/snip/app"
snippet "Python" "$tmp/snip/py" env TOWNHALL_LIBRARY="$LIBDIR/libtownhall.so.1" \
  PYTHONPATH="$TH_SRC/bindings/python" "$PY" "$tmp/snip/app.py"
snippet "Node.js" "$tmp/snip/js" env TOWNHALL_NODE_ADDON="$tmp/snip/townhall.node" node "$tmp/snip/app.js"

# ---- deploy/ --------------------------------------------------------------------------
unit=$EX/deploy/townhall.service
sed "s#/usr/local/bin/townhall#$(readlink -f "$TH_BIN")#" "$unit" >"$tmp/townhall.service"
if command -v systemd-analyze >/dev/null; then
  if systemd-analyze verify --man=no "$tmp/townhall.service" >"$tmp/verify.log" 2>&1; then
    ok "deploy: systemd-analyze verify accepts townhall.service"
  else
    not_ok "deploy: systemd-analyze verify"; sed 's/^/# /' "$tmp/verify.log"
  fi
else
  not_ok "deploy: systemd-analyze is installed (scripts/deps installs systemd)"
fi
missing=""
for d in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes PrivateDevices=yes \
         DynamicUser=yes StateDirectory=townhall CapabilityBoundingSet= RestrictAddressFamilies= \
         SystemCallFilter=@system-service MemoryDenyWriteExecute=yes "--trusted-proxy 127.0.0.1" \
         "--listen 127.0.0.1:8080" KillSignal=SIGTERM; do
  grep -qF -- "$d" "$unit" || missing="$missing $d"
done
if [ -z "$missing" ]; then ok "deploy: the unit listens on loopback, trusts only the local proxy, and is sandboxed"; else not_ok "deploy: unit lacks:$missing"; fi
# The unit's command line is one townhall accepts: run it for a moment.
cmd=$(sed -n '/^ExecStart=/,/[^\\]$/p' "$unit" | sed -e 's/^ExecStart=//' -e 's/\\$//' | tr '\n' ' ')
cmd=${cmd//\/usr\/local\/bin\/townhall/$TH_BIN}
cmd=${cmd//\/var\/lib\/townhall\/townhall.db/$tmp/unit.db}
UNIT_PORT=$(free_port)
cmd=${cmd//127.0.0.1:8080/127.0.0.1:$UNIT_PORT}
eval "exec $cmd" >"$tmp/unit.log" 2>&1 &
unit_pid=$!
pids+=($unit_pid)
if wait_http "http://127.0.0.1:$UNIT_PORT/healthz"; then
  kill -TERM "$unit_pid"; wait "$unit_pid"; rc=$?
  if [ $rc -eq 0 ]; then ok "deploy: the unit's ExecStart serves, and stops cleanly on SIGTERM"; else not_ok "deploy: exit $rc after SIGTERM"; sed 's/^/# /' "$tmp/unit.log"; fi
else
  not_ok "deploy: the unit's ExecStart serves"; sed 's/^/# /' "$tmp/unit.log"
fi

conf=$EX/deploy/nginx-townhall.conf
missing=""
for d in 'proxy_set_header X-Forwarded-For $remote_addr;' 'client_max_body_size 64k;' \
         'ssl_protocols TLSv1.2 TLSv1.3;' 'Strict-Transport-Security' 'client_header_timeout' \
         'client_body_timeout' 'proxy_read_timeout' 'large_client_header_buffers 4 16k;' \
         'proxy_set_header Host $host;' 'return 301 https://'; do
  grep -qF -- "$d" "$conf" || missing="$missing [$d]"
done
if [ -z "$missing" ]; then ok "deploy: the nginx snippet sets X-Forwarded-For, TLS, HSTS, body size and timeouts"; else not_ok "deploy: nginx snippet lacks:$missing"; fi
if grep -q '\$remote_addr' <(grep -v 'X-Forwarded-For' "$conf" | grep -v '^ *#') ||
   grep -q '\$http_user_agent' "$conf"; then
  not_ok "deploy: the nginx snippet logs no addresses or user agents"
else
  ok "deploy: the nginx snippet logs no addresses or user agents"
fi

# With nginx installed: nginx -t, then nginx in front of townhall for real.
NGINX=$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null || true)
if [ -n "$NGINX" ] && command -v openssl >/dev/null; then
  ng=$tmp/nginx && mkdir -p "$ng/logs"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=townhall.test \
    -keyout "$ng/key.pem" -out "$ng/cert.pem" >/dev/null 2>&1
  HTTPS_PORT=$(free_port); HTTP_PORT=$(free_port)
  sed -e "s#/etc/letsencrypt/live/townhall.riverside.example/fullchain.pem#$ng/cert.pem#" \
      -e "s#/etc/letsencrypt/live/townhall.riverside.example/privkey.pem#$ng/key.pem#" \
      -e "s#/var/log/nginx/#$ng/logs/#" \
      -e "s#server 127.0.0.1:8080;#server 127.0.0.1:$TH_PORT;#" \
      -e "s#listen 443 ssl http2;#listen 127.0.0.1:$HTTPS_PORT ssl http2;#" \
      -e "/listen \[::\]/d" \
      -e "s#listen 80;#listen 127.0.0.1:$HTTP_PORT;#" "$conf" >"$ng/townhall.conf"
  printf 'pid %s/nginx.pid;\nerror_log %s/logs/error.log;\ndaemon off;\nevents {}\nhttp {\n  client_body_temp_path %s/body;\n  proxy_temp_path %s/proxy;\n  include %s/townhall.conf;\n}\n' \
    "$ng" "$ng" "$ng" "$ng" "$ng" >"$ng/nginx.conf"
  if "$NGINX" -t -p "$ng" -c "$ng/nginx.conf" >"$ng/t.log" 2>&1; then
    ok "deploy: nginx -t accepts the snippet"
  else
    not_ok "deploy: nginx -t"; sed 's/^/# /' "$ng/t.log"
  fi
  # townhall (from the node app checks, above) now gets --trusted-proxy.
  kill "${pids[0]}" 2>/dev/null; wait "${pids[0]}" 2>/dev/null
  "$TH_BIN" site add feedbacktest --name "Feedback test" --db "$tmp/app.db" >/dev/null 2>&1
  "$TH_BIN" serve --db "$tmp/app.db" --listen "127.0.0.1:$TH_PORT" --trusted-proxy 127.0.0.1 \
    --log-level error >"$tmp/serve2.log" 2>&1 &
  pids+=($!)
  "$NGINX" -p "$ng" -c "$ng/nginx.conf" >"$ng/run.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$TH_PORT/healthz"
  HTTPS=https://127.0.0.1:$HTTPS_PORT HTTP=http://127.0.0.1:$HTTP_PORT TH=http://127.0.0.1:$TH_PORT \
    node - >"$tmp/nginxcheck.log" 2>&1 <<'EOF'
const https = require('node:https');
const http = require('node:http');
const { HTTPS, HTTP, TH } = process.env;
const check = (name, cond, detail) => {
  console.log(`${cond ? 'ok' : 'not ok'} - deploy, nginx in front: ${name}`);
  if (!cond && detail !== undefined) console.log(JSON.stringify(detail));
};
// A request from a chosen local address (127.0.0.x), with chosen headers.
function request(url, { method = 'GET', body, headers = {}, from = '127.0.0.1' } = {}) {
  const u = new URL(url);
  const mod = u.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = mod.request(u, { method, headers, localAddress: from, rejectUnauthorized: false }, (res) => {
      let data = '';
      res.on('data', (c) => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
(async () => {
  for (let i = 0; i < 50; i++) {
    try { if ((await request(`${HTTPS}/healthz`)).status === 200) break; } catch {}
    await sleep(100);
  }
  let r = await request(`${HTTPS}/healthz`);
  check('HTTPS reaches townhall (/healthz 200)', r.status === 200, r);
  check('HSTS is sent', /max-age=/.test(r.headers['strict-transport-security'] || ''), r.headers);
  r = await request(`${HTTP}/healthz`);
  check('plain HTTP is redirected to HTTPS', r.status === 301 && /^https:/.test(r.headers.location || ''), r.status);
  r = await request(`${HTTPS}/v1/sites/feedbacktest/feedback`, { method: 'POST', body: 'x'.repeat(70000), headers: { 'content-type': 'application/json' } });
  check('a body over 64 KiB is refused by nginx (413)', r.status === 413, r.status);
  // A retry (the same idempotency key and answer) folds only from the same
  // device (address + user agent): the same request from one address with
  // forged X-Forwarded-For entries is one device, and folds; from two
  // addresses it is two answers.
  const page = 'https://www.example.org/xff';
  const post = (from, xff, useful) => request(`${HTTPS}/v1/sites/feedbacktest/feedback`, {
    method: 'POST', from,
    headers: { 'content-type': 'application/json', 'user-agent': 'xff-test', 'idempotency-key': 'xff-test-key',
      ...(xff ? { 'x-forwarded-for': xff } : {}) },
    body: JSON.stringify({ page, useful }),
  });
  const a = await post('127.0.0.2', '198.51.100.1', true);
  const b = await post('127.0.0.2', '198.51.100.2', true);
  const c = await post('127.0.0.3', null, true);
  check('feedback through nginx is accepted', [a, b, c].every((x) => x.status >= 200 && x.status < 300), [a, b, c].map((x) => [x.status, x.body]));
})().catch((e) => console.log(`not ok - deploy, nginx in front: the checks ran (${e.stack})`));
EOF
  report "$tmp/nginxcheck.log"
  # The exact counts (the public summary rounds small ones away).
  yes=$(TOWNHALL_LIBRARY=$LIBDIR/libtownhall.so.1 PYTHONPATH=$TH_SRC/bindings/python "$PY" -c \
    "import townhall, sys; th = townhall.Townhall(sys.argv[1], readonly=True); print(th.feedback_summary('feedbacktest', 'https://www.example.org/xff').yes)" \
    "$tmp/app.db" 2>&1)
  if [ "$yes" = 2 ]; then
    ok "deploy, nginx in front: X-Forwarded-For: forged entries ignored, real client addresses told apart (2 devices)"
  else
    not_ok "deploy, nginx in front: X-Forwarded-For: 2 devices expected, got $yes"
  fi
else
  not_ok "deploy: nginx and openssl are installed (scripts/deps installs nginx-core)"
fi

echo "1..$n"
[ $fails -eq 0 ]
