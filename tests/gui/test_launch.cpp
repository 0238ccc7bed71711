// Launching programs from the GUI: LiveRun runs the real `ravel run` of this build tree on real
// example programs, and must say what the command line says: the deadlock the moment the
// watchdog reports it, the exit status, the trace; the live state boards shown as a graph while
// it runs; stop() that ends a program that would run on. And the Run Program dialog, which
// remembers what was run.
#include "gui_test_util.hpp"

#include "graph/graph_node_item.hpp"
#include "graph/wait_for_graph_view.hpp"
#include "launch/live_run.hpp"
#include "launch/run_program_dialog.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QComboBox>
#include <QLabel>
#include <QLineEdit>
#include <QSettings>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTest>

#include <signal.h>

using namespace ravel::gui;

namespace {

bool waitFor(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QTest::qWait(10);
    return done();
}

bool processAlive(qint64 pid)
{
    if (pid <= 0 || ::kill(pid_t(pid), 0) != 0)
        return false;
    // A zombie is gone for every purpose here.
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly))
        return false;
    QByteArray text = stat.readAll();
    qsizetype close = text.lastIndexOf(')');
    return close > 0 && close + 2 < text.size() && text[close + 2] != 'Z';
}

} // namespace

class LaunchTest : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void deadlockIsReportedLiveAndTheRunEndsWith66();
    void correctProgramExitsZeroWithoutDeadlock();
    void stopEndsARunningProgram();
    void missingProgramSaysSoInOneLine();
    void dialogRemembersRecentRuns();
    void dialogRefusesWhatCannotRun();
};

void LaunchTest::initTestCase()
{
    QCoreApplication::setOrganizationName(QStringLiteral("ravel-tests"));
    QCoreApplication::setApplicationName(QStringLiteral("gui_launch"));
    QSettings().clear();
    QVERIFY(QFileInfo(test::ravelBinary()).isExecutable());
}

void LaunchTest::deadlockIsReportedLiveAndTheRunEndsWith66()
{
    LiveRun run;
    run.setRavelBinary(test::ravelBinary());
    TraceDocument doc;
    ViewState state;
    WaitForGraphView view(&doc, &state);
    view.resize(900, 700);
    view.followLiveRun(&run);
    QSignalSpy started(&run, &LiveRun::started);
    QSignalSpy deadlock(&run, &LiveRun::deadlockFound);
    QSignalSpy finished(&run, &LiveRun::finished);
    QSignalSpy snapshots(&run, &LiveRun::liveSnapshot);
    QString output;
    connect(&run, &LiveRun::output, this, [&](const QString& text) { output += text; });

    const QString trace = test::scratchDir() + QStringLiteral("/live-dining.ravel");
    QElapsedTimer clock;
    clock.start();
    run.start({ test::examplePath(QStringLiteral("dining")), { QStringLiteral("5") }, {}, {} }, trace);
    QVERIFY(waitFor([&] { return !deadlock.isEmpty(); }, 10000));
    const qint64 foundMs = clock.elapsed();
    QVERIFY(waitFor([&] { return !finished.isEmpty(); }, 20000));
    qInfo("dining 5: deadlockFound after %lld ms, finished after %lld ms", foundMs, clock.elapsed());
    QVERIFY2(foundMs < 5000, "the watchdog's report must arrive within a few seconds");

    QCOMPARE(started.size(), 1);
    const QString report = deadlock.first().first().toString();
    QVERIFY2(report.contains(QStringLiteral("deadlock (certain)")), qPrintable(report));
    QVERIFY(report.contains(QStringLiteral("forks[")));
    QVERIFY(report.contains(QStringLiteral("found at")));
    QCOMPARE(deadlock.size(), 1);
    QCOMPARE(finished.first().at(0).toInt(), 66);
    QCOMPARE(finished.first().at(1).toString(), QFileInfo(trace).absoluteFilePath());
    QVERIFY(output.contains(QStringLiteral("==ravel== trace:")));
    QVERIFY(!run.isRunning());

    // ravel stopped the target for a debugger; the GUI ended it once ravel was done.
    const qint64 pid = run.targetPid();
    QVERIFY(pid > 0);
    QVERIFY(waitFor([&] { return !processAlive(pid); }, 5000));

    // The live picture: the boards as the run ended show the cycle.
    QVERIFY(!snapshots.isEmpty());
    QVERIFY(run.snapshot().verdict != 0);
    QVERIFY(view.isLive());
    QVERIFY(waitFor([&] { return view.hasGraph() && !view.isLayoutPending(); }, 20000));
    int cycle = 0;
    for (GraphNodeItem* n : view.nodeItems())
        cycle += n->isThread() && n->node().onCycle;
    QCOMPARE(cycle, 5);
    QVERIFY(QString::fromStdString(view.shownGraph().title).startsWith(QStringLiteral("live: ")));
    QVERIFY(!test::saveScreenshot(&view, QStringLiteral("graph-live-dining5")).isEmpty());

    // The trace it wrote opens like any other, and the view leaves the live picture for it.
    QVERIFY(test::loadDocument(doc, trace));
    QVERIFY(!view.isLive());
    QVERIFY(!doc.findings().empty());
    QCOMPARE(QString::fromStdString(doc.findings()[0].kind), QStringLiteral("deadlock"));
}

void LaunchTest::correctProgramExitsZeroWithoutDeadlock()
{
    LiveRun run;
    run.setRavelBinary(test::ravelBinary());
    QSignalSpy deadlock(&run, &LiveRun::deadlockFound);
    QSignalSpy finished(&run, &LiveRun::finished);
    const QString trace = test::scratchDir() + QStringLiteral("/live-bank.ravel");
    run.start({ test::examplePath(QStringLiteral("bank_std")), {}, {}, {} }, trace);
    QVERIFY(waitFor([&] { return !finished.isEmpty(); }, 30000));
    QCOMPARE(finished.first().at(0).toInt(), 0);
    QVERIFY(QFileInfo::exists(finished.first().at(1).toString()));
    QVERIFY(deadlock.isEmpty());
    QVERIFY(!run.deadlockReported());
}

void LaunchTest::stopEndsARunningProgram()
{
    LiveRun run;
    run.setRavelBinary(test::ravelBinary());
    QSignalSpy finished(&run, &LiveRun::finished);
    QSignalSpy snapshots(&run, &LiveRun::liveSnapshot);
    // A program that would run for a minute; the working directory and environment are passed on.
    const QString dir = test::scratchDir();
    run.start({ QStringLiteral("sh"),
                  { QStringLiteral("-c"), QStringLiteral("echo \"$RAVEL_GUI_TEST_VAR in $PWD\"; exec sleep 60") }, dir,
                  { QStringLiteral("RAVEL_GUI_TEST_VAR=hello") } },
        dir + QStringLiteral("/live-sleep.ravel"));
    QString output;
    connect(&run, &LiveRun::output, this, [&](const QString& text) { output += text; });
    QVERIFY(waitFor([&] { return !snapshots.isEmpty() && output.contains(QStringLiteral("hello")); }, 10000));
    QVERIFY2(output.contains(QStringLiteral("hello in ") + QDir(dir).canonicalPath()) || output.contains(dir),
        qPrintable(output));
    QVERIFY(run.isRunning());
    const qint64 pid = run.targetPid();
    QVERIFY(pid > 0);
    QElapsedTimer clock;
    clock.start();
    run.stop();
    QVERIFY(waitFor([&] { return !finished.isEmpty(); }, 10000));
    QVERIFY(clock.elapsed() < 5000);
    QCOMPARE(finished.first().at(0).toInt(), 128 + SIGTERM); // as a shell reports it
    QVERIFY(!processAlive(pid));
}

void LaunchTest::missingProgramSaysSoInOneLine()
{
    LiveRun run;
    run.setRavelBinary(test::ravelBinary());
    QSignalSpy finished(&run, &LiveRun::finished);
    QString output;
    connect(&run, &LiveRun::output, this, [&](const QString& text) { output += text; });
    run.start(
        { QStringLiteral("/nonexistent/program"), {}, {}, {} }, test::scratchDir() + QStringLiteral("/never.ravel"));
    QVERIFY(waitFor([&] { return !finished.isEmpty(); }, 10000));
    QCOMPARE(finished.first().at(0).toInt(), 127);
    QVERIFY(finished.first().at(1).toString().isEmpty());
    QVERIFY2(output.contains(QStringLiteral("/nonexistent/program")), qPrintable(output));

    LiveRun noRavel;
    noRavel.setRavelBinary(test::scratchDir() + QStringLiteral("/no-ravel-here"));
    QSignalSpy failed(&noRavel, &LiveRun::finished);
    QString said;
    connect(&noRavel, &LiveRun::output, this, [&](const QString& text) { said += text; });
    noRavel.start({ test::examplePath(QStringLiteral("dining")), {}, {}, {} },
        test::scratchDir() + QStringLiteral("/never2.ravel"));
    QVERIFY(waitFor([&] { return !failed.isEmpty(); }, 5000));
    QCOMPARE(failed.first().at(0).toInt(), -1);
    QCOMPARE(said.count(QLatin1Char('\n')), 1);
    QVERIFY(said.contains(QStringLiteral("no-ravel-here")));
}

void LaunchTest::dialogRemembersRecentRuns()
{
    QSettings().clear();
    RunRequest first { test::examplePath(QStringLiteral("dining")), { QStringLiteral("7") }, QString(), {} };
    RunRequest second { test::examplePath(QStringLiteral("bank_std")),
        { QStringLiteral("two words"), QStringLiteral("x") }, test::scratchDir(),
        { QStringLiteral("A=1"), QStringLiteral("B=two words") } };
    {
        RunProgramDialog dialog;
        dialog.setRequest(first);
        dialog.accept();
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
    }
    {
        RunProgramDialog dialog;
        QCOMPARE(dialog.request(), first); // the last run is offered again
        dialog.setRequest(second);
        QCOMPARE(dialog.request(), second); // quoting and the environment table round-trip
        QVERIFY(!test::saveScreenshot(&dialog, QStringLiteral("run-program-dialog")).isEmpty());
        dialog.accept();
    }
    QList<RunRequest> recent = RunProgramDialog::recentRequests();
    QCOMPARE(recent.size(), 2);
    QCOMPARE(recent[0], second);
    QCOMPARE(recent[1], first);

    RunProgramDialog dialog;
    auto* program = dialog.findChild<QComboBox*>(QStringLiteral("program"));
    QVERIFY(program);
    QCOMPARE(program->count(), 2);
    QCOMPARE(program->itemText(1), QStringLiteral("dining 7"));
    program->setCurrentIndex(1);
    emit program->activated(1);
    QCOMPARE(dialog.request(), first);

    for (int i = 0; i < RunProgramDialog::kRecent + 3; i++)
        RunProgramDialog::remember({ QStringLiteral("/bin/true"), { QString::number(i) }, {}, {} });
    QCOMPARE(RunProgramDialog::recentRequests().size(), RunProgramDialog::kRecent);
}

void LaunchTest::dialogRefusesWhatCannotRun()
{
    QCOMPARE(RunProgramDialog::problem({ test::examplePath(QStringLiteral("dining")), {}, {}, {} }), QString());
    QCOMPARE(RunProgramDialog::problem({ QStringLiteral("sh"), {}, {}, {} }), QString());
    QVERIFY(RunProgramDialog::problem({ QStringLiteral("/no/such/prog"), {}, {}, {} })
                .contains(QStringLiteral("no such file")));
    QVERIFY(RunProgramDialog::problem({ QStringLiteral("no-such-program-xyz"), {}, {}, {} })
                .contains(QStringLiteral("PATH")));
    QVERIFY(RunProgramDialog::problem({ QStringLiteral("sh"), {}, QStringLiteral("/no/such/dir"), {} })
                .contains(QStringLiteral("/no/such/dir")));
    QVERIFY(RunProgramDialog::problem({ QStringLiteral("sh"), {}, {}, { QStringLiteral("1BAD=x") } })
                .contains(QStringLiteral("1BAD")));

    QSettings().clear();
    RunProgramDialog dialog;
    dialog.setRequest({ QStringLiteral("/no/such/prog"), {}, {}, {} });
    dialog.accept();
    QVERIFY(dialog.result() != int(QDialog::Accepted));
    QVERIFY(RunProgramDialog::recentRequests().isEmpty());
    auto* problem = dialog.findChild<QLabel*>(QStringLiteral("problem"));
    QVERIFY(problem && !problem->isHidden());
    QVERIFY(problem->text().contains(QStringLiteral("/no/such/prog")));
}

QTEST_MAIN(LaunchTest)
#include "test_launch.moc"
