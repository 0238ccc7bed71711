// `ravel run [options] -- PROGRAM [ARGS]`: records PROGRAM with the preloaded runtime, passing its
// stdin, stdout, stderr, signals and exit status through unchanged, then compacts the trace and
// prints one summary line on stderr. docs/cli.md is the user's description.
#include "commands.hpp"
#include "ravel_options.hpp"
#include "launcher.hpp"
#include "run_end.hpp"
#include "process_watch.hpp"
#include "trace_handover.hpp"

#include "analysis/analysis.hpp"
#include "attach/run_wait_report.hpp"
#include "analysis/run_analysis.hpp"
#include "model/replay_model.hpp"
#include "report/report_text.hpp"
#include "report/run_findings.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/run_traces.hpp"
#include "trace/trace_reader.hpp"
#include "base/trace_time.hpp"

#include <fmt/format.h>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

extern char** environ;

namespace ravel::cli {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct RunOptions {
    std::string output;
    std::string flightRecorder; // SIZE, as typed
    std::string chunkSize; // SIZE, as typed
    unsigned stackDepth = 0; // 0 = not given
    bool quiet = false;
    bool verbose = false;
    std::string onDeadlock = "kill"; // kill | stop | wait
    int errorExitCode = 66;
    std::string stallTimeout = "3s";
    bool noWatchdog = false;
    bool noFollow = false;
};

// "4M", "512K", "65536", "1GiB": bytes. Throws a usage error naming the option.
uint64_t parseSize(const std::string& text, const std::string& option)
{
    auto bad = [&] {
        return CLI::ValidationError(
            option, fmt::format("'{}' is not a size (a number with an optional K, M or G suffix)", text));
    };
    size_t i = 0;
    uint64_t value = 0;
    for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; i++) {
        if (value > (UINT64_MAX - 9) / 10)
            throw bad();
        value = value * 10 + uint64_t(text[i] - '0');
    }
    if (i == 0)
        throw bad();
    std::string suffix = text.substr(i);
    for (auto& c : suffix)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    unsigned shift = 0;
    if (suffix.empty() || suffix == "b")
        shift = 0;
    else if (suffix == "k" || suffix == "kb" || suffix == "kib")
        shift = 10;
    else if (suffix == "m" || suffix == "mb" || suffix == "mib")
        shift = 20;
    else if (suffix == "g" || suffix == "gb" || suffix == "gib")
        shift = 30;
    else
        throw bad();
    if (value > (UINT64_MAX >> shift))
        throw bad();
    return value << shift;
}

bool truthy(const std::optional<std::string>& value)
{
    return value && !value->empty() && *value != "0";
}

// The runtime keys the command line sets; appended after the user's own RAVEL_OPTIONS so they win.
std::string runtimeOptionsFromFlags(const RunOptions& opts)
{
    std::string keys;
    auto add = [&](const std::string& key, uint64_t value) {
        keys += fmt::format("{}{}={}", keys.empty() ? "" : ":", key, value);
    };
    if (!opts.flightRecorder.empty()) {
        uint64_t bytes = parseSize(opts.flightRecorder, "--flight-recorder");
        add("flight_recorder", (bytes + 1023) / 1024);
    }
    if (!opts.chunkSize.empty()) {
        uint64_t bytes = parseSize(opts.chunkSize, "--chunk-size");
        if (bytes < 4096 || bytes > (16u << 20) || (bytes & (bytes - 1)) != 0)
            throw CLI::ValidationError(
                "--chunk-size", fmt::format("{} is not a power of two from 4K to 16M", opts.chunkSize));
        add("chunk_size", bytes);
    }
    if (opts.stackDepth)
        add("stack_depth", opts.stackDepth);
    if (opts.noFollow)
        add("follow", 0);
    return keys;
}

std::string currentDirectory()
{
    std::error_code ec;
    fs::path cwd = fs::current_path(ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot determine the current directory: {}", ec.message()));
    return cwd.string();
}

std::string errorText(int error)
{
    return std::strerror(error);
}

// Status as a shell gives it when a program cannot be started.
int execFailureStatus(int error)
{
    return error == ENOENT ? 127 : 126;
}

struct TraceFile {
    std::string path; // absolute
    std::string display; // as the user refers to it
};

// Whether the process that writes this trace still runs (a daemon the program left behind):
// compacting would replace the file under its writer, and the events it writes later would go
// to the unlinked original.
bool writerStillRuns(const std::string& path)
{
    RavelFileHeader header;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t got = pread(fd, &header, sizeof header, 0);
    close(fd);
    if (got != static_cast<ssize_t>(sizeof header) || std::memcmp(header.magic, RAVEL_TRACE_MAGIC, 8) != 0
        || (header.flags & RAVEL_FILE_ENDED) || header.pid == 0)
        return false;
    if (kill(static_cast<pid_t>(header.pid), 0) != 0 && errno != EPERM)
        return false;
    // A zombie (killed with the run, not reaped yet by its parent, itself gone) writes no more.
    char state = 0;
    if (FILE* f = std::fopen(fmt::format("/proc/{}/stat", header.pid).c_str(), "r")) {
        char line[512];
        if (std::fgets(line, sizeof line, f))
            if (const char* close = std::strrchr(line, ')'); close && close[1] == ' ')
                state = close[2];
        std::fclose(f);
    }
    return state != 'Z' && state != 'X';
}

// "prog.123.*.ravel" for the main trace "prog.123.ravel", as the user would type it.
std::string childPattern(const TraceFile& main)
{
    std::string display = main.display;
    if (display.size() > 6 && display.compare(display.size() - 6, 6, ".ravel") == 0)
        display.resize(display.size() - 6);
    return display + ".*.ravel";
}

// A line on stderr that never throws: stderr may be a pipe whose reader has gone, and that must
// not cost the program's exit status. One write per line, so lines of processes sharing stderr
// do not interleave.
template <typename... Args> void say(fmt::format_string<Args...> format, Args&&... args)
{
    std::string line = fmt::format(format, std::forward<Args>(args)...);
    std::fwrite(line.data(), 1, line.size(), stderr);
}

double millisSince(Clock::time_point start)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

class RunCommand {
public:
    RunCommand(const RunOptions& opts, std::vector<std::string> command)
        : m_opts(opts)
        , m_command(std::move(command))
    {
    }

    int execute();

private:
    void prepareTracePath();
    bool clearOldTrace();
    std::vector<std::string> childEnvironment(const std::string& runtime, Injection injection) const;
    void finish(const TraceFile& main, bool recordable, double ranMs);
    void recordEnd(const std::string& trace, const TargetProcess& target);
    void onDeadlock(const Finding& f, uint64_t verdictNs, const std::string& trace, bool mainTrace, pid_t target);
    void onRunDeadlock(const RunDeadlock& d, pid_t target, const std::string& mainTrace);
    void reportAtExit(const TraceReader& reader, bool mainTrace);

    RunOptions m_opts;
    std::vector<std::string> m_command;
    std::string m_userOptions; // RAVEL_OPTIONS as ravel got it
    bool m_hasUserOptions = false;
    std::string m_flagOptions; // runtime keys built from the command line
    LaunchSpec m_spec;
    uint64_t m_runId = 0;
    TraceFile m_fixedTrace; // with -o
    std::atomic<bool> m_deadlock { false };   // the watchdog found one: the exit status says so
    // A likely deadlock reported live but left running (DESIGN.md's verdict table): its threads.
    // It sets the exit status only if they are still blocked when the program exits.
    std::mutex m_likelyMutex;
    std::vector<std::pair<std::string, uint32_t>> m_likelyThreads; // (trace, thread)
    std::mutex m_deadlockMutex; // one process's deadlock is dealt with at a time
    std::atomic<bool> m_runLikely { false }; // a likely deadlock across processes was reported
    std::atomic<bool> m_reportDone { false }; // its report is on stderr and the target dealt with
    size_t m_errorsAtExit = 0;                // findings at exit that set the error exit code
    size_t m_findingsAtExit = 0;              // numbered over every process of the run
    size_t m_notesAtExit = 0;
};

void RunCommand::reportAtExit(const TraceReader& reader, bool mainTrace)
{
    RunAnalysis run(reader, ReplayModel::Retain::EndState);
    Symbolizer sym(reader.modules());
    std::vector<Finding> findings = analyzeTrace(run, sym);
    // A finding of another process of the run says which one.
    if (!mainTrace)
        for (Finding& f : findings)
            f.title += " in " + processLabel(reader.summary());
    TextReportOptions opt;
    opt.color = isatty(STDERR_FILENO);
    // Errors are printed; notes (threads blocked at exit, inversions within one thread) are
    // normal in many healthy programs (idle pool workers at exit): counted, for `ravel report`.
    size_t notes = 0;
    for (const Finding& f : findings) {
        size_t number = ++m_findingsAtExit;
        if (!isError(f)) {
            notes++;
            continue;
        }
        say("{}\n", renderFindingText(f, number, reader, sym, opt));
        m_errorsAtExit++;
    }
    std::vector<uint32_t> likely;
    {
        std::lock_guard<std::mutex> lock(m_likelyMutex);
        for (const auto& [trace, tid] : m_likelyThreads)
            if (trace == reader.summary().path)
                likely.push_back(tid);
    }
    if (!likely.empty()) {
        // The likely deadlock reported while the program ran still held when it exited: its threads
        // never woke up, so it was one.
        std::vector<uint32_t> stuck;
        for (const Finding& f : findings)
            if (f.kind == "blocked-at-exit" || f.kind == "deadlock")
                for (const FindingThread& t : f.threads)
                    stuck.push_back(t.id);
        bool holds = std::all_of(likely.begin(), likely.end(), [&](uint32_t id) {
            return std::find(stuck.begin(), stuck.end(), id) != stuck.end();
        });
        if (holds) {
            say("==ravel== the likely deadlock reported while the program ran still held when it exited\n");
            m_errorsAtExit++;
        }
    }
    m_notesAtExit += notes;
    std::fflush(stderr);
}

// On the watchdog thread, the moment a deadlock is confirmed: freeze the target so the report
// describes what is (a killed target cannot change the trace under the reader), print the
// report, then end it, leave it stopped for a debugger, or leave it hanging, as asked.
void RunCommand::onDeadlock(const Finding& found, uint64_t verdictNs, const std::string& trace, bool mainTrace,
                            pid_t target)
{
    // Watchdogs of several processes may find deadlocks at once: the first certain one ends the run.
    std::lock_guard<std::mutex> serial(m_deadlockMutex);
    if (m_deadlock.load())
        return;
    // A likely deadlock is a warning: some waker is only presumed stuck (a thread that never used the
    // channel, a signal handler, another process), so the program is not ended for it.
    bool likely = found.certainty == Verdict::Likely;
    if (likely) {
        std::lock_guard<std::mutex> lock(m_likelyMutex);
        for (const FindingThread& t : found.threads)
            m_likelyThreads.emplace_back(trace, t.id);
    } else {
        m_deadlock.store(true);
    }
    // The whole run stops, then ends: the target leads its own process group, and every process
    // of the run that did not leave it is in it.
    auto signalRun = [target](int sig) {
        if (kill(-target, sig) != 0)
            kill(target, sig);
    };
    if (m_opts.onDeadlock != "wait" && !likely)
        signalRun(SIGSTOP);
    pid_t stuck = target; // the deadlocked process
    std::string text;
    try {
        TraceReader reader(trace);
        Symbolizer sym(reader.modules());
        Finding f = found;
        nameFindingObjects(f, reader, sym);
        if (!mainTrace)
            f.title += " in " + processLabel(reader.summary());
        if (reader.summary().pid)
            stuck = static_cast<pid_t>(reader.summary().pid);
        TextReportOptions opt;
        opt.color = isatty(STDERR_FILENO);
        text = renderFindingText(f, 1, reader, sym, opt);
        std::string latency = verdictNs >= f.timeNs ? formatTraceTime(verdictNs - f.timeNs) : "0ns";
        text += fmt::format("==ravel== found at {} into the run, {} after the last thread of it blocked\n",
                            formatTraceTime(verdictNs), latency);
    } catch (const std::exception& e) {
        text = fmt::format("==ravel== ERROR: deadlock ({}): {} (the trace could not be read for details: {})\n",
                           verdictName(found.certainty), found.title, e.what());
    }
    say("{}", text);
    if (likely) {
        say("==ravel== the program keeps running: a likely deadlock is not ended; if these threads are still "
            "blocked when it exits, ravel exits with {}\n",
            m_opts.errorExitCode);
        std::fflush(stderr);
        return;
    }
    if (m_opts.onDeadlock == "kill") {
        say("==ravel== ending the target (pid {}); --on-deadlock=stop keeps it for a debugger\n", target);
        signalRun(SIGKILL);
    } else if (m_opts.onDeadlock == "stop") {
        say("==ravel== stopped pid {} for a debugger: gdb -p {}; ravel waits until it ends (kill -CONT {} lets it "
            "run on)\n",
            stuck, stuck, stuck);
    } else {
        say("==ravel== the target (pid {}) is left hanging: --on-deadlock=wait\n", stuck);
    }
    std::fflush(stderr);
}

// The run watch's verdict: processes deadlocked through pipes, sockets, FIFOs or waits for
// children. Their stacks are read first (each thread stops only while it unwinds), then the run is
// stopped, reported and ended like a deadlock within one process.
void RunCommand::onRunDeadlock(const RunDeadlock& d, pid_t target, const std::string& mainTrace)
{
    std::lock_guard<std::mutex> serial(m_deadlockMutex);
    if (m_deadlock.load())
        return;
    bool likely = d.verdict == Verdict::Likely;
    if (likely)
        m_runLikely.store(true);
    else
        m_deadlock.store(true);
    RunWaitStacks stacks = captureRunWaitStacks(d);
    // Every process of the deadlock, also one that left the target's process group (setsid).
    auto signalRun = [&](int sig) {
        if (kill(-target, sig) != 0)
            kill(target, sig);
        for (const auto& [pid, command] : d.commands)
            if (pid_t(pid) != target)
                kill(pid_t(pid), sig);
    };
    if (m_opts.onDeadlock != "wait" && !likely)
        signalRun(SIGSTOP);
    std::string text = renderRunDeadlockText(d, stacks, isatty(STDERR_FILENO));
    text += fmt::format("==ravel== found {} after these threads were first seen blocked\n",
                        formatTraceTime(d.confirmedNs - d.firstSeenNs));
    say("{}", text);
    // No trace's events show a wait the kernel told of: the finding is kept beside the traces, for
    // `ravel report` afterwards.
    try {
        uint64_t start = traceStartMonoNs(mainTrace);
        auto since = [&](uint64_t mono) { return start && mono > start ? mono - start : 0; };
        StoredRunFinding stored { runDeadlockJson(d, stacks, since(d.confirmedNs), since(d.firstSeenNs)),
                                  renderRunDeadlockText(d, stacks, false) };
        appendRunFinding(mainTrace, traceRunId(mainTrace), stored);
    } catch (const std::exception& e) {
        say("ravel: warning: the finding is not kept for ravel report: {}\n", e.what());
    }
    if (likely) {
        say("==ravel== the program keeps running: a likely deadlock is not ended; if it is stopped while these "
            "threads are still blocked, ravel exits with {}\n",
            m_opts.errorExitCode);
        std::fflush(stderr);
        return;
    }
    if (m_opts.onDeadlock == "kill") {
        say("==ravel== ending the target (pid {}) and every process of the deadlock; --on-deadlock=stop keeps them "
            "for a debugger\n",
            target);
        signalRun(SIGKILL);
    } else if (m_opts.onDeadlock == "stop") {
        say("==ravel== stopped the run for a debugger (gdb -p PID for each pid above); ravel waits until it ends\n");
    } else {
        say("==ravel== the target (pid {}) is left hanging: --on-deadlock=wait\n", target);
    }
    std::fflush(stderr);
}

void RunCommand::prepareTracePath()
{
    std::string cwd = currentDirectory();
    if (m_opts.output.empty()) {
        // Said now, in one line, rather than by the runtime inside the program and again at exit.
        if (access(cwd.c_str(), W_OK | X_OK) != 0)
            throw CLI::ValidationError(
                fmt::format("cannot write the trace into {}: {}; choose a file with -o", cwd, errorText(errno)));
        m_spec.traceDir = cwd;
        m_spec.traceName = fs::path(m_command[0]).filename().string();
        if (m_spec.traceName.empty() || m_spec.traceName == "." || m_spec.traceName == "..")
            m_spec.traceName = "trace";
        return;
    }
    // Absolute: the runtime reads the variable in the target, which may have changed directory
    // before it execs another recorded program.
    fs::path out = fs::path(m_opts.output);
    fs::path absolute = out.is_absolute() ? out : fs::path(cwd) / out;
    struct stat st;
    if (lstat(absolute.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
        throw CLI::ValidationError("-o", fmt::format("{}: is a directory", m_opts.output));
    fs::path dir = absolute.parent_path();
    if (stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
        throw CLI::ValidationError("-o", fmt::format("{}: no such directory", dir.string()));
    if (access(dir.c_str(), W_OK | X_OK) != 0)
        throw CLI::ValidationError("-o", fmt::format("{}: {}", dir.string(), errorText(errno)));
    m_spec.traceFile = absolute.string();
    m_fixedTrace = { absolute.string(), m_opts.output };
}

// Called only once the program is known to exist, so a typo in PROGRAM keeps the old trace.
bool RunCommand::clearOldTrace()
{
    if (m_fixedTrace.path.empty())
        return true;
    // The runtime creates the trace with O_EXCL, so an old file would divert the recording; and
    // a stale trace left at FILE would pass for this run's.
    if (unlink(m_fixedTrace.path.c_str()) != 0 && errno != ENOENT) {
        say("ravel: cannot replace {}: {}\n", m_fixedTrace.display, errorText(errno));
        return false;
    }
    // And the old run's findings (a reader would ignore them by their run id, with a warning).
    unlink(runFindingsPath(m_fixedTrace.path).c_str());
    return true;
}

std::vector<std::string> RunCommand::childEnvironment(const std::string& runtime, Injection injection) const
{
    std::vector<std::string> env;
    std::string preload;
    for (char** e = environ; *e; e++) {
        std::string entry = *e;
        if (entry.rfind("LD_PRELOAD=", 0) == 0) {
            preload = entry.substr(11);
            continue;
        }
        if (entry.rfind("RAVEL_OPTIONS=", 0) == 0 || entry.rfind("RAVEL_TRACE_FILE=", 0) == 0
            || entry.rfind("RAVEL_RUN_ID=", 0) == 0)
            continue;
        env.push_back(std::move(entry));
    }
    // A 32-bit or foreign target would make the loader print an error about the 64-bit runtime:
    // leave its environment as the user had it.
    if (injection == Injection::ForeignArch) {
        if (!preload.empty())
            env.push_back("LD_PRELOAD=" + preload);
    } else {
        // First, so the runtime's interceptors come before any other preloaded library's; and
        // once (ravel run under ravel run).
        std::string list = runtime;
        size_t at = 0;
        while (at <= preload.size()) {
            size_t end = std::min(preload.find_first_of(": ", at), preload.size());
            std::string entry = preload.substr(at, end - at);
            if (!entry.empty() && entry != runtime)
                list += ":" + entry;
            at = end + 1;
        }
        env.push_back("LD_PRELOAD=" + list);
    }
    std::string options = m_userOptions;
    if (!m_flagOptions.empty())
        options += (options.empty() ? "" : ":") + m_flagOptions;
    if (m_hasUserOptions || !options.empty())
        env.push_back("RAVEL_OPTIONS=" + options);
    // Every process of the run writes it into its trace's header: how `ravel report` tells this
    // run's per-process traces from another run's of the same name, whoever starts them (a
    // shell's `system()` children inherit the environment, not the runtime's memory).
    env.push_back(fmt::format("RAVEL_RUN_ID={:x}", m_runId));
    return env;
}

int RunCommand::execute()
{
    const std::string& program = m_command[0];
    if (const char* options = std::getenv("RAVEL_OPTIONS")) {
        m_userOptions = options;
        m_hasUserOptions = true;
    }
    // Command-line flags beat RAVEL_OPTIONS, as for the sanitizers.
    if (!m_opts.quiet && !m_opts.verbose) {
        m_opts.verbose = truthy(optionValue(m_userOptions, "verbose"));
        m_opts.quiet = !m_opts.verbose && truthy(optionValue(m_userOptions, "quiet"));
    }
    m_flagOptions = runtimeOptionsFromFlags(m_opts);
    prepareTracePath();

    std::string runtime;
    try {
        runtime = findRuntime();
    } catch (const std::runtime_error& e) {
        say("ravel: {}\n", e.what());
        return 2;
    }

    ResolvedProgram resolved = resolveProgram(program);
    if (resolved.error) {
        say("ravel: cannot run {}: {}\n", program, errorText(resolved.error));
        return execFailureStatus(resolved.error);
    }
    if (!clearOldTrace())
        return 2;
    Injection injection = inspectExecutable(resolved.path);
    bool recordable = injection == Injection::Possible;
    if (!recordable)
        say("ravel: cannot record {}: {}; running it without recording\n", program, describe(injection));
    std::fflush(stderr);

    m_spec.path = resolved.path;
    m_spec.argv = m_command;
    std::random_device random;
    m_runId = (uint64_t(random()) << 32 | random()) | 1;
    m_spec.env = childEnvironment(runtime, injection);
    m_spec.killWithRavel = m_opts.onDeadlock != "stop";
    if (m_opts.verbose) {
        say("==ravel== runtime: {}\n", runtime);
        std::string options
            = m_userOptions + (m_userOptions.empty() || m_flagOptions.empty() ? "" : ":") + m_flagOptions;
        if (!options.empty())
            say("==ravel== RAVEL_OPTIONS={}\n", options);
        std::fflush(stderr);
    }

    // A process of the run that switched to another user may no longer create its trace in the
    // trace directory: ravel creates it for that process instead.
    TraceHandover handover;
    if (recordable)
        handover.start(m_runId, m_spec.traceFile.empty() ? m_spec.traceDir
                                                         : fs::path(m_spec.traceFile).parent_path().string());
    TargetProcess target;
    auto started = Clock::now();
    int error = target.start(m_spec);
    if (error) {
        say("ravel: cannot run {}: {}\n", program, errorText(error));
        return execFailureStatus(error);
    }
    TraceFile main = m_fixedTrace;
    if (main.path.empty())
        main = { target.traceFile(), fs::path(target.traceFile()).filename().string() };
    handover.setMainTrace(main.path);

    ProcessWatch watchdog;
    pid_t targetPid = target.pid();
    ProcessWatch::RunWatch runWatch;
    runWatch.enabled = !m_opts.noWatchdog && recordable;
    runWatch.targetPid = uint32_t(targetPid);
    runWatch.stallTimeoutNs = *parseTraceTime(m_opts.stallTimeout);
    std::string mainPath = main.path;
    runWatch.onDeadlock = [this, targetPid, mainPath](const RunDeadlock& d) { onRunDeadlock(d, targetPid, mainPath); };
    watchdog.start(main.path, [this, targetPid, mainPath, recordable](const std::string& trace) {
        DeadlockWatch watch;
        watch.enabled = !m_opts.noWatchdog && recordable;
        watch.stallTimeoutNs = *parseTraceTime(m_opts.stallTimeout);
        watch.onDeadlock = [this, trace, mainPath, targetPid](const Finding& f, uint64_t verdictNs) {
            onDeadlock(f, verdictNs, trace, trace == mainPath, targetPid);
        };
        return watch;
    }, runWatch);
    // With --on-deadlock=stop ravel waits on while the target is stopped for the debugger: were
    // ravel to exit, the target's process group would be orphaned with a stopped member, and the
    // kernel would send it SIGHUP (and SIGCONT), ending the program the user wanted to inspect.
    int status = target.wait({});
    // From here on ravel only reports: a reader that went away (`ravel run ... 2>&1 | head`) must
    // not turn the program's status into a death by SIGPIPE. Not earlier: the target inherits
    // the disposition.
    signal(SIGPIPE, SIG_IGN);
    double ranMs = millisSince(started);
    auto exited = Clock::now();
    watchdog.stop();
    handover.stop();
    if (m_opts.verbose && handover.granted())
        say("==ravel== created {} trace{} for processes that had switched user\n", handover.granted(),
            handover.granted() == 1 ? "" : "s");
    recordEnd(main.path, target);
    finish(main, recordable, ranMs);
    if (m_opts.verbose)
        say("==ravel== after exit: {:.1f} ms; exit status {}\n", millisSince(exited), status);
    const TargetEnd& end = target.end();
    // A program that died of a signal ravel did not send (a crash, a supervisor's kill) keeps its
    // status, 128+N, even with findings: the crash is the bigger news (DESIGN.md's verdict table),
    // and a script must still see that the program crashed. The report above says both.
    const bool killedByRavel = m_deadlock.load() && m_opts.onDeadlock == "kill" && end.how == TargetEnd::How::Signaled
        && end.value == SIGKILL && !end.forwarded;
    // After a certain deadlock was reported live, a program left hanging (--on-deadlock=wait) or
    // stopped (stop) is ended by someone: a kill, a debugger's `kill`, a time limit. That ending is
    // the deadlock's consequence, not a crash; a crash signal still keeps its 128+N.
    const bool endedAfterDeadlock = m_deadlock.load() && m_opts.onDeadlock != "kill"
        && end.how == TargetEnd::How::Signaled
        && (end.value == SIGKILL || end.value == SIGTERM || end.value == SIGINT || end.value == SIGHUP
            || end.value == SIGQUIT);
    if (endedAfterDeadlock)
        say("==ravel== the program was ended by {} after the deadlock above\n",
            sigabbrev_np(end.value) ? std::string("SIG") + sigabbrev_np(end.value) : std::to_string(end.value));
    // A likely deadlock across processes, reported while the run hung, still held when the user
    // stopped the run: it was one.
    const bool stoppedInLikely = m_runLikely.load() && end.how == TargetEnd::How::Signaled
        && (end.value == SIGKILL || end.value == SIGTERM || end.value == SIGINT || end.value == SIGHUP
            || end.value == SIGQUIT);
    if (stoppedInLikely) {
        say("==ravel== the run was stopped while the likely deadlock reported above still held\n");
        m_errorsAtExit++;
    }
    const bool crashed = end.how == TargetEnd::How::Signaled && !killedByRavel && !endedAfterDeadlock && !stoppedInLikely;
    int exitStatus = (m_deadlock.load() || m_errorsAtExit) && !crashed ? m_opts.errorExitCode : status;
    if (crashed && (m_deadlock.load() || m_errorsAtExit))
        say("==ravel== exit status {}: the program died of signal {} ({}); the findings above would have made it {}\n",
            status, end.value, sigabbrev_np(end.value) ? sigabbrev_np(end.value) : "?", m_opts.errorExitCode);
    if (target.hadTerminal() && end.how == TargetEnd::How::Signaled && end.value == SIGINT
        && exitStatus == 128 + SIGINT) {
        // The terminal's Ctrl-C went to the program's group alone, so a script or make that
        // started ravel did not get it; dying of it as the program did lets the caller stop as
        // it would have without ravel (an exit status of 130 would not: shells go on).
        std::fflush(stdout);
        std::fflush(stderr);
        signal(SIGINT, SIG_DFL);
        raise(SIGINT);
    }
    return exitStatus;
}

void RunCommand::recordEnd(const std::string& trace, const TargetProcess& target)
{
    const TargetEnd& end = target.end();
    RunEndRecord record;
    record.launchMonoNs = target.launchMonoNs();
    record.endMonoNs = end.monoNs;
    record.value = end.value;
    switch (end.how) {
    case TargetEnd::How::Exited:
        record.how = RAVEL_RUN_EXITED;
        break;
    case TargetEnd::How::Signaled:
        record.how = RAVEL_RUN_SIGNALED;
        if (end.coreDumped)
            record.flags |= RAVEL_RUN_F_CORE_DUMPED;
        if (m_deadlock.load() && m_opts.onDeadlock == "kill" && end.value == SIGKILL)
            record.flags |= RAVEL_RUN_F_BY_RAVEL;
        else if (end.forwarded)
            record.flags |= RAVEL_RUN_F_FORWARDED;
        break;
    case TargetEnd::How::LeftStopped:
        record.how = RAVEL_RUN_STOPPED;
        break;
    case TargetEnd::How::Running:
        return; // waitpid failed: nothing known to record
    }
    writeRunEnd(trace.c_str(), record);
}

void RunCommand::finish(const TraceFile& main, bool recordable, double ranMs)
{
    std::vector<TraceFile> traces;
    struct stat st;
    if (stat(main.path.c_str(), &st) == 0) {
        traces.push_back(main);
        // Every other process of the run: named after the main trace, with its run id.
        fs::path displayDir = fs::path(main.display).parent_path();
        std::vector<std::string> paths = findRunTraces(main.path);
        for (size_t i = 1; i < paths.size(); i++)
            traces.push_back({ paths[i], (displayDir / fs::path(paths[i]).filename()).string() });
    }
    if (traces.empty()) {
        // Nothing recorded anywhere. For a program that cannot carry the runtime the user was
        // told so before it ran; otherwise this is news.
        if (recordable)
            say("ravel: no trace written: {} did not load the runtime\n", m_command[0]);
        return;
    }

    struct Summary {
        uint64_t bytes = 0;
        uint64_t events = 0;
        size_t threads = 0;
        std::string problem;
    };
    std::vector<Summary> summaries;
    auto compactStart = Clock::now();
    // The run's processes were just killed (a deadlock ended the run): give the kernel a moment
    // to end them all before their traces are judged still written.
    if (m_deadlock.load() && m_opts.onDeadlock == "kill") {
        auto until = Clock::now() + std::chrono::milliseconds(500);
        while (Clock::now() < until && std::any_of(traces.begin() + 1, traces.end(), [](const TraceFile& t) {
                   return writerStillRuns(t.path);
               }))
            usleep(5000);
    }
    // Each trace on its own, on every core: a build's hundreds of short processes leave hundreds
    // of small traces, whose compaction is mostly file system work.
    summaries.resize(traces.size());
    std::atomic<size_t> nextTrace { 0 };
    std::mutex sayMutex;
    auto compactSome = [&] {
        for (size_t i; (i = nextTrace.fetch_add(1)) < traces.size();) {
            const TraceFile& trace = traces[i];
            Summary& s = summaries[i];
            struct stat ts;
            if (trace.path != main.path && writerStillRuns(trace.path)) {
                if (stat(trace.path.c_str(), &ts) == 0)
                    s.bytes = uint64_t(ts.st_size);
                s.problem = "its process still runs; not compacted";
                continue;
            }
            try {
                s.bytes = compactTrace(trace.path, trace.path);
            } catch (const std::exception& e) {
                // The raw trace stays: every reader accepts it, it is only bigger.
                std::lock_guard<std::mutex> lock(sayMutex);
                say("ravel: trace {} left uncompacted: {}\n", trace.display, e.what());
                if (stat(trace.path.c_str(), &ts) == 0)
                    s.bytes = uint64_t(ts.st_size);
            }
        }
    };
    size_t workers = std::min<size_t>(std::max(1u, std::thread::hardware_concurrency()), 8);
    workers = std::min(workers, (traces.size() + 15) / 16); // a thread is worth it from 16 traces on
    std::vector<std::thread> pool;
    for (size_t w = 1; w < workers; w++)
        pool.emplace_back(compactSome);
    compactSome();
    for (std::thread& t : pool)
        t.join();
    double compactMs = millisSince(compactStart);

    auto readStart = Clock::now();
    bool raceMode = false;
    for (size_t i = 0; i < traces.size(); i++) {
        if (!summaries[i].problem.empty())
            continue;
        try {
            TraceReader reader(traces[i].path);
            summaries[i].events = reader.eventCount();
            summaries[i].threads = reader.threads().size();
            if (i == 0)
                raceMode = reader.summary().flags & RAVEL_FILE_RACE_MODE;
            if (m_opts.verbose) {
                for (const auto& warning : reader.warnings())
                    say("==ravel== {}: {}\n", traces[i].display, warning);
            }
            // The report at exit, as a sanitizer's: what the run could have done (potential
            // deadlocks), misuse, notes, in every process of the run. After a live deadlock
            // report the headline is given.
            if (!m_deadlock.load())
                reportAtExit(reader, i == 0);
        } catch (const std::exception& e) {
            summaries[i].problem = fmt::format("unreadable: {}", e.what());
        }
    }
    double readMs = millisSince(readStart);
    if (m_notesAtExit && !m_opts.quiet)
        say("==ravel== {} note{} (threads blocked at exit, lock-order inversions within one thread, misuse the "
            "trace could not order): "
            "'ravel report' shows {}\n",
            m_notesAtExit, m_notesAtExit == 1 ? "" : "s", m_notesAtExit == 1 ? "it" : "them");

    if (!m_opts.quiet) {
        auto describeTrace = [&](size_t i) {
            const Summary& s = summaries[i];
            if (!s.problem.empty())
                return fmt::format("{} ({} bytes; {})", traces[i].display, s.bytes, s.problem);
            return fmt::format("{} ({} events, {} threads, {} bytes)", traces[i].display, s.events, s.threads, s.bytes);
        };
        std::string line = "==ravel== trace: " + describeTrace(0);
        // One line however many processes ran: name a few, else the pattern that finds them all.
        if (traces.size() > 1 && traces.size() <= 4) {
            line += fmt::format("; {} more from other processes:", traces.size() - 1);
            for (size_t i = 1; i < traces.size(); i++)
                line += " " + traces[i].display
                    + (summaries[i].problem.empty() ? "" : " (" + summaries[i].problem + ")");
        } else if (traces.size() > 4) {
            line += fmt::format("; {} more from other processes: {}", traces.size() - 1, childPattern(main));
        }
        // Said once, where the user looks: a clean run of an uninstrumented binary proves nothing
        // about races.
        if (!raceMode && summaries[0].problem.empty())
            line += "; no data-race detection (build with ravel-cc / ravel-c++ -O1 -g to find races)";
        say("{}\n", line);
    }
    if (m_opts.verbose)
        say("==ravel== program ran {:.1f} ms; compaction {:.1f} ms, analysis {:.1f} ms ({} trace{})\n", ranMs, compactMs,
            readMs, traces.size(), traces.size() == 1 ? "" : "s");
}

// CLI11 2.1 derives the usage line from the options and would not show the program part.
class RunHelpFormatter : public CLI::Formatter {
public:
    std::string make_usage(const CLI::App*, std::string) const override
    {
        return "\nUsage: ravel run [options] -- PROGRAM [ARGS]\n";
    }
};

} // namespace

void addRunCommand(CLI::App& app, int& status)
{
    auto opts = std::make_shared<RunOptions>();
    CLI::App* run = app.add_subcommand("run", "Run a program and record its synchronization into a trace");
    run->formatter(std::make_shared<RunHelpFormatter>());
    run->footer("The program's stdin, stdout, stderr, signals and exit status pass through unchanged. Options "
                "can also come from RAVEL_OPTIONS (docs/cli.md).\n");
    run->add_option("-o,--output", opts->output, "Trace file (default: ./PROGRAM.PID.ravel)")->type_name("FILE");
    run->add_option("--flight-recorder", opts->flightRecorder,
           "Keep only the most recent SIZE of events per thread (e.g. 4M; 0 = keep all)")
        ->type_name("SIZE");
    run->add_option("--chunk-size", opts->chunkSize, "Trace chunk size: a power of two from 4K to 16M (default 64K)")
        ->type_name("SIZE");
    run->add_option("--stack-depth", opts->stackDepth, "Frames captured per stack (default 32)")
        ->type_name("N")
        ->check(CLI::Range(1u, 128u).description(""));
    run->add_option("--on-deadlock", opts->onDeadlock,
           "What to do with the target when a deadlock forms: kill (default), stop (SIGSTOP, for a "
           "debugger) or wait")
        ->type_name("ACTION")
        ->check(CLI::IsMember({ "kill", "stop", "wait" }));
    run->add_option("--error-exitcode", opts->errorExitCode, "Exit status when ravel finds a deadlock (default 66)")
        ->type_name("N")
        ->check(CLI::Range(0, 255).description(""));
    run->add_option("--stall-timeout", opts->stallTimeout,
           "How long a likely deadlock (condition variables, semaphores) must last before it is "
           "reported (default 3s)")
        ->type_name("TIME")
        ->check([](const std::string& v) {
            return parseTraceTime(v) ? std::string() : "'" + v + "' is not a time such as 3s or 500ms";
        });
    run->add_flag("--no-watchdog", opts->noWatchdog, "Record only: no live deadlock detection");
    run->add_flag("--no-follow", opts->noFollow,
                  "Do not record forked children, nor put the runtime back into the environment of "
                  "programs exec'd with one that lost it");
    auto* quiet = run->add_flag("-q,--quiet", opts->quiet, "No summary line at exit");
    run->add_flag("-v,--verbose", opts->verbose, "Say what ravel does and how long the work after exit takes")
        ->excludes(quiet);
    // Everything from PROGRAM on belongs to the program. CLI11 leaves it in remaining(): here
    // when the program came without "--", in the parent when "--" ended ravel's options (see
    // main.cpp).
    run->prefix_command();

    run->callback([run, opts, &status] {
        std::vector<std::string> command = run->remaining();
        if (!command.empty() && command[0].size() > 1 && command[0][0] == '-')
            throw CLI::ValidationError(fmt::format("run: unknown option {}", command[0]));
        if (command.empty())
            command = run->get_parent()->remaining();
        if (command.empty())
            throw CLI::ValidationError("run: no program given; usage: ravel run [options] -- PROGRAM [ARGS]");
        status = RunCommand(*opts, std::move(command)).execute();
    });
}

} // namespace ravel::cli
