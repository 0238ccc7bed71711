// Data races on the timeline (issue 13, item 4), on real traces of the racy examples built with
// ravel-cc and recorded by the real runtime: a marker on both lanes at both accesses, linked;
// choosing the finding (or clicking a marker) puts the playhead on the second access; Details
// shows both accesses side by side and why nothing orders them; the findings list counts them.
// Screenshots at 1600x1000 land in RAVEL_ARTIFACT_DIR.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "details/race_view.hpp"
#include "details/source_view.hpp"
#include "findings_panel.hpp"
#include "main_window.hpp"
#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/race_pair.hpp"
#include "models/stack_model.hpp"
#include "models/timeline_index.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_palette.hpp"
#include "timeline/timeline_view.hpp"

#include <QApplication>
#include <QLabel>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStyleFactory>
#include <QTabWidget>
#include <QTextBlock>
#include <QTreeView>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString racyBank() { return recordExample(QStringLiteral("racy_bank")); }
QString racyCounter() { return recordExample(QStringLiteral("racy_counter")); }

int firstRace(const TraceDocument& doc)
{
    for (size_t i = 0; i < doc.findings().size(); i++)
        if (doc.findings()[i].kind == "data-race")
            return int(i);
    return -1;
}

QString plain(const QLabel* label)
{
    QString t = label->text();
    t.replace(QRegularExpression(QStringLiteral("<[^>]*>")), QString());
    return t;
}

} // namespace

class RaceTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QSettings().clear();
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    }

    // The pair as the analyzer left it, with what the trace proves about the untimed first access.
    void pairOfAForgottenLockSaysWhoHeldWhat()
    {
        TraceDocument doc;
        QVERIFY(loadDocument(doc, racyBank()));
        const int race = firstRace(doc);
        QVERIFY2(race >= 0, "racy_bank recorded no data race");
        const auto pair = racePairOf(doc.model(), doc.findings()[size_t(race)], race);
        QVERIFY(pair);
        QCOMPARE(pair->variable, QStringLiteral("balance"));
        // The teller's deposit (second) holds balance_lock; the auditor's reset (first) none.
        QCOMPARE(pair->second.held.size(), 1);
        QCOMPARE(doc.objectName(pair->second.held.first()), QStringLiteral("balance_lock"));
        QVERIFY(pair->second.write);
        QVERIFY(pair->first.write);
        QVERIFY(pair->first.heldKnown);
        QVERIFY(pair->first.held.isEmpty());
        QVERIFY(!pair->first.timeKnown);
        QVERIFY(pair->first.earliestNs <= pair->first.latestNs);
        QVERIFY(pair->first.latestNs <= pair->second.earliestNs);
        // The auditor exits long before the teller's first deposit (it sleeps 5 ms first): the
        // range ends at its exit, not at the second access.
        QVERIFY(pair->first.latestNs + 1'000'000 < pair->second.earliestNs);
        const QString why = raceExplanation(
            *pair, [&](quint32 t) { return doc.threadName(t); }, [&](quint32 o) { return doc.objectName(o); });
        const QString s = doc.threadName(pair->second.thread), p = doc.threadName(pair->first.thread);
        QVERIFY2(why.startsWith(s + QStringLiteral(" wrote `balance` holding `balance_lock`; ") + p
                                + QStringLiteral(" wrote it holding no lock; nothing orders ") + s
                                + QStringLiteral("'s write after ") + p + QStringLiteral("'s write: ")),
                 qPrintable(why));
        QVERIFY2(why.contains(QStringLiteral("held no lock, so it released none")), qPrintable(why));
    }

    void pairWithNoLockOnEitherSide()
    {
        TraceDocument doc;
        QVERIFY(loadDocument(doc, racyCounter()));
        const int race = firstRace(doc);
        QVERIFY(race >= 0);
        const auto pair = racePairOf(doc.model(), doc.findings()[size_t(race)], race);
        QVERIFY(pair);
        QCOMPARE(pair->variable, QStringLiteral("hits"));
        QVERIFY(pair->second.held.isEmpty());
        QVERIFY(pair->first.heldKnown && pair->first.held.isEmpty());
        const QString why = raceExplanation(
            *pair, [&](quint32 t) { return doc.threadName(t); }, [&](quint32 o) { return doc.objectName(o); });
        QVERIFY2(why.contains(QStringLiteral("neither held a lock")), qPrintable(why));
    }

    void findingsListCountsDataRaces()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, racyBank()));
        auto* proxy = w.findingsPanel()->proxy();
        QStringList groups;
        for (int g = 0; g < proxy->rowCount(); g++)
            groups << proxy->index(g, 0).data().toString();
        QVERIFY2(groups.contains(QStringLiteral("Data races (1)")), qPrintable(groups.join(QStringLiteral(" | "))));
    }

    // Choosing the race: playhead on the second access, both markers on screen on their lanes
    // (red: an error), Details with both accesses, their stacks and sources, and why.
    void choosingARaceShowsBothAccesses()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, racyBank()));
        TraceDocument* doc = w.document();
        const int race = firstRace(*doc);
        QVERIFY(race >= 0);
        QVERIFY(w.selectFinding(race + 1));
        QTest::qWait(100);
        const auto pair = racePairOf(doc->model(), doc->findings()[size_t(race)], race);
        QVERIFY(pair);
        ViewState* s = w.viewState();
        QCOMPARE(s->playhead(), pair->second.earliestNs);
        QCOMPARE(s->selectedFinding(), race);

        // Markers: on the second thread's lane at its access, and on the first thread's lane.
        TimelineView* tl = w.timelineView();
        QTRY_VERIFY_WITH_TIMEOUT(!tl->raceMarkerRects(race).first.isEmpty(), 5000); // the next frame drawn
        const auto [second, first] = tl->raceMarkerRects(race);
        QVERIFY2(!second.isEmpty(), "the second access's marker is not in view");
        QVERIFY2(!first.isEmpty(), "the first access's marker is not in view");
        QVERIFY(tl->laneStateRect(pair->second.thread).intersects(second));
        QVERIFY(tl->laneStateRect(pair->first.thread).intersects(first));
        QVERIFY(first.right() <= second.center().x()); // the earlier access is earlier
        const QImage shot = tl->viewport()->grab().toImage();
        const QColor red = TimelinePalette(tl->palette()).finding();
        // Beside the centre: the playhead runs down the middle of the marker.
        const QColor atSecond = shot.pixelColor(second.center() + QPoint(2, 4));
        QVERIFY2(std::abs(atSecond.red() - red.red()) < 12 && std::abs(atSecond.green() - red.green()) < 12,
                 qPrintable(atSecond.name()));
        QVERIFY(tl->raceAt(second.center()) == race);
        QVERIFY(tl->raceAt(first.center()) == race);
        const QString tip = tl->tooltipAt(first.center());
        QVERIFY2(tip.contains(QStringLiteral("not timed")) && tip.contains(QStringLiteral("≈")), qPrintable(tip));

        // Details: the explanation in the summary, and the race tab with both accesses.
        DetailsPanel* d = w.detailsPanel();
        const QString summary = plain(d->summaryLabel());
        QVERIFY2(summary.contains(QStringLiteral("wrote balance holding balance_lock")), qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("nothing orders")), qPrintable(summary));
        QCOMPARE(d->tabs()->currentWidget(), static_cast<QWidget*>(d->raceView()));
        RaceView* rv = d->raceView();
        const QString later = plain(rv->header(RaceView::Later));
        const QString earlier = plain(rv->header(RaceView::Earlier));
        QVERIFY2(later.contains(QStringLiteral("write of 8 bytes to balance")) && later.contains(QStringLiteral("holding balance_lock")),
                 qPrintable(later));
        QVERIFY2(earlier.contains(QStringLiteral("write of 8 bytes to balance")) && earlier.contains(QStringLiteral("≈ between"))
                     && earlier.contains(QStringLiteral("holding no lock")),
                 qPrintable(earlier));
        for (RaceView::Side side : { RaceView::Earlier, RaceView::Later }) {
            StackModel* stack = rv->stackModel(side);
            QVERIFY(stack->rowCount() > 0);
            const QModelIndex user = stack->index(std::max(0, stack->userFrameRow()), 0);
            QVERIFY(user.data(StackModel::FileRole).toString().endsWith(QStringLiteral("racy_bank.c")));
            SourceView* src = rv->sourceView(side);
            QVERIFY(src->currentFile().endsWith(QStringLiteral("racy_bank.c")));
            const QString line = src->document()->findBlockByNumber(src->currentLine() - 1).text();
            QVERIFY2(line.contains(QStringLiteral("balance")), qPrintable(line));
        }
        QVERIFY(!saveScreenshot(&w, QStringLiteral("race-bank-chosen")).isEmpty());

        // Wander off, then click the earlier access's marker: the finding comes back.
        // The playhead goes to the left edge of the view, not to 0: a playhead moved out of view
        // scrolls the view after it, and the race may be far from the start of the run.
        const quint64 viewFrom = s->visibleFrom(), viewTo = s->visibleTo();
        s->setSelectedFinding(-1);
        s->setVisibleRange(viewFrom, viewTo);
        s->setPlayhead(viewFrom);
        QVERIFY(s->playhead() != pair->second.earliestNs);
        // The markers come from the next frame drawn: on a loaded machine that can take a while.
        QTRY_VERIFY_WITH_TIMEOUT(!tl->raceMarkerRects(race).second.isEmpty(), 5000);
        const auto [second2, first2] = tl->raceMarkerRects(race);
        QTest::mouseClick(tl->viewport(), Qt::LeftButton, {}, first2.center());
        QTRY_COMPARE_WITH_TIMEOUT(s->selectedFinding(), race, 5000);
        QCOMPARE(s->playhead(), pair->second.earliestNs);
    }

    // The race tab is there only while a race is the chosen finding.
    void raceTabOnlyForRaces()
    {
        MainWindow w;
        w.resize(1600, 1000);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, racyCounter()));
        const int race = firstRace(*w.document());
        QVERIFY(w.selectFinding(race + 1));
        DetailsPanel* d = w.detailsPanel();
        const int tab = d->tabs()->indexOf(d->raceView());
        QVERIFY(d->tabs()->isTabVisible(tab));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("race-counter-chosen")).isEmpty());
        w.viewState()->setSelectedFinding(-1);
        QVERIFY(!d->tabs()->isTabVisible(tab));
    }
};

QTEST_MAIN(RaceTest)
#include "test_races.moc"
