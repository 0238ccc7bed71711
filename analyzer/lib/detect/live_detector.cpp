#include "detect/live_detector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

namespace ravel {

std::optional<Finding> LiveDeadlockDetector::observe(const std::vector<ThreadSnapshot>& sample,
                                                     const ProcessView& proc, uint64_t nowNs,
                                                     const ChannelTable* channels)
{
    std::vector<WaitNode> nodes = waitGraphOf(sample, channels);
    Deadlock d = reduceWaitFor(nodes);

    bool upgraded = false;
    // Everyone of the process blocked for good, with no timed wait and nobody unseen who could
    // signal: then even the presumed wakers are known to be stuck (DESIGN.md's verdict table).
    if (d.verdict == Verdict::Likely && !proc.signalHandlers) {
        size_t live = 0;
        bool anyTimed = false;
        for (const ThreadSnapshot& t : sample) {
            if (t.exited || t.pid != proc.pid)
                continue;
            live++;
            anyTimed = anyTimed || (t.blockedOn && (t.blockedFlags & RAVEL_F_TIMED));
        }
        if (!anyTimed && live == d.threads.size() && proc.kernelThreads != 0 && proc.kernelThreads <= live) {
            d.verdict = Verdict::Certain;
            upgraded = true;
        }
    }

    std::vector<uint64_t> since;
    for (uint32_t tid : d.threads)
        for (const ThreadSnapshot& t : sample)
            if (t.tid == tid)
                since.push_back(t.blockedSinceRaw); // not ns: the calibration moves between samples

    // A likely deadlock that becomes certain (the evidence came in later: a channel table read, a
    // thread seen exited) is a new verdict, reported and acted on as such.
    bool same = d.verdict != Verdict::None && d.verdict == m_last.verdict && d.threads == m_last.threads
        && since == m_lastSince;
    if (!same) {
        m_firstSeenNs = nowNs;
        m_reported = false;
    }
    m_last = d;
    m_lastSince = since;
    if (d.verdict == Verdict::None || !same || m_reported)
        return std::nullopt;
    if (d.verdict == Verdict::Likely && nowNs - m_firstSeenNs < m_stallNs)
        return std::nullopt;
    m_reported = true;
    Finding f = deadlockFinding(d, sample, channels);
    if (upgraded)
        f.notes.push_back("every thread of the program is blocked, none in a timed wait, and no signal handler is "
                          "installed: nobody is left to wake them");
    return f;
}

Finding deadlockFinding(const Deadlock& d, const std::vector<ThreadSnapshot>& sample, const ChannelTable* channels,
                        uint64_t at)
{
    Finding f;
    f.kind = "deadlock";
    f.certainty = d.verdict;
    std::map<uint64_t, size_t> objIndex;
    auto object = [&](uint64_t addr, unsigned kind) {
        auto it = objIndex.find(addr);
        if (it != objIndex.end())
            return it->second;
        FindingObject o;
        o.address = addr;
        o.kind = kind;
        o.id = fmt::format("o{:x}", addr);
        f.objects.push_back(o);
        objIndex[addr] = f.objects.size() - 1;
        return f.objects.size() - 1;
    };
    std::vector<WaitNode> nodes = waitGraphOf(sample, channels, at);
    uint64_t formed = 0;
    std::map<unsigned, unsigned> kinds;
    std::map<unsigned, std::set<long>> distinct;
    // The cycle first, in the order its threads wait for each other, then the threads that are
    // stuck only because they wait on it: that is the order a person follows the report in.
    std::vector<uint32_t> order;
    auto inCycle = [&](uint32_t t) { return std::find(d.cycle.begin(), d.cycle.end(), t) != d.cycle.end(); };
    // Start where the story starts: at a thread waiting on a lock or a signal rather than in a join.
    uint32_t start = d.cycle.empty() ? 0 : d.cycle.front();
    auto notJoin = [&](uint32_t t) {
        return std::any_of(nodes.begin(), nodes.end(),
                           [&](const WaitNode& n) { return n.thread == t && n.objectKind != RAVEL_OBJ_THREAD; });
    };
    if (auto it = std::find_if(d.cycle.begin(), d.cycle.end(), notJoin); it != d.cycle.end())
        start = *it;
    for (uint32_t next = start; next && order.size() < d.cycle.size();) {
        order.push_back(next);
        uint32_t after = 0;
        for (const WaitNode& n : nodes)
            if (n.thread == next)
                for (uint32_t w : n.wakers)
                    if (inCycle(w) && std::find(order.begin(), order.end(), w) == order.end() && !after)
                        after = w;
        next = after;
    }
    for (uint32_t t : d.cycle)
        if (std::find(order.begin(), order.end(), t) == order.end())
            order.push_back(t);
    for (uint32_t t : d.threads)
        if (!inCycle(t))
            order.push_back(t);
    for (uint32_t tid : order) {
        const ThreadSnapshot* t = nullptr;
        for (const ThreadSnapshot& s : sample)
            if (s.tid == tid)
                t = &s;
        if (!t)
            continue;
        FindingThread ft;
        ft.id = t->tid;
        ft.osTid = t->os_tid;
        ft.pid = t->pid;
        ft.name = t->name;
        unsigned kind = t->blockedFlags & 0x0f;
        ft.waitsFor = long(object(t->blockedOn, kind));
        if (inCycle(tid) && distinct[kind].insert(ft.waitsFor).second)
            kinds[kind]++; // objects of each kind the cycle waits on
        ft.waitShared = t->blockedFlags & RAVEL_F_SHARED;
        ft.waitSinceNs = t->blockedSinceNs;
        formed = std::max(formed, ft.waitSinceNs);
        ft.waitStack = t->blockedStack;
        ft.futexValueKnown = t->futexValueKnown;
        ft.futexValue = t->futexValue;
        if (kind == RAVEL_OBJ_FUTEX && !t->blockedStack)
            f.notes.push_back(fmt::format("T{} waits in a futex system call the runtime did not see (the kernel "
                                          "says so in /proc/{}/task/{}/syscall): no stack was recorded for it",
                                          t->tid, t->pid, t->os_tid));
        for (const WaitNode& n : nodes)
            if (n.thread == tid) {
                ft.wakers = n.wakers;
                if (kind == RAVEL_OBJ_CHAN) {
                    ft.wakersPresumed = channels && !n.exact;
                    ft.otherSideGone = n.exact && n.wakers.empty();
                }
            }
        if (kind == RAVEL_OBJ_CHAN) {
            ChanOp op = chanOpOf(t->blockedAux);
            ft.waitOp = chanOpName(op == ChanOp::None ? ChanOp::Recv : op);
            if (op == ChanOp::None)
                ft.waitOp = "channel operation";
            for (const SelectCase& c : t->waitSet) {
                ft.waitCases.push_back(object(c.channel, RAVEL_OBJ_CHAN));
                ft.waitCaseSend.push_back(c.send);
            }
        }
        for (size_t k = 0; k < t->held.size(); k++) {
            FindingHold h;
            h.object = object(t->held[k], t->heldFlags[k] & 0x0f);
            h.shared = t->heldFlags[k] & RAVEL_F_SHARED;
            h.stack = t->heldStacks[k] & RAVEL_STACK_ID_MASK;
            h.stackReused = t->heldStacks[k] & RAVEL_STACK_REUSED;
            ft.holds.push_back(h);
        }
        if (t->heldCount > t->held.size())
            f.notes.push_back(fmt::format("T{} holds {} locks; only {} are shown", t->tid, t->heldCount,
                                          t->held.size()));
        f.threads.push_back(std::move(ft));
    }
    f.timeNs = formed;

    size_t n = d.cycle.size();
    size_t more = f.threads.size() - n;
    bool locksOnly = true;
    bool anyChannel = false;
    // What the cycle is made of, in words, for the title: "through a channel and a join".
    std::vector<std::string> parts;
    auto part = [&](unsigned kind, const char* one, const char* many) {
        auto it = kinds.find(kind);
        if (it != kinds.end())
            parts.push_back(fmt::format("{}", it->second == 1 ? one : many));
    };
    part(RAVEL_OBJ_CHAN, "a channel", "channels");
    part(RAVEL_OBJ_COND, "a condition variable", "condition variables");
    part(RAVEL_OBJ_SEM, "a semaphore", "semaphores");
    part(RAVEL_OBJ_BARRIER, "a barrier", "barriers");
    part(RAVEL_OBJ_CUSTOM, "an annotated object", "annotated objects");
    part(RAVEL_OBJ_FUTEX, "a futex word", "futex words"); // named in the title once known (nameFindingObjects)
    part(RAVEL_OBJ_THREAD, "a join", "joins");
    const unsigned lockKinds[] = { RAVEL_OBJ_MUTEX, RAVEL_OBJ_RWLOCK, RAVEL_OBJ_SPIN };
    unsigned locks = 0;
    for (unsigned k : lockKinds)
        if (auto it = kinds.find(k); it != kinds.end())
            locks += it->second;
    if (locks)
        parts.insert(parts.begin(), locks == 1 ? "a lock" : "locks");
    for (auto [kind, count] : kinds) {
        locksOnly = locksOnly && (kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN);
        anyChannel = anyChannel || kind == RAVEL_OBJ_CHAN;
    }
    if (locks == 0)
        locksOnly = false;
    const FindingThread& first = f.threads[0];
    bool anyWaker = false; // none: every lock waited for was abandoned, nobody waits for anybody
    for (const FindingThread& t : f.threads)
        anyWaker = anyWaker || !t.wakers.empty();
    if (n == 1 && first.wakers.size() == 1 && first.wakers[0] == first.id)
        f.title = fmt::format("T{} waits for a lock it holds itself", first.id);
    else if (locksOnly && !anyWaker)
        f.title = n == 1 ? fmt::format("T{} waits for a lock whose holder exited without releasing it", first.id)
                         : fmt::format("{} threads wait for locks whose holders exited without releasing them", n);
    else if (locksOnly)
        f.title = fmt::format("{} threads wait for each other's locks", n);
    else if (n == 1 && anyChannel && first.wakers.empty())
        f.title = fmt::format("T{} waits to {} on a channel nobody is left to serve", first.id,
                              first.waitOp == "select" ? "select" : first.waitOp);
    else if (parts.empty())
        f.title = fmt::format("{} threads wait for each other", n);
    else {
        std::string list = parts[0];
        for (size_t i = 1; i < parts.size(); i++)
            list += (i + 1 == parts.size() ? " and " : ", ") + parts[i];
        f.title = n == 1 ? fmt::format("T{} waits forever on {}", first.id, list)
                         : fmt::format("{} threads wait for each other through {}", n, list);
    }
    if (more)
        f.title += fmt::format("; {} more thread{} blocked on them", more, more == 1 ? "" : "s");
    kinds.erase(RAVEL_OBJ_THREAD);
    bool otherOr = false;
    for (auto [kind, count] : kinds)
        otherOr = otherOr || kind == RAVEL_OBJ_COND || kind == RAVEL_OBJ_SEM || kind == RAVEL_OBJ_BARRIER
            || kind == RAVEL_OBJ_CUSTOM || kind == RAVEL_OBJ_FUTEX;
    if (d.verdict == Verdict::Likely && (otherOr || !anyChannel))
        f.notes.push_back(fmt::format("presumed: no other thread, signal handler or process will {} what these "
                                      "threads wait for",
                                      kinds.count(RAVEL_OBJ_FUTEX) ? "wake" : "signal, post or arrive on"));
    if (anyChannel && !channels)
        f.notes.push_back("presumed: any other thread of the program may still serve the channels waited on");
    return f;
}

} // namespace ravel
