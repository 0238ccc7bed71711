// The seam between what a Perfetto export shows and how it is encoded. perfetto_export.cpp walks
// the model once (threads, blocked slices, handoff and message markers, lock holds, findings, cut
// to the time window) and hands each item to a sink; the JSON sink (perfetto_export.cpp) and the
// protobuf sink (perfetto_proto.cpp) only encode. So both formats hold the same content by
// construction, and a new item is added once.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ravel::perfetto_detail {

struct SinkThread {
    uint32_t pid = 0;
    uint32_t tid = 0; // as written: the OS tid when every thread has its own, else the ravel id
    uint32_t ravelId = 0;
    std::string label; // "T2 philosopher"
};

// A zero-length slice that a flow end binds to, on the thread at that end.
enum class MarkerKind : uint8_t { Release, Acquire, Send, Receive };

inline bool outgoing(MarkerKind k)
{
    return k == MarkerKind::Release || k == MarkerKind::Send;
}

struct SinkHold {
    size_t thread = 0; // index into the threads given to begin()
    uint32_t id = 0; // 1-based, unique per hold
    uint32_t object = 0; // object index: a key for caches, "o<object+1>" in args
    const std::string* name = nullptr; // the lock's name
    uint64_t start = 0, end = 0;
    bool shared = false;
    uint16_t depth = 0;
    bool open = false; // held when the trace ended
    uint32_t stack = 0; // a key for caches
    const std::string* site = nullptr; // where it was acquired; may be empty
};

class Sink {
public:
    virtual ~Sink() = default;
    virtual void begin(const std::string& program, const std::string& processName, const std::vector<SinkThread>& threads)
        = 0;
    // A blocked slice (chan: a channel operation). `site` may be empty.
    virtual void wait(size_t thread, bool chan, const std::string& name, uint64_t start, uint64_t end,
        uint32_t object, const std::string& outcome, uint32_t stack, const std::string& site)
        = 0;
    // A marker and its flow end. `peer` is the thread at the flow's other end (SIZE_MAX: unknown).
    virtual void marker(size_t thread, MarkerKind kind, const std::string& name, uint64_t ts, uint32_t object,
        size_t peer, uint64_t flowId, std::optional<uint64_t> message)
        = 0;
    // Whether hold() wants the holds grouped by lock, each lock's in start order (else by thread).
    virtual bool holdsByLock() const = 0;
    virtual void hold(const SinkHold& h) = 0;
    virtual void finding(size_t number, const std::string& kind, const std::string& title, const std::string& threads,
        const std::string& objects, uint64_t ts)
        = 0;
    // Writes what is buffered; throws std::runtime_error when writing fails.
    virtual void finish() = 0;
    virtual uint64_t events() const = 0;
    virtual uint64_t bytes() const = 0;
};

std::unique_ptr<Sink> makeProtoSink(std::FILE* out);

} // namespace ravel::perfetto_detail
