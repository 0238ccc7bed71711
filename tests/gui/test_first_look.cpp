// What a newcomer sees first (issue 17, "tried as a new user would"), on real traces of the
// examples: the first window takes the screen up to 1600x1000; a trace without a deadlock opens
// with the playhead where its activity starts, in view, so Details tells of a moment with threads
// in it; and Details says what a thread that waits for nothing is doing (running, not started yet,
// exited), not just its name and a time.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "main_window.hpp"
#include "models/finding_focus.hpp"
#include "models/timeline_index.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_layout.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_view.hpp"

#include <QDockWidget>
#include <QLabel>
#include <QPalette>
#include <algorithm>
#include <cmath>
#include <QScreen>
#include <QSettings>

using namespace ravel::gui;
using namespace ravel::gui::test;

class TestFirstLook : public QObject {
    Q_OBJECT

private slots:
    void firstWindowTakesTheScreenUpTo1600x1000()
    {
        {
            QSettings settings;
            settings.remove(QStringLiteral("window/geometry"));
            settings.remove(QStringLiteral("window/state"));
        }
        MainWindow w;
        QVERIFY(w.screen());
        const QSize want = QSize(1600, 1000).boundedTo(w.screen()->availableGeometry().size());
        QCOMPARE(w.size(), want);
        QVERIFY(w.screen()->availableGeometry().contains(w.geometry()));
    }

    // racy_bank has no deadlock: nothing is chosen for the user, but the playhead is where the
    // activity starts (the view's own left part), not at 0 in the empty start-up, and Details says
    // which threads are alive then.
    void traceWithoutDeadlockOpensWithThePlayheadOnItsActivity()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("racy_bank"))));
        ViewState* s = w.viewState();
        QCOMPARE(s->selectedFinding(), -1);
        const TimelineIndex* index = w.timelineView()->index();
        QVERIFY(index);
        const quint64 first = index->activityRange().first;
        QVERIFY2(first > 0, "racy_bank's activity starts at 0: the test needs a start-up");
        QCOMPARE(s->playhead(), first);
        QVERIFY(s->visibleFrom() <= first && first <= s->visibleTo());
        const QString summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(!summary.contains(QStringLiteral("0 threads alive")), qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("threads alive")) || summary.contains(QStringLiteral("thread alive")),
                 qPrintable(summary));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("first-look-racy-bank")).isEmpty());
    }

    // A timeline of three lanes leaves Details the room it does not need (up to two fifths of
    // the window), every lane still in view; one of 33 lanes keeps Details at its default height.
    void shortTimelineGivesItsRoomToDetails()
    {
        auto detailsDock = [](MainWindow& w) { return w.findChild<QDockWidget*>(QStringLiteral("detailsDock")); };
        {
            MainWindow w;
            w.resize(1600, 1000);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            QVERIFY(openAndSettle(w, recordExample(QStringLiteral("racy_bank"))));
            QTRY_VERIFY2(detailsDock(w)->height() > 300,
                         qPrintable(QStringLiteral("details %1 px").arg(detailsDock(w)->height())));
            QVERIFY(detailsDock(w)->height() <= 1000 * 2 / 5 + 4);
            TimelineView* tl = w.timelineView();
            QVERIFY2(tl->height() >= tl->neededHeight(),
                     qPrintable(QStringLiteral("timeline %1 px, needs %2").arg(tl->height()).arg(tl->neededHeight())));
            QVERIFY(!saveScreenshot(&w, QStringLiteral("first-look-details-room")).isEmpty());
        }
        {
            MainWindow w;
            w.resize(1600, 1000);
            w.show();
            QVERIFY(QTest::qWaitForWindowExposed(&w));
            const int before = detailsDock(w)->height();
            QVERIFY(openAndSettle(w, recordExample(QStringLiteral("dining"), { QStringLiteral("32") })));
            QTest::qWait(100);
            QVERIFY(w.timelineView()->neededHeight() > w.timelineView()->height());
            // (Its summary's lines may make it a little taller than before; not by the room a
            // short timeline gives.)
            QVERIFY2(detailsDock(w)->height() < 300,
                     qPrintable(QStringLiteral("details %1 px, %2 before").arg(detailsDock(w)->height()).arg(before)));
        }
    }

    // A misuse happens at one instant in one thread: a red cross on that thread's lane, listed in
    // the legend; its tooltip names it and a click on it chooses it, as the list does.
    void misuseIsMarkedOnItsThreadsLane()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("lock_misuse"))));
        TimelineView* tl = w.timelineView();
        const std::vector<ravel::Finding>& findings = w.document()->findings();
        QVERIFY(findings.size() >= 2);
        QCOMPARE(QString::fromStdString(findings[0].kind), QStringLiteral("misuse"));
        tl->fit();
        const QRect mark = tl->findingMarkRect(0);
        QVERIFY2(!mark.isEmpty(), "finding 1's cross is not in the fitted view");
        // On its thread's lane, at its time.
        const quint32 thread = findings[0].threads.front().id;
        QVERIFY(tl->laneStateRect(thread).intersects(mark));
        const TimelineFrame f = tl->currentFrame(tl->viewport()->size());
        QVERIFY(std::abs(f.xOf(findingTime(findings[0])) - mark.center().x()) <= 2);
        QCOMPARE(tl->findingMarkAt(mark.center()), 0);
        // The legend lists it.
        TimelineLayout layout;
        layout.build(*tl->index());
        const TimelinePalette palette(tl->palette());
        TimelineFrameBuilder builder(tl->index(), &layout, palette, tl->font(), nullptr);
        const TimelineDrawList list = builder.build(f);
        bool listed = false;
        for (const TimelineDrawList::Layer& l : list.layers)
            for (const TimelineDrawList::Text& t : l.texts)
                listed = listed || (t.text == QStringLiteral("misuse") && t.rect.top() > f.timeArea().bottom());
        QVERIFY(listed);
        // A click on it chooses it, from anywhere.
        // (The playhead at the view's left edge: one moved out of view would scroll it.)
        w.viewState()->setSelectedFinding(1);
        w.viewState()->setPlayhead(w.viewState()->visibleFrom());
        const QRect again = tl->findingMarkRect(0);
        QVERIFY(!again.isEmpty());
        QTest::mouseClick(tl->viewport(), Qt::LeftButton, {}, again.center());
        QTRY_COMPARE(w.viewState()->selectedFinding(), 0);
        QCOMPARE(w.viewState()->playhead(), findingTime(findings[0]));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("first-look-misuse-cross")).isEmpty());
    }

    // A held lock's colour is never a green near the running colour, light or dark, whatever
    // its index (the dining ring had a green fork that read as "running").
    void heldLocksNeverLookRunning()
    {
        for (const bool dark : { false, true }) {
            QPalette p;
            p.setColor(QPalette::Base, dark ? QColor(30, 30, 30) : QColor(255, 255, 255));
            p.setColor(QPalette::Window, dark ? QColor(45, 45, 45) : QColor(240, 240, 240));
            p.setColor(QPalette::Text, dark ? QColor(230, 230, 230) : QColor(20, 20, 20));
            const TimelinePalette palette(p);
            const int running = palette.running().hsvHue();
            auto apart = [](int a, int b) { return std::min(std::abs(a - b), 360 - std::abs(a - b)); };
            for (quint32 object = 0; object < 500; object++) {
                for (SpanKind kind : { SpanKind::Hold, SpanKind::HoldContended }) {
                    const int hue = palette.lockHold(object, quint8(kind)).hsvHue();
                    QVERIFY2(apart(hue, running) >= 35,
                             qPrintable(QStringLiteral("object %1: hue %2, running %3").arg(object).arg(hue).arg(running)));
                }
                // Neighbouring locks (a ring's forks, an array's buckets) apart from each other too.
                const int here = palette.lockHold(object, quint8(SpanKind::Hold)).hsvHue();
                for (quint32 next = object + 1; next <= object + 3; next++)
                    QVERIFY2(apart(here, palette.lockHold(next, quint8(SpanKind::Hold)).hsvHue()) >= 20,
                             qPrintable(QStringLiteral("objects %1 and %2 share a hue").arg(object).arg(next)));
            }
        }
    }

    // lock_misuse's first finding: reporter unlocks a mutex it does not hold. Details says reporter
    // is running then; before a thread starts and after it exits, it says so.
    void detailsSayWhatAThreadThatWaitsForNothingDoes()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("lock_misuse"))));
        QVERIFY(w.selectFinding(1));
        QLabel* summary = w.detailsPanel()->summaryLabel();
        QVERIFY2(summary->text().contains(QStringLiteral("running, waiting for nothing")), qPrintable(summary->text()));
        // The same thread before its start and after its exit.
        ViewState* s = w.viewState();
        const quint32 thread = s->selectedThreads().first();
        const ravel::ModelThread* th = w.document()->model().thread(thread);
        QVERIFY(th && th->startNs > 0 && th->exitNs != ravel::kOpenEnd);
        s->clearSelectedEvent();
        s->setPlayhead(th->startNs - 1);
        QVERIFY2(summary->text().contains(QStringLiteral("not started yet")), qPrintable(summary->text()));
        s->setPlayhead(std::min<quint64>(s->duration(), th->exitNs + 1));
        QVERIFY2(summary->text().contains(QStringLiteral(": exited at")), qPrintable(summary->text()));
    }
};

QTEST_MAIN(TestFirstLook)
#include "test_first_look.moc"
