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
    static constexpr int kStateHeight = 18;
    // Tall enough for a lock's name in the small font: a shorter row cut its letters in half.
    static constexpr int kHoldHeight = 12;
    static constexpr int kHoldGap = 1;
    static constexpr int kLanePadTop = 3;
    static constexpr int kLanePadBottom = 5;

    struct Lane {
        int top = 0;       // the lane's band, [top, top + height)
        int height = 0;
        int stateTop = 0;  // the state row, kStateHeight tall
        int holdTop = 0;   // sub-row r at holdTop + r * (kHoldHeight + kHoldGap)
        int holdRows = 0;
    };
    struct Process {
        int top = 0;       // its header, kProcessHeight tall
    };
    struct Hit {
        int lane = -1;     // -1: none (or a process header)
        int row = -2;      // -1: the state row; 0..: a held-lock sub-row; -2: the lane's padding
        int process = -1;  // a process header
    };

    void build(const TimelineIndex& index);

    int contentHeight() const { return m_height; }
    const std::vector<Lane>& lanes() const { return m_lanes; }
    const std::vector<Process>& processes() const { return m_processes; }
    static int holdRowTop(const Lane& lane, int row) { return lane.holdTop + row * (kHoldHeight + kHoldGap); }

    Hit hitTest(int y) const;
    // Lanes [first, last) whose bands overlap [y0, y1).
    std::pair<int, int> lanesIn(int y0, int y1) const;

private:
    std::vector<Lane> m_lanes;
    std::vector<Process> m_processes;
    int m_height = 0;
};

} // namespace ravel::gui
