#include "replay_model.hpp"

#include "live_detector.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace ravel {

namespace {

constexpr uint32_t kNone = UINT32_MAX;

bool isLockKind(unsigned kind)
{
    return kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN;
}

struct OpenHold {
    uint32_t object;
    uint32_t span;
};

struct BuildThread {
    uint32_t openWait = kNone;
    std::vector<OpenHold> holds;
};

} // namespace

ReplayModel::ReplayModel(const TraceReader& trace)
    : m_trace(trace)
{
    build();
}

const ModelThread* ReplayModel::thread(uint32_t id) const
{
    if (id >= m_threadIndex.size() || m_threadIndex[id] == kNone)
        return nullptr;
    return &m_threads[m_threadIndex[id]];
}

void ReplayModel::build()
{
    for (const ThreadInfo& t : m_trace.threads()) {
        ModelThread m;
        m.id = t.id;
        m.pid = t.pid;
        m.osTid = t.os_tid;
        m.parent = t.parent;
        m.pthread = t.pthread;
        m.startNs = t.start_ns;
        m.exitNs = t.exited ? t.exit_ns : kOpenEnd;
        m.name = t.name;
        if (t.id >= m_threadIndex.size())
            m_threadIndex.resize(t.id + 1, kNone);
        m_threadIndex[t.id] = uint32_t(m_threads.size());
        m_threads.push_back(std::move(m));
    }
    std::vector<BuildThread> state(m_threads.size());
    ObjectTracker tracker(m_trace.threads());

    auto misuse = [&](const Event& e, uint32_t object, std::string title) {
        Finding f;
        f.kind = "misuse";
        f.title = std::move(title);
        f.timeNs = e.time_ns;
        FindingObject o;
        o.address = e.obj;
        o.kind = e.objKind();
        o.id = fmt::format("o{:x}.{}", e.obj, object == kNoObject ? 0 : tracker.objects()[object].generation);
        f.objects.push_back(o);
        FindingThread t;
        t.id = e.thread;
        if (const ModelThread* mt = thread(e.thread)) {
            t.osTid = mt->osTid;
            t.pid = mt->pid;
            t.name = mt->name;
        }
        t.waitStack = e.stack; // where it happened
        f.threads.push_back(std::move(t));
        m_misuse.push_back(std::move(f));
    };

    m_trace.forEachEvent([&](const Event& e) {
        m_events++;
        m_endNs = std::max(m_endNs, e.time_ns);
        uint32_t object = tracker.onEvent(e);
        if (e.thread >= m_threadIndex.size() || m_threadIndex[e.thread] == kNone)
            return true;
        uint32_t ti = m_threadIndex[e.thread];
        BuildThread& bt = state[ti];
        ModelThread& mt = m_threads[ti];
        unsigned kind = e.objKind();

        auto openWait = [&](uint32_t obj) {
            if (bt.openWait != kNone) // a request never completed (lost event): end it here
                m_waits[bt.openWait].end = e.time_ns;
            WaitSpan w;
            w.start = e.time_ns;
            w.object = obj;
            w.thread = e.thread;
            w.stack = e.stack;
            w.flags = e.flags;
            bt.openWait = uint32_t(m_waits.size());
            mt.waits.push_back(bt.openWait);
            m_waits.push_back(w);
        };
        auto closeWait = [&](WaitOutcome outcome, uint16_t error) {
            if (bt.openWait == kNone)
                return;
            WaitSpan& w = m_waits[bt.openWait];
            w.end = e.time_ns;
            w.outcome = outcome;
            w.error = error;
            bt.openWait = kNone;
        };

        switch (e.kind) {
        case RAVEL_EV_ACQ_REQ:
        case RAVEL_EV_WAIT_REQ:
            if (object != kNoObject)
                openWait(object);
            break;
        case RAVEL_EV_JOIN_REQ:
            if (object != kNoObject)
                openWait(object);
            break;
        case RAVEL_EV_JOIN_DONE:
            closeWait(e.aux == 0 ? WaitOutcome::Joined : WaitOutcome::Failed, uint16_t(e.aux));
            break;
        case RAVEL_EV_WOKEN:
        case RAVEL_EV_PASS:
            closeWait(WaitOutcome::Woken, 0);
            break;
        case RAVEL_EV_WAIT_FAIL:
        case RAVEL_EV_ACQ_FAIL:
            closeWait(WaitOutcome::Failed, uint16_t(e.aux));
            if (e.kind == RAVEL_EV_ACQ_FAIL && e.aux == EDEADLK)
                misuse(e, object, "a thread locked an error-checking mutex it already holds");
            break;
        case RAVEL_EV_ACQUIRED: {
            closeWait(WaitOutcome::Acquired, 0);
            if (object == kNoObject)
                break;
            // A recursive re-acquisition folds into the open span.
            for (OpenHold& h : bt.holds) {
                if (h.object == object && !(e.flags & RAVEL_F_SHARED) && kind == RAVEL_OBJ_MUTEX) {
                    m_holds[h.span].depth++;
                    return true;
                }
            }
            HoldSpan h;
            h.start = e.time_ns;
            h.object = object;
            h.thread = e.thread;
            h.stack = e.stack;
            h.flags = e.flags;
            bt.holds.push_back({ object, uint32_t(m_holds.size()) });
            mt.holds.push_back(uint32_t(m_holds.size()));
            m_holds.push_back(h);
            break;
        }
        case RAVEL_EV_RELEASE: {
            if (object == kNoObject)
                break;
            auto it = std::find_if(bt.holds.rbegin(), bt.holds.rend(),
                                   [&](const OpenHold& h) { return h.object == object; });
            if (it == bt.holds.rend()) {
                if (isLockKind(kind))
                    misuse(e, object, fmt::format("unlock of a {} this thread does not hold", objectKindName(kind)));
                break;
            }
            HoldSpan& span = m_holds[it->span];
            if (span.depth > 0) {
                span.depth--;
                break;
            }
            span.end = e.time_ns;
            bt.holds.erase(std::next(it).base());
            break;
        }
        case RAVEL_EV_DESTROY:
            if (object != kNoObject && isLockKind(kind)) {
                bool held = e.aux == EBUSY;
                for (const BuildThread& other : state)
                    for (const OpenHold& h : other.holds)
                        held = held || h.object == object;
                if (held)
                    misuse(e, object, fmt::format("destroy of a {} that is locked", objectKindName(kind)));
            }
            break;
        case RAVEL_EV_THREAD_EXIT:
            if (mt.exitNs == kOpenEnd || mt.exitNs > e.time_ns)
                mt.exitNs = e.time_ns;
            // A thread (not the process's end) that exits holding a lock abandons it.
            if (mt.parent != 0) {
                for (const OpenHold& h : bt.holds) {
                    const HoldSpan& span = m_holds[h.span];
                    if (isLockKind(span.flags & 0x0f)) {
                        Event at = e;
                        at.obj = tracker.objects()[h.object].address;
                        at.flags = uint8_t(span.flags);
                        at.stack = span.stack;
                        misuse(at, h.object,
                               fmt::format("thread exited holding a {}: nobody can ever unlock it",
                                           objectKindName(span.flags & 0x0f)));
                    }
                }
            }
            break;
        default:
            break;
        }
        return true;
    });
    m_objects = tracker.objects();
    m_endNs = std::max(m_endNs, m_trace.summary().duration_ns);

    for (ModelThread& t : m_threads) {
        size_t blocks = (t.holds.size() + kHoldBlock - 1) / kHoldBlock;
        t.holdBlockMaxEnd.assign(blocks, 0);
        for (size_t i = 0; i < t.holds.size(); i++) {
            uint64_t& m = t.holdBlockMaxEnd[i / kHoldBlock];
            m = std::max(m, m_holds[t.holds[i]].end);
        }
    }
}

const WaitSpan* ReplayModel::blockedAt(uint32_t id, uint64_t t) const
{
    const ModelThread* mt = thread(id);
    if (!mt || mt->waits.empty())
        return nullptr;
    auto it = std::upper_bound(mt->waits.begin(), mt->waits.end(), t,
                               [&](uint64_t v, uint32_t w) { return v < m_waits[w].start; });
    if (it == mt->waits.begin())
        return nullptr;
    const WaitSpan& w = m_waits[*std::prev(it)];
    return w.end > t ? &w : nullptr;
}

std::vector<const HoldSpan*> ReplayModel::heldAt(uint32_t id, uint64_t t) const
{
    std::vector<const HoldSpan*> out;
    const ModelThread* mt = thread(id);
    if (!mt)
        return out;
    // Holds are sorted by start; those starting after t cannot cover it. Blocks whose latest end
    // is not past t are skipped whole, so a query costs O(blocks + answers), not O(holds).
    size_t n = size_t(std::upper_bound(mt->holds.begin(), mt->holds.end(), t,
                                       [&](uint64_t v, uint32_t h) { return v < m_holds[h].start; })
        - mt->holds.begin());
    for (size_t b = (n + kHoldBlock - 1) / kHoldBlock; b-- > 0;) {
        if (mt->holdBlockMaxEnd[b] <= t)
            continue;
        size_t hi = std::min(n, (b + 1) * kHoldBlock);
        for (size_t i = b * kHoldBlock; i < hi; i++) {
            const HoldSpan& h = m_holds[mt->holds[i]];
            if (h.start <= t && h.end > t)
                out.push_back(&h);
        }
    }
    std::sort(out.begin(), out.end(), [](const HoldSpan* a, const HoldSpan* b) { return a->start < b->start; });
    return out;
}

std::vector<ThreadSnapshot> ReplayModel::snapshotAt(uint64_t t) const
{
    std::vector<ThreadSnapshot> out;
    for (const ModelThread& mt : m_threads) {
        if (mt.startNs > t)
            continue;
        ThreadSnapshot s;
        s.tid = mt.id;
        s.os_tid = mt.osTid;
        s.pid = mt.pid;
        s.pthread = mt.pthread;
        s.name = mt.name;
        s.exited = mt.exitNs <= t;
        if (!s.exited) {
            if (const WaitSpan* w = blockedAt(mt.id, t)) {
                s.blockedOn = m_objects[w->object].address;
                s.blockedFlags = w->flags;
                s.blockedSinceNs = w->start;
                s.blockedSinceRaw = w->start;
                s.blockedStack = w->stack;
            }
        }
        // An exited thread's holds stay: they are the abandoned locks.
        for (const HoldSpan* h : heldAt(mt.id, t)) {
            s.held.push_back(m_objects[h->object].address);
            s.heldFlags.push_back(h->flags);
            s.heldStacks.push_back(h->stack);
        }
        s.heldCount = uint32_t(s.held.size());
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Finding> ReplayModel::findings() const
{
    std::vector<Finding> out;
    // The end of the trace: a program killed while hung (or cut short) still shows its deadlock.
    // Threads still running then are taken as able to proceed.
    std::vector<ThreadSnapshot> snap = snapshotAt(m_endNs);
    std::vector<WaitNode> nodes = waitGraphOf(snap);
    Deadlock d = reduceWaitFor(nodes);
    bool ended = m_trace.summary().ended;
    std::vector<uint32_t> reported;
    if (d.verdict != Verdict::None) {
        bool anyAnd = false;
        for (const WaitNode& n : nodes)
            if (std::find(d.cycle.begin(), d.cycle.end(), n.thread) != d.cycle.end() && n.mode == WaitMode::And)
                anyAnd = true;
        // At a normal exit, waits on condition variables, semaphores or barriers that nobody served
        // are idle threads swept away by exit(), not a hang: they are noted below.
        if (!ended || anyAnd) {
            out.push_back(deadlockFinding(d, snap));
            reported = d.threads;
        }
    }
    if (ended) {
        Deadlock idle;
        for (const ThreadSnapshot& s : snap)
            if (!s.exited && s.blockedOn && !(s.blockedFlags & RAVEL_F_TIMED)
                && std::find(reported.begin(), reported.end(), s.tid) == reported.end())
                idle.threads.push_back(s.tid);
        if (!idle.threads.empty()) {
            idle.cycle = idle.threads;
            Finding f = deadlockFinding(idle, snap);
            f.kind = "blocked-at-exit";
            f.certainty = Verdict::None;
            f.title = fmt::format("{} thread{} still blocked when the program exited", f.threads.size(),
                                  f.threads.size() == 1 ? " was" : "s were");
            f.notes.clear();
            out.push_back(std::move(f));
        }
    }
    for (const Finding& m : m_misuse)
        out.push_back(m);
    return out;
}

} // namespace ravel
