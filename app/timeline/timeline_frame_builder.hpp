// TimelineFrameBuilder: turns the index, the layout and the view's state into one frame's draw
// list: lanes (running, blocked and held-lock spans from the pyramid queries), arrows, the ruler,
// the labels column, the playhead, the legend and the keys overlay. The work is bounded by lanes
// on screen x pixels: rows are queried only for lanes in view, at the view's ns per pixel, and
// adjacent pixels of one color merge into one rectangle.
#pragma once

#include "timeline/timeline_draw_list.hpp"
#include "timeline/timeline_palette.hpp"

#include <QFont>
#include <QFontMetricsF>
#include <QList>
#include <QSize>
#include <QString>

#include <optional>
#include <vector>

namespace ravel::gui {

class TimelineIndex;
struct TimelineFindingMark;
struct TimelineRaceMark;
class TimelineLayout;
class TimelineObjectNames;

// The view's state for one frame (what TimelineView holds; tests and the benchmark make their own).
struct TimelineFrame {
    enum class SpanType : quint8 { None, Wait, Hold };
    QSize size;               // the painted area, labels column and ruler included
    int labelWidth = 200;
    quint64 from = 0;         // the visible time range
    quint64 to = 0;
    int scrollY = 0;          // content pixels scrolled off the top
    quint64 playhead = 0;
    QList<quint32> selectedThreads; // of selectedPart (TraceDocument::activePart)
    QList<quint32> selectedObjects;
    int selectedPart = 0;
    SpanType selectedType = SpanType::None; // the selected span, outlined
    quint32 selectedRef = 0;  // its index into the model's wait or hold spans
    int selectedFinding = -1; // its race markers, if it is a race, drawn stronger
    bool showArrows = true;
    bool showLegend = true;
    int legendHeight = 22;    // TimelineLayout::kLegendHeight per row; legendHeightFor(width) wraps it
    bool showKeys = false;    // the `?` overlay
    QString placeholder;      // shown when there is no index ("Open a trace…")

    QRect timeArea() const;   // where spans are drawn, in widget coordinates
    double nsPerPixel() const;
    double xOf(quint64 t) const;
    quint64 timeAt(double x) const; // clamped to >= 0
    int widgetY(int contentY) const;
    int contentY(int widgetY) const;
};

class TimelineFrameBuilder {
public:
    // index and layout may be null (then only the placeholder is drawn); names may be null (then
    // spans carry no object names).
    TimelineFrameBuilder(const TimelineIndex* index, const TimelineLayout* layout, const TimelinePalette& palette,
                         const QFont& font, TimelineObjectNames* names);

    TimelineDrawList build(const TimelineFrame& frame);
    // The legend's height at `width`: it wraps onto as many rows as it needs, never cut. With an
    // index, the entries its trace needs (message arrows, race markers) are counted too.
    static int legendHeightFor(int width, const QFont& font, const TimelineIndex* index = nullptr);
    // What the legend lists for `index` (may be null), in order.
    static std::vector<TimelinePalette::LegendEntry> legendEntries(const TimelinePalette& palette,
                                                                   const TimelineIndex* index);

    // Items the last build took from the index (for tests and the benchmark: it must stay
    // O(lanes x pixels) at any zoom).
    size_t lastItemCount() const { return m_items; }

    // The keys listed by the `?` overlay (and Help > Keys): key, what it does.
    static QList<QPair<QString, QString>> keyHelp();

    // Where a race's markers are drawn in frame f (widget coordinates), for drawing and hit tests:
    // the second access's marker, and the first access's range (a marker when it is narrow).
    struct RaceGeometry {
        QRectF second;
        QRectF first;
        bool firstIsRange = false;
    };
    static std::optional<RaceGeometry> raceGeometry(const TimelineFrame& f, const TimelineIndex& index,
                                                    const TimelineLayout& layout, const TimelineRaceMark& mark);

    // Where an instant finding's marker (a misuse's cross) is drawn on its thread's lane in
    // frame f, for drawing and hit tests; nullopt when it has none or it is out of view.
    static std::optional<QRectF> findingMarkRect(const TimelineFrame& f, const TimelineIndex& index,
                                                 const TimelineLayout& layout, const TimelineFindingMark& mark);

private:
    void buildFindingMarks(const TimelineFrame& f, TimelineDrawList::Layer& content);
    void buildLanes(const TimelineFrame& f, TimelineDrawList::Layer& content, TimelineDrawList::Layer& labels);
    void buildSelectedSpan(const TimelineFrame& f, TimelineDrawList::Layer& content);
    void buildArrows(const TimelineFrame& f, TimelineDrawList::Layer& content);
    void buildRaces(const TimelineFrame& f, TimelineDrawList::Layer& content);
    void buildRuler(const TimelineFrame& f, TimelineDrawList::Layer& content, TimelineDrawList::Layer& ruler);
    void buildLegend(const TimelineFrame& f, TimelineDrawList::Layer& legend);
    void buildKeys(const TimelineFrame& f, TimelineDrawList::Layer& overlay);
    QString objectName(int part, quint32 object);
    void buildHeaders(const TimelineFrame& f, TimelineDrawList::Layer& content, TimelineDrawList::Layer& labels);
    void addSpanText(TimelineDrawList::Layer& layer, const QRectF& rect, const QString& text, const QColor& fill,
                     bool small);

    const TimelineIndex* m_index;
    const TimelineLayout* m_layout;
    const TimelinePalette& m_palette;
    QFont m_font;
    QFont m_small;
    QFontMetricsF m_metrics;
    QFontMetricsF m_smallMetrics;
    QFontMetricsF m_boldMetrics;
    TimelineObjectNames* m_names;
    size_t m_items = 0;
};

} // namespace ravel::gui
