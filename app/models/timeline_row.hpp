// TimelineRow: one row of a lane (a thread's state row, or one of its held-lock sub-rows) as a
// level-of-detail pyramid, so drawing any range at any zoom costs O(pixels), never O(spans).
//
// Level 0 is the row's spans, sorted and never overlapping. Level k (k >= 1) keeps every item at
// least W_k long as it is and folds the shorter ones that start in one W_k-wide bucket into one
// item carrying the count and the most severe state among them, W_k growing 4x a level. A query at
// p ns per pixel walks the coarsest level with W_k <= p: its items do not overlap and are either
// >= W_k long or alone in their bucket, so at most 2 * range / W_k + 3 (< 8 per pixel) of them lie
// in any range, and folding neighbours that share a pixel brings that to about 2 per pixel. A
// level that would not fold at least half the items of the stored level below it is not stored:
// it points at that level (which then has at most twice the items the skipped level would have
// had), so a row costs at most about twice its spans.
#pragma once

#include <QtGlobal>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

namespace ravel::gui {

struct TimelineItem {
    quint64 start = 0;
    quint64 end = 0;    // open spans end at the trace's end here; the state says they are open
    quint32 ref = 0;    // the span shown (index into the ReplayModel's wait or hold spans); for a
                        // fold, its most severe span (a click on a fold selects that one)
    // 24 bytes an item, not 32: a row of a busy thread holds millions of them.
    quint32 count : 24 = 1; // spans folded into this item, saturating at kMaxCount
    quint32 state : 8 = 0;  // TimelineState byte: SpanKind | kOpenBit

    static constexpr quint32 kMaxCount = (1u << 24) - 1;
    bool countSaturated() const { return count == kMaxCount; }
    void addCount(quint32 n) { count = std::min<quint64>(quint64(count) + n, kMaxCount); }
};
static_assert(sizeof(TimelineItem) == 24);

class TimelineRow {
public:
    // Items must be sorted by start and not overlap (end <= next start); each a single span.
    explicit TimelineRow(std::vector<TimelineItem> spans = {});

    size_t spanCount() const { return m_store.empty() ? 0 : m_store[0].size(); }
    const std::vector<TimelineItem>& spans() const { return m_store[0]; }

    // Drawable items overlapping [from, to) at nsPerPixel, appended to out: every span at least
    // a pixel wide as itself, shorter ones folded per pixel with their count and the most severe
    // state among them, so no state vanishes however far out the view is zoomed.
    void query(quint64 from, quint64 to, double nsPerPixel, std::vector<TimelineItem>& out) const;

    // The earliest span boundary (start or end) after t, the latest before t.
    std::optional<quint64> nextBoundary(quint64 t) const;
    std::optional<quint64> prevBoundary(quint64 t) const;

    // The span covering t (level 0), or nullptr.
    const TimelineItem* spanAt(quint64 t) const;

    size_t levelCount() const { return m_levels.size(); }
    size_t memoryBytes() const;

    // The state that wins when a and b share a pixel.
    static bool moreSevere(quint8 a, quint8 b);

private:
    struct Level {
        quint64 width; // W_k; 0 for level 0
        size_t store;  // index into m_store
    };
    std::vector<std::vector<TimelineItem>> m_store;
    std::vector<Level> m_levels;
};

} // namespace ravel::gui
