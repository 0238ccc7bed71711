#include "main_window.hpp"

#include "details/details_panel.hpp"
#include "findings_panel.hpp"
#include "keys_dialog.hpp"
#include "graph/lock_order_graph_view.hpp"
#include "graph/wait_for_graph_view.hpp"
#include "launch/live_run.hpp"
#include "launch/run_program_dialog.hpp"
#include "models/finding_focus.hpp"
#include "models/timeline_index.hpp"
#include "models/trace_document.hpp"
#include "models/view_state.hpp"
#include "playback/playback_bar.hpp"
#include "playback/playback_controller.hpp"
#include "timeline/minimap_widget.hpp"
#include "timeline/timeline_view.hpp"
#include "export/graph_model.hpp"
#include "export/perfetto_export.hpp"
#include "base/trace_time.hpp"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDockWidget>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QFutureWatcher>
#include <QtConcurrent/QtConcurrentRun>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QLocale>
#include <QMenuBar>
#include <QMessageBox>
#include <QMimeData>
#include <QProgressBar>
#include <QRegularExpression>
#include <QScreen>
#include <QSettings>
#include <QSpinBox>
#include <QStatusBar>
#include <QStyle>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstdio>
#include <cstring>

namespace ravel::gui {

namespace {

constexpr int kMaxRecent = 10;
// The findings dock's width with findings in it, and without: an empty list yields its room to
// the timeline (its one line of text wraps).
constexpr int kFindingsWidth = 300;
constexpr int kEmptyFindingsWidth = 170;
// The details dock's height under a timeline that needs the window's height.
constexpr int kDetailsHeight = 220;
// Bumped when the docks change, so an old saved layout cannot hide a new dock.
constexpr int kLayoutVersion = 1;

QString settingsKeyRecent() { return QStringLiteral("recentFiles"); }

} // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent)
    , m_document(new TraceDocument(this))
    , m_state(new ViewState(this))
    , m_playback(new PlaybackController(m_document, m_state, this))
{
    setObjectName(QStringLiteral("ravelMainWindow"));
    setAcceptDrops(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowTabbedDocks);
    buildCentral();
    buildDocks();
    buildMenus();
    buildStatusBar();

    connect(m_document, &TraceDocument::loadStarted, this, &MainWindow::onLoadStarted);
    connect(m_document, &TraceDocument::loaded, this, &MainWindow::onLoaded);
    connect(m_document, &TraceDocument::failed, this, &MainWindow::onFailed);
    connect(m_document, &TraceDocument::closed, this, &MainWindow::onClosed);
    connect(m_document, &TraceDocument::statsReady, this, [this] { m_statsLabel->setText(statisticsText()); });
    // The selection is in the ids of the part it was made in: another process's means nothing.
    connect(m_document, &TraceDocument::activePartChanged, this, [this] {
        m_state->clearSelectedEvent();
        m_state->setSelectedThreads({});
        m_state->setSelectedObjects({});
    });
    connect(m_document, &TraceDocument::progress, this, [this](int percent, const QString& what) {
        m_progress->setValue(percent);
        m_progress->setFormat(what + QStringLiteral("… %p%"));
    });

    restoreLayout();
    updateActions();
    updateTitle();
}

MainWindow::~MainWindow() = default;

// ---- layout ----

void MainWindow::buildCentral()
{
    auto* central = new QWidget(this);
    auto* layout = new QVBoxLayout(central);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->setSpacing(0);

    // The banner says why a trace did not open, in place, without a modal box: the window stays
    // usable and the message stays readable until dismissed or another trace opens.
    m_banner = new QFrame(central);
    m_banner->setObjectName(QStringLiteral("messageBanner"));
    m_banner->setFrameShape(QFrame::StyledPanel);
    m_banner->setAutoFillBackground(true);
    auto* bannerLayout = new QHBoxLayout(m_banner);
    bannerLayout->setContentsMargins(8, 4, 4, 4);
    auto* icon = new QLabel(m_banner);
    icon->setObjectName(QStringLiteral("bannerIcon"));
    bannerLayout->addWidget(icon);
    m_bannerText = new QLabel(m_banner);
    m_bannerText->setWordWrap(true);
    m_bannerText->setTextInteractionFlags(Qt::TextSelectableByMouse);
    bannerLayout->addWidget(m_bannerText, 1);
    auto* dismiss = new QToolButton(m_banner);
    dismiss->setAutoRaise(true);
    dismiss->setIcon(style()->standardIcon(QStyle::SP_TitleBarCloseButton));
    dismiss->setToolTip(tr("Dismiss"));
    connect(dismiss, &QToolButton::clicked, this, &MainWindow::hideBanner);
    bannerLayout->addWidget(dismiss);
    m_banner->hide();
    layout->addWidget(m_banner);

    m_playbackBar = new PlaybackBar(m_playback, m_document, m_state, central);
    layout->addWidget(m_playbackBar);
    m_minimap = new MinimapWidget(m_document, m_state, m_playbackBar);
    m_playbackBar->setMinimap(m_minimap);

    m_timeline = new TimelineView(m_document, m_state, central);
    layout->addWidget(m_timeline, 1);
    // Event steps ask the timeline's lane index (O(log n)); before it is built, the replay model.
    m_playback->setEventNavigator([this](quint64 t, std::optional<quint32> thread, bool forward) {
        if (const TimelineIndex* index = m_timeline->index())
            return forward ? index->nextEventTime(t, thread, m_document->activePart())
                           : index->prevEventTime(t, thread, m_document->activePart());
        return m_playback->scanModel(t, thread, forward);
    });
    setCentralWidget(central);
}

void MainWindow::buildDocks()
{
    m_findings = new FindingsPanel(m_document, m_state, this);
    m_findingsDock = new QDockWidget(tr("Findings"), this);
    m_findingsDock->setObjectName(QStringLiteral("findingsDock"));
    m_findingsDock->setWidget(m_findings);
    addDockWidget(Qt::LeftDockWidgetArea, m_findingsDock);

    m_graphTabs = new QTabWidget(this);
    m_graphTabs->setDocumentMode(true);
    m_waitFor = new WaitForGraphView(m_document, m_state, this);
    m_lockOrder = new LockOrderGraphView(m_document, m_state, this);
    m_graphTabs->addTab(m_waitFor, tr("Wait-for graph"));
    m_graphTabs->addTab(m_lockOrder, tr("Lock-order graph"));
    m_graphDock = new QDockWidget(tr("Graphs"), this);
    m_graphDock->setObjectName(QStringLiteral("graphDock"));
    m_graphDock->setWidget(m_graphTabs);
    addDockWidget(Qt::RightDockWidgetArea, m_graphDock);
    // A potential deadlock is drawn in the lock-order graph; anything else at the playhead. Every
    // time it is chosen, so choosing it again brings its tab back too.
    connect(m_state, &ViewState::findingFocused, this, [this](int index) {
        if (index < 0 || !m_document->isLoaded())
            return;
        const ravel::Finding& f = m_document->findings()[size_t(index)];
        // A condition-variable prediction has no lock-order cycle: its threads are at the playhead.
        const bool lockOrder = (f.kind == "potential-deadlock" || f.kind == "lock-order-inversion") && !f.edges.empty();
        m_graphTabs->setCurrentWidget(lockOrder ? static_cast<QWidget*>(m_lockOrder) : m_waitFor);
    });

    m_details = new DetailsPanel(m_document, m_state, this);
    m_details->setTimelineIndex([this] { return m_timeline->index(); });
    // A timeline of a few lanes does not need the window's height: what it leaves empty goes to
    // Details (a race's two stacks and sources, the Objects table), up to two fifths of the window;
    // a timeline of many lanes keeps Details at its default height.
    connect(m_timeline, &TimelineView::indexChanged, this, &MainWindow::fitDetailsToTimeline);
    connect(m_timeline, &TimelineView::indexChanged, m_details,
            [this] { m_details->setTimelineIndex([this] { return m_timeline->index(); }); });
    m_detailsDock = new QDockWidget(tr("Details"), this);
    m_detailsDock->setObjectName(QStringLiteral("detailsDock"));
    m_detailsDock->setWidget(m_details);
    addDockWidget(Qt::BottomDockWidgetArea, m_detailsDock);

    // The bottom dock spans only the middle, so findings and graphs keep their full height.
    setCorner(Qt::BottomLeftCorner, Qt::LeftDockWidgetArea);
    setCorner(Qt::BottomRightCorner, Qt::RightDockWidgetArea);
    // The timeline in the middle gets most of the width.
    resizeDocks({ m_findingsDock, m_graphDock }, { kFindingsWidth, 400 }, Qt::Horizontal);
    resizeDocks({ m_detailsDock }, { kDetailsHeight }, Qt::Vertical);
}

void MainWindow::buildMenus()
{
    QMenu* file = menuBar()->addMenu(tr("&File"));
    QAction* open = file->addAction(tr("&Open Trace…"), this, &MainWindow::openDialog);
    open->setShortcut(QKeySequence::Open);
    m_recentMenu = file->addMenu(tr("Open &Recent"));
    connect(m_recentMenu, &QMenu::aboutToShow, this, &MainWindow::updateRecentMenu);
    QAction* run = file->addAction(tr("&Run Program…"), this, &MainWindow::runProgramDialog);
    run->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_R));
    m_stopRun = file->addAction(tr("&Stop Program"), this, &MainWindow::stopProgram);
    m_stopRun->setShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_R));
    m_stopRun->setEnabled(false);
    file->addSeparator();
    m_closeAction = file->addAction(tr("&Close"), m_document, &TraceDocument::close);
    m_closeAction->setShortcut(QKeySequence::Close);
    m_needTrace << m_closeAction;
    file->addSeparator();
    QAction* quit = file->addAction(tr("&Quit"), this, &QWidget::close);
    quit->setShortcut(QKeySequence::Quit);
    quit->setMenuRole(QAction::QuitRole);

    m_viewMenu = menuBar()->addMenu(tr("&View"));
    QAction* fit = m_viewMenu->addAction(tr("Zoom to &Fit"), m_timeline, &TimelineView::fit);
    fit->setShortcut(QKeySequence(Qt::Key_F));
    QAction* zoomSel = m_viewMenu->addAction(tr("Zoom to &Selection"), m_timeline, &TimelineView::zoomToSelection);
    zoomSel->setShortcut(QKeySequence(Qt::Key_Z));
    QAction* zoomIn = m_viewMenu->addAction(tr("Zoom &In"), this, [this] { m_timeline->zoomBy(0.5); });
    zoomIn->setShortcut(QKeySequence::ZoomIn);
    QAction* zoomOut = m_viewMenu->addAction(tr("Zoom &Out"), this, [this] { m_timeline->zoomBy(2.0); });
    zoomOut->setShortcut(QKeySequence::ZoomOut);
    m_needTrace << fit << zoomSel << zoomIn << zoomOut;
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(m_findingsDock->toggleViewAction());
    m_viewMenu->addAction(m_graphDock->toggleViewAction());
    m_viewMenu->addAction(m_detailsDock->toggleViewAction());
    QAction* search = m_viewMenu->addAction(tr("Search Findings"), this, [this] {
        m_findingsDock->show();
        m_findings->searchBox()->setFocus();
        m_findings->searchBox()->selectAll();
    });
    search->setShortcut(QKeySequence::Find);

    QMenu* runMenu = menuBar()->addMenu(tr("&Run"));
    runMenu->addActions(m_playbackBar->runActions());

    QMenu* exportMenu = menuBar()->addMenu(tr("&Export"));
    const QString graphFilters = tr("SVG image (*.svg);;PNG image (*.png);;PDF document (*.pdf);;Graphviz DOT (*.dot)");
    QAction* exportWaitFor = exportMenu->addAction(tr("&Wait-for Graph…"), this, [this, graphFilters] {
        exportDialog(tr("Export the Wait-for Graph"), graphFilters, suggestedExportName(QStringLiteral("wait-for"), QStringLiteral("svg")),
                     &MainWindow::exportWaitForGraph);
    });
    QAction* exportLockOrder = exportMenu->addAction(tr("&Lock-order Graph…"), this, [this, graphFilters] {
        exportDialog(tr("Export the Lock-order Graph"), graphFilters,
                     suggestedExportName(QStringLiteral("lock-order"), QStringLiteral("svg")), &MainWindow::exportLockOrderGraph);
    });
    QAction* exportTimelineAction = exportMenu->addAction(tr("&Timeline (visible part)…"), this, [this] {
        exportDialog(tr("Export the Timeline"), tr("PNG image (*.png);;SVG image (*.svg)"),
                     suggestedExportName(QStringLiteral("timeline"), QStringLiteral("png")), &MainWindow::exportTimeline);
    });
    exportMenu->addSeparator();
    QAction* exportTrace = exportMenu->addAction(tr("Trace as &Perfetto JSON…"), this, [this] {
        QSettings settings;
        const QString dir = settings.value(QStringLiteral("exportDirectory"), QDir::currentPath()).toString();
        const QString suggested = suggestedExportName(QString(), QStringLiteral("json"));
        const QString path = QFileDialog::getSaveFileName(this, tr("Export the Trace for Perfetto"),
                                                          dir + QLatin1Char('/') + suggested,
                                                          tr("Chrome trace-event JSON (*.json)"));
        if (path.isEmpty())
            return;
        settings.setValue(QStringLiteral("exportDirectory"), QFileInfo(path).absolutePath());
        exportPerfettoInBackground(path);
    });
    exportTrace->setToolTip(tr("Open it in ui.perfetto.dev or chrome://tracing"));
    m_needTrace << exportWaitFor << exportLockOrder << exportTimelineAction << exportTrace;

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    QAction* keys = help->addAction(tr("&Keys"), this, &MainWindow::showKeys);
    keys->setShortcut(QKeySequence(Qt::Key_F1));
    help->addAction(tr("&About ravel"), this, &MainWindow::showAbout);
}

void MainWindow::buildStatusBar()
{
    m_statsLabel = new QLabel(this);
    m_statsLabel->setObjectName(QStringLiteral("traceStatistics"));
    statusBar()->addPermanentWidget(m_statsLabel);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 100);
    m_progress->setMaximumWidth(260);
    m_progress->setTextVisible(true);
    m_progress->hide();
    statusBar()->addPermanentWidget(m_progress);
    m_cancel = new QToolButton(this);
    m_cancel->setText(tr("Cancel"));
    m_cancel->setToolTip(tr("Stop loading this trace"));
    m_cancel->hide();
    connect(m_cancel, &QToolButton::clicked, this, [this] {
        m_document->cancel();
        m_progress->hide();
        m_cancel->hide();
        statusBar()->showMessage(tr("Loading cancelled."), 5000);
    });
    statusBar()->addPermanentWidget(m_cancel);
    // While a launched program runs: ends it (as File > Stop Program); its trace then opens.
    m_stopButton = new QToolButton(this);
    m_stopButton->setObjectName(QStringLiteral("stopProgramButton"));
    m_stopButton->setText(tr("Stop"));
    m_stopButton->setIcon(style()->standardIcon(QStyle::SP_MediaStop));
    m_stopButton->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    m_stopButton->setToolTip(tr("End the program being run; its trace opens"));
    m_stopButton->hide();
    connect(m_stopButton, &QToolButton::clicked, this, &MainWindow::stopProgram);
    statusBar()->addPermanentWidget(m_stopButton);
}

void MainWindow::restoreLayout()
{
    QSettings settings;
    const QByteArray geometry = settings.value(QStringLiteral("window/geometry")).toByteArray();
    if (geometry.isEmpty() || !restoreGeometry(geometry)) {
        // The first start: as much of the screen as 1600x1000 (all of a laptop's), centred; a
        // smaller window left the timeline a third of a wide screen.
        QSize size(1600, 1000);
        if (const QScreen* s = screen()) {
            const QRect avail = s->availableGeometry();
            size = size.boundedTo(avail.size());
            resize(size);
            move(avail.x() + (avail.width() - size.width()) / 2, avail.y() + (avail.height() - size.height()) / 2);
        } else {
            resize(size);
        }
    }
    restoreState(settings.value(QStringLiteral("window/state")).toByteArray(), kLayoutVersion);
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    if (m_liveRun && m_liveRun->isRunning()) {
        const auto answer = QMessageBox::question(this, tr("Quit ravel"),
                                                  tr("%1 is still running under ravel. End it and quit?")
                                                      .arg(m_liveRun->programLine()));
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        m_liveRun->stop();
    }
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState(kLayoutVersion));
    m_document->cancel();
    QMainWindow::closeEvent(event);
}

// ---- opening ----

void MainWindow::openTrace(const QString& path)
{
    m_document->open(QFileInfo(path).absoluteFilePath());
}

void MainWindow::openDialog()
{
    QSettings settings;
    const QString dir = settings.value(QStringLiteral("lastDirectory"), QDir::currentPath()).toString();
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a ravel Trace"), dir,
                                                      tr("ravel traces (*.ravel);;All files (*)"));
    if (path.isEmpty())
        return;
    settings.setValue(QStringLiteral("lastDirectory"), QFileInfo(path).absolutePath());
    openTrace(path);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (!urls.isEmpty() && urls.first().isLocalFile())
        event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event)
{
    const QList<QUrl> urls = event->mimeData()->urls();
    if (urls.isEmpty() || !urls.first().isLocalFile())
        return;
    event->acceptProposedAction();
    openTrace(urls.first().toLocalFile());
}

void MainWindow::onLoadStarted(const QString& path)
{
    m_progress->setValue(0);
    m_progress->setFormat(tr("Opening… %p%"));
    m_progress->show();
    m_cancel->show();
    statusBar()->showMessage(tr("Opening %1").arg(QFileInfo(path).fileName()));
}

void MainWindow::onLoaded()
{
    m_progress->hide();
    m_cancel->hide();
    hideBanner();
    statusBar()->clearMessage();
    m_state->reset(m_document->durationNs());
    addRecentFile(m_document->path());
    const QStringList warnings = m_document->warnings();
    if (!warnings.isEmpty())
        showBanner(tr("The trace is damaged; what could be read is shown. %1%2")
                       .arg(warnings.first(),
                            warnings.size() > 1 ? tr(" (and %n more)", nullptr, int(warnings.size() - 1)) : QString()),
                   false);
    m_statsLabel->setText(statisticsText());
    updateActions();
    updateTitle();
    if (m_findingsDock->isVisible() && !m_findingsDock->isFloating()) {
        if (m_document->findings().empty() && m_findingsDock->width() > kEmptyFindingsWidth)
            resizeDocks({ m_findingsDock }, { kEmptyFindingsWidth }, Qt::Horizontal);
        else if (!m_document->findings().empty() && m_findingsDock->width() < kFindingsWidth)
            resizeDocks({ m_findingsDock }, { kFindingsWidth }, Qt::Horizontal);
    }
    // A run with a deadlock opens on it: the first thing a person wants to see.
    if (!m_document->findings().empty() && m_document->findings().front().kind == "deadlock")
        focusFinding(*m_document, *m_state, 0);
    emit traceReady();
}

void MainWindow::fitDetailsToTimeline()
{
    const int needed = m_timeline->neededHeight();
    if (!needed || !m_detailsDock->isVisible() || m_detailsDock->isFloating())
        return;
    // A height the user dragged the dock to since it was last fitted is theirs to keep.
    if (m_detailsFittedHeight && std::abs(m_detailsDock->height() - m_detailsFittedHeight) > 4)
        return;
    const int spare = m_timeline->height() - needed;
    const int want = std::clamp(m_detailsDock->height() + spare, kDetailsHeight, std::max(kDetailsHeight, height() * 2 / 5));
    if (want != m_detailsDock->height())
        resizeDocks({ m_detailsDock }, { want }, Qt::Vertical);
    m_detailsFittedHeight = want;
}

void MainWindow::onFailed(const QString& message)
{
    m_progress->hide();
    m_cancel->hide();
    statusBar()->clearMessage();
    showBanner(message, true);
    updateActions();
}

void MainWindow::onClosed()
{
    m_state->reset(0);
    m_statsLabel->clear();
    updateActions();
    updateTitle();
}

void MainWindow::showBanner(const QString& message, bool error)
{
    QPalette p = palette();
    // A tint of red or amber over the window color: readable on light and dark themes alike.
    const QColor base = p.color(QPalette::Window);
    const QColor tint = error ? QColor(0xd3, 0x2f, 0x2f) : QColor(0xf9, 0xa8, 0x25);
    const QColor mixed = QColor::fromRgbF(float(base.redF() * 0.78 + tint.redF() * 0.22),
                                          float(base.greenF() * 0.78 + tint.greenF() * 0.22),
                                          float(base.blueF() * 0.78 + tint.blueF() * 0.22));
    p.setColor(QPalette::Window, mixed);
    m_banner->setPalette(p);
    auto* icon = m_banner->findChild<QLabel*>(QStringLiteral("bannerIcon"));
    icon->setPixmap(style()
                        ->standardIcon(error ? QStyle::SP_MessageBoxCritical : QStyle::SP_MessageBoxWarning)
                        .pixmap(20, 20));
    m_bannerText->setText(message);
    m_banner->show();
}

void MainWindow::hideBanner()
{
    m_bannerText->clear();
    m_banner->hide();
}

QString MainWindow::bannerText() const { return m_banner->isVisible() ? m_bannerText->text() : QString(); }

QString MainWindow::statisticsText() const
{
    if (!m_document->isLoaded())
        return {};
    const ravel::ReplayModel& model = m_document->model();
    QLocale locale;
    int errors = 0;
    for (const ravel::Finding& f : m_document->findings())
        errors += ravel::isError(f);
    auto count = [&](quint64 n, const QString& one, const QString& many) {
        return QStringLiteral("%1 %2").arg(locale.toString(n), n == 1 ? one : many);
    };
    const auto findings = quint64(m_document->findings().size());
    QStringList parts;
    // A run of several processes counts them all.
    quint64 threads = model.threads().size(), events = model.eventCount(), objects = model.objects().size();
    if (m_document->isMultiProcess()) {
        threads = events = objects = 0;
        for (int i = 0; i < m_document->partCount(); i++) {
            threads += m_document->model(i).threads().size();
            events += m_document->model(i).eventCount();
            objects += m_document->model(i).objects().size();
        }
        parts << count(m_document->processes().size(), tr("process"), tr("processes"));
    }
    parts << count(threads, tr("thread"), tr("threads"));
    parts << count(events, tr("event"), tr("events"));
    parts << count(objects, tr("object"), tr("objects"));
    parts << QString::fromStdString(ravel::formatTraceTime(m_document->durationNs()));
    QString f = findings ? count(findings, tr("finding"), tr("findings")) : tr("no findings");
    if (errors)
        f += QStringLiteral(" (%1)").arg(count(quint64(errors), tr("error"), tr("errors")));
    parts << f;
    const QString text = parts.join(QStringLiteral(" · "));
    return text;
}

void MainWindow::updateActions()
{
    for (QAction* a : m_needTrace)
        a->setEnabled(m_document->isLoaded());
}

void MainWindow::updateTitle()
{
    setWindowTitle(m_document->isLoaded() ? QStringLiteral("%1 — ravel").arg(QFileInfo(m_document->path()).fileName())
                                          : QStringLiteral("ravel"));
}

// ---- recent files ----

QStringList MainWindow::recentFiles()
{
    return QSettings().value(settingsKeyRecent()).toStringList();
}

void MainWindow::addRecentFile(const QString& path)
{
    QStringList files = recentFiles();
    files.removeAll(path);
    files.prepend(path);
    while (files.size() > kMaxRecent)
        files.removeLast();
    QSettings().setValue(settingsKeyRecent(), files);
}

void MainWindow::updateRecentMenu()
{
    m_recentMenu->clear();
    const QStringList files = recentFiles();
    for (const QString& f : files) {
        QAction* a = m_recentMenu->addAction(QDir::toNativeSeparators(f), this, [this, f] { openTrace(f); });
        a->setEnabled(QFileInfo::exists(f));
    }
    if (files.isEmpty()) {
        m_recentMenu->addAction(tr("(none)"))->setEnabled(false);
        return;
    }
    m_recentMenu->addSeparator();
    m_recentMenu->addAction(tr("Clear the List"), this, [] { QSettings().remove(settingsKeyRecent()); });
}

// ---- findings, exports ----

bool MainWindow::isSettled() const
{
    bool settled = m_document->isLoaded() && !m_document->isLoading();
    settled = settled && !m_timeline->isBuilding();
    settled = settled && !m_waitFor->isLayoutPending() && !m_lockOrder->isLayoutPending() && !m_lockOrder->isAnalyzing();
    return settled;
}

bool MainWindow::selectFinding(int number)
{
    if (!m_document->isLoaded() || number < 1 || number > int(m_document->findings().size()))
        return false;
    focusFinding(*m_document, *m_state, number - 1);
    return true;
}

bool MainWindow::exportWaitForGraph(const QString& path, QString* error)
{
    return m_waitFor->exportGraph(path, error);
}

bool MainWindow::exportLockOrderGraph(const QString& path, QString* error)
{
    return m_lockOrder->exportGraph(path, error);
}

bool MainWindow::exportTimeline(const QString& path, QString* error)
{
    return m_timeline->exportImage(path, error, m_timelineExportSize);
}

bool MainWindow::exportPerfetto(const QString& path, QString* error)
{
    if (!m_document->isLoaded()) {
        if (error)
            *error = tr("no trace is open");
        return false;
    }
    const QString message = writePerfetto(m_document->retain(), m_document->model(), m_document->findings(), path);
    if (error)
        *error = message;
    return message.isEmpty();
}

QString MainWindow::writePerfetto(std::shared_ptr<const void> keep, const ravel::ReplayModel& model,
                                  const std::vector<ravel::Finding>& findings, const QString& path)
{
    (void)keep; // held until the file is written
    // Its own symbolizer: the document's belongs to the GUI thread, and this may run on a worker.
    ravel::Symbolizer sym(model.trace().modules());
    ravel::SymbolizedNaming naming(model, sym);
    // Written beside the target and renamed into place: a failed export leaves no partial file.
    const QString partial = path + QStringLiteral(".part");
    std::FILE* out = std::fopen(QFile::encodeName(partial).constData(), "wb");
    if (!out)
        return QStringLiteral("cannot write %1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno)));
    try {
        ravel::writePerfettoJson(model, findings, naming, out);
    } catch (const std::exception& e) {
        std::fclose(out);
        QFile::remove(partial);
        return QStringLiteral("cannot write %1: %2").arg(path, QString::fromStdString(e.what()));
    }
    if (std::fclose(out) != 0) {
        QFile::remove(partial);
        return QStringLiteral("cannot write %1: %2").arg(path, QString::fromLocal8Bit(std::strerror(errno)));
    }
    QFile::remove(path);
    if (!QFile::rename(partial, path)) {
        QFile::remove(partial);
        return QStringLiteral("cannot write %1").arg(path);
    }
    return {};
}

void MainWindow::exportPerfettoInBackground(const QString& path)
{
    if (!m_document->isLoaded())
        return;
    statusBar()->showMessage(tr("Exporting %1…").arg(QDir::toNativeSeparators(path)));
    auto* watcher = new QFutureWatcher<QString>(this);
    connect(watcher, &QFutureWatcher<QString>::finished, this, [this, watcher, path] {
        watcher->deleteLater();
        const QString error = watcher->result();
        if (error.isEmpty())
            statusBar()->showMessage(tr("Exported %1").arg(QDir::toNativeSeparators(path)), 5000);
        else
            showBanner(error, true);
    });
    // The worker holds the trace alive: closing it meanwhile cannot pull the model away.
    watcher->setFuture(QtConcurrent::run(&MainWindow::writePerfetto, m_document->retain(),
                                         std::cref(m_document->model()), std::cref(m_document->findings()), path));
}

QString MainWindow::suggestedExportName(const QString& what, const QString& suffix) const
{
    // "dining.ravel" -> "dining-wait-for.svg": several traces' exports can share a folder.
    QString base = QFileInfo(m_document->path()).completeBaseName();
    if (base.isEmpty())
        base = QStringLiteral("ravel");
    return (what.isEmpty() ? base : base + QLatin1Char('-') + what) + QLatin1Char('.') + suffix;
}

void MainWindow::exportDialog(const QString& title, const QString& filters, const QString& suggestedName,
                              bool (MainWindow::*exporter)(const QString&, QString*))
{
    QSettings settings;
    const QString dir = settings.value(QStringLiteral("exportDirectory"), QDir::currentPath()).toString();
    QFileDialog dialog(this, title, dir, filters);
    dialog.setObjectName(QStringLiteral("exportFileDialog"));
    dialog.setAcceptMode(QFileDialog::AcceptSave);
    dialog.setFileMode(QFileDialog::AnyFile);
    dialog.selectFile(suggestedName);
    if (dialog.exec() != QDialog::Accepted || dialog.selectedFiles().isEmpty())
        return;
    QString path = dialog.selectedFiles().first();
    const QString selectedFilter = dialog.selectedNameFilter();
    // No extension typed: the chosen filter's.
    if (QFileInfo(path).suffix().isEmpty()) {
        const int star = int(selectedFilter.indexOf(QStringLiteral("*.")));
        if (star >= 0)
            path += selectedFilter.mid(star + 1, selectedFilter.indexOf(QLatin1Char(')'), star) - star - 1);
    }
    settings.setValue(QStringLiteral("exportDirectory"), QFileInfo(path).absolutePath());
    // The timeline is a picture of a chosen size: asked for once the file is known.
    if (exporter == &MainWindow::exportTimeline) {
        const QSize size = askTimelineSize();
        if (!size.isValid())
            return;
        m_timelineExportSize = size;
    }
    QString error;
    if ((this->*exporter)(path, &error))
        statusBar()->showMessage(tr("Exported %1").arg(QDir::toNativeSeparators(path)), 5000);
    else
        showBanner(error.isEmpty() ? tr("%1: export failed").arg(path) : error, true);
}

QSize MainWindow::askTimelineSize()
{
    const QSize suggested = m_timelineExportSize.isValid() ? m_timelineExportSize : m_timeline->defaultExportSize();
    QDialog dialog(this);
    dialog.setObjectName(QStringLiteral("timelineSizeDialog"));
    dialog.setWindowTitle(tr("Timeline Picture Size"));
    auto* width = new QSpinBox(&dialog);
    width->setObjectName(QStringLiteral("timelineWidth"));
    width->setRange(200, 20000);
    width->setSuffix(tr(" px"));
    width->setValue(suggested.width());
    auto* height = new QSpinBox(&dialog);
    height->setObjectName(QStringLiteral("timelineHeight"));
    height->setRange(120, 20000);
    height->setSuffix(tr(" px"));
    height->setValue(suggested.height());
    auto* form = new QFormLayout;
    form->addRow(tr("&Width:"), width);
    form->addRow(tr("&Height:"), height);
    auto* note = new QLabel(tr("The visible time range, with a title, the ruler, the lanes and the legend. "
                               "The suggested height shows every lane."),
                            &dialog);
    note->setWordWrap(true);
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addWidget(note);
    layout->addLayout(form);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return {};
    return QSize(width->value(), height->value());
}

// ---- launch ----

void MainWindow::runProgramDialog()
{
    RunProgramDialog dialog(this);
    const QList<RunRequest> recent = RunProgramDialog::recentRequests();
    if (!recent.isEmpty())
        dialog.setRequest(recent.first());
    if (dialog.exec() != QDialog::Accepted)
        return;
    runProgram(dialog.request(), dialog.tracePath());
}

QString MainWindow::bannerLineOf(const QString& report)
{
    // The report's first line without the command line's "==ravel== ERROR #1: " prefix.
    static const QRegularExpression prefix(QStringLiteral("^==ravel==\\s*(?:(?:ERROR|WARNING)\\s*#\\d+:\\s*)?"));
    QString line = report.section(QLatin1Char('\n'), 0, 0).trimmed();
    line.remove(prefix);
    return line;
}

void MainWindow::runProgram(const RunRequest& request, const QString& trace)
{
    if (m_liveRun && m_liveRun->isRunning())
        m_liveRun->stop();
    // A new run: the previous trace's findings, timeline and details go, and the live graph is
    // all the window shows until this run's trace opens.
    if (m_document->isLoaded() || m_document->isLoading())
        m_document->close();
    hideBanner();
    auto* run = new LiveRun(this);
    if (!m_ravelBinary.isEmpty())
        run->setRavelBinary(m_ravelBinary);
    m_liveRun = run;
    m_waitFor->followLiveRun(run);
    m_graphDock->show();
    m_graphTabs->setCurrentWidget(m_waitFor);
    m_stopRun->setEnabled(true);
    m_stopButton->show();
    m_timeline->setPlaceholder(tr("Running %1 under ravel: the live wait-for graph is on the right; "
                                  "its timeline opens here when it ends (or Stop it)")
                                   .arg(request.displayLine()));
    connect(run, &LiveRun::started, this, [this, run] {
        statusBar()->showMessage(
            tr("Running %1 under ravel, recording to %2…").arg(run->programLine(), QDir::toNativeSeparators(run->tracePath())));
    });
    connect(run, &LiveRun::deadlockFound, this, [this, run](const QString& report) {
        showBanner(tr("Deadlock in %1, found while it runs: %2").arg(run->programLine(), bannerLineOf(report)), true);
    });
    connect(run, &LiveRun::finished, this, [this, run](int exitCode, const QString& tracePath) {
        statusBar()->showMessage(tr("%1 ended (ravel run exited %2); the trace is %3")
                                     .arg(run->programLine())
                                     .arg(exitCode)
                                     .arg(QDir::toNativeSeparators(tracePath.isEmpty() ? run->tracePath() : tracePath)),
                                 15000);
        if (run == m_liveRun) {
            m_stopRun->setEnabled(false);
            m_stopButton->hide();
            m_timeline->setPlaceholder({});
        }
        run->deleteLater();
        if (!tracePath.isEmpty())
            openTrace(tracePath);
        else
            showBanner(tr("%1: no trace was recorded (ravel run exited %2)").arg(run->programLine()).arg(exitCode),
                       true);
    });
    run->start(request, trace);
}

LiveRun* MainWindow::liveRun() const
{
    return m_liveRun.data();
}

void MainWindow::stopProgram()
{
    if (m_liveRun && m_liveRun->isRunning()) {
        m_liveRun->stop();
        statusBar()->showMessage(tr("Stopping %1…").arg(m_liveRun->programLine()));
    }
}

// ---- help ----

void MainWindow::showKeys()
{
    KeysDialog dialog(this);
    dialog.exec();
}

void MainWindow::showAbout()
{
    QMessageBox::about(this, tr("About ravel"),
                       tr("<h3>ravel %1</h3><p>Shows why a C or C++ program hangs: every synchronization event "
                          "of a run, the deadlocks that happened and the ones that could, replayed as a "
                          "timeline with the wait-for graph beside it.</p>")
                           .arg(QStringLiteral(RAVEL_VERSION)));
}

} // namespace ravel::gui
