// Launching a target program under the runtime: finding the runtime, resolving PROGRAM the way a
// shell would, deciding whether the runtime can be injected at all, and running the program with
// its stdin/stdout/stderr, terminal, signals and exit status passed through unchanged.
#pragma once

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
};

// The running target. Between start() and wait() ravel ignores SIGINT and SIGQUIT (the terminal
// delivers them to the target too, as with `time` or system()) and forwards SIGTERM, SIGHUP,
// SIGUSR1 and SIGUSR2 to the target. The target gets the signal dispositions and mask ravel was
// started with.
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

    // Waits for the target to end (retrying on EINTR) and restores ravel's own signal handling.
    // Returns the status as a shell reports it: the exit code, or 128+N for death by signal N.
    // When the target stops and stopWaiting() says so, returns 128+SIGSTOP with the target left
    // stopped (ravel stopped it for a debugger).
    int wait(const std::function<bool()>& stopWaiting = {});

private:
    void installSignalHandling();
    void restoreSignalHandling();

    pid_t m_pid = 0;
    bool m_handlersInstalled = false;
    std::string m_traceFile;
    struct sigaction m_savedActions[NSIG] { };
    sigset_t m_savedMask {};
};

} // namespace ravel::cli
