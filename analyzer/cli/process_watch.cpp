#include "process_watch.hpp"

#include "attach/kernel_tasks.hpp"
#include "trace/run_traces.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <set>
#include <filesystem>

namespace ravel::cli {

namespace {

constexpr uint64_t kScanEveryNs = 50'000'000;     // new traces are looked for every 50 ms
constexpr uint64_t kEndedGraceNs = 30'000'000; // an ended trace's watchdog stays this long (its last ticks)
constexpr unsigned kScansPerRunCheck = 4;          // the run watch samples every 200 ms
constexpr size_t kRunCheckThreads = 512;           // above this many threads, every second only

uint64_t nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

// The trace's process is done with it: it exited or exec'd (ENDED), or is gone.
bool traceEnded(const std::string& path)
{
    RavelFileHeader h;
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    bool got = pread(fd, &h, sizeof h, 0) == static_cast<ssize_t>(sizeof h);
    close(fd);
    if (!got)
        return false;
    if (h.flags & RAVEL_FILE_ENDED)
        return true;
    return h.pid && kill(static_cast<pid_t>(h.pid), 0) != 0 && errno == ESRCH;
}

} // namespace

ProcessWatch::~ProcessWatch()
{
    stop();
}

void ProcessWatch::start(const std::string& mainTrace, MakeWatch make, RunWatch runWatch)
{
    stop();
    m_main = mainTrace;
    m_make = std::move(make);
    m_runWatch = std::move(runWatch);
    m_runWait = std::make_unique<RunWaitWatch>(m_runWatch.stallTimeoutNs);
    m_runReported = false;
    m_stop.store(false);
    auto dog = std::make_unique<Watchdog>();
    dog->start(m_main, m_make(m_main));
    m_watched.push_back({ m_main, std::move(dog), 0 });
    // The scanning thread never takes a signal: they are for the thread that forwards them.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m_thread = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void ProcessWatch::stop()
{
    if (m_thread.joinable()) {
        m_stop.store(true);
        m_thread.join();
    }
    for (Watched& w : m_watched)
        w.dog->stop();
    m_watched.clear();
    m_live.clear();
    m_known.clear();
    m_runId = 0;
}

void ProcessWatch::scan()
{
    namespace fs = std::filesystem;
    if (!m_runId && !(m_runId = traceRunId(m_main)))
        return; // the run's first process has not written its header yet
    fs::path main(m_main);
    std::string mainName = main.filename().string();
    fs::path dir = main.parent_path();
    DIR* d = opendir(dir.empty() ? "." : dir.c_str());
    if (!d)
        return;
    while (dirent* e = readdir(d)) {
        std::string name = e->d_name;
        if (m_known.count(name) || !isRunTraceName(mainName, name))
            continue;
        std::string path = (dir / name).string();
        uint64_t id = traceRunId(path);
        if (id == 0)
            continue; // being created: its header is not written yet
        m_known.insert(name);
        if (id != m_runId)
            continue; // another run's
        // A short process (a shell's subshell, `make`'s compiler passes) is often done before the
        // scan sees its trace: nothing is left to watch or to tick, and a watchdog for it would
        // only keep a thread ticking through the grace time below. A run of thousands of short
        // processes then costs as much as the processes themselves.
        if (traceEnded(path))
            continue;
        auto dog = std::make_unique<Watchdog>();
        dog->start(path, m_make(path));
        m_watched.push_back({ path, std::move(dog), 0 });
    }
    closedir(d);
    // Watchdogs of processes that are done: one thread per live process is enough.
    uint64_t now = nowNs();
    for (size_t i = 1; i < m_watched.size();) {
        Watched& w = m_watched[i];
        if (!w.endedSinceNs && traceEnded(w.path))
            w.endedSinceNs = now;
        if (w.endedSinceNs && now - w.endedSinceNs > kEndedGraceNs) {
            w.dog->stop();
            m_live.erase(w.path);
            m_watched.erase(m_watched.begin() + static_cast<long>(i));
            continue;
        }
        i++;
    }
}

void ProcessWatch::checkRun()
{
    // The run's processes: the target and its descendants, and every watched trace's live process
    // (a daemon that forked away from its parent is still the run's).
    std::set<uint32_t> pids;
    std::vector<uint32_t> todo { m_runWatch.targetPid };
    while (!todo.empty()) {
        uint32_t pid = todo.back();
        todo.pop_back();
        if (!pids.insert(pid).second)
            continue;
        for (uint32_t c : childProcesses(pid))
            todo.push_back(c);
    }
    std::map<uint32_t, LiveTrace*> boardOf;
    for (const Watched& w : m_watched) {
        std::unique_ptr<LiveTrace>& live = m_live[w.path];
        if (!live)
            live = std::make_unique<LiveTrace>();
        if (!live->isOpen() && !live->open(w.path))
            continue;
        const RavelFileHeader* h = live->header();
        uint32_t pid = h->pid;
        // An earlier image of a pid that exec'd has ended; the pid's boards are its last image's.
        if (!pid || (__atomic_load_n(&h->flags, __ATOMIC_ACQUIRE) & RAVEL_FILE_ENDED))
            continue;
        if (kill(pid_t(pid), 0) != 0 && errno == ESRCH)
            continue;
        pids.insert(pid);
        boardOf[pid] = live.get();
    }
    pids.erase(0);
    std::vector<std::vector<ThreadSnapshot>> boards;
    boards.reserve(pids.size());
    std::vector<RunProcessInput> inputs;
    size_t threads = 0;
    for (uint32_t pid : pids) {
        RunProcessInput in;
        in.pid = pid;
        if (auto it = boardOf.find(pid); it != boardOf.end()) {
            boards.push_back(it->second->sample());
            threads += boards.back().size();
            in.board = &boards.back();
        }
        inputs.push_back(in);
    }
    if (threads > kRunCheckThreads && ++m_bigRunSkips % 5 != 0)
        return;
    std::optional<RunDeadlock> found = m_runWait->observe(inputs, nowNs());
    if (!found)
        return;
    m_runReported = found->verdict == Verdict::Certain;
    if (m_runWatch.onDeadlock)
        m_runWatch.onDeadlock(*found);
}

void ProcessWatch::run()
{
    unsigned scans = 0;
    while (!m_stop.load(std::memory_order_relaxed)) {
        scan();
        if (m_runWatch.enabled && !m_runReported && ++scans % kScansPerRunCheck == 0)
            checkRun();
        timespec pause { 0, static_cast<long>(kScanEveryNs) };
        while (nanosleep(&pause, &pause) != 0 && !m_stop.load(std::memory_order_relaxed)) { }
    }
}

} // namespace ravel::cli
