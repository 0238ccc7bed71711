// One run of several processes is one timeline (issue 14, item 4): forked_worker forks a worker
// that execs a wrapper image, which execs the worker image that has the lock-order bug. Recorded
// by the real `ravel run`, opened in the real window offscreen: a header per pid with its command
// line and its end, the worker's images under it, its threads' lanes, folding a header hides them,
// the worker's finding is listed with its process and choosing it moves the playhead into the
// worker's lanes, with the details and the source of the worker's trace. Screenshots land in
// RAVEL_ARTIFACT_DIR.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "main_window.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_view.hpp"

#include <QLabel>

using namespace ravel::gui;
using namespace ravel::gui::test;

class TestProcesses : public QObject {
    Q_OBJECT
private slots:
    void ShowsEveryProcessOfTheRunGroupedAndFoldable()
    {
        const QString trace = recordExample(QStringLiteral("forked_worker"));
        QVERIFY(!trace.isEmpty());
        MainWindow w;
        w.resize(1280, 860);
        w.show();
        QVERIFY(openAndSettle(w, trace));
        TraceDocument* doc = w.document();
        QCOMPARE(doc->processes().size(), size_t(2));
        const TraceDocument::Process& parent = doc->processes()[0];
        const TraceDocument::Process& worker = doc->processes()[1];
        QCOMPARE(worker.parent, parent.pid);
        QCOMPARE(worker.parts.size(), size_t(3)); // the fork, the wrapper image, the worker image
        QVERIFY2(worker.command.endsWith(QStringLiteral("forked_worker work")), qPrintable(worker.command));
        QCOMPARE(worker.end, QStringLiteral("exited 3"));
        QCOMPARE(parent.end, QStringLiteral("exited 0"));
        // The worker started after the parent, on the parent's clock.
        QVERIFY(worker.startNs > 0 && worker.startNs < doc->durationNs());

        TimelineView* tl = w.timelineView();
        const TimelineIndex* index = tl->index();
        QVERIFY(index);
        QCOMPARE(index->groups().size(), size_t(2));
        QCOMPARE(index->groups()[0].pid, parent.pid);
        QCOMPARE(index->groups()[1].pid, worker.pid);
        QVERIFY(index->groups()[1].name.contains(QString::number(worker.pid)));
        QVERIFY2(index->groups()[1].detail.contains(QStringLiteral("forked_worker work"))
                     && index->groups()[1].detail.contains(QStringLiteral("exited 3")),
                 qPrintable(index->groups()[1].detail));
        QCOMPARE(index->groups()[1].processCount, 3);
        // The tellers' lanes are under the worker's header, in its last image's part.
        const int workPart = worker.parts.back();
        int tellers = 0;
        for (const TimelineLane& lane : index->lanes())
            if (lane.name.startsWith(QStringLiteral("teller-"))) {
                QCOMPARE(lane.part, workPart);
                QCOMPARE(lane.pid, worker.pid);
                QVERIFY(lane.startNs >= worker.startNs);
                tellers++;
            }
        QCOMPARE(tellers, 2);
        saveScreenshot(&w, QStringLiteral("processes-run"));

        // Folding the worker's header hides its lanes; unfolding brings them back.
        const QRect header = tl->groupHeaderRect(1);
        QVERIFY(!header.isEmpty());
        QTest::mouseClick(tl->viewport(), Qt::LeftButton, {}, header.center() + QPoint(0, 0));
        QVERIFY(tl->isGroupCollapsed(1));
        doc->setActivePart(workPart);
        QVERIFY(tl->laneStateRect(2).isEmpty());
        saveScreenshot(&w, QStringLiteral("processes-folded"));
        QTest::mouseClick(tl->viewport(), Qt::LeftButton, {}, tl->groupHeaderRect(1).center());
        QVERIFY(!tl->isGroupCollapsed(1));
        QVERIFY(!tl->laneStateRect(2).isEmpty());

        // The worker's finding: listed with its process; choosing it goes there.
        doc->setActivePart(0);
        QCOMPARE(doc->findings().size(), size_t(1));
        QCOMPARE(doc->findingPart(0), workPart);
        QVERIFY2(QString::fromStdString(doc->findings()[0].title).contains(QStringLiteral("in pid %1").arg(worker.pid)),
                 doc->findings()[0].title.c_str());
        tl->setGroupCollapsed(1, true); // choosing it unfolds its process
        QVERIFY(w.selectFinding(1));
        QCOMPARE(doc->activePart(), workPart);
        QVERIFY(!tl->isGroupCollapsed(1));
        ViewState* s = w.viewState();
        QVERIFY(!s->selectedThreads().isEmpty());
        // Its threads are the worker's tellers, and the playhead is on the life of one of them
        // (the moment the cycle's first edge took its second lock).
        bool onLane = false;
        for (quint32 t : s->selectedThreads()) {
            const int li = index->laneOf(workPart, t);
            QVERIFY(li >= 0);
            const TimelineLane& lane = index->lanes()[size_t(li)];
            QVERIFY(lane.name.startsWith(QStringLiteral("teller-")));
            onLane = onLane || (s->playhead() >= lane.startNs && s->playhead() <= lane.endNs);
        }
        QVERIFY(onLane);
        QVERIFY(s->playhead() > worker.startNs);
        const QString details = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(details.contains(QStringLiteral("teller-")) && details.contains(QStringLiteral("account_a")),
                 qPrintable(details));
        saveScreenshot(&w, QStringLiteral("processes-finding"));
    }

    void SingleProcessTraceKeepsItsOneHeader()
    {
        MainWindow w;
        w.resize(1000, 700);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("latent_abba"))));
        QVERIFY(!w.document()->isMultiProcess());
        const TimelineIndex* index = w.timelineView()->index();
        QCOMPARE(index->groups().size(), size_t(1));
        QVERIFY(index->groups()[0].detail.isEmpty()); // "pid N · k threads", as always
        QVERIFY(index->processes()[0].imageLabel.isEmpty());
    }
};

QTEST_MAIN(TestProcesses)
#include "test_processes.moc"
