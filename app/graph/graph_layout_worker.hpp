// GraphLayoutWorker: the one thread that runs Graphviz for the GUI (Graphviz is not thread-safe,
// and dot takes tens of milliseconds on a big graph: the GUI thread must never wait for it).
// Every view submits its graph with its own client key; a job carries an id, a view only wants
// its newest: a job not started yet is replaced by a newer one of the same client (never laid
// out), and a result that is no longer the client's newest when it is done is dropped.
//
// Big graphs (ravel::isBigGraph) are laid out in a child process (graphviz_process.hpp), killed
// at kChildLimit and when the worker is destroyed: dot on a server's lock-order graph never
// finishes, and a thread inside Graphviz cannot be stopped, so a stuck layout would otherwise
// hold the GUI's exit forever (its main thread joins this worker).
#pragma once

#include "export/graph_model.hpp"
#include "export/graphviz_export.hpp"
#include "export/graphviz_process.hpp"

#include <QObject>
#include <QString>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace ravel::gui {

struct GraphLayoutResult {
    quint64 job = 0;
    ravel::GraphModel model;
    ravel::GraphLayout layout;
    QString error; // one line when Graphviz failed; the layout is empty then
    double layoutMs = 0; // time spent in Graphviz
};

class GraphLayoutWorker : public QObject {
    Q_OBJECT
public:
    // How long a big graph's layout may take before its child process is killed.
    static constexpr std::chrono::milliseconds kChildLimit { 20'000 };

    // The process's worker, owned by the application object.
    static GraphLayoutWorker* shared();

    explicit GraphLayoutWorker(QObject* parent = nullptr);
    ~GraphLayoutWorker() override;

    // Queues `model` for layout for `client`, replacing that client's job not yet started.
    // Returns the job's id (increasing). Also makes every older job of the client stale.
    quint64 submit(const void* client, ravel::GraphModel model, ravel::GraphStyle style = {});
    // Makes every job of the client stale without a new one (the view showed something else).
    quint64 invalidate(const void* client);
    // The client's newest job id (0: none).
    quint64 latest(const void* client) const;

    // Jobs never laid out or whose result was thrown away, since the start (tests measure this).
    quint64 droppedJobs() const;
    bool isIdle() const;
    // Layouts done in a child process, since the start (tests measure this).
    quint64 childLayouts() const;

signals:
    // On the GUI thread, only for the client's newest job.
    void laidOut(const void* client, std::shared_ptr<const ravel::gui::GraphLayoutResult> result);

private:
    struct Job {
        quint64 id = 0;
        ravel::GraphModel model;
        ravel::GraphStyle style;
    };
    void run();

    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::map<const void*, Job> m_pending;
    std::map<const void*, quint64> m_latest;
    quint64 m_nextId = 1;
    quint64 m_dropped = 0;
    quint64 m_childLayouts = 0;
    ravel::LayoutCancel m_cancel; // kills the child layout running when the worker goes
    bool m_busy = false;
    bool m_stop = false;
    std::thread m_thread;
};

} // namespace ravel::gui
