// Exports named after the trace and a timeline picture of a chosen size (issue 17, item 6), and a
// live run that feels live (item 4), in the whole window on real programs run by the real
// `ravel run`: the export dialogs suggest "<trace>-wait-for.svg"; the timeline export has a title,
// the ruler, every lane and the whole legend at the size asked for; a new run closes the previous
// trace; the live graph names locks as reports do; Stop ends the run; the trace goes where the
// dialog says; Tab in the dialog goes Program -> Arguments; the banner has no "==ravel==" prefix.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "findings_panel.hpp"
#include "graph/live_wait_for_graph.hpp"
#include "graph/wait_for_graph_view.hpp"
#include "launch/live_run.hpp"
#include "launch/run_program_dialog.hpp"
#include "main_window.hpp"
#include "models/findings_model.hpp"
#include "models/view_state.hpp"
#include "timeline/timeline_frame_builder.hpp"
#include "timeline/timeline_view.hpp"

#include <QAction>
#include <QApplication>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QStyleFactory>
#include <QTableWidget>
#include <QTimer>
#include <QToolButton>

#include <functional>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString dining() { return recordExample(QStringLiteral("dining"), { QStringLiteral("5") }); }

bool waitFor(const std::function<bool()>& done, int timeoutMs)
{
    QElapsedTimer t;
    t.start();
    while (!done() && t.elapsed() < timeoutMs)
        QTest::qWait(10);
    return done();
}

// Runs `step` on the modal dialog named `name` once it is shown (polled: exec() blocks).
void onDialog(const QString& name, std::function<void(QDialog*)> step)
{
    auto* timer = new QTimer;
    timer->setInterval(20);
    QObject::connect(timer, &QTimer::timeout, [timer, name, step] {
        for (QWidget* w : QApplication::topLevelWidgets()) {
            auto* d = qobject_cast<QDialog*>(w);
            if (d && d->isVisible() && d->objectName() == name) {
                timer->stop();
                timer->deleteLater();
                step(d);
                return;
            }
        }
    });
    timer->start();
}

QByteArray readAll(const QString& path)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.readAll() : QByteArray();
}

} // namespace

class TestExportsAndLive : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QApplication::setApplicationName(QStringLiteral("ravel-gui-test-exports"));
        QApplication::setOrganizationName(QStringLiteral("ravel"));
        QSettings().clear();
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
        // The widget-based dialogs, which a test can fill in.
        QApplication::setAttribute(Qt::AA_DontUseNativeDialogs);
    }

    void exportDialogsSuggestTheTracesName()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        QSettings().setValue(QStringLiteral("exportDirectory"), scratchDir());
        const QString base = QFileInfo(dining()).completeBaseName();
        QCOMPARE(w.suggestedExportName(QStringLiteral("wait-for"), QStringLiteral("svg")), base + QStringLiteral("-wait-for.svg"));

        // The wait-for graph: the dialog offers "<trace>-wait-for.svg"; accepted, it is written.
        QString offered;
        onDialog(QStringLiteral("exportFileDialog"), [&](QDialog* d) {
            auto* name = d->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            offered = name ? name->text() : QStringLiteral("(no file name field)");
            QMetaObject::invokeMethod(d, "accept", Qt::QueuedConnection);
        });
        findAction(&w, QStringLiteral("&Wait-for Graph…"))->trigger();
        QCOMPARE(offered, base + QStringLiteral("-wait-for.svg"));
        const QString graph = scratchDir() + QLatin1Char('/') + base + QStringLiteral("-wait-for.svg");
        QVERIFY2(readAll(graph).contains("forks["), qPrintable(graph));

        // The timeline: the file, then its size.
        onDialog(QStringLiteral("exportFileDialog"), [&](QDialog* d) {
            auto* name = d->findChild<QLineEdit*>(QStringLiteral("fileNameEdit"));
            offered = name ? name->text() : QString();
            onDialog(QStringLiteral("timelineSizeDialog"), [](QDialog* size) {
                size->findChild<QSpinBox*>(QStringLiteral("timelineWidth"))->setValue(1000);
                size->findChild<QSpinBox*>(QStringLiteral("timelineHeight"))->setValue(420);
                QMetaObject::invokeMethod(size, "accept", Qt::QueuedConnection);
            });
            QMetaObject::invokeMethod(d, "accept", Qt::QueuedConnection);
        });
        findAction(&w, QStringLiteral("&Timeline (visible part)…"))->trigger();
        QCOMPARE(offered, base + QStringLiteral("-timeline.png"));
        const QImage picture(scratchDir() + QLatin1Char('/') + base + QStringLiteral("-timeline.png"));
        QCOMPARE(picture.size(), QSize(1000, 420));
    }

    void timelinePictureHasTitleRulerLanesAndTheWholeLegend()
    {
        MainWindow w;
        w.resize(900, 700); // a small window: the picture is still full width
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        TimelineView* tl = w.timelineView();
        const QSize size = tl->defaultExportSize();
        QVERIFY2(size.width() >= 1600, qPrintable(QString::number(size.width())));
        QString error;
        const QString png = scratchDir() + QStringLiteral("/dining-timeline-default.png");
        QVERIFY2(w.exportTimeline(png, &error), qPrintable(error));
        const QImage image(png);
        QCOMPARE(image.size(), size);
        QVERIFY(image.save(artifactDir() + QStringLiteral("/export-timeline-dining.png")));
        // Every lane shown: the picture is taller than ruler + legend by all the lanes' height.
        QVERIFY(size.height() > 6 * 20);

        // A narrow picture wraps its legend instead of cutting it; the SVG's text says so.
        const int narrow = 520;
        QVERIFY(TimelineFrameBuilder::legendHeightFor(narrow, tl->font()) > TimelineFrameBuilder::legendHeightFor(1600, tl->font()));
        w.setTimelineExportSize(QSize(narrow, 500));
        const QString svg = scratchDir() + QStringLiteral("/dining-timeline-narrow.svg");
        QVERIFY2(w.exportTimeline(svg, &error), qPrintable(error));
        const QByteArray text = readAll(svg);
        for (const char* word : { "never ended", "unlock → lock", "running", "lock held", "philosopher-4" })
            QVERIFY2(text.contains(word), word);
        QVERIFY(text.contains(QFileInfo(dining()).fileName().toUtf8())); // the title
        QVERIFY(text.contains("finding 1"));
        const QString narrowPng = artifactDir() + QStringLiteral("/export-timeline-dining-narrow.png");
        QVERIFY2(w.exportTimeline(narrowPng, &error), qPrintable(error));
        QCOMPARE(QImage(narrowPng).size(), QSize(narrow, 500));
        // A size no picture has: one line, nothing written.
        w.setTimelineExportSize(QSize(50, 50));
        QVERIFY(!w.exportTimeline(scratchDir() + QStringLiteral("/tiny.png"), &error));
        QVERIFY(!error.contains(QLatin1Char('\n')) && error.contains(QStringLiteral("50x50")));
        QVERIFY(!QFile::exists(scratchDir() + QStringLiteral("/tiny.png")));
    }

    void bannerDropsTheCommandLinesPrefix()
    {
        QCOMPARE(MainWindow::bannerLineOf(QStringLiteral("==ravel== ERROR #1: deadlock (certain): 5 threads\nmore")),
                 QStringLiteral("deadlock (certain): 5 threads"));
        QCOMPARE(MainWindow::bannerLineOf(QStringLiteral("deadlock: 2 threads")), QStringLiteral("deadlock: 2 threads"));
    }

    void runDialogTabOrderAndTraceFile()
    {
        QSettings().clear();
        RunProgramDialog dialog;
        dialog.show();
        dialog.activateWindow();
        QVERIFY(QTest::qWaitForWindowActive(&dialog));
        auto* program = dialog.findChild<QComboBox*>(QStringLiteral("program"));
        auto* arguments = dialog.findChild<QLineEdit*>(QStringLiteral("arguments"));
        auto* directory = dialog.findChild<QLineEdit*>(QStringLiteral("workingDirectory"));
        auto* trace = dialog.findChild<QLineEdit*>(QStringLiteral("traceFile"));
        QVERIFY(program && arguments && directory && trace);
        program->setFocus();
        QTRY_VERIFY(program->hasFocus() || program->lineEdit()->hasFocus());
        QTest::keyClick(QApplication::focusWidget(), Qt::Key_Tab);
        QCOMPARE(QApplication::focusWidget(), arguments);
        QTest::keyClick(arguments, Qt::Key_Tab);
        QCOMPARE(QApplication::focusWidget(), directory);
        // The trace's place is shown and follows the program until chosen.
        program->setEditText(examplePath(QStringLiteral("dining")));
        QVERIFY2(QFileInfo(trace->text()).fileName().startsWith(QStringLiteral("dining.")), qPrintable(trace->text()));
        QVERIFY(trace->text().endsWith(QStringLiteral(".ravel")));
        dialog.setTracePath(QStringLiteral("/no/such/folder/x.ravel"));
        program->setEditText(examplePath(QStringLiteral("abba")));
        QCOMPARE(dialog.tracePath(), QStringLiteral("/no/such/folder/x.ravel"));
        dialog.accept();
        QVERIFY(dialog.result() != int(QDialog::Accepted));
        auto* problem = dialog.findChild<QLabel*>(QStringLiteral("problem"));
        QVERIFY(problem && problem->text().contains(QStringLiteral("/no/such/folder")));
        QVERIFY(!saveScreenshot(&dialog, QStringLiteral("run-program-dialog-trace-file")).isEmpty());
    }

    void aNewRunClearsTheTraceNamesItsLocksAndOpensWhereItWasAskedTo()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("latent_abba"))));
        QVERIFY(w.findingsPanel()->model()->findingCount() > 0);
        const QString trace = scratchDir() + QStringLiteral("/chosen-place.ravel");
        QStringList liveLabels;
        QString banner;
        QSignalSpy ready(&w, &MainWindow::traceReady);
        w.setRavelBinary(ravelBinary());
        w.runProgram({ examplePath(QStringLiteral("dining")), { QStringLiteral("5") }, {}, {} }, trace);
        // The previous trace is gone at once: no findings of another program beside this run.
        QVERIFY(!w.document()->isLoaded());
        QCOMPARE(w.findingsPanel()->model()->findingCount(), 0);
        QCOMPARE(w.viewState()->selectedFinding(), -1);
        LiveRun* run = w.liveRun();
        QVERIFY(run);
        QCOMPARE(run->tracePath(), trace);
        QString status;
        connect(run, &LiveRun::started, this, [&] { status = w.statusBar()->currentMessage(); });
        connect(run, &LiveRun::deadlockFound, this, [&] { banner = w.bannerText(); });
        // The last picture of the run (the deadlocked target still stopped), as the view shows it.
        connect(run, &LiveRun::finished, this, [&] {
            const LiveSnapshot& s = run->snapshot();
            for (const ravel::GraphNode& n : liveWaitForGraph(s.threads, s.nowNs, "", &s.names).nodes)
                liveLabels << QString::fromStdString(n.label);
        });
        auto* stop = w.findChild<QToolButton*>(QStringLiteral("stopProgramButton"));
        QVERIFY(stop && !stop->isHidden());
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty(), 30000); // it may have come already
        QCOMPARE(w.document()->path(), trace);
        QVERIFY(stop->isHidden());
        QVERIFY2(status.contains(trace), qPrintable(status)); // where the trace goes, said as it starts
        QVERIFY2(!banner.isEmpty() && !banner.contains(QStringLiteral("==ravel==")) && banner.contains(QStringLiteral("deadlock")),
                 qPrintable(banner));
        // The live graph named the forks as the report does, not by address.
        const QString labels = liveLabels.join(QStringLiteral(" | "));
        QVERIFY2(labels.contains(QStringLiteral("mutex forks[")), qPrintable(labels));
        QVERIFY2(!labels.contains(QStringLiteral("0x")), qPrintable(labels));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("live-run-opened-trace")).isEmpty());
    }

    void stopEndsTheRunFromTheWindow()
    {
        MainWindow w;
        w.resize(1200, 800);
        w.show();
        const QString dir = scratchDir();
        QSignalSpy ready(&w, &MainWindow::traceReady);
        w.setRavelBinary(ravelBinary());
        w.runProgram({ QStringLiteral("sh"), { QStringLiteral("-c"), QStringLiteral("exec sleep 60") }, dir, {} },
                     dir + QStringLiteral("/stopped.ravel"));
        LiveRun* run = w.liveRun();
        QVERIFY(run);
        QVERIFY(waitFor([&] { return run->targetPid() > 0; }, 10000));
        auto* stop = w.findChild<QToolButton*>(QStringLiteral("stopProgramButton"));
        QVERIFY(stop && !stop->isHidden());
        // The empty timeline says what is going on, not "Open a trace".
        const QString says = w.timelineView()->currentFrame(QSize(800, 400)).placeholder;
        QVERIFY2(says.contains(QStringLiteral("Running sh")), qPrintable(says));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("live-run-stop-button")).isEmpty());
        QElapsedTimer clock;
        clock.start();
        QTest::mouseClick(stop, Qt::LeftButton);
        QVERIFY(waitFor([&] { return stop->isHidden(); }, 10000));
        QVERIFY(clock.elapsed() < 5000);
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty(), 30000); // it may have come already
        QCOMPARE(w.document()->path(), dir + QStringLiteral("/stopped.ravel"));
    }
};

QTEST_MAIN(TestExportsAndLive)
#include "test_exports_and_live.moc"
