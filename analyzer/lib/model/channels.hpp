// What the analyzer knows about each channel (ravel::chan, annotated queues): its capacity, when it
// was closed, and which threads used it in which role and since when. The wait-for reduction asks
// it who may still wake a thread blocked in send, recv or select (DESIGN.md: "threads that may
// still send / receive or close it"), the replay model keeps one for the whole run, and the live
// watchdog builds one from the trace's events when a channel stall is suspected.
#pragma once

#include "trace/trace_reader.hpp"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace ravel {

inline constexpr uint64_t kNever = UINT64_MAX;

// The operation a thread blocked on a channel is in (WaitSpan::op, ThreadSnapshot::blockedAux).
enum class ChanOp : uint8_t { None = 0, Send = 1, Recv = 2, Select = 3 };

// A select case: the channel and whether it is a send case.
struct SelectCase {
    uint64_t channel = 0; // address
    bool send = false;
};

struct ChannelInfo {
    uint64_t address = 0;
    uint32_t capacity = 0;          // 0 unbuffered; UINT32_MAX unbounded
    uint64_t createdNs = kNever;
    uint32_t creator = 0;           // ravel thread id, 0 unknown (never saw CHAN_CREATE)
    uint64_t closedNs = kNever;     // first successful close
    uint32_t closer = 0;
    // Thread id -> first time it sent / received / closed (a role it has shown it plays).
    std::unordered_map<uint32_t, uint64_t> senders;
    std::unordered_map<uint32_t, uint64_t> receivers;
    uint64_t sent = 0;              // messages
    uint64_t received = 0;
    uint64_t occupancy = 0;         // messages in the buffer now (sent - received, by the events)
    uint64_t maxOccupancy = 0;
    std::string name;               // from the names table, "" when unnamed

    bool closedAt(uint64_t t) const { return closedNs != kNever && closedNs <= t; }
};

// Exited-or-not as the wait-for reduction needs it: whether thread `id` can still act at the instant
// considered. Supplied by the caller (live board, replay model at t, or "at exit").
struct ThreadLiveness {
    virtual ~ThreadLiveness() = default;
    virtual bool alive(uint32_t id) const = 0;
};

class ChannelTable {
public:
    // Feed every event in the trace's global order (only channel events are looked at).
    void onEvent(const Event& e);
    // Names from the names table (latest record per address wins).
    void setName(uint64_t address, const std::string& name);

    const ChannelInfo* find(uint64_t address) const;
    const std::unordered_map<uint64_t, ChannelInfo>& all() const { return m_channels; }
    bool empty() const { return m_channels.empty(); }

    // Who may still complete `op` (Send / Recv) on `channel` for thread `self` at instant t:
    // for a receive, threads that have sent to it or closed it, or created it; for a send, threads
    // that have received from it or created it, all still alive. `goneForGood` is set when the
    // channel's other side had users and every one of them has exited (and it is not closed): a
    // send there can never complete.
    std::vector<uint32_t> wakers(uint64_t channel, ChanOp op, uint32_t self, uint64_t t, const ThreadLiveness& live,
                                 bool* goneForGood = nullptr) const;

private:
    ChannelInfo& at(uint64_t address);
    std::unordered_map<uint64_t, ChannelInfo> m_channels;
};

// Builds the table from a whole trace (events and names): what the watchdog reads while a channel
// stall is suspected.
ChannelTable channelTableOf(const TraceReader& trace);

// The name given to the object at `address` (a channel's constructor name, ravel_name) in force at
// t, from the names table; "" when it has none.
std::string objectNameAt(const TraceReader& trace, uint64_t address, uint64_t t = UINT64_MAX);

// "send", "receive", "select"
const char* chanOpName(ChanOp op);

} // namespace ravel
