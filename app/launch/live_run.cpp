#include "launch/live_run.hpp"

#include "model/channels.hpp"
#include "model/objects.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QMetaObject>
#include <QPointer>
#include <QRegularExpression>
#include <QTimer>

#include <algorithm>

#include <signal.h>
#include <time.h>

namespace ravel::gui {

namespace {

constexpr auto kSampleEvery = std::chrono::milliseconds(200);

quint64 monotonicNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return quint64(ts.tv_sec) * 1'000'000'000u + quint64(ts.tv_nsec);
}

} // namespace

LiveRun::LiveRun(QObject* parent)
    : QObject(parent)
    , m_ravel(defaultRavelBinary())
{
}

LiveRun::~LiveRun()
{
    stopSampler();
    if (m_process) {
        m_process->disconnect(this);
        if (qint64 pid = m_targetPid.load())
            ::kill(pid_t(pid), SIGKILL);
        m_process->kill();
        m_process->waitForFinished(2000);
    }
    if (m_stoppedPid)
        ::kill(pid_t(m_stoppedPid), SIGKILL);
}

QString LiveRun::defaultRavelBinary()
{
    return QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("ravel"));
}

void LiveRun::start(const RunRequest& request, const QString& tracePath)
{
    if (m_process)
        return;
    m_request = request;
    m_tracePath = QFileInfo(tracePath).absoluteFilePath();
    m_stderrLine.clear();
    m_report.clear();
    m_inReport = false;
    m_deadlockReported = false;
    m_stopping = false;
    m_stoppedPid = 0;
    m_snapshot = {};
    m_targetPid = 0;
    m_verdict = 0;
    m_latestSample.reset();

    if (request.program.trimmed().isEmpty()) {
        emit output(tr("ravel-gui: no program to run\n"));
        emit finished(-1, QString());
        return;
    }
    if (!QFileInfo(m_ravel).isExecutable()) {
        emit output(
            tr("ravel-gui: cannot run %1: it is not there (ravel-gui runs the ravel next to it)\n").arg(m_ravel));
        emit finished(-1, QString());
        return;
    }
    // ravel replaces the file too, but only once the program is found to exist: the sampler must
    // not map an old trace at this path meanwhile.
    QFile::remove(m_tracePath);

    m_process = new QProcess(this);
    QStringList args { QStringLiteral("run"), QStringLiteral("-o"), m_tracePath, QStringLiteral("--on-deadlock=stop"),
        QStringLiteral("--"), request.program };
    args << request.arguments;
    QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
    for (const QString& entry : request.environment) {
        qsizetype eq = entry.indexOf(QLatin1Char('='));
        if (eq > 0)
            env.insert(entry.left(eq), entry.mid(eq + 1));
    }
    m_process->setProcessEnvironment(env);
    if (!request.workingDirectory.isEmpty())
        m_process->setWorkingDirectory(request.workingDirectory);
    m_process->setStandardInputFile(QProcess::nullDevice());
    connect(m_process, &QProcess::readyReadStandardOutput, this, &LiveRun::onStdout);
    connect(m_process, &QProcess::readyReadStandardError, this, &LiveRun::onStderr);
    connect(m_process, &QProcess::finished, this, &LiveRun::onFinished);
    connect(m_process, &QProcess::errorOccurred, this, &LiveRun::onError);
    connect(m_process, &QProcess::started, this, [this] {
        startSampler();
        emit started();
    });
    m_process->start(m_ravel, args);
}

void LiveRun::stop()
{
    if (!m_process || m_stopping)
        return;
    m_stopping = true;
    emit output(tr("ravel-gui: stopping %1\n").arg(programLine()));
    // ravel forwards SIGTERM to the target, then reports and compacts as after any exit.
    m_process->terminate();
    QPointer<QProcess> process = m_process;
    QTimer::singleShot(2000, this, [this, process] {
        if (!process || process != m_process)
            return;
        if (qint64 pid = m_targetPid.load())
            ::kill(pid_t(pid), SIGKILL);
        else
            process->kill();
    });
}

void LiveRun::onStdout()
{
    if (m_process)
        emit output(QString::fromLocal8Bit(m_process->readAllStandardOutput()));
}

void LiveRun::onStderr()
{
    if (!m_process)
        return;
    QString text = QString::fromLocal8Bit(m_process->readAllStandardError());
    emit output(text);
    m_stderrLine += text;
    qsizetype nl;
    while ((nl = m_stderrLine.indexOf(QLatin1Char('\n'))) >= 0) {
        QString line = m_stderrLine.left(nl);
        m_stderrLine.remove(0, nl + 1);
        parseStderrLine(line);
    }
}

// The watchdog's report (report_text.cpp, cmd_run.cpp): "==ravel== ERROR #1: deadlock (...)"
// through "==ravel== found at ... into the run, ...". Printed only by the live watchdog: the
// report at exit is of other findings.
void LiveRun::parseStderrLine(const QString& line)
{
    static const QRegularExpression start(QStringLiteral("^==ravel== ERROR #\\d+: deadlock"));
    static const QRegularExpression stopped(QStringLiteral("^==ravel== stopped pid (\\d+)"));
    if (!m_inReport && !m_deadlockReported && start.match(line).hasMatch()) {
        m_inReport = true;
        m_report.clear();
    }
    if (m_inReport) {
        m_report += line + QLatin1Char('\n');
        if (line.startsWith(QLatin1String("==ravel== found at "))) {
            m_inReport = false;
            m_deadlockReported = true;
            emit deadlockFound(m_report);
        }
    }
    if (auto m = stopped.match(line); m.hasMatch()) {
        // ravel stopped the deadlocked target and waits for it to end (a stopped program whose
        // parent exits would be sent SIGHUP): take the boards' last look, then end it, and ravel
        // exits with the deadlock's status.
        m_stoppedPid = m.captured(1).toLongLong();
        takeSample();
        ::kill(pid_t(m_stoppedPid), SIGKILL);
        emit output(tr("ravel-gui: ended the deadlocked target (pid %1); the trace shows where it stopped\n")
                        .arg(m_stoppedPid));
        m_stoppedPid = 0;
    }
}

void LiveRun::onError(QProcess::ProcessError error)
{
    if (error != QProcess::FailedToStart || !m_process)
        return;
    emit output(tr("ravel-gui: cannot start %1: %2\n").arg(m_ravel, m_process->errorString()));
    m_process->deleteLater();
    m_process = nullptr;
    finish(-1);
}

void LiveRun::onFinished(int exitCode, QProcess::ExitStatus status)
{
    if (!m_process)
        return;
    onStdout();
    onStderr();
    if (!m_stderrLine.isEmpty()) {
        parseStderrLine(m_stderrLine);
        m_stderrLine.clear();
    }
    m_process->deleteLater();
    m_process = nullptr;
    finish(status == QProcess::NormalExit ? exitCode : -1);
}

void LiveRun::finish(int exitCode)
{
    stopSampler();
    takeSample(); // the sampler's last look
    if (!m_deadlockReported && m_verdict.load() != 0) {
        // The watchdog marked the trace but its report did not come through whole (ravel killed):
        // what it said is all there is.
        m_deadlockReported = true;
        emit deadlockFound(
            m_report.isEmpty() ? tr("==ravel== the watchdog found a deadlock (see the trace)\n") : m_report);
    }
    emit finished(exitCode, QFileInfo::exists(m_tracePath) ? m_tracePath : QString());
}

void LiveRun::startSampler()
{
    stopSampler();
    {
        std::lock_guard lock(m_samplerMutex);
        m_samplerStop = false;
    }
    m_sampler = std::thread([this, path = m_tracePath.toStdString()] { sampleLoop(path); });
}

void LiveRun::stopSampler()
{
    if (!m_sampler.joinable())
        return;
    {
        std::lock_guard lock(m_samplerMutex);
        m_samplerStop = true;
    }
    m_samplerWake.notify_all();
    m_sampler.join();
}

void LiveRun::sampleLoop(std::string path)
{
    // The boards are in the trace's shared mapping: copying them costs microseconds and never
    // touches the event stream, as for the watchdog. Still off the GUI thread: a first mapping
    // of a big file or a page fault must not stall a frame.
    ravel::LiveTrace live;
    // Object names, as `ravel report` gives them: the program's symbols (from the modules the
    // trace lists so far) and its ravel_name table, read again at most every two seconds while
    // some address is still known only as a number (a library loaded since, a name set later).
    std::map<uint64_t, std::string> names;
    std::map<uint64_t, int> tries; // reads that left an address unnamed
    std::unique_ptr<ravel::TraceReader> reader;
    std::unique_ptr<ravel::Symbolizer> symbols;
    quint64 readAt = 0;
    auto nameObjects = [&](const std::vector<ravel::ThreadSnapshot>& threads) {
        struct Want {
            uint64_t address;
            unsigned kind;
            uint32_t stack; // where a thread used it: "mutex at file:line" for a heap lock
        };
        std::vector<Want> unnamed;
        auto want = [&](uint64_t address, unsigned kind, uint32_t stack) {
            if (address && kind != RAVEL_OBJ_THREAD && !names.count(address))
                unnamed.push_back({ address, kind, stack & ~RAVEL_STACK_REUSED });
        };
        for (const ravel::ThreadSnapshot& t : threads) {
            if (!t.exited && t.blockedOn)
                want(t.blockedOn, t.blockedFlags & 0x0f, t.blockedStack);
            for (size_t k = 0; k < t.held.size() && k < t.heldFlags.size(); k++)
                want(t.held[k], t.heldFlags[k] & 0x0f, k < t.heldStacks.size() ? t.heldStacks[k] : 0);
        }
        if (unnamed.empty())
            return;
        // An address never looked up (a lock first used since the last read: the dining ring's
        // last forks, taken just before the deadlock closes) is read for within 100 ms; one that
        // came out bare is asked again only every two seconds.
        const bool fresh = std::any_of(unnamed.begin(), unnamed.end(), [&](const Want& w) { return !tries.count(w.address); });
        const quint64 now = monotonicNs();
        if (reader && now - readAt < (fresh ? 100'000'000ull : 2'000'000'000ull))
            return;
        readAt = now;
        try {
            reader = std::make_unique<ravel::TraceReader>(path);
            symbols = std::make_unique<ravel::Symbolizer>(reader->modules());
        } catch (const std::exception&) {
            reader.reset();
            symbols.reset();
            return;
        }
        for (const Want& w : unnamed) {
            std::string name = ravel::objectNameAt(*reader, w.address);
            if (name.empty()) {
                std::vector<ravel::Frame> use;
                if (const ravel::StackTrace* st = w.stack ? reader->stack(w.stack) : nullptr)
                    use = symbols->symbolizeStack(st->frames);
                name = symbols->objectName(w.address, w.kind, use);
            }
            // Known only by its address: asked again at the next read, a few times.
            const bool bare = name.rfind(std::string(ravel::objectKindName(w.kind)) + " 0x", 0) == 0;
            if (bare && ++tries[w.address] < 4)
                continue;
            tries.emplace(w.address, 1);
            names[w.address] = bare ? std::string() : name;
        }
    };
    auto sampleOnce = [&] {
        if (!live.isOpen() && !live.open(path))
            return false;
        auto snap = std::make_shared<LiveSnapshot>();
        snap->threads = live.sample();
        nameObjects(snap->threads);
        snap->names = names;
        const RavelFileHeader& h = *live.header();
        quint64 now = monotonicNs();
        snap->nowNs = now > h.start_mono_ns ? now - h.start_mono_ns : 0;
        snap->verdict = __atomic_load_n(&h.verdict, __ATOMIC_ACQUIRE);
        m_targetPid = qint64(h.pid);
        m_verdict = snap->verdict;
        std::lock_guard lock(m_samplerMutex);
        m_latestSample = std::move(snap);
        return true;
    };
    std::unique_lock lock(m_samplerMutex);
    while (!m_samplerStop) {
        lock.unlock();
        bool open = sampleOnce();
        if (open)
            QMetaObject::invokeMethod(this, &LiveRun::takeSample, Qt::QueuedConnection);
        lock.lock();
        // Until the runtime has created the trace, look often: a short program must not end unseen.
        m_samplerWake.wait_for(lock, open ? kSampleEvery : kSampleEvery / 8, [this] { return m_samplerStop; });
    }
    lock.unlock();
    // The state as the run ended (a deadlocked target is still stopped here): the last picture.
    sampleOnce();
}

void LiveRun::takeSample()
{
    std::shared_ptr<LiveSnapshot> snap;
    {
        std::lock_guard lock(m_samplerMutex);
        snap = std::move(m_latestSample);
    }
    if (!snap)
        return;
    m_snapshot = std::move(*snap);
    emit liveSnapshot();
}

} // namespace ravel::gui
