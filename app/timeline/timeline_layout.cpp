#include "timeline/timeline_layout.hpp"

#include "models/timeline_index.hpp"

#include <algorithm>

namespace ravel::gui {

void TimelineLayout::build(const TimelineIndex& index)
{
    m_lanes.clear();
    m_processes.clear();
    int y = 0;
    const std::vector<TimelineLane>& lanes = index.lanes();
    for (const TimelineProcess& p : index.processes()) {
        m_processes.push_back({ y });
        y += kProcessHeight;
        for (int i = p.firstLane; i < p.firstLane + p.laneCount; i++) {
            Lane l;
            l.top = y;
            l.stateTop = y + kLanePadTop;
            l.holdRows = lanes[size_t(i)].shownHoldRows();
            l.holdTop = l.stateTop + kStateHeight + 2;
            l.height = kLanePadTop + kStateHeight + kLanePadBottom
                + (l.holdRows ? 2 + l.holdRows * (kHoldHeight + kHoldGap) : 0);
            m_lanes.push_back(l);
            y += l.height;
        }
    }
    m_height = y;
}

TimelineLayout::Hit TimelineLayout::hitTest(int y) const
{
    Hit hit;
    auto it = std::upper_bound(m_lanes.begin(), m_lanes.end(), y, [](int v, const Lane& l) { return v < l.top; });
    if (it != m_lanes.begin()) {
        const Lane& l = *std::prev(it);
        if (y < l.top + l.height) {
            hit.lane = int(std::prev(it) - m_lanes.begin());
            if (y >= l.stateTop - kLanePadTop && y < l.stateTop + kStateHeight + 1)
                hit.row = -1;
            else if (l.holdRows && y >= l.holdTop)
                hit.row = std::min(l.holdRows - 1, (y - l.holdTop) / (kHoldHeight + kHoldGap));
            return hit;
        }
    }
    for (size_t p = 0; p < m_processes.size(); p++)
        if (y >= m_processes[p].top && y < m_processes[p].top + kProcessHeight)
            hit.process = int(p);
    return hit;
}

std::pair<int, int> TimelineLayout::lanesIn(int y0, int y1) const
{
    auto first = std::upper_bound(m_lanes.begin(), m_lanes.end(), y0,
                                  [](int v, const Lane& l) { return v < l.top + l.height; });
    auto last = std::lower_bound(first, m_lanes.end(), y1, [](const Lane& l, int v) { return l.top < v; });
    return { int(first - m_lanes.begin()), int(last - m_lanes.begin()) };
}

} // namespace ravel::gui
