#include "graph/wait_for_graph_view.hpp"

#include "graph/live_wait_for_graph.hpp"
#include "launch/live_run.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <fmt/format.h>

namespace ravel::gui {

WaitForGraphView::WaitForGraphView(TraceDocument* document, ViewState* state, QWidget* parent)
    : GraphView(document, state, parent)
{
    setObjectName(QStringLiteral("waitForGraphView"));
    setToolTip(QString());
    if (document) {
        connect(document, &TraceDocument::loaded, this, &WaitForGraphView::onLoaded);
        connect(document, &TraceDocument::closed, this, [this] {
            m_naming.reset();
            m_findingMode = false;
            if (!m_live)
                clearGraph(tr("No trace open"));
        });
    }
    if (state) {
        connect(state, &ViewState::playheadChanged, this, &WaitForGraphView::onPlayhead);
        connect(state, &ViewState::findingSelected, this, &WaitForGraphView::onFinding);
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
}

quint64 WaitForGraphView::findingTime(int index) const
{
    const auto& findings = document()->findings();
    if (index < 0 || size_t(index) >= findings.size())
        return 0;
    quint64 t = findings[size_t(index)].timeNs;
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

void WaitForGraphView::showLiveSnapshot(
    const std::vector<ravel::ThreadSnapshot>& threads, quint64 nowNs, const QString& program)
{
    m_live = true;
    showGraph(liveWaitForGraph(threads, nowNs, program.toStdString()));
}

void WaitForGraphView::followLiveRun(LiveRun* run)
{
    connect(run, &LiveRun::liveSnapshot, this, [this, run] {
        const LiveSnapshot& s = run->snapshot();
        showLiveSnapshot(s.threads, s.nowNs, run->programLine());
    });
}

void WaitForGraphView::showTrace()
{
    m_live = false;
    refresh();
}

} // namespace ravel::gui
