#include "orphan_guard.hpp"

#include "run_end.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

namespace ravel::cli {

namespace {

// The guard process. Only system calls from here on: ravel forked it, and whatever locks its
// other threads held (there should be none yet) stay held in this copy.
[[noreturn]] void guard(int lifeline, pid_t group, const char* tracePath, uint64_t launchMonoNs)
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
    // Into the program's group (see the header). Fails only if the group is gone already: then
    // there is nothing to guard, but the trace may still need its record, so go on.
    setpgid(0, group);

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
    record.launchMonoNs = launchMonoNs;
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

bool OrphanGuard::start(pid_t group, const std::string& tracePath, uint64_t launchMonoNs)
{
    release();
    m_tracePath = tracePath;
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
        if (guardPid == 0)
            guard(lifeline[0], group, m_tracePath.c_str(), launchMonoNs);
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
