// Honest times on the timeline (issue 17, item 3), on real traces recorded by the real runtime.
// Most event times are interpolated between clock stamps, so four threads hammering one mutex
// (counter_pthread 4 200000) give holds of it whose times overlap though the lock passed from one
// thread to the other: the timeline splits each overlap, so no two holders are ever drawn at once,
// and draws and words the split ends as uncertain (hatched, `≈`). A wait is never drawn after its
// thread's exit; times in Details and tooltips have the precision of the zoom. Screenshots at µs
// zoom land in RAVEL_ARTIFACT_DIR.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "main_window.hpp"
#include "models/timeline_index.hpp"
#include "models/timeline_state.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_ruler.hpp"
#include "timeline/timeline_view.hpp"

#include <QApplication>
#include <QImage>
#include <QLabel>
#include <QPainter>
#include <QRegularExpression>
#include <QSettings>
#include <QStyleFactory>
#include <QtTest>

#include <algorithm>
#include <map>

using namespace ravel;
using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString counterTrace() { return recordExample(QStringLiteral("counter_pthread"), { "4", "200000" }); }

struct Drawn {
    quint64 start, end;
    quint32 thread;
    quint32 ref;
};

bool exclusive(const HoldSpan& h)
{
    const unsigned kind = h.flags & 0x0f;
    return !(h.flags & RAVEL_F_SHARED) && (kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_SPIN || kind == RAVEL_OBJ_RWLOCK);
}

// Every exclusive hold as the timeline draws it (level 0 of every lane's hold rows), by lock.
std::map<quint32, std::vector<Drawn>> drawnHolds(const TimelineIndex& index)
{
    std::map<quint32, std::vector<Drawn>> out;
    const auto& holds = index.model().holdSpans();
    for (const TimelineLane& lane : index.lanes())
        for (const TimelineRow& row : lane.holdRows)
            for (const TimelineItem& item : row.spans())
                if (exclusive(holds[item.ref]) && holds[item.ref].end != kOpenEnd)
                    out[holds[item.ref].object].push_back({ item.start, item.end, lane.thread, item.ref });
    for (auto& [object, v] : out)
        std::sort(v.begin(), v.end(), [](const Drawn& a, const Drawn& b) { return a.start < b.start; });
    return out;
}

// The tightest handover of one lock between two threads, both holds at least 200 ns (16 pixels) long: the hold
// taken (its index into the model's holds) a few ns after another thread released the lock. With
// `interpolated`, only a hold whose start the clock did not stamp.
std::optional<quint32> tightHandover(const TimelineIndex& index, bool interpolated = false,
                                     quint64* releasedAt = nullptr)
{
    std::optional<quint32> best;
    quint64 gap = UINT64_MAX;
    for (const auto& [object, v] : drawnHolds(index))
        for (size_t i = 1; i < v.size(); i++)
            if (v[i].thread != v[i - 1].thread && v[i].start >= v[i - 1].end && v[i].end - v[i].start >= 200
                && v[i - 1].end - v[i - 1].start >= 200 && v[i].start - v[i - 1].end < gap
                && (!interpolated || index.holdTimes(v[i].ref).startUncertain())) {
                gap = v[i].start - v[i - 1].end;
                best = v[i].ref;
                if (releasedAt)
                    *releasedAt = v[i - 1].end;
            }
    return best;
}

// A hold whose start the clock did not stamp (interpolated), the longest such.
std::optional<quint32> interpolatedHold(const TimelineIndex& index)
{
    std::optional<quint32> best;
    quint64 longest = 0;
    for (quint32 ref = 0; ref < index.model().holdSpans().size(); ref++) {
        const TimelineHoldTimes t = index.holdTimes(ref);
        if (t.startUncertain() && index.model().holdSpans()[ref].end != kOpenEnd && t.end - t.start >= longest) {
            longest = t.end - t.start;
            best = ref;
        }
    }
    return best;
}

QString plain(const QLabel* label)
{
    QString t = label->text();
    t.replace(QRegularExpression(QStringLiteral("<[^>]*>")), QString());
    return t;
}

} // namespace

class HonestTimesTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QSettings().clear();
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    }

    // The trace's own times overlap (that is what the split is for); the drawn ones never do.
    void exclusiveHoldersNeverOverlap()
    {
        TraceDocument doc;
        QVERIFY(loadDocument(doc, counterTrace()));
        auto index = TimelineIndex::build(doc.model(), doc.findings());
        QVERIFY(index);
        // The raw overlaps, counted as the model has them.
        size_t rawOverlaps = 0;
        {
            std::map<quint32, std::vector<const HoldSpan*>> byLock;
            for (const HoldSpan& h : doc.model().holdSpans())
                if (exclusive(h) && h.end != kOpenEnd)
                    byLock[h.object].push_back(&h);
            for (auto& [object, v] : byLock) {
                std::stable_sort(v.begin(), v.end(), [](auto* a, auto* b) { return a->start < b->start; });
                for (size_t i = 1; i < v.size(); i++) {
                    // Overlapping by a positive length (a hold taken and released at the instant the
                    // other was taken is before it, not inside).
                    const HoldSpan* a = v[i - 1];
                    const HoldSpan* b = v[i];
                    if (a->thread != b->thread && b->start < a->end
                        && (b->end > b->start ? b->end > a->start : b->start > a->start))
                        rawOverlaps++;
                }
            }
        }
        qInfo("counter_pthread 4 200000: %zu holds, %zu overlapping by their trace times, %zu drawn with an uncertain end",
              doc.model().holdSpans().size(), rawOverlaps, index->uncertainHoldCount());
        QVERIFY(index->uncertainHoldCount() >= rawOverlaps);
        size_t checked = 0;
        for (const auto& [object, v] : drawnHolds(*index)) {
            quint64 lastEnd = 0, lastStart = 0;
            quint32 lastThread = 0;
            quint32 lastRef = 0;
            for (const Drawn& d : v) {
                const bool tie = d.start == d.end && d.start == lastStart; // taken and released as the other took it
                if (checked++ && d.thread != lastThread && !tie)
                    QVERIFY2(d.start >= lastEnd,
                             qPrintable(QStringLiteral("%1: T%2 drawn holding from %3 while T%4 holds until %5 (holds %6, %7)")
                                            .arg(doc.objectName(object)).arg(d.thread).arg(d.start).arg(lastThread)
                                            .arg(lastEnd).arg(lastRef).arg(d.ref)));
                if (d.end >= lastEnd || d.thread != lastThread) {
                    lastEnd = std::max(lastEnd, d.end);
                    lastStart = d.start;
                    lastThread = d.thread;
                    lastRef = d.ref;
                }
                // The drawn range lies within what the trace allows: a split end inside its range.
                const TimelineHoldTimes t = index->holdTimes(d.ref);
                QVERIFY(t.startLo <= t.start && t.start <= t.startHi);
                QVERIFY(t.endLo <= t.end && t.end <= t.endHi);
            }
        }
        QVERIFY(checked > 100000);
    }

    // At µs zoom, around the widest split, the drawn rectangles of counter_lock on the four lanes
    // share no pixel column, and the split ends are drawn hatched.
    void noTwoHoldersShareAPixelAtMicrosecondZoom()
    {
        TraceDocument doc;
        QVERIFY(loadDocument(doc, counterTrace()));
        auto index = TimelineIndex::build(doc.model(), doc.findings());
        QVERIFY(index);
        quint64 released = 0;
        const auto ref = tightHandover(*index, false, &released);
        QVERIFY(ref);
        const HoldSpan& h = doc.model().holdSpans()[*ref];
        const TimelineHoldTimes t = index->holdTimes(*ref);
        TimelineLayout layout;
        layout.build(*index);
        const TimelinePalette palette;
        TimelineFrameBuilder builder(index.get(), &layout, palette, QApplication::font(), nullptr);
        TimelineFrame f;
        f.size = QSize(1400, layout.contentHeight() + TimelineLayout::kRulerHeight + 80);
        f.labelWidth = 180;
        f.showLegend = false;
        // 15 µs over 1220 pixels (about 12 ns a pixel) around the handover; wider only when the
        // lock sat free longer than that between the two holds.
        f.from = released - std::min<quint64>(released, 5000);
        f.to = std::max(f.from + 15000, t.start + 5000);
        const TimelineDrawList list = builder.build(f);
        {
            QImage image(f.size, QImage::Format_ARGB32_Premultiplied);
            image.fill(Qt::white);
            QPainter painter(&image);
            list.paint(painter);
            painter.end();
            QVERIFY(image.save(artifactDir() + QStringLiteral("/honest-times-handover.png"), "PNG"));
        }
        const QColor colors[] = { palette.lockHold(h.object, quint8(SpanKind::Hold)),
                                  palette.lockHold(h.object, quint8(SpanKind::HoldContended)) };
        std::map<int, std::vector<QRectF>> byLane; // lane index -> its rects of this lock
        int uncertain = 0;
        for (const TimelineDrawList::Layer& layer : list.layers)
            for (const TimelineDrawList::Rect& r : layer.rects) {
                if (r.style == TimelineDrawList::RectStyle::Uncertain)
                    uncertain++;
                if (r.style != TimelineDrawList::RectStyle::Fill || (r.color != colors[0] && r.color != colors[1]))
                    continue;
                // A hold shorter than a pixel is still drawn a pixel wide, so one taken and released
                // as the other thread took the lock shares that pixel: known, and left out here.
                if (r.rect.width() <= 1)
                    continue;
                const auto hit = layout.hitTest(f.contentY(int(r.rect.center().y())));
                QVERIFY(hit.lane >= 0 && hit.row >= 0);
                byLane[hit.lane].push_back(r.rect);
            }
        QVERIFY2(byLane.size() >= 2, "the view should show the lock held on two lanes at least");
        for (auto a = byLane.begin(); a != byLane.end(); ++a)
            for (auto b = std::next(a); b != byLane.end(); ++b)
                for (const QRectF& ra : a->second)
                    for (const QRectF& rb : b->second)
                        QVERIFY2(ra.right() <= rb.left() || rb.right() <= ra.left(),
                                 qPrintable(QStringLiteral("lanes %1 and %2 both draw the lock over x %3..%4 and %5..%6")
                                                .arg(a->first).arg(b->first).arg(ra.left()).arg(ra.right())
                                                .arg(rb.left()).arg(rb.right())));
    }

    // Every drawn wait of a thread that exited ends by its exit, in every example that has waits.
    void noWaitAfterItsThreadsExit_data()
    {
        QTest::addColumn<QString>("example");
        QTest::addColumn<QStringList>("args");
        QTest::newRow("counter_pthread") << QStringLiteral("counter_pthread") << QStringList { "4", "200000" };
        QTest::newRow("cond_lost_signal") << QStringLiteral("cond_lost_signal") << QStringList {};
        QTest::newRow("exit_while_running") << QStringLiteral("exit_while_running") << QStringList {};
        QTest::newRow("pipeline_cv") << QStringLiteral("pipeline_cv") << QStringList {};
        QTest::newRow("timed_std") << QStringLiteral("timed_std") << QStringList {};
    }
    void noWaitAfterItsThreadsExit()
    {
        QFETCH(QString, example);
        QFETCH(QStringList, args);
        TraceDocument doc;
        QVERIFY(loadDocument(doc, recordExample(example, args)));
        auto index = TimelineIndex::build(doc.model(), doc.findings());
        QVERIFY(index);
        size_t rawAfter = 0, waits = 0;
        for (const TimelineLane& lane : index->lanes()) {
            if (!lane.exited)
                continue;
            for (const TimelineItem& item : lane.state.spans()) {
                waits++;
                const WaitSpan& w = doc.model().waitSpans()[item.ref];
                if (std::min<quint64>(w.end, index->durationNs()) > lane.endNs)
                    rawAfter++;
                QVERIFY2(item.end <= lane.endNs && item.start <= lane.endNs,
                         qPrintable(QStringLiteral("T%1 drawn waiting until %2, after its exit at %3")
                                        .arg(lane.thread).arg(item.end).arg(lane.endNs)));
                const auto [start, end] = index->waitTimes(item.ref);
                QVERIFY(end <= lane.endNs && start <= end);
            }
        }
        qInfo("%s: %zu waits of exited threads, %zu of them ending after the exit by the trace", qPrintable(example),
              waits, rawAfter);
    }

    void timesFollowTheZoom()
    {
        // The precision of a pixel: a 15 µs view at ~1000 pixels shows tens of ns.
        QCOMPARE(TimelineRuler::timeAt(31'012'345, 0), QStringLiteral("31.0ms"));
        QCOMPARE(TimelineRuler::timeAt(31'012'345, 1e5), QStringLiteral("31.0ms"));
        auto matches = [](const QString& pattern, const QString& text) {
            return QRegularExpression(QLatin1Char('^') + pattern + QLatin1Char('$')).match(text).hasMatch();
        };
        QVERIFY2(matches(QStringLiteral("31\\.0123[45]ms"), TimelineRuler::timeAt(31'012'345, 15)),
                 qPrintable(TimelineRuler::timeAt(31'012'345, 15)));
        QCOMPARE(TimelineRuler::timeAt(1'204'000'000, 0), QStringLiteral("1.204s"));
        QCOMPARE(TimelineRuler::timeAt(1'204'000'123, 1), QStringLiteral("1.204000123s"));
        QCOMPARE(TimelineRuler::timeAt(80, 15), QStringLiteral("80ns"));
        QCOMPARE(TimelineRuler::durationAt(7'812'345, 0), QStringLiteral("7.81 ms"));
        QVERIFY2(matches(QStringLiteral("7\\.8123[45] ms"), TimelineRuler::durationAt(7'812'345, 15)),
                 qPrintable(TimelineRuler::durationAt(7'812'345, 15)));
        QVERIFY2(matches(QStringLiteral("≈1\\.0[01]us"), TimelineRuler::approxTime(1000, 1010, 15)),
                 qPrintable(TimelineRuler::approxTime(1000, 1010, 15)));
        QCOMPARE(TimelineRuler::approxTime(31'000'000, 31'004'000, 15),
                 QStringLiteral("≈ between 31.00000ms and 31.00400ms"));
    }

    // The window: at a 15 µs zoom on a split handover, Details prints µs precision and `≈` for
    // the uncertain start, and so does the tooltip; zoomed out it prints the default precision.
    void detailsAndTooltipsAtMicrosecondZoom()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, counterTrace()));
        TimelineView* view = w.timelineView();
        QTRY_VERIFY_WITH_TIMEOUT(view->index() != nullptr, 30000);
        const TimelineIndex& index = *view->index();
        const auto ref = interpolatedHold(index);
        QVERIFY(ref);
        const HoldSpan& h = index.model().holdSpans()[*ref];
        const TimelineHoldTimes t = index.holdTimes(*ref);
        ViewState* state = w.viewState();
        const quint64 from = t.start - std::min<quint64>(t.start, 5000);
        state->setVisibleRange(from, from + 15000);
        state->setSelectedThreads({ h.thread });
        state->setSelectedEvent(h.thread, h.start, h.stack);
        QTest::qWait(50);
        const QString details = plain(w.detailsPanel()->summaryLabel());
        qInfo("Details at 15 us: %s", qPrintable(details));
        QVERIFY2(details.contains(QStringLiteral("≈")), qPrintable(details));
        // µs precision at least: ms with 4+ decimals (a µs is the 3rd).
        QVERIFY2(QRegularExpression(QStringLiteral("\\d+\\.\\d{4,}ms")).match(details).hasMatch(), qPrintable(details));
        const QString shot = saveScreenshot(&w, QStringLiteral("honest-times-15us"));
        QVERIFY(!shot.isEmpty());
        saveScreenshot(view, QStringLiteral("honest-times-15us-timeline"));

        // The tooltip over the hold's uncertain start.
        const TimelineFrame f = view->currentFrame(view->viewport()->size());
        const int lane = index.laneOf(h.thread);
        QVERIFY(lane >= 0);
        QRect stateRect = view->laneStateRect(h.thread);
        QVERIFY(stateRect.isValid());
        // The hold row sits under the state row: scan down from it for the tooltip of this lock.
        QString tip;
        const int x = int(f.xOf(t.start + (t.end - t.start) / 2));
        for (int y = stateRect.bottom() + 1; y < stateRect.bottom() + 70 && !tip.contains(QStringLiteral("holds")); y++)
            tip = view->tooltipAt(QPoint(x, y));
        qInfo("tooltip: %s", qPrintable(tip));
        QVERIFY2(tip.contains(QStringLiteral("holds")) && tip.contains(QStringLiteral("≈")), qPrintable(tip));

        // Zoomed out to the whole run: the default precision again ("31.0ms").
        state->setVisibleRange(0, index.durationNs());
        QTest::qWait(50);
        const QString wide = plain(w.detailsPanel()->summaryLabel());
        QVERIFY2(!QRegularExpression(QStringLiteral("\\d+\\.\\d{3,}ms")).match(wide).hasMatch(), qPrintable(wide));
    }
};

QTEST_MAIN(HonestTimesTest)
#include "test_honest_times.moc"
