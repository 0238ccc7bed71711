#!/usr/bin/python3
"""mariadbd (Debian's mariadb-server: one thread per connection, InnoDB's background threads)
under ravel run: initialised once by mariadb-install-db into a private data dir (copied for each
run, so both start from the same files), it answers the same queries with the same rows as
natively after four clients insert at once and mariadb-slap's bounded mixed load, stops cleanly
on SIGTERM, and its trace opens in every tool."""
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
CLIENT = "/usr/bin/mariadb"
ADMIN = "/usr/bin/mariadb-admin"
SLAP = "/usr/bin/mariadb-slap"
WRITERS = 4
ROWS_PER_WRITER = 100
SLAP_QUERIES = 400

# Small InnoDB files and pool: start-up writes less, and the copy per run is quick.
SIZES = ["--innodb-log-file-size=8M", "--innodb-buffer-pool-size=32M"]


def user():
    return ["--user=root"] if os.geteuid() == 0 else []  # mariadbd refuses to run as root without it


def sql(port, statements, database=None):
    argv = [CLIENT, "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(port), "-uroot", "--batch",
            "--skip-column-names"] + ([database] if database else []) + ["-e", statements]
    return servers.run(argv, servers.LOAD_TIMEOUT).stdout


def ping(port):
    r = servers.run([ADMIN, "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(port), "-uroot",
                     "--connect-timeout=2", "ping"], 10)
    if "alive" not in r.stdout:
        raise ConnectionError(r.stdout)


class MariadbUnderRavel(servers.ServerSuite):
    NAME = "mariadb"
    PROGRAMS = (MARIADBD, INSTALL_DB, CLIENT, ADMIN, SLAP)

    @classmethod
    def seed(cls):
        seed = os.path.join(cls.tmp, "seed")
        if not os.path.isdir(seed):
            servers.run([INSTALL_DB, "--no-defaults", f"--datadir={seed}", "--auth-root-authentication-method=normal",
                         "--skip-test-db", "--skip-name-resolve"] + user() + SIZES, servers.LOAD_TIMEOUT)
        return seed

    @classmethod
    def start_server(cls, trace):
        run_dir = os.path.join(cls.tmp, "native" if trace is None else "traced")
        data = os.path.join(run_dir, "data")
        shutil.copytree(cls.seed(), data, symlinks=True)
        return servers.Server(cls.NAME, lambda port: [
            MARIADBD, "--no-defaults", f"--datadir={data}", f"--socket={run_dir}/mariadb.sock", f"--port={port}",
            "--bind-address=127.0.0.1", f"--pid-file={run_dir}/mariadb.pid", f"--log-error={run_dir}/error.log",
            "--skip-name-resolve", "--skip-log-bin", "--max-connections=64"] + user() + SIZES,
            ping, trace=trace, cwd=cls.tmp)

    @classmethod
    def drive(cls, server):
        answers = {}
        sql(server.port, "create database shop; create table shop.orders (id int primary key, writer int, "
                         "item varchar(40), qty int, key (writer)) engine=innodb")
        errors = []

        def write(w):
            rows = ",".join(f"({w * 1000 + i},{w},'item-{(w * 7 + i) % 13}',{(i * 31) % 17})"
                            for i in range(ROWS_PER_WRITER))
            try:
                # Half in one transaction, half as separate autocommit statements.
                sql(server.port, f"start transaction; insert into orders values {rows}; commit", "shop")
                sql(server.port, "; ".join(f"update orders set qty = qty + 1 where id = {w * 1000 + i}"
                                           for i in range(0, ROWS_PER_WRITER, 2)), "shop")
            except AssertionError as e:
                errors.append(str(e))

        servers.in_parallel(write, WRITERS)
        answers["writer_errors"] = errors
        answers["count"] = sql(server.port, "select count(*), sum(qty) from orders", "shop")
        answers["by_item"] = sql(server.port, "select item, count(*), sum(qty) from orders group by item "
                                              "order by item", "shop")
        answers["rows"] = sql(server.port, "select * from orders where writer = 2 order by id", "shop")

        slap = servers.run([SLAP, "--no-defaults", "--protocol=tcp", "-h", "127.0.0.1", "-P", str(server.port),
                            "-uroot", "--concurrency=8", "--iterations=1", f"--number-of-queries={SLAP_QUERIES}",
                            "--auto-generate-sql", "--auto-generate-sql-load-type=mixed"], servers.LOAD_TIMEOUT)
        answers["slap"] = [line.strip() for line in slap.stdout.splitlines() if "Number of clients" in line
                           or "Average number of queries" in line]
        answers["tables_after_slap"] = sql(server.port, "show databases")
        return answers

    def test_answers_are_right(self):
        a = self.native_answers
        self.assertEqual(a["writer_errors"], [])
        total_qty = WRITERS * sum((i * 31) % 17 for i in range(ROWS_PER_WRITER)) + WRITERS * ROWS_PER_WRITER // 2
        self.assertEqual(a["count"].split(), [str(WRITERS * ROWS_PER_WRITER), str(total_qty)])
        self.assertEqual(len(a["rows"].splitlines()), ROWS_PER_WRITER)
        self.assertEqual(a["slap"], ["Number of clients running queries: 8",
                                     f"Average number of queries per client: {SLAP_QUERIES // 8}"])
        self.assertIn("shop", a["tables_after_slap"].split())


if __name__ == "__main__":
    servers.main()
