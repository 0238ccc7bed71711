#include "graph/graph_edge_item.hpp"

#include <QFontMetricsF>
#include <QPainter>
#include <QPainterPathStroker>
#include <QStyleOptionGraphicsItem>
#include <QtMath>

namespace ravel::gui {

namespace {

QFont edgeFont()
{
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setPixelSize(9); // graphviz_export's edge fontsize, in points = scene units
    return f;
}

QPointF toQt(const ravel::GraphPoint& p)
{
    return QPointF(p.x, p.y);
}

// An arrow head from `from` to the tip, as long as Graphviz's (arrowsize 0.8 of 10 points).
QPolygonF arrowHead(QPointF from, QPointF tip)
{
    QLineF line(tip, from);
    if (line.length() < 0.01)
        return {};
    const double length = 8, halfWidth = 3;
    QPointF dir = (from - tip) / line.length();
    QPointF normal(-dir.y(), dir.x());
    QPointF base = tip + dir * length;
    return QPolygonF({ tip, base + normal * halfWidth, base - normal * halfWidth, tip });
}

} // namespace

GraphEdgeItem::GraphEdgeItem(const ravel::GraphEdge& edge, const ravel::EdgeGeometry& g, const GraphColors& colors)
    : m_edge(edge)
    , m_colors(colors)
{
    const auto& c = g.curve;
    if (!c.empty()) {
        m_path.moveTo(toQt(c[0]));
        for (size_t i = 1; i + 2 < c.size(); i += 3)
            m_path.cubicTo(toQt(c[i]), toQt(c[i + 1]), toQt(c[i + 2]));
        QPointF last = toQt(c.back());
        if (g.arrowTip) {
            QPointF tip = toQt(*g.arrowTip);
            m_arrow = arrowHead(last, tip);
        } else if (c.size() >= 2) {
            // No head past the curve: the curve ends at the node, the head sits on its last piece.
            m_arrow = arrowHead(toQt(c[c.size() - 2]), last);
        }
    }
    m_label = QString::fromStdString(edge.label);
    if (g.labelPos && !m_label.isEmpty()) {
        QFontMetricsF fm(edgeFont());
        QSizeF size = fm.size(0, m_label);
        m_labelRect = QRectF(toQt(*g.labelPos) - QPointF(size.width() / 2, size.height() / 2), size);
    }
    m_bounds = m_path.boundingRect().united(m_arrow.boundingRect()).adjusted(-3, -3, 3, 3);
    if (!m_labelRect.isEmpty())
        m_bounds = m_bounds.united(m_labelRect);
    if (!edge.tooltip.empty())
        setToolTip(QString::fromStdString(edge.tooltip));
}

QRectF GraphEdgeItem::boundingRect() const
{
    return m_bounds;
}

QPainterPath GraphEdgeItem::shape() const
{
    // A thin line is hard to hover: the tooltip answers within a few points of it.
    QPainterPathStroker stroker;
    stroker.setWidth(6);
    QPainterPath p = stroker.createStroke(m_path);
    p.addPolygon(m_arrow);
    if (!m_labelRect.isEmpty())
        p.addRect(m_labelRect);
    return p;
}

void GraphEdgeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*)
{
    painter->setRenderHint(QPainter::Antialiasing);
    QColor c = color();
    QPen pen(c, m_edge.deadlocked ? 2 : 1);
    if (m_edge.kind == ravel::GraphEdgeKind::Waits)
        pen.setStyle(Qt::DashLine);
    painter->setPen(pen);
    painter->setBrush(Qt::NoBrush);
    painter->drawPath(m_path);
    painter->setPen(QPen(c, 1));
    painter->setBrush(c);
    painter->drawPolygon(m_arrow);
    if (m_labelRect.isEmpty() || option->levelOfDetailFromTransform(painter->worldTransform()) < 0.45)
        return;
    painter->setFont(edgeFont());
    painter->setPen(m_edge.deadlocked ? (m_colors.dark ? m_colors.redText : m_colors.red) : m_colors.text);
    painter->drawText(m_labelRect, Qt::AlignCenter, m_label);
}

} // namespace ravel::gui
