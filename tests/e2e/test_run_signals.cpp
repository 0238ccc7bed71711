// Signals and `ravel run`, as a supervisor, a terminal and a shell meet them: a signal sent to
// ravel's pid reaches the program; the terminal's Ctrl-C reaches it once and Ctrl-Z stops the job
// as a whole; a killed program's trace names the signal and the real duration; and when ravel
// itself is killed, the program and its children do not live on, and the trace says why.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <pty.h>
#include <sys/ioctl.h>
#include <termios.h>

#include <cstdio>

using namespace ravel::e2e;

namespace {

std::string target() { return helper("e2e_signal_target"); }

std::vector<std::string> ravelRunArgs(const std::string& trace, const std::vector<std::string>& program)
{
    std::vector<std::string> argv { ravelBinary(), "run", "-q", "-o", trace, "--" };
    argv.insert(argv.end(), program.begin(), program.end());
    return argv;
}

// The contents of a file the target writes whole (it renames it into place), once it exists.
std::optional<std::string> waitForReady(const std::string& path, std::chrono::milliseconds limit = 15s)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (!fs::exists(path)) {
        if (std::chrono::steady_clock::now() > deadline)
            return std::nullopt;
        std::this_thread::sleep_for(5ms);
    }
    return readFile(path);
}

// Alive as a user means it: a zombie (its parent gone, nobody reaped it yet) has ended.
bool isAlive(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return false;
    size_t close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z' && line[close + 2] != 'X';
}

char processState(pid_t pid)
{
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return '?';
    size_t close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() ? line[close + 2] : '?';
}

bool allGoneWithin(const std::vector<pid_t>& pids, std::chrono::milliseconds limit)
{
    auto deadline = std::chrono::steady_clock::now() + limit;
    for (;;) {
        if (std::none_of(pids.begin(), pids.end(), isAlive))
            return true;
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(10ms);
    }
}

class RunSignals : public ::testing::Test {
protected:
    TempDir dir { "run-signals" };
};

// A target that handles `sig` and exits 3, signalled through ravel's pid only.
RunResult signalThroughRavel(const TempDir& dir, int sig, const std::string& name)
{
    std::string ready = dir.file(name + ".ready");
    Process p(ravelRunArgs(dir.file(name + ".ravel"), { target(), "handle", std::to_string(sig), "3", ready }),
        withTimeout(20s));
    if (!waitForReady(ready))
        return p.wait();
    kill(p.pid(), sig); // the pid alone, as `kill -INT PID` or a supervisor sends it
    return p.wait();
}

TEST_F(RunSignals, InterruptSentToRavelsPidReachesTheProgram)
{
    RunResult r = signalThroughRavel(dir, SIGINT, "int");
    EXPECT_FALSE(r.timedOut) << "the program never got the SIGINT: " << r.err;
    EXPECT_EQ(r.status, 3) << "the program's own status after handling SIGINT; " << r.err;

    // The trace says how it ended.
    auto info = infoJson(dir.file("int.ravel"));
    ASSERT_TRUE(info);
    ASSERT_TRUE((*info)["end"].is_object()) << info->dump();
    EXPECT_EQ((*info)["end"]["how"], "exited");
    EXPECT_EQ((*info)["end"]["exit_status"], 3);
    EXPECT_EQ((*info)["exit_status"], 3);
}

TEST_F(RunSignals, TerminationSentToRavelsPidReachesTheProgram)
{
    RunResult r = signalThroughRavel(dir, SIGTERM, "term");
    EXPECT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 3) << r.err;
}

TEST_F(RunSignals, EverySignalMeantForTheProgramIsForwarded)
{
    for (int sig : { SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGPWR, SIGRTMIN + 2 }) {
        SCOPED_TRACE(strsignal(sig));
        RunResult r = signalThroughRavel(dir, sig, "sig" + std::to_string(sig));
        EXPECT_FALSE(r.timedOut) << r.err;
        EXPECT_EQ(r.status, 3) << r.err;
    }
}

TEST_F(RunSignals, KilledProgramsTraceNamesTheSignalAndTheRealDuration)
{
    std::string ready = dir.file("idle.ready");
    std::string trace = dir.file("idle.ravel");
    Process p(ravelRunArgs(trace, { target(), "idle", ready }), withTimeout(30s));
    auto readyText = waitForReady(ready);
    ASSERT_TRUE(readyText) << p.wait().err;
    int program = 0;
    long long startNs = 0;
    ASSERT_EQ(std::sscanf(readyText->c_str(), "%d %lld", &program, &startNs), 2) << *readyText;
    // Its last event was before it said ready: the trace's events end ~1.5 s before the program.
    std::this_thread::sleep_for(1500ms);
    ASSERT_EQ(kill(program, SIGKILL), 0);
    // The program's wall time, from its main() (steady_clock is CLOCK_MONOTONIC, as its clock).
    double wall = (double(std::chrono::steady_clock::now().time_since_epoch().count()) - double(startNs)) / 1e9;
    static_assert(std::is_same_v<std::chrono::steady_clock::period, std::nano>);
    RunResult r = p.wait();
    EXPECT_EQ(r.status, 128 + SIGKILL) << r.err;

    auto info = infoJson(trace);
    ASSERT_TRUE(info);
    ASSERT_TRUE((*info)["end"].is_object()) << info->dump();
    EXPECT_EQ((*info)["end"]["how"], "killed");
    EXPECT_EQ((*info)["end"]["signal"], "SIGKILL");
    EXPECT_EQ((*info)["end"]["signal_number"], SIGKILL);
    EXPECT_TRUE((*info)["end"]["signal_from"].is_null()) << "nobody sent it through ravel";
    double duration = (*info)["duration_ns"].get<double>() / 1e9;
    EXPECT_NEAR(duration, wall, wall * 0.10) << "the duration is the program's run, not its last event";

    RunResult text = run({ ravelBinary(), "info", trace });
    EXPECT_NE(text.out.find("exit:      killed by SIGKILL\n"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("(killed by SIGKILL)"), std::string::npos) << text.out;
}

TEST_F(RunSignals, ForwardedFatalSignalIsNamedAsForwarded)
{
    std::string ready = dir.file("fwd.ready");
    std::string trace = dir.file("fwd.ravel");
    Process p(ravelRunArgs(trace, { target(), "idle", ready }), withTimeout(30s));
    ASSERT_TRUE(waitForReady(ready)) << p.wait().err;
    kill(p.pid(), SIGTERM);
    RunResult r = p.wait();
    EXPECT_EQ(r.status, 128 + SIGTERM) << r.err;
    EXPECT_EQ(r.signal, 0) << "ravel exits with 128+N, it does not die of the signal";
    auto info = infoJson(trace);
    ASSERT_TRUE(info);
    EXPECT_EQ((*info)["end"]["signal"], "SIGTERM") << info->dump();
    EXPECT_EQ((*info)["end"]["signal_from"], "forwarded");
}

TEST_F(RunSignals, KillingRavelEndsTheProgramAndItsChildren)
{
    std::string ready = dir.file("family.ready");
    std::string trace = dir.file("family.ravel");
    Process p(ravelRunArgs(trace, { target(), "family", ready }), withTimeout(30s));
    auto pids = waitForReady(ready);
    ASSERT_TRUE(pids) << p.wait().err;
    pid_t parent = 0, child = 0;
    ASSERT_EQ(std::sscanf(pids->c_str(), "%d %d", &parent, &child), 2) << *pids;
    ASSERT_TRUE(isAlive(parent) && isAlive(child));

    ASSERT_EQ(kill(p.pid(), SIGKILL), 0);
    RunResult r = p.wait();
    EXPECT_EQ(r.signal, SIGKILL);
    bool gone = allGoneWithin({ parent, child }, 2s);
    EXPECT_TRUE(gone) << "the program (" << parent << ") and its child (" << child << ") live on without ravel";
    if (!gone) {
        kill(parent, SIGKILL);
        kill(child, SIGKILL);
    }

    // The trace opens, and says what happened.
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_GT((*info)["events"].get<int64_t>(), 0);
    ASSERT_TRUE((*info)["end"].is_object()) << info->dump();
    EXPECT_EQ((*info)["end"]["how"], "orphaned");
    EXPECT_EQ((*info)["end"]["signal"], "SIGKILL");
    RunResult text = run({ ravelBinary(), "info", trace });
    EXPECT_NE(text.out.find("ravel run was killed"), std::string::npos) << text.out;
}

TEST_F(RunSignals, KillingRavelsWholeProcessGroupEndsTheProgramToo)
{
    // A supervisor or a time limit that kills the group it started (ravel's): the program runs
    // in a group of its own, which must not survive that either.
    std::string ready = dir.file("group.ready");
    Process p(ravelRunArgs(dir.file("group.ravel"), { target(), "family", ready }), withTimeout(30s));
    auto pids = waitForReady(ready);
    ASSERT_TRUE(pids) << p.wait().err;
    pid_t parent = 0, child = 0;
    ASSERT_EQ(std::sscanf(pids->c_str(), "%d %d", &parent, &child), 2) << *pids;
    ASSERT_EQ(kill(-p.pid(), SIGKILL), 0);
    p.wait();
    bool gone = allGoneWithin({ parent, child }, 2s);
    EXPECT_TRUE(gone) << "the program (" << parent << ") or its child (" << child << ") lives on";
    if (!gone) {
        kill(parent, SIGKILL);
        kill(child, SIGKILL);
    }
}

TEST_F(RunSignals, ProgramThatEndsNormallyLeavesNoGuardBehind)
{
    std::string ready = dir.file("ok.ready");
    Process p(ravelRunArgs(dir.file("ok.ravel"), { target(), "handle", std::to_string(SIGUSR1), "0", ready }),
        withTimeout(20s));
    ASSERT_TRUE(waitForReady(ready)) << p.wait().err;
    kill(p.pid(), SIGUSR1);
    RunResult r = p.wait();
    EXPECT_EQ(r.status, 0) << r.err;
    // The guard is a fork of ravel: its command line names this run's trace.
    auto guards = [&] {
        std::vector<pid_t> found;
        for (const auto& entry : fs::directory_iterator("/proc")) {
            pid_t pid = std::atoi(entry.path().filename().c_str());
            if (pid > 0 && readFile((entry.path() / "comm").string()) == "ravel-guard\n"
                && readFile((entry.path() / "cmdline").string()).find(dir.file("ok.ravel")) != std::string::npos)
                found.push_back(pid);
        }
        return found;
    };
    EXPECT_TRUE(allGoneWithin(guards(), 1s)) << "a guard outlived its run";
}

// A job-control shell in miniature, on a new pseudo-terminal: it leads the session, starts the
// command as a job in a process group of its own with the terminal's foreground, reports (on a
// pipe) when the job stops or ends, and on request continues it in the foreground (`fg`).
class TerminalJob {
public:
    TerminalJob(const std::vector<std::string>& argv, bool tostop)
    {
        int slave = -1;
        if (openpty(&m_master, &slave, nullptr, nullptr, nullptr) != 0)
            throw std::runtime_error("openpty: " + std::string(std::strerror(errno)));
        int events[2], commands[2];
        if (pipe2(events, O_CLOEXEC) != 0 || pipe2(commands, O_CLOEXEC) != 0)
            throw std::runtime_error("pipe");
        m_shell = fork();
        if (m_shell == 0) {
            close(m_master);
            shell(slave, argv, tostop, events[1], commands[0]);
        }
        close(slave);
        close(events[1]);
        close(commands[0]);
        m_events = events[0];
        m_commands = commands[1];
    }
    ~TerminalJob()
    {
        if (m_jobGroup > 0)
            kill(-m_jobGroup, SIGKILL);
        kill(m_shell, SIGKILL);
        waitpid(m_shell, nullptr, 0);
        close(m_master);
        close(m_events);
        close(m_commands);
    }

    // Types on the terminal.
    void type(const std::string& keys) { ASSERT_EQ(write(m_master, keys.data(), keys.size()), ssize_t(keys.size())); }

    // The terminal's output until `needle` appears (true) or the time runs out.
    bool waitForOutput(const std::string& needle, std::chrono::milliseconds limit = 15s)
    {
        auto deadline = std::chrono::steady_clock::now() + limit;
        while (m_output.find(needle) == std::string::npos) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left <= 0ms)
                return false;
            pollfd fd { m_master, POLLIN, 0 };
            if (poll(&fd, 1, int(left.count())) <= 0)
                continue;
            char buf[4096];
            ssize_t got = read(m_master, buf, sizeof buf);
            if (got <= 0)
                return false;
            m_output.append(buf, size_t(got));
        }
        return true;
    }
    const std::string& output() const { return m_output; }

    // The next thing that happened to the job: "stopped N" (signal), "exited N", "killed N", or
    // "" when nothing did in time.
    std::string nextEvent(std::chrono::milliseconds limit = 15s)
    {
        pollfd fd { m_events, POLLIN, 0 };
        if (poll(&fd, 1, int(limit.count())) <= 0)
            return "";
        int record[2];
        if (read(m_events, record, sizeof record) != ssize_t(sizeof record))
            return "";
        m_jobGroup = record[0] == 'g' ? record[1] : m_jobGroup;
        if (record[0] == 'g')
            return nextEvent(limit);
        return fmt(record[0]) + " " + std::to_string(record[1]);
    }
    void foreground() { ASSERT_EQ(write(m_commands, "f", 1), 1); }

private:
    static std::string fmt(int kind) { return kind == 's' ? "stopped" : kind == 'e' ? "exited" : "killed"; }

    [[noreturn]] static void shell(int slave, const std::vector<std::string>& argv, bool tostop, int events, int commands)
    {
        setsid();
        ioctl(slave, TIOCSCTTY, 0);
        signal(SIGTTOU, SIG_IGN); // as an interactive shell: it moves the terminal from the background
        signal(SIGTTIN, SIG_IGN);
        signal(SIGTSTP, SIG_IGN);
        signal(SIGINT, SIG_IGN);
        signal(SIGQUIT, SIG_IGN);
        if (tostop) {
            termios t;
            tcgetattr(slave, &t);
            t.c_lflag |= TOSTOP;
            tcsetattr(slave, TCSANOW, &t);
        }
        auto report = [&](int kind, int value) {
            int record[2] = { kind, value };
            if (write(events, record, sizeof record) != ssize_t(sizeof record))
                _exit(1);
        };
        pid_t job = fork();
        if (job == 0) {
            setpgid(0, 0);
            tcsetpgrp(slave, getpid());
            for (int sig : { SIGTTOU, SIGTTIN, SIGTSTP, SIGINT, SIGQUIT })
                signal(sig, SIG_DFL);
            dup2(slave, 0);
            dup2(slave, 1);
            dup2(slave, 2);
            std::vector<char*> args;
            for (const auto& a : argv)
                args.push_back(const_cast<char*>(a.c_str()));
            args.push_back(nullptr);
            execv(args[0], args.data());
            _exit(127);
        }
        setpgid(job, job);
        tcsetpgrp(slave, job);
        report('g', job);
        for (;;) {
            int status = 0;
            if (waitpid(job, &status, WUNTRACED) != job)
                _exit(1);
            if (WIFSTOPPED(status)) {
                tcsetpgrp(slave, getpgrp());
                report('s', WSTOPSIG(status));
                char command;
                if (read(commands, &command, 1) != 1)
                    _exit(1);
                tcsetpgrp(slave, job);
                kill(-job, SIGCONT);
                continue;
            }
            tcsetpgrp(slave, getpgrp());
            report(WIFEXITED(status) ? 'e' : 'k', WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
            _exit(0);
        }
    }

    int m_master = -1, m_events = -1, m_commands = -1;
    pid_t m_shell = -1, m_jobGroup = -1;
    std::string m_output;
};

TEST_F(RunSignals, CtrlCOnTheTerminalReachesTheProgramOnce)
{
    // With `stty tostop`, ravel's summary line after the exit would stop ravel (SIGTTOU) unless it
    // took the terminal back from the program's group.
    std::vector<std::string> argv { ravelBinary(), "run", "-o", dir.file("tty.ravel"), "--", target(), "count-int" };
    TerminalJob job(argv, true);
    ASSERT_TRUE(job.waitForOutput("ready")) << job.output();
    job.type("\x03");
    EXPECT_EQ(job.nextEvent(), "exited 11") << "10 + the SIGINTs the program got; terminal:\n" << job.output();
    EXPECT_TRUE(job.waitForOutput("==ravel== trace:", 5s)) << job.output();
}

TEST_F(RunSignals, CtrlCThatKillsTheProgramKillsRavelTooSoItsCallerStops)
{
    // The program's group alone got the Ctrl-C: ravel dies of SIGINT after its report, so a
    // script or make waiting for ravel stops as it would have without ravel.
    std::string ready = dir.file("intkill.ready");
    std::string trace = dir.file("intkill.ravel");
    TerminalJob job({ ravelBinary(), "run", "-o", trace, "--", target(), "idle", ready }, false);
    ASSERT_TRUE(waitForReady(ready)) << job.output();
    job.type("\x03");
    EXPECT_EQ(job.nextEvent(), "killed " + std::to_string(SIGINT)) << job.output();
    EXPECT_TRUE(job.waitForOutput("==ravel== trace:", 5s)) << "the report comes first: " << job.output();
    auto info = infoJson(trace);
    ASSERT_TRUE(info);
    EXPECT_EQ((*info)["end"]["signal"], "SIGINT") << info->dump();
}

TEST_F(RunSignals, CtrlZStopsRavelWithTheProgramAndFgGivesTheProgramTheTerminalAgain)
{
    std::vector<std::string> argv { ravelBinary(), "run", "-q", "-o", dir.file("tstp.ravel"), "--", target(), "read-line" };
    TerminalJob job(argv, false);
    ASSERT_TRUE(job.waitForOutput("ready ")) << job.output();
    ASSERT_TRUE(job.waitForOutput("\n")) << job.output();
    pid_t program = std::atoi(job.output().substr(job.output().find("ready ") + 6).c_str());
    ASSERT_GT(program, 0);

    job.type("\x1a"); // Ctrl-Z while the program reads the terminal
    EXPECT_EQ(job.nextEvent(), "stopped " + std::to_string(SIGTSTP)) << "the shell sees ravel's job stop";
    EXPECT_EQ(processState(program), 'T') << "and the program is stopped with it";

    job.foreground();
    // It reads the terminal again: only the foreground group may, else SIGTTIN would stop it.
    std::this_thread::sleep_for(100ms);
    job.type("hello\n");
    EXPECT_EQ(job.nextEvent(), "exited 7") << job.output();
}

} // namespace
