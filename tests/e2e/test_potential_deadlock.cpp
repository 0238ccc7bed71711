// Potential deadlocks of real programs: each example runs to completion under `ravel run`, and the
// lock-order analysis of its trace must report the latent cycle (by the locks' variable names) and
// stay silent about the look-alikes that cannot deadlock (gate lock, join order, readers, trylock).
#include "e2e_util.hpp"

#include "detect/lock_order.hpp"
#include "model/replay_model.hpp"
#include "analysis/analysis.hpp"
#include "symbols/symbolizer.hpp"

#include <nlohmann/json.hpp>

#include <set>

using namespace ravel::e2e;

namespace {

struct Analysis {
    std::vector<ravel::Finding> findings;
    size_t edges = 0;
};

// Records the example and analyzes its trace as `ravel report` will: model, lock order, names.
// `ravel run` itself reports a potential deadlock at exit with the error exit code (DESIGN.md's
// verdict table), and leaves a clean program's status alone.
Analysis recordAndAnalyze(const std::string& tag, const std::vector<std::string>& program, bool potential)
{
    TempDir dir(tag);
    std::vector<std::string> argv = program;
    argv[0] = example(argv[0]);
    RunResult r = ravelRun(dir.file("t.ravel"), argv, withTimeout(60s));
    EXPECT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, potential ? 66 : 0) << r.err;
    EXPECT_EQ(r.err.find("potential-deadlock") != std::string::npos, potential) << r.err;
    Analysis out;
    ravel::TraceReader reader(dir.file("t.ravel"));
    ravel::ReplayModel model(reader);
    ravel::LockOrderGraph graph(model);
    ravel::Symbolizer sym(reader.modules());
    out.edges = graph.edges().size();
    out.findings = graph.findings();
    for (ravel::Finding& f : out.findings)
        ravel::nameFindingObjects(f, reader, sym);
    return out;
}

std::set<std::string> cycleNames(const ravel::Finding& f)
{
    std::set<std::string> names;
    for (const ravel::FindingEdge& e : f.edges)
        names.insert(f.objects[e.from].name);
    return names;
}

std::set<std::string> threadNames(const ravel::Finding& f)
{
    std::set<std::string> names;
    for (const ravel::FindingThread& t : f.threads)
        names.insert(t.name);
    return names;
}

std::string describe(const std::vector<ravel::Finding>& fs)
{
    std::string out;
    for (const ravel::Finding& f : fs) {
        out += f.kind + ": " + f.title + " [";
        for (const ravel::FindingObject& o : f.objects)
            out += o.name + " ";
        out += "]\n";
    }
    return out;
}

} // namespace

TEST(PotentialDeadlock, LatentAbbaIsReportedWithBothLocks)
{
    Analysis a = recordAndAnalyze("latent_abba", { "latent_abba" }, true);
    ASSERT_EQ(a.findings.size(), 1u) << describe(a.findings);
    const ravel::Finding& f = a.findings[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(cycleNames(f), (std::set<std::string> { "account_a", "account_b" })) << describe(a.findings);
    EXPECT_EQ(threadNames(f), (std::set<std::string> { "teller-ab", "teller-ba" }));
    for (const ravel::FindingEdge& e : f.edges) {
        EXPECT_NE(e.fromStack, 0u);
        EXPECT_NE(e.toStack, 0u);
    }
}

TEST(PotentialDeadlock, GateLockIsClean)
{
    Analysis a = recordAndAnalyze("gate_lock", { "gate_lock" }, false);
    EXPECT_GT(a.edges, 0u); // the opposite orders were seen, and filtered
    EXPECT_TRUE(a.findings.empty()) << describe(a.findings);
}

TEST(PotentialDeadlock, JoinOrderedThreadsAreClean)
{
    Analysis a = recordAndAnalyze("join_ordered", { "join_ordered" }, false);
    EXPECT_EQ(a.edges, 2u);
    EXPECT_TRUE(a.findings.empty()) << describe(a.findings);
}

TEST(PotentialDeadlock, DiningThatDidNotHangIsOneCycleOfAllPhilosophers)
{
    Analysis a = recordAndAnalyze("latent_dining", { "latent_dining", "5" }, true);
    ASSERT_EQ(a.findings.size(), 1u) << describe(a.findings);
    const ravel::Finding& f = a.findings[0];
    EXPECT_EQ(f.kind, "potential-deadlock");
    EXPECT_EQ(f.edges.size(), 5u);
    EXPECT_EQ(f.threads.size(), 5u);
    EXPECT_EQ(f.instances, 1u);
    EXPECT_EQ(cycleNames(f), (std::set<std::string> { "forks[0]", "forks[1]", "forks[2]", "forks[3]", "forks[4]" }))
        << describe(a.findings);
    EXPECT_NE(f.title.find("5 locks"), std::string::npos) << f.title;
}

TEST(PotentialDeadlock, ThreadHoldingThreeHundredLocks)
{
    Analysis a = recordAndAnalyze("hundreds_of_locks", { "hundreds_of_locks" }, true);
    ASSERT_EQ(a.findings.size(), 1u) << describe(a.findings);
    EXPECT_EQ(cycleNames(a.findings[0]), (std::set<std::string> { "rows[0]", "rows[299]" })) << describe(a.findings);
    EXPECT_EQ(threadNames(a.findings[0]), (std::set<std::string> { "updater", "maintenance" }));
}

TEST(PotentialDeadlock, ReadersInOppositeOrdersAreClean)
{
    Analysis a = recordAndAnalyze("rwlock_readers_ok", { "rwlock_readers_ok" }, false);
    EXPECT_TRUE(a.findings.empty()) << describe(a.findings);
}

TEST(PotentialDeadlock, TrylockBackOffIsClean)
{
    Analysis a = recordAndAnalyze("trylock_ok", { "trylock_ok" }, false);
    EXPECT_TRUE(a.findings.empty()) << describe(a.findings);
}

// 64 bucket locks each taken before one global lock by one thread, after it by another: one bug,
// so one finding whose bucket side names its lock class and how many locks of it the pattern took,
// in the text a user reads and in the JSON a script reads.
TEST(PotentialDeadlock, BucketLocksAgainstOneGlobalLockAreOneFindingOfTheirClass)
{
    TempDir dir("bucket_inversion");
    const std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { helper("e2e_bucket_inversion") }, withTimeout(60s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("one of 64 locks of class bucket[*] taken here in this pattern"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("64 instances of this pattern"), std::string::npos) << r.err;

    RunResult report = run({ ravelBinary(), "report", "--format", "json", trace });
    ASSERT_EQ(report.status, 66) << report.err;
    nlohmann::json j = nlohmann::json::parse(report.out);
    std::vector<nlohmann::json> potential;
    for (const nlohmann::json& f : j["findings"])
        if (f["kind"] == "potential-deadlock")
            potential.push_back(f);
    ASSERT_EQ(potential.size(), 1u) << report.out;
    const nlohmann::json& f = potential[0];
    EXPECT_EQ(f["instances"].get<int>(), 64);
    std::map<std::string, std::string> classOf;
    for (const nlohmann::json& o : f["objects"])
        classOf[o["id"].get<std::string>()] = o["class"].get<std::string>();
    std::map<std::string, uint64_t> locksOfClass;
    for (const nlohmann::json& e : f["edges"])
        locksOfClass[classOf[e["from"].get<std::string>()]] = e["from_locks"].get<uint64_t>();
    EXPECT_EQ(locksOfClass, (std::map<std::string, uint64_t> { { "bucket[*]", 64 }, { "global_lock", 1 } }))
        << f["edges"].dump();
}
