// The replay model on scripted traces: holds and waits at an instant, and the identity of objects
// when uncontended events arrive in an order the clock could not settle.
#include "analysis/analysis.hpp"
#include "detect/end_of_run.hpp"
#include "model/replay_model.hpp"
#include "model_script.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>
#include <optional>

#include <errno.h>

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

namespace {

constexpr uint64_t R = 0x555555558080;

size_t destroysOfLocked(const ReplayModel& m)
{
    size_t n = 0;
    for (const Finding& f : m.misuse())
        n += f.kind == "misuse" && f.title.rfind("destroy of a", 0) == 0 && f.title.find("that is locked") != std::string::npos;
    return n;
}

// Thread 2 takes rwlock R (stamped at 1 us) and releases it (unstamped: somewhere in [1 us, 2 ms]);
// thread 1 destroys R at 1.5 us. The merge places the release ~1 us after the acquisition, after
// the destroy, but nothing recorded orders the two (an atomic the program used is not in the
// trace): no "destroy of a locked rwlock" from guesswork. `releaseAtNs` stamps the release instead.
size_t destroyWhileAnotherMayHold(std::optional<uint64_t> releaseAtNs, ReplayModel::Retain retain)
{
    Script s;
    s.b.time(2, 2000);
    s.b.event(2, RAVEL_EV_ACQUIRED, R, 0, 0, RAVEL_OBJ_RWLOCK);
    if (releaseAtNs)
        s.b.time(2, *releaseAtNs * 2);
    s.b.event(2, RAVEL_EV_RELEASE, R, 0, 0, RAVEL_OBJ_RWLOCK);
    s.b.time(2, 4'000'000);
    s.b.event(2, RAVEL_EV_MARK, 0);
    s.b.time(1, 3000);
    s.b.event(1, RAVEL_EV_DESTROY, R, 0, 0, RAVEL_OBJ_RWLOCK);
    return destroysOfLocked(s.model(retain));
}

} // namespace

TEST(ReplayModel, DestroyOrderedAgainstAnotherThreadsReleaseOnlyByGuessIsNoMisuse)
{
    // The report's model (end state only) and the GUI's (everything) must agree.
    for (ReplayModel::Retain retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState })
        EXPECT_EQ(destroyWhileAnotherMayHold(std::nullopt, retain), 0u);
}

// Not an error, and not silence either: a note that names both threads' events, says the trace
// cannot order them, and gives both ranges.
TEST(ReplayModel, DestroyTheClocksCannotOrderAgainstAReleaseIsANoteThatSaysSo)
{
    for (ReplayModel::Retain retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState }) {
        Script s;
        s.b.time(2, 2000);
        s.b.event(2, RAVEL_EV_ACQUIRED, R, 0, 0, RAVEL_OBJ_RWLOCK);
        s.b.event(2, RAVEL_EV_RELEASE, R, 0, 0, RAVEL_OBJ_RWLOCK);
        s.b.time(2, 4'000'000);
        s.b.event(2, RAVEL_EV_MARK, 0);
        s.b.time(1, 3000);
        s.b.event(1, RAVEL_EV_DESTROY, R, 0, 0, RAVEL_OBJ_RWLOCK);
        const ReplayModel& m = s.model(retain);
        ASSERT_EQ(m.misuse().size(), 1u);
        const Finding& f = m.misuse()[0];
        EXPECT_EQ(f.kind, "unordered-misuse");
        EXPECT_EQ(f.title, "destroy of a rwlock that is locked, or not: the trace cannot order the two events");
        ASSERT_EQ(f.threads.size(), 2u);
        EXPECT_EQ(f.threads[0].id, 1u);
        EXPECT_EQ(f.threads[1].id, 2u);
        ASSERT_FALSE(f.notes.empty());
        EXPECT_NE(f.notes[0].find("cannot order"), std::string::npos) << f.notes[0];
        EXPECT_NE(f.notes[0].find("somewhere in [1.0us, 2.0ms]"), std::string::npos) << f.notes[0];
        EXPECT_FALSE(isError(f));
    }
}

// Released surely before the destroy (the merge misplaced nothing the clocks disagree with): no note.
TEST(ReplayModel, DestroyAfterAnotherThreadsStampedReleaseIsQuiet)
{
    Script s;
    s.b.time(2, 2000);
    s.b.event(2, RAVEL_EV_ACQUIRED, R, 0, 0, RAVEL_OBJ_RWLOCK);
    s.b.time(2, 2400);
    s.b.event(2, RAVEL_EV_RELEASE, R, 0, 0, RAVEL_OBJ_RWLOCK);
    s.b.time(1, 3000);
    s.b.event(1, RAVEL_EV_DESTROY, R, 0, 0, RAVEL_OBJ_RWLOCK);
    EXPECT_TRUE(s.model().misuse().empty());
}

TEST(ReplayModel, DestroyBeforeAnotherThreadsStampedReleaseIsMisuse)
{
    for (ReplayModel::Retain retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState })
        EXPECT_EQ(destroyWhileAnotherMayHold(3000, retain), 1u);
}

TEST(ReplayModel, DestroyOfALockWhoseHolderNeverReleasesItIsMisuse)
{
    Script s;
    s.ev(2, RAVEL_EV_ACQUIRED, R, RAVEL_OBJ_RWLOCK);
    s.ev(1, RAVEL_EV_DESTROY, R, RAVEL_OBJ_RWLOCK);
    s.ev(2, RAVEL_EV_MARK, 0, 0);
    EXPECT_EQ(destroysOfLocked(s.model()), 1u);
}

// glibc's pthread_mutex_destroy fails with EBUSY on a locked mutex: its result decides, not the
// merged order (the same thread's hold is program order, and exact).
TEST(ReplayModel, MutexDestroyTrustsWhatTheRealCallSaw)
{
    {
        Script s;
        s.ev(2, RAVEL_EV_ACQUIRED, M);
        s.ev(1, RAVEL_EV_DESTROY, M, RAVEL_OBJ_MUTEX, 0);
        s.ev(2, RAVEL_EV_RELEASE, M);
        EXPECT_EQ(destroysOfLocked(s.model()), 0u);
    }
    {
        Script s;
        s.ev(2, RAVEL_EV_ACQUIRED, M);
        s.ev(1, RAVEL_EV_DESTROY, M, RAVEL_OBJ_MUTEX, EBUSY);
        s.ev(2, RAVEL_EV_RELEASE, M);
        EXPECT_EQ(destroysOfLocked(s.model()), 1u);
    }
    {
        Script s;
        s.ev(1, RAVEL_EV_ACQUIRED, M);
        s.ev(1, RAVEL_EV_DESTROY, M, RAVEL_OBJ_MUTEX, 0);
        EXPECT_EQ(destroysOfLocked(s.model()), 1u);
    }
}

namespace {

size_t unlocksNotHeld(const ReplayModel& m)
{
    size_t n = 0;
    for (const Finding& f : m.misuse())
        n += f.title.find("this thread does not hold") != std::string::npos;
    return n;
}

// The worker locks and unlocks M many times; its first events chunk is gone (a flight recorder
// reused it), and the chunk now first in the trace may begin with the release of an acquisition
// in the dropped one.
size_t unlocksNotHeldAfterDroppingTheFirstChunk(bool dropped, bool shift, ReplayModel::Retain retain)
{
    Script s;
    s.b.header().flags |= RAVEL_FILE_FLIGHT_RECORDER;
    s.b.time(2, 2000);
    // One event more or less before the pairs: with one of the two, whatever a chunk's capacity,
    // the first chunk ends between an acquisition and its release.
    if (shift)
        s.b.event(2, RAVEL_EV_INIT, M, 0, 0, RAVEL_OBJ_MUTEX);
    for (uint32_t i = 0; i < 2000; ++i) {
        s.b.event(2, RAVEL_EV_ACQUIRED, M, i, 0, RAVEL_OBJ_MUTEX);
        s.b.event(2, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    }
    if (dropped)
        s.b.dropChunk(2, 0);
    return unlocksNotHeld(s.model(retain));
}

} // namespace

TEST(ReplayModel, ReleaseWhoseAcquisitionAFlightRecorderDroppedIsNoMisuse)
{
    for (auto retain : { ReplayModel::Retain::Everything, ReplayModel::Retain::EndState })
        for (bool shift : { false, true }) {
            EXPECT_EQ(unlocksNotHeldAfterDroppingTheFirstChunk(false, shift, retain), 0u);
            EXPECT_EQ(unlocksNotHeldAfterDroppingTheFirstChunk(true, shift, retain), 0u);
        }
    // The same release in a complete thread is misuse.
    Script s;
    s.b.time(2, 2000);
    s.b.event(2, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    EXPECT_EQ(unlocksNotHeld(s.model()), 1u);
}
