// GraphEdgeItem: one edge of a laid-out graph: Graphviz's spline, its arrow head and its label
// ("holds", "waits", the threads and sites of a lock order). Waits are dashed, as in the files;
// edges between deadlocked nodes are red and thicker.
#pragma once

#include "graph/graph_colors.hpp"
#include "export/graph_model.hpp"
#include "export/graphviz_export.hpp"

#include <QGraphicsItem>
#include <QPainterPath>

namespace ravel::gui {

class GraphEdgeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 42 };

    GraphEdgeItem(const ravel::GraphEdge& edge, const ravel::EdgeGeometry& geometry, const GraphColors& colors);

    int type() const override { return Type; }
    const ravel::GraphEdge& edge() const { return m_edge; }
    QColor color() const { return m_edge.deadlocked ? m_colors.red : m_colors.line; }

    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

private:
    ravel::GraphEdge m_edge;
    GraphColors m_colors;
    QPainterPath m_path;
    QPolygonF m_arrow;
    QRectF m_labelRect; // empty when the edge has no label
    QString m_label;
    QRectF m_bounds;
};

} // namespace ravel::gui
