// `ravel attach PID [--format text|json|sarif] [-o SNAPSHOT] [--kill]`, `ravel attach --core FILE
// [PROGRAM]`: the report of a process that runs (or hangs) without ravel, or of its core file. The library reads one instant of it (attach/: /proc, libdwfl,
// the glibc objects its threads block on) and writes that instant as a trace; the report is then
// `ravel report` of that trace, so both say the same thing and exit the same way (66 on a deadlock).
// docs/cli.md is the user's description.
#include "commands.hpp"

#include "attach/glibc_objects.hpp"
#include "attach/kernel_tasks.hpp"
#include "attach/process_snapshot.hpp"
#include "attach/snapshot_trace.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>

namespace ravel::cli {

namespace {

struct AttachOptions {
    std::string target;   // the PID; with --core, the program (optional)
    std::string core;
    uint32_t pid = 0;
    std::string format = "text";
    std::string snapshot; // -o: keep the snapshot trace there
    bool kill = false;
};

// The snapshot's file while the report reads it, removed afterwards unless the user asked for it.
class ScratchTrace {
public:
    ScratchTrace()
    {
        const char* dir = std::getenv("TMPDIR");
        std::string path = fmt::format("{}/ravel-attach-XXXXXX", dir && *dir ? dir : "/tmp");
        int fd = ::mkstemp(path.data());
        if (fd < 0)
            throw TraceError(fmt::format("{}: cannot create: {}", path, std::strerror(errno)));
        ::close(fd);
        m_path = path;
    }
    ~ScratchTrace() { ::unlink(m_path.c_str()); }
    const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// The command line of process `pid` ("prog arg1 arg2"), or "" when it cannot be read.
std::string commandLine(uint32_t pid)
{
    std::string raw;
    if (FILE* f = std::fopen(fmt::format("/proc/{}/cmdline", pid).c_str(), "r")) {
        char buf[512];
        size_t n = std::fread(buf, 1, sizeof buf, f);
        raw.assign(buf, n);
        std::fclose(f);
    }
    while (!raw.empty() && raw.back() == '\0')
        raw.pop_back();
    std::replace(raw.begin(), raw.end(), '\0', ' ');
    return raw;
}

// A thread that waits for a child process waits on something this snapshot does not hold: the
// child's own threads. Say which child, so the user can attach to it (the snapshot alone would
// read "no findings" for a parent that waits on a hung child).
void noteWaitedChildren(const ProcessSnapshot& snap)
{
    std::vector<uint32_t> children = childProcesses(snap.pid);
    for (size_t i = 0; i < snap.threads.size(); i++) {
        long asked = childWaitedFor(snap.threads[i].task);
        if (asked == 0)
            continue;
        std::vector<uint32_t> waited;
        for (uint32_t c : children)
            if (asked < 0 || uint32_t(asked) == c)
                waited.push_back(c);
        std::string who = asked > 0 ? fmt::format("child process {}", asked) : "any child process";
        if (waited.empty()) {
            fmt::print(stderr, "==ravel== note: T{} (tid {}) waits for {}, and none is running\n", i + 1,
                       snap.threads[i].task.osTid, who);
            continue;
        }
        std::string list;
        for (uint32_t c : waited)
            list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", c, commandLine(c));
        fmt::print(stderr, "==ravel== note: T{} (tid {}) waits for {}: {}; this snapshot does not read children: "
                   "`ravel attach {}` reports {}\n",
                   i + 1, snap.threads[i].task.osTid, who, list, waited.front(), waited.size() > 1 ? "the first" : "it");
    }
}

int runAttach(AttachOptions o)
{
    if (o.core.empty()) {
        char* end = nullptr;
        unsigned long pid = o.target.empty() ? 0 : std::strtoul(o.target.c_str(), &end, 10);
        if (o.target.empty() || *end || pid == 0 || pid > 4194304) {
            fmt::print(stderr, "ravel: attach: {} is not a process id (see 'ravel attach --help')\n",
                       o.target.empty() ? "nothing" : "'" + o.target + "'");
            return 2;
        }
        o.pid = uint32_t(pid);
    } else if (o.kill) {
        fmt::print(stderr, "ravel: attach: --kill needs a live process, not a core file\n");
        return 2;
    }
    ProcessSnapshot snap;
    try {
        snap = o.core.empty() ? snapshotProcess(o.pid) : snapshotCore(o.core, o.target);
    } catch (const AttachError& e) {
        fmt::print(stderr, "ravel: attach: {}\n", e.what());
        return 1;
    }
    for (const std::string& w : snap.warnings)
        fmt::print(stderr, "ravel: warning: {}\n", w);
    for (const SnapshotThread& t : snap.threads)
        if (!t.unwindError.empty())
            fmt::print(stderr, "ravel: warning: thread {} of process {}: no whole stack: {}\n", t.task.osTid,
                       snap.pid, t.unwindError);

    std::vector<BlockedWait> waits;
    {
        Symbolizer sym(snap.modules);
        std::string glibc = glibcVersion(snap.modules);
        bool known = glibcLayoutKnown(glibc);
        if (!known)
            fmt::print(stderr,
                       "ravel: warning: process {} uses glibc {}, whose object layouts ravel does not decode (it "
                       "decodes glibc 2.36 on x86_64): its futex waits are shown as unknown objects\n",
                       snap.pid, glibc.empty() ? "(unknown)" : glibc);
        for (const SnapshotThread& t : snap.threads)
            waits.push_back(decodeWait(snap, t, sym, known));
    }

    int status = 1;
    try {
        std::unique_ptr<ScratchTrace> scratch;
        std::string path = o.snapshot;
        if (path.empty()) {
            scratch = std::make_unique<ScratchTrace>();
            path = scratch->path();
        }
        writeSnapshotTrace(snap, waits, path);
        status = reportTrace(path, o.format, "");
        if (o.core.empty())
            noteWaitedChildren(snap);
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: attach: {}\n", e.what());
        status = 1;
    }
    if (o.kill) {
        if (::kill(pid_t(o.pid), SIGKILL) != 0)
            fmt::print(stderr, "ravel: attach: cannot kill process {}: {}\n", o.pid, std::strerror(errno));
        else
            fmt::print(stderr, "==ravel== killed process {}\n", o.pid);
    }
    return status;
}

} // namespace

void addAttachCommand(CLI::App& app, int& status)
{
    auto o = std::make_shared<AttachOptions>();
    CLI::App* cmd = app.add_subcommand("attach", "Report the deadlock of a process that runs without ravel, from "
                                                 "one instant of its threads (stopped only while unwinding)");
    cmd->footer("Exit status: 66 when the process is deadlocked, 0 when it is not, 1 when it cannot be read "
                "(no such process, ptrace not permitted). The process is left running as it was, unless --kill.\n");
    cmd->add_option("PID", o->target, "the process; with --core, the program the core is of (optional)")
        ->type_name("PID|PROGRAM");
    cmd->add_option("--core", o->core, "Read a core file (gcore's, a crash's) instead of a live process")
        ->type_name("FILE");
    cmd->add_option("--format", o->format, "text (default), json or sarif (docs/report-format.md)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({ "text", "json", "sarif" }));
    cmd->add_option("-o,--output", o->snapshot, "Keep the snapshot as a trace in FILE (for report, graph, the GUI)")
        ->type_name("SNAPSHOT");
    cmd->add_flag("--kill", o->kill, "Kill the process (SIGKILL) after the report");
    cmd->callback([o, &status] { status = runAttach(*o); });
}

} // namespace ravel::cli
