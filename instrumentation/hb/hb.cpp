// The happens-before core (hb.hpp): clocks, the sync table and the shadow.
#include "hb.hpp"

#include <string.h>
#include <sys/mman.h>

namespace ravel::hb {

namespace {

struct Lock {
    int v = 0;
    void lock()
    {
        while (__atomic_exchange_n(&v, 1, __ATOMIC_ACQUIRE))
            while (__atomic_load_n(&v, __ATOMIC_RELAXED))
                __builtin_ia32_pause();
    }
    void unlock() { __atomic_store_n(&v, 0, __ATOMIC_RELEASE); }
};

void* mapNoReserve(size_t bytes)
{
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
}

// --- vector clock storage: power-of-two size classes of 8 .. kMaxSlots entries ---

constexpr int kClasses = 12; // 8 << 11 == kMaxSlots
static_assert((8u << (kClasses - 1)) == kMaxSlots);

struct FreeBlock {
    FreeBlock* next;
};
Lock g_arenaLock;
FreeBlock* g_free[kClasses];
uint8_t* g_bump;
uint8_t* g_bumpEnd;

int classOf(uint32_t n)
{
    int c = 0;
    while ((8u << c) < n)
        c++;
    return c;
}

uint32_t* allocEntries(int cls)
{
    size_t bytes = size_t(8u << cls) * sizeof(uint32_t);
    g_arenaLock.lock();
    uint32_t* p = nullptr;
    if (g_free[cls]) {
        FreeBlock* b = g_free[cls];
        g_free[cls] = b->next;
        p = reinterpret_cast<uint32_t*>(b);
        g_arenaLock.unlock();
        memset(p, 0, bytes);
        return p;
    }
    if (size_t(g_bumpEnd - g_bump) < bytes) {
        size_t chunk = bytes > (1u << 20) ? bytes : (1u << 20);
        auto* m = static_cast<uint8_t*>(mapNoReserve(chunk));
        if (!m) {
            g_arenaLock.unlock();
            return nullptr;
        }
        g_bump = m; // the rest of the old chunk is abandoned: at most one class's block
        g_bumpEnd = m + chunk;
    }
    p = reinterpret_cast<uint32_t*>(g_bump); // fresh mmap memory is zero
    g_bump += bytes;
    g_arenaLock.unlock();
    return p;
}

void freeEntries(uint32_t* p, uint32_t cap)
{
    if (!p)
        return;
    int cls = classOf(cap);
    g_arenaLock.lock();
    auto* b = reinterpret_cast<FreeBlock*>(p);
    b->next = g_free[cls];
    g_free[cls] = b;
    g_arenaLock.unlock();
}

// --- the sync table: address -> vector clock ---

constexpr int kSyncBits = 20;
constexpr uint32_t kSyncProbe = 64;

struct SyncVar {
    uint64_t key; // 0: empty
    Lock lock;
    uint32_t pad;
    VectorClock vc;
};
SyncVar* g_sync;

uint32_t syncHash(uint64_t key) { return static_cast<uint32_t>((key * 0x9E3779B97F4A7C15ull) >> (64 - kSyncBits)); }

// The sync object of key, created when `create`; null when absent (or the table is full around it).
SyncVar* findSync(uint64_t key, bool create)
{
    uint32_t mask = (1u << kSyncBits) - 1;
    uint32_t h = syncHash(key);
    for (uint32_t i = 0; i < kSyncProbe; i++) {
        SyncVar* s = &g_sync[(h + i) & mask];
        uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (k == key)
            return s;
        if (k == 0) {
            if (!create)
                return nullptr;
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&s->key, &expected, key, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
                || expected == key)
                return s;
        }
    }
    return nullptr;
}

} // namespace

bool vcReserve(VectorClock* vc, uint32_t n)
{
    if (n <= vc->n)
        return true;
    if (n > kMaxSlots)
        return false;
    if (n > vc->cap) {
        int cls = classOf(n);
        uint32_t* p = allocEntries(cls);
        if (!p)
            return false;
        if (vc->n)
            memcpy(p, vc->v, vc->n * sizeof(uint32_t));
        freeEntries(vc->v, vc->cap);
        vc->v = p;
        vc->cap = 8u << cls;
    } else {
        memset(vc->v + vc->n, 0, (n - vc->n) * sizeof(uint32_t));
    }
    vc->n = n;
    return true;
}

bool vcJoin(VectorClock* into, const VectorClock& from)
{
    if (!vcReserve(into, from.n))
        return false;
    uint32_t* d = into->v;
    const uint32_t* s = from.v;
    for (uint32_t i = 0; i < from.n; i++)
        d[i] = d[i] > s[i] ? d[i] : s[i];
    return true;
}

bool vcAssign(VectorClock* into, const VectorClock& from)
{
    if (!vcReserve(into, from.n))
        return false;
    memcpy(into->v, from.v, from.n * sizeof(uint32_t));
    if (into->n > from.n)
        memset(into->v + from.n, 0, (into->n - from.n) * sizeof(uint32_t));
    return true;
}

void vcFree(VectorClock* vc)
{
    freeEntries(vc->v, vc->cap);
    *vc = VectorClock {};
}

Granule** g_dir;
bool g_ready;

Granule* regionSlow(uint64_t addr)
{
    Granule** slot = &g_dir[addr >> kRegionBits];
    auto* fresh = static_cast<Granule*>(mapNoReserve(kRegionShadowBytes));
    if (!fresh)
        return nullptr;
    Granule* expected = nullptr;
    if (__atomic_compare_exchange_n(slot, &expected, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return fresh;
    munmap(fresh, kRegionShadowBytes); // another thread installed one first
    return expected;
}

bool init()
{
    if (g_ready)
        return true;
    g_dir = static_cast<Granule**>(mapNoReserve(kRegions * sizeof(Granule*)));
    g_sync = static_cast<SyncVar*>(mapNoReserve((size_t(1) << kSyncBits) * sizeof(SyncVar)));
    if (!g_dir || !g_sync)
        return false;
    g_ready = true;
    return true;
}

bool ready() { return g_ready; }

bool threadStart(HbThread* t, uint32_t slot, HbThread* creator)
{
    if (slot == 0 || slot >= kMaxSlots || !vcReserve(&t->vc, slot + 1))
        return false;
    if (creator && creator->slot) {
        vcJoin(&t->vc, creator->vc);
        bumpEpoch(creator);
    }
    if (t->vc.v[slot] == 0)
        t->vc.v[slot] = 1;
    t->slot = slot;
    t->epochBits = (uint64_t(slot) << 10) | (uint64_t(t->vc.v[slot]) << 24);
    return true;
}

void threadFree(HbThread* t)
{
    vcFree(&t->vc);
    vcFree(&t->fenceRelease);
    vcFree(&t->fenceAcquire);
    t->slot = 0;
}

bool accessRange(HbThread* t, uint64_t addr, uint32_t size, bool write, bool atomic, uint64_t pc, HbRace* race)
{
    if (!t->slot || size == 0 || addr >= (1ull << kAddrBits) || addr + size > (1ull << kAddrBits))
        return false;
    uint64_t end = addr + size;
    bool raced = false;
    for (uint64_t g = addr & ~7ull; g < end; g += 8) {
        Granule* r = region(g, true);
        if (!r)
            return raced;
        uint64_t lo = addr > g ? addr - g : 0;
        uint64_t hi = end - g < 8 ? end - g : 8;
        uint32_t mask = static_cast<uint32_t>(((1u << hi) - 1) & ~((1u << lo) - 1));
        Granule* gr = &r[(g >> 3) & (kGranulesPerRegion - 1)];
        if (checkGranule(t, gr, g, mask, write, atomic, pc, race, raced))
            raced = true;
    }
    if (raced) {
        race->cur.addr = addr;
        race->cur.size = size;
        race->cur.write = write;
        race->cur.atomic = atomic;
        race->cur.slot = t->slot;
        race->cur.pc = pc;
    }
    return raced;
}

void release(HbThread* t, uint64_t obj)
{
    if (!t->slot)
        return;
    if (SyncVar* s = findSync(obj, true)) {
        s->lock.lock();
        vcJoin(&s->vc, t->vc);
        s->lock.unlock();
    }
    bumpEpoch(t);
}

void acquire(HbThread* t, uint64_t obj)
{
    if (!t->slot)
        return;
    if (SyncVar* s = findSync(obj, false)) {
        s->lock.lock();
        vcJoin(&t->vc, s->vc);
        s->lock.unlock();
    }
}

void atomicBefore(HbThread* t, uint64_t obj, uint32_t order)
{
    if (!t->slot)
        return;
    if (ordersRelease(order)) {
        release(t, obj);
    } else if (t->hasFenceRelease) {
        // A relaxed store after a release fence releases what the thread knew at the fence.
        if (SyncVar* s = findSync(obj, true)) {
            s->lock.lock();
            vcJoin(&s->vc, t->fenceRelease);
            s->lock.unlock();
        }
    }
}

void atomicAfter(HbThread* t, uint64_t obj, uint32_t order)
{
    if (!t->slot)
        return;
    if (ordersAcquire(order)) {
        acquire(t, obj);
        return;
    }
    // A relaxed load: what it read from becomes the thread's at its next acquire fence.
    if (SyncVar* s = findSync(obj, false)) {
        s->lock.lock();
        vcJoin(&t->fenceAcquire, s->vc);
        s->lock.unlock();
    }
}

void fence(HbThread* t, uint32_t order)
{
    if (!t->slot)
        return;
    if (ordersAcquire(order) && t->fenceAcquire.n)
        vcJoin(&t->vc, t->fenceAcquire);
    if (ordersRelease(order)) {
        vcAssign(&t->fenceRelease, t->vc);
        t->hasFenceRelease = true;
        bumpEpoch(t);
    }
}

void resetRange(uint64_t addr, uint64_t size)
{
    if (!g_ready || size == 0 || addr >= (1ull << kAddrBits))
        return;
    uint64_t end = addr + size < (1ull << kAddrBits) ? addr + size : (1ull << kAddrBits);
    // Whole granules only: a granule shared with a live neighbour keeps its cells (their masks
    // name other bytes, or the freed bytes are reallocated to the same owner).
    uint64_t g = (addr + 7) & ~7ull;
    uint64_t gEnd = end & ~7ull;
    while (g < gEnd) {
        uint64_t regionEnd = (g | ((1ull << kRegionBits) - 1)) + 1;
        uint64_t stop = gEnd < regionEnd ? gEnd : regionEnd;
        if (Granule* r = region(g, false)) {
            auto* from = reinterpret_cast<uint8_t*>(&r[(g >> 3) & (kGranulesPerRegion - 1)]);
            size_t bytes = (stop - g) / 8 * sizeof(Granule); // the cells; their pcs need no clearing
            if (bytes >= (64u << 10)) {
                // Large: give the pages back (they read as zeros again), clear the edges.
                auto lo = (reinterpret_cast<uint64_t>(from) + 4095) & ~4095ull;
                auto hi = (reinterpret_cast<uint64_t>(from) + bytes) & ~4095ull;
                memset(from, 0, lo - reinterpret_cast<uint64_t>(from));
                madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
                memset(reinterpret_cast<void*>(hi), 0, reinterpret_cast<uint64_t>(from) + bytes - hi);
            } else {
                memset(from, 0, bytes);
            }
        }
        g = stop;
    }
}

} // namespace ravel::hb
