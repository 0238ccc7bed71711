#include "launcher.hpp"

#include <fmt/format.h>

#include <elf.h>
#include <fcntl.h>
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
#include <stdexcept>

#ifndef RAVEL_INSTALL_LIBDIR
#define RAVEL_INSTALL_LIBDIR "lib"
#endif

namespace ravel::cli {

namespace {

constexpr const char* kRuntimeName = "libravel_rt.so";

// Signals a user sends to "the program" by sending them to ravel (kill, a supervisor, a closed
// terminal): they go on to the target. SIGINT/SIGQUIT come from the terminal to the whole process
// group, so the target already has them; ravel only has to survive them.
constexpr int kForwardedSignals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
constexpr int kIgnoredSignals[] = { SIGINT, SIGQUIT };

std::atomic<pid_t> g_targetPid { 0 };

void forwardSignal(int sig)
{
    int savedErrno = errno;
    pid_t pid = g_targetPid.load(std::memory_order_relaxed);
    if (pid > 0)
        kill(pid, sig);
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
}

void TargetProcess::installSignalHandling()
{
    // Blocked until the pid is published, so a forwarded signal never finds "no target yet".
    sigset_t block;
    sigemptyset(&block);
    for (int sig : kForwardedSignals)
        sigaddset(&block, sig);
    sigprocmask(SIG_BLOCK, &block, &m_savedMask);

    struct sigaction ignore { };
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (int sig : kIgnoredSignals)
        sigaction(sig, &ignore, &m_savedActions[sig]);

    struct sigaction forward { };
    forward.sa_handler = forwardSignal;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    for (int sig : kForwardedSignals) {
        sigaction(sig, nullptr, &m_savedActions[sig]);
        // A signal ignored when ravel started (nohup) stays ignored, for ravel and the target.
        if (m_savedActions[sig].sa_handler != SIG_IGN)
            sigaction(sig, &forward, nullptr);
    }

    // With SIGCHLD ignored (inherited from a careless parent) the kernel would reap the target
    // itself and waitpid would never see its status.
    struct sigaction dfl { };
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(SIGCHLD, &dfl, &m_savedActions[SIGCHLD]);
    m_handlersInstalled = true;
}

void TargetProcess::restoreSignalHandling()
{
    g_targetPid.store(0, std::memory_order_relaxed);
    for (int sig : kIgnoredSignals)
        sigaction(sig, &m_savedActions[sig], nullptr);
    for (int sig : kForwardedSignals)
        sigaction(sig, &m_savedActions[sig], nullptr);
    sigaction(SIGCHLD, &m_savedActions[SIGCHLD], nullptr);
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

    installSignalHandling();
    pid_t pid = fork();
    if (pid < 0) {
        int error = errno;
        restoreSignalHandling();
        close(errPipe[0]);
        close(errPipe[1]);
        return error;
    }
    if (pid == 0) {
        // Ravel's handlers mean nothing in the target; it gets what ravel itself was given.
        for (int sig : kIgnoredSignals)
            sigaction(sig, &m_savedActions[sig], nullptr);
        for (int sig : kForwardedSignals)
            sigaction(sig, &m_savedActions[sig], nullptr);
        sigaction(SIGCHLD, &m_savedActions[SIGCHLD], nullptr);
        sigprocmask(SIG_SETMASK, &m_savedMask, nullptr);
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

    m_pid = pid;
    g_targetPid.store(pid, std::memory_order_relaxed);
    // Unblock: anything that arrived since installSignalHandling() is forwarded now.
    sigset_t unblock;
    sigemptyset(&unblock);
    for (int sig : kForwardedSignals) {
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
        m_pid = 0;
        restoreSignalHandling();
        return execError ? execError : ENOEXEC;
    }

    if (tracePerPid)
        m_traceFile = fmt::format("{}/{}.{}.ravel", spec.traceDir, spec.traceName, pid);
    else if (spec.setTraceEnv)
        m_traceFile = spec.traceFile;
    return 0;
}

int TargetProcess::wait(const std::function<bool()>& stopWaiting)
{
    int status = 0;
    for (;;) {
        pid_t got = waitpid(m_pid, &status, WUNTRACED);
        if (got == m_pid && WIFSTOPPED(status)) {
            if (stopWaiting && stopWaiting()) {
                m_pid = 0;
                restoreSignalHandling();
                return 128 + SIGSTOP;
            }
            continue; // stopped by someone else (job control): it will go on
        }
        if (got == m_pid)
            break;
        if (got < 0 && errno != EINTR) {
            // Cannot happen for our own child; say "failed" rather than "succeeded".
            m_pid = 0;
            restoreSignalHandling();
            return 1;
        }
    }
    m_pid = 0;
    restoreSignalHandling();
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 1;
}

} // namespace ravel::cli
