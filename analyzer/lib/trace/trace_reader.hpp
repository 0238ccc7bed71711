// TraceReader: the one streaming reader of ravel traces (docs/trace-format.md), used by every
// command, the GUI and the tests. Opening indexes the event chunks (one decoding pass); events
// are not kept in memory: every forEachEvent decodes them again, chunk by chunk, so a trace
// costs about its compressed size. Several passes may run at once from different threads.
// A trace is untrusted input: every offset and length is bounds-checked; a truncated or corrupt
// chunk is skipped with one warning naming what and where, and everything intact is still
// delivered.
#pragma once

#include <ravel/trace_format.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ravel {

// A trace that cannot be read at all (missing, a directory, not a ravel trace, wrong version).
// what() is one line: "<path>: <what is wrong>".
class TraceError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct Event {
    uint64_t time_ns = 0; // from the start of the trace; interpolated between clock stamps
    uint64_t obj = 0;     // object address (or payload, see docs/trace-format.md)
    uint32_t thread = 0;  // ravel thread id
    uint32_t aux = 0;
    uint32_t stack = 0;   // stack id, 0 = none
    uint8_t kind = 0;     // RAVEL_EV_*
    uint8_t flags = 0;    // object kind (low 4 bits) | RAVEL_F_* modifiers
    bool stamped = false; // time_ns was read from the clock for this event, not interpolated
    // What the clocks prove: the event happened within [earliest_ns, latest_ns] (equal to time_ns
    // when stamped; latest_ns is UINT64_MAX after the last stamp of a thread that did not exit).
    // time_ns is the reader's best placement in that range, or later when the global order had
    // to hold the event back behind another thread's (see docs/trace-format.md, "Time").
    uint64_t earliest_ns = 0;
    uint64_t latest_ns = UINT64_MAX;

    unsigned objKind() const { return flags & 0x0f; }
};

struct ThreadInfo {
    uint32_t id = 0;
    uint32_t os_tid = 0;
    uint32_t pid = 0;
    uint32_t parent = 0;
    uint64_t pthread = 0;
    uint64_t stack_lo = 0, stack_hi = 0;
    uint64_t start_ns = 0;
    uint64_t exit_ns = 0; // 0 if the thread had not exited when the trace ended
    bool exited = false;
    // Some of its events are not in the trace: older chunks dropped by a flight recorder, chunks
    // missing or damaged. What its events seem to lack (an acquisition before a release) may be
    // in what is missing, so no misuse is concluded from an absence.
    bool incomplete = false;
    uint32_t create_stack = 0;
    std::string name;
    RavelBoard board {}; // the state board as last written
};

struct StackTrace {
    uint32_t id = 0;
    bool site_only = false; // only the caller's address was captured, not the whole call path
    std::vector<uint64_t> frames; // innermost first
};

struct Module {
    uint64_t base = 0, lo = 0, hi = 0;
    std::string path;
    std::string build_id; // hex
};

// A name given to an object: a channel's name, or ravel_name() (the names table).
struct ObjectName {
    uint64_t obj = 0;
    unsigned kind = 0;    // RAVEL_OBJ_*, 0 when the namer did not say
    uint64_t time_ns = 0; // the name holds from this time on (the latest one for an address wins)
    std::string name;
};

struct TraceSummary {
    std::string path;
    uint32_t version = 0;
    uint32_t flags = 0;
    uint32_t pid = 0, ppid = 0;
    int32_t exit_status = 0;
    bool ended = false; // the program exited normally (RAVEL_FILE_ENDED)
    std::string program;
    std::vector<std::string> argv;
    uint64_t start_real_ns = 0;
    uint64_t start_mono_ns = 0; // CLOCK_MONOTONIC at time zero: how traces of one run line up
    uint64_t duration_ns = 0;  // last known time, from the trace start (the run's end when recorded)
    double tsc_per_ns = 0;     // calibration used
    uint32_t verdict = 0;
    uint64_t verdict_ns = 0;
    // How the program ended, as `ravel run` saw it (the run-end record, version 3): RAVEL_RUN_*,
    // the exit status or signal, RAVEL_RUN_F_* and the trace time of the end; run_end 0 when the
    // trace has none.
    uint32_t run_end = 0;
    int32_t run_end_value = 0;
    uint32_t run_end_flags = 0;
    uint64_t run_end_ns = 0;
    uint32_t lost_events = 0;
    uint64_t file_size = 0;
    // The process record (version 5): the run this trace belongs to (the same id in every trace
    // of the run, 0 unknown), the image's number in its pid (1, then 2 after an exec ...) and
    // how it began (RAVEL_ORIGIN_*).
    uint64_t run_id = 0;
    uint32_t image = 0;
    uint32_t origin = 0;
};

class TraceReader {
public:
    // Opens and indexes the chunks (reads the tables: threads, stacks, modules). Throws
    // TraceError when the file cannot be a ravel trace at all. Problems inside an otherwise
    // readable trace become warnings().
    explicit TraceReader(const std::string& path);
    ~TraceReader();
    TraceReader(const TraceReader&) = delete;
    TraceReader& operator=(const TraceReader&) = delete;

    const TraceSummary& summary() const;
    const std::vector<ThreadInfo>& threads() const;   // sorted by id
    const std::vector<StackTrace>& stacks() const;     // index = id - 1
    const std::vector<Module>& modules() const;
    const std::vector<ObjectName>& names() const;      // sorted by time
    const StackTrace* stack(uint32_t id) const;         // nullptr when unknown
    const ThreadInfo* thread(uint32_t id) const;        // nullptr when unknown
    // One line each: what was skipped and where ("chunk at offset 0x30000: bad magic, skipped").
    const std::vector<std::string>& warnings() const;

    // Streams every event in one global order: by time, and causal where time cannot decide
    // (acquisitions of one object in their sequence order; a thread's own events in program
    // order). Return false from the callback to stop early.
    void forEachEvent(const std::function<bool(const Event&)>& fn) const;
    // Events of one thread in program order.
    void forEachThreadEvent(uint32_t thread, const std::function<bool(const Event&)>& fn) const;
    uint64_t eventCount() const; // events delivered by forEachEvent (TIME records excluded)
    uint64_t eventCount(unsigned kind) const; // of one RAVEL_EV_* kind: lets a pass size its arrays once
    uint64_t threadEventCount(uint32_t thread, unsigned kind) const; // the same for one thread
    // Some thread requested a lock, or blocked, while it held a lock (seen in each thread's own
    // order while indexing). Without it no lock-order analysis can find an edge.
    bool nestedLocking() const;

    // Reads the trace on a clock that started `ns` earlier: every time it reports from here on
    // (events and their bounds, threads' starts and exits, names, the summary's end, verdict and
    // run end) is `ns` later. Another process of a run is put on the main trace's clock so (the
    // GUI's one time axis): the difference of the two start_mono_ns. Call before any pass.
    void shiftTimes(uint64_t ns);
    uint64_t timeShift() const; // the total shift, 0 unless shiftTimes was called

private:
    friend class SharedEventPass;
    struct Impl;
    Impl* m_impl;
};

// One pass over a trace's events shared by several consumers, each on its own thread: the events
// are decoded and merged once. Every consumer calls forEachEvent from its own thread; the pass
// starts when all `consumers` have called, and each call returns when the events end or when its
// callback returns false (the others go on). Every consumer must call exactly once.
class SharedEventPass {
public:
    SharedEventPass(const TraceReader& trace, unsigned consumers);
    ~SharedEventPass();
    SharedEventPass(const SharedEventPass&) = delete;
    SharedEventPass& operator=(const SharedEventPass&) = delete;

    void forEachEvent(const std::function<bool(const Event&)>& fn);

private:
    struct Impl;
    Impl* m_impl;
};

// A consumer's pass over the events: through `pass` when one is shared with other consumers (it is
// taken, set to null: each consumer calls it once), else a pass of its own over `trace`.
void forEachEventVia(const TraceReader& trace, SharedEventPass*& pass, const std::function<bool(const Event&)>& fn);

// Rewrites a raw trace (as the runtime leaves it) into its compact form: each events chunk's
// records compressed with zstd, tables kept, chunks back to back. Returns the bytes written.
// Throws TraceError when the input cannot be read or the output cannot be written.
uint64_t compactTrace(const std::string& in, const std::string& out);

} // namespace ravel
