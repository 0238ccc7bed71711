// The shadow's layout and the inline fast path of hb::access (hb.hpp): an access within one
// 8-byte granule is checked without a call. Included by hb.hpp only.
#pragma once

namespace ravel::hb {


constexpr int kRegionBits = 22; // 4 MiB of application memory per second-level block
constexpr int kAddrBits = 47;
constexpr uint64_t kRegions = 1ull << (kAddrBits - kRegionBits);
constexpr uint64_t kGranulesPerRegion = 1ull << (kRegionBits - 3);

// A region's shadow: the granules' cells, then the cells' pcs, in the same order. The pcs are read
// only to report a race, so the common access (checked, nothing to store) touches 16 bytes.
struct Granule {
    uint64_t meta[kCellsPerGranule]; // 0: empty; mask 0..7 | write 8 | atomic 9 | slot 10..23 | epoch 24..55
};
constexpr size_t kPcWordsAhead = kGranulesPerRegion * kCellsPerGranule;
constexpr size_t kRegionShadowBytes = 2 * kGranulesPerRegion * sizeof(Granule);
inline uint64_t* pcOf(Granule* gr, int cell) { return &gr->meta[cell] + kPcWordsAhead; }

extern Granule** g_dir;
Granule* regionSlow(uint64_t addr); // maps the region's shadow on its first access

inline Granule* region(uint64_t addr, bool create)
{
    Granule* r = __atomic_load_n(&g_dir[addr >> kRegionBits], __ATOMIC_ACQUIRE);
    if (__builtin_expect(r != nullptr, 1) || !create)
        return r;
    return regionSlow(addr);
}

constexpr uint64_t kMaskBits = 0xff;
constexpr uint64_t kWriteBit = 1ull << 8;
constexpr uint64_t kAtomicBit = 1ull << 9;
inline uint32_t cellSlot(uint64_t m) { return static_cast<uint32_t>(m >> 10) & (kMaxSlots - 1); }
inline uint32_t cellEpoch(uint64_t m) { return static_cast<uint32_t>(m >> 24); }

inline void fillAccess(HbAccess* a, uint64_t granule, uint64_t meta, uint64_t pc)
{
    uint32_t mask = static_cast<uint32_t>(meta & kMaskBits);
    a->addr = granule + static_cast<uint32_t>(__builtin_ctz(mask));
    a->size = static_cast<uint32_t>(__builtin_popcount(mask));
    a->write = meta & kWriteBit;
    a->atomic = meta & kAtomicBit;
    a->slot = cellSlot(meta);
    a->pc = pc;
}

// One granule: check the access against its cells, then record it.
__attribute__((always_inline)) inline bool checkGranule(HbThread* t, Granule* gr, uint64_t granule, uint32_t mask, bool write, bool atomic, uint64_t pc,
                  HbRace* race, bool reported)
{
    uint64_t sameEpoch = t->epochBits;
    uint64_t mine = mask | (write ? kWriteBit : 0) | (atomic ? kAtomicBit : 0) | sameEpoch;
    bool raced = false;
    // This thread made the same or a stronger access of these bytes in this epoch (no
    // synchronization since): whatever races with this one raced with that one, which was checked.
    for (int i = 0; i < kCellsPerGranule; i++) {
        uint64_t m = __atomic_load_n(&gr->meta[i], __ATOMIC_RELAXED);
        if ((m & ~(kMaskBits | kWriteBit | kAtomicBit)) == sameEpoch && (m & mask) == mask
            && ((m & kWriteBit) || !write) && ((m & kAtomicBit) == (atomic ? kAtomicBit : 0)))
            return false;
    }
    // Two threads recording into the granule at once must not both see it as it was and then
    // overwrite each other (each would miss the other's access): the cell is replaced by a
    // compare-exchange against what the check saw, and the check runs again when it lost.
    for (int attempt = 0;; attempt++) {
        int store = -1;
        int storeRank = 0; // 3 empty, 2 same thread covered, 1 ordered
        uint64_t seen[kCellsPerGranule];
        for (int i = 0; i < kCellsPerGranule; i++) {
            uint64_t m = __atomic_load_n(&gr->meta[i], __ATOMIC_RELAXED);
            seen[i] = m;
            if (m == 0) {
                if (storeRank < 3)
                    store = i, storeRank = 3;
                continue;
            }
            uint32_t theirMask = static_cast<uint32_t>(m & kMaskBits);
            bool theirWrite = m & kWriteBit;
            uint32_t s = cellSlot(m);
            if (s == t->slot) {
                // An earlier access of this thread, covered by this one and no stronger: replace it.
                if ((theirMask & ~mask) == 0 && (write || !theirWrite) && storeRank < 2)
                    store = i, storeRank = 2;
                continue;
            }
            if (!(theirMask & mask))
                continue; // other bytes of the word
            if (!theirWrite && !write)
                continue;
            if ((m & kAtomicBit) && atomic)
                continue;
            if (cellEpoch(m) <= t->vc.get(s)) {
                // Ordered before us. A write stays unless this access is a write too: a read that
                // replaced it would hide the write from a third thread.
                if ((write || !theirWrite) && storeRank < 1)
                    store = i, storeRank = 1;
                continue;
            }
            if (!raced && !reported) {
                fillAccess(&race->prev, granule, m, __atomic_load_n(pcOf(gr, i), __ATOMIC_RELAXED));
                raced = true;
            }
        }
        if (store < 0)
            store = static_cast<int>((granule >> 3) ^ (sameEpoch >> 24)) & (kCellsPerGranule - 1);
        __atomic_store_n(pcOf(gr, store), pc, __ATOMIC_RELAXED);
        uint64_t expected = seen[store];
        if (__atomic_compare_exchange_n(&gr->meta[store], &expected, mine, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)
            || attempt == 3)
            break;
    }
    return raced;
}


__attribute__((always_inline)) inline bool access(HbThread* t, uint64_t addr, uint32_t size, bool write, bool atomic, uint64_t pc, HbRace* race)
{
    uint64_t end = addr + size;
    if (__builtin_expect(!t->slot || size == 0 || size > 8 || end > (1ull << kAddrBits) || ((addr ^ (end - 1)) & ~7ull), 0))
        return accessRange(t, addr, size, write, atomic, pc, race);
    {
        // Within one granule: the common case of every aligned access.
        uint64_t g = addr & ~7ull;
        Granule* r = region(g, true);
        if (!r)
            return false;
        uint32_t mask = ((1u << size) - 1) << (addr & 7);
        if (!checkGranule(t, &r[(g >> 3) & (kGranulesPerRegion - 1)], g, mask, write, atomic, pc, race, false))
            return false;
        race->cur = HbAccess {addr, size, write, atomic, t->slot, pc};
        return true;
    }
}

// The hot path of every hook: an access within one granule that this thread already made (or
// made stronger) in this epoch changes nothing and cannot race anew. No call, few registers;
// false sends the caller to access().
__attribute__((always_inline)) inline bool alreadyRecorded(const HbThread* t, uint64_t addr, uint32_t size, bool write,
                                                           bool atomic)
{
    uint64_t end = addr + size;
    if (__builtin_expect(((addr ^ (end - 1)) & ~7ull) != 0 || end > (1ull << kAddrBits), 0))
        return false;
    Granule* r = __atomic_load_n(&g_dir[addr >> kRegionBits], __ATOMIC_ACQUIRE);
    if (__builtin_expect(!r, 0))
        return false;
    const Granule* gr = &r[(addr >> 3) & (kGranulesPerRegion - 1)];
    uint64_t mask = ((1u << size) - 1) << (addr & 7);
    uint64_t want = t->epochBits | (write ? kWriteBit : 0) | (atomic ? kAtomicBit : 0);
    for (int i = 0; i < kCellsPerGranule; i++) {
        uint64_t m = __atomic_load_n(&gr->meta[i], __ATOMIC_RELAXED);
        // same thread and epoch, same atomicity, at least as strong (a write covers a read), covers the bytes
        if ((m & ~(kMaskBits | kWriteBit)) == (want & ~(kMaskBits | kWriteBit)) && (m & mask) == mask
            && (m & kWriteBit) >= (want & kWriteBit))
            return true;
    }
    return false;
}

} // namespace ravel::hb
