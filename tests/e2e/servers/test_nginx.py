#!/usr/bin/python3
"""nginx (Debian's nginx-light) with a master and two worker processes under ravel run: the
workers are forks of the master that switch to user nobody, as a packaged nginx does; every
process is recorded into the run's traces. It serves the same bytes as natively (static files of
several sizes, a missing one, concurrent clients), stops cleanly on SIGQUIT (graceful shutdown:
the master waits for its workers), and its trace opens in every tool."""
import hashlib
import os
import signal
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import servers  # noqa: E402

NGINX = "/usr/sbin/nginx"
WORKERS = 2
CLIENTS = 4
REQUESTS_PER_CLIENT = 150
SIZES = [0, 100, 4096, 65536, 1 << 20]


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30) as r:
            return r.status, hashlib.sha1(r.read()).hexdigest()
    except urllib.error.HTTPError as e:
        return e.code, None


def ping(port):
    status, _ = get(port, "/f0")
    if status != 200:
        raise ConnectionError(f"status {status}")


class NginxUnderRavel(servers.ServerSuite):
    NAME = "nginx"
    PROGRAMS = (NGINX,)

    @classmethod
    def site(cls):
        root = os.path.join(cls.tmp, "www")
        if not os.path.isdir(root):
            os.makedirs(root)
            for size in SIZES:
                with open(os.path.join(root, f"f{size}"), "wb") as f:
                    f.write(bytes((i * 7 + size) % 251 for i in range(size)))
            # The workers run as nobody: the files and folders they serve must be readable to it.
            for d in (cls.tmp, root):
                os.chmod(d, 0o755)
            for size in SIZES:
                os.chmod(os.path.join(root, f"f{size}"), 0o644)
        return root

    @classmethod
    def start_server(cls, trace):
        run_dir = os.path.join(cls.tmp, "native" if trace is None else "traced")
        os.makedirs(os.path.join(run_dir, "tmp"), exist_ok=True)
        root = cls.site()
        user = "user nobody nogroup;" if os.geteuid() == 0 else ""

        def argv(port):
            conf = os.path.join(run_dir, "nginx.conf")
            with open(conf, "w") as f:
                f.write(f"""{user}
worker_processes {WORKERS};
daemon off;
master_process on;
pid {run_dir}/nginx.pid;
error_log {run_dir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {run_dir}/tmp/body;
    proxy_temp_path {run_dir}/tmp/proxy;
    fastcgi_temp_path {run_dir}/tmp/fastcgi;
    uwsgi_temp_path {run_dir}/tmp/uwsgi;
    scgi_temp_path {run_dir}/tmp/scgi;
    sendfile on;
    server {{
        listen 127.0.0.1:{port};
        root {root};
    }}
}}
""")
            return [NGINX, "-p", run_dir, "-c", conf, "-e", f"{run_dir}/error.log"]

        return servers.Server(cls.NAME, argv, ping, trace=trace, cwd=cls.tmp)

    @classmethod
    def drive(cls, server):
        answers = {"files": {size: get(server.port, f"/f{size}") for size in SIZES},
                   "missing": get(server.port, "/nothing-here")}
        results, errors = [], []

        def client(c):
            try:
                for i in range(REQUESTS_PER_CLIENT):
                    size = SIZES[(c + i) % len(SIZES)]
                    results.append((size, get(server.port, f"/f{size}")))
            except Exception as e:  # a refused or reset connection is a wrong answer too
                errors.append(repr(e))

        servers.in_parallel(client, CLIENTS)
        answers["errors"] = errors
        answers["load"] = sorted(set(results))
        answers["load_count"] = len(results)
        return answers

    @classmethod
    def _one_run(cls, trace):
        # nginx's graceful stop is SIGQUIT (SIGTERM is its fast stop): stop() sends SIGTERM, so
        # run once with the graceful one by swapping the signal for this server only.
        stop = servers.Server.stop
        servers.Server.stop = lambda self, sig=signal.SIGQUIT: stop(self, sig)
        try:
            return super()._one_run(trace)
        finally:
            servers.Server.stop = stop

    def test_answers_are_right(self):
        a = self.native_answers
        for size in SIZES:
            self.assertEqual(a["files"][size][0], 200, size)
            expected = hashlib.sha1(bytes((i * 7 + size) % 251 for i in range(size))).hexdigest()
            self.assertEqual(a["files"][size][1], expected, size)
        self.assertEqual(a["missing"], (404, None))
        self.assertEqual(a["errors"], [])
        self.assertEqual(a["load_count"], CLIENTS * REQUESTS_PER_CLIENT)

    # nginx's processes are single-threaded: the run's threads are its processes.
    def test_info_reads_the_trace(self):
        processes = self.run_processes()
        workers = [p for p in processes if p["parent"] == self.traced.pid]
        self.assertEqual(len(workers), WORKERS, f"the master and {WORKERS} workers: {processes}")
        for w in workers:
            # A worker served requests: it accepted, read files and wrote them out.
            self.assertGreater(w["events"], 0, w)
            self.assertEqual(w["end"], "exited", w)

    def test_every_worker_records_into_its_own_trace(self):
        traces = [f for f in os.listdir(self.tmp) if f.startswith(f"{self.NAME}.") and f.endswith(".ravel")]
        # The main trace (the master) and one per worker, whatever user the worker switched to.
        self.assertGreaterEqual(len(traces), 1 + WORKERS, traces)
        self.assertNotIn("cannot create trace", self.traced.log_text)


if __name__ == "__main__":
    servers.main()
