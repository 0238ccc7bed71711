#include "timeline/timeline_frame_builder.hpp"

#include "models/timeline_index.hpp"
#include "models/timeline_state.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_object_names.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_ruler.hpp"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace ravel::gui {

using Layer = TimelineDrawList::Layer;
using RectStyle = TimelineDrawList::RectStyle;
using FontRole = TimelineDrawList::FontRole;

QRect TimelineFrame::timeArea() const
{
    const int legend = showLegend ? legendHeight : 0;
    return QRect(labelWidth, TimelineLayout::kRulerHeight, std::max(1, size.width() - labelWidth),
                 std::max(1, size.height() - TimelineLayout::kRulerHeight - legend));
}

double TimelineFrame::nsPerPixel() const
{
    return to > from ? double(to - from) / double(timeArea().width()) : 1.0;
}

double TimelineFrame::xOf(quint64 t) const
{
    return labelWidth + (double(t) - double(from)) / nsPerPixel();
}

quint64 TimelineFrame::timeAt(double x) const
{
    double t = double(from) + (x - labelWidth) * nsPerPixel();
    return t <= 0 ? 0 : quint64(std::llround(t));
}

int TimelineFrame::widgetY(int contentY) const { return TimelineLayout::kRulerHeight + contentY - scrollY; }
int TimelineFrame::contentY(int widgetY) const { return widgetY - TimelineLayout::kRulerHeight + scrollY; }

namespace {

// Appends a span's rectangle, merging it into the previous one when they touch and look alike:
// a zoomed-out row of a million spans becomes a few long bars, not one rect per pixel.
void addRect(Layer& layer, size_t rowFirst, QRectF r, const QColor& color, RectStyle style)
{
    if (layer.rects.size() > rowFirst) {
        TimelineDrawList::Rect& last = layer.rects.back();
        if (last.style == style && last.color == color && last.rect.top() == r.top()
            && last.rect.height() == r.height() && r.left() <= last.rect.right() + 0.5) {
            last.rect.setRight(std::max(last.rect.right(), r.right()));
            return;
        }
    }
    layer.rects.push_back({ r, color, style });
}

// Pixel-aligned span rectangle, at least one pixel wide so nothing short disappears. Both ends
// round to the nearest pixel edge, so a span ending where another begins (a lock handed over)
// shares no pixel with it.
QRectF spanRect(const TimelineFrame& f, const QRect& area, quint64 start, quint64 end, int y, int h)
{
    double x0 = std::round(std::max(f.xOf(start), double(area.left()) - 2));
    double x1 = std::round(std::min(f.xOf(end), double(area.right()) + 2));
    if (x1 < x0 + 1)
        x1 = x0 + 1;
    return QRectF(x0, y, x1 - x0, h);
}

} // namespace

TimelineFrameBuilder::TimelineFrameBuilder(const TimelineIndex* index, const TimelineLayout* layout,
                                           const TimelinePalette& palette, const QFont& font,
                                           TimelineObjectNames* names)
    : m_index(index)
    , m_layout(layout)
    , m_palette(palette)
    , m_font(font)
    , m_small(font)
    , m_metrics(font)
    , m_smallMetrics(font)
    , m_boldMetrics(font)
    , m_names(names)
{
    m_small.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.85));
    m_smallMetrics = QFontMetricsF(m_small);
    QFont bold(font);
    bold.setBold(true);
    m_boldMetrics = QFontMetricsF(bold);
}

QString TimelineFrameBuilder::objectName(int part, quint32 object)
{
    return m_names ? m_names->name(part, object) : QStringLiteral("#%1").arg(object);
}

void TimelineFrameBuilder::addSpanText(Layer& layer, const QRectF& rect, const QString& text, const QColor& fill,
                                       bool small)
{
    const QFontMetricsF& fm = small ? m_smallMetrics : m_metrics;
    const double room = rect.width() - 6;
    if (room < fm.averageCharWidth() * 4)
        return;
    QString shown = fm.horizontalAdvance(text) <= room ? text : fm.elidedText(text, Qt::ElideRight, room);
    if (shown.size() < 3)
        return;
    layer.texts.push_back({ rect.adjusted(3, 0, -3, 0), shown, m_palette.textOn(fill),
                            int(Qt::AlignLeft | Qt::AlignVCenter), small ? FontRole::Small : FontRole::Normal });
}

TimelineDrawList TimelineFrameBuilder::build(const TimelineFrame& f)
{
    TimelineDrawList list;
    list.font = m_font;
    m_items = 0;
    const QRect whole(QPoint(0, 0), f.size);
    const QRect area = f.timeArea();
    Layer& background = list.addLayer(whole);
    background.rects.push_back({ QRectF(whole), m_palette.background(), RectStyle::Fill });
    if (!m_index || !m_layout || f.to <= f.from) {
        background.texts.push_back({ QRectF(whole), f.placeholder, m_palette.dimText(), int(Qt::AlignCenter),
                                     FontRole::Normal });
        return list;
    }
    Layer& content = list.addLayer(area);
    Layer& labels = list.addLayer(QRect(0, area.top(), f.labelWidth, area.height()));
    Layer& ruler = list.addLayer(QRect(0, 0, f.size.width(), TimelineLayout::kRulerHeight));
    buildRuler(f, content, ruler);
    buildLanes(f, content, labels);
    buildSelectedSpan(f, content);
    if (f.showArrows)
        buildArrows(f, content);
    buildRaces(f, content);
    buildFindingMarks(f, content);
    // The playhead over everything in the lanes.
    const double px = std::round(f.xOf(f.playhead)) + 0.5;
    if (px >= area.left() && px <= area.right() + 1) {
        content.lines.push_back({ QPointF(px, area.top()), QPointF(px, area.bottom() + 1), m_palette.playhead(), 1.5 });
        Layer& head = list.addLayer(QRect(area.left() - 6, 0, area.width() + 12, TimelineLayout::kRulerHeight));
        head.lines.push_back({ QPointF(px, 12), QPointF(px, TimelineLayout::kRulerHeight), m_palette.playhead(), 2.5,
                               true });
    }
    if (f.showLegend) {
        Layer& legend = list.addLayer(QRect(0, area.bottom() + 1, f.size.width(), f.legendHeight));
        buildLegend(f, legend);
    }
    if (f.showKeys) {
        Layer& overlay = list.addLayer(whole);
        buildKeys(f, overlay);
    }
    return list;
}

void TimelineFrameBuilder::buildLanes(const TimelineFrame& f, Layer& content, Layer& labels)
{
    const QRect area = f.timeArea();
    const double p = f.nsPerPixel();
    const std::vector<TimelineLane>& lanes = m_index->lanes();
    const std::vector<TimelineLayout::Lane>& geom = m_layout->lanes();
    labels.rects.push_back({ QRectF(0, area.top(), f.labelWidth, area.height()), m_palette.labelBackground(),
                             RectStyle::Fill });
    labels.rects.push_back({ QRectF(f.labelWidth - 1, area.top(), 1, area.height()), m_palette.grid(), RectStyle::Fill });

    buildHeaders(f, content, labels);

    auto [first, last] = m_layout->lanesIn(f.contentY(area.top()), f.contentY(area.bottom() + 1));
    std::vector<TimelineItem> items;
    for (int li = first; li < last; li++) {
        const TimelineLane& lane = lanes[size_t(li)];
        const TimelineLayout::Lane& g = geom[size_t(li)];
        if (g.height == 0)
            continue; // in a collapsed process
        const ReplayModel& model = m_index->model(lane.part);
        const int top = f.widgetY(g.top);
        const bool selected = lane.part == f.selectedPart && f.selectedThreads.contains(lane.thread);
        QRectF band(area.left(), top, area.width(), g.height);
        if (selected)
            content.rects.push_back({ band, m_palette.selection(), RectStyle::Fill });
        else if (li % 2)
            content.rects.push_back({ band, m_palette.laneAlternate(), RectStyle::Fill });

        // Labels column: the thread, what it is doing at the playhead is in the lane itself.
        QRectF labelBand(0, top, f.labelWidth - 1, g.height);
        if (selected)
            labels.rects.push_back({ labelBand, m_palette.selection(), RectStyle::Fill });
        if (lane.deadlocked)
            labels.rects.push_back({ QRectF(0, top, 4, g.height), m_palette.finding(), RectStyle::Fill });
        const int stateY = f.widgetY(g.stateTop);
        QString label = lane.label();
        if (lane.deadlocked)
            label = QStringLiteral("⚠ ") + label;
        const bool bold = lane.deadlocked || selected;
        // Elided as it is drawn: a bold label measured in the normal font would be cut, not elided.
        labels.texts.push_back({ QRectF(10, stateY, f.labelWidth - 14, TimelineLayout::kStateHeight),
                                 (bold ? m_boldMetrics : m_metrics).elidedText(label, Qt::ElideRight, f.labelWidth - 14),
                                 lane.deadlocked ? m_palette.finding() : m_palette.text(),
                                 int(Qt::AlignLeft | Qt::AlignVCenter),
                                 bold ? FontRole::Bold : FontRole::Normal });
        if (g.holdRows) {
            QString holds = lane.overflow ? QStringLiteral("holds (%1 rows)").arg(lane.holdRows.size())
                                          : QStringLiteral("holds");
            labels.texts.push_back({ QRectF(10, f.widgetY(g.holdTop) - 1, f.labelWidth - 14,
                                            TimelineLayout::kHoldHeight + 3),
                                     holds, m_palette.dimText(), int(Qt::AlignRight | Qt::AlignVCenter),
                                     FontRole::Small });
        }

        // The state row: running over the thread's life, blocked spans on top.
        if (lane.endNs >= f.from && lane.startNs < f.to) {
            QRectF alive = spanRect(f, area, lane.startNs, lane.endNs, stateY, TimelineLayout::kStateHeight);
            content.rects.push_back({ alive, m_palette.running(), RectStyle::Fill });
        }
        items.clear();
        lane.state.query(f.from, f.to, p, items);
        m_items += items.size();
        size_t rowFirst = content.rects.size();
        for (const TimelineItem& item : items) {
            QRectF r = spanRect(f, area, item.start, item.end, stateY, TimelineLayout::kStateHeight);
            QColor color = m_palette.span(item.state);
            addRect(content, rowFirst, r, color, isOpenState(item.state) ? RectStyle::Hatched : RectStyle::Fill);
            if (item.count == 1 && r.width() > 40) {
                const WaitSpan& w = model.waitSpans()[item.ref];
                QString what = spanKindOf(item.state) == SpanKind::WaitJoin ? QStringLiteral("joins ")
                                                                             : QStringLiteral("waits ");
                addSpanText(content, r, what + objectName(lane.part, w.object), color, false);
                rowFirst = content.rects.size(); // texts sit on this rect: never extend it under them
            }
            if (item.count == 1 && lane.part == f.selectedPart
                && f.selectedObjects.contains(model.waitSpans()[item.ref].object))
                content.rects.push_back({ r, m_palette.selectionOutline(), RectStyle::Outline });
        }

        // Held-lock sub-rows.
        for (int r = 0; r < g.holdRows; r++) {
            const TimelineRow& row = lane.shownHoldRow(r);
            const int y = f.widgetY(TimelineLayout::holdRowTop(g, r));
            items.clear();
            row.query(f.from, f.to, p, items);
            m_items += items.size();
            rowFirst = content.rects.size();
            for (const TimelineItem& item : items) {
                QRectF rect = spanRect(f, area, item.start, item.end, y, TimelineLayout::kHoldHeight);
                const HoldSpan& h = model.holdSpans()[item.ref];
                QColor color = item.count == 1
                    ? m_palette.lockHold(h.object, item.state)
                    : m_palette.span(quint8(SpanKind::HoldMany) | (item.state & kOpenBit));
                addRect(content, rowFirst, rect, color, RectStyle::Fill);
                if (item.count == 1 && isUncertainState(item.state)) {
                    // An end the trace cannot place (two holders' times overlapped): the part of
                    // the range this hold is drawn over, faded and hatched.
                    const TimelineHoldTimes t = m_index->holdTimes(lane.part, item.ref, false);
                    auto uncertain = [&](quint64 lo, quint64 hi) {
                        lo = std::max(lo, t.start);
                        hi = std::min(hi, t.end);
                        if (hi <= lo || hi < f.from || lo > f.to)
                            return;
                        QRectF u = spanRect(f, area, lo, hi, y, TimelineLayout::kHoldHeight).intersected(rect);
                        if (u.width() < 1)
                            return;
                        content.rects.push_back({ u, m_palette.background(), RectStyle::Fill });
                        content.rects.push_back({ u, color.darker(140), RectStyle::Uncertain });
                    };
                    if (t.startUncertain())
                        uncertain(t.startLo, t.startHi);
                    if (t.endUncertain())
                        uncertain(t.endLo, t.endHi);
                    rowFirst = content.rects.size();
                }
                if (item.count == 1 && rect.width() > 30) {
                    addSpanText(content, rect.adjusted(0, -1, 0, 1), objectName(lane.part, h.object), color, true);
                    rowFirst = content.rects.size();
                }
                if (item.count == 1 && lane.part == f.selectedPart && f.selectedObjects.contains(h.object))
                    content.rects.push_back({ rect.adjusted(0, -1, 0, 1), m_palette.selectionOutline(),
                                              RectStyle::Outline });
            }
        }
    }
}

void TimelineFrameBuilder::buildHeaders(const TimelineFrame& f, Layer& content, Layer& labels)
{
    const QRect area = f.timeArea();
    const std::vector<TimelineProcessGroup>& groups = m_index->groups();
    const std::vector<TimelineProcess>& processes = m_index->processes();
    // One process (a single trace) keeps the header it always had: its program and pid, no
    // fold marker; a run of several says each one's command line and end, and folds.
    const bool run = groups.size() > 1 || processes.size() > 1;
    for (size_t gi = 0; gi < groups.size(); gi++) {
        const TimelineProcessGroup& group = groups[gi];
        const TimelineLayout::Group& geom = m_layout->groups()[gi];
        const int y = f.widgetY(geom.top);
        if (y + TimelineLayout::kProcessHeight < area.top() || y > area.bottom())
            continue;
        QRectF band(0, y, f.size.width(), TimelineLayout::kProcessHeight);
        labels.rects.push_back({ band, m_palette.grid(), RectStyle::Fill });
        content.rects.push_back({ band, m_palette.grid(), RectStyle::Fill });
        // The process the selection is in (the details, stacks and graph show it) is marked.
        bool active = false;
        for (int pi = group.firstProcess; pi < group.firstProcess + group.processCount; pi++)
            active = active || processes[size_t(pi)].part == f.selectedPart;
        if (run && active && !f.selectedThreads.isEmpty())
            labels.rects.push_back({ QRectF(0, y, 4, TimelineLayout::kProcessHeight), m_palette.selectionOutline(),
                                     RectStyle::Fill });
        const int indent = run ? 6 + 10 * std::min(group.depth, 4) : 6;
        QString label = group.name;
        if (run)
            label = (geom.collapsed ? QStringLiteral("▸ ") : QStringLiteral("▾ ")) + label;
        // (A single process's label is measured as it always was, so it looks as it did.)
        labels.texts.push_back({ band.adjusted(indent, 0, 0, 0),
                                 run ? m_boldMetrics.elidedText(label, Qt::ElideRight, f.labelWidth - indent - 6)
                                     : m_metrics.elidedText(label, Qt::ElideRight, f.labelWidth - 12),
                                 m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Bold });
        QString detail = group.detail;
        if (detail.isEmpty())
            detail = QStringLiteral("pid %1  ·  %2 thread%3")
                         .arg(group.pid)
                         .arg(group.laneCount)
                         .arg(group.laneCount == 1 ? "" : "s");
        content.texts.push_back({ QRectF(area.left() + 6, y, area.width() - 12, TimelineLayout::kProcessHeight),
                                  run ? m_smallMetrics.elidedText(detail, Qt::ElideRight, area.width() - 12) : detail,
                                  m_palette.dimText(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Small });
    }
    // A later image of a pid: a thin sub-header at the exec, naming the program it runs.
    for (size_t pi = 0; pi < processes.size(); pi++) {
        const TimelineLayout::Process& geom = m_layout->processes()[pi];
        if (!geom.shown)
            continue;
        const int y = f.widgetY(geom.top);
        if (y + TimelineLayout::kImageHeight < area.top() || y > area.bottom())
            continue;
        const TimelineProcess& proc = processes[pi];
        const int indent = 16 + 10 * std::min(groups[size_t(proc.group)].depth, 4);
        QRectF band(0, y, f.size.width(), TimelineLayout::kImageHeight - 1);
        labels.rects.push_back({ band, m_palette.laneAlternate(), RectStyle::Fill });
        content.rects.push_back({ band, m_palette.laneAlternate(), RectStyle::Fill });
        labels.texts.push_back({ band.adjusted(indent, 0, 0, 0),
                                 m_smallMetrics.elidedText(proc.name, Qt::ElideRight, f.labelWidth - indent - 6),
                                 m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Small });
        content.texts.push_back({ QRectF(area.left() + 6, y, area.width() - 12, TimelineLayout::kImageHeight - 1),
                                  m_smallMetrics.elidedText(proc.imageLabel, Qt::ElideRight, area.width() - 12),
                                  m_palette.dimText(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Small });
    }
}

void TimelineFrameBuilder::buildSelectedSpan(const TimelineFrame& f, Layer& content)
{
    if (f.selectedType == TimelineFrame::SpanType::None)
        return;
    if (f.selectedPart >= m_index->partCount())
        return;
    const int part = f.selectedPart;
    const ReplayModel& model = m_index->model(part);
    const QRect area = f.timeArea();
    quint64 start, end;
    quint32 thread;
    int y = 0, h = 0;
    // The ranges the clock allows for the span's ends (interpolated times), drawn under the
    // selected span: where its start and end may really have been.
    std::pair<quint64, quint64> startRange, endRange;
    bool openEnd = false;
    if (f.selectedType == TimelineFrame::SpanType::Wait) {
        if (f.selectedRef >= model.waitSpans().size())
            return;
        const WaitSpan& w = model.waitSpans()[f.selectedRef];
        std::tie(start, end) = m_index->waitTimes(part, f.selectedRef);
        thread = w.thread;
        startRange = m_index->clockBounds(part, thread, start);
        endRange = m_index->clockBounds(part, thread, end);
        openEnd = w.end == kOpenEnd;
        int li = m_index->laneOf(part, thread);
        if (li < 0 || m_layout->lanes()[size_t(li)].height == 0)
            return;
        y = f.widgetY(m_layout->lanes()[size_t(li)].stateTop);
        h = TimelineLayout::kStateHeight;
    } else {
        if (f.selectedRef >= model.holdSpans().size())
            return;
        const HoldSpan& hs = model.holdSpans()[f.selectedRef];
        const TimelineHoldTimes times = m_index->holdTimes(part, f.selectedRef, true);
        start = times.start;
        end = times.end;
        thread = hs.thread;
        startRange = { times.startLo, times.startHi };
        endRange = { times.endLo, times.endHi };
        openEnd = hs.end == kOpenEnd;
        int li = m_index->laneOf(part, thread);
        if (li < 0 || m_layout->lanes()[size_t(li)].height == 0)
            return;
        const TimelineLane& lane = m_index->lanes()[size_t(li)];
        const TimelineLayout::Lane& g = m_layout->lanes()[size_t(li)];
        int row = -1;
        for (size_t r = 0; r < lane.holdRows.size() && row < 0; r++) {
            const TimelineItem* item = lane.holdRows[r].spanAt(start);
            if (item && item->ref == f.selectedRef)
                row = int(r);
        }
        if (row < 0)
            return;
        row = std::min(row, g.holdRows - 1);
        y = f.widgetY(TimelineLayout::holdRowTop(g, row));
        h = TimelineLayout::kHoldHeight;
    }
    if (end < f.from || start > f.to)
        return;
    auto range = [&](std::pair<quint64, quint64> at) {
        if (at.second <= at.first || f.xOf(at.second) - f.xOf(at.first) < 2)
            return;
        content.rects.push_back({ spanRect(f, area, at.first, at.second, y + h + 1, 3), m_palette.selectionOutline(),
                                  RectStyle::Uncertain });
    };
    range(startRange);
    if (!openEnd)
        range(endRange);
    QRectF r = spanRect(f, area, start, end, y, h).adjusted(-2, -2, 2, 2);
    if (r.width() < 7) // a sub-pixel span still gets a frame one can see
        r.adjust(-(7 - r.width()) / 2, 0, (7 - r.width()) / 2, 0);
    content.rects.push_back({ r, m_palette.selectionOutline(), RectStyle::Outline });
}

void TimelineFrameBuilder::buildArrows(const TimelineFrame& f, Layer& content)
{
    std::vector<TimelineArrow> arrows;
    m_index->arrowsIn(f.from, f.to, f.nsPerPixel(), f.selectedThreads, 12.0, arrows, f.selectedPart);
    m_items += arrows.size();
    const QRect area = f.timeArea();
    for (const TimelineArrow& a : arrows) {
        int fromLane = m_index->laneOf(a.part, a.fromThread);
        int toLane = m_index->laneOf(a.part, a.toThread);
        if (fromLane < 0 || toLane < 0 || m_layout->lanes()[size_t(fromLane)].height == 0
            || m_layout->lanes()[size_t(toLane)].height == 0)
            continue;
        const double y0 = f.widgetY(m_layout->lanes()[size_t(fromLane)].stateTop) + TimelineLayout::kStateHeight / 2.0;
        const double y1 = f.widgetY(m_layout->lanes()[size_t(toLane)].stateTop) + TimelineLayout::kStateHeight / 2.0;
        if ((y0 < area.top() && y1 < area.top()) || (y0 > area.bottom() && y1 > area.bottom()))
            continue;
        const bool selected = a.part == f.selectedPart
            && (f.selectedThreads.contains(a.fromThread) || f.selectedThreads.contains(a.toThread));
        QColor color = a.kind == TimelineArrow::Message ? m_palette.messageArrow() : m_palette.handoffArrow();
        content.lines.push_back({ QPointF(f.xOf(a.fromNs), y0), QPointF(f.xOf(a.toNs), y1), color,
                                  selected ? 2.0 : 1.0, true });
    }
}

std::optional<TimelineFrameBuilder::RaceGeometry> TimelineFrameBuilder::raceGeometry(const TimelineFrame& f,
                                                                                const TimelineIndex& index,
                                                                                const TimelineLayout& layout,
                                                                                const TimelineRaceMark& m)
{
    const int second = index.laneOf(m.part, m.thread), first = index.laneOf(m.part, m.firstThread);
    if (second < 0 || first < 0 || size_t(std::max(second, first)) >= layout.lanes().size()
        || layout.lanes()[size_t(second)].height == 0 || layout.lanes()[size_t(first)].height == 0)
        return std::nullopt;
    if (std::max(m.timeNs, m.firstToNs) < f.from || std::min(m.timeNs, m.firstFromNs) > f.to)
        return std::nullopt;
    RaceGeometry g;
    const double y2 = f.widgetY(layout.lanes()[size_t(second)].stateTop);
    const double x2 = std::round(f.xOf(m.timeNs));
    g.second = QRectF(x2 - 3, y2 - 3, 7, TimelineLayout::kStateHeight + 6);
    const double y1 = f.widgetY(layout.lanes()[size_t(first)].stateTop);
    const double x0 = std::max(f.xOf(m.firstFromNs), double(f.labelWidth) - 2);
    const double x1 = std::min(f.xOf(m.firstToNs), double(f.size.width()) + 2);
    if (m.firstToNs < f.from || m.firstFromNs > f.to) {
        g.first = QRectF(); // out of view: the link still points toward it
        g.firstIsRange = false;
        return g;
    }
    g.firstIsRange = x1 - x0 >= 7;
    g.first = g.firstIsRange ? QRectF(std::floor(x0), y1 - 3, std::ceil(x1) - std::floor(x0), TimelineLayout::kStateHeight + 6)
                             : QRectF(std::round(x1) - 3, y1 - 3, 7, TimelineLayout::kStateHeight + 6);
    return g;
}

void TimelineFrameBuilder::buildRaces(const TimelineFrame& f, Layer& content)
{
    const QColor red = m_palette.finding();
    for (const TimelineRaceMark& m : m_index->raceMarks()) {
        const auto g = raceGeometry(f, *m_index, *m_layout, m);
        if (!g)
            continue;
        const bool selected = m.finding == f.selectedFinding;
        if (g->first.isNull()) {
            content.rects.push_back({ g->second, red, RectStyle::Fill });
            continue;
        }
        // The earlier access was not timed: its whole range, faded and hatched, with its ends
        // marked, so it reads "somewhere in here", never as an instant.
        if (g->firstIsRange) {
            content.rects.push_back({ g->first, red, RectStyle::Uncertain });
            content.rects.push_back({ QRectF(g->first.left(), g->first.top(), 2, g->first.height()), red, RectStyle::Fill });
            content.rects.push_back({ QRectF(g->first.right() - 2, g->first.top(), 2, g->first.height()), red,
                                      RectStyle::Fill });
        } else {
            content.rects.push_back({ g->first, red, RectStyle::Fill });
        }
        content.rects.push_back({ g->second, red, RectStyle::Fill });
        content.rects.push_back({ g->second.adjusted(-1, -1, 1, 1), m_palette.background(), RectStyle::Outline });
        if (selected) {
            content.rects.push_back({ g->second.adjusted(-3, -3, 3, 3), m_palette.selectionOutline(), RectStyle::Outline });
            content.rects.push_back({ g->first.adjusted(-3, -3, 3, 3), m_palette.selectionOutline(), RectStyle::Outline });
        }
        // The link: from the latest the earlier access can have been to the second one, dashed
        // where one end is a range.
        const QPointF from(g->firstIsRange ? g->first.right() - 1 : g->first.center().x(), g->first.center().y());
        content.lines.push_back({ from, g->second.center(), red, selected ? 2.5 : 1.5, true, g->firstIsRange });
    }
}

std::optional<QRectF> TimelineFrameBuilder::findingMarkRect(const TimelineFrame& f, const TimelineIndex& index,
                                                            const TimelineLayout& layout, const TimelineFindingMark& m)
{
    if (!m.onLane || m.timeNs < f.from || m.timeNs > f.to)
        return std::nullopt;
    const int lane = index.laneOf(m.part, m.thread);
    if (lane < 0 || size_t(lane) >= layout.lanes().size() || layout.lanes()[size_t(lane)].height == 0)
        return std::nullopt;
    const double x = std::round(f.xOf(m.timeNs)) + 0.5;
    const double y = f.widgetY(layout.lanes()[size_t(lane)].stateTop);
    return QRectF(x - 5, y - 1, 10, TimelineLayout::kStateHeight + 2);
}

void TimelineFrameBuilder::buildFindingMarks(const TimelineFrame& f, Layer& content)
{
    const QColor red = m_palette.finding();
    for (const TimelineFindingMark& m : m_index->findingMarks()) {
        const auto r = findingMarkRect(f, *m_index, *m_layout, m);
        if (!r)
            continue;
        // A cross, haloed so it reads on a red wait too.
        for (const auto& [color, width] : { std::pair(m_palette.background(), 4.5), std::pair(red, 2.5) }) {
            content.lines.push_back({ r->topLeft(), r->bottomRight(), color, width });
            content.lines.push_back({ r->bottomLeft(), r->topRight(), color, width });
        }
        if (m.finding == f.selectedFinding)
            content.rects.push_back({ r->adjusted(-3, -3, 3, 3), m_palette.selectionOutline(), RectStyle::Outline });
    }
}

void TimelineFrameBuilder::buildRuler(const TimelineFrame& f, Layer& content, Layer& ruler)
{
    const QRect area = f.timeArea();
    const int h = TimelineLayout::kRulerHeight;
    ruler.rects.push_back({ QRectF(0, 0, f.size.width(), h), m_palette.labelBackground(), RectStyle::Fill });
    ruler.rects.push_back({ QRectF(0, h - 1, f.size.width(), 1), m_palette.grid(), RectStyle::Fill });
    TimelineRuler::Ticks ticks = TimelineRuler::ticks(f.from, f.to, area.width());
    for (const TimelineRuler::Tick& t : ticks.ticks) {
        const double x = std::round(f.xOf(t.timeNs)) + 0.5;
        const bool major = !t.label.isEmpty();
        ruler.rects.push_back({ QRectF(x, major ? h - 9 : h - 5, 1, major ? 8 : 4), m_palette.dimText(),
                                RectStyle::Fill });
        if (major) {
            // Right of its tick; the last one, when that would run off the edge, left of it.
            const double w = std::ceil(m_smallMetrics.horizontalAdvance(t.label)) + 1;
            const QRectF at = x + 3 + w <= f.size.width() ? QRectF(x + 3, 1, w, h - 8) : QRectF(x - 3 - w, 1, w, h - 8);
            ruler.texts.push_back({ at, t.label, m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Small });
            content.rects.push_back({ QRectF(x, area.top(), 1, area.height()), m_palette.grid(), RectStyle::Fill });
        }
    }
    QString corner = ticks.base.isEmpty() ? QStringLiteral("time") : ticks.base + QStringLiteral(" +");
    ruler.texts.push_back({ QRectF(6, 0, f.labelWidth - 10, h), corner, m_palette.dimText(),
                            int(Qt::AlignLeft | Qt::AlignVCenter), ticks.base.isEmpty() ? FontRole::Small : FontRole::Bold });
    // Findings: a red mark on the ruler; a deadlock also a line down the lanes, the one thing a
    // first look must not miss.
    for (const TimelineFindingMark& m : m_index->findingMarks()) {
        if (m.timeNs < f.from || m.timeNs > f.to)
            continue;
        const double x = std::round(f.xOf(m.timeNs)) + 0.5;
        ruler.lines.push_back({ QPointF(x, 2), QPointF(x, h - 2), m_palette.finding(), 3.0 });
        if (m.deadlock)
            content.lines.push_back({ QPointF(x, area.top()), QPointF(x, area.bottom() + 1), m_palette.finding(),
                                      1.5, false, true });
    }
}

namespace {

constexpr int kLegendRow = 18; // each further row of the legend

double swatchWidth(const TimelinePalette::LegendEntry& e)
{
    using Swatch = TimelinePalette::LegendEntry::Swatch;
    return e.swatch == Swatch::Arrow ? 18 : e.swatch == Swatch::RaceRange ? 18 : e.swatch == Swatch::RaceMark ? 7 : e.swatch == Swatch::Cross ? 10 : 12;
}

// Where each legend entry goes at `width`: a new row whenever the next one would not fit, so the
// whole legend is always shown.
std::vector<QPointF> legendPositions(const std::vector<TimelinePalette::LegendEntry>& entries,
                                     const QFontMetricsF& fm, int width, int* rows)
{
    std::vector<QPointF> out;
    double x = 8;
    int row = 0;
    for (const TimelinePalette::LegendEntry& e : entries) {
        const double w = swatchWidth(e) + 4 + fm.horizontalAdvance(e.text);
        if (x > 8 && x + w > width - 4) {
            x = 8;
            row++;
        }
        out.emplace_back(x, row * kLegendRow);
        x += w + 12;
    }
    *rows = row + 1;
    return out;
}

} // namespace

std::vector<TimelinePalette::LegendEntry> TimelineFrameBuilder::legendEntries(const TimelinePalette& palette,
                                                                              const TimelineIndex* index)
{
    const bool misuse = index
        && std::any_of(index->findingMarks().begin(), index->findingMarks().end(),
                       [](const TimelineFindingMark& m) { return m.onLane; });
    return palette.legend(index && index->hasMessageArrows(), index && !index->raceMarks().empty(), misuse);
}

int TimelineFrameBuilder::legendHeightFor(int width, const QFont& font, const TimelineIndex* index)
{
    QFont small(font);
    small.setPointSizeF(std::max(6.0, font.pointSizeF() * 0.85));
    int rows = 1;
    legendPositions(legendEntries(TimelinePalette(QPalette()), index), QFontMetricsF(small), width, &rows);
    return TimelineLayout::kLegendHeight + (rows - 1) * kLegendRow;
}

void TimelineFrameBuilder::buildLegend(const TimelineFrame& f, Layer& legend)
{
    using Swatch = TimelinePalette::LegendEntry::Swatch;
    const QRect clip = legend.clip;
    legend.rects.push_back({ QRectF(clip), m_palette.labelBackground(), RectStyle::Fill });
    legend.rects.push_back({ QRectF(clip.left(), clip.top(), clip.width(), 1), m_palette.grid(), RectStyle::Fill });
    const std::vector<TimelinePalette::LegendEntry> entries = legendEntries(m_palette, m_index);
    int rows = 1;
    const std::vector<QPointF> at = legendPositions(entries, m_smallMetrics, f.size.width(), &rows);
    for (size_t i = 0; i < entries.size(); i++) {
        const TimelinePalette::LegendEntry& e = entries[i];
        const double x = at[i].x(), top = clip.top() + at[i].y();
        switch (e.swatch) {
        case Swatch::Fill:
        case Swatch::Hatched:
            legend.rects.push_back({ QRectF(x, top + 5, 12, 12), e.color,
                                     e.swatch == Swatch::Hatched ? RectStyle::Hatched : RectStyle::Fill });
            break;
        case Swatch::Arrow:
            legend.lines.push_back({ QPointF(x, top + 11), QPointF(x + 18, top + 11), e.color, 1.2, true });
            break;
        case Swatch::RaceMark: // as buildRaces draws the timed access: a bar across the lane
            legend.rects.push_back({ QRectF(x, top + 3, 7, 16), e.color, RectStyle::Fill });
            break;
        case Swatch::Cross: // as buildFindingMarks draws a misuse
            legend.lines.push_back({ QPointF(x, top + 5), QPointF(x + 10, top + 17), e.color, 2.5 });
            legend.lines.push_back({ QPointF(x, top + 17), QPointF(x + 10, top + 5), e.color, 2.5 });
            break;
        case Swatch::RaceRange: // and the untimed one: its range, ends marked
            legend.rects.push_back({ QRectF(x, top + 3, 18, 16), e.color, RectStyle::Uncertain });
            legend.rects.push_back({ QRectF(x, top + 3, 2, 16), e.color, RectStyle::Fill });
            legend.rects.push_back({ QRectF(x + 16, top + 3, 2, 16), e.color, RectStyle::Fill });
            break;
        }
        const double textX = x + swatchWidth(e) + 4;
        legend.texts.push_back({ QRectF(textX, top, m_smallMetrics.horizontalAdvance(e.text) + 4, TimelineLayout::kLegendHeight),
                                 e.text, m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Small });
    }
}

QList<QPair<QString, QString>> TimelineFrameBuilder::keyHelp()
{
    return {
        { QStringLiteral("W / S, Up / Down"), QStringLiteral("zoom in / out around the playhead") },
        { QStringLiteral("A / D, Left / Right"), QStringLiteral("pan left / right") },
        { QStringLiteral("Wheel"), QStringLiteral("zoom around the cursor") },
        { QStringLiteral("Shift+Wheel, PgUp / PgDn"), QStringLiteral("scroll the lanes") },
        { QStringLiteral("Drag"), QStringLiteral("pan; drag the playhead or the ruler to move it") },
        { QStringLiteral("Click"), QStringLiteral("select a span (a held lock selects the lock)") },
        { QStringLiteral("Ctrl+Click"), QStringLiteral("add a thread to the selection") },
        { QStringLiteral("Z"), QStringLiteral("zoom to the selection") },
        { QStringLiteral("F"), QStringLiteral("fit the run's activity") },
        { QStringLiteral("Esc"), QStringLiteral("clear the selection") },
        { QStringLiteral("?"), QStringLiteral("show or hide this help") },
    };
}

void TimelineFrameBuilder::buildKeys(const TimelineFrame& f, Layer& overlay)
{
    const QList<QPair<QString, QString>> keys = keyHelp();
    // The keys are drawn bold: measured bold, or the widest is cut.
    const QFontMetricsF& boldMetrics = m_boldMetrics;
    const double line = std::max(m_metrics.height(), boldMetrics.height()) + 4;
    double keyWidth = boldMetrics.horizontalAdvance(QStringLiteral("Timeline keys")), textWidth = 0;
    for (const auto& [key, what] : keys) {
        keyWidth = std::max(keyWidth, boldMetrics.horizontalAdvance(key));
        textWidth = std::max(textWidth, m_metrics.horizontalAdvance(what));
    }
    keyWidth = std::ceil(keyWidth);
    textWidth = std::ceil(textWidth);
    const double w = keyWidth + textWidth + 60;
    const double h = line * (keys.size() + 1) + 24;
    // Centred; in a view too small for it, from the top left, so its start is always readable.
    QRectF box(std::max(0.0, (f.size.width() - w) / 2), std::max(0.0, (f.size.height() - h) / 2), w, h);
    QColor shade = m_palette.labelBackground();
    shade.setAlpha(240);
    overlay.rects.push_back({ box, shade, RectStyle::Fill });
    overlay.rects.push_back({ box, m_palette.text(), RectStyle::Outline });
    double y = box.top() + 12;
    overlay.texts.push_back({ QRectF(box.left() + 20, y, w - 40, line), QStringLiteral("Timeline keys"),
                              m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Bold });
    for (const auto& [key, what] : keys) {
        y += line;
        overlay.texts.push_back({ QRectF(box.left() + 20, y, keyWidth + 10, line), key, m_palette.text(),
                                  int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Bold });
        overlay.texts.push_back({ QRectF(box.left() + 40 + keyWidth, y, textWidth + 10, line), what,
                                  m_palette.text(), int(Qt::AlignLeft | Qt::AlignVCenter), FontRole::Normal });
    }
}

} // namespace ravel::gui
