// End to end: record real pthread programs with `ravel run` and check, through `ravel info --json`
// and `ravel dump`, the exact numbers a user can compute from the program's source.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace ravel::e2e;

namespace {

TEST(RecordCounts, CounterHasExactAcquisitionsAndEveryThread)
{
    TempDir dir("counter");
    const std::string trace = dir.file("counter.ravel");
    RunResult run = ravelRun(trace, {example("counter_pthread"), "4", "10000"});
    ASSERT_EQ(run.status, 0) << run.err;
    EXPECT_EQ(run.out, "40000\n") << "ravel run must pass the program's stdout through unchanged";
    ASSERT_TRUE(fs::exists(trace));

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err << infoRun.out;

    EXPECT_GT((*info)["events"].get<int64_t>(), 80000) << "4 x 10000 lock/unlock pairs at least";
    EXPECT_NE((*info)["program"].get<std::string>().find("counter_pthread"), std::string::npos);
    EXPECT_TRUE((*info)["ended"].get<bool>());
    EXPECT_EQ((*info)["events_by_kind"]["ACQUIRED"].get<int64_t>(), 40000);
    EXPECT_EQ((*info)["events_by_kind"]["RELEASE"].get<int64_t>(), 40000);

    const nlohmann::json* lock = findObject(*info, "counter_lock", "mutex");
    ASSERT_NE(lock, nullptr) << "no mutex named counter_lock in " << (*info)["objects"].dump();
    EXPECT_EQ(count(lock, "acquisitions"), 40000) << "every worker locks it 10000 times; main never does";
    // Every acquisition that had to wait wrote one request: counter_lock is the only lock, and
    // main takes none, so its contended count is the trace's request count, however many.
    EXPECT_EQ(count(lock, "contended"), (*info)["events_by_kind"].value("ACQ_REQ", int64_t(0)));
    EXPECT_LE(count(lock, "contended"), count(lock, "acquisitions"));
    EXPECT_LE(count(lock, "contended"), 40000);
    EXPECT_GE(count(lock, "hold_ns_total"), count(lock, "hold_ns_max"));
    EXPECT_GE(count(lock, "wait_ns_total"), count(lock, "wait_ns_max"));
    EXPECT_TRUE(lock->contains("id"));
    EXPECT_TRUE(lock->contains("address"));

    const auto& threads = (*info)["threads"];
    ASSERT_EQ(threads.size(), 5u) << "main + 4 workers: " << threads.dump();
    std::set<int64_t> ids, tids;
    for (const auto& t : threads) {
        EXPECT_GT(t["pid"].get<int64_t>(), 0);
        EXPECT_GT(t["os_tid"].get<int64_t>(), 0);
        ids.insert(t["id"].get<int64_t>());
        tids.insert(t["os_tid"].get<int64_t>());
        EXPECT_EQ(t["pid"], threads[0]["pid"]) << "one process";
    }
    EXPECT_EQ(ids.size(), 5u);
    EXPECT_EQ(tids.size(), 5u);
}

TEST(RecordCounts, RunPassesExitStatusAndStderrThrough)
{
    TempDir dir("status");
    // THREADS 0 is refused by the program with a usage line and status 2.
    RunResult run = ravelRun(dir.file("usage.ravel"), {example("counter_pthread"), "0"});
    EXPECT_EQ(run.status, 2);
    EXPECT_NE(run.err.find("usage:"), std::string::npos) << run.err;
}

TEST(RecordCounts, DefaultTraceNameIsProgramDotPid)
{
    TempDir dir("default-name");
    RunOptions options;
    options.cwd = dir.path().string();
    RunResult run = ::ravel::e2e::run({ravelBinary(), "run", "-q", "--", example("counter_pthread"), "2", "100"}, options);
    ASSERT_EQ(run.status, 0) << run.err;
    std::vector<std::string> traces;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        traces.push_back(entry.path().filename().string());
    ASSERT_EQ(traces.size(), 1u);
    EXPECT_EQ(traces[0].rfind("counter_pthread.", 0), 0u) << traces[0];
    EXPECT_TRUE(traces[0].size() > 6 && traces[0].ends_with(".ravel")) << traces[0];
}

TEST(RecordCounts, SemaphoreBarrierOnceSpinlockAndMutexTypesAreCountedExactly)
{
    TempDir dir("sem-barrier");
    const std::string trace = dir.file("sem.ravel");
    RunResult run = ravelRun(trace, {example("sem_barrier")});
    ASSERT_EQ(run.status, 0) << run.err << run.out;

    auto info = infoJson(trace);
    ASSERT_TRUE(info);
    const nlohmann::json* sem = findObject(*info, "work_sem", "semaphore");
    ASSERT_NE(sem, nullptr) << (*info)["objects"].dump();
    EXPECT_EQ(count(sem, "signals"), 15) << "sem_post 3 x 5 times: " << sem->dump();
    // A sem_wait that found a token passes; one that had to block waits: 15 in all, none failed.
    EXPECT_EQ(count(sem, "waits") + count(sem, "passes"), 15) << sem->dump();
    const nlohmann::json* barrier = findObject(*info, "round_barrier", "barrier");
    ASSERT_NE(barrier, nullptr);
    EXPECT_EQ(count(barrier, "waits") + count(barrier, "passes"), 12) << "3 threads x 4 rounds: " << barrier->dump();
    EXPECT_NE(findObject(*info, "init_once", "once"), nullptr);
    EXPECT_EQ(count(findObject(*info, "stats_spin", "spinlock"), "acquisitions"), 15);
    EXPECT_EQ(count(findObject(*info, "check_lock", "mutex"), "acquisitions"), 12) << "errorcheck mutex";
    EXPECT_EQ(count(findObject(*info, "log_lock", "mutex"), "acquisitions"), 24) << "recursive: 12 outer + 12 nested";

    std::set<std::string> names;
    for (const auto& t : (*info)["threads"])
        names.insert(t.value("name", ""));
    for (const char* n : {"worker-0", "worker-1", "worker-2"})
        EXPECT_TRUE(names.count(n)) << "thread " << n << " missing from " << (*info)["threads"].dump();

    RunResult dump = ::ravel::e2e::run({ravelBinary(), "dump", trace});
    ASSERT_EQ(dump.status, 0) << dump.err;
    EXPECT_EQ(dumpLines(dump.out, "SIGNAL", "work_sem").size(), 15u) << "sem_post 3 x 5 times";
    EXPECT_EQ(dumpLines(dump.out, "WOKEN", "work_sem").size() + dumpLines(dump.out, "PASS", "work_sem").size(), 15u)
        << "successful sem_wait 3 x 5 times";
    EXPECT_EQ(dumpLines(dump.out, "WAIT_FAIL", "work_sem").size(), 0u);
    EXPECT_EQ(dumpLines(dump.out, "WOKEN", "round_barrier").size() + dumpLines(dump.out, "PASS", "round_barrier").size(), 12u)
        << "pthread_barrier_wait 3 threads x 4 rounds";
}

} // namespace
