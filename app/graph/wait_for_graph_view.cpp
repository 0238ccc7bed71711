#include "graph/wait_for_graph_view.hpp"

#include "graph/live_wait_for_graph.hpp"
#include "launch/live_run.hpp"
#include "models/finding_focus.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace ravel::gui {

WaitForGraphView::WaitForGraphView(TraceDocument* document, ViewState* state, QWidget* parent)
    : GraphView(document, state, parent)
{
    setObjectName(QStringLiteral("waitForGraphView"));
    setToolTip(QString());
    if (document) {
        connect(document, &TraceDocument::loaded, this, &WaitForGraphView::onLoaded);
        // The graph is of the active part's model, named by its symbols.
        connect(document, &TraceDocument::activePartChanged, this, &WaitForGraphView::onLoaded);
        connect(document, &TraceDocument::closed, this, [this] {
            m_naming.reset();
            m_homesReady = false;
            setHomes({});
            layoutWorker()->invalidate(&m_homeClient);
            m_findingMode = false;
            if (!m_live)
                clearGraph(tr("No trace open"));
        });
    }
    connect(layoutWorker(), &GraphLayoutWorker::laidOut, this,
            [this](const void* client, std::shared_ptr<const GraphLayoutResult> result) {
                if (client != &m_homeClient || !result || !result->error.isEmpty() || m_live)
                    return;
                std::map<std::string, ravel::GraphPoint> homes;
                for (size_t i = 0; i < result->model.nodes.size() && i < result->layout.nodes.size(); i++)
                    homes[result->model.nodes[i].id] = result->layout.nodes[i].center;
                setHomes(std::move(homes));
                m_homesReady = true;
                placeNextAfresh(); // the graph shown so far was laid out without them
                refresh();
            });
    if (state) {
        connect(state, &ViewState::playheadChanged, this, &WaitForGraphView::onPlayhead);
        connect(state, &ViewState::findingSelected, this, &WaitForGraphView::onFinding);
        // Chosen again after the playhead moved on: its graph again.
        connect(state, &ViewState::findingFocused, this, [this](int index) {
            if (!m_findingMode || m_finding != index)
                onFinding(index);
        });
    }
    if (document && document->isLoaded())
        onLoaded();
    else
        clearGraph(tr("No trace open"));
}

WaitForGraphView::~WaitForGraphView() = default;

void WaitForGraphView::onLoaded()
{
    m_live = false;
    m_naming = std::make_unique<ravel::SymbolizedNaming>(document()->model(), document()->symbolizer());
    m_finding = viewState() ? viewState()->selectedFinding() : -1;
    m_findingMode = m_finding >= 0;
    refresh();
    layOutHomes();
}

// The deadlock the run ends in (the first one reported) is laid out once, off the GUI thread;
// its nodes' places become their homes, so the graph at any earlier instant shows the threads
// and locks of the cycle where they will be when it closes, instead of a row that jumps to a
// ring at the last moment.
void WaitForGraphView::layOutHomes()
{
    m_homesReady = false;
    setHomes({});
    const auto& findings = document()->findings();
    // The active part's first deadlock: another process's is in other ids.
    auto deadlock = std::find_if(findings.begin(), findings.end(), [&](const ravel::Finding& f) {
        return f.kind == "deadlock" && document()->findingPart(int(&f - findings.data())) == document()->activePart();
    });
    if (deadlock == findings.end())
        return;
    ravel::GraphModel g = ravel::findingGraph(document()->model(), *deadlock, *m_naming);
    g.title.clear();
    g.subtitle.clear();
    if (g.nodes.empty())
        return;
    layoutWorker()->submit(&m_homeClient, std::move(g));
}

quint64 WaitForGraphView::findingTime(int index) const
{
    const auto& findings = document()->findings();
    if (index < 0 || size_t(index) >= findings.size())
        return 0;
    quint64 t = gui::findingTime(findings[size_t(index)]);
    return viewState() && viewState()->duration() ? std::min<quint64>(t, viewState()->duration()) : t;
}

void WaitForGraphView::onPlayhead(quint64 ns)
{
    if (m_live || !document() || !document()->isLoaded())
        return;
    // Selecting a finding moves the playhead to it, before or after the selection is announced:
    // that move keeps the finding's graph; any other move shows the playhead's.
    if (m_findingMode && ns == findingTime(m_finding))
        return;
    m_findingMode = false;
    refresh();
}

void WaitForGraphView::onFinding(int index)
{
    if (m_live || !document() || !document()->isLoaded())
        return;
    m_finding = index;
    m_findingMode = index >= 0 && size_t(index) < document()->findings().size();
    refresh();
}

void WaitForGraphView::refresh()
{
    if (m_live)
        return;
    if (!document() || !document()->isLoaded() || !m_naming) {
        clearGraph(tr("No trace open"));
        return;
    }
    const ravel::ReplayModel& model = document()->model();
    if (m_findingMode) {
        const ravel::Finding& f = document()->findings()[size_t(m_finding)];
        ravel::GraphModel g = ravel::findingGraph(model, f, *m_naming);
        // Numbered from 1, as the report and `ravel graph --finding` number them.
        g.title = fmt::format("finding {}: {}", m_finding + 1, g.title);
        showGraph(std::move(g));
        return;
    }
    quint64 t = viewState() ? viewState()->playhead() : model.endNs();
    showGraph(ravel::waitForGraphAt(model, t, *m_naming));
}

void WaitForGraphView::showLiveSnapshot(const std::vector<ravel::ThreadSnapshot>& threads, quint64 nowNs,
                                        const QString& program, const std::map<uint64_t, std::string>* names)
{
    if (!m_live) { // a live run's nodes have no places yet
        setHomes({});
        m_homesReady = false;
        layoutWorker()->invalidate(&m_homeClient);
    }
    m_live = true;
    showGraph(liveWaitForGraph(threads, nowNs, program.toStdString(), names));
}

void WaitForGraphView::followLiveRun(LiveRun* run)
{
    connect(run, &LiveRun::liveSnapshot, this, [this, run] {
        const LiveSnapshot& s = run->snapshot();
        showLiveSnapshot(s.threads, s.nowNs, run->programLine(), &s.names);
    });
}

void WaitForGraphView::showTrace()
{
    const bool wasLive = m_live;
    m_live = false;
    refresh();
    if (wasLive && document() && document()->isLoaded() && m_naming)
        layOutHomes();
}

} // namespace ravel::gui
