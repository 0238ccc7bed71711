// Placeholder until the lock-order analysis lands: no edges, no findings.
#include "lock_order.hpp"

#include "replay_model.hpp"

namespace ravel {

LockOrderGraph::LockOrderGraph(const ReplayModel& model)
    : m_model(model)
{
}

std::vector<uint32_t> LockOrderGraph::nodes() const { return {}; }

std::vector<Finding> LockOrderGraph::findings() const { return m_findings; }

std::vector<size_t> LockOrderGraph::cycleEdges() const { return m_cycleEdges; }

} // namespace ravel
