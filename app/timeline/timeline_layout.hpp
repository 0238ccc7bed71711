// TimelineLayout: where each process header, lane, state row and held-lock sub-row sits
// vertically, in content coordinates (0 = the top of the first process header; the view adds the
// ruler and subtracts the scroll offset). Computed once per index; hit tests are binary searches.
#pragma once

#include <utility>
#include <vector>

namespace ravel::gui {

class TimelineIndex;

class TimelineLayout {
public:
    static constexpr int kRulerHeight = 26;
    static constexpr int kLegendHeight = 22;
    static constexpr int kProcessHeight = 20;
    static constexpr int kImageHeight = 16; // a later image's sub-header under its pid's header
    static constexpr int kStateHeight = 18;
    // Tall enough for a lock's name in the small font: a shorter row cut its letters in half.
    static constexpr int kHoldHeight = 12;
    static constexpr int kHoldGap = 1;
    static constexpr int kLanePadTop = 3;
    static constexpr int kLanePadBottom = 5;

    struct Lane {
        int top = 0;       // the lane's band, [top, top + height); height 0 in a collapsed group
        int height = 0;
        int stateTop = 0;  // the state row, kStateHeight tall
        int holdTop = 0;   // sub-row r at holdTop + r * (kHoldHeight + kHoldGap)
        int holdRows = 0;
    };
    struct Process {
        int top = 0;       // its image sub-header (kImageHeight tall), when it has one
        bool shown = false; // false: in a collapsed group, or an image without a sub-header
    };
    struct Group {
        int top = 0;       // the pid's header, kProcessHeight tall
        bool collapsed = false;
    };
    struct Hit {
        int lane = -1;     // -1: none (or a header)
        int row = -2;      // -1: the state row; 0..: a held-lock sub-row; -2: the lane's padding
        int process = -1;  // an image's sub-header
        int group = -1;    // a pid's header
    };

    // collapsed[g]: group g shows its header only (missing entries: expanded).
    void build(const TimelineIndex& index, const std::vector<bool>& collapsed = {});

    int contentHeight() const { return m_height; }
    const std::vector<Lane>& lanes() const { return m_lanes; }
    const std::vector<Process>& processes() const { return m_processes; }
    const std::vector<Group>& groups() const { return m_groups; }
    static int holdRowTop(const Lane& lane, int row) { return lane.holdTop + row * (kHoldHeight + kHoldGap); }

    Hit hitTest(int y) const;
    // Lanes [first, last) whose bands overlap [y0, y1).
    std::pair<int, int> lanesIn(int y0, int y1) const;

private:
    std::vector<Lane> m_lanes;
    std::vector<Process> m_processes;
    std::vector<Group> m_groups;
    int m_height = 0;
};

} // namespace ravel::gui
