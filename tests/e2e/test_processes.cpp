// Processes: every process of a run is recorded (forks, posix_spawn, vfork, system, popen, every
// exec, a clean environment), one run is read as one (ravel info's process table, ravel report),
// and the live watchdog watches each of them: a deadlock in a forked child or after an exec is
// reported while the program hangs, with the process that deadlocked.
#include "e2e_util.hpp"

#include <map>
#include <set>
#include <sstream>
#include <thread>

using namespace ravel::e2e;

namespace {

std::vector<std::string> splitLines(const std::string& text)
{
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        out.push_back(line);
    return out;
}

// processes[] of `ravel info --json`, by pid.
std::map<int, nlohmann::json> processesByPid(const nlohmann::json& info)
{
    std::map<int, nlohmann::json> byPid;
    for (const auto& p : info.at("processes"))
        byPid[p.at("pid").get<int>()] = p;
    return byPid;
}

std::string baseName(const std::string& path) { return fs::path(path).filename().string(); }

} // namespace

TEST(Processes, DeadlockInAForkedChildIsReportedLiveWithTheChildsPid)
{
    TempDir dir("forkdl");
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("f.ravel"), { helper("e2e_fork_deadlock") }, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r.timedOut) << "ravel hung with the child\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_LT(elapsed, 10s) << r.err;
    auto out = splitLines(r.out);
    ASSERT_GE(out.size(), 1u) << r.out;
    int child = 0;
    ASSERT_EQ(std::sscanf(out[0].c_str(), "child %d", &child), 1) << r.out;
    EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("in pid " + std::to_string(child) + " ("), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("child_a"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("child_b"), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find("child ended"), std::string::npos) << "the run was not ended: " << r.out;

    // After the fact, `ravel report` on the main trace finds it in the child's trace too.
    RunResult report = run({ ravelBinary(), "report", dir.file("f.ravel") });
    EXPECT_EQ(report.status, 66) << report.err;
    EXPECT_NE(report.out.find("in pid " + std::to_string(child)), std::string::npos) << report.out;
    RunResult json = run({ ravelBinary(), "report", "--format", "json", dir.file("f.ravel") });
    EXPECT_EQ(json.status, 66) << json.err;
    auto doc = nlohmann::json::parse(json.out, nullptr, false);
    ASSERT_FALSE(doc.is_discarded()) << json.out;
    bool inChild = false;
    for (const auto& f : doc.at("findings"))
        if (f.at("kind") == "deadlock" && f.at("process").at("pid").get<int>() == child)
            inChild = true;
    EXPECT_TRUE(inChild) << json.out;
    EXPECT_GE(doc.at("summary").at("errors").get<int>(), 1);

    // The child's finding is finding 1 of the run (the main trace has none): graph draws it from
    // the child's trace; export takes the child with --pid.
    RunResult graph = run({ ravelBinary(), "graph", dir.file("f.ravel"), "--finding", "1", "-o", dir.file("g.dot") });
    EXPECT_EQ(graph.status, 0) << graph.err;
    std::string dot = readFile(dir.file("g.dot"));
    EXPECT_NE(dot.find("child_a"), std::string::npos) << dot;
    RunResult exported = run({ ravelBinary(), "export", "--perfetto", dir.file("f.ravel"), "--pid",
                               std::to_string(child), "-o", dir.file("e.json") });
    EXPECT_EQ(exported.status, 0) << exported.err;
    EXPECT_NE(readFile(dir.file("e.json")).find("lock child_"), std::string::npos);
    RunResult none = run({ ravelBinary(), "export", "--perfetto", dir.file("f.ravel"), "--pid", "1", "-o",
                           dir.file("n.json") });
    EXPECT_EQ(none.status, 1);
    EXPECT_EQ(none.err, "ravel: " + dir.file("f.ravel") + ": no process 1 in the run\n");
}

TEST(Processes, EveryImageOfAChainOfExecsIsRecorded)
{
    TempDir dir("execs");
    RunResult r = ravelRun(dir.file("x.ravel"), { helper("e2e_exec_chain"), "2" });
    ASSERT_EQ(r.status, 5) << r.err;
    EXPECT_EQ(r.err.find("cannot create trace"), std::string::npos) << r.err;
    auto out = splitLines(r.out);
    ASSERT_EQ(out.size(), 3u) << r.out;
    int pid = 0;
    ASSERT_EQ(std::sscanf(out[0].c_str(), "image 2 pid %d", &pid), 1) << r.out;
    std::string p = std::to_string(pid);
    EXPECT_TRUE(fs::exists(dir.file("x.ravel")));
    EXPECT_TRUE(fs::exists(dir.file("x." + p + ".ravel")));
    EXPECT_TRUE(fs::exists(dir.file("x." + p + ".2.ravel")));

    RunResult infoRun;
    auto info = infoJson(dir.file("x.ravel"), &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    auto procs = processesByPid(*info);
    ASSERT_EQ(procs.size(), 1u) << info->at("processes").dump(1);
    const auto& proc = procs.at(pid);
    ASSERT_EQ(proc.at("images").size(), 3u) << proc.dump(1);
    for (int i = 0; i < 3; i++) {
        const auto& image = proc.at("images")[i];
        EXPECT_EQ(image.at("image").get<int>(), i + 1);
        EXPECT_EQ(image.at("argv").at(1).get<std::string>(), std::to_string(2 - i)) << image.dump();
        // Each image recorded its own lock.
        auto imageInfo = infoJson(image.at("trace").get<std::string>());
        ASSERT_TRUE(imageInfo);
        const nlohmann::json* lock = findObject(*imageInfo, "image_lock");
        ASSERT_NE(lock, nullptr) << image.dump();
        EXPECT_EQ(count(lock, "acquisitions"), 1);
    }
    EXPECT_EQ(proc.at("end").get<std::string>(), "exited");
    EXPECT_EQ(proc.at("exit_status").get<int>(), 5);
}

TEST(Processes, InfoListsEveryProcessWithItsParentAndExitStatus)
{
    TempDir dir("family");
    RunResult native = run({ helper("e2e_process_family") });
    ASSERT_EQ(native.status, 0) << native.err;
    RunResult r = ravelRun(dir.file("fam.ravel"), { helper("e2e_process_family") });
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err, "") << r.err;
    // What the parent saw of each child, by kind.
    std::map<std::string, std::pair<int, int>> seen; // kind -> (pid, status)
    int grandchild = 0, grandchildStatus = -1;
    for (const std::string& line : splitLines(r.out)) {
        char kind[32];
        int pid = 0, status = 0;
        if (std::sscanf(line.c_str(), "grandchild %d exit %d", &pid, &status) == 2) {
            grandchild = pid;
            grandchildStatus = status;
        } else if (std::sscanf(line.c_str(), "%31s %d exit %d", kind, &pid, &status) == 3) {
            seen[kind] = { pid, status };
        }
    }
    // The same output as without ravel, but for the pids.
    EXPECT_EQ(splitLines(r.out).size(), splitLines(native.out).size()) << r.out << native.out;
    EXPECT_NE(r.out.find("popen 'popen' exit 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("system exit 5"), std::string::npos) << r.out;
    ASSERT_EQ(seen.size(), 5u) << r.out;
    EXPECT_EQ(grandchildStatus, 7) << r.out;

    RunResult infoRun;
    auto info = infoJson(dir.file("fam.ravel"), &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    auto procs = processesByPid(*info);
    int mainPid = info->at("pid").get<int>();
    ASSERT_TRUE(procs.count(mainPid));
    EXPECT_EQ(procs.at(mainPid).at("exit_status").get<int>(), 0);
    EXPECT_EQ(info->at("processes")[0].at("pid").get<int>(), mainPid) << "the main process comes first";

    auto expectChild = [&](const std::string& kind, int parent, int status, const std::string& program) {
        SCOPED_TRACE(kind);
        ASSERT_TRUE(seen.count(kind) || kind == "grandchild");
        int pid = kind == "grandchild" ? grandchild : seen.at(kind).first;
        ASSERT_TRUE(procs.count(pid)) << "pid " << pid << " is not in the run\n" << info->at("processes").dump(1);
        const auto& p = procs.at(pid);
        EXPECT_EQ(p.at("parent").get<int>(), parent) << p.dump(1);
        EXPECT_TRUE(p.at("parent_in_run").get<bool>());
        EXPECT_EQ(p.at("end").get<std::string>(), "exited") << p.dump(1);
        EXPECT_EQ(p.at("exit_status").get<int>(), status) << p.dump(1);
        EXPECT_EQ(baseName(p.at("program").get<std::string>()), program) << p.dump(1);
        EXPECT_GE(p.at("threads").get<int>(), 1);
    };
    expectChild("fork", mainPid, 3, "e2e_process_family");
    expectChild("grandchild", seen.at("fork").first, 7, "e2e_process_family");
    expectChild("spawn", mainPid, 4, "sh");
    expectChild("vfork", mainPid, 0, "true");
    expectChild("clean-env", mainPid, 6, "sh");
    // The missing program's child: a fork whose exec failed, then _exit(127).
    expectChild("missing", mainPid, 127, "e2e_process_family");
    // system()'s and popen()'s shells: children of the main process running sh.
    size_t shells = 0;
    for (const auto& [pid, p] : procs)
        if (p.at("parent").get<int>() == mainPid && baseName(p.at("program").get<std::string>()) == "sh")
            shells++;
    EXPECT_EQ(shells, 4u) << info->at("processes").dump(1); // spawn, system, popen, clean-env

    RunResult text = run({ ravelBinary(), "info", dir.file("fam.ravel") });
    EXPECT_EQ(text.status, 0) << text.err;
    EXPECT_NE(text.out.find("processes: " + std::to_string(procs.size())), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("sh -c exit 6"), std::string::npos) << text.out;
}

TEST(Processes, ShellPipelineOutputIsUnchangedAndEveryProcessIsInTheTrace)
{
    TempDir dir("pipeline");
    std::vector<std::string> program { "sh", "-c", "seq 100000 | sort -r | uniq -c | sort -n" };
    RunResult native = run(program);
    ASSERT_EQ(native.status, 0) << native.err;
    RunResult r = ravelRun(dir.file("pipe.ravel"), program);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_TRUE(r.out == native.out) << "output differs under ravel run (" << r.out.size() << " bytes against "
                                     << native.out.size() << ")";
    RunResult infoRun;
    auto info = infoJson(dir.file("pipe.ravel"), &infoRun);
    ASSERT_TRUE(info) << infoRun.err;
    std::multiset<std::string> programs;
    int mainPid = info->at("pid").get<int>();
    for (const auto& p : info->at("processes")) {
        programs.insert(baseName(p.at("program").get<std::string>()));
        if (p.at("pid").get<int>() != mainPid) {
            EXPECT_EQ(p.at("parent").get<int>(), mainPid) << p.dump(1);
            EXPECT_EQ(p.at("exit_status"), 0) << p.dump(1);
        }
    }
    EXPECT_EQ(programs, (std::multiset<std::string> { "sh", "seq", "sort", "uniq", "sort" }))
        << info->at("processes").dump(1);
}

// A wrapper that execs the real program (a shell script ending in `exec prog`, `nice env prog`):
// the deadlock happens in a later image of the run's first process and is caught live.
TEST(Processes, DeadlockAfterExecThroughAWrapperIsReportedLive)
{
    struct Wrapper {
        const char* name;
        std::vector<std::string> argv;
    };
    std::string dining = example("dining");
    for (const Wrapper& w : { Wrapper { "sh-exec", { "sh", "-c", "exec \"$0\" 5", dining } },
                              Wrapper { "nice-env", { "nice", "env", dining, "5" } } }) {
        SCOPED_TRACE(w.name);
        TempDir dir(w.name);
        auto started = std::chrono::steady_clock::now();
        RunResult r = ravelRun(dir.file("w.ravel"), w.argv, withTimeout(30s));
        auto elapsed = std::chrono::steady_clock::now() - started;
        ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
        EXPECT_EQ(r.status, 66) << r.err;
        EXPECT_LT(elapsed, 10s) << r.err;
        EXPECT_NE(r.err.find("deadlock (certain)"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("forks[0]"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("dining 5)"), std::string::npos) << r.err;
    }
}

// A shell that closes its standard streams, then leaves a child behind that outlives it: the
// child's trace (descriptor numbers 0-2 free for the taking) and its own children keep
// recording after the run's first process exited.
TEST(Processes, ChildrenOutlivingTheirParentWithClosedStreamsKeepRecording)
{
    TempDir dir("orphan");
    RunResult r = ravelRun(dir.file("o.ravel"),
        { "sh", "-c", "exec 0<&- 1>&- 2>&-; (sleep 0.3; exec env true) & exit 0" }, withTimeout(30s));
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("cannot create trace"), std::string::npos) << r.err;
    // Wait for the orphans: their traces end when they do.
    std::multiset<std::string> programs;
    for (int attempt = 0; attempt < 50; attempt++) {
        std::this_thread::sleep_for(100ms);
        auto info = infoJson(dir.file("o.ravel"));
        ASSERT_TRUE(info);
        programs.clear();
        bool ended = true;
        for (const auto& p : info->at("processes")) {
            programs.insert(baseName(p.at("program").get<std::string>()));
            ended = ended && !p.at("end").is_null();
        }
        if (ended && programs.count("true"))
            break;
    }
    EXPECT_EQ(programs.count("sleep"), 1u) << testing::PrintToString(programs);
    EXPECT_EQ(programs.count("true"), 1u) << testing::PrintToString(programs);
    // The shell; its subshell ran env and then true in the same pid (three images).
    EXPECT_EQ(programs.count("sh"), 1u) << testing::PrintToString(programs);
    EXPECT_EQ(programs.size(), 3u) << testing::PrintToString(programs);
}

// A server that switches to its own user (here `setpriv`, as a daemon's start script would) may
// no longer create files in the trace directory: ravel run creates each trace for it (the
// runtime asks over the run's socket), so the images and forks after the switch are recorded and
// analyzed like any other (issue 14, item 6).
TEST(Processes, ProcessesThatSwitchedUserKeepRecording)
{
    if (geteuid() != 0)
        GTEST_SKIP() << "needs root: only root can switch to another user";
    TempDir dir("procs_setuid"); // mode 0700, root's: user nobody can create nothing in it
    RunResult live = ravelRun(dir.file("t.ravel"),
                              { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                example("abba") },
                              withTimeout(30s));
    ASSERT_FALSE(live.timedOut) << live.err;
    EXPECT_EQ(live.status, 66) << live.err;
    EXPECT_EQ(live.err.find("cannot create trace"), std::string::npos) << live.err;
    EXPECT_NE(live.err.find("deadlock (certain)"), std::string::npos) << live.err;
    EXPECT_NE(live.err.find("account_a"), std::string::npos) << live.err;

    // Forks and execs after the switch: the worker's second image finds its lock-order inversion.
    TempDir forked("procs_setuid_fork");
    RunResult r = ravelRun(forked.file("t.ravel"),
                           { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                             example("forked_worker") },
                           withTimeout(60s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.err.find("cannot create trace"), std::string::npos) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("potential-deadlock"), std::string::npos) << r.err;
    std::optional<nlohmann::json> info = infoJson(forked.file("t.ravel"));
    ASSERT_TRUE(info.has_value());
    ASSERT_EQ((*info)["processes"].size(), 2u) << info->dump(2);
    // The worker ran three images (fork, wrapper, work), every one recorded.
    size_t images = 0;
    for (const auto& entry : std::filesystem::directory_iterator(forked.path()))
        images += entry.path().extension() == ".ravel";
    EXPECT_EQ(images, 5u);
}
