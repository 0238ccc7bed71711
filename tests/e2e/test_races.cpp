// Data races end to end: real programs built with the real ravel-cc / ravel-c++ of this tree, run
// under the real `ravel run` (race mode), and on their own. A racy program exits 66 with the
// variable named; a race-free one exits with its own status and no data-race finding.
#include "e2e_util.hpp"

#include <set>

using namespace ravel::e2e;

namespace {

#ifndef RAVEL_RACE_PROGRAMS
#error "RAVEL_RACE_PROGRAMS (the instrumented test programs) must be defined by the build"
#endif

std::string raceProgram(const std::string& name) { return (fs::path(RAVEL_RACE_PROGRAMS) / name).string(); }

struct RaceRun {
    RunResult run;
    nlohmann::json report;
    std::vector<nlohmann::json> races;
};

class Races : public ::testing::Test {
protected:
    TempDir dir { "races" };

    RaceRun runUnderRavel(const std::string& program)
    {
        RaceRun r;
        std::string trace = dir.file(fs::path(program).filename().string() + ".ravel");
        r.run = ravelRun(trace, { program }, withTimeout(120s));
        RunResult rep = run({ ravelBinary(), "report", "--format", "json", trace });
        EXPECT_TRUE(rep.status == 0 || rep.status == 66) << rep.err;
        r.report = nlohmann::json::parse(rep.out, nullptr, false);
        if (r.report.is_object())
            for (const auto& f : r.report["findings"])
                if (f["kind"] == "data-race")
                    r.races.push_back(f);
        return r;
    }

    // The program on its own (the hooks library's do-nothing hooks): runs, and exits as it should.
    void runsAlone(const std::string& program, int status = 0)
    {
        RunResult alone = run({ program }, withTimeout(60s));
        EXPECT_EQ(alone.status, status) << program << " alone\n" << alone.err;
        EXPECT_EQ(alone.err.find("ravel"), std::string::npos) << alone.err;
    }

    void expectRaceOn(const std::string& program, const std::string& variable)
    {
        RaceRun r = runUnderRavel(program);
        EXPECT_EQ(r.run.status, 66) << r.run.err;
        EXPECT_NE(r.run.err.find("data-race"), std::string::npos) << r.run.err;
        ASSERT_FALSE(r.races.empty()) << r.report.dump(2);
        bool named = false;
        for (const auto& f : r.races)
            named = named || f["variable"].get<std::string>().find(variable) != std::string::npos;
        EXPECT_TRUE(named) << "no race names " << variable << ":\n" << r.races[0].dump(2);
        const auto& acc = r.races[0]["accesses"];
        ASSERT_EQ(acc.size(), 2u);
        EXPECT_NE(acc[0]["thread"], acc[1]["thread"]);
        EXPECT_TRUE(acc[0]["op"] == "write" || acc[1]["op"] == "write") << "a race needs a write";
        EXPECT_FALSE(acc[0]["stack"].empty());
        EXPECT_FALSE(acc[1]["stack"].empty());
        runsAlone(program);
    }

    void expectNoRace(const std::string& program)
    {
        RaceRun r = runUnderRavel(program);
        EXPECT_EQ(r.run.status, 0) << r.run.err;
        EXPECT_TRUE(r.races.empty()) << r.races[0].dump(2);
        EXPECT_EQ(r.run.err.find("data-race"), std::string::npos) << r.run.err;
        runsAlone(program);
    }
};

TEST_F(Races, RacyCounterExits66AndNamesTheGlobal)
{
    RaceRun r = runUnderRavel(example("racy_counter"));
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_FALSE(r.races.empty());
    EXPECT_EQ(r.races[0]["variable"], "hits");
    // The text report at exit names the variable, both accesses and where the threads came from.
    EXPECT_NE(r.run.err.find("(hits) by T"), std::string::npos) << r.run.err;
    EXPECT_NE(r.run.err.find("racy_counter.c:"), std::string::npos) << r.run.err;
    EXPECT_NE(r.run.err.find("was created by T1 at"), std::string::npos) << r.run.err;
    EXPECT_NE(r.run.err.find("SUMMARY: data-race in count"), std::string::npos) << r.run.err;
    // One report per distinct pair of sites, however often they raced.
    std::set<std::string> pairs;
    for (const auto& f : r.races)
        pairs.insert(f["accesses"][0]["stack"][0]["address"].get<std::string>() + "/"
                     + f["accesses"][1]["stack"][0]["address"].get<std::string>());
    EXPECT_EQ(pairs.size(), r.races.size());
    runsAlone(example("racy_counter"));
}

TEST_F(Races, RelaxedFlagPublicationRacesOnThePayload) { expectRaceOn(example("relaxed_flag"), "payload"); }

TEST_F(Races, ReleaseAcquirePublicationDoesNotRace) { expectNoRace(example("relaxed_flag_fixed")); }

TEST_F(Races, VectorPushBackFromTwoThreadsRaces) { expectRaceOn(example("racy_vector"), "names"); }

TEST_F(Races, HeapBlockRaceIsFound)
{
    RaceRun r = runUnderRavel(raceProgram("heap_race"));
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_FALSE(r.races.empty()) << r.report.dump(2);
    EXPECT_NE(r.run.err.find("heap_race.c:"), std::string::npos) << r.run.err;
    runsAlone(raceProgram("heap_race"));
}

TEST_F(Races, NeighbouringBytesOfAStructDoNotRace) { expectNoRace(raceProgram("struct_bytes")); }
TEST_F(Races, CreateAndJoinOrderAccesses) { expectNoRace(raceProgram("create_join")); }
TEST_F(Races, MutexProtectedCounterDoesNotRace) { expectNoRace(raceProgram("mutex_counter")); }
TEST_F(Races, CondvarWithPredicateDoesNotRace) { expectNoRace(raceProgram("condvar_pred")); }
TEST_F(Races, BarrierPhasesDoNotRace) { expectNoRace(raceProgram("barrier_phases")); }
TEST_F(Races, SemaphoreHandoffDoesNotRace) { expectNoRace(raceProgram("semaphore_handoff")); }
TEST_F(Races, FreedAndReusedHeapStartsClean) { expectNoRace(raceProgram("heap_reuse")); }

TEST_F(Races, MemcpyAgainstReadsRaces) { expectRaceOn(raceProgram("memcpy_race"), "current"); }
TEST_F(Races, LocalWhoseAddressEscapesRaces) { expectRaceOn(raceProgram("escaped_local"), "a local variable on T1's stack"); }
TEST_F(Races, WriterThatForgetsTheLockRaces) { expectRaceOn(raceProgram("forgot_lock"), "balance"); }

// The report says which locks each racing access held, from the thread's own program order (the
// report's model keeps no spans to ask): the careless writer none, the careful one balance_lock.
TEST_F(Races, TheRacingAccessSaysWhichLocksItHeld)
{
    for (const char* program : { "forgot_lock", "locked_second" }) {
        RaceRun r = runUnderRavel(raceProgram(program));
        EXPECT_EQ(r.run.status, 66) << r.run.err;
        ASSERT_FALSE(r.races.empty()) << r.report.dump(2);
        bool sawCareful = false;
        for (const auto& race : r.races) {
            const auto& cur = race["accesses"][0];
            ASSERT_FALSE(cur["stack"].empty()) << race.dump(2);
            const std::string fn = cur["stack"][0]["function"];
            std::vector<std::string> heldNames;
            for (const auto& id : cur["held"])
                for (const auto& o : race["objects"])
                    if (o["id"] == id)
                        heldNames.push_back(o["name"]);
            if (fn == "careful") {
                sawCareful = true;
                EXPECT_EQ(heldNames, std::vector<std::string> { "balance_lock" }) << race.dump(2);
            } else {
                EXPECT_TRUE(heldNames.empty()) << race.dump(2);
            }
        }
        if (std::string(program) == "locked_second") {
            EXPECT_TRUE(sawCareful) << r.report.dump(2);
        }
        if (sawCareful) {
            EXPECT_NE(r.run.err.find("holding mutex balance_lock"), std::string::npos) << r.run.err;
        }
    }
}

TEST_F(Races, OneByteOfAStructRacesAndTheMemberIsNamed) { expectRaceOn(raceProgram("struct_byte_race"), "status.code"); }
TEST_F(Races, DoubleCheckedLockingWithAPlainPointerRaces) { expectRaceOn(raceProgram("dcl"), "instance"); }
TEST_F(Races, StrcpyAgainstStrlenInsideLibcRaces)
{
    RaceRun r = runUnderRavel(raceProgram("libc_string_race"));
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_FALSE(r.races.empty()) << r.report.dump(2);
    EXPECT_NE(r.races[0]["variable"].get<std::string>().find("label"), std::string::npos) << r.races[0].dump(2);
    // Both sites are the program's calls, not the wrappers inside libravel_hooks.so.
    for (const auto& a : r.races[0]["accesses"]) {
        ASSERT_FALSE(a["stack"].empty());
        std::string fn = a["stack"][0]["function"];
        EXPECT_TRUE(fn == "main" || fn == "rename_loop") << a.dump(2);
    }
    runsAlone(raceProgram("libc_string_race"));
}

TEST_F(Races, RwlockReadersAndWriterDoNotRace) { expectNoRace(raceProgram("rwlock_ok")); }
TEST_F(Races, PthreadOnceInitializationDoesNotRace) { expectNoRace(raceProgram("once_ok")); }
TEST_F(Races, ChannelHandoffDoesNotRace) { expectNoRace(raceProgram("chan_ok")); }
TEST_F(Races, StaticLocalInitializationDoesNotRace) { expectNoRace(raceProgram("static_local_ok")); }

TEST_F(Races, SuppressionsSilenceARaceByFunctionOrVariable)
{
    std::string trace = dir.file("supp.ravel");
    RunResult rec = ravelRun(trace, { example("racy_counter") }, withTimeout(60s));
    ASSERT_EQ(rec.status, 66) << rec.err;
    for (const std::string rule : { "data-race:hits", "data-race:count", "*:racy_counter.c" }) {
        std::string supp = dir.file("supp.txt");
        std::ofstream(supp) << rule << "\n";
        RunResult r = run({ ravelBinary(), "report", "--suppressions", supp, trace });
        EXPECT_EQ(r.status, 0) << rule << "\n" << r.out << r.err;
        EXPECT_EQ(r.out.find("data-race"), std::string::npos) << rule << "\n" << r.out;
        EXPECT_NE(r.err.find("suppressed"), std::string::npos) << rule << "\n" << r.err;
    }
    // A rule for another variable leaves it.
    std::string supp = dir.file("other.txt");
    std::ofstream(supp) << "data-race:other_variable\n";
    RunResult r = run({ ravelBinary(), "report", "--suppressions", supp, trace });
    EXPECT_EQ(r.status, 66) << r.out << r.err;
    // And through RAVEL_OPTIONS.
    RunOptions o;
    o.env.push_back("RAVEL_OPTIONS=suppressions=" + dir.file("supp.txt"));
    RunResult viaEnv = run({ ravelBinary(), "report", trace }, o);
    EXPECT_EQ(viaEnv.status, 0) << viaEnv.out << viaEnv.err;
}

TEST_F(Races, RacesDisabledByOptionRunsWithoutRaceMode)
{
    std::string trace = dir.file("off.ravel");
    RunOptions o = withTimeout(60s);
    o.env.push_back("RAVEL_OPTIONS=races=0");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", example("racy_counter") }, o);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_NE(r.err.find("no data-race detection"), std::string::npos) << r.err;
}

TEST_F(Races, UninstrumentedProgramSaysOnceThatNoRaceDetectionRan)
{
    std::string trace = dir.file("plain.ravel");
    RunResult r = run({ ravelBinary(), "run", "-o", trace, "--", example("counter_pthread") }, withTimeout(60s));
    EXPECT_EQ(r.status, 0) << r.err;
    size_t at = r.err.find("no data-race detection (build with ravel-cc / ravel-c++");
    EXPECT_NE(at, std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("no data-race detection", at + 1), std::string::npos) << "said once: " << r.err;
}

TEST_F(Races, WrapperCompilesAndLinksInSeparateStepsWithUninstrumentedObjects)
{
    // Mixing: an object built by plain clang (no hooks) linked with one built by ravel-cc.
    std::string plainSrc = dir.file("plain.c"), racySrc = dir.file("main.c");
    std::ofstream(plainSrc) << "long shared;\nvoid bump(void) { shared++; }\n";
    std::ofstream(racySrc) << "#include <pthread.h>\nextern long shared; void bump(void);\n"
                              "static void* w(void* a) { (void)a; for (int i = 0; i < 1000; i++) shared++; return 0; }\n"
                              "int main(void) { pthread_t t; pthread_create(&t, 0, w, 0); bump();\n"
                              "  for (int i = 0; i < 1000; i++) shared++; pthread_join(t, 0); return 0; }\n";
    std::string cc = (binDir() / "ravel-cc").string();
    RunResult c1 = run({ "clang-19", "-O1", "-c", plainSrc, "-o", dir.file("plain.o") });
    ASSERT_EQ(c1.status, 0) << c1.err;
    RunResult c2 = run({ cc, "-O1", "-c", racySrc, "-o", dir.file("main.o") });
    ASSERT_EQ(c2.status, 0) << c2.err;
    RunResult ld = run({ cc, dir.file("main.o"), dir.file("plain.o"), "-o", dir.file("mixed") });
    ASSERT_EQ(ld.status, 0) << ld.err;
    runsAlone(dir.file("mixed"));
    RaceRun r = runUnderRavel(dir.file("mixed"));
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_FALSE(r.races.empty());
    EXPECT_EQ(r.races[0]["variable"], "shared");
}

TEST_F(Races, BuildsAtO0AndAsNonPieFindTheRaceToo)
{
    std::string cc = (binDir() / "ravel-cc").string();
    std::string src = std::string(RAVEL_SOURCE_DIR) + "/examples/racy_counter.c";
    struct Build {
        std::string name;
        std::vector<std::string> flags;
    };
    for (const Build& b : { Build { "o0", { "-O0" } }, Build { "nopie", { "-O1", "-fno-pie", "-no-pie" } },
                            Build { "o2", { "-O2" } } }) {
        std::vector<std::string> argv { cc };
        argv.insert(argv.end(), b.flags.begin(), b.flags.end());
        argv.insert(argv.end(), { src, "-o", dir.file(b.name) });
        RunResult c = run(argv);
        ASSERT_EQ(c.status, 0) << b.name << ": " << c.err;
        runsAlone(dir.file(b.name));
        RaceRun r = runUnderRavel(dir.file(b.name));
        EXPECT_EQ(r.run.status, 66) << b.name << ": " << r.run.err;
        ASSERT_FALSE(r.races.empty()) << b.name;
        EXPECT_EQ(r.races[0]["variable"], "hits") << b.name;
    }
}

TEST_F(Races, ExceptionsThroughInstrumentedFramesKeepStacksRight)
{
    // A function left by an exception has no exit hook call: the shadow stack must heal, so the
    // racing access's stack names its real callers, not frames that were unwound.
    std::string src = dir.file("throws.cpp");
    std::ofstream(src) << R"(#include <stdexcept>
#include <thread>
long shared;
__attribute__((noinline)) void deep(int n) { if (n == 0) throw std::runtime_error("x"); deep(n - 1); }
__attribute__((noinline)) void racer() { for (int i = 0; i < 1000; i++) shared++; }
__attribute__((noinline)) void worker() {
    for (int i = 0; i < 20; i++) { try { deep(5); } catch (const std::exception&) {} }
    racer();
    asm volatile(""); // not a tail call: worker stays on the stack
}
int main() { std::thread a(worker), b(worker); a.join(); b.join(); return 0; }
)";
    RunResult c = run({ (binDir() / "ravel-c++").string(), "-O1", src, "-o", dir.file("throws") });
    ASSERT_EQ(c.status, 0) << c.err;
    runsAlone(dir.file("throws"));
    RaceRun r = runUnderRavel(dir.file("throws"));
    EXPECT_EQ(r.run.status, 66) << r.run.err;
    ASSERT_FALSE(r.races.empty());
    const auto& stack = r.races[0]["accesses"][0]["stack"];
    ASSERT_GE(stack.size(), 2u) << stack.dump(2);
    EXPECT_NE(stack[0]["function"].get<std::string>().find("racer"), std::string::npos) << stack.dump(2);
    EXPECT_NE(stack[1]["function"].get<std::string>().find("worker"), std::string::npos) << stack.dump(2);
    for (const auto& fr : stack)
        EXPECT_EQ(fr["function"].get<std::string>().find("deep"), std::string::npos) << "an unwound frame: "
                                                                                       << stack.dump(2);
}

} // namespace
