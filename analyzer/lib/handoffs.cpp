#include "handoffs.hpp"

#include "replay_model.hpp"

#include <algorithm>
#include <tuple>

namespace ravel {

std::vector<Handoff> computeHandoffs(const ReplayModel& model)
{
    const std::vector<HoldSpan>& holds = model.holdSpans();
    const std::vector<WaitSpan>& waits = model.waitSpans();
    std::vector<Handoff> out;

    // Which objects were ever acquired after a wait: only their releases can be handoffs, so a
    // trace of millions of uncontended pairs sorts only the holds that matter.
    std::vector<uint8_t> contended(model.objects().size(), 0);
    size_t acquired = 0;
    for (const WaitSpan& w : waits) {
        if (w.outcome == WaitOutcome::Acquired && w.object < contended.size()) {
            contended[w.object] = 1;
            acquired++;
        }
    }
    if (acquired == 0)
        return out;

    // Ended holds of those objects, ordered by (object, end, span index): one binary search finds
    // the latest release of an object at or before an instant. Ties in time keep event order, since
    // spans are numbered in the order their acquisitions were replayed.
    std::vector<uint32_t> released;
    for (uint32_t i = 0; i < holds.size(); i++)
        if (holds[i].end != kOpenEnd && holds[i].object < contended.size() && contended[holds[i].object])
            released.push_back(i);
    auto key = [&](uint32_t i) { return std::tuple(holds[i].object, holds[i].end, i); };
    std::sort(released.begin(), released.end(), [&](uint32_t a, uint32_t b) { return key(a) < key(b); });

    out.reserve(acquired);
    for (uint32_t wi = 0; wi < waits.size(); wi++) {
        const WaitSpan& w = waits[wi];
        if (w.outcome != WaitOutcome::Acquired || w.end == kOpenEnd)
            continue;
        auto it = std::upper_bound(released.begin(), released.end(), std::tuple(w.object, w.end, UINT32_MAX),
            [&](const auto& k, uint32_t i) { return k < key(i); });
        // Walk back over the waiter's own holds (a reader already holding a shared lock); stop at
        // the object's boundary or before the request.
        while (it != released.begin()) {
            const HoldSpan& h = holds[*--it];
            if (h.object != w.object || h.end < w.start)
                break;
            if (h.thread == w.thread)
                continue;
            out.push_back({ w.object, h.thread, w.thread, h.end, w.end, *it, wi });
            break;
        }
    }
    std::sort(out.begin(), out.end(), [](const Handoff& a, const Handoff& b) {
        return a.acquireNs != b.acquireNs ? a.acquireNs < b.acquireNs : a.waitSpan < b.waitSpan;
    });
    return out;
}

} // namespace ravel
