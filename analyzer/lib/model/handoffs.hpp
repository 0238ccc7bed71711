// Handoffs: which release let a blocked thread take its lock. A contended acquisition (a wait span
// that ended with the lock acquired) was enabled by the last release of that object by another
// thread before it; the GUI draws these as arrows from the releasing thread's lane to the waiter's,
// and `ravel export --perfetto` as flows, the way Visual Studio's Concurrency Visualizer shows "the
// thread that unblocked this one".
#pragma once

#include <cstdint>
#include <vector>

namespace ravel {

class ReplayModel;

struct Handoff {
    uint32_t object = 0; // index into ReplayModel::objects()
    uint32_t fromThread = 0; // ravel thread id that released
    uint32_t toThread = 0; // ravel thread id that had waited and then acquired
    uint64_t releaseNs = 0; // end of the released hold
    uint64_t acquireNs = 0; // end of the wait (the acquisition)
    uint32_t holdSpan = 0; // index into ReplayModel::holdSpans(): the hold that was released
    uint32_t waitSpan = 0; // index into ReplayModel::waitSpans(): the wait it ended
};

// One handoff per contended acquisition whose enabling release is in the trace: the latest hold of
// the same object by another thread that ended within the wait (at or after the request, at or
// before the acquisition; a release before the request did not make anyone wait). Acquisitions
// with no such release (its events lost, a trylock loop) have none. Sorted by acquireNs, then by
// wait span. O(n log n) in holds and waits.
std::vector<Handoff> computeHandoffs(const ReplayModel& model);

} // namespace ravel
