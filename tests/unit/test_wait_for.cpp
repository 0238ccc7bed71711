// The AND-OR reduction that decides deadlock, on the shapes DESIGN.md names.
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
