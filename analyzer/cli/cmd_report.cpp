// `ravel report TRACE [--format text|json|sarif]`: every finding of a recorded run, numbered from 1
// in report order, with suppressions applied. Exits with the error exit code (66) when an error
// finding remains, as `ravel run` does, so CI can gate on it. docs/cli.md is the user's
// description; docs/report-format.md documents JSON and SARIF.
#include "commands.hpp"
#include "ravel_options.hpp"

#include "analysis/analysis.hpp"
#include "analysis/run_analysis.hpp"
#include "model/replay_model.hpp"
#include "report/report_json.hpp"
#include "report/report_sarif.hpp"
#include "trace/run_traces.hpp"
#include "report/report_text.hpp"
#include "report/run_findings.hpp"
#include "report/suppressions.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#ifndef RAVEL_VERSION
#define RAVEL_VERSION "0.1.0"
#endif

namespace ravel::cli {

namespace {

struct ReportOptions {
    std::string trace;
    std::string format = "text";
    std::string output;
    std::string suppressions;
    bool noLockOrder = false;
    int errorExitCode = 66;
    bool suppressionsGiven = false; // on the command line, which beats RAVEL_OPTIONS
    bool exitCodeGiven = false;
};

constexpr int kUsageError = 2;

// Fills what the command line left unset from RAVEL_OPTIONS. False (and the error said) when a
// value there is unusable.
bool applyEnvironment(ReportOptions& o)
{
    const char* env = std::getenv("RAVEL_OPTIONS");
    if (!env)
        return true;
    if (!o.suppressionsGiven)
        if (auto v = optionValue(env, "suppressions"))
            o.suppressions = *v;
    if (!o.exitCodeGiven) {
        if (auto v = optionValue(env, "error_exitcode")) {
            char* end = nullptr;
            long n = std::strtol(v->c_str(), &end, 10);
            if (v->empty() || *end || n < 0 || n > 255) {
                fmt::print(stderr, "ravel: RAVEL_OPTIONS: error_exitcode={} is not a number from 0 to 255\n", *v);
                return false;
            }
            o.errorExitCode = int(n);
        }
    }
    return true;
}

// "1 deadlock, 2 potential deadlocks, 1 note": what a person scans for at the end.
std::string summaryLine(const std::vector<NumberedFinding>& shown, size_t runDeadlocks, size_t suppressed)
{
    struct Group {
        const char* one;
        const char* many;
        size_t n = 0;
    };
    Group groups[] = { { "deadlock", "deadlocks" }, { "potential deadlock", "potential deadlocks" },
                       { "data race", "data races" }, { "misuse", "misuses" }, { "note", "notes" } };
    groups[0].n = runDeadlocks;
    for (const NumberedFinding& n : shown) {
        const std::string& k = n.finding->kind;
        size_t g = k == "deadlock"       ? 0
            : k == "potential-deadlock" ? 1
            : k == "data-race"          ? 2
            : k == "misuse"             ? 3
                                        : 4;
        groups[g].n++;
    }
    std::string line;
    for (const Group& g : groups)
        if (g.n)
            line += fmt::format("{}{} {}", line.empty() ? "" : ", ", g.n, g.n == 1 ? g.one : g.many);
    if (line.empty())
        line = "no findings";
    if (suppressed)
        line += fmt::format(" ({} suppressed)", suppressed);
    return "==ravel== " + line + "\n";
}

// A line that says how far the work is, rewritten in place; only on a terminal, and erased
// before anything else is printed.
// What the report is doing, on a terminal; with RAVEL_TIMING=1 also how long each phase took (on
// stderr, one line per phase), which is how bench/ and a curious user see where the time goes.
class Progress {
public:
    Progress()
        : m_on(isatty(STDERR_FILENO))
        , m_timing(std::getenv("RAVEL_TIMING") && std::string_view(std::getenv("RAVEL_TIMING")) == "1")
    {
    }
    ~Progress() { done(); }
    void say(const std::string& what)
    {
        lap();
        m_phase = what;
        if (m_on)
            fmt::print(stderr, "\r\x1b[K==ravel== {}", what);
    }
    void done()
    {
        lap();
        m_phase.clear();
        if (m_on)
            fmt::print(stderr, "\r\x1b[K");
        m_on = false;
    }

private:
    void lap()
    {
        auto now = std::chrono::steady_clock::now();
        if (m_timing && !m_phase.empty())
            fmt::print(stderr, "==ravel== timing: {} {:.1f} ms\n", m_phase,
                       std::chrono::duration<double, std::milli>(now - m_start).count());
        m_start = now;
    }
    bool m_on;
    bool m_timing;
    std::string m_phase;
    std::chrono::steady_clock::time_point m_start = std::chrono::steady_clock::now();
};

bool writeOutput(const std::string& path, const std::string& text)
{
    if (path.empty() || path == "-") {
        std::fwrite(text.data(), 1, text.size(), stdout);
        return std::fflush(stdout) == 0;
    }
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) {
        fmt::print(stderr, "ravel: cannot write {}: {}\n", path, std::strerror(errno));
        return false;
    }
    bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
    int err = errno;
    ok = std::fclose(f) == 0 && ok;
    if (!ok)
        fmt::print(stderr, "ravel: cannot write {}: {}\n", path, std::strerror(err ? err : errno));
    return ok;
}

int runReport(ReportOptions o)
{
    if (!applyEnvironment(o))
        return kUsageError;
    // The suppressions first: a typo in them must not cost a long analysis.
    Suppressions suppressions;
    if (!o.suppressions.empty()) {
        try {
            suppressions = Suppressions::load(o.suppressions);
        } catch (const SuppressionError& e) {
            fmt::print(stderr, "ravel: {}\n", e.what());
            return kUsageError;
        }
    }
    Progress progress;
    try {
        progress.say("reading the trace");
        // One run is one report: the main trace's findings, then each other process's (a fork, a
        // spawned program, an image after exec), numbered on from the main trace's.
        RunTraces traces = openRunTraces(o.trace);
        struct Part {
            const TraceReader* reader = nullptr;
            std::unique_ptr<Symbolizer> sym;
            std::vector<Finding> findings;
            std::vector<NumberedFinding> shown;
            uint64_t events = 0;
            size_t suppressed = 0;
        };
        std::vector<Part> parts;
        parts.reserve(traces.readers.size());
        std::vector<NumberedFinding> shown;
        size_t suppressed = 0, number = 0;
        for (size_t r = 0; r < traces.readers.size(); r++) {
            const TraceReader& reader = *traces.readers[r];
            Part& part = parts.emplace_back();
            part.reader = &reader;
            progress.say("replaying the events");
            RunAnalysis run(reader, ReplayModel::Retain::EndState);
            part.events = run.model().eventCount();
            progress.say("analyzing");
            part.sym = std::make_unique<Symbolizer>(reader.modules());
            AnalysisOptions analysis;
            analysis.lockOrder = !o.noLockOrder;
            part.findings = analyzeTrace(run, *part.sym, analysis);
            if (r > 0)
                for (Finding& f : part.findings)
                    f.title += " in " + processLabel(reader.summary());
            for (size_t i = 0; i < part.findings.size(); i++) {
                ++number;
                if (!suppressions.empty()
                    && suppressions.match(part.findings[i].kind,
                                          suppressionCandidates(part.findings[i], reader, *part.sym))) {
                    part.suppressed++;
                    continue;
                }
                part.shown.push_back({ number, &part.findings[i] });
                shown.push_back(part.shown.back());
            }
            suppressed += part.suppressed;
        }
        const TraceReader& reader = traces.main();
        // What `ravel run` found live across processes (pipes, sockets, waits for children): in no
        // trace's events, kept beside them; numbered after every process's own findings.
        RunFindings stored = loadRunFindings(o.trace, traceRunId(o.trace));
        std::vector<std::pair<size_t, const StoredRunFinding*>> storedShown;
        for (const StoredRunFinding& f : stored.findings) {
            ++number;
            if (!suppressions.empty()
                && suppressions.match(f.finding.value("kind", "deadlock"), runFindingCandidates(f.finding))) {
                suppressed++;
                continue;
            }
            storedShown.push_back({ number, &f });
        }

        ReportContext ctx;
        ctx.tracePath = o.trace;
        ctx.toolVersion = RAVEL_VERSION;
        ctx.suppressed = suppressed;
        // The reader repeats a damaged chunk's warning on every pass over the events: say it once.
        auto warn = [&](const std::string& w) {
            if (std::find(ctx.warnings.begin(), ctx.warnings.end(), w) == ctx.warnings.end())
                ctx.warnings.push_back(w);
        };
        for (const std::string& w : traces.warnings)
            warn(w);
        for (const std::string& w : stored.warnings)
            warn(w);
        for (const auto& r : traces.readers)
            for (const std::string& w : r->warnings())
                warn(w);
        progress.say("rendering the report");
        std::string out;
        if (o.format == "json") {
            nlohmann::ordered_json doc = renderReportJson(parts[0].shown, reader, parts[0].events, *parts[0].sym, ctx);
            if (parts.size() > 1) {
                // Every finding says which process it is in; the summary counts them all.
                auto process = [](const TraceReader& r) {
                    const TraceSummary& s = r.summary();
                    return nlohmann::ordered_json { { "pid", s.pid }, { "command", s.argv }, { "trace", s.path } };
                };
                for (auto& f : doc["findings"])
                    f["process"] = process(reader);
                for (size_t i = 1; i < parts.size(); i++) {
                    ReportContext partCtx = ctx;
                    nlohmann::ordered_json more
                        = renderReportJson(parts[i].shown, *parts[i].reader, parts[i].events, *parts[i].sym, partCtx);
                    for (auto& f : more["findings"]) {
                        f["process"] = process(*parts[i].reader);
                        doc["findings"].push_back(f);
                    }
                    for (const auto& w : more["warnings"])
                        if (std::find(doc["warnings"].begin(), doc["warnings"].end(), w) == doc["warnings"].end())
                            doc["warnings"].push_back(w);
                }
                size_t errors = 0;
                std::map<std::string, size_t> byKind;
                for (const NumberedFinding& n : shown) {
                    errors += isError(*n.finding) ? 1 : 0;
                    byKind[n.finding->kind]++;
                }
                nlohmann::ordered_json kinds = nlohmann::ordered_json::object();
                for (const auto& [kind, count] : byKind)
                    kinds[kind] = count;
                doc["summary"]["findings"] = shown.size();
                doc["summary"]["errors"] = errors;
                doc["summary"]["by_kind"] = std::move(kinds);
            }
            for (const auto& [n, f] : storedShown) {
                nlohmann::ordered_json j;
                j["number"] = n;
                for (auto& [k, v] : f->finding.items())
                    j[k] = v;
                doc["findings"].push_back(std::move(j));
                doc["summary"]["findings"] = doc["summary"]["findings"].get<size_t>() + 1;
                doc["summary"]["errors"] = doc["summary"]["errors"].get<size_t>() + 1;
                std::string kind = f->finding.value("kind", "deadlock");
                auto& byKind = doc["summary"]["by_kind"];
                byKind[kind] = (byKind.contains(kind) ? byKind[kind].get<size_t>() : 0) + 1;
            }
            out = doc.dump(2) + "\n";
        } else if (o.format == "sarif") {
            std::string cwd = std::filesystem::current_path().string();
            nlohmann::ordered_json doc
                = renderReportSarif(parts[0].shown, reader, *parts[0].sym, ctx, sarifSourceRoot(cwd), cwd);
            for (size_t i = 1; i < parts.size(); i++) {
                nlohmann::ordered_json more = renderReportSarif(parts[i].shown, *parts[i].reader, *parts[i].sym, ctx,
                                                                sarifSourceRoot(cwd), cwd);
                for (auto& result : more["runs"][0]["results"])
                    doc["runs"][0]["results"].push_back(result);
            }
            for (const auto& [n, f] : storedShown)
                doc["runs"][0]["results"].push_back(
                    renderStoredFindingSarif(f->finding, n, reader, *parts[0].sym, sarifSourceRoot(cwd), cwd));
            out = doc.dump(2) + "\n";
        } else {
            TextReportOptions text;
            text.color = o.output.empty() && isatty(STDOUT_FILENO);
            for (const Part& part : parts)
                for (const NumberedFinding& n : part.shown)
                    out += renderFindingText(*n.finding, n.number, *part.reader, *part.sym, text) + "\n";
            for (const auto& [n, f] : storedShown)
                out += numberedRunFindingText(f->text, n) + "\n";
            out += summaryLine(shown, storedShown.size(), suppressed);
        }
        progress.done();
        // Said once on stderr whatever the format; JSON and SARIF also carry them.
        for (const std::string& w : ctx.warnings)
            fmt::print(stderr, "ravel: warning: {}\n", w);
        for (const Part& part : parts)
            for (const std::string& w : part.sym->warnings())
                fmt::print(stderr, "ravel: warning: {}\n", w);
        if (!suppressions.empty() && suppressed)
            for (const SuppressionRule& r : suppressions.rules())
                if (r.hits)
                    fmt::print(stderr, "==ravel== suppressed {} finding{} by {}:{}: {}:{}\n", r.hits,
                               r.hits == 1 ? "" : "s", o.suppressions, r.line, r.kind, r.pattern);
        if (!writeOutput(o.output, out))
            return 1;
        if (!storedShown.empty())
            return o.errorExitCode;
        for (const NumberedFinding& n : shown)
            if (isError(*n.finding))
                return o.errorExitCode;
        return 0;
    } catch (const TraceError& e) {
        progress.done();
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        progress.done();
        fmt::print(stderr, "ravel: report: {}\n", e.what());
        return 1;
    }
}

} // namespace

int reportTrace(const std::string& trace, const std::string& format, const std::string& output)
{
    ReportOptions o;
    o.trace = trace;
    o.format = format;
    o.output = output;
    return runReport(o);
}

void addReportCommand(CLI::App& app, int& status)
{
    auto o = std::make_shared<ReportOptions>();
    CLI::App* cmd = app.add_subcommand("report", "Report the deadlocks, potential deadlocks and misuse found in a "
                                                 "trace, as text, JSON or SARIF");
    cmd->footer("Exit status: the error exit code (66) when a deadlock, potential deadlock or misuse remains after "
                "suppressions, else 0. Options can also come from RAVEL_OPTIONS (docs/cli.md).\n");
    cmd->add_option("TRACE", o->trace, "trace file (.ravel)")->required();
    cmd->add_option("--format", o->format, "text (default), json or sarif (docs/report-format.md)")
        ->type_name("FORMAT")
        ->check(CLI::IsMember({ "text", "json", "sarif" }));
    cmd->add_option("-o,--output", o->output, "Write the report to FILE instead of stdout")->type_name("FILE");
    auto* supp = cmd->add_option("--suppressions", o->suppressions, "Silence findings matching the rules in FILE")
                     ->type_name("FILE");
    cmd->add_flag("--no-lock-order", o->noLockOrder, "Skip every prediction: lock order and condition variables (potential deadlocks)");
    auto* code = cmd->add_option("--error-exitcode", o->errorExitCode,
                                 "Exit status when an error finding remains (default 66)")
                     ->type_name("N")
                     ->check(CLI::Range(0, 255).description(""));
    cmd->callback([o, supp, code, &status] {
        o->suppressionsGiven = supp->count() > 0;
        o->exitCodeGiven = code->count() > 0;
        status = runReport(*o);
    });
}

} // namespace ravel::cli
