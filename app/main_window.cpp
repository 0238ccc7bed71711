#include "main_window.hpp"

#include "models/trace_document.hpp"
#include "models/view_state.hpp"

#include <QLabel>
#include <QStatusBar>

namespace ravel::gui {

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_document(new TraceDocument(this))
    , m_state(new ViewState(this))
{
    setWindowTitle(QStringLiteral("ravel"));
    auto* placeholder = new QLabel(tr("Open a trace (File > Open…)"), this);
    placeholder->setAlignment(Qt::AlignCenter);
    setCentralWidget(placeholder);
    connect(m_document, &TraceDocument::loaded, this, [this] {
        m_state->reset(m_document->durationNs());
        statusBar()->showMessage(m_document->path());
    });
    connect(m_document, &TraceDocument::failed, this, [this](const QString& message) {
        statusBar()->showMessage(message);
    });
}

MainWindow::~MainWindow() = default;

void MainWindow::openTrace(const QString& path)
{
    m_document->open(path);
}

} // namespace ravel::gui
