// LockOrderGraphView: the lock-order graph of the whole run (an edge A -> B when B was requested
// while A was held), with the edges of every potential-deadlock cycle red: the deadlocks the run
// could have had. The analysis runs on a worker thread when a trace loads, then the graph is laid
// out like every other.
#pragma once

#include "graph/graph_view.hpp"

#include <QFutureWatcher>

#include <memory>

namespace ravel::gui {

class LockOrderGraphView : public GraphView {
    Q_OBJECT
public:
    LockOrderGraphView(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);
    ~LockOrderGraphView() override;

    // The analysis of the loaded trace is still running.
    bool isAnalyzing() const { return m_watcher != nullptr; }

private:
    struct Orders;
    void onLoaded();
    void onAnalyzed();
    void cancelAnalysis();

    QFutureWatcher<std::shared_ptr<Orders>>* m_watcher = nullptr;
};

} // namespace ravel::gui
