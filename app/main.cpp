// ravel-gui [TRACE]: the GUI. Options for scripted use (the xvfb smoke test) come later.
#include "main_window.hpp"

#include <QApplication>
#include <QCommandLineParser>

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("ravel-gui"));
    QApplication::setOrganizationName(QStringLiteral("ravel"));
    QApplication::setApplicationVersion(QStringLiteral(RAVEL_VERSION));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Replay a ravel trace: timeline, wait-for graph, findings."));
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addPositionalArgument(QStringLiteral("trace"), QStringLiteral("A trace recorded by ravel run."));
    parser.process(app);

    ravel::gui::MainWindow window;
    window.show();
    if (!parser.positionalArguments().isEmpty())
        window.openTrace(parser.positionalArguments().first());
    return app.exec();
}
