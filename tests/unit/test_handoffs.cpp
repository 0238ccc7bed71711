// Handoffs on scripted traces: which release enabled each contended acquisition, and which
// releases are not handoffs (before the request, by the waiter itself, of another object).
#include "model/handoffs.hpp"
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
constexpr uint64_t N = 0x555555558068;
constexpr unsigned Contended = RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED;

// Events in the given global order, 1000 ticks (500 ns) apart.
struct Script : test::ModelScript {
    explicit Script(unsigned threads = 3)
        : ModelScript(names(threads))
    {
    }
    static std::vector<std::string> names(unsigned n)
    {
        std::vector<std::string> v(n, "worker");
        v[0] = "main";
        return v;
    }
};

} // namespace

TEST(Handoffs, ReleaseDuringTheWaitHandsTheLockOver)
{
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, M);
    uint64_t rel = s.ev(1, RAVEL_EV_RELEASE, M);
    uint64_t acq = s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 2);
    const ReplayModel& m = s.model();
    std::vector<Handoff> h = computeHandoffs(m);
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(m.objects()[h[0].object].address, M);
    EXPECT_EQ(h[0].fromThread, 1u);
    EXPECT_EQ(h[0].toThread, 2u);
    EXPECT_EQ(h[0].releaseNs, rel);
    EXPECT_EQ(h[0].acquireNs, acq);
    const HoldSpan& hold = m.holdSpans().at(h[0].holdSpan);
    EXPECT_EQ(hold.thread, 1u);
    EXPECT_EQ(hold.end, rel);
    const WaitSpan& wait = m.waitSpans().at(h[0].waitSpan);
    EXPECT_EQ(wait.thread, 2u);
    EXPECT_EQ(wait.end, acq);
    EXPECT_EQ(wait.outcome, WaitOutcome::Acquired);
}

TEST(Handoffs, ReleaseBeforeTheRequestIsNoHandoff)
{
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(1, RAVEL_EV_RELEASE, M);
    // T2 asked after the release and got it: whatever it waited for, T1's release came before.
    s.ev(2, RAVEL_EV_ACQ_REQ, M);
    s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 2);
    EXPECT_TRUE(computeHandoffs(s.model()).empty());
}

TEST(Handoffs, TheLatestReleaseBeforeTheAcquisitionWins)
{
    // T1 releases while T2 waits, T3 barges in and takes the lock, then hands it to T2.
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, M);
    s.ev(1, RAVEL_EV_RELEASE, M);
    s.ev(3, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 2);
    uint64_t rel = s.ev(3, RAVEL_EV_RELEASE, M);
    s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 3);
    std::vector<Handoff> h = computeHandoffs(s.model());
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].fromThread, 3u);
    EXPECT_EQ(h[0].releaseNs, rel);
}

TEST(Handoffs, ReleasesOfOtherObjectsAreIgnored)
{
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(3, RAVEL_EV_ACQUIRED, N, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, M);
    uint64_t relM = s.ev(1, RAVEL_EV_RELEASE, M);
    s.ev(3, RAVEL_EV_RELEASE, N); // later, but of N
    s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 2);
    std::vector<Handoff> h = computeHandoffs(s.model());
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].fromThread, 1u);
    EXPECT_EQ(h[0].releaseNs, relM);
}

TEST(Handoffs, AChainOfWaitersIsSortedByAcquisition)
{
    // T1 holds M and N; T2 waits for M, T3 for N. T1 releases N first, then M.
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(1, RAVEL_EV_ACQUIRED, N, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, M);
    s.ev(3, RAVEL_EV_ACQ_REQ, N);
    s.ev(1, RAVEL_EV_RELEASE, N);
    s.ev(1, RAVEL_EV_RELEASE, M);
    s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 2);
    s.ev(3, RAVEL_EV_ACQUIRED, N, Contended, 2);
    // Then T2 passes M on to T1, which had asked for it again.
    s.ev(1, RAVEL_EV_ACQ_REQ, M);
    s.ev(2, RAVEL_EV_RELEASE, M);
    s.ev(1, RAVEL_EV_ACQUIRED, M, Contended, 3);
    const ReplayModel& m = s.model();
    std::vector<Handoff> h = computeHandoffs(m);
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0].toThread, 2u);
    EXPECT_EQ(m.objects()[h[0].object].address, M);
    EXPECT_EQ(h[1].toThread, 3u);
    EXPECT_EQ(m.objects()[h[1].object].address, N);
    EXPECT_EQ(h[2].fromThread, 2u);
    EXPECT_EQ(h[2].toThread, 1u);
    for (size_t i = 1; i < h.size(); i++)
        EXPECT_LE(h[i - 1].acquireNs, h[i].acquireNs);
}

TEST(Handoffs, AWriterWaitsForTheLastReader)
{
    constexpr unsigned Rw = RAVEL_OBJ_RWLOCK;
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, Rw | RAVEL_F_SHARED, 1);
    s.ev(2, RAVEL_EV_ACQUIRED, M, Rw | RAVEL_F_SHARED, 2);
    s.ev(3, RAVEL_EV_ACQ_REQ, M, Rw);
    s.ev(2, RAVEL_EV_RELEASE, M, Rw);
    uint64_t last = s.ev(1, RAVEL_EV_RELEASE, M, Rw);
    s.ev(3, RAVEL_EV_ACQUIRED, M, Rw | RAVEL_F_CONTENDED, 3);
    std::vector<Handoff> h = computeHandoffs(s.model());
    ASSERT_EQ(h.size(), 1u);
    EXPECT_EQ(h[0].fromThread, 1u);
    EXPECT_EQ(h[0].releaseNs, last);
}

TEST(Handoffs, FailedAndOpenWaitsHaveNone)
{
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, M, RAVEL_OBJ_MUTEX | RAVEL_F_TIMED);
    s.ev(1, RAVEL_EV_RELEASE, M);
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 2);
    s.ev(2, RAVEL_EV_ACQ_FAIL, M, RAVEL_OBJ_MUTEX | RAVEL_F_TIMED, 110 /* ETIMEDOUT */);
    s.ev(3, RAVEL_EV_ACQ_REQ, M); // still waiting when the trace ends
    EXPECT_TRUE(computeHandoffs(s.model()).empty());
}
