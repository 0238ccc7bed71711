// The wait-for graph and the deadlock decision (DESIGN.md, "Who can wake a blocked thread").
//
// A blocked thread waits for wakers: for AND waits (a lock, a join) every waker must proceed;
// for OR waits (a condition variable, a semaphore, a channel) any one will do. Deadlock is decided
// by graph reduction: threads that run can proceed; a blocked thread can proceed when its wakers
// allow it; whatever is left cannot proceed, ever: it is deadlocked. Partial deadlocks count.
//
// One implementation serves the live watchdog (nodes built from the runtime's state boards), the
// after-the-fact analysis (nodes built from the replay model at an instant) and the GUI.
#pragma once

#include "base/finding.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

enum class WaitMode : uint8_t {
    And, // every waker must proceed (lock holders, a joined thread)
    Or,  // any waker suffices (who may still signal, post, send)
};

struct WaitNode {
    uint32_t thread = 0;       // ravel thread id
    bool blocked = false;      // false: running (or in a timed wait, which will end by itself)
    WaitMode mode = WaitMode::And;
    // Every waker is known exactly (lock holders, a joined thread, a child process); false when
    // some are presumed (anyone who may still signal a condition variable or post a semaphore).
    bool exact = true;
    uint64_t object = 0;       // what it waits on (address)
    unsigned objectKind = 0;   // RAVEL_OBJ_*
    std::vector<uint32_t> wakers; // thread ids; an AND wait with no waker can never end
};

struct Deadlock {
    Verdict verdict = Verdict::None;
    std::vector<uint32_t> threads; // the deadlocked set, ascending
    // The part of the set that forms a cycle (or knot) of waits, for reports: threads outside it
    // are stuck only because they wait on the cycle.
    std::vector<uint32_t> cycle;
};

// Reduces the graph. Threads named as wakers but absent from `nodes` are taken as running.
Deadlock reduceWaitFor(const std::vector<WaitNode>& nodes);

} // namespace ravel
