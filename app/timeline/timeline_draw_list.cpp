#include "timeline/timeline_draw_list.hpp"

#include <QPainter>
#include <QPainterPath>

#include <cmath>

namespace ravel::gui {

size_t TimelineDrawList::shapeCount() const
{
    size_t n = 0;
    for (const Layer& l : layers)
        n += l.rects.size() + l.lines.size() + l.texts.size();
    return n;
}

void TimelineDrawList::paint(QPainter& painter) const
{
    QFont bold = font;
    bold.setBold(true);
    QFont small = font;
    small.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.85));
    for (const Layer& layer : layers) {
        painter.save();
        if (!layer.clip.isNull())
            painter.setClipRect(layer.clip);
        painter.setRenderHint(QPainter::Antialiasing, false);
        for (const Rect& r : layer.rects) {
            switch (r.style) {
            case RectStyle::Fill:
                painter.fillRect(r.rect, r.color);
                break;
            case RectStyle::Hatched: {
                painter.fillRect(r.rect, r.color);
                QColor ink = r.color.lightness() > 110 ? QColor(0, 0, 0, 110) : QColor(255, 255, 255, 120);
                painter.fillRect(r.rect, QBrush(ink, Qt::BDiagPattern));
                break;
            }
            case RectStyle::Uncertain: {
                QColor fill = r.color, ink = r.color;
                fill.setAlpha(45);
                ink.setAlpha(170);
                painter.fillRect(r.rect, fill);
                painter.fillRect(r.rect, QBrush(ink, Qt::BDiagPattern));
                break;
            }
            case RectStyle::Outline:
                painter.setPen(QPen(r.color, 2));
                painter.setBrush(Qt::NoBrush);
                painter.drawRect(r.rect.adjusted(1, 1, -1, -1));
                break;
            }
        }
        if (!layer.lines.empty()) {
            painter.setRenderHint(QPainter::Antialiasing, true);
            for (const Line& l : layer.lines) {
                QPen pen(l.color, l.width);
                if (l.dashed)
                    pen.setStyle(Qt::DashLine);
                painter.setPen(pen);
                painter.drawLine(l.from, l.to);
                if (l.arrowHead) {
                    QPointF d = l.to - l.from;
                    qreal len = std::hypot(d.x(), d.y());
                    if (len < 0.5)
                        continue;
                    d /= len;
                    QPointF n(-d.y(), d.x());
                    const qreal size = 5 + l.width;
                    QPainterPath head;
                    head.moveTo(l.to);
                    head.lineTo(l.to - d * size + n * size * 0.5);
                    head.lineTo(l.to - d * size - n * size * 0.5);
                    head.closeSubpath();
                    painter.fillPath(head, l.color);
                }
            }
            painter.setRenderHint(QPainter::Antialiasing, false);
        }
        FontRole current = FontRole::Normal;
        painter.setFont(font);
        for (const Text& t : layer.texts) {
            if (t.font != current) {
                current = t.font;
                painter.setFont(current == FontRole::Bold ? bold : current == FontRole::Small ? small : font);
            }
            painter.setPen(t.color);
            painter.drawText(t.rect, t.flags, t.text);
        }
        painter.restore();
    }
}

} // namespace ravel::gui
