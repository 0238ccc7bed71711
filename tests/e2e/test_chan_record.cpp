// End to end: programs on ravel::chan (ravel/chan.hpp) and on the annotation API
// (ravel/annotate.h) recorded by the real runtime. Checks what the analyzer builds on: channel
// creation with capacity and name, message ids pairing each receive with its send, select cases,
// the state boards of blocked threads (blocked_aux, wait_set, held custom locks), the names table
// after compaction, and that nothing of the channel's own lock reaches the trace. Programs that
// hang are recorded with the runtime preloaded and killed; the raw trace keeps their boards.
#include "e2e_util.hpp"

#include "trace/trace_reader.hpp"

#include <gtest/gtest.h>

#include <elf.h>

#include <map>
#include <set>

using namespace ravel::e2e;

namespace {

struct ChanEvents {
    std::vector<ravel::Event> all;
    std::map<std::string, uint64_t> byName; // from the names table

    std::vector<ravel::Event> of(unsigned kind, uint64_t obj = ~0ull) const
    {
        std::vector<ravel::Event> out;
        for (const auto& e : all)
            if (e.kind == kind && (obj == ~0ull || e.obj == obj))
                out.push_back(e);
        return out;
    }
    uint64_t chan(const std::string& name) const
    {
        auto it = byName.find(name);
        return it == byName.end() ? 0 : it->second;
    }
};

ChanEvents readTrace(const ravel::TraceReader& reader)
{
    ChanEvents ev;
    reader.forEachEvent([&](const ravel::Event& e) {
        ev.all.push_back(e);
        return true;
    });
    for (const auto& n : reader.names())
        ev.byName[n.name] = n.obj;
    return ev;
}

const ravel::ThreadInfo* threadNamed(const ravel::TraceReader& reader, const std::string& name)
{
    for (const auto& t : reader.threads())
        if (t.name == name)
            return &t;
    return nullptr;
}

// Runs a program that hangs with the runtime preloaded, kills it after `ms`, returns the trace.
std::string recordHang(TempDir& dir, const std::vector<std::string>& program, int ms = 2500)
{
    std::string trace = dir.file("hang.ravel");
    RunOptions o = withTimeout(std::chrono::milliseconds(ms));
    o.env = { "LD_PRELOAD=" + runtimeLibrary(), "RAVEL_TRACE_FILE=" + trace };
    RunResult r = run(program, o);
    EXPECT_TRUE(r.timedOut) << program[0] << " was expected to hang; exit " << r.status << "\n" << r.err;
    return trace;
}

// The message ids of SENT and non-zero RECEIVED events on a channel.
void expectPairedMessages(const ChanEvents& ev, uint64_t ch, uint32_t messages)
{
    std::multiset<uint32_t> sent, received;
    for (const auto& e : ev.of(RAVEL_EV_SENT, ch))
        sent.insert(e.aux);
    for (const auto& e : ev.of(RAVEL_EV_RECEIVED, ch))
        if (e.aux)
            received.insert(e.aux);
    std::multiset<uint32_t> expected;
    for (uint32_t i = 1; i <= messages; i++)
        expected.insert(i);
    EXPECT_EQ(sent, expected) << "each message sent once, ids 1.." << messages;
    EXPECT_EQ(received, expected) << "each message received once, naming the send it took";
}

TEST(ChanRecord, PipelineMessagesPairSendToReceiveAndNoLockInsideShows)
{
    TempDir dir("chan-pipeline");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("chan_pipeline"), "500", "3" });
    ASSERT_EQ(r.status, 0) << r.err << r.out;
    EXPECT_NE(r.out.find("(ok)"), std::string::npos) << r.out;
    ravel::TraceReader reader(trace);
    EXPECT_TRUE(reader.summary().flags & RAVEL_FILE_COMPACTED) << "ravel run compacts the trace";
    ChanEvents ev = readTrace(reader);

    uint64_t jobs = ev.chan("jobs"), results = ev.chan("results");
    ASSERT_NE(jobs, 0u) << "the names table names the channel `jobs`";
    ASSERT_NE(results, 0u);
    for (const auto& n : reader.names())
        EXPECT_EQ(n.kind, unsigned(RAVEL_OBJ_CHAN)) << n.name;
    std::map<uint64_t, uint32_t> capacity;
    for (const auto& e : ev.of(RAVEL_EV_CHAN_CREATE)) {
        EXPECT_EQ(e.objKind(), unsigned(RAVEL_OBJ_CHAN));
        capacity[e.obj] = e.aux;
    }
    EXPECT_EQ(capacity, (std::map<uint64_t, uint32_t> { { jobs, 8 }, { results, 0 } }));

    expectPairedMessages(ev, jobs, 500);
    expectPairedMessages(ev, results, 500);
    // Each worker sees `jobs` closed once; the collector sees `results` closed once.
    auto closedReceives = [&](uint64_t ch) {
        int n = 0;
        for (const auto& e : ev.of(RAVEL_EV_RECEIVED, ch))
            n += e.aux == 0;
        return n;
    };
    EXPECT_EQ(closedReceives(jobs), 3);
    EXPECT_EQ(closedReceives(results), 1);
    EXPECT_EQ(ev.of(RAVEL_EV_CHAN_CLOSE).size(), 2u);
    for (const auto& e : ev.of(RAVEL_EV_CHAN_CLOSE))
        EXPECT_EQ(e.aux, 0u);

    // Every SENT / RECEIVED completes a request of the same thread on the same channel.
    for (const auto& t : reader.threads()) {
        uint64_t pendingSend = 0, pendingRecv = 0;
        reader.forEachThreadEvent(t.id, [&](const ravel::Event& e) {
            if (e.kind == RAVEL_EV_SEND_REQ)
                pendingSend = e.obj;
            if (e.kind == RAVEL_EV_RECV_REQ)
                pendingRecv = e.obj;
            if (e.kind == RAVEL_EV_SENT) {
                EXPECT_EQ(pendingSend, e.obj) << "T" << t.id << ": SENT without its SEND_REQ";
                pendingSend = 0;
            }
            if (e.kind == RAVEL_EV_RECEIVED) {
                EXPECT_EQ(pendingRecv, e.obj) << "T" << t.id << ": RECEIVED without its RECV_REQ";
                pendingRecv = 0;
            }
            return true;
        });
    }
    // The channel's own lock and waits are invisible: this program has no mutex or condvar.
    for (const auto& e : ev.all)
        EXPECT_TRUE(e.objKind() != RAVEL_OBJ_MUTEX && e.objKind() != RAVEL_OBJ_COND)
            << "event kind " << int(e.kind) << " on a pthread object at " << std::hex << e.obj;
}

TEST(ChanRecord, ProgramsRunWithoutTheRuntime)
{
    RunResult r = run({ example("chan_pipeline"), "300", "2" }, withTimeout(20s));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.out.find("(ok)"), std::string::npos) << r.out;
    RunResult c = run({ example("annotate_futex_lock"), "2", "1000" }, withTimeout(20s));
    EXPECT_EQ(c.status, 0) << c.err;
    EXPECT_EQ(c.out, "counter 2000 (expected 2000)\n");
}

TEST(ChanRecord, MisuseIsAFailedSendAndAFailedClose)
{
    TempDir dir("chan-misuse");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("chan_misuse") });
    EXPECT_NE(r.out.find("caught: send on a closed channel"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("caught: close of a closed channel"), std::string::npos) << r.out;
    ravel::TraceReader reader(trace);
    ChanEvents ev = readTrace(reader);
    uint64_t events = ev.chan("events");
    ASSERT_NE(events, 0u);
    auto fails = ev.of(RAVEL_EV_CHAN_FAIL, events);
    ASSERT_EQ(fails.size(), 1u);
    EXPECT_EQ(fails[0].aux, uint32_t(EPIPE));
    auto closes = ev.of(RAVEL_EV_CHAN_CLOSE, events);
    ASSERT_EQ(closes.size(), 2u);
    EXPECT_EQ(closes[0].aux, 0u);
    EXPECT_EQ(closes[1].aux, uint32_t(EPIPE));
    EXPECT_LT(closes[0].time_ns, fails[0].time_ns);
    EXPECT_EQ(ev.of(RAVEL_EV_SENT, events).size(), 1u) << "only the send before the close went in";
}

TEST(ChanRecord, TimedOutSelectAndTheOrphanedSenderOnItsBoard)
{
    TempDir dir("chan-orphan");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("chan_orphan_sender") });
    EXPECT_NE(r.out.find("fetch timed out"), std::string::npos) << r.out << r.err;
    ravel::TraceReader reader(trace);
    ChanEvents ev = readTrace(reader);
    uint64_t result = ev.chan("result");
    ASSERT_NE(result, 0u);

    auto req = ev.of(RAVEL_EV_SELECT_REQ);
    ASSERT_EQ(req.size(), 1u);
    EXPECT_EQ(req[0].aux, 1u) << "one channel case";
    EXPECT_TRUE(req[0].flags & RAVEL_F_TIMED);
    auto cases = ev.of(RAVEL_EV_SELECT_CASE);
    ASSERT_EQ(cases.size(), 1u);
    EXPECT_EQ(cases[0].obj, result);
    EXPECT_EQ(cases[0].aux, 0u) << "case 0, a receive";
    auto done = ev.of(RAVEL_EV_SELECT_DONE);
    ASSERT_EQ(done.size(), 1u);
    EXPECT_EQ(done[0].obj, 0u);
    EXPECT_EQ(done[0].aux, RAVEL_SELECT_NONE) << "the timeout won";
    EXPECT_GE(done[0].time_ns - req[0].time_ns, 45'000'000u);

    const ravel::ThreadInfo* fetcher = threadNamed(reader, "fetcher");
    ASSERT_NE(fetcher, nullptr);
    EXPECT_EQ(fetcher->board.blocked_on, result) << "blocked in the send at exit";
    EXPECT_EQ(fetcher->board.blocked_aux, unsigned(RAVEL_EV_SEND_REQ));
    EXPECT_EQ(fetcher->board.blocked_kind & 0x0f, unsigned(RAVEL_OBJ_CHAN));
    EXPECT_NE(fetcher->board.blocked_stack, 0u);
    EXPECT_EQ(ev.of(RAVEL_EV_SEND_REQ, result).size(), 1u);
    EXPECT_TRUE(ev.of(RAVEL_EV_SENT, result).empty());
}

// The wait set of the named thread's entry in a raw trace (chunks at header_size + k * chunk_size).
std::vector<uint64_t> rawWaitSet(const std::string& trace, const std::string& thread)
{
    std::ifstream f(trace, std::ios::binary);
    std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    if (bytes.size() < sizeof(RavelFileHeader))
        return {};
    RavelFileHeader h;
    std::memcpy(&h, bytes.data(), sizeof h);
    for (uint64_t off = h.header_size; h.chunk_size && off + h.chunk_size <= bytes.size(); off += h.chunk_size) {
        RavelChunkHeader c;
        std::memcpy(&c, bytes.data() + off, sizeof c);
        if (c.magic != RAVEL_CHUNK_MAGIC || c.type != RAVEL_CHUNK_THREADS)
            continue;
        for (uint64_t e = off + sizeof c; e + sizeof(RavelThreadEntry) <= off + h.chunk_size; e += sizeof(RavelThreadEntry)) {
            RavelThreadEntry entry;
            std::memcpy(&entry, bytes.data() + e, sizeof entry);
            if (entry.tid && std::string(entry.name, strnlen(entry.name, sizeof entry.name)) == thread) {
                uint32_t n = std::min<uint32_t>(entry.wait_set_count, RAVEL_MAX_WAIT_SET);
                return std::vector<uint64_t>(entry.wait_set, entry.wait_set + n);
            }
        }
    }
    return {};
}

TEST(ChanRecord, BlockedSelectListsEveryCaseOnTheBoard)
{
    TempDir dir("chan-select-dead");
    ravel::TraceReader reader(recordHang(dir, { example("chan_select_dead") }));
    ChanEvents ev = readTrace(reader);
    uint64_t jobs = ev.chan("jobs"), quit = ev.chan("quit");
    ASSERT_NE(jobs, 0u);
    ASSERT_NE(quit, 0u);
    const ravel::ThreadInfo* d = threadNamed(reader, "dispatcher");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->board.blocked_aux, unsigned(RAVEL_EV_SELECT_REQ));
    EXPECT_EQ(d->board.blocked_on, jobs) << "the first case's channel";
    EXPECT_EQ(d->board.seq % 2, 0u) << "no board write left half done";
    // The wait set is in the thread entry, beside the board: read it from the raw file.
    std::vector<uint64_t> waitSet = rawWaitSet(dir.file("hang.ravel"), "dispatcher");
    EXPECT_EQ(waitSet, (std::vector<uint64_t> { jobs, quit })) << "both receive cases, no send bit";
    auto cases = ev.of(RAVEL_EV_SELECT_CASE);
    ASSERT_GE(cases.size(), 2u);
    EXPECT_EQ(cases[cases.size() - 2].obj, jobs);
    EXPECT_EQ(cases[cases.size() - 1].obj, quit);
    EXPECT_EQ(cases[cases.size() - 1].aux, 1u);
    EXPECT_EQ(ev.of(RAVEL_EV_SELECT_DONE).size(), 2u) << "two jobs were taken before the hang";
    for (const auto& e : ev.of(RAVEL_EV_SELECT_DONE))
        EXPECT_EQ(e.obj, jobs);
}

TEST(ChanRecord, SendCycleBlocksBothSendersOnFullChannels)
{
    TempDir dir("chan-send-cycle");
    ravel::TraceReader reader(recordHang(dir, { example("chan_send_cycle") }));
    ChanEvents ev = readTrace(reader);
    for (auto [thread, chan] : { std::pair { "left", "left_to_right" }, std::pair { "right", "right_to_left" } }) {
        const ravel::ThreadInfo* t = threadNamed(reader, thread);
        ASSERT_NE(t, nullptr) << thread;
        EXPECT_EQ(t->board.blocked_on, ev.chan(chan)) << thread;
        EXPECT_EQ(t->board.blocked_aux, unsigned(RAVEL_EV_SEND_REQ)) << thread;
        EXPECT_EQ(ev.of(RAVEL_EV_SENT, ev.chan(chan)).size(), 1u) << chan << ": the first send filled it";
    }
}

TEST(ChanRecord, LockHeldAcrossABlockedSendIsOnTheBoard)
{
    TempDir dir("chan-lock-mixed");
    ravel::TraceReader reader(recordHang(dir, { example("chan_lock_mixed") }));
    ChanEvents ev = readTrace(reader);
    const ravel::ThreadInfo* pub = threadNamed(reader, "publisher");
    const ravel::ThreadInfo* sub = threadNamed(reader, "subscriber");
    ASSERT_NE(pub, nullptr);
    ASSERT_NE(sub, nullptr);
    EXPECT_EQ(pub->board.blocked_on, ev.chan("updates"));
    EXPECT_EQ(pub->board.blocked_aux, unsigned(RAVEL_EV_SEND_REQ));
    ASSERT_EQ(pub->board.held_count, 1u) << "registry_lock, held across the send";
    EXPECT_EQ(sub->board.blocked_on, pub->board.held[0] & RAVEL_OBJ_MASK) << "the subscriber waits for that lock";
    EXPECT_EQ(sub->board.blocked_kind & 0x0f, unsigned(RAVEL_OBJ_MUTEX));
    EXPECT_EQ(sub->board.blocked_aux, 0u) << "a pthread block carries no request kind";
}

TEST(ChanRecord, AnnotatedFutexLockIsACustomLock)
{
    TempDir dir("annotate-lock");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("annotate_futex_lock"), "3", "2000" });
    ASSERT_EQ(r.status, 0) << r.err;
    ravel::TraceReader reader(trace);
    ChanEvents ev = readTrace(reader);
    uint64_t lock = ev.chan("stats_lock");
    ASSERT_NE(lock, 0u);
    auto acquired = ev.of(RAVEL_EV_ACQUIRED, lock);
    EXPECT_EQ(acquired.size(), 6000u);
    EXPECT_EQ(ev.of(RAVEL_EV_RELEASE, lock).size(), 6000u);
    for (const auto& e : acquired)
        EXPECT_EQ(e.objKind(), unsigned(RAVEL_OBJ_CUSTOM));
    // A contended acquisition follows its request and takes a sequence number.
    size_t requests = ev.of(RAVEL_EV_ACQ_REQ, lock).size(), contended = 0;
    for (const auto& e : acquired)
        if (e.flags & RAVEL_F_CONTENDED) {
            contended++;
            EXPECT_NE(e.aux, 0u);
        }
    EXPECT_EQ(contended, requests);
    EXPECT_EQ(ev.of(RAVEL_EV_OBJ_NAME, lock).size(), 1u);
}

TEST(ChanRecord, AnnotatedFlagIsACustomEvent)
{
    TempDir dir("annotate-flag");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("annotate_futex_lock"), "flag" });
    ASSERT_EQ(r.status, 0) << r.err;
    ravel::TraceReader reader(trace);
    ChanEvents ev = readTrace(reader);
    uint64_t ready = ev.chan("ready");
    ASSERT_NE(ready, 0u);
    auto waits = ev.of(RAVEL_EV_WAIT_REQ, ready);
    auto woken = ev.of(RAVEL_EV_WOKEN, ready);
    auto broadcasts = ev.of(RAVEL_EV_BROADCAST, ready);
    EXPECT_EQ(waits.size(), 2u) << "both waiters start before main sets the flag (50 ms later)";
    EXPECT_EQ(woken.size(), 2u);
    ASSERT_EQ(broadcasts.size(), 1u);
    for (const auto& e : waits)
        EXPECT_EQ(e.objKind(), unsigned(RAVEL_OBJ_CUSTOM));
    for (const auto& e : woken) {
        EXPECT_GT(e.time_ns, broadcasts[0].time_ns) << "woken after the broadcast";
        EXPECT_NE(e.aux, 0u) << "a sequence number, as for a condition variable";
    }
    for (const auto& t : reader.threads())
        EXPECT_EQ(t.board.blocked_on, 0u) << "T" << t.id << " left blocked";
}

TEST(ChanRecord, AnnotatedLocksInADeadlockShowOnTheBoards)
{
    TempDir dir("annotate-abba");
    ravel::TraceReader reader(recordHang(dir, { example("annotate_futex_lock"), "abba" }));
    ChanEvents ev = readTrace(reader);
    uint64_t a = ev.chan("lock_a"), b = ev.chan("lock_b");
    ASSERT_NE(a, 0u);
    ASSERT_NE(b, 0u);
    const ravel::ThreadInfo* ab = threadNamed(reader, "teller-ab");
    const ravel::ThreadInfo* ba = threadNamed(reader, "teller-ba");
    ASSERT_NE(ab, nullptr);
    ASSERT_NE(ba, nullptr);
    EXPECT_EQ(ab->board.blocked_on, b);
    EXPECT_EQ(ba->board.blocked_on, a);
    EXPECT_EQ(ab->board.blocked_aux, unsigned(RAVEL_EV_ACQ_REQ));
    EXPECT_EQ(ab->board.blocked_kind & 0x0f, unsigned(RAVEL_OBJ_CUSTOM));
    ASSERT_EQ(ab->board.held_count, 1u);
    ASSERT_EQ(ba->board.held_count, 1u);
    EXPECT_EQ(ab->board.held[0] & RAVEL_OBJ_MASK, a);
    EXPECT_EQ(ba->board.held[0] & RAVEL_OBJ_MASK, b);
}

TEST(ChanRecord, AnnotatedQueueIsAChannelWithPairedIds)
{
    TempDir dir("annotate-queue");
    std::string trace = dir.file("t.ravel");
    RunResult r = ravelRun(trace, { example("annotate_queue"), "3000" });
    ASSERT_EQ(r.status, 0) << r.err;
    ravel::TraceReader reader(trace);
    ChanEvents ev = readTrace(reader);
    uint64_t q = ev.chan("samples");
    ASSERT_NE(q, 0u);
    auto create = ev.of(RAVEL_EV_CHAN_CREATE, q);
    ASSERT_EQ(create.size(), 1u);
    EXPECT_EQ(create[0].aux, 64u);
    expectPairedMessages(ev, q, 3000);
}

// A non-PIE executable resolves an undefined weak symbol to 0 at link time for good; the hooks
// are found with dlsym instead, which must work there too, for C and C++.
bool isNonPie(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    Elf64_Ehdr h {};
    f.read(reinterpret_cast<char*>(&h), sizeof h);
    return f && h.e_type == ET_EXEC;
}

TEST(ChanRecord, HooksWorkInNonPieExecutablesCAndCxx)
{
    std::string cxx = std::string(RAVEL_E2E_HELPERS_DIR) + "/e2e_chan_pipeline_nopie";
    std::string c = std::string(RAVEL_E2E_HELPERS_DIR) + "/e2e_annotate_futex_lock_nopie";
    ASSERT_TRUE(isNonPie(cxx)) << cxx;
    ASSERT_TRUE(isNonPie(c)) << c;
    TempDir dir("nopie");
    RunResult r1 = ravelRun(dir.file("cxx.ravel"), { cxx, "100", "2" });
    ASSERT_EQ(r1.status, 0) << r1.err;
    ChanEvents e1 = readTrace(ravel::TraceReader(dir.file("cxx.ravel")));
    EXPECT_EQ(e1.of(RAVEL_EV_CHAN_CREATE).size(), 2u);
    expectPairedMessages(e1, e1.chan("jobs"), 100);
    RunResult r2 = ravelRun(dir.file("c.ravel"), { c, "2", "500" });
    ASSERT_EQ(r2.status, 0) << r2.err;
    ChanEvents e2 = readTrace(ravel::TraceReader(dir.file("c.ravel")));
    EXPECT_EQ(e2.of(RAVEL_EV_ACQUIRED, e2.chan("stats_lock")).size(), 1000u);
    EXPECT_EQ(run({ cxx, "100", "2" }).status, 0) << "and without the runtime";
}

} // namespace
