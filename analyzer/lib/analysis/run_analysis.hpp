// RunAnalysis: the models of one recorded run, built from one pass over its events. The replay
// model and the lock-order graph are two consumers of that pass: on a big trace each runs on a
// core of its own while the events are decoded and merged once for both (this is how the analysis
// throughput budget is met). Detectors read the models; nothing here knows a report.
#pragma once

#include "detect/lock_order.hpp"
#include "model/replay_model.hpp"
#include "trace/trace_reader.hpp"

#include <memory>
#include <mutex>

namespace ravel {

class RunAnalysis {
public:
    // Retain::EndState for a report (analyzeTrace needs no more): memory bounded by objects,
    // threads and lock-order edges instead of events. The GUI and the graphs at any instant keep
    // everything.
    explicit RunAnalysis(const TraceReader& trace, ReplayModel::Retain retain = ReplayModel::Retain::Everything);
    ~RunAnalysis();
    RunAnalysis(const RunAnalysis&) = delete;
    RunAnalysis& operator=(const RunAnalysis&) = delete;

    const TraceReader& trace() const { return m_trace; }
    const ReplayModel& model() const { return *m_model; }
    // The lock-order graph of the run; its cycles are searched on first use (thread-safe).
    const LockOrderGraph& lockOrder() const;

private:
    const TraceReader& m_trace;
    std::unique_ptr<ReplayModel> m_model;
    mutable std::unique_ptr<LockOrderGraph> m_lockOrder;
    mutable bool m_lockOrderFinished = false;
    mutable std::mutex m_lockOrderMutex;
};

} // namespace ravel
