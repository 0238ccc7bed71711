// TraceDocument and ViewState: the shared objects every view reads. A real trace of the dining
// philosophers loads off the GUI thread with its deadlock; bad files fail with one line.
#include "gui_test_util.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QSignalSpy>
#include <QTest>

using namespace ravel::gui;
using namespace ravel::gui::test;

class TestModelsDocument : public QObject {
    Q_OBJECT
private slots:
    void loadsDiningTraceWithItsDeadlockFirst()
    {
        const QString trace = recordExample(QStringLiteral("dining"), { QStringLiteral("5") });
        QVERIFY(!trace.isEmpty());
        TraceDocument doc;
        QSignalSpy started(&doc, &TraceDocument::loadStarted);
        QString error;
        QVERIFY2(loadDocument(doc, trace, 60000, &error), qPrintable(error));
        QCOMPARE(started.count(), 1);
        QVERIFY(doc.isLoaded());
        QCOMPARE(doc.path(), trace);
        QVERIFY(!doc.findings().empty());
        const ravel::Finding& first = doc.findings().front();
        QCOMPARE(QString::fromStdString(first.kind), QStringLiteral("deadlock"));
        // The five philosophers in the cycle (main, waiting in join, is part of the finding too).
        int philosophers = 0;
        for (const auto& t : first.threads)
            philosophers += QString::fromStdString(t.name).startsWith(QStringLiteral("philosopher-"));
        QCOMPARE(philosophers, 5);
        QVERIFY(doc.durationNs() > 0);
        QVERIFY(first.timeNs <= doc.durationNs());
        QVERIFY(waitForStats(doc));
        QVERIFY(doc.stats()->events > 0);
    }

    void garbageFileFailsWithOneLineNamingTheFile()
    {
        TraceDocument doc;
        QString error;
        QVERIFY(!loadDocument(doc, writeGarbageTrace(), 60000, &error));
        QVERIFY(!doc.isLoaded());
        QVERIFY(!error.isEmpty());
        QVERIFY2(!error.contains(QLatin1Char('\n')), qPrintable(error));
        QVERIFY2(error.contains(QStringLiteral("garbage.ravel")), qPrintable(error));
    }

    void missingFileAndDirectoryFail()
    {
        TraceDocument doc;
        QString error;
        QVERIFY(!loadDocument(doc, scratchDir() + QStringLiteral("/nope.ravel"), 60000, &error));
        QVERIFY2(error.contains(QStringLiteral("nope.ravel")), qPrintable(error));
        QVERIFY(!loadDocument(doc, scratchDir(), 60000, &error));
        QVERIFY(!error.isEmpty());
    }

    void failedOpenKeepsThePreviousTrace()
    {
        const QString trace = recordExample(QStringLiteral("abba"));
        TraceDocument doc;
        QVERIFY(loadDocument(doc, trace));
        QVERIFY(!loadDocument(doc, writeGarbageTrace()));
        QVERIFY(doc.isLoaded());
        QCOMPARE(doc.path(), trace);
    }

    void cancelDropsTheLoad()
    {
        const QString trace = recordExample(QStringLiteral("abba"));
        TraceDocument doc;
        QSignalSpy loaded(&doc, &TraceDocument::loaded);
        QSignalSpy failed(&doc, &TraceDocument::failed);
        doc.open(trace);
        QVERIFY(doc.isLoading());
        doc.cancel();
        QVERIFY(!doc.isLoading());
        QTest::qWait(1500);
        QCOMPARE(loaded.count(), 0);
        QCOMPARE(failed.count(), 0);
        QVERIFY(!doc.isLoaded());
    }

    void closeEmitsClosedOnce()
    {
        TraceDocument doc;
        QVERIFY(loadDocument(doc, recordExample(QStringLiteral("abba"))));
        QSignalSpy closed(&doc, &TraceDocument::closed);
        doc.close();
        doc.close();
        QCOMPARE(closed.count(), 1);
        QVERIFY(!doc.isLoaded());
    }

    void viewStateEmitsOnlyOnChangeAndClamps()
    {
        ViewState s;
        s.reset(1000);
        QSignalSpy playhead(&s, &ViewState::playheadChanged);
        QSignalSpy selection(&s, &ViewState::selectionChanged);
        QSignalSpy finding(&s, &ViewState::findingSelected);
        s.setPlayhead(400);
        s.setPlayhead(400);
        QCOMPARE(playhead.count(), 1);
        s.setPlayhead(5000);
        QCOMPARE(s.playhead(), quint64(1000));
        s.setSelectedThreads({ 1, 2 });
        s.setSelectedThreads({ 1, 2 });
        s.setSelectedObjects({ 3 });
        QCOMPARE(selection.count(), 2);
        s.setSelectedFinding(0);
        s.setSelectedFinding(0);
        QCOMPARE(finding.count(), 1);
        QCOMPARE(finding.first().first().toInt(), 0);
        s.setSelectedEvent(2, 10, 7);
        QVERIFY(s.hasSelectedEvent());
        QCOMPARE(s.selectedEventStack(), quint32(7));
    }
};

QTEST_MAIN(TestModelsDocument)
#include "test_models_document.moc"
