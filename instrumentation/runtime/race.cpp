// Race mode: the hooks of <ravel/race_hooks.h> that code built with ravel-cc / ravel-c++ calls,
// the glue from the interceptors' synchronization to the happens-before core (instrumentation/hb),
// and the reports: a race goes into the trace as a RACE event (the current access, its stack)
// and a RACE_PREV event (the earlier access it races with: its thread, its pc), once per
// distinct pair of sites, with a RACE_COUNT of its occurrences at exit.
#include "rt.hpp"

#include <ravel/race_hooks.h>

#include <string.h>

using namespace ravel::rt;
namespace hb = ravel::hb;

namespace ravel::rt {

bool g_race;

namespace {

volatile uint8_t* g_raceFlag; // the executable's __ravel_race_flag
bool g_raceAttached;

// One distinct pair of sites (unordered), and how often it raced.
struct RaceSite {
    uint64_t a, b; // a <= b; a == 0: free slot
    uint32_t count;
    uint32_t id;
};
constexpr int kRaceSiteBits = 12;
RaceSite g_raceSites[1 << kRaceSiteBits];
uint32_t g_raceIds;
uint32_t g_racesDropped; // distinct pairs beyond the table: counted, not reported

bool threadReady(ThreadState* t)
{
    if (RAVEL_LIKELY(t->hb.slot))
        return true;
    if (t->tid == 0 || t->tid >= hb::kMaxSlots)
        return false;
    return hb::threadStart(&t->hb, t->tid, nullptr);
}

// The current stack: the access's pc, then the return addresses of the instrumented functions
// the thread is in; from the unwinder when no instrumented function is on the shadow stack.
uint32_t currentStack(ThreadState* t, uint64_t pc)
{
    uint64_t frames[kShadowStackDepth + 1];
    int n = 0;
    frames[n++] = pc;
    uint32_t depth = t->shadowDepth < kShadowStackDepth ? t->shadowDepth : kShadowStackDepth;
    for (uint32_t i = depth; i-- > 0;) {
        uint64_t ra = t->shadowStack[i];
        if (ra < g.rt_lo || ra >= g.rt_hi) // the runtime's thread trampoline is not the program's
            frames[n++] = ra;
    }
    if (n == 1) // an uninstrumented function's access, or one checked for libc: unwind from pc
        return captureStack(pc);
    return stackOfFrames(frames, n, 0);
}

void report(ThreadState* t, const hb::HbRace& r)
{
    uint64_t a = r.cur.pc < r.prev.pc ? r.cur.pc : r.prev.pc;
    uint64_t b = r.cur.pc < r.prev.pc ? r.prev.pc : r.cur.pc;
    if (a == 0)
        a = 1; // 0 marks a free slot
    uint32_t h = hashSlot(a * 31 + b, kRaceSiteBits);
    RaceSite* site = nullptr;
    for (uint32_t i = 0; i < 64; i++) {
        RaceSite* s = &g_raceSites[(h + i) & ((1u << kRaceSiteBits) - 1)];
        uint64_t sa = __atomic_load_n(&s->a, __ATOMIC_ACQUIRE);
        if (sa == a && __atomic_load_n(&s->b, __ATOMIC_ACQUIRE) == b) {
            __atomic_add_fetch(&s->count, 1, __ATOMIC_RELAXED);
            return; // reported already
        }
        if (sa == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&s->a, &expected, ~0ull, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&s->b, b, __ATOMIC_RELEASE);
                __atomic_store_n(&s->count, 1u, __ATOMIC_RELAXED);
                __atomic_store_n(&s->a, a, __ATOMIC_RELEASE);
                site = s;
                break;
            }
        }
    }
    if (!site) {
        __atomic_add_fetch(&g_racesDropped, 1, __ATOMIC_RELAXED);
        return;
    }
    uint32_t id = __atomic_add_fetch(&g_raceIds, 1, __ATOMIC_RELAXED);
    site->id = id;
    uint32_t curStack, prevStack;
    {
        InRuntime guard(t);
        curStack = currentStack(t, r.cur.pc);
        uint64_t prevPc = r.prev.pc;
        prevStack = stackOfFrames(&prevPc, 1, 1); // the earlier access's site: its pc only
    }
    auto sizeBits = [](uint32_t size) { return (size > 255 ? 255u : size) << 24; };
    auto accessFlags = [](const hb::HbAccess& x) {
        return RAVEL_OBJ_MEMORY | (x.write ? RAVEL_F_RACE_WRITE : 0u) | (x.atomic ? RAVEL_F_RACE_ATOMIC : 0u);
    };
    emitStamped(t, reinterpret_cast<void*>(r.cur.addr), RAVEL_EV_RACE, accessFlags(r.cur), (id & 0xffffff) | sizeBits(r.cur.size),
                curStack);
    put(t, r.prev.addr, RAVEL_EV_RACE_PREV, accessFlags(r.prev), (r.prev.slot & 0xffffff) | sizeBits(r.prev.size),
        prevStack);
}

__attribute__((noinline)) void checkSlow(ThreadState* t, const void* addr, uint32_t size, bool write, bool atomic,
                                         uint64_t pc)
{
    if (RAVEL_UNLIKELY(!t->hb.slot)) {
        if (!enter() || !threadReady(t))
            return;
    }
    hb::HbRace r;
    if (RAVEL_UNLIKELY(hb::access(&t->hb, reinterpret_cast<uint64_t>(addr), size, write, atomic, pc, &r)))
        report(t, r);
}

// Every hook: the common case (this thread's access, already recorded in this epoch) inline, the
// rest in checkSlow.
__attribute__((always_inline)) inline void check(const void* addr, uint32_t size, bool write, bool atomic, uint64_t pc)
{
    ThreadState* t = &t_state;
    if (RAVEL_UNLIKELY(!g_race || t->in_rt || t->writing))
        return;
    if (RAVEL_LIKELY(t->hb.slot) && hb::alreadyRecorded(&t->hb, reinterpret_cast<uint64_t>(addr), size, write, atomic))
        return;
    checkSlow(t, addr, size, write, atomic, pc);
}

// A thread the hooks may run in: race mode on, not inside the runtime, clocks ready.
inline ThreadState* syncThread()
{
    ThreadState* t = &t_state;
    if (!g_race || t->writing || !t->tid || !threadReady(t))
        return nullptr;
    return t;
}

} // namespace

void raceAcquireSlow(ThreadState* t, const void* obj)
{
    if (threadReady(t))
        hb::acquire(&t->hb, reinterpret_cast<uint64_t>(obj));
}

void raceReleaseSlow(ThreadState* t, const void* obj)
{
    if (threadReady(t))
        hb::release(&t->hb, reinterpret_cast<uint64_t>(obj));
}

bool raceSnapshotForChild(ThreadState* parent, hb::VectorClock* out)
{
    if (!g_race || !threadReady(parent))
        return false;
    if (!hb::vcAssign(out, parent->hb.vc))
        return false;
    hb::bumpEpoch(&parent->hb);
    return true;
}

void raceChildStart(ThreadState* t, hb::VectorClock* fromCreator)
{
    if (g_race && threadReady(t) && fromCreator->n)
        hb::vcJoin(&t->hb.vc, *fromCreator);
    hb::vcFree(fromCreator);
}

void raceThreadExit(ThreadState* t)
{
    if (!g_race || !t->hb.slot)
        return;
    hb::release(&t->hb, reinterpret_cast<uint64_t>(raceThreadKey(t->tid)));
    // The stack may be cached and handed to the next thread: its locals start clean there.
    if (t->entry && t->entry->stack_hi > t->entry->stack_lo)
        hb::resetRange(t->entry->stack_lo, t->entry->stack_hi - t->entry->stack_lo);
    hb::threadFree(&t->hb);
}

void raceFreed(const void* p, size_t size)
{
    if (g_race)
        hb::resetRange(reinterpret_cast<uint64_t>(p), size);
}

void raceAfterFork()
{
    g_race = false;
    if (g_raceFlag)
        *g_raceFlag = 0;
}

void raceFinalize(ThreadState* t)
{
    if (!g_race || !t)
        return;
    for (const RaceSite& s : g_raceSites) {
        uint32_t count = __atomic_load_n(&s.count, __ATOMIC_RELAXED);
        if (s.id && count > 1)
            put(t, s.id, RAVEL_EV_RACE_COUNT, RAVEL_OBJ_MEMORY, count, 0);
    }
    if (uint32_t dropped = __atomic_load_n(&g_racesDropped, __ATOMIC_RELAXED))
        put(t, 0, RAVEL_EV_RACE_COUNT, RAVEL_OBJ_MEMORY, dropped, 0);
}

void raceCheckRange(const void* p, size_t size, bool write, uint64_t pc)
{
    if (g_race && size)
        check(p, static_cast<uint32_t>(size > 0xffffffffu ? 0xffffffffu : size), write, false, pc);
}

} // namespace ravel::rt

// ------------------------------------------------------------------ the hooks

#define RAVEL_PC() reinterpret_cast<uint64_t>(__builtin_return_address(0))

RAVEL_EXPORT void __ravel_race_attach(volatile uint8_t* flag)
{
    ensureInit();
    if (g_raceAttached)
        return;
    g_raceAttached = true;
    g_raceFlag = flag;
    if (!g.enabled || !g.opt.races || !hb::init())
        return;
    __atomic_fetch_or(&g.hdr->flags, static_cast<uint32_t>(RAVEL_FILE_RACE_MODE), __ATOMIC_RELAXED);
    g_race = true;
    *flag = 1;
}

RAVEL_EXPORT void __ravel_read1(const void* a) { check(a, 1, false, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_read2(const void* a) { check(a, 2, false, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_read4(const void* a) { check(a, 4, false, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_read8(const void* a) { check(a, 8, false, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_read16(const void* a) { check(a, 16, false, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write1(const void* a) { check(a, 1, true, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write2(const void* a) { check(a, 2, true, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write4(const void* a) { check(a, 4, true, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write8(const void* a) { check(a, 8, true, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write16(const void* a) { check(a, 16, true, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_read_n(const void* a, size_t n) { raceCheckRange(a, n, false, RAVEL_PC()); }
RAVEL_EXPORT void __ravel_write_n(const void* a, size_t n) { raceCheckRange(a, n, true, RAVEL_PC()); }

RAVEL_EXPORT void __ravel_atomic_op(const void* a, uint32_t size, uint32_t flags)
{
    uint64_t pc = RAVEL_PC();
    ThreadState* t = syncThread();
    if (!t || t->in_rt)
        return;
    check(a, size, flags & 1, true, pc);
    hb::atomicBefore(&t->hb, reinterpret_cast<uint64_t>(a), (flags >> 8) & 0xff);
}

RAVEL_EXPORT void __ravel_atomic_after(const void* a, uint32_t order)
{
    ThreadState* t = syncThread();
    if (t && !t->in_rt)
        hb::atomicAfter(&t->hb, reinterpret_cast<uint64_t>(a), order);
}

RAVEL_EXPORT void __ravel_fence(uint32_t order)
{
    ThreadState* t = syncThread();
    if (t && !t->in_rt)
        hb::fence(&t->hb, order);
}

RAVEL_EXPORT void __ravel_memcpy(void* d, const void* s, size_t n)
{
    uint64_t pc = RAVEL_PC();
    raceCheckRange(s, n, false, pc);
    raceCheckRange(d, n, true, pc);
}
RAVEL_EXPORT void __ravel_memmove(void* d, const void* s, size_t n)
{
    uint64_t pc = RAVEL_PC();
    raceCheckRange(s, n, false, pc);
    raceCheckRange(d, n, true, pc);
}
RAVEL_EXPORT void __ravel_memset(void* d, size_t n) { raceCheckRange(d, n, true, RAVEL_PC()); }

RAVEL_EXPORT void __ravel_released(const void* a, size_t n) { raceFreed(a, n); }

RAVEL_EXPORT void __ravel_libc_range(const void* a, size_t n, int write, void* pc)
{
    raceCheckRange(a, n, write != 0, reinterpret_cast<uint64_t>(pc));
}

RAVEL_EXPORT void __ravel_func_entry(void* ra, void* frame)
{
    ThreadState* t = &t_state;
    uint64_t f = reinterpret_cast<uint64_t>(frame);
    uint32_t d = t->shadowDepth;
    // Entries at or below this frame belong to calls that were left by an exception.
    while (d && d <= kShadowStackDepth && t->shadowFrames[d - 1] <= f)
        d--;
    if (RAVEL_LIKELY(d < kShadowStackDepth)) {
        t->shadowStack[d] = reinterpret_cast<uint64_t>(ra);
        t->shadowFrames[d] = f;
    }
    t->shadowDepth = d + 1;
}

RAVEL_EXPORT void __ravel_func_exit(void)
{
    ThreadState* t = &t_state;
    if (RAVEL_LIKELY(t->shadowDepth))
        t->shadowDepth--;
}
