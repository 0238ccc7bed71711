// DetailsPanel: the pane below the timeline. For the selected event or span: one line saying what
// the thread is doing then (waits for what, since when, held by whom; what it holds), its stack
// with function and file:line, and the source around the chosen frame when the file is on disk.
// A second tab lists the objects with the statistics of `ravel info`, the selected ones first.
#pragma once

#include <QWidget>

#include <functional>

class QCheckBox;
class QLabel;
class QSortFilterProxyModel;
class QTabWidget;
class QTableView;
class QTreeView;

namespace ravel::gui {

class ObjectStatsModel;
class RaceView;
class SourceView;
class StackModel;
class TimelineIndex;
class TraceDocument;
class ViewState;

class DetailsPanel : public QWidget {
    Q_OBJECT
public:
    DetailsPanel(TraceDocument* document, ViewState* state, QWidget* parent = nullptr);

    StackModel* stackModel() const { return m_stack; }
    ObjectStatsModel* objectStats() const { return m_objects; }
    QSortFilterProxyModel* objectProxy() const { return m_objectProxy; }
    SourceView* sourceView() const { return m_source; }
    QLabel* summaryLabel() const { return m_summary; }
    QTabWidget* tabs() const { return m_tabs; }
    RaceView* raceView() const { return m_race; }

    // The timeline's index, when built: the times the timeline draws (a hold overlap split,
    // a wait cut at its thread's exit), so Details says what the screen shows.
    void setTimelineIndex(std::function<const TimelineIndex*()> index);

    // Times are printed to the precision of the timeline's zoom (resolutionNs: ns per pixel, 0:
    // the default precision) and, where the trace cannot place them, as a range with `≈`.
    // "philosopher-0 waits for forks[1] since 1.204s · held by philosopher-1 · holds forks[0]"
    static QString describe(const TraceDocument& document, quint32 thread, quint64 timeNs,
                            const TimelineIndex* index = nullptr, double resolutionNs = 0);
    // "At 4.4ms: 6 threads alive, 5 blocked (philosopher-0 waits for forks[1]; …)"
    static QString describeMoment(const TraceDocument& document, quint64 timeNs, const TimelineIndex* index = nullptr,
                                  double resolutionNs = 0);
    // "Finding 1: deadlock: … · at 4.4ms · on forks[0], forks[1], …"
    static QString describeFinding(const TraceDocument& document, int index, double resolutionNs = 0);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void onEventSelected();
    void onSelectionChanged();
    void fitObjectColumns();
    void showFrame(int row);
    void syncRace(bool focus);

    TraceDocument* m_document;
    ViewState* m_state;
    StackModel* m_stack;
    ObjectStatsModel* m_objects;
    QSortFilterProxyModel* m_objectProxy;
    QLabel* m_summary;
    QTabWidget* m_tabs;
    QTreeView* m_stackView;
    SourceView* m_source;
    RaceView* m_race;
    int m_raceTab = -1;
    int m_objectsTab = -1;
    std::function<const TimelineIndex*()> m_index;
    QTableView* m_objectView;
    QCheckBox* m_onlySelected;
};

} // namespace ravel::gui
