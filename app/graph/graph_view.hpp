// GraphView: what the wait-for and the lock-order views share. It lays a GraphModel out on the
// shared GraphLayoutWorker (never on the GUI thread), draws the result as live items, keeps the
// picture still where it can (a graph whose nodes and edges did not change keeps its layout; one
// whose nodes did not change keeps every node where it was and only reroutes the edges; a new
// layout is shifted so the nodes both pictures share stay put), fits it to the view until the
// user zooms, and turns a click on a node into a selection in the ViewState.
#pragma once

#include "graph/graph_colors.hpp"
#include "graph/graph_layout_worker.hpp"
#include "export/graph_model.hpp"
#include "export/graphviz_export.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QGraphicsView>
#include <QPointer>

#include <map>
#include <memory>

namespace ravel::gui {

class GraphNodeItem;

class GraphView : public QGraphicsView {
    Q_OBJECT
public:
    GraphView(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);
    ~GraphView() override;

    // Writes the graph shown (with its title, as `ravel graph` writes it) as DOT, SVG, PNG or PDF,
    // by the extension of `path`. False with a one-line reason when it cannot.
    bool exportGraph(const QString& path, QString* error);

    // What is drawn: the model of the last applied layout (empty before the first).
    const ravel::GraphModel& shownGraph() const { return m_shown; }
    bool hasGraph() const { return m_hasShown; }
    // A layout was asked for and has not arrived yet.
    bool isLayoutPending() const { return m_pendingJob != 0; }
    QList<GraphNodeItem*> nodeItems() const;
    GraphNodeItem* nodeItem(const QString& id) const;

    // For tests and the benchmark numbers: layouts asked of the worker and applied from it, graphs
    // redrawn on the layout already shown, the last layout's time in Graphviz and the last scene
    // rebuild's time, and how the last graph was placed.
    enum class Placement { None, Reused, Pinned, Fresh };
    quint64 layoutsRequested() const { return m_requested; }
    quint64 layoutsApplied() const { return m_applied; }
    quint64 layoutsReused() const { return m_reused; }
    double lastLayoutMs() const { return m_lastLayoutMs; }
    double lastSceneMs() const { return m_lastSceneMs; }
    Placement lastPlacement() const { return m_lastPlacement; }

    // Scale the whole graph into the view again (after the user zoomed), as the F key does.
    void fitGraph();

    // The header drawn over the pane's top left (the graph's title and subtitle), where it is,
    // and its whole text when a line of it is elided (the tooltip there), else empty.
    QRect headerRect() const { return m_headerRect; }
    QString elidedHeaderText() const { return m_headerElided; }

signals:
    // A new picture is on screen.
    void graphShown();

protected:
    // Lays out and shows `model` (titles included); shows nothing while `model` has no node
    // but the title. Replaces whatever was asked for before.
    void showGraph(ravel::GraphModel model);
    void clearGraph(const QString& message);
    // Where nodes go when a graph shows them and the picture before does not decide it (in
    // layout coordinates, by node id): the wait-for view gives each node its place in the deadlock
    // the run ends in, so scrubbing toward it shows the cycle closing in place. Empty: none.
    void setHomes(std::map<std::string, ravel::GraphPoint> homes) { m_homes = std::move(homes); }
    // The next graph is placed afresh (by its homes), not pinned where the shown one is.
    void placeNextAfresh() { m_hasShown = false; }
    GraphLayoutWorker* layoutWorker() const { return m_worker; }
    TraceDocument* document() const { return m_document; }
    ViewState* viewState() const { return m_state; }

    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseDoubleClickEvent(QMouseEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void changeEvent(QEvent* event) override;
    void drawForeground(QPainter* painter, const QRectF& rect) override;
    bool viewportEvent(QEvent* event) override;

private:
    void onLaidOut(const void* client, std::shared_ptr<const GraphLayoutResult> result);
    void apply(const ravel::GraphModel& model, ravel::GraphLayout layout, Placement placement);
    void rebuildScene();
    void updateHighlights();
    void autoFit();
    double readableScale() const; // the least zoom at which labels are body-text sized

    QPointer<TraceDocument> m_document;
    QPointer<ViewState> m_state;
    GraphLayoutWorker* m_worker;
    GraphColors m_colors;

    std::map<std::string, ravel::GraphPoint> m_homes;
    ravel::GraphModel m_shown; // with its title, as exported
    ravel::GraphLayout m_layout; // of m_shown, shifted to where it is drawn
    bool m_hasShown = false;
    QString m_message; // shown instead of a graph ("no trace", a layout error)
    QRect m_headerRect;     // in viewport coordinates, as last drawn
    QString m_headerElided; // the header's whole text when it was drawn elided

    quint64 m_pendingJob = 0;
    ravel::GraphModel m_pendingModel; // the full model of m_pendingJob
    Placement m_pendingPlacement = Placement::None;

    bool m_autoFit = true; // until the user zooms
    quint64 m_requested = 0;
    quint64 m_applied = 0;
    quint64 m_reused = 0;
    double m_lastLayoutMs = 0;
    double m_lastSceneMs = 0;
    Placement m_lastPlacement = Placement::None;
};

} // namespace ravel::gui
