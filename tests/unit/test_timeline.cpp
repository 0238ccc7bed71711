// The timeline the reader builds: the global merge never stalls on an acquisition that did not
// block, times between stamps stay within what the clocks prove (issue 11, "a true timeline"), and
// ravel info's hold and wait statistics are measured on those times.
#include "model/trace_stats.hpp"
#include "trace/trace_reader.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

namespace ravel {
namespace {

using test::TraceBuilder;
namespace fs = std::filesystem;

// TraceBuilder's clock: 2 ticks per ns.
constexpr uint64_t ticks(uint64_t ns)
{
    return ns * 2;
}

constexpr uint64_t X = 0x1000, L = 0x2000, M = 0x3000, C = 0x4000;

class TimelineTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        fs::path base = access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / "ravel-timeline-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override { fs::remove_all(m_dir); }
    std::string path() const { return (m_dir / "t.ravel").string(); }

    std::vector<Event> merged(TraceBuilder& b) const
    {
        b.write(path());
        TraceReader r(path());
        std::vector<Event> out;
        r.forEachEvent([&](const Event& e) {
            out.push_back(e);
            return true;
        });
        EXPECT_EQ(out.size(), r.eventCount());
        return out;
    }

    fs::path m_dir;
};

// A third thread that keeps the merge busy until 100 us: a stalled pair of threads shows as their
// events delivered after all of its own.
void busyThread(TraceBuilder& b, uint32_t tid)
{
    for (uint64_t t = 1000; t <= 100'000; t += 1000) {
        b.time(tid, ticks(t));
        b.event(tid, RAVEL_EV_MARK, 0);
    }
}

uint64_t lastTimeOf(const std::vector<Event>& ev, uint32_t thread)
{
    uint64_t t = 0;
    for (const Event& e : ev)
        if (e.thread == thread)
            t = e.time_ns;
    return t;
}

TEST_F(TimelineTest, MergeDoesNotStallWhenATrylockWaitsForAHolderThatIsHeldBack)
{
    // What a cache server did: thread 1 holds item lock X (uncontended: placed by its time only,
    // too early) and then waits for L; thread 2 holds L (seq 1) and trylocks X. By the holder
    // rule thread 1's acquisition of L waits for thread 2's release of L, and thread 2's trylock of
    // X for thread 1's release of X: a cycle that held both threads until the end of the trace.
    TraceBuilder b;
    b.time(1, ticks(1000));
    b.event(1, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(2500));
    b.event(1, RAVEL_EV_ACQ_REQ, L, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(4000));
    b.event(1, RAVEL_EV_ACQUIRED, L, 2, 0, RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED);
    b.event(1, RAVEL_EV_RELEASE, L, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(5000));
    b.event(1, RAVEL_EV_MARK, 0);
    b.time(2, ticks(1500));
    b.event(2, RAVEL_EV_ACQUIRED, L, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX | RAVEL_F_TRY);
    b.event(2, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, L, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(2, ticks(3000));
    b.event(2, RAVEL_EV_MARK, 0);
    busyThread(b, 3);
    std::vector<Event> ev = merged(b);
    EXPECT_LE(lastTimeOf(ev, 1), 5000u);
    EXPECT_LE(lastTimeOf(ev, 2), 5000u);
    EXPECT_EQ(ev.back().thread, 3u);
    // The sequence numbers still order L: thread 2's acquisition (1) before thread 1's (2).
    std::vector<uint32_t> lOwners;
    for (const Event& e : ev)
        if (e.kind == RAVEL_EV_ACQUIRED && e.obj == L)
            lOwners.push_back(e.thread);
    EXPECT_EQ(lOwners, (std::vector<uint32_t> { 2, 1 }));
}

TEST_F(TimelineTest, HeldBackEventGoesOnceTheClocksProveItCameFirst)
{
    // A cycle through a sequence number, which the merge cannot see (it does not know which thread
    // holds seq 1): thread 2's trylock of X waits for thread 1's release of X, and thread 1's
    // acquisition of L (seq 2) for thread 2's seq 1, which comes after that trylock. Thread 1's
    // next stamp (5 us) proves its events came before thread 3's from 6 us on.
    TraceBuilder b;
    b.time(1, ticks(1000));
    b.event(1, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_ACQUIRED, L, 2, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, L, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(5000));
    b.event(1, RAVEL_EV_MARK, 0);
    b.time(2, ticks(1500));
    b.event(2, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX | RAVEL_F_TRY);
    b.event(2, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_ACQUIRED, L, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, L, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(2, ticks(5500));
    b.event(2, RAVEL_EV_MARK, 0);
    busyThread(b, 3);
    std::vector<Event> ev = merged(b);
    EXPECT_LE(lastTimeOf(ev, 1), 7000u);
    EXPECT_LE(lastTimeOf(ev, 2), 7000u);
    EXPECT_EQ(ev.back().thread, 3u);
}

TEST_F(TimelineTest, AcquisitionWaitsForAHolderThatCanStillRunEvenWhenItsStampIsPassed)
{
    // pigz under load: thread 3 holds X (its release unstamped, placed at 1.32 us), thread 2's
    // stamped acquisition of X (after a cond wait) is at 1.1 us, and thread 1's event at 1.2 us
    // comes up before thread 3's release. The clocks do not overrule the holder rule here: thread
    // 3 can still run, and two holders would make its later destroy look like misuse.
    TraceBuilder b;
    b.time(3, ticks(1000));
    b.event(3, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX);
    for (int i = 0; i < 3; ++i)
        b.event(3, RAVEL_EV_INIT, 0x99);
    b.event(3, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(3, ticks(1400));
    b.event(3, RAVEL_EV_MARK, 0);
    b.time(2, ticks(1100));
    b.event(2, RAVEL_EV_ACQUIRED, X, 1, 0, RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED);
    b.event(2, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_DESTROY, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(1200));
    b.event(1, RAVEL_EV_MARK, 0);
    std::vector<Event> ev = merged(b);
    std::vector<std::pair<uint32_t, uint8_t>> onX;
    for (const Event& e : ev)
        if (e.obj == X)
            onX.emplace_back(e.thread, e.kind);
    using P = std::pair<uint32_t, uint8_t>;
    EXPECT_EQ(onX,
        (std::vector<P> { P(3, RAVEL_EV_ACQUIRED), P(3, RAVEL_EV_RELEASE), P(2, RAVEL_EV_ACQUIRED),
            P(2, RAVEL_EV_RELEASE), P(2, RAVEL_EV_DESTROY) }));
}

TEST_F(TimelineTest, ReleaseInsideACondWaitSitsAtTheWaitsStart)
{
    // The waiter of the reproducer: it locks m, waits on c for 2 s, wakes holding m.
    TraceBuilder b;
    b.time(1, ticks(1000));
    b.event(1, RAVEL_EV_ACQUIRED, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(1500));
    b.event(1, RAVEL_EV_WAIT_REQ, C, 0, 0, RAVEL_OBJ_COND);
    b.event(1, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(2'000'001'500));
    b.event(1, RAVEL_EV_WOKEN, C, 2, 0, RAVEL_OBJ_COND);
    b.event(1, RAVEL_EV_ACQUIRED, M, 3, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(4'000'000'000));
    b.event(1, RAVEL_EV_MARK, 0);
    // main: locks and unlocks m at 0.1 s, signals at 2 s.
    b.time(2, ticks(100'000'000));
    b.event(2, RAVEL_EV_ACQUIRED, M, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(2, ticks(2'000'000'000));
    b.event(2, RAVEL_EV_SIGNAL, C, 1, 0, RAVEL_OBJ_COND);
    std::vector<Event> ev = merged(b);
    const Event* release = nullptr;
    for (const Event& e : ev)
        if (e.thread == 1 && e.kind == RAVEL_EV_RELEASE && !release)
            release = &e;
    ASSERT_NE(release, nullptr);
    EXPECT_EQ(release->time_ns, 1500u);
    EXPECT_EQ(release->latest_ns, 1500u);

    TraceReader r(path());
    TraceStats stats = computeStats(r);
    for (const ObjectStats& o : stats.objects)
        if (o.object.address == M) {
            EXPECT_EQ(o.acquisitions, 3u);
            EXPECT_LT(o.holdNsMax, 1'000'000u); // the wake-up's hold: unstamped, within a tick
        }
}

TEST_F(TimelineTest, UnstampedEventsStayNearThePreviousStampAndCarryTheGapAsTheirRange)
{
    // Start-up: an init lock taken and released right after a stamp, then 381 ms without a stamp
    // (the watchdog was not ticking yet). Spread linearly, the lock looked held for 127 ms.
    TraceBuilder b;
    b.time(1, ticks(1000));
    b.event(1, RAVEL_EV_INIT, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_ACQUIRED, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, M, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(381'000'000));
    b.event(1, RAVEL_EV_MARK, 0);
    std::vector<Event> ev = merged(b);
    ASSERT_EQ(ev.size(), 4u);
    EXPECT_EQ(ev[0].time_ns, 1000u);
    EXPECT_TRUE(ev[0].stamped);
    for (size_t i = 1; i < 3; ++i) {
        EXPECT_FALSE(ev[i].stamped);
        EXPECT_LE(ev[i].time_ns, 1000u + 1'000'000u); // within a watchdog tick of the stamp
        EXPECT_EQ(ev[i].earliest_ns, 1000u);
        EXPECT_EQ(ev[i].latest_ns, 381'000'000u);
    }
    EXPECT_EQ(ev[3].time_ns, 381'000'000u);
    TraceReader r(path());
    TraceStats stats = computeStats(r);
    for (const ObjectStats& o : stats.objects) {
        if (o.object.address == M) {
            EXPECT_LT(o.holdNsMax, 1'000'000u);
        }
    }
}

TEST_F(TimelineTest, ClocksOverruleTheHolderRuleForAnAcquisitionThatDidNotBlock)
{
    // The clocks and the holder rule disagree: thread 1 holds X from 1 us to 3 us by its stamps,
    // and thread 2's uncontended acquisition of X happened between 2 us and 2.5 us by its own.
    // Thread 1's acquisition was placed too early (only an uncontended one can be): the merge
    // delivers thread 2's acquisition when the clocks prove it came first, not after the release.
    TraceBuilder b;
    b.time(1, ticks(1000));
    b.event(1, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, ticks(3000));
    b.event(1, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(2, ticks(2000));
    b.event(2, RAVEL_EV_MARK, 0);
    b.event(2, RAVEL_EV_ACQUIRED, X, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(2, ticks(2500));
    b.event(2, RAVEL_EV_RELEASE, X, 0, 0, RAVEL_OBJ_MUTEX);
    std::vector<Event> ev = merged(b);
    for (const Event& e : ev)
        if (e.thread == 2 && e.kind == RAVEL_EV_ACQUIRED) {
            EXPECT_EQ(e.time_ns, 2250u);
            EXPECT_EQ(e.earliest_ns, 2000u);
            EXPECT_EQ(e.latest_ns, 2500u);
        }
    TraceReader r(path());
    TraceStats stats = computeStats(r);
    for (const ObjectStats& o : stats.objects) {
        if (o.object.address == X) {
            EXPECT_EQ(o.holdNsMax, 2000u);
        }
    }
}

} // namespace
} // namespace ravel
