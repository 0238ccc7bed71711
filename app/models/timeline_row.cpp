#include "models/timeline_row.hpp"

#include "models/timeline_state.hpp"

#include <algorithm>
#include <cmath>

namespace ravel::gui {

namespace {

// W_1: below a few tens of ns the trace's own clock interpolation decides more than the data.
constexpr quint64 kFirstWidth = 16;
constexpr quint64 kLevelFactor = 4;

void foldInto(TimelineItem& into, const TimelineItem& item)
{
    if (TimelineRow::moreSevere(item.state, into.state)) {
        into.state = item.state;
        into.ref = item.ref;
    }
    into.end = std::max(into.end, item.end);
    into.addCount(item.count);
}

} // namespace

bool TimelineRow::moreSevere(quint8 a, quint8 b)
{
    return severityOf(a) > severityOf(b);
}

TimelineRow::TimelineRow(std::vector<TimelineItem> spans)
{
    m_store.push_back(std::move(spans));
    m_levels.push_back({ 0, 0 });
    const std::vector<TimelineItem>& base = m_store[0];
    if (base.size() < 2)
        return;
    const quint64 extent = base.back().end - base.front().start;
    for (quint64 width = kFirstWidth;; width *= kLevelFactor) {
        const std::vector<TimelineItem>& below = m_store[m_levels.back().store];
        // Items of this level: a first pass counts them, so the level is allocated once, and one
        // that would fold fewer than half of the items below is not stored at all (the query walks
        // the level below instead, at most twice as many items): without that rule a row of
        // evenly spaced short holds kept five near-copies of itself, 235 bytes a span in all.
        size_t items = 0;
        {
            bool pendingShort = false; // the last item counted is a bucket still taking items
            quint64 pendingBucket = 0;
            for (const TimelineItem& item : below) {
                bool isShort = item.end - item.start < width;
                quint64 bucket = item.start / width;
                if (isShort && pendingShort && bucket == pendingBucket)
                    continue;
                items++;
                pendingShort = isShort;
                pendingBucket = bucket;
            }
        }
        const bool folded = items * 2 <= below.size();
        if (folded) {
            std::vector<TimelineItem> level;
            level.reserve(items);
            bool pendingShort = false;
            quint64 pendingBucket = 0;
            for (const TimelineItem& item : below) {
                bool isShort = item.end - item.start < width;
                quint64 bucket = item.start / width;
                if (isShort && pendingShort && bucket == pendingBucket) {
                    foldInto(level.back(), item);
                    continue;
                }
                level.push_back(item);
                pendingShort = isShort;
                pendingBucket = bucket;
            }
            m_store.push_back(std::move(level));
            m_levels.push_back({ width, m_store.size() - 1 });
        } else {
            m_levels.push_back({ width, m_levels.back().store });
        }
        if (m_store[m_levels.back().store].size() <= 1 || width > extent)
            break;
    }
}

void TimelineRow::query(quint64 from, quint64 to, double nsPerPixel, std::vector<TimelineItem>& out) const
{
    if (from >= to || m_store[0].empty())
        return;
    const double p = std::max(nsPerPixel, 1e-3);
    // The coarsest level whose buckets are no wider than a pixel.
    size_t li = 0;
    while (li + 1 < m_levels.size() && double(m_levels[li + 1].width) <= p)
        li++;
    const std::vector<TimelineItem>& items = m_store[m_levels[li].store];
    // Items do not overlap, so their ends are sorted too: the first one ending after `from`.
    auto it = std::upper_bound(items.begin(), items.end(), from,
                               [](quint64 v, const TimelineItem& item) { return v < item.end; });
    // A zero-length span at `from` still shows.
    while (it != items.begin() && std::prev(it)->end == from && std::prev(it)->start == from)
        --it;
    bool pending = false;
    TimelineItem cur;
    auto isShort = [p](const TimelineItem& item) { return double(item.end - item.start) < p; };
    // A zero-length span at `to` (a wait begun at the trace's last instant) still shows.
    for (; it != items.end() && (it->start < to || (it->start == to && it->end == to)); ++it) {
        if (pending && isShort(cur) && isShort(*it) && double(it->start - cur.start) < p) {
            foldInto(cur, *it);
            continue;
        }
        if (pending)
            out.push_back(cur);
        cur = *it;
        pending = true;
    }
    if (pending)
        out.push_back(cur);
}

std::optional<quint64> TimelineRow::nextBoundary(quint64 t) const
{
    const std::vector<TimelineItem>& items = m_store[0];
    // The first span ending after t: either its start is after t, or its end is the answer (and
    // any later span starts no earlier than that end).
    auto it = std::upper_bound(items.begin(), items.end(), t,
                               [](quint64 v, const TimelineItem& item) { return v < item.end; });
    if (it == items.end())
        return std::nullopt;
    return it->start > t ? it->start : it->end;
}

std::optional<quint64> TimelineRow::prevBoundary(quint64 t) const
{
    const std::vector<TimelineItem>& items = m_store[0];
    // The last span starting before t: its end if that is before t, else its start.
    auto it = std::lower_bound(items.begin(), items.end(), t,
                               [](const TimelineItem& item, quint64 v) { return item.start < v; });
    if (it == items.begin())
        return std::nullopt;
    --it;
    return it->end < t ? it->end : it->start;
}

const TimelineItem* TimelineRow::spanAt(quint64 t) const
{
    const std::vector<TimelineItem>& items = m_store[0];
    auto it = std::upper_bound(items.begin(), items.end(), t,
                               [](quint64 v, const TimelineItem& item) { return v < item.start; });
    if (it == items.begin())
        return nullptr;
    --it;
    return (t < it->end || (it->start == it->end && it->start == t)) ? &*it : nullptr;
}

size_t TimelineRow::memoryBytes() const
{
    size_t bytes = sizeof(*this) + m_levels.capacity() * sizeof(Level);
    for (const std::vector<TimelineItem>& s : m_store)
        bytes += s.capacity() * sizeof(TimelineItem);
    return bytes;
}

} // namespace ravel::gui
