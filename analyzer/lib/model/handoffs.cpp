#include "model/handoffs.hpp"

#include "model/replay_model.hpp"

#include <algorithm>
#include <tuple>

namespace ravel {

std::vector<Handoff> computeHandoffs(const ReplayModel& model)
{
    const std::vector<HoldSpan>& holds = model.holdSpans();
    const std::vector<WaitSpan>& waits = model.waitSpans();
    std::vector<Handoff> out;

    // Only a release inside some contended wait on its object can be a handoff. The waits' windows
    // are merged per object into disjoint intervals, so each of millions of holds costs one binary
    // search over its object's few intervals, and only the few releases that fall inside are sorted.
    struct Window {
        uint32_t object;
        uint64_t start, end;
    };
    std::vector<Window> windows;
    for (const WaitSpan& w : waits)
        if (w.outcome == WaitOutcome::Acquired && w.end != kOpenEnd)
            windows.push_back({ w.object, w.start, w.end });
    if (windows.empty())
        return out;
    std::sort(windows.begin(), windows.end(),
        [](const Window& a, const Window& b) { return std::tie(a.object, a.start) < std::tie(b.object, b.start); });
    std::vector<Window> merged;
    for (const Window& w : windows) {
        if (!merged.empty() && merged.back().object == w.object && w.start <= merged.back().end)
            merged.back().end = std::max(merged.back().end, w.end);
        else
            merged.push_back(w);
    }
    auto insideAWait = [&](uint32_t object, uint64_t t) {
        auto it = std::upper_bound(merged.begin(), merged.end(), std::tuple(object, t),
            [](const auto& k, const Window& w) { return k < std::tuple(w.object, w.start); });
        return it != merged.begin() && std::prev(it)->object == object && t <= std::prev(it)->end;
    };

    // Those releases ordered by (object, end, span index): one binary search finds the latest
    // release of an object at or before an instant. Ties in time keep event order, since spans are
    // numbered in the order their acquisitions were replayed.
    struct Release {
        uint32_t object;
        uint32_t span;
        uint64_t end;
        auto key() const { return std::tuple(object, end, span); }
    };
    std::vector<Release> released;
    for (uint32_t i = 0; i < holds.size(); i++)
        if (holds[i].end != kOpenEnd && insideAWait(holds[i].object, holds[i].end))
            released.push_back({ holds[i].object, i, holds[i].end });
    std::sort(released.begin(), released.end(), [](const Release& a, const Release& b) { return a.key() < b.key(); });

    out.reserve(windows.size());
    for (uint32_t wi = 0; wi < waits.size(); wi++) {
        const WaitSpan& w = waits[wi];
        if (w.outcome != WaitOutcome::Acquired || w.end == kOpenEnd)
            continue;
        auto it = std::upper_bound(released.begin(), released.end(), std::tuple(w.object, w.end, UINT32_MAX),
            [](const auto& k, const Release& r) { return k < r.key(); });
        // Walk back over the waiter's own holds (a reader already holding a shared lock); stop at
        // the object's boundary or before the request.
        while (it != released.begin()) {
            --it;
            const HoldSpan& h = holds[it->span];
            if (h.object != w.object || h.end < w.start)
                break;
            if (h.thread == w.thread)
                continue;
            out.push_back({ w.object, h.thread, w.thread, h.end, w.end, it->span, wi });
            break;
        }
    }
    std::sort(out.begin(), out.end(), [](const Handoff& a, const Handoff& b) {
        return a.acquireNs != b.acquireNs ? a.acquireNs < b.acquireNs : a.waitSpan < b.waitSpan;
    });
    return out;
}

} // namespace ravel
