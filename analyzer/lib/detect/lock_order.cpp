// Lock-order analysis. One linear pass over the events builds the distinct edges (with the vector
// clock of each segment they occurred in and the locks held at every occurrence:
// lock_order_edges.cpp), then cycles are enumerated per strongly connected component over edges
// that could all be waiting at once: distinct threads, pairwise disjoint held locks, pairwise
// unordered segments.
#include "detect/lock_order.hpp"

#include "model/replay_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>
#include <utility>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxCycleLength = 128;     // dining philosophers go up to 64
constexpr uint64_t kSearchSteps = 4'000'000; // edge choices tried over the whole enumeration
constexpr size_t kExamplesPerPattern = 4;   // one in `edges`, the rest in `moreExamples`
// Distinct cycle patterns kept. Each holds a set of locks per position: one thread nesting 45 locks
// in rotating orders made millions of patterns and took 23 GB before it was killed. Past the cap,
// cycles still count toward the patterns already kept, and each finding says the list was cut.
constexpr size_t kMaxPatterns = 64;

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
    for (size_t i = 0; i < m_edges.size(); i++)
        m_edges[i].count = std::max<uint64_t>(1, m_state[i].count);
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
    // The distinct locks each position of the cycle took over all instances: 64 bucket locks
    // against one global lock is one pattern, 64 locks at one position and 1 at the other.
    std::vector<std::unordered_set<uint32_t>> locksAt;
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
        auto found = patternIndex.find({ oneThread, key });
        if (found == patternIndex.end() && patterns.size() >= kMaxPatterns) {
            m_patternsCapped = true;
            return;
        }
        auto [it, fresh] = patternIndex.try_emplace({ oneThread, key }, patterns.size());
        if (fresh) {
            patterns.emplace_back();
            patterns.back().oneThread = oneThread;
        }
        Pattern& p = patterns[it->second];
        p.instances++;
        p.locksAt.resize(n);
        for (size_t i = 0; i < n; i++)
            p.locksAt[i].insert(m_edges[rotated[i]].from);
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
    for (size_t i = 0; i < f.edges.size() && i < p.locksAt.size(); i++)
        f.edges[i].fromLocks = std::max<uint64_t>(1, p.locksAt[i].size());
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
    if (m_patternsCapped)
        f.notes.push_back(fmt::format("the trace has more lock-order patterns than the {} reported: the others "
                                      "are not listed",
                                      kMaxPatterns));
    if (m_searchCapped)
        f.notes.push_back("the cycle search stopped at its bound: counts are lower bounds and some longer "
                          "cycles may be missing");
    return f;
}

} // namespace ravel
