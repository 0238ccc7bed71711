// Synchronization objects as the analyzer sees them: an object is (address, generation), never an
// address alone (DESIGN.md, "Object identity"), so a heap mutex freed and reallocated at the same
// address, or a stack mutex of a thread that exited, never merges with its successor.
#pragma once

#include "trace/kind_names.hpp"
#include "trace/trace_reader.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ravel {

class Symbolizer;

inline constexpr uint32_t kNoObject = UINT32_MAX;

struct ObjectRecord {
    uint64_t address = 0;
    uint64_t firstNs = 0;
    uint32_t generation = 0;  // 0 for the first object seen at this address
    uint32_t firstStack = 0;  // stack of its first event (0: none recorded)
    uint32_t firstThread = 0;
    uint32_t threadId = 0;    // kind thread: the ravel tid of the thread (from JOIN_REQ), 0 unknown
    uint32_t holders = 0;     // acquisitions not yet released (all threads)
    uint8_t kind = 0;         // RAVEL_OBJ_*
    bool retired = false;     // destroyed or its memory released: the next use is a new object
};
// A trace of short-lived locks has millions of these (one per lock generation, in every pass).
static_assert(sizeof(ObjectRecord) == 40);

// Open-addressing map address -> object index. The per-event lookup is the hot path of every
// analysis (20M events/s budget), so no node allocation and no std::hash indirection.
class AddressMap {
public:
    AddressMap();
    uint32_t find(uint64_t key) const // kNoObject when absent
    {
        const size_t mask = m_slots.size() - 1;
        for (size_t i = slotFor(key);; i = (i + 1) & mask) {
            const Slot& s = m_slots[i];
            if (s.key == key)
                return s.value;
            if (s.key == kEmpty)
                return kNoObject;
        }
    }
    void set(uint64_t key, uint32_t value);
    size_t size() const { return m_size; }

private:
    static constexpr uint64_t kEmpty = ~uint64_t(0); // addresses are 48-bit, never all ones
    struct Slot {
        uint64_t key;
        uint32_t value;
    };
    // Fibonacci hashing: objects are often 8- or 64-byte aligned, the multiply spreads the low bits.
    size_t slotFor(uint64_t key) const { return size_t((key * 0x9E3779B97F4A7C15ull) >> m_shift); }
    void grow();
    std::vector<Slot> m_slots;
    size_t m_size = 0;
    unsigned m_shift = 0;
};

// Maps each event to the object it acts on, applying the generation rules of docs/trace-format.md
// ("Object identity"): a new generation at INIT, after DESTROY, when a FREE range covers the
// object (never while it is held), when the thread whose stack holds it exits, when a new thread starts at a pthread_t, and
// (defensively) when an address is used as a different kind of object without any of those.
class ObjectTracker {
public:
    explicit ObjectTracker(const std::vector<ThreadInfo>& threads);
    // Sizes the object table for the trace's INIT and CHAN_CREATE events (most objects of a trace
    // with many short-lived ones begin with one), its pages populated at once: grown by doubling,
    // a table of millions of lock generations was copied and faulted in twice.
    void reserveFor(const TraceReader& trace);

    // The object index of the event (index into objects()), or kNoObject for events that act on
    // no synchronization object (thread start, time, free, ...). Call once per event, in order.
    uint32_t onEvent(const Event& e);
    const std::vector<ObjectRecord>& objects() const { return m_objects; }
    // The live objects the last FREE event retired (its memory held them), in address order.
    const std::vector<uint32_t>& freedByLastEvent() const { return m_freed; }

private:
    uint32_t lookup(const Event& e, unsigned kind);
    uint32_t create(const Event& e, unsigned kind);
    void retire(uint32_t index);
    void retireRange(uint64_t lo, uint64_t hi, unsigned keepKind = RAVEL_OBJ_NONE, std::vector<uint32_t>* retired = nullptr);
    // Removes a live entry (its node kept for reuse); the entry after it.
    std::map<uint64_t, uint32_t>::iterator spare(std::map<uint64_t, uint32_t>::iterator it);
    static constexpr size_t kSpareNodes = 64;

    std::vector<ObjectRecord> m_objects;
    AddressMap m_current;                // address -> latest object there (maybe retired)
    std::map<uint64_t, uint32_t> m_live; // address -> live object, for range retirement
    // Nodes of m_live whose objects were retired, for the next objects created: a lock created
    // and destroyed per request would otherwise allocate and free a node each time.
    std::vector<std::map<uint64_t, uint32_t>::node_type> m_spareNodes;
    std::unordered_map<uint32_t, std::pair<uint64_t, uint64_t>> m_threadStacks;
    std::unordered_map<uint64_t, uint32_t> m_pthreadThread; // pthread_t -> ravel tid running there
    std::vector<uint32_t> m_freed;
};

// Gives every object its display name once (DESIGN.md, "Object names"): the variable at its
// address, else its kind and first-use site; "#2", "#3" only where two objects would otherwise
// share a name. Names depend on the order objects are first seen, which is the same for every
// command, so info, dump and reports agree.
class ObjectNamer {
public:
    ObjectNamer(Symbolizer& symbolizer, const TraceReader& reader);
    // Call for index 0, 1, 2, ... in order of first use. The reference is valid until the next call.
    const std::string& name(uint32_t index, const ObjectRecord& object);

private:
    Symbolizer& m_symbolizer;
    const TraceReader& m_reader;
    std::vector<std::string> m_names; // by object index; empty = not named yet
    std::unordered_map<std::string, unsigned> m_seen;
};

} // namespace ravel
