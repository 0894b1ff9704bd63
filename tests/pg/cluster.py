"""A throwaway PostgreSQL cluster for townhall's tests, its benchmark and a
developer (issue 15).

    from cluster import Cluster
    with Cluster() as pg:              # initdb + start in a new temporary directory
        print(pg.uri)                  # postgresql:///townhall?host=DIR&port=5432&user=townhall
        pg.psql("select 1")
    # stopped and removed here, also when the body raised

The cluster lives in one directory, mode 0700, that nobody else can enter:
the data directory (DIR/data), the server's log (DIR/postgres.log) and its
Unix socket (DIR/.s.PGSQL.PORT). It listens on no TCP port
(listen_addresses = ''), keeps fsync and synchronous_commit on (durable
commits, as in production), and holds one login role `townhall` owning
one database `townhall`. The superuser is `postgres`.

Run as root (CI is root on a fresh Debian 12), the cluster is made and run
by the `postgres` system user (runuser), since the server refuses to run
as root; the directory then belongs to `postgres`, and root still connects
through the socket. Run as anyone else, it is that user's.

Binaries: $TH_PG_BINDIR, else `pg_config --bindir`, else the newest
/usr/lib/postgresql/*/bin with an initdb (Debian's postgresql-15 puts
initdb, pg_ctl, postgres and pgbench there; scripts/deps installs it).

A cluster made by a `with` block or `start()` is stopped and its directory
removed by `stop()`, by the end of the `with` block, and at interpreter
exit (atexit) if neither ran: a failed test leaves nothing running. A
process killed by SIGKILL cannot clean up; its server keeps running until
`pg_ctl -D DIR/data stop` (or `scripts/pg-cluster stop DIR`).

scripts/pg-cluster is this module as a command: start, uri and stop a
cluster in a directory a developer names.
"""
import atexit
import glob
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.parse

MARKER = "townhall-pg-cluster.json"
OWNER_WHEN_ROOT = "postgres"
DB = "townhall"
ROLE = "townhall"
SUPERUSER = "postgres"


class ClusterError(Exception):
    pass


def bindir():
    """The directory holding initdb, pg_ctl, postgres and pgbench."""
    env = os.environ.get("TH_PG_BINDIR")
    if env:
        if not os.access(os.path.join(env, "initdb"), os.X_OK):
            raise ClusterError("TH_PG_BINDIR=%s has no initdb" % env)
        return env
    try:
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if out and os.access(os.path.join(out, "initdb"), os.X_OK):
            return out
    except (OSError, subprocess.CalledProcessError):
        pass

    def major(path):
        try:
            return int(path.split("/")[-2])
        except ValueError:
            return 0
    found = sorted((d for d in glob.glob("/usr/lib/postgresql/*/bin")
                    if os.access(os.path.join(d, "initdb"), os.X_OK)),
                   key=major)
    if not found:
        raise ClusterError("no PostgreSQL server binaries (initdb): install "
                           "postgresql-15 (scripts/deps) or set TH_PG_BINDIR")
    return found[-1]


def _quote(value):
    """A string literal for postgresql.conf and SQL."""
    return "'" + str(value).replace("'", "''") + "'"


class Cluster:
    """One throwaway cluster. `path`: the directory to make it in (must not
    exist or be empty); by default a new one under $TMPDIR (or /tmp).
    `port`: only names the socket (DIR/.s.PGSQL.PORT), no TCP port is
    opened, so the default cannot clash with another cluster. `password`:
    give the `townhall` role this password and require it
    (scram-sha-256) for every role but the superuser; the URI then carries
    it. `settings`: more postgresql.conf lines, {name: value}."""

    def __init__(self, path=None, port=5432, password=None, settings=None):
        self.path = path
        self.port = int(port)
        self.password = password
        self.settings = dict(settings or {})
        self.bindir = None
        self._started = False
        self._made_dir = False

    # ---- paths and the URI ---------------------------------------------------

    @property
    def datadir(self):
        return os.path.join(self.path, "data")

    @property
    def logfile(self):
        return os.path.join(self.path, "postgres.log")

    @property
    def socket(self):
        return os.path.join(self.path, ".s.PGSQL.%d" % self.port)

    def uri_for(self, database=DB, user=ROLE, password=None):
        auth = urllib.parse.quote(user, safe="")
        if password is not None:
            auth += ":" + urllib.parse.quote(password, safe="")
        return "postgresql://%s@/%s?host=%s&port=%d" % (
            auth, urllib.parse.quote(database, safe=""),
            urllib.parse.quote(self.path, safe="/"), self.port)

    @property
    def uri(self):
        """The libpq URI of the `townhall` database as the `townhall` role
        (with its password when the cluster has one)."""
        return self.uri_for(password=self.password)

    @property
    def admin_uri(self):
        """The superuser's URI (the `postgres` database)."""
        return self.uri_for(database="postgres", user=SUPERUSER)

    # ---- running commands ----------------------------------------------------

    def _as_owner(self, argv):
        if os.geteuid() == 0:
            return ["runuser", "-u", OWNER_WHEN_ROOT, "--"] + argv
        return argv

    def _env(self):
        env = dict(os.environ, LC_ALL="C", LANG="C")
        for k in ("PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGPASSWORD",
                  "PGSERVICE", "PGOPTIONS", "PGDATA"):
            env.pop(k, None)
        return env

    def run(self, argv, as_owner=True, check=True, **kw):
        """Runs a command (its name looked up in the server's bindir first)
        with a clean libpq environment; as the cluster's owner by default."""
        argv = list(argv)
        if self.bindir and os.sep not in argv[0]:
            p = os.path.join(self.bindir, argv[0])
            if os.access(p, os.X_OK):
                argv[0] = p
        if as_owner:
            argv = self._as_owner(argv)
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        proc = subprocess.run(argv, env=self._env(), cwd=self.path, **kw)
        if check and proc.returncode != 0:
            raise ClusterError("%s failed (exit %d): %s" % (
                " ".join(argv), proc.returncode,
                ((proc.stderr or "") + (proc.stdout or "")).strip()[-2000:]))
        return proc

    def psql(self, sql, uri=None, check=True):
        """Runs SQL with psql through a URI (the townhall database by
        default) as the calling user; returns psql's unaligned output."""
        proc = self.run(["psql", "-X", "-q", "-A", "-t", "-v",
                         "ON_ERROR_STOP=1", "-d", uri or self.uri, "-c", sql],
                        as_owner=False, check=check)
        return proc.stdout.strip() if check else proc

    # ---- life cycle ----------------------------------------------------------

    def start(self):
        if self._started:
            return self
        self.bindir = bindir()
        root = os.geteuid() == 0
        if self.path is None:
            self.path = tempfile.mkdtemp(prefix="townhall-pg-")
            self._made_dir = True
        else:
            self.path = os.path.abspath(self.path)
            if os.path.exists(self.path) and os.listdir(self.path):
                raise ClusterError("%s exists and is not empty" % self.path)
            self._made_dir = not os.path.exists(self.path)
            os.makedirs(self.path, exist_ok=True)
        if len(self.socket) > 100:
            raise ClusterError("%s: a Unix socket path is limited to about "
                               "100 bytes; choose a shorter directory"
                               % self.socket)
        os.chmod(self.path, 0o700)
        if root:
            pw = pwd.getpwnam(OWNER_WHEN_ROOT)
            os.chown(self.path, pw.pw_uid, pw.pw_gid)
        atexit.register(self.stop)
        self._write_marker()
        try:
            self._initdb()
            self.run(["pg_ctl", "-D", self.datadir, "-l", self.logfile,
                      "-w", "-t", "60", "start"])
            self._started = True
            self._provision()
        except BaseException:
            self.stop()
            raise
        return self

    def _write_marker(self):
        marker = os.path.join(self.path, MARKER)
        fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"port": self.port, "password": self.password,
                       "bindir": self.bindir, "made_dir": self._made_dir}, f)

    def _initdb(self):
        self.run(["initdb", "-D", self.datadir, "-U", SUPERUSER,
                  "--encoding=UTF8", "--locale=C",
                  "--auth-local=trust", "--auth-host=reject",
                  # initdb's own final flush only: the server runs with
                  # fsync on (below); a throwaway cluster lost to a crash
                  # is made again.
                  "--no-sync"])
        conf = {
            "listen_addresses": "",
            "unix_socket_directories": self.path,
            "unix_socket_permissions": "0700",
            "port": self.port,
            "fsync": "on",
            "synchronous_commit": "on",
            "full_page_writes": "on",
        }
        conf.update(self.settings)
        lines = ["", "# townhall's throwaway cluster (tests/pg/cluster.py)"]
        for k, v in conf.items():
            lines.append("%s = %s" % (k, v if isinstance(v, int)
                                      else _quote(v)))
        with open(os.path.join(self.datadir, "postgresql.conf"), "a") as f:
            f.write("\n".join(lines) + "\n")
        if self.password is not None:
            # Only the superuser (this module, over the private socket)
            # comes in without a password; written before the first start,
            # so no connection ever sees the laxer rules.
            with open(os.path.join(self.datadir, "pg_hba.conf"), "w") as f:
                f.write("local all %s trust\n"
                        "local all all scram-sha-256\n" % SUPERUSER)

    def _provision(self):
        role = "CREATE ROLE %s LOGIN" % ROLE
        if self.password is not None:
            role += " PASSWORD " + _quote(self.password)
        self.psql(role, uri=self.admin_uri)
        self.psql("CREATE DATABASE %s OWNER %s" % (DB, ROLE),
                  uri=self.admin_uri)

    def createdb(self, name, owner=ROLE):
        self.psql("CREATE DATABASE %s OWNER %s" % (name, owner),
                  uri=self.admin_uri)
        return self.uri_for(database=name, password=self.password)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.datadir, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def stop(self):
        """Stops the server (fast, then immediate) and removes the
        directory. Safe to call twice, and on a half-made cluster."""
        try:
            atexit.unregister(self.stop)
        except Exception:
            pass
        if self.path is None:
            return
        if os.path.exists(os.path.join(self.datadir, "postmaster.pid")):
            for mode in ("fast", "immediate"):
                try:
                    if self.run(["pg_ctl", "-D", self.datadir, "-m", mode,
                                 "-w", "-t", "30", "stop"],
                                check=False).returncode == 0:
                        break
                except OSError:
                    break
        self._started = False
        if os.path.exists(os.path.join(self.path, MARKER)):
            if self._made_dir:
                shutil.rmtree(self.path, ignore_errors=True)
            else:
                for name in os.listdir(self.path):
                    p = os.path.join(self.path, name)
                    if os.path.isdir(p) and not os.path.islink(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        try:
                            os.unlink(p)
                        except OSError:
                            pass

    @classmethod
    def attach(cls, path):
        """The cluster scripts/pg-cluster started in `path` (to read its URI
        or stop it)."""
        path = os.path.abspath(path)
        try:
            with open(os.path.join(path, MARKER)) as f:
                meta = json.load(f)
        except (OSError, ValueError):
            raise ClusterError("%s holds no cluster made by "
                               "scripts/pg-cluster" % path)
        c = cls(path, port=meta["port"], password=meta.get("password"))
        c.bindir = meta.get("bindir") or bindir()
        c._started = c.postmaster_pid() is not None
        c._made_dir = bool(meta.get("made_dir"))
        return c

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False
