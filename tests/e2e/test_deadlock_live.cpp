// The live watchdog of `ravel run`: each example hangs for real; ravel must name the deadlock
// while the program hangs (threads and objects by name, stacks with file:line), end the target
// and exit 66 — promptly, where ThreadSanitizer and Helgrind hang along with the program.
#include "e2e_util.hpp"

using namespace ravel::e2e;

namespace {

struct DeadlockCase {
    const char* name;
    std::vector<std::string> program; // example and arguments
    std::vector<std::string> mustMention; // thread names, object names, source sites
    const char* certainty;
};

std::ostream& operator<<(std::ostream& os, const DeadlockCase& c) { return os << c.name; }

class LiveDeadlock : public ::testing::TestWithParam<DeadlockCase> { };

} // namespace

TEST_P(LiveDeadlock, ReportedWhileTheProgramHangs)
{
    const DeadlockCase& c = GetParam();
    TempDir dir(c.name);
    std::vector<std::string> program = c.program;
    program[0] = example(program[0]);
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("t.ravel"), program, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;

    ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    // Every example deadlocks within milliseconds of starting: the verdict must follow fast.
    EXPECT_LT(elapsed, 5s) << r.err;
    EXPECT_NE(r.err.find(std::string("deadlock (") + c.certainty + ")"), std::string::npos) << r.err;
    for (const std::string& word : c.mustMention)
        EXPECT_NE(r.err.find(word), std::string::npos) << "report does not mention " << word << "\n" << r.err;
    EXPECT_NE(r.err.find("SUMMARY"), std::string::npos) << r.err;
    // Frames inside libstdc++'s headers (lock guards, std::thread's invoke machinery) are folded
    // into one line each run, never listed one by one.
    EXPECT_EQ(r.err.find("bits/std_mutex.h"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("bits/invoke.h"), std::string::npos) << r.err;

    // The trace of the killed target opens and still shows the deadlock after the fact.
    RunResult info = run({ ravelBinary(), "info", dir.file("t.ravel") });
    EXPECT_EQ(info.status, 0) << info.err;
}

INSTANTIATE_TEST_SUITE_P(Examples, LiveDeadlock,
    ::testing::Values(
        DeadlockCase { "abba", { "abba" }, { "account_a", "account_b", "teller-ab", "teller-ba", "transfer", "abba.c:" },
            "certain" },
        DeadlockCase { "abba_std", { "abba_std" }, { "Account::transfer", "abba_std.cpp:" }, "certain" },
        DeadlockCase { "dining5", { "dining", "5" }, { "forks[0]", "forks[4]", "philosopher-0", "dining.c:" }, "certain" },
        DeadlockCase { "dining64", { "dining", "64" }, { "forks[63]", "philosopher-63" }, "certain" },
        DeadlockCase { "self_relock", { "self_relock" }, { "cache_lock", "cache-writer", "holds itself" }, "certain" },
        DeadlockCase { "rw_upgrade", { "rw_upgrade" }, { "table_lock", "reader-0", "reader-1" }, "certain" },
        DeadlockCase { "join_each_other", { "join_each_other" }, { "uploader", "indexer", "join" }, "certain" },
        DeadlockCase { "cond_lost_signal", { "cond_lost_signal" }, { "go_cond" }, "certain" },
        DeadlockCase { "sem_never_posted", { "sem_never_posted" }, { "results_ready", "collector" }, "certain" },
        DeadlockCase { "barrier_short", { "barrier_short" }, { "phase_done", "stage-" }, "certain" },
        DeadlockCase { "main_join_holding", { "main_join_holding" }, { "state_lock", "loader" }, "certain" }),
    [](const ::testing::TestParamInfo<DeadlockCase>& info) { return std::string(info.param.name); });

TEST(LiveDeadlockOptions, ErrorExitCodeIsConfigurable)
{
    TempDir dir("exitcode");
    RunResult r = run({ ravelBinary(), "run", "-q", "--error-exitcode=9", "-o", dir.file("t.ravel"), "--", example("abba") },
        withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 9) << r.err;
}

TEST(LiveDeadlockOptions, StopLeavesTheTargetStoppedForADebugger)
{
    TempDir dir("stop");
    RunResult r = run({ ravelBinary(), "run", "-q", "--on-deadlock=stop", "-o", dir.file("t.ravel"), "--", example("abba") },
        withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    // ravel says which process it left stopped; the test cleans it up.
    auto pos = r.err.find("stopped pid ");
    ASSERT_NE(pos, std::string::npos) << r.err;
    pid_t pid = static_cast<pid_t>(std::stol(r.err.substr(pos + 12)));
    EXPECT_EQ(::kill(pid, 0), 0) << "the stopped target should still exist";
    ::kill(pid, SIGKILL);
}

TEST(LiveDeadlockNegatives, TimedWaitsAndSlowProgramsAreNotDeadlocks)
{
    TempDir dir("negatives");
    for (const std::vector<std::string>& prog : std::vector<std::vector<std::string>> {
             { example("timed_std") }, { example("counter_pthread"), "4", "20000" }, { example("pipeline_cv") } }) {
        RunResult r = ravelRun(dir.file("t.ravel"), prog, withTimeout(60s));
        ASSERT_FALSE(r.timedOut) << prog[0];
        EXPECT_EQ(r.status, 0) << prog[0] << "\n" << r.err;
        EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << prog[0] << "\n" << r.err;
        std::filesystem::remove(dir.file("t.ravel"));
    }
}
