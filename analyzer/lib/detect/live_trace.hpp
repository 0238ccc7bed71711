// LiveTrace: a view of a trace while the runtime is still writing it. It maps the file shared,
// finds the thread table as it grows, and copies the state boards (what each thread is blocked
// on, what it holds). This is what the live watchdog samples: blocked threads do not move, so
// two samples a little apart that agree are a consistent picture of everything stuck, and no
// event has to be decoded while the target runs.
#pragma once

#include "model/channels.hpp"
#include "model/thread_snapshot.hpp"
#include "detect/wait_for.hpp"

#include <ravel/trace_format.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

class LiveTrace {
public:
    LiveTrace() = default;
    ~LiveTrace();
    LiveTrace(const LiveTrace&) = delete;
    LiveTrace& operator=(const LiveTrace&) = delete;

    // Maps the file once it has a complete header; false while it is not there yet.
    bool open(const std::string& path);
    bool isOpen() const { return m_header != nullptr; }
    RavelFileHeader* header() { return m_header; }
    const std::string& path() const { return m_path; }

    // Copies every thread's board. Re-maps as the file grows; scans only chunks it has not seen.
    std::vector<ThreadSnapshot> sample();

private:
    void remap();
    void scanNewChunks();

    std::string m_path;
    int m_fd = -1;
    uint8_t* m_base = nullptr;
    uint64_t m_mapped = 0;
    RavelFileHeader* m_header = nullptr;
    uint64_t m_scanned = 0; // chunks below this offset have been looked at
    std::vector<uint64_t> m_threadChunks;
    std::vector<uint64_t> m_pending; // chunks reserved but not yet initialized when last scanned
};

// The wait-for graph of a snapshot (DESIGN.md's table of wakers). Timed waits count as running:
// they end by themselves. With a channel table, a thread blocked on a channel waits for the threads
// that may still serve it (ChannelTable::wakers, as of instant t); without one (or for a channel
// the table does not know), for any other thread of its process, as for a condition variable.
std::vector<WaitNode> waitGraphOf(const std::vector<ThreadSnapshot>& threads, const ChannelTable* channels = nullptr,
                                  uint64_t t = kNever);

// The operation of a blocked thread, from its request's event kind.
ChanOp chanOpOf(unsigned blockedAux);

// Converts a runtime tsc to ns from the trace start with the header's calibration pairs.
uint64_t tscToTraceNs(const RavelFileHeader& h, uint64_t tsc);

} // namespace ravel
