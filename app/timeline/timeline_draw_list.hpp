// TimelineDrawList: one frame of the timeline as plain shapes (rectangles, lines, texts) in
// layers, built by TimelineFrameBuilder apart from painting (as Tracy does) so the expensive part
// (walking the index) is testable and timed on its own, and one paint() serves the screen, PNG
// and SVG export alike.
#pragma once

#include <QColor>
#include <QFont>
#include <QPointF>
#include <QRect>
#include <QRectF>
#include <QString>

#include <deque>
#include <vector>

class QPainter;

namespace ravel::gui {

class TimelineDrawList {
public:
    enum class RectStyle : quint8 {
        Fill,     // a span
        Hatched,  // a span that never ended (a hang): filled, then hatched
        Outline,  // a selection frame
        Uncertain, // a time that is only known to lie in this range: faded, hatched in its own colour
    };
    struct Rect {
        QRectF rect;
        QColor color;
        RectStyle style = RectStyle::Fill;
    };
    struct Line {
        QPointF from;
        QPointF to;
        QColor color;
        qreal width = 1;
        bool arrowHead = false; // at `to`
        bool dashed = false;
    };
    enum class FontRole : quint8 { Normal, Bold, Small };
    struct Text {
        QRectF rect; // clipped to it
        QString text;
        QColor color;
        int flags = 0; // Qt::AlignmentFlag
        FontRole font = FontRole::Normal;
    };
    struct Layer {
        QRect clip; // null: no clip
        std::vector<Rect> rects;
        std::vector<Line> lines;
        std::vector<Text> texts;
    };

    std::deque<Layer> layers; // a deque: builders hold references to layers while adding more
    QFont font; // the Normal font; Bold and Small derive from it

    Layer& addLayer(const QRect& clip)
    {
        layers.push_back({ clip, {}, {}, {} });
        return layers.back();
    }
    size_t shapeCount() const;
    void paint(QPainter& painter) const;
};

} // namespace ravel::gui
