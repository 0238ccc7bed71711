#!/usr/bin/python3
"""redis-server --io-threads 4 (Debian's redis) under ravel run: it serves redis-benchmark's bounded
load (50 clients, so the I/O threads take part) and redis-cli's commands with the same answers as
natively (counters and lists that the benchmark builds end at exact values), stops cleanly on
SIGTERM, and its trace opens in every tool."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

REDIS = "/usr/bin/redis-server"
BENCH = "/usr/bin/redis-benchmark"
CLI = "/usr/bin/redis-cli"
REQUESTS = 2000  # per redis-benchmark test
TESTS = "set,get,incr,lpush,sadd,hset"


def cli(port, *args):
    r = servers.run([CLI, "-h", "127.0.0.1", "-p", str(port)] + list(args), 30)
    return r.stdout.strip()


def ping(port):
    if cli(port, "ping") != "PONG":
        raise ConnectionError("no PONG")


class RedisIoThreadsUnderRavel(servers.ServerSuite):
    NAME = "redis"
    PROGRAMS = (REDIS, BENCH, CLI)

    @classmethod
    def start_server(cls, trace):
        data = os.path.join(cls.tmp, "native" if trace is None else "traced")
        os.makedirs(data, exist_ok=True)
        # No persistence (nothing to save at shutdown, so the exit is quick and the same each time);
        # the log to a file, so the test's pipes stay quiet.
        return servers.Server(cls.NAME, lambda port: [
            REDIS, "--port", str(port), "--bind", "127.0.0.1", "--dir", data, "--daemonize", "no",
            "--io-threads", "4", "--io-threads-do-reads", "yes", "--save", "", "--appendonly", "no",
            "--logfile", os.path.join(data, "redis.log")], ping, trace=trace, cwd=cls.tmp)

    @classmethod
    def drive(cls, server):
        port = str(server.port)
        answers = {}
        bench = servers.run([BENCH, "-h", "127.0.0.1", "-p", port, "-n", str(REQUESTS), "-c", "50", "-t", TESTS,
                             "--csv"], servers.LOAD_TIMEOUT)
        answers["bench_tests"] = [line.split(",")[0].strip('"') for line in bench.stdout.splitlines()[1:]]
        # Without -r the benchmark's keys are literal: one counter, one list, one set, one hash.
        answers["counter"] = cli(server.port, "get", "counter:__rand_int__")
        answers["list"] = cli(server.port, "llen", "mylist")
        answers["set"] = cli(server.port, "scard", "myset")
        answers["hash"] = cli(server.port, "hlen", "myhash")
        answers["dbsize"] = cli(server.port, "dbsize")
        answers["greeting"] = [cli(server.port, "set", "greeting", "hello, ravel"), cli(server.port, "get", "greeting")]
        answers["incrby"] = [cli(server.port, "incrby", "n", "40"), cli(server.port, "incrby", "n", "2")]
        answers["rpush"] = [cli(server.port, "rpush", "l", "a", "b", "c"), cli(server.port, "lrange", "l", "0", "-1")]
        stats = dict(line.split(":", 1) for line in cli(server.port, "info", "stats").splitlines() if ":" in line)
        answers["io_threads_served"] = int(stats.get("io_threaded_writes_processed", "0")) > 0
        return answers

    def test_answers_are_right(self):
        a = self.native_answers
        self.assertEqual(a["bench_tests"], ["SET", "GET", "INCR", "LPUSH", "SADD", "HSET"])
        self.assertEqual(a["counter"], str(REQUESTS))
        self.assertEqual(a["list"], str(REQUESTS))
        self.assertEqual((a["set"], a["hash"]), ("1", "1"))
        self.assertEqual(a["greeting"], ["OK", "hello, ravel"])
        self.assertEqual(a["incrby"], ["40", "42"])
        self.assertEqual(a["rpush"], ["3", "a\nb\nc"])
        self.assertTrue(a["io_threads_served"], "with 50 clients the I/O threads write replies")


if __name__ == "__main__":
    servers.main()
