// LiveDeadlockDetector: the decision half of the live watchdog. It is fed samples of the state
// boards (LiveTrace::sample) and says when a deadlock has formed, following DESIGN.md's verdict
// table: a *certain* deadlock is reported as soon as two samples agree on it; a *likely* one
// only once it has lasted the stall timeout.
#pragma once

#include "base/finding.hpp"
#include "detect/live_trace.hpp"

#include <cstdint>
#include <optional>
#include <vector>

namespace ravel {

struct ProcessView {
    uint32_t pid = 0;
    // Threads the kernel lists for the process (/proc/PID/task); 0 when unknown. More tasks than
    // recorded live threads means some thread never called into the runtime: it could be the
    // one that would signal, so "everyone is blocked" cannot be claimed.
    uint32_t kernelThreads = 0;
    // Some signal has a handler installed (/proc/PID/status SigCgt): a handler may post or signal.
    bool signalHandlers = true;
};

class LiveDeadlockDetector {
public:
    explicit LiveDeadlockDetector(uint64_t stallTimeoutNs = 3'000'000'000ull)
        : m_stallNs(stallTimeoutNs)
    {
    }

    // nowNs: trace time of the sample. Returns the finding once, when it is confirmed.
    // channels: who used which channel in which role so far (read from the trace when a channel
    // stall is suspected), or nullptr: then a channel wait presumes any other thread may serve it.
    std::optional<Finding> observe(const std::vector<ThreadSnapshot>& sample, const ProcessView& proc, uint64_t nowNs,
                                   const ChannelTable* channels = nullptr);

    // The deadlock of the last sample, confirmed or not (for a report at exit).
    const Deadlock& current() const { return m_last; }

private:
    uint64_t m_stallNs;
    Deadlock m_last;
    std::vector<uint64_t> m_lastSince; // blockedSinceRaw of m_last.threads, to tell a new wait
    uint64_t m_firstSeenNs = 0;
    bool m_reported = false;
};

// A deadlock finding from a snapshot: each deadlocked thread with its wait and its holds.
// Object names are left empty (see nameFindingObjects).
// With a channel table, channel waits say their operation, cases and presumed wakers.
Finding deadlockFinding(const Deadlock& d, const std::vector<ThreadSnapshot>& threads,
                        const ChannelTable* channels = nullptr, uint64_t t = kNever);

} // namespace ravel
