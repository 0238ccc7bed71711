#include "model/replay_model.hpp"

#include "base/large_array.hpp"
#include "base/trace_time.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <map>
#include <thread>
#include <tuple>
#include <utility>
#include <unordered_map>

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
    uint32_t position; // in the thread's ModelThread::holds
};

struct BuildThread {
    uint32_t openWait = kNone;
    std::vector<OpenHold> holds;
    std::vector<ModelSelectCase> cases; // EndState: the open select's cases
    uint32_t selectLeft = 0;  // SELECT_CASE events still to come of the current select
    uint8_t selectFlags = 0;  // the SELECT_REQ's modifiers (TRY: a default case; TIMED: a timeout)
};

uint64_t messageKey(uint32_t object, uint32_t id) { return uint64_t(object) << 32 | id; }

} // namespace

ReplayModel::ReplayModel(const TraceReader& trace, SharedEventPass* pass, Retain retain)
    : m_trace(trace)
    , m_pass(pass)
    , m_retain(retain)
{
    try {
        build();
    } catch (...) {
        if (m_pass) // failed before reading: the other consumers must not wait for this one
            m_pass->forEachEvent([](const Event&) { return false; });
        throw;
    }
}

ReplayModel::~ReplayModel() = default;

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
    // EndState: a span lives in its slot only while open. A thread has at most one open wait, so
    // its wait slot is its index; closed hold slots are reused. The channel series, messages and
    // select cases (per event) are not kept; the channel table (per channel and thread) is.
    const bool keepAll = m_retain == Retain::Everything;
    std::vector<uint32_t> freeHolds;
    if (!keepAll)
        m_waits.resize(m_threads.size());
    ObjectTracker tracker(m_trace.threads());
    tracker.reserveFor(m_trace);
    for (const ObjectName& n : m_trace.names())
        m_channelTable.setName(n.obj, n.name);

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
    // A misuse made of two events: `e` (the misuse, what its thread `did`) and `earlier` (the
    // destroy, init or wait it conflicts with, what its thread `earlierDid`). Both stacks are shown.
    auto misuse2 = [&](const Event& e, uint32_t object, std::string title, const char* did, const Event& earlier,
                       const char* earlierDid) {
        misuse(e, object, std::move(title));
        Finding& f = m_misuse.back();
        f.threads[0].action = did;
        FindingThread t;
        t.id = earlier.thread;
        if (const ModelThread* mt = thread(earlier.thread)) {
            t.osTid = mt->osTid;
            t.pid = mt->pid;
            t.name = mt->name;
        }
        t.waitStack = earlier.stack;
        t.action = earlierDid;
        f.threads.push_back(std::move(t));
    };
    // Program order is exact; between threads only the clocks' ranges order two events for certain
    // (docs/report-format.md: no order from guesswork).
    auto surelyBefore = [](const Event& a, const Event& b) {
        return a.thread == b.thread || a.latest_ns < b.earliest_ns;
    };
    // A misuse that holds only if `e` came after `earlier` (or before, as `title` says), when the
    // trace cannot order them: not an error, a note that says so, with both stacks and both
    // ranges, so a reader can decide (an atomic the program orders them by is not recorded).
    auto unordered = [&](const Event& e, uint32_t object, const std::string& title, const char* did,
                         const Event& earlier, const char* earlierDid, const Event& other, const char* otherDid) {
        misuse2(e, object, title + ", or not: the trace cannot order the two events", did, earlier, earlierDid);
        Finding& f = m_misuse.back();
        f.kind = "unordered-misuse";
        // Both ends with the digits that tell them apart (two ends 12 us apart at 85 ms).
        auto range = [](const Event& x) {
            if (x.earliest_ns == x.latest_ns)
                return fmt::format("at {}", formatTraceTime(x.earliest_ns));
            if (formatTraceTime(x.earliest_ns) != formatTraceTime(x.latest_ns))
                return fmt::format("somewhere in [{}, {}]", formatTraceTime(x.earliest_ns), formatTraceTime(x.latest_ns));
            const double scale = x.latest_ns >= 1'000'000'000 ? 1e9 : x.latest_ns >= 1'000'000 ? 1e6 : 1e3;
            const char* unit = scale == 1e9 ? "s" : scale == 1e6 ? "ms" : "us";
            int digits = 1;
            while (digits < 6
                   && fmt::format("{:.{}f}", double(x.earliest_ns) / scale, digits)
                       == fmt::format("{:.{}f}", double(x.latest_ns) / scale, digits))
                digits++;
            return fmt::format("somewhere in [{:.{}f}{}, {:.{}f}{}]", double(x.earliest_ns) / scale, digits, unit,
                               double(x.latest_ns) / scale, digits, unit);
        };
        f.notes.push_back(fmt::format(
            "the trace cannot order the two: this thread {} it {}, the other thread {} {}; ravel orders events of "
            "different threads only by clock ranges that do not overlap, sequence numbers and the calls' results "
            "(docs/architecture.md, What ravel can and cannot order)",
            did, range(e), otherDid, range(other)));
        f.notes.push_back(
            "if the program orders them in a way the trace does not record (an atomic, a flag read in a loop), this "
            "is correct; if nothing does, it is the misuse named");
    };

    // The end of a lock's life at an address (a destroy that succeeded, perhaps its memory freed
    // after), until an init there: what a later refused lock or stray unlock is checked against.
    // Touched at destroys, inits, frees and misuse only, never per acquisition.
    struct Ended {
        Event destroy;
        bool freed = false;
    };
    std::unordered_map<uint64_t, Ended> ended;
    auto endedAt = [&](uint64_t address) -> const Ended* {
        auto it = ended.find(address);
        return it == ended.end() ? nullptr : &it->second;
    };
    // Locks whose memory was freed while they lived (no destroy), by address, until an init or an
    // acquisition there shows a new lock in that memory. glibc's lock of such memory finds the
    // allocator's free-list words where its lock word was: the lock looks taken by nobody, and a
    // request that never gets it, or a try or timed lock that fails with no holder since the free,
    // is a lock of a mutex in freed memory. (A new object there is initialized or simply locked.)
    size_t knownObjects = 0;
    struct Freed {
        Event free;
        Event request;          // an open request of the lock since the free (kind 0: none)
        bool reported = false;
        bool noted = false;     // an unordered use was noted
    };
    std::unordered_map<uint64_t, Freed> freedLocks;
    auto freedMisuse = [&](const Event& use, uint32_t object, Freed& fr) {
        if (fr.reported)
            return;
        const std::string title = fmt::format("lock of a {} in freed memory", objectKindName(use.objKind()));
        if (surelyBefore(fr.free, use)) {
            fr.reported = true;
            misuse2(use, object, title, "locks", fr.free, "freed the memory of");
        } else if (!fr.noted) {
            fr.noted = true; // once: a later use the clocks do order is still an error
            unordered(use, object, title, "locks", fr.free, "freed the memory of", fr.free, "freed its memory");
        }
    };
    auto onFreedLockUse = [&](const Event& e, uint32_t object) {
        auto it = freedLocks.find(e.obj);
        if (it == freedLocks.end())
            return;
        Freed& fr = it->second;
        switch (e.kind) {
        case RAVEL_EV_INIT:
        case RAVEL_EV_ACQUIRED:
            freedLocks.erase(it); // a new lock lives there
            break;
        case RAVEL_EV_ACQ_REQ:
            fr.request = e;
            break;
        case RAVEL_EV_ACQ_FAIL:
            if (e.aux == EBUSY || e.aux == ETIMEDOUT)
                freedMisuse(e, object, fr);
            fr.request = Event {};
            break;
        default:
            break;
        }
    };
    // Barriers initialized and not destroyed or freed since, by address: a second init is misuse.
    std::map<uint64_t, Event> barrierInits;
    auto onStackOfAThread = [&](uint64_t address) {
        for (const ThreadInfo& ti : m_trace.threads())
            if (ti.stack_hi > ti.stack_lo && address >= ti.stack_lo && address < ti.stack_hi)
                return true;
        return false;
    };
    // Robust mutexes (by object index): told by their INIT or by an EOWNERDEAD acquisition. A robust
    // mutex whose owner exits holding it is not abandoned: its next locker gets EOWNERDEAD.
    std::vector<uint8_t> robust;
    auto isRobust = [&](uint32_t object) { return object < robust.size() && robust[object]; };
    auto setRobust = [&](uint32_t object) {
        if (object >= robust.size())
            robust.resize(std::max<size_t>(object + 1, robust.size() * 2), 0);
        robust[object] = 1;
    };
    struct Abandoned {
        Event at;
        uint32_t object;
    };
    std::vector<Abandoned> abandoned; // holds open at a thread's exit, judged at the end
    // The unlock that left a robust mutex unrecoverable: the release of a hold that began with
    // EOWNERDEAD (pthread_mutex_consistent not called, or a later ENOTRECOVERABLE says so).
    std::unordered_map<uint32_t, Event> ownerDeadRelease;
    std::vector<std::pair<uint32_t, uint32_t>> ownerDeadHolds; // (thread, object) holding since EOWNERDEAD

    // A destroy (or re-init) of a condvar or barrier while another thread waits on it. The wait
    // must have begun before the destroy began and ended after it, by the clocks: the claim waits
    // for the wait's end (or the trace's).
    struct PendingWaitConflict {
        Event event;      // DESTROY_REQ or INIT
        uint32_t object;  // object index at the event
        uint64_t address;
        uint32_t waiter;  // ravel tid
        Event waitReq;    // the waiter's request, for its stack
    };
    std::vector<PendingWaitConflict> waitConflicts;
    auto waitConflictTitle = [&](const PendingWaitConflict& c) {
        std::string_view what = objectKindName(c.event.objKind());
        return c.event.kind == RAVEL_EV_INIT
            ? fmt::format("re-initialization of a {} while a thread waits on it", what)
            : fmt::format("destroy of a {} while a thread waits on it", what);
    };
    auto reportWaitConflict = [&](const PendingWaitConflict& c) {
        misuse2(c.event, c.object, waitConflictTitle(c), c.event.kind == RAVEL_EV_INIT ? "re-initialized" : "destroyed",
                c.waitReq, "waits on");
    };

    // A destroy of a lock another thread holds, in the merged order. Whether that holder's
    // release came before the destroy may be only inferred (an uncontended release carries no
    // clock; an atomic that ordered them is not recorded): the claim waits for the release, and
    // is made only when the release's range lies wholly after the destroy's, or when the holder
    // never released it. No order from guesswork (DESIGN.md's verdict table).
    struct PendingDestroy {
        Event event;
        uint32_t object;
        std::vector<uint32_t> holders; // ravel thread ids whose holds were open at the destroy
        Event unorderedRelease;        // a holder's release the clocks do not order (kind 0: none)
        bool certain = false;          // a holder released it after the destroy, for sure
    };
    std::vector<PendingDestroy> pendingDestroys;
    auto destroyOfLocked = [&](const Event& e, uint32_t object) {
        misuse(e, object, fmt::format("destroy of a {} that is locked", objectKindName(e.objKind())));
    };

    struct PendingEnd {
        uint32_t thread;
        uint64_t ns;
    };
    std::unordered_map<uint64_t, PendingEnd> unreceived, unmatched; // sends / receives by (channel, id)
    std::vector<int64_t> occupancy; // per m_channels entry; may dip below 0 where a receive is
                                    // ordered before its rendezvous send
    auto chanOf = [&](uint32_t object, uint64_t ns) -> ModelChannel& {
        if (object >= m_channelIndex.size())
            m_channelIndex.resize(std::max<size_t>(object + 1, m_channelIndex.size() * 2), kNone);
        if (m_channelIndex[object] == kNone) {
            m_channelIndex[object] = uint32_t(m_channels.size());
            ModelChannel c;
            c.object = object;
            c.createdNs = ns;
            m_channels.push_back(std::move(c));
            occupancy.push_back(0);
        }
        return m_channels[m_channelIndex[object]];
    };
    auto setOccupancy = [&](ModelChannel& c, int64_t delta, uint64_t ns) {
        int64_t& o = occupancy[m_channelIndex[c.object]];
        o += delta;
        uint32_t shown = uint32_t(std::clamp<int64_t>(o, 0, c.capacity ? int64_t(c.capacity) : 1));
        if (!c.occupancy.empty() && c.occupancy.back() == shown)
            return;
        if (!c.times.empty() && c.times.back() == ns) {
            c.occupancy.back() = shown;
        } else {
            c.times.push_back(ns);
            c.occupancy.push_back(shown);
        }
        c.maxOccupancy = std::max(c.maxOccupancy, shown);
    };
    // Time blocked in channel operations, per channel and direction (select: its first case).
    auto chanWaitEnded = [&](const WaitSpan& w) {
        if (w.op == ChanOp::None || (w.flags & RAVEL_F_TRY) || w.object == kNoObject)
            return;
        ModelChannel& c = chanOf(w.object, w.start);
        bool send = w.op == ChanOp::Send || (w.op == ChanOp::Select && w.caseCount && m_selectCases[w.cases].send);
        (send ? c.sendBlockedNs : c.recvBlockedNs) += w.end - w.start;
    };

    // Sized once from the reader's counts: growing by doubling would cost up to twice the final
    // size at its peak, and the spans are most of the model's memory.
    PagePopulator populate;
    if (keepAll) {
    populate.reserve(m_holds, m_trace.eventCount(RAVEL_EV_ACQUIRED));
    auto waitsOf = [&](auto count) {
        return count(RAVEL_EV_ACQ_REQ) + count(RAVEL_EV_WAIT_REQ) + count(RAVEL_EV_JOIN_REQ) + count(RAVEL_EV_SEND_REQ)
            + count(RAVEL_EV_RECV_REQ) + count(RAVEL_EV_SELECT_REQ);
    };
    populate.reserve(m_waits, waitsOf([&](unsigned k) { return m_trace.eventCount(k); }));
    // Each thread's span indices too: doubling a 2.5M-entry vector copies and faults it twice.
    for (ModelThread& mt : m_threads) {
        populate.reserve(mt.holds, m_trace.threadEventCount(mt.id, RAVEL_EV_ACQUIRED));
        populate.reserve(mt.waits, waitsOf([&](unsigned k) { return m_trace.threadEventCount(mt.id, k); }));
    }
    populate.run();
    }
    forEachEventVia(m_trace, m_pass, [&](const Event& e) {
        m_events++;
        m_endNs = std::max(m_endNs, e.time_ns);
        uint32_t object = tracker.onEvent(e);
        // Looked up only when it can matter: the first event of an object at the address (the old
        // one was retired by the free), or the end of a request; never per plain acquisition.
        bool newObject = tracker.objects().size() != knownObjects;
        knownObjects = tracker.objects().size();
        if (!freedLocks.empty() && isLockKind(e.objKind())
            && (newObject || e.kind == RAVEL_EV_ACQ_FAIL || (e.kind == RAVEL_EV_ACQUIRED && (e.flags & RAVEL_F_CONTENDED))))
            onFreedLockUse(e, object);
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
            if (e.kind == RAVEL_EV_WAIT_REQ && (e.flags & 0x0f) == RAVEL_OBJ_FUTEX)
                w.futexValue = e.aux;
            if (!keepAll) {
                bt.openWait = ti;
                m_waits[ti] = w;
                return;
            }
            bt.openWait = uint32_t(m_waits.size());
            mt.waits.push_back(bt.openWait);
            m_waits.push_back(w);
        };
        auto closeWait = [&](WaitOutcome outcome, uint16_t error) {
            if (bt.openWait == kNone)
                return;
            for (size_t i = 0; i < waitConflicts.size(); i++) {
                PendingWaitConflict& c = waitConflicts[i];
                if (c.waiter != e.thread)
                    continue;
                if (e.earliest_ns > c.event.latest_ns) // still waiting when the destroy began
                    reportWaitConflict(c);
                else if (e.latest_ns >= c.event.earliest_ns) // woke somewhere around it: unordered
                    unordered(c.event, c.object, waitConflictTitle(c),
                              c.event.kind == RAVEL_EV_INIT ? "re-initialized" : "destroyed", c.waitReq, "waits on", e,
                              "left its wait");
                waitConflicts.erase(waitConflicts.begin() + std::ptrdiff_t(i));
                --i;
            }
            WaitSpan& w = m_waits[bt.openWait];
            w.end = e.time_ns;
            w.outcome = outcome;
            w.error = error;
            bt.openWait = kNone;
            if (keepAll)
                chanWaitEnded(w);
        };
        auto chanMisuse = [&](std::string title) {
            Event at = e;
            at.flags = uint8_t(RAVEL_OBJ_CHAN | (e.flags & 0xf0));
            misuse(at, object, std::move(title));
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
            if (e.kind != RAVEL_EV_ACQ_FAIL || !isLockKind(kind))
                break;
            if (e.aux == EDEADLK) {
                misuse(e, object, "a thread locked an error-checking mutex it already holds");
            } else if (e.aux == EINVAL) {
                // glibc refused it: a destroyed lock (its kind is -1), or memory that never held one.
                // The refusal itself proves the destroy came first.
                const char* op = (e.flags & RAVEL_F_TRY) ? "trylock" : "lock";
                if (const Ended* d = endedAt(e.obj))
                    misuse2(e, object,
                            fmt::format("{} of a destroyed {}{}", op, objectKindName(kind), d->freed ? " in freed memory" : ""),
                            (e.flags & RAVEL_F_TRY) ? "trylocks" : "locks", d->destroy, "destroyed");
                else
                    misuse(e, object,
                           fmt::format("{} of an invalid {} (EINVAL: never initialized, or destroyed)", op, objectKindName(kind)));
            } else if (e.aux == ENOTRECOVERABLE) {
                auto it = ownerDeadRelease.find(object);
                std::string title = fmt::format("lock of a robust {} that is not recoverable: a thread that got "
                                                "EOWNERDEAD unlocked it without pthread_mutex_consistent",
                                                objectKindName(kind));
                if (it != ownerDeadRelease.end())
                    misuse2(e, object, std::move(title), "locks", it->second, "unlocked (still inconsistent)");
                else
                    misuse(e, object, std::move(title));
            }
            break;
        case RAVEL_EV_OWNER_DEAD: {
            if (object == kNoObject)
                break;
            setRobust(object);
            // The owner died holding it; its hold ends where this thread's begins.
            for (size_t oi = 0; oi < state.size(); oi++) {
                if (oi == ti)
                    continue;
                auto& holds = state[oi].holds;
                for (size_t k = 0; k < holds.size(); k++) {
                    if (holds[k].object != object)
                        continue;
                    HoldSpan& span = m_holds[holds[k].span];
                    span.end = std::max(span.start, e.time_ns);
                    if (keepAll) {
                        uint64_t& blockEnd = m_threads[oi].holdBlockMaxEnd[holds[k].position / kHoldBlock];
                        blockEnd = std::max(blockEnd, span.end);
                    } else {
                        freeHolds.push_back(holds[k].span);
                    }
                    holds.erase(holds.begin() + std::ptrdiff_t(k));
                    break;
                }
            }
            ownerDeadHolds.push_back({ e.thread, object });
            break;
        }
        case RAVEL_EV_INIT_FAIL: {
            unsigned err = e.aux & 0xffffu, value = e.aux >> 16;
            if (err != EINVAL)
                break;
            if (kind == RAVEL_OBJ_BARRIER && value == 0)
                misuse(e, object, "barrier initialized with a count of 0");
            else
                misuse(e, object, fmt::format("initialization of a {} failed (EINVAL)", objectKindName(kind)));
            break;
        }
        case RAVEL_EV_INIT:
            if (!ended.empty())
                ended.erase(e.obj);
            if (kind == RAVEL_OBJ_MUTEX && (e.aux & RAVEL_INIT_ROBUST) && object != kNoObject)
                setRobust(object);
            if (kind == RAVEL_OBJ_BARRIER && object != kNoObject) {
                auto it = barrierInits.find(e.obj);
                // Re-initialized while threads wait on it: checked against each open wait.
                bool waited = false;
                for (size_t oi = 0; oi < state.size(); oi++) {
                    uint32_t w = state[oi].openWait;
                    if (oi == ti || w == kNone || m_waits[w].object == kNoObject)
                        continue;
                    const ObjectRecord& wo = tracker.objects()[m_waits[w].object];
                    if (wo.address != e.obj || wo.kind != RAVEL_OBJ_BARRIER || m_waits[w].start >= e.earliest_ns)
                        continue;
                    Event req;
                    req.thread = m_threads[oi].id;
                    req.stack = m_waits[w].stack;
                    req.time_ns = req.earliest_ns = req.latest_ns = m_waits[w].start;
                    req.kind = RAVEL_EV_WAIT_REQ;
                    req.flags = RAVEL_OBJ_BARRIER;
                    req.obj = e.obj;
                    waitConflicts.push_back({ e, object, e.obj, m_threads[oi].id, req });
                    waited = true;
                }
                // Initialized twice: not after a destroy or a free, and not on a stack (a local barrier
                // of a function called again is a new object that no event says the old one ended).
                if (!waited && it != barrierInits.end() && !onStackOfAThread(e.obj)) {
                    const char* title = "barrier initialized twice, without a destroy between";
                    if (surelyBefore(it->second, e))
                        misuse2(e, object, title, "re-initializes", it->second, "initialized");
                    else
                        unordered(e, object, title, "re-initialized", it->second, "initialized", it->second,
                                  "initialized it");
                }
                barrierInits[e.obj] = e;
            }
            break;
        case RAVEL_EV_DESTROY_REQ:
            if (object == kNoObject || (kind != RAVEL_OBJ_COND && kind != RAVEL_OBJ_BARRIER))
                break;
            for (size_t oi = 0; oi < state.size(); oi++) {
                uint32_t w = state[oi].openWait;
                if (oi == ti || w == kNone || m_waits[w].object != object || m_waits[w].start >= e.earliest_ns)
                    continue;
                Event req;
                req.thread = m_threads[oi].id;
                req.stack = m_waits[w].stack;
                req.time_ns = req.earliest_ns = req.latest_ns = m_waits[w].start;
                req.kind = RAVEL_EV_WAIT_REQ;
                req.flags = uint8_t(kind);
                req.obj = e.obj;
                waitConflicts.push_back({ e, object, e.obj, m_threads[oi].id, req });
            }
            openWait(object); // glibc's destroy waits for the waiters to leave
            break;
        case RAVEL_EV_FREE:
            // Live locks in the freed memory (destroyed ones are not live: `ended` names them).
            for (uint32_t i : tracker.freedByLastEvent())
                if (isLockKind(tracker.objects()[i].kind))
                    freedLocks[tracker.objects()[i].address] = { e, Event {}, false };
            // Destroyed locks in it: probed where a lock in a heap block sits (its first 64 bytes),
            // not over the whole range, so a free costs a few lookups whatever its size.
            if (!ended.empty())
                for (uint64_t a = (e.obj + 7) & ~uint64_t(7); a < e.obj + std::min<uint64_t>(e.aux, 64); a += 8)
                    if (auto it = ended.find(a); it != ended.end())
                        it->second.freed = true;
            if (!barrierInits.empty())
                barrierInits.erase(barrierInits.lower_bound(e.obj), barrierInits.lower_bound(e.obj + e.aux));
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
            if (!keepAll) {
                uint32_t slot = uint32_t(m_holds.size());
                if (freeHolds.empty()) {
                    m_holds.push_back(h);
                } else {
                    slot = freeHolds.back();
                    freeHolds.pop_back();
                    m_holds[slot] = h;
                }
                bt.holds.push_back({ object, slot, 0 });
                break;
            }
            bt.holds.push_back({ object, uint32_t(m_holds.size()), uint32_t(mt.holds.size()) });
            if (mt.holds.size() % kHoldBlock == 0)
                mt.holdBlockMaxEnd.push_back(0);
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
                if (!isLockKind(kind))
                    break;
                // Only when this release is the first use of the address since the destroy: a lock
                // taken there since (a mutex assigned PTHREAD_MUTEX_INITIALIZER again) is alive.
                const Ended* d = ended.empty() ? nullptr : endedAt(e.obj);
                const ObjectRecord& o = tracker.objects()[object];
                // A thread whose older events are gone (flight recorder, lost chunks) may have
                // taken the lock in what is missing.
                const ThreadInfo* info = m_trace.thread(e.thread);
                if (d && o.firstThread == e.thread && o.firstNs == e.time_ns && surelyBefore(d->destroy, e))
                    misuse2(e, object,
                            fmt::format("unlock of a destroyed {}{}", objectKindName(kind), d->freed ? " in freed memory" : ""),
                            "unlocks", d->destroy, "destroyed");
                else if (!(info && info->incomplete))
                    misuse(e, object, fmt::format("unlock of a {} this thread does not hold", objectKindName(kind)));
                break;
            }
            HoldSpan& span = m_holds[it->span];
            if (span.depth > 0) {
                span.depth--;
                break;
            }
            span.end = e.time_ns;
            if (!ownerDeadHolds.empty()) {
                auto od = std::find(ownerDeadHolds.begin(), ownerDeadHolds.end(), std::make_pair(e.thread, object));
                if (od != ownerDeadHolds.end()) {
                    ownerDeadRelease[object] = e;
                    ownerDeadHolds.erase(od);
                }
            }
            for (size_t i = 0; i < pendingDestroys.size(); i++) {
                PendingDestroy& d = pendingDestroys[i];
                auto holder = std::find(d.holders.begin(), d.holders.end(), e.thread);
                if (d.object != object || holder == d.holders.end())
                    continue;
                if (e.earliest_ns > d.event.latest_ns) { // released after the destroy, for sure
                    destroyOfLocked(d.event, d.object);
                    d.certain = true;
                    d.holders.clear();
                } else {
                    // Could have been released before it. Released surely before it: the merge
                    // misplaced the hold's end, nothing to say.
                    if (e.latest_ns >= d.event.earliest_ns && d.unorderedRelease.kind == 0)
                        d.unorderedRelease = e;
                    d.holders.erase(holder);
                }
                if (d.holders.empty()) {
                    if (!d.certain && d.unorderedRelease.kind != 0)
                        unordered(d.event, d.object,
                                  fmt::format("destroy of a {} that is locked", objectKindName(kind)),
                                  "destroyed", d.unorderedRelease, "unlocks", d.unorderedRelease, "unlocked it");
                    pendingDestroys.erase(pendingDestroys.begin() + std::ptrdiff_t(i));
                    --i;
                }
            }
            if (!keepAll) {
                freeHolds.push_back(it->span);
                bt.holds.erase(std::next(it).base());
                break;
            }
            {
                uint64_t& blockEnd = mt.holdBlockMaxEnd[it->position / kHoldBlock];
                blockEnd = std::max(blockEnd, span.end);
            }
            bt.holds.erase(std::next(it).base());
            break;
        }
        case RAVEL_EV_DESTROY:
            if (bt.openWait != kNone && m_waits[bt.openWait].object == object)
                closeWait(WaitOutcome::Woken, 0); // the DESTROY_REQ's wait
            if (kind == RAVEL_OBJ_BARRIER)
                barrierInits.erase(e.obj);
            if (object != kNoObject && isLockKind(kind) && e.aux == 0)
                ended[e.obj] = { e, false };
            if (object != kNoObject && isLockKind(kind)) {
                if (e.aux == EBUSY) { // the real call saw it locked
                    destroyOfLocked(e, object);
                    break;
                }
                bool mine = false;
                std::vector<uint32_t> others;
                for (size_t oi = 0; oi < state.size(); oi++)
                    for (const OpenHold& h : state[oi].holds)
                        if (h.object == object) {
                            if (oi == ti)
                                mine = true; // program order: exact
                            else if (std::find(others.begin(), others.end(), m_threads[oi].id) == others.end())
                                others.push_back(m_threads[oi].id);
                        }
                // glibc's pthread_mutex_destroy fails with EBUSY on a locked mutex: one that
                // succeeded was not locked then, whatever the merged order says.
                if (mine)
                    destroyOfLocked(e, object);
                else if (!others.empty() && kind != RAVEL_OBJ_MUTEX)
                    pendingDestroys.push_back({ e, object, std::move(others), Event {}, false });
            }
            break;
        case RAVEL_EV_CHAN_CREATE:
            if (object != kNoObject && keepAll) {
                ModelChannel& c = chanOf(object, e.time_ns);
                c.capacity = e.aux;
                c.createdNs = e.time_ns;
            }
            m_channelTable.onEvent(e);
            break;
        case RAVEL_EV_SEND_REQ:
        case RAVEL_EV_RECV_REQ:
            m_channelTable.onEvent(e);
            if (object == kNoObject)
                break;
            if (keepAll)
                chanOf(object, e.time_ns);
            openWait(object);
            m_waits[bt.openWait].flags = uint8_t(RAVEL_OBJ_CHAN | (e.flags & 0xf0));
            m_waits[bt.openWait].op = e.kind == RAVEL_EV_SEND_REQ ? ChanOp::Send : ChanOp::Recv;
            break;
        case RAVEL_EV_SELECT_REQ:
            bt.selectLeft = e.aux;
            bt.selectFlags = uint8_t(e.flags & 0xf0);
            // The span opens at the first case, which names the channel the select is shown on.
            if (bt.openWait != kNone)
                m_waits[bt.openWait].end = e.time_ns;
            bt.openWait = kNone;
            break;
        case RAVEL_EV_SELECT_CASE:
            m_channelTable.onEvent(e);
            if (bt.selectLeft == 0 || object == kNoObject)
                break;
            if (keepAll)
                chanOf(object, e.time_ns);
            if (bt.openWait == kNone || m_waits[bt.openWait].op != ChanOp::Select) {
                openWait(object);
                WaitSpan& w = m_waits[bt.openWait];
                w.flags = uint8_t(RAVEL_OBJ_CHAN | bt.selectFlags);
                w.op = ChanOp::Select;
                w.cases = uint32_t(keepAll ? m_selectCases.size() : 0);
                bt.cases.clear();
            }
            if (keepAll)
                m_selectCases.push_back({ object, (e.aux & RAVEL_SELECT_SEND) != 0 });
            else
                bt.cases.push_back({ object, (e.aux & RAVEL_SELECT_SEND) != 0 });
            m_waits[bt.openWait].caseCount++;
            bt.selectLeft--;
            break;
        case RAVEL_EV_SELECT_DONE:
            bt.selectLeft = 0;
            closeWait(e.aux == RAVEL_SELECT_NONE ? WaitOutcome::Failed : WaitOutcome::Woken,
                      e.aux == RAVEL_SELECT_NONE ? uint16_t((bt.selectFlags & RAVEL_F_TRY) ? EAGAIN : ETIMEDOUT) : 0);
            break;
        case RAVEL_EV_SENT:
        case RAVEL_EV_RECEIVED: {
            m_channelTable.onEvent(e);
            closeWait(WaitOutcome::Woken, 0);
            if (object == kNoObject || !keepAll)
                break;
            ModelChannel& c = chanOf(object, e.time_ns);
            if (e.kind == RAVEL_EV_RECEIVED && e.aux == 0)
                break; // closed and drained: no message
            bool sent = e.kind == RAVEL_EV_SENT;
            setOccupancy(c, sent ? 1 : -1, e.time_ns);
            if (sent)
                c.messages++;
            // Message ids are taken under the channel's lock: RECEIVED(id) took exactly SENT(id). Either
            // may come first in the merged order (a rendezvous stamps both ends at once).
            uint64_t key = messageKey(object, e.aux);
            auto& mine = sent ? unreceived : unmatched;
            auto& theirs = sent ? unmatched : unreceived;
            auto it = theirs.find(key);
            if (it == theirs.end()) {
                mine[key] = { e.thread, e.time_ns };
                break;
            }
            MessageLink m;
            m.chan = object;
            m.id = e.aux;
            m.sender = sent ? e.thread : it->second.thread;
            m.sendNs = sent ? e.time_ns : it->second.ns;
            m.receiver = sent ? it->second.thread : e.thread;
            m.recvNs = sent ? it->second.ns : e.time_ns;
            m_messages.push_back(m);
            theirs.erase(it);
            break;
        }
        case RAVEL_EV_CHAN_FAIL:
            closeWait(WaitOutcome::Failed, uint16_t(e.aux));
            if (e.aux == EPIPE)
                chanMisuse("send on a closed channel");
            break;
        case RAVEL_EV_CHAN_CLOSE:
            m_channelTable.onEvent(e);
            if (object == kNoObject)
                break;
            if (e.aux == EPIPE) {
                chanMisuse("close of a channel that is already closed");
            } else if (e.aux == 0 && keepAll) {
                ModelChannel& c = chanOf(object, e.time_ns);
                c.closedNs = std::min(c.closedNs, e.time_ns);
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
                        abandoned.push_back({ at, h.object });
                    }
                }
            }
            break;
        default:
            break;
        }
        return true;
    });
    // Holders that never released the lock held it when it was destroyed.
    for (const PendingDestroy& d : pendingDestroys)
        destroyOfLocked(d.event, d.object);
    // A request of a lock in freed memory that never got it.
    for (auto& [address, fr] : freedLocks)
        if (fr.request.kind == RAVEL_EV_ACQ_REQ && !fr.reported)
            for (size_t i = tracker.objects().size(); i-- > 0;)
                if (tracker.objects()[i].address == address) {
                    freedMisuse(fr.request, uint32_t(i), fr);
                    break;
                }
    // Waiters that never left were waiting when their condvar or barrier was destroyed.
    for (const PendingWaitConflict& c : waitConflicts)
        reportWaitConflict(c);
    // A lock held by a thread that exited is abandoned, unless it is robust: glibc then hands it to
    // the next locker with EOWNERDEAD, which pthread_mutex_consistent makes whole again.
    for (const Abandoned& a : abandoned)
        if (!isRobust(a.object))
            misuse(a.at, a.object,
                   fmt::format("thread exited holding a {}: nobody can ever unlock it", objectKindName(a.at.objKind())));
    std::stable_sort(m_misuse.begin(), m_misuse.end(),
                     [](const Finding& a, const Finding& b) { return a.timeNs < b.timeNs; });
    // The same unordered pair of sites, round after round (a loop of handoffs by an atomic), is one
    // note with a count, not one per round.
    {
        std::map<std::tuple<std::string, uint32_t, uint32_t>, size_t> firstOf;
        std::vector<Finding> kept;
        kept.reserve(m_misuse.size());
        for (Finding& f : m_misuse) {
            if (f.kind != "unordered-misuse") {
                kept.push_back(std::move(f));
                continue;
            }
            auto key = std::make_tuple(f.title, f.threads[0].waitStack, f.threads.size() > 1 ? f.threads[1].waitStack : 0u);
            auto [it, fresh] = firstOf.emplace(key, kept.size());
            if (fresh) {
                f.instances = 1;
                kept.push_back(std::move(f));
            } else {
                kept[it->second].instances++;
            }
        }
        for (auto& [key, at] : firstOf)
            if (kept[at].instances > 1)
                kept[at].notes.push_back(fmt::format("{} such pairs at these two places in this run; the first is shown",
                                                     kept[at].instances));
        m_misuse = std::move(kept);
    }
    m_objects = tracker.objects();
    m_endNs = std::max(m_endNs, m_trace.summary().duration_ns);
    if (!keepAll) {
        // What is open at the end, in the layout blockedAt() and heldAt() search: each thread's
        // spans by start (its holds were opened in delivery order, whose times never decrease).
        std::vector<HoldSpan> holds;
        std::vector<WaitSpan> waits;
        for (size_t ti = 0; ti < m_threads.size(); ti++) {
            BuildThread& bt = state[ti];
            ModelThread& mt = m_threads[ti];
            if (bt.openWait != kNone) {
                WaitSpan w = m_waits[bt.openWait];
                if (w.op == ChanOp::Select) {
                    w.cases = uint32_t(m_selectCases.size());
                    m_selectCases.insert(m_selectCases.end(), bt.cases.begin(), bt.cases.end());
                }
                mt.waits.push_back(uint32_t(waits.size()));
                waits.push_back(w);
            }
            for (const OpenHold& h : bt.holds) {
                if (mt.holds.size() % kHoldBlock == 0)
                    mt.holdBlockMaxEnd.push_back(kOpenEnd);
                mt.holds.push_back(uint32_t(holds.size()));
                holds.push_back(m_holds[h.span]);
            }
        }
        m_holds = std::move(holds);
        m_waits = std::move(waits);
        return;
    }
    for (const WaitSpan& w : m_waits)
        if (w.end == kOpenEnd && w.op != ChanOp::None && !(w.flags & RAVEL_F_TRY)) {
            WaitSpan upToEnd = w;
            upToEnd.end = std::max(m_endNs, w.start);
            chanWaitEnded(upToEnd);
        }
    // Messages by the time they were received, so a view can binary-search them.
    std::stable_sort(m_messages.begin(), m_messages.end(),
                     [](const MessageLink& a, const MessageLink& b) { return a.recvNs < b.recvNs; });
    for (ModelChannel& c : m_channels)
        if (const ChannelInfo* info = m_channelTable.find(m_objects[c.object].address))
            c.name = info->name;

    // The latest end of each block of holds was kept as spans closed; those never closed end
    // with the trace.
    for (size_t ti = 0; ti < m_threads.size(); ti++)
        for (const OpenHold& h : state[ti].holds)
            m_threads[ti].holdBlockMaxEnd[h.position / kHoldBlock] = kOpenEnd;
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
                if ((w->flags & 0x0f) == RAVEL_OBJ_FUTEX && w->caseCount == 0) {
                    s.futexValueKnown = true;
                    s.futexValue = w->futexValue;
                }
                switch (w->op) {
                case ChanOp::Send: s.blockedAux = RAVEL_EV_SEND_REQ; break;
                case ChanOp::Recv: s.blockedAux = RAVEL_EV_RECV_REQ; break;
                case ChanOp::Select: s.blockedAux = RAVEL_EV_SELECT_REQ; break;
                default: break;
                }
                for (uint32_t k = 0; k < w->caseCount; k++) {
                    const ModelSelectCase& c = m_selectCases[w->cases + k];
                    s.waitSet.push_back({ m_objects[c.object].address, c.send });
                }
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

const ModelChannel* ReplayModel::channel(uint32_t object) const
{
    if (object >= m_channelIndex.size() || m_channelIndex[object] == kNone)
        return nullptr;
    return &m_channels[m_channelIndex[object]];
}

uint32_t ReplayModel::occupancyAt(uint32_t object, uint64_t t) const
{
    const ModelChannel* c = channel(object);
    if (!c)
        return 0;
    auto it = std::upper_bound(c->times.begin(), c->times.end(), t);
    if (it == c->times.begin())
        return 0;
    return c->occupancy[size_t(it - c->times.begin()) - 1];
}

bool ReplayModel::closedAt(uint32_t object, uint64_t t) const
{
    const ModelChannel* c = channel(object);
    return c && c->closedNs <= t;
}

} // namespace ravel
