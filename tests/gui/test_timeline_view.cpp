// TimelineView and MinimapWidget driven as a user would, headless, on traces recorded with the
// real `ravel run`: keys and the wheel zoom and pan (asserted on the shared ViewState), clicks
// select spans and locks, the ruler moves the playhead, exports are valid PNG and SVG, frames stay
// bounded by pixels, and screenshots of the main states land in RAVEL_ARTIFACT_DIR to be looked at.
#include "gui_test_util.hpp"

#include "models/timeline_state.hpp"
#include "models/view_state.hpp"
#include "timeline/minimap_widget.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_view.hpp"

#include <QApplication>
#include <QFile>
#include <QHelpEvent>
#include <QImage>
#include <QPalette>
#include <QSvgRenderer>
#include <QToolTip>
#include <QWheelEvent>
#include <QtTest>

using namespace ravel;
using namespace ravel::gui;

namespace {

// A document, the shared state and the view on it, as the main window wires them.
struct Window {
    TraceDocument doc;
    ViewState state;
    TimelineView view { &doc, &state };

    bool open(const QString& example, const QStringList& args, QSize size = QSize(1200, 480))
    {
        view.resize(size);
        view.show();
        const QString trace = test::recordExample(example, args);
        if (trace.isEmpty() || !test::loadDocument(doc, trace))
            return false;
        state.reset(doc.durationNs());
        QElapsedTimer t;
        t.start();
        while (!view.index() && t.elapsed() < 60000)
            QTest::qWait(10);
        QCoreApplication::processEvents();
        return view.index() != nullptr;
    }
    quint64 width() const { return state.visibleTo() - state.visibleFrom(); }
    const TimelineLane* lane(const QString& name) const
    {
        for (const TimelineLane& l : view.index()->lanes())
            if (l.name == name)
                return &l;
        return nullptr;
    }
    TimelineFrame frame() const { return view.currentFrame(view.viewport()->size()); }
    void key(int k) { QTest::keyClick(&view, Qt::Key(k)); }
};

} // namespace

class TestTimelineView : public QObject {
    Q_OBJECT
private slots:
    void keysZoomAndPanTheSharedRange();
    void wheelZoomsAroundTheCursor();
    void dragPansAndTheRulerMovesThePlayhead();
    void clickingTheDeadlockWaitSelectsThreadEventAndLock();
    void clickingAHeldSpanSelectsTheLock();
    void tooltipsSayWhatWhoAndSinceWhen();
    void zoomToSelectionFramesTheSelectedSpan();
    void playheadOutsideTheViewBringsTheViewAlong();
    void exportWritesValidPngAndSvg();
    void framesStayBoundedByPixelsAtEveryZoom();
    void minimapShowsTheRunAndMovesTheRange();
    void screenshots();
};

void TestTimelineView::keysZoomAndPanTheSharedRange()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const quint64 whole = w.doc.durationNs();
    // Opened on the run's activity (not its empty start-up): F's range.
    const auto [first, last] = w.view.index()->activityRange();
    QVERIFY(w.state.visibleFrom() <= first && w.state.visibleTo() >= std::min(last, whole));
    w.state.setVisibleRange(0, whole);
    w.state.setPlayhead(whole / 2);
    w.key(Qt::Key_W);
    const quint64 zoomed = w.width();
    QVERIFY2(zoomed < whole * 3 / 4 && zoomed > whole * 2 / 3, qPrintable(QString::number(zoomed)));
    QVERIFY(w.state.visibleFrom() > 0); // around the playhead, in the middle
    w.key(Qt::Key_Up);
    QVERIFY(w.width() < zoomed);
    w.key(Qt::Key_Down);
    QVERIFY(qAbs(qint64(w.width()) - qint64(zoomed)) <= 2);
    const quint64 from = w.state.visibleFrom();
    w.key(Qt::Key_D);
    QVERIFY(w.state.visibleFrom() > from);
    QVERIFY(qAbs(qint64(w.state.visibleFrom() - from) - qint64(zoomed / 8)) <= 2);
    QVERIFY(qAbs(qint64(w.width()) - qint64(zoomed)) <= 1);
    w.key(Qt::Key_A);
    w.key(Qt::Key_Left);
    QVERIFY(w.state.visibleFrom() < from);
    for (int i = 0; i < 40; i++) // pan stops at the start, the range keeps its width
        w.key(Qt::Key_A);
    QCOMPARE(w.state.visibleFrom(), quint64(0));
    QVERIFY(qAbs(qint64(w.width()) - qint64(zoomed)) <= 1);
    for (int i = 0; i < 60; i++) // zoom stops at 200 ns
        w.key(Qt::Key_W);
    QCOMPARE(w.width(), quint64(200));
    w.key(Qt::Key_S);
    QVERIFY(w.width() > 200);
    w.key(Qt::Key_F);
    QVERIFY(w.state.visibleFrom() <= first && w.state.visibleTo() >= std::min(last, whole));
    QVERIFY(first - w.state.visibleFrom() <= w.width() / 20);
    for (int i = 0; i < 12; i++) // no further out than the whole run
        w.key(Qt::Key_S);
    QCOMPARE(w.width(), whole);
    QVERIFY(!w.view.isKeysOverlayVisible());
    QTest::keyClick(&w.view, Qt::Key_Question, Qt::ShiftModifier);
    QVERIFY(w.view.isKeysOverlayVisible());
    w.key(Qt::Key_Escape);
    QVERIFY(!w.view.isKeysOverlayVisible());
}

void TestTimelineView::wheelZoomsAroundTheCursor()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const TimelineFrame before = w.frame();
    const QPointF at(before.labelWidth + before.timeArea().width() * 0.8, 120);
    const quint64 under = before.timeAt(at.x());
    QWheelEvent wheel(at, w.view.viewport()->mapToGlobal(at), QPoint(), QPoint(0, 240), Qt::NoButton,
                      Qt::NoModifier, Qt::NoScrollPhase, false);
    QApplication::sendEvent(w.view.viewport(), &wheel);
    const TimelineFrame after = w.frame();
    QVERIFY(w.width() < (before.to - before.from) / 2);
    // The instant under the cursor stays under it (within a pixel).
    QVERIFY(qAbs(qint64(after.timeAt(at.x())) - qint64(under)) <= qint64(after.nsPerPixel() + 1));
}

void TestTimelineView::dragPansAndTheRulerMovesThePlayhead()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    w.key(Qt::Key_W);
    w.key(Qt::Key_W);
    const TimelineFrame f = w.frame();
    QWidget* vp = w.view.viewport();
    // Press in the lanes, move 100 px left, release: the view pans 100 px later in time.
    const QPoint start(f.labelWidth + 400, TimelineLayout::kRulerHeight + 60);
    QTest::mousePress(vp, Qt::LeftButton, {}, start);
    QTest::mouseMove(vp, start + QPoint(-50, 0));
    QTest::mouseMove(vp, start + QPoint(-100, 0));
    QTest::mouseRelease(vp, Qt::LeftButton, {}, start + QPoint(-100, 0));
    const double moved = double(w.state.visibleFrom()) - double(f.from);
    QVERIFY2(qAbs(moved - 100 * f.nsPerPixel()) <= 2 * f.nsPerPixel(), qPrintable(QString::number(moved)));
    QVERIFY(w.state.selectedThreads().isEmpty()); // a drag is not a click
    // Press in the ruler: the playhead jumps there and follows the drag.
    const TimelineFrame g = w.frame();
    const QPoint ruler(g.labelWidth + 300, 10);
    QTest::mousePress(vp, Qt::LeftButton, {}, ruler);
    QVERIFY(qAbs(qint64(w.state.playhead()) - qint64(g.timeAt(ruler.x()))) <= qint64(g.nsPerPixel() + 1));
    QTest::mouseMove(vp, ruler + QPoint(200, 0));
    QTest::mouseRelease(vp, Qt::LeftButton, {}, ruler + QPoint(200, 0));
    QVERIFY(qAbs(qint64(w.state.playhead()) - qint64(g.timeAt(ruler.x() + 200))) <= qint64(g.nsPerPixel() + 1));
    // The range did not move while the playhead was dragged.
    QCOMPARE(w.state.visibleFrom(), g.from);
}

void TestTimelineView::clickingTheDeadlockWaitSelectsThreadEventAndLock()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const TimelineLane* p2 = w.lane(QStringLiteral("philosopher-2"));
    QVERIFY(p2);
    const QRect row = w.view.laneStateRect(p2->thread);
    QVERIFY(row.isValid());
    // The last pixels of the lane: the wait that never ended.
    QTest::mouseClick(w.view.viewport(), Qt::LeftButton, {}, QPoint(row.right() - 3, row.center().y()));
    QCOMPARE(w.state.selectedThreads(), QList<quint32> { p2->thread });
    QVERIFY(w.state.hasSelectedEvent());
    QCOMPARE(w.state.selectedEventThread(), p2->thread);
    const WaitSpan& wait = w.doc.model().waitSpans()[p2->state.spans().back().ref];
    QCOMPARE(w.state.selectedEventTime(), wait.start);
    QCOMPARE(w.state.selectedEventStack(), wait.stack);
    QCOMPARE(w.state.selectedObjects(), QList<quint32> { wait.object });
    QCOMPARE(w.doc.model().objects()[wait.object].kind, quint8(RAVEL_OBJ_MUTEX));
    // Ctrl+click on another lane adds its thread; Escape clears everything.
    const TimelineLane* p3 = w.lane(QStringLiteral("philosopher-3"));
    const QRect row3 = w.view.laneStateRect(p3->thread);
    QTest::mouseClick(w.view.viewport(), Qt::LeftButton, Qt::ControlModifier, QPoint(row3.left() + 5, row3.center().y()));
    QCOMPARE(w.state.selectedThreads().size(), 2);
    w.key(Qt::Key_Escape);
    QVERIFY(w.state.selectedThreads().isEmpty());
    QVERIFY(!w.state.hasSelectedEvent());
}

void TestTimelineView::clickingAHeldSpanSelectsTheLock()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const TimelineLane* p0 = w.lane(QStringLiteral("philosopher-0"));
    QVERIFY(p0 && !p0->holdRows.empty());
    const QRect row = w.view.laneStateRect(p0->thread);
    // Sub-row 0, at the end: the fork it still holds.
    const int y = row.bottom() + 1 + 2 + TimelineLayout::kHoldHeight / 2;
    QTest::mouseClick(w.view.viewport(), Qt::LeftButton, {}, QPoint(row.right() - 3, y));
    const TimelineItem& held = p0->holdRows[0].spans().back();
    QVERIFY(isOpenState(held.state));
    const HoldSpan& h = w.doc.model().holdSpans()[held.ref];
    QCOMPARE(w.state.selectedObjects(), QList<quint32> { h.object });
    QCOMPARE(w.state.selectedThreads(), QList<quint32> { p0->thread });
    QCOMPARE(w.state.selectedEventTime(), h.start);
}

void TestTimelineView::tooltipsSayWhatWhoAndSinceWhen()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const TimelineLane* p1 = w.lane(QStringLiteral("philosopher-1"));
    const QRect row = w.view.laneStateRect(p1->thread);
    const QPoint at(row.right() - 3, row.center().y());
    QHelpEvent help(QEvent::ToolTip, at, w.view.viewport()->mapToGlobal(at));
    QApplication::sendEvent(w.view.viewport(), &help);
    const QString text = QToolTip::text();
    QVERIFY2(text.contains(QLatin1String("philosopher-1")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("waits for mutex")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("forks[")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("since")), qPrintable(text));
    QVERIFY2(text.contains(QLatin1String("still blocked")), qPrintable(text));
}

void TestTimelineView::zoomToSelectionFramesTheSelectedSpan()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    // Select philosopher-2's first hold (its left fork) by clicking it, then Z.
    const TimelineLane* p2 = w.lane(QStringLiteral("philosopher-2"));
    QVERIFY(p2 && !p2->holdRows.empty());
    const HoldSpan& h = w.doc.model().holdSpans()[p2->holdRows[0].spans().back().ref];
    const QRect row = w.view.laneStateRect(p2->thread);
    QTest::mouseClick(w.view.viewport(), Qt::LeftButton, {},
                      QPoint(row.right() - 3, row.bottom() + 1 + 2 + TimelineLayout::kHoldHeight / 2));
    QCOMPARE(w.state.selectedEventTime(), h.start);
    w.key(Qt::Key_Z);
    const quint64 end = std::min<quint64>(h.end, w.view.index()->durationNs());
    const quint64 len = std::max<quint64>(end - h.start, 1);
    QVERIFY(w.state.visibleFrom() <= h.start);
    QVERIFY(w.state.visibleTo() >= end);
    // A tenth of the span's length either side, at least 100 ns.
    QVERIFY2(w.width() <= std::max<quint64>(len * 12 / 10, len + 200) + 2, qPrintable(QString::number(w.width())));
}

void TestTimelineView::playheadOutsideTheViewBringsTheViewAlong()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    for (int i = 0; i < 8; i++)
        w.key(Qt::Key_W);
    const quint64 width = w.width();
    const quint64 target = w.doc.durationNs() - width / 4;
    QVERIFY(target > w.state.visibleTo());
    w.state.setPlayhead(target);
    QVERIFY(w.state.visibleFrom() <= target && w.state.visibleTo() >= target);
    QVERIFY(qAbs(qint64(w.width()) - qint64(width)) <= 1);
}

void TestTimelineView::exportWritesValidPngAndSvg()
{
    Window w;
    QString error;
    QVERIFY(!w.view.exportImage(test::scratchDir() + QStringLiteral("/none.png"), &error));
    QVERIFY(error.contains(QLatin1String("none.png")));
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    const QString png = test::scratchDir() + QStringLiteral("/timeline.png");
    QVERIFY2(w.view.exportImage(png, &error), qPrintable(error));
    QImage image(png);
    QVERIFY(!image.isNull());
    // A whole picture, not the widget's pixels: at least 1600 wide, every lane tall.
    QCOMPARE(image.size(), w.view.defaultExportSize());
    QVERIFY(image.width() >= 1600);
    // The deadlock is on it: the open mutex waits' red, in many pixels.
    const TimelinePalette palette(w.view.palette());
    const QColor red = palette.span(quint8(SpanKind::WaitMutex) | kOpenBit);
    int reds = 0;
    for (int y = 0; y < image.height(); y++)
        for (int x = 0; x < image.width(); x++)
            reds += image.pixel(x, y) == red.rgb();
    QVERIFY2(reds > 200, qPrintable(QString::number(reds)));

    const QString svg = test::scratchDir() + QStringLiteral("/timeline.svg");
    QVERIFY2(w.view.exportImage(svg, &error), qPrintable(error));
    QSvgRenderer renderer(svg);
    QVERIFY(renderer.isValid());
    QFile file(svg);
    QVERIFY(file.open(QIODevice::ReadOnly));
    const QByteArray text = file.readAll();
    QVERIFY(text.contains("<svg"));
    QVERIFY(text.contains("philosopher-0"));

    QVERIFY(!w.view.exportImage(test::scratchDir() + QStringLiteral("/timeline.bmpx"), &error));
    QVERIFY(error.contains(QLatin1String(".png or .svg")));
    QVERIFY(!w.view.exportImage(QStringLiteral("/nonexistent-dir/x.png"), &error));
    QVERIFY(error.contains(QLatin1String("/nonexistent-dir/x.png")));
}

void TestTimelineView::framesStayBoundedByPixelsAtEveryZoom()
{
    Window w;
    QVERIFY(w.open(QStringLiteral("counter_pthread"), { QStringLiteral("4"), QStringLiteral("100000") }));
    const TimelineIndex& index = *w.view.index();
    QVERIFY(index.spanCount() > 100000);
    TimelineLayout layout;
    layout.build(index);
    const TimelinePalette palette;
    TimelineFrameBuilder builder(&index, &layout, palette, w.view.font(), nullptr);
    TimelineFrame f = w.frame();
    f.size = QSize(1600, 900);
    f.selectedThreads = { index.lanes()[1].thread };
    const double pixels = f.timeArea().width();
    size_t rows = 0;
    for (const TimelineLane& l : index.lanes())
        rows += 1 + size_t(l.shownHoldRows());
    for (quint64 width = index.durationNs(); width >= 200; width /= 4) {
        f.from = (index.durationNs() - width) / 2;
        f.to = f.from + width;
        TimelineDrawList list = builder.build(f);
        // Rows x (2 items a pixel) + arrows (one a pixel for the selection, one per 12 px else).
        const size_t bound = rows * size_t(2 * pixels + 4) + size_t(pixels * 1.1 + 4);
        QVERIFY2(builder.lastItemCount() <= bound,
                 qPrintable(QStringLiteral("%1 items > %2 at %3 ns").arg(builder.lastItemCount()).arg(bound).arg(width)));
        QVERIFY(list.shapeCount() <= bound * 2 + 400);
    }
}

void TestTimelineView::minimapShowsTheRunAndMovesTheRange()
{
    Window w;
    MinimapWidget minimap(&w.doc, &w.state);
    minimap.resize(1000, 34);
    minimap.show();
    QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }));
    QTRY_VERIFY(minimap.hasDensity());
    w.state.setVisibleRange(0, w.doc.durationNs());
    w.state.setPlayhead(w.doc.durationNs() / 2); // the keys zoom around it: the box away from x = 100
    for (int i = 0; i < 6; i++)
        w.key(Qt::Key_W);
    const quint64 width = w.width();
    QTest::mouseClick(&minimap, Qt::LeftButton, {}, QPoint(100, 17));
    const quint64 center = (w.state.visibleFrom() + w.state.visibleTo()) / 2;
    QVERIFY(qAbs(qint64(center) - qint64(minimap.timeAt(100))) <= qint64(w.doc.durationNs() / 500 + 2));
    QVERIFY(qAbs(qint64(w.width()) - qint64(width)) <= 1);
    QVERIFY(!test::saveScreenshot(&minimap, QStringLiteral("timeline-minimap-dining")).isEmpty());
}

void TestTimelineView::screenshots()
{
    // Looked at by a person: is the deadlock obvious, are the labels readable?
    {
        Window w;
        QVERIFY(w.open(QStringLiteral("dining"), { QStringLiteral("5") }, QSize(1280, 420)));
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-dining-whole")).isEmpty());
        // The last 30% of the run: the deadlock forming and lasting.
        const quint64 d = w.doc.durationNs();
        w.state.setVisibleRange(0, d / 12);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-dining-start")).isEmpty());
        const TimelineLane* p2 = w.lane(QStringLiteral("philosopher-2"));
        const QRect row = w.view.laneStateRect(p2->thread);
        w.state.setVisibleRange(0, d);
        QTest::mouseClick(w.view.viewport(), Qt::LeftButton, {}, QPoint(row.right() - 3, row.center().y()));
        w.state.setPlayhead(d * 9 / 10);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-dining-selected")).isEmpty());
        w.view.setKeysOverlayVisible(true);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-keys-overlay")).isEmpty());
        w.view.setKeysOverlayVisible(false);
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(45, 45, 48));
        dark.setColor(QPalette::Base, QColor(30, 30, 32));
        dark.setColor(QPalette::Text, QColor(230, 230, 230));
        dark.setColor(QPalette::WindowText, QColor(230, 230, 230));
        dark.setColor(QPalette::PlaceholderText, QColor(150, 150, 150));
        w.view.setPalette(dark);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-dining-dark")).isEmpty());
    }
    {
        Window w;
        QVERIFY(w.open(QStringLiteral("hundreds_of_locks"), {}, QSize(1280, 420)));
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-hundreds-of-locks")).isEmpty());
    }
    {
        Window w;
        QVERIFY(w.open(QStringLiteral("bank_std"), { QStringLiteral("4"), QStringLiteral("20000") }, QSize(1280, 480)));
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-bank-whole")).isEmpty());
        const quint64 d = w.doc.durationNs();
        w.state.setVisibleRange(d / 2, d / 2 + 40000);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-bank-40us")).isEmpty());
        w.state.setSelectedThreads({ w.view.index()->lanes()[2].thread });
        w.state.setVisibleRange(d / 2, d / 2 + 400000);
        QVERIFY(!test::saveScreenshot(&w.view, QStringLiteral("timeline-bank-400us-selected")).isEmpty());
    }
}

QTEST_MAIN(TestTimelineView)
#include "test_timeline_view.moc"
