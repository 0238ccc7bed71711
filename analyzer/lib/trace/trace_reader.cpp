// TraceReader, opening a trace: reads its tables (threads, stacks, modules, names) and indexes it
// once (per thread: its events chunks, how many events each holds, the clock anchors, the
// objects' sequence ranges). Streaming the events in order is event_pass.cpp's; times are
// computed on the fly from the anchors.
#include "trace/trace_reader.hpp"
#include "trace/internal/reader_impl.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <iterator>
#include <memory>
#include <mutex>
#include <span>
#include <thread>
#include <utility>

namespace ravel {

namespace {

using detail::Anchor;
using detail::ChunkRef;
using detail::Cursor;
using detail::EventBuffer;
using detail::isSequenced;
using detail::keepEvents;
using detail::StreamChunk;
using detail::MappedTrace;
using detail::ObjectIndex;
using detail::ObjectSeqs;
using detail::ThreadStream;

struct ThreadIdLess {
    bool operator()(const ThreadInfo& a, uint32_t b) const { return a.id < b; }
    bool operator()(uint32_t a, const ThreadInfo& b) const { return a < b.id; }
};

std::string hexBytes(const uint8_t* p, size_t n)
{
    std::string s;
    for (size_t i = 0; i < n; ++i)
        s += fmt::format("{:02x}", p[i]);
    return s;
}

} // namespace


void TraceReader::Impl::calibrate(MappedTrace& t)
{
    const RavelFileHeader& h = t.header();
    startTsc = h.start_tsc;
    uint64_t tsc = 0, mono = 0;
    if (t.calibration(tsc, mono)) {
        nsPerTsc = double(mono - h.start_mono_ns) / double(tsc - h.start_tsc);
    } else {
        nsPerTsc = 1;
        t.warn("no clock calibration in the trace, assuming 1 tsc tick per nanosecond");
    }
    summary.tsc_per_ns = 1 / nsPerTsc;
}

void TraceReader::Impl::readThreads(MappedTrace& t, const ChunkRef& c, std::span<const uint8_t> p)
{
    for (size_t off = 0; off + sizeof(RavelThreadEntry) <= p.size(); off += sizeof(RavelThreadEntry)) {
        RavelThreadEntry e;
        std::memcpy(&e, p.data() + off, sizeof e);
        if (e.tid == 0)
            continue;
        ThreadInfo ti;
        ti.id = e.tid;
        ti.os_tid = e.os_tid;
        ti.pid = e.pid;
        ti.parent = e.parent;
        ti.pthread = e.pthread;
        ti.stack_lo = e.stack_lo;
        ti.stack_hi = e.stack_hi;
        ti.start_ns = tscToNs(e.start_tsc);
        ti.exited = e.exit_tsc != 0 || e.state >= 2;
        ti.exit_ns = e.exit_tsc ? tscToNs(e.exit_tsc) : 0;
        ti.create_stack = e.create_stack;
        ti.name.assign(e.name, strnlen(e.name, sizeof e.name));
        ti.board = e.board;
        threads.push_back(std::move(ti));
    }
    if (p.size() % sizeof(RavelThreadEntry))
        t.warn(fmt::format("chunk at offset {:#x}: thread table ends inside an entry", c.offset));
}

void TraceReader::Impl::readStacks(
    MappedTrace& t, const ChunkRef& c, std::span<const uint8_t> p, std::vector<StackTrace>& found)
{
    size_t off = 0;
    while (off + 8 <= p.size()) {
        uint32_t id;
        uint16_t depth, flags;
        std::memcpy(&id, p.data() + off, 4);
        std::memcpy(&depth, p.data() + off + 4, 2);
        std::memcpy(&flags, p.data() + off + 6, 2);
        if (id == 0 && depth == 0)
            break; // zero padding after the last record
        if (id == 0 || uint64_t(depth) * 8 > p.size() - off - 8) {
            t.warn(fmt::format("chunk at offset {:#x}: stack record at payload offset {} is damaged, rest of "
                               "the stack table chunk skipped",
                c.offset, off));
            return;
        }
        StackTrace s;
        s.id = id;
        s.site_only = flags & 1;
        s.frames.resize(depth);
        if (depth)
            std::memcpy(s.frames.data(), p.data() + off + 8, depth * 8u);
        found.push_back(std::move(s));
        off += 8 + depth * 8u;
    }
}

void TraceReader::Impl::readModules(MappedTrace& t, const ChunkRef& c, std::span<const uint8_t> p)
{
    size_t off = 0;
    while (off + sizeof(RavelModuleRecord) <= p.size()) {
        RavelModuleRecord m;
        std::memcpy(&m, p.data() + off, sizeof m);
        if (m.size == 0)
            break;
        if (m.size % 8 || m.size > p.size() - off || m.path_len == 0 || sizeof(RavelModuleRecord) + m.path_len > m.size
            || m.build_id_len > sizeof m.build_id) {
            t.warn(fmt::format("chunk at offset {:#x}: module record at payload offset {} is damaged, rest of "
                               "the module table chunk skipped",
                c.offset, off));
            return;
        }
        const char* path = reinterpret_cast<const char*>(p.data() + off + sizeof(RavelModuleRecord));
        Module mod;
        mod.base = m.base;
        mod.lo = m.lo;
        mod.hi = m.hi;
        mod.path.assign(path, strnlen(path, m.path_len));
        mod.build_id = hexBytes(m.build_id, m.build_id_len);
        modules.push_back(std::move(mod));
        off += m.size;
    }
}

void TraceReader::Impl::readNames(MappedTrace& t, const ChunkRef& c, std::span<const uint8_t> p)
{
    size_t off = 0;
    while (off + sizeof(RavelNameRecord) <= p.size()) {
        RavelNameRecord r;
        std::memcpy(&r, p.data() + off, sizeof r);
        if (r.size == 0)
            break;
        if (r.size % 8 || r.size > p.size() - off || r.name_len == 0 || sizeof(RavelNameRecord) + r.name_len > r.size) {
            t.warn(fmt::format("chunk at offset {:#x}: name record at payload offset {} is damaged, rest of the "
                               "names table chunk skipped",
                c.offset, off));
            return;
        }
        const char* name = reinterpret_cast<const char*>(p.data() + off + sizeof(RavelNameRecord));
        names.push_back(
            { r.obj & RAVEL_OBJ_MASK, r.obj_kind & 0x0fu, tscToNs(r.tsc), std::string(name, strnlen(name, r.name_len)) });
        off += r.size;
    }
}

// What indexing one thread's events chunks found; merged into the reader in thread order.
struct TraceReader::Impl::IndexedThread {
    ThreadStream stream;
    detail::WarningLog log;
    uint64_t kindCounts[256] = {};
    bool nested = false;
    bool incomplete = false; // some of the thread's events are not in the trace (ThreadInfo::incomplete)
    ObjectIndex seqs; // per object: the range and count of its sequence numbers (ObjectSeqs)
};

namespace {

// Called for every sequenced event while decoding: the range and count of each object's
// sequence numbers.
inline void noteSequence(ObjectIndex& objects, uint64_t obj, uint32_t seq)
{
    const uint32_t found = objects.find(obj);
    ObjectSeqs& o = objects.objects[found != ObjectIndex::NotFound ? found : objects.insert(obj)];
    if (found == ObjectIndex::NotFound)
        o.base = seq;
    const int64_t off = int32_t(seq - o.base);
    o.lo = std::min(o.lo, off);
    o.hi = std::max(o.hi, off);
    ++o.count;
}

// Folds one thread's sequence ranges into the trace's: offsets are rebased on the first base seen.
void mergeSequences(ObjectIndex& into, const ObjectIndex& from)
{
    for (const ObjectSeqs& f : from.objects) {
        const uint32_t found = into.find(f.obj);
        if (found == ObjectIndex::NotFound) {
            into.objects[into.insert(f.obj)] = f;
            continue;
        }
        ObjectSeqs& o = into.objects[found];
        const int64_t delta = int32_t(f.base - o.base);
        o.lo = std::min(o.lo, f.lo + delta);
        o.hi = std::max(o.hi, f.hi + delta);
        o.count += f.count;
    }
}

} // namespace

// Makes the anchors cover [0, n] with strictly increasing indices and non-decreasing times, so a
// cursor never needs a special case: before the first stamp the thread's start (or the first
// stamp), after the last one its exit (or the last stamp). Takes the stamps one at a time as the
// chunks are decoded (one anchor of look-behind: a later stamp of the same event replaces it), so
// indexing never holds a thread's anchors undecoded.
class TraceReader::Impl::AnchorBuilder {
public:
    AnchorBuilder(ThreadStream& s, const ThreadInfo* info, bool fromStart)
        : m_s(s)
        , m_info(info)
        , m_fromStart(fromStart)
    {
    }
    // The time the next chunk's stamps are raised to: StreamChunk::prevTime.
    uint64_t floor() const { return m_floor; }
    // A chunk's stamps and pins, in index order, after its StreamChunk (if it has events) was added.
    void add(std::vector<Anchor>& chunk)
    {
        finishChunkAnchors(chunk, m_floor);
        for (const Anchor& b : chunk) {
            if (m_have && m_pending.idx == b.idx) {
                m_pending = b;
                continue;
            }
            if (m_have)
                emit(m_pending);
            m_pending = b;
            m_have = true;
        }
    }
    void finish(uint64_t n)
    {
        if (m_have)
            emit(m_pending);
        m_have = false;
        if (m_count == 0)
            record(Anchor { 0, start(m_info ? m_info->start_ns : 0), false });
        if (m_last.idx < n) {
            uint64_t t1 = m_last.time;
            const bool exited = m_info && m_info->exit_ns != 0 && m_info->exit_ns >= t1;
            if (exited)
                t1 = m_info->exit_ns;
            record(Anchor { n, t1, false, exited });
        }
        if (m_count == 1)
            record(Anchor { n, m_last.time, false, false });
        m_s.lastTime = m_last.time;
    }

private:
    uint64_t start(uint64_t t0) const
    {
        if (m_fromStart && m_info && m_info->start_ns && m_info->start_ns <= t0)
            t0 = m_info->start_ns;
        return t0;
    }
    void emit(const Anchor& a)
    {
        if (m_count == 0 && a.idx > 0)
            record(Anchor { 0, start(a.time), false });
        record(a);
    }
    // One anchor of the thread, in index order: the chunks before it learn their `next`.
    void record(const Anchor& a)
    {
        if (m_count++ == 0)
            m_s.startAnchor = a;
        m_last = a;
        for (; m_waiting < m_s.chunks.size() && m_s.chunks[m_waiting].first + m_s.chunks[m_waiting].count <= a.idx;
             ++m_waiting)
            m_s.chunks[m_waiting].next = a;
    }
    ThreadStream& m_s;
    const ThreadInfo* m_info;
    bool m_fromStart;
    uint64_t m_floor = 0;
    Anchor m_pending {};
    bool m_have = false;
    Anchor m_last {};
    uint64_t m_count = 0;
    size_t m_waiting = 0; // the first chunk whose `next` is not known yet
};

const ThreadInfo* TraceReader::Impl::threadInfo(uint32_t tid) const
{
    auto it = std::lower_bound(
        threads.begin(), threads.end(), tid, [](const ThreadInfo& ti, uint32_t id) { return ti.id < id; });
    return it != threads.end() && it->id == tid ? &*it : nullptr;
}

// One thread's chunks (sorted by seq): its stream, anchors, kind counts and sequence ranges.
// Reads only the file and the thread table, so threads are indexed in parallel.
void TraceReader::Impl::indexThread(std::span<const ChunkRef* const> chunks, std::span<const uint8_t> overLimit,
    bool flight, IndexedThread& out) const
{
    detail::WarningLog& log = out.log;
    detail::ChunkDecoder decoder;
    EventBuffer buf;
    ThreadStream& s = out.stream;
    const uint32_t tid = chunks[0]->hdr.owner;
    s.tid = tid;
    const uint32_t firstSeq = chunks[0]->hdr.seq;
    if (firstSeq > 0) {
        out.incomplete = true;
        if (flight)
            log.warn(fmt::format("thread {}: older events were dropped by the flight recorder ({} chunks)", tid, firstSeq));
        else
            log.warn(fmt::format("thread {}: the first {} event chunks are missing", tid, firstSeq));
    }
    // The last chunk whose events were taken: a damaged chunk does not hide an intact copy
    // with the same seq, and gaps are counted between intact chunks.
    bool accepted = false;
    uint32_t lastSeq = 0;
    uint32_t held = 0; // locks the thread holds, in program order
    s.nsPerTsc = nsPerTsc;
    AnchorBuilder anchors(s, threadInfo(s.tid), firstSeq == 0);
    std::vector<Anchor> chunkAnchors; // one chunk's stamps (and pins), before finishing
    for (size_t k = 0; k < chunks.size(); ++k) {
        const ChunkRef& c = *chunks[k];
        if (accepted && c.hdr.seq == lastSeq) {
            log.warnChunk(c.offset, fmt::format("second events chunk {} of thread {}", c.hdr.seq, tid));
            continue;
        }
        if (accepted && c.hdr.seq != lastSeq + 1) {
            out.incomplete = true;
            log.warn(fmt::format("thread {}: {} event chunks missing (seq {}..{}){}", tid, c.hdr.seq - lastSeq - 1,
                lastSeq + 1, c.hdr.seq - 1, flight ? "; older events were dropped by the flight recorder" : ""));
        }
        if (overLimit[k]) {
            out.incomplete = true;
            log.warnChunk(c.offset, "decoded size limit reached");
            continue;
        }
        buf.clear();
        const size_t records = decoder.appendEvents(c, buf, &log);
        if (records > 0) {
            accepted = true;
            lastSeq = c.hdr.seq;
        }
        detail::UnknownKind unknown;
        chunkAnchors.clear();
        const size_t kept = keepEvents(
            buf, 0, records, s.n,
            [&](uint64_t idx, const RavelEvent& r) {
                uint64_t rel = (r.word & RAVEL_OBJ_MASK) | (uint64_t(r.aux & 0xffff) << 48);
                detail::addStamp(chunkAnchors, idx, detail::relTscToNs(rel, nsPerTsc), s.n);
            },
            &unknown);
        if (unknown.at != SIZE_MAX)
            log.warn(fmt::format("chunk at offset {:#x}: event {} has unknown kind {}, rest of the chunk skipped",
                c.offset, unknown.at, unknown.kind));
        detail::pinCondReleases(buf, s.n, chunkAnchors, 0);
        for (const RavelEvent& e : buf) {
            const unsigned kind = unsigned(e.word >> 48) & 0xff;
            ++out.kindCounts[kind];
            trackNesting(kind, unsigned(e.word >> 56) & 0x0f, held, out.nested);
            if (isSequenced(kind) && e.aux != 0) // aux 0: no sequence number taken
                noteSequence(out.seqs, e.word & RAVEL_OBJ_MASK, e.aux);
        }
        if (kept > 0)
            s.chunks.push_back(StreamChunk { &c, s.n, uint32_t(kept), uint32_t(records), anchors.floor(), {} });
        anchors.add(chunkAnchors);
        s.n += kept;
    }
    anchors.finish(s.n);
}

// `chunks`: the events chunks of the whole trace, sorted by (owner, seq). Threads are indexed on
// as many cores as there are (decoding is most of reading a big trace), then merged in tid order,
// so warnings and counts do not depend on which core did what.
void TraceReader::Impl::readEvents(MappedTrace& t, std::vector<const ChunkRef*>& chunks)
{
    const bool flight = t.header().flags & RAVEL_FILE_FLIGHT_RECORDER;
    // A compacted chunk can legitimately expand a lot, but not without bound: this stops a small
    // crafted file from decoding to gigabytes. Decided up front, in file order.
    const uint64_t decodeLimit = t.size() * 4096 + (256u << 20);
    std::vector<uint8_t> overLimit(chunks.size());
    uint64_t decoded = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
        const ChunkRef& c = *chunks[k];
        const uint64_t claimed = (c.hdr.flags & RAVEL_CHUNK_ZSTD) ? c.hdr.used : c.avail;
        if (decoded + claimed > decodeLimit)
            overLimit[k] = 1;
        else
            decoded += claimed;
    }
    std::vector<std::pair<size_t, size_t>> groups; // [begin, end) of each thread's chunks
    for (size_t g = 0; g < chunks.size();) {
        size_t end = g;
        while (end < chunks.size() && chunks[end]->hdr.owner == chunks[g]->hdr.owner)
            ++end;
        groups.emplace_back(g, end);
        g = end;
    }
    std::vector<IndexedThread> results(groups.size());
    for (IndexedThread& r : results)
        r.log = detail::WarningLog(t.path());
    // Biggest first, so the cores finish together.
    std::vector<size_t> order(groups.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return groups[a].second - groups[a].first > groups[b].second - groups[b].first;
    });
    std::atomic<size_t> next { 0 };
    auto work = [&] {
        for (size_t i; (i = next.fetch_add(1)) < order.size();) {
            const auto [b, e] = groups[order[i]];
            indexThread({ chunks.data() + b, e - b }, { overLimit.data() + b, e - b }, flight, results[order[i]]);
        }
    };
    constexpr size_t kParallelAbove = 16; // chunks: below that a thread costs more than it saves
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const size_t helpers = chunks.size() > kParallelAbove ? std::min<size_t>(cores, groups.size()) - 1 : 0;
    std::vector<std::exception_ptr> errors(helpers + 1);
    {
        std::vector<std::jthread> pool;
        for (size_t h = 0; h < helpers; ++h)
            pool.emplace_back([&, h] {
                try {
                    work();
                } catch (...) {
                    errors[h + 1] = std::current_exception();
                    next = order.size();
                }
            });
        try {
            work();
        } catch (...) {
            errors[0] = std::current_exception();
            next = order.size();
        }
    }
    for (const std::exception_ptr& e : errors)
        if (e)
            std::rethrow_exception(e);
    for (IndexedThread& r : results) {
        for (std::string& w : r.log.warnings())
            t.warnings().push_back(std::move(w));
        for (unsigned k = 0; k < 256; ++k)
            kindCounts[k] += r.kindCounts[k];
        nested = nested || r.nested;
        if (r.incomplete)
            for (ThreadInfo& info : threads)
                if (info.id == r.stream.tid)
                    info.incomplete = true;
        mergeSequences(objects, r.seqs);
        eventCount += r.stream.n;
        std::copy_n(r.kindCounts, RAVEL_EV_KIND_COUNT, r.stream.kindCounts);
        streams.push_back(std::move(r.stream));
    }
}

void TraceReader::Impl::indexSequences()
{
    bool needBitmaps = false;
    for (ObjectSeqs& o : objects.objects) {
        uint64_t range = uint64_t(o.hi - o.lo) + 1;
        if (range == o.count)
            continue;
        if (range <= 64 * o.count + 65536) {
            o.mode = ObjectSeqs::Bitmap;
            o.bits = objects.bitmap.size();
            objects.bitmap.resize(o.bits + (range + 63) / 64);
            needBitmaps = true;
        } else {
            o.mode = ObjectSeqs::Unknown; // too sparse to be a real sequence: do not order by it
        }
    }
    if (!needBitmaps)
        return;
    detail::ChunkDecoder decoder;
    EventBuffer buf;
    for (const ThreadStream& s : streams) {
        for (const StreamChunk& c : s.chunks) {
            buf.clear();
            decoder.appendEvents(*c.chunk, buf, nullptr);
            keepEvents(buf, 0, c.records, c.first, [](uint64_t, const RavelEvent&) {});
            for (const RavelEvent& e : buf) {
                if (!isSequenced(unsigned(e.word >> 48) & 0xff) || e.aux == 0)
                    continue;
                ObjectSeqs& o = objects.objects[objects.find(e.word & RAVEL_OBJ_MASK)];
                if (o.mode != ObjectSeqs::Bitmap)
                    continue;
                uint64_t b = uint64_t(int64_t(int32_t(e.aux - o.base)) - o.lo);
                objects.bitmap[o.bits + b / 64] |= 1ull << (b % 64);
            }
        }
    }
}

void TraceReader::Impl::fillSummary(MappedTrace& t)
{
    const RavelFileHeader& h = t.header();
    summary.path = t.path();
    summary.version = h.version;
    summary.flags = h.flags;
    summary.pid = h.pid;
    summary.ppid = h.ppid;
    summary.ended = h.flags & RAVEL_FILE_ENDED;
    summary.exit_status = summary.ended ? h.exit_status : 0;
    summary.program.assign(h.program, strnlen(h.program, sizeof h.program));
    size_t argvLen = std::min<size_t>(h.argv_len, sizeof h.argv);
    for (size_t i = 0; i < argvLen;) {
        size_t len = strnlen(h.argv + i, argvLen - i);
        summary.argv.emplace_back(h.argv + i, len);
        i += len + 1;
    }
    summary.start_real_ns = h.start_real_ns;
    summary.start_mono_ns = h.start_mono_ns;
    summary.verdict = h.verdict;
    summary.verdict_ns = h.verdict_tsc ? tscToNs(h.verdict_tsc) : 0;
    // The end as the launcher measured it, on the header's own monotonic clock. An end before the
    // start or centuries after it is a damaged record: ignored, it would stretch every timeline.
    if (h.version >= 5) {
        summary.run_id = h.run_id;
        summary.image = h.image;
        summary.origin = h.origin;
    }
    if (h.version >= 3 && h.run_end != RAVEL_RUN_UNKNOWN && h.run_end <= RAVEL_RUN_ORPHANED
        && h.run_end_mono_ns >= h.start_mono_ns && h.run_end_mono_ns - h.start_mono_ns < (uint64_t(1) << 62)) {
        summary.run_end = h.run_end;
        summary.run_end_value = h.run_end_value;
        summary.run_end_flags = h.run_end_flags;
        summary.run_end_ns = h.run_end_mono_ns - h.start_mono_ns;
    }
    summary.lost_events = h.lost_events;
    summary.file_size = t.size();
    uint64_t duration = summary.ended && h.end_tsc ? tscToNs(h.end_tsc) : 0;
    for (const ThreadStream& s : streams)
        duration = std::max(duration, s.lastTime);
    for (const ThreadInfo& ti : threads)
        duration = std::max(duration, ti.exit_ns);
    // The program ran until it ended, not until its last event (a server killed after idling).
    summary.duration_ns = std::max(duration, summary.run_end_ns);
}

TraceReader::TraceReader(const std::string& path)
    : m_impl(new Impl)
{
    try {
        Impl& d = *m_impl;
        d.file = std::make_unique<MappedTrace>(path);
        MappedTrace& t = *d.file;
        d.calibrate(t);
        detail::ByteBuffer scratch;
        std::vector<StackTrace> found;
        std::vector<const ChunkRef*> eventChunks;
        for (const ChunkRef& c : t.chunks()) {
            switch (c.hdr.type) {
            case RAVEL_CHUNK_EVENTS:
                eventChunks.push_back(&c);
                break;
            case RAVEL_CHUNK_THREADS:
                d.readThreads(t, c, t.payload(c, scratch));
                break;
            case RAVEL_CHUNK_STACKS:
                d.readStacks(t, c, t.payload(c, scratch), found);
                break;
            case RAVEL_CHUNK_MODULES:
                d.readModules(t, c, t.payload(c, scratch));
                break;
            case RAVEL_CHUNK_NAMES:
                d.readNames(t, c, t.payload(c, scratch));
                break;
            }
        }
        std::stable_sort(d.names.begin(), d.names.end(),
            [](const ObjectName& a, const ObjectName& b) { return a.time_ns < b.time_ns; });
        std::stable_sort(
            d.threads.begin(), d.threads.end(), [](const ThreadInfo& a, const ThreadInfo& b) { return a.id < b.id; });
        auto dup = std::unique(
            d.threads.begin(), d.threads.end(), [](const ThreadInfo& a, const ThreadInfo& b) { return a.id == b.id; });
        if (dup != d.threads.end()) {
            t.warn(fmt::format("{} duplicate thread table entries ignored", d.threads.end() - dup));
            d.threads.erase(dup, d.threads.end());
        }

        // Stack ids index a vector, so a corrupt id must not size it: ids far beyond what the
        // file could hold are dropped. The header's count (ids handed out, some of whose records
        // a cut trace lost) may raise the bound, but only so far: a crafted count must not make
        // a small file allocate gigabytes (the fuzzer found one).
        const uint64_t idFloor = found.size() * 4 + 65536, idCeiling = found.size() * 16 + 65536;
        uint64_t maxId = 0, idLimit = std::clamp<uint64_t>(t.header().stack_count, idFloor, idCeiling);
        for (const StackTrace& s : found)
            if (s.id <= idLimit)
                maxId = std::max<uint64_t>(maxId, s.id);
        d.stacks.resize(maxId);
        size_t dropped = 0;
        for (StackTrace& s : found) {
            if (s.id > idLimit || d.stacks[s.id - 1].id != 0)
                ++dropped;
            else
                d.stacks[s.id - 1] = std::move(s);
        }
        if (dropped)
            t.warn(fmt::format("{} stack records with duplicate or impossible ids ignored", dropped));

        std::stable_sort(eventChunks.begin(), eventChunks.end(), [](const ChunkRef* a, const ChunkRef* b) {
            return a->hdr.owner != b->hdr.owner ? a->hdr.owner < b->hdr.owner : a->hdr.seq < b->hdr.seq;
        });
        d.readEvents(t, eventChunks);
        // Threads that left events but no table entry still appear, unnamed.
        size_t known = d.threads.size();
        for (const ThreadStream& s : d.streams) {
            auto end = d.threads.begin() + ptrdiff_t(known);
            if (!std::binary_search(d.threads.begin(), end, s.tid, ThreadIdLess {})) {
                ThreadInfo ti;
                ti.id = s.tid;
                d.threads.push_back(std::move(ti));
            }
        }
        std::sort(
            d.threads.begin(), d.threads.end(), [](const ThreadInfo& a, const ThreadInfo& b) { return a.id < b.id; });
        d.indexSequences();
        d.fillSummary(t);
        // What the runtime itself knows it missed: said once, so a report never looks complete
        // when it is not.
        const RavelFileHeader& h = t.header();
        if (h.flags & RAVEL_FILE_TRUNCATED_DISK)
            t.warn("recording stopped early: the disk was full");
        if (h.flags & RAVEL_FILE_OVERFLOW)
            t.warn("a runtime table was full: some threads or stacks were not recorded");
        if (h.lost_events)
            t.warn(fmt::format("{} events were not recorded", h.lost_events));
        d.warnings = std::move(t.warnings());
    } catch (...) {
        delete m_impl;
        throw;
    }
}

TraceReader::~TraceReader()
{
    delete m_impl;
}

const TraceSummary& TraceReader::summary() const
{
    return m_impl->summary;
}
const std::vector<ThreadInfo>& TraceReader::threads() const
{
    return m_impl->threads;
}
const std::vector<StackTrace>& TraceReader::stacks() const
{
    return m_impl->stacks;
}
const std::vector<ObjectName>& TraceReader::names() const { return m_impl->names; }

void TraceReader::shiftTimes(uint64_t ns)
{
    Impl& d = *m_impl;
    d.shiftNs += ns;
    for (ThreadInfo& t : d.threads) {
        t.start_ns += ns;
        if (t.exit_ns)
            t.exit_ns += ns;
    }
    for (ObjectName& n : d.names)
        n.time_ns += ns;
    // Times that are 0 for "none" stay 0.
    d.summary.duration_ns += ns;
    if (d.summary.verdict_ns)
        d.summary.verdict_ns += ns;
    if (d.summary.run_end_ns)
        d.summary.run_end_ns += ns;
}

uint64_t TraceReader::timeShift() const
{
    return m_impl->shiftNs;
}

const std::vector<Module>& TraceReader::modules() const
{
    return m_impl->modules;
}
const std::vector<std::string>& TraceReader::warnings() const
{
    return m_impl->warnings;
}
uint64_t TraceReader::eventCount() const
{
    return m_impl->eventCount;
}

bool TraceReader::nestedLocking() const
{
    return m_impl->nested;
}

uint64_t TraceReader::threadEventCount(uint32_t thread, unsigned kind) const
{
    auto& v = m_impl->streams;
    auto it
        = std::lower_bound(v.begin(), v.end(), thread, [](const ThreadStream& s, uint32_t id) { return s.tid < id; });
    if (it == v.end() || it->tid != thread || kind >= RAVEL_EV_KIND_COUNT)
        return 0;
    return it->kindCounts[kind];
}

uint64_t TraceReader::eventCount(unsigned kind) const
{
    return kind < 256 ? m_impl->kindCounts[kind] : 0;
}

const StackTrace* TraceReader::stack(uint32_t id) const
{
    if (id == 0 || id > m_impl->stacks.size() || m_impl->stacks[id - 1].id == 0)
        return nullptr;
    return &m_impl->stacks[id - 1];
}

const ThreadInfo* TraceReader::thread(uint32_t id) const
{
    auto& v = m_impl->threads;
    auto it = std::lower_bound(v.begin(), v.end(), id, [](const ThreadInfo& t, uint32_t i) { return t.id < i; });
    return it != v.end() && it->id == id ? &*it : nullptr;
}

} // namespace ravel
