// LiveRun: runs a program under the runtime exactly as `ravel run` does, by running the real
// `ravel` next to ravel-gui (`ravel run -o TRACE --on-deadlock=stop -- PROGRAM ARGS`), so the GUI
// records, watches and reports precisely what the command line would. While it runs, the trace's
// state boards are sampled every 200 ms on a worker thread (LiveTrace, as the watchdog does) and
// each sample is announced with liveSnapshot(); the watchdog's deadlock report is announced the
// moment ravel prints it. A target that ravel stopped at a deadlock (for a debugger, on the
// command line) is ended when ravel finishes: the GUI replays the trace instead.
#pragma once

#include "launch/run_request.hpp"
#include "detect/live_trace.hpp"

#include <QObject>
#include <QProcess>
#include <QString>

#include <atomic>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ravel::gui {

struct LiveSnapshot {
    std::vector<ravel::ThreadSnapshot> threads;
    quint64 nowNs = 0; // trace time of the sample
    unsigned verdict = 0; // the watchdog's mark in the trace header (ravel::Verdict), 0 none yet
    // The objects' names as reports give them ("forks[1]", a ravel_name), by address: looked up
    // in the program's symbols on the sampler's thread as addresses first appear.
    std::map<uint64_t, std::string> names;
};

class LiveRun : public QObject {
    Q_OBJECT
public:
    explicit LiveRun(QObject* parent = nullptr);
    ~LiveRun() override; // ends a run still going: no target is left behind

    // `ravel` next to the running executable; tests set their build tree's.
    static QString defaultRavelBinary();
    void setRavelBinary(const QString& path) { m_ravel = path; }
    QString ravelBinary() const { return m_ravel; }

    // Starts recording into `tracePath` (replaced if it exists). Emits started(), or output() with
    // the reason and finished(-1, {}) when ravel itself cannot start.
    void start(const RunRequest& request, const QString& tracePath);
    // Ends the target: SIGTERM through ravel (which forwards it), SIGKILL two seconds later.
    void stop();

    bool isRunning() const { return m_process != nullptr; }
    const RunRequest& request() const { return m_request; }
    QString programLine() const { return m_request.displayLine(); }
    QString tracePath() const { return m_tracePath; }
    const LiveSnapshot& snapshot() const { return m_snapshot; }
    bool deadlockReported() const { return m_deadlockReported; }
    qint64 targetPid() const { return m_targetPid.load(); }

signals:
    void started();
    void output(const QString& text); // the program's and ravel's stdout and stderr, as they come
    void liveSnapshot();
    void deadlockFound(const QString& report);
    // exitCode as `ravel run` exits (66 for a deadlock or any error finding; -1 when ravel
    // crashed or could not start); tracePath empty when no trace was written.
    void finished(int exitCode, const QString& tracePath);

private:
    void onStderr();
    void onStdout();
    void onFinished(int exitCode, QProcess::ExitStatus status);
    void onError(QProcess::ProcessError error);
    void parseStderrLine(const QString& line);
    void startSampler();
    void stopSampler();
    void sampleLoop(std::string path);
    void takeSample(); // on the GUI thread: the sampler's latest, if any
    void finish(int exitCode);

    QString m_ravel;
    RunRequest m_request;
    QString m_tracePath;
    QProcess* m_process = nullptr;
    QString m_stderrLine; // an incomplete last line
    QString m_report; // the deadlock report being read
    bool m_inReport = false;
    bool m_deadlockReported = false;
    bool m_stopping = false;
    qint64 m_stoppedPid = 0; // the target ravel left stopped
    LiveSnapshot m_snapshot;

    std::thread m_sampler;
    std::mutex m_samplerMutex;
    std::condition_variable m_samplerWake;
    bool m_samplerStop = false;
    std::shared_ptr<LiveSnapshot> m_latestSample; // under m_samplerMutex
    std::atomic<qint64> m_targetPid { 0 };
    std::atomic<unsigned> m_verdict { 0 };
};

} // namespace ravel::gui
