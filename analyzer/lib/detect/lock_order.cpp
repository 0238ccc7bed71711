// Lock-order analysis. One linear pass over the events builds the distinct edges (with the vector
// clock of each segment they occurred in and the locks held at every occurrence:
// lock_order_edges.cpp), then each strongly connected component is searched for cycles whose
// edges could all be waiting at once (distinct threads, pairwise disjoint held locks, pairwise
// unordered segments): every opposite pair in O(edges), then longer cycles shortest first on a
// budget per component. One finding per component (or per components sharing a pattern).
#include "detect/lock_order.hpp"

#include "model/replay_model.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;
constexpr size_t kMaxCycleLength = 128;          // dining philosophers go up to 64
// Edge choices and search-graph visits per component, for cycles longer than 2; and over all
// components. Past a component's share, its count is a lower bound; past the total, later
// components get their opposite pairs checked only.
constexpr uint64_t kComponentSteps = 2'000'000;
constexpr uint64_t kTotalSteps = 32'000'000;
// Once a component has a confirmed cycle, longer ones are looked for only to make the count exact.
constexpr uint64_t kCountingSteps = 65'536;
constexpr uint64_t kPairChecks = 4096;           // combinations of parallel edges per opposite pair
constexpr uint64_t kMaxCycleCount = 1'000'000;   // cycles counted per component ("at least" past it)
constexpr size_t kKeptPerComponent = 64;         // cycles kept per component, the examples' candidates
constexpr size_t kExamplesPerFinding = 4;        // one in `edges`, the rest in `moreExamples`
constexpr size_t kTrackedPatterns = 4096;        // patterns whose locks per position are kept
constexpr size_t kMaxFindings = 64;              // lock-order findings per trace; one line says the rest
constexpr size_t kNamedLocks = 8;                // locks an unconfirmed component's note names

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

// One finding: the components (strongly connected, size > 1) it stands for, the shortest cycles
// found in them (edge indices in cycle order, each rotated to its pattern's least rotation), and
// what the search could say of them.
struct LockOrderGraph::Group {
    bool oneThread = false;
    bool unconfirmed = false;     // cycles exist, none confirmed within the budget
    bool atLeast = false;         // `cycles` is a lower bound
    bool acrossIncomplete = false; // one-thread finding, but the search across threads was cut
    uint64_t cycles = 0;
    uint64_t locks = 0;
    uint64_t lockEdges = 0;       // distinct (from, to) pairs inside the components
    std::vector<std::pair<std::vector<uint32_t>, uint32_t>> kept; // (cycle, pattern or kNone)
    std::vector<std::vector<uint32_t>> examples;
    std::vector<uint32_t> lockSample; // unconfirmed: some of the component's locks
    std::vector<uint64_t> locksAtFirst; // distinct locks per position of examples[0]'s pattern
    uint64_t patterns = 0;
    std::unordered_set<uint32_t> patternIds; // distinct patterns over every cycle counted
};

// Searches the cycles of one strongly connected component at a time, choosing one distinct edge
// per hop. Multi-thread mode: every edge from another thread, pairwise disjoint gates, pairwise
// overlapping segments (a cycle that could really wait). One-thread mode: every edge from one
// thread, disjoint gates (an order the code takes both ways). Each cycle is found once, from its
// lowest object (the root).
class LockOrderGraph::CycleSearch {
public:
    struct Group {
        uint32_t to;
        uint32_t begin, end; // range in `order`
    };

    CycleSearch(const LockOrderGraph& g, const std::vector<uint32_t>& order, const std::vector<Group>& groups,
                const std::vector<uint32_t>& groupBegin, const std::vector<uint32_t>& revBegin,
                const std::vector<uint32_t>& revFrom, const std::vector<uint32_t>& comp, size_t objectCount)
        : m_g(g), m_order(order), m_groups(groups), m_groupBegin(groupBegin), m_revBegin(revBegin), m_revFrom(revFrom)
        , m_comp(comp), m_onPath(objectCount, 0), m_gateCount(objectCount, 0), m_dist(objectCount, kNone)
        , m_usedThread(g.m_threadCount, 0)
    {
    }

    // A new search (one mode of one component) with `budget` steps for cycles longer than 2.
    void begin(bool oneThread, uint64_t budget)
    {
        m_oneThread = oneThread;
        m_budget = budget;
        m_steps = 0;
        m_exhausted = m_stopped = m_pairsCut = false;
    }
    uint64_t steps() const { return m_steps; }
    bool exhausted() const { return m_exhausted; } // the budget ran out before the search ended
    bool stopped() const { return m_stopped; }     // the caller had counted enough
    bool pairsCut() const { return m_pairsCut; }   // some opposite pair had too many parallel edges

    // Every opposite pair u -> v, v -> u (u < v) of the component of `nodes` (ascending): O(edges)
    // with the groups sorted by (from, to). found(path) returns false to stop.
    template <typename Found>
    void pairs(const std::vector<uint32_t>& nodes, Found& found)
    {
        for (uint32_t u : nodes)
            for (uint32_t gi = m_groupBegin[u]; gi < m_groupBegin[u + 1] && !m_stopped; gi++) {
                const Group& g = m_groups[gi];
                const uint32_t v = g.to;
                if (v <= u || m_comp[v] != m_comp[u])
                    continue;
                auto first = m_groups.begin() + m_groupBegin[v], last = m_groups.begin() + m_groupBegin[v + 1];
                auto back = std::lower_bound(first, last, u, [](const Group& x, uint32_t to) { return x.to < to; });
                if (back == last || back->to != u)
                    continue;
                uint64_t tried = 0;
                for (uint32_t k = g.begin; k < g.end && !m_stopped; k++) {
                    const uint32_t e1 = m_order[k];
                    push(e1);
                    for (uint32_t k2 = back->begin; k2 < back->end; k2++) {
                        if (++tried > kPairChecks) {
                            m_pairsCut = true;
                            break;
                        }
                        const uint32_t e2 = m_order[k2];
                        if (!fits(e2) || !hopOk(e2, e1))
                            continue;
                        push(e2);
                        bool more = found(m_path);
                        pop();
                        if (!more) {
                            m_stopped = true;
                            break;
                        }
                    }
                    pop();
                    if (tried > kPairChecks)
                        break;
                }
            }
    }

    // Cycles of 3 to maxLen edges, per root the shortest first (iterative deepening, pruned by
    // each object's distance back to the root).
    template <typename Found>
    void longer(const std::vector<uint32_t>& nodes, size_t maxLen, Found& found)
    {
        if (maxLen < 3)
            return;
        std::vector<uint32_t> reached;
        for (uint32_t root : nodes) {
            if (m_stopped)
                return;
            // Distances to the root over objects >= root of this component (reverse BFS).
            m_root = root;
            reached.clear();
            reached.push_back(root);
            m_dist[root] = 0;
            for (size_t i = 0; i < reached.size() && !m_stopped; i++) {
                const uint32_t x = reached[i];
                if (m_dist[x] + 1 >= maxLen)
                    continue;
                for (uint32_t r = m_revBegin[x]; r < m_revBegin[x + 1]; r++) {
                    if (!step())
                        break;
                    const uint32_t p = m_revFrom[r];
                    if (p < root || m_comp[p] != m_comp[root] || m_dist[p] != kNone)
                        continue;
                    m_dist[p] = m_dist[x] + 1;
                    reached.push_back(p);
                }
            }
            size_t shortest = kNone;
            for (uint32_t gi = m_groupBegin[root]; gi < m_groupBegin[root + 1]; gi++) {
                const uint32_t v = m_groups[gi].to;
                if (v > root && m_comp[v] == m_comp[root] && m_dist[v] != kNone)
                    shortest = std::min<size_t>(shortest, m_dist[v] + 1);
            }
            for (size_t len = std::max<size_t>(3, shortest); shortest != kNone && len <= maxLen && !m_stopped; len++) {
                m_len = len;
                dfs(root, found);
            }
            for (uint32_t x : reached)
                m_dist[x] = kNone;
        }
    }

private:
    bool step()
    {
        if (++m_steps <= m_budget)
            return true;
        m_exhausted = m_stopped = true;
        return false;
    }
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
        for (uint32_t g : m_g.gatesOf(s))
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
        for (uint32_t g : m_g.gatesOf(s))
            m_gateCount[g]++;
        m_usedThread[s.threadIndex]++;
    }
    void pop()
    {
        const EdgeState& s = m_g.m_state[m_path.back()];
        for (uint32_t g : m_g.gatesOf(s))
            m_gateCount[g]--;
        m_usedThread[s.threadIndex]--;
        m_path.pop_back();
    }
    // Paths from the root that can still close within m_len edges; closes at exactly m_len (the
    // shorter ones were found by the earlier rounds).
    template <typename Found>
    void dfs(uint32_t u, Found& found)
    {
        const size_t depth = m_path.size() + 1; // edges once this hop is taken
        for (uint32_t gi = m_groupBegin[u]; gi < m_groupBegin[u + 1]; gi++) {
            const Group& g = m_groups[gi];
            const uint32_t v = g.to;
            if (v == m_root) {
                if (depth != m_len)
                    continue;
            } else if (v < m_root || m_comp[v] != m_comp[m_root] || m_onPath[v] || m_dist[v] == kNone
                       || depth + m_dist[v] > m_len) {
                continue;
            }
            for (uint32_t k = g.begin; k < g.end; k++) {
                if (!step())
                    return;
                const uint32_t e = m_order[k];
                if (!fits(e))
                    continue;
                push(e);
                if (v == m_root) {
                    if (hopOk(e, m_path[0]) && !found(m_path))
                        m_stopped = true;
                } else {
                    m_onPath[v] = 1;
                    dfs(v, found);
                    m_onPath[v] = 0;
                }
                pop();
                if (m_stopped)
                    return;
            }
        }
    }

    const LockOrderGraph& m_g;
    const std::vector<uint32_t>& m_order;
    const std::vector<Group>& m_groups;
    const std::vector<uint32_t>& m_groupBegin; // per object, first group; objectCount + 1 entries
    const std::vector<uint32_t>& m_revBegin;   // per object, first predecessor in m_revFrom
    const std::vector<uint32_t>& m_revFrom;
    const std::vector<uint32_t>& m_comp;
    std::vector<uint8_t> m_onPath;
    std::vector<uint32_t> m_gateCount;
    std::vector<uint32_t> m_dist;
    std::vector<uint32_t> m_usedThread;
    std::vector<uint32_t> m_path;
    uint32_t m_root = 0;
    size_t m_len = 0;
    bool m_oneThread = false;
    uint64_t m_budget = 0, m_steps = 0;
    bool m_exhausted = false, m_stopped = false, m_pairsCut = false;
};

void LockOrderGraph::findCycles()
{
    if (m_edges.empty())
        return;
    size_t objectCount = m_model->objects().size();
    for (const LockOrderEdge& e : m_edges)
        objectCount = std::max<size_t>(objectCount, std::max(e.from, e.to) + 1);

    // Edges sorted by (from, to, index): each run of one (from, to) is a group, the parallel
    // choices of a hop. Counted by `from` (a trace of short-lived locks has an edge per pair of
    // them: no comparison sort of them all), then each lock's few edges sorted by `to`.
    std::vector<uint32_t> order(m_edges.size());
    {
        std::vector<uint32_t> at(objectCount + 1, 0);
        for (const LockOrderEdge& e : m_edges)
            at[e.from + 1]++;
        for (size_t i = 0; i < objectCount; i++)
            at[i + 1] += at[i];
        std::vector<uint32_t> fill(at.begin(), at.end() - 1);
        for (uint32_t i = 0; i < m_edges.size(); i++)
            order[fill[m_edges[i].from]++] = i;
        for (size_t u = 0; u < objectCount; u++)
            if (at[u + 1] - at[u] > 1)
                std::sort(order.begin() + at[u], order.begin() + at[u + 1], [&](uint32_t a, uint32_t b) {
                    return m_edges[a].to != m_edges[b].to ? m_edges[a].to < m_edges[b].to : a < b;
                });
    }
    std::vector<CycleSearch::Group> groups;
    std::vector<uint32_t> groupBegin(objectCount + 1, 0), revBegin(objectCount + 1, 0);
    for (uint32_t k = 0; k < order.size();) {
        uint32_t from = m_edges[order[k]].from, to = m_edges[order[k]].to, end = k;
        while (end < order.size() && m_edges[order[end]].from == from && m_edges[order[end]].to == to)
            end++;
        groups.push_back({ to, k, end });
        groupBegin[from + 1]++;
        revBegin[to + 1]++;
        k = end;
    }
    for (size_t i = 0; i < objectCount; i++) {
        groupBegin[i + 1] += groupBegin[i];
        revBegin[i + 1] += revBegin[i];
    }
    // Predecessors per object (one per group), for the distances back to a root.
    std::vector<uint32_t> revFrom(groups.size());
    {
        std::vector<uint32_t> fill(revBegin.begin(), revBegin.end() - 1);
        for (uint32_t u = 0; u < objectCount; u++)
            for (uint32_t gi = groupBegin[u]; gi < groupBegin[u + 1]; gi++)
                revFrom[fill[groups[gi].to]++] = u;
    }

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
    // The components that can hold a cycle (numbered apart: a trace of short-lived locks has
    // hundreds of thousands of one-lock components), each with its objects ascending (the roots'
    // order).
    std::vector<uint32_t> bigOf(compSize.size(), kNone);
    std::vector<std::vector<uint32_t>> compNodes;
    for (uint32_t o = 0; o < objectCount; o++)
        if (comp[o] != kNone && compSize[comp[o]] > 1) {
            if (bigOf[comp[o]] == kNone) {
                bigOf[comp[o]] = uint32_t(compNodes.size());
                compNodes.emplace_back();
            }
            compNodes[bigOf[comp[o]]].push_back(o);
        }

    // A pattern's site is the call of the lock function (the innermost frame), not the whole path:
    // transfer() called from two places is one bug, reported once with both as examples.
    std::vector<uint32_t> siteCode(2 * m_edges.size());
    {
        std::unordered_map<uint64_t, uint32_t> codes; // innermost pc, or the stack id where none is known
        auto codeOf = [&](uint32_t stack) {
            const StackTrace* st = stack ? m_model->trace().stack(stack) : nullptr;
            uint64_t key = st && !st->frames.empty() ? st->frames[0] : (uint64_t(1) << 63 | stack);
            return codes.try_emplace(key, uint32_t(codes.size())).first->second;
        };
        for (size_t e = 0; e < m_edges.size(); e++) {
            const uint32_t c = comp[m_edges[e].from];
            if (c == kNone || compSize[c] < 2 || comp[m_edges[e].to] != c)
                continue; // on no cycle: no pattern to key (most edges of a trace of short-lived locks)
            siteCode[2 * e] = codeOf(m_state[e].fromSite);
            siteCode[2 * e + 1] = codeOf(m_state[e].toSite);
        }
    }

    // Patterns (a cycle of acquire sites from its least rotation, and the mode) join components:
    // one function called on two pairs of locks is one bug, not two.
    struct PatternStats {
        uint32_t firstComp = 0;
        uint64_t count = 0;
        std::vector<std::unordered_set<uint32_t>> locksAt; // the distinct locks at each position
    };
    std::map<std::pair<bool, std::vector<uint64_t>>, uint32_t> patternIndex;
    std::vector<PatternStats> patterns;
    std::vector<uint32_t> parent(compNodes.size());
    for (uint32_t c = 0; c < parent.size(); c++)
        parent[c] = c;
    auto findRoot = [&](uint32_t c) {
        while (parent[c] != c)
            c = parent[c] = parent[parent[c]];
        return c;
    };

    struct CompResult {
        bool oneThread = false, unconfirmed = false, atLeast = false, acrossIncomplete = false;
        uint64_t cycles = 0, lockEdges = 0;
        std::vector<std::pair<std::vector<uint32_t>, uint32_t>> kept;
        std::unordered_set<uint32_t> patternIds; // kNone: some pattern past kTrackedPatterns
    };
    std::vector<CompResult> results(compNodes.size());
    std::vector<uint32_t> threadSeen(m_threadCount, kNone);
    CycleSearch search(*this, order, groups, groupBegin, revBegin, revFrom, comp, objectCount);
    uint64_t totalSteps = 0;
    std::vector<uint32_t> rotated;
    for (uint32_t c = 0; c < compNodes.size(); c++) {
        const std::vector<uint32_t>& nodes = compNodes[c];
        const uint32_t graphComp = comp[nodes[0]];
        CompResult& res = results[c];
        size_t threads = 0;
        for (uint32_t u : nodes)
            for (uint32_t gi = groupBegin[u]; gi < groupBegin[u + 1]; gi++) {
                if (comp[groups[gi].to] != graphComp)
                    continue;
                res.lockEdges++;
                for (uint32_t k = groups[gi].begin; k < groups[gi].end; k++) {
                    uint32_t t = m_state[order[k]].threadIndex;
                    if (threadSeen[t] != c) {
                        threadSeen[t] = c;
                        threads++;
                    }
                }
            }
        bool oneThread = false;
        auto found = [&](const std::vector<uint32_t>& path) {
            res.cycles++;
            // The pattern is the cycle of acquire sites, from its least rotation: who and which
            // instance of the locks does not matter.
            const size_t n = path.size();
            size_t best = 0;
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
            rotated.resize(n);
            for (size_t i = 0; i < n; i++) {
                key[i] = site(best + i);
                rotated[i] = path[(best + i) % n];
            }
            uint32_t pi = kNone;
            auto it = patternIndex.find({ oneThread, key });
            if (it != patternIndex.end()) {
                pi = it->second;
            } else if (patterns.size() < kTrackedPatterns) {
                pi = uint32_t(patterns.size());
                patternIndex.emplace(std::make_pair(oneThread, std::move(key)), pi);
                patterns.push_back({ c, 0, std::vector<std::unordered_set<uint32_t>>(n) });
            }
            if (pi != kNone) {
                PatternStats& p = patterns[pi];
                p.count++;
                for (size_t i = 0; i < n; i++)
                    p.locksAt[i].insert(m_edges[rotated[i]].from);
                uint32_t a = findRoot(p.firstComp), b = findRoot(c);
                if (a != b)
                    parent[std::max(a, b)] = std::min(a, b);
            }
            res.patternIds.insert(pi);
            if (res.kept.size() < kKeptPerComponent)
                res.kept.emplace_back(rotated, pi);
            return res.cycles < kMaxCycleCount;
        };
        // Across threads first (a potential deadlock), then within one thread (a note): the
        // shortest cycles of the first mode that has any.
        bool incomplete = false;
        for (bool mode : { false, true }) {
            oneThread = mode;
            const uint64_t left = kTotalSteps - std::min(kTotalSteps, totalSteps);
            search.begin(mode, std::min(kComponentSteps, left));
            search.pairs(nodes, found);
            // A cycle across threads passes each thread once: no longer than the threads it has.
            const size_t maxLen = mode ? kMaxCycleLength : std::min(kMaxCycleLength, threads);
            const bool confirmed = res.cycles > 0;
            if (confirmed) // longer cycles only for the count, on a small budget
                search.begin(mode, std::min(kCountingSteps, left));
            search.longer(nodes, maxLen, found);
            totalSteps += search.steps();
            // Cycles longer than the bound were not searched; across threads they cannot wait.
            const bool cut = search.exhausted() || search.pairsCut() || (mode && nodes.size() > maxLen);
            if (res.cycles > 0) {
                res.oneThread = mode;
                res.atLeast = cut || search.stopped();
                break;
            }
            incomplete = incomplete || cut;
            if (!mode)
                res.acrossIncomplete = cut;
        }
        res.unconfirmed = res.cycles == 0 && incomplete;
    }

    // One finding per set of joined components.
    std::map<uint32_t, size_t> groupOf; // root component -> index in `found`
    std::vector<Group> found;
    for (uint32_t c = 0; c < compNodes.size(); c++) {
        CompResult& res = results[c];
        if (res.cycles == 0 && !res.unconfirmed)
            continue;
        const uint32_t root = res.cycles ? findRoot(c) : c;
        auto [it, fresh] = groupOf.try_emplace(root, found.size());
        if (fresh) {
            found.emplace_back();
            found.back().oneThread = res.oneThread;
            found.back().unconfirmed = res.unconfirmed;
        }
        Group& g = found[it->second];
        g.cycles += res.cycles;
        g.locks += compNodes[c].size();
        g.lockEdges += res.lockEdges;
        g.atLeast = g.atLeast || res.atLeast;
        g.acrossIncomplete = g.acrossIncomplete || res.acrossIncomplete;
        for (auto& k : res.kept)
            g.kept.push_back(std::move(k));
        g.patternIds.insert(res.patternIds.begin(), res.patternIds.end());
        if (res.unconfirmed)
            for (size_t i = 0; i < compNodes[c].size() && i < kNamedLocks; i++)
                g.lockSample.push_back(compNodes[c][i]);
    }
    std::vector<uint8_t> onCycle(m_edges.size(), 0);
    for (Group& g : found) {
        // The shortest cycles as examples, one per pattern first, then the next shortest.
        std::stable_sort(g.kept.begin(), g.kept.end(),
                         [](const auto& a, const auto& b) { return a.first.size() < b.first.size(); });
        std::set<uint32_t> seen;
        std::vector<uint8_t> chosen(g.kept.size(), 0);
        for (size_t i = 0; i < g.kept.size() && g.examples.size() < kExamplesPerFinding; i++)
            if (g.kept[i].second == kNone || seen.insert(g.kept[i].second).second) {
                chosen[i] = 1;
                g.examples.push_back(g.kept[i].first);
            }
        for (size_t i = 0; i < g.kept.size() && g.examples.size() < kExamplesPerFinding; i++)
            if (!chosen[i])
                g.examples.push_back(g.kept[i].first);
        for (const auto& k : g.kept) {
            for (uint32_t e : k.first)
                onCycle[e] = 1;
        }
        // Past kTrackedPatterns, patterns are not told apart (kNone): the count is a lower bound.
        g.patterns = g.patternIds.size() - g.patternIds.count(kNone);
        if (!g.kept.empty() && g.kept[0].second != kNone)
            for (const auto& s : patterns[g.kept[0].second].locksAt)
                g.locksAtFirst.push_back(std::max<uint64_t>(1, s.size()));
    }
    // Potential deadlocks first, shortest cycle first; then one-thread notes; then the unconfirmed.
    auto rankOf = [](const Group& g) { return g.unconfirmed ? 2 : g.oneThread ? 1 : 0; };
    std::stable_sort(found.begin(), found.end(), [&](const Group& a, const Group& b) {
        if (rankOf(a) != rankOf(b))
            return rankOf(a) < rankOf(b);
        size_t la = a.examples.empty() ? kNone : a.examples[0].size(), lb = b.examples.empty() ? kNone : b.examples[0].size();
        return la < lb;
    });
    const size_t total = found.size();
    for (size_t i = 0; i < total && i < kMaxFindings; i++)
        m_findings.push_back(found[i].unconfirmed ? unconfirmedFinding(found[i]) : makeFinding(found[i]));
    if (total > kMaxFindings)
        m_findings.front().notes.push_back(
            fmt::format("the trace has {} lock-order findings (one per strongly connected component of the lock "
                        "graph): only the first {} are reported",
                        total, kMaxFindings));
    for (size_t i = 0; i < onCycle.size(); i++)
        if (onCycle[i])
            m_cycleEdges.push_back(i);
}

namespace {

// "2 locks", "1 lock".
std::string count(uint64_t n, const char* one, const char* many) { return fmt::format("{} {}", n, n == 1 ? one : many); }

FindingObject findingObject(const ReplayModel& model, uint32_t o)
{
    // The model's tracker saw the same events in the same order: its indices are ours.
    static const ObjectRecord unknown;
    const ObjectRecord& r = o < model.objects().size() ? model.objects()[o] : unknown;
    FindingObject fo;
    fo.id = fmt::format("o{:x}.{}", r.address, r.generation);
    fo.address = r.address;
    fo.generation = r.generation;
    fo.kind = r.kind;
    return fo;
}

} // namespace

Finding LockOrderGraph::makeFinding(const Group& g) const
{
    Finding f;
    f.kind = g.oneThread ? "lock-order-inversion" : "potential-deadlock";
    f.certainty = Verdict::None;
    f.instances = g.cycles;
    f.instancesAtLeast = g.atLeast;
    f.componentLocks = g.locks;
    f.componentEdges = g.lockEdges;
    f.patterns = g.patterns;
    std::vector<size_t> objectAt; // object index -> index in f.objects (+1), 0 absent
    auto objectRef = [&](uint32_t o) {
        if (o >= objectAt.size())
            objectAt.resize(o + 1, 0);
        if (!objectAt[o]) {
            f.objects.push_back(findingObject(*m_model, o));
            objectAt[o] = f.objects.size();
        }
        return objectAt[o] - 1;
    };
    // The cycles' locks first, in cycle order, then what was held beside them.
    for (const std::vector<uint32_t>& ex : g.examples)
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
            for (uint32_t h : held(e))
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
    f.edges = edgesOf(g.examples[0]);
    for (size_t i = 0; i < f.edges.size() && i < g.locksAtFirst.size(); i++)
        f.edges[i].fromLocks = g.locksAtFirst[i];
    for (size_t i = 1; i < g.examples.size(); i++)
        f.moreExamples.push_back(edgesOf(g.examples[i]));
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
    if (mixed && !g.oneThread) {
        f.title = "lock held across a blocking channel operation whose other side needs that lock (could deadlock)";
        f.notes.push_back("this run did not deadlock, but the thread that would serve the channel requests the lock "
                          "before it does, and nothing orders the two (no message, create/join or signal between "
                          "them): another schedule leaves both waiting for good");
    } else if (g.oneThread) {
        const FindingThread& t = f.threads[0];
        std::string who = t.name.empty() ? fmt::format("T{}", t.id) : fmt::format("T{} \"{}\"", t.id, t.name);
        f.title = n == 2 ? fmt::format("lock order inversion in one thread: {} takes 2 locks in both orders", who)
                         : fmt::format("lock order inversion in one thread: {} takes {} locks in a circle", who, n);
        f.notes.push_back("every edge of this cycle comes from one thread, so this run could not deadlock on it; "
                          "two threads running these paths at once could");
        if (g.acrossIncomplete)
            f.notes.push_back("the search for a cycle across threads in these locks stopped at its budget: one may "
                              "exist that was not confirmed");
    } else {
        f.title = n == 2
            ? std::string("lock order inversion: 2 locks taken in opposite orders by 2 threads (could deadlock)")
            : fmt::format("lock cycle: {} locks taken in circular order by {} threads (could deadlock)", n, n);
        f.notes.push_back("this run did not deadlock, but nothing orders these critical sections (no common lock, "
                          "create/join, signal or barrier between them): another schedule can");
    }
    if (g.atLeast)
        f.notes.push_back(fmt::format("the cycle search stopped at its budget in this component of {} and {}: at "
                                      "least {} found, the shortest shown; longer ones may be missing",
                                      count(g.locks, "lock", "locks"), count(g.lockEdges, "edge", "edges"),
                                      count(g.cycles, "cycle", "cycles")));
    return f;
}

// Cycles exist among these locks (they are strongly connected) but none was confirmed: the budget
// ran out, or the only cycles are longer than the search goes. Said, not left silent.
Finding LockOrderGraph::unconfirmedFinding(const Group& g) const
{
    Finding f;
    f.kind = "lock-order-inversion";
    f.certainty = Verdict::None;
    f.componentLocks = g.locks;
    f.componentEdges = g.lockEdges;
    f.instancesAtLeast = true;
    for (uint32_t o : g.lockSample)
        f.objects.push_back(findingObject(*m_model, o));
    f.title = fmt::format("lock-order cycles among {} that could not be confirmed within the search budget",
                          count(g.locks, "lock", "locks"));
    f.notes.push_back(fmt::format(
        "these {} and {} lock-order edges form a strongly connected component, so they contain cycles, but every "
        "cycle checked failed the rules of a deadlock (distinct threads, no common gate lock, not ordered) before "
        "the search stopped at its budget or at {} locks per cycle: a real one may be among those not checked",
        count(g.locks, "lock", "locks"), g.lockEdges, kMaxCycleLength));
    if (g.locks > f.objects.size())
        f.notes.push_back(fmt::format("{} of its locks are listed", f.objects.size()));
    return f;
}

} // namespace ravel
