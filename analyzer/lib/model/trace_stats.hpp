// TraceStats: what `ravel info` shows, computed in one pass over the events: counts by kind, per
// thread, and per synchronization object (acquisitions, contention, wait and hold times), so a
// user finds the hot lock of a program from one table.
#pragma once

#include "model/objects.hpp"
#include "trace/trace_reader.hpp"

#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ravel {

struct ObjectStats {
    ObjectRecord object;
    uint64_t events = 0;
    uint64_t acquisitions = 0;       // ACQUIRED events, shared ones included
    uint64_t sharedAcquisitions = 0; // rwlock read mode
    uint64_t contended = 0;          // acquisitions that had to wait (RAVEL_F_CONTENDED)
    uint64_t tryAcquisitions = 0;    // trylock successes
    uint64_t failed = 0;             // ACQ_FAIL: a trylock found it busy, a timed lock timed out
    uint64_t waits = 0;              // WAIT_REQ (cond, sem, barrier, once, guard), JOIN_REQ
    uint64_t waitTimeouts = 0;       // WAIT_FAIL
    uint64_t signals = 0;            // cond signal, sem post, once/guard release
    uint64_t broadcasts = 0;
    uint64_t passes = 0;             // sem trywait success, barrier serial thread
    uint64_t waitNsTotal = 0;        // ACQ_REQ -> ACQUIRED/ACQ_FAIL, WAIT_REQ -> WOKEN/WAIT_FAIL, joins
    uint64_t waitNsMax = 0;
    uint64_t holdNsTotal = 0;        // ACQUIRED -> outermost RELEASE, per thread
    uint64_t holdNsMax = 0;
    uint32_t blockedAtEnd = 0;       // threads still waiting for it when the trace ends
    uint32_t heldAtEnd = 0;          // threads still holding it when the trace ends
    // Channels (their waits count in waitNs* too, split here by direction).
    uint32_t capacity = 0;           // from CHAN_CREATE: 0 unbuffered, UINT32_MAX unbounded
    uint64_t messages = 0;           // SENT
    uint64_t sendBlockedNs = 0;      // time threads spent in send (select: a send case first)
    uint64_t recvBlockedNs = 0;
    uint64_t maxOccupancy = 0;       // most messages buffered at once (by the events' order)
    int64_t occupancy = 0;
    bool closed = false;
};

struct ThreadStats {
    uint32_t id = 0;
    uint32_t osTid = 0;
    uint32_t pid = 0;
    uint32_t parent = 0;
    std::string name;
    uint64_t startNs = 0;
    uint64_t exitNs = 0;
    bool exited = false;
    uint64_t events = 0;
    uint64_t waitNsTotal = 0;          // time spent blocked in recorded waits
    uint32_t blockedOn = kNoObject;    // the object it waits for when the trace ends
    uint32_t holdingAtEnd = 0;         // locks it holds when the trace ends
};

struct TraceStats {
    uint64_t events = 0;
    uint64_t endNs = 0; // open waits and holds are counted up to here
    std::array<uint64_t, 256> eventsByKind {};
    std::vector<ThreadStats> threads;  // in the reader's order (by id)
    std::vector<ObjectStats> objects;  // index = object index (order of first use)
};

// The one-pass accumulator, usable without a trace file (tests feed it synthetic events).
class StatsCollector {
public:
    explicit StatsCollector(const std::vector<ThreadInfo>& threads);
    ~StatsCollector();
    StatsCollector(const StatsCollector&) = delete;
    StatsCollector& operator=(const StatsCollector&) = delete;

    void onEvent(const Event& e);
    // Closes waits and holds still open at endNs (a hung program's waits matter most) and returns
    // the result; the collector is spent afterwards.
    TraceStats finish(uint64_t endNs);

private:
    struct Held {
        uint32_t object;
        uint32_t depth;
        uint64_t sinceNs;
    };
    struct ThreadState {
        uint32_t waitObject = kNoObject;
        uint64_t waitSinceNs = 0;
        uint8_t chanWait = 0; // 1 send, 2 receive: which total a channel wait adds to
        bool inSelect = false;
        std::vector<Held> held; // few entries: a thread holds a handful of locks at a time
    };

    uint32_t slot(uint32_t thread); // index into m_threadState and m_stats.threads
    void beginWait(ThreadState& t, uint32_t object, uint64_t now);
    void endWait(ThreadState& t, uint32_t object, uint64_t now);
    void acquired(ThreadState& t, uint32_t object, uint64_t now);
    void released(ThreadState& t, uint32_t object, uint64_t now);

    ObjectTracker m_tracker;
    TraceStats m_stats;
    std::vector<ThreadState> m_threadState; // parallel to m_stats.threads
    std::vector<uint32_t> m_slotOf;         // ravel tid -> slot, for the usual small ids
    std::unordered_map<uint32_t, uint32_t> m_bigSlots;
    uint64_t m_lastNs = 0;
    uint64_t m_waitedNs = 0; // the wait the current event ended, for the thread's total
};

// Reads every event of the trace once.
TraceStats computeStats(const TraceReader& reader);

// A duration for people: 3 significant digits and a unit ("812ns", "12.3us", "4.06ms", "1.20s").
std::string formatDuration(uint64_t ns);

} // namespace ravel
