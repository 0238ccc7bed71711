// TraceReader and compactTrace against traces written byte for byte by TraceBuilder.
#include "trace_builder.hpp"
#include "trace/trace_reader.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <random>
#include <thread>
#include <tuple>
#include <unistd.h>

namespace ravel {
namespace {

using test::TraceBuilder;
namespace fs = std::filesystem;

class TraceReaderTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        // Prefer memory: the truncation tests rewrite a file thousands of times, and ext4 flushes
        // a file that is truncated and rewritten at each close.
        fs::path base = access("/dev/shm", W_OK) == 0 ? fs::path("/dev/shm") : fs::temp_directory_path();
        std::string tmpl = (base / "ravel-reader-XXXXXX").string();
        ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
        m_dir = tmpl;
    }
    void TearDown() override { fs::remove_all(m_dir); }
    std::string path(const std::string& name) const { return (m_dir / name).string(); }

    fs::path m_dir;
};

// What identifies an event apart from its time, which depends on the anchors that survive.
using Key = std::tuple<uint32_t, uint8_t, uint64_t, uint32_t, uint32_t, uint8_t>;
Key key(const Event& e)
{
    return { e.thread, e.kind, e.obj, e.aux, e.stack, e.flags };
}

std::vector<Event> allEvents(const TraceReader& r)
{
    std::vector<Event> out;
    r.forEachEvent([&](const Event& e) {
        out.push_back(e);
        return true;
    });
    return out;
}

std::map<uint32_t, std::vector<Key>> byThread(const std::vector<Event>& events)
{
    std::map<uint32_t, std::vector<Key>> out;
    for (const Event& e : events)
        out[e.thread].push_back(key(e));
    return out;
}

bool hasWarning(const TraceReader& r, const std::string& text)
{
    for (const std::string& w : r.warnings())
        if (w.find(text) != std::string::npos)
            return true;
    return false;
}

// A small trace with every table and a few events per thread.
TraceBuilder smallTrace()
{
    TraceBuilder b;
    RavelThreadEntry& main = b.thread(1, "main");
    main.start_tsc = TraceBuilder::StartTsc + 100;
    main.exit_tsc = TraceBuilder::StartTsc + 20'000;
    main.state = 2;
    main.pthread = 0x7f00aa;
    b.thread(2, "worker").start_tsc = TraceBuilder::StartTsc + 2000;
    b.stack(2, { 0x401000, 0x401100 });
    b.stack(1, { 0x402000 }, true);
    b.module(0x400000, 0x400000, 0x410000, "/usr/bin/example", { 0xde, 0xad, 0xbe, 0xef });
    b.module(0x7f0000000000, 0x7f0000000000, 0x7f0000100000, "/lib/libc.so.6");
    b.time(1, 200);
    b.event(1, RAVEL_EV_THREAD_START, 0x7f00aa, 0, 1);
    b.event(1, RAVEL_EV_THREAD_CREATE, 0x7f00bb, 2, 2);
    b.time(2, 2000);
    b.event(2, RAVEL_EV_THREAD_START, 0x7f00bb, 1);
    for (uint32_t i = 0; i < 6; ++i) {
        uint32_t t = 1 + i % 2;
        b.time(t, 4000 + i * 1000);
        b.event(t, RAVEL_EV_ACQUIRED, 0x5000, i + 1, 1, RAVEL_OBJ_MUTEX);
        b.event(t, RAVEL_EV_RELEASE, 0x5000, 0, 1, RAVEL_OBJ_MUTEX);
    }
    b.event(2, RAVEL_EV_THREAD_EXIT, 0x7f00bb);
    b.event(1, RAVEL_EV_JOIN_DONE, 0x7f00bb, 0);
    b.header().flags |= RAVEL_FILE_ENDED;
    b.header().exit_status = 3;
    b.header().end_tsc = TraceBuilder::StartTsc + 30'000;
    b.header().end_mono_ns = TraceBuilder::StartMonoNs + 15'000;
    return b;
}

TEST_F(TraceReaderTest, RoundTripsEventsThreadsStacksAndModules)
{
    smallTrace().write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(r.warnings().empty()) << r.warnings().front();
    EXPECT_EQ(r.eventCount(), 17u);

    const TraceSummary& s = r.summary();
    EXPECT_EQ(s.program, "/usr/bin/example");
    EXPECT_EQ(s.argv, (std::vector<std::string> { "example", "--fast", "x" }));
    EXPECT_TRUE(s.ended);
    EXPECT_EQ(s.exit_status, 3);
    EXPECT_EQ(s.pid, 4242u);
    EXPECT_DOUBLE_EQ(s.tsc_per_ns, 2.0);
    EXPECT_EQ(s.duration_ns, 15'000u); // end_tsc
    EXPECT_EQ(s.file_size, fs::file_size(path("t.ravel")));

    ASSERT_EQ(r.threads().size(), 2u);
    EXPECT_EQ(r.threads()[0].name, "main");
    EXPECT_TRUE(r.threads()[0].exited);
    EXPECT_EQ(r.threads()[0].start_ns, 50u);
    EXPECT_EQ(r.threads()[0].exit_ns, 10'000u);
    EXPECT_EQ(r.threads()[0].pthread, 0x7f00aau);
    EXPECT_EQ(r.thread(2)->name, "worker");
    EXPECT_FALSE(r.thread(2)->exited);
    EXPECT_EQ(r.thread(3), nullptr);

    ASSERT_EQ(r.stacks().size(), 2u);
    ASSERT_NE(r.stack(2), nullptr);
    EXPECT_EQ(r.stack(2)->frames, (std::vector<uint64_t> { 0x401000, 0x401100 }));
    EXPECT_TRUE(r.stack(1)->site_only);
    EXPECT_EQ(r.stack(3), nullptr);
    EXPECT_EQ(r.stack(0), nullptr);

    ASSERT_EQ(r.modules().size(), 2u);
    EXPECT_EQ(r.modules()[0].path, "/usr/bin/example");
    EXPECT_EQ(r.modules()[0].build_id, "deadbeef");
    EXPECT_EQ(r.modules()[1].base, 0x7f0000000000u);

    std::vector<Event> ev = allEvents(r);
    ASSERT_EQ(ev.size(), 17u);
    EXPECT_EQ(ev[0].kind, RAVEL_EV_THREAD_START);
    EXPECT_EQ(ev[0].time_ns, 100u);
    EXPECT_TRUE(ev[0].stamped);
    EXPECT_EQ(ev[0].stack, 1u);
    for (size_t i = 1; i < ev.size(); ++i)
        EXPECT_LE(ev[i - 1].time_ns, ev[i].time_ns);
    std::vector<Event> acquired;
    for (const Event& e : ev)
        if (e.kind == RAVEL_EV_ACQUIRED)
            acquired.push_back(e);
    ASSERT_EQ(acquired.size(), 6u);
    for (uint32_t i = 0; i < 6; ++i) {
        EXPECT_EQ(acquired[i].aux, i + 1);
        EXPECT_EQ(acquired[i].thread, 1 + i % 2);
        EXPECT_EQ(acquired[i].objKind(), unsigned(RAVEL_OBJ_MUTEX));
    }
}

TEST_F(TraceReaderTest, CallbackReturningFalseStopsTheStream)
{
    smallTrace().write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    int seen = 0;
    r.forEachEvent([&](const Event&) { return ++seen < 5; });
    EXPECT_EQ(seen, 5);
    seen = 0;
    r.forEachThreadEvent(2, [&](const Event&) { return ++seen < 2; });
    EXPECT_EQ(seen, 2);
    seen = 0;
    r.forEachThreadEvent(77, [&](const Event&) { return ++seen > 0; });
    EXPECT_EQ(seen, 0);
}

TEST_F(TraceReaderTest, InterpolatesTimesBetweenStampsAndUpToThreadExit)
{
    TraceBuilder b;
    RavelThreadEntry& t = b.thread(1);
    t.exit_tsc = TraceBuilder::StartTsc + 10'000; // 5000 ns
    b.time(1, 1000); // 500 ns
    b.event(1, RAVEL_EV_INIT, 1);
    b.event(1, RAVEL_EV_INIT, 2);
    b.event(1, RAVEL_EV_INIT, 3);
    b.event(1, RAVEL_EV_INIT, 4);
    b.time(1, 3000); // 1500 ns
    b.event(1, RAVEL_EV_INIT, 5);
    b.event(1, RAVEL_EV_INIT, 6);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    std::vector<uint64_t> times;
    std::vector<bool> stamped;
    r.forEachThreadEvent(1, [&](const Event& e) {
        times.push_back(e.time_ns);
        stamped.push_back(e.stamped);
        return true;
    });
    EXPECT_EQ(times, (std::vector<uint64_t> { 500, 750, 1000, 1250, 1500, 3250 }));
    EXPECT_EQ(stamped, (std::vector<bool> { true, false, false, false, true, false }));
}

TEST_F(TraceReaderTest, EventsAfterTheLastStampOfARunningThreadKeepItsTime)
{
    TraceBuilder b;
    b.thread(1);
    b.event(1, RAVEL_EV_INIT, 1); // before any stamp: the first stamp's time
    b.time(1, 1000);
    b.event(1, RAVEL_EV_INIT, 2);
    b.event(1, RAVEL_EV_INIT, 3);
    b.time(1, 600); // a stamp that goes backwards is clamped: times never decrease
    b.event(1, RAVEL_EV_INIT, 4);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    std::vector<uint64_t> times;
    r.forEachThreadEvent(1, [&](const Event& e) {
        times.push_back(e.time_ns);
        return true;
    });
    EXPECT_EQ(times, (std::vector<uint64_t> { 500, 500, 500, 500 }));
}

TEST_F(TraceReaderTest, MergeOrdersAcquisitionsOfAnObjectBySequenceWhenClocksDisagree)
{
    // Thread 2's interpolated times put its acquisitions (seq 2 and 4) before thread 1's (1, 3),
    // which the per-object sequence numbers contradict.
    TraceBuilder b;
    b.time(1, 1000);
    b.event(1, RAVEL_EV_ACQUIRED, 0x10, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, 0x10);
    b.event(1, RAVEL_EV_ACQUIRED, 0x10, 3, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_RELEASE, 0x10);
    b.time(1, 9000);
    b.event(1, RAVEL_EV_MARK, 0);
    b.time(2, 500);
    b.event(2, RAVEL_EV_ACQUIRED, 0x10, 2, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, 0x10);
    b.event(2, RAVEL_EV_ACQUIRED, 0x10, 4, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, 0x10);
    b.time(2, 1200);
    b.event(2, RAVEL_EV_MARK, 0);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    std::vector<uint32_t> seqs;
    std::map<uint32_t, std::vector<uint8_t>> kinds;
    for (const Event& e : allEvents(r)) {
        if (e.kind == RAVEL_EV_ACQUIRED)
            seqs.push_back(e.aux);
        kinds[e.thread].push_back(e.kind);
    }
    EXPECT_EQ(seqs, (std::vector<uint32_t> { 1, 2, 3, 4 }));
    std::vector<uint8_t> program { RAVEL_EV_ACQUIRED, RAVEL_EV_RELEASE, RAVEL_EV_ACQUIRED, RAVEL_EV_RELEASE,
        RAVEL_EV_MARK };
    EXPECT_EQ(kinds[1], program);
    EXPECT_EQ(kinds[2], program);
}

TEST_F(TraceReaderTest, MergePutsAnAcquisitionAfterThePreviousHoldersRelease)
{
    // Interpolation puts thread 2's acquisition (seq 2) before thread 1's release of seq 1.
    TraceBuilder b;
    b.time(1, 1000);
    b.event(1, RAVEL_EV_ACQUIRED, 0x10, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(1, RAVEL_EV_INIT, 0x99);
    b.event(1, RAVEL_EV_INIT, 0x99);
    b.event(1, RAVEL_EV_RELEASE, 0x10, 0, 0, RAVEL_OBJ_MUTEX);
    b.time(1, 9000);
    b.event(1, RAVEL_EV_MARK, 0);
    b.time(2, 2000);
    b.event(2, RAVEL_EV_ACQUIRED, 0x10, 2, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_RELEASE, 0x10, 0, 0, RAVEL_OBJ_MUTEX);
    // A recursive re-acquisition by the holder itself never waits.
    b.event(2, RAVEL_EV_ACQUIRED, 0x20, 1, 0, RAVEL_OBJ_MUTEX);
    b.event(2, RAVEL_EV_ACQUIRED, 0x20, 2, 0, RAVEL_OBJ_MUTEX);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    std::vector<std::pair<uint32_t, uint8_t>> order;
    for (const Event& e : allEvents(r))
        if (e.obj == 0x10)
            order.emplace_back(e.thread, e.kind);
    using P = std::pair<uint32_t, uint8_t>;
    EXPECT_EQ(order,
        (std::vector<P> {
            P(1, RAVEL_EV_ACQUIRED), P(1, RAVEL_EV_RELEASE), P(2, RAVEL_EV_ACQUIRED), P(2, RAVEL_EV_RELEASE) }));
    EXPECT_EQ(r.eventCount(), allEvents(r).size());
}

TEST_F(TraceReaderTest, ContradictorySequencesDoNotStallTheMerge)
{
    // Each thread's first acquisition waits for the other's second one: a cycle only damage
    // produces. Everything is still delivered, each thread in program order.
    TraceBuilder b;
    b.event(1, RAVEL_EV_ACQUIRED, 0x10, 2);
    b.event(1, RAVEL_EV_ACQUIRED, 0x20, 1);
    b.event(2, RAVEL_EV_ACQUIRED, 0x20, 2);
    b.event(2, RAVEL_EV_ACQUIRED, 0x10, 1);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    std::vector<Event> ev = allEvents(r);
    ASSERT_EQ(ev.size(), 4u);
    auto per = byThread(ev);
    EXPECT_EQ(std::get<2>(per[1][0]), 0x10u);
    EXPECT_EQ(std::get<2>(per[2][0]), 0x20u);
}

TEST_F(TraceReaderTest, CompactedTraceGivesTheSameEventsAndTables)
{
    TraceBuilder b = smallTrace();
    test::buildLockHeavy(b, 3, 2, 3000, 10);
    b.write(path("raw.ravel"));
    uint64_t written = compactTrace(path("raw.ravel"), path("small.ravel"));
    EXPECT_EQ(written, fs::file_size(path("small.ravel")));
    TraceReader raw(path("raw.ravel")), small(path("small.ravel"));
    EXPECT_TRUE(small.warnings().empty()) << small.warnings().front();
    EXPECT_TRUE(small.summary().flags & RAVEL_FILE_COMPACTED);
    EXPECT_EQ(small.eventCount(), raw.eventCount());
    std::vector<Event> a = allEvents(raw), c = allEvents(small);
    ASSERT_EQ(a.size(), c.size());
    for (size_t i = 0; i < a.size(); ++i) {
        ASSERT_EQ(key(a[i]), key(c[i])) << "event " << i;
        ASSERT_EQ(a[i].time_ns, c[i].time_ns) << "event " << i;
        ASSERT_EQ(a[i].stamped, c[i].stamped) << "event " << i;
    }
    ASSERT_EQ(small.threads().size(), raw.threads().size());
    EXPECT_EQ(small.threads()[1].name, "worker");
    EXPECT_EQ(small.stack(2)->frames, raw.stack(2)->frames);
    EXPECT_EQ(small.modules().size(), 2u);
    EXPECT_EQ(small.summary().argv, raw.summary().argv);
    EXPECT_EQ(small.summary().duration_ns, raw.summary().duration_ns);
}

TEST_F(TraceReaderTest, CompactionCanReplaceItsInput)
{
    smallTrace().write(path("t.ravel"));
    size_t before = allEvents(TraceReader(path("t.ravel"))).size();
    compactTrace(path("t.ravel"), path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(r.summary().flags & RAVEL_FILE_COMPACTED);
    EXPECT_EQ(allEvents(r).size(), before);
    EXPECT_EQ(std::distance(fs::directory_iterator(m_dir), fs::directory_iterator()), 1);
}

TEST_F(TraceReaderTest, CompactedLockHeavyTraceStaysWithinEightBytesPerEvent)
{
    TraceBuilder b(64 * 1024);
    uint64_t events = test::buildLockHeavy(b, 4, 4, 250'000);
    b.write(path("raw.ravel"));
    auto t0 = std::chrono::steady_clock::now();
    uint64_t bytes = compactTrace(path("raw.ravel"), path("small.ravel"));
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double perEvent = double(bytes) / double(events);
    std::printf("lock-heavy: %llu events, %.2f bytes/event compacted (raw %.2f), compaction %.0f Mevents/s\n",
        (unsigned long long)events, perEvent, double(fs::file_size(path("raw.ravel"))) / double(events),
        double(events) / secs / 1e6);
    EXPECT_LT(perEvent, 8.0);
    EXPECT_EQ(TraceReader(path("small.ravel")).eventCount(), events);
}

TEST_F(TraceReaderTest, ReadsTheRecordsOfAChunkStillBeingWritten)
{
    TraceBuilder b;
    for (uint32_t i = 0; i < 300; ++i)
        b.event(1, RAVEL_EV_INIT, i);
    b.leaveOpen(1);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_EQ(r.eventCount(), 300u);
    EXPECT_TRUE(r.warnings().empty()) << ::testing::PrintToString(r.warnings());
    compactTrace(path("t.ravel"), path("small.ravel"));
    EXPECT_EQ(TraceReader(path("small.ravel")).eventCount(), 300u);
}

TEST_F(TraceReaderTest, FlightRecorderGapIsReportedAsDroppedEvents)
{
    TraceBuilder b;
    b.header().flags |= RAVEL_FILE_FLIGHT_RECORDER;
    for (uint32_t i = 0; i < 1000; ++i)
        b.event(1, RAVEL_EV_ACQUIRED, 0x10, i + 1);
    b.dropChunk(1, 0);
    b.dropChunk(1, 1);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(hasWarning(r, "thread 1: older events were dropped by the flight recorder (2 chunks)"))
        << ::testing::PrintToString(r.warnings());
    std::vector<Event> ev = allEvents(r);
    ASSERT_FALSE(ev.empty());
    EXPECT_EQ(ev.front().aux, 2 * (b.capacity() / 17) + 1);
    EXPECT_EQ(ev.back().aux, 1000u);
}

TEST_F(TraceReaderTest, MissingChunkInTheMiddleIsReported)
{
    TraceBuilder b;
    for (uint32_t i = 0; i < 1000; ++i)
        b.event(3, RAVEL_EV_INIT, i);
    b.dropChunk(3, 1);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(hasWarning(r, "thread 3: 1 event chunks missing (seq 1..1)")) << ::testing::PrintToString(r.warnings());
    EXPECT_EQ(r.eventCount(), 1000u - b.capacity() / 17);
}

// Threads are indexed in parallel (above 16 chunks): what the reader reports must not depend on
// which core indexed which thread: warnings in thread order, counts per thread and in all, and an
// object's sequence numbers merged across the threads that used it.
TEST_F(TraceReaderTest, ParallelIndexingGivesWarningsInThreadOrderAndCountsPerThread)
{
    auto build = [](TraceBuilder& b) {
        const uint32_t perThread[4] = { 3000, 1000, 2000, 500 }; // events of threads 1..4: 60+ chunks
        uint32_t seq = 0;
        for (uint32_t round = 0; round < 3000; ++round)
            for (uint32_t tid = 1; tid <= 4; ++tid)
                if (round < perThread[tid - 1] / 2) {
                    // One lock shared by all: each acquisition takes the next sequence number.
                    b.event(tid, RAVEL_EV_ACQUIRED, 0x1000, ++seq, 0, RAVEL_OBJ_MUTEX);
                    b.event(tid, RAVEL_EV_RELEASE, 0x1000, 0, 0, RAVEL_OBJ_MUTEX);
                }
    };
    TraceBuilder b;
    build(b);
    b.dropChunk(4, 1);
    b.dropChunk(2, 2);
    b.write(path("par.ravel"));
    TraceReader r(path("par.ravel"));
    std::vector<std::string> gaps;
    for (const std::string& w : r.warnings())
        if (w.find("event chunks missing") != std::string::npos)
            gaps.push_back(w.substr(w.find("thread ")));
    EXPECT_EQ(gaps, (std::vector<std::string> { "thread 2: 1 event chunks missing (seq 2..2)",
                                                 "thread 4: 1 event chunks missing (seq 1..1)" }));
    const uint64_t lost = b.capacity() / 17; // events per chunk
    EXPECT_EQ(r.threadEventCount(1, RAVEL_EV_ACQUIRED), 1500u);
    EXPECT_EQ(r.threadEventCount(3, RAVEL_EV_RELEASE), 1000u);
    EXPECT_EQ(r.threadEventCount(2, RAVEL_EV_ACQUIRED) + r.threadEventCount(2, RAVEL_EV_RELEASE), 1000u - lost);
    EXPECT_EQ(r.threadEventCount(9, RAVEL_EV_ACQUIRED), 0u); // no such thread
    uint64_t total = 0;
    for (uint32_t tid = 1; tid <= 4; ++tid)
        total += r.threadEventCount(tid, RAVEL_EV_ACQUIRED);
    EXPECT_EQ(total, r.eventCount(RAVEL_EV_ACQUIRED));
    EXPECT_EQ(r.eventCount(), 6500u - 2 * lost);

    // Without holes, the sequence numbers every thread saw are merged into one dense range: the
    // merge then puts every acquisition in sequence order although no event has a time.
    TraceBuilder whole;
    build(whole);
    whole.write(path("whole.ravel"));
    TraceReader w(path("whole.ravel"));
    uint32_t last = 0, acquired = 0;
    bool ordered = true;
    w.forEachEvent([&](const Event& e) {
        if (e.kind == RAVEL_EV_ACQUIRED) {
            ordered = ordered && e.aux == last + 1;
            last = e.aux;
            acquired++;
        }
        return true;
    });
    EXPECT_TRUE(ordered) << "acquisition " << last;
    EXPECT_EQ(acquired, 3250u);
}

TEST_F(TraceReaderTest, UnreadableFilesThrowOneLineWithThePath)
{
    auto message = [](const std::string& p) {
        try {
            TraceReader r(p);
        } catch (const TraceError& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    TraceBuilder::writeFile(path("empty.ravel"), {});
    EXPECT_EQ(message(path("empty.ravel")), path("empty.ravel") + ": empty file, not a ravel trace");

    std::vector<uint8_t> noise(10'000);
    std::mt19937 rng(7);
    for (auto& c : noise)
        c = uint8_t(rng());
    TraceBuilder::writeFile(path("noise.ravel"), noise);
    EXPECT_EQ(message(path("noise.ravel")), path("noise.ravel") + ": not a ravel trace (bad magic)");

    TraceBuilder b;
    b.header().version = RAVEL_TRACE_VERSION + 1;
    b.write(path("vnext.ravel"));
    EXPECT_EQ(message(path("vnext.ravel")), path("vnext.ravel") + ": trace format version " + std::to_string(RAVEL_TRACE_VERSION + 1)
                                               + ", this ravel reads versions 1 to " + std::to_string(RAVEL_TRACE_VERSION));

    TraceBuilder odd;
    odd.header().chunk_size = 5000;
    odd.write(path("odd.ravel"));
    EXPECT_EQ(message(path("odd.ravel")), path("odd.ravel") + ": bad chunk size 5000");

    EXPECT_EQ(message(m_dir.string()), m_dir.string() + ": is a directory, not a ravel trace");
    EXPECT_EQ(message(path("missing.ravel")), path("missing.ravel") + ": No such file or directory");
    EXPECT_THROW(compactTrace(path("missing.ravel"), path("out.ravel")), TraceError);
}

TEST_F(TraceReaderTest, CorruptChunkIsSkippedWithOneWarningAndTheRestIsRead)
{
    TraceBuilder b;
    for (uint32_t i = 0; i < 600; ++i)
        b.event(1 + i % 2, RAVEL_EV_INIT, i);
    std::vector<uint8_t> bytes = b.bytes();
    const size_t bad = RAVEL_HEADER_SIZE + 4096; // the second chunk
    bytes[bad] ^= 0xff;
    TraceBuilder::writeFile(path("t.ravel"), bytes);
    TraceReader r(path("t.ravel"));
    ASSERT_EQ(r.warnings().size(), 2u) << ::testing::PrintToString(r.warnings()); // bad chunk, then the gap
    EXPECT_EQ(r.warnings()[0], path("t.ravel") + ": chunk at offset 0x2000: bad magic, skipped");
    EXPECT_EQ(r.eventCount(), 600u - b.capacity() / 17);
}

TEST_F(TraceReaderTest, RandomBytesAfterAValidHeaderNeverCrash)
{
    std::mt19937 rng(11);
    for (int round = 0; round < 200; ++round) {
        TraceBuilder b;
        if (round % 2)
            b.header().flags |= RAVEL_FILE_COMPACTED;
        std::vector<uint8_t> bytes = b.bytes();
        bytes.resize(RAVEL_HEADER_SIZE + 64 + rng() % 9000);
        for (size_t i = RAVEL_HEADER_SIZE; i < bytes.size(); ++i)
            bytes[i] = uint8_t(rng());
        // Plausible chunk headers here and there, so the checks behind the magic get exercised.
        for (size_t at = RAVEL_HEADER_SIZE; at + 64 <= bytes.size(); at += 8 * (1 + rng() % 64)) {
            RavelChunkHeader h {};
            h.magic = RAVEL_CHUNK_MAGIC;
            h.type = uint16_t(1 + rng() % 4);
            h.flags = uint16_t(rng() % 2);
            h.owner = 1 + rng() % 3;
            h.seq = rng() % 4;
            h.size = round % 2 ? 64 + 8 * (rng() % 200) : 4096;
            h.used = rng() % 5000;
            h.stored = rng() % 2000;
            std::memcpy(bytes.data() + at, &h, sizeof h);
        }
        TraceBuilder::writeFile(path("t.ravel"), bytes);
        TraceReader r(path("t.ravel"));
        size_t n = allEvents(r).size();
        EXPECT_EQ(n, r.eventCount());
        compactTrace(path("t.ravel"), path("c.ravel"));
        EXPECT_EQ(TraceReader(path("c.ravel")).eventCount(), r.eventCount()) << "round " << round;
    }
}

TEST_F(TraceReaderTest, CompactedReaderResyncsAfterGarbage)
{
    TraceBuilder b;
    for (uint32_t i = 0; i < 900; ++i)
        b.event(1 + i % 3, RAVEL_EV_INIT, i, i);
    b.write(path("raw.ravel"));
    compactTrace(path("raw.ravel"), path("small.ravel"));
    std::vector<uint8_t> bytes;
    {
        std::ifstream f(path("small.ravel"), std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    // Overwrite the first chunk's header: the reader must find the second chunk by scanning.
    std::memset(bytes.data() + RAVEL_HEADER_SIZE, 0x5a, 64);
    TraceBuilder::writeFile(path("small.ravel"), bytes);
    TraceReader r(path("small.ravel"));
    EXPECT_EQ(r.warnings().front(), path("small.ravel") + ": chunk at offset 0x1000: bad magic, skipped");
    EXPECT_GT(r.eventCount(), 0u);
    EXPECT_LT(r.eventCount(), 900u);
}

TEST_F(TraceReaderTest, UnknownEventKindEndsItsChunk)
{
    TraceBuilder b;
    b.event(1, RAVEL_EV_INIT, 1);
    b.event(1, 200, 2);
    b.event(1, RAVEL_EV_INIT, 3);
    b.event(2, RAVEL_EV_INIT, 4);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_EQ(r.eventCount(), 2u);
    EXPECT_TRUE(hasWarning(r, "event 1 has unknown kind 200")) << ::testing::PrintToString(r.warnings());
}

TEST_F(TraceReaderTest, WhatTheRuntimeMissedIsAWarning)
{
    TraceBuilder b;
    b.event(1, RAVEL_EV_INIT, 1);
    b.header().flags |= RAVEL_FILE_TRUNCATED_DISK | RAVEL_FILE_OVERFLOW;
    b.header().lost_events = 12;
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(hasWarning(r, "recording stopped early: the disk was full"));
    EXPECT_TRUE(hasWarning(r, "a runtime table was full"));
    EXPECT_TRUE(hasWarning(r, "12 events were not recorded"));
    EXPECT_EQ(r.summary().lost_events, 12u);
}

TEST_F(TraceReaderTest, MissingCalibrationAssumesOneTickPerNanosecond)
{
    TraceBuilder b;
    b.header().calib_tsc = 0;
    b.time(1, 4000);
    b.event(1, RAVEL_EV_INIT, 1);
    b.write(path("t.ravel"));
    TraceReader r(path("t.ravel"));
    EXPECT_TRUE(hasWarning(r, "assuming 1 tsc tick per nanosecond"));
    EXPECT_EQ(allEvents(r).at(0).time_ns, 4000u);
}

// Every prefix of a valid trace either fails to open with a TraceError or yields, per thread, a
// prefix of the events of the whole trace.
void checkEveryTruncation(const std::string& full, const std::string& cut)
{
    std::vector<uint8_t> bytes;
    {
        std::ifstream f(full, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(f), {});
    }
    auto whole = byThread(allEvents(TraceReader(full)));
    const uint64_t total = TraceReader(full).eventCount();
    size_t opened = 0;
    for (size_t len = 0; len < bytes.size(); ++len) {
        TraceBuilder::writeFile(cut, bytes, len);
        try {
            TraceReader r(cut);
            ++opened;
            for (auto& [tid, keys] : byThread(allEvents(r))) {
                ASSERT_LE(keys.size(), whole[tid].size()) << "cut at " << len;
                ASSERT_TRUE(std::equal(keys.begin(), keys.end(), whole[tid].begin())) << "cut at " << len;
            }
            if (r.eventCount() < total) {
                ASSERT_FALSE(r.warnings().empty()) << "cut at " << len;
            }
        } catch (const TraceError& e) {
            ASSERT_NE(std::string(e.what()).find(cut + ": "), std::string::npos);
        }
    }
    EXPECT_EQ(opened, bytes.size() - RAVEL_HEADER_SIZE);
}

TEST_F(TraceReaderTest, RawTraceTruncatedAtEveryOffset)
{
    smallTrace().write(path("t.ravel"));
    checkEveryTruncation(path("t.ravel"), path("cut.ravel"));
}

TEST_F(TraceReaderTest, CompactedTraceTruncatedAtEveryOffset)
{
    smallTrace().write(path("raw.ravel"));
    compactTrace(path("raw.ravel"), path("t.ravel"));
    checkEveryTruncation(path("t.ravel"), path("cut.ravel"));
}

// Not a test: measures forEachEvent on ~10M events. Run with --gtest_also_run_disabled_tests.
TEST_F(TraceReaderTest, DISABLED_DecodeSpeed)
{
    TraceBuilder b(64 * 1024);
    test::buildLockHeavy(b, 4, 4, 1'250'000);
    b.write(path("raw.ravel"));
    compactTrace(path("raw.ravel"), path("small.ravel"));
    // CPU time, not wall time: the machines this runs on are shared.
    auto cpu = [] {
        timespec ts;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
        return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    };
    for (const char* name : { "raw.ravel", "small.ravel" }) {
        double t0 = cpu();
        TraceReader r(path(name));
        double t1 = cpu();
        uint64_t n = 0, sum = 0;
        r.forEachEvent([&](const Event& e) {
            ++n;
            sum += e.aux;
            return true;
        });
        double t2 = cpu();
        for (const ThreadInfo& t : r.threads())
            r.forEachThreadEvent(t.id, [&](const Event& e) {
                sum += e.aux;
                return true;
            });
        double t3 = cpu();
        std::printf("%s: %llu events, open %.3f s, forEachEvent %.3f s (%.1f Mevents/s), total %.1f Mevents/s; "
                    "per thread without merge %.1f Mevents/s (CPU time)\n",
            name, (unsigned long long)n, t1 - t0, t2 - t1, double(n) / (t2 - t1) / 1e6, double(n) / (t2 - t0) / 1e6,
            double(n) / (t3 - t2) / 1e6);
        EXPECT_NE(sum, 0u);
    }
}

// Not a test: writes the fuzz seed corpus into $RAVEL_CORPUS_DIR (named *.seed: *.ravel files are
// ignored by git).
TEST_F(TraceReaderTest, DISABLED_WriteFuzzCorpus)
{
    const char* env = std::getenv("RAVEL_CORPUS_DIR");
    ASSERT_NE(env, nullptr);
    const std::string dir = env;
    smallTrace().write(dir + "/small-raw.seed");
    compactTrace(dir + "/small-raw.seed", dir + "/small-compacted.seed");
    TraceBuilder lock;
    test::buildLockHeavy(lock, 2, 2, 200);
    lock.write(path("lock.ravel"));
    compactTrace(path("lock.ravel"), dir + "/lock-compacted.seed");
    std::vector<uint8_t> bytes = smallTrace().bytes();
    TraceBuilder::writeFile(dir + "/small-truncated.seed", bytes, RAVEL_HEADER_SIZE + 4096 + 700);
    TraceBuilder fr;
    fr.header().flags |= RAVEL_FILE_FLIGHT_RECORDER;
    for (uint32_t i = 0; i < 300; ++i)
        fr.event(1, RAVEL_EV_ACQUIRED, 0x10, i + 1);
    fr.dropChunk(1, 0);
    fr.write(dir + "/flight.seed");
}

// A big trace goes through the pipelined merge (a second thread) and the shared pass (one merge
// for two consumers): both must deliver exactly what a plain merge of the same trace delivers,
// and a consumer that stops early must not hold the other back.
TEST_F(TraceReaderTest, PipelinedAndSharedPassesDeliverTheSameEventsInTheSameOrder)
{
    TraceBuilder b(1u << 16);
    const uint64_t locks[3] = { 0x1000, 0x2000, 0x3000 };
    for (uint32_t tid = 1; tid <= 3; ++tid)
        b.thread(tid);
    for (uint32_t i = 0; i < 40000; ++i) {
        for (uint32_t tid = 1; tid <= 3; ++tid) {
            const uint64_t lock = locks[(i + tid) % 3];
            b.time(tid, uint64_t(i) * 1000 + tid * 10);
            b.event(tid, RAVEL_EV_ACQUIRED, lock, 0, 1, RAVEL_OBJ_MUTEX);
            b.event(tid, RAVEL_EV_RELEASE, lock, 0, 2, RAVEL_OBJ_MUTEX);
        }
    }
    b.write(path("big.ravel"));
    TraceReader r(path("big.ravel"));
    ASSERT_GT(r.eventCount(), 65536u); // above the size that turns the pipeline on
    EXPECT_EQ(r.eventCount(RAVEL_EV_ACQUIRED), 120000u);
    EXPECT_FALSE(r.nestedLocking());

    using Key = std::tuple<uint64_t, uint32_t, uint8_t, uint64_t>;
    auto key = [](const Event& e) { return Key { e.time_ns, e.thread, e.kind, e.obj }; };
    std::vector<Key> plain;
    r.forEachThreadEvent(1, [&](const Event&) { return true; });
    r.forEachEvent([&](const Event& e) {
        plain.push_back(key(e));
        return true;
    });
    ASSERT_EQ(plain.size(), r.eventCount());
    std::vector<Key> again;
    r.forEachEvent([&](const Event& e) {
        again.push_back(key(e));
        return true;
    });
    EXPECT_EQ(again, plain);

    SharedEventPass pass(r, 2);
    std::vector<Key> first, second;
    std::thread other([&] {
        pass.forEachEvent([&](const Event& e) {
            second.push_back(key(e));
            return second.size() < 1000; // stops early
        });
    });
    pass.forEachEvent([&](const Event& e) {
        first.push_back(key(e));
        return true;
    });
    other.join();
    EXPECT_EQ(first, plain);
    ASSERT_EQ(second.size(), 1000u);
    EXPECT_TRUE(std::equal(second.begin(), second.end(), plain.begin()));
}

} // namespace
} // namespace ravel
