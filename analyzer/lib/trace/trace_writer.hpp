// TraceWriter: writes a ravel trace (docs/trace-format.md) from a stream of events that did not come
// from the runtime (imported traces). It writes the raw layout, fixed-size chunks at chunk_size
// boundaries exactly as the runtime leaves them, so TraceReader and compactTrace treat the result
// like any recorded run; the caller compacts it afterwards.
//
// Events must arrive in global time order (their times never decrease across calls). The writer
// stamps a TIME record only where the reader's interpolation would get the time wrong: at the ends
// of each run of evenly spaced events of one thread, and at the start of every chunk. An importer
// that interleaves threads line by line thus pays one stamp per thread switch, not one per event.
#pragma once

#include <ravel/trace_format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

// What the thread table says about one thread (RavelThreadEntry, without the board).
struct WriterThread {
    uint32_t tid = 0;      // ravel thread id, >= 1
    uint32_t parent = 0;   // ravel tid of the creator, 0 for a main thread
    uint32_t osTid = 0;
    uint64_t pthread = 0;
    uint64_t startNs = 0;  // from the trace start
    uint64_t exitNs = 0;
    bool exited = false;
    std::string name;      // cut to 32 bytes
};

class TraceWriter {
public:
    // Creates (or truncates) rawPath. Throws TraceError when it cannot.
    explicit TraceWriter(std::string rawPath, uint32_t chunkSize = RAVEL_DEFAULT_CHUNK_SIZE);
    ~TraceWriter();
    TraceWriter(const TraceWriter&) = delete;
    TraceWriter& operator=(const TraceWriter&) = delete;

    // Program, argv, pid, start_real_ns: the caller fills them before finish(). The clock fields,
    // counts, flags and offsets are the writer's.
    RavelFileHeader& header() { return m_header; }

    // One event of thread `tid` (>= 1) at `timeNs` from the trace start.
    void event(uint32_t tid, uint64_t timeNs, unsigned kind, uint64_t obj, uint32_t aux = 0, uint32_t stack = 0,
        unsigned flags = 0);
    // A stack table entry; ids are the caller's (>= 1, unique).
    void stack(uint32_t id, const std::vector<uint64_t>& frames, bool siteOnly);
    // A module map entry.
    void module(uint64_t base, uint64_t lo, uint64_t hi, const std::string& path);

    // Writes what is buffered, the thread table and the header. `endNs` is when the run ended;
    // `ended` says it ended normally (RAVEL_FILE_ENDED, with exitStatus). Throws TraceError.
    void finish(const std::vector<WriterThread>& threads, uint64_t endNs, bool ended, int exitStatus);

    uint64_t eventCount() const { return m_events; }
    uint64_t stampCount() const { return m_stamps; }

private:
    struct ThreadChunk {
        std::vector<uint8_t> payload; // the open events chunk of the thread
        uint32_t seq = 0;
        uint64_t firstNs = 0;
    };
    struct Pending {
        uint32_t tid = 0;
        uint64_t timeNs = 0;
        RavelEvent event {};
        bool runStart = false;
        bool valid = false;
    };

    void put(const Pending& p, bool stamp);
    void flushEvents(uint32_t tid, bool sealed);
    void writeChunk(unsigned type, uint32_t owner, uint32_t seq, uint16_t flags, const std::vector<uint8_t>& payload,
        uint64_t firstNs);
    void appendTable(unsigned type, const void* data, size_t len);
    void flushTable(unsigned type);
    void writeAt(const void* data, size_t len, uint64_t offset);

    std::string m_path;
    int m_fd = -1;
    uint32_t m_chunkSize;
    RavelFileHeader m_header {};
    uint64_t m_nextChunk;                 // file offset of the next chunk
    std::vector<ThreadChunk> m_threads;   // by tid
    std::vector<uint8_t> m_tables[5];     // open table chunk payload, by chunk type
    uint32_t m_tableSeq[5] = {};
    Pending m_pending;
    uint64_t m_runGap = UINT64_MAX;       // spacing of the pending event's run; UINT64_MAX = not known yet
    uint64_t m_events = 0;
    uint64_t m_stamps = 0;
    uint32_t m_maxStack = 0;
};

} // namespace ravel
