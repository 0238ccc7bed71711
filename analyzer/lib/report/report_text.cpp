#include "report/report_text.hpp"

#include "base/lock_class.hpp"

#include "model/channels.hpp"
#include "model/objects.hpp"
#include "report/report_json.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ravel {

namespace {

struct Style {
    bool on;
    std::string bold(const std::string& s) const { return on ? "\x1b[1m" + s + "\x1b[0m" : s; }
    std::string red(const std::string& s) const { return on ? "\x1b[1;31m" + s + "\x1b[0m" : s; }
    std::string blue(const std::string& s) const { return on ? "\x1b[34m" + s + "\x1b[0m" : s; }
};

std::string threadLabel(const FindingThread& t)
{
    std::string s = fmt::format("T{}", t.id);
    if (!t.name.empty())
        s += fmt::format(" \"{}\"", t.name);
    return s;
}

// "mutex account_a"; a futex word by the primitive it belongs to: "std::latch ready", or its
// name alone when that already starts with the type ("std::latch at main.cpp:9").
std::string objectLabel(const FindingObject& o, const Style& st)
{
    if (o.type.empty())
        return fmt::format("{} {}", objectKindName(o.kind), st.bold(o.name));
    if (o.name.starts_with(o.type))
        return st.bold(o.name);
    return fmt::format("{} {}", o.type, st.bold(o.name));
}

// What the wakers of an OR wait would have to do.
const char* wakeVerb(const FindingObject& o)
{
    if (o.kind == RAVEL_OBJ_SEM)
        return "post it";
    if (o.kind == RAVEL_OBJ_BARRIER)
        return "arrive at it";
    if (o.kind != RAVEL_OBJ_FUTEX)
        return "signal it";
    if (o.type == "std::latch")
        return "count it down";
    if (o.type == "std::barrier")
        return "arrive at it";
    if (o.type == "std::counting_semaphore" || o.type == "std::binary_semaphore")
        return "release it";
    if (o.type.starts_with("std::atomic"))
        return "notify it";
    return "wake it";
}

// What the value a futex waiter expected says of the object, where it says something: a latch's
// remaining count, a semaphore's free units, the value an atomic's wait waits to see change.
std::string futexValueNote(const FindingObject& o, const FindingThread& t)
{
    if (o.kind != RAVEL_OBJ_FUTEX || !t.futexValueKnown || o.poolWord)
        return {};
    int v = int(t.futexValue);
    if (o.type == "std::latch")
        return fmt::format(" ({} more arrival{} needed)", v, v == 1 ? "" : "s");
    if (o.type == "std::counting_semaphore" || o.type == "std::binary_semaphore")
        return v == 0 ? " (no unit left)" : fmt::format(" (count {})", v);
    if (o.type.starts_with("std::atomic"))
        return fmt::format(" (to change from {})", v);
    return fmt::format(" (while the word is {})", v);
}

const FindingThread* findThread(const Finding& f, uint32_t id)
{
    for (const FindingThread& t : f.threads)
        if (t.id == id)
            return &t;
    return nullptr;
}

bool isStandardLibraryFrame(const Frame& f)
{
    auto base = [](const std::string& path) { return path.substr(path.rfind('/') + 1); };
    // libstdc++'s headers live under /usr/include/c++/N and /usr/include/<triplet>/c++/N.
    const bool header = f.file.find("/include/") != std::string::npos && f.file.find("/c++/") != std::string::npos;
    return header || base(f.module).starts_with("libstdc++.so");
}

void appendStack(std::string& out, uint32_t stackId, bool reused, const TraceReader& trace, Symbolizer& sym,
                 const TextReportOptions& opt, const Style& st)
{
    const StackTrace* s = stackId ? trace.stack(stackIdOf(stackId)) : nullptr;
    if (!s || s->frames.empty()) {
        out += "      (no stack recorded)\n";
        return;
    }
    // Below main or a thread's start routine is the C library starting things: left out.
    std::vector<Frame> frames = reportFrames(stackId, trace, sym);
    size_t shown = std::min<size_t>(frames.size(), opt.maxFrames);
    for (size_t i = 0; i < shown; i++) {
        // A run of frames inside the C++ standard library (std::thread's invoke machinery, lock
        // guards) says nothing the frames around it do not: one line instead. JSON and SARIF keep
        // every frame.
        size_t run = 0;
        while (i + run < shown && isStandardLibraryFrame(frames[i + run]))
            ++run;
        if (run >= 2) {
            out += fmt::format("      #{}-{} {} frames in the C++ standard library\n", i, i + run - 1, run);
            i += run - 1;
            continue;
        }
        const Frame& fr = frames[i];
        std::string where = Symbolizer::site(fr);
        if (where.empty())
            where = fr.module.empty() ? fmt::format("0x{:x}", fr.address) : fr.module.substr(fr.module.rfind('/') + 1);
        out += fmt::format("      #{:<2} {:<32} {}\n", i, st.bold(fr.function), st.blue(where));
    }
    if (frames.size() > shown)
        out += fmt::format("      ... {} more frames\n", frames.size() - shown);
    if (s->site_only)
        out += "      (only the call site was recorded)\n";
    else if (reused)
        out += "      (stack first seen at this call site in this thread; the callers may differ)\n";
}

// A lock-order cycle, edge by edge, each with where the held lock was taken and where the next
// was requested: both stacks are needed to fix the order in the code.
void appendCycle(std::string& out, const Finding& f, const TraceReader& trace, Symbolizer& sym,
                 const TextReportOptions& opt, const Style& st)
{
    if (f.edges.empty())
        return;
    auto name = [&](size_t i) {
        if (i >= f.objects.size())
            return std::string("?");
        return objectLabel(f.objects[i], st);
    };
    auto label = [&](uint32_t id) {
        const FindingThread* t = findThread(f, id);
        return t ? threadLabel(*t) : fmt::format("T{}", id);
    };
    bool mixed = std::any_of(f.edges.begin(), f.edges.end(), [](const FindingEdge& e) { return !e.toOp.empty(); });
    out += fmt::format("\n  Cycle of {} ({} edge{}):\n",
                       mixed ? "lock acquisitions and channel operations" : "lock acquisitions", f.edges.size(),
                       f.edges.size() == 1 ? "" : "s");
    auto verb = [](const std::string& op) { return op == "send" ? "sends on" : "receives from"; };
    for (const FindingEdge& e : f.edges) {
        if (!e.fromOp.empty()) {
            // channel -> lock: the thread that would serve the channel needs the lock first.
            out += fmt::format("\n    {} requests {} at {}:\n", st.bold(label(e.thread)), name(e.to),
                               formatTraceTime(e.timeNs));
            appendStack(out, e.toStack, false, trace, sym, opt, st);
            out += fmt::format("    before it {} {}, at:\n", verb(e.fromOp), name(e.from));
            appendStack(out, e.fromStack, false, trace, sym, opt, st);
            continue;
        }
        std::string ofClass;
        if (e.fromLocks > 1 && e.from < f.objects.size()) {
            // One pattern over a lock class: say so, or 64 findings' worth of locks reads as one.
            const std::string cls = lockClassOfName(f.objects[e.from].name);
            ofClass = cls != f.objects[e.from].name
                ? fmt::format(" (one of {} locks of class {} taken here in this pattern)", e.fromLocks, st.bold(cls))
                : fmt::format(" (one of {} locks taken here in this pattern)", e.fromLocks);
        }
        out += fmt::format("\n    {} takes {}{}, acquired at:\n", st.bold(label(e.thread)), name(e.from), ofClass);
        appendStack(out, e.fromStack, false, trace, sym, opt, st);
        if (!e.toOp.empty())
            out += fmt::format("    then {} {} at {}, which blocks until a {} comes:\n", verb(e.toOp), name(e.to),
                               formatTraceTime(e.timeNs), e.toOp == "send" ? "receiver" : "sender");
        else
            out += fmt::format("    then requests {} at {}:\n", name(e.to), formatTraceTime(e.timeNs));
        appendStack(out, e.toStack, false, trace, sym, opt, st);
        std::string others;
        for (size_t h : e.held)
            if (h != e.from)
                others += (others.empty() ? "" : ", ") + name(h);
        if (!others.empty())
            out += fmt::format("    (also holding {})\n", others);
    }
    const std::string atLeast = f.instancesAtLeast ? "at least " : "";
    if (f.instances > 1 && f.patterns <= 1)
        out += fmt::format("\n  {}{} instances of this pattern (the same acquire sites) in this run\n", atLeast,
                           f.instances);
    else if (f.instances > 1)
        out += fmt::format("\n  {}{} cycles of {} patterns of acquire sites in this run, the shortest shown\n",
                           atLeast, f.instances, f.patterns);
    if (f.componentLocks > 0)
        out += fmt::format("  one finding for the strongly connected part of the lock graph these cycles are in: "
                           "{} lock{}, {} lock-order edge{}\n",
                           f.componentLocks, f.componentLocks == 1 ? "" : "s", f.componentEdges,
                           f.componentEdges == 1 ? "" : "s");
    for (const auto& cycle : f.moreExamples) {
        std::string line;
        for (const FindingEdge& e : cycle)
            line += fmt::format("{}{} takes {} then {}", line.empty() ? "" : "; ", label(e.thread), name(e.from),
                                name(e.to));
        out += fmt::format("  another: {}\n", line);
    }
}

// "T3 "producer" (tid 12) waits to send on channel jobs since 1.2ms, and every thread that could
// receive from it is blocked: T2" and, when the wakers are presumed, what was assumed.
std::string channelWaitLine(const Finding& f, const FindingThread& t, const std::string& by, const Style& st,
                            std::string& assumed)
{
    auto chan = [&](size_t i) { return i < f.objects.size() ? "channel " + st.bold(f.objects[i].name) : "?"; };
    std::string pidPart = t.osTid ? fmt::format(" (tid {})", t.osTid) : "";
    std::string out = fmt::format("\n  {}{} ", st.bold(threadLabel(t)), pidPart);
    bool select = t.waitOp == "select";
    size_t obj = size_t(t.waitsFor);
    std::string serve; // what a waker would do
    if (select) {
        std::string cases;
        for (size_t k = 0; k < t.waitCases.size(); k++)
            cases += fmt::format("{}{} {}", k ? ", " : "", t.waitCaseSend[k] ? "send on" : "receive from",
                                 chan(t.waitCases[k]));
        if (cases.empty())
            cases = chan(obj);
        out += fmt::format("waits in a select ({}) since {}", cases, formatTraceTime(t.waitSinceNs));
        serve = "serve any of its cases";
    } else if (t.waitOp == "send") {
        out += fmt::format("waits to send on {} since {}", chan(obj), formatTraceTime(t.waitSinceNs));
        serve = "receive from it";
    } else {
        out += fmt::format("waits to receive from {} since {}", chan(obj), formatTraceTime(t.waitSinceNs));
        serve = "send to it or close it";
    }
    if (f.kind == "blocked-at-exit" && !t.otherSideGone)
        return out + ", when the program exited"; // idle, not stuck on anyone: nothing more to say
    if (t.otherSideGone)
        out += select ? ", and every thread that received from its channels has exited"
                      : ", and every thread that ever received from it has exited: its other side is gone for good";
    else if (by.empty())
        out += fmt::format(", and no thread that could {} is left", serve);
    else
        out += fmt::format(", and every thread that could {} is blocked: {}", serve, by);
    // A certain verdict needs no presumption (everyone is blocked); otherwise say what was assumed.
    if (t.wakersPresumed && f.certainty != Verdict::Certain) {
        std::string names;
        std::vector<size_t> chans = select ? t.waitCases : std::vector<size_t> { obj };
        if (chans.empty())
            chans = { obj };
        for (size_t k = 0; k < chans.size(); k++)
            names += fmt::format("{}{}", k ? (k + 1 == chans.size() ? " or " : ", ") : "",
                                 chans[k] < f.objects.size() ? "`" + f.objects[chans[k]].name + "`" : "?");
        std::string role = select ? "serve" : t.waitOp == "send" ? "receive from" : "send to or close";
        assumed = fmt::format("    ({}assuming only threads that used {} or created it may still {} it)\n",
                              f.certainty == Verdict::Likely ? "likely: " : "", names, role);
    }
    return out;
}

// A data race: both accesses with their stacks, the locks each side held, where the threads came
// from.
void appendRace(std::string& out, const Finding& f, const TraceReader& trace, Symbolizer& sym,
                const TextReportOptions& opt, const Style& st)
{
    auto label = [&](uint32_t id) {
        const FindingThread* t = findThread(f, id);
        std::string s = t ? threadLabel(*t) : fmt::format("T{}", id);
        if (t && t->osTid)
            s += fmt::format(" (tid {})", t->osTid);
        return s;
    };
    std::string var = f.objects.empty() ? std::string() : f.objects[0].name;
    for (size_t i = 0; i < f.accesses.size(); i++) {
        const FindingAccess& a = f.accesses[i];
        std::string what = fmt::format("{}{} of {} byte{} at 0x{:x}", i ? "earlier " : "",
                                       a.atomic ? (a.write ? "atomic write" : "atomic read") : (a.write ? "write" : "read"),
                                       a.size, a.size == 1 ? "" : "s", a.address);
        std::string held;
        if (a.heldKnown) {
            if (a.held.empty())
                held = ", holding no lock";
            for (size_t k = 0; k < a.held.size(); k++)
                held += fmt::format("{}{} {}", k ? ", " : ", holding ", objectKindName(f.objects[a.held[k]].kind),
                                    st.bold(f.objects[a.held[k]].name));
        }
        std::string when = a.timeKnown ? fmt::format(" at {}", formatTraceTime(a.timeNs)) : "";
        out += fmt::format("\n  {}{} by {}{}{}:\n", st.bold(what), i ? "" : fmt::format(" ({})", st.bold(var)),
                           st.bold(label(a.thread)), when, held);
        appendStack(out, a.stack, false, trace, sym, opt, st);
    }
    for (const FindingThread& t : f.threads) {
        if (t.parent == 0 && t.createStack == 0) {
            out += fmt::format("\n  {} is the main thread.\n", threadLabel(t));
            continue;
        }
        out += fmt::format("\n  {} was created by T{} at:\n", threadLabel(t), t.parent);
        appendStack(out, t.createStack, false, trace, sym, opt, st);
    }
}

} // namespace

std::string renderFindingText(const Finding& f, size_t number, const TraceReader& trace, Symbolizer& sym,
                              const TextReportOptions& opt)
{
    Style st { opt.color };
    std::string out;
    std::string head = f.kind;
    if (f.certainty != Verdict::None)
        head += fmt::format(" ({})", verdictName(f.certainty));
    // Notes (an inversion within one thread, threads blocked at exit) are real but not bugs of this
    // run: they must not read like the errors above them.
    bool note = f.kind == "lock-order-inversion" || f.kind == "unordered-misuse"
        || (f.kind == "blocked-at-exit" && f.certainty == Verdict::None);
    out += fmt::format("==ravel== {} #{}: {}\n", note ? st.blue("NOTE") : st.red("ERROR"), number,
                       st.bold(head + ": " + f.title));

    auto objName = [&](size_t i) {
        return objectLabel(f.objects[i], st);
    };
    if (f.kind == "data-race")
        appendRace(out, f, trace, sym, opt, st);
    for (const FindingThread& t : f.threads) {
        if (f.kind == "data-race")
            break;
        std::string pidPart = t.osTid ? fmt::format(" (tid {})", t.osTid) : "";
        if (t.waitsFor >= 0) {
            std::string by;
            for (uint32_t w : t.wakers) {
                const FindingThread* wt = findThread(f, w);
                by += (by.empty() ? "" : ", ") + (wt ? threadLabel(*wt) : fmt::format("T{}", w));
            }
            const FindingObject& o = f.objects[size_t(t.waitsFor)];
            if (o.kind == RAVEL_OBJ_CHAN) {
                std::string assumed;
                out += channelWaitLine(f, t, by, st, assumed) + ":\n";
                appendStack(out, t.waitStack, false, trace, sym, opt, st);
                out += assumed;
                for (const FindingHold& h : t.holds) {
                    out += fmt::format("    {} holds {}{}, acquired at:\n", threadLabel(t), objName(h.object),
                                       h.shared ? " (shared)" : "");
                    appendStack(out, h.stack, h.stackReused, trace, sym, opt, st);
                }
                continue;
            }
            bool isThread = o.kind == RAVEL_OBJ_THREAD;
            std::string what = isThread ? "waits to join" : t.waitShared ? "waits to read-lock" : "waits for";
            // A snapshot is one instant: its times are the order of its records, not how long
            // anyone waited, so it says no "since".
            std::string since = trace.summary().origin == RAVEL_ORIGIN_SNAPSHOT
                ? std::string()
                : " since " + formatTraceTime(t.waitSinceNs);
            out += fmt::format("\n  {}{} {} {}{}{}", st.bold(threadLabel(t)), pidPart, what,
                               isThread ? st.bold(o.name) : objName(size_t(t.waitsFor)), futexValueNote(o, t), since);
            bool isLock = o.kind == RAVEL_OBJ_MUTEX || o.kind == RAVEL_OBJ_RWLOCK || o.kind == RAVEL_OBJ_SPIN
                || o.kind == RAVEL_OBJ_ONCE || o.kind == RAVEL_OBJ_GUARD;
            const char* verb = wakeVerb(o);
            if (isThread)
                ;
            else if (isLock)
                out += by.empty() ? ", which no running thread can release" : fmt::format(", held by {}", by);
            else
                out += by.empty() ? fmt::format(", and no other thread is left to {}", verb)
                                  : fmt::format(", and every thread that could {} is blocked: {}", verb, by);
            out += ":\n";
            appendStack(out, t.waitStack, false, trace, sym, opt, st);
        } else if (t.waitStack) {
            // Misuse: the stack is where it happened, the object the one it happened to; a misuse of
            // two events says what each thread did ("T2 locks mutex m", "T1 destroyed mutex m").
            size_t acted = t.actionObject >= 0 && size_t(t.actionObject) < f.objects.size() ? size_t(t.actionObject) : 0;
            std::string on = f.objects.empty() ? "" : t.action.empty() ? fmt::format(", on {}", objName(0)) : " " + objName(acted);
            std::string did = t.action.empty() ? "" : " " + t.action;
            out += fmt::format("\n  {}{}{}{}, at:\n", st.bold(threadLabel(t)), pidPart, did, on);
            appendStack(out, t.waitStack, false, trace, sym, opt, st);
        } else if (!t.holds.empty() || f.edges.empty()) {
            // With a lock-order cycle the edges below say everything a bare thread line would.
            out += fmt::format("\n  {}{}:\n", st.bold(threadLabel(t)), pidPart);
        }
        for (const FindingHold& h : t.holds) {
            out += fmt::format("    {} holds {}{}, acquired at:\n", threadLabel(t), objName(h.object),
                               h.shared ? " (shared)" : "");
            appendStack(out, h.stack, h.stackReused, trace, sym, opt, st);
        }
    }
    appendCycle(out, f, trace, sym, opt, st);
    for (const std::string& n : f.notes)
        out += fmt::format("\n  note: {}\n", n);

    // The summary line names the first user frame of the first waiting thread, like sanitizers.
    std::string where;
    std::vector<uint32_t> summaryStacks;
    for (const FindingAccess& a : f.accesses)
        summaryStacks.push_back(a.stack);
    for (const FindingThread& t : f.threads)
        summaryStacks.push_back(t.waitStack);
    for (const FindingEdge& e : f.edges)
        summaryStacks.push_back(e.toStack);
    for (uint32_t stack : summaryStacks) {
        const StackTrace* s = stack ? trace.stack(stackIdOf(stack)) : nullptr;
        if (!s)
            continue;
        std::vector<Frame> frames = reportFrames(stack, trace, sym);
        if (const Frame* u = Symbolizer::userFrame(frames)) {
            where = fmt::format(" in {} {}", u->function, Symbolizer::site(*u));
            break;
        }
    }
    out += fmt::format("\n==ravel== SUMMARY: {}{}\n", head, where);
    return out;
}

} // namespace ravel
