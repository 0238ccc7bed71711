// TimelineState: what one drawn span of the timeline means (a thread blocked on a kind of object,
// or holding a lock), packed in a byte so the level-of-detail pyramid can fold millions of spans
// and still say which one mattered most. Colors live in the view (TimelinePalette); this is the
// vocabulary both sides share.
#pragma once

#include "model/replay_model.hpp"

#include <cstdint>

namespace ravel::gui {

// Low 6 bits: the kind; kOpenBit: the span never ended (still blocked or still held when the
// trace ends) — the part of a hang, so it outranks everything of its row.
enum class SpanKind : uint8_t {
    None = 0,
    // The state row of a thread: what it is blocked on.
    WaitMutex, // mutex or spinlock
    WaitRwlock,
    WaitCond,
    WaitSemaphore,
    WaitBarrier,
    WaitJoin, // pthread_join, waitpid
    WaitChanSend,
    WaitChanRecv,
    WaitPipe,
    WaitOther, // once, static guard, annotated primitives
    // The held-lock sub-rows.
    Hold,          // exclusive, taken without waiting
    HoldContended, // exclusive, taken after waiting for it
    HoldShared,    // rwlock read mode
    HoldMany,      // sub-pixel holds of several locks folded together (the view colors it neutrally)
    Count
};

inline constexpr uint8_t kOpenBit = 0x80;
// kUncertainBit: an end of the span is not where the trace placed it but somewhere in a range
// (TimelineIndex::holdTimes): drawn faded and hatched there, its times worded with `≈`.
inline constexpr uint8_t kUncertainBit = 0x40;
inline constexpr uint8_t kKindMask = 0x3f;

inline SpanKind spanKindOf(uint8_t state) { return SpanKind(state & kKindMask); }
inline bool isOpenState(uint8_t state) { return (state & kOpenBit) != 0; }
inline bool isUncertainState(uint8_t state) { return (state & kUncertainBit) != 0; }
inline bool isWaitKind(SpanKind k) { return k >= SpanKind::WaitMutex && k <= SpanKind::WaitOther; }

// Rank used when spans fold into one pixel: the highest wins. A wait that never ended beats any
// other (it is the deadlock); then waits on what only another thread's progress can end (locks,
// joins, channels) before waits a program often parks in on purpose (condition variables).
inline int severityOf(uint8_t state)
{
    static constexpr int kRank[] = {
        0, // None
        10, 9, 4, 5, 4, 8, 7, 7, 6, 3, // WaitMutex .. WaitOther
        2, 3, 1, 2, // Hold, HoldContended, HoldShared, HoldMany
    };
    static_assert(sizeof(kRank) / sizeof(kRank[0]) == size_t(SpanKind::Count));
    unsigned k = state & kKindMask;
    int rank = k < size_t(SpanKind::Count) ? kRank[k] : 0;
    return isOpenState(state) ? rank + 100 : rank;
}

// The blocked kind of a wait span, from the object kind of its request; channel waits by their
// operation (send, receive; a select shows as a receive).
SpanKind waitKindOf(const WaitSpan& w);
SpanKind holdKindOf(const HoldSpan& h);

// The packed state of a span: its kind plus kOpenBit when it never ended.
uint8_t waitState(const WaitSpan& w);
uint8_t holdState(const HoldSpan& h);

// One line for the legend and tooltips: "blocked on a mutex", "holds (shared)", ...
const char* spanKindDescription(SpanKind k);

} // namespace ravel::gui
