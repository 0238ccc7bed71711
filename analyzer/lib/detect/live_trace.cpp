#include "detect/live_trace.hpp"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace ravel {

LiveTrace::~LiveTrace()
{
    if (m_base)
        munmap(m_base, m_mapped);
    if (m_fd >= 0)
        close(m_fd);
}

bool LiveTrace::open(const std::string& path)
{
    if (m_header)
        return true;
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < static_cast<off_t>(RAVEL_HEADER_SIZE)) {
        close(fd);
        return false;
    }
    void* m = mmap(nullptr, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
        close(fd);
        return false;
    }
    auto* h = static_cast<RavelFileHeader*>(m);
    // The runtime writes the magic last: until then the header is not complete.
    if (memcmp(h->magic, RAVEL_TRACE_MAGIC, 8) != 0 || h->version != RAVEL_TRACE_VERSION || h->chunk_size < 4096
        || (h->chunk_size & (h->chunk_size - 1))) {
        munmap(m, st.st_size);
        close(fd);
        return false;
    }
    m_path = path;
    m_fd = fd;
    m_base = static_cast<uint8_t*>(m);
    m_mapped = static_cast<uint64_t>(st.st_size);
    m_header = h;
    m_scanned = RAVEL_HEADER_SIZE;
    return true;
}

void LiveTrace::remap()
{
    struct stat st;
    if (fstat(m_fd, &st) != 0 || static_cast<uint64_t>(st.st_size) <= m_mapped)
        return;
    void* m = mremap(m_base, m_mapped, st.st_size, MREMAP_MAYMOVE);
    if (m == MAP_FAILED)
        return;
    m_base = static_cast<uint8_t*>(m);
    m_header = reinterpret_cast<RavelFileHeader*>(m_base);
    m_mapped = static_cast<uint64_t>(st.st_size);
}

void LiveTrace::scanNewChunks()
{
    uint64_t cs = m_header->chunk_size;
    uint64_t end = std::min<uint64_t>(__atomic_load_n(&m_header->next_chunk, __ATOMIC_ACQUIRE), m_mapped);
    // Chunk headers are read with pread, not through the mapping: a read fault there maps the
    // whole chunk around it (the kernel's fault-around), so scanning the headers of a busy
    // program's trace made all of it resident in ravel as well (1.3 GB beside a 550 MB target).
    // The runtime stores the magic after the type, so a header whose magic is seen is complete.
    auto look = [&](uint64_t off) {
        RavelChunkHeader c;
        if (::pread(m_fd, &c, sizeof c, off_t(off)) != ssize_t(sizeof c))
            return false;
        if (c.magic == RAVEL_CHUNK_MAGIC && c.type == RAVEL_CHUNK_THREADS)
            m_threadChunks.push_back(off);
        return c.magic != 0;
    };
    // A chunk without magic is reserved but not initialized yet (a thread's spare, or one being
    // set up right now): look at it again next time.
    std::vector<uint64_t> still;
    for (uint64_t off : m_pending)
        if (!look(off))
            still.push_back(off);
    for (uint64_t off = m_scanned; off + cs <= end; off += cs)
        if (!look(off))
            still.push_back(off);
    m_scanned = std::max(m_scanned, end - (end - RAVEL_HEADER_SIZE) % cs);
    m_pending.swap(still);
}

std::vector<ThreadSnapshot> LiveTrace::sample()
{
    std::vector<ThreadSnapshot> out;
    if (!m_header)
        return out;
    remap();
    scanNewChunks();
    uint64_t cs = m_header->chunk_size;
    uint32_t perChunk = static_cast<uint32_t>((cs - RAVEL_CHUNK_HEADER_SIZE) / sizeof(RavelThreadEntry));
    for (uint64_t off : m_threadChunks) {
        auto* c = reinterpret_cast<const RavelChunkHeader*>(m_base + off);
        uint32_t used = std::min(__atomic_load_n(&c->used, __ATOMIC_ACQUIRE) / uint32_t(sizeof(RavelThreadEntry)),
                                 perChunk);
        auto* entries = reinterpret_cast<const RavelThreadEntry*>(m_base + off + RAVEL_CHUNK_HEADER_SIZE);
        for (uint32_t i = 0; i < used; i++) {
            const RavelThreadEntry& e = entries[i];
            uint32_t tid = __atomic_load_n(&e.tid, __ATOMIC_ACQUIRE);
            if (tid == 0)
                continue;
            ThreadSnapshot t;
            t.tid = tid;
            t.os_tid = e.os_tid;
            t.pid = e.pid;
            t.pthread = e.pthread;
            t.exited = __atomic_load_n(&e.state, __ATOMIC_ACQUIRE) >= 2;
            t.name.assign(e.name, strnlen(e.name, RAVEL_THREAD_NAME_LEN));
            RavelBoard b;
            memcpy(&b, &e.board, sizeof b);
            t.blockedOn = b.blocked_on;
            t.blockedFlags = b.blocked_kind;
            t.blockedSinceNs = tscToTraceNs(*m_header, b.blocked_since_tsc);
            t.blockedSinceRaw = b.blocked_since_tsc;
            t.blockedStack = b.blocked_stack;
            t.blockedAux = b.blocked_aux;
            if ((b.blocked_kind & 0x0f) == RAVEL_OBJ_FUTEX && (b.blocked_mutex & RAVEL_BOARD_FUTEX_VALUE)) {
                t.futexValueKnown = true;
                t.futexValue = uint32_t(b.blocked_mutex);
            }
            if (b.blocked_on && b.blocked_aux == RAVEL_EV_SELECT_REQ) {
                // Written before blocked_on under the board's seqlock: stable while it is blocked.
                uint32_t n = std::min<uint32_t>(e.wait_set_count, RAVEL_MAX_WAIT_SET);
                for (uint32_t k = 0; k < n; k++) {
                    uint64_t w = e.wait_set[k];
                    t.waitSet.push_back({ w & RAVEL_OBJ_MASK, (w & RAVEL_WAIT_SET_SEND) != 0 });
                }
            }
            t.heldCount = b.held_count;
            for (uint32_t k = 0; k < std::min<uint32_t>(b.held_count, RAVEL_MAX_HELD); k++) {
                t.held.push_back(b.held[k] & RAVEL_OBJ_MASK);
                t.heldFlags.push_back(static_cast<unsigned>(b.held[k] >> 56));
                t.heldStacks.push_back(b.held_stack[k]);
            }
            out.push_back(std::move(t));
        }
    }
    std::sort(out.begin(), out.end(), [](const ThreadSnapshot& a, const ThreadSnapshot& b) { return a.tid < b.tid; });
    // The process has begun its exit (exit(), a return from main): the thread that called it is
    // marked exited while atexit handlers and destructors still run, and its locks go only with
    // the process. The board keeps no exit time, so every exited thread counts here; one that
    // left a lock abandoned before was reported while the process still ran (two samples agree
    // within ~100 ms), and the analysis after the run tells the two apart by time.
    if (__atomic_load_n(&m_header->flags, __ATOMIC_ACQUIRE) & RAVEL_FILE_ENDED)
        for (ThreadSnapshot& t : out)
            t.exitedWithProcess = t.exited && t.pid == m_header->pid;
    return out;
}

uint64_t tscToTraceNs(const RavelFileHeader& h, uint64_t tsc)
{
    if (tsc <= h.start_tsc)
        return 0;
    double perNs = 1.0;
    uint64_t refTsc = h.calib_tsc > h.end_tsc ? h.calib_tsc : h.end_tsc;
    uint64_t refNs = h.calib_tsc > h.end_tsc ? h.calib_mono_ns : h.end_mono_ns;
    if (refTsc > h.start_tsc && refNs > h.start_mono_ns)
        perNs = double(refTsc - h.start_tsc) / double(refNs - h.start_mono_ns);
    return uint64_t(double(tsc - h.start_tsc) / perNs);
}

ChanOp chanOpOf(unsigned blockedAux)
{
    switch (blockedAux) {
    case RAVEL_EV_SEND_REQ:
        return ChanOp::Send;
    case RAVEL_EV_RECV_REQ:
        return ChanOp::Recv;
    case RAVEL_EV_SELECT_REQ:
        return ChanOp::Select;
    default:
        return ChanOp::None;
    }
}

namespace {

struct SnapshotLiveness : ThreadLiveness {
    const std::vector<ThreadSnapshot>& threads;
    explicit SnapshotLiveness(const std::vector<ThreadSnapshot>& t)
        : threads(t)
    {
    }
    bool alive(uint32_t id) const override
    {
        for (const ThreadSnapshot& s : threads)
            if (s.tid == id)
                return !s.exited;
        return false;
    }
};

// A thread blocked in send, recv or select: an OR wait on whoever may still serve one of its
// cases. Returns false when it is not really stuck (a receive on a closed channel returns).
bool channelWait(WaitNode& n, const ThreadSnapshot& t, const std::vector<ThreadSnapshot>& threads,
                 const ChannelTable& channels, uint64_t at)
{
    std::vector<SelectCase> cases = t.waitSet;
    ChanOp op = chanOpOf(t.blockedAux);
    if (op == ChanOp::Send || op == ChanOp::Recv)
        cases = { { t.blockedOn, op == ChanOp::Send } };
    if (cases.empty())
        cases = { { t.blockedOn, false } };
    SnapshotLiveness live(threads);
    n.mode = WaitMode::Or;
    bool allGone = true;
    for (const SelectCase& c : cases) {
        const ChannelInfo* info = channels.find(c.channel);
        if (!info) {
            n.wakers.clear();
            return false; // a channel the table does not know yet: the caller presumes
        }
        if (!c.send && info->closedAt(at)) {
            n.blocked = false;
            return true;
        }
        bool gone = false;
        for (uint32_t w : channels.wakers(c.channel, c.send ? ChanOp::Send : ChanOp::Recv, t.tid, at, live, &gone))
            if (std::find(n.wakers.begin(), n.wakers.end(), w) == n.wakers.end())
                n.wakers.push_back(w);
        allGone = allGone && gone;
    }
    // Certain only when every case's other side is gone for good; otherwise some thread nobody has
    // seen use the channel yet might still come: a presumption.
    n.exact = allGone;
    return true;
}

} // namespace

std::vector<WaitNode> waitGraphOf(const std::vector<ThreadSnapshot>& threads, const ChannelTable* channels, uint64_t at)
{
    std::vector<WaitNode> nodes;
    for (const ThreadSnapshot& t : threads) {
        if (t.exited && !t.exitedWithProcess)
            continue; // exited threads wake nobody and wait for nothing
        WaitNode n;
        n.thread = t.tid;
        uint64_t obj = t.blockedOn;
        unsigned flags = t.blockedFlags;
        unsigned kind = flags & 0x0f;
        n.object = obj;
        n.objectKind = kind;
        n.blocked = obj != 0 && !(flags & (RAVEL_F_TIMED | RAVEL_F_TRY));
        if (!n.blocked) {
            nodes.push_back(std::move(n));
            continue;
        }
        switch (kind) {
        case RAVEL_OBJ_MUTEX:
        case RAVEL_OBJ_SPIN:
        case RAVEL_OBJ_RWLOCK:
        case RAVEL_OBJ_ONCE:
        case RAVEL_OBJ_GUARD: {
            // AND: every holder must release. A shared request waits only for exclusive holders.
            bool wantShared = flags & RAVEL_F_SHARED;
            bool abandoned = false;
            for (const ThreadSnapshot& h : threads) {
                for (size_t k = 0; k < h.held.size(); k++) {
                    if (h.held[k] != obj)
                        continue;
                    bool heldShared = h.heldFlags[k] & RAVEL_F_SHARED;
                    if (wantShared && heldShared && h.tid != t.tid)
                        continue;
                    if (h.exited && !h.exitedWithProcess)
                        abandoned = true; // nobody will ever release it
                    else if (std::find(n.wakers.begin(), n.wakers.end(), h.tid) == n.wakers.end())
                        n.wakers.push_back(h.tid);
                }
            }
            n.mode = WaitMode::And;
            if (n.wakers.empty() && !abandoned) {
                // No holder on any board: the holder just released (the board is a moment behind),
                // or its hold fell beyond a full board. Either way it is not provably stuck.
                n.blocked = false;
            }
            break;
        }
        case RAVEL_OBJ_THREAD: {
            n.mode = WaitMode::And;
            bool found = false;
            for (const ThreadSnapshot& j : threads) {
                if (j.pthread == obj && !j.exited && j.tid != t.tid) {
                    n.wakers.push_back(j.tid);
                    found = true;
                }
                if (j.pthread == obj && j.tid == t.tid)
                    found = true; // joining itself: waits for itself, forever
            }
            if (!found)
                n.blocked = false; // already exited or unknown: the join returns
            if (found && n.wakers.empty())
                n.wakers.push_back(t.tid);
            break;
        }
        case RAVEL_OBJ_CHAN:
            if (channels && channelWait(n, t, threads, *channels, at))
                break;
            [[fallthrough]];
        default:
            // Condition variables, semaphores, barriers: anyone still running may signal, post or
            // arrive. That is a presumption, hence not exact.
            n.mode = WaitMode::Or;
            n.exact = false;
            for (const ThreadSnapshot& o : threads)
                if (!o.exited && o.tid != t.tid && o.pid == t.pid)
                    n.wakers.push_back(o.tid);
            break;
        }
        nodes.push_back(std::move(n));
    }
    return nodes;
}

} // namespace ravel
