// Findings always one action away (issue 17, item 1), on real traces of the examples in the whole
// window: choosing a finding again, by click, double-click, Enter, the Run menu or N / Shift+N,
// always brings it back (playhead at its moment, its threads selected, the timeline zoomed so the
// moment is well inside the view); N walks the findings in time order and wraps; W / S zoom around
// the playhead; F fits the run's activity; Details always says something. Screenshots land in
// RAVEL_ARTIFACT_DIR.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "findings_panel.hpp"
#include "graph/wait_for_graph_view.hpp"
#include "main_window.hpp"
#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/view_state.hpp"
#include "playback/playback_controller.hpp"
#include "timeline/timeline_view.hpp"

#include <QAction>
#include <QApplication>
#include <QFontInfo>
#include <QGraphicsView>
#include <QIcon>
#include <QLineEdit>
#include <QLabel>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTreeView>

#include <algorithm>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString dining() { return recordExample(QStringLiteral("dining"), { QStringLiteral("5") }); }

// The proxy index of finding `finding` in the findings list.
QModelIndex listIndexOf(MainWindow& w, int finding)
{
    auto* proxy = w.findingsPanel()->proxy();
    for (int g = 0; g < proxy->rowCount(); g++) {
        const QModelIndex group = proxy->index(g, 0);
        for (int r = 0; r < proxy->rowCount(group); r++) {
            const QModelIndex i = proxy->index(r, 0, group);
            if (i.data(FindingsModel::FindingIndexRole).toInt() == finding)
                return i;
        }
    }
    return {};
}

// The finding is in view: the playhead at its moment, its threads selected, the moment inside the
// visible range and away from its right edge (not in the last pixels), and zoomed in far enough
// that its stretch of time is more than a sliver.
QString checkFocused(MainWindow& w, int finding)
{
    const ravel::Finding& f = w.document()->findings()[size_t(finding)];
    ViewState* s = w.viewState();
    const quint64 moment = std::min(findingTime(f), s->duration());
    if (s->selectedFinding() != finding)
        return QStringLiteral("selected finding %1, not %2").arg(s->selectedFinding()).arg(finding);
    if (s->playhead() != moment)
        return QStringLiteral("playhead %1, not the moment %2").arg(s->playhead()).arg(moment);
    QList<quint32> want = findingThreads(f), have = s->selectedThreads();
    std::sort(want.begin(), want.end());
    std::sort(have.begin(), have.end());
    if (want != have)
        return QStringLiteral("the finding's threads are not the selection");
    const quint64 from = s->visibleFrom(), to = s->visibleTo();
    if (moment < from || moment > to)
        return QStringLiteral("moment %1 outside the view [%2, %3]").arg(moment).arg(from).arg(to);
    const double at = double(moment - from) / double(to - from);
    if (at > 0.92)
        return QStringLiteral("moment at %1 of the view's width: in its last pixels").arg(at);
    const auto [a, b] = findingExtent(f);
    if (b > a && double(b - a) < double(to - from) * 0.2 && to - from > 20'000 && double(to - from) > double(s->duration()) / 40)
        return QStringLiteral("the finding's stretch is a sliver of the view");
    return {};
}

} // namespace

class TestFindingFocus : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QApplication::setApplicationName(QStringLiteral("ravel-gui-test"));
        QApplication::setOrganizationName(QStringLiteral("ravel"));
        QSettings().clear();
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    }

    void choosingTheSelectedFindingAgainBringsItBack()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        QString why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable(why));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-dining-opened")).isEmpty());
        ViewState* s = w.viewState();
        QTreeView* view = w.findingsPanel()->view();
        const QModelIndex item = listIndexOf(w, 0);
        QVERIFY(item.isValid());
        QCOMPARE(view->currentIndex(), item);

        // Wander off: End, then zoom to the whole run; a click on the finding brings it back.
        QAction* toEnd = findAction(&w, QStringLiteral("To End"));
        QVERIFY(toEnd);
        s->setPlayhead(0);
        s->setVisibleRange(0, s->duration());
        QTest::mouseClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(item).center());
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("click: " + why));

        // Enter on the selected one.
        toEnd->trigger();
        QVERIFY(s->playhead() != findingTime(w.document()->findings()[0]));
        view->setFocus();
        QTest::keyClick(view, Qt::Key_Return);
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("Enter: " + why));

        // A double-click.
        s->setPlayhead(0);
        s->setSelectedThreads({});
        QTest::mouseDClick(view->viewport(), Qt::LeftButton, {}, view->visualRect(item).center());
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("double-click: " + why));

        // The Run menu and its keys: one finding, so both ways lead back to it.
        toEnd->trigger();
        QAction* prev = findAction(&w, QStringLiteral("Previous Finding"));
        QAction* next = findAction(&w, QStringLiteral("Next Finding"));
        QVERIFY(prev && next);
        prev->trigger();
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("Previous Finding: " + why));
        toEnd->trigger();
        next->trigger();
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("Next Finding (wraps): " + why));
        s->setPlayhead(0);
        w.activateWindow();
        w.timelineView()->setFocus();
        QTest::keyClick(w.timelineView(), Qt::Key_N, Qt::ShiftModifier);
        why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable("Shift+N: " + why));

        // The wait-for graph is the finding's again after the playhead had moved it off.
        s->setPlayhead(0);
        QTest::qWait(50);
        next->trigger();
        QElapsedTimer t;
        t.start();
        while (!w.isSettled() && t.elapsed() < 20000)
            QTest::qWait(20);
        QString error;
        const QString svg = scratchDir() + QStringLiteral("/again.svg");
        QVERIFY2(w.exportWaitForGraph(svg, &error), qPrintable(error));
        QFile file(svg);
        QVERIFY(file.open(QIODevice::ReadOnly));
        QVERIFY(file.readAll().contains("finding 1"));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-dining-chosen-again")).isEmpty());
    }

    void nextFindingGoesInTimeOrderAndWraps()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("lock_misuse"))));
        const auto& findings = w.document()->findings();
        QVERIFY2(findings.size() >= 3, qPrintable(QString::number(findings.size())));
        ViewState* s = w.viewState();
        s->setPlayhead(0);
        QList<int> visited;
        QList<quint64> times;
        w.activateWindow();
        w.timelineView()->setFocus();
        for (size_t i = 0; i < findings.size(); i++) {
            QTest::keyClick(w.timelineView(), Qt::Key_N);
            visited << s->selectedFinding();
            times << s->playhead();
            const QString why = checkFocused(w, s->selectedFinding());
            QVERIFY2(why.isEmpty(), qPrintable(QStringLiteral("N #%1: %2").arg(i).arg(why)));
        }
        // Every finding once, in time order.
        QList<int> sortedVisited = visited;
        std::sort(sortedVisited.begin(), sortedVisited.end());
        QCOMPARE(sortedVisited.size(), int(findings.size()));
        QVERIFY(std::adjacent_find(sortedVisited.begin(), sortedVisited.end()) == sortedVisited.end());
        QVERIFY(std::is_sorted(times.begin(), times.end()));
        // Past the last, N wraps to the first; Shift+N goes back through them in reverse.
        QTest::keyClick(w.timelineView(), Qt::Key_N);
        QCOMPARE(s->selectedFinding(), visited.first());
        QTest::keyClick(w.timelineView(), Qt::Key_N, Qt::ShiftModifier);
        QCOMPARE(s->selectedFinding(), visited.last());
        QTest::keyClick(w.timelineView(), Qt::Key_N, Qt::ShiftModifier);
        QCOMPARE(s->selectedFinding(), visited[visited.size() - 2]);
        // A misuse's details name its object.
        const QString summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(summary.contains(QStringLiteral("Finding ")) && summary.contains(QStringLiteral("_lock")),
                 qPrintable(summary));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-lock-misuse")).isEmpty());
    }

    void searchCountsWhatItLeavesAndMisuseIsRed()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("lock_misuse"))));
        FindingsPanel* panel = w.findingsPanel();
        auto* proxy = panel->proxy();
        const QModelIndex group = proxy->index(0, 0);
        QVERIFY2(group.data().toString().startsWith(QStringLiteral("Misuse (")), qPrintable(group.data().toString()));
        // Misuse is an error: a red dot, as a deadlock's.
        const QIcon icon = proxy->index(0, 0, group).data(Qt::DecorationRole).value<QIcon>();
        const QColor dot = icon.pixmap(16, 16).toImage().pixelColor(8, 8);
        QVERIFY2(dot.red() > 180 && dot.blue() < 100 && dot.green() < 100, qPrintable(dot.name()));
        const int all = proxy->rowCount(group);
        panel->searchBox()->setText(QStringLiteral("reporter"));
        const QModelIndex narrowed = proxy->index(0, 0);
        QVERIFY(proxy->rowCount(narrowed) < all);
        QCOMPARE(narrowed.data().toString(),
                 QStringLiteral("Misuse (%1 of %2)").arg(proxy->rowCount(narrowed)).arg(all));
        panel->searchBox()->setText(QStringLiteral("no-such-thing-xyz"));
        auto* placeholder = panel->findChild<QLabel*>(QStringLiteral("findingsPlaceholder"));
        QVERIFY(placeholder && placeholder->isVisible());
        QVERIFY2(placeholder->text().contains(QStringLiteral("no-such-thing-xyz")), qPrintable(placeholder->text()));
        panel->searchBox()->clear();
        QVERIFY(panel->view()->isVisible());
        QCOMPARE(proxy->index(0, 0).data().toString(), QStringLiteral("Misuse (%1)").arg(all));
    }

    void potentialDeadlockIsShownAtItsFirstEdge()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("latent_abba"))));
        const ravel::Finding& f = w.document()->findings()[0];
        QCOMPARE(f.kind, std::string("potential-deadlock"));
        QVERIFY(!f.edges.empty());
        QCOMPARE(findingTime(f), f.edges.front().timeNs);
        QVERIFY(w.selectFinding(1));
        const QString why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable(why));
        QTabWidget* tabs = nullptr;
        for (QTabWidget* t : w.findChildren<QTabWidget*>())
            if (t->indexOf(w.waitForGraphView()) >= 0)
                tabs = t;
        QVERIFY(tabs);
        QCOMPARE(tabs->currentIndex(), 1); // the lock-order graph
        // Chosen again after looking at the other tab: its tab again.
        tabs->setCurrentIndex(0);
        w.viewState()->setPlayhead(0);
        QVERIFY(w.selectFinding(1));
        QCOMPARE(tabs->currentIndex(), 1);
        QVERIFY2(checkFocused(w, 0).isEmpty(), qPrintable(checkFocused(w, 0)));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-latent-abba")).isEmpty());
    }

    void condVarPredictionIsShownAtItsWaitWithTheWaitForGraph()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("latent_lost_signal"))));
        QCOMPARE(w.document()->findings().size(), size_t(1));
        const ravel::Finding& f = w.document()->findings()[0];
        QCOMPARE(f.kind, std::string("potential-deadlock"));
        QVERIFY(f.edges.empty()); // no lock-order cycle: a lost signal
        QVERIFY(f.timeNs > 0);
        QVERIFY(w.selectFinding(1));
        QCOMPARE(w.viewState()->playhead(), f.timeNs); // the moment the worker began to wait
        const QString why = checkFocused(w, 0);
        QVERIFY2(why.isEmpty(), qPrintable(why));
        QTabWidget* tabs = nullptr;
        for (QTabWidget* t : w.findChildren<QTabWidget*>())
            if (t->indexOf(w.waitForGraphView()) >= 0)
                tabs = t;
        QVERIFY(tabs);
        // Nothing to draw in the lock-order graph: the wait-for graph at the wait.
        QCOMPARE(tabs->currentWidget(), static_cast<QWidget*>(w.waitForGraphView()));
        // The graph is the wait at that moment: the worker waiting on go_cond, not a lock cycle.
        QTRY_VERIFY(!w.waitForGraphView()->shownGraph().nodes.empty());
        const ravel::GraphModel& g = w.waitForGraphView()->shownGraph();
        QVERIFY2(g.title.find("lock-order cycle") == std::string::npos, g.title.c_str());
        QVERIFY2(g.find("t2") != SIZE_MAX, g.title.c_str()); // the waiting worker is drawn
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-latent-lost-signal")).isEmpty());
    }

    void zoomKeysKeepThePlayheadAndFitShowsTheActivity()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        TimelineView* tl = w.timelineView();
        ViewState* s = w.viewState();
        tl->fit();
        const auto [first, last] = tl->index()->activityRange();
        QVERIFY(last > first);
        // F: the activity with a small margin, not the empty start-up.
        const quint64 width = s->visibleTo() - s->visibleFrom();
        QVERIFY(s->visibleFrom() <= first && s->visibleTo() >= last);
        QVERIFY2(first - s->visibleFrom() <= width / 20, qPrintable(QStringLiteral("%1 %2").arg(first).arg(s->visibleFrom())));
        // W and S zoom around the playhead: it keeps its place on screen.
        const quint64 p = first + (last - first) * 3 / 4;
        s->setPlayhead(p);
        const TimelineFrame before = tl->currentFrame(tl->viewport()->size());
        const double x = before.xOf(p);
        tl->setFocus();
        for (int k : { Qt::Key_W, Qt::Key_W, Qt::Key_W, Qt::Key_S, Qt::Key_Up }) {
            QTest::keyClick(tl, Qt::Key(k));
            const TimelineFrame after = tl->currentFrame(tl->viewport()->size());
            QVERIFY2(qAbs(after.xOf(p) - x) <= 2.0, qPrintable(QStringLiteral("%1 -> %2").arg(x).arg(after.xOf(p))));
        }
        QVERIFY(s->visibleTo() - s->visibleFrom() < width / 2);
    }

    void findingsDockShrinksWhenEmptyAndGraphsAreReadable()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("trylock_ok"))));
        QVERIFY(w.document()->findings().empty());
        QTest::qWait(50);
        const int empty = w.findingsPanel()->width();
        const int timelineEmpty = w.timelineView()->width();
        QVERIFY(!saveScreenshot(&w, QStringLiteral("focus-no-findings")).isEmpty());
        QVERIFY(openAndSettle(w, dining()));
        QTest::qWait(50);
        const int full = w.findingsPanel()->width();
        QVERIFY2(empty < 200 && full >= 280, qPrintable(QStringLiteral("%1 %2").arg(empty).arg(full)));
        QVERIFY(timelineEmpty > w.timelineView()->width());
        // The timeline has most of the width.
        QVERIFY2(w.timelineView()->width() > 1400 * 4 / 10, qPrintable(QString::number(w.timelineView()->width())));
        // The wait-for graph at its first zoom: edge labels (9 units) at least the body text's size.
        auto* graph = w.findChild<QGraphicsView*>(QStringLiteral("waitForGraphView"));
        QVERIFY(graph);
        const double px = graph->transform().m11() * 9;
        QVERIFY2(px + 0.01 >= QFontInfo(graph->font()).pixelSize(), qPrintable(QString::number(px)));
        QVERIFY(!saveScreenshot(graph, QStringLiteral("focus-dining-graph-readable")).isEmpty());
    }

    void detailsAlwaysSaySomething()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        TimelineView* tl = w.timelineView();
        tl->setFocus();
        QTest::keyClick(tl, Qt::Key_Escape); // nothing selected but the finding
        QString summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(summary.contains(QStringLiteral("Finding 1")), qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("threads alive")) && summary.contains(QStringLiteral("blocked")),
                 qPrintable(summary));
        QVERIFY(!summary.contains(QStringLiteral("Select a finding")));
        // A selected thread at the playhead: what it does then.
        const quint32 philosopher = w.document()->findings()[0].threads.front().id;
        w.viewState()->setSelectedThreads({ philosopher });
        summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(summary.contains(w.document()->threadName(philosopher)) && summary.contains(QStringLiteral("waits for")),
                 qPrintable(summary));
        // At the start, nobody is blocked yet.
        w.viewState()->setSelectedThreads({});
        w.viewState()->setPlayhead(0);
        summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(summary.contains(QStringLiteral("none blocked")), qPrintable(summary));
        QVERIFY(!saveScreenshot(w.detailsPanel(), QStringLiteral("focus-details-nothing-selected")).isEmpty());
    }
};

QTEST_MAIN(TestFindingFocus)
#include "test_finding_focus.moc"
