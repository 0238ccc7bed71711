// One thread's events in program order (internal to ravel_core): the chunk list the reader's index
// keeps per thread, the clock anchors rebuilt per chunk as it is decoded, the cursor that
// interpolates times between them, and the thread that decodes cursors' next chunks ahead.
#pragma once

#include "trace/internal/trace_file.hpp"
#include "trace/trace_reader.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace ravel::detail {

// A clock reading attached to the event at `idx` of a thread (idx == event count: after the last).
struct Anchor {
    uint64_t idx;
    uint64_t time;
    bool stamped; // read from the clock for event idx (a TIME record), not inferred
    // Event idx happened no later than `time`: a stamp, the thread's exit, or the wait start a
    // condition variable's release is pinned to. False for a guess (the last stamp of a thread
    // still running, a raised stamp).
    bool bound = stamped;
};

// Ticks since the trace's start to nanoseconds, the one conversion of stamps (the reader's index
// and every cursor must agree to the nanosecond).
inline uint64_t relTscToNs(uint64_t rel, double nsPerTsc)
{
    double ns = double(rel) * nsPerTsc;
    return ns < 4e18 ? uint64_t(ns) : uint64_t(4e18); // ~127 years: keeps the interpolation in int64
}

// A TIME record: it stamps event `idx` (the next event), in a chunk whose events start at
// `chunkFirst`. Two stamps with no event between them: the runtime stamped before a call that
// blocks (a sleep, a poll; intercept_block.cpp), or opened the chunk, and then stamped the next
// event. The first bounds the events before it: the last of them happened no later, so it anchors
// that one (bound, not stamped) instead of being overwritten; read as a stamp of the next event,
// the events before a sleep were spread over it. The one rule of the index pass and the cursors.
inline void addStamp(std::vector<Anchor>& anchors, uint64_t idx, uint64_t time, uint64_t chunkFirst)
{
    if (!anchors.empty() && anchors.back().idx == idx && anchors.back().stamped && idx > chunkFirst) {
        const uint64_t before = anchors.back().time;
        anchors.pop_back();
        if (anchors.empty() || anchors.back().idx < idx - 1)
            anchors.push_back(Anchor { idx - 1, before, false, true });
    }
    anchors.push_back(Anchor { idx, time, true });
}

// pthread_cond_wait releases its mutex inside the wait, but the runtime stamps only the wait's
// request (before) and its wake-up (after): interpolated, the RELEASE right after a stamped
// WAIT_REQ of a condition variable would land partway through the wait, stretching the hold over
// time the thread spent asleep and pushing other threads' acquisitions after it. The release
// happens at once after the request (nothing runs between them but the runtime), so it gets an
// anchor at the request's time. `anchors[from..]` are the chunk's stamps, for events from `first`.
inline void pinCondReleases(const EventBuffer& events, uint64_t first, std::vector<Anchor>& anchors, size_t from)
{
    std::vector<Anchor> pins;
    size_t a = from;
    for (size_t j = 0; j + 1 < events.size(); ++j) {
        const RavelEvent& e = events[j];
        if ((unsigned(e.word >> 48) & 0xff) != RAVEL_EV_WAIT_REQ || (unsigned(e.word >> 56) & 0x0f) != RAVEL_OBJ_COND
            || (unsigned(events[j + 1].word >> 48) & 0xff) != RAVEL_EV_RELEASE)
            continue;
        while (a < anchors.size() && anchors[a].idx < first + j)
            ++a;
        if (a < anchors.size() && anchors[a].idx == first + j && anchors[a].stamped
            && (a + 1 == anchors.size() || anchors[a + 1].idx != first + j + 1))
            pins.push_back(Anchor { first + j + 1, anchors[a].time, false, true });
    }
    if (pins.empty())
        return;
    std::vector<Anchor> merged;
    merged.reserve(anchors.size() - from + pins.size());
    std::merge(anchors.begin() + std::ptrdiff_t(from), anchors.end(), pins.begin(), pins.end(),
        std::back_inserter(merged), [](const Anchor& x, const Anchor& y) { return x.idx < y.idx; });
    anchors.resize(from);
    anchors.insert(anchors.end(), merged.begin(), merged.end());
}

// A chunk's stamps and pins (by index) as the thread's anchors have them: raised so times never
// decrease (`floor`: the time of the anchor before, updated), one per event index (a later stamp
// of the same event wins).
inline void finishChunkAnchors(std::vector<Anchor>& a, uint64_t& floor)
{
    size_t w = 0;
    for (size_t r = 0; r < a.size(); ++r) {
        Anchor b = a[r];
        if (b.time < floor)
            b.time = floor;
        floor = b.time;
        if (w > 0 && a[w - 1].idx == b.idx)
            a[w - 1] = b;
        else
            a[w++] = b;
    }
    a.resize(w);
}

// Unstamped events after a stamp are spread over at most this much time: the runtime stamps the
// next event once the watchdog's millisecond tick moved (or after 64 unstamped events), so while
// the watchdog ticks, an unstamped event happened within a tick of the stamp before it, and a
// longer gap to the next stamp is time the thread spent outside recorded events (work, I/O, a
// wait the runtime cannot see). Spreading them over the whole gap is what made a start-up lock
// look held for 381 ms. Where in the gap they really were is exposed as Event::earliest_ns /
// latest_ns.
constexpr uint64_t kUnstampedWindowNs = 1'000'000;

// One events chunk of a thread as the first pass found it: decoding it again and dropping its
// TIME records (and whatever follows an END or unknown kind within its first `records`) gives
// exactly `count` events, the thread's events [first, first + count).
// The thread's clock anchors are not stored (a long trace has one per stamped event: most of
// what a report held): decoding the chunk gives its stamps again, and these two values make them
// the thread's anchors exactly (finishChunkAnchors from `prevTime`, then `next`).
struct StreamChunk {
    const ChunkRef* chunk = nullptr;
    uint64_t first = 0;
    uint32_t count = 0;
    uint32_t records = 0;
    uint64_t prevTime = 0; // the time of the thread's last anchor before this chunk's stamps
    Anchor next {};        // the thread's first anchor at or after first + count
};

// A thread's events are not kept decoded: the reader indexes them once, then every pass decodes
// chunk by chunk as its cursor gets there. A trace costs its compressed size in memory, not 16
// bytes per event.
struct ThreadStream {
    uint32_t tid = 0;
    uint64_t n = 0;                  // events
    std::vector<StreamChunk> chunks; // in program order, covering [0, n)
    Anchor startAnchor {};           // the thread's anchor at index 0
    uint64_t lastTime = 0;           // the time of its last anchor (at index n)
    double nsPerTsc = 1;
    uint64_t kindCounts[RAVEL_EV_KIND_COUNT] = {}; // its events by RAVEL_EV_* kind
};

// Events whose aux is the object's sequence number (one counter per object, shared by all these
// kinds: a signal's number precedes the wake-up it causes).
inline bool isSequenced(unsigned kind)
{
    return kind == RAVEL_EV_ACQUIRED || kind == RAVEL_EV_WOKEN || kind == RAVEL_EV_SIGNAL || kind == RAVEL_EV_BROADCAST
        || kind == RAVEL_EV_PASS;
}

// Events the causal merge looks at: sequenced ones, and releases (an exclusive acquisition comes
// after the release by the previous holder).
inline bool isOrdered(unsigned kind)
{
    return isSequenced(kind) || kind == RAVEL_EV_RELEASE;
}

// Keeps the first `records` decoded records of `v` from `at` on that are events (TIME records
// out, stop at an END or an unknown kind); calls onTime(index the next event will have, record)
// for each TIME record. Returns the number kept. The one definition of a chunk's events, used by
// the indexing pass and by every cursor.
// `unknown` (when not null) receives the record index and kind of an unknown kind (index
// SIZE_MAX when there is none).
struct UnknownKind {
    size_t at = SIZE_MAX;
    unsigned kind = 0;
};
template <class OnTime>
size_t keepEvents(EventBuffer& v, size_t at, size_t records, uint64_t firstIndex, OnTime&& onTime,
    UnknownKind* unknown = nullptr)
{
    RavelEvent* rec = v.data() + at;
    const size_t n = std::min(records, v.size() - at);
    size_t w = 0;
    for (size_t i = 0; i < n; ++i) {
        const unsigned kind = unsigned(rec[i].word >> 48) & 0xff;
        if (kind == RAVEL_EV_TIME) {
            onTime(firstIndex + w, rec[i]);
            continue;
        }
        if (kind == RAVEL_EV_END)
            break;
        if (!((kind >= RAVEL_EV_TIME && kind <= RAVEL_EV_PROC_EXIT) || (kind >= RAVEL_EV_INIT && kind < RAVEL_EV_KIND_COUNT))) {
            if (unknown)
                *unknown = UnknownKind { i, kind };
            break;
        }
        rec[w++] = rec[i];
    }
    v.resize(at + w);
    return w;
}

// Chunk `c` of thread stream `s` as a cursor holds it: its `count` events, and its anchors
// followed by the thread's first anchor past it (StreamChunk::next).
inline void decodeChunk(const ThreadStream& s, const StreamChunk& c, ChunkDecoder& decoder, EventBuffer& buf,
    std::vector<Anchor>& anchors)
{
    buf.clear();
    decoder.appendEvents(*c.chunk, buf, nullptr);
    anchors.clear();
    keepEvents(buf, 0, c.records, c.first, [&](uint64_t idx, const RavelEvent& r) {
        const uint64_t rel = (r.word & RAVEL_OBJ_MASK) | (uint64_t(r.aux & 0xffff) << 48);
        addStamp(anchors, idx, relTscToNs(rel, s.nsPerTsc), c.first);
    });
    pinCondReleases(buf, c.first, anchors, 0);
    uint64_t floor = c.prevTime;
    finishChunkAnchors(anchors, floor);
    while (!anchors.empty() && anchors.back().idx >= c.first + c.count)
        anchors.pop_back(); // the next chunk's: `next` says what they became
    anchors.push_back(c.next);
    // The first pass decoded this chunk to `count` events; the same bytes decode the same way,
    // but never index past what is really there.
    buf.resize(std::min<size_t>(buf.size(), c.count));
    if (buf.size() < c.count)
        buf.resize(c.count, RavelEvent { ravel_event_word(0, RAVEL_EV_LOST, 0), 0, 0 });
}

class ChunkPrefetcher;

// Walks one thread's events in program order, decoding chunk by chunk and interpolating times
// between its anchors.
struct Cursor {
    const RavelEvent* ev = nullptr; // the decoded chunk: events [base, end) of the thread
    uint64_t base = 0, end = 0;
    Anchor anchor[2] {};             // the clock readings around event i
    std::vector<Anchor> anchors;     // the loaded chunk's anchors, then the chunk's `next`
    size_t nextAnchor = 0;
    uint64_t i = 0, n = 0;
    uint64_t i0 = 0, iNext = 0, t0 = 0;
    // Interpolation in 32.32 fixed point: acc = (i - i0) * step, kept by adding step per event (an
    // add instead of a chain of float conversions, the merge's costliest line).
    unsigned __int128 step = 0, acc = 0;
    uint64_t time = 0;
    uint32_t tid = 0;
    // ObjectIndex entries of the two objects this thread used last: a release finds its
    // acquisition's object without hashing, also when two locks nest.
    uint64_t cachedObj[2] = { ~0ull, ~0ull };
    uint32_t cachedIndex[2] = {};
    const ThreadStream* stream = nullptr;
    ChunkDecoder* decoder = nullptr;
    size_t nextChunk = 0;
    EventBuffer buf;
    // With a prefetcher, the thread's next chunk is decoded on another core while this one is
    // merged (ChunkPrefetcher owns these fields while a job for them is queued or running).
    ChunkPrefetcher* prefetcher = nullptr;
    size_t aheadChunk = SIZE_MAX;
    int aheadState = 0;
    EventBuffer aheadBuf;
    std::vector<Anchor> aheadAnchors;

    void start(const ThreadStream& s, ChunkDecoder& d)
    {
        stream = &s;
        decoder = &d;
        n = s.n;
        tid = s.tid;
        i = 0;
        nextChunk = 0;
        base = end = 0;
        load();
        anchor[0] = s.startAnchor;
        anchor[1] = anchorAfter(0);
        enterSegment();
        time = t0;
    }
    // The first anchor past index `idx` (the loaded chunk's always ends with one past the chunk);
    // none only on a damaged index: then one no event reaches.
    Anchor anchorAfter(uint64_t idx)
    {
        while (nextAnchor < anchors.size() && anchors[nextAnchor].idx <= idx)
            ++nextAnchor;
        if (nextAnchor < anchors.size())
            return anchors[nextAnchor++];
        return Anchor { UINT64_MAX, anchor[1].time, false, false };
    }
    const RavelEvent& rec() const { return ev[i - base]; }
    // Decodes the chunk holding event i.
    void load();
    void enterSegment()
    {
        i0 = anchor[0].idx;
        t0 = anchor[0].time;
        iNext = anchor[1].idx;
        step = (static_cast<unsigned __int128>(std::min(anchor[1].time - t0, kUnstampedWindowNs)) << 32) / (iNext - i0);
        acc = static_cast<unsigned __int128>(i - i0) * step;
    }
    void advance()
    {
        ++i;
        if (i >= end && i < n)
            load();
        if (i >= iNext && i < n) {
            do {
                anchor[0] = anchor[1];
                anchor[1] = anchorAfter(anchor[0].idx);
            } while (anchor[1].idx <= i);
            enterSegment();
        } else {
            acc += step;
        }
        time = t0 + uint64_t(acc >> 32);
    }
    bool stamped() const { return i == i0 && anchor[0].stamped; }
    // Writes the current event, at time t, into e field by field: filling the destination in
    // place (a batch slot) instead of copying a temporary avoids a store-forwarding stall that
    // cost most of the merge's time.
    void fill(Event& e, uint64_t t) const
    {
        const RavelEvent& r = rec();
        e.time_ns = t;
        e.obj = r.word & RAVEL_OBJ_MASK;
        e.thread = tid;
        e.aux = r.aux;
        e.stack = r.stack;
        e.kind = uint8_t(r.word >> 48);
        e.flags = uint8_t(r.word >> 56);
        e.stamped = stamped();
        if (exact()) {
            e.earliest_ns = e.latest_ns = time;
        } else {
            e.earliest_ns = t0;
            e.latest_ns = anchor[1].bound ? anchor[1].time : UINT64_MAX;
        }
    }
    // What the clocks prove about the current event: it happened no later than this.
    uint64_t latest() const
    {
        return exact() ? time : anchor[1].bound ? anchor[1].time : UINT64_MAX;
    }
    // The current event's time is known, not placed: a stamp, or a release pinned to its cond
    // wait's request.
    bool exact() const { return i == i0 && anchor[0].bound; }
    Event event() const
    {
        Event e;
        fill(e, time);
        return e;
    }
};

// Decodes each cursor's next chunk on a thread of its own, so that the merge, the one stage of a
// pass that cannot be split, does not also decode (about a fifth of its time). A cursor asks for
// its next chunk as it loads one; when it gets there the chunk is usually ready, and a job not yet
// started is taken back and decoded in place.
class ChunkPrefetcher {
public:
    enum State { Idle, Queued, Running, Done, Failed };
    ChunkPrefetcher()
        : m_thread([this] { run(); })
    {
    }
    ~ChunkPrefetcher()
    {
        {
            std::lock_guard lock(m_mutex);
            m_stop = true;
            m_queue.clear();
        }
        m_cv.notify_all();
        m_thread.join();
    }
    ChunkPrefetcher(const ChunkPrefetcher&) = delete;
    ChunkPrefetcher& operator=(const ChunkPrefetcher&) = delete;

    void request(Cursor& c, size_t chunk)
    {
        {
            std::lock_guard lock(m_mutex);
            c.aheadChunk = chunk;
            c.aheadState = Queued;
            m_queue.push_back(&c);
        }
        m_cv.notify_all();
    }
    // True when chunk `chunk` of c was decoded ahead: it is now c's buf and anchors.
    bool take(Cursor& c, size_t chunk)
    {
        std::unique_lock lock(m_mutex);
        if (c.aheadChunk != chunk || c.aheadState == Idle)
            return false;
        if (c.aheadState == Queued) {
            m_queue.erase(std::find(m_queue.begin(), m_queue.end(), &c));
            c.aheadState = Idle;
            return false;
        }
        m_cv.wait(lock, [&] { return c.aheadState == Done || c.aheadState == Failed; });
        const bool ok = c.aheadState == Done;
        c.aheadState = Idle;
        if (ok) {
            std::swap(c.buf, c.aheadBuf);
            std::swap(c.anchors, c.aheadAnchors);
        }
        return ok;
    }

private:
    void run()
    {
        ChunkDecoder decoder;
        std::unique_lock lock(m_mutex);
        for (;;) {
            m_cv.wait(lock, [&] { return m_stop || !m_queue.empty(); });
            if (m_stop)
                return;
            Cursor* c = m_queue.front();
            m_queue.pop_front();
            c->aheadState = Running;
            lock.unlock();
            bool ok = true;
            try {
                decodeChunk(*c->stream, c->stream->chunks[c->aheadChunk], decoder, c->aheadBuf, c->aheadAnchors);
            } catch (...) {
                ok = false; // the cursor decodes it again itself, and meets the error there
            }
            lock.lock();
            c->aheadState = ok ? Done : Failed;
            m_cv.notify_all();
        }
    }
    std::mutex m_mutex;
    std::condition_variable m_cv;
    std::deque<Cursor*> m_queue;
    bool m_stop = false;
    std::thread m_thread; // last: started once the rest is built
};

inline void Cursor::load()
{
    while (nextChunk < stream->chunks.size()) {
        const size_t k = nextChunk++;
        const StreamChunk& c = stream->chunks[k];
        if (c.count == 0)
            continue;
        if (!(prefetcher && prefetcher->take(*this, k)))
            decodeChunk(*stream, c, *decoder, buf, anchors);
        nextAnchor = 0;
        ev = buf.data();
        base = c.first;
        end = c.first + c.count;
        if (prefetcher) {
            size_t after = nextChunk;
            while (after < stream->chunks.size() && stream->chunks[after].count == 0)
                ++after;
            if (after < stream->chunks.size())
                prefetcher->request(*this, after);
        }
        return;
    }
}

} // namespace ravel::detail
