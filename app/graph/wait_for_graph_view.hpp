// WaitForGraphView: who waits for whom at the playhead (DESIGN.md, "The GUI"): the replay model's
// wait-for graph at the ViewState's playhead, or the graph of the finding the user selected
// (until the playhead moves away from it), or, while a launched program runs, the live graph of
// its state boards. Laid out off the GUI thread; the deadlocked set drawn red; a click on a
// thread selects its lane, a click on an object selects the object.
#pragma once

#include "graph/graph_view.hpp"
#include "detect/live_trace.hpp"

#include <map>
#include <memory>
#include <string>

namespace ravel {
class SymbolizedNaming;
}

namespace ravel::gui {

class LiveRun;

class WaitForGraphView : public GraphView {
    Q_OBJECT
public:
    WaitForGraphView(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);
    ~WaitForGraphView() override;

    // Shows the live state of a running program instead of the trace, until showTrace() or the
    // next trace loads.
    void showLiveSnapshot(const std::vector<ravel::ThreadSnapshot>& threads, quint64 nowNs, const QString& program,
                          const std::map<uint64_t, std::string>* names = nullptr);
    // Follows `run`: every liveSnapshot() it emits is shown.
    void followLiveRun(LiveRun* run);
    void showTrace();
    bool isLive() const { return m_live; }
    // The finding whose graph is shown, or -1 (the playhead's graph).
    int shownFinding() const { return m_findingMode ? m_finding : -1; }
    // Whether the nodes' places in the run's deadlock are known (laid out once per trace).
    bool hasHomes() const { return m_homesReady; }

private:
    void onLoaded();
    void onPlayhead(quint64 ns);
    void onFinding(int index);
    void refresh();
    quint64 findingTime(int index) const;
    void layOutHomes();

    char m_homeClient = 0; // the worker's client key of the homes layout
    std::unique_ptr<ravel::SymbolizedNaming> m_naming;
    bool m_live = false;
    bool m_findingMode = false;
    int m_finding = -1;
    bool m_homesReady = false;
};

} // namespace ravel::gui
