#include "report/report_json.hpp"

#include "symbols/frame_json.hpp"

#include "analysis/analysis.hpp"
#include "base/lock_class.hpp"
#include "model/objects.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>

namespace ravel {

namespace {

using json = nlohmann::ordered_json; // fields in the documented order, not sorted

std::string hex(uint64_t v) { return fmt::format("0x{:x}", v); }


class FindingWriter {
public:
    FindingWriter(const Finding& f, const TraceReader& trace, Symbolizer& sym)
        : m_f(f)
        , m_trace(trace)
        , m_sym(sym)
    {
    }

    json render(size_t number) const
    {
        json j;
        j["number"] = number;
        j["kind"] = m_f.kind;
        j["certainty"] = m_f.certainty == Verdict::None ? json(nullptr) : json(verdictName(m_f.certainty));
        j["error"] = isError(m_f);
        j["title"] = m_f.title;
        j["time_ns"] = m_f.timeNs;
        j["fingerprint"] = m_f.fingerprint;
        json threads = json::array();
        for (const FindingThread& t : m_f.threads)
            threads.push_back(thread(t));
        j["threads"] = std::move(threads);
        json objects = json::array();
        for (size_t i = 0; i < m_f.objects.size(); i++) {
            const FindingObject& o = m_f.objects[i];
            json obj = {
                { "id", objectId(i) },
                { "kind", objectKindName(o.kind) },
                { "name", o.name },
                { "address", hex(o.address) },
                { "generation", o.generation },
                { "class", lockClassOfName(o.name) },
            };
            if (!o.type.empty())
                obj["type"] = o.type;
            if (o.poolWord)
                obj["pool_word"] = true;
            objects.push_back(std::move(obj));
        }
        j["objects"] = std::move(objects);
        j["edges"] = edges(m_f.edges);
        j["instances"] = m_f.instances;
        json more = json::array();
        for (const auto& cycle : m_f.moreExamples)
            more.push_back(edges(cycle));
        j["more_examples"] = std::move(more);
        if (m_f.componentLocks > 0)
            j["component"] = {
                { "locks", m_f.componentLocks },
                { "edges", m_f.componentEdges },
                { "cycles", m_f.instances },
                { "cycles_at_least", m_f.instancesAtLeast },
                { "patterns", m_f.patterns },
            };
        j["notes"] = m_f.notes;
        if (m_f.kind == "data-race") {
            json accesses = json::array();
            for (const FindingAccess& a : m_f.accesses) {
                json held = json::array();
                for (size_t h : a.held)
                    held.push_back(objectId(h));
                accesses.push_back({
                    { "thread", a.thread },
                    { "op", a.write ? "write" : "read" },
                    { "atomic", a.atomic },
                    { "address", hex(a.address) },
                    { "size", a.size },
                    { "time_ns", a.timeKnown ? json(a.timeNs) : json(nullptr) },
                    { "held", a.heldKnown ? held : json(nullptr) },
                    { "stack", stack(a.stack) },
                    { "site_only", siteOnly(a.stack) },
                });
            }
            j["accesses"] = std::move(accesses);
            j["variable"] = m_f.objects.empty() ? json(nullptr) : json(m_f.objects[0].name);
        }
        return j;
    }

private:
    bool siteOnly(uint32_t id) const
    {
        const StackTrace* s = id ? m_trace.stack(stackIdOf(id)) : nullptr;
        return s && s->site_only;
    }

    json stack(uint32_t id) const
    {
        json frames = json::array();
        for (const Frame& fr : reportFrames(id, m_trace, m_sym))
            frames.push_back(frameJson(fr));
        return frames;
    }

    // Made here from (address, generation) rather than taken from FindingObject::id: the detectors
    // do not all spell it the same way, and a consumer joins findings of one report by it. An index
    // out of range would be a bug in a detector; the report says "?" rather than crash.
    std::string objectId(size_t index) const
    {
        if (index >= m_f.objects.size())
            return "?";
        const FindingObject& o = m_f.objects[index];
        return fmt::format("o{:x}.{}", o.address, o.generation);
    }

    json thread(const FindingThread& t) const
    {
        json j;
        j["id"] = t.id;
        j["os_tid"] = t.osTid ? json(t.osTid) : json(nullptr);
        j["name"] = t.name;
        j["pid"] = t.pid ? json(t.pid) : json(nullptr);
        if (t.waitsFor >= 0) {
            j["waits_for"] = {
                { "object", objectId(size_t(t.waitsFor)) },
                { "shared", t.waitShared },
                { "since_ns", t.waitSinceNs },
                { "stack", stack(t.waitStack) },
                { "wakers", t.wakers },
            };
            if (t.futexValueKnown)
                j["waits_for"]["futex_value"] = t.futexValue;
            if (!t.waitOp.empty()) {
                // Channel waits: the operation, a select's cases, and whether the wakers are presumed.
                json& w = j["waits_for"];
                w["op"] = t.waitOp;
                json cases = json::array();
                for (size_t k = 0; k < t.waitCases.size(); k++)
                    cases.push_back({ { "object", objectId(t.waitCases[k]) },
                                      { "op", k < t.waitCaseSend.size() && t.waitCaseSend[k] ? "send" : "receive" } });
                w["cases"] = std::move(cases);
                w["wakers_presumed"] = t.wakersPresumed;
                w["other_side_gone"] = t.otherSideGone;
            }
        } else {
            j["waits_for"] = nullptr;
            // Misuse findings keep where it happened in waitStack with no wait.
            if (t.waitStack)
                j["stack"] = stack(t.waitStack);
            if (!t.action.empty()) {
                j["action"] = t.action;
                j["action_object"] = objectId(t.actionObject >= 0 ? size_t(t.actionObject) : 0);
            }
        }
        json holds = json::array();
        for (const FindingHold& h : t.holds) {
            holds.push_back({
                { "object", objectId(h.object) },
                { "shared", h.shared },
                // 0: the detector did not say when (nothing is acquired at the trace's first instant).
                { "since_ns", h.sinceNs ? json(h.sinceNs) : json(nullptr) },
                { "stack", stack(h.stack) },
                { "stack_reused", h.stackReused },
            });
        }
        j["holds"] = std::move(holds);
        if (m_f.kind == "data-race") {
            j["parent"] = t.parent ? json(t.parent) : json(nullptr);
            j["create_stack"] = stack(t.createStack);
        }
        return j;
    }

    json edges(const std::vector<FindingEdge>& list) const
    {
        json out = json::array();
        for (const FindingEdge& e : list) {
            json held = json::array();
            for (size_t h : e.held)
                held.push_back(objectId(h));
            out.push_back({
                { "from", objectId(e.from) },
                { "to", objectId(e.to) },
                { "thread", e.thread },
                { "time_ns", e.timeNs },
                { "from_stack", stack(e.fromStack) },
                { "to_stack", stack(e.toStack) },
                { "held", std::move(held) },
                { "from_locks", e.fromLocks },
            });
            if (!e.toOp.empty() || !e.fromOp.empty()) {
                out.back()["to_op"] = e.toOp.empty() ? json(nullptr) : json(e.toOp);
                out.back()["from_op"] = e.fromOp.empty() ? json(nullptr) : json(e.fromOp);
            }
        }
        return out;
    }

    const Finding& m_f;
    const TraceReader& m_trace;
    Symbolizer& m_sym;
};

} // namespace

std::vector<Frame> reportFrames(uint32_t stackId, const TraceReader& trace, Symbolizer& sym)
{
    const StackTrace* s = stackId ? trace.stack(stackIdOf(stackId)) : nullptr;
    if (!s || s->frames.empty())
        return {};
    std::vector<Frame> frames = sym.symbolizeStack(s->frames);
    // The inside of ravel's channel (ravel/chan.hpp) is not where the program waits: its caller is.
    size_t inner = 0;
    while (inner + 1 < frames.size() && frames[inner].file.find("/include/ravel/") != std::string::npos)
        inner++;
    frames.erase(frames.begin(), frames.begin() + long(inner));
    for (size_t i = 0; i < frames.size(); i++) {
        const std::string& fn = frames[i].function;
        if (fn == "main") {
            frames.resize(i + 1);
            break;
        }
        if (i > 0 && (fn == "start_thread" || fn == "clone3" || fn == "clone" || fn == "__libc_start_main")) {
            frames.resize(i);
            break;
        }
    }
    return frames;
}

std::vector<uint32_t> findingStacks(const Finding& f)
{
    std::vector<uint32_t> out;
    auto add = [&](uint32_t s) {
        if (s && std::find(out.begin(), out.end(), s) == out.end())
            out.push_back(s);
    };
    for (const FindingThread& t : f.threads) {
        add(t.waitStack);
        for (const FindingHold& h : t.holds)
            add(h.stack);
    }
    auto addEdges = [&](const std::vector<FindingEdge>& edges) {
        for (const FindingEdge& e : edges) {
            add(e.fromStack);
            add(e.toStack);
        }
    };
    addEdges(f.edges);
    for (const auto& cycle : f.moreExamples)
        addEdges(cycle);
    for (const FindingAccess& a : f.accesses)
        add(a.stack);
    for (const FindingThread& t : f.threads)
        add(t.createStack);
    return out;
}

nlohmann::ordered_json renderReportJson(const std::vector<NumberedFinding>& findings, const TraceReader& trace,
                                        uint64_t events, Symbolizer& sym, const ReportContext& ctx)
{
    const TraceSummary& s = trace.summary();
    json j;
    j["schema_version"] = kReportSchemaVersion;
    j["tool"] = { { "name", "ravel" }, { "version", ctx.toolVersion } };
    j["trace"] = {
        { "path", ctx.tracePath },
        { "program", s.program },
        { "argv", s.argv },
        { "pid", s.pid },
        { "ended", s.ended },
        { "exit_status", s.ended ? json(s.exit_status) : json(nullptr) },
        { "duration_ns", s.duration_ns },
        { "events", events },
    };
    json list = json::array();
    size_t errors = 0;
    std::map<std::string, size_t> byKind;
    for (const NumberedFinding& n : findings) {
        list.push_back(FindingWriter(*n.finding, trace, sym).render(n.number));
        errors += isError(*n.finding) ? 1 : 0;
        byKind[n.finding->kind]++;
    }
    j["findings"] = std::move(list);
    json kinds = json::object();
    for (const auto& [kind, count] : byKind)
        kinds[kind] = count;
    j["summary"] = {
        { "findings", findings.size() },
        { "errors", errors },
        { "suppressed", ctx.suppressed },
        { "by_kind", std::move(kinds) },
    };
    // Symbolizer warnings appear as modules are first needed, so they are read after rendering.
    std::vector<std::string> warnings = ctx.warnings;
    for (const std::string& w : sym.warnings())
        if (std::find(warnings.begin(), warnings.end(), w) == warnings.end())
            warnings.push_back(w);
    j["warnings"] = warnings;
    return j;
}

} // namespace ravel
