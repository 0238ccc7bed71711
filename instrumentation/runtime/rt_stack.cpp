// The stack depot: every distinct call stack is stored once, in STACKS chunks of the trace, and
// events refer to it by id. Whole stacks are captured (unwound) at blocking requests and the
// first time a thread acquires at a call site; later acquisitions at that site reuse the id and
// say so (RAVEL_STACK_REUSED), since unwinding on every lock would cost microseconds.
#include "rt.hpp"

#include <execinfo.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace ravel::rt {

namespace {

struct DepotSlot {
    uint64_t hash;
    const RavelStackRecord* rec;
};

constexpr int kDepotBits = 20;
DepotSlot* g_depot; // private index over the records in the file; never shrinks
SpinLock g_depotLock;
RavelChunkHeader* g_stackChunk;
uint32_t g_stackChunkSeq;

uint64_t hashFrames(const uint64_t* f, int depth, uint16_t flags)
{
    uint64_t h = 0xcbf29ce484222325ull ^ flags;
    for (int i = 0; i < depth; i++)
        h = (h ^ f[i]) * 0x100000001b3ull;
    return h | 1; // 0 marks an empty slot
}

bool sameStack(const RavelStackRecord* r, const uint64_t* f, int depth, uint16_t flags)
{
    return r->depth == depth && r->flags == flags && memcmp(r->frames, f, sizeof(uint64_t) * depth) == 0;
}

// Appends a record to the current STACKS chunk. Called with g_depotLock held.
RavelStackRecord* appendRecord(uint32_t id, const uint64_t* f, int depth, uint16_t flags)
{
    uint32_t need = static_cast<uint32_t>(sizeof(RavelStackRecord) + sizeof(uint64_t) * depth);
    uint32_t room = g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE;
    if (!g_stackChunk || g_stackChunk->used + need > room) {
        g_stackChunk = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_STACKS, 0, g_stackChunkSeq++, nullptr));
        if (!g_stackChunk)
            return nullptr;
    }
    auto* r = reinterpret_cast<RavelStackRecord*>(reinterpret_cast<uint8_t*>(g_stackChunk) + RAVEL_CHUNK_HEADER_SIZE
                                                  + g_stackChunk->used);
    r->depth = static_cast<uint16_t>(depth);
    r->flags = flags;
    memcpy(r->frames, f, sizeof(uint64_t) * depth);
    __atomic_store_n(&r->id, id, __ATOMIC_RELEASE);
    __atomic_store_n(&g_stackChunk->used, g_stackChunk->used + need, __ATOMIC_RELEASE);
    return r;
}

} // namespace

uint32_t stackOfFrames(const uint64_t* frames, int depth, uint16_t flags)
{
    if (depth <= 0 || !g.enabled)
        return 0;
    uint64_t h = hashFrames(frames, depth, flags);
    g_depotLock.lock();
    if (!g_depot) {
        void* m = mmap(nullptr, sizeof(DepotSlot) << kDepotBits, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        g_depot = m == MAP_FAILED ? nullptr : static_cast<DepotSlot*>(m);
    }
    uint32_t id = 0;
    if (g_depot) {
        uint32_t mask = (1u << kDepotBits) - 1;
        uint32_t i = static_cast<uint32_t>(h) & mask;
        for (uint32_t probes = 0; probes <= mask; probes++, i = (i + 1) & mask) {
            DepotSlot& s = g_depot[i];
            if (s.hash == 0) {
                id = g.hdr->stack_count + 1;
                RavelStackRecord* r = appendRecord(id, frames, depth, flags);
                if (r) {
                    __atomic_store_n(&g.hdr->stack_count, id, __ATOMIC_RELEASE);
                    s.rec = r;
                    s.hash = h;
                } else {
                    id = 0;
                }
                break;
            }
            if (s.hash == h && sameStack(s.rec, frames, depth, flags)) {
                id = s.rec->id;
                break;
            }
        }
    }
    g_depotLock.unlock();
    return id;
}

// Unwinds the current thread. Frames inside the runtime are dropped, so frame 0 is the call
// into the intercepted function; with `from`, frames up to the one that is `from` are dropped
// too (a libc wrapper of libravel_hooks.so between the runtime and the program's call).
uint32_t captureStack(uint64_t from)
{
    void* raw[136];
    int want = static_cast<int>(g.opt.stack_depth) + 8;
    int n = backtrace(raw, want > 136 ? 136 : want);
    uint64_t frames[128];
    int depth = 0;
    for (int i = 0; i < n && depth < static_cast<int>(g.opt.stack_depth); i++) {
        uint64_t pc = reinterpret_cast<uint64_t>(raw[i]);
        if (pc >= g.rt_lo && pc < g.rt_hi)
            continue;
        frames[depth++] = pc;
    }
    if (from) {
        int at = 0;
        while (at < depth && frames[at] != from)
            at++;
        if (at == depth) { // not on the unwound stack: it heads what was
            at = 0;
            if (depth == 128)
                depth--;
            for (int i = depth; i > 0; i--)
                frames[i] = frames[i - 1];
            frames[0] = from;
            depth++;
        }
        for (int i = at; i < depth; i++)
            frames[i - at] = frames[i];
        depth -= at;
    }
    for (int i = 0; i < depth; i++) {
        if (!moduleKnown(frames[i])) { // loaded by dlopen since the last scan
            recordModules();
            break;
        }
    }
    return stackOfFrames(frames, depth, 0);
}

namespace {

// Every signal but the synchronous ones: a fault inside the unwinder must still reach its
// handler (blocked, the kernel would kill the process instead). The kernel's mask is 64 bits
// (_NSIG / 8 bytes), bit N - 1 for signal N; a constant, so interceptors that run before the
// runtime's static constructors (those of other libraries) hold the same set.
constexpr uint64_t signalBit(int sig) { return 1ull << (sig - 1); }
constexpr uint64_t kHeldSignals = ~(signalBit(SIGSEGV) | signalBit(SIGBUS) | signalBit(SIGFPE) | signalBit(SIGILL)
                                    | signalBit(SIGTRAP) | signalBit(SIGSYS));
static_assert(_NSIG / 8 == sizeof(uint64_t));

// The raw system call: the program's own sigprocmask wrappers (or a preloaded library's) are not
// ours to enter here.
inline void setSignalMask(int how, const uint64_t* set, uint64_t* old)
{
    syscall(SYS_rt_sigprocmask, how, set, old, sizeof(uint64_t));
}

} // namespace

uint32_t captureStackOf(ThreadState* t)
{
    uint64_t old = 0;
    setSignalMask(SIG_BLOCK, &kHeldSignals, &old);
    uint32_t id;
    {
        InRuntime guard(t);
        id = captureStack();
    }
    setSignalMask(SIG_SETMASK, &old, nullptr); // a held signal's handler runs here, recorded
    return id;
}

void resetStacksAfterFork()
{
    // The depot's records are in the parent's trace: the child's stacks are stored anew.
    if (g_depot)
        munmap(g_depot, sizeof(DepotSlot) << kDepotBits);
    g_depot = nullptr;
    g_depotLock = SpinLock {};
    g_stackChunk = nullptr;
    g_stackChunkSeq = 0;
}

uint32_t siteStackSlow(ThreadState* t, uint64_t pc, uint32_t slot, uint64_t key)
{
    uint32_t id = captureStackOf(t);
    if (id == 0) { // unwinding failed: keep at least the site
        InRuntime guard(t);
        id = stackOfFrames(&pc, 1, 1);
    }
    // The id first, the key (what a lookup matches) last: a signal handler looking this site up
    // in between finds no entry rather than another site's stack.
    t->site_pc[slot] = 0;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->site_stack[slot] = id;
    __atomic_signal_fence(__ATOMIC_SEQ_CST);
    t->site_pc[slot] = key;
    return id;
}

} // namespace ravel::rt
