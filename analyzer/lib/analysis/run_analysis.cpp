#include "analysis/run_analysis.hpp"

#include <exception>
#include <thread>

namespace ravel {

namespace {

// Below this many events a second consumer thread costs more than it saves.
constexpr uint64_t kParallelLockOrderAbove = 1u << 18;

} // namespace

RunAnalysis::RunAnalysis(const TraceReader& trace, ReplayModel::Retain retain)
    : m_trace(trace)
{
    if (m_trace.eventCount() < kParallelLockOrderAbove || !LockOrderGraph::needsEvents(m_trace)) {
        m_model = std::make_unique<ReplayModel>(m_trace, nullptr, retain);
        return; // the lock-order graph, if any, is built alone on first use
    }
    SharedEventPass pass(m_trace, 2);
    std::exception_ptr lockOrderError;
    std::jthread lockOrder([this, &pass, &lockOrderError] {
        try {
            m_lockOrder = std::make_unique<LockOrderGraph>(m_trace, &pass);
        } catch (...) {
            lockOrderError = std::current_exception();
        }
    });
    m_model = std::make_unique<ReplayModel>(m_trace, &pass, retain); // on failure it releases the pass
    lockOrder.join();
    if (lockOrderError) // built again, alone, when someone asks for it
        m_lockOrder.reset();
}

RunAnalysis::~RunAnalysis() = default;

const LockOrderGraph& RunAnalysis::lockOrder() const
{
    std::lock_guard lock(m_lockOrderMutex);
    if (!m_lockOrder)
        m_lockOrder = std::make_unique<LockOrderGraph>(m_trace);
    if (!m_lockOrderFinished) {
        m_lockOrder->finish(*m_model);
        m_lockOrderFinished = true;
    }
    return *m_lockOrder;
}

} // namespace ravel
