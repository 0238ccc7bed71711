// Lock-order analysis, the pass over the events: the distinct edges, each with the vector clock of
// the segments it occurred in and the locks held at every occurrence (lock_order.cpp finds the
// cycles among them).
#include "detect/lock_order.hpp"

#include "model/objects.hpp"
#include "model/replay_model.hpp"

#include <algorithm>
#include <functional>
#include <utility>
#include <vector>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxGates = 16;            // gate candidates kept per edge (outermost first)
constexpr size_t kMaxHeldStored = 64;       // held objects kept per edge for the report
constexpr size_t kInlineGates = 8;          // gates kept in the hash slot (more: in the pool)
constexpr size_t kQueueDepth = 16;          // requests whose slots are being prefetched
constexpr size_t kQueuedHeld = 8;           // a request holding more is made at once
constexpr size_t kReservedEdges = 4u << 20; // edges reserved at most before the pass
constexpr size_t kSnapshotBudget = 64u << 20; // clock entries (256 MB); past it segments are "unknown"

// Objects whose acquisition can block on a holder. A mixed cycle (issue 5: a lock held across a
// blocking channel operation whose other side needs the lock) adds channel kinds here and writes
// their send/receive requests as edges in request(); the search below is agnostic of object kinds.
bool isOrderedResource(unsigned kind)
{
    return kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN;
}

struct Held {
    uint32_t object;
    uint32_t stack;
    uint32_t depth; // recursive re-acquisitions
    bool shared;
};

// A lock a thread requested since its last channel operation: if it next serves a channel, the
// channel's other side waits on the lock (channel -> lock), as of the segment of that request.
struct Need {
    uint32_t lock;
    uint32_t stack;
    uint64_t timeNs;
    uint32_t segment;
    uint32_t snapshot;
    bool shared;
    std::vector<uint32_t> gates; // locks held exclusively at the request
    std::vector<uint32_t> held;
};
constexpr size_t kMaxNeeds = 16;

struct ThreadState {
    std::vector<Need> needs;
    std::vector<Held> held;
    uint32_t pendingRequest = kNone; // object whose ACQ_REQ already made the edges
    uint32_t segment = 0;            // bumped whenever the thread's clock changes
    uint32_t snapshot = kNone;       // snapshot of the current segment, once an edge needed it
    uint64_t barrierRound = 0;
    std::vector<uint32_t> clock;     // vector clock over thread indices; empty until first used
};

// What a synchronizing object carries from its releasers to its acquirers.
struct SyncState {
    std::vector<uint32_t> clock;     // joined clocks of signals / posts / this round's arrivals
    std::vector<uint32_t> done;      // barrier: the clock of the last completed round
    uint64_t doneRound = UINT64_MAX;
    uint64_t arrivals = 0;
    uint32_t count = 0;              // barrier: threads per round (from INIT), 0 unknown
};

bool joinClock(std::vector<uint32_t>& into, const std::vector<uint32_t>& from)
{
    bool changed = false;
    for (size_t i = 0; i < from.size() && i < into.size(); i++)
        if (from[i] > into[i]) {
            into[i] = from[i];
            changed = true;
        }
    return changed;
}

// splitmix64's finalizer: keys are small dense numbers (object indices, stack ids), which a weak
// mix turns into long probe chains.
uint64_t mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

} // namespace

void LockOrderGraph::collectEdges()
{
    // ReplayModel::threads() are the trace's threads in the same order: indices agree.
    const std::vector<ThreadInfo>& threads = m_trace.threads();
    const uint32_t T = uint32_t(threads.size());
    m_threadCount = T;
    std::vector<uint32_t> threadIndex; // ravel id -> index into threads
    for (uint32_t i = 0; i < T; i++) {
        if (threads[i].id >= threadIndex.size())
            threadIndex.resize(threads[i].id + 1, kNone);
        threadIndex[threads[i].id] = i;
    }
    auto indexOf = [&](uint32_t id) { return id < threadIndex.size() ? threadIndex[id] : kNone; };

    std::vector<ThreadState> ts(T);
    auto clockOf = [&](uint32_t t) -> std::vector<uint32_t>& {
        std::vector<uint32_t>& c = ts[t].clock;
        if (c.empty()) {
            c.assign(T, 0);
            c[t] = 1;
        }
        return c;
    };
    auto advance = [&](uint32_t t) {
        ts[t].segment++;
        ts[t].snapshot = kNone;
    };
    // After a release (create, signal, post, arrival, fork) the thread's later events must not be
    // ordered before whoever acquires what it released: its own component moves on.
    auto tick = [&](uint32_t t) {
        clockOf(t)[t]++;
        advance(t);
    };
    auto acquireClock = [&](uint32_t t, const std::vector<uint32_t>& from) {
        if (joinClock(clockOf(t), from))
            advance(t);
    };

    ObjectTracker tracker(m_trace.threads());
    if (needsEvents(m_trace)) {
        tracker.reserveFor(m_trace);
        // At most an edge per nested acquisition; a trace of short-lived locks makes about one per
        // pair initialized. Reserved only (pages are touched as edges come), so over-counting
        // costs address space, not memory; capped (about 0.5 GB of it), past which they grow.
        const uint64_t inits = m_trace.eventCount(RAVEL_EV_INIT);
        const size_t expect = size_t(std::min<uint64_t>(
            { inits / 2, m_trace.eventCount(RAVEL_EV_ACQUIRED), uint64_t(kReservedEdges) }));
        m_edges.reserve(expect);
        m_state.reserve(expect);
    }
    std::vector<uint32_t> syncOf; // object -> index into syncs
    std::vector<SyncState> syncs;
    auto syncFor = [&](uint32_t object) -> SyncState& {
        if (object >= syncOf.size())
            syncOf.resize(std::max<size_t>(object + 1, syncOf.size() * 2), kNone);
        if (syncOf[object] == kNone) {
            syncOf[object] = uint32_t(syncs.size());
            syncs.emplace_back();
            syncs.back().clock.assign(T, 0);
        }
        return syncs[syncOf[object]];
    };
    std::vector<std::pair<uint32_t, std::vector<uint32_t>>> forkClocks; // child pid -> parent clock

    const std::vector<ObjectRecord>& objects = tracker.objects();
    // Mixed lock/channel cycles cost nothing in a program without channels.
    const bool channels = m_trace.eventCount(RAVEL_EV_CHAN_CREATE) + m_trace.eventCount(RAVEL_EV_SEND_REQ)
            + m_trace.eventCount(RAVEL_EV_RECV_REQ) + m_trace.eventCount(RAVEL_EV_SELECT_CASE)
        > 0;

    // Distinct edges by (from, to, from site, to site, thread): open addressing with the key and
    // what every repeat updates in the slot (one cache line), so a repeat touches neither the edge
    // arrays nor a gate list elsewhere. The edge's state is brought up to date by flush().
    struct alignas(64) Slot {
        uint64_t objects = 0; // from << 32 | to
        uint64_t sites = 0;   // from site << 32 | to site
        uint32_t thread = 0;
        uint32_t edge = kNone;
        uint32_t lastSegment = kNone; // the thread's segment of the latest occurrence
        uint16_t pending = 0;         // occurrences not yet added to the state's count
        uint8_t flags = 0;            // kSpilled: the gates are the state's, in m_gatePool; kFromShared,
                                      // kToShared: the state's (every occurrence so far shared)
        uint8_t gateCount = 0;        // the gates, while not spilled
        uint32_t gates[kInlineGates] = {};
    };
    static_assert(sizeof(Slot) == 64);
    constexpr uint8_t kSpilled = 1, kFromShared = 2, kToShared = 4;
    std::vector<Slot> slots(1024);
    size_t usedSlots = 0;
    auto slotOf = [&](uint64_t objs, uint64_t sites, uint32_t thread) {
        const size_t mask = slots.size() - 1;
        for (size_t i = size_t(mix(mix(objs + thread) ^ sites)) & mask;; i = (i + 1) & mask) {
            const Slot& x = slots[i];
            if (x.edge == kNone || (x.objects == objs && x.sites == sites && x.thread == thread))
                return i;
        }
    };
    auto flush = [&](Slot& x) {
        EdgeState& s = m_state[x.edge];
        s.count += x.pending;
        x.pending = 0;
        if (!(x.flags & kSpilled)) {
            std::copy_n(x.gates, x.gateCount, m_gatePool.begin() + std::ptrdiff_t(s.gatesBegin));
            s.gatesCount = x.gateCount;
            s.onlyFromGate = x.gateCount == 1 && x.gates[0] == m_edges[x.edge].from;
        }
    };
    // An object that ended (destroyed, its memory freed) and that nobody holds is never looked
    // up again: the tracker gives its address a new object. Its edges are final, so their slots
    // can go; a trace of short-lived locks keeps a table the size of its live edges instead of
    // one of every edge. (Not with channels: a pending channel need may name an ended lock.)
    std::function<void()> pinQueued; // marks the objects queued requests name (below)
    std::vector<uint32_t> pinMark;   // object -> pinStamp when pinned
    uint32_t pinStamp = 0;
    auto pin = [&](uint32_t o) {
        if (o < pinMark.size())
            pinMark[o] = pinStamp;
    };
    auto ended = [&](uint32_t o) {
        return o < objects.size() && objects[o].retired && objects[o].holders == 0 && pinMark[o] != pinStamp;
    };
    auto growSlots = [&] {
        if (!channels) {
            pinMark.resize(objects.size(), 0);
            ++pinStamp;
            if (pinQueued)
                pinQueued();
        }
        size_t live = 0;
        if (!channels)
            for (Slot& x : slots)
                if (x.edge != kNone && !ended(uint32_t(x.objects >> 32)) && !ended(uint32_t(x.objects)))
                    live++;
        std::vector<Slot> old(channels || live * 4 > slots.size() ? slots.size() * 2 : slots.size());
        old.swap(slots);
        usedSlots = 0;
        for (Slot& x : old) {
            if (x.edge == kNone)
                continue;
            if (!channels && (ended(uint32_t(x.objects >> 32)) || ended(uint32_t(x.objects)))) {
                flush(x);
                continue;
            }
            slots[slotOf(x.objects, x.sites, x.thread)] = x;
            usedSlots++;
        }
    };
    // A new distinct edge in the slot its key hashed to (gates and held in `st`'s pools already,
    // from gatesBegin/heldBegin on): the slot's index, moved if the table grew.
    auto addEdge = [&](size_t slot, uint64_t objs, uint64_t sites, uint32_t t, const LockOrderEdge& x,
                       const EdgeState& s, bool spill) {
        const uint32_t index = uint32_t(m_edges.size());
        m_edges.push_back(x);
        m_state.push_back(s);
        Slot& z = slots[slot];
        z = Slot {};
        z.objects = objs;
        z.sites = sites;
        z.thread = t;
        z.edge = index;
        z.flags = uint8_t((s.fromShared ? kFromShared : 0) | (s.toShared ? kToShared : 0));
        if (spill || s.gatesCount > kInlineGates) {
            z.flags |= kSpilled;
        } else {
            z.gateCount = uint8_t(s.gatesCount);
            std::copy_n(m_gatePool.begin() + std::ptrdiff_t(s.gatesBegin), s.gatesCount, z.gates);
        }
        if (++usedSlots * 2 > slots.size()) {
            growSlots();
            slot = slotOf(objs, sites, t);
        }
        return slot;
    };

    std::vector<uint32_t> mark; // object -> stamp of the request whose exclusive held set has it
    uint32_t stamp = 0;

    // A snapshot is kept only while something refers to it: an edge's witnesses (at most
    // kSegments each), a thread's current segment, a pending channel need. A loop that nests two
    // locks and signals a condition variable makes a segment, and a snapshot, every iteration;
    // without collecting, the pool grew with the events up to its budget.
    size_t collectAt = 4096; // snapshots; doubled past what survives a collection
    auto collectSnapshots = [&] {
        const uint32_t count = uint32_t(m_snapshotThread.size());
        std::vector<uint32_t> remap(count, kNone);
        auto keep = [&](uint32_t id) {
            if (id != kNone && id < count)
                remap[id] = 0;
        };
        for (const EdgeState& es : m_state)
            for (uint8_t k = 0; k < es.segmentCount; k++)
                keep(es.snapshots[k]);
        for (const ThreadState& st : ts) {
            keep(st.snapshot);
            for (const Need& n : st.needs)
                keep(n.snapshot);
        }
        uint32_t kept = 0;
        for (uint32_t id = 0; id < count; id++) {
            if (remap[id] == kNone)
                continue;
            if (kept != id) {
                std::copy_n(m_snapshotPool.begin() + std::ptrdiff_t(size_t(id) * T), T,
                            m_snapshotPool.begin() + std::ptrdiff_t(size_t(kept) * T));
                m_snapshotThread[kept] = m_snapshotThread[id];
            }
            remap[id] = kept++;
        }
        m_snapshotPool.resize(size_t(kept) * T);
        m_snapshotThread.resize(kept);
        auto renumber = [&](uint32_t& id) {
            if (id != kNone && id < count)
                id = remap[id];
        };
        for (EdgeState& es : m_state)
            for (uint8_t k = 0; k < es.segmentCount; k++)
                renumber(es.snapshots[k]);
        for (ThreadState& st : ts) {
            renumber(st.snapshot);
            for (Need& n : st.needs)
                renumber(n.snapshot);
        }
        collectAt = std::max<size_t>(4096, 2 * size_t(kept));
    };
    auto snapshotOf = [&](uint32_t t) {
        ThreadState& st = ts[t];
        if (st.snapshot == kNone && m_snapshotThread.size() >= collectAt)
            collectSnapshots();
        if (st.snapshot == kNone && m_snapshotPool.size() + T <= kSnapshotBudget) {
            const std::vector<uint32_t>& c = clockOf(t);
            st.snapshot = uint32_t(m_snapshotThread.size());
            m_snapshotPool.insert(m_snapshotPool.end(), c.begin(), c.end());
            m_snapshotThread.push_back(t);
        }
        return st.snapshot; // kNone past the budget: unknown, taken as concurrent with everything
    };

    // Thread t requests `object` (it may block): an edge from every lock it holds.
    // `held`: what thread t held at the request (its current set, or a queued copy of it).
    auto requestWith = [&](uint32_t t, std::span<const Held> held, uint32_t object, uint32_t stack, uint64_t timeNs,
                           bool shared) {
        ThreadState& st = ts[t];
        const uint32_t toSite = stackIdOf(stack);
        bool marked = false;
        auto markHeld = [&] {
            if (marked)
                return;
            if (mark.size() < objects.size())
                mark.resize(objects.size() * 2, 0);
            ++stamp;
            for (const Held& g : held)
                if (!g.shared)
                    mark[g.object] = stamp;
            marked = true;
        };
        for (const Held& h : held) {
            const uint32_t fromSite = stackIdOf(h.stack);
            const uint64_t objs = uint64_t(h.object) << 32 | object, sites = uint64_t(fromSite) << 32 | toSite;
            size_t slot = slotOf(objs, sites, t);
            const bool fresh = slots[slot].edge == kNone;
            if (fresh) {
                LockOrderEdge x;
                x.from = h.object;
                x.to = object;
                x.thread = threads[t].id;
                x.fromStack = h.stack;
                x.toStack = stack;
                x.timeNs = timeNs;
                x.fromShared = h.shared;
                x.toShared = shared;
                EdgeState s;
                s.fromShared = h.shared;
                s.toShared = shared;
                s.threadIndex = t;
                s.fromSite = fromSite;
                s.toSite = toSite;
                s.heldBegin = m_heldPool.size();
                s.gatesBegin = m_gatePool.size();
                for (const Held& g : held) {
                    if (s.heldCount < kMaxHeldStored || g.object == h.object) {
                        m_heldPool.push_back(g.object);
                        s.heldCount++;
                    }
                    if (!g.shared && (s.gatesCount < kMaxGates || g.object == h.object)) {
                        m_gatePool.push_back(g.object);
                        s.gatesCount++;
                    }
                }
                s.onlyFromGate = s.gatesCount == 1 && m_gatePool[s.gatesBegin] == h.object;
                slot = addEdge(slot, objs, sites, t, x, s, false);
            }
            Slot& z = slots[slot];
            // Shared only if every occurrence was: one exclusive occurrence can block.
            if (((z.flags & kFromShared) && !h.shared) || ((z.flags & kToShared) && !shared)) {
                EdgeState& s = m_state[z.edge];
                s.fromShared = s.fromShared && h.shared;
                s.toShared = s.toShared && shared;
                z.flags = uint8_t((z.flags & kSpilled) | (s.fromShared ? kFromShared : 0) | (s.toShared ? kToShared : 0));
            }
            // A gate counts only if it was held every time.
            if (fresh) {
            } else if (!(z.flags & kSpilled)) {
                if (z.gateCount && !(z.gateCount == 1 && z.gates[0] == h.object && !h.shared)) {
                    markHeld();
                    uint8_t kept = 0;
                    for (uint8_t k = 0; k < z.gateCount; k++)
                        if (mark[z.gates[k]] == stamp)
                            z.gates[kept++] = z.gates[k];
                    z.gateCount = kept;
                }
            } else {
                EdgeState& s = m_state[z.edge];
                if (s.gatesCount && !(s.onlyFromGate && !h.shared)) {
                    markHeld();
                    uint32_t* g = m_gatePool.data() + s.gatesBegin;
                    s.gatesCount = uint32_t(std::remove_if(g, g + s.gatesCount, [&](uint32_t o) { return mark[o] != stamp; }) - g);
                    s.onlyFromGate = s.gatesCount == 1 && g[0] == h.object;
                }
            }
            if (++z.pending == UINT16_MAX) {
                m_state[z.edge].count += z.pending;
                z.pending = 0;
            }
            if (z.lastSegment == st.segment)
                continue;
            z.lastSegment = st.segment;
            // The first segments are kept; later ones replace the last slot at doubling distances,
            // so an edge repeated in a million segments keeps early, middle and recent witnesses.
            EdgeState& s = m_state[z.edge];
            if (s.segmentCount < EdgeState::kSegments) {
                s.snapshots[s.segmentCount++] = snapshotOf(t);
            } else if (st.segment >= 2 * s.replacedAt + 1) {
                s.snapshots[EdgeState::kSegments - 1] = snapshotOf(t);
                s.replacedAt = st.segment;
            }
        }
    };

    auto request = [&](uint32_t t, const Event& e, uint32_t object) {
        const std::vector<Held>& held = ts[t].held;
        if (held.empty() || std::any_of(held.begin(), held.end(), [&](const Held& h) { return h.object == object; }))
            return; // none held, or a re-acquisition: recursive, or a self-deadlock the replay reports
        requestWith(t, held, object, e.stack, e.time_ns, e.flags & RAVEL_F_SHARED);
    };

    // Requests wait in a short queue while their slots are prefetched: the table of a program with
    // many lock pairs is larger than the caches, and one miss per occurrence was most of this pass.
    // The queue is processed in order, and emptied before any event that moves a clock (the
    // segment and snapshot of a queued request are those at its event); objects a queued request
    // names are not taken for ended when the table is compacted. Not with channels (a channel
    // edge is made from a thread's needs, at once).
    struct Queued {
        uint32_t t, object, stack, heldCount;
        uint64_t timeNs;
        bool shared;
        Held held[kQueuedHeld];
    };
    Queued queue[kQueueDepth];
    size_t queueHead = 0, queued = 0;
    pinQueued = [&] {
        for (size_t k = 0; k < queued; k++) {
            const Queued& q = queue[(queueHead + k) % kQueueDepth];
            pin(q.object);
            for (uint32_t i = 0; i < q.heldCount; i++)
                pin(q.held[i].object);
        }
    };
    auto processOldest = [&] { // still queued while it is made: its objects stay pinned
        const Queued& q = queue[queueHead];
        requestWith(q.t, std::span<const Held>(q.held, q.heldCount), q.object, q.stack, q.timeNs, q.shared);
        queueHead = (queueHead + 1) % kQueueDepth;
        queued--;
    };
    auto drain = [&] {
        while (queued)
            processOldest();
    };
    auto enqueue = [&](uint32_t t, const Event& e, uint32_t object) {
        const std::vector<Held>& held = ts[t].held;
        if (channels || held.size() > kQueuedHeld) {
            drain();
            request(t, e, object);
            return;
        }
        if (held.empty() || std::any_of(held.begin(), held.end(), [&](const Held& h) { return h.object == object; }))
            return;
        if (queued == kQueueDepth)
            processOldest();
        Queued& q = queue[(queueHead + queued) % kQueueDepth];
        queued++;
        q.t = t;
        q.object = object;
        q.stack = e.stack;
        q.timeNs = e.time_ns;
        q.shared = e.flags & RAVEL_F_SHARED;
        q.heldCount = uint32_t(held.size());
        const uint32_t toSite = stackIdOf(e.stack);
        const size_t mask = slots.size() - 1;
        for (size_t i = 0; i < held.size(); i++) {
            q.held[i] = held[i];
            const uint64_t objs = uint64_t(held[i].object) << 32 | object;
            const uint64_t sites = uint64_t(stackIdOf(held[i].stack)) << 32 | toSite;
            __builtin_prefetch(&slots[size_t(mix(mix(objs + t) ^ sites)) & mask], 1);
        }
    };

    if (!needsEvents(m_trace))
        return;
    auto need = [&](uint32_t t, const Event& e, uint32_t object) {
        ThreadState& st = ts[t];
        Need n { object, e.stack, e.time_ns, st.segment, snapshotOf(t), bool(e.flags & RAVEL_F_SHARED), {}, {} };
        for (const Held& h : st.held) {
            if (!h.shared && n.gates.size() < kMaxGates)
                n.gates.push_back(h.object);
            if (n.held.size() < kMaxHeldStored)
                n.held.push_back(h.object);
        }
        auto same = std::find_if(st.needs.begin(), st.needs.end(), [&](const Need& x) {
            return x.lock == object && stackIdOf(x.stack) == stackIdOf(e.stack);
        });
        if (same != st.needs.end())
            st.needs.erase(same);
        else if (st.needs.size() >= kMaxNeeds)
            st.needs.erase(st.needs.begin());
        st.needs.push_back(std::move(n));
    };
    // Thread t serves channel `chan` (role) after requesting the lock of `n`: channel -> lock.
    auto serve = [&](uint32_t t, uint32_t chan, uint32_t chanStack, ChanRole role, const Need& n) {
        const uint32_t fromSite = stackIdOf(chanStack), toSite = stackIdOf(n.stack);
        const uint64_t objs = uint64_t(chan) << 32 | n.lock;
        const uint64_t sites = (uint64_t(fromSite) << 32 | toSite) ^ (uint64_t(role) << 62);
        size_t slot = slotOf(objs, sites, t);
        const bool fresh = slots[slot].edge == kNone;
        if (fresh) {
            LockOrderEdge x;
            x.from = chan;
            x.to = n.lock;
            x.thread = threads[t].id;
            x.fromStack = chanStack;
            x.toStack = n.stack;
            x.timeNs = n.timeNs;
            x.toShared = n.shared;
            x.fromRole = role;
            EdgeState es;
            es.fromShared = false;
            es.toShared = n.shared;
            es.threadIndex = t;
            es.fromSite = fromSite;
            es.toSite = toSite;
            es.heldBegin = m_heldPool.size();
            es.heldCount = uint32_t(n.held.size());
            m_heldPool.insert(m_heldPool.end(), n.held.begin(), n.held.end());
            es.gatesBegin = m_gatePool.size();
            es.gatesCount = uint32_t(n.gates.size());
            m_gatePool.insert(m_gatePool.end(), n.gates.begin(), n.gates.end());
            // Its gates intersect with the needs' (not with a held set): kept in the state.
            slot = addEdge(slot, objs, sites, t, x, es, true);
        }
        Slot& z = slots[slot];
        EdgeState& es = m_state[z.edge];
        es.fromShared = false;
        es.toShared = es.toShared && n.shared;
        if (!fresh) {
            uint32_t* g = m_gatePool.data() + es.gatesBegin;
            es.gatesCount = uint32_t(std::remove_if(g, g + es.gatesCount, [&](uint32_t o) {
                                         return std::find(n.gates.begin(), n.gates.end(), o) == n.gates.end();
                                     }) - g);
        }
        es.count++;
        if (z.lastSegment == n.segment)
            return;
        z.lastSegment = n.segment;
        if (es.segmentCount < EdgeState::kSegments) {
            es.snapshots[es.segmentCount++] = n.snapshot;
        } else if (n.segment >= 2 * es.replacedAt + 1) {
            es.snapshots[EdgeState::kSegments - 1] = n.snapshot;
            es.replacedAt = n.segment;
        }
    };

    forEachEventVia(m_trace, m_pass, [&](const Event& e) {
        const uint32_t object = tracker.onEvent(e);
        const uint32_t t = indexOf(e.thread);
        if (t == kNone)
            return true;
        ThreadState& st = ts[t];
        const unsigned kind = e.objKind();
        switch (e.kind) {
        case RAVEL_EV_ACQ_REQ:
            if (object != kNoObject && isOrderedResource(kind) && !(e.flags & RAVEL_F_TRY)) {
                enqueue(t, e, object);
                st.pendingRequest = object;
                if (channels)
                    need(t, e, object);
            }
            break;
        case RAVEL_EV_ACQUIRED: {
            if (object == kNoObject || !isOrderedResource(kind))
                break;
            auto it = std::find_if(st.held.begin(), st.held.end(), [&](const Held& h) { return h.object == object; });
            if (it != st.held.end()) {
                it->depth++;
            } else {
                // A trylock cannot block, so it is no edge; it still counts as held afterwards.
                if (!(e.flags & RAVEL_F_TRY) && st.pendingRequest != object) {
                    enqueue(t, e, object);
                    if (channels)
                        need(t, e, object);
                }
                st.held.push_back({ object, e.stack, 0, bool(e.flags & RAVEL_F_SHARED) });
            }
            st.pendingRequest = kNone;
            break;
        }
        case RAVEL_EV_ACQ_FAIL:
            st.pendingRequest = kNone;
            break;
        case RAVEL_EV_RELEASE: {
            if (object == kNoObject || !isOrderedResource(kind))
                break;
            for (size_t i = st.held.size(); i-- > 0;) {
                if (st.held[i].object != object)
                    continue;
                if (st.held[i].depth > 0)
                    st.held[i].depth--;
                else
                    st.held.erase(st.held.begin() + long(i));
                break;
            }
            break;
        }
        case RAVEL_EV_INIT:
            if (object != kNoObject && kind == RAVEL_OBJ_BARRIER)
                syncFor(object).count = e.aux;
            break;
        case RAVEL_EV_SIGNAL:
        case RAVEL_EV_BROADCAST:
            drain();
            // Signal -> wake and post -> wait order segments; the mutex around them does not.
            if (object != kNoObject && !isOrderedResource(kind)) {
                joinClock(syncFor(object).clock, clockOf(t));
                tick(t);
            }
            break;
        case RAVEL_EV_WAIT_REQ:
            drain();
            if (object != kNoObject && kind == RAVEL_OBJ_BARRIER) {
                SyncState& s = syncFor(object);
                st.barrierRound = s.count ? s.arrivals / s.count : 0;
                joinClock(s.clock, clockOf(t));
                if (s.count && ++s.arrivals % s.count == 0) {
                    s.done = s.clock;
                    s.doneRound = st.barrierRound;
                    s.clock.assign(T, 0);
                }
                tick(t);
            }
            break;
        case RAVEL_EV_WOKEN:
        case RAVEL_EV_PASS:
            drain();
            if (object != kNoObject && !isOrderedResource(kind)) {
                SyncState& s = syncFor(object);
                if (kind == RAVEL_OBJ_BARRIER && s.count && st.barrierRound == s.doneRound) {
                    acquireClock(t, s.done);
                } else {
                    acquireClock(t, s.clock);
                    if (kind == RAVEL_OBJ_BARRIER)
                        acquireClock(t, s.done);
                }
            }
            break;
        case RAVEL_EV_SEND_REQ:
        case RAVEL_EV_RECV_REQ: {
            drain();
            if (object == kNoObject || (e.flags & RAVEL_F_TRY))
                break;
            const bool send = e.kind == RAVEL_EV_SEND_REQ;
            // The locks it requested since its last channel operation are needed before it serves
            // this channel: whoever waits on the other side waits on them too.
            for (const Need& n : st.needs)
                serve(t, object, e.stack, send ? ChanRole::Send : ChanRole::Recv, n);
            st.needs.clear();
            // The locks it holds while it may block here wait on the other side.
            size_t before = m_edges.size();
            request(t, e, object);
            for (size_t i = before; i < m_edges.size(); i++)
                m_edges[i].toRole = send ? ChanRole::Recv : ChanRole::Send;
            // Send -> receive orders segments. From the request on: a rendezvous send completes (SENT)
            // only after its receiver has taken the message, which may be recorded first.
            if (send) {
                joinClock(syncFor(object).clock, clockOf(t));
                tick(t);
            }
            break;
        }
        case RAVEL_EV_SELECT_CASE:
        case RAVEL_EV_CHAN_CLOSE:
            drain();
            // A select's send case may be the one taken; close -> receive of the closed channel.
            if (object != kNoObject
                && (e.kind == RAVEL_EV_CHAN_CLOSE ? e.aux == 0 : (e.aux & RAVEL_SELECT_SEND) != 0)) {
                joinClock(syncFor(object).clock, clockOf(t));
                tick(t);
            }
            break;
        case RAVEL_EV_RECEIVED:
            drain();
            if (object != kNoObject)
                acquireClock(t, syncFor(object).clock);
            break;
        case RAVEL_EV_THREAD_CREATE: {
            drain();
            uint32_t child = indexOf(e.aux);
            if (child != kNone && child != t) {
                acquireClock(child, clockOf(t));
                tick(t);
            }
            break;
        }
        case RAVEL_EV_JOIN_DONE:
            drain();
            if (e.aux == 0 && object != kNoObject && kind == RAVEL_OBJ_THREAD) {
                uint32_t joined = indexOf(objects[object].threadId);
                if (joined != kNone && joined != t)
                    acquireClock(t, clockOf(joined));
            }
            break;
        case RAVEL_EV_FORK:
            drain();
            forkClocks.emplace_back(e.aux, clockOf(t));
            tick(t);
            break;
        case RAVEL_EV_FORK_CHILD:
            drain();
            for (const auto& [pid, clock] : forkClocks)
                if (pid == threads[t].pid)
                    acquireClock(t, clock);
            break;
        default:
            break;
        }
        return true;
    });
    drain();
    for (Slot& x : slots)
        if (x.edge != kNone)
            flush(x);
    for (size_t i = 0; i < m_edges.size(); i++) {
        m_edges[i].fromShared = m_state[i].fromShared;
        m_edges[i].toShared = m_state[i].toShared;
    }
}


} // namespace ravel
