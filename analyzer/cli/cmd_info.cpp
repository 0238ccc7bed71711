// `ravel info TRACE [--json]`: what was recorded, and the table of synchronization objects sorted
// so that the lock the program waited on most is the first line. The JSON form is documented in
// docs/info-json.md.
#include "commands.hpp"

#include "base/finding.hpp"
#include "base/trace_time.hpp"
#include "model/objects.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/run_traces.hpp"
#include "trace/trace_reader.hpp"
#include "model/trace_stats.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <cstdio>
#include <map>
#include <memory>
#include <numeric>

namespace ravel::cli {

namespace {

struct InfoOptions {
    std::string trace;
    bool json = false;
};

// Names and first-use sites of the objects, in object-index order (the order ObjectNamer needs
// for its "#2" numbering to match `ravel dump`).
struct ObjectLabels {
    std::vector<std::string> names;
    std::vector<std::optional<Frame>> firstUse;
};

ObjectLabels labelObjects(const TraceReader& reader, const TraceStats& stats, Symbolizer& symbolizer)
{
    ObjectLabels labels;
    ObjectNamer namer(symbolizer, reader);
    labels.names.reserve(stats.objects.size());
    labels.firstUse.reserve(stats.objects.size());
    for (uint32_t i = 0; i < stats.objects.size(); ++i) {
        const ObjectRecord& r = stats.objects[i].object;
        labels.names.push_back(namer.name(i, r));
        std::optional<Frame> site;
        if (const StackTrace* s = reader.stack(r.firstStack)) {
            std::vector<Frame> frames = symbolizer.symbolizeStack(s->frames);
            if (const Frame* f = Symbolizer::userFrame(frames))
                site = *f;
        }
        labels.firstUse.push_back(std::move(site));
    }
    return labels;
}

// Hot first: total wait, then acquisitions; ties keep first-use order so output is stable.
// Joined threads go last: main's join outlasts every lock wait and would bury the hot lock.
std::vector<uint32_t> hotOrder(const TraceStats& stats)
{
    std::vector<uint32_t> order(stats.objects.size());
    std::iota(order.begin(), order.end(), 0u);
    std::stable_sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
        const ObjectStats& x = stats.objects[a];
        const ObjectStats& y = stats.objects[b];
        bool xThread = x.object.kind == RAVEL_OBJ_THREAD, yThread = y.object.kind == RAVEL_OBJ_THREAD;
        if (xThread != yThread)
            return yThread;
        if (x.waitNsTotal != y.waitNsTotal)
            return x.waitNsTotal > y.waitNsTotal;
        return x.acquisitions + x.waits > y.acquisitions + y.waits;
    });
    return order;
}

std::string objectId(uint32_t index) { return fmt::format("o{}", index + 1); }

// "SIGKILL", "SIGRTMIN+3"; "signal 77" for a number this system has no name for.
std::string signalName(int sig)
{
    if (sig >= SIGRTMIN && sig <= SIGRTMAX)
        return sig == SIGRTMIN ? "SIGRTMIN" : fmt::format("SIGRTMIN+{}", sig - SIGRTMIN);
    if (const char* abbrev = sig > 0 ? sigabbrev_np(sig) : nullptr)
        return fmt::format("SIG{}", abbrev);
    return fmt::format("signal {}", sig);
}

// How the program ended, in a few words: from the run-end record `ravel run` wrote, else from
// what the runtime saw.
std::string endInBrief(const TraceSummary& s)
{
    switch (s.run_end) {
    case RAVEL_RUN_EXITED:
        return fmt::format("exited with status {}", s.run_end_value);
    case RAVEL_RUN_SIGNALED:
        return fmt::format("killed by {}", signalName(s.run_end_value));
    case RAVEL_RUN_STOPPED:
        return "left stopped for a debugger";
    case RAVEL_RUN_ORPHANED:
        return fmt::format("killed by {} when ravel run was killed", signalName(s.run_end_value));
    default:
        return s.ended ? fmt::format("exited with status {}", s.exit_status) : "";
    }
}

// The `exit:` line: the end in full, with who sent the signal when ravel knows.
std::string endInFull(const TraceSummary& s)
{
    switch (s.run_end) {
    case RAVEL_RUN_EXITED:
        return fmt::format("status {}", s.run_end_value);
    case RAVEL_RUN_SIGNALED: {
        std::string out = fmt::format("killed by {}", signalName(s.run_end_value));
        if (s.run_end_flags & RAVEL_RUN_F_CORE_DUMPED)
            out += " (core dumped)";
        if (s.run_end_flags & RAVEL_RUN_F_BY_RAVEL)
            out += ", sent by ravel run to end the deadlock";
        else if (s.run_end_flags & RAVEL_RUN_F_FORWARDED)
            out += ", sent to ravel run and forwarded";
        return out;
    }
    case RAVEL_RUN_STOPPED:
        return fmt::format("left stopped ({}) by ravel run for a debugger", signalName(s.run_end_value));
    case RAVEL_RUN_ORPHANED:
        return fmt::format("ravel run was killed while the program ran; its guard sent {} to the program's "
                           "process group",
            signalName(s.run_end_value));
    default:
        return s.ended ? fmt::format("status {}", s.exit_status) : "did not exit normally: crashed or killed";
    }
}

const char* endKind(uint32_t runEnd)
{
    switch (runEnd) {
    case RAVEL_RUN_EXITED:
        return "exited";
    case RAVEL_RUN_SIGNALED:
        return "killed";
    case RAVEL_RUN_STOPPED:
        return "stopped";
    case RAVEL_RUN_ORPHANED:
        return "orphaned";
    }
    return "unknown";
}

// What the counts columns cannot say: failures, condition-variable and semaphore traffic, and
// who was still stuck when the trace ended.
std::string notes(const ObjectStats& o)
{
    std::string out;
    auto add = [&](uint64_t n, std::string_view one, std::string_view many) {
        if (n == 0)
            return;
        if (!out.empty())
            out += ", ";
        out += fmt::format("{} {}", n, n == 1 ? one : many);
    };
    add(o.sharedAcquisitions, "shared", "shared");
    add(o.failed, "failed", "failed");
    add(o.waits, "wait", "waits");
    add(o.waitTimeouts, "timeout", "timeouts");
    if (o.object.kind == RAVEL_OBJ_SEM)
        add(o.signals, "post", "posts");
    else
        add(o.signals, "signal", "signals");
    add(o.broadcasts, "broadcast", "broadcasts");
    add(o.passes, "pass", "passes");
    add(o.blockedAtEnd, "still waiting at end", "still waiting at end");
    if (o.heldAtEnd)
        out += fmt::format("{}held at end", out.empty() ? "" : ", ");
    return out;
}

void printTable(std::string& out, const std::vector<std::vector<std::string>>& rows, size_t rightFrom, size_t rightTo)
{
    std::vector<size_t> width;
    for (const auto& row : rows)
        for (size_t c = 0; c < row.size(); ++c) {
            if (c >= width.size())
                width.push_back(0);
            width[c] = std::max(width[c], row[c].size());
        }
    for (const auto& row : rows) {
        std::string line = " ";
        for (size_t c = 0; c < row.size(); ++c) {
            bool last = c + 1 == row.size();
            bool right = c >= rightFrom && c < rightTo;
            if (right)
                line += fmt::format(" {:>{}}", row[c], width[c]);
            else if (last)
                line += " " + row[c];
            else
                line += fmt::format(" {:<{}}", row[c], width[c]);
        }
        while (!line.empty() && line.back() == ' ')
            line.pop_back();
        out += line;
        out += '\n';
    }
}

std::string commandLine(const std::vector<std::string>& argv)
{
    std::string line;
    for (const std::string& a : argv)
        line += (line.empty() ? "" : " ") + a;
    return line;
}

std::string processEnd(const RunProcess& p)
{
    switch (p.end) {
    case RunProcess::End::Exited: return fmt::format("exited {}", p.endValue);
    case RunProcess::End::Signaled:
        return fmt::format("killed by {}{}", signalName(p.endValue), p.coreDumped ? " (core dumped)" : "");
    case RunProcess::End::Unknown: break;
    }
    return "unknown";
}

std::string textReport(const TraceReader& reader, const TraceStats& stats, const ObjectLabels& labels,
                       const std::vector<RunProcess>& procs)
{
    const TraceSummary& s = reader.summary();
    std::string out;
    out += fmt::format("trace:     {}\n", s.path);
    std::string args;
    for (size_t i = 1; i < s.argv.size(); ++i)
        args += " " + s.argv[i];
    out += fmt::format("program:   {}{}\n", s.program, args);
    out += fmt::format("pid:       {}{}\n", s.pid, s.ppid ? fmt::format(" (parent {})", s.ppid) : "");
    out += fmt::format("exit:      {}\n", endInFull(s));
    if (procs.size() > 1 || (procs.size() == 1 && procs[0].images.size() > 1)) {
        // The run's processes, each with its own trace (the tables below are the main trace's).
        out += fmt::format("processes: {}\n", procs.size());
        std::vector<std::vector<std::string>> rows;
        rows.push_back({"  PID", "PARENT", "THREADS", "EVENTS", "EXIT", "COMMAND"});
        for (const RunProcess& p : procs) {
            // Each image the pid ran, in exec order.
            std::string command;
            for (const ProcessImage& im : p.images)
                command += (command.empty() ? "" : " -> exec ") + commandLine(im.argv);
            rows.push_back({fmt::format("  {}", p.pid), fmt::format("{}", p.parent), fmt::format("{}", p.threads),
                fmt::format("{}", p.events), processEnd(p), command});
        }
        std::string table;
        printTable(table, rows, 1, 4);
        out += table;
    }
    std::string brief = endInBrief(s);
    out += fmt::format("duration:  {}{}\n", formatDuration(stats.endNs), brief.empty() ? "" : " (" + brief + ")");
    if (s.verdict != 0)
        out += fmt::format("watchdog:  {} deadlock found live at {}\n", verdictName(Verdict(s.verdict)),
                           formatTraceTime(s.verdict_ns));
    out += fmt::format("events:    {}\n", stats.events);
    if (s.lost_events)
        out += fmt::format("lost:      {} events were not recorded\n", s.lost_events);

    std::vector<std::pair<uint64_t, unsigned>> kinds;
    for (unsigned k = 0; k < stats.eventsByKind.size(); ++k)
        if (stats.eventsByKind[k])
            kinds.push_back({stats.eventsByKind[k], k});
    std::sort(kinds.begin(), kinds.end(), [](auto a, auto b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
    for (auto [count, kind] : kinds)
        out += fmt::format("  {:<14} {:>12}\n", eventKindName(kind), count);

    out += fmt::format("\nthreads: {}\n", stats.threads.size());
    std::vector<std::vector<std::string>> rows;
    rows.push_back({"ID", "OS TID", "NAME", "EVENTS", "START", "END", "WAITED", "STATE"});
    for (const ThreadStats& t : stats.threads) {
        std::string state;
        if (t.blockedOn != kNoObject)
            state = fmt::format("blocked on {} {} ({})", objectKindName(stats.objects[t.blockedOn].object.kind),
                labels.names[t.blockedOn], objectId(t.blockedOn));
        else if (t.exited)
            state = "exited";
        else
            state = s.ended ? "running at exit" : "running at end";
        if (t.holdingAtEnd && t.blockedOn != kNoObject)
            state += fmt::format(", holding {}", t.holdingAtEnd);
        rows.push_back({fmt::format("T{}", t.id), t.osTid ? fmt::format("{}", t.osTid) : "?", t.name.empty() ? "-" : t.name,
            fmt::format("{}", t.events), formatDuration(t.startNs), t.exited ? formatDuration(t.exitNs) : "-",
            formatDuration(t.waitNsTotal), state});
    }
    printTable(out, rows, 3, 7);

    out += fmt::format("\nobjects: {} (by total wait; joined threads last)\n", stats.objects.size());
    rows.clear();
    rows.push_back({"ID", "KIND", "NAME", "ACQUIRED", "CONTENDED", "", "TOTAL WAIT", "MAX WAIT", "TOTAL HOLD", "MAX HOLD", "NOTES"});
    for (uint32_t i : hotOrder(stats)) {
        const ObjectStats& o = stats.objects[i];
        bool lock = o.acquisitions || o.object.kind == RAVEL_OBJ_MUTEX || o.object.kind == RAVEL_OBJ_RWLOCK
            || o.object.kind == RAVEL_OBJ_SPIN;
        std::string pct;
        if (lock && o.contended) {
            double p = 100.0 * double(o.contended) / double(o.acquisitions ? o.acquisitions : 1);
            pct = p < 0.1 ? "(<0.1%)" : fmt::format("({:.1f}%)", p);
        }
        rows.push_back({objectId(i), std::string(objectKindName(o.object.kind)), labels.names[i],
            lock ? fmt::format("{}", o.acquisitions) : "-", lock ? fmt::format("{}", o.contended) : "-", pct,
            formatDuration(o.waitNsTotal), formatDuration(o.waitNsMax), lock ? formatDuration(o.holdNsTotal) : "-",
            lock ? formatDuration(o.holdNsMax) : "-", notes(o)});
    }
    if (!stats.objects.empty())
        printTable(out, rows, 3, 10);

    // Channels: how much went through each, how long threads waited on either side, how full it got.
    rows.clear();
    rows.push_back({"ID", "NAME", "CAPACITY", "MESSAGES", "MAX OCCUPANCY", "BLOCKED SENDING", "BLOCKED RECEIVING",
        "STATE"});
    for (uint32_t i = 0; i < stats.objects.size(); ++i) {
        const ObjectStats& o = stats.objects[i];
        if (o.object.kind != RAVEL_OBJ_CHAN)
            continue;
        std::string capacity = o.capacity == 0 ? "unbuffered"
            : o.capacity == UINT32_MAX         ? "unbounded"
                                               : fmt::format("{}", o.capacity);
        std::string state = o.closed ? "closed" : "open";
        if (o.blockedAtEnd)
            state += fmt::format(", {} blocked at end", o.blockedAtEnd);
        rows.push_back({objectId(i), labels.names[i], capacity, fmt::format("{}", o.messages),
            o.capacity == 0 ? "-" : fmt::format("{}", o.maxOccupancy), formatDuration(o.sendBlockedNs),
            formatDuration(o.recvBlockedNs), state});
    }
    if (rows.size() > 1) {
        out += fmt::format("\nchannels: {}\n", rows.size() - 1);
        printTable(out, rows, 2, 7);
    }
    return out;
}

nlohmann::ordered_json jsonReport(const TraceReader& reader, const TraceStats& stats, const ObjectLabels& labels,
    const std::vector<std::string>& warnings, const std::vector<RunProcess>& runProcs)
{
    using json = nlohmann::ordered_json; // fields in the documented order, not sorted
    const TraceSummary& s = reader.summary();
    json j;
    j["trace"] = s.path;
    j["format_version"] = s.version;
    j["program"] = s.program;
    j["argv"] = s.argv;
    j["pid"] = s.pid;
    j["ppid"] = s.ppid;
    j["ended"] = s.ended;
    bool exited = s.run_end == RAVEL_RUN_EXITED;
    j["exit_status"] = exited ? json(s.run_end_value) : s.ended ? json(s.exit_status) : json(nullptr);
    if (s.run_end == RAVEL_RUN_UNKNOWN) {
        j["end"] = nullptr;
    } else {
        bool signal = s.run_end != RAVEL_RUN_EXITED;
        j["end"] = {
            {"how", endKind(s.run_end)},
            {"exit_status", exited ? json(s.run_end_value) : json(nullptr)},
            {"signal", signal ? json(signalName(s.run_end_value)) : json(nullptr)},
            {"signal_number", signal ? json(s.run_end_value) : json(nullptr)},
            {"core_dumped", bool(s.run_end_flags & RAVEL_RUN_F_CORE_DUMPED)},
            {"signal_from", s.run_end_flags & RAVEL_RUN_F_BY_RAVEL ? json("ravel")
                    : s.run_end_flags & RAVEL_RUN_F_FORWARDED     ? json("forwarded")
                    : s.run_end == RAVEL_RUN_ORPHANED             ? json("guard")
                                                                  : json(nullptr)},
            {"time_ns", s.run_end_ns},
            {"text", endInFull(s)},
        };
    }
    // The live watchdog's mark: what it decided and when (the latency of a live verdict is this
    // time minus the finding's, the instant its cycle closed).
    j["watchdog"] = s.verdict == 0 ? json(nullptr)
                                   : json({{"verdict", verdictName(Verdict(s.verdict))}, {"time_ns", s.verdict_ns}});
    j["duration_ns"] = stats.endNs;
    j["start_real_ns"] = s.start_real_ns;
    j["lost_events"] = s.lost_events;
    json procs = json::array();
    for (const RunProcess& p : runProcs) {
        json images = json::array();
        for (const ProcessImage& im : p.images)
            images.push_back({{"trace", im.trace->summary().path}, {"image", im.image}, {"program", im.program},
                {"argv", im.argv}, {"events", im.trace->eventCount()}, {"threads", im.trace->threads().size()}});
        bool exited = p.end == RunProcess::End::Exited, killed = p.end == RunProcess::End::Signaled;
        procs.push_back({
            {"pid", p.pid},
            {"parent", p.parent},
            {"parent_in_run", p.parentInRun},
            {"command", p.command()},
            {"program", p.images.back().program},
            {"threads", p.threads},
            {"events", p.events},
            {"start_ns", p.startNs},
            {"end", exited ? json("exited") : killed ? json("killed") : json(nullptr)},
            {"exit_status", exited ? json(p.endValue) : json(nullptr)},
            {"signal", killed ? json(signalName(p.endValue)) : json(nullptr)},
            {"signal_number", killed ? json(p.endValue) : json(nullptr)},
            {"core_dumped", p.coreDumped},
            {"end_from", p.endSource.empty() ? json(nullptr) : json(p.endSource)},
            {"images", std::move(images)},
        });
    }
    j["processes"] = std::move(procs);
    j["events"] = stats.events;
    json byKind = json::object();
    for (unsigned k = 0; k < stats.eventsByKind.size(); ++k)
        if (stats.eventsByKind[k])
            byKind[std::string(eventKindName(k))] = stats.eventsByKind[k];
    j["events_by_kind"] = std::move(byKind);

    json threads = json::array();
    for (const ThreadStats& t : stats.threads) {
        threads.push_back({
            {"id", t.id},
            {"os_tid", t.osTid},
            {"pid", t.pid},
            {"parent", t.parent ? json(t.parent) : json(nullptr)},
            {"name", t.name},
            {"start_ns", t.startNs},
            {"exit_ns", t.exited ? json(t.exitNs) : json(nullptr)},
            {"exited", t.exited},
            {"events", t.events},
            {"wait_ns_total", t.waitNsTotal},
            {"blocked_on", t.blockedOn != kNoObject ? json(objectId(t.blockedOn)) : json(nullptr)},
            {"holding_at_end", t.holdingAtEnd},
        });
    }
    j["threads"] = std::move(threads);

    json objects = json::array();
    for (uint32_t i = 0; i < stats.objects.size(); ++i) {
        const ObjectStats& o = stats.objects[i];
        json firstUse = nullptr;
        if (const auto& f = labels.firstUse[i])
            firstUse = {{"function", f->function}, {"file", f->file}, {"line", f->line}};
        objects.push_back({
            {"id", objectId(i)},
            {"kind", objectKindName(o.object.kind)},
            {"name", labels.names[i]},
            {"address", fmt::format("0x{:x}", o.object.address)},
            {"generation", o.object.generation},
            {"first_use", std::move(firstUse)},
            {"first_use_ns", o.object.firstNs},
            {"first_thread", o.object.firstThread},
            {"events", o.events},
            {"acquisitions", o.acquisitions},
            {"shared_acquisitions", o.sharedAcquisitions},
            {"contended", o.contended},
            {"try_acquisitions", o.tryAcquisitions},
            {"failed", o.failed},
            {"waits", o.waits},
            {"wait_timeouts", o.waitTimeouts},
            {"signals", o.signals},
            {"broadcasts", o.broadcasts},
            {"passes", o.passes},
            {"wait_ns_total", o.waitNsTotal},
            {"wait_ns_max", o.waitNsMax},
            {"hold_ns_total", o.holdNsTotal},
            {"hold_ns_max", o.holdNsMax},
            {"blocked_at_end", o.blockedAtEnd},
            {"held_at_end", o.heldAtEnd},
        });
        if (o.object.kind == RAVEL_OBJ_CHAN)
            objects.back()["channel"] = {
                {"capacity", o.capacity == UINT32_MAX ? json(nullptr) : json(o.capacity)},
                {"messages", o.messages},
                {"max_occupancy", o.maxOccupancy},
                {"send_blocked_ns", o.sendBlockedNs},
                {"recv_blocked_ns", o.recvBlockedNs},
                {"closed", o.closed},
            };
    }
    j["objects"] = std::move(objects);
    j["warnings"] = warnings;
    return j;
}

int runInfo(const InfoOptions& options)
{
    try {
        RunTraces run = openRunTraces(options.trace);
        const TraceReader& reader = run.main();
        std::vector<RunProcess> procs = describeProcesses(run);
        TraceStats stats = computeStats(reader);
        Symbolizer symbolizer(reader.modules());
        ObjectLabels labels = labelObjects(reader, stats, symbolizer);
        // After the pass: the reader also warns about what it meets while streaming, the
        // symbolizer about modules as it first needs them.
        std::vector<std::string> warnings = reader.warnings();
        warnings.insert(warnings.end(), run.warnings.begin(), run.warnings.end());
        warnings.insert(warnings.end(), symbolizer.warnings().begin(), symbolizer.warnings().end());
        for (const std::string& w : warnings)
            fmt::print(stderr, "ravel: warning: {}\n", w);
        std::string out = options.json ? jsonReport(reader, stats, labels, warnings, procs).dump(2) + "\n"
                                       : textReport(reader, stats, labels, procs);
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);
        return 0;
    } catch (const TraceError& e) {
        fmt::print(stderr, "ravel: {}\n", e.what());
        return 1;
    } catch (const std::exception& e) {
        fmt::print(stderr, "ravel: info: {}\n", e.what());
        return 1;
    }
}

} // namespace

void addInfoCommand(CLI::App& app, int& status)
{
    auto options = std::make_shared<InfoOptions>();
    CLI::App* cmd = app.add_subcommand("info", "Summarize a trace: program, threads, event counts and every "
                                               "synchronization object, the most waited-on first");
    cmd->add_option("TRACE", options->trace, "trace file (.ravel)")->required();
    cmd->add_flag("--json", options->json, "print JSON (documented in docs/info-json.md)");
    cmd->callback([options, &status] { status = runInfo(*options); });
}

} // namespace ravel::cli
