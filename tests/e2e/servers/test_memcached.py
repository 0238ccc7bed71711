#!/usr/bin/python3
"""memcached -t 4 (Debian's memcached) under ravel run: the cache serves the same answers as
natively to a small client of ours (sets, multi-gets, concurrent incr from four connections,
deletes) and to memcaslap's bounded load (libmemcached-tools), stops cleanly on SIGTERM, and its
trace opens in every tool."""
import os
import socket
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

MEMCACHED = "/usr/bin/memcached"
MEMCASLAP = "/usr/bin/memcaslap"
KEYS = 300
INCR_THREADS = 4
INCRS_PER_THREAD = 250
SLAP_OPS = 20000  # memcaslap's -x: get and set operations in all


class Connection:
    """memcached's text protocol, just enough of it."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("memcached closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _bytes(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("memcached closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def command(self, text, payload=None):
        self.sock.sendall(text.encode() + b"\r\n" + (payload + b"\r\n" if payload is not None else b""))
        return self._line().decode()

    def set(self, key, value):
        return self.command(f"set {key} 0 0 {len(value)}", value)

    def get_many(self, keys):
        self.sock.sendall(f"get {' '.join(keys)}\r\n".encode())
        found = {}
        while True:
            line = self._line().decode()
            if line == "END":
                return found
            _, key, _, size = line.split()
            found[key] = self._bytes(int(size))

    def stats(self):
        self.sock.sendall(b"stats\r\n")
        values = {}
        while (line := self._line().decode()) != "END":
            _, name, value = line.split(" ", 2)
            values[name] = value
        return values


def value_of(i):
    # Sizes from 10 bytes to about 5 KB, so items land in several slab classes.
    return (f"value-{i}-" * (1 + (i * 37) % 500)).encode()


def ping(port):
    c = Connection(port)
    try:
        if not c.command("version").startswith("VERSION"):
            raise ConnectionError("no VERSION")
    finally:
        c.close()


class MemcachedUnderRavel(servers.ServerSuite):
    NAME = "memcached"
    PROGRAMS = (MEMCACHED, MEMCASLAP)

    @classmethod
    def start_server(cls, trace):
        user = ["-u", "root"] if os.geteuid() == 0 else []  # memcached refuses root without -u
        return servers.Server(cls.NAME, lambda port: [MEMCACHED, "-l", "127.0.0.1", "-p", str(port), "-U", "0",
                                                      "-t", "4", "-m", "64", "-c", "256"] + user,
                              ping, trace=trace, cwd=cls.tmp)

    @classmethod
    def drive(cls, server):
        answers = {}
        c = Connection(server.port)
        keys = [f"key:{i}" for i in range(KEYS)]
        answers["set"] = [c.set(k, value_of(i)) for i, k in enumerate(keys)]
        found = {}
        for at in range(0, KEYS, 50):
            found.update(c.get_many(keys[at:at + 50]))
        answers["get_all_match"] = all(found.get(k) == value_of(i) for i, k in enumerate(keys))
        answers["get_count"] = len(found)

        # Four connections, so four worker threads take the item lock of one key in turn.
        answers["counter"] = c.set("counter", b"0")
        errors = []

        def bump():
            conn = Connection(server.port)
            try:
                for _ in range(INCRS_PER_THREAD):
                    reply = conn.command("incr counter 1")
                    if not reply.isdigit():
                        errors.append(reply)
            finally:
                conn.close()

        workers = [threading.Thread(target=bump) for _ in range(INCR_THREADS)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(servers.LOAD_TIMEOUT)
        answers["incr_errors"] = errors
        answers["counter_final"] = c.get_many(["counter"]).get("counter")

        answers["delete"] = [c.command(f"delete {k}") for k in keys[::2]]
        left = c.get_many(keys)
        answers["after_delete"] = sorted(left)

        slap = servers.run([MEMCASLAP, "-s", f"127.0.0.1:{server.port}", "-T", "2", "-c", "16",
                            "-x", str(SLAP_OPS)], servers.LOAD_TIMEOUT)
        ops = [line for line in slap.stdout.splitlines() if line.startswith("Run time:")]
        answers["slap_ops"] = ops[0].split("Ops:")[1].split()[0] if ops else slap.stdout[-500:]
        stats = c.stats()
        answers["threads"] = stats.get("threads")
        c.close()
        return answers

    def test_answers_are_right(self):
        # The native answers themselves, so a server (or a client) that is wrong both ways fails too.
        a = self.native_answers
        self.assertEqual(a["set"], ["STORED"] * KEYS)
        self.assertTrue(a["get_all_match"])
        self.assertEqual(a["incr_errors"], [])
        self.assertEqual(a["counter_final"], str(INCR_THREADS * INCRS_PER_THREAD).encode())
        self.assertEqual(a["delete"], ["DELETED"] * len(a["delete"]))
        self.assertEqual(a["after_delete"], sorted(f"key:{i}" for i in range(1, KEYS, 2)))
        self.assertEqual(a["slap_ops"], str(SLAP_OPS))
        self.assertEqual(a["threads"], "4")


if __name__ == "__main__":
    servers.main()
