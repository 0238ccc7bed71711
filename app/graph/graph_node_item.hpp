// GraphNodeItem: one node of a laid-out graph as a live Qt item: a thread as an ellipse, an object
// as a rounded box (as `ravel graph` draws them), sized and placed where Graphviz put it. It keeps
// the GraphNode it shows, so a click says which thread or object it is.
#pragma once

#include "graph/graph_colors.hpp"
#include "export/graph_model.hpp"

#include <QGraphicsItem>

namespace ravel::gui {

class GraphNodeItem : public QGraphicsItem {
public:
    enum { Type = UserType + 41 };

    GraphNodeItem(const ravel::GraphNode& node, QSizeF size, const GraphColors& colors);

    int type() const override { return Type; }
    const ravel::GraphNode& node() const { return m_node; }
    bool isThread() const { return m_node.kind == ravel::GraphNodeKind::Thread; }
    // Drawn with the selection outline (the thread or object is selected in the ViewState).
    void setHighlighted(bool on);
    bool isHighlighted() const { return m_highlighted; }
    // The outline and fill it is drawn with, for tests and screenshots to check.
    QColor outlineColor() const;
    QColor fillColor() const;

    QRectF boundingRect() const override;
    QPainterPath shape() const override;
    void paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget* widget) override;

    static QFont labelFont();

private:
    QPainterPath outline() const;

    ravel::GraphNode m_node;
    QSizeF m_size;
    GraphColors m_colors;
    bool m_highlighted = false;
};

} // namespace ravel::gui
