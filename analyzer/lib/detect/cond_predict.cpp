#include "detect/cond_predict.hpp"

#include "model/replay_model.hpp"
#include "symbols/code_shape.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <deque>
#include <memory>
#include <map>
#include <unordered_map>

namespace ravel {

namespace {

constexpr size_t kRecentSignals = 16; // per condvar: the wake-up's signal is among the latest
constexpr size_t kMaxFindings = 32;

// A sparse vector clock: (thread index, position) sorted by thread. Positions count a thread's
// events from 1. Most clocks here have a handful of entries (the threads one synchronized with).
using Clock = std::vector<std::pair<uint32_t, uint32_t>>;

void join(Clock& into, const Clock& from)
{
    if (from.empty())
        return;
    // The common case: the same threads as last time, only later positions; no allocation.
    size_t i = 0, j = 0;
    while (j < from.size()) {
        while (i < into.size() && into[i].first < from[j].first)
            i++;
        if (i == into.size() || into[i].first != from[j].first)
            break;
        into[i].second = std::max(into[i].second, from[j].second);
        j++;
    }
    if (j == from.size())
        return;
    Clock out;
    out.reserve(into.size() + from.size());
    i = 0, j = 0;
    while (i < into.size() || j < from.size()) {
        if (j == from.size() || (i < into.size() && into[i].first < from[j].first))
            out.push_back(into[i++]);
        else if (i == into.size() || from[j].first < into[i].first)
            out.push_back(from[j++]);
        else {
            out.emplace_back(into[i].first, std::max(into[i].second, from[j].second));
            i++, j++;
        }
    }
    into = std::move(out);
}

void set(Clock& c, uint32_t thread, uint32_t pos)
{
    auto it = std::lower_bound(c.begin(), c.end(), std::make_pair(thread, 0u));
    if (it != c.end() && it->first == thread)
        it->second = std::max(it->second, pos);
    else
        c.insert(it, {thread, pos});
}

uint32_t at(const Clock& c, uint32_t thread)
{
    auto it = std::lower_bound(c.begin(), c.end(), std::make_pair(thread, 0u));
    return it != c.end() && it->first == thread ? it->second : 0;
}

bool isLock(unsigned kind) { return kind == RAVEL_OBJ_MUTEX || kind == RAVEL_OBJ_RWLOCK || kind == RAVEL_OBJ_SPIN; }

struct Held {
    uint64_t obj = 0;
    unsigned kind = 0;
    uint32_t stack = 0;
    uint32_t pos = 0;
    uint64_t timeNs = 0;
    bool shared = false;
};

struct LastAcquisition {
    uint32_t pos = 0;
    uint32_t stack = 0;
    bool shared = false;
};

struct Signal {
    uint32_t thread = 0; // index
    uint32_t pos = 0;
    uint32_t seq = 0;
    uint32_t stack = 0;
    uint64_t timeNs = 0;
    bool broadcast = false;
    std::shared_ptr<const Clock> clock; // what the signaller knew of the others then
    // Locks it held then (the first few; `heldAll` false when there were more).
    std::array<uint64_t, 4> held {};
    uint8_t heldCount = 0;
    bool heldAll = true;
    bool holds(uint64_t obj) const
    {
        return std::find(held.begin(), held.begin() + heldCount, obj) != held.begin() + heldCount || !heldAll;
    }
};

struct OpenWait {
    bool active = false;
    bool expectRelease = false; // the next RELEASE is the wait's mutex
    uint64_t cv = 0;
    uint64_t mutex = 0;
    uint32_t pos = 0;
    uint32_t stack = 0;
    uint64_t timeNs = 0;
    bool timed = false;
    Held section;               // the mutex's acquisition that began the critical section
    std::vector<Held> others;   // locks held across the wait besides its mutex
    std::shared_ptr<const Clock> clock; // what the waiter knew of the others at the request
};

struct ThreadState {
    uint32_t pos = 0;
    Clock clock;                // what it knows of the others (its own entry is pos)
    std::shared_ptr<const Clock> snapshot; // a copy of clock, shared by its signals until it changes
    std::vector<Held> held;
    std::unordered_map<uint64_t, LastAcquisition> last; // latest acquisition of each lock
    OpenWait wait;
    Held reacquire;             // a wait's section, given back when the mutex is taken again
    bool reacquiring = false;
    uint32_t joining = UINT32_MAX; // JOIN_REQ's thread index
};

// A lost-signal candidate: the latest signalled wait at one wait site on one condvar.
struct LostSignal {
    uint32_t waiter = 0;
    uint64_t cv = 0;
    uint64_t mutex = 0;
    uint32_t waitStack = 0;
    uint64_t waitNs = 0;
    Held section;
    Signal signal;
    bool signalHeldMutex = false;
    uint64_t count = 0;
};

struct HeldLockCandidate {
    uint32_t waiter = 0;
    uint64_t cv = 0;
    uint32_t waitStack = 0;
    uint64_t waitNs = 0;
    Held lock;                  // the waiter's hold of it
    uint32_t signaller = 0;
    uint32_t signalStack = 0;
    uint64_t signalNs = 0;
    LastAcquisition taken;      // the signaller's acquisition of it
    uint64_t count = 0;
};

uint32_t siteOf(uint32_t stack) { return stack & RAVEL_STACK_ID_MASK; }

class Predictor {
public:
    Predictor(const ReplayModel& model, Symbolizer& sym)
        : m_model(model)
        , m_trace(model.trace())
        , m_sym(sym)
    {
        uint32_t maxId = 0;
        for (const ThreadInfo& ti : m_trace.threads())
            maxId = std::max(maxId, ti.id);
        m_index.assign(size_t(maxId) + 1, UINT32_MAX);
        for (const ThreadInfo& ti : m_trace.threads()) {
            m_index[ti.id] = uint32_t(m_ids.size());
            m_ids.push_back(ti.id);
        }
        m_threads.resize(m_ids.size());
    }

    void run()
    {
        m_trace.forEachEvent([this](const Event& e) {
            on(e);
            return true;
        });
    }

    std::vector<Finding> findings();

private:
    uint32_t indexOf(uint32_t id) const { return id < m_index.size() ? m_index[id] : UINT32_MAX; }

    Clock clockOf(uint32_t t) const
    {
        Clock c = m_threads[t].clock;
        set(c, t, m_threads[t].pos);
        return c;
    }
    void release(uint32_t t, uint64_t key)
    {
        Clock& c = m_sync[key];
        join(c, m_threads[t].clock);
        set(c, t, m_threads[t].pos);
    }
    const std::shared_ptr<const Clock>& snapshotOf(uint32_t t)
    {
        ThreadState& st = m_threads[t];
        if (!st.snapshot)
            st.snapshot = std::make_shared<const Clock>(st.clock);
        return st.snapshot;
    }
    void acquire(uint32_t t, uint64_t key)
    {
        auto it = m_sync.find(key);
        if (it != m_sync.end())
            acquireClock(t, it->second);
    }
    void acquireClock(uint32_t t, const Clock& c)
    {
        ThreadState& st = m_threads[t];
        join(st.clock, c);
        st.snapshot.reset();
        // Its own entry is its position, not what others knew of it.
        auto it = std::lower_bound(st.clock.begin(), st.clock.end(), std::make_pair(t, 0u));
        if (it != st.clock.end() && it->first == t)
            st.clock.erase(it);
    }

    void on(const Event& e);
    void woken(uint32_t t, const Event& e);
    void finishWait(uint32_t t);
    FindingObject object(uint64_t address, unsigned kind, uint64_t timeNs) const;
    FindingThread threadEntry(uint32_t t) const;
    Finding lostSignalFinding(const LostSignal& c) const;
    Finding heldLockFinding(const HeldLockCandidate& c) const;

    const ReplayModel& m_model;
    const TraceReader& m_trace;
    Symbolizer& m_sym;
    std::vector<uint32_t> m_index; // ravel tid -> index
    std::vector<uint32_t> m_ids;   // index -> ravel tid
    std::vector<ThreadState> m_threads;
    std::unordered_map<uint64_t, Clock> m_sync; // object -> joined clocks of its releases
    std::unordered_map<uint64_t, std::deque<Signal>> m_signals; // condvar -> its latest signals
    std::unordered_map<uint64_t, uint32_t> m_lastSignalSeq;     // condvar -> its last signal's seq
    std::map<std::pair<uint64_t, uint32_t>, LostSignal> m_lost; // (condvar, wait site)
    std::map<std::tuple<uint32_t, uint32_t, uint32_t, uint32_t>, HeldLockCandidate> m_heldLock;
};

void Predictor::on(const Event& e)
{
    uint32_t t = indexOf(e.thread);
    if (t == UINT32_MAX)
        return;
    ThreadState& st = m_threads[t];
    st.pos++;
    const unsigned kind = e.objKind();
    switch (e.kind) {
    case RAVEL_EV_ACQUIRED:
        if (isLock(kind)) {
            Held h { e.obj, kind, e.stack, st.pos, e.time_ns, (e.flags & RAVEL_F_SHARED) != 0 };
            if (st.reacquiring && st.reacquire.obj == e.obj)
                h = st.reacquire; // the mutex a wait gave back: the section began where it was taken
            st.reacquiring = false;
            st.held.push_back(h);
            st.last[e.obj] = { st.pos, e.stack, h.shared };
        }
        break;
    case RAVEL_EV_RELEASE:
        if (isLock(kind)) {
            for (size_t i = st.held.size(); i-- > 0;) {
                if (st.held[i].obj != e.obj)
                    continue;
                if (st.wait.active && st.wait.expectRelease) {
                    st.wait.mutex = e.obj;
                    st.wait.section = st.held[i];
                    st.wait.expectRelease = false;
                    st.wait.others.clear();
                    for (size_t k = 0; k < st.held.size(); k++)
                        if (k != i)
                            st.wait.others.push_back(st.held[k]);
                }
                st.held.erase(st.held.begin() + long(i));
                break;
            }
        }
        break;
    case RAVEL_EV_WAIT_REQ:
        if (kind == RAVEL_OBJ_COND) {
            OpenWait& w = st.wait;
            w = OpenWait();
            w.active = true;
            w.expectRelease = true;
            w.cv = e.obj;
            w.pos = st.pos;
            w.stack = e.stack;
            w.timeNs = e.time_ns;
            w.timed = (e.flags & RAVEL_F_TIMED) != 0;
            w.clock = snapshotOf(t);
        } else if (kind == RAVEL_OBJ_BARRIER) {
            release(t, e.obj);
        }
        break;
    case RAVEL_EV_WOKEN:
        if (kind == RAVEL_OBJ_COND) {
            woken(t, e);
            acquire(t, e.obj);
            finishWait(t);
        } else {
            acquire(t, e.obj);
        }
        break;
    case RAVEL_EV_WAIT_FAIL:
        if (kind == RAVEL_OBJ_COND)
            finishWait(t);
        break;
    case RAVEL_EV_PASS:
    case RAVEL_EV_RECEIVED:
        acquire(t, e.obj);
        break;
    case RAVEL_EV_SIGNAL:
    case RAVEL_EV_BROADCAST:
        if (kind == RAVEL_OBJ_COND) {
            Signal s;
            s.thread = t;
            s.pos = st.pos;
            s.seq = e.aux;
            s.stack = e.stack;
            s.timeNs = e.time_ns;
            s.broadcast = e.kind == RAVEL_EV_BROADCAST;
            s.clock = snapshotOf(t);
            for (const Held& h : st.held) {
                if (s.heldCount == s.held.size()) {
                    s.heldAll = false;
                    break;
                }
                s.held[s.heldCount++] = h.obj;
            }
            std::deque<Signal>& recent = m_signals[e.obj];
            recent.push_back(std::move(s));
            if (recent.size() > kRecentSignals)
                recent.pop_front();
            m_lastSignalSeq[e.obj] = e.aux;
        }
        release(t, e.obj); // cond signal -> wake, sem post -> wait, futex wake -> wait
        break;
    case RAVEL_EV_SENT:
    case RAVEL_EV_CHAN_CLOSE:
        release(t, e.obj);
        break;
    case RAVEL_EV_SELECT_CASE:
        if (e.aux & RAVEL_SELECT_SEND)
            release(t, e.obj);
        break;
    case RAVEL_EV_THREAD_CREATE: {
        uint32_t child = indexOf(e.aux);
        if (child != UINT32_MAX && child != t)
            acquireClock(child, clockOf(t));
        break;
    }
    case RAVEL_EV_JOIN_REQ:
        st.joining = indexOf(e.aux);
        break;
    case RAVEL_EV_JOIN_DONE:
        if (e.aux == 0 && st.joining != UINT32_MAX && st.joining != t)
            acquireClock(t, clockOf(st.joining));
        st.joining = UINT32_MAX;
        break;
    default:
        break;
    }
}

// The wait ends (woken, timed out, cancelled): the mutex it takes again belongs to the section
// that began before the wait.
void Predictor::finishWait(uint32_t t)
{
    ThreadState& st = m_threads[t];
    if (st.wait.active && !st.wait.expectRelease) {
        st.reacquire = st.wait.section;
        st.reacquiring = true;
    }
    st.wait.active = false;
}

void Predictor::woken(uint32_t t, const Event& e)
{
    ThreadState& st = m_threads[t];
    const OpenWait& w = st.wait;
    if (!w.active || w.expectRelease || w.cv != e.obj || w.timed)
        return;
    // The signal that woke it: the latest on this condvar numbered before the wake-up, by another
    // thread (a thread does not wake itself).
    auto it = m_signals.find(e.obj);
    if (it == m_signals.end())
        return;
    const Signal* waker = nullptr;
    for (auto s = it->second.rbegin(); s != it->second.rend(); ++s)
        if (s->seq < e.aux) {
            waker = &*s;
            break;
        }
    if (!waker || waker->thread == t)
        return;
    const uint32_t t2 = waker->thread;

    // Lost signal: could the signal have come before the wait began? Under the mutex, its whole
    // section must fit before the waiter's section; without it, before the wait request.
    bool underMutex = waker->holds(w.mutex);
    uint32_t bound = underMutex ? w.section.pos : w.pos;
    if (w.section.pos != 0 && at(*waker->clock, t) < bound) {
        LostSignal& c = m_lost[{ w.cv, siteOf(w.stack) }];
        c.count++;
        c.waiter = t;
        c.cv = w.cv;
        c.mutex = w.mutex;
        c.waitStack = w.stack;
        c.waitNs = w.timeNs;
        c.section = w.section;
        c.signal = *waker;
        c.signalHeldMutex = underMutex;
    }

    // A lock the waiter held across the wait that its waker took before signalling.
    for (const Held& h : w.others) {
        auto last = m_threads[t2].last.find(h.obj);
        if (last == m_threads[t2].last.end())
            continue;
        const LastAcquisition& a = last->second;
        if (a.pos >= waker->pos || (a.shared && h.shared))
            continue; // taken after the signal; or readers, who do not exclude each other
        if (at(*w.clock, t2) >= a.pos)
            continue; // the waiter's way to its wait went through that acquisition
        auto key = std::make_tuple(siteOf(w.stack), siteOf(h.stack), siteOf(a.stack), siteOf(waker->stack));
        HeldLockCandidate& c = m_heldLock[key];
        if (c.count++ == 0) {
            c.waiter = t;
            c.cv = w.cv;
            c.waitStack = w.stack;
            c.waitNs = w.timeNs;
            c.lock = h;
            c.signaller = t2;
            c.signalStack = waker->stack;
            c.signalNs = waker->timeNs;
            c.taken = a;
        }
    }
}

FindingObject Predictor::object(uint64_t address, unsigned kind, uint64_t timeNs) const
{
    FindingObject o;
    o.address = address;
    o.kind = kind;
    for (const ObjectRecord& r : m_model.objects())
        if (r.address == address && r.kind == kind && r.firstNs <= timeNs)
            o.generation = std::max(o.generation, r.generation);
    o.id = fmt::format("o{:x}.{}", address, o.generation);
    return o;
}

FindingThread Predictor::threadEntry(uint32_t t) const
{
    FindingThread ft;
    ft.id = m_ids[t];
    if (const ThreadInfo* ti = m_trace.thread(ft.id)) {
        ft.osTid = ti->os_tid;
        ft.pid = ti->pid;
        ft.name = ti->name;
    }
    return ft;
}

std::string threadWord(const FindingThread& t) { return fmt::format("T{}", t.id); }

Finding Predictor::lostSignalFinding(const LostSignal& c) const
{
    Finding f;
    f.kind = "potential-deadlock";
    f.timeNs = c.waitNs;
    f.objects.push_back(object(c.cv, RAVEL_OBJ_COND, c.waitNs));
    f.objects.push_back(object(c.mutex, c.section.kind, c.waitNs));
    FindingThread waiter = threadEntry(c.waiter);
    FindingThread signaller = threadEntry(c.signal.thread);
    waiter.action = "waits on";
    waiter.waitStack = c.waitStack;
    waiter.holds.push_back({ 1, c.section.shared, c.section.stack, (c.section.stack & RAVEL_STACK_REUSED) != 0, c.section.timeNs });
    signaller.action = "signals";
    signaller.waitStack = c.signal.stack;
    f.title = fmt::format("a signal can come before its wait: {} waits with no condition checked, and {}'s signal "
                          "could have come first", threadWord(waiter), threadWord(signaller));
    f.notes.push_back(fmt::format(
        "the schedule that hangs: {} signals before {} begins to wait; nobody waits then, so the signal is lost, "
        "and no later signal on this condition variable comes: {} waits forever",
        threadWord(signaller), threadWord(waiter), threadWord(waiter)));
    f.notes.push_back(fmt::format(
        "possible because {}'s signal needed nothing {} did after taking the mutex (thread creation, joins, "
        "semaphores, barriers, messages and other signals order threads; lock order does not)",
        threadWord(signaller), threadWord(waiter)));
    f.notes.push_back("the fix: wait in a loop on a condition that the signaller sets under the mutex, "
                      "`while (!ready) pthread_cond_wait(&cv, &m);` (or cv.wait(lock, predicate)); the binary "
                      "shows no such loop and no check before this wait");
    if (c.count > 1)
        f.notes.push_back(fmt::format("this wait was signalled this way {} times; reported once", c.count));
    f.threads = { std::move(waiter), std::move(signaller) };
    f.instances = c.count;
    return f;
}

Finding Predictor::heldLockFinding(const HeldLockCandidate& c) const
{
    Finding f;
    f.kind = "potential-deadlock";
    f.timeNs = c.waitNs;
    f.objects.push_back(object(c.cv, RAVEL_OBJ_COND, c.waitNs));
    f.objects.push_back(object(c.lock.obj, c.lock.kind, c.waitNs));
    FindingThread waiter = threadEntry(c.waiter);
    waiter.action = "waits on";
    waiter.waitStack = c.waitStack;
    waiter.holds.push_back({ 1, c.lock.shared, c.lock.stack, (c.lock.stack & RAVEL_STACK_REUSED) != 0, c.lock.timeNs });
    FindingThread taker = threadEntry(c.signaller);
    taker.action = c.taken.shared ? "read-locks" : "locks";
    taker.actionObject = 1;
    taker.waitStack = c.taken.stack;
    FindingThread signaller = threadEntry(c.signaller);
    signaller.action = "then signals";
    signaller.waitStack = c.signalStack;
    f.title = fmt::format("{} waits on a condition variable holding a lock that {}, its signaller, takes before "
                          "signalling", threadWord(waiter), threadWord(taker));
    f.notes.push_back(fmt::format(
        "the schedule that hangs: {} takes the lock and waits before {} takes it; {} then blocks on the lock, "
        "which {} keeps while it waits, and never signals: both wait forever",
        threadWord(waiter), threadWord(taker), threadWord(taker), threadWord(waiter)));
    f.notes.push_back(fmt::format(
        "possible because {} reached its wait without anything {} did from that acquisition on (thread creation, "
        "joins, semaphores, barriers, messages and other signals order threads; lock order does not)",
        threadWord(waiter), threadWord(taker)));
    f.notes.push_back("the fix: release the lock before waiting, or signal without needing it");
    if (c.count > 1)
        f.notes.push_back(fmt::format("seen {} times with these sites; reported once", c.count));
    f.threads = { std::move(waiter), std::move(taker), std::move(signaller) };
    f.instances = c.count;
    return f;
}

std::vector<Finding> Predictor::findings()
{
    std::vector<Finding> out;
    CodeShapes shapes(m_sym);
    std::map<std::pair<uint32_t, uint32_t>, size_t> bySites; // (wait site, signal site) -> finding
    // RAVEL_EXPLAIN_WAITS=1: what the code says of every signalled wait that could have lost its
    // signal, reported or not (docs/cli.md).
    const char* explain = std::getenv("RAVEL_EXPLAIN_WAITS");
    if (explain && std::string_view(explain) == "1") {
        for (const auto& [key, c] : m_lost) {
            const StackTrace* ws = m_trace.stack(siteOf(c.waitStack));
            const StackTrace* ls = m_trace.stack(siteOf(c.section.stack));
            if (!ws)
                continue;
            WaitShape shape = shapes.waitShape(ws->frames, ls ? ls->frames : std::vector<uint64_t>());
            std::vector<Frame> frames = m_sym.symbolizeStack(ws->frames);
            const Frame* u = Symbolizer::userFrame(frames);
            if (!u)
                for (const Frame& f : frames)
                    if (!f.module.empty() && !Symbolizer::isSystemModule(f.module)) {
                        u = &f;
                        break;
                    }
            auto last = m_lastSignalSeq.find(c.cv);
            bool lastSignal = last != m_lastSignalSeq.end() && last->second == c.signal.seq;
            std::fprintf(stderr, "==ravel== wait at %s %s: %s%s (%llu signalled)\n", u ? u->function.c_str() : "?",
                         u ? Symbolizer::site(*u).c_str() : "", waitShapeName(shape),
                         lastSignal ? "" : ", a later signal came", static_cast<unsigned long long>(c.count));
        }
    }
    for (const auto& [key, c] : m_lost) {
        auto last = m_lastSignalSeq.find(c.cv);
        if (last == m_lastSignalSeq.end() || last->second != c.signal.seq)
            continue; // a later signal came: it would have woken the wait
        const StackTrace* ws = m_trace.stack(siteOf(c.waitStack));
        const StackTrace* ls = m_trace.stack(siteOf(c.section.stack));
        if (!ws || ws->site_only)
            continue;
        if (shapes.waitShape(ws->frames, ls ? ls->frames : std::vector<uint64_t>()) != WaitShape::Bare)
            continue;
        auto site = std::make_pair(siteOf(c.waitStack), siteOf(c.signal.stack));
        if (auto it = bySites.find(site); it != bySites.end()) {
            out[it->second].instances += c.count;
            continue;
        }
        bySites[site] = out.size();
        out.push_back(lostSignalFinding(c));
    }
    for (const auto& [key, c] : m_heldLock)
        out.push_back(heldLockFinding(c));
    std::stable_sort(out.begin(), out.end(), [](const Finding& a, const Finding& b) { return a.timeNs < b.timeNs; });
    if (out.size() > kMaxFindings) {
        size_t more = out.size() - kMaxFindings;
        out.resize(kMaxFindings);
        out.back().notes.push_back(fmt::format("{} more condition-variable predictions are not listed", more));
    }
    return out;
}

} // namespace

std::vector<Finding> condVarPredictions(const ReplayModel& model, Symbolizer& sym)
{
    const TraceReader& trace = model.trace();
    if (trace.eventCount(RAVEL_EV_WOKEN) == 0 || trace.eventCount(RAVEL_EV_SIGNAL) + trace.eventCount(RAVEL_EV_BROADCAST) == 0)
        return {};
    Predictor p(model, sym);
    p.run();
    return p.findings();
}

} // namespace ravel
