#include "export/graphviz_process.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ravel {

void LayoutCancel::cancel()
{
    std::lock_guard lock(m_mutex);
    m_cancelled = true;
    // The waiter reaps the child only after clearing m_child under this lock: the pid is never a
    // reused one.
    if (m_child > 0)
        ::kill(m_child, SIGKILL);
}

bool LayoutCancel::cancelled() const
{
    std::lock_guard lock(m_mutex);
    return m_cancelled;
}

std::string formatLimit(std::chrono::milliseconds limit)
{
    long long ms = limit.count();
    if (ms % 1000 == 0)
        return fmt::format("{}s", ms / 1000);
    if (ms >= 1000)
        return fmt::format("{:.1f}s", double(ms) / 1000.0);
    return fmt::format("{}ms", ms);
}

namespace {

// The child's answer: one status byte, then the payload (the bytes, or the error's text).
constexpr char kOk = 'K';
constexpr char kFailed = 'E';

void writeAll(int fd, const char* data, size_t size)
{
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return; // the parent went away: nobody to tell
        data += n;
        size -= size_t(n);
    }
}

std::string describe(const GraphModel& g, const GraphStyle& style)
{
    std::string engine = style.engine.empty() ? graphLayoutEngine(g) : style.engine;
    return fmt::format("the {} layout of {} node{} and {} edge{}", engine, g.nodes.size(),
                       g.nodes.size() == 1 ? "" : "s", g.edges.size(), g.edges.size() == 1 ? "" : "s");
}

} // namespace

// Runs `work` in a forked child and returns what it returned.
class ChildLayout {
public:
    static std::string run(const std::function<std::string()>& work, const std::string& what,
                           std::chrono::milliseconds limit, LayoutCancel* cancel)
    {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw GraphvizError(fmt::format("graphviz: cannot start {}: {}", what, std::strerror(errno)));
        pid_t pid;
        {
            // Forked under Graphviz's own lock: a child must not inherit it locked by a thread
            // that does not exist there. The caller's thread is the only one the child has.
            std::unique_lock gv = lockGraphviz();
            std::unique_lock guard(cancel ? cancel->m_mutex : s_noCancel);
            if (cancel && cancel->m_cancelled) {
                ::close(fds[0]);
                ::close(fds[1]);
                throw GraphvizTimeout("graphviz: " + what + " was cancelled");
            }
            pid = ::fork();
            if (pid == 0) {
                // The child: one thread, a copy of the parent's memory. It never returns into the
                // caller's code, and _exit skips the parent's atexit handlers and destructors.
                ::close(fds[0]);
                ::signal(SIGPIPE, SIG_IGN);
                std::string out;
                char status = kOk;
                try {
                    gv.unlock();
                    out = work();
                } catch (const std::exception& e) {
                    status = kFailed;
                    out = e.what();
                } catch (...) {
                    status = kFailed;
                    out = "graphviz: " + what + " failed";
                }
                writeAll(fds[1], &status, 1);
                writeAll(fds[1], out.data(), out.size());
                ::_exit(0);
            }
            if (pid < 0) {
                int err = errno;
                ::close(fds[0]);
                ::close(fds[1]);
                throw GraphvizError(fmt::format("graphviz: cannot start {}: {}", what, std::strerror(err)));
            }
            if (cancel)
                cancel->m_child = pid;
        }
        ::close(fds[1]);

        std::string reply;
        bool timedOut = false;
        char buf[65536];
        for (;;) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                timedOut = true;
                break;
            }
            pollfd p { fds[0], POLLIN, 0 };
            int r = ::poll(&p, 1, int(std::min<long long>(left.count(), 1000)));
            if (r < 0 && errno == EINTR)
                continue;
            if (r == 0)
                continue;
            ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break; // the child is done (or dead)
            reply.append(buf, size_t(n));
        }
        ::close(fds[0]);
        bool cancelled = false;
        {
            std::unique_lock guard(cancel ? cancel->m_mutex : s_noCancel);
            if (timedOut)
                ::kill(pid, SIGKILL);
            if (cancel) {
                cancelled = cancel->m_cancelled;
                cancel->m_child = 0;
            }
        }
        int wstatus = 0;
        while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) { }
        if (cancelled)
            throw GraphvizTimeout("graphviz: " + what + " was cancelled");
        if (timedOut)
            throw GraphvizTimeout(fmt::format("graphviz: {} did not finish within {}", what, formatLimit(limit)));
        if (reply.empty()) {
            if (WIFSIGNALED(wstatus))
                throw GraphvizError(fmt::format("graphviz: {} crashed ({})", what, strsignal(WTERMSIG(wstatus))));
            throw GraphvizError(fmt::format("graphviz: {} ended without a result", what));
        }
        if (reply[0] == kFailed)
            throw GraphvizError(reply.substr(1));
        return reply.substr(1);
    }

private:
    static inline std::mutex s_noCancel;
};

namespace {

// GraphLayout over the pipe: plain numbers and strings in the machine's own byte order (the
// child is a fork of this very process).
class Packer {
public:
    void num(double v) { m_out.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void count(uint64_t v) { m_out.append(reinterpret_cast<const char*>(&v), sizeof v); }
    void point(const GraphPoint& p)
    {
        num(p.x);
        num(p.y);
    }
    void maybe(const std::optional<GraphPoint>& p)
    {
        count(p ? 1 : 0);
        if (p)
            point(*p);
    }
    void text(const std::string& s)
    {
        count(s.size());
        m_out += s;
    }
    std::string take() { return std::move(m_out); }

private:
    std::string m_out;
};

class Unpacker {
public:
    explicit Unpacker(const std::string& in) : m_in(in) { }
    template <typename T> T raw()
    {
        if (m_at + sizeof(T) > m_in.size())
            throw GraphvizError("graphviz: the layout process sent a truncated layout");
        T v;
        std::memcpy(&v, m_in.data() + m_at, sizeof v);
        m_at += sizeof v;
        return v;
    }
    double num() { return raw<double>(); }
    uint64_t count()
    {
        uint64_t n = raw<uint64_t>();
        if (n > m_in.size())
            throw GraphvizError("graphviz: the layout process sent a damaged layout");
        return n;
    }
    GraphPoint point()
    {
        GraphPoint p;
        p.x = num();
        p.y = num();
        return p;
    }
    std::optional<GraphPoint> maybe()
    {
        if (count() == 0)
            return std::nullopt;
        return point();
    }
    std::string text()
    {
        uint64_t n = count();
        if (m_at + n > m_in.size())
            throw GraphvizError("graphviz: the layout process sent a truncated layout");
        std::string s = m_in.substr(m_at, n);
        m_at += n;
        return s;
    }

private:
    const std::string& m_in;
    size_t m_at = 0;
};

std::string pack(const GraphLayout& l)
{
    Packer p;
    p.text(l.engine);
    p.num(l.width);
    p.num(l.height);
    p.count(l.nodes.size());
    for (const NodeGeometry& n : l.nodes) {
        p.point(n.center);
        p.num(n.width);
        p.num(n.height);
    }
    p.count(l.edges.size());
    for (const EdgeGeometry& e : l.edges) {
        p.count(e.curve.size());
        for (const GraphPoint& pt : e.curve)
            p.point(pt);
        p.maybe(e.arrowTip);
        p.maybe(e.labelPos);
    }
    p.maybe(l.titlePos);
    return p.take();
}

GraphLayout unpack(const std::string& bytes)
{
    Unpacker u(bytes);
    GraphLayout l;
    l.engine = u.text();
    l.width = u.num();
    l.height = u.num();
    l.nodes.resize(u.count());
    for (NodeGeometry& n : l.nodes) {
        n.center = u.point();
        n.width = u.num();
        n.height = u.num();
    }
    l.edges.resize(u.count());
    for (EdgeGeometry& e : l.edges) {
        e.curve.resize(u.count());
        for (GraphPoint& pt : e.curve)
            pt = u.point();
        e.arrowTip = u.maybe();
        e.labelPos = u.maybe();
    }
    l.titlePos = u.maybe();
    return l;
}

} // namespace

std::string renderGraphInChild(const GraphModel& g, GraphFormat format, const GraphStyle& style,
                               std::chrono::milliseconds limit, LayoutCancel* cancel)
{
    return ChildLayout::run([&] { return renderGraph(g, format, style); }, describe(g, style), limit, cancel);
}

GraphLayout layoutGraphInChild(const GraphModel& g, const GraphStyle& style, std::chrono::milliseconds limit,
                               LayoutCancel* cancel)
{
    GraphLayout l = unpack(
        ChildLayout::run([&] { return pack(layoutGraph(g, style)); }, describe(g, style), limit, cancel));
    if (l.nodes.size() != g.nodes.size() || l.edges.size() != g.edges.size())
        throw GraphvizError("graphviz: the layout process sent a layout of another graph");
    return l;
}

void writeGraphInChild(const GraphModel& g, const std::string& path, GraphFormat format, const GraphStyle& style,
                       std::chrono::milliseconds limit, LayoutCancel* cancel)
{
    writeRendered(path, [&] { return renderGraphInChild(g, format, style, limit, cancel); });
}

} // namespace ravel
