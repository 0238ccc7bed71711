// Lock-order analysis. One linear pass over the events builds the distinct edges (with the vector
// clock of each segment they occurred in and the locks held at every occurrence), then cycles are
// enumerated per strongly connected component over edges that could all be waiting at once:
// distinct threads, pairwise disjoint held locks, pairwise unordered segments.
#include "lock_order.hpp"

#include "replay_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxGates = 16;            // gate candidates kept per edge (outermost first)
constexpr size_t kMaxHeldStored = 64;       // held objects kept per edge for the report
constexpr size_t kSnapshotBudget = 64u << 20; // clock entries (256 MB); past it segments are "unknown"
constexpr size_t kMaxCycleLength = 128;     // dining philosophers go up to 64
constexpr uint64_t kSearchSteps = 4'000'000; // edge choices tried over the whole enumeration
constexpr size_t kExamplesPerPattern = 4;   // one in `edges`, the rest in `moreExamples`

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

LockOrderGraph::LockOrderGraph(const ReplayModel& model)
    : LockOrderGraph(model.trace())
{
    finish(model);
}

LockOrderGraph::LockOrderGraph(const TraceReader& trace, SharedEventPass* pass)
    : m_trace(trace)
    , m_pass(pass)
{
    try {
        collectEdges();
    } catch (...) {
        if (m_pass) // failed before reading: the other consumer must not wait for it
            m_pass->forEachEvent([](const Event&) { return false; });
        throw;
    }
}

bool LockOrderGraph::needsEvents(const TraceReader& trace)
{
    return trace.nestedLocking() || trace.eventCount(RAVEL_EV_CHAN_CREATE) + trace.eventCount(RAVEL_EV_SEND_REQ)
            + trace.eventCount(RAVEL_EV_RECV_REQ) + trace.eventCount(RAVEL_EV_SELECT_CASE)
        > 0;
}

void LockOrderGraph::finish(const ReplayModel& model)
{
    m_model = &model;
    findCycles();
}

std::vector<uint32_t> LockOrderGraph::nodes() const
{
    std::vector<uint32_t> out;
    out.reserve(m_edges.size() * 2);
    for (const LockOrderEdge& e : m_edges) {
        out.push_back(e.from);
        out.push_back(e.to);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<Finding> LockOrderGraph::findings() const { return m_findings; }

std::vector<size_t> LockOrderGraph::cycleEdges() const { return m_cycleEdges; }

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

    // Distinct edges by (from, to, from site, to site, thread): open addressing with the key in the
    // slot, so a probe touches one cache line, not the edge arrays.
    struct Slot {
        uint64_t objects = 0; // from << 32 | to
        uint64_t sites = 0;   // from site << 32 | to site
        uint32_t thread = 0;
        uint32_t edge = kNone;
    };
    std::vector<Slot> slots(1024);
    auto slotOf = [&](uint64_t objs, uint64_t sites, uint32_t thread) {
        const size_t mask = slots.size() - 1;
        for (size_t i = size_t(mix(mix(objs + thread) ^ sites)) & mask;; i = (i + 1) & mask) {
            const Slot& x = slots[i];
            if (x.edge == kNone || (x.objects == objs && x.sites == sites && x.thread == thread))
                return i;
        }
    };
    auto growSlots = [&] {
        std::vector<Slot> old(slots.size() * 2);
        old.swap(slots);
        for (const Slot& x : old)
            if (x.edge != kNone)
                slots[slotOf(x.objects, x.sites, x.thread)] = x;
    };

    std::vector<uint32_t> mark; // object -> stamp of the request whose exclusive held set has it
    uint32_t stamp = 0;
    const std::vector<ObjectRecord>& objects = tracker.objects();

    auto snapshotOf = [&](uint32_t t) {
        ThreadState& st = ts[t];
        if (st.snapshot == kNone && m_snapshotPool.size() + T <= kSnapshotBudget) {
            const std::vector<uint32_t>& c = clockOf(t);
            st.snapshot = uint32_t(m_snapshotThread.size());
            m_snapshotPool.insert(m_snapshotPool.end(), c.begin(), c.end());
            m_snapshotThread.push_back(t);
        }
        return st.snapshot; // kNone past the budget: unknown, taken as concurrent with everything
    };

    // Thread t requests `object` (it may block): an edge from every lock it holds.
    auto request = [&](uint32_t t, const Event& e, uint32_t object) {
        ThreadState& st = ts[t];
        for (const Held& h : st.held)
            if (h.object == object)
                return; // a re-acquisition: recursive, or a self-deadlock the replay reports
        if (st.held.empty())
            return;
        const bool shared = e.flags & RAVEL_F_SHARED;
        const uint32_t toSite = stackIdOf(e.stack);
        bool marked = false;
        for (const Held& h : st.held) {
            const uint32_t fromSite = stackIdOf(h.stack);
            const uint64_t objs = uint64_t(h.object) << 32 | object, sites = uint64_t(fromSite) << 32 | toSite;
            size_t slot = slotOf(objs, sites, t);
            uint32_t index = slots[slot].edge;
            if (index == kNone) {
                index = uint32_t(m_edges.size());
                LockOrderEdge x;
                x.from = h.object;
                x.to = object;
                x.thread = threads[t].id;
                x.fromStack = h.stack;
                x.toStack = e.stack;
                x.timeNs = e.time_ns;
                x.fromShared = h.shared;
                x.toShared = shared;
                EdgeState s;
                s.fromShared = h.shared;
                s.toShared = shared;
                s.threadIndex = t;
                s.fromSite = fromSite;
                s.toSite = toSite;
                for (const Held& g : st.held) {
                    if (x.held.size() < kMaxHeldStored || g.object == h.object)
                        x.held.push_back(g.object);
                    if (!g.shared && (s.gates.size() < kMaxGates || g.object == h.object))
                        s.gates.push_back(g.object);
                }
                s.onlyFromGate = s.gates.size() == 1 && s.gates[0] == h.object;
                m_edges.push_back(std::move(x));
                m_state.push_back(std::move(s));
                slots[slot] = { objs, sites, t, index };
                if (m_edges.size() * 2 > slots.size())
                    growSlots();
            }
            EdgeState& s = m_state[index];
            // Shared only if every occurrence was: one exclusive occurrence can block.
            s.fromShared = s.fromShared && h.shared;
            s.toShared = s.toShared && shared;
            if (s.count > 0 && !s.gates.empty() && !(s.onlyFromGate && !h.shared)) {
                // A gate counts only if it was held every time.
                if (!marked) {
                    if (mark.size() < objects.size())
                        mark.resize(objects.size() * 2, 0);
                    ++stamp;
                    for (const Held& g : st.held)
                        if (!g.shared)
                            mark[g.object] = stamp;
                    marked = true;
                }
                auto dropped = [&](uint32_t g) { return mark[g] != stamp; };
                s.gates.erase(std::remove_if(s.gates.begin(), s.gates.end(), dropped), s.gates.end());
                s.onlyFromGate = s.gates.size() == 1 && s.gates[0] == h.object;
            }
            s.count++;
            if (s.lastSegment == st.segment)
                continue;
            s.lastSegment = st.segment;
            // The first segments are kept; later ones replace the last slot at doubling distances,
            // so an edge repeated in a million segments keeps early, middle and recent witnesses.
            if (s.segmentCount < EdgeState::kSegments) {
                s.snapshots[s.segmentCount++] = snapshotOf(t);
            } else if (st.segment >= 2 * s.replacedAt + 1) {
                s.snapshots[EdgeState::kSegments - 1] = snapshotOf(t);
                s.replacedAt = st.segment;
            }
        }
    };

    // Mixed lock/channel cycles cost nothing in a program without channels.
    const bool channels = m_trace.eventCount(RAVEL_EV_CHAN_CREATE) + m_trace.eventCount(RAVEL_EV_SEND_REQ)
            + m_trace.eventCount(RAVEL_EV_RECV_REQ) + m_trace.eventCount(RAVEL_EV_SELECT_CASE)
        > 0;
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
        uint32_t index = slots[slot].edge;
        if (index == kNone) {
            index = uint32_t(m_edges.size());
            LockOrderEdge x;
            x.from = chan;
            x.to = n.lock;
            x.thread = threads[t].id;
            x.fromStack = chanStack;
            x.toStack = n.stack;
            x.timeNs = n.timeNs;
            x.toShared = n.shared;
            x.held = n.held;
            x.fromRole = role;
            EdgeState es;
            es.fromShared = false;
            es.toShared = n.shared;
            es.threadIndex = t;
            es.fromSite = fromSite;
            es.toSite = toSite;
            es.gates = n.gates;
            m_edges.push_back(std::move(x));
            m_state.push_back(std::move(es));
            slots[slot] = { objs, sites, t, index };
            if (m_edges.size() * 2 > slots.size())
                growSlots();
        }
        EdgeState& es = m_state[index];
        es.fromShared = false;
        es.toShared = es.toShared && n.shared;
        if (es.count > 0)
            es.gates.erase(std::remove_if(es.gates.begin(), es.gates.end(),
                                          [&](uint32_t g) {
                                              return std::find(n.gates.begin(), n.gates.end(), g) == n.gates.end();
                                          }),
                           es.gates.end());
        es.count++;
        if (es.lastSegment == n.segment)
            return;
        es.lastSegment = n.segment;
        if (es.segmentCount < EdgeState::kSegments) {
            es.snapshots[es.segmentCount++] = n.snapshot;
        } else if (n.segment >= 2 * es.replacedAt + 1) {
            es.snapshots[EdgeState::kSegments - 1] = n.snapshot;
            es.replacedAt = n.segment;
        }
    };

    auto pass = [&](const std::function<bool(const Event&)>& fn) {
        if (SharedEventPass* shared = std::exchange(m_pass, nullptr))
            shared->forEachEvent(fn);
        else
            m_trace.forEachEvent(fn);
    };
    pass([&](const Event& e) {
        const uint32_t object = tracker.onEvent(e);
        const uint32_t t = indexOf(e.thread);
        if (t == kNone)
            return true;
        ThreadState& st = ts[t];
        const unsigned kind = e.objKind();
        switch (e.kind) {
        case RAVEL_EV_ACQ_REQ:
            if (object != kNoObject && isOrderedResource(kind) && !(e.flags & RAVEL_F_TRY)) {
                request(t, e, object);
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
                    request(t, e, object);
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
            // Signal -> wake and post -> wait order segments; the mutex around them does not.
            if (object != kNoObject && !isOrderedResource(kind)) {
                joinClock(syncFor(object).clock, clockOf(t));
                tick(t);
            }
            break;
        case RAVEL_EV_WAIT_REQ:
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
            // A select's send case may be the one taken; close -> receive of the closed channel.
            if (object != kNoObject
                && (e.kind == RAVEL_EV_CHAN_CLOSE ? e.aux == 0 : (e.aux & RAVEL_SELECT_SEND) != 0)) {
                joinClock(syncFor(object).clock, clockOf(t));
                tick(t);
            }
            break;
        case RAVEL_EV_RECEIVED:
            if (object != kNoObject)
                acquireClock(t, syncFor(object).clock);
            break;
        case RAVEL_EV_THREAD_CREATE: {
            uint32_t child = indexOf(e.aux);
            if (child != kNone && child != t) {
                acquireClock(child, clockOf(t));
                tick(t);
            }
            break;
        }
        case RAVEL_EV_JOIN_DONE:
            if (e.aux == 0 && object != kNoObject && kind == RAVEL_OBJ_THREAD) {
                uint32_t joined = indexOf(objects[object].threadId);
                if (joined != kNone && joined != t)
                    acquireClock(t, clockOf(joined));
            }
            break;
        case RAVEL_EV_FORK:
            forkClocks.emplace_back(e.aux, clockOf(t));
            tick(t);
            break;
        case RAVEL_EV_FORK_CHILD:
            for (const auto& [pid, clock] : forkClocks)
                if (pid == threads[t].pid)
                    acquireClock(t, clock);
            break;
        default:
            break;
        }
        return true;
    });
    for (size_t i = 0; i < m_edges.size(); i++) {
        m_edges[i].fromShared = m_state[i].fromShared;
        m_edges[i].toShared = m_state[i].toShared;
    }
}

bool LockOrderGraph::happensBefore(uint32_t a, uint32_t b) const
{
    const uint32_t t = m_snapshotThread[a];
    return m_snapshotPool[size_t(b) * m_threadCount + t] >= m_snapshotPool[size_t(a) * m_threadCount + t];
}

// Some segment of `a` and some segment of `b` are ordered neither way (so the two requests could be
// pending at once).
bool LockOrderGraph::mayOverlap(const EdgeState& a, const EdgeState& b) const
{
    for (uint8_t i = 0; i < a.segmentCount; i++)
        for (uint8_t j = 0; j < b.segmentCount; j++) {
            uint32_t sa = a.snapshots[i], sb = b.snapshots[j];
            if (sa == kNone || sb == kNone || (!happensBefore(sa, sb) && !happensBefore(sb, sa)))
                return true;
        }
    return false;
}

struct LockOrderGraph::Pattern {
    bool oneThread = false;
    uint64_t instances = 0;
    std::vector<std::vector<uint32_t>> examples; // edge indices, in cycle order
};

// Enumerates simple cycles of one strongly connected component, each once (rooted at its lowest
// object), choosing one distinct edge per hop. Multi-thread mode: every edge from another thread,
// pairwise disjoint gates, pairwise overlapping segments (a cycle that could really wait). One-
// thread mode: every edge from one thread, disjoint gates (an order the code takes both ways).
class LockOrderGraph::CycleSearch {
public:
    struct Group {
        uint32_t to;
        uint32_t begin, end; // range in `order`
    };

    CycleSearch(const LockOrderGraph& g, const std::vector<uint32_t>& order, const std::vector<Group>& groups,
                const std::vector<uint32_t>& groupBegin, const std::vector<uint32_t>& comp, size_t objectCount)
        : m_g(g), m_order(order), m_groups(groups), m_groupBegin(groupBegin), m_comp(comp)
        , m_onPath(objectCount, 0), m_gateCount(objectCount, 0), m_usedThread(g.m_threadCount, 0)
    {
    }

    // Calls found(path) for each cycle through `root` over objects >= root in component `comp`.
    template <typename Found>
    void run(uint32_t root, bool oneThread, uint64_t& steps, Found&& found)
    {
        m_root = root;
        m_oneThread = oneThread;
        dfs(root, steps, found);
    }
    bool capped() const { return m_capped; }

private:
    // Readers do not exclude each other: where one edge requests X shared and the next holds X
    // shared, nobody waits at X (a read-read hop), so no cycle passes there.
    bool readRead(uint32_t in, uint32_t out) const { return m_g.m_edges[in].toShared && m_g.m_edges[out].fromShared; }
    // At a channel, the operation one edge blocks in must be the one the next edge's thread serves.
    bool hopOk(uint32_t in, uint32_t out) const
    {
        return !readRead(in, out) && m_g.m_edges[in].toRole == m_g.m_edges[out].fromRole;
    }
    bool fits(uint32_t e) const
    {
        const EdgeState& s = m_g.m_state[e];
        if (!m_path.empty() && !hopOk(m_path.back(), e))
            return false;
        for (uint32_t g : s.gates)
            if (m_gateCount[g])
                return false;
        if (m_oneThread)
            return m_path.empty() || m_g.m_state[m_path[0]].threadIndex == s.threadIndex;
        if (m_usedThread[s.threadIndex])
            return false;
        for (uint32_t p : m_path)
            if (!m_g.mayOverlap(m_g.m_state[p], s))
                return false;
        return true;
    }
    void push(uint32_t e)
    {
        m_path.push_back(e);
        const EdgeState& s = m_g.m_state[e];
        for (uint32_t g : s.gates)
            m_gateCount[g]++;
        m_usedThread[s.threadIndex]++;
    }
    void pop()
    {
        const EdgeState& s = m_g.m_state[m_path.back()];
        for (uint32_t g : s.gates)
            m_gateCount[g]--;
        m_usedThread[s.threadIndex]--;
        m_path.pop_back();
    }
    template <typename Found>
    void dfs(uint32_t u, uint64_t& steps, Found& found)
    {
        for (uint32_t gi = m_groupBegin[u]; gi < m_groupBegin[u + 1]; gi++) {
            const Group& g = m_groups[gi];
            const uint32_t v = g.to;
            if (m_comp[v] != m_comp[m_root] || v < m_root || (v != m_root && m_onPath[v]))
                continue;
            if (v != m_root && m_path.size() + 2 > kMaxCycleLength)
                continue;
            for (uint32_t k = g.begin; k < g.end; k++) {
                if (++steps > kSearchSteps) {
                    m_capped = true;
                    return;
                }
                uint32_t e = m_order[k];
                if (!fits(e))
                    continue;
                push(e);
                if (v == m_root) {
                    if (hopOk(e, m_path[0]))
                        found(m_path);
                } else {
                    m_onPath[v] = 1;
                    dfs(v, steps, found);
                    m_onPath[v] = 0;
                }
                pop();
                if (m_capped)
                    return;
            }
        }
    }

    const LockOrderGraph& m_g;
    const std::vector<uint32_t>& m_order;
    const std::vector<Group>& m_groups;
    const std::vector<uint32_t>& m_groupBegin; // per object, first group; objectCount + 1 entries
    const std::vector<uint32_t>& m_comp;
    std::vector<uint8_t> m_onPath;
    std::vector<uint32_t> m_gateCount;
    std::vector<uint32_t> m_usedThread;
    std::vector<uint32_t> m_path;
    uint32_t m_root = 0;
    bool m_oneThread = false;
    bool m_capped = false;
};

void LockOrderGraph::findCycles()
{
    if (m_edges.empty())
        return;
    size_t objectCount = m_model->objects().size();
    for (const LockOrderEdge& e : m_edges)
        objectCount = std::max<size_t>(objectCount, std::max(e.from, e.to) + 1);

    // Edges sorted by (from, to): each run of one (from, to) is a group, the parallel choices of a hop.
    std::vector<uint32_t> order(m_edges.size());
    for (uint32_t i = 0; i < order.size(); i++)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        const LockOrderEdge &x = m_edges[a], &y = m_edges[b];
        return x.from != y.from ? x.from < y.from : x.to != y.to ? x.to < y.to : a < b;
    });
    std::vector<CycleSearch::Group> groups;
    std::vector<uint32_t> groupBegin(objectCount + 1, 0);
    for (uint32_t k = 0; k < order.size();) {
        uint32_t from = m_edges[order[k]].from, to = m_edges[order[k]].to, end = k;
        while (end < order.size() && m_edges[order[end]].from == from && m_edges[order[end]].to == to)
            end++;
        groups.push_back({ to, k, end });
        groupBegin[from + 1]++;
        k = end;
    }
    for (size_t i = 0; i < objectCount; i++)
        groupBegin[i + 1] += groupBegin[i];

    // Tarjan's strongly connected components, iteratively (a chain of thousands of locks must not
    // overflow the stack).
    std::vector<uint32_t> comp(objectCount, kNone), low(objectCount, 0), num(objectCount, kNone);
    std::vector<uint8_t> onStack(objectCount, 0);
    std::vector<uint32_t> stack;
    std::vector<std::pair<uint32_t, uint32_t>> call; // (object, next group)
    std::vector<uint32_t> compSize;
    uint32_t counter = 0;
    for (uint32_t start = 0; start < objectCount; start++) {
        if (num[start] != kNone || groupBegin[start] == groupBegin[start + 1])
            continue;
        call.push_back({ start, groupBegin[start] });
        num[start] = low[start] = counter++;
        stack.push_back(start);
        onStack[start] = 1;
        while (!call.empty()) {
            auto& [u, next] = call.back();
            if (next < groupBegin[u + 1]) {
                uint32_t v = groups[next++].to;
                if (num[v] == kNone) {
                    num[v] = low[v] = counter++;
                    stack.push_back(v);
                    onStack[v] = 1;
                    call.push_back({ v, groupBegin[v] });
                } else if (onStack[v]) {
                    low[u] = std::min(low[u], num[v]);
                }
                continue;
            }
            uint32_t done = u;
            call.pop_back();
            if (!call.empty())
                low[call.back().first] = std::min(low[call.back().first], low[done]);
            if (low[done] == num[done]) {
                uint32_t c = uint32_t(compSize.size()), size = 0, w;
                do {
                    w = stack.back();
                    stack.pop_back();
                    onStack[w] = 0;
                    comp[w] = c;
                    size++;
                } while (w != done);
                compSize.push_back(size);
            }
        }
    }

    // A pattern's site is the call of the lock function (the innermost frame), not the whole path:
    // transfer() called from two places is one bug, reported once with both as examples.
    std::vector<uint32_t> siteCode(2 * m_edges.size());
    {
        std::map<uint64_t, uint32_t> codes; // innermost pc, or the stack id where none is known
        auto codeOf = [&](uint32_t stack) {
            const StackTrace* st = stack ? m_model->trace().stack(stack) : nullptr;
            uint64_t key = st && !st->frames.empty() ? st->frames[0] : (uint64_t(1) << 63 | stack);
            return codes.try_emplace(key, uint32_t(codes.size())).first->second;
        };
        for (size_t e = 0; e < m_edges.size(); e++) {
            siteCode[2 * e] = codeOf(m_state[e].fromSite);
            siteCode[2 * e + 1] = codeOf(m_state[e].toSite);
        }
    }
    std::map<std::pair<bool, std::vector<uint64_t>>, size_t> patternIndex;
    std::vector<Pattern> patterns;
    std::set<std::vector<uint32_t>> deadlockCycles; // object sets of multi-thread cycles
    std::vector<uint8_t> onCycle(m_edges.size(), 0);
    auto record = [&](const std::vector<uint32_t>& path, bool oneThread) {
        std::vector<uint32_t> objs;
        for (uint32_t e : path)
            objs.push_back(m_edges[e].from);
        std::sort(objs.begin(), objs.end());
        if (oneThread && deadlockCycles.count(objs))
            return; // the same locks already make a potential deadlock: the note would repeat it
        if (!oneThread)
            deadlockCycles.insert(objs);
        // The pattern is the cycle of acquire sites, from its least rotation: who and which
        // instance of the locks does not matter.
        size_t n = path.size(), best = 0;
        auto site = [&](size_t i) {
            const uint32_t e = path[i % n];
            return (uint64_t(siteCode[2 * e]) << 32) | siteCode[2 * e + 1];
        };
        for (size_t r = 1; r < n; r++)
            for (size_t i = 0; i < n; i++)
                if (site(r + i) != site(best + i)) {
                    if (site(r + i) < site(best + i))
                        best = r;
                    break;
                }
        std::vector<uint64_t> key(n);
        std::vector<uint32_t> rotated(n);
        for (size_t i = 0; i < n; i++) {
            key[i] = site(best + i);
            rotated[i] = path[(best + i) % n];
            onCycle[path[i]] = 1;
        }
        auto [it, fresh] = patternIndex.try_emplace({ oneThread, key }, patterns.size());
        if (fresh) {
            patterns.emplace_back();
            patterns.back().oneThread = oneThread;
        }
        Pattern& p = patterns[it->second];
        p.instances++;
        if (p.examples.size() < kExamplesPerPattern)
            p.examples.push_back(std::move(rotated));
    };

    CycleSearch search(*this, order, groups, groupBegin, comp, objectCount);
    uint64_t steps = 0;
    // All potential deadlocks first, so one-thread notes over the same locks are recognized.
    for (bool oneThread : { false, true })
        for (uint32_t root = 0; root < objectCount && !search.capped(); root++)
            if (comp[root] != kNone && compSize[comp[root]] > 1)
                search.run(root, oneThread, steps, [&](const std::vector<uint32_t>& path) { record(path, oneThread); });
    m_searchCapped = search.capped();

    for (const Pattern& p : patterns)
        if (!p.oneThread)
            m_findings.push_back(makeFinding(p));
    for (const Pattern& p : patterns)
        if (p.oneThread)
            m_findings.push_back(makeFinding(p));
    for (size_t i = 0; i < onCycle.size(); i++)
        if (onCycle[i])
            m_cycleEdges.push_back(i);
}

Finding LockOrderGraph::makeFinding(const Pattern& p) const
{
    Finding f;
    f.kind = p.oneThread ? "lock-order-inversion" : "potential-deadlock";
    f.certainty = Verdict::None;
    f.instances = p.instances;
    std::vector<size_t> objectAt; // object index -> index in f.objects (+1), 0 absent
    auto objectRef = [&](uint32_t o) {
        if (o >= objectAt.size())
            objectAt.resize(o + 1, 0);
        if (!objectAt[o]) {
            // The model's tracker saw the same events in the same order: its indices are ours.
            static const ObjectRecord unknown;
            const ObjectRecord& r = o < m_model->objects().size() ? m_model->objects()[o] : unknown;
            FindingObject fo;
            fo.id = fmt::format("o{:x}.{}", r.address, r.generation);
            fo.address = r.address;
            fo.generation = r.generation;
            fo.kind = r.kind;
            f.objects.push_back(std::move(fo));
            objectAt[o] = f.objects.size();
        }
        return objectAt[o] - 1;
    };
    // The cycles' locks first, in cycle order, then what was held beside them.
    for (const std::vector<uint32_t>& ex : p.examples)
        for (uint32_t e : ex)
            objectRef(m_edges[e].from);
    auto edgesOf = [&](const std::vector<uint32_t>& ex) {
        std::vector<FindingEdge> out;
        for (uint32_t e : ex) {
            const LockOrderEdge& x = m_edges[e];
            FindingEdge fe;
            fe.from = objectRef(x.from);
            fe.to = objectRef(x.to);
            fe.thread = x.thread;
            fe.fromStack = x.fromStack;
            fe.toStack = x.toStack;
            fe.timeNs = x.timeNs;
            for (uint32_t h : x.held)
                fe.held.push_back(objectRef(h));
            // A send blocks until a receiver comes (it needs a Recv); a receive until a sender does.
            if (x.toRole != ChanRole::None)
                fe.toOp = x.toRole == ChanRole::Recv ? "send" : "receive";
            if (x.fromRole != ChanRole::None)
                fe.fromOp = x.fromRole == ChanRole::Recv ? "receive" : "send";
            out.push_back(std::move(fe));
        }
        return out;
    };
    f.edges = edgesOf(p.examples[0]);
    for (size_t i = 1; i < p.examples.size(); i++)
        f.moreExamples.push_back(edgesOf(p.examples[i]));
    for (const FindingEdge& e : f.edges) {
        f.timeNs = std::max(f.timeNs, e.timeNs);
        if (std::any_of(f.threads.begin(), f.threads.end(), [&](const FindingThread& t) { return t.id == e.thread; }))
            continue;
        FindingThread t;
        t.id = e.thread;
        if (const ModelThread* mt = m_model->thread(e.thread)) {
            t.osTid = mt->osTid;
            t.pid = mt->pid;
            t.name = mt->name;
        }
        f.threads.push_back(std::move(t));
    }

    const size_t n = f.edges.size();
    bool mixed = std::any_of(f.edges.begin(), f.edges.end(), [](const FindingEdge& e) { return !e.toOp.empty(); });
    if (mixed && !p.oneThread) {
        f.title = "lock held across a blocking channel operation whose other side needs that lock (could deadlock)";
        f.notes.push_back("this run did not deadlock, but the thread that would serve the channel requests the lock "
                          "before it does, and nothing orders the two (no message, create/join or signal between "
                          "them): another schedule leaves both waiting for good");
    } else if (p.oneThread) {
        const FindingThread& t = f.threads[0];
        std::string who = t.name.empty() ? fmt::format("T{}", t.id) : fmt::format("T{} \"{}\"", t.id, t.name);
        f.title = n == 2 ? fmt::format("lock order inversion in one thread: {} takes 2 locks in both orders", who)
                         : fmt::format("lock order inversion in one thread: {} takes {} locks in a circle", who, n);
        f.notes.push_back("every edge of this cycle comes from one thread, so this run could not deadlock on it; "
                          "two threads running these paths at once could");
    } else {
        f.title = n == 2
            ? std::string("lock order inversion: 2 locks taken in opposite orders by 2 threads (could deadlock)")
            : fmt::format("lock cycle: {} locks taken in circular order by {} threads (could deadlock)", n, n);
        f.notes.push_back("this run did not deadlock, but nothing orders these critical sections (no common lock, "
                          "create/join, signal or barrier between them): another schedule can");
    }
    if (p.instances > 1)
        f.notes.push_back(fmt::format("{}{} cycles of this pattern (the same acquire sites) in this run",
                                      m_searchCapped ? "at least " : "", p.instances));
    if (m_searchCapped)
        f.notes.push_back("the cycle search stopped at its bound: counts are lower bounds and some longer "
                          "cycles may be missing");
    return f;
}

} // namespace ravel
