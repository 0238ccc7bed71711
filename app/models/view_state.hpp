// ViewState: the one shared view state of the window (playhead, visible range, selection), as in
// Hotspot: every view reads it and subscribes to its signals, and no view talks to another. Setters
// emit only on change, so two views that echo each other's changes cannot loop.
#pragma once

#include <QList>
#include <QObject>

namespace ravel::gui {

class ViewState : public QObject {
    Q_OBJECT
public:
    explicit ViewState(QObject* parent = nullptr);

    // The trace's duration, for clamping; 0 when nothing is loaded (then nothing is clamped).
    quint64 duration() const { return m_duration; }
    void setDuration(quint64 ns);
    // Back to nothing selected, playhead at 0, whole run visible (a new trace).
    void reset(quint64 durationNs);

    quint64 playhead() const { return m_playhead; }
    void setPlayhead(quint64 ns); // clamped to [0, duration]

    quint64 visibleFrom() const { return m_visibleFrom; }
    quint64 visibleTo() const { return m_visibleTo; }
    void setVisibleRange(quint64 from, quint64 to);
    // What one pixel of the timeline spans (the visible range over its width, set by the
    // timeline): the precision times are printed with (TimelineRuler::timeAt).
    double nsPerPixel() const;
    void setViewWidth(int pixels);

    QList<quint32> selectedThreads() const { return m_threads; } // ravel thread ids
    void setSelectedThreads(const QList<quint32>& ravelTids);
    QList<quint32> selectedObjects() const { return m_objects; } // indices into ReplayModel::objects()
    void setSelectedObjects(const QList<quint32>& objectIndices);

    int selectedFinding() const { return m_finding; } // -1 none; index into TraceDocument::findings()
    void setSelectedFinding(int index);
    // Says a finding was chosen (again, perhaps): the views bring it into view. Always emits.
    void announceFindingFocused(int index) { emit findingFocused(index); }

    // The selected span or event, for the details pane: a thread, a time and the stack to show.
    void setSelectedEvent(quint32 thread, quint64 timeNs, quint32 stack);
    void clearSelectedEvent();
    bool hasSelectedEvent() const { return m_hasEvent; }
    quint32 selectedEventThread() const { return m_eventThread; }
    quint64 selectedEventTime() const { return m_eventTime; }
    quint32 selectedEventStack() const { return m_eventStack; }

signals:
    void playheadChanged(quint64 ns);
    void visibleRangeChanged(quint64 from, quint64 to);
    void selectionChanged(); // threads or objects
    void findingSelected(int index);
    void findingFocused(int index); // every time one is chosen, after findingSelected
    void eventSelected();

private:
    quint64 m_duration = 0;
    quint64 m_playhead = 0;
    quint64 m_visibleFrom = 0;
    quint64 m_visibleTo = 0;
    int m_viewWidth = 1000;
    QList<quint32> m_threads;
    QList<quint32> m_objects;
    int m_finding = -1;
    bool m_hasEvent = false;
    quint32 m_eventThread = 0;
    quint64 m_eventTime = 0;
    quint32 m_eventStack = 0;
};

} // namespace ravel::gui
