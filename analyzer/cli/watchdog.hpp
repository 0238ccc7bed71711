// The watchdog thread of `ravel run`: while the target runs it keeps the trace's clock alive.
// It maps the header page of the trace (shared, read-write) once the runtime has created it and
// writes `tick` every millisecond (the runtime stamps a clock reading on the next event of each
// thread when it sees the tick change, so the fast path never reads the clock itself) and a
// (tsc, CLOCK_MONOTONIC) calibration pair every 100 ms (so a trace cut short by SIGKILL still
// converts tsc to time). Every 100 ms it also samples the state boards in the same mapping and
// runs the live deadlock detector; a confirmed deadlock is marked in the trace header and handed
// to the owner's callback, on the watchdog thread.
#pragma once

#include "base/finding.hpp"
#include "detect/live_detector.hpp"
#include "detect/live_trace.hpp"

#include <ravel/trace_format.h>

#include <functional>
#include <future>
#include <memory>

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

namespace ravel::cli {

struct DeadlockWatch {
    bool enabled = true;
    uint64_t stallTimeoutNs = 3'000'000'000ull; // a likely deadlock is reported once it lasts this long
    // Called once, on the watchdog thread, when a deadlock is confirmed; verdictNs is the trace time
    // of the verdict mark.
    std::function<void(const Finding&, uint64_t verdictNs)> onDeadlock;
};

class Watchdog {
public:
    Watchdog() = default;
    ~Watchdog();
    Watchdog(const Watchdog&) = delete;
    Watchdog& operator=(const Watchdog&) = delete;

    // Starts watching the trace at `path`, which may not exist yet. The thread blocks every
    // signal, so signals sent to ravel reach the thread that forwards them.
    void start(const std::string& path, DeadlockWatch watch = {});
    // Writes a last calibration pair, unmaps and joins. Idempotent.
    void stop();

    // Whether the trace header was ever mapped (the runtime created the file) and ticks written.
    uint64_t ticks() const { return m_ticks.load(std::memory_order_relaxed); }
    bool attached() const { return m_attached.load(std::memory_order_relaxed); }

private:
    void run();
    bool tryAttach();
    void calibrate();
    void checkDeadlock();
    const ChannelTable* channelsFor(const std::vector<ThreadSnapshot>& sample);

    std::string m_path;
    std::thread m_thread;
    std::atomic<bool> m_stop { false };
    std::atomic<bool> m_attached { false };
    std::atomic<uint64_t> m_ticks { 0 };
    RavelFileHeader* m_header = nullptr;
    DeadlockWatch m_watch;
    LiveTrace m_live;
    LiveDeadlockDetector m_detector;
    bool m_reported = false; // a certain deadlock was reported: the target is dealt with
    // Who used which channel in which role, read from the trace's events when threads stall on
    // channels (not every sample: decoding the trace costs what the boards were made to avoid).
    std::unique_ptr<ChannelTable> m_channels;
    // The read runs beside the tick loop: a big trace takes a while to decode, and the target's
    // clock stamps must keep coming meanwhile.
    std::future<std::unique_ptr<ChannelTable>> m_channelsReading;
    std::vector<std::pair<uint32_t, uint64_t>> m_readingKey;
    std::vector<std::pair<uint32_t, uint64_t>> m_channelsKey; // the stalled channel waits it was read for
    std::vector<std::pair<uint32_t, uint64_t>> m_previousWaits; // channel waits of the previous sample
    uint64_t m_channelsReadNs = 0;
};

} // namespace ravel::cli
