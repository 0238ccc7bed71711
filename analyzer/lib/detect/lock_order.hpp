// Lock-order analysis: potential deadlocks that did not happen this run (DESIGN.md, Detectors).
//
// Edge A -> B when a thread requests B while holding A, with the thread, the held set and both
// stacks. Cycles are searched per strongly connected component of the lock graph, shortest first:
// every pair of opposite edges (A -> B, B -> A) is checked, then longer cycles by an iterative
// deepening search with a step budget per component (so one component cannot starve the others).
// No simple cycle is enumerated beyond the budget: the analysis is polynomial in the graph.
// One finding per component (components whose cycles share a pattern of acquire sites, as one
// function called on many lock pairs makes, are one finding): the shortest valid cycles as
// examples, the component's size and the count of cycles found ("at least" when the budget ran
// out). A component with cycles none of which could be confirmed within the budget is a note
// saying so; one whose every cycle was checked and failed the rules is not reported.
// Filtered: a common gate lock held across every edge of the cycle; edges whose segments cannot
// overlap because they are ordered by thread create/join, fork/waitpid, barriers, or messages
// (cond signal -> wake, sem post -> wait); read-read rwlock hops (a cycle passing an rwlock that one
// edge requests shared while the next holds it shared: readers do not wait for readers); edges into
// a lock taken by trylock. A cycle whose edges all come from one thread is a lock-order-inversion
// note, never a deadlock. Patterns are keyed by the lock calls' sites (innermost frames).
// Channels join the graph for mixed cycles: a lock held across a blocking send or receive gives
// lock -> channel; a thread that requests a lock and then serves the channel (the other operation)
// gives channel -> lock. Message send -> receive orders segments like a semaphore post -> wait.
#pragma once

#include "base/finding.hpp"

#include <cstdint>
#include <span>
#include <vector>

namespace ravel {

class ReplayModel;
class TraceReader;
class SharedEventPass;

enum class ChanRole : uint8_t { None = 0, Recv = 1, Send = 2 };

struct LockOrderEdge {
    uint32_t from = 0;        // object index (ReplayModel::objects())
    uint32_t to = 0;
    uint32_t thread = 0;
    uint32_t fromStack = 0;   // acquisition of `from`
    uint32_t toStack = 0;     // request of `to`
    uint64_t timeNs = 0;
    uint64_t count = 1;       // occurrences folded into this edge (set by finish())
    bool fromShared = false;  // `from` held in read mode
    bool toShared = false;    // `to` requested in read mode
    // Mixed lock/channel cycles (a channel is a node too). toRole: the edge ends at a channel
    // operation that blocks until someone does the other one (a send needs a Recv, a receive a
    // Send). fromRole: the edge starts at a channel the thread serves by doing that operation after
    // it requested `to`. A cycle passes a channel only where the roles meet.
    ChanRole toRole = ChanRole::None;
    ChanRole fromRole = ChanRole::None;
};

class LockOrderGraph {
public:
    explicit LockOrderGraph(const ReplayModel& model);
    // The same in two halves, so the pass over the events can run beside ReplayModel's own:
    // collecting reads only the trace; finish() searches the cycles and needs the built model
    // (of the same trace).
    // With `pass`, the events come from a pass shared with another consumer (ReplayModel's).
    explicit LockOrderGraph(const TraceReader& trace, SharedEventPass* pass = nullptr);
    void finish(const ReplayModel& model);
    // Whether collecting reads the events at all: edges come from a lock requested while another
    // is held, or (mixed cycles) from a channel served after a lock request.
    static bool needsEvents(const TraceReader& trace);

    // Distinct edges (one representative per (from, to, from site, to site, thread)).
    const std::vector<LockOrderEdge>& edges() const { return m_edges; }
    // Every object held at the first request of edges()[edge] (object indices; at most 64 besides
    // `from`). Kept in one pool rather than a vector per edge: a trace of short-lived locks makes
    // an edge per pair of them.
    std::span<const uint32_t> held(size_t edge) const
    {
        return { m_heldPool.data() + m_state[edge].heldBegin, m_state[edge].heldCount };
    }
    // Objects taking part in at least one edge.
    std::vector<uint32_t> nodes() const;

    // Potential deadlocks (kind "potential-deadlock") and one-thread inversions (kind
    // "lock-order-inversion"), objects named by the caller (nameFindingObjects).
    std::vector<Finding> findings() const;

    // Edges on some reported cycle, for drawing them highlighted.
    std::vector<size_t> cycleEdges() const;

private:
    // Per distinct edge, beside the public LockOrderEdge: what the filters need. The fields every
    // occurrence touches (count, last segment, gates while few) live in the pass's hash slot, and
    // are written back here when the slot is dropped or the pass ends.
    struct EdgeState {
        static constexpr size_t kSegments = 6;
        uint64_t count = 0;         // occurrences folded into this edge
        bool fromShared = true;     // every occurrence held `from` shared / requested `to` shared
        bool toShared = true;
        bool onlyFromGate = false;  // gates == { from }: always held when exclusive, nothing to intersect
        uint8_t segmentCount = 0;
        uint32_t threadIndex = 0;   // index into ReplayModel::threads()
        uint32_t fromSite = 0;      // stack ids without the reused bit: the dedup and pattern key
        uint32_t toSite = 0;
        uint32_t replacedAt = 0;    // segment that last took the final slot (geometric spacing)
        uint32_t snapshots[kSegments] = {}; // vector-clock snapshots of the segments it occurred in
        // Locks held exclusively at every occurrence (the intersection), including `from`: two
        // edges sharing one cannot be waiting at the same time. In m_gatePool.
        uint32_t gatesCount = 0;
        uint32_t heldCount = 0;     // in m_heldPool
        size_t gatesBegin = 0;
        size_t heldBegin = 0;
    };
    std::span<const uint32_t> gatesOf(const EdgeState& s) const { return { m_gatePool.data() + s.gatesBegin, s.gatesCount }; }
    struct Group;
    class CycleSearch;

    void collectEdges();
    void findCycles();
    bool happensBefore(uint32_t a, uint32_t b) const;
    bool mayOverlap(const EdgeState& a, const EdgeState& b) const;
    Finding makeFinding(const Group& g) const;
    Finding unconfirmedFinding(const Group& g) const;

    const TraceReader& m_trace;
    SharedEventPass* m_pass = nullptr;
    const ReplayModel* m_model = nullptr; // set by finish()
    std::vector<LockOrderEdge> m_edges;
    std::vector<EdgeState> m_state;       // parallel to m_edges
    std::vector<uint32_t> m_gatePool;     // EdgeState::gatesBegin/gatesCount
    std::vector<uint32_t> m_heldPool;     // EdgeState::heldBegin/heldCount
    uint32_t m_threadCount = 0;
    std::vector<uint32_t> m_snapshotPool; // m_threadCount clock entries per snapshot
    std::vector<uint32_t> m_snapshotThread; // thread index of each snapshot
    std::vector<Finding> m_findings;
    std::vector<size_t> m_cycleEdges;
};

} // namespace ravel
