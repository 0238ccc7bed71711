// Condition-variable deadlock prediction under `ravel run` (detect/cond_predict.hpp): from runs
// that did not hang, the schedules that would. A bare wait whose signal could come first, and a
// waiter holding a lock its signaller needs, are each one potential deadlock naming the source
// lines of the wait and the signal (and of the lock taken); the correct programs (a predicate
// loop, a check before the wait, a signaller created inside the waiter's critical section, a
// timed wait, a lock ordered by a semaphore) report nothing. Each at -O0 and -O2: the predictor
// reads the loop from the machine code.
#include "e2e_util.hpp"

#include <fstream>

namespace {

using namespace ravel::e2e;
using nlohmann::json;

const std::string kSource = std::string(RAVEL_E2E_SOURCE_DIR) + "/condvar/";

int markedLine(const std::string& file, const std::string& marker) { return markedLineIn(kSource + file, marker); }

bool stackNames(const json& stack, const std::string& file, int line) { return stackNamesLine(stack, file, line); }

// The thread entry whose action is `action` and whose stack names file:line.
bool hasThreadAt(const json& finding, const std::string& action, const std::string& file, int line)
{
    for (const json& t : finding["threads"])
        if (t.value("action", "") == action && stackNames(t["stack"], file, line))
            return true;
    return false;
}

struct Recorded {
    RunResult run;
    json report;
    std::vector<json> predictions; // potential deadlocks
};

Recorded record(const std::string& program, const std::string& which)
{
    TempDir dir("cond-" + which);
    const std::string trace = dir.file(which + ".ravel");
    Recorded r;
    r.run = run({ ravelBinary(), "run", "-o", trace, "--", helper(program), which }, withTimeout(60s));
    r.report = reportJson(trace);
    for (const json& f : r.report["findings"])
        if (f["kind"] == "potential-deadlock")
            r.predictions.push_back(f);
    return r;
}

class CondPredict : public ::testing::TestWithParam<std::string> {
protected:
    std::string cases() const { return "e2e_cond_cases_" + GetParam(); }
    std::string cxx() const { return "e2e_cond_cxx_" + GetParam(); }
};

TEST_P(CondPredict, ABareWaitWhoseSignalCouldComeFirstIsAPotentialDeadlock)
{
    Recorded r = record(cases(), "lost");
    EXPECT_EQ(r.run.out, "ok\n");
    EXPECT_EQ(r.run.status, 66) << r.run.err; // a potential deadlock is an error
    ASSERT_EQ(r.predictions.size(), 1u) << r.report["findings"].dump(2);
    const json& f = r.predictions[0];
    EXPECT_NE(f["title"].get<std::string>().find("a signal can come before its wait"), std::string::npos) << f["title"];
    EXPECT_TRUE(hasThreadAt(f, "waits on", "cond_cases.c", markedLine("cond_cases.c", "@lost:wait"))) << f.dump(2);
    EXPECT_TRUE(hasThreadAt(f, "signals", "cond_cases.c", markedLine("cond_cases.c", "@lost:signal"))) << f.dump(2);
    bool schedule = false;
    for (const json& n : f["notes"])
        schedule = schedule || n.get<std::string>().find("the schedule that hangs") != std::string::npos;
    EXPECT_TRUE(schedule) << f["notes"].dump(2);
    // The text report says it in words too.
    EXPECT_NE(r.run.err.find("potential-deadlock"), std::string::npos) << r.run.err;
    EXPECT_NE(r.run.err.find("waits on condvar ready_cv"), std::string::npos) << r.run.err;
}

TEST_P(CondPredict, AWorkerLoopThatWaitsWithoutACheckIsOnePotentialDeadlock)
{
    // The loop around the wait takes the mutex again each round: not a predicate loop.
    Recorded r = record(cases(), "bare_worker");
    EXPECT_EQ(r.run.out, "ok\n");
    ASSERT_EQ(r.predictions.size(), 1u) << r.report["findings"].dump(2);
    EXPECT_TRUE(hasThreadAt(r.predictions[0], "waits on", "cond_cases.c", markedLine("cond_cases.c", "@bare_worker:wait")))
        << r.predictions[0].dump(2);
    EXPECT_TRUE(hasThreadAt(r.predictions[0], "signals", "cond_cases.c", markedLine("cond_cases.c", "@bare_worker:signal")))
        << r.predictions[0].dump(2);
}

TEST_P(CondPredict, AWaiterHoldingALockItsSignallerNeedsIsAPotentialDeadlock)
{
    Recorded r = record(cases(), "held");
    EXPECT_EQ(r.run.out, "ok\n");
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_EQ(r.predictions.size(), 1u) << r.report["findings"].dump(2);
    const json& f = r.predictions[0];
    EXPECT_NE(f["title"].get<std::string>().find("holding a lock that"), std::string::npos) << f["title"];
    EXPECT_TRUE(hasThreadAt(f, "waits on", "cond_cases.c", markedLine("cond_cases.c", "@held:wait"))) << f.dump(2);
    EXPECT_TRUE(hasThreadAt(f, "locks", "cond_cases.c", markedLine("cond_cases.c", "@held:take"))) << f.dump(2);
    EXPECT_TRUE(hasThreadAt(f, "then signals", "cond_cases.c", markedLine("cond_cases.c", "@held:signal"))) << f.dump(2);
    // The waiter's hold of table_lock, with where it was taken.
    bool hold = false;
    for (const json& t : f["threads"])
        for (const json& h : t["holds"])
            hold = hold || stackNames(h["stack"], "cond_cases.c", markedLine("cond_cases.c", "@held:hold"));
    EXPECT_TRUE(hold) << f.dump(2);
    EXPECT_NE(r.run.err.find("table_lock"), std::string::npos) << r.run.err;
}

TEST_P(CondPredict, CorrectProgramsAreQuiet)
{
    for (const char* which : { "loop", "guard", "created", "timed", "worker", "held_ordered" }) {
        SCOPED_TRACE(which);
        Recorded r = record(cases(), which);
        EXPECT_EQ(r.run.out, "ok\n");
        EXPECT_EQ(r.run.status, 0) << r.run.err;
        EXPECT_TRUE(r.predictions.empty()) << r.report["findings"].dump(2);
        EXPECT_EQ(r.report["summary"]["findings"], 0) << r.report["findings"].dump(2);
    }
}

TEST_P(CondPredict, StdConditionVariableWithAPredicateIsQuietAndWithoutOneIsReported)
{
    Recorded pred = record(cxx(), "pred");
    EXPECT_EQ(pred.run.status, 0) << pred.run.err;
    EXPECT_TRUE(pred.predictions.empty()) << pred.report["findings"].dump(2);

    Recorded bare = record(cxx(), "bare");
    EXPECT_EQ(bare.run.status, 66) << bare.run.err;
    ASSERT_EQ(bare.predictions.size(), 1u) << bare.report["findings"].dump(2);
    EXPECT_TRUE(hasThreadAt(bare.predictions[0], "waits on", "cond_cxx.cpp", markedLine("cond_cxx.cpp", "@bare:wait")))
        << bare.predictions[0].dump(2);
    EXPECT_TRUE(hasThreadAt(bare.predictions[0], "signals", "cond_cxx.cpp", markedLine("cond_cxx.cpp", "@bare:signal")))
        << bare.predictions[0].dump(2);
}

TEST(CondPredictExample, LatentLostSignalIsPredictedFromARunThatEnded)
{
    TempDir dir("cond-example");
    const std::string trace = dir.file("latent.ravel");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", example("latent_lost_signal") }, withTimeout(60s));
    EXPECT_EQ(r.out, "work done: 1\n");
    EXPECT_EQ(r.status, 66) << r.err;
    json report = reportJson(trace);
    ASSERT_EQ(report["findings"].size(), 1u) << report["findings"].dump(2);
    const json& f = report["findings"][0];
    EXPECT_EQ(f["kind"], "potential-deadlock");
    EXPECT_TRUE(f["edges"].empty()) << f.dump(2);
    // Named as in every report: the worker thread, go_cond, go_lock.
    EXPECT_NE(r.err.find("T2 \"worker\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("waits on condvar go_cond"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("holds mutex go_lock"), std::string::npos) << r.err;
    // --no-lock-order turns every prediction off, this one too.
    RunResult none = run({ ravelBinary(), "report", "--format", "json", "--no-lock-order", trace });
    EXPECT_EQ(none.status, 0) << none.err;
    json j = json::parse(none.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << none.out;
    EXPECT_EQ(j["summary"]["findings"], 0) << none.out;
}

TEST(CondPredictStripped, AStrippedBinaryIsReadThroughItsUnwindTable)
{
    // Debian's programs have no symbol table: the functions' bounds come from .eh_frame.
    auto predictions = [](const char* which) { return record("e2e_cond_cases_O2_stripped", which).predictions.size(); };
    EXPECT_EQ(predictions("lost"), 1u);
    EXPECT_EQ(predictions("bare_worker"), 1u);
    EXPECT_EQ(predictions("held"), 1u);
    EXPECT_EQ(predictions("loop"), 0u);
    EXPECT_EQ(predictions("guard"), 0u);
    EXPECT_EQ(predictions("worker"), 0u);
}

INSTANTIATE_TEST_SUITE_P(Optimization, CondPredict, ::testing::Values("O0", "O2"));

} // namespace
