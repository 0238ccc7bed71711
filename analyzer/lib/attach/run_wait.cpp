#include "attach/run_wait.hpp"

#include "attach/kernel_tasks.hpp"
#include "detect/live_trace.hpp"
#include "detect/wait_for.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <fstream>
#include <sys/select.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <algorithm>
#include <set>
#include <unordered_map>

namespace ravel {

namespace {

constexpr uint32_t kOutside = 0; // a waker outside the graph: taken as running
constexpr size_t kMaxPolled = 256;

// Who must act for a wait on a pipe or socket to end: the holders of `inode` that can write
// (a reader waits for data, or for the last writer to close), that can read (a writer waits for
// room), or any holder (a socket's peer side).
struct Need {
    uint64_t inode = 0;
    enum class Role : uint8_t { Writers, Readers, Any } role = Role::Writers;
    Descriptor::Type type = Descriptor::Type::Pipe;
    uint64_t ownInode = 0; // a socket's own side
    std::string path;
};

struct Node {
    uint32_t gid = 0;
    uint32_t pid = 0, osTid = 0, traceTid = 0;
    std::string name;
    bool blocked = false;
    bool kernel = false; // a wait read from the kernel, not from a board
    RunWaitKind kind = RunWaitKind::Board;
    WaitMode mode = WaitMode::Or;
    bool exact = true;
    std::vector<uint32_t> wakers;
    std::vector<Need> needs;
    int fd = -1;
    size_t bytes = 0;
    long child = 0;
    std::string path;
    std::vector<int> polledFds;
    const char* pollCall = "poll";
    ThreadSnapshot board;
    uint64_t sigA0 = 0, sigA1 = 0, sigA2 = 0, runNs = 0;
    long syscall = -2;
};

bool isRead(long nr)
{
    return nr == SYS_read || nr == SYS_readv || nr == SYS_recvfrom || nr == SYS_recvmsg;
}

bool isWrite(long nr)
{
    return nr == SYS_write || nr == SYS_writev || nr == SYS_sendto || nr == SYS_sendmsg;
}

// A NUL-terminated string of the target's memory, up to 4 KiB.
std::string readString(uint32_t pid, uint64_t addr)
{
    std::string out;
    char buf[256];
    while (out.size() < 4096) {
        // A read must not cross into an unmapped page: stop each chunk at the page's end.
        size_t n = std::min<size_t>(sizeof buf, 4096 - (addr & 4095));
        if (!readProcessMemory(pid, addr, buf, n))
            return out;
        for (size_t i = 0; i < n; i++) {
            if (!buf[i])
                return out + std::string(buf, i);
        }
        out.append(buf, n);
        addr += n;
    }
    return out;
}

class SampleBuilder {
public:
    explicit SampleBuilder(const std::vector<RunProcessInput>& processes)
        : m_processes(processes)
    {
        for (const RunProcessInput& p : processes)
            m_inRun.insert(p.pid);
    }

    std::vector<Node> build();
    const std::vector<Descriptor>* descriptors(uint32_t pid);
    bool someTableUnreadable() const { return m_unreadable; }
    const std::unordered_map<uint64_t, uint64_t>& peers()
    {
        if (!m_peersRead) {
            m_peers = unixSocketPeers();
            m_peersRead = true;
        }
        return m_peers;
    }
    const std::set<uint32_t>& inRun() const { return m_inRun; }
    const std::vector<uint32_t>& threadsOf(uint32_t pid) { return m_threadsOf[pid]; }

private:
    void classify(Node& n, const KernelTask& k);
    const Descriptor* fdOf(uint32_t pid, int fd)
    {
        if (const std::vector<Descriptor>* table = descriptors(pid))
            for (const Descriptor& d : *table)
                if (d.fd == fd)
                    return &d;
        return nullptr;
    }

    const std::vector<RunProcessInput>& m_processes;
    std::set<uint32_t> m_inRun;
    std::map<uint32_t, std::optional<std::vector<Descriptor>>> m_tables;
    std::map<uint32_t, std::vector<uint32_t>> m_threadsOf; // pid -> gids
    std::unordered_map<uint64_t, uint64_t> m_peers;
    bool m_peersRead = false;
    bool m_unreadable = false;
};

const std::vector<Descriptor>* SampleBuilder::descriptors(uint32_t pid)
{
    auto it = m_tables.find(pid);
    if (it == m_tables.end()) {
        it = m_tables.emplace(pid, readDescriptors(pid)).first;
        if (!it->second && m_inRun.count(pid))
            m_unreadable = true;
    }
    return it->second ? &*it->second : nullptr;
}

void SampleBuilder::classify(Node& n, const KernelTask& k)
{
    // Sleeping in a call; 'D' (disk) and the rest end by themselves or are not ours to judge.
    if (k.state != 'S' || k.syscall < 0)
        return;
    long nr = k.syscall;
    n.syscall = nr;
    n.sigA0 = k.args[0];
    n.sigA1 = k.args[1];
    n.sigA2 = k.args[2];
    if (isRead(nr) || isWrite(nr)) {
        int fd = int(k.args[0]);
        const Descriptor* d = fdOf(n.pid, fd);
        if (!d || d->nonblocking)
            return;
        bool read = isRead(nr);
        n.fd = fd;
        if (nr == SYS_read || nr == SYS_write || nr == SYS_recvfrom || nr == SYS_sendto)
            n.bytes = size_t(k.args[2]);
        Need need;
        need.type = d->type;
        need.path = d->path;
        if (d->type == Descriptor::Type::Socket) {
            auto peer = peers().find(d->inode);
            if (peer == peers().end())
                return; // not a UNIX socket pair or connection: a network peer may answer
            need.inode = peer->second;
            need.ownInode = d->inode;
            need.role = Need::Role::Any;
            n.kind = read ? RunWaitKind::SocketRecv : RunWaitKind::SocketSend;
        } else {
            if (read ? !d->readable : !d->writable)
                return;
            need.inode = d->inode;
            need.role = read ? Need::Role::Writers : Need::Role::Readers;
            n.kind = read ? RunWaitKind::PipeRead : RunWaitKind::PipeWrite;
        }
        n.needs.push_back(need);
        n.blocked = true;
        n.kernel = true;
        n.mode = WaitMode::Or;
        return;
    }
    if (long child = childWaitedFor(k)) {
        std::vector<uint32_t> children = childProcesses(n.pid);
        n.child = child;
        for (uint32_t c : children) {
            if (child > 0 && uint32_t(child) != c)
                continue;
            if (!m_inRun.count(c)) {
                n.wakers.push_back(kOutside);
                continue;
            }
            n.wakers.push_back(0x80000000u | c); // resolved to the child's threads below
        }
        if (n.wakers.empty())
            return; // no such child: the call returns ECHILD
        n.kind = RunWaitKind::Child;
        n.blocked = true;
        n.kernel = true;
        n.mode = WaitMode::Or;
        return;
    }
    if (nr == SYS_open || nr == SYS_openat) {
        uint64_t pathAddr = nr == SYS_open ? k.args[0] : k.args[1];
        std::string path = readString(n.pid, pathAddr);
        if (path.empty())
            return;
        std::string where = path;
        if (path[0] != '/') {
            int dirfd = nr == SYS_openat ? int(k.args[0]) : AT_FDCWD;
            where = dirfd == AT_FDCWD ? fmt::format("/proc/{}/cwd/{}", n.pid, path)
                                      : fmt::format("/proc/{}/fd/{}/{}", n.pid, dirfd, path);
        }
        struct stat st;
        if (stat(where.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode))
            return;
        n.kind = RunWaitKind::FifoOpen;
        n.path = path;
        n.blocked = true;
        n.kernel = true;
        n.mode = WaitMode::Or;
        n.exact = false; // any process of the machine may open it by its path
        n.wakers.push_back(0x40000000u); // every other thread of the run, below
        return;
    }
    // One descriptor of an OR wait (poll, select, epoll): who could make it ready.
    auto addPolled = [&](int fd, bool in, bool out) {
        n.polledFds.push_back(fd);
        const Descriptor* d = fdOf(n.pid, fd);
        if (!d) {
            n.wakers.push_back(kOutside); // a terminal, a network socket, an eventfd: anything may come
            return;
        }
        Need need;
        need.type = d->type;
        need.path = d->path;
        if (d->type == Descriptor::Type::Socket) {
            auto peer = peers().find(d->inode);
            if (peer == peers().end()) {
                n.wakers.push_back(kOutside);
                return;
            }
            need.inode = peer->second;
            need.ownInode = d->inode;
            need.role = Need::Role::Any;
            n.needs.push_back(need);
            return;
        }
        need.inode = d->inode;
        if (in && d->readable) {
            need.role = Need::Role::Writers;
            n.needs.push_back(need);
        }
        if (out && d->writable) {
            need.role = Need::Role::Readers;
            n.needs.push_back(need);
        }
    };
    bool polled = false;
    if (nr == SYS_poll || nr == SYS_ppoll) {
        bool untimed = nr == SYS_poll ? int(k.args[2]) < 0 : k.args[2] == 0;
        size_t count = size_t(k.args[1]);
        if (!untimed || count == 0 || count > kMaxPolled)
            return;
        std::vector<pollfd> fds(count);
        if (!readProcessMemory(n.pid, k.args[0], fds.data(), count * sizeof(pollfd)))
            return;
        for (const pollfd& p : fds)
            if (p.fd >= 0)
                addPolled(p.fd, p.events & POLLIN, p.events & POLLOUT);
        polled = true;
        n.pollCall = "poll";
    } else if (nr == SYS_select || nr == SYS_pselect6) {
        // select(nfds, readfds, writefds, exceptfds, timeout): untimed when timeout is NULL.
        int nfds = int(k.args[0]);
        if (k.args[4] != 0 || nfds <= 0 || nfds > FD_SETSIZE)
            return;
        fd_set sets[2];
        for (int i = 0; i < 2; i++) {
            FD_ZERO(&sets[i]);
            if (k.args[1 + i] && !readProcessMemory(n.pid, k.args[1 + i], &sets[i], size_t((nfds + 7) / 8)))
                return;
        }
        size_t before = n.polledFds.size();
        for (int fd = 0; fd < nfds && n.polledFds.size() - before < kMaxPolled; fd++) {
            bool in = k.args[1] && FD_ISSET(fd, &sets[0]), out = k.args[2] && FD_ISSET(fd, &sets[1]);
            if (in || out)
                addPolled(fd, in, out);
        }
        polled = true;
        n.pollCall = "select";
    } else if (nr == SYS_epoll_wait || nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2) {
        // What an epoll instance watches is in its fdinfo: "tfd: 5 events: 19 ...", per descriptor.
        bool untimed = nr == SYS_epoll_pwait2 ? k.args[3] == 0 : int(k.args[3]) < 0;
        if (!untimed)
            return;
        std::ifstream in(fmt::format("/proc/{}/fdinfo/{}", n.pid, int(k.args[0])));
        size_t count = 0;
        for (std::string line; std::getline(in, line) && count < kMaxPolled;) {
            int fd = -1;
            unsigned events = 0;
            if (std::sscanf(line.c_str(), "tfd: %d events: %x", &fd, &events) != 2)
                continue;
            addPolled(fd, events & (EPOLLIN | EPOLLRDHUP | EPOLLPRI), events & EPOLLOUT);
            count++;
        }
        polled = count > 0;
        n.pollCall = "epoll_wait";
    }
    if (!polled || n.needs.empty())
        return;
    n.kind = RunWaitKind::Poll;
    n.blocked = true;
    n.kernel = true;
    n.mode = WaitMode::Or;
}

std::vector<Node> SampleBuilder::build()
{
    std::vector<Node> nodes;
    std::map<std::pair<uint32_t, uint32_t>, uint32_t> gidOf; // (pid, os tid) -> gid
    for (const RunProcessInput& p : m_processes) {
        std::vector<KernelTask> tasks = readKernelTasks(p.pid);
        std::vector<ThreadSnapshot> sample;
        std::vector<WaitNode> local;
        if (p.board) {
            sample = *p.board;
            applyKernelWaits(sample, tasks, 0);
            local = waitGraphOf(sample);
        }
        size_t first = nodes.size();
        for (const KernelTask& k : tasks) {
            Node n;
            n.gid = uint32_t(nodes.size() + 1);
            n.pid = p.pid;
            n.osTid = k.osTid;
            n.name = k.name;
            gidOf[{ p.pid, k.osTid }] = n.gid;
            m_threadsOf[p.pid].push_back(n.gid);
            const ThreadSnapshot* s = nullptr;
            for (const ThreadSnapshot& t : sample)
                if (t.os_tid == k.osTid && !t.exited)
                    s = &t;
            if (s) {
                n.traceTid = s->tid;
                n.board = *s;
                for (const WaitNode& w : local)
                    if (w.thread == s->tid && w.blocked) {
                        n.blocked = true;
                        n.mode = w.mode;
                        n.exact = w.exact;
                        n.kind = RunWaitKind::Board;
                        for (uint32_t waker : w.wakers)
                            n.wakers.push_back(0x20000000u | waker); // a trace tid, resolved below
                    }
            }
            if (!n.blocked)
                classify(n, k);
            nodes.push_back(std::move(n));
        }
        // Trace tids of this process's board wakers -> gids.
        for (size_t i = first; i < nodes.size(); i++)
            for (uint32_t& w : nodes[i].wakers) {
                if (!(w & 0x20000000u) || (w & 0xc0000000u))
                    continue;
                uint32_t tid = w & ~0x20000000u;
                w = kOutside;
                for (const ThreadSnapshot& t : sample)
                    if (t.tid == tid)
                        if (auto it = gidOf.find({ p.pid, t.os_tid }); it != gidOf.end())
                            w = it->second;
            }
    }
    // Children and "everyone else" -> gids.
    for (Node& n : nodes) {
        std::vector<uint32_t> wakers;
        for (uint32_t w : n.wakers) {
            if (w & 0x80000000u) {
                for (uint32_t g : m_threadsOf[w & ~0x80000000u])
                    wakers.push_back(g);
            } else if (w == 0x40000000u) {
                for (const Node& o : nodes)
                    if (o.gid != n.gid)
                        wakers.push_back(o.gid);
            } else
                wakers.push_back(w);
        }
        n.wakers = std::move(wakers);
    }
    return nodes;
}

// The processes of the run holding `need`'s object in the role it asks for.
std::vector<RunPipeEnd> holders(SampleBuilder& b, const Need& need, const std::set<uint32_t>& pids)
{
    std::vector<RunPipeEnd> out;
    for (uint32_t pid : pids)
        if (const std::vector<Descriptor>* table = b.descriptors(pid))
            for (const Descriptor& d : *table) {
                if (d.inode != need.inode)
                    continue;
                if ((need.role == Need::Role::Writers && !d.writable) || (need.role == Need::Role::Readers && !d.readable))
                    continue;
                out.push_back({ pid, d.fd, d.readable, d.writable });
            }
    return out;
}

std::vector<RunPipeEnd> allEnds(SampleBuilder& b, uint64_t inode, const std::set<uint32_t>& pids)
{
    Need any;
    any.inode = inode;
    any.role = Need::Role::Any;
    return holders(b, any, pids);
}

} // namespace

bool RunDeadlock::spansProcesses() const
{
    for (const RunWaitThread& t : threads)
        if (t.pid != threads.front().pid)
            return true;
    return false;
}

std::optional<RunDeadlock> RunWaitWatch::observe(const std::vector<RunProcessInput>& processes, uint64_t nowNs)
{
    SampleBuilder b(processes);
    std::vector<Node> nodes = b.build();
    if (std::none_of(nodes.begin(), nodes.end(), [](const Node& n) { return n.kernel; })) {
        m_previous.clear();
        m_reported = false;
        return std::nullopt;
    }
    // Pipe and socket waits: whoever holds the other end in the run.
    for (Node& n : nodes) {
        for (const Need& need : n.needs) {
            std::vector<RunPipeEnd> ends = holders(b, need, b.inRun());
            // No holder at all: the read returns end-of-file, the write EPIPE, the peer is gone.
            if (ends.empty())
                n.wakers.push_back(kOutside);
            for (const RunPipeEnd& e : ends)
                for (uint32_t g : b.threadsOf(e.pid))
                    n.wakers.push_back(g);
        }
        if (!n.needs.empty() && b.someTableUnreadable())
            n.exact = false;
    }
    auto reduce = [&] {
        std::vector<WaitNode> graph;
        for (const Node& n : nodes) {
            WaitNode w;
            w.thread = n.gid;
            w.blocked = n.blocked;
            w.mode = n.mode;
            w.exact = n.exact;
            w.wakers = n.wakers;
            graph.push_back(std::move(w));
        }
        return reduceWaitFor(graph);
    };
    Deadlock d = reduce();
    auto involvesKernel = [&](const Deadlock& dl) {
        return std::any_of(dl.threads.begin(), dl.threads.end(), [&](uint32_t g) { return nodes[g - 1].kernel; });
    };
    if (d.verdict == Verdict::None || !involvesKernel(d)) {
        m_previous.clear();
        m_reported = false;
        return std::nullopt;
    }
    std::vector<Signature> seen;
    for (uint32_t g : d.threads) {
        Node& n = nodes[g - 1];
        if (n.kernel)
            n.runNs = taskRunTimeNs(n.pid, n.osTid);
        seen.push_back({ n.pid, n.osTid, n.kernel ? n.syscall : -1,
                         n.kernel ? n.sigA0 : n.board.blockedOn, n.kernel ? n.sigA1 : n.board.blockedSinceRaw,
                         n.sigA2, n.runNs });
    }
    bool same = seen == m_previous;
    m_previous = seen;
    if (!same) {
        m_reported = false;
        m_firstSeenNs = nowNs;
        return std::nullopt;
    }
    if (m_reported || (d.verdict == Verdict::Likely && nowNs - m_firstSeenNs < m_stallNs))
        return std::nullopt;

    // Confirmed twice. Only now the rest of the machine: a process outside the run that holds the
    // other end (the reader of `ravel run ... | less`) may still act.
    std::set<uint32_t> outside;
    for (uint32_t pid : allProcesses())
        if (!b.inRun().count(pid))
            outside.insert(pid);
    bool changed = false;
    for (uint32_t g : d.threads) {
        Node& n = nodes[g - 1];
        for (const Need& need : n.needs)
            if (!holders(b, need, outside).empty()) {
                n.wakers.push_back(kOutside);
                changed = true;
            }
    }
    if (changed) {
        d = reduce();
        if (d.verdict == Verdict::None || !involvesKernel(d))
            return std::nullopt;
    }
    m_reported = true;

    RunDeadlock out;
    out.verdict = d.verdict;
    out.firstSeenNs = m_firstSeenNs;
    out.confirmedNs = nowNs;
    // The cycle in the order its threads wait on each other, starting at a pipe or socket wait.
    auto inCycle = [&](uint32_t g) { return std::find(d.cycle.begin(), d.cycle.end(), g) != d.cycle.end(); };
    uint32_t start = d.cycle.front();
    for (uint32_t g : d.cycle)
        if (nodes[g - 1].kernel && nodes[g - 1].kind != RunWaitKind::Child) {
            start = g;
            break;
        }
    std::vector<uint32_t> order;
    for (uint32_t next = start; next && order.size() < d.cycle.size();) {
        order.push_back(next);
        uint32_t after = 0;
        for (uint32_t w : nodes[next - 1].wakers)
            if (w && inCycle(w) && std::find(order.begin(), order.end(), w) == order.end() && !after)
                after = w;
        next = after;
    }
    for (uint32_t g : d.cycle)
        if (std::find(order.begin(), order.end(), g) == order.end())
            order.push_back(g);
    out.cycle = order.size();
    for (uint32_t g : d.threads)
        if (!inCycle(g))
            order.push_back(g);

    std::map<uint32_t, size_t> index;
    for (size_t i = 0; i < order.size(); i++)
        index[order[i]] = i;
    std::map<std::pair<uint64_t, int>, size_t> pipeIndex; // (inode, role) -> pipes[]
    for (uint32_t g : order) {
        const Node& n = nodes[g - 1];
        RunWaitThread t;
        t.pid = n.pid;
        t.osTid = n.osTid;
        t.traceTid = n.traceTid;
        t.name = n.name;
        t.kind = n.kind;
        t.fd = n.fd;
        t.bytes = n.bytes;
        t.child = n.child;
        t.path = n.path;
        t.polledFds = n.polledFds;
        t.pollCall = n.pollCall;
        t.board = n.board;
        t.exact = n.exact;
        for (uint32_t w : n.wakers)
            if (auto it = index.find(w); it != index.end()
                && std::find(t.wakers.begin(), t.wakers.end(), it->second) == t.wakers.end())
                t.wakers.push_back(it->second);
        for (const Need& need : n.needs) {
            uint64_t key = need.type == Descriptor::Type::Socket ? std::min(need.inode, need.ownInode) : need.inode;
            auto it = pipeIndex.find({ key, 0 });
            if (it == pipeIndex.end()) {
                RunPipe p;
                p.type = need.type;
                p.path = need.path;
                if (need.type == Descriptor::Type::Socket) {
                    p.inode = need.ownInode;
                    p.peerInode = need.inode;
                    p.ends = allEnds(b, need.ownInode, b.inRun());
                    p.peerEnds = allEnds(b, need.inode, b.inRun());
                } else {
                    p.inode = need.inode;
                    p.ends = allEnds(b, need.inode, b.inRun());
                }
                out.pipes.push_back(std::move(p));
                it = pipeIndex.emplace(std::make_pair(key, 0), out.pipes.size() - 1).first;
            }
            if (std::find(t.pipes.begin(), t.pipes.end(), it->second) == t.pipes.end())
                t.pipes.push_back(it->second);
        }
        out.threads.push_back(std::move(t));
    }
    for (const RunWaitThread& t : out.threads)
        out.commands.emplace(t.pid, processCommandLine(t.pid));
    for (const RunPipe& p : out.pipes) {
        for (const RunPipeEnd& e : p.ends)
            out.commands.emplace(e.pid, processCommandLine(e.pid));
        for (const RunPipeEnd& e : p.peerEnds)
            out.commands.emplace(e.pid, processCommandLine(e.pid));
    }
    if (b.someTableUnreadable())
        out.notes.push_back("the descriptor table of some process of the run could not be read: it may hold an end "
                            "of these pipes");
    for (const RunWaitThread& t : out.threads)
        if (t.kind == RunWaitKind::FifoOpen) {
            out.notes.push_back("presumed: no process outside the run will open the FIFO (any process of the "
                                "machine may open it by its path)");
            break;
        }
    return out;
}

std::string runShortCommand(const std::string& command)
{
    std::string cmd = command;
    size_t space = cmd.find(' ');
    size_t slash = cmd.rfind('/', space == std::string::npos ? cmd.size() : space);
    if (!cmd.empty() && cmd[0] == '/' && slash != std::string::npos)
        cmd = cmd.substr(slash + 1); // argv[0] by its file name: the pid says which
    if (cmd.size() > 60)
        cmd = cmd.substr(0, 57) + "...";
    return cmd;
}

std::string runPipeName(const RunDeadlock& d, size_t i)
{
    const RunPipe& p = d.pipes[i];
    if (p.type == Descriptor::Type::Fifo)
        return fmt::format("FIFO {}", p.path);
    // Numbered among the deadlock's pipes of the same type, in the order the report meets them.
    size_t n = 1;
    for (size_t k = 0; k < i; k++)
        n += d.pipes[k].type == p.type;
    return fmt::format("{} #{}", p.type == Descriptor::Type::Socket ? "socket pair" : "pipe", n);
}

std::string runEndsText(const RunDeadlock& d, const std::vector<RunPipeEnd>& ends)
{
    // "fds 3, 4 in pid 100 (./prog)" per process, in pid order.
    std::map<uint32_t, std::vector<int>> byPid;
    for (const RunPipeEnd& e : ends)
        byPid[e.pid].push_back(e.fd);
    std::string out;
    for (auto& [pid, fds] : byPid) {
        std::sort(fds.begin(), fds.end());
        std::string list;
        for (int fd : fds)
            list += (list.empty() ? "" : ", ") + std::to_string(fd);
        auto cmd = d.commands.find(pid);
        std::string label
            = cmd != d.commands.end() && !cmd->second.empty() ? fmt::format(" ({})", runShortCommand(cmd->second)) : "";
        out += fmt::format("{}fd{} {} in pid {}{}", out.empty() ? "" : "; ", fds.size() == 1 ? "" : "s", list, pid, label);
    }
    return out.empty() ? "no process" : out;
}

} // namespace ravel
