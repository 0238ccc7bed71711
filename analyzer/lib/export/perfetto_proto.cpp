// The protobuf encoding of a Perfetto export: a Trace of TracePackets, written packet by packet
// (each built in a buffer, then appended with its length), so memory stays that of one packet and
// the output buffer. Field numbers: perfetto/perfetto_trace_subset.proto. One packet sequence;
// event names, categories, argument keys and repeated argument values are interned on it (each sent
// once, in the packet that first uses it), which is most of why the file is small.
//
// Why by hand and not libprotobuf: the subset is a dozen fields, writing them is ~200 lines, and it
// keeps protoc and generated code out of the build (protoc is only needed by the tests, to decode).
#include "export/internal/perfetto_sink.hpp"
#include "export/internal/proto_wire.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace ravel::perfetto_detail {

namespace {

// Field numbers (perfetto_trace_subset.proto).
namespace Trace {
constexpr uint32_t packet = 1;
}
namespace Packet {
constexpr uint32_t timestamp = 8, sequenceId = 10, trackEvent = 11, internedData = 12, sequenceFlags = 13,
                   trackDescriptor = 60;
constexpr uint32_t kIncrementalStateCleared = 1, kNeedsIncrementalState = 2;
}
namespace Track {
constexpr uint32_t uuid = 1, name = 2, process = 3, thread = 4, parentUuid = 5, childOrdering = 11,
                   siblingOrderRank = 12;
constexpr uint32_t kExplicit = 3;
}
namespace Process {
constexpr uint32_t pid = 1, name = 6;
}
namespace Thread {
constexpr uint32_t pid = 1, tid = 2, name = 5;
}
namespace Event {
constexpr uint32_t categoryIids = 3, debugAnnotations = 4, type = 9, nameIid = 10, trackUuid = 11, flowIds = 47,
                   terminatingFlowIds = 48;
constexpr uint32_t kSliceBegin = 1, kSliceEnd = 2, kInstant = 3;
}
namespace Annotation {
constexpr uint32_t nameIid = 1, boolValue = 2, uintValue = 3, stringValue = 6, stringValueIid = 17;
}
namespace Interned {
constexpr uint32_t categories = 1, eventNames = 2, annotationNames = 3, annotationStrings = 29;
constexpr uint32_t iid = 1, name = 2; // EventCategory, EventName, DebugAnnotationName; InternedString: iid, str
}

constexpr uint32_t kSequence = 1;

// Categories as the JSON has them; argument keys. Interned in the first packet with these iids.
enum Category : uint64_t { Blocked = 1, Chan, Lock, FindingCat };
constexpr const char* kCategories[] = { "blocked", "chan", "lock", "finding" };
enum Key : uint64_t { Object = 1, Outcome, At, Holder, Mode, Recursive, HeldAtEnd, To, From, Message, Number, Title,
    Threads, Objects };
constexpr const char* kKeys[] = { "object", "outcome", "at", "holder", "mode", "recursive",
    "held when the trace ended", "to", "from", "message", "finding", "title", "threads", "objects" };

// Track uuids: the kind in the low bits, so they never collide and stay short varints (every
// event carries one).
constexpr uint64_t processTrack(uint32_t pid)
{
    return uint64_t(pid) << 2 | 1;
}
constexpr uint64_t threadTrack(size_t index)
{
    return uint64_t(index) << 2 | 2;
}
constexpr uint64_t lockTrack(uint64_t n)
{
    return n << 2 | 3;
}
constexpr uint64_t kFindingsTrack = 4;

class ProtoSink final : public Sink {
public:
    explicit ProtoSink(std::FILE* out)
        : m_file(out)
    {
    }

    void begin(const std::string&, const std::string& processName, const std::vector<SinkThread>& threads) override
    {
        // The first packet clears the sequence's incremental state and interns the fixed names.
        m_packet.clear();
        m_packet.uint(Packet::sequenceId, kSequence);
        m_packet.uint(Packet::sequenceFlags, Packet::kIncrementalStateCleared);
        m_packet.open(Packet::internedData);
        for (uint64_t i = 0; i < std::size(kCategories); i++)
            entry(m_packet, Interned::categories, i + 1, kCategories[i]);
        for (uint64_t i = 0; i < std::size(kKeys); i++)
            entry(m_packet, Interned::annotationNames, i + 1, kKeys[i]);
        m_packet.close();
        emit();

        std::unordered_set<uint32_t> pids;
        for (const SinkThread& t : threads) {
            if (!pids.insert(t.pid).second)
                continue;
            // Thread tracks in ravel id order under their process; lock tracks after them.
            startTrack(processTrack(t.pid));
            m_packet.open(Track::process);
            m_packet.sint(Process::pid, t.pid);
            m_packet.string(Process::name, processName);
            m_packet.close();
            m_packet.uint(Track::childOrdering, Track::kExplicit);
            endTrack();
            if (m_firstPid == 0)
                m_firstPid = t.pid;
        }
        for (size_t i = 0; i < threads.size(); i++) {
            const SinkThread& t = threads[i];
            startTrack(threadTrack(i));
            m_packet.uint(Track::parentUuid, processTrack(t.pid));
            m_packet.string(Track::name, t.label);
            m_packet.open(Track::thread);
            m_packet.sint(Thread::pid, t.pid);
            m_packet.sint(Thread::tid, t.tid);
            m_packet.string(Thread::name, t.label);
            m_packet.close();
            m_packet.sint(Track::siblingOrderRank, t.ravelId);
            endTrack();
            m_threads.push_back({ t.pid, t.label });
        }
    }

    void wait(size_t thread, bool chan, const std::string& name, uint64_t start, uint64_t end, uint32_t object,
        const std::string& outcome, uint32_t stack, const std::string& site) override
    {
        uint64_t track = threadTrack(thread);
        uint64_t nameIid = eventName(name);
        startEvent(Event::kSliceBegin, track, chan ? Chan : Blocked, nameIid);
        annotateString(Object, objectId(object));
        annotateString(Outcome, outcome);
        if (!site.empty())
            annotateIid(At, siteIid(stack, site));
        endEvent(start);
        startEvent(Event::kSliceEnd, track, 0, 0);
        endEvent(end);
    }

    void marker(size_t thread, MarkerKind kind, const std::string& name, uint64_t ts, uint32_t object, size_t peer,
        uint64_t flowId, std::optional<uint64_t> message) override
    {
        bool lock = kind == MarkerKind::Release || kind == MarkerKind::Acquire;
        bool out = outgoing(kind);
        startEvent(Event::kInstant, threadTrack(thread), lock ? Lock : Chan, eventName(name));
        annotateString(Object, objectId(object));
        annotateString(out ? To : From, peer < m_threads.size() ? m_threads[peer].label : std::string("?"));
        if (message)
            annotateUint(Message, *message);
        // A flow starts at the release or send and ends at the acquisition or receive it let through.
        m_event.fixed64(out ? Event::flowIds : Event::terminatingFlowIds, flowId);
        endEvent(ts);
    }

    bool holdsByLock() const override { return true; }

    // Holds come grouped by lock, in start order: each lock's holds fill lanes (tracks of the lock's
    // name, which the viewer shows as one lane with depth), a hold in the first lane free at its
    // start, so slices on one track always nest.
    void hold(const SinkHold& h) override
    {
        if (h.object != m_lock || m_lanes.empty()) {
            m_lock = h.object;
            m_lanes.clear();
        }
        size_t lane = 0;
        while (lane < m_lanes.size() && m_lanes[lane].end > h.start)
            lane++;
        if (lane == m_lanes.size()) {
            uint64_t uuid = lockTrack(++m_lockTracks);
            startTrack(uuid);
            m_packet.uint(Track::parentUuid, processTrack(m_threads[h.thread].pid));
            m_packet.string(Track::name, *h.name);
            m_packet.sint(Track::siblingOrderRank, int64_t(1 << 30) + h.object);
            endTrack();
            m_lanes.push_back({ uuid, 0 });
        }
        m_lanes[lane].end = h.end;
        uint64_t track = m_lanes[lane].uuid;

        if (h.object >= m_lockNames.size())
            m_lockNames.resize(h.object + 1);
        if (!m_lockNames[h.object])
            m_lockNames[h.object] = eventName(*h.name);
        startEvent(Event::kSliceBegin, track, Lock, m_lockNames[h.object]);
        annotateString(Holder, m_threads[h.thread].label);
        annotateString(Object, objectId(h.object));
        if (h.shared)
            annotateString(Mode, "read");
        if (h.depth)
            annotateUint(Recursive, h.depth);
        if (h.open) {
            m_event.open(Event::debugAnnotations);
            m_event.uint(Annotation::nameIid, HeldAtEnd);
            m_event.boolean(Annotation::boolValue, true);
            m_event.close();
        }
        if (!h.site->empty())
            annotateIid(At, siteIid(h.stack, *h.site));
        endEvent(h.start);
        startEvent(Event::kSliceEnd, track, 0, 0);
        endEvent(h.end);
    }

    void finding(size_t number, const std::string& kind, const std::string& title, const std::string& threads,
        const std::string& objects, uint64_t ts) override
    {
        if (!m_findingsTrack) {
            startTrack(kFindingsTrack);
            m_packet.string(Track::name, "findings");
            endTrack();
            m_findingsTrack = true;
        }
        startEvent(Event::kInstant, kFindingsTrack, FindingCat, eventName(kind));
        annotateUint(Number, number);
        annotatePlain(Title, title);
        annotatePlain(Threads, threads);
        annotatePlain(Objects, objects);
        endEvent(ts);
    }

    void finish() override { flush(); }
    uint64_t events() const override { return m_packets; }
    uint64_t bytes() const override { return m_bytes; }

private:
    struct ThreadRef {
        uint32_t pid;
        std::string label;
    };
    struct Lane {
        uint64_t uuid;
        uint64_t end;
    };

    static void entry(ProtoMessage& m, uint32_t field, uint64_t iid, std::string_view name)
    {
        m.open(field);
        m.uint(Interned::iid, iid);
        m.string(Interned::name, name);
        m.close();
    }

    void startTrack(uint64_t uuid)
    {
        m_packet.clear();
        m_packet.uint(Packet::sequenceId, kSequence);
        m_packet.open(Packet::trackDescriptor);
        m_packet.uint(Track::uuid, uuid);
    }
    void endTrack()
    {
        m_packet.close();
        emit();
    }

    // Interning: an iid for the string, and the string queued for the packet being built if new.
    uint64_t eventName(const std::string& name)
    {
        auto [it, added] = m_eventNames.try_emplace(name, m_eventNames.size() + 1);
        if (added)
            m_newNames.push_back(&it->first);
        return it->second;
    }
    uint64_t stringIid(const std::string& value)
    {
        auto [it, added] = m_strings.try_emplace(value, m_strings.size() + 1);
        if (added)
            m_newStrings.push_back(&it->first);
        return it->second;
    }
    uint64_t siteIid(uint32_t stack, const std::string& site)
    {
        auto [it, added] = m_siteIids.try_emplace(stack, 0);
        if (added)
            it->second = stringIid(site);
        return it->second;
    }
    const std::string& objectId(uint32_t object)
    {
        m_objectId = fmt::format("o{}", object + 1);
        return m_objectId;
    }

    // An end names nothing (category 0, name 0): it closes the slice its track has open.
    void startEvent(uint32_t type, uint64_t track, uint64_t category, uint64_t nameIid)
    {
        m_event.clear();
        m_endEvent = type == Event::kSliceEnd;
        if (category)
            m_event.uint(Event::categoryIids, category);
        m_event.uint(Event::type, type);
        if (nameIid)
            m_event.uint(Event::nameIid, nameIid);
        m_event.uint(Event::trackUuid, track);
    }
    void annotateIid(uint64_t key, uint64_t iid)
    {
        m_event.open(Event::debugAnnotations);
        m_event.uint(Annotation::nameIid, key);
        m_event.uint(Annotation::stringValueIid, iid);
        m_event.close();
    }
    void annotateString(uint64_t key, const std::string& value) { annotateIid(key, stringIid(value)); }
    void annotatePlain(uint64_t key, std::string_view value)
    {
        m_event.open(Event::debugAnnotations);
        m_event.uint(Annotation::nameIid, key);
        m_event.string(Annotation::stringValue, value);
        m_event.close();
    }
    void annotateUint(uint64_t key, uint64_t value)
    {
        m_event.open(Event::debugAnnotations);
        m_event.uint(Annotation::nameIid, key);
        m_event.uint(Annotation::uintValue, value);
        m_event.close();
    }
    // The packet: its time, the sequence, the names it interns first, then the event.
    void endEvent(uint64_t ts)
    {
        m_packet.clear();
        m_packet.uint(Packet::timestamp, ts);
        m_packet.uint(Packet::sequenceId, kSequence);
        // Only what refers to interned names needs the sequence's state (an end refers to none).
        if (!m_endEvent)
            m_packet.uint(Packet::sequenceFlags, Packet::kNeedsIncrementalState);
        if (!m_newNames.empty() || !m_newStrings.empty()) {
            m_packet.open(Packet::internedData);
            for (const std::string* s : m_newNames)
                entry(m_packet, Interned::eventNames, m_eventNames.at(*s), *s);
            for (const std::string* s : m_newStrings)
                entry(m_packet, Interned::annotationStrings, m_strings.at(*s), *s);
            m_packet.close();
            m_newNames.clear();
            m_newStrings.clear();
        }
        m_packet.message(Packet::trackEvent, m_event);
        emit();
    }

    // Appends the packet as one `packet` field of Trace; flushed to the file a megabyte at a time.
    void emit()
    {
        char key = char(Trace::packet << 3 | ProtoMessage::Bytes);
        char len[10];
        m_out.push_back(key);
        m_out.append(len, ProtoMessage::encode(len, m_packet.size()));
        m_out.append(m_packet.data());
        m_packets++;
        if (m_out.size() >= kFlushAt)
            flush();
    }
    void flush()
    {
        if (!m_out.empty() && std::fwrite(m_out.data(), 1, m_out.size(), m_file) != m_out.size())
            throw std::runtime_error(std::strerror(errno ? errno : EIO));
        m_bytes += m_out.size();
        m_out.clear();
    }

    static constexpr size_t kFlushAt = 1 << 20;
    std::FILE* m_file;
    std::string m_out;
    ProtoMessage m_packet, m_event;
    uint64_t m_packets = 0, m_bytes = 0;
    uint32_t m_firstPid = 0;
    std::vector<ThreadRef> m_threads;
    std::unordered_map<std::string, uint64_t> m_eventNames, m_strings;
    std::unordered_map<uint32_t, uint64_t> m_siteIids;
    std::vector<const std::string*> m_newNames, m_newStrings;
    std::vector<uint64_t> m_lockNames; // event-name iid by object index, 0 until used
    std::string m_objectId;
    uint32_t m_lock = 0;
    std::vector<Lane> m_lanes;
    uint64_t m_lockTracks = 0;
    bool m_findingsTrack = false;
    bool m_endEvent = false;
};

} // namespace

std::unique_ptr<Sink> makeProtoSink(std::FILE* out)
{
    return std::make_unique<ProtoSink>(out);
}

} // namespace ravel::perfetto_detail
