// End to end: nothing recorded before a crash, a kill, an exit with threads running, or a hang is
// lost (DESIGN.md, "Bad input and faults"). Each test ends the target the hard way and then opens
// the trace as a user would.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <cstdio>

using namespace ravel::e2e;

namespace {

TEST(RecordFaults, TargetKilledWithSigkillLeavesAReadableTrace)
{
    TempDir dir("sigkill");
    const std::string trace = dir.file("killed.ravel");
    Process ravel({ravelBinary(), "run", "-q", "-o", trace, "--", example("exit_while_running"), "60000"},
                  withTimeout(30s));
    // The target is ravel's child; wait until it exists and has run for a while.
    pid_t target = 0;
    for (int i = 0; i < 200 && target == 0; i++) {
        // Not ravel's own short-lived fork that starts its guard (named ravel, as ravel).
        for (pid_t kid : childrenOf(ravel.pid()))
            if (target == 0 && readFile("/proc/" + std::to_string(kid) + "/comm") != "ravel\n")
                target = kid;
        if (target == 0)
            std::this_thread::sleep_for(10ms);
    }
    ASSERT_NE(target, 0) << "ravel run started no child";
    std::this_thread::sleep_for(300ms);
    ASSERT_EQ(kill(target, SIGKILL), 0);
    RunResult run = ravel.wait();
    EXPECT_FALSE(run.timedOut);
    EXPECT_EQ(run.status, 128 + SIGKILL) << "ravel run reports the target's death by signal: " << run.err;

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_GT((*info)["events"].get<int64_t>(), 0);
    EXPECT_FALSE((*info)["ended"].get<bool>()) << "a killed program did not end normally";
    const nlohmann::json* lock = findObject(*info, "work_lock", "mutex");
    ASSERT_NE(lock, nullptr) << (*info)["objects"].dump();
    EXPECT_GT(count(lock, "acquisitions"), 100) << "300 ms of three workers locking in a loop";
    EXPECT_EQ((*info)["threads"].size(), 4u);
}

TEST(RecordFaults, SegfaultKeepsEventsBeforeTheCrash)
{
    TempDir dir("segv");
    const std::string trace = dir.file("segv.ravel");
    RunResult run = ravelRun(trace, {example("crash_midrun"), "1000"}, withTimeout(30s));
    EXPECT_EQ(run.status, 139) << "128 + SIGSEGV, as a shell reports it: " << run.err;

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_GT((*info)["events"].get<int64_t>(), 2000);
    const nlohmann::json* lock = findObject(*info, "table_lock", "mutex");
    ASSERT_NE(lock, nullptr) << (*info)["objects"].dump();
    // The crasher alone locked it 1000 times, then once more to crash while holding it.
    EXPECT_GE(count(lock, "acquisitions"), 1001);
    bool crasher = false;
    for (const auto& t : (*info)["threads"])
        crasher |= t.value("name", "") == "crasher";
    EXPECT_TRUE(crasher) << (*info)["threads"].dump();
}

TEST(RecordFaults, ExitWhileThreadsRunKeepsTheirEvents)
{
    TempDir dir("exit");
    const std::string trace = dir.file("exit.ravel");
    RunResult run = ravelRun(trace, {example("exit_while_running"), "200"}, withTimeout(30s));
    ASSERT_EQ(run.status, 0) << run.err;
    // main read the count under the lock, so at least that many acquisitions are in the trace.
    long printed = std::strtol(run.out.c_str(), nullptr, 10);
    ASSERT_GT(printed, 0) << run.out;

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    const nlohmann::json* lock = findObject(*info, "work_lock", "mutex");
    ASSERT_NE(lock, nullptr) << (*info)["objects"].dump();
    EXPECT_GE(count(lock, "acquisitions"), printed + 1) << "the workers' increments plus main's read";
    EXPECT_EQ((*info)["threads"].size(), 4u);
}

TEST(RecordFaults, HangingAbbaKilledByTimeoutShowsBothPendingRequests)
{
    TempDir dir("abba");
    const std::string trace = dir.file("abba.ravel");
    // As a user without the watchdog would: give up after 3 s with SIGKILL. (With the live
    // watchdog, ravel run ends it itself, with status 66.)
    RunResult run = ::ravel::e2e::run({"timeout", "-s", "KILL", "3", ravelBinary(), "run", "-q", "-o", trace, "--", example("abba")},
                                      withTimeout(30s));
    EXPECT_FALSE(run.timedOut);
    EXPECT_TRUE(run.status == 137 || run.status == 124 || run.status == 66) << run.status << " " << run.err;

    RunResult dump = ::ravel::e2e::run({ravelBinary(), "dump", trace});
    ASSERT_EQ(dump.status, 0) << dump.err;
    // Each account was acquired once and requested once more: the request of the other teller,
    // which never completed.
    for (const char* account : {"account_a", "account_b"}) {
        size_t requests = dumpLines(dump.out, "ACQ_REQ", account).size();
        size_t acquired = dumpLines(dump.out, "ACQUIRED", account).size();
        EXPECT_EQ(acquired, 1u) << account << "\n" << dump.out;
        EXPECT_GE(requests, 1u) << account << "\n" << dump.out;
        EXPECT_EQ(dumpLines(dump.out, "RELEASE", account).size(), 0u) << account;
    }
    // Without a request, the pending wait would be invisible: the runtime writes the request
    // before blocking, so the last event on each account must be an ACQ_REQ.
    for (const char* account : {"account_a", "account_b"}) {
        std::string last;
        std::istringstream in(dump.out);
        for (std::string line; std::getline(in, line);) {
            if (containsName(line, account))
                last = line;
        }
        EXPECT_TRUE(containsName(last, "ACQ_REQ")) << account << ": last event is " << last;
        // ... by the teller that took the other account first.
        const char* waiter = std::string(account) == "account_a" ? "teller-ba" : "teller-ab";
        EXPECT_NE(last.find(waiter), std::string::npos) << account << ": last event is " << last;
    }

    auto info = infoJson(trace);
    ASSERT_TRUE(info);
    EXPECT_EQ((*info)["threads"].size(), 3u);
    EXPECT_FALSE((*info)["ended"].get<bool>());
}

} // namespace

namespace {

// A signal handler that locks while the interrupted thread is inside the runtime writing its own
// record: the handler's event must not be written over that record. The main thread's every
// acquisition is in the trace; the handler's are there or counted as lost; no release lacks its
// acquisition (the report has no misuse).
namespace {

struct SignalRun {
    long mainOps = 0, handlerOps = 0;
    int64_t handlerRecorded = 0, lost = 0;
};

// Runs signal_locks in `mode` and reads back what the trace kept of the handler's calls.
void runSignalLocks(const TempDir& dir, const std::string& mode, long iterations, SignalRun& r)
{
    const std::string trace = dir.file(mode + ".ravel");
    RunResult result = ravelRun(trace, { helper("e2e_signal_locks"), std::to_string(iterations), mode },
                                withTimeout(60s));
    ASSERT_EQ(result.status, 0) << result.err;
    ASSERT_EQ(std::sscanf(result.out.c_str(), "main %ld handler %ld", &r.mainOps, &r.handlerOps), 2) << result.out;
    ASSERT_GT(r.handlerOps, 100) << "the timer fired too rarely to test anything";

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    if (mode == "lock") {
        const nlohmann::json* work = findObject(*info, "work_lock", "mutex");
        ASSERT_NE(work, nullptr) << (*info)["objects"].dump();
        EXPECT_EQ(count(work, "acquisitions"), r.mainOps);
    }
    const nlohmann::json* stats = findObject(*info, "stats_lock", "mutex");
    r.handlerRecorded = stats ? count(stats, "acquisitions") : 0;
    r.lost = (*info)["lost_events"].get<int64_t>();

    RunResult report = run({ ravelBinary(), "report", trace });
    EXPECT_EQ(report.status, 0) << report.out << report.err;
    EXPECT_EQ(report.out.find("misuse"), std::string::npos) << report.out;
}

} // namespace

// Each handler call is a lock and an unlock: both recorded, or both dropped and counted (the
// handler ran inside the interrupted write), so every dropped call counts two lost events and
// recorded + lost / 2 is exactly the number of handler calls: nothing vanishes unaccounted.
TEST(RecordFaults, SignalHandlerLockingNeverOverwritesTheInterruptedRecord)
{
    TempDir dir("signal");
    SignalRun r;
    runSignalLocks(dir, "lock", 3000000, r);
    EXPECT_EQ(r.handlerRecorded + r.lost / 2, r.handlerOps) << "recorded " << r.handlerRecorded << ", lost " << r.lost;
}

// The loop's every call unwinds its stack; a handler arriving during an unwinding waits for it
// to finish and is then recorded: none of its calls is lost.
TEST(RecordFaults, SignalHandlerDuringAStackCaptureIsRecordedAfterIt)
{
    TempDir dir("signal-capture");
    SignalRun r;
    runSignalLocks(dir, "wait", 40000, r);
    EXPECT_EQ(r.handlerRecorded + r.lost / 2, r.handlerOps) << "recorded " << r.handlerRecorded << ", lost " << r.lost;
    EXPECT_GE(r.handlerRecorded, r.handlerOps * 9 / 10) << "lost " << r.lost;
}

} // namespace
