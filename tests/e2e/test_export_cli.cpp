// `ravel export --perfetto` on traces of real programs recorded with `ravel run`: the JSON that
// ui.perfetto.dev opens, checked for what a person would look for there (the dining philosophers
// blocked on their forks while holding the others, the latent ABBA's potential deadlock, every
// lock hold of a bank, handoff arrows that join a release to the acquisition it enabled), and one
// clear line for every bad request. Also `ravel gui`, which hands its arguments to ravel-gui.
#include "e2e_util.hpp"

#include <map>
#include <set>
#include <tuple>

using namespace ravel::e2e;
using nlohmann::json;

namespace {

// ts and dur are microseconds with three decimals: back to integer nanoseconds.
uint64_t ns(const json& v)
{
    return uint64_t(v.get<double>() * 1000 + 0.5);
}

std::vector<json> byPhase(const json& events, const std::string& ph)
{
    std::vector<json> out;
    for (const json& e : events)
        if (e.at("ph") == ph)
            out.push_back(e);
    return out;
}

// The three programs are recorded once for the whole suite: each run takes a while under a loaded
// machine, and the export tests only read the traces.
class ExportCli : public ::testing::Test {
protected:
    static void SetUpTestSuite()
    {
        s_dir = new TempDir("export");
        RunResult d = ravelRun(s_dir->file("dining.ravel"), { example("dining"), "5" }, withTimeout(60s));
        ASSERT_EQ(d.status, 66) << d.err;
        RunResult l = ravelRun(s_dir->file("latent.ravel"), { example("latent_abba") }, withTimeout(60s));
        ASSERT_EQ(l.status, 66) << l.err;
        RunResult b = ravelRun(s_dir->file("bank.ravel"), { example("bank_std"), "4", "5000" }, withTimeout(120s));
        ASSERT_EQ(b.status, 0) << b.err;
    }
    static void TearDownTestSuite()
    {
        delete s_dir;
        s_dir = nullptr;
    }
    static std::string trace(const std::string& name) { return s_dir->file(name + ".ravel"); }

    static RunResult exportCmd(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv { ravelBinary(), "export" };
        argv.insert(argv.end(), args.begin(), args.end());
        return run(argv, withTimeout(120s));
    }
    // Exports `name` to a file and returns its trace events.
    static json exported(const std::string& name)
    {
        std::string out = s_dir->file(name + ".json");
        RunResult r = exportCmd({ trace(name), "--perfetto", "-o", out });
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, "") << "quiet unless asked";
        json doc = json::parse(readFile(out));
        return doc.at("traceEvents");
    }

    // What a viewer needs of every export: a named track for every thread of `ravel info`, blocked
    // slices that do not go back in time on a track, holds that end once, flows that pair up.
    static void expectWellFormed(const json& events, const std::string& name)
    {
        std::optional<json> info = infoJson(trace(name));
        ASSERT_TRUE(info);
        std::map<uint64_t, std::string> names;
        for (const json& m : byPhase(events, "M"))
            if (m.at("name") == "thread_name")
                names[m.at("tid")] = m.at("args").at("name");
        EXPECT_EQ(names.size(), info->at("threads").size());
        for (const json& t : info->at("threads")) {
            ASSERT_TRUE(names.count(t.at("os_tid"))) << t.dump();
            std::string label = names[t.at("os_tid")], id = "T" + std::to_string(t.at("id").get<int>());
            EXPECT_TRUE(label == id || label.rfind(id + " ", 0) == 0) << label;
        }
        std::map<uint64_t, uint64_t> lastStart;
        for (const json& x : byPhase(events, "X")) {
            uint64_t tid = x.at("tid"), ts = ns(x.at("ts"));
            EXPECT_GE(ts, lastStart[tid]) << x.dump();
            lastStart[tid] = ts;
        }
        std::map<uint64_t, uint64_t> begun;
        for (const json& b : byPhase(events, "b"))
            EXPECT_TRUE(begun.emplace(b.at("id").get<uint64_t>(), ns(b.at("ts"))).second);
        size_t ended = 0;
        for (const json& e : byPhase(events, "e")) {
            ASSERT_TRUE(begun.count(e.at("id"))) << e.dump();
            EXPECT_GE(ns(e.at("ts")), begun[e.at("id")]);
            ended++;
        }
        EXPECT_EQ(ended, begun.size());
        std::map<uint64_t, json> starts;
        for (const json& s : byPhase(events, "s"))
            starts[s.at("id")] = s;
        std::vector<json> finishes = byPhase(events, "f");
        EXPECT_EQ(finishes.size(), starts.size());
        for (const json& f : finishes) {
            ASSERT_TRUE(starts.count(f.at("id"))) << f.dump();
            EXPECT_GE(ns(f.at("ts")), ns(starts[f.at("id")].at("ts")));
        }
    }

    static TempDir* s_dir;
};

TempDir* ExportCli::s_dir = nullptr;

} // namespace

TEST_F(ExportCli, DiningPhilosophersBlockOnTheNextForkWhileHoldingTheirOwn)
{
    json events = exported("dining");
    expectWellFormed(events, "dining");

    // Each philosopher waits on one fork until the end and holds another: forks[0..4] both ways.
    std::set<std::string> waitedOn, held;
    std::set<uint64_t> blockedThreads;
    uint64_t end = 0;
    std::vector<json> stuck;
    for (const json& x : byPhase(events, "X")) {
        std::string name = x.at("name");
        if (x.at("cat") != "blocked" || name.rfind("lock forks[", 0) != 0)
            continue;
        EXPECT_EQ(x.at("args").at("outcome"), "still blocked when the trace ended") << x.dump();
        waitedOn.insert(name.substr(5));
        blockedThreads.insert(x.at("tid").get<uint64_t>());
        end = std::max(end, ns(x.at("ts")) + ns(x.at("dur")));
        stuck.push_back(x);
    }
    for (const json& b : byPhase(events, "b")) {
        EXPECT_EQ(b.at("cat"), "lock");
        if (b.at("args").contains("held when the trace ended"))
            held.insert(b.at("name"));
    }
    std::set<std::string> forks;
    for (int i = 0; i < 5; i++)
        forks.insert("forks[" + std::to_string(i) + "]");
    EXPECT_EQ(waitedOn, forks);
    EXPECT_EQ(held, forks);
    EXPECT_EQ(blockedThreads.size(), 5u) << "five philosophers, one wait each";
    // The waits run to the end of the run: the watchdog saw them still blocked.
    for (const json& x : stuck)
        EXPECT_EQ(ns(x.at("ts")) + ns(x.at("dur")), end) << x.dump();
    EXPECT_GT(end, 100'000'000u) << "the watchdog's verdict comes ~150 ms after the cycle closes";

    std::vector<json> instants = byPhase(events, "i");
    ASSERT_EQ(instants.size(), 1u);
    EXPECT_EQ(instants[0].at("name"), "deadlock (certain)");
    EXPECT_EQ(instants[0].at("s"), "g");
    EXPECT_LT(ns(instants[0].at("ts")), end);
    for (const std::string& f : forks)
        EXPECT_NE(instants[0].at("args").at("objects").get<std::string>().find(f), std::string::npos);

    std::vector<std::string> processes;
    for (const json& m : byPhase(events, "M"))
        if (m.at("name") == "process_name")
            processes.push_back(m.at("args").at("name"));
    EXPECT_EQ(processes, std::vector<std::string> { "dining" });
}

TEST_F(ExportCli, LatentAbbaShowsBothAccountsHeldAndThePotentialDeadlock)
{
    json events = exported("latent");
    expectWellFormed(events, "latent");
    std::map<std::string, size_t> holds;
    for (const json& b : byPhase(events, "b"))
        holds[b.at("name")]++;
    EXPECT_EQ(holds["account_a"], 2u);
    EXPECT_EQ(holds["account_b"], 2u);
    std::vector<json> instants = byPhase(events, "i");
    ASSERT_GE(instants.size(), 1u);
    EXPECT_EQ(instants[0].at("name"), "potential-deadlock");
    std::string objects = instants[0].at("args").at("objects");
    EXPECT_NE(objects.find("account_a"), std::string::npos) << objects;
    EXPECT_NE(objects.find("account_b"), std::string::npos) << objects;

    // --no-findings leaves the instants out, and nothing else.
    std::string out = s_dir->file("latent-nofindings.json");
    RunResult r = exportCmd({ trace("latent"), "--perfetto", "--no-findings", "-o", out });
    ASSERT_EQ(r.status, 0) << r.err;
    json bare = json::parse(readFile(out)).at("traceEvents");
    EXPECT_TRUE(byPhase(bare, "i").empty());
    EXPECT_EQ(bare.size(), events.size() - instants.size());
}

TEST_F(ExportCli, BankHoldsEveryAcquisitionAndHandoffsJoinReleaseToAcquisition)
{
    json events = exported("bank");
    expectWellFormed(events, "bank");
    std::optional<json> info = infoJson(trace("bank"));
    ASSERT_TRUE(info);
    std::map<std::string, size_t> holds;
    for (const json& b : byPhase(events, "b"))
        holds[b.at("name")]++;
    size_t accounts = 0, contended = 0;
    for (const json& o : info->at("objects")) {
        if (o.at("kind") != "mutex")
            continue;
        accounts++;
        EXPECT_EQ(holds[o.at("name")], o.at("acquisitions").get<size_t>()) << o.at("name");
        contended += o.at("contended").get<size_t>();
    }
    EXPECT_EQ(accounts, 8u);

    // A handoff arrow leaves one thread at a release and lands on another at the end of its wait.
    std::map<std::pair<uint64_t, uint64_t>, std::string> acquiredAt; // (tid, end) -> outcome
    for (const json& x : byPhase(events, "X"))
        if (x.at("cat") == "blocked")
            acquiredAt[{ x.at("tid"), ns(x.at("ts")) + ns(x.at("dur")) }] = x.at("args").at("outcome");
    std::map<uint64_t, json> starts;
    for (const json& s : byPhase(events, "s"))
        starts[s.at("id")] = s;
    std::vector<json> finishes = byPhase(events, "f");
    EXPECT_LE(finishes.size(), contended);
    for (const json& f : finishes) {
        EXPECT_NE(f.at("tid"), starts[f.at("id")].at("tid"));
        EXPECT_EQ((acquiredAt[{ f.at("tid"), ns(f.at("ts")) }]), "acquired") << f.dump();
    }
    std::printf("bank: %zu holds, %zu contended acquisitions, %zu handoff flows\n", byPhase(events, "b").size(),
        contended, finishes.size());

    // `-o -` writes the same document to stdout.
    RunResult r = exportCmd({ trace("bank"), "--perfetto", "-o", "-" });
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, readFile(s_dir->file("bank.json")));
}

TEST_F(ExportCli, ChannelMessagesAreFlowsFromSendToReceive)
{
    // 300 numbers through `jobs` to the workers, 300 squares through `results` to the collector.
    RunResult rec = ravelRun(trace("chan"), { example("chan_pipeline"), "300", "3" }, withTimeout(60s));
    ASSERT_EQ(rec.status, 0) << rec.err;
    json events = exported("chan");
    expectWellFormed(events, "chan");
    std::map<uint64_t, json> sends;
    for (const json& s : byPhase(events, "s"))
        if (s.at("name") == "message")
            sends[s.at("id")] = s;
    EXPECT_EQ(sends.size(), 600u);
    std::map<std::string, size_t> received; // marker name -> count
    std::set<std::tuple<uint64_t, uint64_t, std::string>> markers;
    for (const json& x : byPhase(events, "X")) {
        if (x.at("cat") != "chan")
            continue;
        markers.emplace(x.at("tid"), ns(x.at("ts")), x.at("name"));
        std::string name = x.at("name");
        if (name.rfind("received from ", 0) == 0)
            received[name.substr(14)]++;
    }
    EXPECT_EQ(received["jobs"], 300u);
    EXPECT_EQ(received["results"], 300u);
    for (const json& f : byPhase(events, "f")) {
        if (f.at("name") != "message")
            continue;
        const json& s = sends.at(f.at("id"));
        // The arrow leaves a "sent on C" marker and lands on a "received from C" one.
        bool fromSend = false, toReceive = false;
        for (const std::string c : { "jobs", "results" }) {
            fromSend = fromSend || markers.count({ s.at("tid"), ns(s.at("ts")), "sent on " + c });
            toReceive = toReceive || markers.count({ f.at("tid"), ns(f.at("ts")), "received from " + c });
        }
        EXPECT_TRUE(fromSend && toReceive) << s.dump() << " -> " << f.dump();
    }
}

TEST_F(ExportCli, BadRequestsGetOneLineAndLeaveNoFile)
{
    TempDir dir("export-bad");
    std::string out = dir.file("out.json");

    RunResult missing = exportCmd({ dir.file("none.ravel"), "--perfetto", "-o", out });
    EXPECT_EQ(missing.status, 1);
    EXPECT_EQ(countLines(missing.err), 1u) << missing.err;
    EXPECT_NE(missing.err.find("none.ravel"), std::string::npos) << missing.err;
    EXPECT_FALSE(fs::exists(out));

    writeFile(dir.file("junk.ravel"), "this is not a trace, only some text that is long enough\n");
    RunResult junk = exportCmd({ dir.file("junk.ravel"), "--perfetto", "-o", out });
    EXPECT_EQ(junk.status, 1);
    EXPECT_EQ(countLines(junk.err), 1u) << junk.err;
    EXPECT_NE(junk.err.find("junk.ravel"), std::string::npos) << junk.err;
    EXPECT_FALSE(fs::exists(out));

    RunResult unwritable = exportCmd({ trace("dining"), "--perfetto", "-o", dir.file("no/such/dir/out.json") });
    EXPECT_EQ(unwritable.status, 1);
    EXPECT_EQ(countLines(unwritable.err), 1u) << unwritable.err;
    EXPECT_NE(unwritable.err.find("cannot write"), std::string::npos) << unwritable.err;

    // A failed export keeps the file it would have replaced.
    writeFile(out, "old");
    RunResult noFormat = exportCmd({ trace("dining"), "-o", out });
    EXPECT_EQ(noFormat.status, 2);
    EXPECT_EQ(countLines(noFormat.err), 1u) << noFormat.err;
    EXPECT_NE(noFormat.err.find("--perfetto"), std::string::npos) << noFormat.err;
    EXPECT_EQ(readFile(out), "old");

    RunResult noOutput = exportCmd({ trace("dining"), "--perfetto" });
    EXPECT_EQ(noOutput.status, 2);
    EXPECT_EQ(countLines(noOutput.err), 1u) << noOutput.err;

    // Nothing is left beside the output either (the temporary it was written to).
    size_t files = 0;
    for (const auto& entry : fs::directory_iterator(dir.path()))
        files += entry.is_regular_file();
    EXPECT_EQ(files, 2u) << "junk.ravel and out.json only";
}

TEST(GuiCli, HandsTheTraceAndItsArgumentsToRavelGuiBesideIt)
{
    TempDir dir("gui");
    fs::copy_file(ravelBinary(), dir.file("ravel"));
    fs::permissions(dir.file("ravel"), fs::perms::owner_all, fs::perm_options::add);
    // A stand-in for the Qt program, so the test needs no display: it says what it got.
    writeFile(dir.file("ravel-gui"), "#!/bin/sh\nfor a in \"$@\"; do printf '%s|' \"$a\"; done\nexit 7\n");
    fs::permissions(dir.file("ravel-gui"), fs::perms::owner_all, fs::perm_options::add);

    RunResult r = run({ dir.file("ravel"), "gui", "t.ravel", "--theme", "dark x" });
    EXPECT_EQ(r.status, 7) << r.err << "the GUI's exit status is ravel's";
    EXPECT_EQ(r.out, "t.ravel|--theme|dark x|");
    EXPECT_EQ(r.err, "");

    RunResult bare = run({ dir.file("ravel"), "gui" });
    EXPECT_EQ(bare.status, 7) << bare.err;
    EXPECT_EQ(bare.out, "");
}

TEST(GuiCli, WithoutRavelGuiSaysSoInOneLine)
{
    if (fs::exists("/usr/local/bin/ravel-gui"))
        GTEST_SKIP() << "an installed ravel-gui would be found";
    TempDir dir("gui-missing");
    fs::copy_file(ravelBinary(), dir.file("ravel"));
    RunResult r = run({ dir.file("ravel"), "gui", "t.ravel" });
    EXPECT_EQ(r.status, 2);
    EXPECT_EQ(countLines(r.err), 1u) << r.err;
    EXPECT_NE(r.err.find("cannot find ravel-gui"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(dir.path().string()), std::string::npos) << "says where it looked: " << r.err;
}
