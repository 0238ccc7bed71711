// TraceDocument: one loaded trace, shared by every view of the window. Loading (reading, replay,
// symbolization, the analyses) runs on a worker thread so the GUI never freezes on a big trace;
// a load carries a job id and a result that arrives after cancel() or a newer open() is dropped.
// Object statistics (what `ravel info` shows) cost one more pass over the events, so they follow
// the load in the background and announce themselves with statsReady().
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

    // Valid while isLoaded().
    const ravel::TraceReader& trace() const { return *m_data->reader; }
    const ravel::ReplayModel& model() const { return m_data->run->model(); }
    const ravel::RunAnalysis& run() const { return *m_data->run; }
    const std::vector<ravel::Finding>& findings() const { return m_data->findings; }
    ravel::Symbolizer& symbolizer() const { return *m_data->symbolizer; } // GUI thread only
    quint64 durationNs() const;
    // nullptr until statsReady() (a second background pass after loaded()).
    const ravel::TraceStats* stats() const { return m_data ? m_data->stats.get() : nullptr; }
    // Display names, as the CLI's reports print them (GUI thread only; named lazily and cached).
    QString objectName(quint32 objectIndex) const; // "forks[3]", "account_a", "mutex at bank.c:42 #2"
    QString threadName(quint32 ravelTid) const;    // "philosopher-0", else "T3"
    // The index into model().objects() of a finding's object (address, generation), or -1.
    int objectIndex(quint64 address, quint32 generation) const;
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

private:
    struct Data {
        // Destruction order matters: the model and the symbolizer refer to the reader.
        std::unique_ptr<ravel::TraceReader> reader;
        std::unique_ptr<ravel::RunAnalysis> run; // the replay model and the lock-order graph
        std::unique_ptr<ravel::Symbolizer> symbolizer;
        std::unique_ptr<ravel::ObjectNamer> namer; // names objects in index order, as it must
        std::vector<QString> objectNames;
        std::vector<ravel::Finding> findings;
        std::shared_ptr<ravel::TraceStats> stats;
        ~Data()
        {
            stats.reset();
            findings.clear();
            namer.reset();
            symbolizer.reset();
            run.reset();
            reader.reset();
        }
    };

    struct LoadResult {
        std::shared_ptr<Data> data;
        QString error;
    };
    static void load(QPromise<LoadResult>& promise, const QString& path);
    void finishLoad(QFutureWatcher<LoadResult>* watcher, const QString& path);
    void startStats();

    std::shared_ptr<Data> m_data;
    QString m_path;
    bool m_loading = false;
    QFutureWatcher<LoadResult>* m_load = nullptr; // the load whose result is still wanted
    QFutureWatcher<std::shared_ptr<ravel::TraceStats>>* m_stats = nullptr;
};

} // namespace ravel::gui
