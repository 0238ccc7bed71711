// Import of STD traces (the prediction literature's text format): what comes out must read like a
// runtime trace, Java's reentrant monitors must not turn into self-deadlocks, and every malformed
// line is one error naming the line.
#include "analysis/run_analysis.hpp"
#include "detect/end_of_run.hpp"
#include "analysis/analysis.hpp"
#include "model/replay_model.hpp"
#include "trace/std_import.hpp"
#include "symbols/symbolizer.hpp"
#include "trace/trace_reader.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace ravel;

namespace {

fs::path dataDir() { return fs::path(RAVEL_SOURCE_DIR) / "tests" / "data" / "std"; }

class StdImportTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        m_dir = fs::temp_directory_path() / ("ravel-std-import-" + std::to_string(::getpid()) + "-"
                                             + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::create_directories(m_dir);
    }
    void TearDown() override { fs::remove_all(m_dir); }

    std::string write(const std::string& name, const std::string& text)
    {
        std::string path = (m_dir / name).string();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }
    std::string out() const { return (m_dir / "out.ravel").string(); }

    // The import error of `text`, or "" when it imports.
    std::string errorOf(const std::string& text)
    {
        std::string in = write("bad.std", text);
        try {
            importStd(in, out(), "bad.std");
        } catch (const StdImportError& e) {
            EXPECT_FALSE(fs::exists(out())) << "a failed import left its output behind";
            return e.what();
        }
        return "";
    }

    fs::path m_dir;
};

std::map<std::string, int> kindsOf(const TraceReader& reader)
{
    std::map<std::string, int> kinds;
    reader.forEachEvent([&](const Event& e) {
        static const char* names[] = {"END", "TIME", "THREAD_START", "THREAD_EXIT", "THREAD_NAME", "THREAD_CREATE",
            "JOIN_REQ", "JOIN_DONE", "DETACH", "FORK", "FORK_CHILD", "EXEC", "", "", "", "", "INIT", "DESTROY",
            "ACQ_REQ", "ACQUIRED", "ACQ_FAIL", "RELEASE", "WAIT_REQ", "WOKEN", "WAIT_FAIL", "SIGNAL", "BROADCAST"};
        kinds[e.kind < std::size(names) ? names[e.kind] : "?"]++;
        return true;
    });
    return kinds;
}

std::vector<Event> allEvents(const TraceReader& reader)
{
    std::vector<Event> events;
    reader.forEachEvent([&](const Event& e) {
        events.push_back(e);
        return true;
    });
    return events;
}

} // namespace

TEST_F(StdImportTest, JavaAbbaWithReentrantMonitorsReadsBackWithoutSelfDeadlock)
{
    StdImportStats s = importStd((dataDir() / "abba.std").string(), out(), "abba.std");
    EXPECT_EQ(s.lines, 18u);
    EXPECT_EQ(s.threads, 3u);
    EXPECT_EQ(s.locks, 2u);
    EXPECT_EQ(s.acquisitions, 4u);
    EXPECT_EQ(s.nestedAcquisitions, 2u);

    TraceReader reader(out());
    EXPECT_TRUE(reader.warnings().empty()) << reader.warnings().front();
    EXPECT_TRUE(reader.summary().ended);
    ASSERT_EQ(reader.threads().size(), 3u);
    EXPECT_EQ(reader.threads()[0].name, "T0");
    EXPECT_EQ(reader.threads()[0].parent, 0u);
    EXPECT_EQ(reader.threads()[1].name, "T1");
    EXPECT_EQ(reader.threads()[1].parent, 1u);
    EXPECT_EQ(reader.threads()[2].parent, 1u);
    // T1 and T2 were joined, so they ended; nothing says the main thread T0 did: the end of the
    // file is not an exit.
    for (const ThreadInfo& t : reader.threads()) {
        EXPECT_EQ(t.exited, t.name != "T0") << t.name;
        EXPECT_NE(t.pthread, 0u);
    }
    EXPECT_EQ(reader.eventCount(), 21u);
    std::map<std::string, int> expected = {{"THREAD_START", 3}, {"THREAD_EXIT", 2}, {"THREAD_CREATE", 2},
        {"JOIN_REQ", 2}, {"JOIN_DONE", 2}, {"ACQ_REQ", 2}, {"ACQUIRED", 4}, {"RELEASE", 4}};
    EXPECT_EQ(kindsOf(reader), expected);

    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty()) << endOfRunFindings(model).front().title;
}

TEST_F(StdImportTest, ReentrantReacquisitionsAddNoLockOrderEdgeOfTheirOwn)
{
    importStd((dataDir() / "abba.std").string(), out(), "abba.std");
    TraceReader reader(out());
    RunAnalysis run(reader);
    Symbolizer symbolizer(reader.modules());
    // The ABBA itself may be predicted (one potential deadlock); a re-entry folded wrongly would
    // add an A->A or B->A edge inside one thread: a self-deadlock, an inversion or misuse.
    unsigned potential = 0;
    for (const Finding& f : analyzeTrace(run, symbolizer)) {
        EXPECT_EQ(f.kind, "potential-deadlock") << f.title;
        potential += f.kind == "potential-deadlock";
    }
    EXPECT_LE(potential, 1u);
}

TEST_F(StdImportTest, ForkPrecedesTheChildAndTheChildEndsBeforeTheJoinReturns)
{
    importStd((dataDir() / "abba.std").string(), out(), "abba.std");
    TraceReader reader(out());
    std::vector<Event> events = allEvents(reader);
    auto indexOf = [&](uint32_t thread, unsigned kind, uint32_t aux = UINT32_MAX) {
        for (size_t i = 0; i < events.size(); ++i)
            if (events[i].thread == thread && events[i].kind == kind && (aux == UINT32_MAX || events[i].aux == aux))
                return long(i);
        return -1L;
    };
    const ThreadInfo* t1 = reader.thread(2);
    ASSERT_NE(t1, nullptr);
    long create = indexOf(1, RAVEL_EV_THREAD_CREATE, 2);
    long start = indexOf(2, RAVEL_EV_THREAD_START);
    long exit = indexOf(2, RAVEL_EV_THREAD_EXIT);
    long joinReq = indexOf(1, RAVEL_EV_JOIN_REQ, 2);
    ASSERT_GE(create, 0);
    EXPECT_LT(create, start);
    EXPECT_LT(start, exit);
    EXPECT_LT(exit, joinReq);
    EXPECT_EQ(events[size_t(joinReq)].obj, t1->pthread);
    EXPECT_EQ(events[size_t(create)].obj, t1->pthread);
    EXPECT_EQ(events[size_t(start)].aux, 1u); // parent
    // Line n happens at n microseconds: the child's first line is line 3.
    EXPECT_EQ(events[size_t(start)].time_ns, 3000u);
    for (size_t i = 1; i < events.size(); ++i)
        EXPECT_LE(events[i - 1].time_ns, events[i].time_ns);
}

TEST_F(StdImportTest, WaitReleasesTheMonitorUntilTheThreadsNextEvent)
{
    StdImportStats s = importStd((dataDir() / "waitnotify.std").string(), out(), "waitnotify.std");
    EXPECT_EQ(s.memoryAccesses, 2u);
    TraceReader reader(out());
    std::vector<std::pair<uint32_t, unsigned>> seq;
    for (const Event& e : allEvents(reader))
        if (e.kind >= RAVEL_EV_ACQ_REQ)
            seq.push_back({e.thread, e.kind});
    std::vector<std::pair<uint32_t, unsigned>> expected = {{2, RAVEL_EV_ACQUIRED}, {2, RAVEL_EV_WAIT_REQ},
        {2, RAVEL_EV_RELEASE}, {1, RAVEL_EV_ACQUIRED}, {1, RAVEL_EV_SIGNAL}, {1, RAVEL_EV_RELEASE},
        {2, RAVEL_EV_WOKEN}, {2, RAVEL_EV_ACQUIRED}, {2, RAVEL_EV_RELEASE}};
    EXPECT_EQ(seq, expected);
    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty()) << endOfRunFindings(model).front().title;
}

TEST_F(StdImportTest, TheReleasedWaitDialectIsOneWaitNotARelease)
{
    // rel(M1), wait(M1), req(M1), acq(M1): the wait's release and reacquisition on lines of their
    // own, as several public benchmark sets write them.
    StdImportStats s = importStd((dataDir() / "waitreleased.std").string(), out(), "waitreleased.std");
    EXPECT_EQ(s.releasedWaits, 1u);
    TraceReader reader(out());
    std::vector<std::pair<uint32_t, unsigned>> seq;
    for (const Event& e : allEvents(reader))
        if (e.kind >= RAVEL_EV_ACQ_REQ)
            seq.push_back({e.thread, e.kind});
    std::vector<std::pair<uint32_t, unsigned>> expected = {{2, RAVEL_EV_ACQUIRED}, {2, RAVEL_EV_RELEASE},
        {2, RAVEL_EV_WAIT_REQ}, {1, RAVEL_EV_ACQUIRED}, {1, RAVEL_EV_SIGNAL}, {1, RAVEL_EV_RELEASE},
        {2, RAVEL_EV_WOKEN}, {2, RAVEL_EV_ACQ_REQ}, {2, RAVEL_EV_ACQUIRED}, {2, RAVEL_EV_RELEASE}};
    EXPECT_EQ(seq, expected);
    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty()) << endOfRunFindings(model).front().title;

    // The Java form of the same wait is not counted as the dialect.
    EXPECT_EQ(importStd((dataDir() / "waitnotify.std").string(), out(), "waitnotify.std").releasedWaits, 0u);
}

TEST_F(StdImportTest, TheEndOfTheFileIsNoThreadsExit)
{
    // T1 holds L1 at the end and was never joined: it was still running, so no exit (and no
    // "exited holding a mutex") is made up for it.
    importStd(write("end.std", "T0|fork(T1)|1\nT1|acq(L1)|2\nT0|acq(L2)|3\nT0|rel(L2)|4\n"), out(), "end.std");
    TraceReader reader(out());
    ASSERT_EQ(reader.threads().size(), 2u);
    for (const ThreadInfo& t : reader.threads())
        EXPECT_FALSE(t.exited) << t.name;
    EXPECT_EQ(kindsOf(reader).count("THREAD_EXIT"), 0u);
    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty()) << endOfRunFindings(model).front().title;
}

TEST_F(StdImportTest, ThreadsStillRequestingAtTheEndAreADeadlock)
{
    StdImportStats s = importStd((dataDir() / "deadlock.std").string(), out(), "deadlock.std");
    EXPECT_EQ(s.blockedAtEnd, 2u);
    TraceReader reader(out());
    EXPECT_FALSE(reader.summary().ended);
    ReplayModel model(reader);
    std::vector<Finding> findings = endOfRunFindings(model);
    ASSERT_FALSE(findings.empty());
    EXPECT_EQ(findings[0].kind, "deadlock");
    EXPECT_EQ(findings[0].threads.size(), 2u);
}

TEST_F(StdImportTest, EachMalformedLineIsOneErrorNamingItsLine)
{
    const std::string ok = "T0|fork(T1)|1\nT1|acq(L1)|2\n";
    struct Case {
        std::string line;
        std::string what;
    } cases[] = {
        {"T1|lock(L1)|3", "bad.std:3: unknown operation 'lock(L1)'"},
        {"T1 acq(L1) 3", "bad.std:3: expected 'thread|op(arg)|loc'"},
        {"T1|acq(L1)", "bad.std:3: expected 'thread|op(arg)|loc'"},
        {"T1|acq(L1)|3|4", "bad.std:3: too many fields"},
        {"|acq(L1)|3", "bad.std:3: empty thread name"},
        {"T1|acq L1|3", "bad.std:3: unknown operation 'acq L1'"},
        {"T1|acq(L1|3", "bad.std:3: malformed operation 'acq(L1'"},
        {"T1|acq()|3", "bad.std:3: operation 'acq()' has no argument"},
        {"T1|acq((L1))|3", "bad.std:3: malformed operation"},
        {"T1|acq(L1)|x3", "bad.std:3: location 'x3' is not a number"},
        {"T1|acq(L1)|1234567890123456", "bad.std:3: location '1234567890123456' is too large"},
        {"T1|wait(L2)|3", "bad.std:3: wait(L2) by thread T1, which does not hold L2"},
        {"T1|fork(T1)|3", "bad.std:3: thread T1 forks itself"},
        {"T1|join(T1)|3", "bad.std:3: thread T1 joins itself"},
        {"T0|fork(T1)|3", "bad.std:3: thread T1 was already forked at line 1"},
        {"T1|fork(T0)|3", "bad.std:3: fork(T0) after T0 started at line 1"},
        {"T0|join(T1)|3\nT1|rel(L1)|4", "bad.std:4: thread T1 has an event after it was joined at line 3"},
        {"T1|req(L2)|3\nT1|rel(L1)|4", "bad.std:4: req(L2) of thread T1 at line 3 is not followed by acq(L2)"},
        {"T1|req(L2)|3\nT0|join(T1)|4", "bad.std:4: join(T1): T1 is still blocked in req(L2) from line 3"},
        // Ill-formed: what a run cannot do is refused, not imported.
        {"T0|acq(L1)|3", "bad.std:3: acq of L1 by thread T0 while thread T1 holds it (acquired at line 2)"},
        {"T0|rel(L1)|3", "bad.std:3: rel(L1) by thread T0, which does not hold L1 (thread T1 holds it since line 2)"},
        {"T1|rel(L2)|3", "bad.std:3: rel(L2) by thread T1, which does not hold L2"},
        {"T1|rel(L1)|3\nT1|rel(L1)|4", "bad.std:4: rel(L1) by thread T1, which does not hold L1"},
        {"T1|rel(L1)|3\nT1|wait(L1)|4\nT1|acq(L2)|5",
            "bad.std:5: wait(L1) of thread T1 at line 4 came after rel(L1) but is not followed by req(L1) or acq(L1)"},
        {"T1|wait(L1)|3\nT0|acq(L1)|4\nT1|rel(L1)|5",
            "bad.std:5: the end of its wait of L1 by thread T1 while thread T0 holds it (acquired at line 4)"},
    };
    for (const Case& c : cases) {
        std::string error = errorOf(ok + c.line + "\n");
        EXPECT_EQ(error.rfind(c.what, 0), 0u) << "line: " << c.line << "\nerror: " << error;
        EXPECT_EQ(error.find('\n'), std::string::npos) << error;
    }
    EXPECT_EQ(errorOf(""), "bad.std: no events (an STD trace has one event per line)");
    EXPECT_EQ(errorOf(std::string(100'000, 'x')).rfind("bad.std:1: line longer than", 0), 0u);
    EXPECT_EQ(errorOf("T0|acq(\x01)|1\n").rfind("bad.std:1", 0), 0u);
}

TEST_F(StdImportTest, RapidSamplesImport)
{
    // The README sample of RAPID (T1 is never forked: it has no parent), variables with fields and
    // indices, numeric lock ids (identityHashCode), and transaction markers with or without "()".
    std::string in = write("rapid.std",
        "T0|r(V123)|345\nT1|w(V234.23[0])|456\nT0|fork(T2)|123\nT2|acq(L34)|120\nT2|rel(L34)|130\n"
        "T0|join(T2)|134\nT1|acq(1829164700)|7\nT1|begin|8\nT1|end()|9\nT1|rel(1829164700)|10\n");
    StdImportStats s = importStd(in, out(), "rapid.std");
    EXPECT_EQ(s.threads, 3u);
    EXPECT_EQ(s.memoryAccesses, 2u);
    EXPECT_EQ(s.atomicBlocks, 2u);
    EXPECT_EQ(s.acquisitions, 2u);
    TraceReader reader(out());
    EXPECT_EQ(reader.thread(2)->parent, 0u);
    EXPECT_EQ(reader.thread(3)->parent, 1u);
    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty()) << endOfRunFindings(model).front().title;
}

TEST_F(StdImportTest, BlankLinesCarriageReturnsAndAMissingLastNewlineAreAccepted)
{
    std::string in = write("crlf.std", "T0|acq(L1)|1\r\n\r\nT0|rel(L1)|2");
    StdImportStats s = importStd(in, out(), "crlf.std");
    EXPECT_EQ(s.lines, 3u);
    TraceReader reader(out());
    EXPECT_EQ(reader.eventCount(), 3u); // start, acquired, release: the end of the file is no exit
}

TEST_F(StdImportTest, ManyInterleavedEventsSpanChunksAndKeepTheirOrder)
{
    // Four threads taking turns on two locks, 60000 lines: many chunks per thread, and a thread
    // switch on every line, the writer's worst case for clock stamps.
    std::string text = "T0|fork(T1)|1\nT0|fork(T2)|1\nT0|fork(T3)|1\n";
    const int rounds = 5000;
    for (int i = 0; i < rounds; ++i)
        for (int t = 0; t < 4; ++t)
            text += "T" + std::to_string(t) + "|acq(L" + std::to_string(i % 2) + ")|" + std::to_string(100 + t)
                + "\nT" + std::to_string(t) + "|rel(L" + std::to_string(i % 2) + ")|" + std::to_string(200 + t) + "\n";
    StdImportStats s = importStd(write("big.std", text), out(), "big.std");
    EXPECT_EQ(s.acquisitions, uint64_t(rounds) * 4);
    TraceReader reader(out());
    EXPECT_TRUE(reader.warnings().empty()) << reader.warnings().front();
    uint64_t line = 0, acquisitions = 0;
    uint32_t holder = 0;
    bool ordered = true;
    reader.forEachEvent([&](const Event& e) {
        if (e.kind == RAVEL_EV_ACQUIRED) {
            ++acquisitions;
            ordered &= holder == 0 && e.time_ns > line;
            holder = e.thread;
            line = e.time_ns;
        } else if (e.kind == RAVEL_EV_RELEASE) {
            ordered &= holder == e.thread;
            holder = 0;
        }
        return true;
    });
    EXPECT_TRUE(ordered);
    EXPECT_EQ(acquisitions, uint64_t(rounds) * 4);
    ReplayModel model(reader);
    EXPECT_TRUE(endOfRunFindings(model).empty());
}

TEST_F(StdImportTest, EveryEventKeepsItsLinesTimeThoughOnlyRunEndsAreStamped)
{
    // Runs of random length by three threads; each line's loc is its line number, so every event
    // says which line it came from (its one frame is BCD(loc) + 1) and must be at line * 1 us,
    // wherever the writer left out clock stamps.
    std::string text = "T0|fork(T1)|1\nT0|fork(T2)|2\n";
    uint64_t line = 2, rng = 12345;
    bool held[3] = {};
    while (line < 30000) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        unsigned t = unsigned(rng >> 60) % 3, run = 1 + unsigned(rng >> 40) % 40;
        for (unsigned i = 0; i < run; ++i) {
            ++line;
            text += "T" + std::to_string(t) + (held[t] ? "|rel(L" : "|acq(L") + std::to_string(t) + ")|"
                + std::to_string(line) + "\n";
            held[t] = !held[t];
        }
    }
    importStd(write("runs.std", text), out(), "runs.std");
    TraceReader reader(out());
    auto lineOf = [&](const Event& e) {
        const StackTrace* s = reader.stack(e.stack);
        uint64_t code = s && !s->frames.empty() ? s->frames[0] - 1 : 0, n = 0, scale = 1;
        for (; code; code >>= 4, scale *= 10)
            n += (code & 15) * scale;
        return n;
    };
    uint64_t checked = 0, wrong = 0;
    reader.forEachEvent([&](const Event& e) {
        if (e.kind == RAVEL_EV_ACQUIRED || e.kind == RAVEL_EV_RELEASE) {
            ++checked;
            // A thread's first line also carries its THREAD_START, 1 ns earlier.
            wrong += e.time_ns / 1000 != lineOf(e);
        }
        return true;
    });
    EXPECT_EQ(checked, line - 2);
    EXPECT_EQ(wrong, 0u);
    for (uint32_t tid = 1; tid <= 3; ++tid)
        reader.forEachThreadEvent(tid, [&](const Event& e) {
            if (e.kind == RAVEL_EV_ACQUIRED || e.kind == RAVEL_EV_RELEASE)
                wrong += e.time_ns / 1000 != lineOf(e);
            return true;
        });
    EXPECT_EQ(wrong, 0u);
}
