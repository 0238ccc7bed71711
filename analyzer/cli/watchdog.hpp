// The watchdog thread of `ravel run`: while the target runs it keeps the trace's clock alive.
// It maps the header page of the trace (shared, read-write) once the runtime has created it and
// writes `tick` every millisecond (the runtime stamps a clock reading on the next event of each
// thread when it sees the tick change, so the fast path never reads the clock itself) and a
// (tsc, CLOCK_MONOTONIC) calibration pair every 100 ms (so a trace cut short by SIGKILL still
// converts tsc to time). The live deadlock detector will grow here: it samples the state boards
// in the same mapping.
#pragma once

#include <ravel/trace_format.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace ravel::cli {

class Watchdog {
public:
    Watchdog() = default;
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    // Starts watching the trace at `path`, which may not exist yet. The thread blocks every
    // signal, so signals sent to ravel reach the thread that forwards them.
    void start(const std::string& path);
    // Writes a last calibration pair, unmaps and joins. Idempotent.
    void stop();

    // Whether the trace header was ever mapped (the runtime created the file) and ticks written.
    uint64_t ticks() const { return m_ticks.load(std::memory_order_relaxed); }
    bool attached() const { return m_attached.load(std::memory_order_relaxed); }

private:
    void run();
    bool tryAttach();
    void calibrate();

    std::string m_path;
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
    std::atomic<bool> m_attached { false };
    std::atomic<uint64_t> m_ticks { 0 };
    RavelFileHeader* m_header = nullptr;
};

} // namespace ravel::cli
