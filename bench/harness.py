#!/usr/bin/python3
"""ravel benchmark harness: measures, prints and writes the table of docs/benchmarks.md.

Called by `bench/run` (which builds first); see docs/benchmarks.md for what each row means.
Standard library only (Debian's python3). Linux only: pidfd_open, /proc.
"""
import argparse
import datetime
import glob
import hashlib
import json
import os
import platform
import random
import re
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

# ---------------------------------------------------------------------------------------------
# Sizes. Full: about a second of native work per program. Quick: a smoke run for CI.
FULL = dict(micro_iters=10_000_000, helgrind_iters=250_000, pigz_bytes=100_000_000,
            helgrind_pigz_bytes=5_000_000, runs=3)
QUICK = dict(micro_iters=200_000, helgrind_iters=10_000, pigz_bytes=5_000_000,
             helgrind_pigz_bytes=1_000_000, runs=1)

# Budgets of issue 2 (checked here, never by a timed test).
BUDGET_MICRO_RATIO = 2.5
BUDGET_PIGZ_RATIO = 1.10
BUDGET_BYTES_PER_EVENT = 8.0

DATA_GEN_VERSION = 1  # bump when generate_logs changes: the cache key includes it


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Input data for pigz: deterministic, log-like text (compresses ~5x with gzip -6).
def generate_logs(path, size, seed=20261126):
    rng = random.Random(seed)
    levels = ["INFO"] * 14 + ["DEBUG"] * 4 + ["WARN"] * 2 + ["ERROR"]
    hosts = [f"web-{i:02d}" for i in range(12)] + [f"db-{i:02d}" for i in range(3)]
    services = ["api", "auth", "billing", "search", "cache", "queue"]
    methods = ["GET"] * 8 + ["POST"] * 3 + ["PUT", "DELETE"]
    paths = ["/api/v1/users/{}", "/api/v1/orders/{}", "/api/v2/search?q=item{}",
             "/static/img/{}.png", "/api/v1/cart/{}/items", "/health", "/api/v1/sessions/{}"]
    statuses = [200] * 20 + [201, 204, 301, 304, 400, 401, 403, 404, 404, 500, 503]
    agents = ["curl/7.88.1", "Mozilla/5.0 (X11; Linux x86_64)", "python-requests/2.28",
              "Go-http-client/1.1"]
    msgs = ["request served", "cache miss, fetching from backend", "slow query detected",
            "retrying upstream connection", "session refreshed", "rate limit close"]
    t = 1764115200.0
    out = bytearray()
    written = 0
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        while written < size:
            for _ in range(2000):
                t += rng.random() * 0.004
                sec = int(t)
                ms = int((t - sec) * 1000)
                lt = time.gmtime(sec)
                p = rng.choice(paths).format(rng.randrange(100000))
                out += (
                    f"{lt.tm_year}-{lt.tm_mon:02d}-{lt.tm_mday:02d}T{lt.tm_hour:02d}:"
                    f"{lt.tm_min:02d}:{lt.tm_sec:02d}.{ms:03d}Z {rng.choice(hosts)} "
                    f"{rng.choice(services)}[{rng.randrange(1000, 60000)}]: {rng.choice(levels)} "
                    f"{rng.choice(methods)} {p} status={rng.choice(statuses)} "
                    f"bytes={rng.randrange(50, 90000)} dur_ms={rng.random() * 250:.2f} "
                    f"req={rng.getrandbits(64):016x} ua=\"{rng.choice(agents)}\" "
                    f"msg=\"{rng.choice(msgs)}\"\n").encode()
            n = min(len(out), size - written)
            f.write(out[:n])
            written += n
            out.clear()
    os.replace(tmp, path)


def data_file(data_dir, size):
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, f"logs-v{DATA_GEN_VERSION}-{size}.txt")
    if not os.path.exists(path) or os.path.getsize(path) != size:
        log(f"generating {size / 1e6:g} MB of log-like text into {path}")
        generate_logs(path, size)
    return path


# ---------------------------------------------------------------------------------------------
# Running one command.
class Result:
    def __init__(self):
        self.ok = True
        self.status = 0          # exit code (or -signal)
        self.wall = 0.0          # wall time of the whole command, s
        self.prog_wall = None    # wall time of the target process alone (fork to exit), s
        self.after_exit = None   # wall time of the command after the target exited, s
        self.maxrss_kb = 0       # ru_maxrss of wait4: max over the command and every descendant
        self.target_hwm_kb = None  # VmHWM of the target, sampled while it ran
        self.cpu = None          # user+sys CPU of the command and its descendants, s
        self.target_cpu = None   # user+sys CPU of the target alone (sampled), s
        self.stdout = ""
        self.stderr = ""
        self.self_seconds = None  # lock_micro's own timing
        self.ops = None
        self.out_sha = None


def read_hwm(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


CLK_TCK = os.sysconf("SC_CLK_TCK")


def read_cpu(pid):
    """utime+stime of a process (all its threads), s; None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def children_of(pid):
    kids = []
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            with open(path) as f:
                kids += [int(x) for x in f.read().split()]
        except OSError:
            pass
    return kids


def descendants_of(pid):
    out, todo = [], children_of(pid)
    while todo:
        c = todo.pop()
        out.append(c)
        todo += children_of(c)
    return out


class TargetWatcher(threading.Thread):
    """Finds the descendant of `parent` that becomes `target_exe`, and notes when it exits.

    It is found by polling /proc/PID/task/*/children (every 0.5 ms until found); its
    exit is seen through a pidfd (readable when the process has exited), so the exit time is
    exact without being its parent. While it runs, its VmHWM and CPU time (utime+stime of
    /proc/PID/stat, all threads, 10 ms ticks) are sampled every 5 ms."""

    def __init__(self, parent, target_exe):
        super().__init__(daemon=True)
        self.parent = parent
        self.target = os.path.realpath(target_exe)
        self.t_start = None
        self.t_exit = None
        self.hwm = None
        self.cpu = None
        self.stop = False

    def run(self):
        fds = {}
        pid = None
        try:
            while not self.stop and pid is None:
                for c in descendants_of(self.parent):
                    if c not in fds:
                        try:
                            fds[c] = (os.pidfd_open(c), time.monotonic())
                        except OSError:
                            continue
                    try:
                        exe = os.readlink(f"/proc/{c}/exe")
                    except OSError:
                        continue
                    if exe == self.target:
                        pid = c
                        break
                if pid is None:
                    time.sleep(0.0005)
            if pid is None:
                return
            fd, self.t_start = fds[pid]
            p = select.poll()
            p.register(fd, select.POLLIN)
            while True:
                h = read_hwm(pid)
                if h is not None:
                    self.hwm = max(self.hwm or 0, h)
                c = read_cpu(pid)
                if c is not None:
                    self.cpu = c
                if p.poll(5):
                    self.t_exit = time.monotonic()
                    break
        finally:
            for fd, _ in fds.values():
                os.close(fd)


GNU_TIME = "/usr/bin/time"


def run(cmd, stdin_path=None, stdout_path=None, target_exe=None, env=None):
    """Runs cmd; returns a Result. stdout goes to stdout_path (or is captured).

    Peak memory is GNU time's %M, i.e. ru_maxrss from wait4: the largest RSS of the command
    and of every descendant it waited for (the maximum, not the sum). The command is wrapped
    in /usr/bin/time rather than read from our own wait4, because a child forked from this
    Python process inherits Python's RSS high-water mark until it execs (~18 MB)."""
    r = Result()
    rss_fd, rss_path = tempfile.mkstemp(prefix="ravel-bench-rss-")
    os.close(rss_fd)
    if os.access(GNU_TIME, os.X_OK):
        cmd = [GNU_TIME, "-f", "%M %U %S", "-o", rss_path, "--"] + list(cmd)
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as out:
        sin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
        sout = open(stdout_path, "wb") if stdout_path else out
        try:
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, stdin=sin, stdout=sout, stderr=err, env=env)
            w = None
            if target_exe:
                w = TargetWatcher(p.pid, target_exe)
                w.start()
            _, status, ru = os.wait4(p.pid, 0)
            t1 = time.monotonic()
            p.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if stdin_path:
                sin.close()
            if stdout_path:
                sout.close()
        if w:
            w.stop = True
            w.join(1)
            if w.t_exit is not None:
                r.prog_wall = w.t_exit - w.t_start
                r.after_exit = t1 - w.t_exit
            r.target_hwm_kb = w.hwm
            r.target_cpu = w.cpu
        r.status = p.returncode
        r.wall = t1 - t0
        r.maxrss_kb = ru.ru_maxrss
        r.cpu = ru.ru_utime + ru.ru_stime
        try:
            with open(rss_path) as f:
                last = f.read().strip().splitlines()[-1].split()
            r.maxrss_kb = int(last[0])
            r.cpu = float(last[1]) + float(last[2])
        except (OSError, ValueError, IndexError):
            pass
        os.unlink(rss_path)
        err.seek(0)
        r.stderr = err.read().decode(errors="replace")
        out.seek(0)
        r.stdout = out.read().decode(errors="replace")
    m = re.search(r"ops=(\d+) seconds=([0-9.]+)", r.stdout)
    if m:
        r.ops = int(m.group(1))
        r.self_seconds = float(m.group(2))
    if stdout_path:
        h = hashlib.sha256()
        with open(stdout_path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        r.out_sha = h.hexdigest()
    return r


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()[:160]
    return ""


# ---------------------------------------------------------------------------------------------
# ravel
class Ravel:
    def __init__(self, build):
        self.bin = os.path.join(build, "bin", "ravel")
        self.reason = None
        if not os.access(self.bin, os.X_OK):
            self.reason = f"not built ({self.bin} missing)"

    def available(self, workdir):
        if self.reason:
            return False
        t = os.path.join(workdir, "probe.ravel")
        r = run([self.bin, "run", "-q", "-o", t, "--", "/bin/true"])
        if r.status != 0:
            self.reason = f"`ravel run` exits {r.status}: {first_line(r.stderr)}"
            return False
        if self.info(t) is None:
            return False
        return True

    def info(self, trace):
        """`ravel info --json` of a trace, or None (reason set)."""
        r = run([self.bin, "info", "--json", trace])
        if r.status != 0:
            self.reason = f"`ravel info --json` exits {r.status}: {first_line(r.stderr)}"
            return None
        try:
            j = json.loads(r.stdout)
            int(j["events"])
            return j
        except (ValueError, KeyError, TypeError) as e:
            self.reason = f"`ravel info --json` output unusable ({e})"
            return None


def trace_bytes(trace):
    """Size of the trace, plus the per-process files of children (`<stem>.<pid>.ravel`)."""
    total = os.path.getsize(trace) if os.path.exists(trace) else 0
    stem = trace[:-6] if trace.endswith(".ravel") else trace
    for extra in glob.glob(glob.escape(stem) + ".*.ravel"):
        if re.fullmatch(r"\d+", extra[len(stem) + 1:-6]):
            total += os.path.getsize(extra)
    return total


def clean_trace(trace):
    stem = trace[:-6] if trace.endswith(".ravel") else trace
    for f in [trace] + glob.glob(glob.escape(stem) + ".*.ravel"):
        try:
            os.unlink(f)
        except OSError:
            pass


# ---------------------------------------------------------------------------------------------
# A row of the table.
class Row:
    def __init__(self, workload, config, note=""):
        self.workload = workload
        self.config = config
        self.note = note
        self.time = None        # program time, s (median)
        self.ratio = None
        self.ns_event = None
        self.ns_op = None
        self.rss = None         # text
        self.bpe = None
        self.events = None
        self.budget = ""
        self.result = ""
        self.na = None          # reason when not measured
        self.total_wall = None  # ravel rows: wall of the whole `ravel run`, s
        self.after_exit = None  # ravel rows: after the program exited, s
        self.prog_wall = None   # ravel rows: the target's wall time, fork to exit, s
        self.ops = None
        self.sha = None
        self.cpu = None         # CPU time of the program, user+sys, s (median)
        self.cpu_ratio = None
        self.ravel_cpu = None   # ravel rows: CPU of the ravel process itself, s (median)
        self.runs = []


def median_run(results, key):
    """The run whose `key` is the median (the lower middle one for an even count)."""
    ordered = sorted(results, key=key)
    return ordered[(len(ordered) - 1) // 2]


def mb(kb):
    return kb / 1024.0


def fmt(v, spec, none="—"):
    return none if v is None else format(v, spec)


# ---------------------------------------------------------------------------------------------
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD_AT_START = " ".join(open("/proc/loadavg").read().split()[:3])


def measure(args):
    sizes = dict(QUICK if args.quick else FULL)
    if args.runs:
        sizes["runs"] = args.runs
    runs = sizes["runs"]
    build = os.path.abspath(args.build_dir)
    bench_bin = os.path.join(build, "bin", "bench")
    micro = os.path.join(bench_bin, "lock_micro")
    micro_tsan = os.path.join(bench_bin, "lock_micro_tsan")
    if not os.access(micro, os.X_OK):
        sys.exit(f"bench: {micro} is missing; build it first (bench/run does)")
    data_dir = args.data_dir or os.path.join(build, "bench-data")
    work = tempfile.mkdtemp(prefix="ravel-bench-", dir=args.tmp_dir)
    pigz = shutil.which("pigz")
    valgrind = None if args.no_helgrind else shutil.which("valgrind")
    rv = Ravel(build)
    if args.no_ravel:
        rv.reason = "skipped (--no-ravel)"
    ravel_ok = rv.available(work)
    if not ravel_ok:
        log(f"ravel rows: n/a — {rv.reason}")
    no_helgrind = "skipped (--no-helgrind)" if args.no_helgrind else "valgrind not installed"
    rows = []

    def ravel_run(cmd, target, name, i, **kw):
        """One run under `ravel run`; returns (Result, None) or (None, reason)."""
        t = os.path.join(work, f"{name}-{i}.ravel")
        clean_trace(t)
        r = run([rv.bin, "run", "-q", "-o", t, "--"] + cmd, target_exe=target, **kw)
        if r.prog_wall is None or not os.path.exists(t):
            return None, f"`ravel run` exits {r.status}: {first_line(r.stderr) or 'no trace'}"
        info = rv.info(t)
        if info is None:
            return None, rv.reason
        r.events = int(info["events"])
        r.trace_bytes = trace_bytes(t)
        clean_trace(t)
        return r, None

    def rounds(configs, what):
        """Runs every configuration once per round, `runs` rounds, interleaved, so that a change
        in the machine's load (it is shared) hits every configuration alike. configs: name ->
        function(i) returning (Result, None) or (None, reason). Returns name -> [Result] or
        reason."""
        out = {name: [] for name in configs}
        for i in range(runs):
            for name, fn in configs.items():
                if isinstance(out[name], str):
                    continue
                log(f"{what}: {name}, run {i + 1}/{runs}")
                r, reason = fn(i)
                out[name] = reason if reason else out[name] + [r]
        return out

    def micro_run(binary, iters):
        def fn(_):
            r = run([binary, str(iters)])
            if r.status != 0 or r.self_seconds is None:
                return None, f"exits {r.status}: {first_line(r.stderr)}"
            return r, None
        return fn

    # ---- (a) lock_micro: native, ravel run, ThreadSanitizer; then Helgrind at a smaller count
    mi = sizes["micro_iters"]
    desc = f"{mi:,} iterations/thread"
    configs = {"native": micro_run(micro, mi)}
    if ravel_ok:
        def fn(i):
            r, reason = ravel_run([micro, str(mi)], micro, "micro", i)
            if r is not None and r.self_seconds is None:
                return None, f"`ravel run` exits {r.status}: {first_line(r.stderr)}"
            return r, reason
        configs["ravel run"] = fn
    tsan_na = None
    if args.no_tsan:
        tsan_na = "skipped (--no-tsan)"
    elif not os.access(micro_tsan, os.X_OK):
        tsan_na = f"{micro_tsan} not built (clang-19 missing?)"
    else:
        configs["ThreadSanitizer (clang-19)"] = micro_run(micro_tsan, mi)
    res = rounds(configs, "lock_micro")
    if isinstance(res["native"], str):
        sys.exit(f"bench: lock_micro fails natively: {res['native']}")
    key = lambda r: r.self_seconds  # noqa: E731
    native = native_row("lock_micro", desc, res["native"], key)
    ops = native.ops
    rows.append(native)

    row = Row("lock_micro", "ravel run", desc)
    row.budget = f"≤ {BUDGET_MICRO_RATIO}x; ≤ {BUDGET_BYTES_PER_EVENT:g} B/event"
    got = res.get("ravel run", rv.reason)
    if isinstance(got, str):
        row.na = got
    else:
        fill_ravel_row(row, got, native.time, key, ops, native.cpu)
        row.result = verdict([row.ratio <= BUDGET_MICRO_RATIO,
                              row.bpe is not None and row.bpe <= BUDGET_BYTES_PER_EVENT])
        note_status(row, got)
    rows.append(row)

    row = Row("lock_micro", "ThreadSanitizer (clang-19)", desc)
    got = res.get("ThreadSanitizer (clang-19)", tsan_na)
    if isinstance(got, str):
        row.na = got
    else:
        fill_tool_row(row, got, native.time, key, ops, native.cpu)
    rows.append(row)

    hi = sizes["helgrind_iters"]
    row = Row("lock_micro", "Helgrind (valgrind)", f"{hi:,} iterations/thread, ratio vs native "
              "at that count (the row above)")
    if not valgrind:
        row.na = no_helgrind
    else:
        def helgrind(_):
            r = run([valgrind, "--tool=helgrind", "-q", micro, str(hi)])
            if r.self_seconds is None:
                return None, f"exits {r.status}: {first_line(r.stderr)}"
            return r, None
        small = rounds({"native": micro_run(micro, hi)}, f"lock_micro, {hi:,} iterations")
        base = native_row("lock_micro", f"{hi:,} iterations/thread", small["native"], key)
        base.config = "native (Helgrind's count)"
        rows.append(base)
        log(f"lock_micro: Helgrind, {hi:,} iterations/thread, 1 run")
        r, reason = helgrind(0)
        if reason:
            row.na = reason
        else:
            fill_tool_row(row, [r], base.time, key, base.ops, base.cpu)
            # The short native baseline is noisy (milliseconds): give the per-op ratio against
            # the full-count native run as well.
            per_op = (r.self_seconds / r.ops) / (native.time / native.ops)
            row.note += f"; {per_op:.0f}x per op vs the full-count native row"
            if re.search(r"Possible data race|lock order", r.stderr):
                row.note += "; Helgrind reported errors"
    rows.append(row)

    # ---- (b) pigz -p 2: native and ravel run; then Helgrind on a smaller input
    if not pigz:
        row = Row("pigz -p 2", "native")
        row.na = "pigz not installed (apt-get install pigz)"
        rows.append(row)
    else:
        size = sizes["pigz_bytes"]
        data = data_file(data_dir, size)
        out = os.path.join(work, "out.gz")
        cmd = [pigz, "-p", "2", "-c"]
        desc = f"{size / 1e6:g} MB of log text"

        def pigz_native(input_path):
            def fn(_):
                r = run(cmd, stdin_path=input_path, stdout_path=out, target_exe=pigz)
                if r.status != 0:
                    return None, f"exits {r.status}: {first_line(r.stderr)}"
                return r, None
            return fn
        configs = {"native": pigz_native(data)}
        if ravel_ok:
            configs["ravel run"] = lambda i: ravel_run(cmd, pigz, "pigz", i, stdin_path=data,
                                                       stdout_path=out)
        res = rounds(configs, "pigz -p 2")
        if isinstance(res["native"], str):
            sys.exit(f"bench: pigz fails natively: {res['native']}")
        native = native_row("pigz -p 2", desc, res["native"], prog_time)
        rows.append(native)
        row = Row("pigz -p 2", "ravel run", desc)
        row.budget = f"≤ {BUDGET_PIGZ_RATIO:.2f}x"
        got = res.get("ravel run", rv.reason)
        if isinstance(got, str):
            row.na = got
        else:
            fill_ravel_row(row, got, native.time, prog_time, None, native.cpu)
            row.result = verdict([row.ratio <= BUDGET_PIGZ_RATIO])
            if row.ratio < 0.95:
                row.note += "; faster than native: wall times are load noise, see the CPU ratio"
            if any(r.out_sha != native.sha for r in got):
                row.note += "; OUTPUT DIFFERS from native"
                row.result = "FAIL"
            note_status(row, got)
        rows.append(row)

        hsize = sizes["helgrind_pigz_bytes"]
        row = Row("pigz -p 2", "Helgrind (valgrind)", f"{hsize / 1e6:g} MB, ratio vs native on "
                  "that input (the row above)")
        if not valgrind:
            row.na = no_helgrind
        else:
            hdata = data_file(data_dir, hsize)
            small = rounds({"native": pigz_native(hdata)}, f"pigz -p 2, {hsize / 1e6:g} MB")
            base = native_row("pigz -p 2", f"{hsize / 1e6:g} MB of log text", small["native"],
                              prog_time)
            base.config = "native (Helgrind's input)"
            rows.append(base)
            log(f"pigz -p 2: Helgrind, {hsize / 1e6:g} MB, 1 run")
            r = run([valgrind, "--tool=helgrind", "-q"] + cmd, stdin_path=hdata,
                    stdout_path=out)
            if r.status != 0:
                row.na = f"exits {r.status}: {first_line(r.stderr)}"
            else:
                row.time = r.wall
                row.ratio = r.wall / base.time
                row.cpu = r.cpu
                row.cpu_ratio = r.cpu / base.cpu if base.cpu else None
                row.rss = f"{mb(r.maxrss_kb):.1f}"
                if r.out_sha != base.sha:
                    row.note += "; OUTPUT DIFFERS from native"
        rows.append(row)

    shutil.rmtree(work, ignore_errors=True)
    return rows, sizes


def native_row(workload, desc, results, key):
    m = median_run(results, key)
    row = Row(workload, "native", desc)
    row.time = key(m)
    row.ratio = 1.0
    row.rss = f"{mb(m.maxrss_kb):.1f}"
    row.runs = [key(r) for r in results]
    row.ops = m.ops
    row.sha = m.out_sha
    row.cpu = statistics.median(r.cpu for r in results)
    row.cpu_ratio = 1.0
    return row


def note_status(row, results):
    bad = [r.status for r in results if r.status != 0]
    if bad:
        row.note += f"; exit status {bad[0]} (native 0)"


def prog_time(r):
    """The target's own wall time (fork to exit, seen from outside), else the command's."""
    return r.prog_wall if r.prog_wall is not None else r.wall


def verdict(checks):
    return "pass" if all(checks) else "FAIL"


def fill_tool_row(row, res, native_time, key, ops, native_cpu):
    row.cpu = statistics.median(r.cpu for r in res)
    row.cpu_ratio = row.cpu / native_cpu if native_cpu else None
    m = median_run(res, key)
    row.time = key(m)
    row.ratio = row.time / native_time
    row.ns_op = (row.time - native_time) / ops * 1e9 if ops else None
    row.rss = f"{mb(m.maxrss_kb):.1f}"
    row.runs = [key(r) for r in res]


def fill_ravel_row(row, res, native_time, key, ops, native_cpu):
    # CPU: the target's own (sampled from /proc), and what the ravel process used beside it
    # (GNU time's total for `ravel run` minus the target's), watchdog and after-exit work included.
    cpus = [r.target_cpu for r in res if r.target_cpu is not None]
    row.cpu = statistics.median(cpus) if cpus else None
    row.cpu_ratio = row.cpu / native_cpu if row.cpu is not None and native_cpu else None
    rcpu = [r.cpu - r.target_cpu for r in res if r.target_cpu is not None]
    row.ravel_cpu = statistics.median(rcpu) if rcpu else None
    m = median_run(res, key)
    row.time = key(m)
    row.ratio = row.time / native_time
    row.events = m.events
    if m.events:
        row.ns_event = (row.time - native_time) / m.events * 1e9
        row.bpe = m.trace_bytes / m.events
    if ops:
        row.ns_op = (row.time - native_time) / ops * 1e9
    # wait4's ru_maxrss is the largest of `ravel run` and its descendants; the target's own
    # peak is its VmHWM, sampled every 5 ms while it ran.
    target = f"{mb(m.target_hwm_kb):.1f}" if m.target_hwm_kb else "?"
    row.rss = f"{mb(m.maxrss_kb):.1f} (target {target})"
    row.runs = [key(r) for r in res]
    row.total_wall = statistics.median(r.wall for r in res)
    progs = [r.prog_wall for r in res if r.prog_wall is not None]
    row.prog_wall = statistics.median(progs) if progs else None
    afters = [r.after_exit for r in res if r.after_exit is not None]
    row.after_exit = statistics.median(afters) if afters else None
    row.after_exit_runs = afters


# ---------------------------------------------------------------------------------------------
# Output
def table(rows):
    head = ["workload", "configuration", "program time (s)", "ratio to native",
            "CPU time (s), ratio", "ns added / event", "ns added / lock op", "peak RSS (MB)", "trace B / event",
            "events", "budget", "result", "notes"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in rows:
        if r.na:
            cells = [r.workload, r.config, "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a", "n/a",
                     r.budget, "n/a" if r.budget else "", f"{r.note}; n/a: {r.na}".lstrip("; ")]
        else:
            cpu = fmt(r.cpu, ".2f") + (f", {r.cpu_ratio:.2f}x" if r.cpu_ratio else "")
            cells = [r.workload, r.config, fmt(r.time, ".3f"), fmt(r.ratio, ".2f") + "x", cpu,
                     fmt(r.ns_event, ".1f"), fmt(r.ns_op, ".1f"), r.rss or "—",
                     fmt(r.bpe, ".2f"), fmt(r.events, ","), r.budget, r.result,
                     r.note]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def after_exit_table(rows):
    head = ["workload", "`ravel run` wall (s)", "program wall under ravel, fork to exit (s)",
            "after the program exited (s)", "µs per 1k events", "CPU of the ravel process (s)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in rows:
        if r.config != "ravel run":
            continue
        if r.na:
            lines.append(f"| {r.workload} | n/a | n/a | n/a | n/a | n/a |")
            continue
        prog = r.prog_wall
        per = (r.after_exit / r.events * 1e9 if r.after_exit is not None and r.events else None)
        lines.append(f"| {r.workload} | {r.total_wall:.3f} | {fmt(prog, '.3f')} | "
                     f"{fmt(r.after_exit, '.3f')} | {fmt(per, '.1f')} | {fmt(r.ravel_cpu, '.2f')} |")
    return "\n".join(lines)


def machine():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True,
                                  timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"
    model = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    virt = sh("lscpu | sed -n 's/^Hypervisor vendor: *//p' | head -1")
    mem = sh("awk '/MemTotal/ {printf \"%.1f GiB\", $2/1048576}' /proc/meminfo")
    return [
        ("date (UTC)", datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M")),
        ("CPU", f"{model}, {os.cpu_count()} cores" + (f" ({virt} VM)" if virt else "")),
        ("memory", mem),
        ("kernel", platform.release()),
        ("glibc", sh("ldd --version | head -1 | sed 's/^ldd //'")),
        ("compilers", sh("gcc --version | head -1") + "; " +
         sh("clang-19 --version | head -1")),
        ("tools", sh("valgrind --version") + "; " + sh("pigz --version 2>&1")),
        ("ravel", "commit " + sh(f"git -C {REPO} rev-parse --short HEAD") +
         (" + uncommitted changes" if sh(f"git -C {REPO} status --porcelain -uno") else "")),
        ("load average at start", LOAD_AT_START),
    ]


def report(rows, sizes, args):
    mode = "quick" if args.quick else "full"
    out = []
    out.append(f"ravel benchmarks ({mode} run; program time is the median of {sizes['runs']} "
               f"run(s), Helgrind 1 run)\n")
    out.append("\n".join(f"- {k}: {v}" for k, v in machine()))
    out.append("\n\n" + table(rows) + "\n")
    out.append("\nTime `ravel run` spends after the program exits (compaction, analysis):\n\n")
    out.append(after_exit_table(rows) + "\n")
    runs = [f"- {r.workload} / {r.config}: " + ", ".join(f"{x:.3f}" for x in r.runs)
            for r in rows if len(r.runs) > 1]
    if runs:
        out.append("\nEvery run's program time (s):\n\n" + "\n".join(runs) + "\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__)
    ap.add_argument("--build-dir", required=True)
    ap.add_argument("--quick", action="store_true", help="small sizes, 1 run each (smoke test)")
    ap.add_argument("--no-helgrind", action="store_true")
    ap.add_argument("--no-tsan", action="store_true")
    ap.add_argument("--no-ravel", action="store_true")
    ap.add_argument("--runs", type=int, default=0, help="runs per measurement (default 3)")
    ap.add_argument("--data-dir", help="cache of generated input (default BUILD/bench-data)")
    ap.add_argument("--tmp-dir", help="where traces and outputs go while measuring")
    ap.add_argument("--out", help="write the table here too (default BUILD/bench-results.md)")
    ap.add_argument("--strict", action="store_true",
                    help="exit 1 when a ravel row could not be measured (ravel failed) or an output "
                         "differs from native: what the smoke test checks")
    args = ap.parse_args()
    rows, sizes = measure(args)
    text = report(rows, sizes, args)
    print(text)
    out = args.out or os.path.join(args.build_dir, "bench-results.md")
    with open(out, "w") as f:
        f.write(text)
    log(f"table written to {out}")
    if args.strict:
        problems = strict_problems(rows)
        for p in problems:
            print(f"bench: {p}", file=sys.stderr)
        if problems:
            sys.exit(1)


def strict_problems(rows):
    """What makes a smoke run fail: a ravel row not measured for any reason but a skip the user
    asked for, and any output that differs from the native run's. Budgets are not checked: the
    smoke sizes are too small to decide them."""
    problems = []
    for row in rows:
        if "ravel" in row.config and row.na and not row.na.startswith("skipped"):
            problems.append(f"{row.workload}, {row.config}: not measured: {row.na}")
        if "OUTPUT DIFFERS" in (row.note or ""):
            problems.append(f"{row.workload}, {row.config}: output differs from native")
    return problems


if __name__ == "__main__":
    main()
