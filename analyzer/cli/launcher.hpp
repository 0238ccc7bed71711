// Launching a target program under the runtime: finding the runtime, resolving PROGRAM the way a
// shell would, deciding whether the runtime can be injected at all, and running the program with
// its stdin/stdout/stderr, terminal, signals and exit status passed through unchanged.
#pragma once

#include "orphan_guard.hpp"

#include <sys/types.h>

#include <csignal>
#include <functional>
#include <string>
#include <vector>

namespace ravel::cli {

// The runtime library to preload: $RAVEL_RUNTIME, else next to the ravel binary in the build tree
// (bin/../lib) or in the install tree (bin/../<libdir>). Absolute. Throws std::runtime_error with
// a one-line message when there is none usable.
std::string findRuntime();

// PROGRAM resolved as execvp would: a name without '/' is looked up in $PATH.
struct ResolvedProgram {
    std::string path; // what to execve; empty when not found
    int error = 0; // errno explaining why it cannot run (ENOENT, EACCES, EISDIR), 0 when found
};
ResolvedProgram resolveProgram(const std::string& name);

// Why the preloaded runtime will not load into a program.
enum class Injection {
    Possible,
    StaticallyLinked, // ELF without PT_INTERP: no dynamic loader, so no LD_PRELOAD
    Setuid, // set-user/group-ID (or file capabilities): the loader runs in secure mode
    ForeignArch, // 32-bit or another machine: the loader would reject a 64-bit runtime loudly
};
const char* describe(Injection why);

// Inspects the file (and, for a `#!` script, its interpreter: that is the process the runtime
// loads into). Unreadable or non-ELF files count as Possible: exec decides what they are.
Injection inspectExecutable(const std::string& path);

// How to run the target.
struct LaunchSpec {
    std::string path; // resolved program
    std::vector<std::string> argv; // argv[0] as the user typed it
    std::vector<std::string> env; // the complete environment, NAME=value
    // RAVEL_TRACE_FILE for the child: `traceFile` if set, else "<traceDir>/<traceName>.<pid>.ravel"
    // built in the child from its own pid (a shell's $$), so the name is the one the user sees.
    std::string traceFile;
    std::string traceDir;
    std::string traceName;
    bool setTraceEnv = true;
    // PR_SET_PDEATHSIG(SIGKILL) in the program: the kernel ends it when ravel dies. Off when ravel
    // may exit on purpose while the program lives (--on-deadlock=stop leaves it for a debugger).
    bool killWithRavel = true;
};

// How the target ended, as waitpid said.
struct TargetEnd {
    enum class How { Running, Exited, Signaled, LeftStopped };
    How how = How::Running;
    int value = 0;           // the exit status, or the signal
    bool coreDumped = false;
    bool forwarded = false;  // the fatal signal is one ravel had forwarded to it
    uint64_t monoNs = 0;     // CLOCK_MONOTONIC when waitpid returned
};

// The running target, as a shell runs a job. It leads its own process group; when ravel has the
// foreground of its controlling terminal, that group gets it (tcsetpgrp), so the terminal's
// Ctrl-C, Ctrl-\ and Ctrl-Z reach the program once and it can read the terminal; ravel takes the
// terminal back when the program ends or stops.
//
// Between start() and wait() every signal sent to ravel that means "the program" is forwarded
// to it: HUP, INT, QUIT, TERM, USR1, USR2, ALRM, WINCH, PWR, ABRT, TSTP, TTIN, CONT and the
// real-time signals; to its process group when the kernel sent it (a terminal's signal, sent to a
// group), to its pid when a process did (`kill PID`, a supervisor). A signal the program sent
// to ravel itself is not sent back. When the program stops for job control (SIGTSTP, SIGTTIN,
// SIGTTOU), ravel stops with the same signal, so the shell waiting for ravel sees the job stop;
// continued, ravel continues the program (in the foreground again if ravel is). The program gets
// the signal dispositions and mask ravel was started with.
//
// If ravel is killed, the program does not run on unwatched: PR_SET_PDEATHSIG ends it, and an
// OrphanGuard ends its process group and records that in the trace.
class TargetProcess {
public:
    TargetProcess() = default;
    ~TargetProcess();
    TargetProcess(const TargetProcess&) = delete;
    TargetProcess& operator=(const TargetProcess&) = delete;

    // Forks and execs. Returns 0 when the program runs, else the errno of the failed exec (the
    // child is reaped then).
    int start(const LaunchSpec& spec);
    pid_t pid() const { return m_pid; }
    // The trace path the child was given (known once started).
    const std::string& traceFile() const { return m_traceFile; }

    // Waits for the target to end (retrying on EINTR), takes the terminal back, releases the
    // guard and restores ravel's own signal handling. Returns the status as a shell reports it:
    // the exit code, or 128+N for death by signal N. When the target stops and stopWaiting()
    // says so, returns 128+SIGSTOP with the target left stopped (ravel stopped it for a debugger).
    int wait(const std::function<bool()>& stopWaiting = {});
    // How it ended (after wait()), and when it was started (CLOCK_MONOTONIC).
    const TargetEnd& end() const { return m_end; }
    uint64_t launchMonoNs() const { return m_launchMonoNs; }
    // Whether the program's group had the terminal's foreground: the terminal's signals then went
    // to it alone, not to whoever started ravel.
    bool hadTerminal() const { return m_hadTerminal; }

private:
    void installSignalHandling();
    void restoreSignalHandling();
    void suspendWithTarget(int sig);
    void reclaimTerminal();
    void finishWaiting();

    pid_t m_pid = 0;
    bool m_handlersInstalled = false;
    std::string m_traceFile;
    std::vector<int> m_signals; // whose disposition ravel changed between start() and wait()
    struct sigaction m_savedActions[NSIG] { };
    sigset_t m_savedMask {};
    int m_terminal = -1; // the controlling terminal, when ravel has one
    bool m_hadTerminal = false;
    uint64_t m_launchMonoNs = 0;
    TargetEnd m_end;
    OrphanGuard m_guard;
};

} // namespace ravel::cli
