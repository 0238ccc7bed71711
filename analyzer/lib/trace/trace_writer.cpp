#include "trace/trace_writer.hpp"

#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace ravel {

namespace {

// An imported trace has no tsc: one tick is one nanosecond. The start is not zero so that every
// clock pair lies after it, which the reader requires of a pair it calibrates from.
constexpr uint64_t kStartTsc = 1'000'000'000;
constexpr uint64_t kStartMonoNs = 1'000'000'000;
constexpr uint64_t kUnknownGap = UINT64_MAX;

} // namespace

TraceWriter::TraceWriter(std::string rawPath, uint32_t chunkSize)
    : m_path(std::move(rawPath))
    , m_chunkSize(chunkSize)
    , m_nextChunk(RAVEL_HEADER_SIZE)
{
    if (chunkSize < 4096 || chunkSize > (16u << 20) || (chunkSize & (chunkSize - 1)))
        throw TraceError(fmt::format("{}: chunk size {} is not a power of two in 4096..16 MiB", m_path, chunkSize));
    m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (m_fd < 0)
        throw TraceError(fmt::format("{}: cannot create: {}", m_path, std::strerror(errno)));
    std::memcpy(m_header.magic, RAVEL_TRACE_MAGIC, 8);
    m_header.version = RAVEL_TRACE_VERSION;
    m_header.header_size = RAVEL_HEADER_SIZE;
    m_header.chunk_size = chunkSize;
    m_header.start_tsc = kStartTsc;
    m_header.start_mono_ns = kStartMonoNs;
}

TraceWriter::~TraceWriter()
{
    if (m_fd >= 0)
        ::close(m_fd);
}

void TraceWriter::event(uint32_t tid, uint64_t timeNs, unsigned kind, uint64_t obj, uint32_t aux, uint32_t stack,
    unsigned flags)
{
    Pending next;
    next.tid = tid;
    next.timeNs = timeNs;
    next.event = RavelEvent { ravel_event_word(obj, kind, flags), aux, stack };
    next.valid = true;
    next.runStart = true;
    // The reader interpolates a thread's unstamped events linearly between two stamps, so a run of
    // one thread's events at an even spacing needs stamps only at its two ends. The pending event
    // is written once the next one shows whether it ended its run.
    if (m_pending.valid) {
        bool continues = tid == m_pending.tid && timeNs >= m_pending.timeNs
            && (m_runGap == kUnknownGap || timeNs - m_pending.timeNs == m_runGap);
        if (continues) {
            if (m_runGap == kUnknownGap)
                m_runGap = timeNs - m_pending.timeNs;
            next.runStart = false;
        } else {
            m_runGap = kUnknownGap;
        }
        put(m_pending, m_pending.runStart || !continues);
    }
    m_pending = next;
    ++m_events;
    if (stack > m_maxStack)
        m_maxStack = stack;
}

// A raw events chunk is the runtime's byte stream (trace_format.h, RAVEL_REC_*). Only full records
// are written: the one-byte short forms carry no sequence number, and imported acquisitions all
// have one.
constexpr size_t kRawEventSize = 1 + sizeof(RavelEvent);
constexpr size_t kRawTimeSize = 8;

void TraceWriter::put(const Pending& p, bool stamp)
{
    if (p.tid == 0)
        throw TraceError(fmt::format("{}: thread id 0 is not a thread", m_path));
    if (p.tid >= m_threads.size())
        m_threads.resize(size_t(p.tid) + 1);
    ThreadChunk& c = m_threads[p.tid];
    const size_t capacity = m_chunkSize - RAVEL_CHUNK_HEADER_SIZE;
    if (!c.payload.empty() && c.payload.size() + kRawTimeSize + kRawEventSize > capacity)
        flushEvents(p.tid, true);
    if (c.payload.empty()) {
        // Every events chunk begins with a TIME record, so each chunk can be placed on its own.
        // (No reserve: a trace of many short-lived threads would hold a whole chunk per thread.)
        c.firstNs = p.timeNs;
        stamp = true;
    }
    auto append = [&c](const void* data, size_t len) {
        const auto* bytes = static_cast<const uint8_t*>(data);
        c.payload.insert(c.payload.end(), bytes, bytes + len);
    };
    if (stamp) {
        uint64_t v = uint64_t(RAVEL_REC_TIME) | p.timeNs << 8; // 56 bits of ns: two years
        append(&v, sizeof v);
        ++m_stamps;
    }
    const uint8_t marker = RAVEL_REC_FULL;
    append(&marker, 1);
    append(&p.event, sizeof p.event);
}

void TraceWriter::flushEvents(uint32_t tid, bool sealed)
{
    ThreadChunk& c = m_threads[tid];
    if (c.payload.empty())
        return;
    writeChunk(RAVEL_CHUNK_EVENTS, tid, c.seq++, sealed ? RAVEL_CHUNK_SEALED : 0, c.payload, c.firstNs);
    c.payload.clear();
}

void TraceWriter::writeChunk(unsigned type, uint32_t owner, uint32_t seq, uint16_t flags,
    const std::vector<uint8_t>& payload, uint64_t firstNs)
{
    RavelChunkHeader h {};
    h.magic = RAVEL_CHUNK_MAGIC;
    h.type = uint16_t(type);
    h.flags = flags;
    h.owner = owner;
    h.seq = seq;
    h.size = m_chunkSize;
    h.used = h.stored = uint32_t(payload.size());
    h.first_tsc = kStartTsc + firstNs;
    h.first_mono_ns = kStartMonoNs + firstNs;
    // Payload first, header last: the order the runtime commits a chunk in.
    writeAt(payload.data(), payload.size(), m_nextChunk + sizeof h);
    writeAt(&h, sizeof h, m_nextChunk);
    m_nextChunk += m_chunkSize;
}

void TraceWriter::appendTable(unsigned type, const void* data, size_t len)
{
    const size_t capacity = m_chunkSize - RAVEL_CHUNK_HEADER_SIZE;
    if (len > capacity)
        throw TraceError(fmt::format("{}: a table record of {} bytes does not fit a chunk", m_path, len));
    std::vector<uint8_t>& t = m_tables[type];
    if (t.size() + len > capacity)
        flushTable(type);
    const auto* bytes = static_cast<const uint8_t*>(data);
    t.insert(t.end(), bytes, bytes + len);
}

void TraceWriter::flushTable(unsigned type)
{
    if (m_tables[type].empty())
        return;
    writeChunk(type, 0, m_tableSeq[type]++, RAVEL_CHUNK_SEALED, m_tables[type], 0);
    m_tables[type].clear();
}

void TraceWriter::stack(uint32_t id, const std::vector<uint64_t>& frames, bool siteOnly)
{
    if (id == 0 || frames.size() > UINT16_MAX)
        throw TraceError(fmt::format("{}: bad stack record (id {}, depth {})", m_path, id, frames.size()));
    std::vector<uint8_t> rec(8 + frames.size() * 8);
    uint16_t depth = uint16_t(frames.size()), flags = siteOnly ? 1 : 0;
    std::memcpy(rec.data(), &id, 4);
    std::memcpy(rec.data() + 4, &depth, 2);
    std::memcpy(rec.data() + 6, &flags, 2);
    if (!frames.empty())
        std::memcpy(rec.data() + 8, frames.data(), frames.size() * 8);
    appendTable(RAVEL_CHUNK_STACKS, rec.data(), rec.size());
    m_maxStack = std::max(m_maxStack, id);
}

void TraceWriter::module(uint64_t base, uint64_t lo, uint64_t hi, const std::string& path)
{
    if (path.size() >= UINT16_MAX)
        throw TraceError(fmt::format("{}: module path too long", m_path));
    RavelModuleRecord m {};
    m.path_len = uint16_t(path.size() + 1);
    m.size = uint32_t((sizeof m + m.path_len + 7) & ~size_t(7));
    m.base = base;
    m.lo = lo;
    m.hi = hi;
    std::vector<uint8_t> rec(m.size);
    std::memcpy(rec.data(), &m, sizeof m);
    std::memcpy(rec.data() + sizeof m, path.c_str(), path.size() + 1);
    appendTable(RAVEL_CHUNK_MODULES, rec.data(), rec.size());
}

void TraceWriter::finish(const std::vector<WriterThread>& threads, uint64_t endNs, bool ended, int exitStatus)
{
    if (m_pending.valid) {
        put(m_pending, true);
        m_pending.valid = false;
    }
    for (uint32_t tid = 1; tid < m_threads.size(); ++tid)
        flushEvents(tid, true);

    uint32_t maxTid = 0;
    for (const WriterThread& t : threads) {
        RavelThreadEntry e {};
        e.tid = t.tid;
        e.os_tid = t.osTid;
        e.pid = m_header.pid;
        e.parent = t.parent;
        e.pthread = t.pthread;
        e.start_tsc = kStartTsc + t.startNs;
        e.exit_tsc = t.exited ? kStartTsc + t.exitNs : 0;
        e.state = t.exited ? 2 : 1;
        std::memcpy(e.name, t.name.data(), std::min(t.name.size(), sizeof e.name));
        appendTable(RAVEL_CHUNK_THREADS, &e, sizeof e);
        maxTid = std::max(maxTid, t.tid);
    }
    for (unsigned type : {RAVEL_CHUNK_THREADS, RAVEL_CHUNK_STACKS, RAVEL_CHUNK_MODULES})
        flushTable(type);

    RavelFileHeader& h = m_header;
    h.flags = ended ? RAVEL_FILE_ENDED : 0;
    h.next_chunk = m_nextChunk;
    h.reserved_size = m_nextChunk;
    h.thread_count = maxTid;
    h.stack_count = m_maxStack;
    h.exit_status = ended ? exitStatus : 0;
    if (ended) {
        h.end_tsc = kStartTsc + endNs;
        h.end_mono_ns = kStartMonoNs + endNs;
    }
    // One tick per nanosecond, said by a pair strictly after the start even for an empty trace.
    h.calib_tsc = kStartTsc + endNs + 1000;
    h.calib_mono_ns = kStartMonoNs + endNs + 1000;
    if (::ftruncate(m_fd, off_t(m_nextChunk)) != 0)
        throw TraceError(fmt::format("{}: cannot write: {}", m_path, std::strerror(errno)));
    writeAt(&h, sizeof h, 0);
    int fd = m_fd;
    m_fd = -1;
    if (::close(fd) != 0)
        throw TraceError(fmt::format("{}: cannot write: {}", m_path, std::strerror(errno)));
}

void TraceWriter::writeAt(const void* data, size_t len, uint64_t offset)
{
    const char* p = static_cast<const char*>(data);
    while (len > 0) {
        ssize_t w = ::pwrite(m_fd, p, len, off_t(offset));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            throw TraceError(fmt::format("{}: cannot write: {}", m_path, w < 0 ? std::strerror(errno) : "short write"));
        p += w;
        len -= size_t(w);
        offset += uint64_t(w);
    }
}

} // namespace ravel
