// The runtime's options as a user sets them (`ravel run --stack-depth/--chunk-size/--flight-recorder
// /--stall-timeout`, or RAVEL_OPTIONS): each changes what the trace holds, checked in the trace
// itself, not only in the environment the program was given. Also `ravel dump`'s selections.
#include "e2e_util.hpp"

#include <ravel/trace_format.h>

#include <gtest/gtest.h>

using namespace ravel::e2e;

namespace {

std::string probe() { return helper("e2e_runtime_options"); }

RunResult ravelRunWith(const std::vector<std::string>& options, const std::vector<std::string>& program,
    RunOptions runOptions = withTimeout(60s))
{
    std::vector<std::string> argv { ravelBinary(), "run", "-q" };
    argv.insert(argv.end(), options.begin(), options.end());
    argv.push_back("--");
    argv.insert(argv.end(), program.begin(), program.end());
    return run(argv, runOptions);
}

struct DumpedEvent {
    std::string line;
    std::vector<std::string> frames;
};

// `ravel dump --stacks` parsed: each event line with the frame lines under it.
std::vector<DumpedEvent> dumpWithStacks(const std::string& trace)
{
    RunResult r = run({ ravelBinary(), "dump", "--stacks", trace });
    EXPECT_EQ(r.status, 0) << r.err;
    std::vector<DumpedEvent> events;
    std::istringstream in(r.out);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("        #", 0) == 0) {
            if (!events.empty())
                events.back().frames.push_back(line);
        } else if (!line.empty()) {
            events.push_back({ line, {} });
        }
    }
    return events;
}

// The frames of the acquisition of deep_lock (at the bottom of the recursion).
std::vector<std::string> deepLockFrames(const std::string& trace)
{
    for (const DumpedEvent& e : dumpWithStacks(trace))
        if (e.line.find("ACQUIRED") != std::string::npos && e.line.find("deep_lock") != std::string::npos)
            return e.frames;
    ADD_FAILURE() << "no acquisition of deep_lock in " << trace;
    return {};
}

size_t deepestStack(const std::string& trace)
{
    size_t most = 0;
    for (const DumpedEvent& e : dumpWithStacks(trace))
        most = std::max(most, e.frames.size());
    return most;
}

RavelFileHeader header(const std::string& trace)
{
    RavelFileHeader h {};
    std::string bytes = readFile(trace);
    EXPECT_GE(bytes.size(), sizeof h) << trace;
    if (bytes.size() >= sizeof h)
        std::memcpy(&h, bytes.data(), sizeof h);
    return h;
}

} // namespace

TEST(RuntimeOptions, StackDepthCapsEveryStackFromTheFlagOrRavelOptions)
{
    TempDir dir("stack-depth");
    const std::vector<std::string> deep { probe(), "deep", "60" };
    ASSERT_EQ(ravelRunWith({ "-o", dir.file("default.ravel") }, deep).status, 0);
    std::vector<std::string> frames = deepLockFrames(dir.file("default.ravel"));
    EXPECT_EQ(frames.size(), 32u) << "the default depth, for a stack 60 calls deep";
    ASSERT_FALSE(frames.empty());
    EXPECT_NE(frames[0].find("descend"), std::string::npos) << frames[0];

    ASSERT_EQ(ravelRunWith({ "-o", dir.file("five.ravel"), "--stack-depth", "5" }, deep).status, 0);
    EXPECT_EQ(deepLockFrames(dir.file("five.ravel")).size(), 5u);
    EXPECT_EQ(deepestStack(dir.file("five.ravel")), 5u) << "no stack of the trace is deeper";

    RunOptions env = withTimeout(60s);
    env.env = { "RAVEL_OPTIONS=stack_depth=3" };
    ASSERT_EQ(ravelRunWith({ "-o", dir.file("env.ravel") }, deep, env).status, 0);
    EXPECT_EQ(deepLockFrames(dir.file("env.ravel")).size(), 3u) << "RAVEL_OPTIONS reaches the runtime";
    ASSERT_EQ(ravelRunWith({ "-o", dir.file("both.ravel"), "--stack-depth", "12" }, deep, env).status, 0);
    EXPECT_EQ(deepLockFrames(dir.file("both.ravel")).size(), 12u) << "the command line wins over RAVEL_OPTIONS";
}

TEST(RuntimeOptions, SmallChunksLoseNothing)
{
    TempDir dir("chunk-size");
    ASSERT_EQ(ravelRunWith({ "-o", dir.file("small.ravel"), "--chunk-size", "4K" }, { probe(), "many", "30000" }).status, 0);
    EXPECT_EQ(header(dir.file("small.ravel")).chunk_size, 4096u);
    std::optional<nlohmann::json> info = infoJson(dir.file("small.ravel"));
    ASSERT_TRUE(info);
    EXPECT_EQ((*info)["warnings"].size(), 0u) << (*info)["warnings"].dump();
    EXPECT_EQ(count(findObject(*info, "busy_lock", "mutex"), "acquisitions"), 30000);
    EXPECT_EQ(count(findObject(*info, "last_lock", "mutex"), "acquisitions"), 1);

    ASSERT_EQ(ravelRunWith({ "-o", dir.file("default.ravel") }, { probe(), "many", "10" }).status, 0);
    EXPECT_EQ(header(dir.file("default.ravel")).chunk_size, 65536u) << "the documented default";
}

TEST(RuntimeOptions, FlightRecorderKeepsTheMostRecentEventsAndSaysItDroppedTheRest)
{
    TempDir dir("flight");
    const std::vector<std::string> busy { probe(), "many", "400000" };
    RunResult r = ravelRunWith({ "-o", dir.file("ring.ravel"), "--chunk-size", "4K", "--flight-recorder", "16K" }, busy);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(header(dir.file("ring.ravel")).flight_chunks, 4u) << "16K of 4K chunks a thread";

    std::optional<nlohmann::json> info = infoJson(dir.file("ring.ravel"));
    ASSERT_TRUE(info);
    int64_t kept = count(findObject(*info, "busy_lock", "mutex"), "acquisitions");
    EXPECT_GT(kept, 0);
    EXPECT_LT(kept, 400000 / 20) << "only the last chunks of the thread";
    EXPECT_EQ(count(findObject(*info, "last_lock", "mutex"), "acquisitions"), 1) << "the most recent events are kept";
    EXPECT_TRUE((*info)["ended"].get<bool>());
    bool said = false;
    for (const auto& w : (*info)["warnings"])
        said = said || w.get<std::string>().find("dropped by the flight recorder") != std::string::npos;
    EXPECT_TRUE(said) << (*info)["warnings"].dump();
}

TEST(RuntimeOptions, LikelyDeadlockWithASignalHandlerWaitsForTheStallTimeoutAndTheProgramRunsOn)
{
    // Both threads blocked, but a signal handler could post the semaphore (and does, after 1.5 s):
    // only likely, reported once it has lasted --stall-timeout, and never ended.
    TempDir dir("likely");
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRunWith({ "-o", dir.file("t.ravel"), "--stall-timeout=300ms" }, { probe(), "likely", "1500" });
    auto took = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 0) << "the threads woke up after all: the program's own status\n" << r.err;
    EXPECT_EQ(r.out, "woken by the handler\n");
    EXPECT_GE(took, 1500ms);
    EXPECT_NE(r.err.find("deadlock (likely)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("wake_up"), std::string::npos) << "the semaphore is named\n" << r.err;
    EXPECT_NE(r.err.find("the program keeps running"), std::string::npos) << r.err;
    std::optional<nlohmann::json> info = infoJson(dir.file("t.ravel"));
    ASSERT_TRUE(info);
    ASSERT_TRUE((*info)["watchdog"].is_object()) << info->dump(2);
    EXPECT_EQ((*info)["watchdog"]["verdict"], "likely");

    // The default stall timeout (3 s) outlasts the 1.5 s stall: nothing to say.
    r = ravelRunWith({ "-o", dir.file("quiet.ravel") }, { probe(), "likely", "1500" });
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << r.err;
}

TEST(DumpCli, ThreadLimitAndStacksSelectWhatIsPrinted)
{
    TempDir dir("dump");
    ASSERT_EQ(ravelRunWith({ "-o", dir.file("t.ravel") }, { example("counter_pthread"), "2", "100" }).status, 0);
    RunResult all = run({ ravelBinary(), "dump", dir.file("t.ravel") });
    ASSERT_EQ(all.status, 0) << all.err;
    size_t total = countLines(all.out);
    EXPECT_GT(total, 400u) << "2 x 100 lock/unlock pairs at least";

    RunResult limited = run({ ravelBinary(), "dump", "--limit", "7", dir.file("t.ravel") });
    ASSERT_EQ(limited.status, 0) << limited.err;
    EXPECT_EQ(countLines(limited.out), 7u);
    EXPECT_EQ(all.out.rfind(limited.out, 0), 0u) << "the first 7 events of the whole dump";

    for (const std::string& thread : { std::string("2"), std::string("T3") }) {
        RunResult one = run({ ravelBinary(), "dump", "--thread", thread, dir.file("t.ravel") });
        ASSERT_EQ(one.status, 0) << one.err;
        std::string tag = thread[0] == 'T' ? " " + thread + " " : " T" + thread + " ";
        std::istringstream in(one.out);
        size_t n = 0;
        for (std::string line; std::getline(in, line); n++)
            EXPECT_NE(line.find(tag), std::string::npos) << line;
        EXPECT_GT(n, 200u) << "a worker's 100 pairs and more";
        EXPECT_LT(n, total);
    }
    RunResult stacks = run({ ravelBinary(), "dump", "--stacks", "--limit", "3", dir.file("t.ravel") });
    ASSERT_EQ(stacks.status, 0) << stacks.err;
    EXPECT_GT(countLines(stacks.out), 3u);
    EXPECT_NE(stacks.out.find("        #0  0x"), std::string::npos) << stacks.out;
    EXPECT_NE(stacks.out.find("counter_pthread.c:"), std::string::npos) << stacks.out;

    RunResult bad = run({ ravelBinary(), "dump", "--thread", "T99", dir.file("t.ravel") });
    EXPECT_EQ(bad.status, 1);
    EXPECT_EQ(countLines(bad.err), 1u) << bad.err;
    EXPECT_NE(bad.err.find("T99"), std::string::npos) << bad.err;
    EXPECT_EQ(bad.out, "");
}
