// Channel deadlocks under the real `ravel run` (issue 5): each channel bug pattern of examples/
// and of our own programs (tests/e2e/programs/, not copies of the examples) hangs for real or
// exits; ravel must name the threads and the channels live with exit 66, warn about a likely
// partial deadlock without ending the program, report what a run leaves behind at exit (a
// blocked-at-exit note, misuse, a potential mixed deadlock) and stay quiet on correct programs.
#include "e2e_util.hpp"

using namespace ravel::e2e;

namespace {

struct ChanCase {
    const char* name;
    std::string program;
    std::vector<std::string> mustMention; // thread names, channel names, operations, source files
};

std::ostream& operator<<(std::ostream& os, const ChanCase& c) { return os << c.name; }

class ChanLiveDeadlock : public ::testing::TestWithParam<ChanCase> { };

} // namespace

TEST_P(ChanLiveDeadlock, ReportedLiveWithThreadsAndChannelsNamed)
{
    const ChanCase& c = GetParam();
    TempDir dir(c.name);
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("t.ravel"), { c.program }, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;

    ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    // Every thread is blocked: certain, acted on at once (two board samples), not after a stall timeout.
    EXPECT_LT(elapsed, 2500ms) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
    for (const std::string& word : c.mustMention)
        EXPECT_NE(r.err.find(word), std::string::npos) << "report does not mention " << word << "\n" << r.err;
    // The user's own line, not the inside of ravel/chan.hpp.
    EXPECT_EQ(r.err.find("SUMMARY: deadlock (certain) in ravel::"), std::string::npos) << r.err;

    // After the fact, the trace of the killed program shows the same deadlock and its channel waits.
    nlohmann::json report = reportJson(dir.file("t.ravel"));
    const nlohmann::json* d = findingOfKind(report, "deadlock");
    ASSERT_NE(d, nullptr) << report.dump(2);
    EXPECT_EQ((*d)["certainty"], "certain") << d->dump(2);
    bool channelWait = false;
    for (const nlohmann::json& t : (*d)["threads"])
        if (t["waits_for"].is_object() && t["waits_for"].contains("op"))
            channelWait = true;
    EXPECT_TRUE(channelWait) << d->dump(2);
}

INSTANTIATE_TEST_SUITE_P(Programs, ChanLiveDeadlock,
    ::testing::Values(
        ChanCase { "all_blocked", example("chan_all_blocked"),
            { "parser", "responder", "requests", "replies", "waits to receive from", "chan_all_blocked.cpp:" } },
        ChanCase { "send_cycle", example("chan_send_cycle"),
            { "left_to_right", "right_to_left", "waits to send on", "chan_send_cycle.cpp:" } },
        ChanCase { "lock_mixed", example("chan_lock_mixed"),
            { "publisher", "subscriber", "registry_lock", "updates", "waits to send on" } },
        ChanCase { "recv_never", example("chan_recv_never"), { "averager", "readings", "waits to receive from" } },
        ChanCase { "select_dead", example("chan_select_dead"), { "dispatcher", "jobs", "quit", "select" } },
        // Our own programs.
        ChanCase { "gone_receiver", helper("e2e_chan_gone_receiver"),
            { "producer", "orders", "waits to send on", "chan_gone_receiver.cpp:" } },
        ChanCase { "ring_select", helper("e2e_chan_ring_select"),
            { "stage-0", "stage-1", "stage-2", "ring0", "ring1", "ring2", "select" } }),
    [](const ::testing::TestParamInfo<ChanCase>& info) { return std::string(info.param.name); });

TEST(ChanAtExit, CorrectPipelinesAreClean)
{
    for (std::string program : { example("chan_pipeline"), helper("e2e_chan_fanout_clean") }) {
        TempDir dir("clean");
        RunResult r = ravelRun(dir.file("t.ravel"), { program }, withTimeout(30s));
        ASSERT_FALSE(r.timedOut) << r.err;
        EXPECT_EQ(r.status, 0) << program << "\n" << r.err;
        EXPECT_EQ(r.err.find("ERROR"), std::string::npos) << r.err;
        nlohmann::json report = reportJson(dir.file("t.ravel"));
        ASSERT_TRUE(report.is_object());
        EXPECT_EQ(report["findings"].size(), 0u) << program << "\n" << report.dump(2);
    }
}

TEST(ChanAtExit, OrphanedSenderIsABlockedAtExitNote)
{
    TempDir dir("orphan");
    RunResult r = ravelRun(dir.file("t.ravel"), { example("chan_orphan_sender") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 0) << "an idle sender at exit is a note, not an error\n" << r.err;
    nlohmann::json report = reportJson(dir.file("t.ravel"));
    const nlohmann::json* n = findingOfKind(report, "blocked-at-exit");
    ASSERT_NE(n, nullptr) << report.dump(2);
    EXPECT_FALSE((*n)["error"].get<bool>());
    ASSERT_EQ((*n)["threads"].size(), 1u);
    const nlohmann::json& t = (*n)["threads"][0];
    EXPECT_EQ(t["name"], "fetcher");
    EXPECT_EQ(t["waits_for"]["op"], "send");
    bool named = false;
    for (const nlohmann::json& o : (*n)["objects"])
        named = named || (o["name"] == "result" && o["kind"] == "channel");
    EXPECT_TRUE(named) << n->dump(2);
    bool userFrame = false;
    for (const nlohmann::json& fr : t["waits_for"]["stack"])
        userFrame = userFrame || (fr["file"].is_string() && fr["file"].get<std::string>().find("chan_orphan_sender.cpp")
                                                               != std::string::npos);
    EXPECT_TRUE(userFrame) << t.dump(2);
}

TEST(ChanAtExit, MisuseIsReported)
{
    TempDir dir("misuse");
    RunResult r = ravelRun(dir.file("t.ravel"), { example("chan_misuse") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("send on a closed channel"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("already closed"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("chan_misuse.cpp:"), std::string::npos) << r.err;
}

TEST(ChanAtExit, LatentMixedDeadlockIsPotential)
{
    TempDir dir("latent");
    RunResult r = ravelRun(dir.file("t.ravel"), { example("chan_latent_mixed") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("potential-deadlock"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("deadlock (certain)"), std::string::npos) << "the run was lucky\n" << r.err;
    nlohmann::json report = reportJson(dir.file("t.ravel"));
    const nlohmann::json* p = findingOfKind(report, "potential-deadlock");
    ASSERT_NE(p, nullptr) << report.dump(2);
    bool lock = false, channel = false;
    for (const nlohmann::json& o : (*p)["objects"]) {
        lock = lock || o["name"] == "config_lock";
        channel = channel || (o["kind"] == "channel" && o["name"] == "changes");
    }
    EXPECT_TRUE(lock && channel) << p->dump(2);
}

TEST(ChanLikely, PartialCycleIsWarnedNotKilledAndFailsTheRun)
{
    TempDir dir("partial");
    RunResult r = run({ ravelBinary(), "run", "-q", "--stall-timeout=400ms", "-o", dir.file("t.ravel"), "--",
                          helper("e2e_chan_partial_cycle") },
        withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    // Main ran to its end: the program was not ended for a likely deadlock.
    EXPECT_NE(r.out.find("main done after 75 ticks"), std::string::npos) << r.out << r.err;
    EXPECT_NE(r.err.find("deadlock (likely)"), std::string::npos) << r.err;
    for (const char* word : { "worker-a", "worker-b", "to_a", "to_b", "waits to send on", "assuming" })
        EXPECT_NE(r.err.find(word), std::string::npos) << "report does not mention " << word << "\n" << r.err;
    EXPECT_NE(r.err.find("still held when it exited"), std::string::npos) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
}
