#include "orphan_guard.hpp"

#include "run_end.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace ravel::cli {

namespace {

// What ravel tells the guard once the program is forked.
struct WatchMessage {
    int32_t group;
    uint32_t pathLength;
    uint64_t launchMonoNs;
};

bool readFully(int fd, void* buf, size_t size)
{
    auto* at = static_cast<char*>(buf);
    while (size > 0) {
        ssize_t got = read(fd, at, size);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return false;
        at += got;
        size -= size_t(got);
    }
    return true;
}

// The guard process. Only system calls from here on: ravel forked it, and whatever locks its
// other threads held (there should be none yet) stay held in this copy.
[[noreturn]] void guard(int lifeline)
{
    struct sigaction ignore { };
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &ignore, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    prctl(PR_SET_NAME, "ravel-guard", 0, 0, 0);

    // Hold nothing of ravel's: not the terminal, not a pipe a caller reads ravel's output from
    // (it would see its end of file only when the guard exits). The lifeline moves above 2 first,
    // in case ravel was started with a standard descriptor closed.
    int keep = fcntl(lifeline, F_DUPFD_CLOEXEC, 3);
    if (keep < 0)
        _exit(1);
    int devNull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devNull >= 0) {
        dup2(devNull, 0);
        dup2(devNull, 1);
        dup2(devNull, 2);
    }
    if (keep > 3)
        close_range(3, unsigned(keep) - 1, 0);
    close_range(unsigned(keep) + 1, ~0u, 0);
    lifeline = keep;

    // Ravel died before the program was forked (or could not start it): nothing to guard.
    static char tracePath[8192];
    WatchMessage watch;
    if (!readFully(lifeline, &watch, sizeof watch) || watch.group <= 0 || watch.pathLength >= sizeof tracePath
        || !readFully(lifeline, tracePath, watch.pathLength))
        _exit(0);
    tracePath[watch.pathLength] = '\0';
    pid_t group = watch.group;
    // Into the program's group (see the header). Fails only if the group is gone already: then
    // there is nothing to guard, but the trace may still need its record, so go on.
    setpgid(0, group);

    char byte;
    ssize_t got;
    do {
        got = read(lifeline, &byte, 1);
    } while (got < 0 && errno == EINTR);
    if (got == 1)
        _exit(0); // released: the program ended, or was kept on purpose

    // End of file without a release: ravel died while the program ran. The record first: the
    // kill below ends this process too (it is in the group).
    RunEndRecord record;
    record.how = RAVEL_RUN_ORPHANED;
    record.value = SIGKILL;
    record.launchMonoNs = watch.launchMonoNs;
    record.endMonoNs = monotonicNowNs();
    writeRunEnd(tracePath, record);
    kill(-group, SIGKILL);
    _exit(0);
}

} // namespace

OrphanGuard::~OrphanGuard()
{
    release();
}

bool OrphanGuard::start()
{
    release();
    // A socket pair rather than a pipe: the release is a send with MSG_NOSIGNAL, so a guard that
    // was killed meanwhile costs ravel no SIGPIPE.
    int lifeline[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, lifeline) != 0)
        return false;
    pid_t middle = fork();
    if (middle < 0) {
        close(lifeline[0]);
        close(lifeline[1]);
        return false;
    }
    if (middle == 0) {
        // The guard must not hold ravel's end, or the connection would never close when ravel dies.
        close(lifeline[1]);
        pid_t guardPid = fork();
        if (guardPid == 0) {
            setpgid(0, 0);
            guard(lifeline[0]);
        }
        // Out of ravel's group before ravel goes on (both sides, as shells do): a kill of ravel's
        // group from now on leaves the guard.
        if (guardPid > 0)
            setpgid(guardPid, guardPid);
        _exit(guardPid < 0 ? 1 : 0);
    }
    close(lifeline[0]);
    int status = 0;
    while (waitpid(middle, &status, 0) < 0 && errno == EINTR) { }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        close(lifeline[1]);
        return false;
    }
    m_fd = lifeline[1];
    return true;
}

void OrphanGuard::watch(pid_t group, const std::string& tracePath, uint64_t launchMonoNs)
{
    if (m_fd < 0)
        return;
    WatchMessage message { int32_t(group), uint32_t(tracePath.size()), launchMonoNs };
    std::string bytes(reinterpret_cast<const char*>(&message), sizeof message);
    bytes += tracePath;
    size_t sent = 0;
    while (sent < bytes.size()) {
        ssize_t put = send(m_fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return; // the guard is gone: only PR_SET_PDEATHSIG is left
        sent += size_t(put);
    }
}

void OrphanGuard::release()
{
    if (m_fd < 0)
        return;
    char byte = 'r';
    ssize_t put;
    do {
        put = send(m_fd, &byte, 1, MSG_NOSIGNAL);
    } while (put < 0 && errno == EINTR);
    close(m_fd);
    m_fd = -1;
}

} // namespace ravel::cli
