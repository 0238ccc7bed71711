#include "models/timeline_state.hpp"

namespace ravel::gui {

SpanKind waitKindOf(const WaitSpan& w)
{
    switch (w.flags & 0x0f) {
    case RAVEL_OBJ_MUTEX:
    case RAVEL_OBJ_SPIN:
        return SpanKind::WaitMutex;
    case RAVEL_OBJ_RWLOCK:
        return SpanKind::WaitRwlock;
    case RAVEL_OBJ_COND:
        return SpanKind::WaitCond;
    case RAVEL_OBJ_SEM:
        return SpanKind::WaitSemaphore;
    case RAVEL_OBJ_BARRIER:
        return SpanKind::WaitBarrier;
    case RAVEL_OBJ_THREAD:
    case RAVEL_OBJ_PROCESS:
        return SpanKind::WaitJoin;
    case RAVEL_OBJ_CHAN:
        // A select waits on several channels; it is shown as a receive unless the model says send.
        return w.op == ChanOp::Send ? SpanKind::WaitChanSend : SpanKind::WaitChanRecv;
    case RAVEL_OBJ_PIPE:
        return SpanKind::WaitPipe;
    default:
        return SpanKind::WaitOther;
    }
}

SpanKind holdKindOf(const HoldSpan& h)
{
    if (h.flags & RAVEL_F_SHARED)
        return SpanKind::HoldShared;
    if (h.flags & RAVEL_F_CONTENDED)
        return SpanKind::HoldContended;
    return SpanKind::Hold;
}

uint8_t waitState(const WaitSpan& w)
{
    return uint8_t(waitKindOf(w)) | (w.end == kOpenEnd ? kOpenBit : 0);
}

uint8_t holdState(const HoldSpan& h)
{
    return uint8_t(holdKindOf(h)) | (h.end == kOpenEnd ? kOpenBit : 0);
}

const char* spanKindDescription(SpanKind k)
{
    switch (k) {
    case SpanKind::None:
        return "running";
    case SpanKind::WaitMutex:
        return "blocked on a mutex";
    case SpanKind::WaitRwlock:
        return "blocked on a rwlock";
    case SpanKind::WaitCond:
        return "waiting on a condition variable";
    case SpanKind::WaitSemaphore:
        return "waiting on a semaphore";
    case SpanKind::WaitBarrier:
        return "waiting at a barrier";
    case SpanKind::WaitJoin:
        return "waiting to join";
    case SpanKind::WaitChanSend:
        return "blocked sending on a channel";
    case SpanKind::WaitChanRecv:
        return "blocked receiving from a channel";
    case SpanKind::WaitPipe:
        return "blocked on a pipe";
    case SpanKind::WaitOther:
        return "blocked (other)";
    case SpanKind::Hold:
        return "holds a lock";
    case SpanKind::HoldContended:
        return "holds a lock it had to wait for";
    case SpanKind::HoldShared:
        return "holds a lock (shared)";
    case SpanKind::HoldMany:
        return "holds several locks";
    case SpanKind::Count:
        break;
    }
    return "";
}

} // namespace ravel::gui
