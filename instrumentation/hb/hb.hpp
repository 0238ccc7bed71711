// The happens-before core of race detection: vector clocks, FastTrack-style epochs and shadow
// memory. It runs inside the target (libravel_rt.so) and is written under the runtime's rules:
// no exceptions, no RTTI, nothing of libstdc++ at run time, and memory only from mmap, never the
// target's malloc. It knows nothing of the trace; a found race goes to the caller as a HbRace.
//
// Shadow memory. Every 8-byte granule of application memory has two 16-byte cells, each one
// earlier access: the bytes it touched (a mask, so accesses of different bytes of one word never
// race), read or write, atomic or not, the thread slot, its epoch and its pc. The shadow is a
// two-level table: the first level, one pointer per 4 MiB of the 47-bit user address space (256
// MiB of address space reserved with MAP_NORESERVE, touched only where the program has memory),
// points to a 16 MiB block of cells mapped (NORESERVE) the first time the region is accessed. A
// linear shadow as ThreadSanitizer's needs a fixed application layout; the table works for any
// layout (PIE or not, mmap anywhere) at one extra load per access, and only touched pages cost
// memory (4x the application memory that instrumented code touched).
//
// Clocks. A thread's slot is its ravel thread id (1 .. kMaxSlots-1). A vector clock holds one
// 32-bit epoch per slot, as long as the highest slot it has seen; its storage comes from a
// size-class arena over mmap. A sync object (a lock, a condition variable, an atomic variable, a
// thread's exit) has a vector clock in a hash table keyed by its address.
#pragma once

#include <stddef.h>
#include <stdint.h>

namespace ravel::hb {

constexpr uint32_t kMaxSlots = 1u << 14; // thread slots: 14 bits in a shadow cell
constexpr int kCellsPerGranule = 2;

// Memory orders, as the hooks pass them (the C11 / LLVM numbering of <ravel/race_hooks.h>).
enum Order : uint32_t { Relaxed = 0, Consume = 1, Acquire = 2, Release = 3, AcqRel = 4, SeqCst = 5 };
inline bool ordersAcquire(uint32_t o) { return o == Consume || o == Acquire || o == AcqRel || o == SeqCst; }
inline bool ordersRelease(uint32_t o) { return o == Release || o == AcqRel || o == SeqCst; }

// Plain data, zero when empty (no initializers: a thread's clocks live in the runtime's
// constant-initialized TLS).
struct VectorClock {
    uint32_t* v;
    uint32_t n;   // entries in use: slots 0 .. n-1
    uint32_t cap; // entries allocated
    uint32_t get(uint32_t slot) const { return slot < n ? v[slot] : 0; }
};

// false when the arena could not grow (out of address space): the clock keeps what it had.
bool vcReserve(VectorClock* vc, uint32_t n);
bool vcJoin(VectorClock* into, const VectorClock& from); // into = max(into, from)
bool vcAssign(VectorClock* into, const VectorClock& from);
void vcFree(VectorClock* vc);

struct HbThread { // zero-initialize it
    uint32_t slot; // 0: not a race-checked thread
    VectorClock vc;    // vc.v[slot] is the thread's current epoch
    // Release fences: a relaxed store after one releases what the thread knew at the fence.
    VectorClock fenceRelease;
    bool hasFenceRelease;
    // Relaxed loads collect what an acquire fence will acquire.
    VectorClock fenceAcquire;
    uint64_t epochBits; // slot << 10 | epoch << 24, as shadow cells hold them: kept by bumpEpoch
    uint32_t epoch() const { return vc.v[slot]; }
};

// The thread's epoch moves on (after it released something).
inline void bumpEpoch(HbThread* t)
{
    uint32_t e = ++t->vc.v[t->slot];
    t->epochBits = (uint64_t(t->slot) << 10) | (uint64_t(e) << 24);
}

// One access of a pair that races: the earlier one is restored from its shadow cell.
struct HbAccess { // no initializers: the hot path declares one per access and fills it only on a race
    uint64_t addr;
    uint32_t size;
    bool write;
    bool atomic;
    uint32_t slot;
    uint64_t pc;
};
struct HbRace {
    HbAccess cur;  // the access being made (clipped to nothing: its whole range)
    HbAccess prev; // the earlier access it races with (within one granule)
};

// Reserves the shadow's first level and the sync table. false (and race detection stays off)
// when the address space is not there.
bool init();
bool ready();

// A new thread: its slot and, when it has a creator, everything the creator knew at the
// creation (the creator's epoch then moves on).
bool threadStart(HbThread* t, uint32_t slot, HbThread* creator);
void threadFree(HbThread* t);

// A memory access. Returns true when it races with an earlier one; then *race says which (the
// first conflicting cell found). The access is recorded in the shadow either way.
bool accessRange(HbThread* t, uint64_t addr, uint32_t size, bool write, bool atomic, uint64_t pc, HbRace* race);
inline bool access(HbThread* t, uint64_t addr, uint32_t size, bool write, bool atomic, uint64_t pc, HbRace* race);

// Synchronization, keyed by the object's address: a release joins the thread's clock into the
// object's and moves the thread's epoch on; an acquire joins the object's clock into the thread's.
void release(HbThread* t, uint64_t obj);
void acquire(HbThread* t, uint64_t obj);
// Atomic accesses with their memory order, fences.
void atomicBefore(HbThread* t, uint64_t obj, uint32_t order); // release part (and fence release)
void atomicAfter(HbThread* t, uint64_t obj, uint32_t order);  // acquire part (and fence acquire)
void fence(HbThread* t, uint32_t order);

// Memory [addr, addr+size) was freed or unmapped: whatever is allocated there next starts clean.
void resetRange(uint64_t addr, uint64_t size);

} // namespace ravel::hb

#include "hb_shadow.hpp" // the inline fast path of access()
