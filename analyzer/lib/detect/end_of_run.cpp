#include "detect/end_of_run.hpp"

#include "detect/live_detector.hpp"
#include "detect/live_trace.hpp"
#include "detect/wait_for.hpp"
#include "model/replay_model.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace ravel {

namespace {

// At a normal exit the main thread's exit is the process's end, not a thread that left: a channel
// it served is not "gone for good" because the program ended.
struct ExitLiveness : ThreadLiveness {
    const ReplayModel& model;
    uint64_t end;
    ExitLiveness(const ReplayModel& m, uint64_t e)
        : model(m)
        , end(e)
    {
    }
    bool alive(uint32_t id) const override
    {
        const ModelThread* t = model.thread(id);
        return t && (t->exitNs > end || t->parent == 0);
    }
};

// Threads blocked on a channel whose other side is gone for good (everyone who ever received from it
// exited before the program did): not idle workers but messages that can never be delivered.
void channelFindingsAtExit(const ReplayModel& model, const std::vector<ThreadSnapshot>& snap,
                           const std::vector<uint32_t>& reported, std::vector<Finding>& out, std::vector<uint32_t>& gone)
{
    const uint64_t endNs = model.endNs();
    ExitLiveness live(model, endNs);
    for (const ThreadSnapshot& s : snap) {
        if (s.exited || !s.blockedOn || (s.blockedFlags & 0x0f) != RAVEL_OBJ_CHAN
            || (s.blockedFlags & (RAVEL_F_TIMED | RAVEL_F_TRY))
            || std::find(reported.begin(), reported.end(), s.tid) != reported.end())
            continue;
        std::vector<SelectCase> cases = s.waitSet;
        ChanOp op = chanOpOf(s.blockedAux);
        if (op != ChanOp::Select)
            cases = { { s.blockedOn, op == ChanOp::Send } };
        bool allGone = !cases.empty();
        for (const SelectCase& c : cases) {
            bool g = false;
            model.channelTable().wakers(c.channel, c.send ? ChanOp::Send : ChanOp::Recv, s.tid, endNs, live, &g);
            allGone = allGone && g;
        }
        if (!allGone)
            continue;
        Deadlock one;
        one.verdict = Verdict::Certain;
        one.threads = one.cycle = { s.tid };
        Finding f = deadlockFinding(one, { s }, &model.channelTable(), endNs);
        f.kind = "blocked-at-exit";
        f.certainty = Verdict::Certain;
        if (!f.threads.empty()) {
            f.threads[0].wakers.clear();
            f.threads[0].wakersPresumed = false;
            f.threads[0].otherSideGone = true;
        }
        f.title = fmt::format("T{} was blocked forever sending on a channel whose receivers had all exited", s.tid);
        f.notes = { "every thread that ever received from this channel exited before the program did, and the "
                    "channel was not closed: the message could never be delivered" };
        out.push_back(std::move(f));
        gone.push_back(s.tid);
    }
}

// The thread whose exit was the process's (exit(), a return from main: the last thread to exit
// of a process that ended normally) ran on until the process was gone, and its locks went with
// the process: threads parked on them are idle at exit, not deadlocked. A thread that exited
// earlier holding a lock did abandon it.
void markProcessExit(const ReplayModel& model, std::vector<ThreadSnapshot>& snap)
{
    ThreadSnapshot* last = nullptr;
    uint64_t lastExit = 0;
    for (ThreadSnapshot& s : snap) {
        const ModelThread* t = model.thread(s.tid);
        if (s.exited && t && s.pid == model.trace().summary().pid && (!last || t->exitNs >= lastExit)) {
            last = &s;
            lastExit = t->exitNs;
        }
    }
    if (last)
        last->exitedWithProcess = true;
}

} // namespace

std::vector<Finding> endOfRunFindings(const ReplayModel& model)
{
    const uint64_t endNs = model.endNs();
    const ChannelTable& channels = model.channelTable();
    std::vector<Finding> out;
    // The end of the trace: a program killed while hung (or cut short) still shows its deadlock.
    // Threads still running then are taken as able to proceed.
    std::vector<ThreadSnapshot> snap = model.snapshotAt(endNs);
    bool ended = model.trace().summary().ended;
    if (ended)
        markProcessExit(model, snap);
    std::vector<WaitNode> nodes = waitGraphOf(snap, &channels, endNs);
    Deadlock d = reduceWaitFor(nodes);
    // The watchdog saw more than the trace holds (/proc: no thread it could not see, no signal
    // handler): when it called the deadlock certain, so does the trace.
    bool watchdogCertain = !ended && model.trace().summary().verdict == uint32_t(Verdict::Certain);
    std::vector<uint32_t> reported;
    if (d.verdict != Verdict::None) {
        bool anyAnd = false;
        for (const WaitNode& n : nodes)
            if (std::find(d.cycle.begin(), d.cycle.end(), n.thread) != d.cycle.end() && n.mode == WaitMode::And)
                anyAnd = true;
        // At a normal exit, waits on condition variables, semaphores or barriers that nobody served
        // are idle threads swept away by exit(), not a hang: they are noted below. A knot of
        // channel waits is not idleness, though: each thread of it waits for channels that only
        // other threads of the knot have used in the other role (a cycle of sends on full channels).
        bool channelKnot = !d.cycle.empty();
        for (const WaitNode& n : nodes) {
            if (std::find(d.cycle.begin(), d.cycle.end(), n.thread) == d.cycle.end())
                continue;
            bool inside = !n.wakers.empty() && n.objectKind == RAVEL_OBJ_CHAN;
            for (uint32_t w : n.wakers)
                inside = inside && std::find(d.threads.begin(), d.threads.end(), w) != d.threads.end();
            channelKnot = channelKnot && inside;
        }
        if (!ended || anyAnd || channelKnot) {
            bool upgraded = d.verdict == Verdict::Likely && watchdogCertain;
            if (upgraded)
                d.verdict = Verdict::Certain;
            Finding f = deadlockFinding(d, snap, &channels, endNs);
            if (upgraded)
                f.notes.push_back(model.trace().summary().origin == RAVEL_ORIGIN_SNAPSHOT
                                      ? "at the snapshot every thread of the program was blocked, none in a timed "
                                        "wait, and no signal handler was installed: nobody is left to wake them"
                                      : "the watchdog saw every thread of the program blocked, none in a timed wait, "
                                        "and no signal handler installed: nobody was left to wake them");
            out.push_back(std::move(f));
            reported = d.threads;
        }
    }
    if (ended) {
        std::vector<uint32_t> gone;
        channelFindingsAtExit(model, snap, reported, out, gone);
        reported.insert(reported.end(), gone.begin(), gone.end());
        Deadlock idle;
        for (const ThreadSnapshot& s : snap)
            if (!s.exited && s.blockedOn && !(s.blockedFlags & (RAVEL_F_TIMED | RAVEL_F_TRY))
                && std::find(reported.begin(), reported.end(), s.tid) == reported.end())
                idle.threads.push_back(s.tid);
        if (!idle.threads.empty()) {
            idle.cycle = idle.threads;
            Finding f = deadlockFinding(idle, snap, &channels, endNs);
            f.kind = "blocked-at-exit";
            f.certainty = Verdict::None;
            for (FindingThread& t : f.threads) {
                // Idle at the end, not proven stuck: the wakers of the end state mean nothing here.
                t.otherSideGone = false;
                t.wakersPresumed = false;
            }
            f.title = fmt::format("{} thread{} still blocked when the program exited", f.threads.size(),
                                  f.threads.size() == 1 ? " was" : "s were");
            f.notes.clear();
            out.push_back(std::move(f));
        }
    }
    for (const Finding& m : model.misuse())
        out.push_back(m);
    return out;
}

} // namespace ravel
