#include "export/perfetto_export.hpp"

#include "export/graph_model.hpp"
#include "model/handoffs.hpp"
#include "model/replay_model.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

namespace ravel {

namespace {

// Validates UTF-8 as RFC 3629 does (no overlongs, no surrogates): a thread named with stray
// bytes must not make the whole file unreadable to a JSON parser. Returns the length of the
// sequence at s[i], or 0 when it is not valid.
size_t utf8Length(std::string_view s, size_t i)
{
    auto at = [&](size_t k) { return i + k < s.size() ? static_cast<unsigned char>(s[i + k]) : 0u; };
    auto cont = [&](size_t k) { return (at(k) & 0xc0) == 0x80; };
    unsigned c = at(0);
    if (c >= 0xc2 && c <= 0xdf)
        return cont(1) ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return at(1) >= lo && at(1) <= hi && cont(2) ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return at(1) >= lo && at(1) <= hi && cont(2) && cont(3) ? 4 : 0;
    }
    return 0;
}

// A JSON string literal, quotes included.
std::string jsonString(std::string_view s)
{
    std::string out;
    out.reserve(s.size() + 2);
    out.push_back('"');
    for (size_t i = 0; i < s.size();) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(char(c));
        } else if (c < 0x20) {
            out += fmt::format("\\u{:04x}", c);
        } else if (c < 0x80) {
            out.push_back(char(c));
        } else if (size_t n = utf8Length(s, i)) {
            out.append(s.substr(i, n));
            i += n;
            continue;
        } else {
            out.push_back('?');
        }
        i++;
    }
    out.push_back('"');
    return out;
}

// The output: events separated by ",\n", flushed to the file a megabyte at a time.
class EventWriter {
public:
    explicit EventWriter(std::FILE* out)
        : m_out(out)
    {
    }

    // Starts the next event; returns the buffer to append its fields to.
    fmt::memory_buffer& event()
    {
        if (m_buffer.size() >= kFlushAt)
            flush();
        if (m_events++ > 0)
            m_buffer.push_back(',');
        m_buffer.push_back('\n');
        return m_buffer;
    }
    // Formats are compiled (FMT_COMPILE): parsing a format string per event was a third of the time.
    template <typename Format, typename... Args> void raw(const Format& format, Args&&... args)
    {
        fmt::format_to(fmt::appender(m_buffer), format, std::forward<Args>(args)...);
    }
    void flush()
    {
        if (m_buffer.size() && std::fwrite(m_buffer.data(), 1, m_buffer.size(), m_out) != m_buffer.size())
            throw std::runtime_error(std::strerror(errno ? errno : EIO));
        m_bytes += m_buffer.size();
        m_buffer.clear();
    }
    uint64_t events() const { return m_events; }
    uint64_t bytes() const { return m_bytes; }

private:
    static constexpr size_t kFlushAt = 1 << 20;
    std::FILE* m_out;
    fmt::memory_buffer m_buffer;
    uint64_t m_events = 0;
    uint64_t m_bytes = 0;
};

// Trace-event timestamps are microseconds; three decimals keep every nanosecond, and integer
// arithmetic keeps them exact where a double would round past a few hours of run.
struct Micros {
    uint64_t ns;
};

} // namespace

} // namespace ravel

template <> struct fmt::formatter<ravel::Micros> {
    constexpr auto parse(format_parse_context& ctx) { return ctx.begin(); }
    template <typename Context> auto format(ravel::Micros t, Context& ctx) const
    {
        fmt::format_int whole(t.ns / 1000);
        unsigned frac = unsigned(t.ns % 1000);
        const char tail[4] = { '.', char('0' + frac / 100), char('0' + frac / 10 % 10), char('0' + frac % 10) };
        auto out = std::copy(whole.data(), whole.data() + whole.size(), ctx.out());
        return std::copy(tail, tail + 4, out);
    }
};

namespace ravel {

std::string blockedSliceName(unsigned flags, const std::string& objectName)
{
    const char* what = "wait";
    switch (flags & 0x0f) {
    case RAVEL_OBJ_MUTEX:
    case RAVEL_OBJ_SPIN:
        what = "lock";
        break;
    case RAVEL_OBJ_RWLOCK:
        what = flags & RAVEL_F_SHARED ? "read lock" : "write lock";
        break;
    case RAVEL_OBJ_COND:
        what = "cond wait";
        break;
    case RAVEL_OBJ_SEM:
        what = "sem wait";
        break;
    case RAVEL_OBJ_BARRIER:
        what = "barrier";
        break;
    case RAVEL_OBJ_ONCE:
        what = "once";
        break;
    case RAVEL_OBJ_GUARD:
        what = "static init";
        break;
    case RAVEL_OBJ_THREAD:
        what = "join";
        break;
    case RAVEL_OBJ_PROCESS:
        what = "waitpid";
        break;
    case RAVEL_OBJ_CHAN:
        what = "channel";
        break;
    case RAVEL_OBJ_PIPE:
        what = "pipe";
        break;
    default:
        break;
    }
    return fmt::format("{} {}{}", what, objectName, flags & RAVEL_F_TIMED ? " (timed)" : "");
}

namespace {

std::string outcomeText(const WaitSpan& w)
{
    switch (w.outcome) {
    case WaitOutcome::Open:
        return "still blocked when the trace ended";
    case WaitOutcome::Acquired:
        return "acquired";
    case WaitOutcome::Woken:
        return w.op == ChanOp::Send  ? "sent"
            : w.op == ChanOp::Recv   ? "received"
            : w.op == ChanOp::Select ? "chosen"
                                     : "woken";
    case WaitOutcome::Joined:
        return "joined";
    case WaitOutcome::Failed:
        if (const char* name = w.error ? strerrorname_np(w.error) : nullptr)
            return fmt::format("failed: {}", name);
        return "failed";
    }
    return "";
}

std::string programName(const std::string& path)
{
    size_t slash = path.rfind('/');
    std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
    return base.empty() ? "process" : base;
}

class Exporter {
public:
    Exporter(const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming, std::FILE* out)
        : m_model(model)
        , m_findings(findings)
        , m_naming(naming)
        , m_out(out)
    {
    }

    PerfettoStats run()
    {
        // A hung program's last event is its last thread blocking; the watchdog saw it still blocked
        // at its verdict, so open spans run until then, as `ravel info` counts the duration.
        m_endNs = std::max(m_model.endNs(), m_model.trace().summary().verdict_ns);
        prepareThreads();
        m_handoffs = computeHandoffs(m_model);
        collectMarkers();
        m_out.raw(FMT_COMPILE("{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"ravel\",\"program\":{}}},"
                              "\"traceEvents\":["),
            jsonString(m_model.trace().summary().program));
        writeMetadata();
        for (size_t i = 0; i < m_threads.size(); i++)
            writeThreadTrack(i);
        writeHolds();
        writeFindings();
        m_out.raw(FMT_COMPILE("\n]}}\n"));
        m_out.flush();
        m_stats.events = m_out.events();
        m_stats.bytes = m_out.bytes();
        return m_stats;
    }

private:
    struct ThreadOut {
        uint32_t pid = 0;
        uint32_t tid = 0; // as written: the OS tid when every thread has its own, else the ravel id
        std::string label; // JSON string: "T2 philosopher"
    };
    // A zero-length slice that a flow end binds to: Perfetto binds "s" and "f" to the slice open on
    // the thread's track when it reads them, so each end gets a slice of its own at its instant.
    enum class MarkerKind : uint8_t { Release, Acquire, Send, Receive };
    struct Marker {
        uint32_t thread; // index into m_threads
        uint64_t ts;
        uint32_t index; // into m_handoffs (Release, Acquire) or the model's messages() (Send, Receive)
        MarkerKind kind;
        bool outgoing() const { return kind == MarkerKind::Release || kind == MarkerKind::Send; }
    };

    void prepareThreads()
    {
        const auto& threads = m_model.threads();
        std::unordered_set<uint32_t> osTids;
        bool osTidsUnique = true;
        for (const ModelThread& t : threads)
            osTidsUnique = osTidsUnique && t.osTid != 0 && osTids.insert(t.osTid).second;
        uint32_t tracePid = m_model.trace().summary().pid;
        for (const ModelThread& t : threads) {
            ThreadOut o;
            o.pid = t.pid ? t.pid : tracePid;
            o.tid = osTidsUnique ? t.osTid : t.id;
            o.label = jsonString(threadLabel(t));
            m_threads.push_back(std::move(o));
        }
    }

    // "T2 philosopher"; the unnamed initial thread is "T1 main", as the graphs call it.
    static std::string threadLabel(const ModelThread& t)
    {
        return graphThreadLabel(t.id, t.name.empty() && t.parent == 0 ? "main" : t.name);
    }

    size_t threadIndex(uint32_t id) const
    {
        const ModelThread* t = m_model.thread(id);
        return t ? size_t(t - m_model.threads().data()) : SIZE_MAX;
    }

    // Names by object index, plain and as JSON strings; both made on first use.
    const std::string& objectName(uint32_t object)
    {
        if (object >= m_objectNames.size()) {
            m_objectNames.resize(std::max<size_t>(object + 1, m_model.objects().size()));
            m_objectJson.resize(m_objectNames.size());
        }
        std::string& name = m_objectNames[object];
        if (name.empty())
            name = m_naming.objectName(object);
        return name;
    }
    const std::string& objectJson(uint32_t object)
    {
        const std::string& name = objectName(object);
        std::string& json = m_objectJson[object];
        if (json.empty())
            json = jsonString(name);
        return json;
    }
    const std::string& siteJson(uint32_t stack)
    {
        auto [it, added] = m_sites.try_emplace(stack);
        if (added) {
            std::string site = m_naming.site(stack);
            it->second = site.empty() ? std::string() : jsonString(site);
        }
        return it->second;
    }

    void writeMetadata()
    {
        std::string process = jsonString(programName(m_model.trace().summary().program));
        std::unordered_set<uint32_t> pids;
        for (const ThreadOut& t : m_threads) {
            if (!pids.insert(t.pid).second)
                continue;
            m_out.event();
            m_out.raw(
                FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"tid\":0,\"args\":{{\"name\":{}}}}}"),
                t.pid, process);
            m_out.event();
            m_out.raw(FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{},\"tid\":0,"
                                  "\"args\":{{\"sort_index\":{}}}}}"),
                t.pid, pids.size());
        }
        for (size_t i = 0; i < m_threads.size(); i++) {
            const ThreadOut& t = m_threads[i];
            m_out.event();
            m_out.raw(
                FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}"),
                t.pid, t.tid, t.label);
            m_out.event();
            m_out.raw(FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{},\"tid\":{},"
                                  "\"args\":{{\"sort_index\":{}}}}}"),
                t.pid, t.tid, m_model.threads()[i].id);
        }
    }

    // Blocked slices and handoff markers of one thread, in time order (X events of a track must not
    // go back in time for the viewers that do not sort them). At one instant a wait comes before a
    // marker, so the marker is the slice open when its flow event is read.
    void writeThreadTrack(size_t ti)
    {
        const ModelThread& mt = m_model.threads()[ti];
        const ThreadOut& t = m_threads[ti];
        auto markerBegin = std::lower_bound(
            m_markers.begin(), m_markers.end(), uint32_t(ti), [](const Marker& m, uint32_t v) { return m.thread < v; });
        auto marker = markerBegin;
        auto markersEnd = std::upper_bound(
            markerBegin, m_markers.end(), uint32_t(ti), [](uint32_t v, const Marker& m) { return v < m.thread; });
        const auto& waits = m_model.waitSpans();
        for (size_t k = 0; k <= mt.waits.size(); k++) {
            // Past the last wait, every remaining marker (a marker is never at kOpenEnd).
            uint64_t nextWait = k < mt.waits.size() ? waits[mt.waits[k]].start : kOpenEnd;
            for (; marker != markersEnd && marker->ts < nextWait; ++marker)
                writeMarker(*marker, t);
            if (k < mt.waits.size())
                writeWait(waits[mt.waits[k]], t);
        }
    }

    void collectMarkers()
    {
        const std::vector<MessageLink>& messages = m_model.messages();
        m_markers.reserve((m_handoffs.size() + messages.size()) * 2);
        auto add = [&](uint32_t fromThread, uint64_t fromNs, uint32_t toThread, uint64_t toNs, uint32_t index,
                       MarkerKind out, MarkerKind in) {
            size_t from = threadIndex(fromThread), to = threadIndex(toThread);
            if (from == SIZE_MAX || to == SIZE_MAX)
                return;
            m_markers.push_back({ uint32_t(from), fromNs, index, out });
            // A rendezvous receive can be stamped a hair before its send: a flow must not run back
            // in time, or a viewer reads its end before its start and drops it.
            m_markers.push_back({ uint32_t(to), std::max(fromNs, toNs), index, in });
        };
        for (uint32_t i = 0; i < m_handoffs.size(); i++) {
            const Handoff& h = m_handoffs[i];
            add(h.fromThread, h.releaseNs, h.toThread, h.acquireNs, i, MarkerKind::Release, MarkerKind::Acquire);
        }
        for (uint32_t i = 0; i < messages.size(); i++) {
            const MessageLink& m = messages[i];
            add(m.sender, m.sendNs, m.receiver, m.recvNs, i, MarkerKind::Send, MarkerKind::Receive);
        }
        std::sort(m_markers.begin(), m_markers.end(), [](const Marker& a, const Marker& b) {
            return std::tie(a.thread, a.ts, a.kind, a.index) < std::tie(b.thread, b.ts, b.kind, b.index);
        });
        m_stats.flows = m_markers.size() / 2;
    }

    // "send jobs", "recv results", "select jobs, quit" (the channels of its cases, sends marked).
    std::string channelSliceName(const WaitSpan& w)
    {
        if (w.op != ChanOp::Select)
            return fmt::format("{} {}", w.op == ChanOp::Send ? "send" : "recv", objectName(w.object));
        std::string cases;
        const auto& all = m_model.selectCases();
        for (uint32_t i = w.cases; i < w.cases + w.caseCount && i < all.size(); i++)
            cases += fmt::format(
                "{}{}{}", cases.empty() ? "" : ", ", all[i].send ? "send " : "", objectName(all[i].object));
        return cases.empty() ? "select" : "select " + cases;
    }

    void writeWait(const WaitSpan& w, const ThreadOut& t)
    {
        uint64_t end = w.end == kOpenEnd ? std::max(m_endNs, w.start) : w.end;
        std::string name
            = jsonString(w.op == ChanOp::None ? blockedSliceName(w.flags, objectName(w.object)) : channelSliceName(w));
        m_out.event();
        // A channel operation is a span even when it did not block: not every one is a wait.
        m_out.raw(FMT_COMPILE("{{\"ph\":\"X\",\"cat\":\"{}\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},"
                              "\"args\":{{\"object\":\"o{}\",\"outcome\":\"{}\""),
            w.op == ChanOp::None ? "blocked" : "chan", name, t.pid, t.tid, Micros { w.start }, Micros { end - w.start },
            w.object + 1, outcomeText(w));
        if (const std::string& site = siteJson(w.stack); !site.empty())
            m_out.raw(FMT_COMPILE(",\"at\":{}"), site);
        m_out.raw(FMT_COMPILE("}}}}"));
        m_stats.waits++;
    }

    void writeMarker(const Marker& m, const ThreadOut& t)
    {
        bool lock = m.kind == MarkerKind::Release || m.kind == MarkerKind::Acquire;
        uint32_t object = 0, other = 0, flowId = m.index + 1;
        std::string extra;
        if (lock) {
            const Handoff& h = m_handoffs[m.index];
            object = h.object;
            other = m.outgoing() ? h.toThread : h.fromThread;
        } else {
            const MessageLink& msg = m_model.messages()[m.index];
            object = msg.chan;
            other = m.outgoing() ? msg.receiver : msg.sender;
            extra = fmt::format(",\"message\":{}", msg.id);
            flowId += uint32_t(m_handoffs.size()); // one id space for all flows, whatever the viewer keys by
        }
        static constexpr const char* verbs[] = { "unlock", "acquired", "sent on", "received from" };
        const char* cat = lock ? "lock" : "chan";
        const ModelThread* peer = m_model.thread(other);
        m_out.event();
        m_out.raw(FMT_COMPILE("{{\"ph\":\"X\",\"cat\":\"{}\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":0,"
                              "\"args\":{{\"object\":\"o{}\",\"{}\":{}{}}}}}"),
            cat, jsonString(fmt::format("{} {}", verbs[size_t(m.kind)], objectName(object))), t.pid, t.tid,
            Micros { m.ts }, object + 1, m.outgoing() ? "to" : "from",
            peer ? m_threads[size_t(peer - m_model.threads().data())].label : "\"?\"", extra);
        // The flow shares the marker's category and instant: chrome://tracing binds them by
        // (pid, tid, ts, cat), Perfetto to the slice open when it reads the flow event.
        m_out.event();
        m_out.raw(
            FMT_COMPILE("{{\"ph\":\"{}\",{}\"cat\":\"{}\",\"name\":\"{}\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}}}"),
            m.outgoing() ? "s" : "f", m.outgoing() ? "" : "\"bp\":\"e\",", cat, lock ? "handoff" : "message", flowId,
            t.pid, t.tid, Micros { m.ts });
    }

    void writeHolds()
    {
        const auto& holds = m_model.holdSpans();
        for (size_t ti = 0; ti < m_threads.size(); ti++) {
            const ThreadOut& t = m_threads[ti];
            for (uint32_t hi : m_model.threads()[ti].holds) {
                const HoldSpan& h = holds[hi];
                const std::string& name = objectJson(h.object);
                bool open = h.end == kOpenEnd;
                uint64_t end = open ? std::max(m_endNs, h.start) : h.end;
                m_out.event();
                m_out.raw(
                    FMT_COMPILE("{{\"ph\":\"b\",\"cat\":\"lock\",\"name\":{},\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{},"
                                "\"args\":{{\"holder\":{},\"object\":\"o{}\""),
                    name, hi + 1, t.pid, t.tid, Micros { h.start }, t.label, h.object + 1);
                if (h.flags & RAVEL_F_SHARED)
                    m_out.raw(FMT_COMPILE(",\"mode\":\"read\""));
                if (h.depth)
                    m_out.raw(FMT_COMPILE(",\"recursive\":{}"), h.depth);
                if (open)
                    m_out.raw(FMT_COMPILE(",\"held when the trace ended\":true"));
                if (const std::string& site = siteJson(h.stack); !site.empty())
                    m_out.raw(FMT_COMPILE(",\"at\":{}"), site);
                m_out.raw(FMT_COMPILE("}}}}"));
                m_out.event();
                m_out.raw(
                    FMT_COMPILE(
                        "{{\"ph\":\"e\",\"cat\":\"lock\",\"name\":{},\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}}}"),
                    name, hi + 1, t.pid, t.tid, Micros { end });
                m_stats.holds++;
            }
        }
    }

    void writeFindings()
    {
        uint32_t pid = m_threads.empty() ? m_model.trace().summary().pid : m_threads.front().pid;
        for (size_t i = 0; i < m_findings.size(); i++) {
            const Finding& f = m_findings[i];
            std::string threads, objects;
            for (const FindingThread& t : f.threads) {
                const ModelThread* mt = m_model.thread(t.id);
                threads += (threads.empty() ? "" : ", ") + (mt ? threadLabel(*mt) : graphThreadLabel(t.id, t.name));
            }
            for (const FindingObject& o : f.objects)
                objects += (objects.empty() ? "" : ", ") + o.name;
            std::string kind
                = f.certainty == Verdict::None ? f.kind : fmt::format("{} ({})", f.kind, verdictName(f.certainty));
            m_out.event();
            m_out.raw(
                FMT_COMPILE("{{\"ph\":\"i\",\"s\":\"g\",\"cat\":\"finding\",\"name\":{},\"pid\":{},\"tid\":0,\"ts\":{},"
                            "\"args\":{{\"finding\":{},\"title\":{},\"threads\":{},\"objects\":{}}}}}"),
                jsonString(kind), pid, Micros { f.timeNs }, i + 1, jsonString(f.title), jsonString(threads),
                jsonString(objects));
            m_stats.findings++;
        }
    }

    const ReplayModel& m_model;
    const std::vector<Finding>& m_findings;
    GraphNaming& m_naming;
    EventWriter m_out;
    PerfettoStats m_stats;
    uint64_t m_endNs = 0;
    std::vector<ThreadOut> m_threads;
    std::vector<Handoff> m_handoffs;
    std::vector<Marker> m_markers;
    std::vector<std::string> m_objectNames;
    std::vector<std::string> m_objectJson;
    std::unordered_map<uint32_t, std::string> m_sites;
};

} // namespace

PerfettoStats writePerfettoJson(
    const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming, std::FILE* out)
{
    return Exporter(model, findings, naming, out).run();
}

} // namespace ravel
