// MainWindow: the one window of ravel-gui (DESIGN.md, "The GUI"): the timeline in the middle under
// the playback bar, the findings on the left, the wait-for and lock-order graphs on the right, the
// details of the selected event below. It owns the TraceDocument and the ViewState every view
// shares, and does the wiring: menus, opening (menu, recent files, command line, drag and drop),
// exports, the status bar, the remembered layout. It holds no analysis logic.
#pragma once

#include "base/finding.hpp"
#include "launch/run_request.hpp"

#include <QMainWindow>
#include <QPointer>
#include <QSize>

#include <memory>
#include <vector>

class QDockWidget;
class QFrame;
class QLabel;
class QMenu;
class QProgressBar;
class QTabWidget;
class QToolButton;

namespace ravel {
class ReplayModel;
}

namespace ravel::gui {

class DetailsPanel;
class FindingsPanel;
class LiveRun;
class LockOrderGraphView;
class MinimapWidget;
class PlaybackBar;
class PlaybackController;
class TimelineView;
class TraceDocument;
class ViewState;
class WaitForGraphView;

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    TraceDocument* document() const { return m_document; }
    ViewState* viewState() const { return m_state; }
    PlaybackController* playback() const { return m_playback; }
    FindingsPanel* findingsPanel() const { return m_findings; }
    DetailsPanel* detailsPanel() const { return m_details; }
    TimelineView* timelineView() const { return m_timeline; }
    WaitForGraphView* waitForGraphView() const { return m_waitFor; }
    LockOrderGraphView* lockOrderGraphView() const { return m_lockOrder; }

    // The one-line message of the last failed open, shown in the banner; "" when none is shown.
    QString bannerText() const;
    QString statisticsText() const;

    void openTrace(const QString& path);
    // Runs a program under ravel as File > Run Program… does, recording into `tracePath`: the
    // previous trace is closed, the live graph follows the run, and its trace opens at the end.
    void runProgram(const RunRequest& request, const QString& tracePath);
    LiveRun* liveRun() const;
    // The `ravel` that runs programs (LiveRun::defaultRavelBinary(); tests set their build's).
    void setRavelBinary(const QString& path) { m_ravelBinary = path; } // the program running, or the last one until it is gone
    // A watchdog report's first line for the banner: "deadlock (certain): 5 threads…", without
    // the command line's "==ravel== ERROR #1: ".
    static QString bannerLineOf(const QString& report);
    // Findings are numbered from 1 as in every report; false when there is no such finding.
    bool selectFinding(int number);
    // By extension: .dot/.gv, .svg, .png, .pdf for graphs; .png/.svg for the timeline; .json for
    // Perfetto. False with *error set (one line) on failure.
    bool exportWaitForGraph(const QString& path, QString* error);
    bool exportLockOrderGraph(const QString& path, QString* error);
    bool exportTimeline(const QString& path, QString* error);
    bool exportPerfetto(const QString& path, QString* error);
    // The size of timeline pictures (invalid: TimelineView::defaultExportSize()).
    void setTimelineExportSize(const QSize& size) { m_timelineExportSize = size; }
    // The export dialogs' file name: the trace's, then what it is ("dining-wait-for.svg").
    QString suggestedExportName(const QString& what, const QString& suffix) const;

    // Synchronous, for scripts and tests; the Export menu runs it on a worker.
    void exportPerfettoInBackground(const QString& path);
    static QStringList recentFiles();
    // Loaded, and nothing in the background still changes what is shown (the timeline's index, the
    // graphs' layouts): what a script waits for before it exports or takes a screenshot.
    bool isSettled() const;

signals:
    // After the graph and timeline views have had the loaded trace (for scripted use).
    void traceReady();

protected:
    void closeEvent(QCloseEvent* event) override;
    void dragEnterEvent(QDragEnterEvent* event) override;
    void dropEvent(QDropEvent* event) override;

private:
    void buildCentral();
    void buildDocks();
    void buildMenus();
    void buildStatusBar();
    void restoreLayout();

    void onLoadStarted(const QString& path);
    void onLoaded();
    void fitDetailsToTimeline();
    void onFailed(const QString& message);
    void onClosed();
    void showBanner(const QString& message, bool error);
    void hideBanner();
    void addRecentFile(const QString& path);
    void updateRecentMenu();
    void updateActions();
    void updateTitle();

    void openDialog();
    void runProgramDialog();
    void stopProgram();
    void exportDialog(const QString& title, const QString& filters, const QString& suggestedName,
                      bool (MainWindow::*exporter)(const QString&, QString*));
    // "" or the one-line error. Runs on any thread: it uses its own symbolizer.
    static QString writePerfetto(std::shared_ptr<const void> keep, const ravel::ReplayModel& model,
                                 const std::vector<ravel::Finding>& findings, const QString& path);
    QSize askTimelineSize(); // invalid when cancelled
    void showKeys();
    void showAbout();

    TraceDocument* m_document;
    ViewState* m_state;
    PlaybackController* m_playback;

    PlaybackBar* m_playbackBar = nullptr;
    FindingsPanel* m_findings = nullptr;
    DetailsPanel* m_details = nullptr;
    TimelineView* m_timeline = nullptr;
    MinimapWidget* m_minimap = nullptr;
    WaitForGraphView* m_waitFor = nullptr;
    LockOrderGraphView* m_lockOrder = nullptr;
    QPointer<LiveRun> m_liveRun;

    QFrame* m_banner = nullptr;
    QLabel* m_bannerText = nullptr;
    QTabWidget* m_graphTabs = nullptr;
    QDockWidget* m_findingsDock = nullptr;
    QDockWidget* m_graphDock = nullptr;
    QDockWidget* m_detailsDock = nullptr;
    QLabel* m_statsLabel = nullptr;
    QProgressBar* m_progress = nullptr;
    QToolButton* m_cancel = nullptr;
    QToolButton* m_stopButton = nullptr;
    QAction* m_stopRun = nullptr;
    QMenu* m_recentMenu = nullptr;
    QMenu* m_viewMenu = nullptr;
    QList<QAction*> m_needTrace; // enabled only while a trace is loaded
    QAction* m_closeAction = nullptr;
    int m_detailsFittedHeight = 0; // the details dock's height as last fitted to the timeline
    QSize m_timelineExportSize;
    QString m_ravelBinary;
};

} // namespace ravel::gui
