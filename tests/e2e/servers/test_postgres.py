#!/usr/bin/python3
"""PostgreSQL 15 (Debian's postgresql-15): a multi-process database under ravel run. The
postmaster forks a process per connection and its background workers (checkpointer, background
writer, WAL writer, autovacuum launcher, ...); started by root, it runs as user postgres (it
refuses root), switched to by `setpriv` as an init script would, so every trace of the run is one
ravel run creates for a process of another user. Initialised once by initdb into a private data
dir (copied for each run), it answers the same queries as natively after four clients write at
once and pgbench's bounded load, stops cleanly on SIGTERM, and its trace opens in every tool."""
import os
import pwd
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

BIN = "/usr/lib/postgresql/15/bin"
POSTGRES = f"{BIN}/postgres"
INITDB = f"{BIN}/initdb"
PGBENCH = f"{BIN}/pgbench"
PSQL = "/usr/bin/psql"
SETPRIV = "/usr/bin/setpriv"
WRITERS = 4
ROWS_PER_WRITER = 100
PGBENCH_CLIENTS = 4
PGBENCH_TRANSACTIONS = 100  # per client

SETTINGS = ["-c", "shared_buffers=16MB", "-c", "max_connections=30", "-c", "fsync=off",
            "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "logging_collector=off"]


def as_postgres():
    """The command prefix that runs a program as the database's own user (nothing when not root)."""
    if os.geteuid() != 0:
        return []
    return [SETPRIV, "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]


def own(path):
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        for root, dirs, files in os.walk(path):
            os.chown(root, pw.pw_uid, pw.pw_gid)
            for f in files:
                os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid, follow_symlinks=False)


def sql(port, statements):
    return servers.run([PSQL, "-X", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", "postgres",
                        "-v", "ON_ERROR_STOP=1", "-At", "-c", statements], servers.LOAD_TIMEOUT).stdout


def ping(port):
    if sql(port, "select 1").strip() != "1":
        raise ConnectionError("no answer")


class PostgresUnderRavel(servers.ServerSuite):
    NAME = "postgres"
    PROGRAMS = (POSTGRES, INITDB, PGBENCH, PSQL, SETPRIV)

    @classmethod
    def setUpClass(cls):
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise servers.unittest.SkipTest("no user postgres (the postgresql-15 package makes it)")
        # The database's files live where user postgres may write; the traces stay in the suite's
        # own folder, which that user cannot even enter: ravel run makes each trace for it.
        cls.pgdir = tempfile.mkdtemp(prefix="ravel-servers-pgdata-")
        os.chmod(cls.pgdir, 0o755)
        own(cls.pgdir)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        if not (getattr(cls, "_keep", False) or os.environ.get("RAVEL_SERVERS_KEEP")):
            shutil.rmtree(cls.pgdir, ignore_errors=True)

    @classmethod
    def seed(cls):
        seed = os.path.join(cls.pgdir, "seed")
        if not os.path.isdir(seed):
            servers.run(as_postgres() + [INITDB, "-D", seed, "-U", "postgres", "--auth=trust", "--no-sync",
                                         "-E", "UTF8", "--locale=C"], servers.LOAD_TIMEOUT)
        return seed

    @classmethod
    def start_server(cls, trace):
        run_dir = os.path.join(cls.pgdir, "native" if trace is None else "traced")
        data = os.path.join(run_dir, "data")
        os.makedirs(run_dir)
        shutil.copytree(cls.seed(), data, symlinks=True)
        own(run_dir)
        os.chmod(data, 0o700)
        return servers.Server(cls.NAME, lambda port: as_postgres() + [
            POSTGRES, "-D", data, "-h", "127.0.0.1", "-p", str(port), "-k", run_dir] + SETTINGS,
            ping, trace=trace, cwd=cls.tmp, exe=POSTGRES)

    @classmethod
    def drive(cls, server):
        answers = {}
        sql(server.port, "create table orders (id int primary key, writer int, item text, qty int)")
        errors = []

        def write(w):
            rows = ",".join(f"({w * 1000 + i},{w},'item-{(w * 7 + i) % 13}',{(i * 31) % 17})"
                            for i in range(ROWS_PER_WRITER))
            try:
                sql(server.port, f"begin; insert into orders values {rows}; commit")
                sql(server.port, "; ".join(f"update orders set qty = qty + 1 where id = {w * 1000 + i}"
                                           for i in range(0, ROWS_PER_WRITER, 2)))
            except AssertionError as e:
                errors.append(str(e))

        servers.in_parallel(write, WRITERS)
        answers["writer_errors"] = errors
        answers["count"] = sql(server.port, "select count(*), sum(qty) from orders")
        answers["by_item"] = sql(server.port, "select item, count(*), sum(qty) from orders group by item order by item")

        bench = ["-h", "127.0.0.1", "-p", str(server.port), "-U", "postgres", "postgres"]
        servers.run([PGBENCH, "-i", "-q", "-s", "1"] + bench, servers.LOAD_TIMEOUT)
        load = servers.run([PGBENCH, "-n", "-c", str(PGBENCH_CLIENTS), "-j", "2", "-t", str(PGBENCH_TRANSACTIONS)]
                           + bench, servers.LOAD_TIMEOUT)
        answers["pgbench"] = [line.strip() for line in load.stdout.splitlines()
                              if "number of transactions actually processed" in line or "number of failed" in line]
        # TPC-B keeps the money where it was: every branch's balance is the sum of its tellers'.
        answers["balanced"] = sql(server.port, "select count(*) from pgbench_branches b where b.bbalance <> "
                                               "(select sum(tbalance) from pgbench_tellers t where t.bid = b.bid)")
        return answers

    def test_answers_are_right(self):
        a = self.native_answers
        self.assertEqual(a["writer_errors"], [])
        total_qty = WRITERS * sum((i * 31) % 17 for i in range(ROWS_PER_WRITER)) + WRITERS * ROWS_PER_WRITER // 2
        self.assertEqual(a["count"].split("|"), [str(WRITERS * ROWS_PER_WRITER), str(total_qty) + "\n"])
        n = PGBENCH_CLIENTS * PGBENCH_TRANSACTIONS
        self.assertIn(f"number of transactions actually processed: {n}/{n}", a["pgbench"])
        self.assertEqual(a["balanced"].strip(), "0")

    # Every process of postgres is single-threaded: the run's processes are what to look at.
    def test_info_reads_the_trace(self):
        processes = self.run_processes()
        children = [p for p in processes if p["parent"] == self.traced.pid]
        # The background workers and a backend per connection (about 20 connections above).
        self.assertGreater(len(children), 10, processes)
        self.assertGreater(sum(p["events"] for p in processes), 1000)

    def test_every_process_after_the_switch_is_recorded(self):
        self.assertNotIn("cannot create trace", self.traced.log_text)
        traces = [f for f in os.listdir(self.tmp) if f.startswith(f"{self.NAME}.") and f.endswith(".ravel")]
        self.assertGreater(len(traces), 10, traces)


if __name__ == "__main__":
    servers.main()
