#include "graph/graph_layout_worker.hpp"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QMetaObject>
#include <QPointer>

namespace ravel::gui {

GraphLayoutWorker* GraphLayoutWorker::shared()
{
    // Owned by the application so it is joined before the application goes; one per process.
    static QPointer<GraphLayoutWorker> worker;
    if (!worker)
        worker = new GraphLayoutWorker(QCoreApplication::instance());
    return worker;
}

GraphLayoutWorker::GraphLayoutWorker(QObject* parent)
    : QObject(parent)
{
    m_thread = std::thread([this] { run(); });
}

GraphLayoutWorker::~GraphLayoutWorker()
{
    {
        std::lock_guard lock(m_mutex);
        m_stop = true;
        m_pending.clear();
    }
    m_wake.notify_all();
    // A big layout runs in a child process, killed here; a small one in this process cannot be
    // interrupted inside Graphviz: this waits for it (tens of ms).
    m_cancel.cancel();
    m_thread.join();
}

quint64 GraphLayoutWorker::submit(const void* client, ravel::GraphModel model, ravel::GraphStyle style)
{
    quint64 id;
    {
        std::lock_guard lock(m_mutex);
        id = m_nextId++;
        auto it = m_pending.find(client);
        if (it != m_pending.end()) {
            m_dropped++; // replaced before it started
            it->second = Job { id, std::move(model), std::move(style) };
        } else {
            m_pending.emplace(client, Job { id, std::move(model), std::move(style) });
        }
        m_latest[client] = id;
    }
    m_wake.notify_one();
    return id;
}

quint64 GraphLayoutWorker::invalidate(const void* client)
{
    std::lock_guard lock(m_mutex);
    if (m_pending.erase(client))
        m_dropped++;
    return m_latest[client] = m_nextId++;
}

quint64 GraphLayoutWorker::latest(const void* client) const
{
    std::lock_guard lock(m_mutex);
    auto it = m_latest.find(client);
    return it == m_latest.end() ? 0 : it->second;
}

quint64 GraphLayoutWorker::droppedJobs() const
{
    std::lock_guard lock(m_mutex);
    return m_dropped;
}

quint64 GraphLayoutWorker::childLayouts() const
{
    std::lock_guard lock(m_mutex);
    return m_childLayouts;
}

bool GraphLayoutWorker::isIdle() const
{
    std::lock_guard lock(m_mutex);
    return !m_busy && m_pending.empty();
}

void GraphLayoutWorker::run()
{
    for (;;) {
        const void* client = nullptr;
        Job job;
        {
            std::unique_lock lock(m_mutex);
            m_wake.wait(lock, [this] { return m_stop || !m_pending.empty(); });
            if (m_stop)
                return;
            auto it = m_pending.begin();
            client = it->first;
            job = std::move(it->second);
            m_pending.erase(it);
            m_busy = true;
        }
        auto result = std::make_shared<GraphLayoutResult>();
        result->job = job.id;
        QElapsedTimer timer;
        timer.start();
        try {
            if (ravel::isBigGraph(job.model)) {
                {
                    std::lock_guard lock(m_mutex);
                    m_childLayouts++;
                }
                result->layout = ravel::layoutGraphInChild(job.model, job.style, kChildLimit, &m_cancel);
            } else {
                result->layout = ravel::layoutGraph(job.model, job.style);
            }
        } catch (const std::exception& e) {
            result->error = QString::fromStdString(e.what());
        }
        result->layoutMs = double(timer.nsecsElapsed()) / 1e6;
        result->model = std::move(job.model);

        std::lock_guard lock(m_mutex);
        m_busy = false;
        if (m_stop)
            return;
        if (m_latest[client] != job.id) {
            m_dropped++; // a newer job came while this one was laid out
            continue;
        }
        // Delivered on the GUI thread, where the result is checked once more: the client may have
        // asked for something else between this point and the delivery.
        QMetaObject::invokeMethod(
            this,
            [this, client, result] {
                if (latest(client) == result->job) {
                    emit laidOut(client, result);
                } else {
                    std::lock_guard relock(m_mutex);
                    m_dropped++;
                }
            },
            Qt::QueuedConnection);
    }
}

} // namespace ravel::gui
