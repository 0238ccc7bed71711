// The structured reports (JSON, SARIF), the text report's lock-order and misuse sections, and
// suppressions, on synthetic traces built byte for byte (trace_builder.hpp) and run through the
// real pipeline: TraceReader -> ReplayModel -> analyzeTrace -> render. The stacks and objects are
// this test binary's own functions and globals, recorded with its real module map, so names,
// files and lines come out of the real symbolizer. JSON is checked against docs/report.schema.json.
#include "analysis/run_analysis.hpp"
#include "analysis/analysis.hpp"
#include "model/replay_model.hpp"
#include "report/report_json.hpp"
#include "report/report_sarif.hpp"
#include "report/report_text.hpp"
#include "report/suppressions.hpp"
#include "symbols/symbolizer.hpp"
#include "trace_builder.hpp"
#include "../report_schema_check.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <link.h>
#include <pthread.h>
#include <unistd.h>

#include <climits>
#include <filesystem>
#include <fstream>
#include <regex>

extern "C" {
// The objects of the synthetic runs: real globals, so the symbolizer names them.
pthread_mutex_t report_account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t report_account_b = PTHREAD_MUTEX_INITIALIZER;
int report_ready_word; // futex words
int report_other_word;

// The "call sites" of the synthetic runs. noinline and distinct, so each address has its own line.
__attribute__((noinline)) void report_transfer_first() { asm volatile(""); }
__attribute__((noinline)) void report_transfer_second() { asm volatile(""); }
__attribute__((noinline)) void report_bad_unlock() { asm volatile(""); }
}

namespace {

using namespace ravel;
using json = nlohmann::json;
namespace fs = std::filesystem;

// A frame "inside" fn: the symbolizer looks return addresses up at addr-1, the function's entry.
uint64_t site(void (*fn)()) { return reinterpret_cast<uint64_t>(fn) + 1; }
uint64_t addr(pthread_mutex_t* m) { return reinterpret_cast<uint64_t>(m); }
uint64_t addr(int* w) { return reinterpret_cast<uint64_t>(w); }

// The main program's mapping, as the runtime records it.
void addOwnModule(test::TraceBuilder& b)
{
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* data) {
            if (info->dlpi_name && info->dlpi_name[0])
                return 0;
            uint64_t lo = UINT64_MAX, hi = 0;
            for (int i = 0; i < info->dlpi_phnum; ++i) {
                const ElfW(Phdr)& ph = info->dlpi_phdr[i];
                if (ph.p_type != PT_LOAD)
                    continue;
                lo = std::min<uint64_t>(lo, info->dlpi_addr + ph.p_vaddr);
                hi = std::max<uint64_t>(hi, info->dlpi_addr + ph.p_vaddr + ph.p_memsz);
            }
            char exe[PATH_MAX];
            ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
            if (n > 0)
                static_cast<test::TraceBuilder*>(data)->module(info->dlpi_addr, lo, hi, std::string(exe, size_t(n)));
            return 1;
        },
        &b);
}

class ReportFormats : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string dir = (fs::temp_directory_path() / "ravel-report-XXXXXX").string();
        ASSERT_NE(mkdtemp(dir.data()), nullptr);
        m_dir = dir;
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // ABBA, killed while hung: T2 "teller-ab" holds a, waits for b; T3 "teller-ba" the reverse.
    std::string abbaTrace()
    {
        test::TraceBuilder b;
        addOwnModule(b);
        b.stack(1, { site(report_transfer_first) });
        b.stack(2, { site(report_transfer_second) });
        b.thread(1, "main").pthread = 0x7f0000000100;
        b.thread(2, "teller-ab").pthread = 0x7f0000000200;
        b.thread(3, "teller-ba").pthread = 0x7f0000000300;
        b.time(1, 100);
        b.event(1, RAVEL_EV_THREAD_START, 0x7f0000000100, 0);
        b.time(2, 200);
        b.event(2, RAVEL_EV_THREAD_START, 0x7f0000000200, 1);
        b.event(2, RAVEL_EV_ACQUIRED, addr(&report_account_a), 1, 1, RAVEL_OBJ_MUTEX);
        b.time(3, 300);
        b.event(3, RAVEL_EV_THREAD_START, 0x7f0000000300, 1);
        b.event(3, RAVEL_EV_ACQUIRED, addr(&report_account_b), 1, 1, RAVEL_OBJ_MUTEX);
        b.time(2, 400);
        b.event(2, RAVEL_EV_ACQ_REQ, addr(&report_account_b), 0, 2, RAVEL_OBJ_MUTEX);
        b.time(3, 500);
        b.event(3, RAVEL_EV_ACQ_REQ, addr(&report_account_a), 0, 2, RAVEL_OBJ_MUTEX);
        std::string path = (m_dir / "abba.ravel").string();
        b.write(path);
        return path;
    }

    // A program that unlocks a mutex it does not hold, then exits normally.
    std::string misuseTrace()
    {
        test::TraceBuilder b;
        addOwnModule(b);
        b.stack(1, { site(report_bad_unlock) });
        b.header().flags |= RAVEL_FILE_ENDED;
        b.thread(1, "main").pthread = 0x7f0000000100;
        b.time(1, 100);
        b.event(1, RAVEL_EV_THREAD_START, 0x7f0000000100, 0);
        b.event(1, RAVEL_EV_RELEASE, addr(&report_account_a), 0, 1, RAVEL_OBJ_MUTEX);
        std::string path = (m_dir / "misuse.ravel").string();
        b.write(path);
        return path;
    }

    // A worker still waiting on a semaphore nobody posts when main exits normally: a note.
    std::string blockedAtExitTrace()
    {
        test::TraceBuilder b;
        addOwnModule(b);
        b.stack(1, { site(report_transfer_second) });
        b.header().flags |= RAVEL_FILE_ENDED;
        b.thread(1, "main").pthread = 0x7f0000000100;
        b.thread(2, "idle-worker").pthread = 0x7f0000000200;
        b.time(1, 100);
        b.event(1, RAVEL_EV_THREAD_START, 0x7f0000000100, 0);
        b.time(2, 200);
        b.event(2, RAVEL_EV_THREAD_START, 0x7f0000000200, 1);
        b.event(2, RAVEL_EV_WAIT_REQ, addr(&report_account_b), 0, 1, RAVEL_OBJ_SEM);
        b.time(1, 300);
        b.event(1, RAVEL_EV_THREAD_EXIT, 0x7f0000000100);
        std::string path = (m_dir / "idle.ravel").string();
        b.write(path);
        return path;
    }

    // Two threads in untimed futex waits on two globals, killed while hung: nobody can wake them.
    std::string futexTrace()
    {
        test::TraceBuilder b;
        addOwnModule(b);
        b.stack(1, { site(report_transfer_second) });
        b.thread(1, "main").pthread = 0x7f0000000100;
        b.thread(2, "waiter").pthread = 0x7f0000000200;
        b.time(1, 100);
        b.event(1, RAVEL_EV_THREAD_START, 0x7f0000000100, 0);
        b.time(2, 200);
        b.event(2, RAVEL_EV_THREAD_START, 0x7f0000000200, 1);
        b.event(2, RAVEL_EV_WAIT_REQ, addr(&report_ready_word), 2, 1, RAVEL_OBJ_FUTEX);
        b.time(1, 300);
        b.event(1, RAVEL_EV_WAIT_REQ, addr(&report_other_word), 0, 1, RAVEL_OBJ_FUTEX);
        std::string path = (m_dir / "futex.ravel").string();
        b.write(path);
        return path;
    }

    struct Analyzed {
        std::unique_ptr<TraceReader> reader;
        std::unique_ptr<RunAnalysis> run;
        std::unique_ptr<Symbolizer> sym;
        std::vector<Finding> findings;
        std::vector<NumberedFinding> numbered() const
        {
            std::vector<NumberedFinding> out;
            for (size_t i = 0; i < findings.size(); i++)
                out.push_back({ i + 1, &findings[i] });
            return out;
        }
    };

    static Analyzed analyze(const std::string& path, ReplayModel::Retain retain = ReplayModel::Retain::Everything)
    {
        Analyzed a;
        a.reader = std::make_unique<TraceReader>(path);
        a.run = std::make_unique<RunAnalysis>(*a.reader, retain);
        a.sym = std::make_unique<Symbolizer>(a.reader->modules());
        a.findings = analyzeTrace(*a.run, *a.sym);
        return a;
    }

    static json toJson(const Analyzed& a)
    {
        ReportContext ctx;
        ctx.tracePath = "t.ravel";
        ctx.toolVersion = "test";
        return json::parse(renderReportJson(a.numbered(), *a.reader, a.run->model().eventCount(), *a.sym, ctx).dump());
    }

    fs::path m_dir;
};

std::string validate(const json& report) { return schema_check::validateReport(report); }

const json* objectNamed(const json& finding, const std::string& name)
{
    for (const auto& o : finding["objects"])
        if (o["name"] == name)
            return &o;
    return nullptr;
}

// ---- tests ----

TEST_F(ReportFormats, SchemaCheckerRejectsWhatTheSchemaForbids)
{
    json bad = { { "schema_version", 2 } };
    EXPECT_NE(validate(bad), "");
    Analyzed a = analyze(abbaTrace());
    json j = toJson(a);
    j["findings"][0]["objects"][0]["address"] = 1234;
    EXPECT_NE(validate(j), "");
    j = toJson(a);
    j["findings"][0]["kind"] = "oops";
    EXPECT_NE(validate(j), "");
}

TEST_F(ReportFormats, JsonOfADeadlockNamesThreadsObjectsAndStacks)
{
    Analyzed a = analyze(abbaTrace());
    json j = toJson(a);
    EXPECT_EQ(validate(j), "") << j.dump(2);
    EXPECT_EQ(j["schema_version"], 1);
    EXPECT_EQ(j["trace"]["ended"], false);
    EXPECT_EQ(j["trace"]["exit_status"], nullptr);
    ASSERT_GE(j["findings"].size(), 1u);
    const json& f = j["findings"][0];
    EXPECT_EQ(f["number"], 1);
    EXPECT_EQ(f["kind"], "deadlock");
    EXPECT_EQ(f["certainty"], "certain");
    EXPECT_EQ(f["error"], true);
    const json* a1 = objectNamed(f, "report_account_a");
    const json* b1 = objectNamed(f, "report_account_b");
    ASSERT_TRUE(a1 && b1) << f["objects"].dump(2);
    EXPECT_EQ((*a1)["address"], fmt::format("0x{:x}", addr(&report_account_a)));
    EXPECT_EQ((*a1)["kind"], "mutex");

    bool sawTeller = false;
    for (const auto& t : f["threads"]) {
        if (t["name"] != "teller-ab")
            continue;
        sawTeller = true;
        EXPECT_EQ(t["id"], 2);
        EXPECT_EQ(t["os_tid"], 1002);
        ASSERT_TRUE(t["waits_for"].is_object());
        EXPECT_EQ(t["waits_for"]["object"], (*b1)["id"]);
        EXPECT_EQ(t["waits_for"]["wakers"], json::array({ 3 }));
        const json& frame = t["waits_for"]["stack"].at(0);
        EXPECT_EQ(frame["function"], "report_transfer_second");
        EXPECT_TRUE(frame["file"].get<std::string>().ends_with("test_report_formats.cpp")) << frame;
        EXPECT_TRUE(frame["line"].is_number_integer());
        ASSERT_EQ(t["holds"].size(), 1u);
        EXPECT_EQ(t["holds"][0]["object"], (*a1)["id"]);
        EXPECT_EQ(t["holds"][0]["stack"].at(0)["function"], "report_transfer_first");
    }
    EXPECT_TRUE(sawTeller) << f.dump(2);
    EXPECT_EQ(j["summary"]["errors"], j["findings"].size());
}

TEST_F(ReportFormats, FutexWaitsAreAnOrDeadlockWithTheExpectedValue)
{
    Analyzed a = analyze(futexTrace());
    json j = toJson(a);
    EXPECT_EQ(validate(j), "") << j.dump(2);
    ASSERT_GE(j["findings"].size(), 1u);
    const json& f = j["findings"][0];
    EXPECT_EQ(f["kind"], "deadlock");
    // Presumed wakers (any live thread may wake a futex word): likely, not certain, from the
    // trace alone.
    EXPECT_EQ(f["certainty"], "likely");
    const json* b1 = objectNamed(f, "report_ready_word");
    ASSERT_TRUE(b1) << f["objects"].dump(2);
    EXPECT_EQ((*b1)["kind"], "futex");
    bool sawWaiter = false;
    for (const auto& t : f["threads"]) {
        if (t["name"] != "waiter")
            continue;
        sawWaiter = true;
        EXPECT_EQ(t["waits_for"]["object"], (*b1)["id"]);
        EXPECT_EQ(t["waits_for"]["futex_value"], 2);
        EXPECT_EQ(t["waits_for"]["wakers"], json::array({ 1 }));
    }
    EXPECT_TRUE(sawWaiter) << f.dump(2);
    std::string text = renderFindingText(a.findings[0], 1, *a.reader, *a.sym);
    EXPECT_NE(text.find("futex report_ready_word (while the word is 2)"), std::string::npos) << text;
    EXPECT_NE(text.find("wake it"), std::string::npos) << text;
}

TEST_F(ReportFormats, SarifHasRulesRepositoryRelativeLocationsAndFingerprints)
{
    Analyzed a = analyze(abbaTrace());
    ReportContext ctx;
    ctx.toolVersion = "test";
    std::string root = sarifSourceRoot((fs::path(RAVEL_SOURCE_DIR) / "tests" / "unit").string());
    std::string cwd = fs::current_path().string(); // what the symbolizer made files relative to
    json s = json::parse(renderReportSarif(a.numbered(), *a.reader, *a.sym, ctx, root, cwd).dump());
    EXPECT_EQ(s["version"], "2.1.0");
    EXPECT_TRUE(s.contains("$schema"));
    const json& run = s["runs"][0];
    EXPECT_EQ(run["tool"]["driver"]["name"], "ravel");
    std::vector<std::string> ruleIds;
    for (const auto& r : run["tool"]["driver"]["rules"]) {
        ruleIds.push_back(r["id"]);
        EXPECT_TRUE(r["shortDescription"].contains("text"));
        EXPECT_TRUE(r["fullDescription"].contains("text"));
        EXPECT_TRUE(r["defaultConfiguration"].contains("level"));
    }
    EXPECT_NE(std::find(ruleIds.begin(), ruleIds.end(), "ravel/deadlock"), ruleIds.end());
    const json& r = run["results"].at(0);
    EXPECT_EQ(r["ruleId"], "ravel/deadlock");
    EXPECT_EQ(r["level"], "error");
    EXPECT_EQ(r["partialFingerprints"]["ravelFingerprint/v1"], a.findings[0].fingerprint);
    const json& phys = r["locations"].at(0)["physicalLocation"];
    fs::path self = fs::path(RAVEL_SOURCE_DIR) / "tests" / "unit" / "test_report_formats.cpp";
    std::string expected = self.lexically_relative(root).generic_string();
    EXPECT_EQ(phys["artifactLocation"]["uri"], expected);
    EXPECT_EQ(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    EXPECT_GE(phys["region"]["startLine"].get<int>(), 1);
    EXPECT_FALSE(r["relatedLocations"].empty());
    EXPECT_FALSE(r["codeFlows"][0]["threadFlows"].empty());
    EXPECT_NE(r["message"]["text"].get<std::string>().find("report_account_a"), std::string::npos);
}

TEST_F(ReportFormats, SarifSkipsFilesOutsideTheRoot)
{
    std::string root = m_dir.string();
    EXPECT_EQ(sarifRelativeUri("/usr/include/pthread.h", root, root), "");
    EXPECT_EQ(sarifRelativeUri((m_dir / "missing.c").string(), root, root), "");
    std::ofstream((m_dir / "a b.c").string()) << "x";
    EXPECT_EQ(sarifRelativeUri("a b.c", root, root), "a%20b.c");
}

TEST_F(ReportFormats, MisuseNamesWhatAndWhere)
{
    Analyzed a = analyze(misuseTrace());
    ASSERT_FALSE(a.findings.empty());
    const Finding& f = a.findings[0];
    ASSERT_EQ(f.kind, "misuse");
    EXPECT_TRUE(isError(f));
    std::string text = renderFindingText(f, 1, *a.reader, *a.sym);
    EXPECT_NE(text.find("report_account_a"), std::string::npos) << text;
    EXPECT_NE(text.find("report_bad_unlock"), std::string::npos) << text;
    EXPECT_NE(text.find("does not hold"), std::string::npos) << text;
    json j = toJson(a);
    EXPECT_EQ(validate(j), "") << j.dump(2);
    EXPECT_EQ(j["findings"][0]["threads"][0]["stack"][0]["function"], "report_bad_unlock");
    json s = renderReportSarif(a.numbered(), *a.reader, *a.sym, {}, "/nonexistent-root", "/");
    EXPECT_EQ(s["runs"][0]["results"][0]["level"], "warning");
}

TEST_F(ReportFormats, BlockedAtExitIsANoteNotAnError)
{
    Analyzed a = analyze(blockedAtExitTrace());
    ASSERT_EQ(a.findings.size(), 1u);
    const Finding& f = a.findings[0];
    EXPECT_EQ(f.kind, "blocked-at-exit");
    EXPECT_FALSE(isError(f));
    std::string text = renderFindingText(f, 1, *a.reader, *a.sym);
    EXPECT_EQ(text.rfind("==ravel== NOTE #1: blocked-at-exit", 0), 0u) << text;
    EXPECT_NE(text.find("idle-worker"), std::string::npos) << text;
    EXPECT_NE(text.find("report_transfer_second"), std::string::npos) << text;
    json j = toJson(a);
    EXPECT_EQ(validate(j), "") << j.dump(2);
    EXPECT_EQ(j["findings"][0]["error"], false);
    EXPECT_EQ(j["findings"][0]["certainty"], nullptr);
    EXPECT_EQ(j["summary"]["errors"], 0);
    json s = renderReportSarif(a.numbered(), *a.reader, *a.sym, {}, "/nonexistent-root", "/");
    EXPECT_EQ(s["runs"][0]["results"][0]["level"], "note");
    EXPECT_EQ(s["runs"][0]["results"][0]["ruleId"], "ravel/blocked-at-exit");
}

// The lock-order analysis may not produce findings yet; its Finding shape is rendered by hand.
TEST_F(ReportFormats, PotentialDeadlockShowsEveryEdgeWithBothStacks)
{
    Analyzed a = analyze(abbaTrace());
    Finding f;
    f.kind = "potential-deadlock";
    f.title = "lock-order cycle between 2 threads over 2 mutexes";
    f.objects = a.findings[0].objects;
    size_t ia = 0, ib = 1;
    if (f.objects[0].name != "report_account_a")
        std::swap(ia, ib);
    f.edges.push_back({ ia, ib, 2, 1, 2, 400, { ia }, {}, {}, 1 });
    f.edges.push_back({ ib, ia, 3, 1, 2, 500, { ib }, {}, {}, 1 });
    f.instances = 3;
    f.fingerprint = "0123456789abcdef";
    std::string text = renderFindingText(f, 2, *a.reader, *a.sym);
    EXPECT_NE(text.find("T2 takes mutex report_account_a"), std::string::npos) << text;
    EXPECT_NE(text.find("then requests mutex report_account_b"), std::string::npos) << text;
    EXPECT_NE(text.find("T3 takes mutex report_account_b"), std::string::npos) << text;
    EXPECT_NE(text.find("3 instances of this pattern"), std::string::npos) << text;
    EXPECT_NE(text.find("report_transfer_first"), std::string::npos) << text;
    EXPECT_NE(text.find("report_transfer_second"), std::string::npos) << text;

    ReportContext ctx;
    std::vector<NumberedFinding> list { { 2, &f } };
    json j = json::parse(renderReportJson(list, *a.reader, 0, *a.sym, ctx).dump());
    EXPECT_EQ(validate(j), "") << j.dump(2);
    const json& e = j["findings"][0]["edges"][0];
    const json* ja = objectNamed(j["findings"][0], "report_account_a");
    const json* jb = objectNamed(j["findings"][0], "report_account_b");
    ASSERT_TRUE(ja && jb);
    EXPECT_EQ((*ja)["id"], fmt::format("o{:x}.0", addr(&report_account_a)));
    EXPECT_EQ(e["from"], (*ja)["id"]);
    EXPECT_EQ(e["to"], (*jb)["id"]);
    EXPECT_EQ(e["held"], json::array({ (*ja)["id"] }));
    EXPECT_EQ(e["to_stack"][0]["function"], "report_transfer_second");
    EXPECT_EQ(j["findings"][0]["instances"], 3);
    EXPECT_EQ(j["findings"][0]["number"], 2);
}

// A finding that stands for a strongly connected component (issue 16 item 4): the count of its
// cycles (a lower bound here), how many patterns, and the component's size, in text, JSON, SARIF.
TEST_F(ReportFormats, GroupedLockOrderFindingShowsItsComponentAndCount)
{
    Analyzed a = analyze(abbaTrace());
    Finding f;
    f.kind = "potential-deadlock";
    f.title = "lock order inversion: 2 locks taken in opposite orders by 2 threads (could deadlock)";
    f.objects = a.findings[0].objects;
    f.edges.push_back({ 0, 1, 2, 1, 2, 400, { 0 }, {}, {}, 1 });
    f.edges.push_back({ 1, 0, 3, 1, 2, 500, { 1 }, {}, {}, 1 });
    f.moreExamples.push_back(f.edges);
    f.instances = 1200;
    f.instancesAtLeast = true;
    f.patterns = 7;
    f.componentLocks = 45;
    f.componentEdges = 1980;
    f.fingerprint = "0123456789abcdef";
    std::string text = renderFindingText(f, 1, *a.reader, *a.sym);
    EXPECT_NE(text.find("at least 1200 cycles of 7 patterns of acquire sites"), std::string::npos) << text;
    EXPECT_NE(text.find("45 locks, 1980 lock-order edges"), std::string::npos) << text;
    EXPECT_EQ(text.find("instances of this pattern"), std::string::npos) << text;

    ReportContext ctx;
    std::vector<NumberedFinding> list { { 1, &f } };
    json j = json::parse(renderReportJson(list, *a.reader, 0, *a.sym, ctx).dump());
    EXPECT_EQ(validate(j), "") << j.dump(2);
    const json& c = j["findings"][0]["component"];
    EXPECT_EQ(c["locks"], 45);
    EXPECT_EQ(c["edges"], 1980);
    EXPECT_EQ(c["cycles"], 1200);
    EXPECT_EQ(c["cycles_at_least"], true);
    EXPECT_EQ(c["patterns"], 7);

    // Other kinds carry no component.
    json plain = json::parse(renderReportJson({ { 1, &a.findings[0] } }, *a.reader, 0, *a.sym, ctx).dump());
    EXPECT_FALSE(plain["findings"][0].contains("component")) << plain.dump(2);
}

// `ravel report` and `ravel run` keep only the state at the end of the trace; the GUI keeps every
// span. Both must report the same thing, to the byte.
TEST_F(ReportFormats, ReportFromTheEndStateEqualsTheReportFromTheWholeModel)
{
    for (const std::string& path : { abbaTrace(), misuseTrace(), blockedAtExitTrace() }) {
        json whole = toJson(analyze(path));
        json end = toJson(analyze(path, ReplayModel::Retain::EndState));
        ASSERT_FALSE(whole["findings"].empty()) << path;
        EXPECT_EQ(end.dump(2), whole.dump(2)) << path;
    }
}

TEST(Suppressions, ParsesRulesAndComments)
{
    Suppressions s = Suppressions::parse("# known\n\ndeadlock:transfer\n  potential-deadlock : bank.c  # why\n"
                                         "*:legacy_cache_lock\n",
                                         "s.txt");
    ASSERT_EQ(s.rules().size(), 3u);
    EXPECT_EQ(s.rules()[1].kind, "potential-deadlock");
    EXPECT_EQ(s.rules()[1].pattern, "bank.c");
    EXPECT_EQ(s.rules()[1].line, 4u);
}

TEST(Suppressions, MalformedLineIsNamedByFileAndLine)
{
    auto error = [](const std::string& text) {
        try {
            Suppressions::parse(text, "supp.txt");
        } catch (const SuppressionError& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    EXPECT_EQ(error("deadlock:x\nnonsense\n").rfind("supp.txt:2: ", 0), 0u) << error("deadlock:x\nnonsense\n");
    EXPECT_NE(error("deadlok:x\n").find("unknown kind 'deadlok'"), std::string::npos);
    EXPECT_NE(error("misuse:\n").find("supp.txt:1: no pattern"), std::string::npos);
    EXPECT_EQ(error("deadlock:x\nnonsense\n").find('\n'), std::string::npos);
}

TEST(Suppressions, MatchesKindAndGlobAgainstFunctionsFilesAndObjects)
{
    Suppressions s = Suppressions::parse("deadlock:transfer\nmisuse:account_*\n*:legacy_cache_lock\n", "s");
    EXPECT_NE(s.match("deadlock", { "worker", "transfer" }), nullptr);
    EXPECT_EQ(s.match("potential-deadlock", { "transfer" }), nullptr); // wrong kind
    EXPECT_EQ(s.match("deadlock", { "transfer_all" }), nullptr);        // a glob, not a substring
    EXPECT_NE(s.match("misuse", { "account_b" }), nullptr);
    EXPECT_NE(s.match("blocked-at-exit", { "legacy_cache_lock" }), nullptr);
    EXPECT_EQ(s.rules()[0].hits, 1u);
}

TEST_F(ReportFormats, SuppressionCandidatesCoverFramesFilesAndObjects)
{
    Analyzed a = analyze(abbaTrace());
    std::vector<std::string> names = suppressionCandidates(a.findings[0], *a.reader, *a.sym);
    auto has = [&](const std::string& n) { return std::find(names.begin(), names.end(), n) != names.end(); };
    EXPECT_TRUE(has("report_transfer_first"));
    EXPECT_TRUE(has("test_report_formats.cpp"));
    EXPECT_TRUE(has("report_account_b"));
    Suppressions s = Suppressions::parse("deadlock:*_formats.cpp\n", "s");
    EXPECT_NE(s.match("deadlock", names), nullptr);
}

} // namespace
