#include "models/trace_document.hpp"

#include <QFileInfo>
#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>
#include <exception>
#include <new>

namespace ravel::gui {

TraceDocument::TraceDocument(QObject* parent)
    : QObject(parent)
{
}

TraceDocument::~TraceDocument()
{
    // A worker still running keeps its own shared Data alive and reports to a watcher that is
    // gone with us: nothing reaches this object after this point.
    cancel();
}

quint64 TraceDocument::durationNs() const
{
    if (!m_data)
        return 0;
    // A hung program lasts until the watchdog's verdict ends it, and its deadlocked threads were
    // blocked all that time (ravel info counts the run so too).
    const ravel::TraceSummary& s = m_data->reader->summary();
    return std::max<quint64>({ m_data->run->model().endNs(), s.duration_ns, s.verdict_ns });
}

QStringList TraceDocument::warnings() const
{
    QStringList out;
    if (!m_data)
        return out;
    // The reader repeats a damaged chunk's warning on every pass over the events: say each once.
    for (const std::string& w : m_data->reader->warnings()) {
        QString line = QString::fromStdString(w);
        if (!out.contains(line))
            out << line;
    }
    return out;
}

QString TraceDocument::objectName(quint32 objectIndex) const
{
    if (!m_data || objectIndex >= m_data->run->model().objects().size())
        return QStringLiteral("?");
    Data& d = *m_data;
    if (!d.namer)
        d.namer = std::make_unique<ravel::ObjectNamer>(*d.symbolizer, *d.reader);
    const auto& objects = d.run->model().objects();
    while (d.objectNames.size() <= objectIndex) {
        const auto i = quint32(d.objectNames.size());
        d.objectNames.push_back(QString::fromStdString(d.namer->name(i, objects[i])));
    }
    return d.objectNames[objectIndex];
}

QString TraceDocument::threadName(quint32 ravelTid) const
{
    if (m_data)
        if (const ravel::ModelThread* t = m_data->run->model().thread(ravelTid); t && !t->name.empty())
            return QString::fromStdString(t->name);
    return QStringLiteral("T%1").arg(ravelTid);
}

int TraceDocument::objectIndex(quint64 address, quint32 generation) const
{
    if (!m_data)
        return -1;
    const auto& objects = m_data->run->model().objects();
    for (size_t i = 0; i < objects.size(); i++)
        if (objects[i].address == address && objects[i].generation == generation)
            return int(i);
    return -1;
}

void TraceDocument::load(QPromise<LoadResult>& promise, const QString& path)
{
    LoadResult result;
    const std::string file = path.toStdString();
    auto stage = [&](int percent, const char* what) {
        promise.setProgressValueAndText(percent, QString::fromUtf8(what));
        return !promise.isCanceled();
    };
    try {
        auto data = std::make_shared<Data>();
        if (!stage(0, "Reading the trace"))
            return;
        if (QFileInfo(path).isDir())
            throw ravel::TraceError(file + ": is a directory, not a ravel trace");
        data->reader = std::make_unique<ravel::TraceReader>(file);
        if (!stage(35, "Replaying the events"))
            return;
        data->run = std::make_unique<ravel::RunAnalysis>(*data->reader);
        if (!stage(70, "Analyzing"))
            return;
        data->symbolizer = std::make_unique<ravel::Symbolizer>(data->reader->modules());
        data->findings = ravel::analyzeTrace(*data->run, *data->symbolizer);
        stage(100, "Done");
        result.data = std::move(data);
    } catch (const ravel::TraceError& e) {
        result.error = QString::fromStdString(e.what());
    } catch (const std::bad_alloc&) {
        result.error = path + QStringLiteral(": not enough memory to load this trace");
    } catch (const std::exception& e) {
        result.error = path + QStringLiteral(": ") + QString::fromStdString(e.what());
    }
    promise.addResult(result);
}

void TraceDocument::open(const QString& path)
{
    cancel();
    m_loading = true;
    auto* watcher = new QFutureWatcher<LoadResult>(this);
    m_load = watcher;
    connect(watcher, &QFutureWatcher<LoadResult>::progressValueChanged, this, [this, watcher](int value) {
        if (watcher == m_load)
            emit progress(value, watcher->progressText());
    });
    connect(watcher, &QFutureWatcher<LoadResult>::finished, this,
            [this, watcher, path] { finishLoad(watcher, path); });
    emit loadStarted(path);
    watcher->setFuture(QtConcurrent::run(&TraceDocument::load, path));
}

void TraceDocument::finishLoad(QFutureWatcher<LoadResult>* watcher, const QString& path)
{
    watcher->deleteLater();
    if (watcher != m_load)
        return; // cancelled or superseded: nobody wants it
    m_load = nullptr;
    m_loading = false;
    if (watcher->future().isCanceled() || watcher->future().resultCount() == 0)
        return;
    LoadResult result = watcher->future().result();
    if (!result.data) {
        emit failed(result.error.isEmpty() ? path + QStringLiteral(": cannot be read") : result.error);
        return;
    }
    if (m_data)
        close();
    m_data = std::move(result.data);
    m_path = path;
    emit loaded();
    startStats();
}

void TraceDocument::cancel()
{
    if (m_load) {
        m_load->future().cancel();
        m_load->disconnect(this);
        m_load->deleteLater();
        m_load = nullptr;
    }
    m_loading = false;
}

void TraceDocument::startStats()
{
    auto data = m_data;
    auto* watcher = new QFutureWatcher<std::shared_ptr<ravel::TraceStats>>(this);
    m_stats = watcher;
    connect(watcher, &QFutureWatcher<std::shared_ptr<ravel::TraceStats>>::finished, this, [this, watcher, data] {
        watcher->deleteLater();
        if (watcher != m_stats || data != m_data)
            return;
        m_stats = nullptr;
        if (watcher->future().resultCount() == 0)
            return;
        m_data->stats = watcher->future().result();
        if (m_data->stats)
            emit statsReady();
    });
    // The worker holds `data`, so closing the document meanwhile cannot pull the reader away.
    watcher->setFuture(QtConcurrent::run([data]() -> std::shared_ptr<ravel::TraceStats> {
        try {
            return std::make_shared<ravel::TraceStats>(ravel::computeStats(*data->reader));
        } catch (const std::exception&) {
            return nullptr; // statistics are a courtesy; the trace itself loaded fine
        }
    }));
}

void TraceDocument::close()
{
    if (m_stats) {
        m_stats->disconnect(this);
        m_stats->deleteLater();
        m_stats = nullptr;
    }
    if (!m_data)
        return;
    // Views drop their pointers into the trace when they see closed(); the data stays alive until
    // every one of them has, and isLoaded() is already false for them.
    std::shared_ptr<Data> keep = std::move(m_data);
    m_path.clear();
    emit closed();
}

} // namespace ravel::gui
