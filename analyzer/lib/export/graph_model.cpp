#include "export/graph_model.hpp"

#include "detect/live_trace.hpp"
#include "detect/lock_order.hpp"
#include "base/lock_class.hpp"
#include "model/objects.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"
#include "base/trace_time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace ravel {

size_t GraphModel::find(const std::string& id) const
{
    for (size_t i = 0; i < nodes.size(); i++)
        if (nodes[i].id == id)
            return i;
    return SIZE_MAX;
}

size_t GraphModel::deadlockedNodes() const
{
    return size_t(std::count_if(nodes.begin(), nodes.end(), [](const GraphNode& n) { return n.deadlocked; }));
}

size_t GraphModel::cycleNodes() const
{
    return size_t(std::count_if(nodes.begin(), nodes.end(), [](const GraphNode& n) { return n.onCycle; }));
}

std::string graphThreadLabel(uint32_t id, const std::string& name)
{
    return name.empty() ? fmt::format("T{}", id) : fmt::format("T{} {}", id, name);
}

std::string PlainNaming::objectName(uint32_t objectIndex)
{
    if (objectIndex >= m_model.objects().size())
        return fmt::format("object #{}", objectIndex);
    const ObjectRecord& o = m_model.objects()[objectIndex];
    return o.generation ? fmt::format("0x{:x} #{}", o.address, o.generation + 1) : fmt::format("0x{:x}", o.address);
}

struct SymbolizedNaming::Impl {
    const ReplayModel& model;
    Symbolizer& sym;
    ObjectNamer namer;
    uint32_t named = 0; // ObjectNamer numbers clashes in index order: objects below this are named
    std::vector<std::string> names;
    std::unordered_map<uint32_t, std::string> sites;
};

SymbolizedNaming::SymbolizedNaming(const ReplayModel& model, Symbolizer& sym)
    : m_impl(new Impl { model, sym, ObjectNamer(sym, model.trace()), 0, {}, {} })
{
}

SymbolizedNaming::~SymbolizedNaming() = default;

std::string SymbolizedNaming::objectName(uint32_t objectIndex)
{
    const auto& objects = m_impl->model.objects();
    if (objectIndex >= objects.size())
        return fmt::format("object #{}", objectIndex);
    for (; m_impl->named <= objectIndex; m_impl->named++)
        m_impl->names.push_back(m_impl->namer.name(m_impl->named, objects[m_impl->named]));
    return m_impl->names[objectIndex];
}

std::string SymbolizedNaming::site(uint32_t stack)
{
    if (!stack)
        return {};
    auto it = m_impl->sites.find(stack);
    if (it != m_impl->sites.end())
        return it->second;
    std::string out;
    if (const StackTrace* s = m_impl->model.trace().stack(stackIdOf(stack))) {
        std::vector<Frame> frames = m_impl->sym.symbolizeStack(s->frames);
        if (const Frame* u = Symbolizer::userFrame(frames)) {
            // The file's base name: a graph label has no room for the path, and a report has it.
            std::string where = Symbolizer::site(*u);
            if (size_t slash = where.rfind('/'); slash != std::string::npos)
                where = where.substr(slash + 1);
            out = where.empty() ? u->function : u->function + " " + where;
        }
    }
    m_impl->sites.emplace(stack, out);
    return out;
}

namespace {

// "mutex forks[3]"; names that already say their kind ("mutex at bank.c:42") are left alone.
std::string objectLabel(unsigned kind, const std::string& name)
{
    std::string k(objectKindName(kind));
    if (name.rfind(k + " ", 0) == 0)
        return name;
    return k + " " + name;
}

std::string threadName(const ReplayModel& model, uint32_t id)
{
    const ModelThread* t = model.thread(id);
    // The initial thread is rarely named; "main" says more than a bare "T1".
    std::string name = t ? t->name : std::string();
    if (name.empty() && t && t->parent == 0)
        name = "main";
    return graphThreadLabel(id, name);
}

std::string programLine(const ReplayModel& model)
{
    const TraceSummary& s = model.trace().summary();
    std::string line;
    for (const std::string& a : s.argv)
        line += (line.empty() ? "" : " ") + a;
    if (line.empty())
        line = s.program;
    size_t slash = line.find(' ') == std::string::npos ? line.rfind('/') : line.rfind('/', line.find(' '));
    if (slash != std::string::npos)
        line = line.substr(slash + 1); // the program's own name, not where it was built
    if (line.size() > 60)
        line = line.substr(0, 57) + "...";
    return line;
}

// The thread running at pthread_t `pthread` at t (the target of a join).
uint32_t threadAtPthread(const ReplayModel& model, const ObjectRecord& o, uint64_t t)
{
    if (o.threadId && model.thread(o.threadId))
        return o.threadId;
    for (const ModelThread& mt : model.threads())
        if (mt.pthread == o.address && mt.startNs <= t)
            return mt.id;
    return 0;
}

class WaitForBuilder {
public:
    WaitForBuilder(const ReplayModel& model, GraphNaming& naming, GraphModel& g)
        : m_model(model)
        , m_naming(naming)
        , m_g(g)
    {
    }

    size_t threadNode(uint32_t id, uint64_t t)
    {
        auto it = m_threads.find(id);
        if (it != m_threads.end())
            return it->second;
        GraphNode n;
        n.id = fmt::format("t{}", id);
        n.kind = GraphNodeKind::Thread;
        n.thread = id;
        n.label = threadName(m_model, id);
        if (const ModelThread* mt = m_model.thread(id)) {
            n.exited = mt->exitNs <= t;
            n.tooltip = fmt::format("tid {}, started at {}", mt->osTid, formatTraceTime(mt->startNs));
            if (n.exited) {
                n.label += " (exited)";
                n.tooltip += fmt::format(", exited at {}", formatTraceTime(mt->exitNs));
            }
        }
        m_g.nodes.push_back(std::move(n));
        return m_threads[id] = m_g.nodes.size() - 1;
    }

    size_t objectNode(uint32_t index)
    {
        auto it = m_objects.find(index);
        if (it != m_objects.end())
            return it->second;
        const ObjectRecord& o = m_model.objects()[index];
        GraphNode n;
        n.id = fmt::format("o{}", index);
        n.kind = GraphNodeKind::Object;
        n.object = index;
        n.objectKind = o.kind;
        n.label = objectLabel(o.kind, m_naming.objectName(index));
        n.tooltip = fmt::format("0x{:x}, first used at {}", o.address, formatTraceTime(o.firstNs));
        m_g.nodes.push_back(std::move(n));
        return m_objects[index] = m_g.nodes.size() - 1;
    }

private:
    const ReplayModel& m_model;
    GraphNaming& m_naming;
    GraphModel& m_g;
    std::map<uint32_t, size_t> m_threads;
    std::map<uint32_t, size_t> m_objects;
};

std::string deadlockSummary(const Deadlock& d)
{
    if (d.verdict == Verdict::None)
        return "no deadlock";
    size_t n = d.threads.size(), c = d.cycle.size();
    std::string head = fmt::format("deadlock ({})", verdictName(d.verdict));
    if (c == 0 || c == n)
        return fmt::format("{}: {} thread{}", head, n, n == 1 ? "" : "s");
    return fmt::format("{}: {} threads in a cycle, {} more stuck on it", head, c, n - c);
}

} // namespace

GraphModel waitForGraphAt(const ReplayModel& model, uint64_t t, GraphNaming& naming)
{
    GraphModel g;
    g.kind = GraphKind::WaitFor;
    g.atNs = t;
    std::vector<WaitNode> waitNodes = waitGraphOf(model.snapshotAt(t), &model.channelTable(), t);
    Deadlock d = reduceWaitFor(waitNodes);
    g.verdict = d.verdict;
    auto in = [](const std::vector<uint32_t>& v, uint32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };

    WaitForBuilder b(model, naming, g);
    size_t idle = 0;
    for (const ModelThread& mt : model.threads()) {
        if (mt.startNs > t)
            continue;
        bool exited = mt.exitNs <= t;
        const WaitSpan* w = exited ? nullptr : model.blockedAt(mt.id, t);
        std::vector<const HoldSpan*> holds = model.heldAt(mt.id, t);
        if (!w && holds.empty()) {
            idle += exited ? 0 : 1;
            continue;
        }
        size_t tn = b.threadNode(mt.id, t);
        g.nodes[tn].blocked = w != nullptr;
        g.nodes[tn].deadlocked = in(d.threads, mt.id);
        g.nodes[tn].onCycle = in(d.cycle, mt.id);
        for (const HoldSpan* h : holds) {
            GraphEdge e;
            e.from = b.objectNode(h->object);
            e.to = tn;
            e.kind = GraphEdgeKind::Holds;
            e.shared = h->flags & RAVEL_F_SHARED;
            e.label = e.shared ? "holds (read)" : "holds";
            e.thread = mt.id;
            e.sinceNs = h->start;
            e.tooltip = fmt::format("{} since {}", e.label, formatTraceTime(h->start));
            std::string where = naming.site(h->stack);
            if (!where.empty())
                e.tooltip += ", taken in " + where;
            g.edges.push_back(std::move(e));
        }
        if (w && w->op != ChanOp::None) {
            // A channel operation: an edge to each channel it waits on (a select: every case).
            std::vector<ModelSelectCase> cases;
            for (uint32_t k = 0; k < w->caseCount; k++)
                cases.push_back(model.selectCases()[w->cases + k]);
            if (cases.empty())
                cases.push_back({ w->object, w->op == ChanOp::Send });
            const WaitNode* node = nullptr;
            for (const WaitNode& wn : waitNodes)
                if (wn.thread == mt.id)
                    node = &wn;
            for (const ModelSelectCase& c : cases) {
                GraphEdge e;
                e.from = tn;
                e.to = b.objectNode(c.object);
                // Who may still serve it closes the picture: the channel points at them, as a lock
                // points at its holder. Only those that used this channel in the other role.
                if (node && !(w->flags & (RAVEL_F_TIMED | RAVEL_F_TRY))) {
                    const ChannelInfo* info = model.channelTable().find(model.objects()[c.object].address);
                    const auto* users = info ? (c.send ? &info->receivers : &info->senders) : nullptr;
                    for (uint32_t waker : node->wakers) {
                        bool served = users && users->count(waker);
                        bool creator = info && info->creator == waker;
                        if (!served && !creator)
                            continue;
                        GraphEdge s;
                        s.from = e.to;
                        s.to = b.threadNode(waker, t);
                        s.kind = GraphEdgeKind::Holds;
                        s.label = c.send ? "may receive" : "may send";
                        s.thread = waker;
                        s.tooltip = fmt::format("T{} {} this channel", waker,
                                                served ? (c.send ? "has received from" : "has sent to") : "created");
                        bool dup = false;
                        for (const GraphEdge& x : g.edges)
                            dup = dup || (x.from == s.from && x.to == s.to && x.kind == s.kind);
                        if (!dup)
                            g.edges.push_back(std::move(s));
                    }
                }
                e.kind = GraphEdgeKind::Waits;
                e.thread = mt.id;
                e.sinceNs = w->start;
                e.label = c.send ? "sends" : "receives";
                if (w->op == ChanOp::Select)
                    e.label = c.send ? "select: send" : "select: receive";
                if (w->flags & RAVEL_F_TIMED)
                    e.label += " (timed)";
                e.tooltip = fmt::format("{} since {}", e.label, formatTraceTime(w->start));
                std::string where = naming.site(w->stack);
                if (!where.empty())
                    e.tooltip += ", in " + where;
                g.edges.push_back(std::move(e));
            }
            g.nodes[tn].tooltip += fmt::format("; blocked since {}", formatTraceTime(w->start));
        } else if (w) {
            const ObjectRecord& o = model.objects()[w->object];
            GraphEdge e;
            e.from = tn;
            e.kind = GraphEdgeKind::Waits;
            e.shared = w->flags & RAVEL_F_SHARED;
            e.thread = mt.id;
            e.sinceNs = w->start;
            uint32_t joined = o.kind == RAVEL_OBJ_THREAD ? threadAtPthread(model, o, t) : 0;
            if (joined) {
                e.to = b.threadNode(joined, t);
                e.label = "joins";
            } else {
                e.to = b.objectNode(w->object);
                e.label = e.shared ? "waits (read)" : "waits";
            }
            if (w->flags & RAVEL_F_TIMED)
                e.label += " (timed)";
            e.tooltip = fmt::format("{} since {}", e.label, formatTraceTime(w->start));
            std::string where = naming.site(w->stack);
            if (!where.empty())
                e.tooltip += ", in " + where;
            g.nodes[tn].tooltip += fmt::format("; blocked since {}", formatTraceTime(w->start));
            g.edges.push_back(std::move(e));
        }
    }
    // Channels say how full they are at t ("jobs 8/8"), or that they are unbuffered or closed.
    for (GraphNode& n : g.nodes) {
        if (n.kind != GraphNodeKind::Object || n.objectKind != RAVEL_OBJ_CHAN)
            continue;
        const ModelChannel* c = model.channel(n.object);
        if (!c)
            continue;
        if (c->capacity == 0)
            n.label += " (unbuffered)";
        else if (c->capacity == UINT32_MAX)
            n.label += fmt::format(" {} queued", model.occupancyAt(n.object, t));
        else
            n.label += fmt::format(" {}/{}", model.occupancyAt(n.object, t), c->capacity);
        if (model.closedAt(n.object, t))
            n.label += " closed";
        n.tooltip += fmt::format("; {} message{} so far", c->messages, c->messages == 1 ? "" : "s");
    }
    // A joined thread drawn only as the target of a join is still a thread of the picture.
    for (GraphNode& n : g.nodes)
        if (n.kind == GraphNodeKind::Thread) {
            n.deadlocked = in(d.threads, n.thread);
            n.onCycle = in(d.cycle, n.thread);
        }
    // Objects are in the deadlocked set when a deadlocked thread waits on them; the cycle's own
    // when a thread of the cycle waits on them. Edges are red when both ends are.
    for (const GraphEdge& e : g.edges)
        if (e.kind == GraphEdgeKind::Waits && g.nodes[e.from].deadlocked && g.nodes[e.to].kind == GraphNodeKind::Object
            && e.label.find("timed") == std::string::npos) {
            g.nodes[e.to].deadlocked = true;
            g.nodes[e.to].onCycle = g.nodes[e.to].onCycle || g.nodes[e.from].onCycle;
        }
    for (GraphEdge& e : g.edges)
        e.deadlocked = g.nodes[e.from].deadlocked && g.nodes[e.to].deadlocked;

    g.title = fmt::format("wait-for graph at {} — {}", formatTraceTime(t), deadlockSummary(d));
    std::string program = programLine(model);
    g.subtitle = program.empty() ? std::string() : program;
    if (idle)
        g.subtitle += fmt::format("{}{} running thread{} holding nothing not shown", g.subtitle.empty() ? "" : " · ",
                                  idle, idle == 1 ? "" : "s");
    if (g.nodes.empty())
        g.subtitle += std::string(g.subtitle.empty() ? "" : " · ") + "no thread holds or waits for anything";
    return g;
}

std::vector<bool> edgesOnCycles(const std::vector<LockOrderEdge>& edges)
{
    std::unordered_map<uint32_t, uint32_t> idOf;
    std::vector<std::vector<uint32_t>> next;
    auto id = [&](uint32_t object) {
        auto [it, fresh] = idOf.try_emplace(object, uint32_t(next.size()));
        if (fresh)
            next.emplace_back();
        return it->second;
    };
    std::vector<std::pair<uint32_t, uint32_t>> ends(edges.size());
    for (size_t i = 0; i < edges.size(); i++) {
        ends[i] = { id(edges[i].from), id(edges[i].to) };
        next[ends[i].first].push_back(ends[i].second);
    }
    constexpr uint32_t kNone = UINT32_MAX;
    const size_t n = next.size();
    std::vector<uint32_t> index(n, kNone), low(n, 0), component(n, kNone), stack;
    std::vector<bool> onStack(n, false);
    struct Frame {
        uint32_t v;
        size_t edge;
    };
    std::vector<Frame> calls;
    uint32_t counter = 0, components = 0;
    auto visit = [&](uint32_t v) {
        index[v] = low[v] = counter++;
        stack.push_back(v);
        onStack[v] = true;
        calls.push_back({ v, 0 });
    };
    for (uint32_t root = 0; root < n; root++) {
        if (index[root] != kNone)
            continue;
        visit(root);
        while (!calls.empty()) {
            const uint32_t v = calls.back().v;
            if (calls.back().edge < next[v].size()) {
                uint32_t w = next[v][calls.back().edge++];
                if (index[w] == kNone)
                    visit(w);
                else if (onStack[w])
                    low[v] = std::min(low[v], index[w]);
                continue;
            }
            if (low[v] == index[v]) {
                uint32_t w;
                do {
                    w = stack.back();
                    stack.pop_back();
                    onStack[w] = false;
                    component[w] = components;
                } while (w != v);
                components++;
            }
            calls.pop_back();
            if (!calls.empty())
                low[calls.back().v] = std::min(low[calls.back().v], low[v]);
        }
    }
    // Both ends in one component: the edge closes a cycle (a lock requested while held, too).
    std::vector<bool> on(edges.size());
    for (size_t i = 0; i < edges.size(); i++)
        on[i] = component[ends[i].first] == component[ends[i].second];
    return on;
}

GraphModel lockOrderGraph(const ReplayModel& model, const std::vector<LockOrderEdge>& edges,
                          const std::vector<size_t>& cycleEdges, GraphNaming& naming, const LockOrderScope& scope,
                          LockOrderSummary* summary)
{
    GraphModel g;
    g.kind = GraphKind::LockOrder;
    g.atNs = model.endNs();
    std::vector<bool> onReportedCycle(edges.size(), false);
    for (size_t i : cycleEdges)
        if (i < edges.size())
            onReportedCycle[i] = true;
    std::vector<bool> keep(edges.size(), true);
    if (scope.cyclesOnly) {
        keep = edgesOnCycles(edges);
        for (size_t i = 0; i < edges.size(); i++)
            keep[i] = keep[i] || onReportedCycle[i];
    }

    // Every lock of every edge gets its class, drawn or not: a class's size is the whole run's.
    struct Class {
        std::string name;
        std::vector<uint32_t> locks; // in order of first appearance
        std::vector<uint32_t> drawn;
        size_t node = SIZE_MAX;
    };
    std::vector<Class> classes;
    std::unordered_map<std::string, size_t> classByKey;
    std::unordered_map<uint32_t, size_t> classOfLock;
    auto classOf = [&](uint32_t object, uint32_t stack) {
        auto it = classOfLock.find(object);
        if (it != classOfLock.end())
            return it->second;
        std::string name = lockClassOf(naming.objectName(object), naming.site(stack));
        // Drawn by lock, every lock is its own class (and still knows the class it belongs to).
        std::string key = scope.byClass ? name : fmt::format("{}\n{}", name, object);
        auto [c, fresh] = classByKey.try_emplace(key, classes.size());
        if (fresh)
            classes.push_back({ std::move(name), {}, {}, SIZE_MAX });
        classes[c->second].locks.push_back(object);
        return classOfLock[object] = c->second;
    };
    std::vector<std::pair<size_t, size_t>> classPair(edges.size());
    for (size_t i = 0; i < edges.size(); i++)
        classPair[i] = { classOf(edges[i].from, edges[i].fromStack), classOf(edges[i].to, edges[i].toStack) };

    std::unordered_map<uint32_t, bool> drawnLock;
    std::vector<size_t> classOrder; // drawn classes in order of first appearance
    auto draw = [&](size_t c, uint32_t object) {
        if (classes[c].drawn.empty())
            classOrder.push_back(c);
        if (drawnLock.emplace(object, true).second)
            classes[c].drawn.push_back(object);
    };
    size_t kept = 0;
    for (size_t i = 0; i < edges.size(); i++)
        if (keep[i]) {
            draw(classPair[i].first, edges[i].from);
            draw(classPair[i].second, edges[i].to);
            kept++;
        }

    bool anyClass = false;
    for (size_t c : classOrder) {
        Class& k = classes[c];
        const uint32_t first = k.drawn.front();
        GraphNode n;
        n.kind = GraphNodeKind::Object;
        n.object = first;
        n.lockClass = k.name;
        n.instances = k.drawn;
        if (first < model.objects().size())
            n.objectKind = model.objects()[first].kind;
        if (k.drawn.size() == 1) {
            // One lock drawn: it is shown as itself ("forks[3]"), the class in its tooltip.
            n.id = fmt::format("o{}", first);
            n.label = objectLabel(n.objectKind, naming.objectName(first));
            if (first < model.objects().size())
                n.tooltip = fmt::format("0x{:x}", model.objects()[first].address);
            if (k.locks.size() > 1)
                n.tooltip += fmt::format("{}class {}: {} locks", n.tooltip.empty() ? "" : ", ", k.name, k.locks.size());
        } else {
            anyClass = true;
            n.id = fmt::format("c{}", first);
            n.label = objectLabel(n.objectKind, k.name) + fmt::format(" \u00d7{}", k.drawn.size());
            constexpr size_t kNamed = 12;
            n.tooltip = fmt::format("lock class {}: {} locks", k.name, k.drawn.size());
            if (k.drawn.size() < k.locks.size())
                n.tooltip += fmt::format(" on a cycle, of {}", k.locks.size());
            n.tooltip += ": ";
            for (size_t i = 0; i < std::min(kNamed, k.drawn.size()); i++)
                n.tooltip += (i ? ", " : "") + naming.objectName(k.drawn[i]);
            if (k.drawn.size() > kNamed)
                n.tooltip += fmt::format(", +{} more", k.drawn.size() - kNamed);
        }
        g.nodes.push_back(std::move(n));
        k.node = g.nodes.size() - 1;
    }

    // One drawn edge per ordered pair of nodes: a hot pair can have hundreds of (thread, site)
    // instances, and a pair of classes thousands of lock pairs; parallel arrows between the same
    // two boxes only hide each other.
    struct Pair {
        std::vector<size_t> members;
        std::set<std::pair<uint32_t, uint32_t>> lockPairs;
        uint64_t occurrences = 0;
        bool cycle = false;
    };
    std::map<std::pair<size_t, size_t>, Pair> pairs;
    std::vector<std::pair<size_t, size_t>> order;
    for (size_t i = 0; i < edges.size(); i++) {
        if (!keep[i])
            continue;
        auto key = std::make_pair(classes[classPair[i].first].node, classes[classPair[i].second].node);
        auto [it, fresh] = pairs.try_emplace(key);
        if (fresh)
            order.push_back(key);
        Pair& p = it->second;
        p.members.push_back(i);
        p.lockPairs.emplace(edges[i].from, edges[i].to);
        p.occurrences += std::max<uint64_t>(1, edges[i].count);
        p.cycle = p.cycle || onReportedCycle[i];
    }
    constexpr size_t kShown = 3;
    size_t onCycle = 0;
    for (const auto& key : order) {
        const Pair& p = pairs[key];
        GraphEdge e;
        e.from = key.first;
        e.to = key.second;
        e.kind = GraphEdgeKind::LockOrder;
        e.deadlocked = p.cycle;
        const LockOrderEdge& first = edges[p.members.front()];
        e.thread = first.thread;
        e.sinceNs = first.timeNs;
        e.shared = first.toShared;
        std::set<std::string> seen;
        std::vector<std::string> lines;
        for (size_t m : p.members) {
            if (lines.size() > kShown && seen.size() > 64)
                break; // enough to say "+N more" of a class pair with thousands
            const LockOrderEdge& le = edges[m];
            std::string where = naming.site(le.toStack);
            std::string line = threadName(model, le.thread) + (where.empty() ? "" : " · " + where);
            if (seen.insert(line).second)
                lines.push_back(std::move(line));
        }
        for (size_t i = 0; i < std::min(kShown, lines.size()); i++)
            e.label += (i ? "\n" : "") + lines[i];
        if (lines.size() > kShown)
            e.label += fmt::format("\n+{} more", lines.size() - kShown);
        if (p.lockPairs.size() > 1)
            e.label += fmt::format("\n{} lock pairs, {} times", p.lockPairs.size(), p.occurrences);
        e.tooltip = fmt::format("{} requested while holding {} ({} instance{}, {} time{})", g.nodes[e.to].label,
                                g.nodes[e.from].label, p.members.size(), p.members.size() == 1 ? "" : "s",
                                p.occurrences, p.occurrences == 1 ? "" : "s");
        if (p.cycle) {
            g.nodes[e.from].deadlocked = g.nodes[e.from].onCycle = true;
            g.nodes[e.to].deadlocked = g.nodes[e.to].onCycle = true;
            onCycle++;
        }
        g.edges.push_back(std::move(e));
    }

    size_t drawnLocks = drawnLock.size();
    if (anyClass)
        g.title = fmt::format("lock-order graph — {} lock class{} ({} locks), {} order{}", g.nodes.size(),
                              g.nodes.size() == 1 ? "" : "es", drawnLocks, g.edges.size(),
                              g.edges.size() == 1 ? "" : "s");
    else
        g.title = fmt::format("lock-order graph — {} lock{}, {} order{}", g.nodes.size(),
                              g.nodes.size() == 1 ? "" : "s", g.edges.size(), g.edges.size() == 1 ? "" : "s");
    if (onCycle)
        g.title += fmt::format(", {} on a potential deadlock cycle", onCycle);
    else if (!g.edges.empty())
        g.title += ", no cycle";
    g.subtitle = programLine(model);
    auto more = [&](const std::string& s) { g.subtitle += (g.subtitle.empty() ? "" : " · ") + s; };
    if (edges.empty())
        more("no lock was requested while another was held");
    else if (g.nodes.empty())
        more(fmt::format("no cycle among the {} locks", classOfLock.size()));
    else
        more("A → B: B requested while A was held");
    if (scope.cyclesOnly && drawnLocks < classOfLock.size())
        more(fmt::format("only the cycles: {} of {} locks", drawnLocks, classOfLock.size()));
    if (summary) {
        summary->locks = classOfLock.size();
        summary->classes = classes.size();
        summary->drawnLocks = drawnLocks;
        summary->drawnClasses = g.nodes.size();
        summary->edges = edges.size();
        summary->drawnEdges = kept;
    }
    return g;
}

namespace {

// The model's index of a finding's object: the same (address, generation), else the latest object
// at that address.
uint32_t modelObject(const ReplayModel& model, const FindingObject& o)
{
    uint32_t byAddress = UINT32_MAX;
    for (uint32_t i = 0; i < model.objects().size(); i++) {
        const ObjectRecord& r = model.objects()[i];
        if (r.address != o.address)
            continue;
        if (r.generation == o.generation)
            return i;
        byAddress = i;
    }
    return byAddress;
}

} // namespace

GraphModel findingGraph(const ReplayModel& model, const Finding& f, GraphNaming& naming)
{
    // A lock-order cycle is drawn lock by lock; a condition-variable prediction (no edges) is the
    // wait-for graph when its waiter began to wait, its threads standing out.
    if ((f.kind == "potential-deadlock" || f.kind == "lock-order-inversion") && !f.edges.empty()) {
        std::vector<LockOrderEdge> edges;
        for (const FindingEdge& fe : f.edges) {
            LockOrderEdge e;
            e.from = modelObject(model, f.objects.at(fe.from));
            e.to = modelObject(model, f.objects.at(fe.to));
            e.thread = fe.thread;
            e.fromStack = fe.fromStack;
            e.toStack = fe.toStack;
            e.timeNs = fe.timeNs;
            edges.push_back(std::move(e));
        }
        std::vector<size_t> all(edges.size());
        for (size_t i = 0; i < all.size(); i++)
            all[i] = i;
        // A finding is one cycle of locks: drawn lock by lock, each lock's class in its tooltip.
        GraphModel g = lockOrderGraph(model, edges, all, naming, LockOrderScope { false, false });
        for (GraphNode& n : g.nodes)
            if (!n.lockClass.empty() && n.tooltip.find("class ") == std::string::npos)
                n.tooltip += (n.tooltip.empty() ? "class " : ", class ") + n.lockClass;
        // Objects the model does not know (a damaged trace) keep the finding's own names.
        for (GraphNode& n : g.nodes)
            if (n.object >= model.objects().size())
                for (const FindingObject& o : f.objects)
                    if (modelObject(model, o) == n.object)
                        n.label = objectLabel(o.kind, o.name);
        std::string what = f.kind == "potential-deadlock" ? "potential deadlock" : "lock-order inversion";
        g.title = fmt::format("{}: lock-order cycle of {} lock{}", what, g.nodes.size(),
                              g.nodes.size() == 1 ? "" : "s");
        if (f.instances > 1)
            g.title += fmt::format(" ({} instances of this pattern)", f.instances);
        return g;
    }
    GraphModel g = waitForGraphAt(model, std::min(f.timeNs, model.endNs()), naming);
    if (f.kind == "deadlock") {
        // timeNs is when the last thread of the cycle blocked; should the clock's interpolation put
        // it a hair before that wait began, the state at the end of the trace still shows it.
        bool all = !f.threads.empty();
        for (const FindingThread& t : f.threads) {
            size_t n = g.find(fmt::format("t{}", t.id));
            all = all && n != SIZE_MAX && g.nodes[n].deadlocked;
        }
        if (!all)
            g = waitForGraphAt(model, model.endNs(), naming);
        // The finding's certainty is the report's (the watchdog may have known that nobody was left
        // to signal); the picture must not say less than the report it illustrates.
        if (f.certainty != Verdict::None && f.certainty != g.verdict && g.verdict != Verdict::None) {
            std::string was = fmt::format("deadlock ({})", verdictName(g.verdict));
            if (size_t at = g.title.find(was); at != std::string::npos)
                g.title.replace(at, was.size(), fmt::format("deadlock ({})", verdictName(f.certainty)));
            g.verdict = f.certainty;
        }
    }
    if (f.kind != "deadlock" && !f.threads.empty()) {
        // Threads blocked at exit and misuse: the threads the finding names stand out.
        for (const FindingThread& t : f.threads) {
            size_t n = g.find(fmt::format("t{}", t.id));
            if (n != SIZE_MAX)
                g.nodes[n].onCycle = true;
        }
        g.title = fmt::format("wait-for graph at {} — {}", formatTraceTime(g.atNs), f.title);
    }
    return g;
}

} // namespace ravel
