#include "graph/graph_view.hpp"

#include "export/graphviz_process.hpp"

#include "graph/graph_edge_item.hpp"
#include "graph/graph_node_item.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QElapsedTimer>
#include <QFontInfo>
#include <QGraphicsScene>
#include <QKeyEvent>
#include <QMouseEvent>
#include <QHelpEvent>
#include <QScrollBar>
#include <QToolTip>
#include <QWheelEvent>
#include <QtMath>

#include <algorithm>
#include <optional>
#include <set>

namespace ravel::gui {

namespace {

// Two graphs with equal keys have the same nodes, edges and labels in the same order: one's
// layout is the other's.
std::string structureKey(const ravel::GraphModel& g)
{
    std::string key;
    for (const ravel::GraphNode& n : g.nodes)
        key += n.id + '\x1f' + n.label + '\x1e';
    key += '\x1d';
    for (const ravel::GraphEdge& e : g.edges)
        key += std::to_string(e.from) + ',' + std::to_string(e.to) + ',' + std::to_string(int(e.kind)) + ',' + e.label
            + '\x1e';
    return key;
}

std::set<std::string> nodeIds(const ravel::GraphModel& g)
{
    std::set<std::string> ids;
    for (const ravel::GraphNode& n : g.nodes)
        ids.insert(n.id);
    return ids;
}

void shift(ravel::GraphLayout& l, double dx, double dy)
{
    auto move = [&](ravel::GraphPoint& p) {
        p.x += dx;
        p.y += dy;
    };
    for (auto& n : l.nodes)
        move(n.center);
    for (auto& e : l.edges) {
        for (auto& p : e.curve)
            move(p);
        if (e.arrowTip)
            move(*e.arrowTip);
        if (e.labelPos)
            move(*e.labelPos);
    }
    if (l.titlePos)
        move(*l.titlePos);
}

// Below this a label's 11 points are under 7 pixels: a bigger graph is shown in part, readable,
// rather than whole and illegible (64 philosophers: a screen of rows, scrolled).
constexpr double kMinFitScale = 0.6;
constexpr double kMaxFitScale = 1.25;

} // namespace

GraphView::GraphView(TraceDocument* document, ViewState* state, QWidget* parent)
    : QGraphicsView(parent)
    , m_document(document)
    , m_state(state)
    , m_worker(GraphLayoutWorker::shared())
{
    setScene(new QGraphicsScene(this));
    setRenderHints(QPainter::Antialiasing | QPainter::TextAntialiasing);
    setDragMode(QGraphicsView::ScrollHandDrag);
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    setViewportUpdateMode(QGraphicsView::BoundingRectViewportUpdate);
    // The title overlay is drawn in viewport coordinates: scrolling must repaint it, not move it.
    setCacheMode(QGraphicsView::CacheNone);
    setFocusPolicy(Qt::StrongFocus);
    m_colors = GraphColors::fromPalette(palette());
    setBackgroundBrush(m_colors.background);
    connect(m_worker, &GraphLayoutWorker::laidOut, this, &GraphView::onLaidOut);
    if (m_state)
        connect(m_state, &ViewState::selectionChanged, this, &GraphView::updateHighlights);
}

GraphView::~GraphView()
{
    m_worker->invalidate(this);
}

QList<GraphNodeItem*> GraphView::nodeItems() const
{
    QList<GraphNodeItem*> out;
    for (QGraphicsItem* item : scene()->items(Qt::AscendingOrder))
        if (auto* n = qgraphicsitem_cast<GraphNodeItem*>(item))
            out << n;
    return out;
}

GraphNodeItem* GraphView::nodeItem(const QString& id) const
{
    const std::string key = id.toStdString();
    for (GraphNodeItem* n : nodeItems())
        if (n->node().id == key)
            return n;
    return nullptr;
}

void GraphView::clearGraph(const QString& message)
{
    m_worker->invalidate(this);
    m_pendingJob = 0;
    m_shown = {};
    m_layout = {};
    m_hasShown = false;
    m_message = message;
    scene()->clear();
    scene()->setSceneRect(QRectF());
    viewport()->update();
}

void GraphView::showGraph(ravel::GraphModel model)
{
    m_message.clear();
    if (model.nodes.empty()) {
        // Nothing to lay out; the title says why (no thread holds or waits for anything).
        m_pendingJob = 0;
        m_worker->invalidate(this);
        apply(model, {}, Placement::Reused);
        return;
    }
    if (m_hasShown && !m_shown.nodes.empty() && structureKey(model) == structureKey(m_shown)) {
        // The playhead moved and nothing that is drawn changed shape: redraw on the same layout,
        // at once, and forget a layout still coming for an earlier instant.
        m_pendingJob = 0;
        m_worker->invalidate(this);
        apply(model, m_layout, Placement::Reused);
        return;
    }
    ravel::GraphModel forLayout = model;
    // The title is drawn over the view, where it stays while the graph scrolls.
    forLayout.title.clear();
    forLayout.subtitle.clear();
    ravel::GraphStyle style;
    Placement placement = Placement::Fresh;
    // Same nodes and the same kind of picture (a cycle completing turns a row into a ring): every
    // node stays where it is.
    if (m_hasShown && !m_shown.nodes.empty() && nodeIds(model) == nodeIds(m_shown)
        && ravel::graphLayoutEngine(model) == ravel::graphLayoutEngine(m_shown)) {
        for (size_t i = 0; i < m_shown.nodes.size(); i++)
            style.pinned[m_shown.nodes[i].id] = m_layout.nodes[i].center;
        placement = Placement::Pinned;
    } else if (!m_homes.empty()) {
        for (const ravel::GraphNode& n : model.nodes)
            if (auto home = m_homes.find(n.id); home != m_homes.end())
                style.pinned[n.id] = home->second;
        if (!style.pinned.empty())
            placement = Placement::Pinned;
    }
    m_pendingModel = std::move(model);
    m_pendingPlacement = placement;
    m_pendingJob = m_worker->submit(this, std::move(forLayout), std::move(style));
    m_requested++;
    viewport()->update();
}

void GraphView::onLaidOut(const void* client, std::shared_ptr<const GraphLayoutResult> result)
{
    if (client != this || !result || result->job != m_pendingJob)
        return;
    m_pendingJob = 0;
    m_lastLayoutMs = result->layoutMs;
    if (!result->error.isEmpty()) {
        ravel::GraphModel failed = std::move(m_pendingModel);
        clearGraph(tr("Cannot lay out the graph: %1").arg(result->error));
        return;
    }
    apply(m_pendingModel, result->layout, m_pendingPlacement);
}

void GraphView::apply(const ravel::GraphModel& model, ravel::GraphLayout layout, Placement placement)
{
    if (placement != Placement::Reused && m_hasShown && !layout.nodes.empty()) {
        // Keep the nodes both pictures share where they were on screen: the eye follows a change,
        // not a jump.
        double dx = 0, dy = 0;
        size_t common = 0;
        for (size_t i = 0; i < model.nodes.size() && i < layout.nodes.size(); i++) {
            size_t old = m_shown.find(model.nodes[i].id);
            if (old == SIZE_MAX || old >= m_layout.nodes.size())
                continue;
            dx += m_layout.nodes[old].center.x - layout.nodes[i].center.x;
            dy += m_layout.nodes[old].center.y - layout.nodes[i].center.y;
            common++;
        }
        if (common)
            shift(layout, dx / double(common), dy / double(common));
    }
    if (!m_homes.empty() && !layout.nodes.empty()) {
        // A node placed without a home keeps the place it got from now on: the offset between
        // this picture and the homes' coordinates comes from a node that has one.
        std::optional<ravel::GraphPoint> offset;
        for (size_t i = 0; i < model.nodes.size() && i < layout.nodes.size() && !offset; i++)
            if (auto home = m_homes.find(model.nodes[i].id); home != m_homes.end())
                offset = ravel::GraphPoint { layout.nodes[i].center.x - home->second.x,
                                             layout.nodes[i].center.y - home->second.y };
        for (size_t i = 0; offset && i < model.nodes.size() && i < layout.nodes.size(); i++)
            m_homes.try_emplace(model.nodes[i].id, ravel::GraphPoint { layout.nodes[i].center.x - offset->x,
                                                                       layout.nodes[i].center.y - offset->y });
    }
    m_shown = model;
    m_layout = std::move(layout);
    m_hasShown = true;
    (placement == Placement::Reused ? m_reused : m_applied)++;
    m_lastPlacement = placement;
    rebuildScene();
    emit graphShown();
}

void GraphView::rebuildScene()
{
    QElapsedTimer timer;
    timer.start();
    QGraphicsScene* s = scene();
    s->clear();
    if (m_hasShown && m_layout.nodes.size() == m_shown.nodes.size() && m_layout.edges.size() == m_shown.edges.size()) {
        for (size_t i = 0; i < m_shown.edges.size(); i++)
            s->addItem(new GraphEdgeItem(m_shown.edges[i], m_layout.edges[i], m_colors));
        for (size_t i = 0; i < m_shown.nodes.size(); i++) {
            const ravel::NodeGeometry& g = m_layout.nodes[i];
            auto* item = new GraphNodeItem(m_shown.nodes[i], QSizeF(g.width, g.height), m_colors);
            item->setPos(g.center.x, g.center.y);
            s->addItem(item);
        }
    }
    QRectF bounds = s->itemsBoundingRect();
    // Room above for the title drawn over the view, so it does not hide the top row when fitted.
    s->setSceneRect(bounds.isEmpty() ? QRectF() : bounds.adjusted(-24, -24 - 64, 24, 24));
    updateHighlights();
    if (m_autoFit)
        autoFit();
    m_lastSceneMs = double(timer.nsecsElapsed()) / 1e6;
    viewport()->update();
}

void GraphView::updateHighlights()
{
    if (!m_state)
        return;
    const QList<quint32> threads = m_state->selectedThreads();
    const QList<quint32> objects = m_state->selectedObjects();
    for (GraphNodeItem* n : nodeItems()) {
        const ravel::GraphNode& node = n->node();
        bool on = n->isThread() ? threads.contains(node.thread) : objects.contains(node.object);
        for (size_t i = 0; !on && i < node.instances.size(); i++)
            on = objects.contains(node.instances[i]);
        n->setHighlighted(on);
    }
}

double GraphView::readableScale() const
{
    // The smallest text of the scene is an edge label, 9 units high (node labels are 11): at this
    // scale it is as big as the window's body text.
    const int body = QFontInfo(font()).pixelSize();
    return std::max(kMinFitScale, double(body > 0 ? body : 12) / 9.0);
}

void GraphView::autoFit()
{
    QRectF r = sceneRect();
    if (r.isEmpty() || viewport()->width() < 10 || viewport()->height() < 10)
        return;
    // Fitted to the pane, unless that would make the labels smaller than the body text: then at
    // that size, with scroll bars, centred on the finding's cycle.
    const double readable = readableScale();
    double s = std::min(viewport()->width() / r.width(), viewport()->height() / r.height());
    s = std::clamp(s, readable, std::max(kMaxFitScale, readable));
    setTransform(QTransform::fromScale(s, s));
    if (r.width() * s <= viewport()->width() && r.height() * s <= viewport()->height()) {
        centerOn(r.center());
        return;
    }
    // Where the story starts: the cycle's first thread (the one the details show), else its
    // first node.
    GraphNodeItem* start = nullptr;
    for (GraphNodeItem* n : nodeItems())
        if ((n->node().onCycle || n->node().deadlocked) && (!start || (n->isThread() && !start->isThread())))
            start = n;
    if (start)
        centerOn(start);
    else
        centerOn(r.topLeft());
}

void GraphView::fitGraph()
{
    m_autoFit = true;
    autoFit();
}

bool GraphView::exportGraph(const QString& path, QString* error)
{
    auto fail = [&](const QString& why) {
        if (error)
            *error = why;
        return false;
    };
    if (!m_hasShown)
        return fail(tr("no graph to export: open a trace first"));
    std::optional<ravel::GraphFormat> format = ravel::graphFormatForPath(path.toStdString());
    if (!format)
        return fail(tr("cannot tell the format of '%1': name it .dot, .gv, .svg, .png or .pdf").arg(path));
    try {
        // A big graph is exported as it was laid out: in a child process, within the limit.
        if (ravel::isBigGraph(m_shown))
            ravel::writeGraphInChild(m_shown, path.toStdString(), *format, {}, GraphLayoutWorker::kChildLimit);
        else
            ravel::writeGraph(m_shown, path.toStdString(), *format);
    } catch (const std::exception& e) {
        return fail(QString::fromStdString(e.what()));
    }
    return true;
}

void GraphView::wheelEvent(QWheelEvent* event)
{
    double factor = std::pow(1.0015, event->angleDelta().y());
    double now = transform().m11();
    factor = std::clamp(now * factor, 0.05, 8.0) / now;
    m_autoFit = false;
    scale(factor, factor);
    event->accept();
}

void GraphView::mousePressEvent(QMouseEvent* event)
{
    if (event->button() == Qt::LeftButton) {
        for (QGraphicsItem* item : items(event->position().toPoint())) {
            auto* n = qgraphicsitem_cast<GraphNodeItem*>(item);
            if (!n || !m_state)
                continue;
            const ravel::GraphNode& node = n->node();
            const bool add = event->modifiers() & (Qt::ControlModifier | Qt::ShiftModifier);
            if (n->isThread()) {
                QList<quint32> sel = add ? m_state->selectedThreads() : QList<quint32> {};
                if (!sel.contains(node.thread))
                    sel << node.thread;
                m_state->setSelectedThreads(sel);
            } else if (m_document && m_document->isLoaded() && node.object < m_document->model().objects().size()) {
                // A lock class selects every lock of it: each instance one click away in the
                // timeline and the details.
                QList<quint32> sel = add ? m_state->selectedObjects() : QList<quint32> {};
                std::vector<uint32_t> picked = node.instances.empty() ? std::vector<uint32_t> { node.object }
                                                                      : node.instances;
                for (uint32_t o : picked)
                    if (o < m_document->model().objects().size() && !sel.contains(o))
                        sel << o;
                m_state->setSelectedObjects(sel);
            }
            event->accept();
            return;
        }
    }
    QGraphicsView::mousePressEvent(event);
}

void GraphView::mouseDoubleClickEvent(QMouseEvent* event)
{
    if (itemAt(event->position().toPoint()) == nullptr) {
        fitGraph();
        event->accept();
        return;
    }
    QGraphicsView::mouseDoubleClickEvent(event);
}

void GraphView::keyPressEvent(QKeyEvent* event)
{
    switch (event->key()) {
    case Qt::Key_F:
    case Qt::Key_Home:
        fitGraph();
        return;
    case Qt::Key_Plus:
    case Qt::Key_Equal:
        m_autoFit = false;
        scale(1.25, 1.25);
        return;
    case Qt::Key_Minus:
        m_autoFit = false;
        scale(0.8, 0.8);
        return;
    default:
        QGraphicsView::keyPressEvent(event);
    }
}

void GraphView::resizeEvent(QResizeEvent* event)
{
    QGraphicsView::resizeEvent(event);
    if (m_autoFit)
        autoFit();
}

void GraphView::changeEvent(QEvent* event)
{
    QGraphicsView::changeEvent(event);
    if (event->type() == QEvent::PaletteChange) {
        m_colors = GraphColors::fromPalette(palette());
        setBackgroundBrush(m_colors.background);
        rebuildScene();
    }
}

void GraphView::drawForeground(QPainter* painter, const QRectF&)
{
    QStringList lines;
    if (m_hasShown) {
        lines << QString::fromStdString(m_shown.title);
        if (!m_shown.subtitle.empty())
            lines << QString::fromStdString(m_shown.subtitle);
    }
    if (!m_message.isEmpty())
        lines << m_message;
    if (m_pendingJob)
        lines << tr("laying out…");
    lines.removeAll(QString());
    m_headerRect = QRect();
    m_headerElided.clear();
    if (lines.isEmpty())
        return;
    painter->save();
    painter->resetTransform();
    QFont bold = font();
    bold.setBold(true);
    // Measured with the painter's own metrics: the viewport's device may not be the screen's.
    painter->setFont(bold);
    QFontMetrics fmBold = painter->fontMetrics();
    painter->setFont(font());
    QFontMetrics fm = painter->fontMetrics();
    int width = 0, height = 6;
    for (int i = 0; i < lines.size(); i++) {
        width = std::max(width, (i == 0 ? fmBold : fm).horizontalAdvance(lines[i]) + 2);
        height += (i == 0 ? fmBold : fm).height();
    }
    width = std::min(width + 14, viewport()->width() - 8);
    QColor back = palette().color(QPalette::Window);
    back.setAlpha(225);
    painter->setPen(Qt::NoPen);
    painter->setBrush(back);
    m_headerRect = QRect(4, 4, width, height);
    painter->drawRoundedRect(m_headerRect, 4, 4);
    int y = 7;
    bool elided = false;
    for (int i = 0; i < lines.size(); i++) {
        const QFontMetrics& m = i == 0 ? fmBold : fm;
        bool red = i == 0 && m_shown.deadlockedNodes() > 0;
        painter->setFont(i == 0 ? bold : font());
        painter->setPen(red ? m_colors.red : palette().color(QPalette::WindowText));
        const QString shown = m.elidedText(lines[i], Qt::ElideRight, width - 10);
        elided = elided || shown != lines[i];
        painter->drawText(QRect(10, y, width - 8, m.height()), Qt::AlignLeft | Qt::AlignVCenter, shown);
        y += m.height();
    }
    // A title cut to the pane's width is whole in the header's tooltip.
    if (elided)
        m_headerElided = lines.join(QLatin1Char('\n'));
    painter->restore();
}

bool GraphView::viewportEvent(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        if (m_headerRect.contains(help->pos())) {
            if (m_headerElided.isEmpty())
                QToolTip::hideText();
            else
                QToolTip::showText(help->globalPos(), m_headerElided, viewport(), m_headerRect);
            return true;
        }
    }
    return QGraphicsView::viewportEvent(event);
}

} // namespace ravel::gui
