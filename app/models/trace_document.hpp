// TraceDocument: one loaded trace, shared by every view of the window. Loading (reading, replay,
// symbolization, the analyses) runs on a worker thread so the GUI never freezes on a big trace;
// a load carries a job id and a result that arrives after cancel() or a newer open() is dropped.
// Object statistics (what `ravel info` shows) cost one more pass over the events, so they follow
// the load in the background and announce themselves with statsReady().
//
// One run is one document: opening a run's main trace loads every trace of the run beside it (a
// forked child, a spawned program, each image after an exec: docs/trace-format.md, "One run,
// several traces"), each a *part* with its own reader, replay model, symbols and findings. Every
// part's times are on the main trace's clock (TraceReader::shiftTimes), so one playhead serves
// them all; thread ids, object indices and stack ids are each part's own. The views that show one
// model (the wait-for graph, the details, stacks, the object table) follow the *active* part:
// trace(), model(), run(), symbolizer(), objectName(), threadName() are the active part's, and the
// selection in the ViewState is in its ids. findings() are every part's, in report order.
#pragma once

#include "analysis/analysis.hpp"
#include "base/finding.hpp"
#include "model/objects.hpp"
#include "analysis/run_analysis.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"
#include "models/trace_stats_qt.hpp"

#include <QFutureWatcher>
#include <QObject>
#include <QPromise>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace ravel::gui {

class TraceDocument : public QObject {
    Q_OBJECT
public:
    explicit TraceDocument(QObject* parent = nullptr);
    ~TraceDocument() override;

    // Loads on a worker thread; emits loadStarted, progress, then loaded or failed. A document
    // already loaded stays usable until the new one has loaded (then closed() and loaded()).
    void open(const QString& path);
    void cancel(); // drops a load in progress (the worker finishes in the background, unseen)
    void close();

    bool isLoaded() const { return m_data != nullptr; }
    bool isLoading() const { return m_loading; }
    QString path() const { return m_path; }

    // Valid while isLoaded(): the active part's.
    const ravel::TraceReader& trace() const { return trace(m_active); }
    const ravel::ReplayModel& model() const { return model(m_active); }
    const ravel::RunAnalysis& run() const { return *part(m_active).run; }
    const std::vector<ravel::Finding>& findings() const { return m_data->findings; } // every part's
    ravel::Symbolizer& symbolizer() const { return symbolizer(m_active); } // GUI thread only
    quint64 durationNs() const; // to the end of the part that ends last
    // nullptr until statsReady() (a second background pass after loaded()).
    const ravel::TraceStats* stats() const;
    // Display names, as the CLI's reports print them (GUI thread only; named lazily and cached).
    QString objectName(quint32 objectIndex) const { return objectName(m_active, objectIndex); }
    QString threadName(quint32 ravelTid) const { return threadName(m_active, ravelTid); }
    // The index into model().objects() of a finding's object (address, generation), or -1.
    int objectIndex(quint64 address, quint32 generation) const;

    // The parts of the run: 0 is the main trace; then the traces of the other processes and
    // images, in the order `ravel report` numbers their findings in.
    int partCount() const { return m_data ? int(m_data->parts.size()) : 0; }
    bool isMultiProcess() const { return partCount() > 1; }
    int activePart() const { return m_active; }
    // Emits activePartChanged (before anything else happens) when it changes: the selection,
    // in the old part's ids, means nothing any more.
    void setActivePart(int part);
    const ravel::TraceReader& trace(int part) const { return *this->part(part).reader; }
    const ravel::ReplayModel& model(int part) const { return this->part(part).run->model(); }
    ravel::Symbolizer& symbolizer(int part) const { return *this->part(part).symbolizer; }
    QString objectName(int part, quint32 objectIndex) const; // "forks[3]", "account_a", "mutex at bank.c:42 #2"
    QString threadName(int part, quint32 ravelTid) const;    // "philosopher-0", else "T3"
    int findingPart(int finding) const; // the part a finding of findings() was found in
    QString partLabel(int part) const;  // "pid 101 (./worker -v)", as the report names it

    // The run's processes, in order of start (the main one first, children after parents); each
    // with its images (parts) in exec order. One process of one part for a single trace.
    struct Process {
        quint32 pid = 0;
        quint32 parent = 0;
        bool parentInRun = false;
        QString command;  // its last image's command line
        QString end;      // "exited 3", "killed by SIGKILL (core dumped)", "" when unknown
        quint64 startNs = 0;
        std::vector<int> parts;
    };
    const std::vector<Process>& processes() const { return m_data->processes; }
    // Keeps the loaded trace (reader, model, findings) alive for background work that outlives a
    // close() or a newer open(); nullptr when nothing is loaded.
    std::shared_ptr<const void> retain() const { return m_data; }
    // One line each: what the reader skipped in a damaged trace (shown, never hidden).
    QStringList warnings() const;

signals:
    void loadStarted(const QString& path);
    void progress(int percent, const QString& what);
    void loaded();
    void failed(const QString& oneLineMessage);
    void closed();
    void statsReady();
    void activePartChanged(int part);

private:
    struct Part {
        // Destruction order matters: the model and the symbolizer refer to the reader.
        std::unique_ptr<ravel::TraceReader> reader;
        std::unique_ptr<ravel::RunAnalysis> run; // the replay model and the lock-order graph
        std::unique_ptr<ravel::Symbolizer> symbolizer;
        std::unique_ptr<ravel::ObjectNamer> namer; // names objects in index order, as it must
        std::vector<QString> objectNames;
        std::shared_ptr<ravel::TraceStats> stats;
        ~Part()
        {
            stats.reset();
            namer.reset();
            symbolizer.reset();
            run.reset();
            reader.reset();
        }
    };
    struct Data {
        std::vector<std::unique_ptr<Part>> parts;
        std::vector<ravel::Finding> findings;
        std::vector<int> findingPart;
        std::vector<Process> processes;
        std::vector<std::string> warnings; // traces of the run left out
    };
    const Part& part(int i) const { return *m_data->parts[size_t(i)]; }

    struct LoadResult {
        std::shared_ptr<Data> data;
        QString error;
    };
    static void load(QPromise<LoadResult>& promise, const QString& path);
    void finishLoad(QFutureWatcher<LoadResult>* watcher, const QString& path);
    void startStats();

    std::shared_ptr<Data> m_data;
    int m_active = 0;
    QString m_path;
    bool m_loading = false;
    QFutureWatcher<LoadResult>* m_load = nullptr; // the load whose result is still wanted
    QFutureWatcher<std::vector<std::shared_ptr<ravel::TraceStats>>>* m_stats = nullptr;
};

} // namespace ravel::gui
