// TimelineIndex on real traces recorded with `ravel run`: what the timeline draws must be bounded
// by pixels at every zoom, never lose the most severe state, show the dining deadlock as blocked
// spans at the end, put nested holds on sub-rows, and step through events for the playback bar.
#include "gui_test_util.hpp"

#include "models/timeline_index.hpp"
#include "models/timeline_state.hpp"

#include <QtTest>

#include <algorithm>
#include <random>

using namespace ravel;
using namespace ravel::gui;

namespace {

struct Loaded {
    std::unique_ptr<TraceDocument> doc = std::make_unique<TraceDocument>();
    std::unique_ptr<TimelineIndex> index;
};

Loaded load(const QString& example, const QStringList& args)
{
    Loaded l;
    const QString trace = test::recordExample(example, args);
    if (trace.isEmpty() || !test::loadDocument(*l.doc, trace))
        return l;
    l.index = TimelineIndex::build(l.doc->model(), l.doc->findings());
    return l;
}

// Every raw span overlapping [from, to) must be inside some returned item at least as severe:
// folding may merge spans, never drop one or weaken its state.
void checkCovered(const TimelineRow& row, quint64 from, quint64 to, const std::vector<TimelineItem>& items)
{
    size_t j = 0;
    for (const TimelineItem& s : row.spans()) {
        if (s.end < from || s.start >= to || (s.end == from && s.start != s.end))
            continue;
        while (j < items.size() && items[j].end < s.end)
            j++;
        // The item holding s ends at or after it; a zero-length span can touch the one before.
        bool covered = false;
        for (size_t k = j; k < items.size() && items[k].start <= s.start && !covered; k++)
            covered = items[k].end >= s.end && severityOf(items[k].state) >= severityOf(s.state);
        QVERIFY2(covered, qPrintable(QStringLiteral("span [%1, %2) vanished or lost its state in [%3, %4)")
                                         .arg(s.start).arg(s.end).arg(from).arg(to)));
    }
}

} // namespace

class TestTimelineIndex : public QObject {
    Q_OBJECT
private slots:
    void diningDeadlockWaitsAreOpenBlockedSpansAtTheEnd();
    void queriesStayBoundedAtEveryZoom_data();
    void queriesStayBoundedAtEveryZoom();
    void nestedHoldsGetSubRowsThatNeverOverlap();
    void twoLockTransfersUseTwoSubRows();
    void eventNavigationVisitsEveryStateChangeInOrder();
    void handoffArrowsJoinReleaseToAcquisition();
    void densityAndFindingMarksCoverTheRun();
};

void TestTimelineIndex::diningDeadlockWaitsAreOpenBlockedSpansAtTheEnd()
{
    Loaded l = load(QStringLiteral("dining"), { QStringLiteral("5") });
    QVERIFY(l.index);
    const TimelineIndex& index = *l.index;
    const quint64 end = index.durationNs();
    QVERIFY(end > 0);
    QCOMPARE(index.processes().size(), size_t(1));
    QCOMPARE(index.processes()[0].name, QStringLiteral("dining"));
    int philosophers = 0;
    for (const TimelineLane& lane : index.lanes()) {
        if (!lane.name.startsWith(QLatin1String("philosopher-")))
            continue;
        philosophers++;
        QVERIFY2(lane.deadlocked, qPrintable(lane.label()));
        // The last blocked span: a mutex wait that never ended, reaching the trace's end.
        QVERIFY(lane.state.spanCount() > 0);
        const TimelineItem& last = lane.state.spans().back();
        QCOMPARE(spanKindOf(last.state), SpanKind::WaitMutex);
        QVERIFY(isOpenState(last.state));
        QCOMPARE(last.end, end);
        // Still holding its left fork, open too.
        QVERIFY(!lane.holdRows.empty());
        bool openHold = false;
        for (const TimelineRow& row : lane.holdRows)
            for (const TimelineItem& h : row.spans())
                openHold = openHold || (isOpenState(h.state) && h.end == end);
        QVERIFY(openHold);
        // However far out: the whole run on 100 pixels still ends in the open wait.
        std::vector<TimelineItem> items;
        lane.state.query(0, end, double(end) / 100, items);
        QVERIFY(!items.empty());
        QVERIFY(isOpenState(items.back().state));
        QCOMPARE(spanKindOf(items.back().state), SpanKind::WaitMutex);
    }
    QCOMPARE(philosophers, 5);
    // main waits to join philosopher-0 forever: a join wait, open.
    const TimelineLane& main = index.lanes()[0];
    QCOMPARE(main.name, QStringLiteral("main"));
    QVERIFY(main.state.spanCount() > 0);
    QCOMPARE(spanKindOf(main.state.spans().back().state), SpanKind::WaitJoin);
    QVERIFY(isOpenState(main.state.spans().back().state));
}

void TestTimelineIndex::queriesStayBoundedAtEveryZoom_data()
{
    QTest::addColumn<QString>("example");
    QTest::addColumn<QStringList>("args");
    QTest::newRow("bank_std") << QStringLiteral("bank_std") << QStringList { QStringLiteral("4"), QStringLiteral("20000") };
    QTest::newRow("counter_pthread") << QStringLiteral("counter_pthread")
                                     << QStringList { QStringLiteral("4"), QStringLiteral("50000") };
    QTest::newRow("dining") << QStringLiteral("dining") << QStringList { QStringLiteral("5") };
}

void TestTimelineIndex::queriesStayBoundedAtEveryZoom()
{
    QFETCH(QString, example);
    QFETCH(QStringList, args);
    Loaded l = load(example, args);
    QVERIFY(l.index);
    const TimelineIndex& index = *l.index;
    const quint64 end = index.durationNs();
    size_t spans = 0;
    for (const TimelineLane& lane : index.lanes()) {
        spans += lane.state.spanCount();
        for (const TimelineRow& row : lane.holdRows)
            spans += row.spanCount();
    }
    QCOMPARE(spans, index.spanCount());
    // The pyramid costs at most about twice the spans themselves (a busy server's rows once kept
    // five near-copies of every span: 3 GB for 12M spans).
    size_t rowBytes = 0;
    size_t rowCount = 0;
    for (const TimelineLane& lane : index.lanes()) {
        rowBytes += lane.state.memoryBytes();
        rowCount++;
        for (const TimelineRow& row : lane.holdRows) {
            rowBytes += row.memoryBytes();
            rowCount++;
        }
    }
    QVERIFY2(rowBytes <= spans * sizeof(TimelineItem) * 5 / 2 + rowCount * 1024,
             qPrintable(QStringLiteral("%1 bytes for %2 spans in %3 rows").arg(rowBytes).arg(spans).arg(rowCount)));
    if (example != QLatin1String("dining"))
        QVERIFY2(spans > 50000, qPrintable(QStringLiteral("only %1 spans").arg(spans)));
    std::mt19937_64 rng(42);
    const double pixels = 800;
    size_t checked = 0;
    // From the whole run down to windows of a few hundred ns, at random places.
    for (quint64 width = end; width >= 200; width /= 3) {
        for (int k = 0; k < 6; k++) {
            const quint64 from = width >= end ? 0 : rng() % (end - width);
            const quint64 to = from + width;
            const double p = double(width) / pixels;
            for (const TimelineLane& lane : index.lanes()) {
                std::vector<const TimelineRow*> rows { &lane.state };
                for (const TimelineRow& row : lane.holdRows)
                    rows.push_back(&row);
                for (const TimelineRow* row : rows) {
                    std::vector<TimelineItem> items;
                    row->query(from, to, p, items);
                    // About two items a pixel at most, whatever the number of spans.
                    QVERIFY2(items.size() <= size_t(2 * pixels + 4),
                             qPrintable(QStringLiteral("%1 items for %2 px (width %3 ns)")
                                            .arg(items.size()).arg(pixels).arg(width)));
                    for (size_t i = 1; i < items.size(); i++)
                        QVERIFY(items[i - 1].end <= items[i].start);
                    checkCovered(*row, from, to, items);
                    if (QTest::currentTestFailed())
                        return;
                    checked++;
                }
            }
        }
    }
    QVERIFY(checked > 50);
}

void TestTimelineIndex::nestedHoldsGetSubRowsThatNeverOverlap()
{
    // "updater" holds all 300 rows at once.
    Loaded l = load(QStringLiteral("hundreds_of_locks"), {});
    QVERIFY(l.index);
    const TimelineLane* updater = nullptr;
    for (const TimelineLane& lane : l.index->lanes())
        if (lane.name == QLatin1String("updater"))
            updater = &lane;
    QVERIFY(updater);
    QCOMPARE(updater->holdRows.size(), size_t(300));
    QVERIFY(updater->overflow.has_value());
    QCOMPARE(updater->shownHoldRows(), TimelineLane::kShownHoldRows);
    // The folded last row covers what rows 5..299 hold, with their count.
    quint32 folded = 0;
    for (const TimelineItem& item : updater->overflow->spans())
        folded += item.count;
    QCOMPARE(folded, quint32(300 - (TimelineLane::kShownHoldRows - 1)));
    // Each hold of the thread on exactly one row, rows never overlapping.
    std::vector<quint32> refs;
    for (const TimelineRow& row : updater->holdRows) {
        for (size_t i = 0; i < row.spans().size(); i++) {
            refs.push_back(row.spans()[i].ref);
            if (i)
                QVERIFY(row.spans()[i - 1].end <= row.spans()[i].start);
        }
    }
    std::sort(refs.begin(), refs.end());
    const ModelThread* t = l.doc->model().thread(updater->thread);
    QVERIFY(t);
    std::vector<quint32> expected(t->holds.begin(), t->holds.end());
    std::sort(expected.begin(), expected.end());
    QVERIFY(refs == expected);
    // Lock i was taken i-th: it sits on row i (the lowest free one).
    const std::vector<HoldSpan>& holds = l.doc->model().holdSpans();
    QCOMPARE(holds[updater->holdRows[0].spans()[0].ref].start, holds[t->holds[0]].start);
}

void TestTimelineIndex::twoLockTransfersUseTwoSubRows()
{
    // bank_std locks two accounts per transfer (std::scoped_lock): the holds overlap.
    Loaded l = load(QStringLiteral("bank_std"), { QStringLiteral("4"), QStringLiteral("20000") });
    QVERIFY(l.index);
    int workersWithTwoRows = 0;
    for (const TimelineLane& lane : l.index->lanes()) {
        if (lane.holdRows.size() >= 2)
            workersWithTwoRows++;
        QVERIFY(lane.holdRows.size() <= size_t(TimelineLane::kShownHoldRows));
        for (const TimelineRow& row : lane.holdRows)
            for (size_t i = 1; i < row.spans().size(); i++)
                QVERIFY(row.spans()[i - 1].end <= row.spans()[i].start);
    }
    QVERIFY(workersWithTwoRows >= 2);
}

void TestTimelineIndex::eventNavigationVisitsEveryStateChangeInOrder()
{
    Loaded l = load(QStringLiteral("dining"), { QStringLiteral("5") });
    QVERIFY(l.index);
    const TimelineIndex& index = *l.index;
    // Every boundary of every span and lane, from the index's own rows.
    std::vector<quint64> expected;
    for (const TimelineLane& lane : index.lanes()) {
        expected.push_back(lane.startNs);
        if (lane.exited)
            expected.push_back(lane.endNs);
        std::vector<const TimelineRow*> rows { &lane.state };
        for (const TimelineRow& row : lane.holdRows)
            rows.push_back(&row);
        for (const TimelineRow* row : rows)
            for (const TimelineItem& s : row->spans()) {
                expected.push_back(s.start);
                expected.push_back(s.end);
            }
    }
    std::sort(expected.begin(), expected.end());
    expected.erase(std::unique(expected.begin(), expected.end()), expected.end());
    // The open spans end at the trace's end, which is a boundary of the rows too.
    std::vector<quint64> walked;
    std::optional<quint64> t = expected.front();
    walked.push_back(*t);
    while ((t = index.nextEventTime(*t)))
        walked.push_back(*t);
    QCOMPARE(walked, expected);
    std::vector<quint64> back;
    t = expected.back();
    back.push_back(*t);
    while ((t = index.prevEventTime(*t)))
        back.push_back(*t);
    std::reverse(back.begin(), back.end());
    QCOMPARE(back, expected);
    // One thread: only its own changes; philosopher-0 blocks at its last wait's start.
    const TimelineLane& p0 = index.lanes()[1];
    const TimelineItem& lastWait = p0.state.spans().back();
    std::optional<quint64> before = index.prevEventTime(lastWait.start + 1, p0.thread);
    QVERIFY(before);
    QCOMPARE(*before, lastWait.start);
    QVERIFY(!index.nextEventTime(index.durationNs(), p0.thread));
    QVERIFY(!index.nextEventTime(0, 999999));
}

void TestTimelineIndex::handoffArrowsJoinReleaseToAcquisition()
{
    // Contention depends on the scheduler: take the first of these runs where a lock was handed over.
    Loaded l;
    for (const auto& [example, args] : { std::pair(QStringLiteral("counter_pthread"), QStringList { "4", "50000" }),
                                         std::pair(QStringLiteral("bank_std"), QStringList { "4", "20000" }),
                                         std::pair(QStringLiteral("counter_pthread"), QStringList { "4", "200000" }) }) {
        l = load(example, args);
        QVERIFY(l.index);
        if (!l.index->arrows().empty())
            break;
        // No arrow must mean no contended acquisition that another thread's release enabled: no
        // hold of its object by another thread ended within the wait (a release stamped before
        // the request made nobody wait, and enables no arrow).
        const ReplayModel& model = l.doc->model();
        for (const WaitSpan& w : model.waitSpans()) {
            if (w.outcome != WaitOutcome::Acquired || w.end == kOpenEnd)
                continue;
            for (const HoldSpan& h : model.holdSpans())
                QVERIFY(h.object != w.object || h.thread == w.thread || h.end == kOpenEnd || h.end < w.start
                        || h.end > w.end);
        }
    }
    const TimelineIndex& index = *l.index;
    const std::vector<TimelineArrow>& arrows = index.arrows();
    // Four threads on a 200k-iteration counter always contend somewhere; a run without a single
    // arrow here is a failure to test, not a pass (the loop above checked it had no handoff).
    if (arrows.empty())
        QFAIL("no run had a contended lock: the handoff arrows went untested");
    for (size_t i = 0; i < arrows.size(); i++) {
        const TimelineArrow& a = arrows[i];
        QVERIFY(a.fromNs <= a.toNs);
        QVERIFY(a.fromThread != a.toThread);
        if (i)
            QVERIFY(arrows[i - 1].toNs <= a.toNs);
    }
    // Zoomed out: a thinned set, at most one per 12 px; with a thread selected, every arrow of
    // that thread at pixel resolution, still bounded by the pixels.
    const quint64 end = index.durationNs();
    const double pixels = 1000;
    std::vector<TimelineArrow> thin;
    index.arrowsIn(0, end, double(end) / pixels, {}, 12.0, thin);
    QVERIFY(!thin.empty());
    QVERIFY(thin.size() <= size_t(pixels / 12 + 2));
    const quint32 tid = arrows.front().toThread;
    std::vector<TimelineArrow> selected;
    index.arrowsIn(0, end, double(end) / pixels, { tid }, 12.0, selected);
    QVERIFY(selected.size() <= size_t(pixels + pixels / 12 + 4));
    // Every arrow of the selected thread is drawn at pixel resolution: one of its arrows ends in
    // the same pixel (how many there are depends on how the scheduler interleaved the run).
    std::vector<quint64> ends;
    for (const TimelineArrow& a : selected)
        if (a.fromThread == tid || a.toThread == tid)
            ends.push_back(a.toNs);
    std::sort(ends.begin(), ends.end());
    const double nsPerPixel = double(end) / pixels;
    for (const TimelineArrow& a : arrows) {
        if (a.fromThread != tid && a.toThread != tid)
            continue;
        auto near = std::lower_bound(ends.begin(), ends.end(), a.toNs > quint64(nsPerPixel) ? a.toNs - quint64(nsPerPixel) : 0);
        QVERIFY2(near != ends.end() && double(*near) <= double(a.toNs) + nsPerPixel,
                 qPrintable(QStringLiteral("arrow ending at %1 not drawn").arg(a.toNs)));
    }
    // Zoomed in around one arrow: it is there, and only arrows overlapping the window are.
    const TimelineArrow& mid = arrows[arrows.size() / 2];
    std::vector<TimelineArrow> close;
    index.arrowsIn(mid.fromNs, mid.toNs + 1, 0.5, { mid.toThread }, 12.0, close);
    // It is there, or another arrow of its thread ending in the same nanosecond (one per pixel).
    bool found = false;
    for (const TimelineArrow& a : close) {
        QVERIFY(a.toNs >= mid.fromNs && a.fromNs < mid.toNs + 1);
        found = found || (a.toNs == mid.toNs && (a.toThread == mid.toThread || a.fromThread == mid.toThread));
    }
    QVERIFY(found);
}

void TestTimelineIndex::densityAndFindingMarksCoverTheRun()
{
    Loaded l = load(QStringLiteral("dining"), { QStringLiteral("5") });
    QVERIFY(l.index);
    std::vector<TimelineDensityBin> bins = TimelineIndex::densityOf(l.doc->model(), 512);
    QCOMPARE(bins.size(), size_t(512));
    quint64 spans = 0;
    for (const TimelineDensityBin& b : bins)
        spans += b.spans;
    QCOMPARE(spans, quint64(l.doc->model().holdSpans().size() + l.doc->model().waitSpans().size()));
    // The deadlock lasts to the end: the last bin is marked with an open mutex wait.
    QVERIFY(isOpenState(bins.back().state));
    const std::vector<TimelineFindingMark>& marks = l.index->findingMarks();
    QVERIFY(!marks.empty());
    QVERIFY(std::any_of(marks.begin(), marks.end(), [](const TimelineFindingMark& m) { return m.deadlock; }));
}

QTEST_MAIN(TestTimelineIndex)
#include "test_timeline_index.moc"
