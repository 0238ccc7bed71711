// Futex-level waits under the real `ravel run` (issue 15): C++20 primitives that never call a
// pthread function (std::latch, std::atomic<int>::wait, std::counting_semaphore, std::barrier)
// hang for real; the live watchdog must see them as futex waits, exit 66 within seconds and name
// the object by its variable and type; `ravel report` on the trace says the same afterwards. A
// correct program using all four runs to the end with no finding.
#include "e2e_util.hpp"


using namespace ravel::e2e;

namespace {

struct FutexCase {
    const char* name;
    std::string program;
    std::vector<std::string> mustMention; // the object as the report names it, threads, sites
    std::string type;                     // the object's "type" in the JSON report
    std::string object;                   // its "name"
};

std::ostream& operator<<(std::ostream& os, const FutexCase& c) { return os << c.name; }

class FutexHang : public ::testing::TestWithParam<FutexCase> { };

} // namespace

TEST_P(FutexHang, ReportedLiveWithTheObjectNamed)
{
    const FutexCase& c = GetParam();
    TempDir dir(c.name);
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("t.ravel"), { c.program }, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;

    ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    // Every thread is blocked for good and none in a timed wait: certain, acted on at once.
    EXPECT_LT(elapsed, 5s) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
    for (const std::string& word : c.mustMention)
        EXPECT_NE(r.err.find(word), std::string::npos) << "report does not mention " << word << "\n" << r.err;
    EXPECT_EQ(r.err.find("futex 0x"), std::string::npos) << "an unnamed futex word\n" << r.err;

    // After the fact: the same deadlock, the futex word named with its type.
    RunResult text;
    nlohmann::json report = reportJson(dir.file("t.ravel"), &text);
    const nlohmann::json* d = findingOfKind(report, "deadlock");
    ASSERT_NE(d, nullptr) << report.dump(2);
    EXPECT_EQ((*d)["certainty"], "certain") << d->dump(2);
    bool named = false;
    for (const nlohmann::json& o : (*d)["objects"])
        named = named || (o["kind"] == "futex" && o.value("type", "") == c.type && o["name"] == c.object);
    EXPECT_TRUE(named) << "no futex object " << c.type << " " << c.object << "\n" << d->dump(2);
    EXPECT_EQ(text.status, 66) << text.err;
    for (const std::string& word : c.mustMention)
        EXPECT_NE(text.out.find(word) == std::string::npos ? text.err.find(word) : 0, std::string::npos)
            << "ravel report does not mention " << word << "\n" << text.out << text.err;
}

INSTANTIATE_TEST_SUITE_P(Programs, FutexHang,
    ::testing::Values(
        FutexCase { "latch_short", helper("e2e_futex_latch_short"),
            { "std::latch ready", "1 more arrival needed", "futex_latch_short.cpp:", "count it down" }, "std::latch", "ready" },
        FutexCase { "atomic_wait", helper("e2e_futex_atomic_wait"),
            { "std::atomic<int> job_ready (to change from 0)", "std::atomic<int> mailbox.reply", "worker", "logger",
                "futex_atomic_wait.cpp:" },
            "std::atomic<int>", "job_ready" },
        FutexCase { "semaphore_pool", helper("e2e_futex_semaphore_pool"),
            { "std::counting_semaphore pool (no unit left)", "query-a", "query-b", "futex_semaphore_pool.cpp:" },
            "std::counting_semaphore", "pool" },
        FutexCase { "barrier_short", helper("e2e_futex_barrier_short"),
            { "std::barrier phase_sync", "stage-a", "stage-b", "futex_barrier_short.cpp:" }, "std::barrier",
            "phase_sync" }),
    [](const ::testing::TestParamInfo<FutexCase>& info) { return std::string(info.param.name); });

TEST(FutexWaits, CorrectProgramUsingAllFourIsClean)
{
    TempDir dir("all_ok");
    RunResult r = ravelRun(dir.file("t.ravel"), { helper("e2e_futex_all_ok") }, withTimeout(60s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("turns 80"), std::string::npos) << r.out;
    EXPECT_EQ(r.err.find("ERROR"), std::string::npos) << r.err;
    nlohmann::json report = reportJson(dir.file("t.ravel"));
    ASSERT_TRUE(report.is_object());
    EXPECT_EQ(report["findings"].size(), 0u) << report.dump(2);

    // Clean because the waits were seen and ended, not because nothing was recorded.
    RunResult infoRun;
    std::optional<nlohmann::json> info = infoJson(dir.file("t.ravel"), &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    int64_t words = 0, waits = 0, wakes = 0;
    for (const nlohmann::json& o : (*info)["objects"]) {
        if (o["kind"] != "futex")
            continue;
        words++;
        waits += o["waits"].get<int64_t>();
        wakes += o["signals"].get<int64_t>() + o["broadcasts"].get<int64_t>();
        EXPECT_EQ(o["blocked_at_end"].get<int64_t>(), 0) << o.dump(2);
    }
    EXPECT_GE(words, 2) << info->dump(2).substr(0, 4000);
    // Each word named from its own stacks: the semaphore's release and the atomics' notify go
    // through one out-of-line libstdc++ helper, whose call site must not lend every word the
    // first caller's stack (and name).
    size_t slotsNamed = 0;
    for (const nlohmann::json& o : (*info)["objects"])
        slotsNamed += o["name"].get<std::string>().starts_with("slots");
    EXPECT_EQ(slotsNamed, 1u) << info->dump(2).substr(0, 6000);
    const nlohmann::json* rounds = findObject(*info, "rounds", "futex");
    EXPECT_NE(rounds, nullptr) << info->dump(2).substr(0, 6000);
    EXPECT_GT(waits, 0) << info->dump(2).substr(0, 4000);
    EXPECT_GT(wakes, 0) << info->dump(2).substr(0, 4000);
}

TEST(FutexWaits, RawFutexSeenOnlyByTheKernelIsCaughtLive)
{
    // The worker's wait never reaches the runtime: the watchdog learns it from
    // /proc/PID/task/TID/syscall, and main's join of it makes the hang certain.
    TempDir dir("raw_asm");
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("t.ravel"), { helper("e2e_futex_raw_asm") }, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_LT(elapsed, 5s) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("raw-waiter"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("futex raw_flag"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the runtime did not see"), std::string::npos) << r.err;
}
