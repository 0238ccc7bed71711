#include "graph/lock_order_graph_view.hpp"

#include "detect/lock_order.hpp"
#include "export/graphviz_export.hpp"
#include "models/trace_document.hpp"

#include <QtConcurrent/QtConcurrentRun>

namespace ravel::gui {

struct LockOrderGraphView::Orders {
    std::vector<ravel::LockOrderEdge> edges;
    std::vector<size_t> cycleEdges;
    QString error;
};

LockOrderGraphView::LockOrderGraphView(TraceDocument* document, ViewState* state, QWidget* parent)
    : GraphView(document, state, parent)
{
    setObjectName(QStringLiteral("lockOrderGraphView"));
    if (document) {
        connect(document, &TraceDocument::loaded, this, &LockOrderGraphView::onLoaded);
        connect(document, &TraceDocument::activePartChanged, this, &LockOrderGraphView::onLoaded);
        connect(document, &TraceDocument::closed, this, [this] {
            cancelAnalysis();
            clearGraph(tr("No trace open"));
        });
    }
    if (document && document->isLoaded())
        onLoaded();
    else
        clearGraph(tr("No trace open"));
}

LockOrderGraphView::~LockOrderGraphView()
{
    cancelAnalysis();
}

void LockOrderGraphView::cancelAnalysis()
{
    if (!m_watcher)
        return;
    // The analysis reads the document's model, which lives only until every view has let go of
    // it after closed(): it must end here (it cannot be interrupted half way).
    m_watcher->disconnect(this);
    m_watcher->waitForFinished();
    m_watcher->deleteLater();
    m_watcher = nullptr;
}

void LockOrderGraphView::onLoaded()
{
    cancelAnalysis();
    clearGraph(tr("Finding the lock orders…"));
    const ravel::RunAnalysis* run = &document()->run();
    m_watcher = new QFutureWatcher<std::shared_ptr<Orders>>(this);
    connect(m_watcher, &QFutureWatcherBase::finished, this, &LockOrderGraphView::onAnalyzed);
    m_watcher->setFuture(QtConcurrent::run([run] {
        auto orders = std::make_shared<Orders>();
        try {
            // The run's own graph: the document's analyses built it already while loading.
            const ravel::LockOrderGraph& lo = run->lockOrder();
            orders->edges = lo.edges();
            orders->cycleEdges = lo.cycleEdges();
        } catch (const std::exception& e) {
            orders->error = QString::fromStdString(e.what());
        }
        return orders;
    }));
}

void LockOrderGraphView::onAnalyzed()
{
    std::shared_ptr<Orders> orders = m_watcher->result();
    m_watcher->deleteLater();
    m_watcher = nullptr;
    if (!document() || !document()->isLoaded() || !orders)
        return;
    if (!orders->error.isEmpty()) {
        clearGraph(tr("Cannot find the lock orders: %1").arg(orders->error));
        return;
    }
    // Names on the GUI thread: the symbolizer is not thread-safe.
    ravel::SymbolizedNaming naming(document()->model(), document()->symbolizer());
    // By lock class, every class; when even the classes are too many to read (or to lay out
    // quickly), only those on a cycle, the subtitle saying how many locks are left out.
    ravel::GraphModel g = ravel::lockOrderGraph(document()->model(), orders->edges, orders->cycleEdges, naming);
    if (ravel::isBigGraph(g))
        g = ravel::lockOrderGraph(document()->model(), orders->edges, orders->cycleEdges, naming,
                                  ravel::LockOrderScope { true, true });
    showGraph(std::move(g));
}

} // namespace ravel::gui
