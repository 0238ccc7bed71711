// TraceReader's state, shared by the two halves of the reader: indexing a trace
// (trace_reader.cpp) and streaming its events in order (event_pass.cpp). Internal to trace/.
#pragma once

#include "trace/internal/event_merge.hpp"
#include "trace/internal/trace_file.hpp"
#include "trace/trace_reader.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace ravel {

struct TraceReader::Impl {
    TraceSummary summary;
    std::vector<ThreadInfo> threads;
    std::vector<StackTrace> stacks;
    std::vector<Module> modules;
    std::vector<ObjectName> names;
    std::vector<std::string> warnings;
    std::unique_ptr<detail::MappedTrace> file; // kept: the passes decode events from it chunk by chunk
    std::vector<detail::ThreadStream> streams; // sorted by tid
    detail::ObjectIndex objects;
    uint64_t eventCount = 0;
    uint64_t kindCounts[256] = {};
    bool nested = false;

    // A thread that blocks (or takes another lock) while it holds a lock: the trace may have
    // lock-order edges. Per thread, in program order, so the first pass can tell.
    static void trackNesting(unsigned kind, unsigned objKind, uint32_t& held, bool& nested)
    {
        switch (kind) {
        case RAVEL_EV_ACQUIRED:
            if (objKind == RAVEL_OBJ_CHAN)
                break;
            nested = nested || held > 0;
            ++held;
            break;
        case RAVEL_EV_RELEASE:
            if (held > 0)
                --held;
            break;
        case RAVEL_EV_ACQ_REQ:
        case RAVEL_EV_WAIT_REQ:
        case RAVEL_EV_JOIN_REQ:
        case RAVEL_EV_SEND_REQ:
        case RAVEL_EV_RECV_REQ:
        case RAVEL_EV_SELECT_REQ:
            nested = nested || held > 0;
            break;
        }
    }
    uint64_t startTsc = 0;
    double nsPerTsc = 1;
    uint64_t shiftNs = 0; // TraceReader::shiftTimes: added to every time a pass delivers

    void shift(Event& e) const
    {
        e.time_ns += shiftNs;
        e.earliest_ns += shiftNs;
        if (e.latest_ns != UINT64_MAX)
            e.latest_ns += shiftNs;
    }

    uint64_t tscToNs(uint64_t tsc) const { return tsc > startTsc ? relTscToNs(tsc - startTsc) : 0; }
    uint64_t relTscToNs(uint64_t rel) const { return detail::relTscToNs(rel, nsPerTsc); }

    void calibrate(detail::MappedTrace& t);
    void readThreads(detail::MappedTrace& t, const detail::ChunkRef& c, std::span<const uint8_t> p);
    void readStacks(detail::MappedTrace& t, const detail::ChunkRef& c, std::span<const uint8_t> p, std::vector<StackTrace>& found);
    void readModules(detail::MappedTrace& t, const detail::ChunkRef& c, std::span<const uint8_t> p);
    void readNames(detail::MappedTrace& t, const detail::ChunkRef& c, std::span<const uint8_t> p);
    void readEvents(detail::MappedTrace& t, std::vector<const detail::ChunkRef*>& chunks);
    struct IndexedThread;
    void indexThread(std::span<const detail::ChunkRef* const> chunks, std::span<const uint8_t> overLimit, bool flight,
        IndexedThread& out) const;
    class AnchorBuilder;
    const ThreadInfo* threadInfo(uint32_t tid) const;
    void indexSequences();
    void fillSummary(detail::MappedTrace& t);
};

} // namespace ravel
