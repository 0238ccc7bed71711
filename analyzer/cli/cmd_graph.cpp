// `ravel graph TRACE --kind wait-for [--at TIME | --finding N] -o FILE` and
// `ravel graph TRACE --kind lock-order [--finding N] -o FILE`: the wait-for graph at an instant
// (by default the end of the trace, where a hung program's deadlock is), or of a finding, or the
// lock-order graph of the whole run, drawn through Graphviz's library in the format FILE's
// extension names (.dot .gv .svg .png .pdf).
//
// The lock-order graph is drawn by lock class (lock_class.hpp) and, unless --all, only its cycles:
// a server's trace has thousands of locks and a hundred thousand orders, and all of them one node
// and edge each is a picture nobody reads and a layout Graphviz does not finish. Every layout runs
// in a child process with a time limit (graphviz_process.hpp): Graphviz cannot be cancelled.
#include "commands.hpp"

#include "analysis/analysis.hpp"
#include "analysis/run_analysis.hpp"
#include "export/graph_model.hpp"
#include "export/graphviz_export.hpp"
#include "export/graphviz_process.hpp"
#include "detect/lock_order.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/run_traces.hpp"
#include "trace/trace_reader.hpp"
#include "base/trace_time.hpp"

#include <fmt/format.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

namespace ravel::cli {

namespace {

constexpr int kUsageError = 2;

struct GraphOptions {
    std::string trace;
    std::string kind = "wait-for";
    std::optional<uint64_t> atNs;
    std::string atText;
    std::optional<size_t> finding;
    std::optional<uint32_t> pid; // a process of the run other than the main trace's
    std::string output;
    GraphFormat format = GraphFormat::Svg;
    std::string engine;
    bool all = false;     // lock order: every lock, not only the cycles
    bool byLock = false;  // lock order: one node per lock, not per class
    std::chrono::milliseconds timeout { 30'000 };
};

// "4,412": counts a person compares at a glance.
std::string grouped(size_t n)
{
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); i++) {
        if (i && (digits.size() - i) % 3 == 0)
            out += ',';
        out += digits[i];
    }
    return out;
}

// What the default lock-order graph left out, on stderr: the user asked for "the lock-order
// graph" and gets its cycles.
void sayWhatWasLeftOut(const LockOrderSummary& s, bool byLock)
{
    if (s.drawnLocks == s.locks)
        return;
    const char* unit = byLock ? "lock" : "lock class";
    size_t drawn = s.drawnClasses, total = byLock ? s.locks : s.classes;
    std::string what = byLock || s.drawnLocks == s.drawnClasses
        ? ""
        : fmt::format(" ({} of {} locks)", grouped(s.drawnLocks), grouped(s.locks));
    fmt::print(stderr, "ravel: graph: drew {} of {} {}{}{}: {}; --all for every lock\n", grouped(drawn),
               grouped(total), unit, total == 1 ? "" : (byLock ? "s" : "es"), what,
               drawn ? "the cycles" : "no lock is on a cycle");
}

void warn(const std::vector<std::string>& lines)
{
    for (const std::string& w : lines)
        fmt::print(stderr, "ravel: warning: {}\n", w);
}

GraphModel build(const GraphOptions& o, const RunAnalysis& run, Symbolizer& sym, int& status)
{
    const ReplayModel& model = run.model();
    SymbolizedNaming naming(model, sym);
    if (o.finding) {
        // Numbered as every report numbers them: analyzeTrace's order, from 1.
        std::vector<Finding> findings = analyzeTrace(run, sym);
        if (*o.finding == 0 || *o.finding > findings.size()) {
            if (findings.empty())
                fmt::print(stderr, "ravel: graph: --finding {}: the trace has no findings\n", *o.finding);
            else
                fmt::print(stderr, "ravel: graph: --finding {}: the trace has {} finding{} (1 to {})\n", *o.finding,
                           findings.size(), findings.size() == 1 ? "" : "s", findings.size());
            status = kUsageError;
            return {};
        }
        const Finding& f = findings[*o.finding - 1];
        bool cycle = f.kind == "potential-deadlock" || f.kind == "lock-order-inversion";
        if (o.kind == "lock-order" && !cycle) {
            fmt::print(stderr,
                       "ravel: graph: finding {} is a {}, not a lock-order cycle: draw it with --kind wait-for\n",
                       *o.finding, f.kind);
            status = kUsageError;
            return {};
        }
        GraphModel g = findingGraph(model, f, naming);
        g.title = fmt::format("finding {}: {}", *o.finding, g.title);
        return g;
    }
    if (o.kind == "lock-order") {
        const LockOrderGraph& lo = run.lockOrder();
        LockOrderSummary summary;
        GraphModel g = lockOrderGraph(model, lo.edges(), lo.cycleEdges(), naming,
                                      LockOrderScope { !o.byLock, !o.all }, &summary);
        sayWhatWasLeftOut(summary, o.byLock);
        return g;
    }
    uint64_t at = model.endNs();
    if (o.atNs) {
        if (*o.atNs > model.endNs()) {
            fmt::print(stderr, "ravel: graph: --at {} is past the end of the trace ({})\n", o.atText,
                       formatTraceTime(model.endNs()));
            status = kUsageError;
            return {};
        }
        at = *o.atNs;
    }
    return waitForGraphAt(model, at, naming);
}

// The trace a graph is drawn from: the process asked for, or for --finding N the trace of the
// run that has finding N, numbered as `ravel report` numbers the run's findings (the main trace's
// first); `o.finding` becomes the number within that trace.
std::string graphTrace(GraphOptions& o)
{
    if (o.pid)
        return traceOfProcess(o.trace, *o.pid);
    std::vector<std::string> traces = findRunTraces(o.trace);
    if (!o.finding || traces.size() == 1)
        return o.trace;
    size_t before = 0;
    for (const std::string& path : traces) {
        TraceReader reader(path);
        RunAnalysis run(reader);
        Symbolizer sym(reader.modules());
        size_t here = analyzeTrace(run, sym).size();
        if (*o.finding <= before + here) {
            o.finding = *o.finding - before;
            return path;
        }
        before += here;
    }
    return o.trace; // past the last one: said below, for the main trace
}

int runGraph(GraphOptions o)
{
    try {
        std::string trace = graphTrace(o);
        TraceReader reader(trace);
        RunAnalysis run(reader);
        Symbolizer sym(reader.modules());
        int status = 0;
        GraphModel g = build(o, run, sym, status);
        warn(reader.warnings());
        warn(sym.warnings());
        if (status != 0)
            return status;
        GraphStyle style;
        style.engine = o.engine;
        writeGraphInChild(g, o.output, o.format, style, o.timeout);
        return 0;
    } catch (const GraphvizTimeout& e) {
        fmt::print(stderr, "ravel: graph: {} (--timeout to wait longer{})\n", e.what(),
                   o.kind == "lock-order" && o.all ? ", or leave out --all" : "");
        return 1;
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ravel: graph: {}\n", e.what());
        return 1;
    }
}

} // namespace

void addGraphCommand(CLI::App& app, int& status)
{
    auto options = std::make_shared<GraphOptions>();
    CLI::App* cmd = app.add_subcommand("graph", "Draw the wait-for graph at an instant or of a finding, or the "
                                                "lock-order graph of the run, as DOT, SVG, PNG or PDF");
    cmd->add_option("TRACE", options->trace, "trace file (.ravel)")->required();
    cmd->add_option("--kind", options->kind, "wait-for (who holds and waits for what) or lock-order")
        ->check(CLI::IsMember({ "wait-for", "lock-order" }))
        ->default_str("wait-for");
    CLI::Option* at = cmd->add_option_function<std::string>(
        "--at",
        [options](const std::string& value) {
            std::optional<uint64_t> ns = parseTraceTime(value);
            if (!ns)
                throw CLI::ValidationError("--at", "expected a time from the trace's start with a unit, like 1.25s, "
                                                   "1250ms or 40us, got '" + value + "'");
            options->atNs = ns;
            options->atText = value;
        },
        "wait-for graph at TIME from the trace's start (1.25s, 1250ms, 40us); default: the end of the trace");
    CLI::Option* finding = cmd->add_option_function<std::string>(
        "--finding",
        [options](const std::string& value) {
            size_t n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (value.empty() || ec != std::errc() || end != value.data() + value.size() || n == 0)
                throw CLI::ValidationError("--finding", "expected a finding number from 1 (as `ravel report` numbers "
                                                        "them), got '" + value + "'");
            options->finding = n;
        },
        "the graph of finding N (from 1, in report order): a deadlock's wait-for graph, a potential deadlock's cycle");
    at->excludes(finding);
    cmd->add_option_function<std::string>(
           "-o,--output",
           [options](const std::string& value) {
               std::optional<GraphFormat> f = graphFormatForPath(value);
               if (!f)
                   throw CLI::ValidationError("-o", "cannot tell the format of '" + value
                                                        + "': name it .dot, .gv, .svg, .png or .pdf");
               options->output = value;
               options->format = *f;
           },
           "output file; its extension chooses the format: .dot .gv .svg .png .pdf")
        ->required();
    cmd->add_option("--layout", options->engine,
                    "Graphviz layout engine (default: dot, circo for long cycles, sfdp past "
                        + std::to_string(kBigGraphNodes) + " nodes or " + std::to_string(kBigGraphEdges) + " edges)")
        ->check(CLI::IsMember({ "dot", "circo", "neato", "fdp", "sfdp", "twopi" }));
    cmd->add_option("--pid", options->pid, "draw process PID of the run (its trace beside the main one)")
        ->type_name("PID");
    cmd->add_flag("--all", options->all, "lock-order graph: every lock, not only those on a cycle");
    cmd->add_flag("--by-lock", options->byLock,
                  "lock-order graph: one node per lock, not per lock class (forks[*] for every forks[N])");
    cmd->add_option_function<std::string>(
        "--timeout",
        [options](const std::string& value) {
            std::optional<uint64_t> ns = parseTraceTime(value);
            if (!ns || *ns < 1'000'000)
                throw CLI::ValidationError("--timeout", "expected a time limit of 1ms or more with a unit, like 30s "
                                                        "or 500ms, got '" + value + "'");
            options->timeout = std::chrono::milliseconds(*ns / 1'000'000);
        },
        "give up on a Graphviz layout after this long (default 30s); nothing is written then");
    cmd->callback([options, &status] {
        if (options->kind != "lock-order" && (options->all || options->byLock))
            throw CLI::ValidationError(options->all ? "--all" : "--by-lock",
                                       "applies to --kind lock-order (a wait-for graph shows everything involved)");
        if (options->kind == "lock-order" && options->atNs)
            throw CLI::ValidationError("--at",
                                       "the lock-order graph covers the whole run: --at applies to --kind wait-for");
        status = runGraph(*options);
    });
}

} // namespace ravel::cli
