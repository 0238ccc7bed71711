// The models of the findings list, the details pane and the playback, on real traces recorded with
// the real `ravel run`: the dining philosophers' deadlock, latent_abba's potential deadlock and a
// correct bank. Every model is checked by QAbstractItemModelTester while it changes.
#include "gui_test_util.hpp"

#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/object_stats_model.hpp"
#include "models/stack_model.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "playback/playback_controller.hpp"
#include "base/trace_time.hpp"

#include <QAbstractItemModelTester>
#include <QSortFilterProxyModel>
#include <QTest>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString dining() { return recordExample(QStringLiteral("dining"), { QStringLiteral("5") }); }
QString latentAbba() { return recordExample(QStringLiteral("latent_abba")); }
QString bank() { return recordExample(QStringLiteral("bank_std"), { QStringLiteral("4"), QStringLiteral("2000") }); }

QStringList threadNames(const TraceDocument& doc, const QList<quint32>& ids)
{
    QStringList names;
    for (quint32 id : ids)
        names << doc.threadName(id);
    names.sort();
    return names;
}

} // namespace

class TestModelsFindings : public QObject {
    Q_OBJECT
private slots:
    void groupsFindingsByKindWithReportNumbers_data()
    {
        QTest::addColumn<QString>("example");
        QTest::addColumn<QString>("firstGroup");
        QTest::addColumn<QString>("firstKind");
        QTest::newRow("dining 5") << QStringLiteral("dining") << QStringLiteral("Deadlocks (1)")
                                  << QStringLiteral("deadlock");
        QTest::newRow("latent_abba") << QStringLiteral("latent_abba") << QStringLiteral("Potential deadlocks (1)")
                                     << QStringLiteral("potential-deadlock");
    }
    void groupsFindingsByKindWithReportNumbers()
    {
        QFETCH(QString, example);
        QFETCH(QString, firstGroup);
        QFETCH(QString, firstKind);
        TraceDocument doc;
        FindingsModel model(&doc);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(loadDocument(doc, example == QLatin1String("dining") ? dining() : latentAbba()));
        QVERIFY(model.rowCount() >= 1);
        const QModelIndex group = model.index(0, 0);
        QCOMPARE(group.data().toString(), firstGroup);
        QCOMPARE(group.data(FindingsModel::FindingIndexRole).toInt(), -1);
        QCOMPARE(model.rowCount(group), 1);
        const QModelIndex first = model.index(0, 0, group);
        QCOMPARE(first.data(FindingsModel::KindRole).toString(), firstKind);
        QCOMPARE(first.data(FindingsModel::FindingIndexRole).toInt(), 0);
        // Numbered from 1, as `ravel report` numbers them.
        QVERIFY2(first.data().toString().startsWith(QStringLiteral("#1 ")), qPrintable(first.data().toString()));
        // The time listed is the moment choosing it goes to: for a lock-order cycle its first
        // edge's second acquisition, not the end of the run the analyzer dates it at.
        QCOMPARE(first.data(FindingsModel::TimeRole).toULongLong(), findingTime(doc.findings()[0]));
        QCOMPARE(model.index(0, FindingsModel::TimeColumn, group).data().toString(),
                 QString::fromStdString(ravel::formatTraceTime(findingTime(doc.findings()[0]))));
        if (example != QLatin1String("dining"))
            QVERIFY2(findingTime(doc.findings()[0]) < doc.findings()[0].timeNs,
                     "latent_abba's cycle should be dated at the end of the run by the analyzer, and shown at its edge");
        QCOMPARE(model.indexOfFinding(0), first);
        QVERIFY(first.data(FindingsModel::IsErrorRole).toBool());
        doc.close();
        QCOMPARE(model.rowCount(), 0);
    }

    void correctProgramHasNoFindings()
    {
        TraceDocument doc;
        FindingsModel model(&doc);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(loadDocument(doc, bank()));
        QCOMPARE(model.findingCount(), 0);
        QCOMPARE(model.rowCount(), 0);
    }

    void searchKeepsGroupsOfMatchingFindings()
    {
        TraceDocument doc;
        FindingsModel model(&doc);
        QSortFilterProxyModel proxy;
        proxy.setSourceModel(&model);
        proxy.setFilterRole(FindingsModel::SearchTextRole);
        proxy.setFilterCaseSensitivity(Qt::CaseInsensitive);
        proxy.setRecursiveFilteringEnabled(true);
        QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(loadDocument(doc, dining()));
        proxy.setFilterFixedString(QStringLiteral("PHILOSOPHER-3"));
        QCOMPARE(proxy.rowCount(), 1);
        QCOMPARE(proxy.rowCount(proxy.index(0, 0)), 1);
        proxy.setFilterFixedString(QStringLiteral("forks[2]"));
        QCOMPARE(proxy.rowCount(), 1);
        proxy.setFilterFixedString(QStringLiteral("account_a"));
        QCOMPARE(proxy.rowCount(), 0);
    }

    void focusingTheDeadlockMovesPlayheadAndSelectsItsCycle()
    {
        TraceDocument doc;
        ViewState state;
        QVERIFY(loadDocument(doc, dining()));
        state.reset(doc.durationNs());
        QSignalSpy found(&state, &ViewState::findingSelected);
        focusFinding(doc, state, 0);
        const ravel::Finding& f = doc.findings()[0];
        QVERIFY(f.timeNs > 0);
        QCOMPARE(state.playhead(), quint64(f.timeNs));
        QCOMPARE(state.selectedFinding(), 0);
        QCOMPARE(found.count(), 1);
        const QStringList names = threadNames(doc, state.selectedThreads());
        for (int i = 0; i < 5; i++)
            QVERIFY2(names.contains(QStringLiteral("philosopher-%1").arg(i)), qPrintable(names.join(',')));
        QStringList objects;
        for (quint32 o : state.selectedObjects())
            objects << doc.objectName(o);
        // The five forks (and the thread main joins, also part of the finding).
        for (int i = 0; i < 5; i++)
            QVERIFY2(objects.contains(QStringLiteral("forks[%1]").arg(i)), qPrintable(objects.join(',')));
        // The details show a philosopher stuck on a fork, with the stack of its wait.
        QVERIFY(state.hasSelectedEvent());
        QVERIFY(doc.threadName(state.selectedEventThread()).startsWith(QStringLiteral("philosopher-")));
        QVERIFY(state.selectedEventStack() != 0);
    }

    void focusingAPotentialDeadlockSelectsBothTellers()
    {
        TraceDocument doc;
        ViewState state;
        QVERIFY(loadDocument(doc, latentAbba()));
        state.reset(doc.durationNs());
        focusFinding(doc, state, 0);
        QCOMPARE(threadNames(doc, state.selectedThreads()), QStringList({ "teller-ab", "teller-ba" }));
        QStringList objects;
        for (quint32 o : state.selectedObjects())
            objects << doc.objectName(o);
        objects.sort();
        QCOMPARE(objects, QStringList({ "account_a", "account_b" }));
        QCOMPARE(state.playhead(), findingTime(doc.findings()[0]));
        QVERIFY(state.playhead() > 0);
    }

    void stackModelShowsTheWaitingPhilosophersLine()
    {
        TraceDocument doc;
        ViewState state;
        QVERIFY(loadDocument(doc, dining()));
        focusFinding(doc, state, 0);
        StackModel stack(&doc);
        QAbstractItemModelTester tester(&stack, QAbstractItemModelTester::FailureReportingMode::QtTest);
        stack.setStack(state.selectedEventStack());
        QVERIFY(stack.rowCount() > 0);
        const int user = stack.userFrameRow();
        QVERIFY(user >= 0);
        const QModelIndex fn = stack.index(user, StackModel::FunctionColumn);
        QCOMPARE(fn.data().toString(), QStringLiteral("philosopher"));
        QVERIFY2(fn.data(StackModel::FileRole).toString().endsWith(QStringLiteral("dining.c")),
                 qPrintable(fn.data(StackModel::FileRole).toString()));
        QVERIFY(fn.data(StackModel::LineRole).toInt() > 0);
        QCOMPARE(stack.index(user, StackModel::LocationColumn).data().toString(),
                 QStringLiteral("dining.c:%1").arg(fn.data(StackModel::LineRole).toInt()));
        stack.setStack(0);
        QCOMPARE(stack.rowCount(), 0);
    }

    void objectStatsAreThoseOfRavelInfo()
    {
        TraceDocument doc;
        ObjectStatsModel model(&doc);
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QVERIFY(loadDocument(doc, bank()));
        QVERIFY(waitForStats(doc));
        QVERIFY(model.rowCount() > 0);
        // Stats and replay model index objects the same way (order of first use).
        const ravel::TraceStats& stats = *doc.stats();
        QCOMPARE(stats.objects.size(), doc.model().objects().size());
        quint64 acquired = 0;
        bool sawAccount = false;
        for (int r = 0; r < model.rowCount(); r++) {
            QCOMPARE(stats.objects[size_t(r)].object.address, doc.model().objects()[size_t(r)].address);
            const QString name = model.index(r, ObjectStatsModel::NameColumn).data().toString();
            if (name.startsWith(QStringLiteral("accounts[")))
                sawAccount = true;
            acquired += model.index(r, ObjectStatsModel::AcquisitionsColumn).data(ObjectStatsModel::SortRole).toULongLong();
            QCOMPARE(model.index(r, ObjectStatsModel::AcquisitionsColumn).data().toString(),
                     QString::number(stats.objects[size_t(r)].acquisitions));
        }
        QVERIFY(sawAccount);
        // 4 tellers x 2000 transfers, each locking two accounts.
        QVERIFY2(acquired >= 16000, qPrintable(QString::number(acquired)));
    }

    void playbackStepsToSpanBoundariesAndFindings()
    {
        TraceDocument doc;
        ViewState state;
        QVERIFY(loadDocument(doc, dining()));
        state.reset(doc.durationNs());
        PlaybackController playback(&doc, &state);
        QVERIFY(playback.stepEvent(true, PlaybackController::Scope::AllThreads));
        const quint64 first = state.playhead();
        QVERIFY(first > 0);
        // The first step lands on a real boundary: some thread starts or a span begins there.
        bool boundary = false;
        for (const auto& t : doc.model().threads())
            boundary |= t.startNs == first;
        for (const auto& h : doc.model().holdSpans())
            boundary |= h.start == first || h.end == first;
        for (const auto& w : doc.model().waitSpans())
            boundary |= w.start == first || w.end == first;
        QVERIFY(boundary);
        QVERIFY(playback.stepEvent(true, PlaybackController::Scope::AllThreads));
        QVERIFY(state.playhead() > first);
        QVERIFY(playback.stepEvent(false, PlaybackController::Scope::AllThreads));
        QCOMPARE(state.playhead(), first);

        // One philosopher's steps are a subset of everyone's.
        const quint32 philosopher = doc.findings()[0].threads.back().id;
        state.setSelectedThreads({ philosopher });
        state.setPlayhead(0);
        QVERIFY(playback.stepEvent(true));
        const ravel::ModelThread* t = doc.model().thread(philosopher);
        QVERIFY(state.playhead() >= t->startNs);

        state.setPlayhead(0);
        state.setSelectedFinding(-1);
        QVERIFY(playback.jumpFinding(true));
        QCOMPARE(state.selectedFinding(), 0);
        state.setPlayhead(doc.durationNs());
        QVERIFY(playback.jumpFinding(true)); // the only finding: N wraps around to it
        QCOMPARE(state.selectedFinding(), 0);
        QCOMPARE(state.playhead(), findingTime(doc.findings()[0]));
    }

    void playAdvancesInScaledRealTimeAndStopsAtTheEnd()
    {
        TraceDocument doc;
        ViewState state;
        QVERIFY(loadDocument(doc, dining()));
        state.reset(doc.durationNs());
        PlaybackController playback(&doc, &state);
        playback.setSpeed(0.25);
        QCOMPARE(playback.speed(), 0.25);
        playback.slower();
        QCOMPARE(playback.speed(), 0.25); // the slowest
        playback.play();
        QVERIFY(playback.isPlaying());
        QTest::qWait(200);
        const quint64 quarter = state.playhead();
        QVERIFY(quarter > 0);
        // 200 ms at 0.25x is at most ~50 ms of trace time (plus a frame of slack).
        QVERIFY2(quarter <= 80'000'000, qPrintable(QString::number(quarter)));
        playback.setSpeed(64);
        QTRY_VERIFY_WITH_TIMEOUT(!playback.isPlaying(), 20000);
        QCOMPARE(state.playhead(), doc.durationNs());
        playback.play(); // from the end: starts over
        QVERIFY(state.playhead() < doc.durationNs());
        playback.pause();
        QVERIFY(!playback.isPlaying());
    }
};

QTEST_MAIN(TestModelsFindings)
#include "test_models_findings.moc"
