// TimelineView: the timeline in the middle of the window (DESIGN.md, "The GUI"): a lane per
// thread grouped by process, running / blocked / held-lock spans, arrows from each release to the
// acquisition it enabled, a ruler, the playhead, selection, tooltips, zoom and pan by mouse and
// keyboard, a `?` overlay of the keys, and export of what is visible as PNG or SVG.
//
// The horizontal range is ViewState's visible range (the minimap and the playback bar move it
// too); the vertical scroll is this view's own. The TimelineIndex is built on a worker when the
// document has loaded; frames are built from it by TimelineFrameBuilder and painted from the draw
// list, so painting costs O(lanes x pixels) at any zoom.
#pragma once

#include "models/timeline_index.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"

#include <QAbstractScrollArea>
#include <QFutureWatcher>
#include <QPoint>

#include <atomic>
#include <memory>
#include <optional>

namespace ravel::gui {

class TraceDocument;
class ViewState;
class TimelineObjectNames;

class TimelineView : public QAbstractScrollArea {
    Q_OBJECT
public:
    TimelineView(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);
    ~TimelineView() override;

    // The index of the loaded trace, nullptr before it is built (indexChanged() says when).
    const TimelineIndex* index() const { return m_index.get(); }
    bool isBuilding() const { return m_build != nullptr; }

    // Writes the visible range as PNG or SVG, by the file's extension: a picture `size` pixels
    // (defaultExportSize() when invalid) with a title (trace, range, playhead, finding), the
    // ruler, every lane that fits (all of them at the default size) and the whole legend. On
    // failure returns false with one line in *error.
    bool exportImage(const QString& path, QString* error, QSize size = QSize());
    // At least 1600 px wide (the view's width when wider), tall enough for every lane.
    QSize defaultExportSize() const;
    // "dining.ravel — 4.1ms to 4.6ms, playhead at 4.43ms · finding 1: …", its times as precise
    // as one pixel of the picture (resolutionNs ns); 0: as one pixel of the view.
    QString exportTitle(double resolutionNs = 0) const;
    // The title's height in a picture `width` pixels wide: one line, or two when it needs them.
    int exportTitleHeight(int width) const;
    // Paints the visible timeline at `size` (what paintEvent, export and the benchmark use).
    void renderTimeline(QPainter& painter, const QSize& size);
    // The state of the frame the view would paint at `size`.
    TimelineFrame currentFrame(const QSize& size) const;

    // What the view shows, in ns: ViewState's range, or the whole run when that is empty.
    quint64 visibleFrom() const;
    quint64 visibleTo() const;

    void zoomBy(double factor, std::optional<quint64> anchor = std::nullopt); // < 1 zooms in
    void panBy(double fraction); // of the visible width; > 0 moves later
    void fit(); // the part of the run with activity (TimelineIndex::activityRange)
    // Brings finding `index` into view: its stretch of time at a zoom where it can be seen, its
    // moment not in the last pixels, its first thread's lane scrolled to.
    void focusFinding(int index);
    void zoomToSelection();
    void setKeysOverlayVisible(bool visible);
    // What the empty view says while no trace is open ("" for the default, "Open a trace…").
    void setPlaceholder(const QString& text);
    bool isKeysOverlayVisible() const { return m_showKeys; }

    // The height the view needs to show every lane, with the ruler and the legend, unscrolled
    // (0 before the index is built): the window gives the rest of a short timeline to Details.
    int neededHeight() const;

    // Where the state row of a thread's lane (of the active part) is, in viewport coordinates
    // (tests click there); empty when its process is collapsed.
    QRect laneStateRect(quint32 thread) const;
    // A run of several processes: each pid's header folds its lanes away (a click on it).
    bool isGroupCollapsed(int group) const; // TimelineIndex::groups()
    void setGroupCollapsed(int group, bool collapsed);
    QRect groupHeaderRect(int group) const; // in viewport coordinates; empty when scrolled away
    // The parts of the document as the timeline shows them, in order (one for a single trace).
    static std::vector<TimelineSource> timelineSourcesOf(const TraceDocument& document);
    // The data race whose marker (either access) is under pos: its finding index, or -1. A click
    // there chooses the finding, as the findings list does.
    int raceAt(const QPoint& pos) const;
    // The same for a misuse's cross on its thread's lane.
    int findingMarkAt(const QPoint& pos) const;
    QRect findingMarkRect(int finding) const; // in viewport coordinates; empty when not in view
    // The markers of race finding `finding` in viewport coordinates (the second access first),
    // empty rects when not in view.
    std::pair<QRect, QRect> raceMarkerRects(int finding) const;

signals:
    void indexChanged();
    void layoutChanged(); // a process folded or unfolded

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void keyPressEvent(QKeyEvent* event) override;
    void wheelEvent(QWheelEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;
    void mouseReleaseEvent(QMouseEvent* event) override;
    void scrollContentsBy(int dx, int dy) override;
    bool viewportEvent(QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Hit {
        int lane = -1;
        int row = -2;            // -1 state row, 0.. hold sub-row
        bool onItem = false;
        TimelineItem item;       // when onItem
        quint64 time = 0;
        bool inLabels = false;
        int group = -1;          // a process header
    };

    static constexpr int kExportTitleHeight = 28;

    int legendHeight(int width) const;
    void renderFrame(QPainter& painter, const TimelineFrame& frame);
    void renderExport(QPainter& painter, const QSize& size);
    void startBuild();
    void cancelBuild();
    void dropIndex();
    void relayout();
    void setRange(quint64 from, quint64 to, quint64 maxTo = 0); // maxTo: the range's end may reach it
    Hit hitAt(const QPoint& pos) const;
    void selectAt(const QPoint& pos, bool add);
    void syncSelectedSpan();
    void ensureLaneVisible(quint32 thread);
    void followPlayhead(quint64 ns);
public:
    // What the tooltip at pos says (tests read it).
    QString tooltipAt(const QPoint& pos);
private:
    QString raceTooltip(int finding, const QPoint& pos) const;
    QString groupTooltip(int group) const;
    int processOfLane(int lane) const;
    int playheadX() const;

    TraceDocument* m_document;
    ViewState* m_state;
    std::shared_ptr<TimelineIndex> m_index;
    std::unique_ptr<TimelineObjectNames> m_names;
    TimelineLayout m_layout;
    std::vector<bool> m_collapsed; // by TimelineIndex::groups()
    int m_labelWidth = 180;

    QFutureWatcher<std::shared_ptr<TimelineIndex>>* m_build = nullptr;
    std::shared_ptr<std::atomic<bool>> m_cancel;

    TimelineFrame::SpanType m_selectedType = TimelineFrame::SpanType::None;
    quint32 m_selectedRef = 0;
    bool m_showKeys = false;
    QString m_placeholder;

    enum class Drag { None, Pending, Pan, Playhead };
    Drag m_drag = Drag::None;
    QPoint m_pressPos;
    quint64 m_pressFrom = 0;
    quint64 m_pressTo = 0;
};

} // namespace ravel::gui
