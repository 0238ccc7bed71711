// The whole window, driven as a person would: open a real trace, pick a finding, step the playhead,
// export, open a corrupt file and then a good one. Screenshots of the main states land in
// RAVEL_ARTIFACT_DIR (test-artifacts/gui/) to be looked at.
#include "gui_test_util.hpp"
#include "window_test_util.hpp"

#include "details/details_panel.hpp"
#include "details/source_view.hpp"
#include "findings_panel.hpp"
#include "main_window.hpp"
#include "models/finding_focus.hpp"
#include "models/findings_model.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "playback/playback_controller.hpp"

#include <QAction>
#include <QApplication>
#include <QFile>
#include <QJsonDocument>
#include <QLabel>
#include <QMenuBar>
#include <QMimeData>
#include <QUrl>
#include <QSettings>
#include <QSortFilterProxyModel>
#include <QStyleFactory>
#include <QTest>
#include <QTreeView>

using namespace ravel::gui;
using namespace ravel::gui::test;

namespace {

QString dining() { return recordExample(QStringLiteral("dining"), { QStringLiteral("5") }); }

QByteArray head(const QString& path, int n)
{
    QFile f(path);
    return f.open(QIODevice::ReadOnly) ? f.read(n) : QByteArray();
}

} // namespace

class TestMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QApplication::setApplicationName(QStringLiteral("ravel-gui-test"));
        QApplication::setOrganizationName(QStringLiteral("ravel"));
        QSettings().clear();
        QApplication::setStyle(QStyleFactory::create(QStringLiteral("Fusion")));
    }

    void opensDeadlockedTraceOnItsDeadlock()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QVERIFY(openAndSettle(w, dining()));
        TraceDocument* doc = w.document();
        QVERIFY(doc->isLoaded());
        QCOMPARE(w.windowTitle(), QFileInfo(dining()).fileName() + QStringLiteral(" — ravel"));
        // The window opens a deadlocked run on its deadlock.
        QCOMPARE(w.viewState()->selectedFinding(), 0);
        QCOMPARE(w.viewState()->playhead(), findingTime(doc->findings()[0]));
        QCOMPARE(w.viewState()->selectedThreads().size(), int(findingThreads(doc->findings()[0]).size()));
        QVERIFY(w.statisticsText().startsWith(QStringLiteral("6 threads · ")));
        QVERIFY(w.statisticsText().contains(QStringLiteral("1 finding (1 error)")));
        QCOMPARE(MainWindow::recentFiles().value(0), doc->path());
        // The details pane says who waits for what and shows the source line.
        const QString summary = w.detailsPanel()->summaryLabel()->text();
        QVERIFY2(summary.contains(QStringLiteral("waits for")) && summary.contains(QStringLiteral("forks[")),
                 qPrintable(summary));
        QVERIFY2(w.detailsPanel()->sourceView()->currentFile().endsWith(QStringLiteral("dining.c")),
                 qPrintable(w.detailsPanel()->sourceView()->currentFile()));
        QVERIFY(w.detailsPanel()->sourceView()->currentLine() > 0);
        QVERIFY(!saveScreenshot(&w, QStringLiteral("main-window-dining-deadlock")).isEmpty());
    }

    void selectingAFindingInTheListMovesThePlayhead()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, recordExample(QStringLiteral("latent_abba"))));
        ViewState* state = w.viewState();
        QCOMPARE(state->selectedFinding(), -1); // no deadlock: nothing chosen for the user
        QTreeView* view = w.findingsPanel()->view();
        auto* proxy = w.findingsPanel()->proxy();
        const QModelIndex group = proxy->index(0, 0);
        QCOMPARE(group.data().toString(), QStringLiteral("Potential deadlocks (1)"));
        const QModelIndex finding = proxy->index(0, 0, group);
        view->selectionModel()->setCurrentIndex(finding, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
        QCOMPARE(state->selectedFinding(), 0);
        QCOMPARE(state->playhead(), findingTime(w.document()->findings()[0]));
        QStringList names;
        for (quint32 id : state->selectedThreads())
            names << w.document()->threadName(id);
        names.sort();
        QCOMPARE(names, QStringList({ "teller-ab", "teller-ba" }));
        QTest::qWait(300);
        QVERIFY(!saveScreenshot(&w, QStringLiteral("main-window-latent-abba-potential")).isEmpty());
    }

    void stepsThePlayheadWithTheRunMenu()
    {
        MainWindow w;
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        ViewState* state = w.viewState();
        state->setSelectedThreads({});
        state->setPlayhead(0);
        QAction* next = findAction(&w, QStringLiteral("Next Event"));
        QAction* prev = findAction(&w, QStringLiteral("Previous Event"));
        QAction* nextFinding = findAction(&w, QStringLiteral("Next Finding"));
        QVERIFY(next && prev && nextFinding);
        next->trigger();
        const quint64 a = state->playhead();
        QVERIFY(a > 0);
        next->trigger();
        QVERIFY(state->playhead() > a);
        prev->trigger();
        QCOMPARE(state->playhead(), a);
        // The key works too, wherever the focus is in the window.
        w.activateWindow();
        QTest::keyClick(&w, Qt::Key_Period);
        QVERIFY(state->playhead() > a);
        state->setSelectedFinding(-1);
        state->setPlayhead(0);
        nextFinding->trigger();
        QCOMPARE(state->selectedFinding(), 0);
        QCOMPARE(state->playhead(), findingTime(w.document()->findings()[0]));
        QVERIFY(w.findChild<QLabel*>(QStringLiteral("playheadTime"))->text().startsWith(QStringLiteral("t = ")));
    }

    void exportsGraphsAndTimeline()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QVERIFY(openAndSettle(w, dining()));
        QString error;
        const QString svg = scratchDir() + QStringLiteral("/wait-for.svg");
        QVERIFY2(w.exportWaitForGraph(svg, &error), qPrintable(error));
        const QByteArray svgText = head(svg, 1 << 20);
        QVERIFY(svgText.contains("<svg"));
        QVERIFY(svgText.contains("forks[3]"));
        QVERIFY(svgText.contains("philosopher-2"));
        const QString png = scratchDir() + QStringLiteral("/wait-for.png");
        QVERIFY2(w.exportWaitForGraph(png, &error), qPrintable(error));
        QCOMPARE(head(png, 8), QByteArray("\x89PNG\r\n\x1a\n", 8));
        const QString dot = scratchDir() + QStringLiteral("/lock-order.dot");
        QVERIFY2(w.exportLockOrderGraph(dot, &error), qPrintable(error));
        QVERIFY(head(dot, 1 << 16).contains("digraph"));
        const QString timeline = scratchDir() + QStringLiteral("/timeline.png");
        QVERIFY2(w.exportTimeline(timeline, &error), qPrintable(error));
        QCOMPARE(head(timeline, 8), QByteArray("\x89PNG\r\n\x1a\n", 8));
        const QString json = scratchDir() + QStringLiteral("/dining.json");
        QVERIFY2(w.exportPerfetto(json, &error), qPrintable(error));
        QFile jf(json);
        QVERIFY(jf.open(QIODevice::ReadOnly));
        const QJsonDocument perfetto = QJsonDocument::fromJson(jf.readAll());
        QVERIFY(perfetto.isObject() || perfetto.isArray());
        const QByteArray jsonText = perfetto.toJson();
        QVERIFY(jsonText.contains("philosopher-4"));
        QVERIFY(jsonText.contains("forks[2]"));
        // A format nobody writes is refused with one line, and nothing is written.
        const QString bad = scratchDir() + QStringLiteral("/wait-for.bmp");
        QVERIFY(!w.exportWaitForGraph(bad, &error));
        QVERIFY(!error.isEmpty() && !error.contains(QLatin1Char('\n')));
        QVERIFY(!QFile::exists(bad));
    }

    void corruptTraceShowsOneMessageAndTheWindowStaysUsable()
    {
        MainWindow w;
        w.resize(1400, 860);
        w.show();
        QSignalSpy failed(w.document(), &TraceDocument::failed);
        w.openTrace(writeGarbageTrace());
        QVERIFY(failed.wait(30000));
        QVERIFY(!w.document()->isLoaded());
        const QString message = w.bannerText();
        QVERIFY2(message.contains(QStringLiteral("garbage.ravel")), qPrintable(message));
        QVERIFY(!message.contains(QLatin1Char('\n')));
        QVERIFY(!saveScreenshot(&w, QStringLiteral("main-window-corrupt-trace")).isEmpty());
        // The same window then opens a good trace, and the message goes away.
        QVERIFY(openAndSettle(w, dining()));
        QVERIFY(w.bannerText().isEmpty());
        QCOMPARE(w.viewState()->selectedFinding(), 0);
    }

    void truncatedTraceLoadsWhatItCanOrFailsCleanly()
    {
        const QString trace = dining();
        const qint64 size = QFileInfo(trace).size();
        for (qint64 keep : { qint64(64), size / 2, size - 100 }) {
            MainWindow w;
            w.show();
            QSignalSpy failed(w.document(), &TraceDocument::failed);
            QSignalSpy loaded(w.document(), &TraceDocument::loaded);
            w.openTrace(writeTruncatedCopy(trace, keep, QStringLiteral("cut-%1.ravel").arg(keep)));
            QTRY_VERIFY_WITH_TIMEOUT(!failed.isEmpty() || !loaded.isEmpty(), 30000);
            if (!failed.isEmpty())
                QVERIFY2(w.bannerText().contains(QStringLiteral("cut-%1.ravel").arg(keep)), qPrintable(w.bannerText()));
            QVERIFY(openAndSettle(w, trace));
        }
    }

    void opensATraceDroppedOnTheWindow()
    {
        MainWindow w;
        w.show();
        QSignalSpy ready(&w, &MainWindow::traceReady);
        auto* mime = new QMimeData;
        mime->setUrls({ QUrl::fromLocalFile(recordExample(QStringLiteral("abba"))) });
        QDragEnterEvent enter(QPoint(50, 50), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &enter);
        QVERIFY(enter.isAccepted());
        QDropEvent drop(QPointF(50, 50), Qt::CopyAction, mime, Qt::LeftButton, Qt::NoModifier);
        QApplication::sendEvent(&w, &drop);
        QTRY_VERIFY_WITH_TIMEOUT(!ready.isEmpty(), 60000); // it may have come already
        QCOMPARE(QFileInfo(w.document()->path()).fileName(), QFileInfo(recordExample(QStringLiteral("abba"))).fileName());
        QCOMPARE(w.document()->findings().front().kind, std::string("deadlock"));
        delete mime;
    }

    void darkPaletteScreenshot()
    {
        const QPalette old = QApplication::palette();
        QPalette dark;
        dark.setColor(QPalette::Window, QColor(0x2b, 0x2b, 0x2b));
        dark.setColor(QPalette::WindowText, QColor(0xe0, 0xe0, 0xe0));
        dark.setColor(QPalette::Base, QColor(0x1e, 0x1e, 0x1e));
        dark.setColor(QPalette::AlternateBase, QColor(0x26, 0x26, 0x26));
        dark.setColor(QPalette::Text, QColor(0xe0, 0xe0, 0xe0));
        dark.setColor(QPalette::Button, QColor(0x35, 0x35, 0x35));
        dark.setColor(QPalette::ButtonText, QColor(0xe0, 0xe0, 0xe0));
        dark.setColor(QPalette::Highlight, QColor(0x3d, 0x7a, 0xc8));
        dark.setColor(QPalette::HighlightedText, Qt::white);
        dark.setColor(QPalette::PlaceholderText, QColor(0x90, 0x90, 0x90));
        dark.setColor(QPalette::Mid, QColor(0x50, 0x50, 0x50));
        QApplication::setPalette(dark);
        {
            MainWindow w;
            w.resize(1400, 860);
            w.show();
            QVERIFY(openAndSettle(w, dining()));
            // Text stays light on the dark base: the views follow the palette.
            QVERIFY(w.findingsPanel()->view()->palette().color(QPalette::Text).lightness() > 150);
            QVERIFY(!saveScreenshot(&w, QStringLiteral("main-window-dining-dark")).isEmpty());
        }
        QApplication::setPalette(old);
    }
};

QTEST_MAIN(TestMainWindow)
#include "test_main_window.moc"
