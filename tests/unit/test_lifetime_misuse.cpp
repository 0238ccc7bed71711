// Misuse of objects' lifetimes on scripted traces: a destroy of a condvar while another thread
// waits on it is reported only when the clocks prove the wait was still open after the destroy
// began (no order from guesswork); a robust mutex whose owner died and whose next locker got
// EOWNERDEAD is no abandoned lock.
#include "model/replay_model.hpp"
#include "model_script.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>

#include <errno.h>

using namespace ravel;

namespace {

constexpr uint64_t C = 0x555555558100;
constexpr uint64_t M = 0x555555558040;

struct Script : test::ModelScript {
    Script()
        : ModelScript({ "main", "waiter" })
    {
    }
};

size_t misuseWith(const ReplayModel& m, const std::string& text)
{
    size_t n = 0;
    for (const Finding& f : m.misuse())
        n += f.kind == "misuse" && f.title.find(text) != std::string::npos;
    return n;
}

// The waiter's wait on C starts stamped at 1 us; main begins destroying C at 1.5 us and returns at
// 3 ms. The wait ends at `endAtNs` (stamped), or unstamped somewhere in [1 us, 2 ms].
size_t condDestroyWhileWaiting(std::optional<uint64_t> endAtNs, ReplayModel::Retain retain)
{
    Script s;
    s.b.time(2, 2000);
    s.b.event(2, RAVEL_EV_WAIT_REQ, C, 0, 0, RAVEL_OBJ_COND);
    if (endAtNs)
        s.b.time(2, *endAtNs * 2);
    s.b.event(2, RAVEL_EV_WAIT_FAIL, C, ETIMEDOUT, 0, RAVEL_OBJ_COND);
    s.b.time(2, 4'000'000);
    s.b.event(2, RAVEL_EV_MARK, 0);
    s.b.time(1, 3000);
    s.b.event(1, RAVEL_EV_DESTROY_REQ, C, 0, 0, RAVEL_OBJ_COND);
    s.b.time(1, 6'000'000);
    s.b.event(1, RAVEL_EV_DESTROY, C, 0, 0, RAVEL_OBJ_COND);
    return misuseWith(s.model(retain), "destroy of a condvar while a thread waits on it");
}

} // namespace

TEST(LifetimeMisuse, CondvarDestroyedWhileAThreadSurelyStillWaitsIsMisuse)
{
    for (ReplayModel::Retain retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState })
        EXPECT_EQ(condDestroyWhileWaiting(1'000'000, retain), 1u);
}

TEST(LifetimeMisuse, CondvarDestroyWhoseWaitMayHaveEndedBeforeIsNoMisuse)
{
    for (ReplayModel::Retain retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState }) {
        EXPECT_EQ(condDestroyWhileWaiting(std::nullopt, retain), 0u); // unordered: no guess
        EXPECT_EQ(condDestroyWhileWaiting(1200, retain), 0u);         // ended before the destroy
    }
}

TEST(LifetimeMisuse, RobustMutexWhoseOwnerDiedIsNotAbandoned)
{
    for (bool ownerDead : { false, true }) {
        Script s;
        s.ev(1, RAVEL_EV_INIT, M, RAVEL_OBJ_MUTEX, ownerDead ? RAVEL_INIT_ROBUST : 0);
        s.ev(2, RAVEL_EV_ACQUIRED, M);
        s.ev(2, RAVEL_EV_THREAD_EXIT, 0x7f0000002000ull, RAVEL_OBJ_THREAD);
        if (ownerDead) {
            s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED, 1);
            s.ev(1, RAVEL_EV_OWNER_DEAD, M);
            s.ev(1, RAVEL_EV_RELEASE, M);
        }
        const ReplayModel& m = s.model();
        EXPECT_EQ(misuseWith(m, "thread exited holding"), ownerDead ? 0u : 1u);
        if (ownerDead) {
            // The dead owner's hold ended where the next locker's began: nobody holds it at the end.
            for (const ThreadSnapshot& t : m.snapshotAt(m.endNs()))
                EXPECT_TRUE(t.held.empty()) << "T" << t.tid;
            EXPECT_TRUE(m.misuse().empty()) << m.misuse()[0].title;
        }
    }
}

TEST(LifetimeMisuse, LockRefusedAfterADestroyNamesTheDestroy)
{
    Script s;
    s.ev(1, RAVEL_EV_INIT, M);
    s.ev(1, RAVEL_EV_DESTROY, M, RAVEL_OBJ_MUTEX, 0);
    s.ev(2, RAVEL_EV_ACQ_FAIL, M, RAVEL_OBJ_MUTEX, EINVAL);
    const ReplayModel& m = s.model();
    ASSERT_EQ(m.misuse().size(), 1u);
    const Finding& f = m.misuse()[0];
    EXPECT_EQ(f.title, "lock of a destroyed mutex");
    ASSERT_EQ(f.threads.size(), 2u);
    EXPECT_EQ(f.threads[0].id, 2u);
    EXPECT_EQ(f.threads[0].action, "locks");
    EXPECT_EQ(f.threads[1].id, 1u);
    EXPECT_EQ(f.threads[1].action, "destroyed");
}
