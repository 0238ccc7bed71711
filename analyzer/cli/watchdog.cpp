#include "watchdog.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <cstring>

namespace ravel::cli {

namespace {

constexpr long kTickNs = 1'000'000; // the runtime's clock-stamp cadence
constexpr unsigned kTicksPerCalib = 100; // a calibration pair every 100 ms

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

void Watchdog::start(const std::string& path)
{
    stop();
    m_path = path;
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
