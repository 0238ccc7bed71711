// End to end: the C++ standard library's primitives sit on pthreads, so ravel must see every one
// of them (std::mutex, std::shared_mutex, std::timed_mutex, std::recursive_mutex,
// std::condition_variable, std::thread, std::jthread, static-local guards) without any change to
// the program.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <set>

using namespace ravel::e2e;

namespace {

struct Recorded {
    RunResult run;
    nlohmann::json info;
    std::string dump;
};

// Records `program` and returns its info JSON and dump; fails the test when any step fails.
void record(TempDir& dir, const std::vector<std::string>& program, Recorded& r)
{
    const std::string trace = dir.file("t.ravel");
    r.run = ravelRun(trace, program);
    ASSERT_EQ(r.run.status, 0) << r.run.err << r.run.out;
    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    r.info = *info;
    RunResult dump = run({ravelBinary(), "dump", trace});
    ASSERT_EQ(dump.status, 0) << dump.err;
    r.dump = dump.out;
}

std::set<std::string> threadNames(const nlohmann::json& info)
{
    std::set<std::string> names;
    for (const auto& t : info["threads"])
        names.insert(t.value("name", ""));
    return names;
}

TEST(RecordStd, StdMutexPerAccountAndStdThreads)
{
    TempDir dir("bank");
    Recorded r;
    record(dir, {example("bank_std"), "4", "5000"}, r);
    if (HasFatalFailure())
        return;
    EXPECT_EQ(r.run.out, "total 8000\n");
    EXPECT_EQ(r.info["threads"].size(), 5u) << "main + 4 std::threads";
    int64_t total = 0;
    for (int i = 0; i < 8; i++) {
        const std::string name = "accounts[" + std::to_string(i) + "].m";
        const nlohmann::json* m = findObject(r.info, name, "mutex");
        ASSERT_NE(m, nullptr) << name << " missing from " << r.info["objects"].dump();
        total += count(m, "acquisitions");
    }
    // Each transfer holds two accounts; std::scoped_lock may back off and retry, never fewer.
    EXPECT_GE(total, 2 * 4 * 5000);
}

TEST(RecordStd, ConditionVariableWaitsAndNamedJthreads)
{
    TempDir dir("pipeline");
    Recorded r;
    record(dir, {example("pipeline_cv"), "20000"}, r);
    if (HasFatalFailure())
        return;
    EXPECT_EQ(r.info["threads"].size(), 3u) << "main + producer + consumer (std::jthread)";
    auto names = threadNames(r.info);
    EXPECT_TRUE(names.count("producer")) << r.info["threads"].dump();
    EXPECT_TRUE(names.count("consumer")) << r.info["threads"].dump();
    const nlohmann::json* lock = findObject(r.info, "queue_lock", "mutex");
    ASSERT_NE(lock, nullptr) << r.info["objects"].dump();
    EXPECT_GE(count(lock, "acquisitions"), 20000) << "at least one per item pushed";
    EXPECT_NE(findObject(r.info, "not_full", "condvar"), nullptr);
    ASSERT_NE(findObject(r.info, "not_empty", "condvar"), nullptr);
    // 20000 items through a 16-slot queue: the two threads cannot avoid waiting for each other.
    size_t waits = dumpLines(r.dump, "WAIT_REQ", "not_full").size() + dumpLines(r.dump, "WAIT_REQ", "not_empty").size();
    EXPECT_GT(waits, 0u);
    // The consumer's wait_for becomes pthread_cond_clockwait: its wake-ups are recorded too.
    EXPECT_GT(dumpLines(r.dump, "WOKEN", "not_empty").size() + dumpLines(r.dump, "WAIT_FAIL", "not_empty").size(), 0u);
}

TEST(RecordStd, SharedMutexSharedAndExclusiveAcquisitionsAreExact)
{
    TempDir dir("rwcache");
    Recorded r;
    record(dir, {example("rwcache_std"), "3", "20000", "2000"}, r);
    if (HasFatalFailure())
        return;
    const nlohmann::json* lock = findObject(r.info, "cache_lock", "rwlock");
    ASSERT_NE(lock, nullptr) << r.info["objects"].dump();
    EXPECT_EQ(count(lock, "acquisitions"), 3 * 20000 + 2000);
    EXPECT_EQ(count(lock, "shared_acquisitions"), 3 * 20000) << "the readers' std::shared_lock";
    // dump tells the modes apart: the shared ones are exactly the readers' lookups.
    size_t shared = 0;
    for (const auto& line : dumpLines(r.dump, "ACQUIRED", "cache_lock")) {
        std::string lower = line;
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        shared += lower.find("shared") != std::string::npos;
    }
    EXPECT_EQ(shared, 60000u);
}

TEST(RecordStd, TimedMutexTimeoutAndRecursiveMutex)
{
    TempDir dir("timed");
    Recorded r;
    record(dir, {example("timed_std")}, r);
    if (HasFatalFailure())
        return;
    const nlohmann::json* device = findObject(r.info, "device_lock", "mutex");
    ASSERT_NE(device, nullptr) << r.info["objects"].dump();
    EXPECT_EQ(count(device, "acquisitions"), 2) << "main's lock and the worker's second try_lock_for";
    EXPECT_EQ(dumpLines(r.dump, "ACQ_FAIL", "device_lock").size(), 1u) << "the first try_lock_for times out";
    EXPECT_EQ(count(findObject(r.info, "tree_lock", "mutex"), "acquisitions"), 8) << "2 walkers x depth 4";
}

TEST(RecordStd, StaticLocalGuardIsSeen)
{
    TempDir dir("static-local");
    Recorded r;
    record(dir, {example("static_local")}, r);
    if (HasFatalFailure())
        return;
    EXPECT_EQ(r.run.out, "constructed 1 time(s), name length 13\n");
    const nlohmann::json* guard = nullptr;
    for (const auto& o : r.info["objects"]) {
        if (o.value("kind", "") == "static-guard")
            guard = &o;
    }
    ASSERT_NE(guard, nullptr) << r.info["objects"].dump();
    EXPECT_NE(guard->value("name", "").find("instance"), std::string::npos) << "config()::instance: " << guard->dump();
    EXPECT_EQ(r.info["threads"].size(), 5u);
}

} // namespace
