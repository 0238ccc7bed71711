// Object lifetimes, cancellation and robust mutexes under `ravel run`: correct programs that
// cancel threads in the middle of waits, leave through pthread_exit or recover a robust mutex are
// quiet (exit 0, no error, no warning) and their threads' exits are in the trace; each misuse of
// a lifetime (a lock of a destroyed mutex, a destroy of a condvar or barrier while a thread waits
// on it, a barrier initialized with count 0 or twice) is one misuse finding whose stacks name
// both source lines: the misuse and the destroy, init or wait it conflicts with.
#include "e2e_util.hpp"

#include <fstream>

namespace {

using namespace ravel::e2e;
using nlohmann::json;

const std::string kSource = std::string(RAVEL_E2E_SOURCE_DIR) + "/lifetimes/";

int markedLine(const std::string& file, const std::string& marker) { return markedLineIn(kSource + file, marker); }

bool stackNames(const json& stack, const std::string& file, int line) { return stackNamesLine(stack, file, line); }

std::vector<json> findingsOfKind(const json& report, const std::string& kind)
{
    std::vector<json> out;
    for (const json& f : report["findings"])
        if (f["kind"] == kind)
            out.push_back(f);
    return out;
}

// A correct program: exit 0, nothing on stderr that reads as a finding or a warning.
void expectQuiet(const RunResult& r)
{
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("ERROR"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("NOTE"), std::string::npos) << r.err;
}

TEST(Lifetimes, CancelledWaitsAndPthreadExitAreQuietAndEveryExitIsInTheTrace)
{
    TempDir dir("cancel");
    const std::string trace = dir.file("cancel.ravel");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", helper("e2e_cancel_cleanup") }, withTimeout(60s));
    expectQuiet(r);
    EXPECT_EQ(r.out, "ok\n");
    json report = reportJson(trace);
    EXPECT_EQ(report["summary"]["findings"], 0) << report["findings"].dump(2);

    RunResult infoRun;
    auto info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    // main and 7 threads: 4 cancelled (in pthread_cond_wait, sem_wait, pthread_join, read), one
    // cancelled in pause(), 2 through pthread_exit (one from inside a cleanup handler).
    ASSERT_EQ((*info)["threads"].size(), 8u) << (*info)["threads"].dump();
    EXPECT_EQ((*info)["events_by_kind"].value("THREAD_EXIT", 0), 8) << (*info)["events_by_kind"].dump();
    for (const json& t : (*info)["threads"]) {
        if (t["parent"].is_null())
            continue; // main
        EXPECT_TRUE(t["exited"].get<bool>()) << t.dump();
        EXPECT_TRUE(t["blocked_on"].is_null()) << t.dump();
        EXPECT_EQ(t["holding_at_end"], 0) << t.dump();
    }
    // Each cancelled wait ends in the trace as a failure with ECANCELED, not as an open wait.
    RunResult dump = run({ ravelBinary(), "dump", trace });
    EXPECT_NE(dump.out.find("ECANCELED"), std::string::npos) << dump.out.substr(0, 4000);
}

TEST(Lifetimes, RobustMutexRecoveredThroughEownerdeadIsQuiet)
{
    TempDir dir("robust");
    const std::string trace = dir.file("robust.ravel");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", helper("e2e_robust_recover") }, withTimeout(60s));
    expectQuiet(r);
    EXPECT_EQ(r.out, "ok 1\n");
    json report = reportJson(trace);
    EXPECT_EQ(report["summary"]["findings"], 0) << report["findings"].dump(2);
    EXPECT_EQ((*infoJson(trace))["events_by_kind"].value("OWNER_DEAD", 0), 1);
}

// The issue's false error: a worker's last unlock of a rwlock and main's destroy of it, ordered
// only by a compare-and-swap the trace does not record. Never an error or a warning; at most one
// note per pair of sites, which says the trace cannot order the two and points at both lines.
TEST(Lifetimes, DestroyOrderedOnlyByAnAtomicIsNeverAnError)
{
    TempDir dir("atomic");
    const std::string trace = dir.file("atomic.ravel");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", helper("e2e_atomic_handoff"), "300" }, withTimeout(60s));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "ok 300\n");
    EXPECT_EQ(r.err.find("ERROR"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    json report = reportJson(trace);
    const int destroyLine = markedLine("atomic_handoff.c", "@atomic:destroy");
    ASSERT_GT(destroyLine, 0);
    size_t notes = 0;
    for (const json& f : report["findings"]) {
        EXPECT_EQ(f["kind"], "unordered-misuse") << f.dump(2);
        EXPECT_FALSE(f["error"].get<bool>()) << f.dump(2);
        ASSERT_EQ(f["threads"].size(), 2u) << f.dump(2);
        EXPECT_TRUE(stackNames(f["threads"][0]["stack"], "atomic_handoff.c", destroyLine)) << f.dump(2);
        EXPECT_NE(f.dump().find("cannot order"), std::string::npos) << f.dump(2);
        notes++;
    }
    EXPECT_LE(notes, 1u) << report["findings"].dump(2); // one pair of sites, whatever the rounds
}

struct MisuseCase {
    const char* name;        // the helper's argument and its source markers
    const char* title;       // the finding's title contains this
    const char* other;       // role of the second stack ("destroy", "wait"), or null
    int status;              // of `ravel run`
};

class LifetimeMisuse : public ::testing::TestWithParam<MisuseCase> { };

TEST_P(LifetimeMisuse, IsOneMisuseWithBothStacks)
{
    const MisuseCase& c = GetParam();
    TempDir dir(c.name);
    const std::string trace = dir.file("misuse.ravel");
    RunResult r = ravelRun(trace, { helper("e2e_sync_misuse"), c.name }, withTimeout(60s));
    EXPECT_EQ(r.status, c.status) << r.err;
    json report = reportJson(trace);
    std::vector<json> misuse = findingsOfKind(report, "misuse");
    ASSERT_EQ(misuse.size(), 1u) << report["findings"].dump(2);
    const json& f = misuse[0];
    EXPECT_NE(f["title"].get<std::string>().find(c.title), std::string::npos) << f["title"];
    EXPECT_TRUE(f["error"].get<bool>());

    const std::string name = c.name;
    int useLine = markedLine("sync_misuse.c", "@" + name + ":use");
    if (useLine == 0) // a case whose misuse is the destroy (or init) itself, the other side a wait
        useLine = markedLine("sync_misuse.c", "@" + name + ":destroy");
    ASSERT_GT(useLine, 0);
    ASSERT_GE(f["threads"].size(), 1u) << f.dump(2);
    EXPECT_TRUE(stackNames(f["threads"][0]["stack"], "sync_misuse.c", useLine))
        << "line " << useLine << ": " << f["threads"][0]["stack"].dump(2);
    if (!c.other) {
        EXPECT_EQ(f["threads"].size(), 1u) << f.dump(2);
        return;
    }
    ASSERT_EQ(f["threads"].size(), 2u) << f.dump(2);
    EXPECT_TRUE(f["threads"][1]["action"].is_string()) << f.dump(2);
    if (std::string(c.other) == "free") {
        // The runtime records no stack for a free (intercept_process.cpp): the thread and what it did.
        EXPECT_EQ(f["threads"][1]["action"], "freed the memory of") << f.dump(2);
        return;
    }
    int otherLine = markedLine("sync_misuse.c", "@" + name + ":" + c.other);
    ASSERT_GT(otherLine, 0);
    EXPECT_TRUE(stackNames(f["threads"][1]["stack"], "sync_misuse.c", otherLine))
        << "line " << otherLine << ": " << f["threads"][1]["stack"].dump(2);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LifetimeMisuse,
    ::testing::Values(MisuseCase { "lock-destroyed", "lock of a destroyed mutex", "destroy", 66 },
                      MisuseCase { "trylock-destroyed", "trylock of a destroyed mutex", "destroy", 66 },
                      MisuseCase { "unlock-destroyed", "unlock of a destroyed mutex", "destroy", 66 },
                      MisuseCase { "lock-freed", "lock of a destroyed mutex in freed memory", "destroy", 66 },
                      MisuseCase { "lock-freed-live", "lock of a mutex in freed memory", "free", 66 },
                      MisuseCase { "cond-destroy-waiting", "destroy of a condvar while a thread waits on it", "wait", 66 },
                      MisuseCase { "barrier-zero", "barrier initialized with a count of 0", nullptr, 66 },
                      MisuseCase { "barrier-twice", "barrier initialized twice", "destroy", 66 },
                      MisuseCase { "barrier-destroy-waiting", "destroy of a barrier while a thread waits on it", "wait", 66 },
                      MisuseCase { "barrier-reinit-waiting", "re-initialization of a barrier while a thread waits on it",
                                   "wait", 66 },
                      MisuseCase { "robust-unrecoverable", "robust mutex that is not recoverable", "destroy", 66 }),
    [](const ::testing::TestParamInfo<MisuseCase>& info) {
        std::string n = info.param.name;
        std::replace(n.begin(), n.end(), '-', '_');
        return n;
    });

} // namespace
