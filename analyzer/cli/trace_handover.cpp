#include "trace_handover.hpp"

#include "ravel/trace_format.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>

namespace ravel::cli {

namespace {

bool allDigits(const std::string& s)
{
    return !s.empty() && s.size() <= 10 && s.find_first_not_of("0123456789") == std::string::npos;
}

// "<pid>.ravel" or "<pid>.<n>.ravel" after the stem, for this pid.
bool ownTraceName(const std::string& rest, pid_t pid)
{
    const std::string tail = ".ravel";
    if (rest.size() <= tail.size() || rest.compare(rest.size() - tail.size(), tail.size(), tail) != 0)
        return false;
    std::string middle = rest.substr(0, rest.size() - tail.size());
    size_t dot = middle.find('.');
    std::string first = middle.substr(0, dot);
    if (!allDigits(first) || first != std::to_string(pid))
        return false;
    return dot == std::string::npos || allDigits(middle.substr(dot + 1));
}

} // namespace

bool TraceHandover::start(uint64_t runId, const std::string& traceDir)
{
    m_dir = std::filesystem::path(traceDir).lexically_normal().string();
    while (m_dir.size() > 1 && m_dir.back() == '/')
        m_dir.pop_back();
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return false;
    sockaddr_un a {};
    a.sun_family = AF_UNIX;
    std::string name = fmt::format("ravel-run-{:x}", runId);
    std::memcpy(a.sun_path + 1, name.data(), name.size()); // abstract: sun_path[0] is 0
    socklen_t len = socklen_t(offsetof(sockaddr_un, sun_path) + 1 + name.size());
    if (bind(s, reinterpret_cast<sockaddr*>(&a), len) != 0 || listen(s, 16) != 0 || pipe2(m_wake, O_CLOEXEC) != 0) {
        close(s);
        return false;
    }
    m_listen = s;
    m_thread = std::thread([this] { serve(); });
    return true;
}

void TraceHandover::setMainTrace(const std::string& mainTrace)
{
    std::string file = std::filesystem::path(mainTrace).filename().string();
    if (file.size() > 6 && file.compare(file.size() - 6, 6, ".ravel") == 0)
        file.resize(file.size() - 6);
    std::lock_guard<std::mutex> lock(m_stemMutex);
    m_stem = file + ".";
    m_stemKnown = true;
}

void TraceHandover::stop()
{
    if (m_listen < 0)
        return;
    char c = 0;
    if (write(m_wake[1], &c, 1) < 0) { }
    if (m_thread.joinable())
        m_thread.join();
    close(m_listen);
    close(m_wake[0]);
    close(m_wake[1]);
    m_listen = -1;
}

void TraceHandover::serve()
{
    for (;;) {
        pollfd fds[2] = { { m_listen, POLLIN, 0 }, { m_wake[0], POLLIN, 0 } };
        if (poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        if (fds[1].revents)
            return;
        int conn = accept4(m_listen, nullptr, nullptr, SOCK_CLOEXEC);
        if (conn < 0)
            continue;
        answer(conn);
        close(conn);
    }
}

void TraceHandover::answer(int conn)
{
    // A process that asks and then stalls must not hold up the others for long.
    timeval timeout { 1, 0 };
    setsockopt(conn, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(conn, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    ucred cred {};
    socklen_t credLen = sizeof cred;
    char path[4097];
    ssize_t n = getsockopt(conn, SOL_SOCKET, SO_PEERCRED, &cred, &credLen) == 0 ? recv(conn, path, sizeof path - 1, 0)
                                                                              : -1;
    // As the runtime reads it (instrumentation/runtime/rt_core.cpp, openTraceByLauncher).
    struct {
        int32_t error;
        uint32_t mainPid;
    } reply = { 0, 0 };
    int fd = -1;
    if (n <= 0) {
        reply.error = EPROTO;
    } else {
        path[n] = 0;
        std::filesystem::path p(path);
        std::string dir = p.parent_path().lexically_normal().string();
        std::string file = p.filename().string();
        // Without -o the main trace's name has the target's pid: known a moment after it starts.
        std::string stem;
        bool known = false;
        for (int wait = 0; wait < 100 && !known; wait++) {
            {
                std::lock_guard<std::mutex> lock(m_stemMutex);
                stem = m_stem;
                known = m_stemKnown;
            }
            if (!known)
                usleep(5000);
        }
        bool inDir = known && std::strlen(path) == size_t(n) && dir == m_dir;
        // The main trace's own name: a process that cannot see the directory learns it is taken,
        // and by whom (its own earlier image, when it is the pid that exec'd).
        bool mainName = inDir && file == stem + "ravel";
        bool named = mainName
            || (inDir && file.compare(0, stem.size(), stem) == 0 && ownTraceName(file.substr(stem.size()), cred.pid));
        if (!named) {
            reply.error = EACCES;
        } else if (mainName) {
            // Never created here: it is the run's first process's to create.
            int m = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
            uint32_t pid = 0;
            if (m >= 0 && pread(m, &pid, sizeof pid, offsetof(RavelFileHeader, pid)) == ssize_t(sizeof pid))
                reply.mainPid = pid;
            reply.error = m >= 0 ? EEXIST : EACCES;
            if (m >= 0)
                close(m);
        } else {
            fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0) {
                reply.error = errno;
            } else if (fchown(fd, cred.uid, cred.gid) != 0) {
                reply.error = errno;
                close(fd);
                unlink(path);
                fd = -1;
            }
        }
    }
    msghdr msg {};
    iovec iov { &reply, sizeof reply };
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    if (fd >= 0) {
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    if (sendmsg(conn, &msg, MSG_NOSIGNAL) < 0 && fd >= 0) {
        // The process went away: the empty file it never got is not part of the run.
        unlink(path);
    } else if (fd >= 0) {
        m_granted++;
    }
    if (fd >= 0)
        close(fd);
}

} // namespace ravel::cli
