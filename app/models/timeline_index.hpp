// TimelineIndex: everything the timeline draws, indexed once per trace so any frame costs
// O(lanes x pixels): a lane per thread (grouped by process) with its state row (blocked spans by
// kind; running is the rest of the thread's life) and held-lock sub-rows, each a TimelineRow
// pyramid; the arrows (release -> the acquisition it enabled, send -> receive) sorted by time; the
// event density and the findings for the minimap; and event navigation for the playback bar.
// Built on a worker from the ReplayModel, read-only afterwards (any thread may query it). It
// refers to the model by index, so it lives no longer than the TraceDocument's load.
//
// A run of several processes is one index over several models (the TraceDocument's parts, all on
// one clock): each lane, arrow and mark says which part it is of, and its thread, spans and
// objects are that part's ids. The processes are shown in the order given, each image of a pid
// (a part) one after the other in a group with the pid's header.
#pragma once

#include "models/timeline_row.hpp"

#include "base/finding.hpp"
#include "model/replay_model.hpp"

#include <QList>
#include <QString>

#include <atomic>
#include <memory>
#include <optional>
#include <vector>

namespace ravel::gui {

struct TimelineArrow {
    enum Kind : quint8 { Handoff, Message };
    quint64 fromNs = 0;
    quint64 toNs = 0;
    quint32 fromThread = 0; // ravel thread ids
    quint32 toThread = 0;
    quint32 object = 0;     // index into ReplayModel::objects()
    Kind kind = Handoff;
    quint16 part = 0;       // of the TraceDocument: the model the threads and object are of
};

struct TimelineLane {
    quint32 thread = 0;     // ravel thread id (of its part)
    quint32 pid = 0;
    int part = 0;           // of the TraceDocument
    QString name;           // the thread's name, "main" for a process's first thread, or empty
    quint64 startNs = 0;    // alive from start to end (end: exit, or the trace's end)
    quint64 endNs = 0;
    bool exited = false;
    bool deadlocked = false; // a thread of a deadlock finding
    TimelineRow state;      // blocked spans
    std::vector<TimelineRow> holdRows; // every sub-row: a hold goes to the lowest free one
    // When a thread nests more locks than the view shows rows for, the rows from
    // kShownHoldRows - 1 on are shown as this one row: the union of their holds, with counts.
    std::optional<TimelineRow> overflow;
    std::vector<quint32> arrows; // indices into arrows() touching this lane, by toNs

    static constexpr int kShownHoldRows = 6;
    int shownHoldRows() const { return std::min<int>(int(holdRows.size()), kShownHoldRows); }
    const TimelineRow& shownHoldRow(int i) const
    {
        return (overflow && i == kShownHoldRows - 1) ? *overflow : holdRows[size_t(i)];
    }
    QString label() const; // "T3 philosopher-1"
};

// The lanes of one part: one image of one process. Consecutive processes with the same group are
// the images of one pid (a program and what it exec'd), shown under one header.
struct TimelineProcess {
    quint32 pid = 0;
    QString name;  // the program's file name for the traced process, "pid N" for others
    int firstLane = 0;
    int laneCount = 0;
    int part = 0;
    int group = 0;      // index into groups()
    QString imageLabel; // the image's own sub-header ("exec ./worker -v"); empty: the group has one
};

// The header of one pid: a run of one process has one (as a single trace always had).
struct TimelineProcessGroup {
    quint32 pid = 0;
    QString name;    // the header's label: the program's file name (and pid, in a run of several)
    QString detail;  // what the header says beside it; empty: "pid N · k threads"
    int firstProcess = 0;
    int processCount = 0;
    int laneCount = 0;
    int depth = 0;   // 0 for the run's first process, 1 for its children, ...
};

// One part for TimelineIndex::build: its model and how its process is introduced.
struct TimelineSource {
    const ReplayModel* model = nullptr;
    int part = 0;          // of the TraceDocument (findings say theirs by it)
    quint32 pid = 0;
    QString groupName;     // for the first image of a pid: its group's header
    QString groupDetail;
    int depth = 0;
    bool firstImage = true; // false: a later image of the previous source's pid, under its header
    quint64 execNs = 0;     // an image that exec'd: when the next began (its threads end there)
    QString imageLabel;    // when the pid has several images
};

struct TimelineDensityBin {
    quint32 spans = 0;  // spans (holds and waits) starting in the bin
    quint8 state = 0;   // the most severe wait state of the bin (0 when no thread blocked)
};

struct TimelineFindingMark {
    quint64 timeNs = 0;
    int finding = 0; // index into TraceDocument::findings()
    bool deadlock = false;
    // A misuse happens at one instant in one thread: it is marked on that thread's lane too.
    bool onLane = false;
    quint32 thread = 0; // ravel thread id, when onLane
    int part = 0;       // the part the finding is of
};

// A data race on the timeline: a marker on each lane at each access, linked. The second access
// has its exact time; the first was not timed, so it is the range it must lie in (RacePair).
struct TimelineRaceMark {
    int finding = 0;        // index into TraceDocument::findings()
    quint32 thread = 0;     // the second access
    quint64 timeNs = 0;
    quint32 firstThread = 0; // the earlier access: somewhere in [firstFromNs, firstToNs]
    quint64 firstFromNs = 0;
    quint64 firstToNs = 0;
    int part = 0;
};

// Where the timeline draws a hold: its start and end, and the range each end lies in. The trace
// times most events by interpolation between clock stamps (a millisecond tick apart at worst), so
// two threads' holds of one exclusive lock can overlap by their times although the lock passed
// from one to the other: the release and the acquisition happened somewhere in the overlap, in
// that order. The timeline splits such an overlap at its middle, so no two holders are ever drawn
// at once, and keeps the overlap as the range of both ends (drawn faded and hatched, worded `≈`).
struct TimelineHoldTimes {
    quint64 start = 0, end = 0;     // as drawn (clamped to the trace)
    // The start lies in [startLo, startHi] (both = start when exact). Besides a split, an end is
    // uncertain when its time was interpolated: then the range is the clock stamps around it.
    quint64 startLo = 0, startHi = 0;
    quint64 endLo = 0, endHi = 0;
    bool startUncertain() const { return startHi > startLo; }
    bool endUncertain() const { return endHi > endLo; }
};

class TimelineIndex {
public:
    // Builds the index. Returns nullptr when *cancel turns true meanwhile (checked often, so a
    // cancelled build ends within milliseconds).
    static std::unique_ptr<TimelineIndex> build(const ReplayModel& model, const std::vector<Finding>& findings,
                                                const std::atomic<bool>* cancel = nullptr);
    // A run of several parts, in the order shown; findingPart[i]: the part of findings[i].
    static std::unique_ptr<TimelineIndex> build(const std::vector<TimelineSource>& sources,
                                                const std::vector<Finding>& findings,
                                                const std::vector<int>& findingPart,
                                                const std::atomic<bool>* cancel = nullptr);

    const ReplayModel& model() const { return model(0); } // the main part's
    const ReplayModel& model(int part) const { return *m_parts[size_t(part)].model; }
    int partCount() const { return int(m_parts.size()); }
    // The part whose model this is (0 when none is: an index of another load).
    int partOf(const ReplayModel& model) const
    {
        for (size_t i = 0; i < m_parts.size(); i++)
            if (m_parts[i].model == &model)
                return int(i);
        return 0;
    }
    quint64 durationNs() const { return m_duration; }
    const std::vector<TimelineLane>& lanes() const { return m_lanes; }
    const std::vector<TimelineProcess>& processes() const { return m_processes; }
    const std::vector<TimelineProcessGroup>& groups() const { return m_groups; }
    int laneOf(quint32 thread) const { return laneOf(0, thread); } // -1 when the thread has no lane
    int laneOf(int part, quint32 thread) const;
    // From the first thing any thread does after the trace starts (a lock, a wait, a second
    // thread starting) to the last (an exit, a release, a finding): Zoom to Fit shows this, not
    // the empty start-up before it. The whole run when nothing happens.
    std::pair<quint64, quint64> activityRange() const;

    // Event navigation for the playback bar: the next (previous) instant after (before) t at
    // which a thread's state changes: it starts or exits, blocks or resumes, takes or releases a
    // lock. Of one thread, or of all threads (nullopt).
    // A thread is of `part`.
    std::optional<quint64> nextEventTime(quint64 t, std::optional<quint32> thread = std::nullopt, int part = 0) const;
    std::optional<quint64> prevEventTime(quint64 t, std::optional<quint32> thread = std::nullopt, int part = 0) const;

    // Arrows overlapping [from, to): every arrow touching a selected thread, at most one per
    // pixel; of the others a thinned set, at most one per `thinPixels` pixels, so a zoomed-out
    // view of a million handoffs stays readable and cheap.
    const std::vector<TimelineArrow>& arrows() const { return m_arrows; }
    bool hasMessageArrows() const { return m_hasMessages; } // the legend lists them only then
    void arrowsIn(quint64 from, quint64 to, double nsPerPixel, const QList<quint32>& selectedThreads,
                  double thinPixels, std::vector<TimelineArrow>& out, int selectedPart = 0) const;

    const std::vector<TimelineFindingMark>& findingMarks() const { return m_findings; }
    const std::vector<TimelineRaceMark>& raceMarks() const { return m_races; }

    // For the minimap: the whole run in `bins` bins (spans starting in each, the most severe wait
    // covering it), and the findings' marks. Static, so the minimap needs no timeline to exist.
    static std::vector<TimelineDensityBin> densityOf(const ReplayModel& model, size_t bins,
                                                     const std::atomic<bool>* cancel = nullptr);
    static std::vector<TimelineFindingMark> findingMarksOf(const std::vector<Finding>& findings, quint64 durationNs);

    // The hold span `ref` (index into the model's hold spans) as the timeline draws it; with
    // withClock false, the ranges are those of a split only (what the timeline hatches).
    TimelineHoldTimes holdTimes(quint32 ref, bool withClock = true) const { return holdTimes(0, ref, withClock); }
    TimelineHoldTimes holdTimes(int part, quint32 ref, bool withClock) const;
    // The wait span `ref` as drawn: ends by its thread's exit (a thread never waits after it).
    std::pair<quint64, quint64> waitTimes(quint32 ref) const { return waitTimes(0, ref); }
    std::pair<quint64, quint64> waitTimes(int part, quint32 ref) const;
    // Holds whose drawn ends differ from the trace's times (the overlaps split).
    size_t uncertainHoldCount() const;
    // What the clock proves about an instant t of `thread`'s (an event's time): exact (lo == hi
    // == t) when an event of the thread was stamped then, else between the stamps around it (the
    // thread's start and exit when there are none; hi the trace's end when it did not exit).
    std::pair<quint64, quint64> clockBounds(quint32 thread, quint64 t) const { return clockBounds(0, thread, t); }
    std::pair<quint64, quint64> clockBounds(int part, quint32 thread, quint64 t) const;

    size_t spanCount() const { return m_spans; }
    size_t memoryBytes() const;

private:
    TimelineIndex() = default;
    bool buildLanes(const TimelineSource& source, const std::vector<Finding>& findings,
                    const std::vector<int>& findingPart, const std::atomic<bool>* cancel);
    void buildArrows();
    void splitExclusiveOverlaps(int part, const std::atomic<bool>* cancel);
    bool collectStamps(const std::atomic<bool>* cancel);
    quint64 laneEnd(int part, quint32 thread) const;

    // What is kept per part: its model, where its threads' lanes are, and its split holds.
    struct Part {
        const ReplayModel* model = nullptr;
        std::vector<int> laneOfThread; // ravel tid -> lane, -1 none
        // The holds splitExclusiveOverlaps moved: sorted refs, and their times (same order).
        std::vector<quint32> adjustedRefs;
        std::vector<TimelineHoldTimes> adjusted;
    };
    std::vector<Part> m_parts; // by TraceDocument part (entries of parts not shown stay empty)
    quint64 m_duration = 0;
    std::vector<TimelineLane> m_lanes;
    std::vector<TimelineProcess> m_processes;
    std::vector<TimelineProcessGroup> m_groups;
    std::vector<TimelineArrow> m_arrows; // by toNs
    quint64 m_longestArrow = 0;
    std::vector<TimelineFindingMark> m_findings;
    std::vector<TimelineRaceMark> m_races;
    bool m_hasMessages = false;
    size_t m_spans = 0;
    // Per lane: the times of the thread's events the clock timed exactly (sorted).
    std::vector<std::vector<quint64>> m_stamps;
};

} // namespace ravel::gui
