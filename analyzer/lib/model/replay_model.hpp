// ReplayModel: the state of a recorded run at any instant. One pass over the events turns them
// into spans (a thread holding an object, a thread blocked on an object) indexed per thread, so
// "who holds what, who waits for what since when, at time t" is a binary search, not a replay.
// The graphs, the GUI's playhead and the reports all ask this one model. A report needs only the
// last instant: built with Retain::EndState the same replay keeps the state of each thread and
// live object and drops every span once it closes, so its memory is bounded by objects and
// threads, not events (docs/architecture.md, "Memory").
#pragma once

#include "model/channels.hpp"
#include "base/finding.hpp"
#include "model/objects.hpp"
#include "model/thread_snapshot.hpp"
#include "trace/trace_reader.hpp"

#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
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
    // Channel waits: send, recv or select (object = the first case's channel; the cases are
    // selectCases()[cases, cases + caseCount)). Every channel operation is a span, one that did not
    // block a short one; try operations carry RAVEL_F_TRY and never block.
    ChanOp op = ChanOp::None;
    uint16_t caseCount = 0;
    union {
        uint32_t cases = 0;
        uint32_t futexValue; // a futex wait (caseCount 0): the value expected, its WAIT_REQ's aux
    };
};

struct ModelSelectCase {
    uint32_t object = 0; // index into objects()
    bool send = false;
};

// A message: the send that put it into the channel and the receive that took it (by message id).
struct MessageLink {
    uint32_t chan = 0; // object index
    uint32_t sender = 0, receiver = 0; // ravel thread ids
    uint64_t sendNs = 0, recvNs = 0;
    uint32_t id = 0;
};

// A channel over the run: capacity, close, and its buffered occupancy as a step function.
struct ModelChannel {
    uint32_t object = 0;       // index into objects()
    uint32_t capacity = 0;     // 0 unbuffered, UINT32_MAX unbounded
    uint64_t createdNs = 0;
    uint64_t closedNs = kOpenEnd;
    std::string name;          // from the names table
    std::vector<uint64_t> times; // occupancy changes: occupancy[i] from times[i] on
    std::vector<uint32_t> occupancy;
    uint32_t maxOccupancy = 0;
    uint64_t messages = 0;
    uint64_t sendBlockedNs = 0; // total time threads spent blocked sending (incl. select send cases)
    uint64_t recvBlockedNs = 0;
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

    // What the model keeps. Everything: every span, message and channel series (the GUI, graphs at
    // any instant, exports). EndState: only what is still open when the trace ends (the spans of
    // threads blocked or holding then), the objects, threads, channel table and misuse: the state
    // that endOfRunFindings() and the lock-order graph read; snapshotAt() is valid at endNs() only,
    // messages() and channels() are empty.
    enum class Retain : uint8_t { Everything, EndState };

    // With a shared pass, the model is one of its consumers (RunAnalysis runs it beside the
    // lock-order graph's pass); without one it reads the trace alone.
    explicit ReplayModel(const TraceReader& trace, SharedEventPass* pass = nullptr, Retain retain = Retain::Everything);
    ~ReplayModel();

    const TraceReader& trace() const { return m_trace; }
    const std::vector<ObjectRecord>& objects() const { return m_objects; }
    const std::vector<ModelThread>& threads() const { return m_threads; }
    const ModelThread* thread(uint32_t id) const;
    const std::vector<HoldSpan>& holdSpans() const { return m_holds; }
    const std::vector<WaitSpan>& waitSpans() const { return m_waits; }
    uint64_t endNs() const { return m_endNs; }
    uint64_t eventCount() const { return m_events; }
    Retain retain() const { return m_retain; }
    // The wait span of `thread` covering t, or nullptr.
    const WaitSpan* blockedAt(uint32_t thread, uint64_t t) const;
    // Hold spans of `thread` covering t.
    std::vector<const HoldSpan*> heldAt(uint32_t thread, uint64_t t) const;
    // Every thread at t, in the form the wait-for graph is built from.
    std::vector<ThreadSnapshot> snapshotAt(uint64_t t) const;

    // Channels: messages (send -> receive, in receive order), select cases, per-channel state.
    const std::vector<MessageLink>& messages() const { return m_messages; }
    const std::vector<ModelSelectCase>& selectCases() const { return m_selectCases; }
    const std::vector<ModelChannel>& channels() const { return m_channels; }
    const ModelChannel* channel(uint32_t object) const;
    // Messages buffered in the channel at t (0 before its first send).
    uint32_t occupancyAt(uint32_t object, uint64_t t) const;
    bool closedAt(uint32_t object, uint64_t t) const;
    // Who used which channel in which role when: what the wait-for graph asks of channel waits.
    const ChannelTable& channelTable() const { return m_channelTable; }
    // API misuse met during the replay (unlock of a lock not held, destroy of a held one, ...).
    const std::vector<Finding>& misuse() const { return m_misuse; }

private:
    void build();

    const TraceReader& m_trace;
    std::vector<ObjectRecord> m_objects;
    std::vector<ModelThread> m_threads; // by id order
    std::vector<uint32_t> m_threadIndex; // ravel id -> index in m_threads (UINT32_MAX absent)
    std::vector<HoldSpan> m_holds;
    std::vector<WaitSpan> m_waits;
    std::vector<Finding> m_misuse;
    std::vector<MessageLink> m_messages;
    std::vector<ModelSelectCase> m_selectCases;
    std::vector<ModelChannel> m_channels;
    std::vector<uint32_t> m_channelIndex; // object index -> index in m_channels (UINT32_MAX none)
    ChannelTable m_channelTable;

    uint64_t m_endNs = 0;
    uint64_t m_events = 0;
    SharedEventPass* m_pass = nullptr; // while building: the pass shared with other consumers
    Retain m_retain = Retain::Everything;
};

} // namespace ravel
