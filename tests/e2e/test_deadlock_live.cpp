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

    // The trace of the killed target opens and still shows the deadlock after the fact, the same
    // one, with the watchdog's mark: the live verdict came well within a second of the cycle
    // closing (the watchdog samples every 100 ms and wants two samples to agree: ~150 ms).
    RunResult infoRun;
    std::optional<nlohmann::json> info = infoJson(dir.file("t.ravel"), &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    ASSERT_TRUE((*info)["watchdog"].is_object()) << info->dump(2);
    EXPECT_EQ((*info)["watchdog"]["verdict"], c.certainty);
    EXPECT_EQ((*info)["end"]["signal_from"], "ravel");
    RunResult report = run({ ravelBinary(), "report", "--format", "json", dir.file("t.ravel") });
    EXPECT_EQ(report.status, 66) << report.err;
    nlohmann::json findings = nlohmann::json::parse(report.out, nullptr, false)["findings"];
    ASSERT_TRUE(findings.is_array() && !findings.empty()) << report.out;
    const nlohmann::json& first = findings[0];
    EXPECT_EQ(first["kind"], "deadlock") << first.dump(2);
    EXPECT_EQ(first["certainty"], c.certainty);
    int64_t closed = first["time_ns"].get<int64_t>();
    int64_t decided = (*info)["watchdog"]["time_ns"].get<int64_t>();
    EXPECT_GE(decided, closed);
    EXPECT_LT(decided - closed, 1'000'000'000) << "the live verdict came " << (decided - closed) / 1000000
                                               << " ms after the cycle closed";
    RunResult text = run({ ravelBinary(), "report", dir.file("t.ravel") });
    for (const std::string& word : c.mustMention)
        EXPECT_NE(text.out.find(word), std::string::npos) << "the report afterwards does not mention " << word;
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

namespace {

// Waits for the watchdog's mark in the trace of a `ravel run` still running; the trace's info.
std::optional<nlohmann::json> waitForLiveVerdict(const std::string& trace)
{
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        std::optional<nlohmann::json> info = fs::exists(trace) ? infoJson(trace) : std::nullopt;
        if (info && (*info)["watchdog"].is_object())
            return info;
        std::this_thread::sleep_for(50ms);
    }
    return std::nullopt;
}

// The state letter of /proc/PID/stat (R, S, T, Z, ...), or "" when the process is gone.
std::string processState(pid_t pid)
{
    std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
    size_t paren = stat.rfind(')');
    return paren == std::string::npos || paren + 2 >= stat.size() ? "" : stat.substr(paren + 2, 1);
}

} // namespace

TEST(LiveDeadlockOptions, StopLeavesTheTargetStoppedForADebugger)
{
    TempDir dir("stop");
    Process ravel({ ravelBinary(), "run", "-q", "--on-deadlock=stop", "-o", dir.file("t.ravel"), "--", example("abba") },
        withTimeout(30s));
    std::optional<nlohmann::json> info = waitForLiveVerdict(dir.file("t.ravel"));
    ASSERT_TRUE(info) << "no live verdict within 10 s";
    EXPECT_EQ((*info)["watchdog"]["verdict"], "certain");
    pid_t target = (*info)["pid"].get<pid_t>();
    // Stopped (state T), and it stays so: a debugger finds it where it hung. ravel waits beside it,
    // for had it exited, the kernel would have sent the orphaned, stopped group SIGHUP.
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (processState(target) != "T" && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    EXPECT_EQ(processState(target), "T");
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(processState(target), "T") << "the stopped target did not stay stopped";
    EXPECT_EQ(::waitpid(ravel.pid(), nullptr, WNOHANG), 0) << "ravel should wait while its target is stopped";
    // The debugger's `kill` (or the user's) ends it; the status is the deadlock's.
    ASSERT_EQ(::kill(target, SIGKILL), 0);
    RunResult r = ravel.wait();
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("stopped pid " + std::to_string(target) + " for a debugger: gdb -p "), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("the program was ended by SIGKILL after the deadlock above"), std::string::npos) << r.err;
}

TEST(LiveDeadlockOptions, WaitReportsAndLeavesTheProgramHanging)
{
    TempDir dir("wait");
    Process ravel({ ravelBinary(), "run", "-q", "--on-deadlock=wait", "-o", dir.file("t.ravel"), "--", example("abba") },
        withTimeout(30s));
    // The verdict is marked in the trace; the program is then neither stopped nor killed.
    std::optional<nlohmann::json> info = waitForLiveVerdict(dir.file("t.ravel"));
    ASSERT_TRUE(info) << "no live verdict within 10 s";
    EXPECT_EQ((*info)["watchdog"]["verdict"], "certain");
    pid_t target = (*info)["pid"].get<pid_t>();
    std::this_thread::sleep_for(300ms); // it would have been ended by now under the default
    EXPECT_EQ(processState(target), "S") << "left hanging, blocked, neither stopped nor ended";
    ASSERT_EQ(::kill(target, SIGTERM), 0);
    RunResult r = ravel.wait();
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("is left hanging: --on-deadlock=wait"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("the program was ended by SIGTERM after the deadlock above"), std::string::npos) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
}

TEST(LiveDeadlockOptions, NoWatchdogRecordsOnlyAndTheTraceStillHoldsTheDeadlock)
{
    // --no-watchdog: nothing watches live, so ravel hangs with the program, as a plain recording
    // would; a time limit then SIGKILLs ravel's group, its guard ends the program, and the trace
    // keeps everything up to then: the report afterwards finds the deadlock.
    TempDir dir("no-watchdog");
    RunResult r = run({ ravelBinary(), "run", "-q", "--no-watchdog", "-o", dir.file("t.ravel"), "--", example("abba") },
        withTimeout(2s));
    EXPECT_TRUE(r.timedOut) << "nothing should have ended the deadlocked program\n" << r.err;
    EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << r.err;
    std::optional<nlohmann::json> info;
    auto deadline = std::chrono::steady_clock::now() + 5s; // the guard acts once ravel is gone
    while (std::chrono::steady_clock::now() < deadline) {
        info = infoJson(dir.file("t.ravel"));
        if (info && (*info)["end"].is_object())
            break;
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(info && (*info)["end"].is_object()) << (info ? info->dump(2) : "no trace");
    EXPECT_EQ((*info)["end"]["how"], "orphaned") << info->dump(2);
    EXPECT_TRUE((*info)["watchdog"].is_null());
    RunResult report = run({ ravelBinary(), "report", dir.file("t.ravel") });
    EXPECT_EQ(report.status, 66) << report.out << report.err;
    EXPECT_NE(report.out.find("deadlock (certain)"), std::string::npos) << report.out;
    EXPECT_NE(report.out.find("account_a"), std::string::npos) << report.out;
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
