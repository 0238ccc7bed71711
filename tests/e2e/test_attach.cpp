// `ravel attach PID` on real programs started without ravel: hung ones (a lock cycle) are reported
// as a deadlock with exit 66 and left exactly as they were (still there, still blocked, not
// stopped); a slow one is no deadlock; what cannot be attached to says so in one line.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <dirent.h>
#include <signal.h>

#include <fstream>
#include <map>
#include <set>

using namespace ravel::e2e;

namespace {

struct TaskState {
    std::string syscall; // first field of /proc/PID/task/TID/syscall ("202" futex, "running", ...)
    char state = '?';    // /proc/PID/task/TID/stat
};

std::vector<TaskState> tasksOf(pid_t pid)
{
    std::vector<TaskState> out;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (!d)
        return out;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        TaskState t;
        std::ifstream(dir + "/" + e->d_name + "/syscall") >> t.syscall;
        std::string stat = readFile(dir + "/" + e->d_name + "/stat");
        size_t close = stat.rfind(')');
        if (close != std::string::npos && close + 2 < stat.size())
            t.state = stat[close + 2];
        out.push_back(t);
    }
    closedir(d);
    return out;
}

// Waits until the process has `threads` threads of which `inFutex` sit in a futex wait (202 on
// x86_64) and the rest in `otherSyscall` (or anything when it is empty).
bool waitForState(pid_t pid, size_t threads, size_t inFutex, const std::string& otherSyscall = {})
{
    for (int i = 0; i < 500; i++) {
        std::vector<TaskState> tasks = tasksOf(pid);
        size_t futex = 0, other = 0;
        for (const TaskState& t : tasks) {
            futex += t.syscall == "202";
            other += t.syscall != "202" && (otherSyscall.empty() || t.syscall == otherSyscall);
        }
        if (tasks.size() == threads && futex == inFutex && futex + other == threads)
            return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

// Every thread still exists and none is stopped (T) or traced (t); the process is not a zombie.
void expectLeftAsFound(pid_t pid, size_t threads)
{
    ASSERT_EQ(kill(pid, 0), 0) << "the process is gone";
    std::vector<TaskState> tasks = tasksOf(pid);
    EXPECT_EQ(tasks.size(), threads);
    for (const TaskState& t : tasks) {
        EXPECT_NE(t.state, 'T');
        EXPECT_NE(t.state, 't');
        EXPECT_NE(t.state, 'Z');
    }
}

RunResult attach(pid_t pid, std::vector<std::string> extra = {})
{
    std::vector<std::string> argv { ravelBinary(), "attach", std::to_string(pid) };
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(argv, withTimeout(30s));
}

} // namespace

TEST(Attach, NamesTheDiningCycleAndLeavesTheProcessBlocked)
{
    Process target({ example("dining") }); // 5 philosophers, main in join
    ASSERT_TRUE(waitForState(target.pid(), 6, 6)) << "dining did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("deadlock (certain)"), std::string::npos) << r.out;
    for (int i = 0; i < 5; i++) {
        EXPECT_NE(r.out.find("mutex forks[" + std::to_string(i) + "]"), std::string::npos) << r.out;
        EXPECT_NE(r.out.find("\"philosopher-" + std::to_string(i) + "\""), std::string::npos) << r.out;
    }
    EXPECT_NE(r.out.find("philosopher"), std::string::npos);
    EXPECT_NE(r.out.find("dining.c:"), std::string::npos) << "frames not named from the debug info:\n" << r.out;
    expectLeftAsFound(target.pid(), 6);
    // Still hung where it was: every thread back in its futex wait.
    EXPECT_TRUE(waitForState(target.pid(), 6, 6));
    kill(target.pid(), SIGKILL);
    EXPECT_EQ(target.wait().signal, SIGKILL);
}

TEST(Attach, LockInversionAsJsonNamesBothAccountsAndTellers)
{
    Process target({ example("abba") });
    ASSERT_TRUE(waitForState(target.pid(), 3, 3)) << "abba did not hang";
    RunResult r = attach(target.pid(), { "--format", "json" });
    ASSERT_EQ(r.status, 66) << r.err << r.out;
    nlohmann::json doc = nlohmann::json::parse(r.out);
    ASSERT_GE(doc["findings"].size(), 1u);
    const nlohmann::json& f = doc["findings"][0];
    EXPECT_EQ(f["kind"], "deadlock");
    EXPECT_EQ(f["certainty"], "certain");
    std::set<std::string> objects, threads;
    for (const auto& o : f["objects"])
        objects.insert(o["name"].get<std::string>());
    for (const auto& t : f["threads"]) {
        threads.insert(t["name"].get<std::string>());
        EXPECT_EQ(t["pid"], target.pid());
    }
    EXPECT_TRUE(objects.count("account_a") && objects.count("account_b")) << f["objects"].dump();
    EXPECT_TRUE(threads.count("teller-ab") && threads.count("teller-ba")) << f["threads"].dump();
    EXPECT_EQ(doc["trace"]["pid"], target.pid());
    expectLeftAsFound(target.pid(), 3);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, StdLatchOneArrivalShortIsCertainWithItsCount)
{
    // A futex word glibc does not own: named from the waiting frame's debug info, counted from the
    // value the wait expected; every thread blocked and no handler makes it certain.
    Process target({ helper("e2e_latch_short") });
    ASSERT_TRUE(waitForState(target.pid(), 1, 1)) << "latch_short did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("deadlock (certain)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("std::latch ready (2 more arrivals needed)"), std::string::npos) << r.out;
    expectLeftAsFound(target.pid(), 1);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, MutexWhoseOwnerExitedIsAbandoned)
{
    // __owner names a tid that is no thread of the process any more: nobody will release it.
    Process target({ helper("e2e_abandoned_lock") });
    ASSERT_TRUE(waitForState(target.pid(), 1, 1)) << "abandoned_lock did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("state_lock"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("exited without releasing"), std::string::npos) << r.out;
    expectLeftAsFound(target.pid(), 1);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, RwlockWriterInACycleWithAMutex)
{
    // The reader waits for __cur_writer; the writer waits for the mutex the reader holds.
    Process target({ helper("e2e_rwlock_writer_cycle") });
    ASSERT_TRUE(waitForState(target.pid(), 2, 2)) << "rwlock_writer_cycle did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("deadlock (certain)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("rwlock index_lock"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("mutex log_lock"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\"writer\""), std::string::npos) << r.out;
    expectLeftAsFound(target.pid(), 2);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, BarrierOnePartyShortIsNamedAsABarrier)
{
    // glibc's barrier waits on current_round (offset 4): the object is the barrier itself, its
    // count recorded as an init would have.
    TempDir dir("attach-barrier");
    Process target({ example("barrier_short") }); // 3 workers at a barrier of 4, main in join
    ASSERT_TRUE(waitForState(target.pid(), 4, 4)) << "barrier_short did not hang";
    RunResult r = attach(target.pid(), { "-o", dir.file("snap.ravel") });
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("waits for barrier phase_done"), std::string::npos) << r.out;
    std::optional<nlohmann::json> info = infoJson(dir.file("snap.ravel"));
    ASSERT_TRUE(info);
    const nlohmann::json* barrier = findObject(*info, "phase_done", "barrier");
    ASSERT_NE(barrier, nullptr) << info->dump();
    EXPECT_EQ(count(barrier, "blocked_at_end"), 3) << barrier->dump();
    RunResult dump = run({ ravelBinary(), "dump", dir.file("snap.ravel") });
    std::vector<std::string> init = dumpLines(dump.out, "INIT", "phase_done");
    ASSERT_EQ(init.size(), 1u) << dump.out;
    EXPECT_NE(init[0].find("arg=4"), std::string::npos) << init[0];
    expectLeftAsFound(target.pid(), 4);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, StdMutexInversionNamesTheMembers)
{
    Process target({ example("abba_std") });
    ASSERT_TRUE(waitForState(target.pid(), 3, 3)) << "abba_std did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("checking.m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("savings.m"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("Account::transfer"), std::string::npos) << r.out;
    expectLeftAsFound(target.pid(), 3);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, SnapshotTraceReportsTheSameAndGraphs)
{
    TempDir dir("attach");
    std::string snap = dir.file("abba.ravel");
    Process target({ example("abba") });
    ASSERT_TRUE(waitForState(target.pid(), 3, 3)) << "abba did not hang";
    RunResult r = attach(target.pid(), { "-o", snap });
    ASSERT_EQ(r.status, 66) << r.err << r.out;
    RunResult report = run({ ravelBinary(), "report", snap });
    EXPECT_EQ(report.status, 66) << report.err;
    EXPECT_EQ(report.out, r.out);
    std::string dot = dir.file("wait.dot");
    RunResult graph = run({ ravelBinary(), "graph", snap, "--finding", "1", "-o", dot });
    EXPECT_EQ(graph.status, 0) << graph.err;
    std::string text = readFile(dot);
    EXPECT_NE(text.find("account_a"), std::string::npos) << text;
    EXPECT_NE(text.find("teller-ba"), std::string::npos) << text;
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, SlowHolderIsNoDeadlock)
{
    // The sleeper holds slow_lock in nanosleep (35) or clock_nanosleep (230); the waiter and main block.
    Process target({ helper("e2e_slow_holder"), "60" });
    bool hung = waitForState(target.pid(), 3, 2, "230") || waitForState(target.pid(), 3, 2, "35");
    ASSERT_TRUE(hung) << "slow_holder did not reach its slow state";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("no findings"), std::string::npos) << r.out;
    expectLeftAsFound(target.pid(), 3);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, SlowHolderRunsOnToItsEndAfterTheAttach)
{
    // Left as found means it also finishes: the sleep, the lock and the joins all complete.
    Process target({ helper("e2e_slow_holder"), "2" });
    bool hung = waitForState(target.pid(), 3, 2, "230") || waitForState(target.pid(), 3, 2, "35");
    ASSERT_TRUE(hung);
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    RunResult end = target.wait();
    EXPECT_EQ(end.status, 0) << end.err;
    EXPECT_EQ(end.out, "done\n");
}

TEST(Attach, KillEndsTheProcessAfterTheReport)
{
    Process target({ example("abba") });
    ASSERT_TRUE(waitForState(target.pid(), 3, 3));
    RunResult r = attach(target.pid(), { "--kill" });
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_EQ(target.wait().signal, SIGKILL);
}

TEST(Attach, NonexistentPidIsOneLineAndExit1)
{
    // Past the kernel's pid_max on this machine: never a process.
    std::string pidMax = readFile("/proc/sys/kernel/pid_max");
    long pid = std::stol(pidMax) + 1;
    if (pid > 4194304)
        pid = 4194304; // pid_max's ceiling: the largest pid is 4194303
    RunResult r = run({ ravelBinary(), "attach", std::to_string(pid) });
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("no process " + std::to_string(pid)), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(Attach, RefusedPtraceSaysWhyInOneLine)
{
    // A process of root, attached to by an unprivileged user: the kernel refuses.
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root to start a process another user may not trace";
    Process target({ example("abba") });
    ASSERT_TRUE(waitForState(target.pid(), 3, 3));
    RunResult r = run({ "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", ravelBinary(), "attach",
                        std::to_string(target.pid()) });
    EXPECT_EQ(r.status, 1) << r.err << r.out;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    bool named = r.err.find("ptrace_scope") != std::string::npos || r.err.find("CAP_SYS_PTRACE") != std::string::npos;
    EXPECT_TRUE(named) << r.err;
    expectLeftAsFound(target.pid(), 3);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, CoreFileOfAHungProcessGivesTheSameDeadlock)
{
    TempDir dir("attach-core");
    Process target({ example("dining") });
    ASSERT_TRUE(waitForState(target.pid(), 6, 6)) << "dining did not hang";
    RunResult live = attach(target.pid(), { "--format", "json" });
    ASSERT_EQ(live.status, 66) << live.err;
    RunResult gcore = run({ "gcore", "-o", dir.file("core"), std::to_string(target.pid()) }, withTimeout(60s));
    ASSERT_EQ(gcore.status, 0) << gcore.err << gcore.out;
    kill(target.pid(), SIGKILL);
    target.wait();
    std::string core = dir.file("core." + std::to_string(target.pid()));
    RunResult r = run({ ravelBinary(), "attach", "--core", core, "--format", "json" }, withTimeout(60s));
    ASSERT_EQ(r.status, 66) << r.err << r.out;
    // The same deadlock: the same threads (by kernel tid) waiting for the same named mutexes. A core
    // file keeps no thread names, so a join names its thread by ravel id only.
    auto waits = [](const std::string& json) {
        nlohmann::json doc = nlohmann::json::parse(json);
        const nlohmann::json& f = doc["findings"][0];
        std::map<std::string, std::string> names;
        for (const auto& o : f["objects"])
            names[o["id"]] = o["kind"] == "thread" ? "a thread" : o["name"].get<std::string>();
        std::set<std::string> out;
        for (const auto& t : f["threads"])
            if (t["waits_for"].is_object())
                out.insert(std::to_string(t["os_tid"].get<long>()) + " waits for "
                           + names[t["waits_for"]["object"].get<std::string>()]);
        return out;
    };
    std::set<std::string> fromCore = waits(r.out);
    EXPECT_EQ(fromCore, waits(live.out));
    size_t forks = 0;
    for (const std::string& w : fromCore)
        forks += w.find("waits for forks[") != std::string::npos;
    EXPECT_EQ(forks, 5u) << r.out;
}

TEST(Attach, NotACoreFileIsOneLineAndExit1)
{
    TempDir dir("attach-notcore");
    writeFile(dir.file("junk"), "not an ELF file\n");
    RunResult r = run({ ravelBinary(), "attach", "--core", dir.file("junk") });
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("not a core file"), std::string::npos) << r.err;
    RunResult program = run({ ravelBinary(), "attach", "--core", example("dining") });
    EXPECT_EQ(program.status, 1) << program.err;
    EXPECT_NE(program.err.find("not a core file"), std::string::npos) << program.err;
}

TEST(Attach, ConditionVariableNobodySignalsIsNamedAndHasNoMadeUpWaitTime)
{
    // glibc's waiter sleeps on __g_signals[g]: the object is the condvar itself. A snapshot is one
    // instant, so its report says no "since" and credits the snapshot, not a watchdog.
    TempDir dir("attach-cond");
    Process target({ example("cond_lost_signal") }); // the worker waits on go_cond, main in join
    ASSERT_TRUE(waitForState(target.pid(), 2, 2)) << "cond_lost_signal did not hang";
    RunResult r = attach(target.pid(), { "-o", dir.file("snap.ravel") });
    EXPECT_EQ(r.status, 66) << r.err << r.out;
    EXPECT_NE(r.out.find("deadlock (certain)"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("waits for condvar go_cond, and every thread that could signal it is blocked"),
              std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("__g_signals"), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(" since "), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("at the snapshot every thread of the program was blocked"), std::string::npos) << r.out;
    // The kept snapshot reads the same later.
    RunResult again = run({ ravelBinary(), "report", dir.file("snap.ravel") });
    EXPECT_EQ(again.status, 66) << again.err;
    EXPECT_NE(again.out.find("waits for condvar go_cond"), std::string::npos) << again.out;
    EXPECT_EQ(again.out.find(" since "), std::string::npos) << again.out;
    expectLeftAsFound(target.pid(), 2);
    kill(target.pid(), SIGKILL);
    target.wait();
}

TEST(Attach, ParentWaitingForAHungChildNamesTheChildToAttachTo)
{
    // The shell waits in wait4 for dining, which hangs: the shell itself is not deadlocked, but
    // the user is told which child holds the answer.
    Process target({ "/bin/sh", "-c", example("dining") + " 5; true" });
    ASSERT_TRUE(waitForState(target.pid(), 1, 0, "61")) << "sh is not waiting for its child";
    std::string children = readFile("/proc/" + std::to_string(target.pid()) + "/task/" +
                                    std::to_string(target.pid()) + "/children");
    pid_t child = pid_t(std::atol(children.c_str()));
    ASSERT_GT(child, 0) << children;
    ASSERT_TRUE(waitForState(child, 6, 6)) << "dining did not hang";
    RunResult r = attach(target.pid());
    EXPECT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(r.err.find("waits for any child process: " + std::to_string(child) + " ("), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("`ravel attach " + std::to_string(child) + "`"), std::string::npos) << r.err;
    RunResult childReport = attach(child);
    EXPECT_EQ(childReport.status, 66) << childReport.err << childReport.out;
    kill(child, SIGKILL);
    target.wait();
}
