// TraceStats on synthetic event streams: the exact counts and times `ravel info` prints, and the
// object identity rules (address + generation) of docs/trace-format.md ("Object identity").
#include "model/objects.hpp"
#include "trace_builder.hpp"
#include "trace/trace_reader.hpp"
#include "model/trace_stats.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <unistd.h>

namespace {

using namespace ravel;

constexpr uint64_t kA = 0x55d0c0de4040; // a global mutex
constexpr uint64_t kB = 0x55d0c0de4080;
constexpr uint64_t kCond = 0x55d0c0de4100;
constexpr uint64_t kSem = 0x55d0c0de4200;

// Builds an event stream the way the runtime writes it (see docs/trace-format.md).
struct Stream {
    std::vector<ThreadInfo> threads;
    std::vector<Event> events;

    Stream()
    {
        for (uint32_t id = 1; id <= 3; ++id) {
            ThreadInfo t;
            t.id = id;
            t.os_tid = 1000 + id;
            t.pid = 1000;
            t.name = id == 1 ? "main" : "worker";
            t.stack_lo = 0x7f0000000000 + id * 0x100000;
            t.stack_hi = t.stack_lo + 0x100000;
            threads.push_back(t);
        }
    }

    Stream& add(uint64_t ns, uint32_t thread, unsigned kind, uint64_t obj, unsigned flags, uint32_t aux = 0)
    {
        Event e;
        e.time_ns = ns;
        e.thread = thread;
        e.kind = uint8_t(kind);
        e.obj = obj;
        e.flags = uint8_t(flags);
        e.aux = aux;
        e.stack = 1;
        events.push_back(e);
        return *this;
    }

    TraceStats run(uint64_t endNs = 0) const
    {
        StatsCollector c(threads);
        for (const Event& e : events)
            c.onEvent(e);
        return c.finish(endNs);
    }
};

constexpr unsigned M = RAVEL_OBJ_MUTEX;

TEST(TraceStats, CountsUncontendedAcquisitionsAndHolds)
{
    Stream s;
    for (uint64_t i = 0; i < 10; ++i)
        s.add(i * 100, 1, RAVEL_EV_ACQUIRED, kA, M, uint32_t(i)).add(i * 100 + 30, 1, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 1u);
    const ObjectStats& o = st.objects[0];
    EXPECT_EQ(o.object.kind, M);
    EXPECT_EQ(o.object.address, kA);
    EXPECT_EQ(o.acquisitions, 10u);
    EXPECT_EQ(o.contended, 0u);
    EXPECT_EQ(o.holdNsTotal, 300u);
    EXPECT_EQ(o.holdNsMax, 30u);
    EXPECT_EQ(o.waitNsTotal, 0u);
    EXPECT_EQ(st.events, 20u);
    EXPECT_EQ(st.eventsByKind[RAVEL_EV_ACQUIRED], 10u);
    EXPECT_EQ(st.threads[0].events, 20u);
}

TEST(TraceStats, MeasuresContendedWaitPerThread)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(10, 2, RAVEL_EV_ACQ_REQ, kA, M)
        .add(20, 3, RAVEL_EV_ACQ_REQ, kA, M)
        .add(100, 1, RAVEL_EV_RELEASE, kA, M)
        .add(110, 2, RAVEL_EV_ACQUIRED, kA, M | RAVEL_F_CONTENDED)
        .add(150, 2, RAVEL_EV_RELEASE, kA, M)
        .add(160, 3, RAVEL_EV_ACQUIRED, kA, M | RAVEL_F_CONTENDED)
        .add(170, 3, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    const ObjectStats& o = st.objects.at(0);
    EXPECT_EQ(o.acquisitions, 3u);
    EXPECT_EQ(o.contended, 2u);
    EXPECT_EQ(o.waitNsTotal, 100u + 140u);
    EXPECT_EQ(o.waitNsMax, 140u);
    EXPECT_EQ(o.holdNsTotal, 100u + 40u + 10u);
    EXPECT_EQ(o.holdNsMax, 100u);
    EXPECT_EQ(st.threads[1].waitNsTotal, 100u);
    EXPECT_EQ(st.threads[2].waitNsTotal, 140u);
}

TEST(TraceStats, RecursiveHoldEndsAtOutermostRelease)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(10, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(20, 1, RAVEL_EV_RELEASE, kA, M)
        .add(50, 1, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    const ObjectStats& o = st.objects.at(0);
    EXPECT_EQ(o.acquisitions, 2u);
    EXPECT_EQ(o.holdNsTotal, 50u);
    EXPECT_EQ(o.holdNsMax, 50u);
}

TEST(TraceStats, SharedHoldsAreCountedPerThread)
{
    constexpr unsigned R = RAVEL_OBJ_RWLOCK;
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, R | RAVEL_F_SHARED)
        .add(10, 2, RAVEL_EV_ACQUIRED, kA, R | RAVEL_F_SHARED)
        .add(15, 3, RAVEL_EV_ACQ_REQ, kA, R)
        .add(40, 1, RAVEL_EV_RELEASE, kA, R)
        .add(70, 2, RAVEL_EV_RELEASE, kA, R)
        .add(75, 3, RAVEL_EV_ACQUIRED, kA, R | RAVEL_F_CONTENDED)
        .add(80, 3, RAVEL_EV_RELEASE, kA, R);
    TraceStats st = s.run();
    const ObjectStats& o = st.objects.at(0);
    EXPECT_EQ(o.acquisitions, 3u);
    EXPECT_EQ(o.sharedAcquisitions, 2u);
    EXPECT_EQ(o.holdNsTotal, 40u + 60u + 5u);
    EXPECT_EQ(o.holdNsMax, 60u);
    EXPECT_EQ(o.waitNsTotal, 60u);
}

TEST(TraceStats, CountsFailedTriesAndTimedOutLocks)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(5, 2, RAVEL_EV_ACQ_FAIL, kA, M | RAVEL_F_TRY, EBUSY)
        .add(10, 2, RAVEL_EV_ACQ_REQ, kA, M | RAVEL_F_TIMED)
        .add(60, 2, RAVEL_EV_ACQ_FAIL, kA, M | RAVEL_F_TIMED, ETIMEDOUT)
        .add(70, 1, RAVEL_EV_RELEASE, kA, M)
        .add(80, 2, RAVEL_EV_ACQUIRED, kA, M | RAVEL_F_TRY)
        .add(90, 2, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    const ObjectStats& o = st.objects.at(0);
    EXPECT_EQ(o.failed, 2u);
    EXPECT_EQ(o.acquisitions, 2u);
    EXPECT_EQ(o.tryAcquisitions, 1u);
    EXPECT_EQ(o.waitNsTotal, 50u);
}

TEST(TraceStats, ConditionVariableWaitReleasesAndReacquiresTheMutex)
{
    constexpr unsigned C = RAVEL_OBJ_COND;
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(10, 1, RAVEL_EV_WAIT_REQ, kCond, C)
        .add(11, 1, RAVEL_EV_RELEASE, kA, M)
        .add(20, 2, RAVEL_EV_ACQUIRED, kA, M)
        .add(30, 2, RAVEL_EV_SIGNAL, kCond, C)
        .add(40, 2, RAVEL_EV_RELEASE, kA, M)
        .add(50, 1, RAVEL_EV_WOKEN, kCond, C)
        .add(50, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(60, 1, RAVEL_EV_RELEASE, kA, M)
        .add(70, 1, RAVEL_EV_BROADCAST, kCond, C);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 2u);
    const ObjectStats& mutex = st.objects[0];
    const ObjectStats& cond = st.objects[1];
    EXPECT_EQ(cond.object.kind, C);
    EXPECT_EQ(cond.waits, 1u);
    EXPECT_EQ(cond.signals, 1u);
    EXPECT_EQ(cond.broadcasts, 1u);
    EXPECT_EQ(cond.waitNsTotal, 40u);
    EXPECT_EQ(mutex.acquisitions, 3u);
    EXPECT_EQ(mutex.holdNsTotal, 11u + 20u + 10u);
}

TEST(TraceStats, SemaphorePostsWaitsAndTimeouts)
{
    constexpr unsigned S = RAVEL_OBJ_SEM;
    Stream s;
    s.add(0, 1, RAVEL_EV_WAIT_REQ, kSem, S)
        .add(100, 2, RAVEL_EV_SIGNAL, kSem, S)
        .add(120, 1, RAVEL_EV_WOKEN, kSem, S)
        .add(130, 2, RAVEL_EV_PASS, kSem, S | RAVEL_F_TRY)
        .add(140, 2, RAVEL_EV_WAIT_REQ, kSem, S | RAVEL_F_TIMED)
        .add(200, 2, RAVEL_EV_WAIT_FAIL, kSem, S | RAVEL_F_TIMED, ETIMEDOUT);
    TraceStats st = s.run();
    const ObjectStats& o = st.objects.at(0);
    EXPECT_EQ(o.signals, 1u);
    EXPECT_EQ(o.waits, 2u);
    EXPECT_EQ(o.passes, 1u);
    EXPECT_EQ(o.waitTimeouts, 1u);
    EXPECT_EQ(o.waitNsTotal, 120u + 60u);
    EXPECT_EQ(o.waitNsMax, 120u);
}

TEST(TraceStats, WaitStillOpenAtEndCountsUntilTheEnd)
{
    // T2 holds B and wants A, T1 holds A and wants B: the trace ends in the deadlock.
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(5, 2, RAVEL_EV_ACQUIRED, kB, M)
        .add(10, 1, RAVEL_EV_ACQ_REQ, kB, M)
        .add(20, 2, RAVEL_EV_ACQ_REQ, kA, M);
    TraceStats st = s.run(1000);
    EXPECT_EQ(st.endNs, 1000u);
    const ObjectStats& a = st.objects.at(0);
    const ObjectStats& b = st.objects.at(1);
    EXPECT_EQ(a.blockedAtEnd, 1u);
    EXPECT_EQ(a.heldAtEnd, 1u);
    EXPECT_EQ(a.waitNsTotal, 980u);
    EXPECT_EQ(b.waitNsTotal, 990u);
    EXPECT_EQ(a.holdNsTotal, 1000u);
    EXPECT_EQ(st.threads[0].blockedOn, 1u); // T1 waits for B, object index 1
    EXPECT_EQ(st.threads[1].blockedOn, 0u);
    EXPECT_EQ(st.threads[0].holdingAtEnd, 1u);
    EXPECT_EQ(st.threads[2].blockedOn, kNoObject);
}

TEST(TraceStats, FreeStartsANewGeneration)
{
    uint64_t heap = 0x5600000010a0;
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, heap, M)
        .add(10, 1, RAVEL_EV_RELEASE, heap, M)
        .add(20, 1, RAVEL_EV_FREE, heap - 0x10, 0, 0x40)
        .add(30, 2, RAVEL_EV_ACQUIRED, heap, M)
        .add(40, 2, RAVEL_EV_RELEASE, heap, M)
        .add(50, 2, RAVEL_EV_ACQUIRED, heap, M)
        .add(60, 2, RAVEL_EV_RELEASE, heap, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 2u);
    EXPECT_EQ(st.objects[0].object.generation, 0u);
    EXPECT_EQ(st.objects[0].acquisitions, 1u);
    EXPECT_EQ(st.objects[1].object.generation, 1u);
    EXPECT_EQ(st.objects[1].object.address, heap);
    EXPECT_EQ(st.objects[1].acquisitions, 2u);
    EXPECT_EQ(st.objects[1].object.firstThread, 2u);
}

TEST(TraceStats, FreeElsewhereKeepsTheObject)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(10, 1, RAVEL_EV_RELEASE, kA, M)
        .add(20, 1, RAVEL_EV_FREE, kA + 40, 0, 0x40) // starts right after the mutex
        .add(30, 1, RAVEL_EV_FREE, kA - 0x40, 0, 0x40) // ends right before it
        .add(40, 1, RAVEL_EV_ACQUIRED, kA, M);
    EXPECT_EQ(s.run().objects.size(), 1u);
}

TEST(TraceStats, InitAndDestroyBoundGenerations)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_INIT, kA, M)
        .add(10, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(20, 1, RAVEL_EV_RELEASE, kA, M)
        .add(30, 1, RAVEL_EV_DESTROY, kA, M)
        .add(40, 1, RAVEL_EV_ACQUIRED, kA, M) // used after destroy without init: still a new object
        .add(50, 1, RAVEL_EV_RELEASE, kA, M)
        .add(60, 1, RAVEL_EV_INIT, kA, M)
        .add(70, 1, RAVEL_EV_ACQUIRED, kA, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 3u);
    EXPECT_EQ(st.objects[0].events, 4u);
    EXPECT_EQ(st.objects[1].events, 2u);
    EXPECT_EQ(st.objects[2].events, 2u);
    EXPECT_EQ(st.objects[2].object.generation, 2u);
}

TEST(TraceStats, ThreadExitRetiresObjectsOnItsStack)
{
    Stream s;
    uint64_t onStack = s.threads[1].stack_lo + 0x800;
    s.add(0, 2, RAVEL_EV_ACQUIRED, onStack, M)
        .add(10, 2, RAVEL_EV_RELEASE, onStack, M)
        .add(20, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(30, 2, RAVEL_EV_THREAD_EXIT, 0x7f00deadb000, 0)
        .add(40, 3, RAVEL_EV_ACQUIRED, onStack, M) // T3 reuses the memory later
        .add(50, 1, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 3u);
    EXPECT_EQ(st.objects[2].object.address, onStack);
    EXPECT_EQ(st.objects[2].object.generation, 1u);
    EXPECT_EQ(st.objects[1].acquisitions, 1u); // kA, on no stack, is untouched
    EXPECT_EQ(st.objects[1].holdNsTotal, 30u);
}

TEST(TraceStats, AddressReusedAsAnotherKindIsANewObject)
{
    Stream s;
    s.add(0, 1, RAVEL_EV_ACQUIRED, kA, M)
        .add(10, 1, RAVEL_EV_RELEASE, kA, M)
        .add(20, 1, RAVEL_EV_SIGNAL, kA, RAVEL_OBJ_COND);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 2u);
    EXPECT_EQ(st.objects[1].object.kind, RAVEL_OBJ_COND);
}

TEST(TraceStats, JoinIsAWaitOnTheThread)
{
    uint64_t pthread = 0x7f00deadb6c0;
    Stream s;
    s.add(0, 1, RAVEL_EV_THREAD_CREATE, pthread, RAVEL_OBJ_THREAD, 2)
        .add(10, 1, RAVEL_EV_JOIN_REQ, pthread, RAVEL_OBJ_THREAD, 2)
        .add(500, 1, RAVEL_EV_JOIN_DONE, pthread, RAVEL_OBJ_THREAD, 0)
        .add(600, 1, RAVEL_EV_THREAD_CREATE, pthread, RAVEL_OBJ_THREAD, 3) // pthread_t reused
        .add(610, 1, RAVEL_EV_JOIN_REQ, pthread, RAVEL_OBJ_THREAD, 3)
        .add(620, 1, RAVEL_EV_JOIN_DONE, pthread, RAVEL_OBJ_THREAD, 0);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 2u);
    EXPECT_EQ(st.objects[0].object.kind, RAVEL_OBJ_THREAD);
    EXPECT_EQ(st.objects[0].object.threadId, 2u);
    EXPECT_EQ(st.objects[0].waitNsTotal, 490u);
    EXPECT_EQ(st.objects[1].object.threadId, 3u);
    EXPECT_EQ(st.threads[0].waitNsTotal, 500u);
}

TEST(TraceStats, JoinAfterTheThreadExitedIsTheSameThread)
{
    // glibc puts the thread descriptor (the pthread_t) at the top of the thread's own stack, so
    // the exit of the thread must not retire the object a later join refers to.
    Stream s;
    uint64_t pthread = s.threads[1].stack_hi - 0x900;
    s.add(0, 1, RAVEL_EV_THREAD_CREATE, 0, RAVEL_OBJ_THREAD, 2)
        .add(5, 2, RAVEL_EV_THREAD_START, pthread, 0, 1)
        .add(10, 1, RAVEL_EV_JOIN_REQ, pthread, RAVEL_OBJ_THREAD, 0)
        .add(300, 2, RAVEL_EV_THREAD_EXIT, pthread, 0)
        .add(310, 1, RAVEL_EV_JOIN_DONE, pthread, RAVEL_OBJ_THREAD, 0)
        .add(400, 3, RAVEL_EV_THREAD_START, pthread, 0, 1) // the descriptor is reused
        .add(410, 1, RAVEL_EV_JOIN_REQ, pthread, RAVEL_OBJ_THREAD, 0)
        .add(420, 1, RAVEL_EV_JOIN_DONE, pthread, RAVEL_OBJ_THREAD, 0);
    TraceStats st = s.run(1000);
    ASSERT_EQ(st.objects.size(), 2u);
    EXPECT_EQ(st.objects[0].object.threadId, 2u);
    EXPECT_EQ(st.objects[0].waitNsTotal, 300u);
    EXPECT_EQ(st.objects[0].blockedAtEnd, 0u);
    EXPECT_EQ(st.objects[1].object.threadId, 3u);
    EXPECT_EQ(st.objects[1].object.generation, 1u);
    EXPECT_EQ(st.threads[0].blockedOn, kNoObject);
}

TEST(TraceStats, JoinRequestedBeforeTheThreadStarted)
{
    uint64_t pthread = 0x7f00deadb6c0;
    Stream s;
    s.add(0, 1, RAVEL_EV_THREAD_CREATE, 0, RAVEL_OBJ_THREAD, 2)
        .add(10, 1, RAVEL_EV_JOIN_REQ, pthread, RAVEL_OBJ_THREAD, 0)
        .add(20, 2, RAVEL_EV_THREAD_START, pthread, 0, 1)
        .add(30, 2, RAVEL_EV_THREAD_EXIT, pthread, 0)
        .add(40, 1, RAVEL_EV_JOIN_DONE, pthread, RAVEL_OBJ_THREAD, 0);
    TraceStats st = s.run();
    ASSERT_EQ(st.objects.size(), 1u);
    EXPECT_EQ(st.objects[0].object.threadId, 2u);
    EXPECT_EQ(st.objects[0].waitNsTotal, 30u);
}

TEST(TraceStats, CountsThreadsTheTableDoesNotKnow)
{
    Stream s;
    s.add(0, 7, RAVEL_EV_ACQUIRED, kA, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.threads.size(), 4u);
    EXPECT_EQ(st.threads[3].id, 7u);
    EXPECT_EQ(st.threads[3].events, 1u);
}

TEST(TraceStats, HugeThreadIdFromADamagedTraceDoesNotExplode)
{
    Stream s;
    s.add(0, 0xfffffff0u, RAVEL_EV_ACQUIRED, kA, M).add(10, 0xfffffff0u, RAVEL_EV_RELEASE, kA, M);
    TraceStats st = s.run();
    ASSERT_EQ(st.threads.size(), 4u);
    EXPECT_EQ(st.threads[3].id, 0xfffffff0u);
    EXPECT_EQ(st.threads[3].events, 2u);
    EXPECT_EQ(st.objects.at(0).holdNsTotal, 10u);
}

TEST(TraceStats, FormatsDurationsWithThreeDigits)
{
    EXPECT_EQ(formatDuration(0), "0ns");
    EXPECT_EQ(formatDuration(812), "812ns");
    EXPECT_EQ(formatDuration(1000), "1.00us");
    EXPECT_EQ(formatDuration(12345), "12.3us");
    EXPECT_EQ(formatDuration(999700), "1.00ms");
    EXPECT_EQ(formatDuration(4060000), "4.06ms");
    EXPECT_EQ(formatDuration(1204563000), "1.20s");
    EXPECT_EQ(formatDuration(123456000000), "123s");
    EXPECT_EQ(formatDuration(3600000000000), "3600s");
}

// Not a timed assertion (the machine is shared); prints the rate so a regression is visible.
TEST(TraceStats, ThroughputOnALockHeavyStream)
{
    Stream s;
    constexpr unsigned kLocks = 64;
    s.events.reserve(4'000'000);
    for (uint64_t i = 0; s.events.size() < 4'000'000; ++i) {
        uint32_t thread = uint32_t(1 + i % 3);
        uint64_t lock = kA + (i % kLocks) * 64;
        s.add(i * 10, thread, RAVEL_EV_ACQUIRED, lock, M, uint32_t(i)).add(i * 10 + 5, thread, RAVEL_EV_RELEASE, lock, M);
    }
    auto t0 = std::chrono::steady_clock::now();
    TraceStats st = s.run();
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    EXPECT_EQ(st.objects.size(), kLocks);
    EXPECT_EQ(st.events, s.events.size());
    std::printf("stats: %.1fM events/s\n", double(st.events) / sec / 1e6);
}

// Through a real trace file and TraceReader: the counts survive the reader's merge exactly.
TEST(TraceStats, LockHeavyTraceFileGivesExactCounts)
{
    test::TraceBuilder b(64 * 1024);
    constexpr unsigned kThreads = 4, kMutexes = 4;
    constexpr uint64_t kPairs = 50000;
    uint64_t events = test::buildLockHeavy(b, kThreads, kMutexes, kPairs);
    b.header().flags |= RAVEL_FILE_ENDED;
    std::string path = (std::filesystem::temp_directory_path() / fmt::format("ravel-stats-{}.ravel", getpid())).string();
    b.write(path);

    TraceReader reader(path);
    auto t0 = std::chrono::steady_clock::now();
    TraceStats st = computeStats(reader);
    double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::filesystem::remove(path);

    EXPECT_EQ(st.events, events);
    ASSERT_EQ(st.objects.size(), kMutexes);
    uint64_t acquisitions = 0, contended = 0;
    for (const ObjectStats& o : st.objects) {
        EXPECT_EQ(o.object.kind, RAVEL_OBJ_MUTEX);
        EXPECT_EQ(o.object.generation, 0u);
        EXPECT_EQ(o.heldAtEnd, 0u);
        EXPECT_EQ(o.blockedAtEnd, 0u);
        EXPECT_GT(o.holdNsTotal, 0u);
        acquisitions += o.acquisitions;
        contended += o.contended;
    }
    EXPECT_EQ(acquisitions, kThreads * kPairs);
    EXPECT_EQ(contended, st.eventsByKind[RAVEL_EV_ACQ_REQ]);
    EXPECT_GT(contended, 0u);
    ASSERT_EQ(st.threads.size(), kThreads);
    for (const ThreadStats& t : st.threads) {
        EXPECT_TRUE(t.exited);
        EXPECT_GE(t.events, 2 * kPairs + 2); // its pairs, start and exit, and some requests
        EXPECT_EQ(t.blockedOn, kNoObject);
    }
    std::printf("reader+stats: %.1fM events/s\n", double(st.events) / sec / 1e6);
}

} // namespace
