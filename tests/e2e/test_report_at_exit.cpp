// `ravel run` reports at exit what the run shows besides a hang (misuse now; potential deadlocks
// as the lock-order analysis lands) and sets the error exit code for it, like a sanitizer; correct
// programs stay quiet and keep their own exit status.
#include "e2e_util.hpp"

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
