// Channel analysis on scripted traces: spans and message links in the replay model, OR waits in the
// wait-for reduction (who may still send or receive), findings at the end of a hung or exited run.
#include "detect/live_trace.hpp"
#include "analysis/run_analysis.hpp"
#include "detect/end_of_run.hpp"
#include "analysis/analysis.hpp"
#include "detect/live_detector.hpp"
#include "model/replay_model.hpp"
#include "symbols/symbolizer.hpp"
#include "model/trace_stats.hpp"
#include "trace_builder.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <memory>

using namespace ravel;
using ravel::test::TraceBuilder;

namespace {

constexpr uint64_t JOBS = 0x7f00000a0000;
constexpr uint64_t RESULTS = 0x7f00000b0000;
constexpr uint64_t M = 0x555555558040;
constexpr unsigned CH = RAVEL_OBJ_CHAN;

// Events in the given global order, 1000 ticks (500 ns) apart. Thread 1 is main.
class Script {
public:
    explicit Script(unsigned threads = 3, bool ended = false)
    {
        for (uint32_t tid = 1; tid <= threads; tid++) {
            RavelThreadEntry& t = b.thread(tid, tid == 1 ? "main" : "worker");
            t.parent = tid == 1 ? 0 : 1;
            t.pthread = 0x7f0000001000ull * tid;
            t.start_tsc = TraceBuilder::StartTsc;
        }
        if (ended) {
            b.header().flags |= RAVEL_FILE_ENDED;
            m_ended = true;
        }
    }
    void ev(uint32_t tid, unsigned kind, uint64_t obj, uint32_t aux = 0, unsigned flags = CH, uint32_t stack = 0)
    {
        m_tsc += 1000;
        b.time(tid, m_tsc);
        b.event(tid, kind, obj, aux, stack, flags);
    }
    void create(uint32_t tid, uint64_t ch, uint32_t capacity) { ev(tid, RAVEL_EV_CHAN_CREATE, ch, capacity); }
    // Operations that do not block: request and completion 1 ns apart, as the runtime writes them.
    void send(uint32_t tid, uint64_t ch, uint32_t id)
    {
        ev(tid, RAVEL_EV_SEND_REQ, ch);
        quick(tid, RAVEL_EV_SENT, ch, id);
    }
    void recv(uint32_t tid, uint64_t ch, uint32_t id)
    {
        ev(tid, RAVEL_EV_RECV_REQ, ch);
        quick(tid, RAVEL_EV_RECEIVED, ch, id);
    }
    void quick(uint32_t tid, unsigned kind, uint64_t obj, uint32_t aux)
    {
        m_tsc += 2;
        b.time(tid, m_tsc);
        b.event(tid, kind, obj, aux, 0, CH);
    }
    void exit(uint32_t tid) { ev(tid, RAVEL_EV_THREAD_EXIT, 0x7f0000001000ull * tid, 0, 0); }
    uint64_t nowNs() const { return (m_tsc) / 2; }

    const ReplayModel& model()
    {
        if (m_ended) {
            b.header().end_tsc = TraceBuilder::StartTsc + m_tsc + 1000;
            b.header().end_mono_ns = TraceBuilder::StartMonoNs + (m_tsc + 1000) / 2;
        }
        char dir[] = "/tmp/ravel-chan-XXXXXX";
        if (!mkdtemp(dir))
            throw std::runtime_error("mkdtemp");
        m_dir = dir;
        b.write(m_dir + "/t.ravel");
        m_reader = std::make_unique<TraceReader>(m_dir + "/t.ravel");
        m_run = std::make_unique<RunAnalysis>(*m_reader);
        return m_run->model();
    }
    // Also checks that the report path, which keeps only the end state, finds exactly the same.
    std::vector<Finding> analyze()
    {
        model();
        m_sym = std::make_unique<Symbolizer>(m_reader->modules());
        std::vector<Finding> whole = analyzeTrace(*m_run, *m_sym);
        RunAnalysis endOnly(*m_reader, ReplayModel::Retain::EndState);
        std::vector<Finding> end = analyzeTrace(endOnly, *m_sym);
        EXPECT_EQ(describe(end), describe(whole)) << "the end-state replay disagrees with the whole model";
        return whole;
    }
    static std::string describe(const std::vector<Finding>& fs)
    {
        std::string out;
        for (const Finding& f : fs) {
            out += f.kind + " " + verdictName(f.certainty) + " " + f.title + " @" + std::to_string(f.timeNs) + " "
                + f.fingerprint + "\n";
            for (const FindingThread& t : f.threads) {
                out += "  T" + std::to_string(t.id) + " waits " + std::to_string(t.waitsFor) + " stack "
                    + std::to_string(t.waitStack) + (t.otherSideGone ? " gone" : "") + (t.wakersPresumed ? " presumed" : "");
                for (uint32_t w : t.wakers)
                    out += " w" + std::to_string(w);
                out += " op " + t.waitOp + " since " + std::to_string(t.waitSinceNs);
                for (size_t c = 0; c < t.waitCases.size(); c++)
                    out += " c" + std::to_string(t.waitCases[c]) + (t.waitCaseSend[c] ? "s" : "r");
                for (const FindingHold& h : t.holds)
                    out += " h" + std::to_string(h.object) + ":" + std::to_string(h.stack);
                out += "\n";
            }
            for (const FindingObject& o : f.objects)
                out += "  o " + o.id + " " + o.name + "\n";
            for (const std::string& n : f.notes)
                out += "  note " + n + "\n";
        }
        return out;
    }
    ~Script()
    {
        if (!m_dir.empty())
            std::filesystem::remove_all(m_dir);
    }
    TraceBuilder b { 1 << 16 };

private:
    uint64_t m_tsc = 1000;
    bool m_ended = false;
    std::string m_dir;
    std::unique_ptr<TraceReader> m_reader;
    std::unique_ptr<RunAnalysis> m_run;
    std::unique_ptr<Symbolizer> m_sym;
};

const Finding* findKind(const std::vector<Finding>& fs, const std::string& kind)
{
    for (const Finding& f : fs)
        if (f.kind == kind)
            return &f;
    return nullptr;
}

std::vector<uint32_t> threadIds(const Finding& f)
{
    std::vector<uint32_t> out;
    for (const FindingThread& t : f.threads)
        out.push_back(t.id);
    std::sort(out.begin(), out.end());
    return out;
}

} // namespace

TEST(ChanAnalysis, LinksEachReceiveToItsSendAndTracksOccupancy)
{
    Script s;
    s.create(1, JOBS, 2);
    s.send(2, JOBS, 1); // occupancy 1
    s.send(2, JOBS, 2); // 2: full
    uint64_t full = s.nowNs();
    s.recv(3, JOBS, 1);
    s.recv(3, JOBS, 2);
    s.ev(2, RAVEL_EV_CHAN_CLOSE, JOBS);
    uint64_t closed = s.nowNs();
    s.recv(3, JOBS, 0); // closed and drained
    const ReplayModel& m = s.model();
    ASSERT_EQ(m.messages().size(), 2u);
    EXPECT_EQ(m.messages()[0].id, 1u);
    EXPECT_EQ(m.messages()[0].sender, 2u);
    EXPECT_EQ(m.messages()[0].receiver, 3u);
    EXPECT_LT(m.messages()[0].sendNs, m.messages()[0].recvNs);
    ASSERT_EQ(m.channels().size(), 1u);
    const ModelChannel& c = m.channels()[0];
    EXPECT_EQ(c.capacity, 2u);
    EXPECT_EQ(c.maxOccupancy, 2u);
    EXPECT_EQ(c.messages, 2u);
    EXPECT_EQ(m.occupancyAt(c.object, full), 2u);
    EXPECT_EQ(m.occupancyAt(c.object, closed), 0u);
    EXPECT_FALSE(m.closedAt(c.object, full));
    EXPECT_TRUE(m.closedAt(c.object, closed));
    EXPECT_TRUE(endOfRunFindings(m).empty());
}

TEST(ChanAnalysis, ABlockedSendIsAWaitSpanWithItsOperation)
{
    Script s;
    s.create(1, JOBS, 0);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS);
    uint64_t blocked = s.nowNs();
    s.recv(3, JOBS, 1);
    s.ev(2, RAVEL_EV_SENT, JOBS, 1);
    s.ev(3, RAVEL_EV_RECV_REQ, JOBS, 0, CH | RAVEL_F_TRY);
    s.ev(3, RAVEL_EV_CHAN_FAIL, JOBS, EAGAIN);
    const ReplayModel& m = s.model();
    const WaitSpan* w = m.blockedAt(2, blocked + 100);
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->op, ChanOp::Send);
    EXPECT_EQ(w->outcome, WaitOutcome::Woken);
    ASSERT_EQ(m.messages().size(), 1u);
    EXPECT_TRUE(endOfRunFindings(m).empty()) << "a failed try_recv is no misuse and no wait";
}

TEST(ChanAnalysis, EveryThreadBlockedOnChannelsIsADeadlock)
{
    Script s;
    s.create(1, JOBS, 0);
    s.create(1, RESULTS, 0);
    s.ev(1, RAVEL_EV_JOIN_REQ, 0x7f0000001000ull * 2, 2, RAVEL_OBJ_THREAD);
    s.ev(2, RAVEL_EV_RECV_REQ, JOBS);    // waits for a job nobody sends
    s.ev(3, RAVEL_EV_RECV_REQ, RESULTS); // waits for a result T2 would send
    const ReplayModel& m = s.model();
    std::vector<Finding> fs = endOfRunFindings(m);
    const Finding* d = findKind(fs, "deadlock");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(threadIds(*d), (std::vector<uint32_t> { 1, 2, 3 }));
    bool sawRecv = false;
    for (const FindingThread& t : d->threads)
        sawRecv = sawRecv || (t.waitOp == "receive" && d->objects[size_t(t.waitsFor)].kind == RAVEL_OBJ_CHAN);
    EXPECT_TRUE(sawRecv);
}

TEST(ChanAnalysis, SendCycleOnFullChannelsIsFoundWhileMainRunsOn)
{
    Script s;
    s.create(1, JOBS, 1);
    s.create(1, RESULTS, 1);
    // Each worker has received from the channel the other one sends on: they serve each other.
    s.send(1, JOBS, 1);
    s.recv(3, JOBS, 1);
    s.send(1, RESULTS, 1);
    s.recv(2, RESULTS, 1);
    s.send(2, JOBS, 2);
    s.send(3, RESULTS, 2); // both full now
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS);
    s.ev(3, RAVEL_EV_SEND_REQ, RESULTS);
    s.ev(1, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX); // main keeps running (an unrelated event)
    const ReplayModel& m = s.model();
    std::vector<ThreadSnapshot> snap = m.snapshotAt(m.endNs());
    Deadlock d = reduceWaitFor(waitGraphOf(snap, &m.channelTable(), m.endNs()));
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 2, 3 }));
    EXPECT_EQ(d.verdict, Verdict::Likely) << "a thread that never used the channels could still receive";
    // Without what the trace says about who used the channels, main (running) is presumed able to.
    EXPECT_EQ(reduceWaitFor(waitGraphOf(snap)).verdict, Verdict::None);
    Finding f = deadlockFinding(d, snap, &m.channelTable(), m.endNs());
    ASSERT_EQ(f.threads.size(), 2u);
    EXPECT_EQ(f.threads[0].waitOp, "send");
    EXPECT_TRUE(f.threads[0].wakersPresumed);
    EXPECT_NE(f.title.find("channels"), std::string::npos) << f.title;
}

TEST(ChanAnalysis, LockHeldAcrossABlockedSendWhoseReceiverWantsTheLock)
{
    Script s;
    s.create(1, JOBS, 0);
    s.send(2, JOBS, 1);
    s.recv(3, JOBS, 1); // T3 is the receiver
    s.ev(2, RAVEL_EV_ACQUIRED, M, 1, RAVEL_OBJ_MUTEX);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS);                    // blocks holding M
    s.ev(3, RAVEL_EV_ACQ_REQ, M, 0, RAVEL_OBJ_MUTEX);    // the receiver wants M first
    s.ev(1, RAVEL_EV_JOIN_REQ, 0x7f0000001000ull * 3, 3, RAVEL_OBJ_THREAD);
    std::vector<Finding> fs = s.analyze();
    const Finding* d = findKind(fs, "deadlock");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->title, "2 threads wait for each other through a lock and a channel");
    std::vector<uint32_t> ids = threadIds(*d);
    EXPECT_NE(std::find(ids.begin(), ids.end(), 2u), ids.end());
    EXPECT_NE(std::find(ids.begin(), ids.end(), 3u), ids.end());
}

TEST(ChanAnalysis, ReceiveWhoseOnlySenderExitedWithoutClosing)
{
    Script s;
    s.create(2, JOBS, 4); // created by the sender itself
    s.send(2, JOBS, 1);
    s.recv(3, JOBS, 1);
    s.exit(2);
    s.ev(3, RAVEL_EV_RECV_REQ, JOBS);
    s.ev(1, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX); // main runs on
    const ReplayModel& m = s.model();
    std::vector<ThreadSnapshot> snap = m.snapshotAt(m.endNs());
    Deadlock d = reduceWaitFor(waitGraphOf(snap, &m.channelTable(), m.endNs()));
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 3 }));
    Finding f = deadlockFinding(d, snap, &m.channelTable(), m.endNs());
    EXPECT_TRUE(f.threads[0].wakers.empty());
    EXPECT_EQ(f.threads[0].waitOp, "receive");
}

TEST(ChanAnalysis, SelectWhoseEveryCaseIsDead)
{
    Script s;
    s.create(2, JOBS, 0);
    s.create(2, RESULTS, 0);
    s.send(2, JOBS, 1);
    s.recv(3, JOBS, 1);
    s.recv(2, RESULTS, 1);
    s.send(3, RESULTS, 1);
    s.exit(2);
    s.ev(3, RAVEL_EV_SELECT_REQ, 0, 2, 0);
    s.ev(3, RAVEL_EV_SELECT_CASE, JOBS, 0);
    s.ev(3, RAVEL_EV_SELECT_CASE, RESULTS, 1 | RAVEL_SELECT_SEND);
    s.ev(1, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX);
    const ReplayModel& m = s.model();
    const WaitSpan* w = m.blockedAt(3, m.endNs());
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->op, ChanOp::Select);
    EXPECT_EQ(w->caseCount, 2u);
    std::vector<ThreadSnapshot> snap = m.snapshotAt(m.endNs());
    Deadlock d = reduceWaitFor(waitGraphOf(snap, &m.channelTable(), m.endNs()));
    EXPECT_EQ(d.threads, (std::vector<uint32_t> { 3 }));
    Finding f = deadlockFinding(d, snap, &m.channelTable(), m.endNs());
    ASSERT_EQ(f.threads.size(), 1u);
    EXPECT_EQ(f.threads[0].waitOp, "select");
    EXPECT_EQ(f.threads[0].waitCases.size(), 2u);
}

TEST(ChanAnalysis, SelectWithALiveSenderIsNotStuck)
{
    Script s;
    s.create(1, JOBS, 0);
    s.send(2, JOBS, 1);
    s.recv(3, JOBS, 1);
    s.ev(3, RAVEL_EV_SELECT_REQ, 0, 1, 0);
    s.ev(3, RAVEL_EV_SELECT_CASE, JOBS, 0);
    s.ev(2, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX); // T2, a sender, is running
    const ReplayModel& m = s.model();
    std::vector<ThreadSnapshot> snap = m.snapshotAt(m.endNs());
    EXPECT_EQ(reduceWaitFor(waitGraphOf(snap, &m.channelTable(), m.endNs())).verdict, Verdict::None);
}

TEST(ChanAnalysis, OrphanedSenderAtExitIsANoteWhileItsReceiverLives)
{
    Script s(3, true);
    s.create(1, RESULTS, 0);
    s.ev(2, RAVEL_EV_SEND_REQ, RESULTS); // the worker will never be received from
    s.ev(1, RAVEL_EV_SELECT_REQ, 0, 1, RAVEL_F_TIMED);
    s.ev(1, RAVEL_EV_SELECT_CASE, RESULTS, 0);
    s.ev(1, RAVEL_EV_SELECT_DONE, 0, RAVEL_SELECT_NONE); // main gave up (timeout) and runs on
    s.exit(3);
    s.exit(1);
    std::vector<Finding> fs = s.analyze();
    const Finding* n = findKind(fs, "blocked-at-exit");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->certainty, Verdict::None);
    EXPECT_FALSE(isError(*n));
    ASSERT_EQ(n->threads.size(), 1u);
    EXPECT_EQ(n->threads[0].id, 2u);
    EXPECT_EQ(n->threads[0].waitOp, "send");
    EXPECT_EQ(findKind(fs, "deadlock"), nullptr);
}

TEST(ChanAnalysis, OrphanedSenderWhoseReceiversExitedIsAnError)
{
    Script s(3, true);
    s.create(1, RESULTS, 0);
    s.ev(3, RAVEL_EV_SELECT_REQ, 0, 1, RAVEL_F_TIMED);
    s.ev(3, RAVEL_EV_SELECT_CASE, RESULTS, 0);
    s.ev(3, RAVEL_EV_SELECT_DONE, 0, RAVEL_SELECT_NONE); // the receiver timed out...
    s.exit(3);                                           // ...and left
    s.ev(2, RAVEL_EV_SEND_REQ, RESULTS);
    s.exit(1);
    std::vector<Finding> fs = s.analyze();
    const Finding* n = findKind(fs, "blocked-at-exit");
    ASSERT_NE(n, nullptr);
    EXPECT_EQ(n->certainty, Verdict::Certain);
    EXPECT_TRUE(isError(*n));
    ASSERT_EQ(n->threads.size(), 1u);
    EXPECT_TRUE(n->threads[0].otherSideGone);
}

TEST(ChanAnalysis, SendOnAClosedChannelAndDoubleCloseAreMisuse)
{
    Script s(2, true);
    s.create(1, JOBS, 1);
    s.ev(1, RAVEL_EV_CHAN_CLOSE, JOBS);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS);
    s.ev(2, RAVEL_EV_CHAN_FAIL, JOBS, EPIPE);
    s.ev(1, RAVEL_EV_CHAN_CLOSE, JOBS, EPIPE);
    s.exit(2);
    s.exit(1);
    std::vector<Finding> fs = s.analyze();
    std::vector<std::string> titles;
    for (const Finding& f : fs)
        if (f.kind == "misuse") {
            titles.push_back(f.title);
            ASSERT_FALSE(f.objects.empty());
            EXPECT_EQ(f.objects[0].kind, unsigned(RAVEL_OBJ_CHAN));
        }
    ASSERT_EQ(titles.size(), 2u);
    EXPECT_NE(titles[0].find("send on a closed channel"), std::string::npos);
    EXPECT_NE(titles[1].find("already closed"), std::string::npos);
    const ReplayModel& m = s.model();
    EXPECT_EQ(m.blockedAt(2, m.endNs()), nullptr) << "the failed send ended its wait";
}

TEST(ChanAnalysis, ACleanPipelineHasNoFinding)
{
    Script s(4, true);
    s.create(1, JOBS, 2);
    s.create(1, RESULTS, 0);
    for (uint32_t i = 1; i <= 3; i++) {
        s.send(2, JOBS, i);
        s.recv(3, JOBS, i);
        s.send(3, RESULTS, i);
        s.recv(4, RESULTS, i);
    }
    s.ev(2, RAVEL_EV_CHAN_CLOSE, JOBS);
    s.recv(3, JOBS, 0);
    s.ev(3, RAVEL_EV_CHAN_CLOSE, RESULTS);
    s.recv(4, RESULTS, 0);
    for (uint32_t t : { 2u, 3u, 4u, 1u })
        s.exit(t);
    std::vector<Finding> fs = s.analyze();
    for (const Finding& f : fs)
        ADD_FAILURE() << f.kind << ": " << f.title;
}

TEST(ChanAnalysis, LiveDetectorTakesChannelWaitsFromTheBoards)
{
    // The watchdog's view: boards only, every thread blocked on a channel, no table yet.
    std::vector<ThreadSnapshot> sample(2);
    for (uint32_t i = 0; i < 2; i++) {
        sample[i].tid = i + 1;
        sample[i].pid = 7;
        sample[i].blockedOn = i ? RESULTS : JOBS;
        sample[i].blockedFlags = RAVEL_OBJ_CHAN;
        sample[i].blockedAux = i ? RAVEL_EV_SEND_REQ : RAVEL_EV_RECV_REQ;
        sample[i].blockedSinceRaw = 100 + i;
    }
    LiveDeadlockDetector det(3'000'000'000ull);
    ProcessView proc;
    proc.pid = 7;
    proc.kernelThreads = 2;
    proc.signalHandlers = false;
    EXPECT_FALSE(det.observe(sample, proc, 1'000'000));
    std::optional<Finding> f = det.observe(sample, proc, 101'000'000);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->certainty, Verdict::Certain) << "everyone blocked, no timed wait, no handler";
    ASSERT_EQ(f->threads.size(), 2u);
    EXPECT_FALSE(f->threads[0].waitOp.empty());
}

TEST(ChanAnalysis, LockHeldAcrossASendWhoseReceiverNeedsTheLockIsAPotentialDeadlock)
{
    Script s(3, true);
    s.create(1, JOBS, 0);
    // The receiver takes the lock first this time, so the run is lucky.
    s.ev(3, RAVEL_EV_ACQUIRED, M, 1, RAVEL_OBJ_MUTEX, 7);
    s.ev(3, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX, 7);
    s.ev(2, RAVEL_EV_ACQUIRED, M, 2, RAVEL_OBJ_MUTEX, 5);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS, 0, CH, 6);
    s.ev(3, RAVEL_EV_RECV_REQ, JOBS, 0, CH, 8);
    s.ev(3, RAVEL_EV_RECEIVED, JOBS, 1);
    s.ev(2, RAVEL_EV_SENT, JOBS, 1);
    s.ev(2, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX, 5);
    for (uint32_t t : { 2u, 3u, 1u })
        s.exit(t);
    std::vector<Finding> fs = s.analyze();
    const Finding* p = findKind(fs, "potential-deadlock");
    ASSERT_NE(p, nullptr);
    EXPECT_TRUE(isError(*p));
    EXPECT_NE(p->title.find("channel"), std::string::npos) << p->title;
    ASSERT_EQ(p->edges.size(), 2u);
    bool sendEdge = false, serveEdge = false;
    for (const FindingEdge& e : p->edges) {
        sendEdge = sendEdge || (e.toOp == "send" && e.thread == 2);
        serveEdge = serveEdge || (e.fromOp == "receive" && e.thread == 3);
    }
    EXPECT_TRUE(sendEdge);
    EXPECT_TRUE(serveEdge);
}

TEST(ChanAnalysis, LockNeededOnlyAfterAMessageFromTheHolderIsNoPotentialDeadlock)
{
    Script s(3, true);
    s.create(1, JOBS, 0);
    s.ev(2, RAVEL_EV_ACQUIRED, M, 1, RAVEL_OBJ_MUTEX, 5);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS, 0, CH, 6);
    s.ev(3, RAVEL_EV_RECV_REQ, JOBS, 0, CH, 8);
    s.ev(3, RAVEL_EV_RECEIVED, JOBS, 1);
    s.ev(2, RAVEL_EV_SENT, JOBS, 1);
    s.ev(2, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX, 5);
    s.send(2, JOBS, 2); // unlocked now
    // The receiver takes the lock only after the first message: that send happened before.
    s.ev(3, RAVEL_EV_ACQUIRED, M, 2, RAVEL_OBJ_MUTEX, 7);
    s.ev(3, RAVEL_EV_RELEASE, M, 0, RAVEL_OBJ_MUTEX, 7);
    s.recv(3, JOBS, 2);
    for (uint32_t t : { 2u, 3u, 1u })
        s.exit(t);
    std::vector<Finding> fs = s.analyze();
    EXPECT_EQ(findKind(fs, "potential-deadlock"), nullptr);
}

TEST(ChanAnalysis, InfoStatisticsCountMessagesBlockingAndOccupancy)
{
    Script s(3, true);
    s.create(1, JOBS, 2);
    s.send(2, JOBS, 1);
    s.send(2, JOBS, 2);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS); // full: blocks until a receive makes room (1001 ns)
    s.recv(3, JOBS, 1);
    s.ev(2, RAVEL_EV_SENT, JOBS, 3);
    s.recv(3, JOBS, 2);
    s.recv(3, JOBS, 3);
    s.ev(2, RAVEL_EV_CHAN_CLOSE, JOBS);
    for (uint32_t t : { 2u, 3u, 1u })
        s.exit(t);
    const ReplayModel& m = s.model();
    TraceStats st = computeStats(m.trace());
    const ObjectStats* chan = nullptr;
    for (const ObjectStats& o : st.objects)
        if (o.object.kind == RAVEL_OBJ_CHAN)
            chan = &o;
    ASSERT_NE(chan, nullptr);
    EXPECT_EQ(chan->capacity, 2u);
    EXPECT_EQ(chan->messages, 3u);
    EXPECT_EQ(chan->maxOccupancy, 2u);
    EXPECT_EQ(chan->sendBlockedNs, 1000u + 1 + 1 + 1); // the blocked send and 1 ns for each quick one
    EXPECT_TRUE(chan->closed);
    // The replay model agrees.
    ASSERT_EQ(m.channels().size(), 1u);
    EXPECT_EQ(m.channels()[0].sendBlockedNs, chan->sendBlockedNs);
    EXPECT_EQ(m.channels()[0].maxOccupancy, 2u);
}

// Two receivers blocked on `jobs`, which nobody will ever send to or close, and main joining
// one of them: the live sample (process 7) and the table the watchdog reads from the trace.
struct StuckReceivers {
    Script s;
    ChannelTable table;
    std::vector<ThreadSnapshot> sample;
    StuckReceivers()
    {
        s.create(1, JOBS, 0);
        s.ev(2, RAVEL_EV_RECV_REQ, JOBS);
        s.ev(3, RAVEL_EV_RECV_REQ, JOBS);
        s.ev(1, RAVEL_EV_JOIN_REQ, 0x7f0000001000ull * 2, 2, RAVEL_OBJ_THREAD);
        const ReplayModel& m = s.model();
        table = channelTableOf(m.trace());
        sample = m.snapshotAt(m.endNs());
        for (ThreadSnapshot& t : sample)
            t.pid = 7;
    }
};

TEST(ChanAnalysis, LiveDetectorWithAChannelTableKeepsAnUnclosedChannelOpen)
{
    // The watchdog's table read from the trace: nobody ever closed `jobs` (its close time is unknown),
    // so a receive on it is still stuck; the verdict needs every thread blocked to be certain.
    StuckReceivers r;
    const ChannelTable& table = r.table;
    const std::vector<ThreadSnapshot>& sample = r.sample;
    LiveDeadlockDetector det(3'000'000'000ull);
    ProcessView proc;
    proc.pid = 7;
    proc.kernelThreads = 3;
    proc.signalHandlers = false;
    EXPECT_FALSE(det.observe(sample, proc, 1'000'000, &table));
    std::optional<Finding> f = det.observe(sample, proc, 101'000'000, &table);
    ASSERT_TRUE(f);
    EXPECT_EQ(f->certainty, Verdict::Certain);
    EXPECT_EQ(f->threads.size(), 3u);
    // One more thread the kernel knows but the boards do not: it could be the sender. Not certain.
    LiveDeadlockDetector det2(3'000'000'000ull);
    proc.kernelThreads = 4;
    det2.observe(sample, proc, 1'000'000, &table);
    std::optional<Finding> g = det2.observe(sample, proc, 101'000'000, &table);
    EXPECT_FALSE(g) << "likely: reported only after the stall timeout";
}

TEST(ChanAnalysis, LiveDetectorActsWhenALikelyDeadlockBecomesCertain)
{
    // The watchdog first sees the stall without knowing who uses the channel (its table is still
    // being read), then with the table: likely, reported after the stall timeout; then certain,
    // which must be reported too (it is what ends the program), not taken for the same finding.
    StuckReceivers r;
    const ChannelTable& table = r.table;
    const std::vector<ThreadSnapshot>& sample = r.sample;
    ProcessView proc;
    proc.pid = 7;
    proc.kernelThreads = 4; // one thread the boards do not show: "everyone blocked" cannot be said
    proc.signalHandlers = false;
    LiveDeadlockDetector det(300'000'000ull);
    EXPECT_FALSE(det.observe(sample, proc, 1'000'000));
    std::optional<Finding> likely = det.observe(sample, proc, 401'000'000);
    ASSERT_TRUE(likely);
    EXPECT_EQ(likely->certainty, Verdict::Likely);
    EXPECT_FALSE(det.observe(sample, proc, 501'000'000)) << "the same likely deadlock is reported once";
    proc.kernelThreads = 3; // the unseen thread is gone: everyone left is blocked
    EXPECT_FALSE(det.observe(sample, proc, 601'000'000, &table)) << "a new verdict needs two samples";
    std::optional<Finding> certain = det.observe(sample, proc, 701'000'000, &table);
    ASSERT_TRUE(certain);
    EXPECT_EQ(certain->certainty, Verdict::Certain);
}

TEST(ChanAnalysis, SendCycleStillStuckAtANormalExitIsADeadlockNotANote)
{
    Script s(3, true);
    s.create(1, JOBS, 1);
    s.create(1, RESULTS, 1);
    s.send(1, JOBS, 1);
    s.recv(3, JOBS, 1);
    s.send(1, RESULTS, 1);
    s.recv(2, RESULTS, 1);
    s.send(2, JOBS, 2);
    s.send(3, RESULTS, 2);
    s.ev(2, RAVEL_EV_SEND_REQ, JOBS);
    s.ev(3, RAVEL_EV_SEND_REQ, RESULTS);
    s.exit(1); // main returns; the two detached workers never will
    std::vector<Finding> fs = s.analyze();
    const Finding* d = findKind(fs, "deadlock");
    ASSERT_NE(d, nullptr);
    EXPECT_EQ(d->certainty, Verdict::Likely);
    EXPECT_EQ(threadIds(*d), (std::vector<uint32_t> { 2, 3 }));
    EXPECT_TRUE(isError(*d));
}
