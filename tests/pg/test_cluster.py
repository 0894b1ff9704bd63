"""The throwaway PostgreSQL cluster (tests/pg/cluster.py, scripts/pg-cluster)
that issue 15's suites and bench/pgbench-ceiling stand on."""
import os
import pwd
import stat
import subprocess
import sys
import unittest

from pgenv import HERE, SRC  # noqa: E402  (sys.path: cluster, townhall)
from cluster import Cluster, ClusterError  # noqa: E402


def alive(pid):
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is gone for our purposes.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def socket_inodes(pid):
    """The inodes of every socket a process holds open."""
    inodes = set()
    fds = "/proc/%d/fd" % pid
    for fd in os.listdir(fds):
        try:
            target = os.readlink(os.path.join(fds, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def tcp_listeners():
    """{inode: local address} of every listening TCP socket (v4 and v6)."""
    found = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A":  # TCP_LISTEN
                        found[cols[9]] = cols[1]
        except OSError:
            pass
    return found


class RunningCluster(unittest.TestCase):
    """One cluster for the checks that only look at it."""

    @classmethod
    def setUpClass(cls):
        cls.pg = Cluster().start()

    @classmethod
    def tearDownClass(cls):
        cls.pg.stop()

    def test_psql_select_1_through_the_uri(self):
        out = subprocess.run(["psql", "-X", "-A", "-t", self.pg.uri, "-c",
                              "select 1"], capture_output=True, text=True,
                             env=self.pg._env(), cwd="/")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.strip(), "1")

    def test_uri_names_the_socket_directory_and_the_townhall_role(self):
        self.assertTrue(self.pg.uri.startswith("postgresql://townhall@/townhall?host="
                                               + self.pg.path + "&port="),
                        self.pg.uri)
        self.assertEqual(self.pg.psql("select current_user, current_database()"),
                         "townhall|townhall")

    def test_socket_directory_is_mode_0700(self):
        st = os.stat(self.pg.path)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o700)
        owner = (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0
                 else os.geteuid())
        self.assertEqual(st.st_uid, owner)
        self.assertTrue(stat.S_ISSOCK(os.stat(self.pg.socket).st_mode))

    def test_no_tcp_port_listens(self):
        self.assertEqual(self.pg.psql("show listen_addresses",
                                      uri=self.pg.admin_uri), "")
        pid = self.pg.postmaster_pid()
        self.assertTrue(alive(pid))
        mine = socket_inodes(pid)
        self.assertTrue(mine, "the postmaster holds no socket at all?")
        listening = tcp_listeners()
        self.assertEqual({i: listening[i] for i in mine if i in listening},
                         {}, "the postmaster listens on TCP")

    def test_durable_settings(self):
        self.assertEqual(self.pg.psql("show fsync", uri=self.pg.admin_uri), "on")
        self.assertEqual(self.pg.psql("show synchronous_commit",
                                      uri=self.pg.admin_uri), "on")
        self.assertEqual(self.pg.psql("show full_page_writes",
                                      uri=self.pg.admin_uri), "on")

    def test_townhall_owns_its_database_and_can_create_tables(self):
        self.pg.psql("create table probe (id bigint generated always as "
                     "identity primary key, b bytea); drop table probe")


class LifeCycle(unittest.TestCase):

    def test_stop_stops_the_server_and_removes_the_directory(self):
        pg = Cluster().start()
        pid, path = pg.postmaster_pid(), pg.path
        self.assertTrue(alive(pid))
        pg.stop()
        self.assertFalse(alive(pid))
        self.assertFalse(os.path.exists(path))
        pg.stop()  # twice is harmless

    def test_a_failing_test_body_still_removes_it(self):
        seen = {}
        with self.assertRaises(RuntimeError):
            with Cluster() as pg:
                seen.update(pid=pg.postmaster_pid(), path=pg.path)
                raise RuntimeError("a failed test")
        self.assertFalse(alive(seen["pid"]))
        self.assertFalse(os.path.exists(seen["path"]))

    def test_a_process_that_exits_without_stop_removes_it_at_exit(self):
        code = ("import sys; sys.path.insert(0, %r)\n"
                "from cluster import Cluster\n"
                "pg = Cluster().start()\n"
                "print(pg.postmaster_pid(), pg.path, flush=True)\n"
                "raise SystemExit(3)\n" % HERE)
        out = subprocess.run([sys.executable, "-c", code],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 3, out.stderr)
        pid, path = out.stdout.split()
        self.assertFalse(alive(int(pid)))
        self.assertFalse(os.path.exists(path))

    def test_a_password_is_required_when_given(self):
        with Cluster(password="s3cret 'pw'") as pg:
            self.assertEqual(pg.psql("select current_user"), "townhall")
            bad = pg.psql("select 1", uri=pg.uri_for(password="wrong"),
                          check=False)
            self.assertNotEqual(bad.returncode, 0)
            self.assertIn("password authentication failed", bad.stderr)
            none = pg.psql("select 1", uri=pg.uri_for(), check=False)
            self.assertNotEqual(none.returncode, 0)

    def test_refuses_a_directory_that_is_not_empty(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="townhall-pg-test-")
        try:
            open(os.path.join(d, "keep"), "w").close()
            with self.assertRaises(ClusterError):
                Cluster(d).start()
            self.assertTrue(os.path.exists(os.path.join(d, "keep")))
        finally:
            import shutil
            shutil.rmtree(d)


class Command(unittest.TestCase):
    """scripts/pg-cluster start|uri|stop DIR."""

    def cmd(self, *args):
        return subprocess.run([os.path.join(SRC, "scripts", "pg-cluster")]
                              + list(args), capture_output=True, text=True,
                              timeout=120)

    def test_start_uri_stop(self):
        import tempfile
        parent = tempfile.mkdtemp(prefix="townhall-pg-cmd-")
        os.chmod(parent, 0o755)  # the postgres user must get through it
        d = os.path.join(parent, "c")
        try:
            start = self.cmd("start", d)
            self.assertEqual(start.returncode, 0, start.stderr)
            uri = start.stdout.strip()
            self.assertTrue(uri.startswith("postgresql://townhall@/townhall?host=" + d),
                            uri)
            again = self.cmd("uri", d)
            self.assertEqual(again.stdout.strip(), uri)
            q = subprocess.run(["psql", "-X", "-A", "-t", uri, "-c", "select 1"],
                               capture_output=True, text=True)
            self.assertEqual(q.stdout.strip(), "1", q.stderr)
            pid = Cluster.attach(d).postmaster_pid()
            stop = self.cmd("stop", d)
            self.assertEqual(stop.returncode, 0, stop.stderr)
            self.assertFalse(alive(pid))
            self.assertFalse(os.path.exists(d))
            self.assertNotEqual(self.cmd("uri", d).returncode, 0)
        finally:
            if os.path.exists(os.path.join(d, "data", "postmaster.pid")):
                self.cmd("stop", d)
            import shutil
            shutil.rmtree(parent, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
