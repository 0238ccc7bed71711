// The trace format's vocabulary in words: object kinds, event kinds and stack fields as every
// output names them (dump, info, reports, the GUI).
#pragma once

#include <ravel/trace_format.h>

#include <cstdint>
#include <string_view>

namespace ravel {

// Event.stack without the "reused from an earlier event at this site" bit (RAVEL_STACK_REUSED).
inline uint32_t stackIdOf(uint32_t stack)
{
#ifdef RAVEL_STACK_ID_MASK
    return stack & RAVEL_STACK_ID_MASK;
#else
    return stack;
#endif
}

// The JSON and table vocabulary: "mutex", "rwlock", "spinlock", "condvar", "semaphore", "barrier",
// "once", "static-guard", "thread", ... ("object" for kinds the analyzer does not know).
std::string_view objectKindName(unsigned objKind);
// RAVEL_EV_* as printed by dump and info: "ACQUIRED", "WAIT_REQ", ... ("EV_<n>" when unknown).
std::string_view eventKindName(unsigned evKind);
// sizeof the C object of a kind (pthread_mutex_t = 40, ...), 0 when it has no fixed size. Used to
// turn an offset inside a global array into an element index.
unsigned objectKindSize(unsigned objKind);

} // namespace ravel
