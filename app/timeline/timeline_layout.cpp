#include "timeline/timeline_layout.hpp"

#include "models/timeline_index.hpp"

#include <algorithm>

namespace ravel::gui {

void TimelineLayout::build(const TimelineIndex& index, const std::vector<bool>& collapsed)
{
    m_lanes.assign(index.lanes().size(), Lane {});
    m_processes.assign(index.processes().size(), Process {});
    m_groups.clear();
    int y = 0;
    const std::vector<TimelineLane>& lanes = index.lanes();
    const std::vector<TimelineProcess>& processes = index.processes();
    for (size_t gi = 0; gi < index.groups().size(); gi++) {
        const TimelineProcessGroup& group = index.groups()[gi];
        Group g;
        g.top = y;
        g.collapsed = gi < collapsed.size() && collapsed[gi];
        m_groups.push_back(g);
        y += kProcessHeight;
        for (int pi = group.firstProcess; pi < group.firstProcess + group.processCount; pi++) {
            const TimelineProcess& p = processes[size_t(pi)];
            if (!g.collapsed && !p.imageLabel.isEmpty()) {
                m_processes[size_t(pi)] = { y, true };
                y += kImageHeight;
            } else {
                m_processes[size_t(pi)].top = y;
            }
            for (int i = p.firstLane; i < p.firstLane + p.laneCount; i++) {
                Lane& l = m_lanes[size_t(i)];
                l.top = y;
                l.stateTop = y + kLanePadTop;
                l.holdRows = lanes[size_t(i)].shownHoldRows();
                l.holdTop = l.stateTop + kStateHeight + 2;
                if (g.collapsed) {
                    // Still where the group is, so a lane scrolled to shows its header.
                    l.height = 0;
                    l.holdRows = 0;
                    continue;
                }
                l.height = kLanePadTop + kStateHeight + kLanePadBottom
                    + (l.holdRows ? 2 + l.holdRows * (kHoldHeight + kHoldGap) : 0);
                y += l.height;
            }
        }
    }
    m_height = y;
}

TimelineLayout::Hit TimelineLayout::hitTest(int y) const
{
    Hit hit;
    auto it = std::upper_bound(m_lanes.begin(), m_lanes.end(), y, [](int v, const Lane& l) { return v < l.top; });
    // Collapsed lanes (height 0) share a top with the next band: the last lane starting at or
    // before y with any height is the candidate.
    while (it != m_lanes.begin() && std::prev(it)->height == 0)
        --it;
    if (it != m_lanes.begin()) {
        const Lane& l = *std::prev(it);
        if (y >= l.top && y < l.top + l.height) {
            hit.lane = int(std::prev(it) - m_lanes.begin());
            if (y >= l.stateTop - kLanePadTop && y < l.stateTop + kStateHeight + 1)
                hit.row = -1;
            else if (l.holdRows && y >= l.holdTop)
                hit.row = std::min(l.holdRows - 1, (y - l.holdTop) / (kHoldHeight + kHoldGap));
            return hit;
        }
    }
    for (size_t g = 0; g < m_groups.size(); g++)
        if (y >= m_groups[g].top && y < m_groups[g].top + kProcessHeight)
            hit.group = int(g);
    for (size_t p = 0; p < m_processes.size(); p++)
        if (m_processes[p].shown && y >= m_processes[p].top && y < m_processes[p].top + kImageHeight)
            hit.process = int(p);
    // A single process's header is its process as well (what the header hit always meant).
    if (hit.group >= 0 && hit.process < 0 && m_groups.size() == 1 && m_processes.size() == 1)
        hit.process = 0;
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
