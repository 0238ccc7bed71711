#include "graph/graph_node_item.hpp"

#include <QPainter>
#include <QStyleOptionGraphicsItem>

namespace ravel::gui {

GraphNodeItem::GraphNodeItem(const ravel::GraphNode& node, QSizeF size, const GraphColors& colors)
    : m_node(node)
    , m_size(size)
    , m_colors(colors)
{
    QString tip = QString::fromStdString(node.label + (node.tooltip.empty() ? "" : "\n" + node.tooltip));
    if (node.instances.size() > 1)
        tip += QStringLiteral("\n") + QObject::tr("Click to select all %1 locks of the class").arg(node.instances.size());
    setToolTip(tip);
    setCursor(Qt::PointingHandCursor);
    setZValue(1); // over the edges that reach it, as outputorder=edgesfirst does in the files
}

QFont GraphNodeItem::labelFont()
{
    // Graphviz measured the labels in this font at 11 points, and one scene unit is one point.
    QFont f(QStringLiteral("DejaVu Sans"));
    f.setPixelSize(11);
    return f;
}

void GraphNodeItem::setHighlighted(bool on)
{
    if (on == m_highlighted)
        return;
    m_highlighted = on;
    update();
}

QColor GraphNodeItem::outlineColor() const
{
    return m_node.deadlocked ? m_colors.red : m_colors.line;
}

QColor GraphNodeItem::fillColor() const
{
    if (m_node.deadlocked)
        return m_colors.redFill;
    if (!isThread())
        return m_colors.objectFill;
    return m_node.exited ? m_colors.exitedFill : m_node.blocked ? m_colors.blockedFill : m_colors.threadFill;
}

QPainterPath GraphNodeItem::outline() const
{
    QRectF r(-m_size.width() / 2, -m_size.height() / 2, m_size.width(), m_size.height());
    QPainterPath p;
    if (isThread())
        p.addEllipse(r);
    else
        p.addRoundedRect(r, 6, 6);
    return p;
}

QRectF GraphNodeItem::boundingRect() const
{
    const double pad = 4; // the widest pen (selection) reaches past the outline
    return QRectF(
        -m_size.width() / 2 - pad, -m_size.height() / 2 - pad, m_size.width() + 2 * pad, m_size.height() + 2 * pad);
}

QPainterPath GraphNodeItem::shape() const
{
    return outline();
}

void GraphNodeItem::paint(QPainter* painter, const QStyleOptionGraphicsItem* option, QWidget*)
{
    painter->setRenderHint(QPainter::Antialiasing);
    double width = m_node.deadlocked ? (m_node.onCycle ? 3 : 2) : m_node.onCycle ? 2.5 : 1;
    if (m_highlighted) {
        painter->setPen(QPen(m_colors.selection, width + 5));
        painter->setBrush(Qt::NoBrush);
        painter->drawPath(outline());
    }
    painter->setPen(QPen(outlineColor(), width));
    painter->setBrush(fillColor());
    painter->drawPath(outline());
    // Far out, text is a grey smear that costs more to draw than everything else.
    if (option->levelOfDetailFromTransform(painter->worldTransform()) < 0.3)
        return;
    painter->setFont(labelFont());
    painter->setPen(m_node.deadlocked ? m_colors.redText : m_colors.text);
    QRectF r(-m_size.width() / 2, -m_size.height() / 2, m_size.width(), m_size.height());
    painter->drawText(r, Qt::AlignCenter, QString::fromStdString(m_node.label));
}

} // namespace ravel::gui
