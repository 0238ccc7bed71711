// GraphModel: what a wait-for or lock-order graph shows, as plain data: nodes (threads, objects),
// edges (holds, waits, lock order) with their labels, and which of them are deadlocked. It knows
// nothing of Graphviz or Qt: `ravel graph` hands it to graphviz_export, the GUI lays it out with
// the same code and draws it with its own items, so both show the same picture.
#pragma once

#include "base/finding.hpp"
#include "detect/wait_for.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ravel {

class ReplayModel;
class Symbolizer;
struct LockOrderEdge;

enum class GraphKind : uint8_t { WaitFor, LockOrder };
enum class GraphNodeKind : uint8_t { Thread, Object };
enum class GraphEdgeKind : uint8_t {
    Holds,     // object -> thread that holds it
    Waits,     // blocked thread -> object it waits on (a join: -> the joined thread)
    LockOrder, // lock held -> lock requested while holding it
};

struct GraphNode {
    // Stable while the playhead moves ("t3", "o12": thread id, object index), so a view can keep
    // a node's position and selection from one instant to the next.
    std::string id;
    GraphNodeKind kind = GraphNodeKind::Thread;
    std::string label;      // "T2 teller-ab", "mutex account_a"
    std::string tooltip;    // one more line of detail: since when, where
    uint32_t thread = 0;    // Thread: ravel thread id
    uint32_t object = UINT32_MAX; // Object: index into ReplayModel::objects() (or the caller's own numbering)
    unsigned objectKind = 0; // Object: RAVEL_OBJ_*
    bool blocked = false;   // Thread: blocked at that instant
    bool exited = false;    // Thread: exited (shown only while it holds something: an abandoned lock)
    bool deadlocked = false; // in the deadlocked set (threads) or on its waits (objects)
    bool onCycle = false;   // the part of the set that forms the cycle itself
    // Lock-order graphs drawn by class: the class ("buckets[*]") and every lock of it drawn here
    // (object indices, `object` is the first), so each instance is one click away.
    std::string lockClass;
    std::vector<uint32_t> instances;
};

struct GraphEdge {
    size_t from = 0; // node indices
    size_t to = 0;
    GraphEdgeKind kind = GraphEdgeKind::Holds;
    std::string label;   // "holds", "waits", "holds (read)", "joins", or "T3 philosopher-2 · eat dining.c:30"
    std::string tooltip;
    bool deadlocked = false; // both ends deadlocked (wait-for) or on a reported cycle (lock order)
    bool shared = false;     // read mode
    uint32_t thread = 0;     // the thread the edge belongs to
    uint64_t sinceNs = 0;    // holds/waits: since when
};

struct GraphModel {
    GraphKind kind = GraphKind::WaitFor;
    std::string title;       // the graph's label: what and when
    std::string subtitle;    // a second line: what is not shown, or the legend
    uint64_t atNs = 0;       // wait-for: the instant drawn
    Verdict verdict = Verdict::None;
    std::vector<GraphNode> nodes;
    std::vector<GraphEdge> edges;

    // Index of the node with this id, or SIZE_MAX.
    size_t find(const std::string& id) const;
    size_t deadlockedNodes() const;
    // Nodes on the cycle: a long cycle reads best laid out as a circle.
    size_t cycleNodes() const;
};

// How things are named in a graph. Symbols are optional: the GUI may draw before symbolization
// finishes, and tests have none.
class GraphNaming {
public:
    virtual ~GraphNaming() = default;
    // "forks[3]", "account_a", "mutex at bank.c:42" (objectIndex: ReplayModel::objects()).
    virtual std::string objectName(uint32_t objectIndex) = 0;
    // "transfer bank.c:12": the first user frame of a stack field (with the reused bit), or "".
    virtual std::string site(uint32_t stack) = 0;
};

// Names from addresses only: "mutex 0x55..a040".
class PlainNaming : public GraphNaming {
public:
    explicit PlainNaming(const ReplayModel& model) : m_model(model) { }
    std::string objectName(uint32_t objectIndex) override;
    std::string site(uint32_t) override { return {}; }

private:
    const ReplayModel& m_model;
};

// Names as every report prints them (ObjectNamer: variables, "#2" where two would clash) and
// sites from the symbolized stacks.
class SymbolizedNaming : public GraphNaming {
public:
    SymbolizedNaming(const ReplayModel& model, Symbolizer& sym);
    ~SymbolizedNaming() override;
    std::string objectName(uint32_t objectIndex) override;
    std::string site(uint32_t stack) override;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

// "T2 teller-ab" (the name only when the thread has one).
std::string graphThreadLabel(uint32_t id, const std::string& name);

// The wait-for graph at instant t: every thread blocked or holding something then, the objects
// involved, holds and waits; the deadlocked set from the AND-OR reduction. Running threads that
// hold nothing are left out (the subtitle counts them): they are most of a big program and wait
// for nothing.
GraphModel waitForGraphAt(const ReplayModel& model, uint64_t t, GraphNaming& naming);

// The graph of one finding: a deadlock (or threads blocked at exit) as the wait-for graph at the
// instant it formed; a potential deadlock or a lock-order inversion as its cycle of lock-order
// edges; anything else as the wait-for graph when it was seen.
GraphModel findingGraph(const ReplayModel& model, const Finding& finding, GraphNaming& naming);

// What a lock-order graph draws.
struct LockOrderScope {
    bool byClass = true;     // one node per lock class (lock_class.hpp), else one per lock
    bool cyclesOnly = false; // only the locks on some cycle: the strongly connected parts
};

// What a lock-order graph left out, for the line that says so.
struct LockOrderSummary {
    size_t locks = 0;        // locks in any lock-order edge
    size_t classes = 0;      // their classes (locks, when not drawn by class)
    size_t drawnLocks = 0;
    size_t drawnClasses = 0; // nodes drawn
    size_t edges = 0;        // distinct lock-order edges
    size_t drawnEdges = 0;   // of them, folded into the drawn edges
};

// The lock-order graph of the whole run: one node per lock class (label "mutex buckets[*] ×4096";
// a class of one lock is the lock, "mutex account_a"), one edge per (held, requested) pair of
// nodes with up to a few thread-and-site labels and a count of the lock pairs and occurrences it
// folds; edges listed in `cycleEdges` (indices into `edges`) red.
GraphModel lockOrderGraph(const ReplayModel& model, const std::vector<LockOrderEdge>& edges,
                          const std::vector<size_t>& cycleEdges, GraphNaming& naming,
                          const LockOrderScope& scope = {}, LockOrderSummary* summary = nullptr);

// Which of `edges` lie on some cycle: both ends in one strongly connected component (Tarjan's,
// iterative: a 4,000-lock chain must not overflow the stack). By edge index.
std::vector<bool> edgesOnCycles(const std::vector<LockOrderEdge>& edges);

} // namespace ravel
