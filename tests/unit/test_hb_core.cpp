// The happens-before core of race detection (instrumentation/hb), driven directly: logical threads
// (HbThread) make accesses to real memory and synchronize through real addresses, as the runtime's
// hooks and interceptors do.
#include "hb.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

namespace hb = ravel::hb;

namespace {

class HbCore : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_TRUE(hb::init()); }
    void TearDown() override
    {
        for (auto& t : m_threads)
            hb::threadFree(t.get());
    }
    // A thread with the given slot, created by `creator` (or none).
    hb::HbThread* thread(uint32_t slot, hb::HbThread* creator = nullptr)
    {
        m_threads.push_back(std::make_unique<hb::HbThread>());
        std::memset(m_threads.back().get(), 0, sizeof(hb::HbThread));
        EXPECT_TRUE(hb::threadStart(m_threads.back().get(), slot, creator));
        return m_threads.back().get();
    }
    static uint64_t addr(const void* p) { return reinterpret_cast<uint64_t>(p); }
    bool write(hb::HbThread* t, const void* p, uint32_t size, uint64_t pc = 0x1000)
    {
        return hb::access(t, addr(p), size, true, false, pc, &race);
    }
    bool read(hb::HbThread* t, const void* p, uint32_t size, uint64_t pc = 0x2000)
    {
        return hb::access(t, addr(p), size, false, false, pc, &race);
    }
    hb::HbRace race {};
    std::vector<std::unique_ptr<hb::HbThread>> m_threads;
};

TEST_F(HbCore, UnorderedWritesOfOneWordRace)
{
    alignas(8) static int x;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &x, 4, 0x111));
    ASSERT_TRUE(write(b, &x, 4, 0x222));
    EXPECT_EQ(race.cur.slot, 2u);
    EXPECT_EQ(race.cur.pc, 0x222u);
    EXPECT_EQ(race.cur.addr, addr(&x));
    EXPECT_EQ(race.prev.slot, 1u);
    EXPECT_EQ(race.prev.pc, 0x111u);
    EXPECT_EQ(race.prev.addr, addr(&x));
    EXPECT_EQ(race.prev.size, 4u);
    EXPECT_TRUE(race.prev.write);
}

TEST_F(HbCore, ReadsNeverRaceWithReads)
{
    alignas(8) static long x;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(read(a, &x, 8));
    EXPECT_FALSE(read(b, &x, 8));
    EXPECT_TRUE(write(b, &x, 8)); // but a write after a's unordered read does
}

TEST_F(HbCore, LockReleaseThenAcquireOrdersAccesses)
{
    alignas(8) static int x;
    static int lock;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &x, 4));
    hb::release(a, addr(&lock));
    hb::acquire(b, addr(&lock));
    EXPECT_FALSE(write(b, &x, 4));
    // a's next write is not ordered after b's: a never acquired since
    EXPECT_TRUE(write(a, &x, 4));
}

TEST_F(HbCore, AcquireWithoutReleaseDoesNotOrder)
{
    alignas(8) static int x;
    static int lock;
    auto* a = thread(1);
    auto* b = thread(2);
    hb::acquire(b, addr(&lock)); // before a released anything
    EXPECT_FALSE(write(a, &x, 4));
    hb::release(a, addr(&lock));
    EXPECT_TRUE(write(b, &x, 4));
}

TEST_F(HbCore, DifferentBytesOfOneWordNeverRace)
{
    alignas(8) static char s[8];
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &s[0], 1));
    EXPECT_FALSE(write(b, &s[1], 1));
    EXPECT_FALSE(write(a, &s[2], 2));
    EXPECT_FALSE(write(b, &s[4], 4));
    // ... but a two-byte write over s[0..1] conflicts with both
    EXPECT_TRUE(write(b, &s[0], 2));
    EXPECT_EQ(race.prev.slot, 1u);
    EXPECT_EQ(race.prev.addr, addr(&s[0]));
    EXPECT_EQ(race.prev.size, 1u);
}

TEST_F(HbCore, UnalignedAccessChecksEveryGranuleItTouches)
{
    alignas(8) static char buf[24];
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &buf[4], 8)); // bytes 4..11: two granules
    ASSERT_TRUE(read(b, &buf[9], 1));
    EXPECT_EQ(race.prev.addr, addr(&buf[8]));
    EXPECT_EQ(race.prev.size, 4u);
    EXPECT_FALSE(read(b, &buf[12], 4)); // past a's write
}

TEST_F(HbCore, RangeAccessesLikeMemcpyAreChecked)
{
    alignas(8) static char buf[256];
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, buf, sizeof buf));
    EXPECT_TRUE(read(b, &buf[200], 1));
}

TEST_F(HbCore, AtomicsDoNotRaceWithAtomicsButWithPlainAccesses)
{
    alignas(8) static long x;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(hb::access(a, addr(&x), 8, true, true, 1, &race));
    EXPECT_FALSE(hb::access(b, addr(&x), 8, true, true, 2, &race));
    EXPECT_TRUE(read(b, &x, 8));
}

TEST_F(HbCore, RelaxedAtomicsDoNotSynchronize)
{
    alignas(8) static int data;
    alignas(8) static int flag;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &data, 4));
    hb::atomicBefore(a, addr(&flag), hb::Relaxed);
    hb::atomicAfter(b, addr(&flag), hb::Relaxed);
    EXPECT_TRUE(read(b, &data, 4));
}

TEST_F(HbCore, ReleaseStoreAndAcquireLoadSynchronize)
{
    alignas(8) static int data;
    alignas(8) static int flag;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &data, 4));
    hb::atomicBefore(a, addr(&flag), hb::Release);
    hb::atomicAfter(b, addr(&flag), hb::Acquire);
    EXPECT_FALSE(read(b, &data, 4));
}

TEST_F(HbCore, FencesMakeRelaxedAtomicsSynchronize)
{
    alignas(8) static int data;
    alignas(8) static int flag;
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &data, 4));
    hb::fence(a, hb::Release);
    hb::atomicBefore(a, addr(&flag), hb::Relaxed);
    hb::atomicAfter(b, addr(&flag), hb::Relaxed);
    hb::fence(b, hb::Acquire);
    EXPECT_FALSE(read(b, &data, 4));
}

TEST_F(HbCore, CreationOrdersTheCreatorsPastBeforeTheChild)
{
    alignas(8) static int x;
    auto* parent = thread(1);
    EXPECT_FALSE(write(parent, &x, 4));
    auto* child = thread(2, parent);
    EXPECT_FALSE(write(child, &x, 4));
    EXPECT_TRUE(write(parent, &x, 4)); // after the creation: unordered with the child
}

TEST_F(HbCore, JoinOrdersTheChildBeforeTheJoiner)
{
    alignas(8) static int x;
    static int threadEnd;
    auto* parent = thread(1);
    auto* child = thread(2, parent);
    EXPECT_FALSE(write(child, &x, 4));
    hb::release(child, addr(&threadEnd));
    hb::acquire(parent, addr(&threadEnd));
    EXPECT_FALSE(write(parent, &x, 4));
}

TEST_F(HbCore, FreedMemoryStartsClean)
{
    auto block = std::make_unique<long[]>(64);
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &block[3], 8));
    hb::resetRange(addr(block.get()), 64 * sizeof(long));
    EXPECT_FALSE(write(b, &block[3], 8));
    EXPECT_TRUE(write(a, &block[3], 8)); // the new owner's accesses count again
}

TEST_F(HbCore, LargeFreedRangesAreClearedToo)
{
    size_t n = 1 << 20;
    auto block = std::make_unique<char[]>(n);
    auto* a = thread(1);
    auto* b = thread(2);
    EXPECT_FALSE(write(a, &block[n / 2], 8));
    hb::resetRange(addr(block.get()), n);
    EXPECT_FALSE(write(b, &block[n / 2], 8));
}

TEST_F(HbCore, ManyThreadsGrowTheClocks)
{
    alignas(8) static int x;
    static int lock;
    hb::HbThread* prev = nullptr;
    for (uint32_t slot = 1; slot < 300; slot++) {
        auto* t = thread(slot);
        if (prev)
            hb::acquire(t, addr(&lock));
        EXPECT_FALSE(write(t, &x, 4)) << "slot " << slot;
        hb::release(t, addr(&lock));
        prev = t;
    }
}

TEST_F(HbCore, TwoThreadsRecordingOneGranuleAtOnceNeverMissEachOther)
{
    // Real threads, started together on fresh words: the one that records second must see the
    // first, however close together they come (a plain store of the cell let both see it empty).
    constexpr int kRounds = 2000;
    auto words = std::make_unique<uint64_t[]>(kRounds);
    auto* a = thread(1);
    auto* b = thread(2);
    std::atomic<int> go {0};
    int racedA = 0, racedB = 0;
    std::vector<char> seenA(kRounds), seenB(kRounds);
    auto run = [&](hb::HbThread* t, std::vector<char>& seen, int me) {
        hb::HbRace r {};
        for (int i = 0; i < kRounds; i++) {
            go.fetch_add(1);
            while (go.load() < 2 * (i + 1))
                std::this_thread::yield();
            seen[i] = hb::access(t, addr(&words[i]), 8, true, false, me, &r);
        }
    };
    std::thread ta(run, a, std::ref(seenA), 1);
    std::thread tb(run, b, std::ref(seenB), 2);
    ta.join();
    tb.join();
    int missed = 0;
    for (int i = 0; i < kRounds; i++) {
        racedA += seenA[i];
        racedB += seenB[i];
        missed += !seenA[i] && !seenB[i];
    }
    EXPECT_EQ(missed, 0) << "rounds where neither thread saw the other (A saw " << racedA << ", B " << racedB << ")";
}

TEST_F(HbCore, SlotsOutsideTheRangeAreRefused)
{
    hb::HbThread t {};
    EXPECT_FALSE(hb::threadStart(&t, 0, nullptr));
    EXPECT_FALSE(hb::threadStart(&t, hb::kMaxSlots, nullptr));
    alignas(8) static int x;
    EXPECT_FALSE(hb::access(&t, addr(&x), 4, true, false, 0, &race)); // not a checked thread
}

} // namespace
