// The AND-OR reduction that decides deadlock, on the shapes DESIGN.md names.
#include "detect/live_detector.hpp"
#include "detect/live_trace.hpp"
#include "detect/wait_for.hpp"

#include <ravel/trace_format.h>

#include <gtest/gtest.h>

using namespace ravel;

namespace {

WaitNode running(uint32_t t)
{
    WaitNode n;
    n.thread = t;
    return n;
}

WaitNode lockWait(uint32_t t, std::vector<uint32_t> holders)
{
    WaitNode n;
    n.thread = t;
    n.blocked = true;
    n.mode = WaitMode::And;
    n.objectKind = RAVEL_OBJ_MUTEX;
    n.wakers = std::move(holders);
    return n;
}

WaitNode condWait(uint32_t t, std::vector<uint32_t> others)
{
    WaitNode n;
    n.thread = t;
    n.blocked = true;
    n.mode = WaitMode::Or;
    n.exact = false;
    n.objectKind = RAVEL_OBJ_COND;
    n.wakers = std::move(others);
    return n;
}

} // namespace

TEST(WaitFor, NothingBlockedIsNoDeadlock)
{
    Deadlock d = reduceWaitFor({ running(1), running(2) });
    EXPECT_EQ(d.verdict, Verdict::None);
    EXPECT_TRUE(d.threads.empty());
}

TEST(WaitFor, WaitingForARunningHolderIsNoDeadlock)
{
    Deadlock d = reduceWaitFor({ running(1), lockWait(2, { 1 }), lockWait(3, { 2 }) });
    EXPECT_EQ(d.verdict, Verdict::None);
}

TEST(WaitFor, AbbaIsACertainDeadlockWhileOthersRunOn)
{
    Deadlock d = reduceWaitFor({ running(1), lockWait(2, { 3 }), lockWait(3, { 2 }), running(4) });
    EXPECT_EQ(d.verdict, Verdict::Certain);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 2, 3 }));
    EXPECT_EQ(d.cycle, (std::vector<uint32_t> { 2, 3 }));
}

TEST(WaitFor, SelfRelockDeadlocksAlone)
{
    Deadlock d = reduceWaitFor({ running(1), lockWait(2, { 2 }) });
    EXPECT_EQ(d.verdict, Verdict::Certain);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 2 }));
}

TEST(WaitFor, ThreadWaitingOnTheCycleIsDeadlockedButNotInTheCycle)
{
    Deadlock d = reduceWaitFor({ lockWait(1, { 2 }), lockWait(2, { 3 }), lockWait(3, { 2 }) });
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 1, 2, 3 }));
    EXPECT_EQ(d.cycle, (std::vector<uint32_t> { 2, 3 }));
}

TEST(WaitFor, LongDiningCycle)
{
    std::vector<WaitNode> nodes;
    const uint32_t n = 64;
    for (uint32_t i = 1; i <= n; i++)
        nodes.push_back(lockWait(i, { i % n + 1 }));
    Deadlock d = reduceWaitFor(nodes);
    EXPECT_EQ(d.verdict, Verdict::Certain);
    EXPECT_EQ(d.threads.size(), n);
    EXPECT_EQ(d.cycle.size(), n);
}

TEST(WaitFor, AndWaitNeedsEveryHolder)
{
    // A writer waits for two readers; one reader is stuck on the writer's other lock.
    Deadlock d = reduceWaitFor({ lockWait(1, { 2, 3 }), running(2), lockWait(3, { 1 }) });
    EXPECT_EQ(d.verdict, Verdict::Certain);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 1, 3 }));
}

TEST(WaitFor, AbandonedLockNeverEnds)
{
    Deadlock d = reduceWaitFor({ running(1), lockWait(2, {}) });
    EXPECT_EQ(d.verdict, Verdict::Certain);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 2 }));
}

TEST(WaitFor, OrWaitEndsWhenAnyWakerCanRun)
{
    Deadlock d = reduceWaitFor({ condWait(1, { 2, 3 }), lockWait(2, { 1 }), running(3) });
    EXPECT_EQ(d.verdict, Verdict::None);
}

TEST(WaitFor, OrWaitWithEveryWakerStuckIsLikely)
{
    // A lost signal: the waiter's possible signallers are all blocked on what it holds.
    Deadlock d = reduceWaitFor({ condWait(1, { 2, 3 }), lockWait(2, { 1 }), lockWait(3, { 1 }) });
    EXPECT_EQ(d.verdict, Verdict::Likely);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 1, 2, 3 }));
}

TEST(WaitFor, WakerNotInGraphCountsAsRunning)
{
    Deadlock d = reduceWaitFor({ lockWait(1, { 9 }) });
    EXPECT_EQ(d.verdict, Verdict::None);
}

// ---- futex words (std::latch, std::atomic::wait ...): OR waits on presumed wakers ----

namespace {

ThreadSnapshot futexWaiter(uint32_t tid, uint64_t word, unsigned extraFlags = 0)
{
    ThreadSnapshot s;
    s.tid = tid;
    s.os_tid = 1000 + tid;
    s.pid = 7;
    s.blockedOn = word;
    s.blockedFlags = RAVEL_OBJ_FUTEX | extraFlags;
    s.blockedSinceRaw = 100 + tid;
    return s;
}

ThreadSnapshot runningThread(uint32_t tid)
{
    ThreadSnapshot s;
    s.tid = tid;
    s.os_tid = 1000 + tid;
    s.pid = 7;
    return s;
}

} // namespace

TEST(WaitFor, FutexWaitIsAnOrWaitOnEveryOtherLiveThread)
{
    std::vector<ThreadSnapshot> snap = { futexWaiter(1, 0x1000), futexWaiter(2, 0x2000), runningThread(3) };
    std::vector<WaitNode> nodes = waitGraphOf(snap);
    ASSERT_EQ(nodes.size(), 3u);
    EXPECT_EQ(nodes[0].mode, WaitMode::Or);
    EXPECT_FALSE(nodes[0].exact);
    EXPECT_EQ(nodes[0].wakers, (std::vector<uint32_t> { 2, 3 }));
    // The running thread may still wake either word.
    EXPECT_EQ(reduceWaitFor(nodes).verdict, Verdict::None);
    snap[2] = futexWaiter(3, 0x3000);
    Deadlock d = reduceWaitFor(waitGraphOf(snap));
    EXPECT_EQ(d.verdict, Verdict::Likely);
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 1, 2, 3 }));
}

TEST(WaitFor, TimedFutexWaitEndsByItself)
{
    std::vector<ThreadSnapshot> snap = { futexWaiter(1, 0x1000), futexWaiter(2, 0x2000, RAVEL_F_TIMED) };
    EXPECT_EQ(reduceWaitFor(waitGraphOf(snap)).verdict, Verdict::None);
}

TEST(WaitFor, EveryThreadInAFutexWaitIsCertainLive)
{
    // Every thread of the process blocked, none timed, no signal handler, no thread unseen: the
    // presumed wakers are known stuck, and two agreeing samples confirm it at once.
    std::vector<ThreadSnapshot> snap = { futexWaiter(1, 0x1000), futexWaiter(2, 0x1000) };
    ProcessView proc;
    proc.pid = 7;
    proc.kernelThreads = 2;
    proc.signalHandlers = false;
    LiveDeadlockDetector detector(60'000'000'000ull);
    EXPECT_FALSE(detector.observe(snap, proc, 1'000'000));
    std::optional<Finding> f = detector.observe(snap, proc, 101'000'000);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->certainty, Verdict::Certain);
    ASSERT_EQ(f->objects.size(), 1u);
    EXPECT_EQ(f->objects[0].kind, unsigned(RAVEL_OBJ_FUTEX));
    EXPECT_NE(f->title.find("a futex word"), std::string::npos) << f->title;

    // A thread the kernel lists but the boards do not (it could be the waker): only likely, and
    // a likely deadlock waits for the stall timeout.
    proc.kernelThreads = 3;
    LiveDeadlockDetector unsure(60'000'000'000ull);
    EXPECT_FALSE(unsure.observe(snap, proc, 1'000'000));
    EXPECT_FALSE(unsure.observe(snap, proc, 101'000'000));
    EXPECT_EQ(unsure.current().verdict, Verdict::Likely);
}
