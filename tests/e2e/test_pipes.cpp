// Deadlocks across processes (issue 14, item 3): pipes, a socket pair, a wait for a child, a
// FIFO, a lock held across a pipe write, reads inside glibc's stdio. `ravel run` reports each
// live from the kernel's view of the run's processes and ends the run with 66, naming the
// processes, the pipe and the descriptors; correct programs that fill and drain pipes run to the
// end with their output unchanged.
#include "e2e_util.hpp"
#include "../report_schema_check.hpp"

#include <set>
#include <sstream>
#include <thread>

using namespace ravel::e2e;

namespace {

struct Case {
    const char* name;
    const char* title;    // in the ERROR line
    const char* detail;   // somewhere in the report
};

std::vector<int> childPids(const std::string& out)
{
    std::vector<int> pids;
    std::istringstream in(out);
    for (std::string line; std::getline(in, line);)
        if (int pid; std::sscanf(line.c_str(), "child %d", &pid) == 1)
            pids.push_back(pid);
    return pids;
}

// Gone, or a zombie waiting for init to reap it: it runs no more.
bool ended(int pid)
{
    for (int i = 0; i < 40; i++) {
        std::string stat = readFile("/proc/" + std::to_string(pid) + "/stat");
        size_t close = stat.rfind(')');
        if (stat.empty() || (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'Z'))
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return false;
}

class PipeDeadlock : public ::testing::TestWithParam<Case> { };

} // namespace

TEST_P(PipeDeadlock, IsReportedLiveAndTheRunEndsWith66)
{
    const Case& c = GetParam();
    TempDir dir(std::string("pipe_") + c.name);
    auto started = std::chrono::steady_clock::now();
    RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), c.name, dir.path().string() }, withTimeout(30s));
    auto elapsed = std::chrono::steady_clock::now() - started;
    ASSERT_FALSE(r.timedOut) << "ravel hung with the program\n" << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_LT(elapsed, 10s) << r.err;
    EXPECT_NE(r.err.find("ERROR: deadlock (certain): "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.title), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(c.detail), std::string::npos) << r.err;
    // Every child the program started is named with its pid, and no process is left behind.
    for (int pid : childPids(r.out)) {
        // (selfpipe's child wrote and exited: only the parent is stuck.)
        if (std::string(c.name) != "selfpipe") {
            EXPECT_NE(r.err.find("pid " + std::to_string(pid)), std::string::npos) << pid << "\n" << r.err;
        }
        EXPECT_TRUE(ended(pid)) << "pid " << pid << " survived the run";
    }
    EXPECT_NE(r.err.find("ending the target"), std::string::npos) << r.err;
    // Afterwards `ravel report` shows the same deadlock, numbered, and exits 66 as the run did.
    RunResult report = run({ ravelBinary(), "report", dir.file("p.ravel") });
    EXPECT_EQ(report.status, 66) << report.out << report.err;
    EXPECT_NE(report.out.find("deadlock (certain): "), std::string::npos) << report.out;
    EXPECT_NE(report.out.find(c.title), std::string::npos) << report.out;
    EXPECT_NE(report.out.find(c.detail), std::string::npos) << report.out;
    EXPECT_NE(report.out.find("==ravel== ERROR #"), std::string::npos) << report.out;
}

INSTANTIATE_TEST_SUITE_P(
    Processes, PipeDeadlock,
    ::testing::Values(
        Case { "cat", "2 processes wait for each other through pipes", "which is full; only fd 0 in pid" },
        Case { "waitpid", "2 processes wait for each other through a pipe and a wait for a child",
               "waits for its child pid" },
        Case { "ring", "3 processes wait for each other through pipes", "reads from pipe #" },
        Case { "socketpair", "2 processes wait for each other through a socket pair", "receives on socket pair #1" },
        Case { "selfpipe", "waits forever on a pipe that only it could serve", "which is empty; only fd" },
        Case { "fgets", "through a pipe and a wait for a child", "reads from pipe #1 (fd " },
        Case { "poll", "2 processes wait for each other through pipes", "waits in poll on fd " },
        Case { "epoll", "2 processes wait for each other through pipes", "waits in epoll_wait on fd " },
        Case { "lockpipe", "2 threads of pid", "held by T2" }),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

// The JSON and SARIF reports carry the deadlock across processes as they carry every other: the
// processes, each thread's wait with its descriptor and stack, the pipes with who holds each end.
TEST(PipeDeadlock, TheReportAfterTheRunNamesProcessesPipesAndStacksInJsonAndSarif)
{
    TempDir dir("pipe_report");
    RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), "cat" }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    ASSERT_EQ(r.status, 66) << r.err;
    std::vector<int> children = childPids(r.out);
    ASSERT_EQ(children.size(), 1u) << r.out;
    nlohmann::json doc = reportJson(dir.file("p.ravel"));
    EXPECT_EQ(ravel::schema_check::validateReport(doc), "") << doc.dump(2);
    const nlohmann::json* f = nullptr;
    for (const nlohmann::json& x : doc["findings"])
        if (x.value("scope", "") == "run")
            f = &x;
    ASSERT_NE(f, nullptr) << doc.dump(2);
    EXPECT_EQ((*f)["kind"], "deadlock");
    EXPECT_EQ((*f)["certainty"], "certain");
    EXPECT_EQ((*f)["error"], true);
    EXPECT_GE(doc["summary"]["errors"].get<int>(), 1);
    EXPECT_EQ((*f)["fingerprint"].get<std::string>().size(), 16u);
    std::set<int> pids;
    for (const nlohmann::json& p : (*f)["processes"])
        pids.insert(p["pid"].get<int>());
    EXPECT_TRUE(pids.count(children[0])) << f->dump(2);
    EXPECT_EQ(pids.size(), 2u) << f->dump(2);
    // The parent writes its stdin pipe, cat writes its stdout pipe: both with the call, the fd,
    // the pipe object and a stack (the parent's in writeAll of pipe_cases.c).
    int writers = 0;
    bool parentStack = false;
    for (const nlohmann::json& t : (*f)["threads"]) {
        const nlohmann::json& w = t["waits_for"];
        if (w["call"] == "write") {
            writers++;
            EXPECT_TRUE(w["fd"].is_number()) << t.dump(2);
            EXPECT_FALSE(w["waker_tids"].empty()) << t.dump(2);
        }
        for (const nlohmann::json& fr : w["stack"])
            if (fr["function"] == "writeAll" && fr["file"].is_string()
                && fr["file"].get<std::string>().find("pipe_cases.c") != std::string::npos)
                parentStack = true;
    }
    EXPECT_EQ(writers, 2) << f->dump(2);
    EXPECT_TRUE(parentStack) << f->dump(2);
    int pipes = 0;
    for (const nlohmann::json& o : (*f)["objects"])
        if (o["kind"] == "pipe") {
            pipes++;
            EXPECT_FALSE(o["read_ends"].empty()) << o.dump(2);
            EXPECT_FALSE(o["write_ends"].empty()) << o.dump(2);
            EXPECT_GT(o["inode"].get<uint64_t>(), 0u);
        }
    EXPECT_EQ(pipes, 2) << f->dump(2);

    RunResult sarif = run({ ravelBinary(), "report", "--format", "sarif", dir.file("p.ravel") });
    EXPECT_EQ(sarif.status, 66) << sarif.err;
    nlohmann::json s = nlohmann::json::parse(sarif.out, nullptr, false);
    ASSERT_FALSE(s.is_discarded()) << sarif.out;
    bool found = false;
    for (const nlohmann::json& result : s["runs"][0]["results"])
        if (result["ruleId"] == "ravel/deadlock" && result["properties"].value("scope", "") == "run") {
            found = true;
            EXPECT_EQ(result["level"], "error");
            EXPECT_FALSE(result["stacks"].empty()) << result.dump(2);
        }
    EXPECT_TRUE(found) << sarif.out;

    // A suppression by the user's function silences it like any finding, and the report says so.
    writeFile(dir.file("supp.txt"), "deadlock:writeAll\n");
    RunResult quiet = run({ ravelBinary(), "report", "--suppressions", dir.file("supp.txt"), dir.file("p.ravel") });
    EXPECT_EQ(quiet.out.find("processes wait for each other"), std::string::npos) << quiet.out;
    EXPECT_NE(quiet.err.find("suppressed 1 finding"), std::string::npos) << quiet.err;
}

// A damaged findings file is one warning line; the traces' own findings are still reported.
TEST(PipeDeadlock, ADamagedFindingsFileIsAWarningNotAnError)
{
    TempDir dir("pipe_damaged");
    RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), "selfpipe" }, withTimeout(30s));
    ASSERT_EQ(r.status, 66) << r.err;
    ASSERT_TRUE(std::filesystem::exists(dir.file("p.findings.json")));
    writeFile(dir.file("p.findings.json"), "{\"format\": \"ravel-run-findings\", \"vers");
    RunResult report = run({ ravelBinary(), "report", dir.file("p.ravel") });
    EXPECT_EQ(report.status, 0) << report.out << report.err;
    EXPECT_NE(report.err.find("p.findings.json: not a findings file"), std::string::npos) << report.err;
    EXPECT_EQ(report.err.find("terminate"), std::string::npos) << report.err;
    // A new run with the same -o does not keep the old run's findings.
    RunResult again = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), "busy" }, withTimeout(30s));
    EXPECT_EQ(again.status, 0) << again.err;
    EXPECT_FALSE(std::filesystem::exists(dir.file("p.findings.json")));
}

// An event loop's waits: the parent in epoll_wait (what it watches read from the epoll
// instance's fdinfo), the child in select (its descriptor sets read from its memory).
TEST(PipeDeadlock, EpollAndSelectWaitsAreOrWaitsOnTheirDescriptors)
{
    TempDir dir("pipe_epoll");
    RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), "epoll" }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("waits in epoll_wait on fd "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("waits in select on fd "), std::string::npos) << r.err;
    // Both stacks were read: neither process was gone (an epoll_wait ended by the stop is retried).
    EXPECT_EQ(r.err.find("could not be read"), std::string::npos) << r.err;
}

TEST(PipeDeadlock, TheWriterHoldingALockShowsItsStackAndTheLock)
{
    TempDir dir("pipe_lockstack");
    RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), "lockpipe" }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("journalWriter"), std::string::npos) << "the writer's stack\n" << r.err;
    EXPECT_NE(r.err.find("it holds mutex"), std::string::npos) << r.err;
}

// Two FIFOs opened in opposite orders: any process of the machine could open a FIFO by its path,
// so this is a likely deadlock: a warning after the stall timeout, the program runs on, and
// stopping the run then exits 66.
TEST(PipeDeadlock, FifosOpenedInOppositeOrdersAreALikelyDeadlock)
{
    TempDir dir("pipe_fifo");
    Process p({ ravelBinary(), "run", "-q", "-o", dir.file("p.ravel"), "--stall-timeout", "1s", "--",
                helper("e2e_pipe_cases"), "fifo", dir.path().string() });
    std::this_thread::sleep_for(3500ms);
    // The user gives up on the hung run and ends its processes.
    std::vector<pid_t> target = childrenOf(p.pid());
    ASSERT_EQ(target.size(), 1u);
    for (pid_t c : childrenOf(target[0]))
        kill(c, SIGKILL);
    kill(target[0], SIGKILL);
    RunResult r = p.wait();
    EXPECT_NE(r.err.find("ERROR: deadlock (likely)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("opens FIFO " + dir.path().string() + "/fifo_a"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("presumed: no process outside the run will open the FIFO"), std::string::npos) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
}

TEST(PipePrograms, CorrectProgramsThatFillPipesRunToTheEndUnchanged)
{
    for (const char* c : { "busy", "pipeline" }) {
        TempDir dir(std::string("pipe_ok_") + c);
        RunResult native = run({ helper("e2e_pipe_cases"), c }, withTimeout(60s));
        ASSERT_EQ(native.status, 0) << native.err;
        RunResult r = ravelRun(dir.file("p.ravel"), { helper("e2e_pipe_cases"), c }, withTimeout(60s));
        ASSERT_FALSE(r.timedOut) << r.err;
        EXPECT_EQ(r.status, 0) << c << "\n" << r.err;
        EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << c << "\n" << r.err;
        // The last line (the bytes echoed; the count and sum) is the program's result: the same under ravel.
        auto lastLine = [](const std::string& out) {
            size_t end = out.find_last_not_of('\n');
            return out.substr(out.rfind('\n', end) + 1);
        };
        EXPECT_EQ(lastLine(r.out), lastLine(native.out)) << c;
    }
}

TEST(PipePrograms, AShellPipelineGivesByteIdenticalOutput)
{
    TempDir dir("pipe_shell");
    std::vector<std::string> cmd { "/bin/sh", "-c", "seq 200000 | sort -r | uniq -c | sort -n | md5sum" };
    RunResult native = run(cmd, withTimeout(60s));
    ASSERT_EQ(native.status, 0);
    RunResult r = ravelRun(dir.file("p.ravel"), cmd, withTimeout(60s));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, native.out);
    EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << r.err;
}

// The examples of issue 14: the filter deadlock, its fix, and a correct pipeline of three
// processes.
TEST(PipeExamples, TheFilterWrittenBeforeItIsReadDeadlocksAndTheRunEndsIt)
{
    TempDir dir("ex_pipe_filter");
    RunResult r = ravelRun(dir.file("f.ravel"), { example("pipe_filter") }, withTimeout(30s));
    ASSERT_FALSE(r.timedOut) << r.err;
    EXPECT_EQ(r.status, 66) << r.err;
    EXPECT_NE(r.err.find("deadlock (certain): 2 processes wait for each other through pipes"), std::string::npos)
        << r.err;
    EXPECT_NE(r.err.find("(tr a-z A-Z)"), std::string::npos) << "the filter by its command line\n" << r.err;
    EXPECT_NE(r.err.find("filter_naive"), std::string::npos) << "the parent's stack\n" << r.err;
    EXPECT_NE(r.err.find("pipe_filter.c:"), std::string::npos) << r.err;
    RunResult report = run({ ravelBinary(), "report", dir.file("f.ravel") });
    EXPECT_EQ(report.status, 66) << report.out << report.err;
    EXPECT_NE(report.out.find("filter_naive"), std::string::npos) << report.out;
}

TEST(PipeExamples, TheFixedFilterAndTheThreeProcessPipelineRunUnchanged)
{
    struct Program {
        std::vector<std::string> argv;
        size_t processes;
    };
    for (const Program& p : { Program { { example("pipe_filter"), "--fixed" }, 2 },
                              Program { { example("proc_pipeline"), "50000" }, 3 } }) {
        TempDir dir("ex_pipe_ok");
        RunResult native = run(p.argv, withTimeout(60s));
        ASSERT_EQ(native.status, 0) << native.err;
        RunResult r = ravelRun(dir.file("ok.ravel"), p.argv, withTimeout(60s));
        ASSERT_FALSE(r.timedOut) << r.err;
        EXPECT_EQ(r.status, 0) << p.argv[0] << "\n" << r.err;
        EXPECT_EQ(r.out, native.out) << p.argv[0];
        EXPECT_EQ(r.err.find("deadlock"), std::string::npos) << r.err;
        // Every process of the run is in its trace (tr runs unrecorded only if it were static).
        std::optional<nlohmann::json> info = infoJson(dir.file("ok.ravel"));
        ASSERT_TRUE(info.has_value());
        EXPECT_EQ((*info)["processes"].size(), p.processes) << info->dump(2);
        EXPECT_FALSE(std::filesystem::exists(dir.file("ok.findings.json")));
    }
    RunResult sum = run({ example("proc_pipeline"), "1000" });
    EXPECT_EQ(sum.out, "sum of squares 1..1000 = 333833500\n");
}
