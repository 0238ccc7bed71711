#include "models/timeline_index.hpp"

#include "models/finding_focus.hpp"
#include "models/race_pair.hpp"
#include "models/timeline_state.hpp"

#include "model/handoffs.hpp"

#include <QFileInfo>

#include <algorithm>
#include <functional>
#include <map>
#include <set>

namespace ravel::gui {

namespace {

constexpr size_t kCancelEvery = 1 << 16;

bool cancelled(const std::atomic<bool>* cancel)
{
    return cancel && cancel->load(std::memory_order_relaxed);
}

// Holds of one thread (sorted by start) to sub-rows: each to the lowest row free at its start, so
// a lock held long stays on row 0 and hand-over-hand pairs alternate between two rows.
std::vector<std::vector<TimelineItem>> assignHoldRows(const TimelineIndex& index, int part, const ModelThread& t)
{
    const std::vector<HoldSpan>& holds = index.model(part).holdSpans();
    auto itemOf = [&](uint32_t hi) {
        const TimelineHoldTimes times = index.holdTimes(part, hi, false);
        TimelineItem item;
        item.start = times.start;
        item.end = times.end;
        item.ref = hi;
        item.state = holdState(holds[hi]) | (times.startUncertain() || times.endUncertain() ? kUncertainBit : 0);
        return item;
    };
    // First the row of every hold and the size of every row, then each row allocated once: a
    // busy thread has millions of holds, and growing its rows by doubling cost more than the rest.
    // The lowest row free at a hold's start is the lowest whose last hold ended by then; rows are
    // as many as the thread's deepest nesting, so a scan beats a heap.
    std::vector<quint32> rowOf(t.holds.size());
    std::vector<size_t> sizes;
    std::vector<quint64> rowEnd;
    for (size_t i = 0; i < t.holds.size(); i++) {
        const TimelineItem item = itemOf(t.holds[i]);
        quint32 row = 0;
        while (row < rowEnd.size() && rowEnd[row] > item.start)
            row++;
        if (row == rowEnd.size()) {
            rowEnd.push_back(0);
            sizes.push_back(0);
        }
        rowEnd[row] = item.end;
        rowOf[i] = row;
        sizes[row]++;
    }
    std::vector<std::vector<TimelineItem>> rows(sizes.size());
    for (size_t r = 0; r < rows.size(); r++)
        rows[r].reserve(sizes[r]);
    for (size_t i = 0; i < t.holds.size(); i++)
        rows[rowOf[i]].push_back(itemOf(t.holds[i]));
    return rows;
}

// The union of several rows' holds as one row of non-overlapping items with counts.
std::vector<TimelineItem> unionOf(const std::vector<std::vector<TimelineItem>>& rows, size_t first)
{
    std::vector<TimelineItem> all;
    for (size_t r = first; r < rows.size(); r++)
        all.insert(all.end(), rows[r].begin(), rows[r].end());
    std::sort(all.begin(), all.end(), [](const TimelineItem& a, const TimelineItem& b) { return a.start < b.start; });
    std::vector<TimelineItem> out;
    for (const TimelineItem& item : all) {
        if (!out.empty() && item.start < out.back().end) {
            TimelineItem& u = out.back();
            u.end = std::max(u.end, item.end);
            u.addCount(item.count);
            if (TimelineRow::moreSevere(item.state, u.state)) {
                u.state = item.state;
                u.ref = item.ref;
            }
            continue;
        }
        out.push_back(item);
    }
    return out;
}

} // namespace

QString TimelineLane::label() const
{
    QString out = QStringLiteral("T%1").arg(thread);
    if (!name.isEmpty())
        out += QLatin1Char(' ') + name;
    return out;
}

std::unique_ptr<TimelineIndex> TimelineIndex::build(const ReplayModel& model, const std::vector<Finding>& findings,
                                                    const std::atomic<bool>* cancel)
{
    TimelineSource source;
    source.model = &model;
    source.pid = model.trace().summary().pid;
    return build({ source }, findings, {}, cancel);
}

std::unique_ptr<TimelineIndex> TimelineIndex::build(const std::vector<TimelineSource>& sources,
                                                    const std::vector<Finding>& findings,
                                                    const std::vector<int>& findingPart,
                                                    const std::atomic<bool>* cancel)
{
    std::unique_ptr<TimelineIndex> index(new TimelineIndex());
    if (sources.empty())
        return index;
    int parts = 0;
    for (const TimelineSource& src : sources)
        parts = std::max(parts, src.part + 1);
    index->m_parts.resize(size_t(parts));
    for (const TimelineSource& src : sources) {
        index->m_parts[size_t(src.part)].model = src.model;
        // A hung program lasts until the watchdog's verdict ended it (TraceDocument::durationNs too).
        const TraceSummary& summary = src.model->trace().summary();
        index->m_duration = std::max<quint64>({ index->m_duration, src.model->endNs(), summary.duration_ns,
                                                summary.verdict_ns });
    }
    // Parts not shown stand in for by the first: every part has a model to ask.
    for (Part& p : index->m_parts)
        if (!p.model)
            p.model = sources.front().model;
    for (const TimelineSource& src : sources) {
        index->splitExclusiveOverlaps(src.part, cancel);
        if (cancelled(cancel))
            return nullptr;
    }
    for (const TimelineSource& src : sources)
        if (!index->buildLanes(src, findings, findingPart, cancel))
            return nullptr;
    if (!index->collectStamps(cancel))
        return nullptr;
    if (cancelled(cancel))
        return nullptr;
    index->buildArrows();
    if (cancelled(cancel))
        return nullptr;
    auto partOf = [&](size_t finding) {
        const int part = finding < findingPart.size() ? findingPart[finding] : 0;
        return part >= 0 && part < parts ? part : 0;
    };
    index->m_findings = findingMarksOf(findings, index->m_duration);
    for (TimelineFindingMark& m : index->m_findings)
        m.part = partOf(size_t(m.finding));
    for (size_t i = 0; i < findings.size(); i++) {
        const int part = partOf(i);
        if (auto pair = racePairOf(index->model(part), findings[i], int(i)))
            index->m_races.push_back({ int(i), pair->second.thread, std::min(pair->second.earliestNs, index->m_duration),
                                       pair->first.thread, std::min(pair->first.earliestNs, index->m_duration),
                                       std::min(pair->first.latestNs, index->m_duration), part });
    }
    return cancelled(cancel) ? nullptr : std::move(index);
}

bool TimelineIndex::buildLanes(const TimelineSource& source, const std::vector<Finding>& findings,
                               const std::vector<int>& findingPart, const std::atomic<bool>* cancel)
{
    const ReplayModel& model = *source.model;
    const int part = source.part;
    std::set<quint32> deadlocked;
    for (size_t i = 0; i < findings.size(); i++)
        if (findings[i].kind == "deadlock" && (i < findingPart.size() ? findingPart[i] : 0) == part)
            for (const FindingThread& t : findings[i].threads)
                deadlocked.insert(t.id);

    // Processes in the order their first thread appears; threads by id within each.
    std::vector<const ModelThread*> threads;
    for (const ModelThread& t : model.threads())
        threads.push_back(&t);
    std::map<quint32, size_t> processOrder;
    for (const ModelThread* t : threads)
        processOrder.emplace(t->pid, processOrder.size());
    std::stable_sort(threads.begin(), threads.end(), [&](const ModelThread* a, const ModelThread* b) {
        return processOrder[a->pid] != processOrder[b->pid] ? processOrder[a->pid] < processOrder[b->pid]
                                                            : a->id < b->id;
    });

    const TraceSummary& summary = model.trace().summary();
    const std::vector<WaitSpan>& waits = model.waitSpans();
    std::vector<int>& laneOfThread = m_parts[size_t(part)].laneOfThread;
    bool first = true;
    for (const ModelThread* t : threads) {
        if (cancelled(cancel))
            return false;
        TimelineLane lane;
        lane.thread = t->id;
        lane.pid = t->pid;
        lane.part = part;
        lane.name = QString::fromStdString(t->name);
        if (lane.name.isEmpty() && t->parent == 0)
            lane.name = QStringLiteral("main");
        lane.startNs = std::min<quint64>(t->startNs, m_duration);
        lane.exited = t->exitNs != kOpenEnd;
        lane.endNs = std::max(lane.startNs, lane.exited ? std::min<quint64>(t->exitNs, m_duration) : m_duration);
        // An exec ends every thread of the image (the next image's lanes go on from there).
        if (!lane.exited && source.execNs && source.execNs < lane.endNs) {
            lane.exited = true;
            lane.endNs = std::max(lane.startNs, source.execNs);
        }
        lane.deadlocked = deadlocked.count(t->id) > 0;

        std::vector<TimelineItem> blocked;
        blocked.reserve(t->waits.size());
        for (size_t i = 0; i < t->waits.size(); i++) {
            if (i % kCancelEvery == kCancelEvery - 1 && cancelled(cancel))
                return false;
            const WaitSpan& w = waits[t->waits[i]];
            TimelineItem item;
            // A lost completion can leave a wait ending after the next began: rows never overlap.
            item.start = std::min<quint64>(w.start, m_duration);
            if (!blocked.empty())
                item.start = std::max(item.start, blocked.back().end);
            // A thread that exited is never drawn waiting after its exit (a wait the trace never saw
            // end, or ended by times interpolated past the exit, stops there).
            item.start = std::min(item.start, lane.endNs);
            item.end = std::max(item.start, std::min<quint64>({ w.end, m_duration, lane.endNs }));
            item.ref = t->waits[i];
            item.state = waitState(w);
            blocked.push_back(item);
        }
        m_spans += blocked.size();
        lane.state = TimelineRow(std::move(blocked));

        std::vector<std::vector<TimelineItem>> rows = assignHoldRows(*this, part, *t);
        if (cancelled(cancel))
            return false;
        if (rows.size() > size_t(TimelineLane::kShownHoldRows))
            lane.overflow = TimelineRow(unionOf(rows, TimelineLane::kShownHoldRows - 1));
        for (std::vector<TimelineItem>& r : rows) {
            m_spans += r.size();
            lane.holdRows.emplace_back(std::move(r));
        }

        if (first || m_processes.back().pid != t->pid) {
            TimelineProcess p;
            p.pid = t->pid;
            p.part = part;
            p.firstLane = int(m_lanes.size());
            p.name = (t->pid == summary.pid && !summary.program.empty())
                ? QFileInfo(QString::fromStdString(summary.program)).fileName()
                : QStringLiteral("pid %1").arg(t->pid);
            // The source's process gets the header it was given; a later image of a pid goes
            // under the header of its first image, labelled by its own program.
            const bool ofSource = t->pid == source.pid;
            if (ofSource && !source.firstImage && !m_groups.empty() && m_groups.back().pid == t->pid) {
                p.imageLabel = source.imageLabel;
            } else {
                TimelineProcessGroup g;
                g.pid = t->pid;
                g.name = ofSource && !source.groupName.isEmpty() ? source.groupName : p.name;
                g.detail = ofSource ? source.groupDetail : QString();
                g.depth = ofSource ? source.depth : 0;
                g.firstProcess = int(m_processes.size());
                m_groups.push_back(g);
                if (ofSource)
                    p.imageLabel = source.imageLabel;
            }
            p.group = int(m_groups.size()) - 1;
            m_groups.back().processCount++;
            m_processes.push_back(p);
            first = false;
        }
        m_processes.back().laneCount++;
        m_groups.back().laneCount++;
        if (t->id >= laneOfThread.size())
            laneOfThread.resize(size_t(t->id) + 1, -1);
        laneOfThread[t->id] = int(m_lanes.size());
        m_lanes.push_back(std::move(lane));
    }
    return true;
}

void TimelineIndex::splitExclusiveOverlaps(int part, const std::atomic<bool>* cancel)
{
    // The holds of each exclusively held lock (a mutex, a spinlock, a rwlock in write mode), by
    // start: a sweep keeps the one drawn last, and any other thread's hold starting before it ends
    // splits the overlap at its middle. Shared (read) holds and a hold the trace never saw end (a
    // hang's, drawn to the end as it is) are left alone.
    const std::vector<HoldSpan>& holds = model(part).holdSpans();
    std::vector<quint32> order;
    order.reserve(holds.size());
    for (quint32 i = 0; i < holds.size(); i++) {
        const HoldSpan& h = holds[i];
        const unsigned kind = h.flags & 0x0f;
        if ((h.flags & RAVEL_F_SHARED) || (kind != RAVEL_OBJ_MUTEX && kind != RAVEL_OBJ_SPIN && kind != RAVEL_OBJ_RWLOCK))
            continue;
        order.push_back(i);
    }
    if (cancelled(cancel))
        return;
    std::stable_sort(order.begin(), order.end(), [&](quint32 a, quint32 b) {
        return holds[a].object != holds[b].object ? holds[a].object < holds[b].object : holds[a].start < holds[b].start;
    });
    std::map<quint32, TimelineHoldTimes> moved;
    auto timesOf = [&](quint32 ref) {
        if (auto it = moved.find(ref); it != moved.end())
            return it->second;
        const HoldSpan& h = holds[ref];
        TimelineHoldTimes t;
        t.start = t.startLo = t.startHi = std::min<quint64>(h.start, m_duration);
        t.end = t.endLo = t.endHi = std::max(t.start, std::min<quint64>(h.end, m_duration));
        return t;
    };
    std::optional<quint32> last; // the hold of the current object drawn to the latest end
    for (size_t i = 0; i < order.size(); i++) {
        if (i % kCancelEvery == kCancelEvery - 1 && cancelled(cancel))
            return;
        const quint32 cur = order[i];
        if (last && holds[*last].object != holds[cur].object)
            last.reset();
        if (!last) {
            last = cur;
            continue;
        }
        TimelineHoldTimes a = timesOf(*last);
        TimelineHoldTimes b = timesOf(cur);
        // Overlapping by a positive length: a hold taken and released at the instant the other was
        // taken (both at a.start) goes before it, and is no overlap.
        const bool overlap = b.start < a.end && (b.end > b.start ? b.end > a.start : b.start > a.start);
        if (holds[*last].thread == holds[cur].thread || holds[*last].end == kOpenEnd || !overlap) {
            if (b.end >= a.end || holds[cur].end == kOpenEnd)
                last = cur;
            continue;
        }
        // The release of `a` and the acquisition of `b` both lie in [lo, hi], in that order.
        const quint64 lo = b.start, hi = a.end;
        const quint64 mid = std::max(a.start, lo + (hi - lo) / 2);
        a.end = mid;
        a.endLo = std::min(a.endLo, lo);
        a.endHi = std::max(a.endHi, hi);
        b.start = mid;
        b.startLo = std::min(b.startLo, lo);
        b.startHi = std::max(b.startHi, hi);
        if (b.end < b.start) { // all of b in the overlap: its end is after its start, no more known
            b.endLo = std::min(b.endLo, b.end);
            b.end = b.start;
            b.endHi = std::max(b.endHi, b.end);
        }
        moved[*last] = a;
        moved[cur] = b;
        last = cur;
    }
    Part& p = m_parts[size_t(part)];
    p.adjustedRefs.reserve(moved.size());
    p.adjusted.reserve(moved.size());
    for (const auto& [ref, t] : moved) {
        p.adjustedRefs.push_back(ref);
        p.adjusted.push_back(t);
    }
}

size_t TimelineIndex::uncertainHoldCount() const
{
    size_t n = 0;
    for (const Part& p : m_parts)
        n += p.adjustedRefs.size();
    return n;
}

TimelineHoldTimes TimelineIndex::holdTimes(int part, quint32 ref, bool withClock) const
{
    const Part& p = m_parts[size_t(part)];
    const HoldSpan& h = p.model->holdSpans()[ref];
    TimelineHoldTimes t;
    auto it = std::lower_bound(p.adjustedRefs.begin(), p.adjustedRefs.end(), ref);
    if (it != p.adjustedRefs.end() && *it == ref) {
        t = p.adjusted[size_t(it - p.adjustedRefs.begin())];
    } else {
        t.start = t.startLo = t.startHi = std::min<quint64>(h.start, m_duration);
        t.end = t.endLo = t.endHi = std::max(t.start, std::min<quint64>(h.end, m_duration));
    }
    // An interpolated end: somewhere between the stamps around it as well.
    if (withClock && !m_stamps.empty()) {
        const auto [slo, shi] = clockBounds(part, h.thread, std::min<quint64>(h.start, m_duration));
        t.startLo = std::min(t.startLo, slo);
        t.startHi = std::max(t.startHi, shi);
        if (h.end != kOpenEnd) {
            const auto [elo, ehi] = clockBounds(part, h.thread, std::min<quint64>(h.end, m_duration));
            t.endLo = std::min(t.endLo, elo);
            t.endHi = std::max(t.endHi, ehi);
        }
    }
    return t;
}

bool TimelineIndex::collectStamps(const std::atomic<bool>* cancel)
{
    // One pass over each thread's own events (no merge): what the clock timed exactly.
    m_stamps.assign(m_lanes.size(), {});
    bool stopped = false;
    for (size_t li = 0; li < m_lanes.size() && !stopped; li++) {
        std::vector<quint64>& out = m_stamps[li];
        size_t n = 0;
        model(m_lanes[li].part).trace().forEachThreadEvent(m_lanes[li].thread, [&](const Event& e) {
            if (++n % kCancelEvery == 0 && cancelled(cancel)) {
                stopped = true;
                return false;
            }
            if (e.stamped || e.earliest_ns == e.latest_ns)
                if (out.empty() || out.back() != e.time_ns)
                    out.push_back(e.time_ns);
            return true;
        });
        std::sort(out.begin(), out.end());
        out.shrink_to_fit();
    }
    return !stopped;
}

std::pair<quint64, quint64> TimelineIndex::clockBounds(int part, quint32 thread, quint64 t) const
{
    const int li = laneOf(part, thread);
    if (li < 0 || size_t(li) >= m_stamps.size())
        return { t, t };
    const std::vector<quint64>& s = m_stamps[size_t(li)];
    auto it = std::lower_bound(s.begin(), s.end(), t);
    if (it != s.end() && *it == t)
        return { t, t };
    const TimelineLane& lane = m_lanes[size_t(li)];
    const quint64 lo = it == s.begin() ? std::min(lane.startNs, t) : std::min(*std::prev(it), t);
    const quint64 hi = it == s.end() ? std::max(lane.exited ? lane.endNs : m_duration, t) : std::max(*it, t);
    return { lo, hi };
}

quint64 TimelineIndex::laneEnd(int part, quint32 thread) const
{
    const int li = laneOf(part, thread);
    return li < 0 ? m_duration : m_lanes[size_t(li)].endNs;
}

std::pair<quint64, quint64> TimelineIndex::waitTimes(int part, quint32 ref) const
{
    const WaitSpan& w = model(part).waitSpans()[ref];
    const quint64 end = laneEnd(part, w.thread);
    const quint64 start = std::min<quint64>({ w.start, m_duration, end });
    return { start, std::max(start, std::min<quint64>({ w.end, m_duration, end })) };
}

void TimelineIndex::buildArrows()
{
    std::vector<bool> shown(m_parts.size());
    for (const TimelineLane& lane : m_lanes)
        shown[size_t(lane.part)] = true;
    for (size_t part = 0; part < m_parts.size(); part++) {
        if (!shown[part])
            continue;
        const ReplayModel& partModel = *m_parts[part].model;
        for (const Handoff& h : computeHandoffs(partModel)) {
            TimelineArrow a;
            a.part = quint16(part);
            a.fromNs = h.releaseNs;
            a.toNs = h.acquireNs;
            a.fromThread = h.fromThread;
            a.toThread = h.toThread;
            a.object = h.object;
            a.kind = TimelineArrow::Handoff;
            m_arrows.push_back(a);
        }
        for (const MessageLink& m : partModel.messages()) {
            TimelineArrow a;
            a.fromNs = std::min(m.sendNs, m.recvNs);
            a.toNs = m.recvNs;
            a.fromThread = m.sender;
            a.toThread = m.receiver;
            a.object = m.chan;
            a.kind = TimelineArrow::Message;
            a.part = quint16(part);
            m_arrows.push_back(a);
            m_hasMessages = true;
        }
    }
    std::stable_sort(m_arrows.begin(), m_arrows.end(),
                     [](const TimelineArrow& a, const TimelineArrow& b) { return a.toNs < b.toNs; });
    for (quint32 i = 0; i < m_arrows.size(); i++) {
        const TimelineArrow& a = m_arrows[i];
        m_longestArrow = std::max(m_longestArrow, a.toNs - std::min(a.fromNs, a.toNs));
        int from = laneOf(a.part, a.fromThread);
        int to = laneOf(a.part, a.toThread);
        if (from >= 0)
            m_lanes[size_t(from)].arrows.push_back(i);
        if (to >= 0 && to != from)
            m_lanes[size_t(to)].arrows.push_back(i);
    }
}

std::vector<TimelineDensityBin> TimelineIndex::densityOf(const ReplayModel& model, size_t bins,
                                                         const std::atomic<bool>* cancel)
{
    std::vector<TimelineDensityBin> out(bins);
    const TraceSummary& summary = model.trace().summary();
    const quint64 duration = std::max<quint64>({ model.endNs(), summary.duration_ns, summary.verdict_ns });
    if (duration == 0 || bins == 0)
        return out;
    auto binOf = [&](quint64 t) {
        return std::min<size_t>(bins - 1, size_t(double(std::min(t, duration)) / double(duration) * double(bins)));
    };
    size_t n = 0;
    for (const HoldSpan& h : model.holdSpans()) {
        if (++n % kCancelEvery == 0 && cancelled(cancel))
            return {};
        out[binOf(h.start)].spans++;
    }
    for (const WaitSpan& w : model.waitSpans()) {
        if (++n % kCancelEvery == 0 && cancelled(cancel))
            return {};
        out[binOf(w.start)].spans++;
        // A wait marks every bin it covers: a long block is what the minimap must show.
        const quint8 state = waitState(w);
        for (size_t b = binOf(w.start), last = binOf(w.end); b <= last; b++)
            if (TimelineRow::moreSevere(state, out[b].state))
                out[b].state = state;
    }
    return out;
}

std::vector<TimelineFindingMark> TimelineIndex::findingMarksOf(const std::vector<Finding>& findings,
                                                              quint64 durationNs)
{
    std::vector<TimelineFindingMark> out;
    for (size_t i = 0; i < findings.size(); i++) {
        const Finding& f = findings[i];
        TimelineFindingMark m { std::min<quint64>(findingTime(f), durationNs), int(i), f.kind == "deadlock" };
        if (f.kind == "misuse" && !f.threads.empty()) {
            m.onLane = true;
            m.thread = f.threads.front().id;
        }
        out.push_back(m);
    }
    return out;
}

std::pair<quint64, quint64> TimelineIndex::activityRange() const
{
    // Threads that start with the trace (the first) are not activity; a later start is.
    quint64 firstStart = UINT64_MAX;
    for (const TimelineLane& lane : m_lanes)
        firstStart = std::min(firstStart, lane.startNs);
    std::optional<quint64> from, to;
    auto take = [&](std::optional<quint64> t) {
        if (!t)
            return;
        from = from ? std::min(*from, *t) : *t;
        to = to ? std::max(*to, *t) : *t;
    };
    for (const TimelineLane& lane : m_lanes) {
        if (lane.startNs > firstStart)
            take(lane.startNs);
        if (lane.exited)
            take(lane.endNs);
        take(lane.state.nextBoundary(0));
        take(lane.state.prevBoundary(m_duration + 1));
        for (const TimelineRow& row : lane.holdRows) {
            take(row.nextBoundary(0));
            take(row.prevBoundary(m_duration + 1));
        }
    }
    for (const TimelineFindingMark& m : m_findings)
        take(m.timeNs);
    if (!from || *to <= *from)
        return { 0, m_duration };
    return { *from, std::min(*to, m_duration) };
}

int TimelineIndex::laneOf(int part, quint32 thread) const
{
    if (part < 0 || size_t(part) >= m_parts.size())
        return -1;
    const std::vector<int>& lanes = m_parts[size_t(part)].laneOfThread;
    return thread < lanes.size() ? lanes[thread] : -1;
}

std::optional<quint64> TimelineIndex::nextEventTime(quint64 t, std::optional<quint32> thread, int part) const
{
    std::optional<quint64> best;
    auto consider = [&](std::optional<quint64> v) {
        if (v && *v > t && (!best || *v < *best))
            best = v;
    };
    for (const TimelineLane& lane : m_lanes) {
        if (thread && (lane.thread != *thread || lane.part != part))
            continue;
        consider(lane.startNs);
        if (lane.exited)
            consider(lane.endNs);
        consider(lane.state.nextBoundary(t));
        for (const TimelineRow& row : lane.holdRows)
            consider(row.nextBoundary(t));
    }
    return best;
}

std::optional<quint64> TimelineIndex::prevEventTime(quint64 t, std::optional<quint32> thread, int part) const
{
    std::optional<quint64> best;
    auto consider = [&](std::optional<quint64> v) {
        if (v && *v < t && (!best || *v > *best))
            best = v;
    };
    for (const TimelineLane& lane : m_lanes) {
        if (thread && (lane.thread != *thread || lane.part != part))
            continue;
        consider(lane.startNs);
        if (lane.exited)
            consider(lane.endNs);
        consider(lane.state.prevBoundary(t));
        for (const TimelineRow& row : lane.holdRows)
            consider(row.prevBoundary(t));
    }
    return best;
}

void TimelineIndex::arrowsIn(quint64 from, quint64 to, double nsPerPixel, const QList<quint32>& selectedThreads,
                             double thinPixels, std::vector<TimelineArrow>& out, int selectedPart) const
{
    if (from >= to || m_arrows.empty())
        return;
    // An arrow overlaps [from, to) when it ends at or after `from` and starts before `to`; it is
    // at most m_longestArrow long, so the scan over ends stops there.
    const quint64 scanEnd = to > UINT64_MAX - m_longestArrow ? UINT64_MAX : to + m_longestArrow;
    // Beyond `to` only arrows that start inside the view matter, and only so many are looked at.
    constexpr size_t kMaxBeyond = 4096;
    auto scan = [&](auto&& at, size_t n, double stepPixels, auto&& take) {
        const quint64 step = quint64(std::max(1.0, nsPerPixel * stepPixels));
        size_t lo = 0;
        size_t beyond = 0;
        quint64 next = from;
        for (;;) {
            size_t hi = n; // first arrow at or after lo ending at or after `next`
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (at(mid).toNs < next)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo >= n)
                return;
            const TimelineArrow& a = at(lo);
            if (a.toNs >= scanEnd || (a.toNs >= to && ++beyond > kMaxBeyond))
                return;
            if (a.fromNs < to)
                take(a);
            lo++;
            next = a.toNs > UINT64_MAX - step ? UINT64_MAX : a.toNs + step;
        }
    };
    std::vector<const TimelineArrow*> seen;
    for (quint32 tid : selectedThreads) {
        int li = laneOf(selectedPart, tid);
        if (li < 0)
            continue;
        const std::vector<quint32>& idx = m_lanes[size_t(li)].arrows;
        scan([&](size_t i) -> const TimelineArrow& { return m_arrows[idx[i]]; }, idx.size(), 1.0,
             [&](const TimelineArrow& a) {
                 seen.push_back(&a);
                 out.push_back(a);
             });
    }
    std::sort(seen.begin(), seen.end());
    scan([&](size_t i) -> const TimelineArrow& { return m_arrows[i]; }, m_arrows.size(), thinPixels,
         [&](const TimelineArrow& a) {
             if (!std::binary_search(seen.begin(), seen.end(), &a))
                 out.push_back(a);
         });
}

size_t TimelineIndex::memoryBytes() const
{
    size_t bytes = sizeof(*this) + m_arrows.capacity() * sizeof(TimelineArrow)
        + m_findings.capacity() * sizeof(TimelineFindingMark) + m_races.capacity() * sizeof(TimelineRaceMark);
    for (const TimelineLane& lane : m_lanes) {
        bytes += sizeof(lane) + lane.state.memoryBytes() + lane.arrows.capacity() * sizeof(quint32);
        for (const TimelineRow& row : lane.holdRows)
            bytes += row.memoryBytes();
        if (lane.overflow)
            bytes += lane.overflow->memoryBytes();
    }
    return bytes;
}

} // namespace ravel::gui
