// Lock-order analysis on synthetic traces: what is a potential deadlock, what is only a one-thread
// inversion, and the orderings and locks that make a cycle harmless.
#include "analysis/run_analysis.hpp"
#include "detect/lock_order.hpp"
#include "model/replay_model.hpp"
#include "trace_builder.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <unistd.h>

using namespace ravel;
using ravel::test::TraceBuilder;

namespace {

constexpr uint64_t A = 0x555555558040, B = 0x555555558080, C = 0x5555555580c0, D = 0x555555558100;
constexpr uint64_t Gate = 0x555555558140, Cond = 0x555555558200, Bar = 0x555555558300;

uint64_t pthreadOf(uint32_t tid) { return 0x7f0000001000ull * tid; }

// A run written in its global order: every event stamped 1000 ticks after the previous one, so
// the reader delivers them exactly as scripted.
class Script {
public:
    Script() { thread(1, "main", 0); }

    void thread(uint32_t tid, const char* name, uint32_t parent)
    {
        RavelThreadEntry& t = b.thread(tid, name);
        t.parent = parent;
        t.pthread = pthreadOf(tid);
        t.start_tsc = TraceBuilder::StartTsc + m_tsc + 500;
    }
    void ev(uint32_t tid, unsigned kind, uint64_t obj, unsigned flags = 0, uint32_t stack = 0, uint32_t aux = 0)
    {
        m_tsc += 1000;
        b.time(tid, m_tsc);
        b.event(tid, kind, obj, aux, stack, flags);
    }
    void lock(uint32_t tid, uint64_t obj, uint32_t site, unsigned flags = RAVEL_OBJ_MUTEX)
    {
        ev(tid, RAVEL_EV_ACQUIRED, obj, flags, site, m_seq[obj]++);
    }
    void unlock(uint32_t tid, uint64_t obj, unsigned flags = RAVEL_OBJ_MUTEX) { ev(tid, RAVEL_EV_RELEASE, obj, flags); }
    // Takes `first` then `second` and lets both go.
    void pair(uint32_t tid, uint64_t first, uint32_t site1, uint64_t second, uint32_t site2)
    {
        lock(tid, first, site1);
        lock(tid, second, site2);
        unlock(tid, second);
        unlock(tid, first);
    }
    void spawn(uint32_t parent, uint32_t child, const char* name)
    {
        thread(child, name, parent);
        ev(parent, RAVEL_EV_THREAD_CREATE, pthreadOf(child), RAVEL_OBJ_THREAD, 0, child);
        ev(child, RAVEL_EV_THREAD_START, pthreadOf(child), 0, 0, parent);
    }
    void exit(uint32_t tid) { ev(tid, RAVEL_EV_THREAD_EXIT, pthreadOf(tid)); }
    void join(uint32_t tid, uint32_t joined)
    {
        ev(tid, RAVEL_EV_JOIN_REQ, pthreadOf(joined), RAVEL_OBJ_THREAD);
        ev(tid, RAVEL_EV_JOIN_DONE, pthreadOf(joined), RAVEL_OBJ_THREAD, 0, 0);
    }

    // Writes the trace and runs the analysis on it.
    const LockOrderGraph& analyze()
    {
        char dir[] = "/tmp/ravel-lockorder-XXXXXX";
        if (!mkdtemp(dir))
            throw std::runtime_error("mkdtemp");
        m_dir = dir;
        b.write(m_dir + "/t.ravel");
        m_reader = std::make_unique<TraceReader>(m_dir + "/t.ravel");
        m_run = std::make_unique<RunAnalysis>(*m_reader);
        m_graph = std::make_unique<LockOrderGraph>(m_run->model());
        m_findings = m_graph->findings();
        return *m_graph;
    }
    const std::vector<Finding>& findings() const { return m_findings; }
    const ReplayModel& model() const { return m_run->model(); }
    const RunAnalysis& run() const { return *m_run; }
    ~Script()
    {
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }

    TraceBuilder b { 1 << 16 };

private:
    uint64_t m_tsc = 1000;
    std::map<uint64_t, uint32_t> m_seq;
    std::string m_dir;
    std::unique_ptr<TraceReader> m_reader;
    std::unique_ptr<RunAnalysis> m_run;
    std::unique_ptr<LockOrderGraph> m_graph;
    std::vector<Finding> m_findings;
};

size_t countKind(const std::vector<Finding>& fs, const std::string& kind)
{
    return size_t(std::count_if(fs.begin(), fs.end(), [&](const Finding& f) { return f.kind == kind; }));
}

std::vector<uint64_t> cycleAddresses(const Finding& f)
{
    std::vector<uint64_t> out;
    for (const FindingEdge& e : f.edges)
        out.push_back(f.objects[e.from].address);
    std::sort(out.begin(), out.end());
    return out;
}

// Two tellers started together, main joins both: the usual shape of the tests below.
void twoTellers(Script& s, const std::function<void()>& body)
{
    s.spawn(1, 2, "teller-ab");
    s.spawn(1, 3, "teller-ba");
    body();
    s.exit(2);
    s.exit(3);
    s.join(1, 2);
    s.join(1, 3);
}

} // namespace

TEST(LockOrder, AbbaAcrossTwoThreadsIsAPotentialDeadlock)
{
    Script s;
    twoTellers(s, [&] {
        s.pair(2, A, 11, B, 12);
        s.pair(3, B, 21, A, 22);
    });
    const LockOrderGraph& g = s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(f.certainty, Verdict::None);
    EXPECT_NE(f.title.find("2 locks"), std::string::npos) << f.title;
    EXPECT_EQ(f.instances, 1u);
    ASSERT_EQ(f.edges.size(), 2u);
    EXPECT_EQ(cycleAddresses(f), (std::vector<uint64_t> { A, B }));
    ASSERT_EQ(f.threads.size(), 2u);
    std::set<uint32_t> threads { f.threads[0].id, f.threads[1].id };
    EXPECT_EQ(threads, (std::set<uint32_t> { 2, 3 }));
    for (const FindingThread& t : f.threads) {
        EXPECT_EQ(t.osTid, 1000 + t.id);
        EXPECT_FALSE(t.name.empty());
    }
    for (const FindingEdge& e : f.edges) {
        EXPECT_EQ(f.edges[0].to, f.edges[1].from);
        EXPECT_NE(e.fromStack, 0u);
        EXPECT_NE(e.toStack, 0u);
        EXPECT_EQ(e.held, (std::vector<size_t> { e.from }));
        // The site of `to` is where the thread that made this edge requested it.
        EXPECT_EQ(e.toStack, e.thread == 2 ? 12u : 22u);
    }
    for (const FindingObject& o : f.objects) {
        EXPECT_EQ(o.kind, unsigned(RAVEL_OBJ_MUTEX));
        EXPECT_EQ(o.id, fmt::format("o{:x}.0", o.address));
        EXPECT_TRUE(o.name.empty());
    }
    EXPECT_EQ(g.edges().size(), 2u);
    EXPECT_EQ(g.cycleEdges().size(), 2u);
    EXPECT_EQ(g.nodes().size(), 2u);
}

TEST(LockOrder, InversionWithinOneThreadIsANoteNotADeadlock)
{
    Script s;
    s.spawn(1, 2, "bank");
    s.pair(2, A, 11, B, 12);
    s.pair(2, B, 21, A, 22);
    s.exit(2);
    s.join(1, 2);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "lock-order-inversion");
    EXPECT_EQ(f.certainty, Verdict::None);
    EXPECT_NE(f.title.find("T2 \"bank\""), std::string::npos) << f.title;
    EXPECT_EQ(f.threads.size(), 1u);
    EXPECT_EQ(cycleAddresses(f), (std::vector<uint64_t> { A, B }));
}

TEST(LockOrder, CommonGateLockMakesTheCycleHarmless)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, Gate, 10);
        s.pair(2, A, 11, B, 12);
        s.unlock(2, Gate);
        s.lock(3, Gate, 20);
        s.pair(3, B, 21, A, 22);
        s.unlock(3, Gate);
    });
    const LockOrderGraph& g = s.analyze();
    EXPECT_TRUE(s.findings().empty());
    EXPECT_GE(g.edges().size(), 4u); // the edges exist; only the cycle is filtered
    EXPECT_TRUE(g.cycleEdges().empty());
}

TEST(LockOrder, GateHeldOnlySometimesIsNoGate)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, Gate, 10);
        s.pair(2, A, 11, B, 12);
        s.unlock(2, Gate);
        s.pair(2, A, 11, B, 12); // the same sites without the gate
        s.lock(3, Gate, 20);
        s.pair(3, B, 21, A, 22);
        s.unlock(3, Gate);
    });
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

// More locks held than the pass keeps beside an edge's hash slot (8): the gates live in the
// edge's state, and an occurrence without the gate still drops it.
TEST(LockOrder, GateHeldOnlySometimesIsNoGateUnderManyHeldLocks)
{
    for (bool gatedEveryTime : { false, true }) {
        Script s;
        auto nested = [&](bool gate) {
            if (gate)
                s.lock(2, Gate, 10);
            for (uint32_t i = 0; i < 9; i++)
                s.lock(2, 0x555555559000ull + 64 * i, 30 + i);
            s.pair(2, A, 11, B, 12);
            for (uint32_t i = 9; i-- > 0;)
                s.unlock(2, 0x555555559000ull + 64 * i);
            if (gate)
                s.unlock(2, Gate);
        };
        twoTellers(s, [&] {
            nested(true);
            nested(gatedEveryTime);
            s.lock(3, Gate, 20);
            s.pair(3, B, 21, A, 22);
            s.unlock(3, Gate);
        });
        s.analyze();
        EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), gatedEveryTime ? 0u : 1u) << gatedEveryTime;
    }
}

// Thousands of short-lived locks at reused addresses (each a new object and a new edge) between
// the repeats of one long-lived pair: the edges of ended locks leave the pass's table, and the
// long-lived edge is still one edge with every occurrence, still part of the cycle.
TEST(LockOrder, EdgeRepeatedAmongShortLivedLocksIsOneEdgeWithEveryOccurrence)
{
    constexpr uint32_t kRounds = 3000;
    constexpr uint64_t X = 0x555555570000, Y = 0x555555570040;
    Script s;
    twoTellers(s, [&] {
        for (uint32_t r = 0; r < kRounds; r++) {
            s.pair(2, A, 11, B, 12);
            s.ev(2, RAVEL_EV_INIT, X, RAVEL_OBJ_MUTEX, 13);
            s.ev(2, RAVEL_EV_INIT, Y, RAVEL_OBJ_MUTEX, 14);
            s.pair(2, X, 15, Y, 16);
            s.ev(2, RAVEL_EV_DESTROY, Y, RAVEL_OBJ_MUTEX, 17);
            s.ev(2, RAVEL_EV_DESTROY, X, RAVEL_OBJ_MUTEX, 18);
        }
        s.pair(3, B, 21, A, 22);
    });
    const LockOrderGraph& g = s.analyze();
    ASSERT_EQ(g.edges().size(), size_t(kRounds) + 2);
    size_t ab = 0;
    std::set<std::pair<uint32_t, uint32_t>> shortLived;
    for (const LockOrderEdge& e : g.edges()) {
        const uint64_t from = s.model().objects()[e.from].address;
        if (from == A) {
            ab++;
            EXPECT_EQ(e.count, kRounds);
        } else if (from == X) {
            EXPECT_EQ(e.count, 1u);
            shortLived.insert({ e.from, e.to });
        }
    }
    EXPECT_EQ(ab, 1u);
    EXPECT_EQ(shortLived.size(), size_t(kRounds)); // every generation its own pair of objects
    ASSERT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
    EXPECT_EQ(cycleAddresses(s.findings()[0]), (std::vector<uint64_t> { A, B }));
}

TEST(LockOrder, ThreadsOrderedByCreateAndJoinAreClean)
{
    Script s;
    s.spawn(1, 2, "teller-ab");
    s.pair(2, A, 11, B, 12);
    s.exit(2);
    s.join(1, 2);
    s.spawn(1, 3, "teller-ba");
    s.pair(3, B, 21, A, 22);
    s.exit(3);
    s.join(1, 3);
    // main's own edges: before creating a thread, and after joining it.
    s.pair(1, A, 31, C, 32);
    s.spawn(1, 4, "late");
    s.pair(4, C, 41, A, 42);
    s.exit(4);
    s.join(1, 4);
    s.pair(1, C, 51, D, 52);
    s.pair(1, A, 31, C, 32);
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 0u);
}

TEST(LockOrder, MainRacingItsChildIsAPotentialDeadlock)
{
    Script s;
    s.spawn(1, 2, "child");
    s.pair(2, B, 21, A, 22);
    s.pair(1, A, 11, B, 12); // after create, before join: they can overlap
    s.exit(2);
    s.join(1, 2);
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

TEST(LockOrder, SignalToWakeOrdersSegments)
{
    Script s;
    twoTellers(s, [&] {
        s.ev(3, RAVEL_EV_WAIT_REQ, Cond, RAVEL_OBJ_COND, 5);
        s.pair(2, A, 11, B, 12);
        s.ev(2, RAVEL_EV_SIGNAL, Cond, RAVEL_OBJ_COND, 6, 1);
        s.ev(3, RAVEL_EV_WOKEN, Cond, RAVEL_OBJ_COND, 5, 2);
        s.pair(3, B, 21, A, 22);
    });
    s.analyze();
    EXPECT_TRUE(s.findings().empty()) << s.findings()[0].title;
}

TEST(LockOrder, BarrierOrdersPhases)
{
    Script s;
    twoTellers(s, [&] {
        s.ev(2, RAVEL_EV_INIT, Bar, RAVEL_OBJ_BARRIER, 7, 2);
        s.pair(2, A, 11, B, 12);
        s.ev(2, RAVEL_EV_WAIT_REQ, Bar, RAVEL_OBJ_BARRIER, 8);
        s.ev(3, RAVEL_EV_WAIT_REQ, Bar, RAVEL_OBJ_BARRIER, 8);
        s.ev(3, RAVEL_EV_WOKEN, Bar, RAVEL_OBJ_BARRIER, 8, 1);
        s.ev(2, RAVEL_EV_WOKEN, Bar, RAVEL_OBJ_BARRIER, 8, 2);
        s.pair(3, B, 21, A, 22);
    });
    s.analyze();
    EXPECT_TRUE(s.findings().empty());
}

TEST(LockOrder, SemaphorePostToWaitOrdersSegments)
{
    constexpr uint64_t Sem = 0x555555558400;
    Script s;
    twoTellers(s, [&] {
        s.pair(2, A, 11, B, 12);
        s.ev(2, RAVEL_EV_SIGNAL, Sem, RAVEL_OBJ_SEM, 6, 1);
        s.ev(3, RAVEL_EV_PASS, Sem, RAVEL_OBJ_SEM, 5, 2); // sem_wait that did not block
        s.pair(3, B, 21, A, 22);
    });
    s.analyze();
    EXPECT_TRUE(s.findings().empty());
}

TEST(LockOrder, OneOrderedOccurrenceDoesNotHideAnUnorderedOne)
{
    // T3's B->A is ordered after T2's first A->B by a signal, but T2 takes A->B again afterwards.
    Script s;
    twoTellers(s, [&] {
        s.pair(2, A, 11, B, 12);
        s.ev(2, RAVEL_EV_SIGNAL, Cond, RAVEL_OBJ_COND, 6, 1);
        s.ev(3, RAVEL_EV_WOKEN, Cond, RAVEL_OBJ_COND, 5, 2);
        s.pair(3, B, 21, A, 22);
        s.pair(2, A, 11, B, 12);
    });
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

TEST(LockOrder, OneThreadInversionUnderAGateIsNoNote)
{
    Script s;
    s.spawn(1, 2, "bank");
    s.lock(2, Gate, 10);
    s.pair(2, A, 11, B, 12);
    s.unlock(2, Gate);
    s.lock(2, Gate, 20);
    s.pair(2, B, 21, A, 22);
    s.unlock(2, Gate);
    s.analyze();
    EXPECT_TRUE(s.findings().empty());
}

TEST(LockOrder, LocksOwnReleaseAcquireOrdersNothing)
{
    Script s;
    twoTellers(s, [&] {
        // T3 starts only after taking the lock T2 released last: that is what is being predicted.
        s.pair(2, A, 11, B, 12);
        s.lock(2, C, 13);
        s.unlock(2, C);
        s.lock(3, C, 23);
        s.unlock(3, C);
        s.pair(3, B, 21, A, 22);
    });
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

TEST(LockOrder, NoEdgeIntoATrylockedLock)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11);
        s.lock(2, B, 12, RAVEL_OBJ_MUTEX | RAVEL_F_TRY);
        s.unlock(2, B);
        s.unlock(2, A);
        s.pair(3, B, 21, A, 22);
    });
    const LockOrderGraph& g = s.analyze();
    EXPECT_TRUE(s.findings().empty());
    EXPECT_EQ(g.edges().size(), 1u);
}

TEST(LockOrder, TrylockedLockStillCountsAsHeld)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11, RAVEL_OBJ_MUTEX | RAVEL_F_TRY);
        s.lock(2, B, 12);
        s.unlock(2, B);
        s.unlock(2, A);
        s.pair(3, B, 21, A, 22);
    });
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

TEST(LockOrder, ContendedAcquisitionMakesOneEdge)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11);
        s.ev(2, RAVEL_EV_ACQ_REQ, B, RAVEL_OBJ_MUTEX, 12);
        s.lock(2, B, 12, RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED);
        s.unlock(2, B);
        s.unlock(2, A);
    });
    const LockOrderGraph& g = s.analyze();
    ASSERT_EQ(g.edges().size(), 1u);
    EXPECT_EQ(g.edges()[0].thread, 2u);
}

TEST(LockOrder, RecursiveReacquisitionIsNoEdge)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11);
        s.lock(2, A, 12);
        s.unlock(2, A);
        s.unlock(2, A);
    });
    const LockOrderGraph& g = s.analyze();
    EXPECT_TRUE(g.edges().empty());
}

TEST(LockOrder, ReadersInOppositeOrdersAreClean)
{
    const unsigned rd = RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED;
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11, rd);
        s.lock(2, B, 12, rd);
        s.unlock(2, B, rd);
        s.unlock(2, A, rd);
        s.lock(3, B, 21, rd);
        s.lock(3, A, 22, rd);
        s.unlock(3, A, rd);
        s.unlock(3, B, rd);
    });
    s.analyze();
    EXPECT_TRUE(s.findings().empty());
}

TEST(LockOrder, ReaderAgainstWriterInOppositeOrdersIsAPotentialDeadlock)
{
    // T2 reads A then B; T3 writes B then A: T2 waits for T3's write of B, T3 for T2's read of A.
    const unsigned rd = RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED, wr = RAVEL_OBJ_RWLOCK;
    Script s;
    twoTellers(s, [&] {
        s.lock(2, A, 11, rd);
        s.lock(2, B, 12, rd);
        s.unlock(2, B, rd);
        s.unlock(2, A, rd);
        s.lock(3, B, 21, wr);
        s.lock(3, A, 22, wr);
        s.unlock(3, A, wr);
        s.unlock(3, B, wr);
    });
    s.analyze();
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
}

TEST(LockOrder, ThreeThreadCycleIsOnePattern)
{
    Script s;
    s.spawn(1, 2, "x");
    s.spawn(1, 3, "y");
    s.spawn(1, 4, "z");
    s.pair(2, A, 11, B, 12);
    s.pair(3, B, 21, C, 22);
    s.pair(4, C, 31, A, 32);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(f.edges.size(), 3u);
    EXPECT_EQ(f.threads.size(), 3u);
    EXPECT_EQ(f.instances, 1u);
    EXPECT_NE(f.title.find("3 locks"), std::string::npos) << f.title;
}

TEST(LockOrder, DiningThatDidNotDeadlockIsOnePatternOfFive)
{
    Script s;
    const uint64_t fork0 = 0x555555559000;
    for (uint32_t i = 0; i < 5; i++)
        s.spawn(1, 2 + i, "philosopher");
    // One at a time, the same code: left fork at site 11, right fork at site 12.
    for (uint32_t i = 0; i < 5; i++)
        s.pair(2 + i, fork0 + 40 * i, 11, fork0 + 40 * ((i + 1) % 5), 12);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.edges.size(), 5u);
    EXPECT_EQ(f.threads.size(), 5u);
    EXPECT_EQ(f.instances, 1u);
    for (size_t i = 0; i < 5; i++)
        EXPECT_EQ(f.edges[i].to, f.edges[(i + 1) % 5].from);
}

TEST(LockOrder, SameSitesOnOtherLocksAreMoreInstancesOfOnePattern)
{
    Script s;
    for (uint32_t i = 0; i < 4; i++)
        s.spawn(1, 2 + i, "teller");
    // transfer(from, to) called for two account pairs, each in both directions.
    s.pair(2, A, 11, B, 12);
    s.pair(3, B, 11, A, 12);
    s.pair(4, C, 11, D, 12);
    s.pair(5, D, 11, C, 12);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.instances, 2u);
    EXPECT_EQ(f.moreExamples.size(), 1u);
    EXPECT_EQ(f.objects.size(), 4u);
}

TEST(LockOrder, OneLockCallReachedFromTwoCallersIsOnePattern)
{
    Script s;
    // transfer() locks at 0x1000 and 0x1010; callers x (0x2000) and y (0x3000) make distinct stacks.
    s.b.stack(11, { 0x1000, 0x2000 });
    s.b.stack(12, { 0x1010, 0x2000 });
    s.b.stack(21, { 0x1000, 0x3000 });
    s.b.stack(22, { 0x1010, 0x3000 });
    for (uint32_t i = 0; i < 4; i++)
        s.spawn(1, 2 + i, "teller");
    s.pair(2, A, 11, B, 12);
    s.pair(3, B, 21, A, 22);
    s.pair(4, C, 11, D, 12);
    s.pair(5, D, 11, C, 12);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    EXPECT_EQ(s.findings()[0].instances, 2u);
    ASSERT_EQ(s.findings()[0].moreExamples.size(), 1u);
}

TEST(LockOrder, ThreadHoldingThreeHundredLocks)
{
    Script s;
    s.spawn(1, 2, "hoarder");
    s.spawn(1, 3, "other");
    const uint64_t base = 0x55555555a000;
    for (uint32_t i = 0; i < 300; i++)
        s.lock(2, base + 64 * i, 100 + i);
    for (uint32_t i = 300; i-- > 0;)
        s.unlock(2, base + 64 * i);
    s.pair(3, base + 64 * 299, 21, base, 22);
    const LockOrderGraph& g = s.analyze();
    EXPECT_EQ(g.edges().size(), 300u * 299 / 2 + 1);
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(cycleAddresses(f), (std::vector<uint64_t> { base, base + 64 * 299 }));
    EXPECT_EQ(f.instances, 1u);
}

// ---- Prediction that scales (issue 16 item 4): one finding per strongly connected component ----

namespace {

uint64_t lockAt(uint32_t i) { return 0x55555556a000ull + 64 * i; }

double secondsOf(const std::function<void()>& f)
{
    auto t0 = std::chrono::steady_clock::now();
    f();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

} // namespace

// One thread nests 45 locks in rotating orders (round r takes L_r ... L_r+44), another takes them
// all in the reverse order: 990 lock pairs taken both ways, millions of simple cycles, one bug.
// It took 3.7 s and gave thousands of cycles; now one finding, quickly, with its component's size.
TEST(LockOrder, RotatingLocksAgainstAReversingThreadAreOneFinding)
{
    Script s;
    const uint32_t n = 45;
    twoTellers(s, [&] {
        for (uint32_t r = 0; r < n; r++) {
            for (uint32_t i = 0; i < n; i++)
                s.lock(2, lockAt((r + i) % n), 10 + (r + i) % n);
            for (uint32_t i = n; i-- > 0;)
                s.unlock(2, lockAt((r + i) % n));
        }
        for (uint32_t i = n; i-- > 0;)
            s.lock(3, lockAt(i), 100 + i);
        for (uint32_t i = 0; i < n; i++)
            s.unlock(3, lockAt(i));
    });
    double secs = secondsOf([&] { s.analyze(); });
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    ASSERT_EQ(f.edges.size(), 2u); // the shortest cycles are shown
    EXPECT_EQ(f.componentLocks, n);
    EXPECT_EQ(f.componentEdges, uint64_t(n) * (n - 1)); // every ordered pair
    // Neighbours L_i, L_i+1 at least are not gated by a lock both always hold (the gates kept per
    // edge are the outermost few); counted exactly, as 2 threads make no longer cycle that can wait.
    EXPECT_GE(f.instances, 44u);
    EXPECT_LE(f.instances, uint64_t(n) * (n - 1) / 2);
    EXPECT_FALSE(f.instancesAtLeast);
    EXPECT_EQ(f.moreExamples.size(), 3u);
    EXPECT_LT(secs, 2.0);
}

// Eight locks, eight acquire sites, four unordered threads nesting three locks at random: once
// 11,300 findings (every simple cycle a pattern). One component, one finding, with examples.
TEST(LockOrder, EightLocksFromEightSitesAreAHandfulOfFindings)
{
    Script s;
    for (uint32_t t = 2; t <= 5; t++)
        s.spawn(1, t, "worker");
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    auto next = [&] {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        return rng;
    };
    for (int i = 0; i < 2000; i++) {
        uint32_t t = 2 + uint32_t(next() % 4);
        uint32_t a = uint32_t(next() % 8), b = uint32_t(next() % 8), c = uint32_t(next() % 8);
        if (a == b || b == c || a == c)
            continue;
        s.lock(t, lockAt(a), 1 + uint32_t(next() % 8));
        s.lock(t, lockAt(b), 1 + uint32_t(next() % 8));
        s.lock(t, lockAt(c), 1 + uint32_t(next() % 8));
        s.unlock(t, lockAt(c));
        s.unlock(t, lockAt(b));
        s.unlock(t, lockAt(a));
    }
    double secs = secondsOf([&] { s.analyze(); });
    ASSERT_GE(s.findings().size(), 1u);
    EXPECT_LE(s.findings().size(), 3u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(f.edges.size(), 2u);
    EXPECT_EQ(f.componentLocks, 8u);
    EXPECT_GT(f.instances, 100u);
    EXPECT_GT(f.patterns, 10u);
    EXPECT_EQ(f.moreExamples.size(), 3u);
    EXPECT_LT(secs, 5.0);
}

TEST(LockOrder, TwoIndependentInversionsAreTwoFindings)
{
    Script s;
    for (uint32_t t = 2; t <= 5; t++)
        s.spawn(1, t, "teller");
    s.pair(2, A, 11, B, 12);
    s.pair(3, B, 21, A, 22);
    s.pair(4, C, 31, D, 32);
    s.pair(5, D, 41, C, 42);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 2u);
    std::set<std::vector<uint64_t>> cycles;
    for (const Finding& f : s.findings()) {
        EXPECT_EQ(f.kind, "potential-deadlock");
        EXPECT_EQ(f.instances, 1u);
        EXPECT_EQ(f.componentLocks, 2u);
        cycles.insert(cycleAddresses(f));
    }
    EXPECT_EQ(cycles, (std::set<std::vector<uint64_t>> { { A, B }, { C, D } }));
}

// A, B, C strongly connected, but every cycle repeats a thread or is gated by G: checked to the
// end and all invalid, so nothing to report (not even a note).
TEST(LockOrder, ComponentWhoseCyclesAreAllInvalidIsNotReported)
{
    Script s;
    twoTellers(s, [&] {
        s.lock(2, Gate, 10);
        s.pair(2, A, 11, B, 12);
        s.pair(2, B, 13, C, 14);
        s.unlock(2, Gate);
        s.lock(3, Gate, 20);
        s.pair(3, C, 21, A, 22);
        s.pair(3, B, 23, A, 24);
        s.unlock(3, Gate);
    });
    const LockOrderGraph& g = s.analyze();
    EXPECT_TRUE(s.findings().empty()) << s.findings()[0].title;
    EXPECT_GE(g.edges().size(), 4u);
    EXPECT_TRUE(g.cycleEdges().empty());
}

// One thread takes 200 locks around a ring (L_i then L_i+1): its only cycle has 200 locks, past
// what the search follows. Not silent: a note says the cycles could not be confirmed.
TEST(LockOrder, CyclesTooLongToConfirmAreANoteThatSaysSo)
{
    Script s;
    s.spawn(1, 2, "ring");
    const uint32_t n = 200;
    for (uint32_t i = 0; i < n; i++)
        s.pair(2, lockAt(i), 11, lockAt((i + 1) % n), 12);
    s.analyze();
    ASSERT_EQ(s.findings().size(), 1u);
    const Finding& f = s.findings()[0];
    EXPECT_EQ(f.kind, "lock-order-inversion");
    EXPECT_NE(f.title.find("could not be confirmed"), std::string::npos) << f.title;
    EXPECT_EQ(f.componentLocks, n);
    EXPECT_EQ(f.componentEdges, n);
    EXPECT_TRUE(f.edges.empty());
    EXPECT_EQ(f.objects.size(), 8u);
}

// More components with a bug than the cap: the first ones reported, one line says how many more.
TEST(LockOrder, MoreFindingsThanTheCapSayHowManyThereWere)
{
    Script s;
    const uint32_t pairs = 70;
    for (uint32_t i = 0; i < pairs; i++) {
        s.spawn(1, 2 + 2 * i, "ab");
        s.spawn(1, 3 + 2 * i, "ba");
        // Distinct sites per pair: 70 different bugs.
        s.pair(2 + 2 * i, lockAt(2 * i), 1000 + 4 * i, lockAt(2 * i + 1), 1001 + 4 * i);
        s.pair(3 + 2 * i, lockAt(2 * i + 1), 1002 + 4 * i, lockAt(2 * i), 1003 + 4 * i);
    }
    s.analyze();
    ASSERT_EQ(s.findings().size(), 64u);
    size_t capLines = 0;
    for (const Finding& f : s.findings())
        for (const std::string& note : f.notes)
            capLines += note.find("the trace has 70 lock-order findings") != std::string::npos;
    EXPECT_EQ(capLines, 1u);
}

namespace {

// Times the lock-order pass alone (the reader's index and the replay model are built first) and
// prints events/s: the budget is 20M events/s for the whole report, reading included.
void timePass(TraceBuilder& b, uint64_t events, const char* what, size_t expectEdgesAtLeast)
{
    char dir[] = "/tmp/ravel-lockorder-XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    std::string path = std::string(dir) + "/t.ravel";
    b.write(path);
    {
        TraceReader reader(path);
        ReplayModel model(reader);
        auto t0 = std::chrono::steady_clock::now();
        LockOrderGraph g(model);
        double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("lock-order pass, %s: %llu events in %.3f s = %.1fM events/s, %zu edges\n", what,
                    (unsigned long long)events, secs, double(events) / secs / 1e6, g.edges().size());
        EXPECT_GE(g.edges().size(), expectEdgesAtLeast);
    }
    std::filesystem::remove_all(dir);
}

} // namespace

TEST(LockOrder, SpeedOnALockHeavyTrace)
{
    TraceBuilder b(1 << 16);
    uint64_t events = ravel::test::buildLockHeavy(b, 4, 64, 250'000);
    timePass(b, events, "flat critical sections", 0);
}

TEST(LockOrder, SpeedWhenEveryCriticalSectionNests)
{
    // Every operation takes two of 16 mutexes, always the lower address first (no cycle), from a
    // few sites: each nested acquisition is an edge occurrence to fold into the table.
    TraceBuilder b(1 << 16);
    const unsigned threads = 4, mutexes = 16;
    uint64_t rng = 88172645463325252ull, tsc = 1000, events = 0;
    std::vector<uint32_t> seq(mutexes, 1);
    for (uint32_t t = 1; t <= threads; t++) {
        b.thread(t, "worker").start_tsc = TraceBuilder::StartTsc + tsc;
        b.time(t, tsc);
    }
    for (uint64_t i = 0; i < 100'000 * threads; i++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        uint32_t t = 1 + uint32_t(rng % threads);
        unsigned m1 = unsigned((rng >> 8) % mutexes), m2 = unsigned((rng >> 20) % mutexes);
        if (m1 == m2)
            continue;
        if (m1 > m2)
            std::swap(m1, m2);
        uint64_t o1 = 0x55555555a040ull + 40 * m1, o2 = 0x55555555a040ull + 40 * m2;
        if (i % 4096 == 0)
            b.time(t, tsc += 4096 * 40);
        b.event(t, RAVEL_EV_ACQUIRED, o1, seq[m1]++, 1 + (rng >> 40) % 3, RAVEL_OBJ_MUTEX);
        b.event(t, RAVEL_EV_ACQUIRED, o2, seq[m2]++, 4 + (rng >> 44) % 3, RAVEL_OBJ_MUTEX);
        b.event(t, RAVEL_EV_RELEASE, o2, 0, 7, RAVEL_OBJ_MUTEX);
        b.event(t, RAVEL_EV_RELEASE, o1, 0, 8, RAVEL_OBJ_MUTEX);
        events += 4;
    }
    timePass(b, events, "nested pairs", 1000);
}


// A big trace builds the model and the lock-order graph in one shared pass, on three threads (the
// merge, the model, the lock-order consumer): the result must be the lock-order graph a pass of
// its own finds, and the model must hold every span.
TEST(LockOrder, GraphBuiltBesideTheModelEqualsTheOneBuiltAlone)
{
    Script s;
    constexpr uint32_t kRounds = 70000; // 560k events: above the size that shares the pass
    twoTellers(s, [&] {
        for (uint32_t i = 0; i < kRounds; i++) {
            s.pair(2, A, 1, B, 2);
            s.pair(3, B, 3, A, 4);
        }
    });
    const LockOrderGraph& alone = s.analyze();
    const LockOrderGraph& shared = s.run().lockOrder();
    ASSERT_GT(s.model().eventCount(), uint64_t(1) << 18);
    EXPECT_EQ(s.model().holdSpans().size(), size_t(4) * kRounds);
    ASSERT_EQ(shared.edges().size(), alone.edges().size());
    for (size_t i = 0; i < alone.edges().size(); i++) {
        EXPECT_EQ(shared.edges()[i].from, alone.edges()[i].from) << "edge " << i;
        EXPECT_EQ(shared.edges()[i].to, alone.edges()[i].to) << "edge " << i;
        EXPECT_EQ(shared.edges()[i].thread, alone.edges()[i].thread) << "edge " << i;
    }
    const std::vector<Finding> found = shared.findings();
    ASSERT_EQ(countKind(found, "potential-deadlock"), 1u);
    EXPECT_EQ(countKind(s.findings(), "potential-deadlock"), 1u);
    EXPECT_EQ(found[0].title, s.findings()[0].title);
}

