// Deadlocks across processes (issue 14, item 3): pipes, a socket pair, a wait for a child, a
// FIFO, a lock held across a pipe write, reads inside glibc's stdio. `ravel run` reports each
// live from the kernel's view of the run's processes and ends the run with 66, naming the
// processes, the pipe and the descriptors; correct programs that fill and drain pipes run to the
// end with their output unchanged.
#include "e2e_util.hpp"

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
        Case { "poll", "2 processes wait for each other through pipes", "without a timeout, and nobody can make them ready" },
        Case { "lockpipe", "2 threads of pid", "held by T2" }),
    [](const ::testing::TestParamInfo<Case>& info) { return std::string(info.param.name); });

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
