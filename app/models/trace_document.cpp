#include "models/trace_document.hpp"

#include "trace/run_traces.hpp"

#include <cstring>

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
    quint64 out = 0;
    for (const auto& p : m_data->parts) {
        const ravel::TraceSummary& s = p->reader->summary();
        out = std::max<quint64>({ out, p->run->model().endNs(), s.duration_ns, s.verdict_ns });
    }
    return out;
}

const ravel::TraceStats* TraceDocument::stats() const
{
    return m_data ? part(m_active).stats.get() : nullptr;
}

QStringList TraceDocument::warnings() const
{
    QStringList out;
    if (!m_data)
        return out;
    // The reader repeats a damaged chunk's warning on every pass over the events: say each once.
    auto add = [&](const std::string& w) {
        QString line = QString::fromStdString(w);
        if (!out.contains(line))
            out << line;
    };
    for (const std::string& w : m_data->warnings)
        add(w);
    for (const auto& p : m_data->parts)
        for (const std::string& w : p->reader->warnings())
            add(w);
    return out;
}

void TraceDocument::setActivePart(int part)
{
    if (!m_data || part < 0 || part >= partCount() || part == m_active)
        return;
    m_active = part;
    emit activePartChanged(part);
}

int TraceDocument::findingPart(int finding) const
{
    if (!m_data || finding < 0 || size_t(finding) >= m_data->findingPart.size())
        return 0;
    return m_data->findingPart[size_t(finding)];
}

QString TraceDocument::partLabel(int part) const
{
    if (!m_data || part < 0 || part >= partCount())
        return {};
    return QString::fromStdString(ravel::processLabel(trace(part).summary()));
}

QString TraceDocument::objectName(int partIndex, quint32 objectIndex) const
{
    if (!m_data || partIndex < 0 || partIndex >= partCount()
        || objectIndex >= part(partIndex).run->model().objects().size())
        return QStringLiteral("?");
    Part& d = *m_data->parts[size_t(partIndex)];
    if (!d.namer)
        d.namer = std::make_unique<ravel::ObjectNamer>(*d.symbolizer, *d.reader);
    const auto& objects = d.run->model().objects();
    while (d.objectNames.size() <= objectIndex) {
        const auto i = quint32(d.objectNames.size());
        d.objectNames.push_back(QString::fromStdString(d.namer->name(i, objects[i])));
    }
    return d.objectNames[objectIndex];
}

QString TraceDocument::threadName(int partIndex, quint32 ravelTid) const
{
    if (m_data && partIndex >= 0 && partIndex < partCount())
        if (const ravel::ModelThread* t = model(partIndex).thread(ravelTid); t && !t->name.empty())
            return QString::fromStdString(t->name);
    return QStringLiteral("T%1").arg(ravelTid);
}

int TraceDocument::objectIndex(quint64 address, quint32 generation) const
{
    if (!m_data)
        return -1;
    const auto& objects = model().objects();
    for (size_t i = 0; i < objects.size(); i++)
        if (objects[i].address == address && objects[i].generation == generation)
            return int(i);
    return -1;
}

namespace {

QString commandOf(const std::vector<std::string>& argv, const std::string& program)
{
    QStringList words;
    for (const std::string& a : argv)
        words << QString::fromStdString(a);
    return words.isEmpty() ? QString::fromStdString(program) : words.join(QLatin1Char(' '));
}

QString endOf(const ravel::RunProcess& p)
{
    switch (p.end) {
    case ravel::RunProcess::End::Exited:
        return QStringLiteral("exited %1").arg(p.endValue);
    case ravel::RunProcess::End::Signaled: {
        const char* name = sigabbrev_np(p.endValue);
        return QStringLiteral("killed by %1%2")
            .arg(name ? QStringLiteral("SIG") + QString::fromUtf8(name) : QStringLiteral("signal %1").arg(p.endValue),
                 p.coreDumped ? QStringLiteral(" (core dumped)") : QString());
    }
    case ravel::RunProcess::End::Unknown:
        break;
    }
    return {};
}

} // namespace

void TraceDocument::load(QPromise<LoadResult>& promise, const QString& path)
{
    LoadResult result;
    const std::string file = path.toStdString();
    // The parts share the progress bar, each a slice of it.
    size_t partIndex = 0, parts = 1;
    auto stage = [&](int percent, const char* what) {
        const int overall = int((double(partIndex) + percent / 100.0) / double(parts) * 100);
        QString text = QString::fromUtf8(what);
        if (parts > 1)
            text += QStringLiteral(" (trace %1 of %2)").arg(partIndex + 1).arg(parts);
        promise.setProgressValueAndText(std::min(overall, 100), text);
        return !promise.isCanceled();
    };
    try {
        auto data = std::make_shared<Data>();
        if (!stage(0, "Reading the trace"))
            return;
        if (QFileInfo(path).isDir())
            throw ravel::TraceError(file + ": is a directory, not a ravel trace");
        auto main = std::make_unique<ravel::TraceReader>(file);
        // The other traces of the run, when this is a run's main trace (a trace of format 4 or
        // older has no run id and no others).
        std::vector<std::string> paths = ravel::findRunTraces(file);
        parts = paths.size();
        ravel::RunTraces readers;
        readers.readers.push_back(std::move(main));
        for (size_t i = 1; i < paths.size(); i++) {
            try {
                auto reader = std::make_unique<ravel::TraceReader>(paths[i]);
                // On the main trace's clock: one time axis for the whole run.
                reader->shiftTimes(ravel::runClockOffset(readers.main().summary(), reader->summary()));
                readers.readers.push_back(std::move(reader));
            } catch (const ravel::TraceError& e) {
                data->warnings.push_back(std::string(e.what()) + " (a trace of another process of the run), left out");
            }
        }
        parts = readers.readers.size();
        std::vector<ravel::RunProcess> processes;
        if (parts > 1)
            processes = ravel::describeProcesses(readers);
        for (partIndex = 0; partIndex < parts; partIndex++) {
            auto part = std::make_unique<Part>();
            part->reader = std::move(readers.readers[partIndex]);
            if (!stage(20, "Replaying the events"))
                return;
            part->run = std::make_unique<ravel::RunAnalysis>(*part->reader);
            if (!stage(60, "Analyzing"))
                return;
            part->symbolizer = std::make_unique<ravel::Symbolizer>(part->reader->modules());
            std::vector<ravel::Finding> found = ravel::analyzeTrace(*part->run, *part->symbolizer);
            for (ravel::Finding& f : found) {
                // As `ravel report` says it: which process a finding of another process is in.
                if (partIndex > 0)
                    f.title += " in " + ravel::processLabel(part->reader->summary());
                data->findings.push_back(std::move(f));
                data->findingPart.push_back(int(partIndex));
            }
            data->parts.push_back(std::move(part));
        }
        partIndex = parts - 1;
        auto partOf = [&](const ravel::TraceReader* r) {
            for (size_t i = 0; i < data->parts.size(); i++)
                if (data->parts[i]->reader.get() == r)
                    return int(i);
            return -1;
        };
        for (const ravel::RunProcess& rp : processes) {
            Process p;
            p.pid = rp.pid;
            p.parent = rp.parent;
            p.parentInRun = rp.parentInRun;
            p.command = commandOf(rp.command(), rp.images.back().program);
            p.end = endOf(rp);
            p.startNs = rp.startNs;
            for (const ravel::ProcessImage& image : rp.images)
                if (int i = partOf(image.trace); i >= 0)
                    p.parts.push_back(i);
            data->processes.push_back(std::move(p));
        }
        if (data->processes.empty()) {
            const ravel::TraceSummary& s = data->parts.front()->reader->summary();
            Process p;
            p.pid = s.pid;
            p.parent = s.ppid;
            p.command = commandOf(s.argv, s.program);
            if (s.run_end == RAVEL_RUN_EXITED || (s.run_end == 0 && s.ended))
                p.end = QStringLiteral("exited %1").arg(s.run_end ? s.run_end_value : s.exit_status);
            p.parts.push_back(0);
            data->processes.push_back(std::move(p));
        }
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
    m_active = 0;
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
    using StatsList = std::vector<std::shared_ptr<ravel::TraceStats>>;
    auto data = m_data;
    auto* watcher = new QFutureWatcher<StatsList>(this);
    m_stats = watcher;
    connect(watcher, &QFutureWatcher<StatsList>::finished, this, [this, watcher, data] {
        watcher->deleteLater();
        if (watcher != m_stats || data != m_data)
            return;
        m_stats = nullptr;
        if (watcher->future().resultCount() == 0)
            return;
        const StatsList stats = watcher->future().result();
        for (size_t i = 0; i < stats.size() && i < m_data->parts.size(); i++)
            m_data->parts[i]->stats = stats[i];
        if (!stats.empty() && stats.front())
            emit statsReady();
    });
    // The worker holds `data`, so closing the document meanwhile cannot pull the readers away.
    watcher->setFuture(QtConcurrent::run([data]() -> StatsList {
        StatsList out;
        for (const auto& part : data->parts) {
            try {
                out.push_back(std::make_shared<ravel::TraceStats>(ravel::computeStats(*part->reader)));
            } catch (const std::exception&) {
                out.push_back(nullptr); // statistics are a courtesy; the trace itself loaded fine
            }
        }
        return out;
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
    m_active = 0;
    m_path.clear();
    emit closed();
}

} // namespace ravel::gui
