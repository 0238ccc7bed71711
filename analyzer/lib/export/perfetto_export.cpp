#include "export/perfetto_export.hpp"

#include "export/graph_model.hpp"
#include "export/internal/perfetto_sink.hpp"
#include "model/handoffs.hpp"
#include "model/replay_model.hpp"

#include <fmt/compile.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
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

using perfetto_detail::MarkerKind;
using perfetto_detail::SinkHold;
using perfetto_detail::SinkThread;

// The JSON encoding: Chrome trace events, one per line, in the order the walker gives them.
class JsonSink final : public perfetto_detail::Sink {
public:
    explicit JsonSink(std::FILE* out)
        : m_out(out)
    {
    }

    void begin(const std::string& program, const std::string& processName, const std::vector<SinkThread>& threads) override
    {
        m_out.raw(FMT_COMPILE("{{\"displayTimeUnit\":\"ns\",\"otherData\":{{\"producer\":\"ravel\",\"program\":{}}},"
                              "\"traceEvents\":["),
            jsonString(program));
        std::string process = jsonString(processName);
        std::unordered_set<uint32_t> pids;
        for (const SinkThread& t : threads) {
            m_threads.push_back({ t.pid, t.tid, jsonString(t.label) });
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
        for (size_t i = 0; i < threads.size(); i++) {
            const Thread& t = m_threads[i];
            m_out.event();
            m_out.raw(
                FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}}}"),
                t.pid, t.tid, t.label);
            m_out.event();
            m_out.raw(FMT_COMPILE("{{\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{},\"tid\":{},"
                                  "\"args\":{{\"sort_index\":{}}}}}"),
                t.pid, t.tid, threads[i].ravelId);
        }
        if (!threads.empty())
            m_pid = threads.front().pid;
    }

    void wait(size_t thread, bool chan, const std::string& name, uint64_t start, uint64_t end, uint32_t object,
        const std::string& outcome, uint32_t stack, const std::string& site) override
    {
        const Thread& t = m_threads[thread];
        m_out.event();
        // A channel operation is a span even when it did not block: not every one is a wait.
        m_out.raw(FMT_COMPILE("{{\"ph\":\"X\",\"cat\":\"{}\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},"
                              "\"args\":{{\"object\":\"o{}\",\"outcome\":\"{}\""),
            chan ? "chan" : "blocked", jsonString(name), t.pid, t.tid, Micros { start }, Micros { end - start },
            object + 1, outcome);
        if (const std::string& json = siteJson(stack, site); !json.empty())
            m_out.raw(FMT_COMPILE(",\"at\":{}"), json);
        m_out.raw(FMT_COMPILE("}}}}"));
    }

    void marker(size_t thread, MarkerKind kind, const std::string& name, uint64_t ts, uint32_t object, size_t peer,
        uint64_t flowId, std::optional<uint64_t> message) override
    {
        const Thread& t = m_threads[thread];
        bool lock = kind == MarkerKind::Release || kind == MarkerKind::Acquire;
        bool out = perfetto_detail::outgoing(kind);
        std::string extra = message ? fmt::format(",\"message\":{}", *message) : std::string();
        const char* cat = lock ? "lock" : "chan";
        m_out.event();
        m_out.raw(FMT_COMPILE("{{\"ph\":\"X\",\"cat\":\"{}\",\"name\":{},\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":0,"
                              "\"args\":{{\"object\":\"o{}\",\"{}\":{}{}}}}}"),
            cat, jsonString(name), t.pid, t.tid, Micros { ts }, object + 1, out ? "to" : "from",
            peer < m_threads.size() ? m_threads[peer].label : "\"?\"", extra);
        // The flow shares the marker's category and instant: chrome://tracing binds them by
        // (pid, tid, ts, cat), Perfetto to the slice open when it reads the flow event.
        m_out.event();
        m_out.raw(
            FMT_COMPILE("{{\"ph\":\"{}\",{}\"cat\":\"{}\",\"name\":\"{}\",\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}}}"),
            out ? "s" : "f", out ? "" : "\"bp\":\"e\",", cat, lock ? "handoff" : "message", flowId, t.pid, t.tid,
            Micros { ts });
    }

    bool holdsByLock() const override { return false; }

    void hold(const SinkHold& h) override
    {
        const Thread& t = m_threads[h.thread];
        const std::string& name = objectJson(h.object, *h.name);
        m_out.event();
        m_out.raw(FMT_COMPILE("{{\"ph\":\"b\",\"cat\":\"lock\",\"name\":{},\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{},"
                              "\"args\":{{\"holder\":{},\"object\":\"o{}\""),
            name, h.id, t.pid, t.tid, Micros { h.start }, t.label, h.object + 1);
        if (h.shared)
            m_out.raw(FMT_COMPILE(",\"mode\":\"read\""));
        if (h.depth)
            m_out.raw(FMT_COMPILE(",\"recursive\":{}"), h.depth);
        if (h.open)
            m_out.raw(FMT_COMPILE(",\"held when the trace ended\":true"));
        if (const std::string& site = siteJson(h.stack, *h.site); !site.empty())
            m_out.raw(FMT_COMPILE(",\"at\":{}"), site);
        m_out.raw(FMT_COMPILE("}}}}"));
        m_out.event();
        m_out.raw(
            FMT_COMPILE("{{\"ph\":\"e\",\"cat\":\"lock\",\"name\":{},\"id\":{},\"pid\":{},\"tid\":{},\"ts\":{}}}"),
            name, h.id, t.pid, t.tid, Micros { h.end });
    }

    void finding(size_t number, const std::string& kind, const std::string& title, const std::string& threads,
        const std::string& objects, uint64_t ts) override
    {
        m_out.event();
        m_out.raw(
            FMT_COMPILE("{{\"ph\":\"i\",\"s\":\"g\",\"cat\":\"finding\",\"name\":{},\"pid\":{},\"tid\":0,\"ts\":{},"
                        "\"args\":{{\"finding\":{},\"title\":{},\"threads\":{},\"objects\":{}}}}}"),
            jsonString(kind), m_pid, Micros { ts }, number, jsonString(title), jsonString(threads),
            jsonString(objects));
    }

    void finish() override
    {
        m_out.raw(FMT_COMPILE("\n]}}\n"));
        m_out.flush();
    }
    uint64_t events() const override { return m_out.events(); }
    uint64_t bytes() const override { return m_out.bytes(); }

    void setPid(uint32_t pid) { m_pid = pid; }

private:
    struct Thread {
        uint32_t pid, tid;
        std::string label; // as a JSON string
    };

    const std::string& objectJson(uint32_t object, const std::string& name)
    {
        if (object >= m_objectJson.size())
            m_objectJson.resize(object + 1);
        std::string& json = m_objectJson[object];
        if (json.empty())
            json = jsonString(name);
        return json;
    }
    const std::string& siteJson(uint32_t stack, const std::string& site)
    {
        auto [it, added] = m_sites.try_emplace(stack);
        if (added && !site.empty())
            it->second = jsonString(site);
        return it->second;
    }

    EventWriter m_out;
    std::vector<Thread> m_threads;
    uint32_t m_pid = 0;
    std::vector<std::string> m_objectJson;
    std::unordered_map<uint32_t, std::string> m_sites;
};

// Walks the model once, in the order the viewers want, cut to the window, into a sink.
class Exporter {
public:
    Exporter(const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming,
        const PerfettoOptions& options, perfetto_detail::Sink& sink)
        : m_model(model)
        , m_findings(findings)
        , m_naming(naming)
        , m_from(options.fromNs)
        , m_to(std::max(options.fromNs, options.toNs))
        , m_sink(sink)
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
        m_sink.begin(m_model.trace().summary().program, programName(m_model.trace().summary().program), m_threads);
        for (size_t i = 0; i < m_threads.size(); i++)
            writeThreadTrack(i);
        writeHolds();
        writeFindings();
        m_sink.finish();
        m_stats.events = m_sink.events();
        m_stats.bytes = m_sink.bytes();
        return m_stats;
    }

private:
    struct Marker {
        uint32_t thread; // index into m_threads
        uint64_t ts;
        uint32_t index; // into m_handoffs (Release, Acquire) or the model's messages() (Send, Receive)
        MarkerKind kind;
    };

    // [start, end] cut to the window; false when they do not meet.
    bool clip(uint64_t& start, uint64_t& end) const
    {
        if (end < m_from || start > m_to)
            return false;
        start = std::max(start, m_from);
        end = std::min(end, m_to);
        return true;
    }
    bool inWindow(uint64_t ts) const { return ts >= m_from && ts <= m_to; }

    void prepareThreads()
    {
        const auto& threads = m_model.threads();
        std::unordered_set<uint32_t> osTids;
        bool osTidsUnique = true;
        for (const ModelThread& t : threads)
            osTidsUnique = osTidsUnique && t.osTid != 0 && osTids.insert(t.osTid).second;
        uint32_t tracePid = m_model.trace().summary().pid;
        for (const ModelThread& t : threads) {
            SinkThread o;
            o.pid = t.pid ? t.pid : tracePid;
            o.tid = osTidsUnique ? t.osTid : t.id;
            o.ravelId = t.id;
            o.label = threadLabel(t);
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

    // Names by object index, made on first use.
    const std::string& objectName(uint32_t object)
    {
        if (object >= m_objectNames.size())
            m_objectNames.resize(std::max<size_t>(object + 1, m_model.objects().size()));
        std::string& name = m_objectNames[object];
        if (name.empty())
            name = m_naming.objectName(object);
        return name;
    }
    const std::string& site(uint32_t stack)
    {
        auto [it, added] = m_sites.try_emplace(stack);
        if (added)
            it->second = m_naming.site(stack);
        return it->second;
    }

    // Blocked slices and handoff markers of one thread, in time order (X events of a track must not
    // go back in time for the viewers that do not sort them). At one instant a wait comes before a
    // marker, so the marker is the slice open when its flow event is read.
    void writeThreadTrack(size_t ti)
    {
        const ModelThread& mt = m_model.threads()[ti];
        auto markerBegin = std::lower_bound(
            m_markers.begin(), m_markers.end(), uint32_t(ti), [](const Marker& m, uint32_t v) { return m.thread < v; });
        auto marker = markerBegin;
        auto markersEnd = std::upper_bound(
            markerBegin, m_markers.end(), uint32_t(ti), [](uint32_t v, const Marker& m) { return v < m.thread; });
        const auto& waits = m_model.waitSpans();
        for (size_t k = 0; k <= mt.waits.size(); k++) {
            // Past the last wait, every remaining marker (a marker is never at kOpenEnd).
            uint64_t nextWait = k < mt.waits.size() ? std::max(waits[mt.waits[k]].start, m_from) : kOpenEnd;
            for (; marker != markersEnd && marker->ts < nextWait; ++marker)
                writeMarker(*marker, ti);
            if (k < mt.waits.size())
                writeWait(waits[mt.waits[k]], ti);
        }
    }

    void collectMarkers()
    {
        const std::vector<MessageLink>& messages = m_model.messages();
        m_markers.reserve((m_handoffs.size() + messages.size()) * 2);
        auto add = [&](uint32_t fromThread, uint64_t fromNs, uint32_t toThread, uint64_t toNs, uint32_t index,
                       MarkerKind out, MarkerKind in) {
            size_t from = threadIndex(fromThread), to = threadIndex(toThread);
            // A rendezvous receive can be stamped a hair before its send: a flow must not run back
            // in time, or a viewer reads its end before its start and drops it.
            toNs = std::max(fromNs, toNs);
            // A flow is kept whole or not at all: an arrow from outside the window points nowhere.
            if (from == SIZE_MAX || to == SIZE_MAX || !inWindow(fromNs) || !inWindow(toNs))
                return;
            m_markers.push_back({ uint32_t(from), fromNs, index, out });
            m_markers.push_back({ uint32_t(to), toNs, index, in });
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

    void writeWait(const WaitSpan& w, size_t thread)
    {
        uint64_t start = w.start, end = w.end == kOpenEnd ? std::max(m_endNs, w.start) : w.end;
        if (!clip(start, end))
            return;
        std::string name = w.op == ChanOp::None ? blockedSliceName(w.flags, objectName(w.object)) : channelSliceName(w);
        m_sink.wait(thread, w.op != ChanOp::None, name, start, end, w.object, outcomeText(w), w.stack, site(w.stack));
        m_stats.waits++;
    }

    void writeMarker(const Marker& m, size_t thread)
    {
        bool lock = m.kind == MarkerKind::Release || m.kind == MarkerKind::Acquire;
        bool out = perfetto_detail::outgoing(m.kind);
        uint32_t object = 0, other = 0;
        uint64_t flowId = m.index + 1;
        std::optional<uint64_t> message;
        if (lock) {
            const Handoff& h = m_handoffs[m.index];
            object = h.object;
            other = out ? h.toThread : h.fromThread;
        } else {
            const MessageLink& msg = m_model.messages()[m.index];
            object = msg.chan;
            other = out ? msg.receiver : msg.sender;
            message = msg.id;
            flowId += m_handoffs.size(); // one id space for all flows, whatever the viewer keys by
        }
        static constexpr const char* verbs[] = { "unlock", "acquired", "sent on", "received from" };
        m_sink.marker(thread, m.kind, fmt::format("{} {}", verbs[size_t(m.kind)], objectName(object)), m.ts, object,
            threadIndex(other), flowId, message);
    }

    void writeHold(uint32_t hi, size_t thread)
    {
        const HoldSpan& h = m_model.holdSpans()[hi];
        SinkHold out;
        out.open = h.end == kOpenEnd;
        out.start = h.start;
        out.end = out.open ? std::max(m_endNs, h.start) : h.end;
        if (!clip(out.start, out.end))
            return;
        out.thread = thread;
        out.id = hi + 1;
        out.object = h.object;
        out.name = &objectName(h.object);
        out.shared = h.flags & RAVEL_F_SHARED;
        out.depth = h.depth;
        out.stack = h.stack;
        out.site = &site(h.stack);
        m_sink.hold(out);
        m_stats.holds++;
    }

    void writeHolds()
    {
        if (!m_sink.holdsByLock()) {
            for (size_t ti = 0; ti < m_threads.size(); ti++)
                for (uint32_t hi : m_model.threads()[ti].holds)
                    writeHold(hi, ti);
            return;
        }
        // Grouped by lock, each lock's in start order: 4 bytes a hold, the sort O(n log n).
        const auto& holds = m_model.holdSpans();
        std::vector<uint32_t> order(holds.size());
        for (uint32_t i = 0; i < order.size(); i++)
            order[i] = i;
        std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
            return std::tie(holds[a].object, holds[a].start, a) < std::tie(holds[b].object, holds[b].start, b);
        });
        for (uint32_t hi : order)
            if (size_t ti = threadIndex(holds[hi].thread); ti != SIZE_MAX)
                writeHold(hi, ti);
    }

    void writeFindings()
    {
        for (size_t i = 0; i < m_findings.size(); i++) {
            const Finding& f = m_findings[i];
            if (!inWindow(f.timeNs))
                continue;
            std::string threads, objects;
            for (const FindingThread& t : f.threads) {
                const ModelThread* mt = m_model.thread(t.id);
                threads += (threads.empty() ? "" : ", ") + (mt ? threadLabel(*mt) : graphThreadLabel(t.id, t.name));
            }
            for (const FindingObject& o : f.objects)
                objects += (objects.empty() ? "" : ", ") + o.name;
            std::string kind
                = f.certainty == Verdict::None ? f.kind : fmt::format("{} ({})", f.kind, verdictName(f.certainty));
            m_sink.finding(i + 1, kind, f.title, threads, objects, f.timeNs);
            m_stats.findings++;
        }
    }

    const ReplayModel& m_model;
    const std::vector<Finding>& m_findings;
    GraphNaming& m_naming;
    uint64_t m_from, m_to;
    perfetto_detail::Sink& m_sink;
    PerfettoStats m_stats;
    uint64_t m_endNs = 0;
    std::vector<SinkThread> m_threads;
    std::vector<Handoff> m_handoffs;
    std::vector<Marker> m_markers;
    std::vector<std::string> m_objectNames;
    std::unordered_map<uint32_t, std::string> m_sites;
};

bool endsWith(const std::string& s, std::string_view tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

} // namespace

PerfettoFormat perfettoFormatFor(const std::string& path)
{
    return endsWith(path, ".pftrace") || endsWith(path, ".perfetto-trace") ? PerfettoFormat::Proto
                                                                            : PerfettoFormat::Json;
}

PerfettoStats writePerfetto(const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming,
    std::FILE* out, const PerfettoOptions& options)
{
    std::unique_ptr<perfetto_detail::Sink> sink;
    if (options.format == PerfettoFormat::Proto) {
        sink = perfetto_detail::makeProtoSink(out);
    } else {
        auto json = std::make_unique<JsonSink>(out);
        // Findings are global instants of the first thread's process (of the trace's without one).
        json->setPid(model.trace().summary().pid);
        sink = std::move(json);
    }
    return Exporter(model, findings, naming, options, *sink).run();
}

PerfettoStats writePerfettoJson(
    const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming, std::FILE* out)
{
    return writePerfetto(model, findings, naming, out, PerfettoOptions {});
}

} // namespace ravel
