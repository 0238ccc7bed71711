#include "report/report_sarif.hpp"

#include "analysis/analysis.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <system_error>

namespace ravel {

namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr const char* kSchema = "https://json.schemastore.org/sarif-2.1.0.json";
// The project page; SARIF requires an absolute URI here. Change it where the project is published.
constexpr const char* kInfoUri = "https://github.com/ravel-tools/ravel";
constexpr const char* kRoot = "%SRCROOT%";

struct RuleInfo {
    const char* kind;
    const char* name;
    const char* level;
    const char* shortText;
    const char* fullText;
};

// In report order; the level is what code scanning shows (error for what hangs or corrupts,
// warning for misuse, note for what is real but not a bug of this run).
constexpr RuleInfo kRules[] = {
    { "deadlock", "Deadlock", "error", "Threads wait for each other forever",
      "A set of threads is blocked and none of them can ever be woken: each waits for a lock, a join, a "
      "condition variable, a semaphore or a barrier that only another thread of the set could release." },
    { "potential-deadlock", "PotentialDeadlock", "error", "Locks are taken in an order that can deadlock",
      "Different threads acquire the same locks in a cyclic order, and nothing orders those threads: with other "
      "timing, each would hold one lock of the cycle and wait for the next one forever." },
    { "data-race", "DataRace", "error", "Unsynchronized conflicting accesses",
      "Two threads access the same memory, at least one writes, and no synchronization orders the accesses." },
    { "misuse", "Misuse", "warning", "Synchronization API misuse",
      "A synchronization primitive was used against its contract: unlock of a lock not held, destroy of a held "
      "lock, a thread exiting while it holds a lock, and the like." },
    { "unordered-misuse", "UnorderedMisuse", "note", "A misuse if two events came in the order the title says",
      "Two threads' events would be a misuse of a primitive in one order (a destroy while another thread holds "
      "it, a lock of freed memory) and the trace cannot order them: their clock ranges overlap. Correct if "
      "the program orders them by something ravel does not record, such as an atomic." },
    { "lock-order-inversion", "LockOrderInversion", "note", "One thread takes locks in both orders",
      "A single thread acquires the same locks in opposite orders at different places. This run cannot deadlock "
      "on it, but another thread running one of those paths concurrently would." },
    { "blocked-at-exit", "BlockedAtExit", "note", "Threads still blocked when the program exited",
      "Threads were still waiting when the program exited normally; exit() swept them away. Often a lost "
      "wake-up or a worker nobody shuts down." },
};

const RuleInfo* ruleFor(const std::string& kind, size_t* index)
{
    for (size_t i = 0; i < std::size(kRules); i++) {
        if (kind == kRules[i].kind) {
            *index = i;
            return &kRules[i];
        }
    }
    return nullptr;
}

std::string threadLabel(const FindingThread& t)
{
    return t.name.empty() ? fmt::format("T{}", t.id) : fmt::format("T{} \"{}\"", t.id, t.name);
}

std::string threadLabel(const Finding& f, uint32_t id)
{
    for (const FindingThread& t : f.threads)
        if (t.id == id)
            return threadLabel(t);
    return fmt::format("T{}", id);
}

std::string objName(const Finding& f, size_t i) { return i < f.objects.size() ? f.objects[i].name : "?"; }

// Percent-encodes what may not stand in a URI path (RFC 3986 unreserved characters and '/' stay).
std::string uriEncode(const std::string& path)
{
    std::string out;
    for (unsigned char c : path) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/')
            out += char(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

// A stack of the finding with what it shows, in the order the locations are chosen from.
struct StackRef {
    uint32_t stack;
    std::string what;
};

std::vector<StackRef> stackRefs(const Finding& f)
{
    std::vector<StackRef> out;
    for (size_t i = 0; i < f.accesses.size(); i++) {
        const FindingAccess& a = f.accesses[i];
        out.push_back({ a.stack, fmt::format("{}{} of {} by {}", i ? "earlier " : "", a.write ? "write" : "read",
                                             f.objects.empty() ? std::string("memory") : f.objects[0].name,
                                             threadLabel(f, a.thread)) });
    }
    for (const FindingThread& t : f.threads) {
        if (t.waitsFor >= 0)
            out.push_back({ t.waitStack, fmt::format("{} waits for {}", threadLabel(t), objName(f, size_t(t.waitsFor))) });
        else if (t.waitStack && !t.action.empty() && !f.objects.empty())
            out.push_back({ t.waitStack, fmt::format("{} {} {}", threadLabel(t), t.action, objName(f, 0)) });
        else if (t.waitStack)
            out.push_back({ t.waitStack, fmt::format("{}: {}", threadLabel(t), f.title) });
        for (const FindingHold& h : t.holds)
            out.push_back({ h.stack, fmt::format("{} acquired {}", threadLabel(t), objName(f, h.object)) });
    }
    for (const FindingEdge& e : f.edges) {
        out.push_back({ e.toStack, fmt::format("{} requests {} while holding {}", threadLabel(f, e.thread),
                                               objName(f, e.to), objName(f, e.from)) });
        out.push_back({ e.fromStack, fmt::format("{} acquired {}", threadLabel(f, e.thread), objName(f, e.from)) });
    }
    return out;
}

std::string messageText(const Finding& f)
{
    std::string text = f.title;
    if (f.certainty != Verdict::None)
        text = fmt::format("{} ({})", text, verdictName(f.certainty));
    std::vector<std::string> parts;
    for (const FindingThread& t : f.threads) {
        std::string s = threadLabel(t);
        std::string held;
        for (const FindingHold& h : t.holds)
            held += (held.empty() ? "" : ", ") + objName(f, h.object);
        if (!held.empty())
            s += " holds " + held;
        if (t.waitsFor >= 0)
            s += (held.empty() ? " waits for " : " and waits for ") + objName(f, size_t(t.waitsFor));
        else if (held.empty() && t.waitStack && !f.objects.empty())
            s += (t.action.empty() ? " on " : " " + t.action + " ") + objName(f, 0); // misuse: who did what to what
        if (s != threadLabel(t))
            parts.push_back(s);
    }
    for (const FindingEdge& e : f.edges)
        parts.push_back(fmt::format("{} takes {} then {}", threadLabel(f, e.thread), objName(f, e.from), objName(f, e.to)));
    if (!parts.empty())
        text += ": " + fmt::format("{}", fmt::join(parts, "; "));
    const char* atLeast = f.instancesAtLeast ? "at least " : "";
    if (f.instances > 1 && f.patterns <= 1)
        text += fmt::format(" ({}{} instances of this pattern)", atLeast, f.instances);
    else if (f.instances > 1)
        text += fmt::format(" ({}{} cycles of {} patterns of acquire sites)", atLeast, f.instances, f.patterns);
    if (f.componentLocks > 0)
        text += fmt::format(" (one finding for {} strongly connected locks, {} lock-order edges)", f.componentLocks,
                            f.componentEdges);
    return text + ".";
}

class ResultWriter {
public:
    ResultWriter(const TraceReader& trace, Symbolizer& sym, const std::string& root, const std::string& cwd)
        : m_trace(trace)
        , m_sym(sym)
        , m_root(root)
        , m_cwd(cwd)
    {
    }

    json render(const Finding& f, size_t number)
    {
        size_t ruleIndex = 0;
        const RuleInfo* rule = ruleFor(f.kind, &ruleIndex);
        json r;
        r["ruleId"] = "ravel/" + f.kind;
        if (rule)
            r["ruleIndex"] = ruleIndex;
        r["level"] = rule ? rule->level : "warning";
        // A sender blocked at exit on a channel whose receivers had all exited is an error, not a note.
        if (f.kind == "blocked-at-exit" && f.certainty == Verdict::Certain)
            r["level"] = "error";
        r["message"] = { { "text", messageText(f) } };

        Places places;
        for (const StackRef& ref : stackRefs(f))
            addStack(places, reportFrames(ref.stack, m_trace, m_sym), ref.what);
        places.into(r);
        r["partialFingerprints"] = { { "ravelFingerprint/v1", f.fingerprint } };
        r["properties"] = {
            { "number", number },
            { "kind", f.kind },
            { "certainty", f.certainty == Verdict::None ? json(nullptr) : json(verdictName(f.certainty)) },
            { "timeNs", f.timeNs },
        };
        return r;
    }

    // A finding kept in the run's findings file (report/run_findings.hpp): its stacks are frames
    // already symbolized, one per thread, each with what the thread waits in.
    json renderStored(const json& f, size_t number)
    {
        size_t ruleIndex = 0;
        std::string kind = f.value("kind", "deadlock");
        const RuleInfo* rule = ruleFor(kind, &ruleIndex);
        json r;
        r["ruleId"] = "ravel/" + kind;
        if (rule)
            r["ruleIndex"] = ruleIndex;
        r["level"] = "error";
        r["message"] = { { "text", kind + ": " + f.value("title", "") } };
        Places places;
        for (const json& t : f.value("threads", json::array())) {
            if (!t.is_object() || !t.contains("waits_for") || !t["waits_for"].is_object())
                continue;
            const json& w = t["waits_for"];
            std::string what = fmt::format("pid {} tid {}: {}", t.value("pid", 0), t.value("os_tid", 0),
                                           w.value("what", ""));
            std::vector<Frame> frames;
            for (const json& j : w.value("stack", json::array())) {
                Frame& fr = frames.emplace_back();
                fr.function = j.value("function", "");
                if (j.contains("file") && j["file"].is_string())
                    fr.file = j["file"].get<std::string>();
                if (j.contains("line") && j["line"].is_number_unsigned())
                    fr.line = j["line"].get<uint32_t>();
                if (j.contains("module") && j["module"].is_string())
                    fr.module = j["module"].get<std::string>();
                fr.address = std::strtoull(j.value("address", "0").c_str(), nullptr, 16);
            }
            addStack(places, frames, what);
        }
        places.into(r);
        r["partialFingerprints"] = { { "ravelFingerprint/v1", f.value("fingerprint", "") } };
        r["properties"] = {
            { "number", number },
            { "kind", kind },
            { "certainty", f.contains("certainty") ? f["certainty"] : json(nullptr) },
            { "timeNs", f.value("time_ns", uint64_t(0)) },
            { "scope", "run" },
        };
        return r;
    }

private:
    // What a result's stacks give it: the first user frame in the repository of the first stack
    // is its location, of the others related locations; each stack is a thread flow (frames in
    // the repository) and a SARIF stack (every frame).
    struct Places {
        json locations = json::array(), related = json::array(), threadFlows = json::array(),
             stacks = json::array();
        void into(json& r)
        {
            if (!locations.empty())
                r["locations"] = std::move(locations);
            if (!related.empty())
                r["relatedLocations"] = std::move(related);
            if (!threadFlows.empty())
                r["codeFlows"] = json::array({ { { "threadFlows", std::move(threadFlows) } } });
            if (!stacks.empty())
                r["stacks"] = std::move(stacks);
        }
    };

    void addStack(Places& p, const std::vector<Frame>& frames, const std::string& what)
    {
        json flow = json::array();
        json stackFrames = json::array();
        json first = nullptr;
        for (const Frame& fr : frames) {
            json loc = location(fr, nullptr);
            bool inRepo = loc.contains("physicalLocation");
            if (inRepo && first.is_null() && isUser(fr))
                first = location(fr, &what);
            if (inRepo)
                flow.push_back({ { "location", loc } });
            stackFrames.push_back({ { "location", loc } });
        }
        if (!first.is_null()) {
            if (p.locations.empty()) {
                p.locations.push_back(std::move(first));
            } else {
                first["id"] = p.related.size() + 1;
                p.related.push_back(std::move(first));
            }
        }
        if (!flow.empty())
            p.threadFlows.push_back({ { "message", { { "text", what } } }, { "locations", std::move(flow) } });
        // SARIF wants result.stacks unique; one stack can stand for two things (a lock taken
        // and the cycle edge leaving from it).
        json stackJson = { { "message", { { "text", what } } }, { "frames", std::move(stackFrames) } };
        if (!stackJson["frames"].empty() && std::find(p.stacks.begin(), p.stacks.end(), stackJson) == p.stacks.end())
            p.stacks.push_back(std::move(stackJson));
    }

    static bool isUser(const Frame& fr) { return Symbolizer::userFrame(std::vector<Frame> { fr }) != nullptr; }

    // A frame in the repository: a physical location; elsewhere only its function and site, as text.
    json location(const Frame& fr, const std::string* what)
    {
        json loc;
        std::string uri = uriOf(fr.file);
        if (!uri.empty()) {
            json phys = { { "artifactLocation", { { "uri", uri }, { "uriBaseId", kRoot } } } };
            if (fr.line)
                phys["region"] = { { "startLine", fr.line } };
            loc["physicalLocation"] = std::move(phys);
        }
        std::string site = Symbolizer::site(fr);
        loc["message"] = { { "text", what ? *what : site.empty() ? fr.function : fr.function + " " + site } };
        loc["logicalLocations"] = json::array({ { { "fullyQualifiedName", fr.function }, { "kind", "function" } } });
        return loc;
    }

    std::string uriOf(const std::string& file)
    {
        if (file.empty())
            return {};
        auto [it, fresh] = m_uris.try_emplace(file);
        if (fresh)
            it->second = sarifRelativeUri(file, m_root, m_cwd);
        return it->second;
    }

    const TraceReader& m_trace;
    Symbolizer& m_sym;
    std::string m_root;
    std::string m_cwd;
    std::map<std::string, std::string> m_uris; // file -> uri ("" outside the root): stat once
};

} // namespace

std::string sarifSourceRoot(const std::string& dir)
{
    std::error_code ec;
    fs::path start = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    for (fs::path p = start; !p.empty(); p = p.parent_path()) {
        if (fs::exists(p / ".git", ec))
            return p.string();
        if (p == p.root_path())
            break;
    }
    return start.string();
}

std::string sarifRelativeUri(const std::string& file, const std::string& root, const std::string& cwd)
{
    if (file.empty() || root.empty())
        return {};
    std::error_code ec;
    fs::path p = fs::path(file).is_absolute() ? fs::path(file) : fs::path(cwd) / file;
    p = fs::weakly_canonical(p, ec);
    if (ec || !fs::is_regular_file(p, ec))
        return {};
    fs::path rel = p.lexically_relative(fs::path(root));
    if (rel.empty() || *rel.begin() == "..")
        return {};
    return uriEncode(rel.generic_string());
}

nlohmann::ordered_json renderStoredFindingSarif(const nlohmann::ordered_json& finding, size_t number,
                                                const TraceReader& trace, Symbolizer& sym, const std::string& root,
                                                const std::string& cwd)
{
    ResultWriter writer(trace, sym, root, cwd);
    return writer.renderStored(finding, number);
}

nlohmann::ordered_json renderReportSarif(const std::vector<NumberedFinding>& findings, const TraceReader& trace,
                                         Symbolizer& sym, const ReportContext& ctx, const std::string& root,
                                         const std::string& cwd)
{
    json rules = json::array();
    for (const RuleInfo& r : kRules) {
        rules.push_back({
            { "id", std::string("ravel/") + r.kind },
            { "name", r.name },
            { "shortDescription", { { "text", r.shortText } } },
            { "fullDescription", { { "text", r.fullText } } },
            { "helpUri", std::string(kInfoUri) + "/blob/main/docs/report-format.md" },
            { "defaultConfiguration", { { "level", r.level } } },
            { "properties", { { "tags", json::array({ "concurrency", "reliability" }) } } },
        });
    }
    json results = json::array();
    ResultWriter writer(trace, sym, root, cwd);
    for (const NumberedFinding& n : findings)
        results.push_back(writer.render(*n.finding, n.number));

    json run;
    run["tool"] = { { "driver",
                      {
                          { "name", "ravel" },
                          { "version", ctx.toolVersion },
                          { "semanticVersion", ctx.toolVersion },
                          { "informationUri", kInfoUri },
                          { "rules", std::move(rules) },
                      } } };
    std::string rootUri = "file://" + uriEncode(root);
    if (rootUri.back() != '/')
        rootUri += '/';
    run["originalUriBaseIds"] = { { kRoot, { { "uri", rootUri } } } };
    run["results"] = std::move(results);
    json notifications = json::array();
    std::vector<std::string> warnings = ctx.warnings;
    for (const std::string& w : sym.warnings())
        warnings.push_back(w);
    for (const std::string& w : warnings)
        notifications.push_back({ { "level", "warning" }, { "message", { { "text", w } } } });
    run["invocations"] = json::array({ {
        { "executionSuccessful", true },
        { "toolExecutionNotifications", std::move(notifications) },
    } });
    run["properties"] = { { "trace", ctx.tracePath }, { "program", trace.summary().program },
                          { "suppressed", ctx.suppressed } };

    json out;
    out["$schema"] = kSchema;
    out["version"] = "2.1.0";
    out["runs"] = json::array({ std::move(run) });
    return out;
}

} // namespace ravel
