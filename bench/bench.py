#!/usr/bin/env python3
"""townhall's benchmark: builds, measures, writes bench/results.md.

Run it through bench/run (see bench/README.md for what each figure means).
Standard library only. Every HTTP figure is measured in rounds; each round
measures the ceiling (a minimal libuv + llhttp server, bench/ceiling.c)
with the same load generator just before the workloads, and the results
give medians over rounds and each workload's ratio to its own round's
ceiling: the machine this runs on is shared and noisy.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(HERE)
LUA = os.path.join(HERE, "lua")
SITE = "bench"

# Full scale asked for by issue 7.
FULL = {"ideas": 1_000_000, "votes": 10_000_000, "feedback": 10_000_000}


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr,
          flush=True)


def sh(cmd, **kw):
    log("$", " ".join(cmd) if isinstance(cmd, list) else cmd)
    return subprocess.run(cmd, check=True, **kw)


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---- machine -----------------------------------------------------------------

def machine():
    m = {}
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                m["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for key in ("Model name", "Vendor ID", "CPU family", "Model"):
            mm = re.search(r"^%s:\s+(.*)$" % key, out, re.M)
            if mm:
                m["lscpu " + key] = mm.group(1).strip()
        mm = re.search(r"^Hypervisor vendor:\s+(.*)$", out, re.M)
        m["hypervisor"] = mm.group(1).strip() if mm else (
            "yes (cpu flag)" if "hypervisor" in open("/proc/cpuinfo").read()
            else "none seen")
    except (OSError, FileNotFoundError):
        pass
    m["cores"] = os.cpu_count()
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            m["ram_gib"] = round(int(line.split()[1]) / 1048576, 1)
    m["kernel"] = platform.release()
    try:
        m["os"] = re.search(r'PRETTY_NAME="(.*)"',
                            open("/etc/os-release").read()).group(1)
    except (OSError, AttributeError):
        m["os"] = platform.platform()
    m["loadavg_start"] = open("/proc/loadavg").read().split()[:3]
    return m


def disk_of(path):
    """The block device under `path` and what the kernel says about it."""
    try:
        dev = os.stat(path).st_dev
        major, minor = os.major(dev), os.minor(dev)
        sysdir = "/sys/dev/block/%d:%d" % (major, minor)
        name = os.path.basename(os.path.realpath(sysdir))
        parent = os.path.realpath(os.path.join(sysdir, ".."))
        base = name if os.path.exists(
            "/sys/block/%s" % name) else os.path.basename(parent)
        rot = open("/sys/block/%s/queue/rotational" % base).read().strip()
        model = ""
        for f in ("device/model", "device/vendor"):
            p = "/sys/block/%s/%s" % (base, f)
            if os.path.exists(p):
                model += open(p).read().strip() + " "
        kind = "virtio disk (a VM's: what is behind it is not visible)" \
            if base.startswith("vd") else (
                "NVMe SSD" if base.startswith("nvme") else
                ("rotational" if rot == "1" else "SSD"))
        fs = ""
        for line in open("/proc/mounts"):
            parts = line.split()
            if parts[1] == "/" or path.startswith(parts[1]):
                if len(parts[1]) >= len(fs.split(" ")[0] if fs else ""):
                    fs = "%s %s" % (parts[1], parts[2])
        return "/dev/%s: %s, rotational=%s %s(filesystem %s)" % (
            base, kind, rot, model, fs.split(" ")[-1] if fs else "?")
    except (OSError, ValueError):
        return "unknown"


def versions(build):
    v = {}
    for name, cmd in (("wrk", ["wrk", "-v"]), ("perf", ["perf", "--version"]),
                      ("cc", ["cc", "--version"])):
        try:
            out = subprocess.run(cmd, capture_output=True, text=True)
            v[name] = (out.stdout + out.stderr).splitlines()[0].strip()
        except (OSError, IndexError):
            v[name] = "absent"
    for pkg in ("libuv1", "libsqlite3-0", "libsodium23", "libjansson4",
                "node-llhttp"):
        out = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", pkg],
                             capture_output=True, text=True)
        v[pkg] = out.stdout.strip() or "?"
    v["source"] = source_version(source_of(build))
    return v


def source_version(src):
    """The commit a source tree is at, and whether it has uncommitted
    changes."""
    try:
        head = subprocess.run(["git", "-C", src, "rev-parse", "--short",
                               "HEAD"], capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", src, "status", "--porcelain",
                                "--untracked-files=no"],
                               capture_output=True, text=True).stdout
        return (head or "?") + (" + uncommitted changes in %d files" %
                                len(dirty.splitlines()) if dirty.strip()
                                else "")
    except OSError:
        return "?"


# ---- building ----------------------------------------------------------------

def build_all(args, work):
    build = args.build
    if build:
        build = check_build(build)
    else:
        build = os.path.join(work, "build")
        os.makedirs(build, exist_ok=True)
        if not os.access(os.path.join(SRC, "configure"), os.X_OK):
            sh(["autoreconf", "-fi"], cwd=SRC)
        if not os.path.exists(os.path.join(build, "Makefile")):
            sh([os.path.join(SRC, "configure"), "-q", "CFLAGS=-O2 -g"],
               cwd=build)
        sh(["make", "-j%d" % (os.cpu_count() or 2)], cwd=build,
           stdout=subprocess.DEVNULL)
    bin_ = os.path.join(work, "bin")
    tools = build_tools(build, bin_)
    build_ceiling(build, bin_)
    build_jwt(bin_)
    return tools


def check_build(build):
    """The absolute path of an existing build tree, or exit."""
    build = os.path.abspath(build)
    if not os.path.exists(os.path.join(build, ".libs", "townhall")):
        sys.exit("bench: %s is not a built townhall tree (no .libs/townhall)"
                 % build)
    return build


def source_of(build):
    """The source tree a build directory was configured from (its
    Makefile's abs_top_srcdir): the headers its library was built with."""
    try:
        with open(os.path.join(build, "Makefile")) as f:
            m = re.search(r"^abs_top_srcdir\s*=\s*(\S+)", f.read(), re.M)
        if m and os.path.isdir(os.path.join(m.group(1), "core")):
            return m.group(1)
    except OSError:
        pass
    return SRC


def pkg_flags(name):
    return subprocess.run(["pkg-config", "--cflags", "--libs", name],
                          capture_output=True, text=True,
                          check=True).stdout.split()


CFLAGS = ["-O2", "-g", "-Wall", "-Wextra"]


def build_ceiling(build, bin_):
    """bin_/ceiling from ceiling.c and the llhttp sources the build links,
    compiled with the same flags as the library's build (-O2, strict
    mode). ceiling.c itself is C11 and warning-free (-Werror)."""
    llhttp = os.path.join(build, "llhttp")
    for f in ("llhttp.c", "api.c", "http.c", "llhttp.h"):
        if not os.path.exists(os.path.join(llhttp, f)):
            sys.exit("bench: %s/%s is missing: the ceiling is built from the "
                     "llhttp sources the library links" % (llhttp, f))
    os.makedirs(bin_, exist_ok=True)
    objs = []
    for f in ("llhttp.c", "api.c", "http.c"):
        o = os.path.join(bin_, "llhttp-" + f.replace(".c", ".o"))
        sh(["cc", "-O2", "-g", "-DLLHTTP_STRICT_MODE=1", "-I" + llhttp, "-c",
            "-o", o, os.path.join(llhttp, f)])
        objs.append(o)
    sh(["cc", "-std=c11", "-Werror"] + CFLAGS +
       ["-I" + llhttp, "-o", os.path.join(bin_, "ceiling"),
        os.path.join(HERE, "ceiling.c")] + objs + pkg_flags("libuv"))


def build_jwt(bin_):
    os.makedirs(bin_, exist_ok=True)
    sh(["cc"] + CFLAGS + ["-o", os.path.join(bin_, "jwt"),
                          os.path.join(HERE, "jwt.c")] + pkg_flags("libsodium"))


def build_tools(build, bin_, names=("gen", "inproc")):
    """bin_/gen and bin_/inproc, compiled against the build's own headers
    and linked with its libtownhall (so that the fixtures a build serves
    are made by its own library and schema). Returns the tools dict the
    rest of this file takes."""
    libs = os.path.join(build, "core", ".libs")
    os.makedirs(bin_, exist_ok=True)
    src = source_of(build)
    inc = os.path.join(src, "core")
    for tool in names:
        # The tool's source from the build's own tree when it has one: an
        # older build's headers may lack what today's tool calls (a sized
        # struct, a new function), and its own tool speaks its own API.
        c = os.path.join(src, "bench", tool + ".c")
        if not os.path.exists(c):
            c = os.path.join(HERE, tool + ".c")
        sh(["cc"] + CFLAGS + ["-I" + inc, "-o", os.path.join(bin_, tool),
                              c, "-L" + libs,
                              "-ltownhall", "-Wl,-rpath," + libs] +
           pkg_flags("libuv"))
    return {"build": build, "libs": libs, "bin": bin_,
            "townhall": os.path.join(build, ".libs", "townhall")}


# ---- processes ----------------------------------------------------------------

def proc_rss_kib(pid):
    try:
        for line in open("/proc/%d/status" % pid):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_wchar(pid):
    """Bytes the process has handed to write(2) and friends (/proc/PID/io):
    WAL frames, checkpoints, socket writes."""
    try:
        for line in open("/proc/%d/io" % pid):
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_minflt(pid):
    """Minor page faults of the whole process so far (/proc/PID/stat): a
    server that frees and re-grows its heap per request shows about one per
    request (glibc trimming the heap top), one that reuses its buffers
    almost none."""
    try:
        s = open("/proc/%d/stat" % pid).read()
        return int(s[s.rindex(")") + 2:].split()[7])
    except (OSError, ValueError, IndexError):
        return None


def thread_ticks(pid):
    """{tid: (name, utime + stime ticks)} for every thread of pid."""
    out = {}
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                s = open("/proc/%d/task/%s/stat" % (pid, tid)).read()
            except OSError:
                continue
            name = s[s.index("(") + 1:s.rindex(")")]
            f = s[s.rindex(")") + 2:].split()
            out[int(tid)] = (name, int(f[11]) + int(f[12]))
    except OSError:
        pass
    return out


LOAD_TEST_LIMIT = "100000000"
_usage_cache = {}


def usage_text(tools):
    """What `townhall` prints with no arguments (its usage, on stderr)."""
    exe = tools["townhall"]
    if exe not in _usage_cache:
        env = dict(os.environ, LD_LIBRARY_PATH=tools["libs"])
        out = subprocess.run([exe], capture_output=True, text=True, env=env,
                             timeout=30)
        _usage_cache[exe] = out.stdout + out.stderr
    return _usage_cache[exe]


def load_test_options(tools):
    """The server options of an operator's load test from one address
    (127.0.0.1): every rate limit the build knows, raised out of the way.
    `--rate-limit` is in every build; `--rate-limit-page` (new answers per
    address prefix per page per hour) only in newer ones, so it is passed
    only if this build's usage text names it: an older build would refuse
    the unknown option, and A/B runs start old and new builds alike."""
    opts = ["--rate-limit", LOAD_TEST_LIMIT]
    if "--rate-limit-page" in usage_text(tools):
        opts += ["--rate-limit-page", LOAD_TEST_LIMIT]
    return opts


class Server:
    """`townhall serve` on a free loopback port (the real binary, not the
    libtool wrapper, so that the pid is the server's own)."""

    def __init__(self, tools, db, extra=(), name="server"):
        self.name = name
        env = dict(os.environ, LD_LIBRARY_PATH=tools["libs"])
        cmd = [tools["townhall"], "serve", "--db", db, "--listen",
               "127.0.0.1:0", "--log-level", "info", "--purge-interval", "-1"]
        cmd += list(extra)
        self.cmd = cmd
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.lines = []
        self.port = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.lines.append(line)
            m = re.search(r'"msg":"listening".*"port":(\d+)', line)
            if m:
                self.port = int(m.group(1))
                break
        if self.port is None:
            self.proc.kill()
            raise RuntimeError("%s did not start: %s" % (name,
                                                         "".join(self.lines)))
        threading.Thread(target=self._drain, daemon=True).start()
        self.pid = self.proc.pid

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        errors = [l for l in self.lines if '"level":"error"' in l]
        return errors


CEILING_MODES = ("batch", "per-answer")


class Ceiling:
    """bench/ceiling.c on a free loopback port. mode: "batch" (all the
    answers of one read in one uv_write, as townhall's server does) or
    "per-answer" (one uv_write per answer)."""

    def __init__(self, tools, mode="batch"):
        self.mode = mode
        self.proc = subprocess.Popen([os.path.join(tools["bin"], "ceiling"),
                                      "0", mode], stdout=subprocess.PIPE,
                                     text=True)
        self.port = int(self.proc.stdout.readline())
        self.pid = self.proc.pid

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Sampler:
    """Samples a process's RSS and its threads' CPU while a load runs."""

    def __init__(self, pid):
        self.pid = pid
        self.max_rss = 0
        self.stop_ev = threading.Event()
        self.t0 = time.time()
        self.ticks0 = thread_ticks(pid)
        self.wchar0 = proc_wchar(pid)
        self.minflt0 = proc_minflt(pid)
        self.th = threading.Thread(target=self._run, daemon=True)
        self.th.start()

    def _run(self):
        while not self.stop_ev.is_set():
            r = proc_rss_kib(self.pid)
            if r and r > self.max_rss:
                self.max_rss = r
            self.stop_ev.wait(0.1)

    def stop(self):
        self.stop_ev.set()
        self.th.join()
        dt = time.time() - self.t0
        t1 = thread_ticks(self.pid)
        hz = os.sysconf("SC_CLK_TCK")
        main, others = 0.0, []
        for tid, (name, ticks) in t1.items():
            used = (ticks - self.ticks0.get(tid, (name, 0))[1]) / hz / dt
            if tid == self.pid:
                main = used
            elif used >= 0.01:
                others.append(used)
        others.sort(reverse=True)
        w1 = proc_wchar(self.pid)
        f1 = proc_minflt(self.pid)
        return {"max_rss_kib": self.max_rss, "cpu_main": round(main, 2),
                "cpu_other": [round(x, 2) for x in others],
                "wchar": (w1 - self.wchar0) if w1 is not None and
                self.wchar0 is not None else None,
                "minflt": (f1 - self.minflt0) if f1 is not None and
                self.minflt0 is not None else None}


# ---- wrk ------------------------------------------------------------------------

def wrk(args, url, script, script_args=(), pid=None, logdir=None, tag="run"):
    cmd = ["wrk", "-t%d" % args.threads, "-c%d" % args.connections,
           "-d%ds" % args.duration, "--latency", "-s",
           os.path.join(LUA, script), url]
    if script_args:
        cmd += ["--"] + [str(a) for a in script_args]
    sampler = Sampler(pid) if pid else None
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(cmd, capture_output=True, text=True,
                         timeout=args.duration * 3 + 60)
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    samp = sampler.stop() if sampler else {}
    if logdir:
        with open(os.path.join(logdir, tag + ".wrk.txt"), "w") as f:
            f.write(" ".join(cmd) + "\n" + out.stdout + out.stderr)
    m = re.search(r"^BENCH_JSON (\{.*\})$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        raise RuntimeError("wrk failed: %s\n%s" % (out.stdout, out.stderr))
    r = json.loads(m.group(1))
    secs = r["duration_us"] / 1e6
    r["wrk_cpu"] = round((ru1.ru_utime - ru0.ru_utime + ru1.ru_stime -
                          ru0.ru_stime) / secs, 2)
    r.update(samp)
    if r.get("minflt") is not None:
        r["faults_per_req"] = r["minflt"] / max(r["requests"], 1)
    r["errors"] = (r["err_connect"] + r["err_read"] + r["err_write"] +
                   r["err_timeout"])
    # Anything but 2xx: wrk's own count (non-2xx/3xx) plus, for the write
    # scripts, every non-2xx the Lua response() hook saw.
    r["non2xx"] = r["err_status"] + r.get("cother", 0)
    if r.get("cother"):
        log("non-2xx answers:", out.stderr.strip()[:500])
    return r


def count_rows(db, table):
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM %s" % table).fetchone()[0]
    finally:
        con.close()


def settled_count(db, table, counter=None):
    """The row count once the writer has committed what was in flight.
    `counter(table)`, when given, counts instead of SQLite's count_rows
    (bench/pgrun.py counts on PostgreSQL with psql)."""
    count = counter or (lambda t: count_rows(db, t))
    last = None
    for _ in range(50):
        n = count(table)
        if n == last:
            return n
        last = n
        time.sleep(0.3)
    return last


def batch_metrics(port):
    """(writes committed in batches, batches) from the server's /metrics."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/metrics")
    text = c.getresponse().read().decode()
    c.close()
    s = re.search(r"^townhall_write_batch_size_sum (\d+)", text, re.M)
    n = re.search(r"^townhall_write_batch_size_count (\d+)", text, re.M)
    return (int(s.group(1)) if s else 0, int(n.group(1)) if n else 0)


def write_run(args, srv, db, table, script, script_args, logdir, tag,
              counter=None):
    before = counter(table) if counter else count_rows(db, table)
    m0 = batch_metrics(srv.port)
    r = wrk(args, "http://127.0.0.1:%d" % srv.port, script, script_args,
            pid=srv.pid, logdir=logdir, tag=tag)
    after = settled_count(db, table, counter)
    m1 = batch_metrics(srv.port)
    r["commits"] = m1[1] - m0[1]
    r["per_commit"] = (m1[0] - m0[0]) / max(r["commits"], 1)
    r["commits_per_s"] = r["commits"] / (r["duration_us"] / 1e6)
    r["bytes_per_write"] = (r["wchar"] / max(r["sent"], 1)
                            if r.get("wchar") is not None else None)
    r["committed"] = after - before
    r["acknowledged"] = r["c201"]
    # Requests wrk had sent but not seen answered when it stopped: their
    # writes were accepted and commit all the same.
    r["in_flight"] = r["sent"] - (r["c201"] + r["c200"] + r["c2xx"] +
                                  r["cother"])
    r["rows_ok"] = (r["acknowledged"] <= r["committed"] <=
                    r["acknowledged"] + max(r["in_flight"], 0))
    return r


def fsync_probe(directory, n=200):
    """fdatasync latency of a 4 KiB overwrite in the databases' directory:
    the floor under every durable commit on this disk."""
    path = os.path.join(directory, "fsync.probe")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    lat = []
    try:
        for i in range(n):
            os.pwrite(fd, os.urandom(4096), (i % 64) * 4096)
            t = time.perf_counter()
            os.fdatasync(fd)
            lat.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        os.unlink(path)
    lat.sort()
    return {"n": n, "p50_ms": lat[n // 2] * 1e3,
            "p90_ms": lat[int(n * 0.9)] * 1e3,
            "p99_ms": lat[min(int(n * 0.99), n - 1)] * 1e3,
            "max_ms": lat[-1] * 1e3}


def make_tokens(tools, secret, prefix, count, outdir):
    os.makedirs(outdir, exist_ok=True)
    sh([os.path.join(tools["bin"], "jwt"), secret, SITE, prefix, str(
        args_threads[0]), str(count), outdir])


args_threads = [2]


# ---- the database fixtures -------------------------------------------------------

def gen(tools, db, secret, ideas, votes=0, feedback=0, pages=500,
        max_seconds=None):
    for suffix in ("", "-wal", "-shm", ".key", ".key.salts"):
        if os.path.exists(db + suffix):
            os.unlink(db + suffix)
    cmd = [os.path.join(tools["bin"], "gen"), db, "--secret-file", secret,
           "--ideas", str(ideas), "--votes", str(votes), "--feedback",
           str(feedback), "--pages", str(pages)]
    if max_seconds:
        cmd += ["--max-seconds", ",".join(str(int(x)) for x in max_seconds)]
    log("$", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("gen failed: " + out.stderr)
    with open(db + ".gen.log", "w") as f:
        f.write(out.stderr)
    return json.loads(out.stdout)


def copy_db(src, dst):
    """A consistent copy of a database and its key (nothing is running on
    src: gen checkpointed and closed it)."""
    for suffix in ("", ".key", "-wal"):
        if os.path.exists(dst + suffix):
            os.unlink(dst + suffix)
        if os.path.exists(src + suffix):
            shutil.copy2(src + suffix, dst + suffix)


def inproc(tools, db, mode, *extra):
    cmd = [os.path.join(tools["bin"], "inproc"), db, mode] + [str(e)
                                                              for e in extra]
    log("$", " ".join(cmd))
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("inproc failed: " + out.stderr)
    return json.loads(out.stdout)


# ---- memory ------------------------------------------------------------------------

def idle_connections(port, n):
    """Opens n keep-alive connections, each asking GET /healthz once, and
    returns them still open (the caller closes them)."""
    socks = []
    req = b"GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n"
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(req)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("connection %d closed early" % i)
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError("connection %d: %r" % (i, head[:80]))
        m = re.search(rb"content-length:\s*(\d+)", head, re.I)
        need = int(m.group(1)) if m else 0
        while len(body) < need:
            body += s.recv(4096)
        socks.append(s)
    return socks


def memory(args, tools, empty_db, work):
    db = os.path.join(work, "memory.db")
    copy_db(empty_db, db)
    res = {}
    srv = Server(tools, db, ["--idle-timeout", "600000", "--max-connections",
                             str(args.idle_conns * 2)] +
                 load_test_options(tools), name="memory")
    try:
        time.sleep(1.0)
        res["idle_fresh_kib"] = proc_rss_kib(srv.pid)
        # A few requests of every kind, then idle again.
        for path in ("/healthz", "/widget.js",
                     "/v1/sites/%s/ideas?sort=top&limit=20" % SITE):
            c = socket.create_connection(("127.0.0.1", srv.port))
            c.sendall(("GET %s HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n"
                       % path).encode())
            while c.recv(65536):
                pass
            c.close()
        time.sleep(0.5)
        res["idle_warm_kib"] = proc_rss_kib(srv.pid)
        t0 = time.time()
        socks = idle_connections(srv.port, args.idle_conns)
        res["open_s"] = round(time.time() - t0, 2)
        time.sleep(1.0)
        res["conns"] = len(socks)
        res["with_conns_kib"] = proc_rss_kib(srv.pid)
        for s in socks:
            s.close()
        time.sleep(1.5)
        res["after_close_kib"] = proc_rss_kib(srv.pid)
    finally:
        srv.stop()
    res["per_conn_bytes"] = round((res["with_conns_kib"] -
                                   res["idle_warm_kib"]) * 1024 /
                                  max(res["conns"], 1))
    return res


# ---- profiles -----------------------------------------------------------------------

def perf_ok():
    try:
        out = subprocess.run(["perf", "record", "-e", "cpu-clock", "-o",
                              "/dev/null", "--", "true"],
                             capture_output=True, text=True)
        return out.returncode == 0
    except OSError:
        return False


def profile(args, srv, name, url, script, script_args, work, trace=None):
    """perf record of the server while wrk runs; writes a summary to
    bench/profile/NAME.txt. `trace`: also perf trace -s (default: for the
    write scripts; it slows every system call, so bench/pgrun.py records
    the CPU profile and the system calls in two runs)."""
    if trace is None:
        trace = script != "get.lua"
    data = os.path.join(work, "perf-%s.data" % name)
    secs = args.duration
    rec = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "499",
                            "--call-graph", "dwarf,8192", "-p",
                            str(srv.pid), "-o", data, "--", "sleep",
                            str(secs)], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    # For the writes, where the server mostly waits rather than computes,
    # also the system calls' counts and times per thread (perf trace -s):
    # the writer's fdatasync and WAL pwrites, which a CPU profile misses.
    tfile = os.path.join(work, "trace-%s.txt" % name)
    tr = None
    if trace:
        tr = subprocess.Popen(["perf", "trace", "-s", "-p", str(srv.pid),
                               "-o", tfile, "--", "sleep", str(secs)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        m0 = batch_metrics(srv.port)
    time.sleep(0.3)
    r = wrk(args, url, script, script_args, pid=srv.pid)
    rec.wait()
    trace = ""
    if tr:
        tr.wait()
        m1 = batch_metrics(srv.port)
        commits = m1[1] - m0[1]
        try:
            with open(tfile) as f:
                trace = f.read().strip()
            os.unlink(tfile)
        except OSError:
            trace = "(perf trace recorded nothing)"
        trace = ("%d writes in %d commits (%.1f per commit) during the "
                 "trace\n\n" % (m1[0] - m0[0], commits,
                                  (m1[0] - m0[0]) / max(commits, 1))
                 + trace)

    def report(*opts):
        out = subprocess.run(["perf", "report", "-i", data, "--stdio"] +
                             list(opts), capture_output=True, text=True)
        return "\n".join(l for l in out.stdout.splitlines()
                         if l.strip() and not l.startswith("#"))

    flat = report("--no-children", "--sort", "dso,sym", "-g", "none",
                  "--percent-limit", "0.8")
    incl = report("--children", "--sort", "sym", "-g", "none",
                  "--percent-limit", "1.5")
    threads = report("--no-children", "--sort", "pid", "-g", "none")
    os.makedirs(os.path.join(HERE, "profile"), exist_ok=True)
    with open(os.path.join(HERE, "profile", name + ".txt"), "w") as f:
        f.write("# perf record -e cpu-clock -F 499 --call-graph dwarf -p "
                "<server> during: wrk -t%d -c%d -d%ds %s %s\n"
                % (args.threads, args.connections, args.duration, script,
                   " ".join(map(str, script_args))))
        f.write("# %s: %.0f req/s while profiled (perf slows it), server "
                "threads' CPU: main %.2f, others %s; wrk %.2f cores\n\n"
                % (name, r["rps"], r.get("cpu_main", 0),
                   r.get("cpu_other", []), r.get("wrk_cpu", 0)))
        f.write("## samples by thread (main = the loop; the other busy one "
                "is the writer)\n\n" + threads + "\n\n")
        f.write("## self time by function (>= 0.8%)\n\n" + flat + "\n\n")
        f.write("## inclusive time (children included, >= 1.5%)\n\n" + incl
                + "\n")
        if trace:
            f.write("\n## system calls per thread (perf trace -s, same run)"
                    "\n\n" + trace + "\n")
    os.unlink(data)
    return r


# ---- report ---------------------------------------------------------------------------

def fmt_int(x):
    return "—" if x is None else "{:,.0f}".format(x)


def fmt_ms(us):
    return "—" if us is None else "%.2f" % (us / 1000.0)


def fmt_mib(kib):
    return "—" if kib is None else "%.1f" % (kib / 1024.0)


def summarize(runs, ceilings):
    """Medians over rounds of a list of per-round wrk results; `ceilings` is
    the list of the same rounds' ceiling results (for the ratio)."""
    if not runs:
        return None
    s = {k: median([r.get(k) for r in runs])
         for k in ("rps", "p50_us", "p99_us", "p999_us", "max_us", "wrk_cpu",
                   "cpu_main")}
    s["ratio"] = median([r["rps"] / c["rps"] for r, c in zip(runs, ceilings)
                         if c and c["rps"]])
    s["non2xx"] = sum(r["non2xx"] for r in runs)
    s["errors"] = sum(r["errors"] for r in runs)
    s["requests"] = sum(r["requests"] for r in runs)
    s["max_rss_kib"] = max(r.get("max_rss_kib", 0) for r in runs)
    s["cpu_other"] = median([(r.get("cpu_other") or [0])[0] for r in runs])
    s["n"] = len(runs)
    s["all_rps"] = [round(r["rps"]) for r in runs]
    s["faults_per_req"] = median([r.get("faults_per_req") for r in runs])
    return s


def above_ceiling(label, run, ceiling, against="the ceiling"):
    """An error record if a workload's figure is above the ceiling measured
    in the same round, else None. The ceiling is the least an HTTP server on
    libuv + llhttp can do for a request: a server doing more per request
    cannot answer faster, so a figure above it means the ceiling is wrong
    (it pays for something a real minimum does not, such as the page fault
    per request of bench/ceiling.c before issue 13, or the machine's other
    work fell on the ceiling's run), and every ratio to it with it."""
    if not run or not ceiling or not ceiling.get("rps"):
        return None
    if run["rps"] <= ceiling["rps"]:
        return None
    return {"what": label, "rps": run["rps"], "ceiling_rps": ceiling["rps"],
            "ratio": run["rps"] / ceiling["rps"], "against": against}


def ceiling_errors(per):
    """Every figure of bench/run's HTTP rounds above its round's ceiling:
    the plain ceiling (GET) for every workload, and for the writes also the
    ceiling answering the same wrk script (what wrk itself can send with
    that script's Lua hooks)."""
    errs = []
    own = {"votes": ("ceiling_vote", "the ceiling answering vote.lua"),
           "feedback": ("ceiling_feedback",
                        "the ceiling answering feedback.lua")}
    for side in ("empty", "scale"):
        for k, runs in per[side].items():
            for i, r in enumerate(runs):
                label = "round %d, %s, %s" % (i + 1, side, k)
                checks = [(per["ceiling"], "the ceiling")]
                if k in own and per.get(own[k][0]):
                    checks.append((per[own[k][0]], own[k][1]))
                for ceil, against in checks:
                    e = above_ceiling(label, r, ceil[i] if i < len(ceil)
                                      else None, against)
                    if e:
                        errs.append(e)
    return errs


CEILING_ERROR_TEXT = (
    "A figure above the ceiling of its own round means the ceiling is "
    "wrong, not that townhall beat it: the ceiling is the least an HTTP "
    "server on libuv + llhttp can do per request, so whatever slowed it "
    "(something it pays per request that a minimum does not, or the "
    "machine's other work falling on its run) makes every ratio to it "
    "wrong too. Fix or re-measure the ceiling before quoting any ratio.")


def target_rows(R):
    rows = []
    E = R["http"]["empty"]

    def verdict(ok, text):
        return ("**met**" if ok else "**missed**"), text

    def ratio_verdict(ratio, target):
        if ratio > 1:
            return ("**invalid**", "above the ceiling: an error in the "
                    "ceiling (see *Ceiling check*)")
        return verdict(ratio >= target, "%.1f× short" % (target / ratio)
                       if ratio < target else "+%.1f points" %
                       (100 * (ratio - target)))

    v = E.get("votes")
    if v:
        ok_r, ok_l = v["rps"] >= 12000, v["p99_us"] <= 25000
        rows.append(("votes over HTTP", "≥ 12,000/s, p99 ≤ 25 ms",
                     "%s/s, p99 %s ms" % (fmt_int(v["rps"]),
                                          fmt_ms(v["p99_us"])),
                     *verdict(ok_r and ok_l, "; ".join(filter(None, [
                         "rate %.0f%% of the target (%.1f× short)" %
                         (100 * v["rps"] / 12000, 12000 / v["rps"])
                         if not ok_r else "rate +%.0f%%" %
                         (100 * (v["rps"] / 12000 - 1)),
                         "p99 %.1f× the limit" % (v["p99_us"] / 25000)
                         if not ok_l else "p99 within"])))))
    f = E.get("feedback")
    if f:
        ok_r, ok_l = f["rps"] >= 15000, f["p99_us"] <= 25000
        rows.append(("feedback over HTTP", "≥ 15,000/s, p99 ≤ 25 ms",
                     "%s/s, p99 %s ms" % (fmt_int(f["rps"]),
                                          fmt_ms(f["p99_us"])),
                     *verdict(ok_r and ok_l, "; ".join(filter(None, [
                         "rate %.0f%% of the target (%.1f× short)" %
                         (100 * f["rps"] / 15000, 15000 / f["rps"])
                         if not ok_r else "rate +%.0f%%" %
                         (100 * (f["rps"] / 15000 - 1)),
                         "p99 %.1f× the limit" % (f["p99_us"] / 25000)
                         if not ok_l else "p99 within"])))))
    t = E.get("top20")
    if t:
        rows.append(("top-20 ideas over HTTP", "≥ 55% of the ceiling",
                     "%.1f%% (%s/s)" % (100 * t["ratio"], fmt_int(t["rps"])),
                     *ratio_verdict(t["ratio"], 0.55)))
    w = E.get("widget")
    if w:
        rows.append(("widget.js", "≥ 70% of the ceiling",
                     "%.1f%% (%s/s)" % (100 * w["ratio"], fmt_int(w["rps"])),
                     *ratio_verdict(w["ratio"], 0.70)))
    S = R["http"].get("scale", {})
    if S.get("votes") and v:
        ratio = R["scale_vote_ratio"]
        g = R["gen"]
        rows.append(("vote rate at 10 M votes vs empty", "≥ 0.7×",
                     "%.2f× at %s votes (HTTP, medians of ceiling-relative "
                     "rates)" % (ratio, fmt_int(g["votes"])),
                     *verdict(ratio >= 0.7, ("only %s of 10 M votes could be "
                                             "built in the time budget: "
                                             % fmt_int(g["votes"])
                                             if g["votes"] < FULL["votes"]
                                             else "") +
                              ("%.0f%% short" % (100 * (0.7 - ratio) / 0.7)
                               if ratio < 0.7 else "holds"))))
    c = R.get("inproc_top20_scale")
    if c:
        g = R["gen"]
        rows.append(("top-20 via C API at 1 M ideas", "p99 ≤ 2 ms",
                     "p99 %.3f ms at %s ideas (thread CPU p99 %.3f ms)" % (
                         c["p99_us"] / 1000, fmt_int(g["ideas"]),
                         c["cpu_p99_us"] / 1000),
                     *verdict(c["p99_us"] <= 2000, "%.1f× the limit" %
                              (c["p99_us"] / 2000) if c["p99_us"] > 2000 else
                              "%.0f× under" % (2000 / max(c["p99_us"], 1)))))
    m = R.get("memory")
    if m:
        idle = m["idle_fresh_kib"] / 1024
        more = (m["with_conns_kib"] - m["idle_warm_kib"]) / 1024
        rows.append(("idle RSS / 10,000 idle connections",
                     "≤ 10 MB / ≤ 70 MB more",
                     "%.1f MiB / +%.1f MiB for %s" % (idle, more,
                                                      fmt_int(m["conns"])),
                     *verdict(idle <= 10 and more <= 70, "; ".join([
                         "idle %s" % ("within" if idle <= 10 else
                                      "%.1f× the limit" % (idle / 10)),
                         "connections %s" % ("within" if more <= 70 else
                                             "%.1f× the limit" % (more / 70))
                     ]))))
    return rows


def write_results(R, path):
    A = R["args"]
    M = R["machine"]
    V = R["versions"]
    L = []
    w = L.append
    w("# townhall benchmark results\n")
    w("Written by `bench/run` on %s (UTC)%s. Every figure below comes from "
      "this one run; `bench/README.md` says how each is measured.\n" % (
          R["date"], ", **quick mode: a smoke run, not a measurement**"
          if A["quick"] else ""))
    w("## Machine\n")
    w("| | |\n| --- | --- |")
    w("| CPU | %s (%s cores; hypervisor: %s) |" % (
        M.get("cpu") or M.get("lscpu Model name", "?"), M["cores"],
        M.get("hypervisor", "?")))
    w("| RAM | %s GiB |" % M.get("ram_gib"))
    w("| kernel / OS | %s / %s |" % (M["kernel"], M["os"]))
    w("| disk (database files) | %s |" % R["disk"])
    fs, fe = R["fsync_start"], R["fsync_end"]
    w("| fdatasync of 4 KiB there (%d tries, at start / at end) | p50 %.2f / "
      "%.2f ms, p90 %.2f / %.2f ms, p99 %.2f / %.2f ms: the floor under "
      "every durable commit |" % (fs["n"], fs["p50_ms"], fe["p50_ms"],
                                  fs["p90_ms"], fe["p90_ms"], fs["p99_ms"],
                                  fe["p99_ms"]))
    w("| load average at start / end | %s / %s (other work on this shared "
      "machine: why every figure sits beside a ceiling measured in the same "
      "round) |" % (" ".join(M["loadavg_start"]),
                    " ".join(R["loadavg_end"])))
    w("| software | %s; libuv %s, SQLite %s, libsodium %s, jansson %s, "
      "llhttp (node-llhttp) %s; %s |" % (
          V["wrk"], V["libuv1"], V["libsqlite3-0"], V["libsodium23"],
          V["libjansson4"], V["node-llhttp"], V["cc"]))
    w("| townhall source | %s, built with CFLAGS=-O2 -g |" % V["source"])
    w("| load generator | wrk, %d threads, %d connections, %d s per run, "
      "loopback; %d rounds, medians reported |" % (
          A["threads"], A["connections"], A["duration"], A["rounds"]))
    w("| server | `townhall serve` defaults (one loop, synchronous=FULL, "
      "batch_max 1024, a 2xx only after the commit), with `%s` (an "
      "operator's setting for a load test from one address; "
      "`--rate-limit-page` only where the build's usage names it) and "
      "`--purge-interval -1` (the daily purge's first run, 5 s after start, "
      "kept out of the timings) |" % " ".join(
          R.get("serve_options", ["--rate-limit", LOAD_TEST_LIMIT])))
    w("| ceiling | `bench/ceiling.c`, %s mode (%s) |" % (
        A.get("ceiling", "batch"),
        "every answer of one read in one `uv_write`"
        if A.get("ceiling", "batch") == "batch" else
        "one `uv_write` per answer"))
    w("")

    w("## Ceiling check\n")
    errs = R.get("ceiling_errors") or []
    if errs:
        w("**ERROR in the ceiling: %d figure%s above the ceiling of %s own "
          "round.** %s\n" % (len(errs), "s" if len(errs) > 1 else "",
                             "their" if len(errs) > 1 else "its",
                             CEILING_ERROR_TEXT))
        w("| run | requests/s | ceiling's requests/s | × | against |")
        w("| --- | --- | --- | --- | --- |")
        for e in errs:
            w("| %s | %s | %s | %.2f | %s |" % (
                e["what"], fmt_int(e["rps"]), fmt_int(e["ceiling_rps"]),
                e["ratio"], e["against"]))
        w("")
    else:
        w("No workload figure is above the ceiling of its own round (the "
          "plain ceiling for every workload; for the writes also the ceiling "
          "answering the same wrk script). `bench/run` checks this on every "
          "run, and fails (exit status 3) and says so here when one is.\n")

    w("## Targets (issue 7)\n")
    w("| workload | target | measured | verdict | by how much |")
    w("| --- | --- | --- | --- | --- |")
    for row in target_rows(R):
        w("| %s |" % " | ".join(row))
    w("\nWhere a target is missed, `bench/PROFILE.md` says where the time "
      "goes (from the perf profiles this run recorded in `bench/profile/`) "
      "and what to change, ranked.\n")

    def http_table(title, S, keys, note=""):
        w("### %s\n" % title)
        if note:
            w(note + "\n")
        w("| workload | requests/s (median) | × ceiling | p50 ms | p99 ms | "
          "p99.9 ms | non-2xx | socket errors | server CPU: loop / writer "
          "(cores) | wrk CPU (cores) | server minor faults per request | "
          "per round, req/s |")
        w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- "
          "| --- |")
        for key, label in keys:
            s = S.get(key)
            if not s:
                continue
            ratio = "%.2f" % s["ratio"] if s["ratio"] else "—"
            if s["ratio"] and s["ratio"] > 1 and not key.startswith("ceiling"):
                ratio = "**%s: above the ceiling**" % ratio
            fpr = s.get("faults_per_req")
            w("| %s | %s | %s | %s | %s | %s | %d | %d | %s / %s | %s | %s | "
              "%s |"
              % (label, fmt_int(s["rps"]), ratio,
                 fmt_ms(s["p50_us"]), fmt_ms(s["p99_us"]),
                 fmt_ms(s["p999_us"]), s["non2xx"], s["errors"],
                 "%.2f" % (s["cpu_main"] or 0), "%.2f" % (s["cpu_other"] or 0),
                 "%.2f" % (s["wrk_cpu"] or 0),
                 "—" if fpr is None else "%.3f" % fpr,
                 ", ".join(fmt_int(x) for x in s["all_rps"])))
        w("")

    w("## HTTP load\n")
    C = R["http"]["ceiling"]
    http_table("Empty database (one site, 1,000 ideas; votes and feedback "
               "accumulate over the rounds)", dict(R["http"]["empty"],
                                                   **{"ceiling": C}),
               [("ceiling", "**ceiling**: bench/ceiling.c (%s), GET, 31-byte "
                 "JSON" % A.get("ceiling", "batch")),
                ("ceiling_vote", "ceiling answering vote.lua's PUTs (the "
                 "client's own cost for the write scripts)"),
                ("ceiling_feedback", "ceiling answering feedback.lua's POSTs"),
                ("top20", "GET /v1/sites/bench/ideas?sort=top&limit=20 "
                 "(10 KB)"),
                ("widget", "GET /widget.js (%s bytes)" % R.get("widget_bytes",
                                                              "?")),
                ("votes", "PUT …/ideas/{id}/vote, new resident each (JWT)"),
                ("feedback", "POST …/feedback, new device each")],
               "Ratios are to the plain ceiling of the same round (the "
               "issue's definition). The two *ceiling answering …* rows run "
               "the write scripts against the ceiling: they show how many "
               "requests/s wrk itself can generate with a Lua `request()` "
               "and `response()` hook on this machine, an upper bound no "
               "server could beat here. *Server minor faults per request*: "
               "the server's minor page faults during the run "
               "(`/proc/PID/stat`) over its requests; about 1 means it frees "
               "and re-grows its heap per request (what made the earlier "
               "ceiling slower than townhall).")
    w("#### Writes: acknowledged vs committed\n")
    w("Each write run counts the rows in the database before and after "
      "(`SELECT count(*)`, once the writer is idle). Every 201 must be a "
      "committed row; requests wrk had sent but not seen answered when it "
      "stopped were accepted and commit too, so *committed* may exceed "
      "*acknowledged* by at most *in flight*. Commits and writes per "
      "commit come from the server's own `/metrics` (the writer's group "
      "commit: one fsync per commit); bytes written per write from "
      "`/proc/PID/io` (`wchar`: WAL frames, checkpoints and answers).\n")
    w("| run | 201s acknowledged | rows committed | in flight at stop | 200 "
      "(duplicate) | non-2xx | check | commits/s | writes per commit | "
      "server bytes written per write |")
    w("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for tag, r in R["write_checks"]:
        w("| %s | %s | %s | %d | %d | %d | %s | %s | %.1f | %s |" % (
            tag, fmt_int(r["acknowledged"]), fmt_int(r["committed"]),
            r["in_flight"], r["c200"], r["non2xx"],
            "ok" if r["rows_ok"] else "**MISMATCH**",
            fmt_int(r["commits_per_s"]), r["per_commit"],
            fmt_int(r.get("bytes_per_write"))))
    w("")

    G = R.get("gen")
    if G:
        w("## Scale\n")
        full = all(G[k] >= FULL[k] for k in FULL)
        w("Built by `bench/gen.c` through the C API (`th_idea_submit`, "
          "`th_vote`, `th_feedback_record` in `th_batch_begin`/`commit` "
          "batches of 10,000, synchronous=FULL): ideas by 10,000 authors; "
          "votes by distinct residents, %d each on different ideas; "
          "feedback from distinct devices on %s pages.\n" % (
              G["votes_per_resident"], fmt_int(G["pages"])))
        w("The generator writes in key order, as a bulk import would: ideas "
          "author by author, votes idea by idea (each idea's %s votes "
          "together, every resident on different ideas), feedback page by "
          "page, so that each batch touches neighbouring index pages. The "
          "random-order write rates at scale are the C API and HTTP "
          "figures below, on ideas spread over the whole database.\n" % (
              fmt_int(-(-G["votes"] // max(G["ideas"], 1)))))
        if G.get("reused"):
            w("This run reused a database generated earlier by the same "
              "`gen` (`--scale-db %s`), copied before use; the rates below "
              "are those of its generation.\n" % G["reused"])
        w("| | asked | built | time | rate (whole phase) | rate (last "
          "tenth) | projected time for the full size |")
        w("| --- | --- | --- | --- | --- | --- | --- |")
        total_proj = 0.0
        for k in ("ideas", "votes", "feedback"):
            n, secs, tail = G[k], G[k + "_s"], G[k + "_tail_rate"]
            proj = secs + max(FULL[k] - n, 0) / tail if tail else None
            total_proj += proj or 0
            w("| %s | %s | %s | %.0f s | %s/s | %s/s | %s |" % (
                k, fmt_int(G["want_" + k]), fmt_int(n), secs,
                fmt_int(n / secs if secs else None), fmt_int(tail),
                ("%.0f min" % (proj / 60)) if proj else "—"))
        w("")
        if full:
            w("The full size was built (%.0f min).\n" % (G["total_s"] / 60))
        else:
            w("**Not the full size**: the generator ran each phase for at "
              "most its time budget (`--scale-minutes`, %s) and built what "
              "fitted; the full 1 M ideas / 10 M votes / 10 M feedback would "
              "take about **%.0f minutes** (%.1f hours) at the rates of each "
              "phase's last tenth — an optimistic projection, since every "
              "rate here falls as the database grows. The scale figures "
              "below are at the size built.\n" % (
                  A["scale_minutes"], total_proj / 60, total_proj / 3600))
        S = R["http"].get("scale", {})
        E = R["http"]["empty"]
        w("| workload | empty: req/s | at scale: req/s | at scale / empty "
          "(ceiling-relative) | empty: p99 ms | at scale: p99 ms |")
        w("| --- | --- | --- | --- | --- | --- |")
        for key, label in (("votes", "votes over HTTP"),
                           ("feedback", "feedback over HTTP"),
                           ("top20", "top-20 over HTTP")):
            e, s = E.get(key), S.get(key)
            if not (e and s):
                continue
            w("| %s | %s | %s | %.2f× | %s | %s |" % (
                label, fmt_int(e["rps"]), fmt_int(s["rps"]),
                R["scale_ratios"].get(key, 0), fmt_ms(e["p99_us"]),
                fmt_ms(s["p99_us"])))
        ce, cs = R.get("inproc_top20_empty"), R.get("inproc_top20_scale")
        if ce and cs:
            w("| top-20 via the C API (`th_idea_list`, %d calls) | p50 %.3f "
              "ms, p99 %.3f ms | p50 %.3f ms, p99 %.3f ms | p99 %.2f× | | |"
              % (cs["iterations"], ce["p50_us"] / 1000, ce["p99_us"] / 1000,
                 cs["p50_us"] / 1000, cs["p99_us"] / 1000,
                 cs["p99_us"] / max(ce["p99_us"], 0.001)))
        ie, isc = R.get("inproc_rates_empty"), R.get("inproc_rates_scale")
        if ie and isc:
            for k, label in (("votes_batched", "C API votes, batches of %d"
                              % ie["votes_batched"]["batch"]),
                             ("feedback_batched", "C API feedback, batches "
                              "of %d" % ie["feedback_batched"]["batch"])):
                w("| %s | %s/s (%.1f µs CPU each) | %s/s (%.1f µs CPU each) "
                  "| %.2f× | | |" % (
                      label, fmt_int(ie[k]["per_s"]),
                      ie[k]["cpu_us_per_write"], fmt_int(isc[k]["per_s"]),
                      isc[k]["cpu_us_per_write"],
                      isc[k]["per_s"] / ie[k]["per_s"]))
        w("\n*at scale / empty* divides each side by its own round's "
          "ceiling before taking the ratio of the medians, so that load from "
          "elsewhere on the machine cancels out.\n")

    m = R.get("memory")
    if m:
        w("## Memory (RSS of the server process)\n")
        E = R["http"]["empty"]
        loads = [(k, E[k]["max_rss_kib"]) for k in ("top20", "widget",
                                                    "votes", "feedback")
                 if E.get(k)]
        w("| state | RSS MiB |")
        w("| --- | --- |")
        w("| idle, just started (empty database) | %s |" %
          fmt_mib(m["idle_fresh_kib"]))
        w("| idle, after one request of each kind | %s |" %
          fmt_mib(m["idle_warm_kib"]))
        for k, v in loads:
            w("| under load: %s (max over the rounds, %d connections) | %s |"
              % (k, A["connections"], fmt_mib(v)))
        S = R["http"].get("scale", {})
        for k in ("votes", "feedback", "top20"):
            if S.get(k):
                w("| under load at scale: %s | %s |" % (
                    k, fmt_mib(S[k]["max_rss_kib"])))
        if R.get("idle_after_load_kib"):
            w("| idle after all the load rounds (empty database) | %s |" %
              fmt_mib(R["idle_after_load_kib"]))
        w("| holding %s idle keep-alive connections (each served one GET "
          "/healthz; `--idle-timeout 600000`, open-file limit raised) | %s "
          "(+%s, %s bytes per connection) |" % (
              fmt_int(m["conns"]), fmt_mib(m["with_conns_kib"]),
              fmt_mib(m["with_conns_kib"] - m["idle_warm_kib"]),
              fmt_int(m["per_conn_bytes"])))
        w("| after closing them | %s |" % fmt_mib(m["after_close_kib"]))
        w("")

    ip = R.get("inproc")
    if ip:
        w("## In-process: the C API without HTTP\n")
        w("On a database like the empty one (1,000 ideas), one handle, one "
          "thread: every vote by a new resident, every feedback from a new "
          "device. *Alone*: each call commits on its own (an fsync each, "
          "durable when it returns), run for %d s. *Batched*: th_batch_begin "
          "/ th_batch_commit around %s writes. Medians of %d runs; CPU µs is "
          "user + system time of the process per write.\n" % (
              A["single_seconds"], fmt_int(A["inproc_batch"]),
              len(ip["runs"])))
        w("| | per second (median) | CPU µs per write | bytes written per "
          "write | per run |")
        w("| --- | --- | --- | --- | --- |")
        for k, label in (("votes_single", "th_vote, alone"),
                         ("votes_batched", "th_vote, batched"),
                         ("feedback_single", "th_feedback_record, alone"),
                         ("feedback_batched", "th_feedback_record, batched")):
            w("| %s | %s | %.1f | %s | %s |" % (
                label, fmt_int(ip[k]["per_s"]), ip[k]["cpu_us_per_write"],
                fmt_int(ip[k]["bytes_per_write"]),
                ", ".join(fmt_int(r[k]["per_s"]) for r in ip["runs"])))
        for key, label in (("inproc_top20_empty", "1,000 ideas"),
                           ("inproc_top20_scale", "%s ideas (scale)" % fmt_int(
                               R.get("gen", {}).get("ideas")))):
            c = R.get(key)
            if c:
                w("| th_idea_list top 20, %s | wall p50 %.3f ms, p99 %.3f ms, "
                  "p99.9 %.3f ms; thread CPU p50 %.3f ms, p99 %.3f ms | | | "
                  "%d calls (the first, cold: %.1f ms) |" % (
                      label, c["p50_us"] / 1000, c["p99_us"] / 1000,
                      c["p999_us"] / 1000, c["cpu_p50_us"] / 1000,
                      c["cpu_p99_us"] / 1000, c["iterations"],
                      c["cold_us"] / 1000))
        w("")

    if R.get("profiles"):
        w("## Profiles\n")
        w("Recorded in this run with `perf record -e cpu-clock --call-graph "
          "dwarf` on the server during one more wrk run of each workload "
          "(summaries in `bench/profile/`; their requests/s are lower than "
          "above because perf costs CPU):\n")
        for name, r in R["profiles"]:
            w("- `bench/profile/%s.txt`: %s req/s while profiled" % (
                name, fmt_int(r["rps"])))
        w("\nThe analysis and the ranked changes are in `bench/PROFILE.md`."
          "\n")

    w("## Reproducing\n")
    w("```\n%s\n```\n" % R["command"])
    w("This run took %.0f minutes." % R["elapsed_min"])
    w("Raw wrk output, generator logs and databases: `%s` (not kept in the "
      "repository)." % R["work"])
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")


# ---- main ----------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(
        prog="bench/run",
        description="townhall's benchmark suite: writes bench/results.md")
    ap.add_argument("--build", help="an existing build directory (default: "
                    "configure and build into WORK/build)")
    ap.add_argument("--work", default="/tmp/townhall-bench",
                    help="scratch directory (databases, logs; default "
                    "%(default)s)")
    ap.add_argument("--quick", action="store_true",
                    help="a short smoke run: 1 round of 3 s, a small scale "
                    "database, 1,000 idle connections")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=10,
                    help="seconds per wrk run (default 10)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--scale", default="1000000,10000000,10000000",
                    help="IDEAS,VOTES,FEEDBACK for the scale database")
    ap.add_argument("--scale-minutes", default="4,10,5",
                    help="time budget of each generator phase, minutes "
                    "(IDEAS,VOTES,FEEDBACK; default %(default)s): a phase "
                    "stops where its budget ends, and results.md says so")
    ap.add_argument("--scale-db", help="reuse a database made earlier by "
                    "bench/gen (copied, not changed; its .gen.json beside "
                    "it) instead of generating one")
    ap.add_argument("--no-scale", action="store_true")
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--idle-conns", type=int, default=10000)
    ap.add_argument("--ceiling", choices=CEILING_MODES, default="batch",
                    help="the ceiling's way of writing: batch (all answers "
                    "of one read in one uv_write, as townhall does; the "
                    "default) or per-answer (one uv_write per answer)")
    ap.add_argument("--output", default=None,
                    help="default bench/results.md (bench/results-"
                    "postgresql.md with --engine postgresql)")
    ap.add_argument("--engine", choices=("sqlite", "postgresql"),
                    default="sqlite",
                    help="postgresql: votes, feedback and top-20 on a "
                    "throwaway PostgreSQL cluster beside the same "
                    "workloads on SQLite and pgbench's simple-update in "
                    "the same rounds (bench/pgrun.py; see bench/README.md)")
    ap.add_argument("--note", default="",
                    help="with --engine postgresql: what else was running "
                    "on the machine, said in the results")
    ap.add_argument("--pg-scale", type=int, default=10,
                    help="with --engine postgresql: pgbench -i -s (default "
                    "%(default)s, as bench/pgbench-ceiling)")
    ap.add_argument("--wait-load", type=float, default=0,
                    help="with --engine postgresql: before measuring, wait "
                    "(at most 30 min) until the 1-minute load average is "
                    "under this")
    args = ap.parse_args()
    if args.engine == "postgresql":
        import pgrun
        return pgrun.main(args, ap)
    if args.output is None:
        args.output = os.path.join(HERE, "results.md")
    if args.quick:
        args.rounds, args.duration = 1, 3
        args.idle_conns = min(args.idle_conns, 1000)
        if args.scale == ap.get_default("scale"):
            args.scale = "20000,100000,100000"
        if args.scale_minutes == ap.get_default("scale_minutes"):
            args.scale_minutes = "1,1,1"
    args_threads[0] = args.threads
    scale = [int(x) for x in args.scale.split(",")]
    budget = [float(x) * 60 for x in args.scale_minutes.split(",")]

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The client (this process) and the server (a child, which inherits the
    # limit) each hold one end of every idle connection.
    want = max(args.idle_conns + 1024, 4096)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(want, soft),
                                                    max(want, hard)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        if hard < want:
            log("open-file limit %d: fewer idle connections" % hard)
            args.idle_conns = max(100, hard - 1024)

    for tool in ("wrk", "cc", "pkg-config"):
        if shutil.which(tool) is None:
            sys.exit("bench: %s is needed (apt-get install %s)" % (
                tool, "build-essential" if tool == "cc" else tool))

    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    logdir = os.path.join(work, "logs")
    os.makedirs(logdir, exist_ok=True)
    t_start = time.time()
    R = {"args": dict(vars(args), scale_minutes=args.scale_minutes,
                      single_seconds=2 if args.quick else 5,
                      inproc_batch=10000 if args.quick else 50000),
         "date": datetime.datetime.now(datetime.timezone.utc).strftime(
             "%Y-%m-%d %H:%M"),
         "machine": machine(), "work": work,
         "command": " ".join(["bench/run"] + sys.argv[1:])}
    tools = build_all(args, work)
    R["versions"] = versions(tools["build"])
    R["disk"] = disk_of(work)

    R["fsync_start"] = fsync_probe(work)
    secret = os.path.join(work, "secret")
    with open(secret, "w") as f:
        f.write(os.urandom(36).hex())
    os.chmod(secret, 0o600)

    # ---- fixtures
    empty = os.path.join(work, "empty.db")
    gen(tools, empty, secret, 1000)
    inproc_db = os.path.join(work, "inproc.db")
    big = os.path.join(work, "scale.db")
    if not args.no_scale:
        if args.scale_db:
            copy_db(args.scale_db, big)
            with open(args.scale_db + ".gen.json") as f:
                R["gen"] = json.load(f)
            R["gen"]["reused"] = args.scale_db
            # This run's residents' tokens are signed with this run's
            # secret: give the copy the same one.
            sh([os.path.join(tools["bin"], "gen"), big, "--secret-file",
                secret, "--secret-only"])
        else:
            pristine = os.path.join(work, "scale-pristine.db")
            log("generating the scale database (%s; budget %s min)" % (
                args.scale, args.scale_minutes))
            R["gen"] = gen(tools, pristine, secret, scale[0], scale[1],
                           scale[2], pages=50000, max_seconds=budget)
            with open(pristine + ".gen.json", "w") as f:
                json.dump(R["gen"], f)
            log("generated:", R["gen"])
            copy_db(pristine, big)

    # ---- in-process
    ip_runs = []
    for i in range(args.rounds):
        gen(tools, inproc_db, secret, 1000)
        ip_runs.append(inproc(tools, inproc_db, "rates", "run%d" % i,
                              "--single-seconds", R["args"]["single_seconds"],
                              "--batched", R["args"]["inproc_batch"],
                              "--batch", 1000))
    R["inproc"] = {"runs": ip_runs}
    for k in ip_runs[0]:
        R["inproc"][k] = {
            "per_s": median([r[k]["per_s"] for r in ip_runs]),
            "cpu_us_per_write": median([r[k]["cpu_us_per_write"]
                                        for r in ip_runs]),
            "bytes_per_write": median([r[k]["bytes_per_write"]
                                       for r in ip_runs]),
            "batch": ip_runs[0][k].get("batch")}
    R["inproc_rates_empty"] = R["inproc"]
    R["inproc_top20_empty"] = inproc(tools, inproc_db, "top20",
                                     "--iterations", 2000)["top20"]
    if not args.no_scale:
        R["inproc_top20_scale"] = inproc(tools, big, "top20", "--iterations",
                                         2000)["top20"]
        R["inproc_rates_scale"] = inproc(
            tools, big, "rates", "scale", "--single-seconds",
            R["args"]["single_seconds"], "--batched",
            R["args"]["inproc_batch"] // 2, "--batch", 1000, "--ideas",
            min(1000, R["gen"]["ideas"]), "--spread", R["gen"]["ideas"])

    # ---- HTTP rounds
    srv_args = load_test_options(tools)
    R["serve_options"] = srv_args
    E = Server(tools, empty, srv_args, name="empty")
    B = Server(tools, big, srv_args, name="scale") if not args.no_scale \
        else None
    ceiling = Ceiling(tools, args.ceiling)
    widget = subprocess.run(["curl", "-s", "http://127.0.0.1:%d/widget.js" %
                             E.port], capture_output=True).stdout
    R["widget_bytes"] = "{:,}".format(len(widget))
    top_path = "/v1/sites/%s/ideas?sort=top&limit=20" % SITE
    per = {"ceiling": [], "empty": {}, "scale": {}}
    R["write_checks"] = []
    ntok = int(args.duration * 40000 / args.threads) + 1000
    big_ideas = R["gen"]["ideas"] if R.get("gen") else 1000
    try:
        for rnd in range(1, args.rounds + 1):
            log("round %d of %d" % (rnd, args.rounds))
            tokdir = os.path.join(work, "tokens")
            shutil.rmtree(tokdir, ignore_errors=True)
            make_tokens(tools, secret, "r%d" % rnd, ntok, tokdir)
            cu = "http://127.0.0.1:%d" % ceiling.port
            per["ceiling"].append(wrk(args, cu + "/", "get.lua",
                                      pid=ceiling.pid, logdir=logdir,
                                      tag="r%d-ceiling" % rnd))
            per.setdefault("ceiling_vote", []).append(
                wrk(args, cu, "vote.lua", (SITE, tokdir, 1000, 1, 1),
                    pid=ceiling.pid, logdir=logdir,
                    tag="r%d-ceiling-vote" % rnd))
            per.setdefault("ceiling_feedback", []).append(
                wrk(args, cu, "feedback.lua", (SITE, 500, "c%d" % rnd),
                    pid=ceiling.pid, logdir=logdir,
                    tag="r%d-ceiling-feedback" % rnd))
            eu = "http://127.0.0.1:%d" % E.port
            per["empty"].setdefault("top20", []).append(
                wrk(args, eu + top_path, "get.lua", pid=E.pid, logdir=logdir,
                    tag="r%d-empty-top20" % rnd))
            per["empty"].setdefault("widget", []).append(
                wrk(args, eu + "/widget.js", "get.lua", pid=E.pid,
                    logdir=logdir, tag="r%d-empty-widget" % rnd))
            r = write_run(args, E, empty, "votes", "vote.lua",
                          (SITE, os.path.join(tokdir), 1000, 1, 1), logdir,
                          "r%d-empty-votes" % rnd)
            per["empty"].setdefault("votes", []).append(r)
            R["write_checks"].append(("round %d, empty, votes" % rnd, r))
            r = write_run(args, E, empty, "feedback", "feedback.lua",
                          (SITE, 500, "e%d" % rnd), logdir,
                          "r%d-empty-feedback" % rnd)
            per["empty"].setdefault("feedback", []).append(r)
            R["write_checks"].append(("round %d, empty, feedback" % rnd, r))
            if B:
                bu = "http://127.0.0.1:%d" % B.port
                per["scale"].setdefault("top20", []).append(
                    wrk(args, bu + top_path, "get.lua", pid=B.pid,
                        logdir=logdir, tag="r%d-scale-top20" % rnd))
                # New tokens: the same residents would only re-vote.
                shutil.rmtree(tokdir, ignore_errors=True)
                make_tokens(tools, secret, "s%d" % rnd, ntok, tokdir)
                step = max(big_ideas // 1000, 1)
                r = write_run(args, B, big, "votes", "vote.lua",
                              (SITE, tokdir, min(1000, big_ideas), 1, step),
                              logdir, "r%d-scale-votes" % rnd)
                per["scale"].setdefault("votes", []).append(r)
                R["write_checks"].append(("round %d, scale, votes" % rnd, r))
                r = write_run(args, B, big, "feedback", "feedback.lua",
                              (SITE, 500, "s%d" % rnd), logdir,
                              "r%d-scale-feedback" % rnd)
                per["scale"].setdefault("feedback", []).append(r)
                R["write_checks"].append(("round %d, scale, feedback" % rnd,
                                          r))
        time.sleep(1.0)
        R["idle_after_load_kib"] = proc_rss_kib(E.pid)

        # ---- profiles
        R["profiles"] = []
        if not args.no_profile:
            if perf_ok():
                shutil.rmtree(tokdir, ignore_errors=True)
                make_tokens(tools, secret, "p", ntok, tokdir)
                jobs = [("top20", E, eu + top_path, "get.lua", ()),
                        ("widget", E, eu + "/widget.js", "get.lua", ()),
                        ("votes", E, eu, "vote.lua",
                         (SITE, tokdir, 1000, 1, 1)),
                        ("feedback", E, eu, "feedback.lua",
                         (SITE, 500, "p"))]
                if B:
                    tok2 = tokdir + "-scale"
                    shutil.rmtree(tok2, ignore_errors=True)
                    make_tokens(tools, secret, "ps", ntok, tok2)
                    jobs.append(("scale-votes", B, bu, "vote.lua",
                                 (SITE, tok2, min(1000, big_ideas), 1,
                                  max(big_ideas // 1000, 1))))
                    jobs.append(("scale-feedback", B, bu, "feedback.lua",
                                 (SITE, 500, "ps")))
                for name, srv, url, script, sargs in jobs:
                    log("profiling", name)
                    R["profiles"].append((name, profile(
                        args, srv, name, url, script, sargs, work)))
            else:
                log("perf cannot record here: no profiles")
    finally:
        ceiling.stop()
        errs = E.stop()
        if errs:
            log("server errors (empty):", "".join(errs[:5]))
        if B:
            errs = B.stop()
            if errs:
                log("server errors (scale):", "".join(errs[:5]))

    # ---- memory
    R["memory"] = memory(args, tools, empty, work)

    # ---- summaries
    H = {"ceiling": summarize(per["ceiling"], per["ceiling"]), "empty": {},
         "scale": {}}
    for k in ("ceiling_vote", "ceiling_feedback"):
        H["empty"][k] = summarize(per[k], per["ceiling"])
    for side in ("empty", "scale"):
        for k, runs in per[side].items():
            H[side][k] = summarize(runs, per["ceiling"])
    R["http"] = H
    R["ceiling_errors"] = ceiling_errors(per)
    R["scale_ratios"] = {}
    for k in ("votes", "feedback", "top20"):
        e, s = H["empty"].get(k), H["scale"].get(k)
        if e and s and e["ratio"]:
            R["scale_ratios"][k] = s["ratio"] / e["ratio"]
    R["scale_vote_ratio"] = R["scale_ratios"].get("votes")
    R["loadavg_end"] = open("/proc/loadavg").read().split()[:3]
    R["fsync_end"] = fsync_probe(work)
    R["elapsed_min"] = (time.time() - t_start) / 60
    with open(os.path.join(work, "results.json"), "w") as f:
        json.dump(R, f, indent=1, default=str)
    write_results(R, args.output)
    log("wrote %s in %.1f min" % (args.output, R["elapsed_min"]))
    if R["ceiling_errors"]:
        for e in R["ceiling_errors"]:
            log("ERROR in the ceiling: %s at %.0f req/s, above %s (%.0f "
                "req/s in the same round)" % (e["what"], e["rps"],
                                              e["against"],
                                              e["ceiling_rps"]))
        log(CEILING_ERROR_TEXT)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
