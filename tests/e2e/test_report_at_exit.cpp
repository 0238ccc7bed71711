// `ravel run` reports at exit what the run shows besides a hang (misuse now; potential deadlocks
// as the lock-order analysis lands) and sets the error exit code for it, like a sanitizer; correct
// programs stay quiet and keep their own exit status.
#include "e2e_util.hpp"

#include <csignal>

using namespace ravel::e2e;

TEST(ReportAtExit, MisuseIsReportedWithThreadAndLine)
{
    TempDir dir("misuse");
    RunResult r = ravelRun(dir.file("t.ravel"), { example("lock_misuse") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    for (const char* word : { "unlock of a mutex this thread does not hold", "reporter", "lock_misuse.c:22",
             "thread exited holding a mutex", "loader", "lock_misuse.c:31", "destroy of a mutex that is locked",
             "lock_misuse.c:50" })
        EXPECT_NE(r.err.find(word), std::string::npos) << "missing: " << word << "\n" << r.err;
    // The program's own output is untouched.
    EXPECT_NE(r.out.find("config loaded: 1"), std::string::npos) << r.out;
}

TEST(ReportAtExit, CorrectProgramsAreQuietAndKeepTheirStatus)
{
    TempDir dir("clean");
    for (const std::vector<std::string>& prog : std::vector<std::vector<std::string>> {
             { example("bank_std") }, { example("rwcache_std") }, { example("sem_barrier") },
             { example("static_local") }, { example("gate_lock") }, { example("join_ordered") } }) {
        RunResult r = ravelRun(dir.file("t.ravel"), prog, withTimeout(60s));
        ASSERT_FALSE(r.timedOut) << prog[0];
        EXPECT_EQ(r.status, 0) << prog[0] << "\n" << r.err;
        EXPECT_EQ(r.err.find("ERROR"), std::string::npos) << prog[0] << "\n" << r.err;
        std::filesystem::remove(dir.file("t.ravel"));
    }
}

TEST(ReportAtExit, CrashKeepsTheSignalStatus)
{
    TempDir dir("crash");
    RunResult r = ravelRun(dir.file("t.ravel"), { example("crash_midrun") }, withTimeout(60s));
    ASSERT_FALSE(r.timedOut);
    EXPECT_EQ(r.status, 139) << r.err;
}

// The end of a process ends every thread: threads parked on locks the exiting thread holds are a
// shutdown (a note at most), live and after the run, whether main calls exit() or returns.
TEST(ReportAtExit, ThreadsParkedOnLocksMainHoldsAtExitAreNoDeadlock)
{
    TempDir dir("parked");
    for (const char* mode : { "parked", "returns", "slowexit" }) {
        RunResult r = ravelRun(dir.file("t.ravel"), { helper("e2e_exit_parked"), mode }, withTimeout(30s));
        ASSERT_FALSE(r.timedOut) << mode << "\n" << r.err;
        EXPECT_EQ(r.status, 0) << mode << "\n" << r.err;
        EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << mode << "\n" << r.err;
        EXPECT_NE(r.out.find("shutdown"), std::string::npos) << r.out;
        RunResult rep = run({ ravelBinary(), "report", dir.file("t.ravel"), "--format", "json" }, withTimeout(30s));
        EXPECT_EQ(rep.status, 0) << rep.err;
        nlohmann::json j = nlohmann::json::parse(rep.out);
        ASSERT_EQ(j["findings"].size(), 1u) << rep.out;
        EXPECT_EQ(j["findings"][0]["kind"], "blocked-at-exit") << rep.out;
        EXPECT_EQ(j["findings"][0]["threads"].size(), 3u) << rep.out;
        std::filesystem::remove(dir.file("t.ravel"));
    }
}

// A deadlock that formed before the exit is still one: two workers in an ABBA while main exits.
TEST(ReportAtExit, DeadlockBeforeTheExitIsStillADeadlock)
{
    TempDir dir("abba-exit");
    RunResult r = ravelRun(dir.file("t.ravel"), { helper("e2e_exit_parked"), "abba" }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain): 2 threads wait for each other's locks"), std::string::npos) << r.err;
}

// A lock abandoned by a thread that exited before the process did is no shutdown: its waiter is
// stuck for good, and the title says why in words that fit one thread.
TEST(ReportAtExit, LockAbandonedBeforeTheExitIsADeadlockOfOneThread)
{
    TempDir dir("abandoned");
    RunResult r = ravelRun(dir.file("t.ravel"), { helper("e2e_exit_parked"), "abandoned" }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("waits for a lock whose holder exited without releasing it"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("each other"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("config_lock"), std::string::npos) << r.err;
}

// A deadlock found at exit, then the program crashes: the crash is the bigger news, so ravel run
// keeps the program's status (128+SIGABRT), and the report says both.
TEST(ReportAtExit, CrashAfterAFindingKeepsTheSignalStatusAndSaysBoth)
{
    // --no-watchdog: on a loaded machine the live watchdog could end the program before its
    // abort (the deadlock forms 50 ms before it); the finding then comes from the analysis at exit.
    TempDir dir("abandoned-abort");
    RunResult r = run({ ravelBinary(), "run", "-q", "--no-watchdog", "-o", dir.file("t.ravel"), "--",
                          helper("e2e_exit_parked"), "abandoned_abort" },
        withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 128 + SIGABRT) << r.err;
    EXPECT_NE(r.err.find("waits for a lock whose holder exited without releasing it"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("died of signal 6 (ABRT)"), std::string::npos) << r.err;
}
