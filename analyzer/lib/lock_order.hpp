// Lock-order analysis: potential deadlocks that did not happen this run (DESIGN.md, Detectors).
//
// Edge A -> B when a thread requests B while holding A, with the thread, the held set and both
// stacks. Cycles are found per strongly connected component and reported once per abstract
// pattern (a distinct cycle of acquire sites) with a few example cycles and the count of instances.
// Filtered: a common gate lock held across every edge of the cycle; edges whose segments cannot
// overlap because they are ordered by thread create/join, fork/waitpid, barriers, or messages
// (cond signal -> wake, sem post -> wait); read-read rwlock edges; edges into a lock taken by
// trylock. A cycle whose edges all come from one thread is a lock-order-inversion note, never a
// deadlock.
#pragma once

#include "finding.hpp"

#include <cstdint>
#include <vector>

namespace ravel {

class ReplayModel;

struct LockOrderEdge {
    uint32_t from = 0;        // object index (ReplayModel::objects())
    uint32_t to = 0;
    uint32_t thread = 0;
    uint32_t fromStack = 0;   // acquisition of `from`
    uint32_t toStack = 0;     // request of `to`
    uint64_t timeNs = 0;
    bool fromShared = false;  // `from` held in read mode
    bool toShared = false;    // `to` requested in read mode
    std::vector<uint32_t> held; // every object held at the request (object indices)
};

class LockOrderGraph {
public:
    explicit LockOrderGraph(const ReplayModel& model);

    // Distinct edges (one representative per (from, to, from site, to site, thread)).
    const std::vector<LockOrderEdge>& edges() const { return m_edges; }
    // Objects taking part in at least one edge.
    std::vector<uint32_t> nodes() const;

    // Potential deadlocks (kind "potential-deadlock") and one-thread inversions (kind
    // "lock-order-inversion"), objects named by the caller (nameFindingObjects).
    std::vector<Finding> findings() const;

    // Edges on some reported cycle, for drawing them highlighted.
    std::vector<size_t> cycleEdges() const;

private:
    const ReplayModel& m_model;
    std::vector<LockOrderEdge> m_edges;
    std::vector<Finding> m_findings;
    std::vector<size_t> m_cycleEdges;
};

} // namespace ravel
