#include "analysis/analysis.hpp"

#include "analysis/run_analysis.hpp"
#include "detect/cond_predict.hpp"
#include "detect/data_race.hpp"
#include "detect/end_of_run.hpp"
#include "detect/lock_order.hpp"
#include "model/objects.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace ravel {

namespace {

// Report order: what hangs or corrupts first, notes last.
int rank(const Finding& f)
{
    if (f.kind == "deadlock")
        return f.certainty == Verdict::Certain ? 0 : 1;
    if (f.kind == "potential-deadlock")
        return 2;
    if (f.kind == "data-race")
        return 3;
    if (f.kind == "misuse")
        return 4;
    if (f.kind == "lock-order-inversion")
        return 5;
    // A thread blocked at exit is a note (idle workers are normal), unless what it waits for could
    // never have come (a channel whose receivers had all exited): then it is an error.
    if (f.kind == "blocked-at-exit" && f.certainty == Verdict::Certain)
        return 1;
    return 6; // blocked-at-exit and other notes
}

// Stable across runs and rebuilds: the kind, the objects' names and the functions involved, not
// addresses, times or line numbers.
std::string fingerprint(const Finding& f, const ReplayModel& model, Symbolizer& sym)
{
    std::set<std::string> parts;
    for (const FindingObject& o : f.objects)
        parts.insert("o:" + o.name);
    auto addStack = [&](uint32_t stack) {
        const StackTrace* s = stack ? model.trace().stack(stackIdOf(stack)) : nullptr;
        if (!s)
            return;
        std::vector<Frame> frames = sym.symbolizeStack(s->frames);
        if (const Frame* u = Symbolizer::userFrame(frames))
            parts.insert("f:" + u->function);
    };
    for (const FindingThread& t : f.threads)
        addStack(t.waitStack);
    for (const FindingEdge& e : f.edges) {
        addStack(e.fromStack);
        addStack(e.toStack);
    }
    for (const FindingAccess& a : f.accesses)
        addStack(a.stack);
    uint64_t h = 0xcbf29ce484222325ull;
    auto mix = [&](const std::string& s) {
        for (unsigned char c : s)
            h = (h ^ c) * 0x100000001b3ull;
        h = (h ^ 0xff) * 0x100000001b3ull;
    };
    mix(f.kind);
    for (const std::string& p : parts)
        mix(p);
    return fmt::format("{:016x}", h);
}

} // namespace

bool isError(const Finding& f) { return rank(f) <= 4; }

void nameFindingObjects(Finding& f, const TraceReader& trace, Symbolizer& sym)
{
    for (size_t i = 0; i < f.objects.size(); i++) {
        FindingObject& o = f.objects[i];
        if (!o.name.empty())
            continue;
        if (o.kind == RAVEL_OBJ_THREAD) {
            for (const ThreadInfo& t : trace.threads()) {
                if (t.pthread == o.address) {
                    o.name = t.name.empty() ? fmt::format("T{}", t.id) : fmt::format("T{} \"{}\"", t.id, t.name);
                    break;
                }
            }
            if (o.name.empty())
                o.name = fmt::format("thread 0x{:x}", o.address);
            continue;
        }
        if (std::string given = objectNameAt(trace, o.address, f.timeNs); !given.empty()) {
            o.name = given; // a channel's constructor name, ravel_name
            continue;
        }
        // A stack that touched the object in this finding gives the site for unnamed objects.
        uint32_t stack = 0;
        for (const FindingThread& t : f.threads) {
            for (const FindingHold& h : t.holds)
                if (h.object == i && h.stack && !stack)
                    stack = h.stack;
            if (t.waitsFor == long(i) && t.waitStack && !stack)
                stack = t.waitStack;
        }
        if (i == 0 && !f.accesses.empty() && !stack)
            stack = f.accesses[0].stack; // a race's memory: named from the access that raced
        std::vector<Frame> frames;
        if (const StackTrace* s = stack ? trace.stack(stackIdOf(stack)) : nullptr)
            frames = sym.symbolizeStack(s->frames);
        unsigned accessSize = i == 0 && !f.accesses.empty() ? f.accesses[0].size : 0;
        o.name = sym.objectName(o.address, o.kind, frames, accessSize);
        if (o.kind == RAVEL_OBJ_FUTEX) {
            o.type = sym.objectType(o.kind, frames);
            o.poolWord = sym.isWaiterPoolWord(o.address);
        }
    }
    // A deadlock on one futex word says which primitive it is, not "a futex word".
    static constexpr std::string_view word = "a futex word";
    size_t at = f.title.find(word);
    const FindingObject* futex = nullptr;
    size_t futexes = 0;
    for (const FindingObject& o : f.objects)
        if (o.kind == RAVEL_OBJ_FUTEX && futexes++ == 0)
            futex = &o;
    if (at != std::string::npos && futexes == 1 && !futex->type.empty()) {
        std::string label = futex->name.starts_with(futex->type) ? futex->name : futex->type + " " + futex->name;
        f.title.replace(at, word.size(), label);
    }
}

std::vector<Finding> analyzeTrace(const RunAnalysis& run, Symbolizer& sym, const AnalysisOptions& opt)
{
    const ReplayModel& model = run.model();
    std::vector<Finding> out = endOfRunFindings(model);
    // The watchdog's verdict, when the run was ended for a deadlock, is the deadlock in force at
    // the end of the trace: endOfRunFindings() finds it again from the trace alone.
    if (opt.lockOrder) {
        // A cycle that did deadlock this run is reported as the deadlock, not again as a
        // prediction: drop potential deadlocks whose locks are all locks of a deadlock found.
        std::set<uint64_t> deadlocked;
        for (const Finding& f : out)
            if (f.kind == "deadlock")
                for (const FindingObject& o : f.objects)
                    deadlocked.insert(o.address);
        const LockOrderGraph& graph = run.lockOrder();
        for (Finding& f : graph.findings()) {
            bool happened = f.kind == "potential-deadlock" && !f.edges.empty();
            for (const FindingEdge& e : f.edges)
                happened = happened && deadlocked.count(f.objects[e.from].address)
                    && deadlocked.count(f.objects[e.to].address);
            if (!happened)
                out.push_back(std::move(f));
        }
    }
    if (opt.lockOrder) // predictions: `--no-lock-order` turns every one off
        for (Finding& f : condVarPredictions(model, sym))
            out.push_back(std::move(f));
    for (Finding& f : dataRaceFindings(model))
        out.push_back(std::move(f));
    std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return rank(a) < rank(b); });
    for (Finding& f : out) {
        nameFindingObjects(f, model.trace(), sym);
        f.fingerprint = fingerprint(f, model, sym);
    }
    return out;
}

} // namespace ravel
