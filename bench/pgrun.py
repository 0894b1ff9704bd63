"""bench/run --engine postgresql: townhall on PostgreSQL (issue 15).

One node, three workloads — votes (a new resident each), feedback (a new
answer each) and top-20 — on a townhall server whose database is on a
throwaway PostgreSQL cluster (tests/pg/cluster.py: Unix socket only,
fsync on, synchronous_commit = on), and in the same rounds:

- the same workloads on a SQLite server (the figures bench/run gives,
  measured beside these so that both see the same machine);
- pgbench's built-in simple-update script at wrk's client count on the
  same cluster (bench/pgbench-ceiling's code, imported): the engine's own
  ceiling, which issue 15's targets are set against (votes >= 0.5x,
  feedback >= 0.7x of its transactions per second);
- bench/ceiling.c answering GET, the HTTP ceiling (bench/run's), for the
  top-20 ratio and the ceiling check.

Each round starts from a fresh copy of the generated database: `CREATE
DATABASE ... TEMPLATE` on PostgreSQL, a file copy on SQLite, and a fresh
server on each. Every 201 is counted against committed rows as bench/run
does (psql's count(*) on PostgreSQL). Writes bench/results-postgresql.md.
See bench/README.md.
"""
import datetime
import importlib.machinery
import importlib.util
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
import http.client

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "pg"))
import bench  # noqa: E402
from bench import log, median, fmt_int, fmt_ms  # noqa: E402
from cluster import Cluster, ClusterError  # noqa: E402

TOP_PATH = "/v1/sites/%s/ideas?sort=top&limit=20" % bench.SITE
WORKLOADS = ("top20", "votes", "feedback")
ENGINES = ("pg", "sqlite")
ENGINE_NAME = {"pg": "PostgreSQL", "sqlite": "SQLite"}
TARGETS = {"votes": 0.5, "feedback": 0.7}
HAND = "<!-- written by hand: bench/run --engine postgresql keeps it -->"


def pgbench_ceiling():
    """bench/pgbench-ceiling as a module (it has no .py name): its pgbench
    runner, output parser and row count are the ones used here."""
    path = os.path.join(HERE, "pgbench-ceiling")
    loader = importlib.machinery.SourceFileLoader("pgbench_ceiling", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def busy_processes(seconds=2.0, top=8):
    """The processes using the CPU now (not ps's lifetime average): CPU
    share over `seconds`, the busiest first, as [(share, pid, command)]."""
    def ticks():
        out = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                s = open("/proc/%s/stat" % pid).read()
                f = s[s.rindex(")") + 2:].split()
                out[int(pid)] = (s[s.index("(") + 1:s.rindex(")")],
                                 int(f[11]) + int(f[12]))
            except (OSError, ValueError, IndexError):
                pass
        return out
    t0 = ticks()
    time.sleep(seconds)
    t1 = ticks()
    hz = os.sysconf("SC_CLK_TCK")
    me = os.getpid()
    busy = []
    for pid, (name, t) in t1.items():
        if pid == me or pid not in t0:
            continue
        share = (t - t0[pid][1]) / hz / seconds
        if share >= 0.03:
            try:
                cmd = open("/proc/%d/cmdline" % pid).read().replace(
                    "\0", " ").strip()[:80]
            except OSError:
                cmd = ""
            busy.append((round(share, 2), pid, cmd or name))
    busy.sort(reverse=True)
    return busy[:top]


def wait_for_quiet(limit, max_minutes):
    """Waits until the 1-minute load average is under `limit` (at most
    max_minutes); returns the load average then."""
    deadline = time.time() + max_minutes * 60
    while True:
        la = open("/proc/loadavg").read().split()[:3]
        if float(la[0]) < limit or time.time() > deadline:
            return la
        log("waiting for a quiet machine: load %s, want < %.2f" % (
            " ".join(la), limit))
        time.sleep(20)


def tree_ticks(root):
    """CPU ticks (user + system) of a process and its children: the
    PostgreSQL server (postmaster, its backends, the WAL writer and the
    checkpointer)."""
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            s = open("/proc/%s/stat" % pid).read()
            f = s[s.rindex(")") + 2:].split()
            if int(pid) == root or int(f[1]) == root:
                total += int(f[11]) + int(f[12])
        except (OSError, ValueError, IndexError):
            pass
    return total


class PgSide:
    """The PostgreSQL side: the cluster, its generated database, pgbench."""

    def __init__(self, args, tools, work, secret, pgb):
        self.args, self.tools, self.work, self.pgb = args, tools, work, pgb
        self.cluster = Cluster(
            os.path.join(work, "cluster"),
            settings={"synchronous_commit": "on",
                      "max_connections": max(100, args.connections + 20)})
        self.cluster.start()
        pg = self.cluster
        self.version = pg.psql("show server_version", uri=pg.admin_uri)
        self.settings = dict(
            (k, pg.psql("show " + k, uri=pg.admin_uri))
            for k in ("fsync", "synchronous_commit", "full_page_writes",
                      "wal_sync_method", "shared_buffers", "commit_delay",
                      "max_connections"))
        # The generated database every round copies (CREATE DATABASE ...
        # TEMPLATE: nothing may be connected to it then; gen has closed).
        self.key = os.path.join(work, "pg.key")
        self.pristine_uri = pg.createdb("bench_pristine")
        self.gen_out = gen_pg(tools, self.pristine_uri, self.key, secret)
        self.pgbench_uri = pg.createdb("pgbench")
        init = pgb.pgbench(pg, "-i", "-q", "-s", str(args.pg_scale),
                           self.pgbench_uri)
        if init.returncode != 0:
            raise ClusterError("pgbench -i failed: " + init.stderr[-2000:])

    def fresh(self, name):
        """A copy of the generated database and of its key file: (URI,
        key file)."""
        pg = self.cluster
        pg.psql("CREATE DATABASE %s TEMPLATE bench_pristine OWNER townhall"
                % name, uri=pg.admin_uri)
        key = os.path.join(self.work, name + ".key")
        for suffix in ("", ".salts"):
            if os.path.exists(key + suffix):
                os.unlink(key + suffix)
        shutil.copy2(self.key, key)
        return pg.uri_for(database=name), key

    def counter(self, uri):
        pg = self.cluster
        return lambda table: int(pg.psql("select count(*) from %s" % table,
                                          uri=uri))

    def pgbench_round(self, n):
        pg, args = self.cluster, self.args
        before = self.pgb.history_rows(pg, self.pgbench_uri)
        # As bench/pgbench-ceiling: -n (no VACUUM before the run), the
        # built-in simple-update script, wrk's clients and threads.
        p = self.pgb.pgbench(pg, "-n", "-b", self.pgb.SCRIPT, "-c",
                             str(args.connections), "-j", str(args.threads),
                             "-T", str(args.duration), self.pgbench_uri,
                             timeout=args.duration + 120)
        r = self.pgb.parse(p.stdout)
        r["round"] = n
        r["exit"] = p.returncode
        r["committed"] = self.pgb.history_rows(pg, self.pgbench_uri) - before
        r["rows_ok"] = (p.returncode == 0 and
                        r.get("processed") == r["committed"])
        if p.returncode != 0:
            r["stderr"] = p.stderr[-2000:]
        return r

    def stop(self):
        self.cluster.stop()


def gen_pg(tools, uri, key, secret):
    cmd = [os.path.join(tools["bin"], "gen"), uri, "--key-file", key,
           "--secret-file", secret, "--ideas", "1000", "--pages", "500"]
    log("$", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("gen failed: " + out.stderr)
    return json.loads(out.stdout)


def warm(srv):
    """A few GETs, so that no measured run is also a cold start."""
    c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
    for _ in range(50):
        for path in (TOP_PATH, "/widget.js"):
            c.request("GET", path)
            r = c.getresponse()
            r.read()
            if r.status != 200:
                raise RuntimeError("%s: GET %s answered %d" % (
                    srv.name, path, r.status))
    c.close()


def run_workload(args, wl, srv, db, counter, tokdir, logdir, tag, runid):
    url = "http://127.0.0.1:%d" % srv.port
    if wl == "top20":
        return bench.wrk(args, url + TOP_PATH, "get.lua", pid=srv.pid,
                         logdir=logdir, tag=tag)
    if wl == "votes":
        return bench.write_run(args, srv, db, "votes", "vote.lua",
                               (bench.SITE, tokdir, 1000, 1, 1), logdir, tag,
                               counter=counter)
    if wl == "feedback":
        return bench.write_run(args, srv, db, "feedback", "feedback.lua",
                               (bench.SITE, 500, runid), logdir, tag,
                               counter=counter)
    raise ValueError(wl)


KEEP = ("rps", "requests", "p50_us", "p99_us", "p999_us", "max_us", "errors",
        "non2xx", "cpu_main", "cpu_other", "wrk_cpu", "max_rss_kib",
        "faults_per_req", "c201", "c200", "committed", "acknowledged",
        "in_flight", "rows_ok", "commits", "per_commit", "commits_per_s",
        "sent", "pg_cpu")


def slim(r):
    return {k: r[k] for k in KEEP if k in r}


def summarize(R):
    rounds = R["rounds"]
    ceil = [rd["ceiling"]["rps"] for rd in rounds]
    tps = [rd["pgbench"].get("tps") for rd in rounds]
    S = {"ceiling": {"rps": median(ceil), "all": ceil},
         "pgbench": {"tps": median(tps), "all": tps,
                     "latency_avg_ms": median([rd["pgbench"].get(
                         "latency_avg_ms") for rd in rounds])}}
    problems = []
    for wl in WORKLOADS:
        S[wl] = {}
        for e in ENGINES:
            runs = [rd[wl][e] for rd in rounds]
            s = {"rps": median([r["rps"] for r in runs]),
                 "p50_us": median([r["p50_us"] for r in runs]),
                 "p99_us": median([r["p99_us"] for r in runs]),
                 "all": [r["rps"] for r in runs],
                 "x_ceiling": median([r["rps"] / c
                                      for r, c in zip(runs, ceil) if c]),
                 "x_pgbench": median([r["rps"] / t
                                      for r, t in zip(runs, tps) if t]),
                 "all_x_pgbench": [r["rps"] / t if t else None
                                   for r, t in zip(runs, tps)],
                 "cpu_main": median([r.get("cpu_main") for r in runs]),
                 "cpu_other": median([(r.get("cpu_other") or [0])[0]
                                      for r in runs]),
                 "per_commit": median([r.get("per_commit") for r in runs]),
                 "pg_cpu": median([r.get("pg_cpu") for r in runs]),
                 "commits_per_s": median([r.get("commits_per_s")
                                          for r in runs])}
            S[wl][e] = s
            for i, (r, c) in enumerate(zip(runs, ceil)):
                where = "round %d, %s on %s" % (i + 1, wl, ENGINE_NAME[e])
                if c and r["rps"] > c:
                    problems.append(
                        "ERROR in the ceiling: %s: %s req/s, above the "
                        "round's HTTP ceiling (%s req/s)" % (
                            where, fmt_int(r["rps"]), fmt_int(c)))
                if r["non2xx"] or r["errors"]:
                    problems.append("%s: %s non-2xx answers, %s socket "
                                    "errors" % (where, fmt_int(r["non2xx"]),
                                                fmt_int(r["errors"])))
                if r.get("rows_ok") is False:
                    problems.append(
                        "%s: %s rows committed for %s 201s (%d in flight)" % (
                            where, fmt_int(r["committed"]),
                            fmt_int(r["acknowledged"]), r["in_flight"]))
        S[wl]["pg_over_sqlite"] = median(
            [rd[wl]["pg"]["rps"] / rd[wl]["sqlite"]["rps"]
             for rd in rounds if rd[wl]["sqlite"]["rps"]])
    for rd in rounds:
        p = rd["pgbench"]
        if not p.get("rows_ok"):
            problems.append(
                "round %d, pgbench: exit %s, %s processed, %s committed" % (
                    rd["round"], p.get("exit"), p.get("processed"),
                    p.get("committed")))
    return S, problems


def markdown(R, S, problems):
    A, M = R["args"], R["machine"]
    L = []
    w = L.append
    n = len(R["rounds"])
    w("# townhall on PostgreSQL: benchmark results\n")
    w("Written by `bench/run --engine postgresql` on %s (UTC)%s. One node, "
      "votes (a new resident each), feedback (a new answer each) and top-20 "
      "on a townhall server whose database is on a throwaway PostgreSQL "
      "cluster, beside the same workloads on a SQLite server and pgbench's "
      "simple-update on the same cluster, **all in the same rounds**. Every "
      "write figure is set against pgbench's transactions per second **of "
      "its own round** (the engine's own ceiling: issue 15's targets), "
      "top-20 against the HTTP ceiling (`bench/ceiling.c`) of its round. "
      "Figures are medians over %d round%s; each ratio is the median of the "
      "per-round ratios. How it runs: `bench/README.md`.\n" % (
          R["date"], ", **a smoke run (`--quick`): not a measurement**"
          if A["quick"] else "", n, "" if n == 1 else "s"))

    w("## Targets (issue 15)\n")
    w("| target | PostgreSQL | pgbench of the same rounds | ratio (median "
      "of per-round) | per round | verdict |")
    w("| --- | --- | --- | --- | --- | --- |")
    for wl, label in (("votes", "votes ≥ 0.5× pgbench tps"),
                      ("feedback", "feedback ≥ 0.7× pgbench tps")):
        s = S[wl]["pg"]
        t = TARGETS[wl]
        ok = s["x_pgbench"] is not None and s["x_pgbench"] >= t
        w("| %s | %s/s | %s tps | **%.2f×** | %s | %s |" % (
            label, fmt_int(s["rps"]), fmt_int(S["pgbench"]["tps"]),
            s["x_pgbench"] or 0,
            ", ".join("%.2f" % x for x in s["all_x_pgbench"] if x is not None),
            ("**met** (+%.2f)" % (s["x_pgbench"] - t)) if ok else
            ("**missed** (%.2f short of %.2f×)" % (
                t - (s["x_pgbench"] or 0), t))))
    w("")
    if problems:
        w("**These figures cannot be trusted as they stand** (see *Checks* "
          "below).\n")

    w("## Every figure beside its ceilings\n")
    w("| workload | PostgreSQL req/s | × pgbench | × HTTP ceiling | SQLite "
      "req/s | × HTTP ceiling | PostgreSQL / SQLite | p50 ms PG / SQLite | "
      "p99 ms PG / SQLite |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    w("| HTTP ceiling (`ceiling.c`, GET) | | | 1.00 | | | | | |")
    w("| pgbench simple-update, %d clients | %s tps | 1.00 | | | | | %.2f "
      "(latency avg) | |" % (A["connections"], fmt_int(S["pgbench"]["tps"]),
                             S["pgbench"]["latency_avg_ms"] or 0))
    labels = {"top20": "top-20 (`GET ...?sort=top&limit=20`)",
              "votes": "votes (`PUT .../vote`, a new resident each)",
              "feedback": "feedback (`POST .../feedback`, a new answer each)"}
    for wl in WORKLOADS:
        p, q = S[wl]["pg"], S[wl]["sqlite"]
        w("| %s | %s | %.2f× | %.2f× | %s | %.2f× | %.2f× | %s / %s | %s / "
          "%s |" % (labels[wl], fmt_int(p["rps"]), p["x_pgbench"] or 0,
                    p["x_ceiling"] or 0, fmt_int(q["rps"]),
                    q["x_ceiling"] or 0, S[wl]["pg_over_sqlite"] or 0,
                    fmt_ms(p["p50_us"]), fmt_ms(q["p50_us"]),
                    fmt_ms(p["p99_us"]), fmt_ms(q["p99_us"])))
    w("")
    w("*× pgbench* divides by pgbench's transactions per second of the same "
      "round (for the writes, issue 15's ceiling; for top-20, a read, it is "
      "only given for scale); *× HTTP ceiling* by the ceiling server's GET "
      "rate of the same round.\n")

    w("### Per round\n")
    w("| round | HTTP ceiling | pgbench tps | PG votes | SQLite votes | PG "
      "feedback | SQLite feedback | PG top-20 | SQLite top-20 | order |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for rd in R["rounds"]:
        w("| %d | %s | %s | %s (%.2f×) | %s | %s (%.2f×) | %s | %s | %s | %s "
          "|" % (rd["round"], fmt_int(rd["ceiling"]["rps"]),
                 fmt_int(rd["pgbench"].get("tps")),
                 fmt_int(rd["votes"]["pg"]["rps"]),
                 rd["votes"]["pg"]["rps"] / (rd["pgbench"].get("tps") or 1),
                 fmt_int(rd["votes"]["sqlite"]["rps"]),
                 fmt_int(rd["feedback"]["pg"]["rps"]),
                 rd["feedback"]["pg"]["rps"] /
                 (rd["pgbench"].get("tps") or 1),
                 fmt_int(rd["feedback"]["sqlite"]["rps"]),
                 fmt_int(rd["top20"]["pg"]["rps"]),
                 fmt_int(rd["top20"]["sqlite"]["rps"]),
                 ", ".join("%s %s" % (wl, "/".join(
                     "PG" if e == "pg" else "SQLite"
                     for e in rd["order"][wl])) for wl in WORKLOADS)))
    w("")
    w("Each round: the HTTP ceiling, then pgbench, then each workload on "
      "both engines (which goes first alternates from workload to workload "
      "and round to round), each on a fresh copy of the generated database "
      "and a fresh server.\n")

    w("### The writer (townhall's `/metrics`)\n")
    w("| workload | engine | commits/s | writes per commit | server main "
      "thread CPU | busiest other thread CPU | PostgreSQL's processes' CPU |")
    w("| --- | --- | --- | --- | --- | --- | --- |")
    for wl in WORKLOADS:
        for e in ENGINES:
            s = S[wl][e]
            w("| %s | %s | %s | %s | %.2f | %.2f | %s |" % (
                wl, ENGINE_NAME[e], fmt_int(s["commits_per_s"])
                if wl != "top20" else "", "%.1f" % (s["per_commit"] or 0)
                if wl != "top20" else "", s["cpu_main"] or 0,
                s["cpu_other"] or 0, "%.2f" % s["pg_cpu"]
                if s.get("pg_cpu") is not None else ""))
    w("")
    w("CPU in cores (1.00 = one core busy) over the run; the server's "
      "busiest other thread is the writer for the writes. This machine has "
      "%s cores, shared by wrk, the server and PostgreSQL.\n" %
      R["machine"]["cores"])

    w("## Checks\n")
    w("Committed rows counted once the writer is idle (`SELECT count(*)`: "
      "psql on PostgreSQL, sqlite3 on SQLite): every 201 must be a committed "
      "row, and committed − acknowledged must not exceed the requests in "
      "flight when wrk stopped. pgbench: every transaction it reports as "
      "processed must be a `pgbench_history` row.\n")
    w("| run | 201s | rows committed | in flight | non-2xx | check |")
    w("| --- | --- | --- | --- | --- | --- |")
    for rd in R["rounds"]:
        for wl in ("votes", "feedback"):
            for e in ENGINES:
                r = rd[wl][e]
                w("| round %d, %s, %s | %s | %s | %d | %d | %s |" % (
                    rd["round"], wl, ENGINE_NAME[e],
                    fmt_int(r["acknowledged"]), fmt_int(r["committed"]),
                    r["in_flight"], r["non2xx"],
                    "ok" if r["rows_ok"] else "**MISMATCH**"))
        p = rd["pgbench"]
        w("| round %d, pgbench | %s processed | %s | | | %s |" % (
            rd["round"], fmt_int(p.get("processed")),
            fmt_int(p.get("committed")),
            "ok" if p.get("rows_ok") else "**MISMATCH**"))
    w("")
    if problems:
        w("**Problems:**\n")
        for p in problems:
            w("- %s" % p)
        if any(p.startswith("ERROR in the ceiling") for p in problems):
            w("\n" + bench.CEILING_ERROR_TEXT)
        w("")
    else:
        w("No figure is above its round's HTTP ceiling, every answer was "
          "2xx, and every run's committed rows match.\n")

    if R.get("profiles"):
        w("## Profiles\n")
        w("`perf record -e cpu-clock --call-graph dwarf` on the townhall "
          "server (PostgreSQL) during one more run of each write workload, "
          "then `perf trace -s` (its system calls per thread, with perf "
          "record again) during another (summaries in `bench/profile/`; "
          "perf slows the server, perf trace by far the most):\n")
        for name, r in R["profiles"]:
            w("- `bench/profile/%s.txt`: %s req/s while profiled" % (
                name, fmt_int(r["rps"])))
        w("")

    w("## The machine and the run\n")
    fs, fe = R["fsync_start"], R["fsync_end"]
    w("| | |\n| --- | --- |")
    w("| CPU | %s (%s cores; hypervisor: %s) |" % (
        M.get("cpu") or M.get("lscpu Model name", "?"), M["cores"],
        M.get("hypervisor", "?")))
    w("| RAM | %s GiB |" % M.get("ram_gib"))
    w("| OS, kernel | %s, %s |" % (M["os"], M["kernel"]))
    w("| disk (cluster and SQLite files) | %s |" % R["disk"])
    w("| fdatasync of 4 KiB there (%d tries, at start / at end) | p50 %.2f / "
      "%.2f ms, p99 %.2f / %.2f ms: the floor under every durable commit |"
      % (fs["n"], fs["p50_ms"], fe["p50_ms"], fs["p99_ms"], fe["p99_ms"]))
    w("| load average at start / end | %s / %s |" % (
        " ".join(R["loadavg_start"]), " ".join(R["loadavg_end"])))
    w("| busy processes at start (CPU over 2 s) | %s |" % (
        "; ".join("%s %.0f%%" % (cmd, 100 * share)
                  for share, pid, cmd in R["busy_start"]) or "none above 3%"))
    w("| busy processes at end | %s |" % (
        "; ".join("%s %.0f%%" % (cmd, 100 * share)
                  for share, pid, cmd in R["busy_end"]) or "none above 3%"))
    if A.get("note"):
        w("| what else was running (said by whoever ran it) | %s |" %
          A["note"])
    w("| PostgreSQL | %s (a throwaway cluster, `tests/pg/cluster.py`: Unix "
      "socket only); %s |" % (R["pg_version"], ", ".join(
          "%s = %s" % kv for kv in R["pg_settings"].items())))
    w("| SQLite | the library's defaults (`synchronous=FULL`, WAL) |")
    w("| townhall | source %s; `townhall serve` with %s (a load test from "
      "one address), one loop, a 2xx only after the commit |" % (
          R["source"], " ".join("`%s`" % o for o in R["serve_options"])))
    w("| load | `wrk -t%d -c%d -d%ds --latency` on loopback; pgbench `-b "
      "simple-update -c %d -j %d -T %d`, scale %d |" % (
          A["threads"], A["connections"], A["duration"], A["connections"],
          A["threads"], A["duration"], A["pg_scale"]))
    w("| fixtures | `bench/gen` (C API) made each engine's database once "
      "(one site, 1,000 ideas); each round copies it: `CREATE DATABASE ... "
      "TEMPLATE` on PostgreSQL, a file copy on SQLite (and the key file) |")
    w("")
    w("## Reproducing\n")
    w("```\n%s\n```\n" % R["command"])
    w("This run took %.0f minutes%s. Raw figures: `%s`; wrk output: `%s`."
      % (R["elapsed_min"], " (%.0f of them waiting for a quiet machine)" %
         R["waited_min"] if R.get("waited_min", 0) >= 0.5 else "", R["json"],
         R["logdir"]))
    return "\n".join(L) + "\n"


def main(args, ap):
    if args.quick:
        if args.rounds == ap.get_default("rounds"):
            args.rounds = 1
        if args.duration == ap.get_default("duration"):
            args.duration = 3
    if args.rounds < 1 or args.duration < 1:
        ap.error("--rounds and --duration must be at least 1")
    for tool in ("wrk", "cc", "pkg-config", "psql"):
        if shutil.which(tool) is None:
            sys.exit("bench: %s is needed (scripts/deps; apt-get install "
                     "wrk)" % tool)
    bench.args_threads[0] = args.threads
    pgb = pgbench_ceiling()
    out_md = args.output or os.path.join(HERE, "results-postgresql.md")

    base = os.path.abspath(args.work)
    work = os.path.join(base, "postgresql")
    # Only what this engine's run makes is removed, not WORK itself.
    if os.path.exists(os.path.join(work, "cluster")):
        try:
            Cluster.attach(os.path.join(work, "cluster")).stop()
        except ClusterError:
            pass
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    if os.geteuid() == 0:
        # The postgres user must get through to its cluster in WORK.
        for d in (base, work):
            os.chmod(d, os.stat(d).st_mode | 0o111)
    logdir = os.path.join(work, "logs")
    os.makedirs(logdir)
    t_start = time.time()
    R = {"args": dict(vars(args)),
         "command": shlex.join(["bench/run"] + sys.argv[1:]),
         "json": os.path.join(work, "results.json"), "logdir": logdir,
         "rounds": []}
    tools = bench.build_all(args, base)
    R["source"] = bench.source_version(bench.source_of(tools["build"]))
    if args.wait_load:
        t = time.time()
        wait_for_quiet(args.wait_load, 30)
        R["waited_min"] = (time.time() - t) / 60
    R["date"] = datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%d %H:%M")
    R["machine"] = bench.machine()
    R["loadavg_start"] = R["machine"]["loadavg_start"]
    R["busy_start"] = busy_processes()
    R["disk"] = bench.disk_of(work)
    R["fsync_start"] = bench.fsync_probe(work)
    secret = os.path.join(work, "secret")
    with open(secret, "w") as f:
        f.write(os.urandom(36).hex())
    os.chmod(secret, 0o600)

    sqlite_pristine = os.path.join(work, "sqlite-pristine.db")
    bench.gen(tools, sqlite_pristine, secret, 1000)
    opts = bench.load_test_options(tools)
    R["serve_options"] = opts
    pg = ceiling = None
    servers = []
    tokdir = os.path.join(work, "tokens")
    ntok = int(args.duration * 40000 / args.threads) + 1000

    def stop_servers():
        while servers:
            s = servers.pop()
            errs = s.stop()
            if errs:
                log("server errors (%s):" % s.name, "".join(errs[:5]))

    try:
        pg = PgSide(args, tools, work, secret, pgb)
        R["pg_version"], R["pg_settings"] = pg.version, pg.settings
        ceiling = bench.Ceiling(tools, args.ceiling)
        cu = "http://127.0.0.1:%d/" % ceiling.port
        for rnd in range(1, args.rounds + 1):
            log("round %d of %d" % (rnd, args.rounds))
            shutil.rmtree(tokdir, ignore_errors=True)
            bench.make_tokens(tools, secret, "r%d" % rnd, ntok, tokdir)
            rd = {"round": rnd, "order": {}}
            rd["ceiling"] = slim(bench.wrk(args, cu, "get.lua",
                                           pid=ceiling.pid, logdir=logdir,
                                           tag="r%d-ceiling" % rnd))
            rd["pgbench"] = pg.pgbench_round(rnd)
            log("round %d: ceiling %.0f req/s, pgbench %s tps" % (
                rnd, rd["ceiling"]["rps"], rd["pgbench"].get("tps")))
            uri, key = pg.fresh("bench_r%d" % rnd)
            srv_pg = bench.Server(tools, uri, opts + ["--key-file", key],
                                  name="postgresql")
            servers.append(srv_pg)
            db = os.path.join(work, "sqlite-r%d.db" % rnd)
            bench.copy_db(sqlite_pristine, db)
            srv_sq = bench.Server(tools, db, opts, name="sqlite")
            servers.append(srv_sq)
            side = {"pg": (srv_pg, uri, pg.counter(uri)),
                    "sqlite": (srv_sq, db, None)}
            for s in (srv_pg, srv_sq):
                warm(s)
            for i, wl in enumerate(WORKLOADS):
                order = ENGINES if (rnd - 1 + i) % 2 == 0 else ENGINES[::-1]
                rd["order"][wl] = order
                rd[wl] = {}
                for e in order:
                    srv, db_, counter = side[e]
                    pm = pg.cluster.postmaster_pid()
                    t0, k0 = time.time(), tree_ticks(pm)
                    r = slim(run_workload(
                        args, wl, srv, db_, counter, tokdir, logdir,
                        "r%d-%s-%s" % (rnd, e, wl), "%s%d" % (e, rnd)))
                    if e == "pg":
                        # Cores PostgreSQL's processes used meanwhile (the
                        # row count after the run included).
                        r["pg_cpu"] = round((tree_ticks(pm) - k0) /
                                            os.sysconf("SC_CLK_TCK") /
                                            (time.time() - t0), 2)
                    rd[wl][e] = r
                    log("round %d %s on %s: %.0f req/s (%.2f× pgbench)" % (
                        rnd, wl, ENGINE_NAME[e], r["rps"],
                        r["rps"] / (rd["pgbench"].get("tps") or 1)))
            stop_servers()
            R["rounds"].append(rd)

        R["profiles"] = []
        if not args.no_profile:
            if bench.perf_ok():
                uri, key = pg.fresh("bench_profile")
                srv = bench.Server(tools, uri, opts + ["--key-file", key],
                                   name="postgresql-profile")
                servers.append(srv)
                for d in (tokdir, tokdir + "-2"):
                    shutil.rmtree(d, ignore_errors=True)
                bench.make_tokens(tools, secret, "p", ntok, tokdir)
                url = "http://127.0.0.1:%d" % srv.port
                # CPU first (perf record alone), then the system calls
                # (perf trace -s, which slows each of them: its run's
                # rate is far lower), each with residents and answers new
                # to the database.
                for name, trace, script, sargs in (
                        ("pg-votes", False, "vote.lua",
                         (bench.SITE, tokdir, 1000, 1, 1)),
                        ("pg-feedback", False, "feedback.lua",
                         (bench.SITE, 500, "p")),
                        ("pg-votes-syscalls", True, "vote.lua",
                         (bench.SITE, tokdir + "-2", 1000, 1, 1)),
                        ("pg-feedback-syscalls", True, "feedback.lua",
                         (bench.SITE, 500, "p2"))):
                    if trace and not os.path.exists(tokdir + "-2"):
                        bench.make_tokens(tools, secret, "p2", ntok,
                                          tokdir + "-2")
                    log("profiling", name)
                    R["profiles"].append((name, bench.profile(
                        args, srv, name, url, script, sargs, work,
                        trace=trace)))
                stop_servers()
            else:
                log("perf cannot record here: no profiles")
    finally:
        stop_servers()
        if ceiling:
            ceiling.stop()
        if pg:
            pg.stop()
    R["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    R["busy_end"] = busy_processes()
    R["fsync_end"] = bench.fsync_probe(work)
    R["elapsed_min"] = (time.time() - t_start) / 60
    S, problems = summarize(R)
    R["summary"], R["problems"] = S, problems
    with open(R["json"], "w") as f:
        json.dump(R, f, indent=1, default=str)
    text = markdown(R, S, problems)
    # A hand-written analysis at the end of the file (where the time goes,
    # from the profiles) is kept below the figures it was written about;
    # its text says which run that was.
    try:
        with open(out_md) as f:
            old = f.read()
        if HAND in old:
            text += "\n" + old[old.index(HAND):]
    except OSError:
        pass
    with open(out_md, "w") as f:
        f.write(text)
    log("wrote %s in %.1f min" % (out_md, R["elapsed_min"]))
    for p in problems:
        log(p)
    return 3 if problems else 0
