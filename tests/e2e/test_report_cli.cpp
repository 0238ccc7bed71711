// `ravel report` on traces of real programs: examples/abba hangs and is killed by `ravel run`; its
// trace must then read as the deadlock it was in every format, with the exit status CI gates on;
// suppressions and RAVEL_OPTIONS silence it; a correct program reports nothing.
#include "e2e_util.hpp"

#include <map>
#include <regex>

using namespace ravel::e2e;
using json = nlohmann::json;

namespace {

// The repository: SARIF paths are relative to it when the report runs there.
fs::path sourceRoot() { return fs::weakly_canonical(fs::path(RAVEL_SOURCE_DIR)); }

// Records examples/abba into `trace`: the watchdog kills it and says so with 66.
void recordAbba(const std::string& trace)
{
    RunResult r = ravelRun(trace, { example("abba") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    ASSERT_EQ(r.status, 66) << r.err;
    ASSERT_TRUE(fs::exists(trace));
}

RunResult report(const std::vector<std::string>& args, const RunOptions& options = {})
{
    std::vector<std::string> argv { ravelBinary(), "report" };
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv, options);
}

class ReportAbba : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = new TempDir("report-abba");
        recordAbba(s_dir->file("abba.ravel"));
    }
    static void TearDownTestSuite()
    {
        delete s_dir;
        s_dir = nullptr;
    }
    static std::string trace() { return s_dir->file("abba.ravel"); }
    static TempDir* s_dir;
};
TempDir* ReportAbba::s_dir = nullptr;

} // namespace

TEST_F(ReportAbba, TextShowsTheWholeCycleAndExits66)
{
    RunResult r = report({ trace() });
    EXPECT_EQ(r.status, 66) << r.err;
    for (const char* word : { "account_a", "account_b", "teller-ab", "teller-ba", "abba.c:", "deadlock (certain)" })
        EXPECT_NE(r.out.find(word), std::string::npos) << "no " << word << " in\n" << r.out;
    EXPECT_NE(r.out.find("==ravel== ERROR #1:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("\n==ravel== 1 deadlock\n"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, ""); // not a terminal: no progress
}

TEST_F(ReportAbba, JsonHasTheDeadlockWithNamesAddressesAndLines)
{
    RunResult r = report({ trace(), "--format", "json" });
    EXPECT_EQ(r.status, 66) << r.err;
    json j = json::parse(r.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.out;
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["tool"]["name"], "ravel");
    EXPECT_EQ(j["trace"]["ended"], false);
    EXPECT_GT(j["trace"]["events"].get<int64_t>(), 0);
    ASSERT_FALSE(j["findings"].empty());
    const json& f = j["findings"][0];
    EXPECT_EQ(f["number"], 1);
    EXPECT_EQ(f["kind"], "deadlock");
    EXPECT_EQ(f["certainty"], "certain");
    EXPECT_TRUE(std::regex_match(f["fingerprint"].get<std::string>(), std::regex("[0-9a-f]{16}")));

    std::map<std::string, std::string> idOf;
    for (const auto& o : f["objects"]) {
        EXPECT_TRUE(std::regex_match(o["address"].get<std::string>(), std::regex("0x[0-9a-f]+"))) << o;
        idOf[o["name"]] = o["id"];
    }
    ASSERT_TRUE(idOf.count("account_a") && idOf.count("account_b")) << f["objects"].dump(2);

    bool sawAb = false, sawBa = false;
    for (const auto& t : f["threads"]) {
        EXPECT_TRUE(t["os_tid"].is_number_integer()) << t;
        EXPECT_TRUE(t["pid"].is_number_integer()) << t;
        if (t["name"] == "teller-ab") {
            sawAb = true;
            EXPECT_EQ(t["waits_for"]["object"], idOf["account_b"]);
            ASSERT_FALSE(t["holds"].empty());
            EXPECT_EQ(t["holds"][0]["object"], idOf["account_a"]);
            bool abbaLine = false;
            for (const auto& fr : t["waits_for"]["stack"])
                if (fr["file"].is_string() && fr["file"].get<std::string>().ends_with("abba.c") && fr["line"].is_number())
                    abbaLine = abbaLine || fr["function"] == "transfer";
            EXPECT_TRUE(abbaLine) << t["waits_for"]["stack"].dump(2);
        }
        if (t["name"] == "teller-ba") {
            sawBa = true;
            EXPECT_EQ(t["waits_for"]["object"], idOf["account_a"]);
        }
    }
    EXPECT_TRUE(sawAb && sawBa) << f["threads"].dump(2);
    EXPECT_EQ(j["summary"]["suppressed"], 0);
}

TEST_F(ReportAbba, OutputFileGetsTheReport)
{
    std::string out = s_dir->file("report.json");
    RunResult r = report({ trace(), "--format=json", "-o", out });
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_FALSE(json::parse(readFile(out), nullptr, false).is_discarded());
}

TEST_F(ReportAbba, SuppressionFileSilencesIt)
{
    // Should the lock-order analysis also report the cycle that deadlocked as a potential
    // deadlock, a team silences both: one rule by function, one by file.
    std::string supp = s_dir->file("supp.txt");
    writeFile(supp, "# the known one\ndeadlock:transfer\npotential-deadlock:abba.c  # same cycle\n");
    RunResult r = report({ trace(), "--suppressions", supp });
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("==ravel== no findings ("), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("suppressed 1 finding by " + supp + ":2: deadlock:transfer"), std::string::npos) << r.err;

    // The same through RAVEL_OPTIONS, as a test harness would set it.
    RunOptions env;
    env.env = { "RAVEL_OPTIONS=verbose=0:suppressions=" + supp };
    r = report({ trace(), "--format", "json" }, env);
    EXPECT_EQ(r.status, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    EXPECT_GE(j["summary"]["suppressed"].get<int>(), 1);
    EXPECT_TRUE(j["findings"].empty()) << j["findings"].dump(2);

    // A rule silences only its kind: the deadlock goes, whatever else was found keeps its number.
    writeFile(supp, "deadlock:transfer\n");
    r = report({ trace(), "--format", "json", "--suppressions", supp });
    j = json::parse(r.out, nullptr, false);
    EXPECT_EQ(j["summary"]["suppressed"], 1);
    for (const auto& f : j["findings"]) {
        EXPECT_NE(f["kind"], "deadlock");
        EXPECT_GT(f["number"].get<int>(), 1);
    }
    writeFile(supp, "misuse:account_*\n");
    EXPECT_EQ(report({ trace(), "--suppressions", supp }).status, 66);
    // An object pattern silences every kind with "*".
    writeFile(supp, "*:account_?\n");
    EXPECT_EQ(report({ trace(), "--suppressions", supp }).status, 0);
}

TEST_F(ReportAbba, ErrorExitCodeFromTheCommandLineBeatsRavelOptions)
{
    RunOptions env;
    env.env = { "RAVEL_OPTIONS=error_exitcode=9" };
    EXPECT_EQ(report({ trace() }, env).status, 9);
    EXPECT_EQ(report({ trace(), "--error-exitcode", "7" }, env).status, 7);
    env.env = { "RAVEL_OPTIONS=error_exitcode=x" };
    RunResult r = report({ trace() }, env);
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
}

TEST_F(ReportAbba, MalformedSuppressionIsOneLineNamingFileAndLine)
{
    std::string supp = s_dir->file("bad.txt");
    writeFile(supp, "deadlock:transfer\nthis is not a rule\n");
    RunResult r = report({ trace(), "--suppressions", supp });
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_EQ(r.err.rfind("ravel: " + supp + ":2: ", 0), 0u) << r.err;
}

TEST(ReportSarif, RepositoryRelativeUriAndFingerprintStableAcrossRuns)
{
    TempDir dir("report-sarif");
    std::string fingerprint[2];
    for (int i = 0; i < 2; i++) {
        std::string trace = dir.file("abba" + std::to_string(i) + ".ravel");
        recordAbba(trace);
        RunOptions at;
        at.cwd = sourceRoot().string();
        RunResult r = report({ trace, "--format", "sarif" }, at);
        EXPECT_EQ(r.status, 66) << r.err;
        json s = json::parse(r.out, nullptr, false);
        ASSERT_FALSE(s.is_discarded()) << r.out;
        EXPECT_EQ(s["version"], "2.1.0");
        const json& results = s["runs"][0]["results"];
        ASSERT_FALSE(results.empty());
        const json& res = results[0];
        EXPECT_EQ(res["ruleId"], "ravel/deadlock");
        EXPECT_EQ(res["level"], "error");
        const json& art = res["locations"].at(0)["physicalLocation"]["artifactLocation"];
        EXPECT_EQ(art["uri"], "examples/abba.c") << res.dump(2);
        EXPECT_EQ(art["uriBaseId"], "%SRCROOT%");
        fingerprint[i] = res["partialFingerprints"].value("ravelFingerprint/v1", "");
        EXPECT_FALSE(fingerprint[i].empty());
    }
    EXPECT_EQ(fingerprint[0], fingerprint[1]);
}

TEST(ReportCorrectProgram, NoFindingsExitsZero)
{
    TempDir dir("report-bank");
    std::string trace = dir.file("bank.ravel");
    RunResult rec = ravelRun(trace, { example("bank_std") }, withTimeout(60s));
    ASSERT_EQ(rec.status, 0) << rec.err;
    RunResult r = report({ trace });
    EXPECT_EQ(r.status, 0) << r.out << r.err;
    EXPECT_EQ(r.out, "==ravel== no findings\n");
    r = report({ trace, "--format", "sarif" });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(json::parse(r.out)["runs"][0]["results"].empty());
}

TEST(ReportBadInput, UnreadableTraceIsOneLineAndExit1)
{
    TempDir dir("report-bad");
    std::string junk = dir.file("junk.ravel");
    writeFile(junk, std::string(4096, 'x'));
    for (const std::string& path : { junk, dir.file("missing.ravel") }) {
        RunResult r = report({ path, "--format", "json" });
        EXPECT_EQ(r.status, 1) << r.err;
        EXPECT_EQ(r.out, "");
        EXPECT_EQ(countLines(r.err), 1u) << r.err;
        EXPECT_EQ(r.err.rfind("ravel: ", 0), 0u) << r.err;
        EXPECT_NE(r.err.find(path), std::string::npos) << r.err;
    }
    RunResult r = report({ junk, "--format", "xml" });
    EXPECT_EQ(r.status, 2);
}
