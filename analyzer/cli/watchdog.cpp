#include "watchdog.hpp"
#include "attach/kernel_tasks.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <dirent.h>

#include "trace/trace_reader.hpp"

#include <algorithm>
#include <chrono>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ravel::cli {

namespace {

constexpr long kTickNs = 1'000'000; // the runtime's clock-stamp cadence
constexpr unsigned kTicksPerCalib = 100; // a calibration pair every 100 ms
constexpr unsigned kTicksPerSample = 100; // the state boards are sampled every 100 ms
constexpr size_t kMaxKernelReadThreads = 512; // /proc/PID/task/*/syscall is read up to this many threads

// What the kernel knows of the target that the boards cannot say: how many threads it has (one
// that never called into the runtime is invisible on the boards) and whether any signal has a
// handler (a handler could post a semaphore or signal a condition variable).
ProcessView processView(uint32_t pid)
{
    ProcessView v;
    v.pid = pid;
    std::string dir = "/proc/" + std::to_string(pid);
    if (DIR* d = opendir((dir + "/task").c_str())) {
        while (dirent* e = readdir(d))
            if (e->d_name[0] != '.')
                v.kernelThreads++;
        closedir(d);
    }
    v.signalHandlers = programSignalHandlers(pid);
    return v;
}

uint64_t monotonicNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

void addNs(timespec& ts, long ns)
{
    ts.tv_nsec += ns;
    while (ts.tv_nsec >= 1'000'000'000) {
        ts.tv_nsec -= 1'000'000'000;
        ts.tv_sec++;
    }
}

// The runtime's clock: the same counter it stamps events with.
uint64_t readTsc()
{
#if defined(__x86_64__)
    return __rdtsc();
#else
    uint64_t v;
    asm volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
#endif
}

bool earlier(const timespec& a, const timespec& b)
{
    return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

} // namespace

Watchdog::~Watchdog()
{
    stop();
}

void Watchdog::start(const std::string& path, DeadlockWatch watch)
{
    stop();
    m_path = path;
    m_watch = std::move(watch);
    m_detector = LiveDeadlockDetector(m_watch.stallTimeoutNs);
    m_reported = false;
    m_stop.store(false);
    m_attached.store(false);
    m_ticks.store(0);

    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m_thread = std::thread([this] { run(); });
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

void Watchdog::stop()
{
    if (!m_thread.joinable())
        return;
    m_stop.store(true);
    m_thread.join();
    if (m_header) {
        // The target is gone: this pair is the latest calibration point a killed target's trace
        // will have, and the tsc rate does not change after the process exits.
        calibrate();
        munmap(m_header, sizeof(RavelFileHeader));
        m_header = nullptr;
    }
}

bool Watchdog::tryAttach()
{
    int fd = open(m_path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return false;
    struct stat st;
    void* map = MAP_FAILED;
    // The runtime creates the file and then sizes it; mapping a page beyond the end would SIGBUS.
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= static_cast<off_t>(sizeof(RavelFileHeader)))
        map = mmap(nullptr, sizeof(RavelFileHeader), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return false;
    m_header = static_cast<RavelFileHeader*>(map);
    return true;
}

void Watchdog::calibrate()
{
    // Bracket the tsc read with two clock reads and pair it with their midpoint: the pair is then
    // off by half the bracket at most, instead of by one clock_gettime.
    uint64_t before = monotonicNs();
    uint64_t tsc = readTsc();
    uint64_t after = monotonicNs();
    __atomic_store_n(&m_header->calib_tsc, tsc, __ATOMIC_RELAXED);
    __atomic_store_n(&m_header->calib_mono_ns, before + (after - before) / 2, __ATOMIC_RELEASE);
}

const ChannelTable* Watchdog::channelsFor(const std::vector<ThreadSnapshot>& sample)
{
    // Channel waits that did not move since the previous sample (100 ms): a stall worth a look.
    std::vector<std::pair<uint32_t, uint64_t>> waits, stalled;
    for (const ThreadSnapshot& t : sample)
        if (!t.exited && t.blockedOn && (t.blockedFlags & 0x0f) == RAVEL_OBJ_CHAN
            && !(t.blockedFlags & (RAVEL_F_TIMED | RAVEL_F_TRY)))
            waits.emplace_back(t.tid, t.blockedSinceRaw);
    for (const auto& w : waits)
        if (std::find(m_previousWaits.begin(), m_previousWaits.end(), w) != m_previousWaits.end())
            stalled.push_back(w);
    m_previousWaits = waits;
    if (m_channelsReading.valid()
        && m_channelsReading.wait_for(std::chrono::seconds(0)) == std::future_status::ready) {
        // Unreadable right now: presume, as for a condition variable (nullptr).
        m_channels = m_channelsReading.get();
        m_channelsKey = m_readingKey;
    }
    if (stalled.empty())
        return nullptr;
    if (m_channels && stalled == m_channelsKey)
        return m_channels.get();
    // Re-read at most every 250 ms while the stalled set keeps changing (a busy program whose
    // workers idle on channels now and then), and one read at a time.
    uint64_t now = monotonicNs();
    if (!m_channelsReading.valid() && (!m_channels || now - m_channelsReadNs >= 250'000'000ull)) {
        m_channelsReadNs = now;
        m_readingKey = stalled;
        m_channelsReading = std::async(std::launch::async, [path = m_path]() -> std::unique_ptr<ChannelTable> {
            try {
                TraceReader reader(path);
                return std::make_unique<ChannelTable>(channelTableOf(reader));
            } catch (const std::exception&) {
                return nullptr;
            }
        });
        // A small trace reads in a few milliseconds: use it in this very sample.
        if (m_channelsReading.wait_for(std::chrono::milliseconds(20)) == std::future_status::ready) {
            m_channels = m_channelsReading.get();
            m_channelsKey = m_readingKey;
        }
    }
    // A table read for another set of stalled waits may miss who used the channels since: presume
    // instead (any thread may serve), which can only hide a deadlock for a sample, never invent one.
    return m_channels && m_channelsKey == stalled ? m_channels.get() : nullptr;
}

void Watchdog::checkDeadlock()
{
    if (!m_live.isOpen() && !m_live.open(m_path))
        return;
    std::vector<ThreadSnapshot> sample = m_live.sample();
    const ChannelTable* channels = channelsFor(sample);
    const RavelFileHeader& h = *m_live.header();
    uint64_t now = tscToTraceNs(h, readTsc());
    // Threads the boards show running may be blocked in a futex wait the runtime never saw (raw
    // system calls): the kernel says so. One small read per thread and sample, so only while the
    // program has few enough threads for that to stay cheap.
    if (sample.size() <= kMaxKernelReadThreads)
        if (std::any_of(sample.begin(), sample.end(), [](const ThreadSnapshot& t) { return !t.exited && !t.blockedOn; }))
            applyKernelWaits(sample, readKernelTasks(h.pid), now);
    std::optional<Finding> found = m_detector.observe(sample, processView(h.pid), now, channels);
    if (!found)
        return;
    // A likely deadlock is a warning: the program runs on, and a certain one found later still counts.
    m_reported = found->certainty == Verdict::Certain;
    // The mark in the trace: when and what the watchdog decided, for the latency and for readers.
    uint64_t tsc = readTsc();
    __atomic_store_n(&m_live.header()->verdict, uint32_t(found->certainty), __ATOMIC_RELAXED);
    __atomic_store_n(&m_live.header()->verdict_tsc, tsc, __ATOMIC_RELEASE);
    if (m_watch.onDeadlock)
        m_watch.onDeadlock(*found, tscToTraceNs(h, tsc));
}

void Watchdog::run()
{
    timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    uint64_t tick = 0;
    bool valid = false; // the runtime has written the magic: the page is a trace header
    while (!m_stop.load(std::memory_order_relaxed)) {
        if (!m_header && tryAttach())
            m_attached.store(true, std::memory_order_relaxed);
        if (m_header && !valid)
            valid = std::memcmp(m_header->magic, RAVEL_TRACE_MAGIC, sizeof m_header->magic) == 0;
        if (valid) {
            __atomic_store_n(&m_header->tick, ++tick, __ATOMIC_RELAXED);
            if (tick % kTicksPerCalib == 1)
                calibrate();
            if (tick % kTicksPerSample == kTicksPerSample / 2 && m_watch.enabled && !m_reported)
                checkDeadlock();
            m_ticks.store(tick, std::memory_order_relaxed);
        }

        // Absolute deadlines keep the cadence from drifting; after a long stall (a suspended VM,
        // SIGSTOP) resume from now instead of catching up in a burst.
        addNs(next, kTickNs);
        timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (earlier(next, now)) {
            next = now;
            addNs(next, kTickNs);
        }
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr) == EINTR) { }
    }
}

} // namespace ravel::cli
