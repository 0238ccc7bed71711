// `ravel import --from std` as a user meets it: a published-benchmark style trace becomes a ravel
// trace that `ravel info` reads with the exact acquisition counts of its locks (reentrant
// re-entries folded), and a bad file gets one error line, exit 1 and no output file.
#include "e2e_util.hpp"

#include <gtest/gtest.h>

#include <fstream>

using namespace ravel::e2e;

namespace {

std::string stdData(const std::string& name)
{
    return (fs::path(RAVEL_SOURCE_DIR) / "tests" / "data" / "std" / name).string();
}

} // namespace

TEST(ImportCli, JavaAbbaImportsWithExactAcquisitionCounts)
{
    TempDir dir("import");
    std::string trace = dir.file("T.ravel");
    RunResult r = run({ravelBinary(), "import", "--from", "std", stdData("abba.std"), "-o", trace});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("imported"), std::string::npos) << r.err;

    RunResult infoRun;
    std::optional<nlohmann::json> info = infoJson(trace, &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    EXPECT_EQ((*info)["threads"].size(), 3u);
    EXPECT_EQ((*info)["warnings"].size(), 0u) << (*info)["warnings"].dump();
    // A1 and B2 keep their digits in their synthetic addresses.
    const nlohmann::json* a = findObject(*info, "mutex 0x100000000001", "mutex");
    const nlohmann::json* b = findObject(*info, "mutex 0x100000000002", "mutex");
    ASSERT_NE(a, nullptr) << info->dump(2);
    ASSERT_NE(b, nullptr) << info->dump(2);
    EXPECT_EQ(count(a, "acquisitions"), 2);
    EXPECT_EQ(count(b, "acquisitions"), 2);
    EXPECT_EQ((*info)["events_by_kind"].value("ACQUIRED", 0), 4);
    EXPECT_EQ((*info)["events_by_kind"].value("ACQ_REQ", 0), 2);
    // The joined threads ended; the main thread's end is not in the file, so it is not made up.
    for (const auto& t : (*info)["threads"])
        EXPECT_EQ(t.value("exited", false), t.value("name", "") != "T0") << t.dump();
}

TEST(ImportCli, ReleasedWaitDialectAndIllFormedTraces)
{
    TempDir dir("import-dialect");
    std::string trace = dir.file("D.ravel");
    RunResult r = run({ravelBinary(), "import", "--from", "std", stdData("waitreleased.std"), "-o", trace});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("note: 1 wait written as rel, wait, req/acq"), std::string::npos) << r.err;
    RunResult rep = run({ravelBinary(), "report", trace});
    EXPECT_EQ(rep.status, 0) << rep.out << rep.err;

    std::string bad = stdData("twoholders.std");
    std::string out = dir.file("B.ravel");
    r = run({ravelBinary(), "import", "--from", "std", bad, "-o", out});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "ravel: " + bad + ":4: acq of L1 by thread T2 while thread T1 holds it (acquired at line 3): "
                     "two threads cannot hold one lock\n");
    EXPECT_FALSE(fs::exists(out));
}

TEST(ImportCli, MemoryAccessesAreCountedInOneWarningLine)
{
    TempDir dir("import-mem");
    std::string trace = dir.file("W.ravel");
    RunResult r = run({ravelBinary(), "import", "--from", "std", stdData("waitnotify.std"), "-o", trace});
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("warning: " + stdData("waitnotify.std") + ": 2 memory accesses (r/w) and 0 atomic-block"),
        std::string::npos)
        << r.err;
    EXPECT_TRUE(fs::exists(trace));
}

TEST(ImportCli, BadFileIsOneLineExitOneAndNoOutput)
{
    TempDir dir("import-bad");
    std::string trace = dir.file("T.ravel");
    std::string bad = stdData("bad_op.std");
    RunResult r = run({ravelBinary(), "import", "--from", "std", bad, "-o", trace});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(r.err, "ravel: " + bad + ":3: unknown operation 'lock(L1)'\n");
    EXPECT_FALSE(fs::exists(trace));
    // Nothing else either: no raw or temporary file beside it.
    EXPECT_TRUE(fs::is_empty(dir.path()));

    r = run({ravelBinary(), "import", "--from", "std", dir.file("missing.std"), "-o", trace});
    EXPECT_EQ(r.status, 1);
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_FALSE(fs::exists(trace));

    r = run({ravelBinary(), "import", "--from", "csv", bad, "-o", trace});
    EXPECT_NE(r.status, 0);
    EXPECT_FALSE(fs::exists(trace));
}

// One thread nesting 45 locks in rotating orders (round r takes L_r, L_r+1, ..., L_r+44 mod 45):
// millions of distinct cycles of acquire sites, one bug. The report is one finding for the one
// strongly connected component (it was 64 findings, and before that 24 GB and killed), quickly,
// with its shortest cycles as examples and a count that says it is a lower bound.
TEST(ImportCli, RotatingNestedLocksGiveABoundedReportThatSaysItIsCut)
{
    TempDir dir("import-rotate");
    const int n = 45;
    std::string text;
    // Each lock is taken at a site of its own and released at another.
    for (int r = 0; r < n; r++) {
        for (int i = 0; i < n; i++)
            text += "T0|acq(L" + std::to_string((r + i) % n) + ")|" + std::to_string(10 + (r + i) % n) + "\n";
        for (int i = n; i-- > 0;)
            text += "T0|rel(L" + std::to_string((r + i) % n) + ")|" + std::to_string(1000 + (r + i) % n) + "\n";
    }
    std::string input = dir.file("rot.std");
    {
        std::ofstream(input) << text;
    }
    std::string trace = dir.file("rot.ravel");
    RunResult r = run({ravelBinary(), "import", "--from", "std", input, "-o", trace});
    ASSERT_EQ(r.status, 0) << r.err;
    auto t0 = std::chrono::steady_clock::now();
    nlohmann::json report = reportJson(trace);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(report.contains("findings")) << report.dump().substr(0, 2000);
    std::vector<nlohmann::json> lockOrder;
    for (const nlohmann::json& f : report["findings"])
        if (f["kind"] == "potential-deadlock" || f["kind"] == "lock-order-inversion")
            lockOrder.push_back(f);
    ASSERT_EQ(lockOrder.size(), 1u) << report.dump().substr(0, 2000);
    const nlohmann::json& f = lockOrder[0];
    EXPECT_EQ(f["kind"], "lock-order-inversion"); // one thread: a note, not a deadlock
    EXPECT_EQ(f["edges"].size(), 2u);              // the shortest cycles first
    EXPECT_EQ(f["more_examples"].size(), 3u);
    ASSERT_TRUE(f.contains("component")) << f.dump().substr(0, 2000);
    EXPECT_EQ(f["component"]["locks"], n);
    EXPECT_EQ(f["component"]["edges"], n * (n - 1));
    EXPECT_TRUE(f["component"]["cycles_at_least"].get<bool>());
    EXPECT_EQ(f["component"]["cycles"], f["instances"]);
    EXPECT_GE(f["instances"].get<uint64_t>(), uint64_t(n) * (n - 1) / 2);
    bool saysCut = false;
    for (const nlohmann::json& note : f["notes"])
        saysCut = saysCut || note.get<std::string>().find("stopped at its budget") != std::string::npos;
    EXPECT_TRUE(saysCut) << f["notes"].dump();
    EXPECT_LT(seconds, 10.0); // 0.07 s on a 2-core machine; it was 3.7 s
}
