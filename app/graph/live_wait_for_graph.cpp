#include "graph/live_wait_for_graph.hpp"

#include "model/objects.hpp"
#include "base/trace_time.hpp"

#include <ravel/trace_format.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace ravel::gui {

namespace {

std::string threadLabel(const ravel::ThreadSnapshot& t)
{
    // As the replay names it: the process's initial thread (its tid is the pid) is "main".
    return ravel::graphThreadLabel(t.tid, t.name.empty() && t.os_tid == t.pid ? "main" : t.name);
}

} // namespace

ravel::GraphModel liveWaitForGraph(const std::vector<ravel::ThreadSnapshot>& threads, uint64_t nowNs,
                                   const std::string& program, const std::map<uint64_t, std::string>* names)
{
    using namespace ravel;
    GraphModel g;
    g.kind = GraphKind::WaitFor;
    g.atNs = nowNs;
    Deadlock d = reduceWaitFor(waitGraphOf(threads));
    g.verdict = d.verdict;
    auto in = [](const std::vector<uint32_t>& v, uint32_t x) { return std::find(v.begin(), v.end(), x) != v.end(); };

    std::map<uint32_t, size_t> threadNodes;
    std::map<uint64_t, size_t> objectNodes;
    auto threadNode = [&](const ThreadSnapshot& t) {
        if (auto it = threadNodes.find(t.tid); it != threadNodes.end())
            return it->second;
        GraphNode n;
        n.id = fmt::format("t{}", t.tid);
        n.kind = GraphNodeKind::Thread;
        n.thread = t.tid;
        n.label = threadLabel(t) + (t.exited ? " (exited)" : "");
        n.tooltip = fmt::format("tid {}", t.os_tid);
        n.exited = t.exited;
        n.deadlocked = in(d.threads, t.tid);
        n.onCycle = in(d.cycle, t.tid);
        g.nodes.push_back(std::move(n));
        return threadNodes[t.tid] = g.nodes.size() - 1;
    };
    auto objectNode = [&](uint64_t address, unsigned kind) {
        if (auto it = objectNodes.find(address); it != objectNodes.end())
            return it->second;
        GraphNode n;
        n.id = fmt::format("a{:x}", address);
        n.kind = GraphNodeKind::Object;
        n.objectKind = kind;
        const std::string k(objectKindName(kind));
        const auto named = names ? names->find(address) : std::map<uint64_t, std::string>::const_iterator();
        if (names && named != names->end() && !named->second.empty())
            // As the replay's graph labels it: the kind, then the name (once).
            n.label = named->second.rfind(k + " ", 0) == 0 ? named->second : k + " " + named->second;
        else
            n.label = fmt::format("{} 0x{:x}", k, address);
        n.tooltip = fmt::format("0x{:x}", address);
        g.nodes.push_back(std::move(n));
        return objectNodes[address] = g.nodes.size() - 1;
    };

    size_t idle = 0;
    for (const ThreadSnapshot& t : threads) {
        bool blocked = !t.exited && t.blockedOn != 0;
        if (!blocked && t.held.empty()) {
            idle += t.exited ? 0 : 1;
            continue;
        }
        size_t tn = threadNode(t);
        g.nodes[tn].blocked = blocked;
        for (size_t k = 0; k < t.held.size(); k++) {
            GraphEdge e;
            e.from = objectNode(t.held[k], t.heldFlags[k] & 0x0f);
            e.to = tn;
            e.kind = GraphEdgeKind::Holds;
            e.shared = t.heldFlags[k] & RAVEL_F_SHARED;
            e.label = e.shared ? "holds (read)" : "holds";
            e.thread = t.tid;
            g.edges.push_back(std::move(e));
        }
        if (!blocked)
            continue;
        unsigned kind = t.blockedFlags & 0x0f;
        GraphEdge e;
        e.from = tn;
        e.kind = GraphEdgeKind::Waits;
        e.shared = t.blockedFlags & RAVEL_F_SHARED;
        e.thread = t.tid;
        e.sinceNs = t.blockedSinceNs;
        const ThreadSnapshot* joined = nullptr;
        if (kind == RAVEL_OBJ_THREAD)
            for (const ThreadSnapshot& j : threads)
                if (j.pthread == t.blockedOn && j.tid != t.tid)
                    joined = &j;
        if (joined) {
            e.to = threadNode(*joined);
            e.label = "joins";
        } else {
            e.to = objectNode(t.blockedOn, kind);
            e.label = e.shared ? "waits (read)" : "waits";
        }
        if (t.blockedFlags & RAVEL_F_TIMED)
            e.label += " (timed)";
        e.tooltip = fmt::format("{} since {}", e.label, formatTraceTime(t.blockedSinceNs));
        g.nodes[tn].tooltip += fmt::format("; blocked since {}", formatTraceTime(t.blockedSinceNs));
        g.edges.push_back(std::move(e));
    }
    // As waitForGraphAt: an object is deadlocked when a deadlocked thread waits on it for good.
    for (const GraphEdge& e : g.edges)
        if (e.kind == GraphEdgeKind::Waits && g.nodes[e.from].deadlocked && g.nodes[e.to].kind == GraphNodeKind::Object
            && e.label.find("timed") == std::string::npos) {
            g.nodes[e.to].deadlocked = true;
            g.nodes[e.to].onCycle = g.nodes[e.to].onCycle || g.nodes[e.from].onCycle;
        }
    for (GraphEdge& e : g.edges)
        e.deadlocked = g.nodes[e.from].deadlocked && g.nodes[e.to].deadlocked;

    std::string state = "no deadlock";
    if (d.verdict != Verdict::None)
        state = fmt::format(
            "deadlock ({}): {} thread{}", verdictName(d.verdict), d.threads.size(), d.threads.size() == 1 ? "" : "s");
    g.title = fmt::format("live: wait-for graph at {} — {}", formatTraceTime(nowNs), state);
    g.subtitle = program;
    if (idle)
        g.subtitle += fmt::format("{}{} running thread{} holding nothing not shown", g.subtitle.empty() ? "" : " · ",
            idle, idle == 1 ? "" : "s");
    if (g.nodes.empty())
        g.subtitle += std::string(g.subtitle.empty() ? "" : " · ") + "no thread holds or waits for anything";
    return g;
}

} // namespace ravel::gui
