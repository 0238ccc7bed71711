// The Perfetto (Chrome trace-event JSON) export on scripted traces: what a viewer needs to show the
// run (named threads, blocked slices, lock holds, handoff flows bound to slices, findings), read
// back with a real JSON parser; names that would break JSON; a full disk.
#include "detect/end_of_run.hpp"
#include "export/graph_model.hpp"
#include "export/perfetto_export.hpp"
#include "model/replay_model.hpp"
#include "model_script.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <tuple>

using namespace ravel;
using nlohmann::json;
using ravel::test::TraceBuilder;

namespace {

constexpr uint64_t M = 0x555555558040;
constexpr uint64_t N = 0x555555558068;
constexpr unsigned Contended = RAVEL_OBJ_MUTEX | RAVEL_F_CONTENDED;

// Events in the given global order, 1000 ticks (500 ns) apart.
struct Script : test::ModelScript {
    explicit Script(unsigned threads = 3, const char* name2 = "worker")
        : ModelScript(names(threads, name2))
    {
    }
    static std::vector<std::string> names(unsigned n, const char* name2)
    {
        std::vector<std::string> v(n, "helper");
        v[0] = "";
        if (n > 1)
            v[1] = name2;
        return v;
    }
};

std::string exportText(
    const ReplayModel& model, const std::vector<Finding>& findings = {}, PerfettoStats* stats = nullptr)
{
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* f = open_memstream(&buf, &len);
    PlainNaming naming(model);
    PerfettoStats s = writePerfettoJson(model, findings, naming, f);
    std::fclose(f);
    std::string text(buf, len);
    std::free(buf);
    if (stats)
        *stats = s;
    EXPECT_EQ(s.bytes, text.size());
    return text;
}

json exportJson(const ReplayModel& model, const std::vector<Finding>& findings = {})
{
    return json::parse(exportText(model, findings)).at("traceEvents");
}

std::vector<json> byPhase(const json& events, const std::string& ph)
{
    std::vector<json> out;
    for (const json& e : events)
        if (e.at("ph") == ph)
            out.push_back(e);
    return out;
}

// The builder gives thread N the OS tid 1000 + N; the export names tracks by OS tid.
constexpr uint64_t tidOf(uint32_t ravelId)
{
    return 1000 + ravelId;
}

// ts and dur are microseconds with three decimals: back to integer nanoseconds.
uint64_t ns(const json& v)
{
    return uint64_t(v.get<double>() * 1000 + 0.5);
}

// What every export must hold, whatever the trace: the checks a viewer relies on.
void expectWellFormed(const json& events, const ReplayModel& model)
{
    std::map<uint64_t, std::string> names;
    for (const json& e : byPhase(events, "M"))
        if (e.at("name") == "thread_name")
            names[e.at("tid").get<uint64_t>()] = e.at("args").at("name");
    EXPECT_EQ(names.size(), model.threads().size()) << "one thread_name per thread";

    // X slices of a thread never go back in time, and never partly overlap (Perfetto drops those).
    std::map<uint64_t, std::pair<uint64_t, uint64_t>> last; // tid -> (start, end) of the previous
    for (const json& e : byPhase(events, "X")) {
        uint64_t tid = e.at("tid"), ts = ns(e.at("ts")), end = ts + ns(e.at("dur"));
        EXPECT_TRUE(names.count(tid)) << e.dump();
        auto it = last.find(tid);
        if (it != last.end()) {
            EXPECT_GE(ts, it->second.first) << e.dump();
            EXPECT_TRUE(ts >= it->second.second || end <= it->second.second) << "partial overlap: " << e.dump();
        }
        last[tid] = { ts, end };
    }

    // Async holds: each id begins once and ends once, not before it began.
    std::map<uint64_t, uint64_t> begun;
    for (const json& e : byPhase(events, "b"))
        EXPECT_TRUE(begun.emplace(e.at("id").get<uint64_t>(), ns(e.at("ts"))).second) << e.dump();
    std::set<uint64_t> ended;
    for (const json& e : byPhase(events, "e")) {
        uint64_t id = e.at("id");
        ASSERT_TRUE(begun.count(id)) << e.dump();
        EXPECT_GE(ns(e.at("ts")), begun[id]);
        EXPECT_TRUE(ended.insert(id).second);
        EXPECT_EQ(e.at("cat"), "lock");
    }
    EXPECT_EQ(ended.size(), begun.size());

    // Flows: every "s" has its "f" (same id, name and category) no earlier, and each end has a
    // slice of its own category on its thread at its instant to bind to.
    std::map<uint64_t, json> starts;
    for (const json& s : byPhase(events, "s"))
        EXPECT_TRUE(starts.emplace(s.at("id").get<uint64_t>(), s).second);
    size_t finished = 0;
    for (const json& f : byPhase(events, "f")) {
        auto it = starts.find(f.at("id"));
        ASSERT_NE(it, starts.end()) << f.dump();
        EXPECT_EQ(f.at("name"), it->second.at("name"));
        EXPECT_EQ(f.at("cat"), it->second.at("cat"));
        EXPECT_EQ(f.at("bp"), "e");
        EXPECT_GE(ns(f.at("ts")), ns(it->second.at("ts")));
        finished++;
    }
    EXPECT_EQ(finished, starts.size());
    std::set<std::tuple<uint64_t, uint64_t, std::string>> slices;
    for (const json& x : byPhase(events, "X"))
        slices.emplace(x.at("tid"), ns(x.at("ts")), x.at("cat"));
    for (const std::string ph : { "s", "f" })
        for (const json& flow : byPhase(events, ph))
            EXPECT_TRUE(slices.count({ flow.at("tid"), ns(flow.at("ts")), flow.at("cat") }))
                << "no slice to bind " << flow.dump();
}

} // namespace

TEST(PerfettoExport, HandoffShowsWaitHoldsAndAFlowFromReleaseToAcquisition)
{
    Script s;
    uint64_t held = s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    uint64_t asked = s.ev(2, RAVEL_EV_ACQ_REQ, M);
    uint64_t released = s.ev(1, RAVEL_EV_RELEASE, M);
    uint64_t got = s.ev(2, RAVEL_EV_ACQUIRED, M, Contended, 2);
    s.ev(2, RAVEL_EV_RELEASE, M);
    const ReplayModel& m = s.model();
    json events = exportJson(m);
    expectWellFormed(events, m);

    std::map<uint64_t, std::string> names;
    for (const json& e : byPhase(events, "M"))
        if (e.at("name") == "thread_name")
            names[e.at("tid")] = e.at("args").at("name");
    EXPECT_EQ(names[tidOf(1)], "T1 main");
    EXPECT_EQ(names[tidOf(2)], "T2 worker");
    EXPECT_EQ(names[tidOf(3)], "T3 helper");

    std::vector<json> blocked;
    for (const json& x : byPhase(events, "X"))
        if (x.at("cat") == "blocked")
            blocked.push_back(x);
    ASSERT_EQ(blocked.size(), 1u);
    EXPECT_EQ(blocked[0].at("tid"), tidOf(2));
    EXPECT_EQ(blocked[0].at("name"), "lock 0x555555558040");
    EXPECT_EQ(ns(blocked[0].at("ts")), asked);
    EXPECT_EQ(ns(blocked[0].at("dur")), got - asked);
    EXPECT_EQ(blocked[0].at("args").at("outcome"), "acquired");

    std::vector<json> holds = byPhase(events, "b");
    ASSERT_EQ(holds.size(), 2u);
    for (const json& h : holds) {
        EXPECT_EQ(h.at("name"), "0x555555558040");
        EXPECT_EQ(h.at("cat"), "lock");
    }
    EXPECT_NE(holds[0].at("id"), holds[1].at("id"));
    EXPECT_EQ(ns(holds[0].at("ts")), held);
    EXPECT_EQ(holds[0].at("args").at("holder"), "T1 main");

    std::vector<json> s1 = byPhase(events, "s"), f1 = byPhase(events, "f");
    ASSERT_EQ(s1.size(), 1u);
    ASSERT_EQ(f1.size(), 1u);
    EXPECT_EQ(s1[0].at("tid"), tidOf(1));
    EXPECT_EQ(ns(s1[0].at("ts")), released);
    EXPECT_EQ(f1[0].at("tid"), tidOf(2));
    EXPECT_EQ(ns(f1[0].at("ts")), got);
}

TEST(PerfettoExport, DeadlockedThreadsStayBlockedToTheEndAndTheFindingIsAGlobalInstant)
{
    Script s;
    s.ev(2, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    s.ev(3, RAVEL_EV_ACQUIRED, N, RAVEL_OBJ_MUTEX, 1);
    s.ev(2, RAVEL_EV_ACQ_REQ, N);
    uint64_t formed = s.ev(3, RAVEL_EV_ACQ_REQ, M);
    s.ev(1, RAVEL_EV_ACQUIRED, 0x555555558090, RAVEL_OBJ_MUTEX, 1); // main runs on
    const ReplayModel& m = s.model();
    std::vector<Finding> findings = endOfRunFindings(m);
    ASSERT_FALSE(findings.empty());
    json events = exportJson(m, findings);
    expectWellFormed(events, m);

    uint64_t end = m.endNs();
    size_t open = 0;
    for (const json& x : byPhase(events, "X")) {
        if (x.at("args").at("outcome") != "still blocked when the trace ended")
            continue;
        EXPECT_EQ(ns(x.at("ts")) + ns(x.at("dur")), end) << x.dump();
        open++;
    }
    EXPECT_EQ(open, 2u);
    size_t heldAtEnd = 0;
    for (const json& b : byPhase(events, "b"))
        heldAtEnd += b.at("args").contains("held when the trace ended");
    EXPECT_EQ(heldAtEnd, 3u);

    std::vector<json> instants = byPhase(events, "i");
    ASSERT_EQ(instants.size(), findings.size());
    EXPECT_EQ(instants[0].at("s"), "g");
    EXPECT_EQ(instants[0].at("cat"), "finding");
    EXPECT_EQ(instants[0].at("name").get<std::string>().rfind("deadlock", 0), 0u) << instants[0].dump();
    EXPECT_EQ(ns(instants[0].at("ts")), formed);
    EXPECT_EQ(instants[0].at("args").at("finding"), 1);
}

TEST(PerfettoExport, NamesThatWouldBreakJsonAreEscaped)
{
    // A quote, a backslash, a tab, a stray byte and a valid two-byte character.
    Script s(2, "we\"ird\\\tna\xffme\xc3\xa9");
    s.ev(2, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    const ReplayModel& m = s.model();
    json events = exportJson(m);
    std::string name;
    for (const json& e : byPhase(events, "M"))
        if (e.at("name") == "thread_name" && e.at("tid") == tidOf(2))
            name = e.at("args").at("name");
    EXPECT_EQ(name, "T2 we\"ird\\\tna?me\xc3\xa9");
}

TEST(PerfettoExport, AFullDiskIsAnErrorNotACorruptFile)
{
    std::FILE* full = std::fopen("/dev/full", "wb");
    if (!full)
        GTEST_SKIP() << "no /dev/full";
    Script s;
    s.ev(1, RAVEL_EV_ACQUIRED, M, RAVEL_OBJ_MUTEX, 1);
    const ReplayModel& m = s.model();
    PlainNaming naming(m);
    std::setvbuf(full, nullptr, _IONBF, 0);
    EXPECT_THROW(writePerfettoJson(m, {}, naming, full), std::runtime_error);
    std::fclose(full);
}

TEST(PerfettoExport, ALockHeavyTraceStaysWellFormed)
{
    TraceBuilder b(1 << 16);
    uint64_t recorded = test::buildLockHeavy(b, 4, 3, 5000);
    char dir[] = "/tmp/ravel-perfetto-XXXXXX";
    ASSERT_TRUE(mkdtemp(dir));
    b.write(std::string(dir) + "/t.ravel");
    TraceReader reader(std::string(dir) + "/t.ravel");
    ReplayModel m(reader);
    PerfettoStats stats;
    auto t0 = std::chrono::steady_clock::now();
    std::string text = exportText(m, {}, &stats);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::filesystem::remove_all(dir);
    json events = json::parse(text).at("traceEvents");
    expectWellFormed(events, m);
    EXPECT_EQ(stats.holds, 4u * 5000);
    EXPECT_EQ(byPhase(events, "b").size(), 4u * 5000);
    EXPECT_EQ(stats.events, events.size());
    RecordProperty("export_events_per_second", std::to_string(uint64_t(double(recorded) / seconds)));
    std::printf("exported %llu recorded events (%zu bytes, %llu flows) in %.3f s\n", (unsigned long long)recorded,
        text.size(), (unsigned long long)stats.flows, seconds);
}
