// ThreadSnapshot: what one thread is doing at an instant, in the one form the wait-for graph is
// built from, whether it comes from a live state board (detect/live_trace) or from the replay
// model at time t.
#pragma once

#include "model/channels.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

struct ThreadSnapshot {
    uint32_t tid = 0;
    uint32_t os_tid = 0;
    uint32_t pid = 0;
    uint64_t pthread = 0;
    bool exited = false;
    // Exited by ending its process (exit(), a return from main): the process's end ends every
    // thread and releases every lock at once, so this thread's holds are not abandoned and, until
    // the process is gone, it counts as running (DESIGN.md: the end of a process is no deadlock).
    bool exitedWithProcess = false;
    std::string name;
    uint64_t blockedOn = 0;       // object address, 0 when running
    unsigned blockedFlags = 0;    // object kind | RAVEL_F_* of the request
    uint64_t blockedSinceNs = 0;  // from the trace start
    uint64_t blockedSinceRaw = 0; // the clock as recorded (tsc on a live board): identifies the wait
    uint32_t blockedStack = 0;
    unsigned blockedAux = 0;      // the request's event kind (RAVEL_EV_SEND_REQ, _RECV_REQ, _SELECT_REQ...), 0 unknown
    std::vector<SelectCase> waitSet; // a blocked select: every case (blockedOn is the first's channel)
    // A futex wait: the value the waiter expected the word to hold (it sleeps while it does).
    bool futexValueKnown = false;
    uint32_t futexValue = 0;
    std::vector<uint64_t> held;         // addresses of held objects
    std::vector<unsigned> heldFlags;    // object kind and modifiers of each
    std::vector<uint32_t> heldStacks;   // where each was acquired (stack field, with the reused bit)
    uint32_t heldCount = 0;             // may exceed held.size() when a board overflowed
};

} // namespace ravel
