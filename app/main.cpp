// ravel-gui [TRACE]: the GUI. Besides the trace, options for scripted use (the xvfb smoke test, and
// a person's shell scripts): jump to a finding, export graphs, the timeline or a screenshot of the
// window once everything is drawn, and quit.
#include "main_window.hpp"
#include "models/trace_document.hpp"

#include <QApplication>
#include <QCommandLineParser>
#include <QElapsedTimer>
#include <QSize>
#include <QTimer>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Script {
    int finding = 0; // 1-based; 0 none
    QString exportGraph, exportLockOrder, exportTimeline, exportPerfetto, screenshot;
    QSize timelineSize; // invalid: the default
    bool quit = false;
    bool any() const
    {
        return finding || !exportGraph.isEmpty() || !exportLockOrder.isEmpty() || !exportTimeline.isEmpty() || !exportPerfetto.isEmpty()
            || !screenshot.isEmpty() || quit;
    }
};

void say(const QString& line) { std::fprintf(stderr, "ravel-gui: %s\n", qPrintable(line)); }

// Runs `step` once the window has settled (index built, layouts applied), or after a time limit so a
// script never hangs on a view that never settles.
void whenSettled(ravel::gui::MainWindow* window, std::function<void()> step)
{
    auto* clock = new QElapsedTimer;
    clock->start();
    auto* timer = new QTimer(window);
    timer->setInterval(50);
    QObject::connect(timer, &QTimer::timeout, window, [window, timer, clock, step] {
        if (!window->isSettled() && clock->elapsed() < 30000)
            return;
        timer->stop();
        timer->deleteLater();
        delete clock;
        step();
    });
    timer->start();
}

void runScript(ravel::gui::MainWindow* window, const Script& script)
{
    bool ok = true;
    if (script.finding && !window->selectFinding(script.finding)) {
        say(QStringLiteral("%1: there is no finding %2 (the trace has %3)")
                .arg(window->document()->path())
                .arg(script.finding)
                .arg(window->document()->findings().size()));
        ok = false;
    }
    whenSettled(window, [window, script, ok]() mutable {
        QString error;
        auto exportTo = [&](const QString& path, bool (ravel::gui::MainWindow::*fn)(const QString&, QString*)) {
            if (path.isEmpty())
                return;
            if (!(window->*fn)(path, &error)) {
                say(error);
                ok = false;
            }
        };
        exportTo(script.exportGraph, &ravel::gui::MainWindow::exportWaitForGraph);
        exportTo(script.exportLockOrder, &ravel::gui::MainWindow::exportLockOrderGraph);
        window->setTimelineExportSize(script.timelineSize);
        exportTo(script.exportTimeline, &ravel::gui::MainWindow::exportTimeline);
        exportTo(script.exportPerfetto, &ravel::gui::MainWindow::exportPerfetto);
        if (!script.screenshot.isEmpty() && !window->grab().save(script.screenshot)) {
            say(QStringLiteral("cannot write %1").arg(script.screenshot));
            ok = false;
        }
        if (script.quit)
            QCoreApplication::exit(ok ? 0 : 1);
    });
}

// Without a display Qt's default platform aborts ("could not connect to display", exit 134) before
// any option is read. What needs no window (--help, --version, a script that ends in --quit) runs
// on the offscreen platform instead; an interactive start says in one line why it cannot.
bool prepareHeadless(int argc, char** argv)
{
    auto set = [](const char* name) {
        const char* v = std::getenv(name);
        return v && *v;
    };
    if (set("QT_QPA_PLATFORM") || set("DISPLAY") || set("WAYLAND_DISPLAY"))
        return true;
    bool windowless = false;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        windowless = windowless || a == "--help" || a == "-h" || a == "--help-all" || a == "--version" || a == "-v"
            || a == "--quit";
    }
    if (!windowless) {
        say(QStringLiteral("no display (neither DISPLAY nor WAYLAND_DISPLAY is set): run it under X or Wayland "
                           "(or xvfb-run), or script it with --export-* and --quit"));
        return false;
    }
    qputenv("QT_QPA_PLATFORM", "offscreen");
    // Two warnings the offscreen platform always prints, about nothing the user asked for.
    qInstallMessageHandler([](QtMsgType type, const QMessageLogContext& context, const QString& message) {
        if (message.startsWith(QLatin1String("QStandardPaths: XDG_RUNTIME_DIR not set"))
            || message.startsWith(QLatin1String("This plugin does not support")))
            return;
        std::fprintf(stderr, "%s\n", qPrintable(qFormatLogMessage(type, context, message)));
    });
    return true;
}

} // namespace

int main(int argc, char** argv)
{
    if (!prepareHeadless(argc, argv))
        return 1;
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ravel-gui"));
    QApplication::setOrganizationName(QStringLiteral("ravel"));
    QApplication::setApplicationVersion(QStringLiteral(RAVEL_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Replay a ravel trace: timeline, wait-for graph, findings."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("trace"), QStringLiteral("A trace recorded by ravel run."));
    QCommandLineOption selectFinding(QStringLiteral("select-finding"),
                                     QStringLiteral("Jump to finding N (numbered from 1, as in ravel report)."),
                                     QStringLiteral("N"));
    QCommandLineOption exportGraph(QStringLiteral("export-graph"),
                                   QStringLiteral("Write the wait-for graph shown (.dot, .svg, .png, .pdf)."),
                                   QStringLiteral("FILE"));
    QCommandLineOption exportLockOrder(QStringLiteral("export-lock-order"),
                                       QStringLiteral("Write the lock-order graph (.dot, .svg, .png, .pdf)."),
                                       QStringLiteral("FILE"));
    QCommandLineOption exportTimeline(QStringLiteral("export-timeline"),
                                      QStringLiteral("Write the visible timeline (.png, .svg)."), QStringLiteral("FILE"));
    QCommandLineOption timelineSize(QStringLiteral("timeline-size"),
                                    QStringLiteral("The timeline picture's size (default: 1600 wide or the window's "
                                                   "width, every lane tall)."),
                                    QStringLiteral("WxH"));
    QCommandLineOption exportPerfetto(QStringLiteral("export-perfetto"),
                                      QStringLiteral("Write the whole trace as Perfetto / Chrome trace-event JSON."),
                                      QStringLiteral("FILE"));
    QCommandLineOption screenshot(QStringLiteral("screenshot"), QStringLiteral("Save the window as a PNG."),
                                  QStringLiteral("FILE"));
    QCommandLineOption quit(QStringLiteral("quit"),
                            QStringLiteral("Quit once the trace is shown and the above are done; exit 1 if one failed."));
    parser.addOptions({ selectFinding, exportGraph, exportLockOrder, exportTimeline, timelineSize, exportPerfetto, screenshot, quit });
    parser.process(app);

    Script script;
    if (parser.isSet(selectFinding)) {
        bool ok = false;
        script.finding = parser.value(selectFinding).toInt(&ok);
        if (!ok || script.finding < 1) {
            say(QStringLiteral("--select-finding: '%1' is not a finding number (1, 2, ...)").arg(parser.value(selectFinding)));
            return 2;
        }
    }
    script.exportGraph = parser.value(exportGraph);
    script.exportLockOrder = parser.value(exportLockOrder);
    script.exportTimeline = parser.value(exportTimeline);
    script.exportPerfetto = parser.value(exportPerfetto);
    if (parser.isSet(timelineSize)) {
        const QStringList wh = parser.value(timelineSize).split(QLatin1Char('x'));
        bool okW = false, okH = false;
        if (wh.size() == 2)
            script.timelineSize = QSize(wh[0].toInt(&okW), wh[1].toInt(&okH));
        if (!okW || !okH || script.timelineSize.width() < 200 || script.timelineSize.height() < 120) {
            say(QStringLiteral("--timeline-size: '%1' is not WIDTHxHEIGHT (at least 200x120)").arg(parser.value(timelineSize)));
            return 2;
        }
    }
    script.screenshot = parser.value(screenshot);
    script.quit = parser.isSet(quit);
    const QStringList positional = parser.positionalArguments();
    if (script.any() && positional.isEmpty()) {
        say(QStringLiteral("--select-finding, --export-*, --screenshot and --quit need a trace"));
        return 2;
    }

    ravel::gui::MainWindow window;
    window.show();
    if (!positional.isEmpty()) {
        if (script.any()) {
            auto* doc = window.document();
            QObject::connect(&window, &ravel::gui::MainWindow::traceReady, &window,
                             [&window, script] { runScript(&window, script); });
            QObject::connect(doc, &ravel::gui::TraceDocument::failed, &window, [script](const QString& message) {
                say(message);
                if (script.quit)
                    QCoreApplication::exit(1);
            });
        }
        window.openTrace(positional.first());
    }
    return app.exec();
}
