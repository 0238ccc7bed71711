// The replay model on scripted traces: holds and waits at an instant, and the identity of objects
// when uncontended events arrive in an order the clock could not settle.
#include "detect/end_of_run.hpp"
#include "model/replay_model.hpp"
#include "model_script.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

using namespace ravel;
using ravel::test::TraceBuilder;

namespace {

constexpr uint64_t M = 0x555555558040;

// Events in the given global order, 1000 ticks apart (the builder's clock: 2 ticks per ns).
struct Script : test::ModelScript {
    Script()
        : ModelScript({ "main", "worker" })
    {
    }
};

} // namespace

TEST(ReplayModel, HoldsAndWaitsAtAnInstant)
{
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M);                // t = 1000 ns
    s.ev(2, RAVEL_EV_ACQ_REQ, M);                 // 1500
    s.ev(1, RAVEL_EV_RELEASE, M);                 // 2000
    s.ev(2, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED, 2);
    const ReplayModel& m = s.model();
    EXPECT_EQ(m.heldAt(1, 1200).size(), 1u);
    EXPECT_EQ(m.heldAt(2, 1200).size(), 0u);
    ASSERT_NE(m.blockedAt(2, 1700), nullptr);
    EXPECT_EQ(m.objects()[m.blockedAt(2, 1700)->object].address, M);
    EXPECT_EQ(m.blockedAt(2, 2600), nullptr);
    EXPECT_EQ(m.heldAt(2, 2600).size(), 1u);
    EXPECT_TRUE(endOfRunFindings(m).empty());
}

// A lock that is held cannot be (re)initialized, destroyed or freed by a correct program: when the
// trace says so, the INIT was placed too late. The worker's lock and unlock must stay one object,
// not an "unlock of a lock not held" plus "exited holding" (seen on zstd -T2 before the fix).
TEST(ReplayModel, LateInitOfAHeldLockKeepsItsIdentity)
{
    Script s;
    s.ev(2, RAVEL_EV_ACQUIRED, M);
    s.ev(1, RAVEL_EV_INIT, M);
    s.ev(1, RAVEL_EV_FREE, M - 8, RAVEL_OBJ_MEMORY, 64);
    s.ev(2, RAVEL_EV_RELEASE, M);
    s.ev(2, RAVEL_EV_THREAD_EXIT, 0x7f0000002000ull, RAVEL_OBJ_THREAD);
    const ReplayModel& m = s.model();
    for (const Finding& f : endOfRunFindings(m))
        ADD_FAILURE() << f.kind << ": " << f.title;
}

TEST(ReplayModel, InitOfAFreeLockStartsANewObject)
{
    Script s;
    s.ev(2, RAVEL_EV_ACQUIRED, M);
    s.ev(2, RAVEL_EV_RELEASE, M);
    s.ev(1, RAVEL_EV_INIT, M);
    s.ev(1, RAVEL_EV_ACQUIRED, M);
    s.ev(1, RAVEL_EV_RELEASE, M);
    const ReplayModel& m = s.model();
    EXPECT_EQ(m.objects().size(), 2u);
    EXPECT_TRUE(endOfRunFindings(m).empty());
}
