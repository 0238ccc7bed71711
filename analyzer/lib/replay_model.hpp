// ReplayModel: the state of a recorded run at any instant. One pass over the events turns them
// into spans (a thread holding an object, a thread blocked on an object) indexed per thread, so
// "who holds what, who waits for what since when, at time t" is a binary search, not a replay.
// The CLI's reports, the graphs and the GUI's playhead all ask this one model.
#pragma once

#include "finding.hpp"
#include "live_trace.hpp"
#include "objects.hpp"
#include "trace_reader.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace ravel {

inline constexpr uint64_t kOpenEnd = std::numeric_limits<uint64_t>::max();

struct HoldSpan {
    uint64_t start = 0;
    uint64_t end = kOpenEnd; // kOpenEnd: still held when the trace ends
    uint32_t object = 0;     // index into objects()
    uint32_t thread = 0;
    uint32_t stack = 0;      // stack field of the acquisition (with the reused bit)
    uint16_t flags = 0;      // object kind | RAVEL_F_* of the acquisition
    uint16_t depth = 0;      // recursive re-acquisitions folded into this span
};

enum class WaitOutcome : uint8_t { Open, Acquired, Woken, Failed, Joined };

struct WaitSpan {
    uint64_t start = 0;
    uint64_t end = kOpenEnd; // kOpenEnd: still blocked when the trace ends
    uint32_t object = 0;
    uint32_t thread = 0;
    uint32_t stack = 0;
    uint8_t flags = 0;       // object kind | RAVEL_F_* of the request
    WaitOutcome outcome = WaitOutcome::Open;
    uint16_t error = 0;      // errno of a failed wait
};

struct ModelThread {
    uint32_t id = 0;
    uint32_t pid = 0;
    uint32_t osTid = 0;
    uint32_t parent = 0;
    uint64_t pthread = 0;
    uint64_t startNs = 0;
    uint64_t exitNs = kOpenEnd;
    std::string name;
    std::vector<uint32_t> holds; // indices into holdSpans(), by start
    std::vector<uint32_t> waits; // indices into waitSpans(), by start (never overlapping)
    std::vector<uint64_t> holdBlockMaxEnd; // max end of each block of kHoldBlock holds
};

class ReplayModel {
public:
    static constexpr size_t kHoldBlock = 64;

    explicit ReplayModel(const TraceReader& trace);

    const TraceReader& trace() const { return m_trace; }
    const std::vector<ObjectRecord>& objects() const { return m_objects; }
    const std::vector<ModelThread>& threads() const { return m_threads; }
    const ModelThread* thread(uint32_t id) const;
    const std::vector<HoldSpan>& holdSpans() const { return m_holds; }
    const std::vector<WaitSpan>& waitSpans() const { return m_waits; }
    uint64_t endNs() const { return m_endNs; }
    uint64_t eventCount() const { return m_events; }

    // The wait span of `thread` covering t, or nullptr.
    const WaitSpan* blockedAt(uint32_t thread, uint64_t t) const;
    // Hold spans of `thread` covering t.
    std::vector<const HoldSpan*> heldAt(uint32_t thread, uint64_t t) const;
    // Every thread at t, in the form the wait-for graph is built from.
    std::vector<ThreadSnapshot> snapshotAt(uint64_t t) const;

    // Findings the replay itself shows: the deadlock in force when the trace ends (a hung program
    // killed, or cut short), threads blocked forever at a normal exit, and API misuse.
    std::vector<Finding> findings() const;

private:
    void build();

    const TraceReader& m_trace;
    std::vector<ObjectRecord> m_objects;
    std::vector<ModelThread> m_threads; // by id order
    std::vector<uint32_t> m_threadIndex; // ravel id -> index in m_threads (UINT32_MAX absent)
    std::vector<HoldSpan> m_holds;
    std::vector<WaitSpan> m_waits;
    std::vector<Finding> m_misuse;
    uint64_t m_endNs = 0;
    uint64_t m_events = 0;
};

} // namespace ravel
