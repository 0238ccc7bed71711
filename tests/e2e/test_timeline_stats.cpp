// End to end: `ravel info --json`'s hold and wait statistics agree with what a real program
// measures itself (clock_gettime around its own lock holds and waits), within 1 ms or 10%,
// whichever is larger (issue 11, "a true timeline").
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>

using namespace ravel::e2e;

namespace {

// The program's own lines: "hold NAME COUNT TOTAL MAX" and "wait WHO TOTAL".
struct Measured {
    std::map<std::string, std::vector<int64_t>> holds;
    std::map<std::string, int64_t> waits;
};

Measured parse(const std::string& out)
{
    Measured m;
    std::istringstream in(out);
    std::string what, name;
    while (in >> what >> name) {
        if (what == "hold") {
            int64_t c, total, max;
            in >> c >> total >> max;
            m.holds[name] = {c, total, max};
        } else {
            int64_t total;
            in >> total;
            m.waits[name] = total;
        }
    }
    return m;
}

#define EXPECT_CLOSE(ravel, program, what)                                                                    \
    do {                                                                                                      \
        const int64_t r_ = (ravel), p_ = (program);                                                           \
        const int64_t tol_ = std::max<int64_t>(1'000'000, p_ / 10);                                           \
        EXPECT_LE(std::llabs(r_ - p_), tol_) << what << ": ravel info says " << r_ << " ns, the program measured " \
                                             << p_ << " ns";                                                  \
    } while (0)

const nlohmann::json* threadById(const nlohmann::json& info, int64_t id)
{
    for (const auto& t : info["threads"])
        if (t.value("id", int64_t(0)) == id)
            return &t;
    return nullptr;
}

TEST(TimelineStats, MergeDoesNotStallOnATrylockOfAHeldItemLock)
{
    // The cache server's pattern. A stalled merge delivered everything after the cycle at the end
    // of the trace: a thread that never stopped working looked blocked for most of its life.
    TempDir dir("timeline-stall");
    const std::string trace = dir.file("locks.ravel");
    RunResult run = ravelRun(trace, {helper("e2e_timeline_locks")});
    ASSERT_EQ(run.status, 0) << run.err;
    Measured m = parse(run.out);
    ASSERT_EQ(m.holds.size(), 2u) << run.out;
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err << infoRun.out;
    for (const char* name : {"item_lock", "list_lock"}) {
        const nlohmann::json* lock = findObject(*info, name, "mutex");
        ASSERT_NE(lock, nullptr) << name << " not in " << (*info)["objects"].dump();
        EXPECT_EQ(count(lock, "acquisitions"), m.holds[name][0]) << name;
    }
    for (int64_t id : {2, 3}) {
        const nlohmann::json* t = threadById(*info, id);
        ASSERT_NE(t, nullptr) << (*info)["threads"].dump();
        const int64_t life = t->value("exit_ns", int64_t(0)) - t->value("start_ns", int64_t(0));
        EXPECT_GT(life, 0) << t->dump();
        EXPECT_LT(count(t, "wait_ns_total"), life / 2) << "thread " << id << " " << t->dump();
    }
    EXPECT_CLOSE(count(threadById(*info, 3), "wait_ns_total"), m.waits["b"], "thread B's waits");
}

// The check: `ravel info`'s holds and waits agree with the program's own clock within
// 1 ms or 10%. The releases and uncontended acquisitions here are unstamped (one-byte records);
// what places them is the stamp the runtime writes before each nanosleep and at the first event
// after it (intercept_block.cpp), read as a bound of the event before (trace-format.md, "Time").
// Without it the item lock's total came out 30% high: each release was spread over the sleep.
TEST(TimelineStats, HoldsAndWaitsAroundATrylockAgreeWithTheProgramsOwnClock)
{
    TempDir dir("timeline-locks");
    const std::string trace = dir.file("locks.ravel");
    RunResult run = ravelRun(trace, {helper("e2e_timeline_locks")});
    ASSERT_EQ(run.status, 0) << run.err;
    Measured m = parse(run.out);
    ASSERT_EQ(m.holds.size(), 2u) << run.out;

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err << infoRun.out;
    for (const char* name : {"item_lock", "list_lock"}) {
        const nlohmann::json* lock = findObject(*info, name, "mutex");
        ASSERT_NE(lock, nullptr) << name << " not in " << (*info)["objects"].dump();
        const std::vector<int64_t>& own = m.holds[name];
        EXPECT_EQ(count(lock, "acquisitions"), own[0]) << name;
        EXPECT_CLOSE(count(lock, "hold_ns_total"), own[1], std::string(name) + " hold total");
        EXPECT_CLOSE(count(lock, "hold_ns_max"), own[2], std::string(name) + " hold max");
    }
    // Threads 2 and 3 are A and B (created in that order): a stalled merge made a thread that
    // never stopped working look blocked for seconds.
    const nlohmann::json* a = threadById(*info, 2);
    const nlohmann::json* b = threadById(*info, 3);
    ASSERT_TRUE(a && b) << (*info)["threads"].dump();
    EXPECT_CLOSE(count(a, "wait_ns_total"), m.waits["a"], "thread A's waits");
    EXPECT_CLOSE(count(b, "wait_ns_total"), m.waits["b"], "thread B's waits");
}

// Both stamps of main's lock at 0.1 s are the runtime's own (after the real lock returns, before
// the real unlock): on a loaded machine the thread is sometimes descheduled between those stamps
// and its own clock_gettime calls, and the mutex really was held ~10 ms by then. That is not
// the placement this test is about (which was wrong on every run: 1.05 s), so a run gets up to
// three attempts; the failures of the last one are reported.
TEST(TimelineStats, ReleaseInsideACondWaitEndsTheHoldAtTheWaitsStart)
{
    TempDir dir("timeline-cond");
    for (int attempt = 1; attempt <= 3; ++attempt) {
        const std::string trace = dir.file("cond" + std::to_string(attempt) + ".ravel");
        RunResult run = ravelRun(trace, {helper("e2e_timeline_condwait")});
        ASSERT_EQ(run.status, 0) << run.err;
        Measured m = parse(run.out);
        ASSERT_EQ(m.holds.size(), 1u) << run.out;

        RunResult infoRun;
        auto info = infoJson(trace, &infoRun);
        ASSERT_TRUE(info) << infoRun.err << infoRun.out;
        const nlohmann::json* lock = findObject(*info, "pool_lock", "mutex");
        ASSERT_NE(lock, nullptr) << (*info)["objects"].dump();
        const nlohmann::json* cond = findObject(*info, "pool_cond");
        ASSERT_NE(cond, nullptr) << (*info)["objects"].dump();
        const std::vector<int64_t>& own = m.holds["pool_lock"];
        auto close = [](int64_t r, int64_t p) { return std::llabs(r - p) <= std::max<int64_t>(1'000'000, p / 10); };
        const bool ok = count(lock, "hold_ns_max") < 10'000'000 && count(lock, "acquisitions") == own[0]
            && close(count(lock, "hold_ns_total"), own[1]) && close(count(lock, "hold_ns_max"), own[2])
            && close(count(cond, "wait_ns_total"), m.waits["pool_cond"]);
        if (ok)
            return;
        if (attempt < 3)
            continue;
        EXPECT_LT(count(lock, "hold_ns_max"), 10'000'000) << "the mutex is released inside the cond wait";
        EXPECT_EQ(count(lock, "acquisitions"), own[0]);
        EXPECT_CLOSE(count(lock, "hold_ns_total"), own[1], "pool_lock hold total");
        EXPECT_CLOSE(count(lock, "hold_ns_max"), own[2], "pool_lock hold max");
        EXPECT_CLOSE(count(cond, "wait_ns_total"), m.waits["pool_cond"], "pool_cond wait");
    }
}

} // namespace
