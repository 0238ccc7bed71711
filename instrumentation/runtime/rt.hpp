// Internals of libravel_rt.so, shared by the interceptors. The runtime is preloaded into an
// unmodified program: it must never allocate with the target's malloc on the hot path, never
// block on anything of its own while the target holds a lock it could need, and re-enter itself
// safely (signal handlers, glibc calling intercepted functions internally).
#pragma once

#include <ravel/trace_format.h>

#include "hb.hpp"

#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <x86intrin.h>

#define RAVEL_EXPORT extern "C" __attribute__((visibility("default")))
#define RAVEL_LIKELY(x) __builtin_expect(!!(x), 1)
#define RAVEL_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RAVEL_CALLER_PC() reinterpret_cast<uint64_t>(__builtin_return_address(0))

namespace ravel::rt {

constexpr int kSiteCacheSize = 512; // per thread: call site -> stack id
constexpr int kMaxFlightChunks = 256;
constexpr uint32_t kStampEvery = 64; // clock stamp at least every N events of a thread
constexpr uint32_t kShadowStackDepth = 64;

struct ThreadState {
    uint8_t* cur; // next free byte in the current events chunk
    uint8_t* end; // chunk end less room for the largest record sequence (slot + full record)
    RavelChunkHeader* chunk;
    RavelThreadEntry* entry; // this thread's slot in the thread table (its state board)
    uint64_t last_tick;
    uint32_t since_stamp;
    uint32_t tid; // ravel thread id, 0 until registered
    uint32_t in_rt; // re-entrancy depth: nested interceptors pass straight through
    uint32_t writing; // inside a record or board write: a signal handler's event is dropped (and counted)
    uint32_t chunk_seq;
    uint32_t flight_count; // chunks in flight_ring
    uint32_t flight_next;  // next ring slot to reuse
    bool wantSpare;        // a chunk was taken: prepare the next one at a quiet moment
    uint8_t* spare;        // a reserved, pre-faulted chunk, or null
    uint64_t spareOff;
    uint64_t flight_ring[kMaxFlightChunks]; // file offsets of this thread's event chunks
    bool trampolined;      // started by our pthread_create trampoline, which records its exit
    // The object of this thread's last annotation event (<ravel/annotate.h>): a futex call on
    // that word right after it (a futex lock's wake after ravel_lock_released) implements it.
    uint64_t annotatedObj;
    void (*once_fn)(void); // pthread_once: the init routine running in this thread
    uint64_t once_obj;
    uint64_t site_pc[kSiteCacheSize];
    uint32_t site_stack[kSiteCacheSize];
    // Compact encoding state, reset at each chunk (docs/trace-format.md, raw payloads).
    uint64_t slotObj[RAVEL_SLOTS];
    uint32_t lastStack[2]; // of the last full ACQUIRED [0] and RELEASE [1] record in the chunk
    // Race mode (race.cpp): the thread's happens-before clocks, and the return addresses of the
    // instrumented functions it is in (the pass's entry and exit hooks), innermost last.
    ravel::hb::HbThread hb;
    uint32_t shadowDepth;
    uint64_t shadowStack[kShadowStackDepth];
    uint64_t shadowFrames[kShadowStackDepth]; // the frame address of each entry
};

struct Options {
    uint32_t chunk_size = RAVEL_DEFAULT_CHUNK_SIZE;
    uint32_t flight_kib = 0; // per thread; 0 = keep everything
    uint32_t stack_depth = 32;
    bool verbose = false;
    bool races = true; // race mode, when the program was built with ravel-cc / ravel-c++
    bool follow = true; // record forked children and keep the runtime in exec'd programs
};

// Constant-initialized (constinit): the runtime starts before any dynamic initializer runs.
struct Global {
    bool enabled = false; // recording; false before init, after fork in the child, after a fatal error
    int fd = -1;
    RavelFileHeader* hdr = nullptr;
    uint8_t* base = nullptr; // the mapping of the whole file (reserved virtual range)
    uint64_t reserve = 0; // bytes of virtual range reserved at base
    Options opt {};
    uint64_t rt_lo = 0, rt_hi = 0; // this library's own code, skipped in stacks
    char path[4096] {};
    // The run (every process of it records beside its main trace): the main trace's absolute
    // path, the run's id, and this library's path, put back into the environment of exec'd
    // programs that lost it.
    char runPath[4096] {};
    char rtPath[1024] {};
    uint64_t runId = 0;
};

extern constinit Global g;
extern __thread ThreadState t_state __attribute__((tls_model("initial-exec")));

// A tiny spinlock for the runtime's own cold paths (table growth, stack depot). Never held while
// calling into the target or into a blocking libc function.
struct SpinLock {
    int v = 0;
    void lock()
    {
        // Yield after a short spin: on a machine with fewer cores than threads the holder may be
        // descheduled, and spinning would only keep it off the CPU.
        for (int spins = 0; __atomic_exchange_n(&v, 1, __ATOMIC_ACQUIRE); spins++) {
            while (__atomic_load_n(&v, __ATOMIC_RELAXED)) {
                if (++spins > 64)
                    sched_yield();
                else
                    _mm_pause();
            }
        }
    }
    bool tryLock() { return !__atomic_exchange_n(&v, 1, __ATOMIC_ACQUIRE); }
    void unlock() { __atomic_store_n(&v, 0, __ATOMIC_RELEASE); }
};

// --- core (rt_core.cpp) ---
void ensureInit();
// Registers the calling thread; `e` is an entry reserved by its creator, or null. A foreign
// thread (one the runtime did not start) registers from whatever interceptor it reaches first,
// perhaps inside the target's allocator: nothing may allocate then.
void registerThread(ThreadState* t, uint32_t tid, uint32_t parent, uint32_t createStack, RavelThreadEntry* e,
                    bool foreign = false);
RavelThreadEntry* allocThreadEntry();
void unregisterThread(ThreadState* t);
// A running thread's entry, or null; with exitedToo, the newest entry of that handle (a thread
// that exited and awaits its join).
RavelThreadEntry* findThreadEntry(uint64_t pthread, bool exitedToo = false);
bool openEventsChunk(ThreadState* t); // false when recording stopped
void prepareSpare(ThreadState* t);
// Called right after a real unlock, when the thread holds one lock fewer.
inline void afterUnlock(ThreadState* t)
{
    if (RAVEL_UNLIKELY(t->wantSpare))
        prepareSpare(t);
}
void stampClock(ThreadState* t);
void finalizeProcess(int status);
// The trace's descriptor: the target's close, close_range, closefrom, dup2 and dup3 leave it be.
bool isTraceFd(int fd);
int traceFd();      // or -1
void moveTraceFd(); // before the target reuses its number (dup2 onto it)
// In the child of a fork: the parent's trace is left alone and the child records into a trace
// of its own (or runs unrecorded when following is off).
void followAfterFork(uint32_t parentPid);
// Per-module state that points into the trace, cleared in a fork child before it records anew.
void resetStacksAfterFork();
void saveModulesForFork();    // before the parent's trace is unmapped
void resetModulesAfterFork();
void restoreModulesAfterFork(); // into the child's own trace, once it is open
void resetNamesAfterFork();
void resetThreadsAfterFork();
void* allocChunk(uint16_t type, uint32_t owner, uint32_t seq, uint64_t* offsetOut);
uint64_t monoNs();
void rtMessage(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// --- the real functions (rt_real.cpp) ---
// One per RAVEL_DECLARE_REAL, in the `ravel_real` section.
struct alignas(32) RealEntry { // aligned as the compiler aligns each entry: the section is an array
    const char* name;
    const char* version;      // or null: the default version
    const char* sameObjectAs; // or null; else name comes from the object defining this, or stays null
    void** slot;
};
void resolveAllReal();                // every entry, once; safe at any moment (no dlsym, no malloc)
void resolveLate(const RealEntry* e); // an entry still null at its first call

// --- stacks (rt_stack.cpp) ---
uint32_t captureStack(uint64_t from = 0); // the whole call path of the current interceptor's caller
// captureStack for an interceptor of thread t: inside the runtime (the unwinder's own calls pass
// through) and with signals held back until it is done, so that a signal handler's lock calls
// are recorded after it rather than turned away unseen in the middle of it.
uint32_t captureStackOf(ThreadState* t);
// Captures the stack at pc into the site cache's `slot`, matched afterwards by `key` (the pc, or a
// pc mixed with what else must match, such as a futex word).
uint32_t siteStackSlow(ThreadState* t, uint64_t pc, uint32_t slot, uint64_t key);
inline uint32_t hashSlot(uint64_t x, int bits);
// The stack of the caller at pc: captured once per call site and thread, then reused and flagged.
// Two ways per set (slot and slot ^ 1): two hot sites whose pcs share a slot (a loop's lock and a
// signal handler's, say) would otherwise evict each other at every call and capture a stack each
// time, and a handler arriving during that capture is turned away.
__attribute__((always_inline)) inline uint32_t siteStack(ThreadState* t, uint64_t pc)
{
    uint32_t slot = hashSlot(pc, 9);
    if (RAVEL_LIKELY(t->site_pc[slot] == pc))
        return t->site_stack[slot] | RAVEL_STACK_REUSED;
    if (t->site_pc[slot ^ 1] == pc)
        return t->site_stack[slot ^ 1] | RAVEL_STACK_REUSED;
    return siteStackSlow(t, pc, t->site_pc[slot] == 0 ? slot : slot ^ 1, pc);
}
uint32_t stackOfFrames(const uint64_t* frames, int depth, uint16_t flags);

// --- race mode (race.cpp) ---
// On when the program was built with ravel-cc / ravel-c++ (its libravel_hooks.so attached) and
// recording is on. Every synchronization the interceptors see then also feeds the clocks.
extern bool g_race;
void raceAcquireSlow(ThreadState* t, const void* obj);
void raceReleaseSlow(ThreadState* t, const void* obj);
inline void raceAcquire(ThreadState* t, const void* obj)
{
    if (RAVEL_UNLIKELY(g_race))
        raceAcquireSlow(t, obj);
}
inline void raceRelease(ThreadState* t, const void* obj)
{
    if (RAVEL_UNLIKELY(g_race))
        raceReleaseSlow(t, obj);
}
// The key of a thread's end in the clocks' sync table: not an address any object can have.
inline const void* raceThreadKey(uint32_t tid) { return reinterpret_cast<const void*>((1ull << 62) | tid); }
// A child's clocks start from what its creator knew: taken in the creator before it starts.
bool raceSnapshotForChild(ThreadState* parent, ravel::hb::VectorClock* out);
void raceChildStart(ThreadState* t, ravel::hb::VectorClock* fromCreator);
void raceThreadExit(ThreadState* t);
void raceFreed(const void* p, size_t size);
void raceAfterFork(); // the child of a fork runs unrecorded: race mode ends there
void raceFinalize(ThreadState* t); // at process exit: occurrence counts of the races found
// libc's functions that read or write memory the program passed (memcpy, strlen, ...): checked
// at their interceptors, in race mode only.
void raceCheckRange(const void* p, size_t size, bool write, uint64_t pc);

// --- modules (rt_modules.cpp) ---
void recordModules();
bool moduleKnown(uint64_t pc);

// --- per-object sequence numbers and the page filter for FREE events ---
extern uint32_t g_objSeq[1 << 18];
extern uint64_t g_pageBits[(1 << 20) / 64];

inline uint32_t hashSlot(uint64_t x, int bits)
{
    return static_cast<uint32_t>((x * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}
// Per-object sequence numbers start at 1: aux 0 means "no sequence number".
inline uint32_t nextSeq(const void* obj)
{
    uint32_t* c = &g_objSeq[hashSlot(reinterpret_cast<uint64_t>(obj) >> 3, 18)];
    uint32_t s = __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
    return s ? s : __atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}
inline void markPage(const void* obj)
{
    uint32_t bit = hashSlot(reinterpret_cast<uint64_t>(obj) >> 12, 20);
    uint64_t m = 1ull << (bit & 63);
    if (!(__atomic_load_n(&g_pageBits[bit >> 6], __ATOMIC_RELAXED) & m))
        __atomic_fetch_or(&g_pageBits[bit >> 6], m, __ATOMIC_RELAXED);
}
inline bool pageMarked(uint64_t addr)
{
    uint32_t bit = hashSlot(addr >> 12, 20);
    return __atomic_load_n(&g_pageBits[bit >> 6], __ATOMIC_RELAXED) & (1ull << (bit & 63));
}

// --- the hot path ---

// The thread may record: recording is on and we are not already inside the runtime.
// Registers threads the runtime did not create (threads started before it, foreign clones).
inline ThreadState* enter()
{
    if (RAVEL_UNLIKELY(!g.enabled))
        return nullptr;
    ThreadState* t = &t_state;
    if (RAVEL_UNLIKELY(t->writing)) {
        // A signal handler interrupted this thread while it wrote a record or its board: writing
        // too would overwrite that record, so the handler's event is dropped and counted, and the
        // trace says how many were lost.
        __atomic_add_fetch(&g.hdr->lost_events, 1, __ATOMIC_RELAXED);
        return nullptr;
    }
    if (RAVEL_UNLIKELY(t->in_rt))
        return nullptr;
    if (RAVEL_UNLIKELY(t->tid == 0)) {
        t->in_rt++;
        registerThread(t, 0, 0, 0, nullptr, true);
        t->in_rt--;
        if (t->tid == 0)
            return nullptr;
    }
    return t;
}

constexpr uint32_t kNoStack = 0xffffffffu;

// Marks a write of the thread's records or board: a signal handler arriving meanwhile is turned
// away by enter() (its event counted as lost) instead of writing over a half-written record. One
// increment of a thread-local counter; the fences keep the compiler from moving the writes out of
// the window.
struct Writing {
    ThreadState* t;
    explicit Writing(ThreadState* s)
        : t(s)
    {
        t->writing++;
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
    }
    ~Writing()
    {
        __atomic_signal_fence(__ATOMIC_SEQ_CST);
        t->writing--;
    }
};

// A full record: the 16 bytes first, the marker last, so a crash mid-write leaves a zero marker.
inline void put(ThreadState* t, uint64_t obj, unsigned kind, unsigned flags, uint32_t aux, uint32_t stack)
{
    Writing w(t);
    if (RAVEL_UNLIKELY(t->cur >= t->end) && !openEventsChunk(t))
        return;
    uint8_t* p = t->cur;
    RavelEvent e { ravel_event_word(obj, kind, flags), aux, stack };
    __builtin_memcpy(p + 1, &e, sizeof e);
    __atomic_store_n(p, uint8_t(RAVEL_REC_FULL), __ATOMIC_RELEASE);
    t->cur = p + 1 + sizeof e;
    if (kind == RAVEL_EV_ACQUIRED)
        t->lastStack[0] = stack;
    else if (kind == RAVEL_EV_RELEASE)
        t->lastStack[1] = stack;
}

inline void putTime(ThreadState* t, uint64_t rel)
{
    Writing w(t);
    if (RAVEL_UNLIKELY(t->cur >= t->end) && !openEventsChunk(t))
        return;
    uint8_t* p = t->cur;
    uint64_t v = rel << 8;
    __builtin_memcpy(p + 1, reinterpret_cast<uint8_t*>(&v) + 1, 7);
    __atomic_store_n(p, uint8_t(RAVEL_REC_TIME), __ATOMIC_RELEASE);
    t->cur = p + 8;
}

// The hot path: an uncontended acquisition or a release at a call site whose stack is the one
// last recorded for that operation, on an object already in a slot, is one byte.
__attribute__((always_inline)) inline void putFast(ThreadState* t, const void* objp, bool release, unsigned flags, uint32_t stack)
{
    Writing w(t);
    if (RAVEL_UNLIKELY(t->cur >= t->end) && !openEventsChunk(t))
        return;
    uint64_t obj = reinterpret_cast<uint64_t>(objp);
    // Short records carry no modifier but "shared": a trylock or timed lock is a full record.
    if (RAVEL_UNLIKELY(stack != t->lastStack[release] || (flags & (RAVEL_F_TRY | RAVEL_F_TIMED | RAVEL_F_CONTENDED)))) {
        put(t, obj, release ? RAVEL_EV_RELEASE : RAVEL_EV_ACQUIRED, flags, 0, stack);
        return;
    }
    unsigned objKind = flags & 0x0f;
    unsigned slot = static_cast<unsigned>((obj * 0x9E3779B97F4A7C15ull) >> 60);
    uint64_t key = obj | (uint64_t(objKind) << 48);
    uint8_t* p = t->cur;
    if (RAVEL_UNLIKELY(t->slotObj[slot] != key)) {
        markPage(objp); // once per object and chunk is enough: page bits are never cleared
        uint64_t v = (obj << 16) | (uint64_t(slot | (objKind << 4)) << 8);
        __builtin_memcpy(p + 1, reinterpret_cast<uint8_t*>(&v) + 1, 7);
        __atomic_store_n(p, uint8_t(RAVEL_REC_SLOT), __ATOMIC_RELEASE);
        p += 8;
        t->slotObj[slot] = key;
    }
    unsigned op = (release ? 1u : 0u) | ((flags & RAVEL_F_SHARED) ? 2u : 0u);
    __atomic_store_n(p, uint8_t(RAVEL_REC_SHORT | (op << 4) | slot), __ATOMIC_RELEASE);
    t->cur = p + 1;
}

inline void maybeStamp(ThreadState* t)
{
    uint64_t tick = __atomic_load_n(&g.hdr->tick, __ATOMIC_RELAXED);
    if (RAVEL_UNLIKELY(tick != t->last_tick || ++t->since_stamp >= kStampEvery)) {
        t->last_tick = tick;
        stampClock(t);
    }
}

// Record an event, stamping the clock first when the watchdog's tick moved or enough events
// went unstamped.
inline void emit(ThreadState* t, const void* obj, unsigned kind, unsigned flags, uint32_t aux, uint32_t stack)
{
    maybeStamp(t);
    put(t, reinterpret_cast<uint64_t>(obj), kind, flags, aux, stack);
}

// The fast path's emit: an uncontended acquisition (no sequence number) or a release.
__attribute__((always_inline)) inline void emitFast(ThreadState* t, const void* obj, bool release, unsigned flags, uint32_t stack)
{
    maybeStamp(t);
    putFast(t, obj, release, flags, stack);
}

// Record an event that starts or ends a wait: always stamped.
inline void emitStamped(ThreadState* t, const void* obj, unsigned kind, unsigned flags, uint32_t aux, uint32_t stack)
{
    stampClock(t);
    put(t, reinterpret_cast<uint64_t>(obj), kind, flags, aux, stack);
}

// --- the state board ---
inline void boardBlock(ThreadState* t, const void* obj, unsigned flags, uint32_t stack, const void* mutex = nullptr)
{
    Writing w(t);
    RavelBoard* b = &t->entry->board;
    b->blocked_kind = flags;
    b->blocked_stack = stack;
    b->blocked_mutex = reinterpret_cast<uint64_t>(mutex);
    b->blocked_since_tsc = __rdtsc();
    __atomic_store_n(&b->blocked_on, reinterpret_cast<uint64_t>(obj), __ATOMIC_RELEASE);
}
inline void boardUnblock(ThreadState* t) { __atomic_store_n(&t->entry->board.blocked_on, 0, __ATOMIC_RELEASE); }

inline void boardHold(ThreadState* t, const void* obj, unsigned flags, uint32_t stack)
{
    Writing w(t);
    RavelBoard* b = &t->entry->board;
    uint32_t n = b->held_count;
    if (RAVEL_LIKELY(n < RAVEL_MAX_HELD)) {
        b->held[n] = reinterpret_cast<uint64_t>(obj) | (static_cast<uint64_t>(flags) << 56);
        b->held_stack[n] = stack;
    }
    __atomic_store_n(&b->held_count, n + 1, __ATOMIC_RELEASE);
}
// Removes the most recent hold of obj; returns its flags (0 when not found).
inline unsigned boardRelease(ThreadState* t, const void* obj)
{
    Writing w(t);
    RavelBoard* b = &t->entry->board;
    uint32_t n = b->held_count;
    uint64_t key = reinterpret_cast<uint64_t>(obj);
    uint32_t top = n < RAVEL_MAX_HELD ? n : RAVEL_MAX_HELD;
    for (uint32_t i = top; i-- > 0;) {
        if ((b->held[i] & RAVEL_OBJ_MASK) == key) {
            unsigned flags = static_cast<unsigned>(b->held[i] >> 56);
            for (uint32_t j = i; j + 1 < top; j++) {
                b->held[j] = b->held[j + 1];
                b->held_stack[j] = b->held_stack[j + 1];
            }
            __atomic_store_n(&b->held_count, n - 1, __ATOMIC_RELEASE);
            return flags | 0x100;
        }
    }
    if (n > RAVEL_MAX_HELD) // overflowed: the entry may be beyond what the board can show
        __atomic_store_n(&b->held_count, n - 1, __ATOMIC_RELEASE);
    return 0;
}

// Runs fn() with onCancel(arg) registered as a cancellation cleanup handler: a thread cancelled
// (or calling pthread_exit) inside fn never returns from it, and the interceptor around a
// cancellation point must still end its wait in the trace. The runtime is built without
// exceptions, so these are glibc's setjmp-based handlers (pthread_cleanup_push in C), which its
// unwinder runs like the program's own, innermost first. Kept out of line: nothing of the caller
// lives across the setjmp.
template <typename Fn>
__attribute__((noinline)) int withCancelCleanup(void (*onCancel)(void*), void* arg, Fn fn)
{
    int rc;
    pthread_cleanup_push(onCancel, arg);
    rc = fn();
    pthread_cleanup_pop(0);
    return rc;
}

struct InRuntime {
    ThreadState* t;
    explicit InRuntime(ThreadState* s)
        : t(s)
    {
        t->in_rt++;
    }
    ~InRuntime() { t->in_rt--; }
};

} // namespace ravel::rt

// REAL(fn): the next definition of fn after this library (libc's, or that of an allocator or
// library loaded after it), resolved with every other one before the target can call in
// (rt_real.cpp). The check is for calls that come before that: another library's constructor,
// or ld.so calling free. RAVEL_DECLARE_REAL_V picks a symbol version (glibc keeps old
// pthread_cond_* beside new ones); RAVEL_DECLARE_REAL_BESIDE takes fn from the object that
// defines another function, or leaves it null (malloc_usable_size from free's allocator).
#define RAVEL_DECLARE_REAL_ENTRY(ret, name, version, beside, ...)                                                  \
    using name##_fn = ret (*)(__VA_ARGS__);                                                                      \
    static void* real_##name;                                                                                    \
    [[gnu::used, gnu::section("ravel_real")]] static constinit const ravel::rt::RealEntry realEntry_##name {      \
        #name, version, beside, &real_##name                                                                     \
    };                                                                                                           \
    static inline name##_fn getReal_##name()                                                                     \
    {                                                                                                            \
        void* p = real_##name;                                                                                   \
        if (RAVEL_UNLIKELY(!p)) {                                                                                \
            ravel::rt::resolveLate(&realEntry_##name);                                                           \
            p = __atomic_load_n(&real_##name, __ATOMIC_ACQUIRE);                                                 \
        }                                                                                                        \
        return reinterpret_cast<name##_fn>(p);                                                                   \
    }
#define RAVEL_DECLARE_REAL_V(ret, name, version, ...) RAVEL_DECLARE_REAL_ENTRY(ret, name, version, nullptr, __VA_ARGS__)
#define RAVEL_DECLARE_REAL(ret, name, ...) RAVEL_DECLARE_REAL_ENTRY(ret, name, nullptr, nullptr, __VA_ARGS__)
#define RAVEL_DECLARE_REAL_BESIDE(ret, name, beside, ...) RAVEL_DECLARE_REAL_ENTRY(ret, name, nullptr, beside, __VA_ARGS__)
#define REAL(name) getReal_##name()
