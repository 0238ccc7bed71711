// `ravel graph --kind lock-order` on a lock-order graph of thousands of locks (3000 bucket locks
// taken in pairs in every order, recorded under `ravel run`): the default picture is the cycles,
// by class (one `buckets[*]` node, not 3000), within its time limit; a layout that cannot finish
// in the limit fails with one line and leaves no file. Before lock classes and the child process,
// such a graph sat in dot for minutes and left a 0-byte SVG.
#include "e2e_util.hpp"

using namespace ravel::e2e;

namespace {

class BigLockGraph : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = new TempDir("big-lock-graph");
        RunResult r = ravelRun(s_dir->file("t.ravel"), { helper("e2e_many_bucket_locks") }, withTimeout(120s));
        ASSERT_FALSE(r.timedOut) << r.err;
        ASSERT_EQ(r.status, 0) << r.err;
        ASSERT_TRUE(fs::exists(s_dir->file("t.ravel"))) << r.err;
    }
    static void TearDownTestSuite()
    {
        delete s_dir;
        s_dir = nullptr;
    }
    static std::string trace() { return s_dir->file("t.ravel"); }
    static std::string out(const std::string& name) { return s_dir->file(name); }
    static RunResult graph(const std::vector<std::string>& args, std::chrono::milliseconds limit = 120s)
    {
        std::vector<std::string> argv { ravelBinary(), "graph", trace(), "--kind", "lock-order" };
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, withTimeout(limit));
    }
    static size_t lines(const std::string& text)
    {
        size_t n = 0;
        for (char c : text)
            n += c == '\n';
        return n;
    }

    static inline TempDir* s_dir = nullptr;
};

} // namespace

TEST_F(BigLockGraph, DrawsTheCyclesByClassWithinTheTimeLimit)
{
    RunResult r = graph({ "-o", out("cycles.svg") });
    ASSERT_FALSE(r.timedOut) << "still running after 120 s";
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_LT(r.elapsed, 30s) << "the default limit";
    std::string svg = readFile(out("cycles.svg"));
    ASSERT_FALSE(svg.empty());
    EXPECT_NE(svg.find("<svg"), std::string::npos);
    // One class node for the 3000 buckets, its count in the label; the stats and log locks are on
    // no cycle and left out.
    EXPECT_NE(svg.find("buckets[*] \u00d73000"), std::string::npos) << svg.substr(0, 2000);
    EXPECT_EQ(svg.find("buckets[17]<"), std::string::npos) << "no node per bucket";
    EXPECT_EQ(svg.find("stats_lock"), std::string::npos);
    EXPECT_EQ(svg.find("log_lock"), std::string::npos);
    // It says what it left out, once.
    EXPECT_NE(r.err.find("drew 1 of 3 lock classes (3,000 of 3,002 locks): the cycles; --all for every lock"),
              std::string::npos)
        << r.err;
}

TEST_F(BigLockGraph, AllDrawsEveryClassWithItsOrders)
{
    RunResult r = graph({ "--all", "-o", out("all.svg") });
    ASSERT_EQ(r.status, 0) << r.err;
    std::string svg = readFile(out("all.svg"));
    EXPECT_NE(svg.find("buckets[*] \u00d73000"), std::string::npos);
    EXPECT_NE(svg.find("stats_lock"), std::string::npos);
    EXPECT_NE(svg.find("log_lock"), std::string::npos);
    EXPECT_NE(svg.find("lock pairs"), std::string::npos) << "a class edge counts what it folds";
    EXPECT_EQ(r.err.find("drew"), std::string::npos) << "nothing left out, nothing said: " << r.err;
}

TEST_F(BigLockGraph, EveryLockIsGivenToSfdpNotDot)
{
    RunResult r = graph({ "--all", "--by-lock", "-o", out("every.dot") });
    ASSERT_FALSE(r.timedOut);
    ASSERT_EQ(r.status, 0) << r.err;
    std::string dot = readFile(out("every.dot"));
    EXPECT_NE(dot.find("layout=sfdp"), std::string::npos) << dot.substr(0, 400);
    EXPECT_NE(dot.find("buckets[2999]"), std::string::npos);
}

TEST_F(BigLockGraph, LayoutPastTheLimitFailsInOneLineAndLeavesNoFile)
{
    RunResult r = graph({ "--all", "--by-lock", "--timeout", "1ms", "-o", out("late.svg") });
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_LT(r.elapsed, 20s) << "the layout was killed at the limit, not waited for";
    EXPECT_EQ(lines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("ravel: graph: graphviz: the sfdp layout of 3002 nodes"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("did not finish within 1ms"), std::string::npos) << r.err;
    EXPECT_FALSE(fs::exists(out("late.svg"))) << "no 0-byte file left behind";

    RunResult bad = graph({ "--timeout", "soon", "-o", out("bad.svg") });
    EXPECT_EQ(bad.status, 2) << bad.err;
    EXPECT_NE(bad.err.find("--timeout"), std::string::npos) << bad.err;
}
