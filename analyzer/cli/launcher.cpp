#include "launcher.hpp"

#include "run_end.hpp"

#include <fmt/format.h>

#include <elf.h>
#include <pthread.h>
#include <termios.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iterator>
#include <stdexcept>

#ifndef RAVEL_INSTALL_LIBDIR
#define RAVEL_INSTALL_LIBDIR "lib"
#endif

namespace ravel::cli {

namespace {

constexpr const char* kRuntimeName = "libravel_rt.so";

// Signals a user sends to "the program" by sending them to ravel (kill, a supervisor, a closed
// terminal, a terminal whose foreground ravel kept): they go on to the target. Not the faults
// (SEGV, BUS, FPE, ILL, TRAP, SYS: ravel's own), SIGPIPE, SIGXCPU/SIGXFSZ, SIGPROF/SIGVTALRM
// (ravel's own writes, limits, profilers) or SIGCHLD; SIGTTOU is ignored instead (see below).
// SIGABRT is forwarded because supervisors send it to ask for a core dump (systemd's watchdog).
constexpr int kForwardedSignals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM, SIGWINCH, SIGPWR,
    SIGABRT, SIGTSTP, SIGTTIN, SIGCONT };

std::atomic<pid_t> g_targetPid { 0 };
std::atomic<int> g_terminal { -1 };
std::atomic<int> g_lastForwarded { 0 };
std::atomic<unsigned> g_continued { 0 }; // SIGCONTs ravel received

// Async-signal-safe. The program's group gets the terminal back if ravel has it (a shell's `fg`
// gave it to ravel's group), then SIGCONT: a stopped job is a whole group.
void continueTarget(pid_t pid)
{
    int tty = g_terminal.load(std::memory_order_relaxed);
    if (tty >= 0 && tcgetpgrp(tty) == getpgrp())
        tcsetpgrp(tty, pid);
    kill(-pid, SIGCONT);
}

void forwardSignal(int sig, siginfo_t* info, void*)
{
    int savedErrno = errno;
    if (sig == SIGCONT)
        g_continued.fetch_add(1, std::memory_order_relaxed);
    pid_t pid = g_targetPid.load(std::memory_order_relaxed);
    bool fromProcess = info->si_code == SI_USER || info->si_code == SI_QUEUE || info->si_code == SI_TKILL;
    // Not back to the program that sent it to its parent, and not ravel's own abort(): glibc
    // re-raises that with the default action once this returns.
    bool ownOrTargets = fromProcess && (info->si_pid == pid || info->si_pid == getpid());
    if (pid > 0 && !ownOrTargets) {
        if (sig == SIGCONT) {
            continueTarget(pid);
        } else if (info->si_code == SI_KERNEL) {
            kill(-pid, sig); // the terminal signals a whole group, so ravel does too
        } else if (info->si_code == SI_QUEUE) {
            sigqueue(pid, sig, info->si_value); // sigqueue(3) carries a value: keep it
        } else {
            kill(pid, sig);
        }
        g_lastForwarded.store(sig, std::memory_order_relaxed);
    }
    errno = savedErrno;
}
bool isRegularFile(const std::string& path)
{
    struct stat st;
    return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string realPath(const std::string& path)
{
    char buf[PATH_MAX];
    if (!realpath(path.c_str(), buf))
        return {};
    return buf;
}

#if defined(__x86_64__)
constexpr uint16_t kNativeMachine = EM_X86_64;
#elif defined(__aarch64__)
constexpr uint16_t kNativeMachine = EM_AARCH64;
#else
#error "ravel supports x86-64 and AArch64 hosts"
#endif

Injection inspect(const std::string& path, int depth)
{
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return Injection::Possible;
    struct Closer {
        int fd;
        ~Closer() { close(fd); }
    } closer { fd };

    unsigned char head[256] {};
    ssize_t got = pread(fd, head, sizeof head, 0);
    if (got < 0)
        return Injection::Possible;
    auto size = static_cast<size_t>(got);

    // The kernel ignores set-ID bits on scripts; the interpreter is what runs, and what would
    // have to load the runtime.
    if (size >= 2 && head[0] == '#' && head[1] == '!') {
        if (depth > 0)
            return Injection::Possible; // nested interpreters: exec decides
        std::string line(reinterpret_cast<const char*>(head) + 2, size - 2);
        size_t begin = line.find_first_not_of(" \t");
        if (begin == std::string::npos)
            return Injection::Possible;
        size_t end = line.find_first_of(" \t\r\n", begin);
        return inspect(line.substr(begin, end == std::string::npos ? std::string::npos : end - begin), depth + 1);
    }

    struct stat st;
    if (fstat(fd, &st) == 0) {
        // Only a change of credentials puts the loader in secure mode (it then drops LD_PRELOAD
        // paths); running one's own set-ID file records normally.
        bool changesUid = (st.st_mode & S_ISUID) && st.st_uid != geteuid();
        bool changesGid = (st.st_mode & S_ISGID) && st.st_gid != getegid();
        bool hasCaps = geteuid() != 0 && fgetxattr(fd, "security.capability", nullptr, 0) > 0;
        if (changesUid || changesGid || hasCaps)
            return Injection::Setuid;
    }

    if (size < EI_NIDENT || std::memcmp(head, ELFMAG, SELFMAG) != 0)
        return Injection::Possible; // not ELF: exec runs it through /bin/sh (ENOEXEC), which loads the runtime
    if (head[EI_CLASS] != ELFCLASS64)
        return Injection::ForeignArch;
    if (size < sizeof(Elf64_Ehdr))
        return Injection::Possible;
    Elf64_Ehdr ehdr;
    std::memcpy(&ehdr, head, sizeof ehdr);
    if (ehdr.e_machine != kNativeMachine)
        return Injection::ForeignArch;
    if (ehdr.e_phentsize != sizeof(Elf64_Phdr) || ehdr.e_phnum == 0 || ehdr.e_phnum == PN_XNUM)
        return Injection::Possible; // malformed or exotic: let the kernel judge
    for (unsigned i = 0; i < ehdr.e_phnum; i++) {
        Elf64_Phdr phdr;
        off_t at = static_cast<off_t>(ehdr.e_phoff + uint64_t(i) * sizeof phdr);
        if (pread(fd, &phdr, sizeof phdr, at) != static_cast<ssize_t>(sizeof phdr))
            return Injection::Possible;
        if (phdr.p_type == PT_INTERP)
            return Injection::Possible;
    }
    // No dynamic loader is named: static (or static-pie), so nothing would read LD_PRELOAD.
    return Injection::StaticallyLinked;
}

std::vector<char*> cStrings(std::vector<std::string>& strings)
{
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings)
        out.push_back(s.data());
    out.push_back(nullptr);
    return out;
}

// Async-signal-safe: the child between fork and exec may only do this kind of thing.
char* appendDecimal(char* at, long value)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = static_cast<char>('0' + value % 10);
        value /= 10;
    } while (value > 0);
    while (n > 0)
        *at++ = digits[--n];
    return at;
}

} // namespace

std::string findRuntime()
{
    if (const char* env = std::getenv("RAVEL_RUNTIME"); env && *env) {
        std::string path = realPath(env);
        if (path.empty())
            throw std::runtime_error(fmt::format("RAVEL_RUNTIME={}: {}", env, std::strerror(errno)));
        if (!isRegularFile(path))
            throw std::runtime_error(fmt::format("RAVEL_RUNTIME={}: not a regular file", env));
        if (path.find_first_of(" :") != std::string::npos)
            throw std::runtime_error(fmt::format("RAVEL_RUNTIME={}: LD_PRELOAD cannot carry a path with a space or "
                                                 "colon",
                env));
        return path;
    }

    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (ec)
        throw std::runtime_error(fmt::format("cannot locate the ravel binary: /proc/self/exe: {}", ec.message()));
    fs::path bin = exe.parent_path();
    fs::path libdir = RAVEL_INSTALL_LIBDIR;
    std::vector<fs::path> candidates { bin / ".." / "lib" / kRuntimeName,
        (libdir.is_absolute() ? libdir : bin / ".." / libdir) / kRuntimeName };
    for (const auto& candidate : candidates) {
        if (!isRegularFile(candidate.string()))
            continue;
        std::string path = realPath(candidate.string());
        if (path.find_first_of(" :") != std::string::npos)
            throw std::runtime_error(fmt::format("the runtime {} is in a directory whose path has a space or colon, "
                                                 "which LD_PRELOAD cannot carry; set RAVEL_RUNTIME to a copy elsewhere",
                path));
        return path;
    }
    throw std::runtime_error(fmt::format("cannot find the runtime {} (looked in {}{}); set RAVEL_RUNTIME to its path",
        kRuntimeName, candidates[0].lexically_normal().parent_path().string(),
        candidates[1] == candidates[0] ? "" : " and " + candidates[1].lexically_normal().parent_path().string()));
}

ResolvedProgram resolveProgram(const std::string& name)
{
    if (name.empty())
        return { {}, ENOENT };

    auto check = [](const std::string& path) -> int {
        struct stat st;
        if (stat(path.c_str(), &st) != 0)
            return errno;
        if (S_ISDIR(st.st_mode))
            return EISDIR;
        if (!S_ISREG(st.st_mode) || access(path.c_str(), X_OK) != 0)
            return EACCES;
        return 0;
    };

    if (name.find('/') != std::string::npos) {
        int error = check(name);
        return { error ? std::string() : name, error };
    }

    // As execvp: glibc's default search path when PATH is unset, an empty entry means the current
    // directory, and a candidate that exists but cannot run makes the final error EACCES.
    const char* pathEnv = std::getenv("PATH");
    std::string searchPath = pathEnv ? pathEnv : "/bin:/usr/bin";
    int error = ENOENT;
    size_t begin = 0;
    for (;;) {
        size_t end = searchPath.find(':', begin);
        std::string dir = searchPath.substr(begin, end == std::string::npos ? std::string::npos : end - begin);
        std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        int e = check(candidate);
        if (e == 0)
            return { candidate, 0 };
        if (e == EACCES)
            error = EACCES;
        if (end == std::string::npos)
            break;
        begin = end + 1;
    }
    return { {}, error };
}

const char* describe(Injection why)
{
    switch (why) {
    case Injection::Possible:
        return "possible";
    case Injection::StaticallyLinked:
        return "statically linked";
    case Injection::Setuid:
        return "setuid";
    case Injection::ForeignArch:
        return "not a native 64-bit executable";
    }
    return "?";
}

Injection inspectExecutable(const std::string& path)
{
    return inspect(path, 0);
}

TargetProcess::~TargetProcess()
{
    if (m_handlersInstalled)
        restoreSignalHandling();
    if (m_terminal >= 0)
        close(m_terminal);
}

void TargetProcess::installSignalHandling()
{
    m_signals.assign(std::begin(kForwardedSignals), std::end(kForwardedSignals));
    for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
        m_signals.push_back(sig);

    // Blocked until the pid is published, so a forwarded signal never finds "no target yet".
    sigset_t block;
    sigemptyset(&block);
    for (int sig : m_signals)
        sigaddset(&block, sig);
    sigprocmask(SIG_BLOCK, &block, &m_savedMask);
    g_lastForwarded.store(0, std::memory_order_relaxed);

    struct sigaction forward { };
    forward.sa_sigaction = forwardSignal;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART | SA_SIGINFO;
    for (int sig : m_signals) {
        sigaction(sig, nullptr, &m_savedActions[sig]);
        // A signal ignored when ravel started (nohup) stays ignored, for ravel and the target.
        if (m_savedActions[sig].sa_handler != SIG_IGN)
            sigaction(sig, &forward, nullptr);
    }

    // Ravel, in the background while the program has the terminal, must be able to give it back
    // (tcsetpgrp from a background group raises SIGTTOU) and to print its report even with
    // `stty tostop`.
    struct sigaction ignore { };
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    sigaction(SIGTTOU, &ignore, &m_savedActions[SIGTTOU]);
    m_signals.push_back(SIGTTOU);

    // With SIGCHLD ignored (inherited from a careless parent) the kernel would reap the target
    // itself and waitpid would never see its status.
    struct sigaction dfl { };
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &m_savedActions[SIGCHLD]);
    m_signals.push_back(SIGCHLD);
    m_handlersInstalled = true;
}

void TargetProcess::restoreSignalHandling()
{
    g_targetPid.store(0, std::memory_order_relaxed);
    g_terminal.store(-1, std::memory_order_relaxed);
    for (int sig : m_signals)
        sigaction(sig, &m_savedActions[sig], nullptr);
    sigprocmask(SIG_SETMASK, &m_savedMask, nullptr);
    m_handlersInstalled = false;
}

int TargetProcess::start(const LaunchSpec& spec)
{
    // Everything the child needs is built here: after fork it may only call async-signal-safe
    // functions (ravel may have threads by then in later versions, and malloc could be locked).
    std::vector<std::string> argvStrings = spec.argv;
    std::vector<char*> argv = cStrings(argvStrings);
    std::vector<std::string> shStrings { "/bin/sh", spec.path };
    shStrings.insert(shStrings.end(), spec.argv.begin() + (spec.argv.empty() ? 0 : 1), spec.argv.end());
    std::vector<char*> shArgv = cStrings(shStrings);

    std::vector<std::string> envStrings;
    for (const auto& entry : spec.env) {
        if (!spec.setTraceEnv || entry.rfind("RAVEL_TRACE_FILE=", 0) != 0)
            envStrings.push_back(entry);
    }
    std::string tracePrefix;
    if (spec.setTraceEnv) {
        tracePrefix = "RAVEL_TRACE_FILE="
            + (spec.traceFile.empty() ? spec.traceDir + "/" + spec.traceName + "." : spec.traceFile);
        // Room for the pid and the suffix, written by the child.
        envStrings.push_back(tracePrefix + std::string(32, '\0'));
    }
    std::vector<char*> envp = cStrings(envStrings);
    char* traceEntryTail = spec.setTraceEnv ? envp[envStrings.size() - 1] + tracePrefix.size() : nullptr;
    bool tracePerPid = spec.setTraceEnv && spec.traceFile.empty();

    int errPipe[2];
    if (pipe2(errPipe, O_CLOEXEC) != 0)
        return errno;

    // The controlling terminal, whatever stdin is (a shell gives a job the terminal however its
    // input is redirected, and a program may open /dev/tty for a password). The program's group
    // gets its foreground when ravel's group has it now, as an interactive shell's job.
    if (m_terminal < 0)
        m_terminal = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    bool handOver = m_terminal >= 0 && tcgetpgrp(m_terminal) == getpgrp();
    int terminal = m_terminal;
    pid_t ravelPid = getpid();
    bool deathSignal = spec.killWithRavel;

    // Before the program, so that it is out of ravel's process group before anything could kill
    // that group with the program already running.
    m_guard.start();
    installSignalHandling();
    m_launchMonoNs = monotonicNowNs();
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        m_guard.release();
        restoreSignalHandling();
        close(errPipe[0]);
        close(errPipe[1]);
        return error;
    }
    if (pid == 0) {
        // Its own group, the terminal's foreground if ravel had it: while SIGTTOU is still ignored.
        setpgid(0, 0);
        if (handOver)
            tcsetpgrp(terminal, getpid());
        // Ravel's handlers mean nothing in the target; it gets what ravel itself was given.
        for (int sig : m_signals)
            sigaction(sig, &m_savedActions[sig], nullptr);
        sigprocmask(SIG_SETMASK, &m_savedMask, nullptr);
        if (deathSignal) {
            prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
            if (getppid() != ravelPid)
                raise(SIGKILL); // ravel died before that took effect
        }
        close(errPipe[0]);
        if (tracePerPid) {
            char* at = appendDecimal(traceEntryTail, static_cast<long>(getpid()));
            std::memcpy(at, ".ravel", 7);
        }
        execve(spec.path.c_str(), argv.data(), envp.data());
        int error = errno;
        if (error == ENOEXEC) {
            // No #! line and not a binary: run it as a shell script, as execvp and shells do.
            execve(shArgv[0], shArgv.data(), envp.data());
            error = errno;
        }
        ssize_t ignored = write(errPipe[1], &error, sizeof error);
        (void)ignored;
        _exit(127);
    }

    // Both sides set the group, as shells do: whichever runs first, no signal or terminal
    // handover finds the program still in ravel's group (EACCES once it has exec'd: done).
    setpgid(pid, pid);
    if (handOver)
        tcsetpgrp(m_terminal, pid);
    m_hadTerminal = handOver;
    m_pid = pid;
    if (tracePerPid)
        m_traceFile = fmt::format("{}/{}.{}.ravel", spec.traceDir, spec.traceName, pid);
    else if (spec.setTraceEnv)
        m_traceFile = spec.traceFile;
    m_guard.watch(pid, m_traceFile, m_launchMonoNs);
    g_terminal.store(m_terminal, std::memory_order_relaxed);
    g_targetPid.store(pid, std::memory_order_relaxed);
    // Unblock: anything that arrived since installSignalHandling() is forwarded now.
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int sig : m_signals) {
        if (!sigismember(&m_savedMask, sig))
            sigaddset(&unblock, sig);
    }
    sigprocmask(SIG_UNBLOCK, &unblock, nullptr);
    close(errPipe[1]);

    // The pipe closes on a successful exec (O_CLOEXEC); otherwise it carries the child's errno.
    int execError = 0;
    ssize_t got;
    do {
        got = read(errPipe[0], &execError, sizeof execError);
    } while (got < 0 && errno == EINTR);
    close(errPipe[0]);
    if (got == static_cast<ssize_t>(sizeof execError)) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) { }
        m_guard.release();
        reclaimTerminal();
        m_pid = 0;
        m_traceFile.clear();
        restoreSignalHandling();
        return execError ? execError : ENOEXEC;
    }
    return 0;
}

void TargetProcess::reclaimTerminal()
{
    // Only from the program's group: if the shell took the terminal meanwhile, it is the shell's.
    if (m_terminal >= 0 && m_pid > 0 && tcgetpgrp(m_terminal) == m_pid)
        tcsetpgrp(m_terminal, getpgrp());
}

void TargetProcess::suspendWithTarget(int sig)
{
    // What the shell that waits for ravel sees of a job: the program stopped, so ravel stops,
    // with the same signal (the shell says "Stopped" or "Stopped (tty input)") and with the
    // terminal back in ravel's group, where the shell looks for it.
    reclaimTerminal();
    struct sigaction dfl { }, saved { };
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, &saved);
    sigset_t only, old;
    sigemptyset(&only);
    sigaddset(&only, sig);
    pthread_sigmask(SIG_UNBLOCK, &only, &old);
    unsigned continuedBefore = g_continued.load(std::memory_order_relaxed);
    kill(getpid(), sig);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    sigaction(sig, &saved, nullptr);
    // No SIGCONT came: the kernel discarded the stop (ravel's group is orphaned, nobody could
    // continue it), as it would have discarded it for the program without ravel. Continue the
    // program, a little later, so one that keeps reading a terminal it cannot have does not spin.
    if (g_continued.load(std::memory_order_relaxed) == continuedBefore)
        usleep(50'000);
    // The SIGCONT handler did this already when ravel was continued; doing it twice is harmless.
    continueTarget(m_pid);
}

void TargetProcess::finishWaiting()
{
    m_guard.release();
    reclaimTerminal();
    m_pid = 0;
    restoreSignalHandling();
}

int TargetProcess::wait(const std::function<bool()>& stopWaiting)
{
    int status = 0;
    for (;;) {
        // Looked at first and left waitable: while ravel reads the target's stacks (the live watch
        // across processes seizes it with ptrace), the target's ptrace stops are reported to every
        // waiter of this process, the kernel's way for a tracer that is also the parent, and taking
        // one here would leave the reading thread waiting for it. Those are the tracer's.
        siginfo_t info {};
        if (waitid(P_PID, id_t(m_pid), &info, WEXITED | WSTOPPED | WNOWAIT) == 0 && info.si_pid == m_pid
            && info.si_code == CLD_TRAPPED) {
            usleep(2000);
            continue;
        }
        pid_t got = waitpid(m_pid, &status, WUNTRACED);
        if (got == m_pid && WIFSTOPPED(status)) {
            if (stopWaiting && stopWaiting()) {
                m_end.how = TargetEnd::How::LeftStopped;
                m_end.value = SIGSTOP;
                m_end.monoNs = monotonicNowNs();
                finishWaiting();
                return 128 + SIGSTOP;
            }
            int sig = WSTOPSIG(status);
            if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
                suspendWithTarget(sig);
            // Otherwise stopped by someone else (SIGSTOP from a user or a debugger, ravel's own
            // before it ends a deadlock): it will go on or be ended.
            continue;
        }
        if (got == m_pid)
            break;
        if (got < 0 && errno != EINTR) {
            // Cannot happen for our own child; say "failed" rather than "succeeded".
            m_end.monoNs = monotonicNowNs();
            finishWaiting();
            return 1;
        }
    }
    m_end.monoNs = monotonicNowNs();
    finishWaiting();
    if (WIFEXITED(status)) {
        m_end.how = TargetEnd::How::Exited;
        m_end.value = WEXITSTATUS(status);
        return m_end.value;
    }
    if (WIFSIGNALED(status)) {
        m_end.how = TargetEnd::How::Signaled;
        m_end.value = WTERMSIG(status);
        m_end.coreDumped = WCOREDUMP(status);
        m_end.forwarded = g_lastForwarded.load(std::memory_order_relaxed) == m_end.value;
        return 128 + m_end.value;
    }
    return 1;
}

} // namespace ravel::cli
