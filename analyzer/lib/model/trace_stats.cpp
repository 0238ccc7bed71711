#include "model/trace_stats.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

namespace ravel {

StatsCollector::StatsCollector(const std::vector<ThreadInfo>& threads)
    : m_tracker(threads)
{
    m_stats.threads.reserve(threads.size());
    for (const ThreadInfo& t : threads) {
        ThreadStats& s = m_stats.threads[slot(t.id)];
        s.osTid = t.os_tid;
        s.pid = t.pid;
        s.parent = t.parent;
        s.name = t.name;
        s.startNs = t.start_ns;
        s.exitNs = t.exit_ns;
        s.exited = t.exited;
    }
}

StatsCollector::~StatsCollector() = default;

uint32_t StatsCollector::slot(uint32_t thread)
{
    if (thread < m_slotOf.size() && m_slotOf[thread] != UINT32_MAX)
        return m_slotOf[thread];
    // Ravel thread ids are small and dense; a huge one (a damaged trace) must not size a vector.
    constexpr uint32_t kDirect = 1u << 16;
    if (thread >= kDirect) {
        auto [it, fresh] = m_bigSlots.try_emplace(thread, uint32_t(m_stats.threads.size()));
        if (!fresh)
            return it->second;
    } else {
        if (thread >= m_slotOf.size())
            m_slotOf.resize(thread + 1, UINT32_MAX);
        m_slotOf[thread] = uint32_t(m_stats.threads.size());
    }
    ThreadStats s;
    s.id = thread;
    m_stats.threads.push_back(std::move(s));
    m_threadState.emplace_back();
    return uint32_t(m_stats.threads.size() - 1);
}

void StatsCollector::beginWait(ThreadState& t, uint32_t object, uint64_t now)
{
    // A thread blocks on one thing at a time; a request without its completion (an event lost to
    // a crash or a flight-recorder gap) is simply replaced.
    t.waitObject = object;
    t.waitSinceNs = now;
}

void StatsCollector::endWait(ThreadState& t, uint32_t object, uint64_t now)
{
    if (t.waitObject != object)
        return;
    // Times between clock stamps are interpolated, so a completion can appear to precede its
    // request by a few ns.
    uint64_t waited = now > t.waitSinceNs ? now - t.waitSinceNs : 0;
    ObjectStats& o = m_stats.objects[object];
    o.waitNsTotal += waited;
    o.waitNsMax = std::max(o.waitNsMax, waited);
    if (t.chanWait)
        (t.chanWait == 1 ? o.sendBlockedNs : o.recvBlockedNs) += waited;
    t.chanWait = 0;
    t.inSelect = false;
    t.waitObject = kNoObject;
    m_waitedNs = waited;
}

void StatsCollector::acquired(ThreadState& t, uint32_t object, uint64_t now)
{
    for (Held& h : t.held) {
        if (h.object == object) {
            // A recursive mutex (or a read lock taken twice): the hold lasts until the outermost
            // release.
            ++h.depth;
            return;
        }
    }
    t.held.push_back(Held {object, 1, now});
}

void StatsCollector::released(ThreadState& t, uint32_t object, uint64_t now)
{
    for (size_t i = 0; i < t.held.size(); ++i) {
        Held& h = t.held[i];
        if (h.object != object)
            continue;
        if (--h.depth > 0)
            return;
        uint64_t held = now > h.sinceNs ? now - h.sinceNs : 0;
        ObjectStats& o = m_stats.objects[object];
        o.holdNsTotal += held;
        o.holdNsMax = std::max(o.holdNsMax, held);
        h = t.held.back();
        t.held.pop_back();
        return;
    }
    // A release without an acquisition: the acquisition is before the first recorded event (a
    // flight-recorder trace) or was lost; there is no hold to measure.
}

void StatsCollector::onEvent(const Event& e)
{
    ++m_stats.events;
    ++m_stats.eventsByKind[e.kind];
    m_lastNs = std::max(m_lastNs, e.time_ns);
    // Durations are measured on the thread's own clock: the global order may deliver an event
    // later than it happened (held back behind another thread's), but never outside what the
    // clocks prove, so a hold or a wait is never stretched past the thread's next stamp.
    const uint64_t at = std::clamp(e.time_ns, e.earliest_ns, std::max(e.earliest_ns, e.latest_ns));

    // A thread the threads table does not know (its slot was lost) is still counted.
    size_t known = m_stats.threads.size();
    uint32_t si = slot(e.thread);
    ThreadState& t = m_threadState[si];
    ThreadStats& ts = m_stats.threads[si];
    if (si >= known)
        ts.startNs = at;
    ++ts.events;
    if (e.kind == RAVEL_EV_THREAD_EXIT && !ts.exited) {
        // The table's state can lag behind the events (a process killed right after the exit).
        ts.exited = true;
        ts.exitNs = at;
    }

    uint32_t object = m_tracker.onEvent(e);
    // A select that timed out or took its default names no channel, but ends the wait.
    if (e.kind == RAVEL_EV_SELECT_DONE && t.inSelect && t.waitObject != kNoObject) {
        m_waitedNs = 0;
        endWait(t, t.waitObject, at);
        ts.waitNsTotal += m_waitedNs;
        m_waitedNs = 0;
        return;
    }
    if (object == kNoObject)
        return;
    if (object >= m_stats.objects.size())
        m_stats.objects.resize(object + 1);
    ObjectStats& o = m_stats.objects[object];
    ++o.events;

    m_waitedNs = 0;
    switch (e.kind) {
    case RAVEL_EV_ACQ_REQ:
        beginWait(t, object, at);
        break;
    case RAVEL_EV_ACQUIRED:
        ++o.acquisitions;
        if (e.flags & RAVEL_F_SHARED)
            ++o.sharedAcquisitions;
        if (e.flags & RAVEL_F_CONTENDED)
            ++o.contended;
        if (e.flags & RAVEL_F_TRY)
            ++o.tryAcquisitions;
        endWait(t, object, at);
        acquired(t, object, at);
        break;
    case RAVEL_EV_ACQ_FAIL:
        ++o.failed;
        endWait(t, object, at);
        break;
    case RAVEL_EV_RELEASE:
        released(t, object, at);
        break;
    case RAVEL_EV_WAIT_REQ:
    case RAVEL_EV_JOIN_REQ:
        ++o.waits;
        beginWait(t, object, at);
        break;
    case RAVEL_EV_WOKEN:
    case RAVEL_EV_JOIN_DONE:
        endWait(t, object, at);
        break;
    case RAVEL_EV_WAIT_FAIL:
        // A futex wait that fails with EAGAIN found the word changed already: no timeout.
        if ((e.flags & 0x0f) != RAVEL_OBJ_FUTEX || e.aux == ETIMEDOUT)
            ++o.waitTimeouts;
        endWait(t, object, at);
        break;
    case RAVEL_EV_SIGNAL:
        ++o.signals;
        break;
    case RAVEL_EV_BROADCAST:
        ++o.broadcasts;
        break;
    case RAVEL_EV_PASS:
        ++o.passes;
        break;
    case RAVEL_EV_CHAN_CREATE:
        o.capacity = e.aux;
        break;
    case RAVEL_EV_SEND_REQ:
    case RAVEL_EV_RECV_REQ:
        if (!(e.flags & RAVEL_F_TRY)) {
            beginWait(t, object, at);
            t.chanWait = e.kind == RAVEL_EV_SEND_REQ ? 1 : 2;
        }
        break;
    case RAVEL_EV_SELECT_CASE:
        // Shown on its first case, as the state board shows it.
        if (t.waitObject == kNoObject) {
            beginWait(t, object, at);
            t.chanWait = (e.aux & RAVEL_SELECT_SEND) ? 1 : 2;
            t.inSelect = true;
        }
        break;
    case RAVEL_EV_SELECT_DONE:
        if (t.inSelect && t.waitObject != kNoObject)
            endWait(t, t.waitObject, at);
        break;
    case RAVEL_EV_SENT:
    case RAVEL_EV_RECEIVED:
    case RAVEL_EV_CHAN_FAIL:
        if (t.chanWait)
            endWait(t, object, at);
        if (e.kind == RAVEL_EV_SENT) {
            ++o.messages;
            ++o.occupancy;
            uint64_t cap = o.capacity ? o.capacity : 1;
            o.maxOccupancy = std::max(o.maxOccupancy, std::min<uint64_t>(uint64_t(o.occupancy), cap));
        } else if (e.kind == RAVEL_EV_RECEIVED && e.aux != 0) {
            --o.occupancy;
        }
        break;
    case RAVEL_EV_CHAN_CLOSE:
        if (e.aux == 0)
            o.closed = true;
        break;
    default:
        break;
    }
    ts.waitNsTotal += m_waitedNs;
}

TraceStats StatsCollector::finish(uint64_t endNs)
{
    endNs = std::max(endNs, m_lastNs);
    m_stats.endNs = endNs;
    m_stats.objects.resize(m_tracker.objects().size());
    for (size_t i = 0; i < m_stats.objects.size(); ++i)
        m_stats.objects[i].object = m_tracker.objects()[i];

    for (size_t si = 0; si < m_threadState.size(); ++si) {
        ThreadState& t = m_threadState[si];
        ThreadStats& ts = m_stats.threads[si];
        if (t.waitObject != kNoObject) {
            uint32_t object = t.waitObject;
            ++m_stats.objects[object].blockedAtEnd;
            m_waitedNs = 0;
            endWait(t, object, endNs);
            ts.blockedOn = object;
            ts.waitNsTotal += m_waitedNs;
        }
        ts.holdingAtEnd = uint32_t(t.held.size());
        while (!t.held.empty()) {
            Held& h = t.held.back();
            ++m_stats.objects[h.object].heldAtEnd;
            h.depth = 1;
            released(t, h.object, endNs);
        }
    }
    return std::move(m_stats);
}

TraceStats computeStats(const TraceReader& reader)
{
    StatsCollector collector(reader.threads());
    reader.forEachEvent([&](const Event& e) {
        collector.onEvent(e);
        return true;
    });
    // A hang ends at the watchdog's verdict, which can be long after the last event: the waits
    // of a deadlock last until then.
    const TraceSummary& summary = reader.summary();
    return collector.finish(std::max(summary.duration_ns, summary.verdict_ns));
}

std::string formatDuration(uint64_t ns)
{
    if (ns < 1000)
        return fmt::format("{}ns", ns);
    static constexpr const char* units[] = {"us", "ms", "s"};
    double v = double(ns) / 1000;
    unsigned unit = 0;
    // 999.7us must read 1.00ms, not 1000us: decide the unit after rounding to 3 digits.
    while (unit < 2 && v >= 999.5) {
        v /= 1000;
        ++unit;
    }
    if (unit == 2 && v >= 999.5)
        return fmt::format("{:.0f}s", v);
    if (v < 9.995)
        return fmt::format("{:.2f}{}", v, units[unit]);
    if (v < 99.95)
        return fmt::format("{:.1f}{}", v, units[unit]);
    return fmt::format("{:.0f}{}", v, units[unit]);
}

} // namespace ravel
