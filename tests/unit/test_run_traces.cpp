// One run, several traces: the per-process traces beside a main trace are found by name and run
// id (another run's file of the same name is not), and the run's processes get their parents,
// images and ends from headers and from the waits their parents recorded.
#include "trace_builder.hpp"

#include "trace/run_traces.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

using namespace ravel;
using ravel::test::TraceBuilder;
namespace fs = std::filesystem;

namespace {

class RunTracesTest : public ::testing::Test {
protected:
    void SetUp() override
    {
        std::string pattern = (fs::temp_directory_path() / "ravel-runtraces-XXXXXX").string();
        ASSERT_NE(mkdtemp(pattern.data()), nullptr);
        m_dir = pattern;
    }
    void TearDown() override { fs::remove_all(m_dir); }

    // A one-thread trace of process `pid` (child of `ppid`) in run `runId`.
    TraceBuilder process(uint32_t pid, uint32_t ppid, uint64_t runId, uint32_t image, const char* program)
    {
        TraceBuilder b;
        b.header().pid = pid;
        b.header().ppid = ppid;
        b.header().run_id = runId;
        b.header().image = image;
        b.header().origin = image > 1 ? RAVEL_ORIGIN_EXECED : RAVEL_ORIGIN_FORKED;
        std::strcpy(b.header().program, program);
        std::memset(b.header().argv, 0, sizeof b.header().argv);
        size_t len = std::strlen(program) + 1;
        std::memcpy(b.header().argv, program, len);
        b.header().argv_len = static_cast<uint32_t>(len);
        b.thread(1);
        b.time(1, 10);
        return b;
    }
    std::string file(const std::string& name) const { return (m_dir / name).string(); }

    fs::path m_dir;
};

} // namespace

TEST_F(RunTracesTest, FindsTheTracesOfTheRunByNameAndRunIdInPidAndImageOrder)
{
    const uint64_t run = 0xabc1;
    TraceBuilder main = process(100, 1, run, 1, "/bin/sh");
    main.header().origin = RAVEL_ORIGIN_ROOT;
    main.write(file("job.ravel"));
    process(102, 100, run, 1, "/bin/a").write(file("job.102.ravel"));
    process(102, 100, run, 2, "/bin/b").write(file("job.102.2.ravel"));
    process(101, 100, run, 1, "/bin/c").write(file("job.101.ravel"));
    process(103, 100, run + 1, 1, "/bin/old").write(file("job.103.ravel")); // an earlier run's
    process(104, 100, run, 1, "/bin/x").write(file("job.104.tmp"));         // not a trace name
    process(105, 100, run, 1, "/bin/x").write(file("jobx.105.ravel"));      // another stem

    std::vector<std::string> found = findRunTraces(file("job.ravel"));
    std::vector<std::string> want { file("job.ravel"), file("job.101.ravel"), file("job.102.ravel"),
                                    file("job.102.2.ravel") };
    EXPECT_EQ(found, want);
    EXPECT_TRUE(isRunTraceName("job.ravel", "job.7.ravel"));
    EXPECT_TRUE(isRunTraceName("job.ravel", "job.7.3.ravel"));
    EXPECT_FALSE(isRunTraceName("job.ravel", "job.x.ravel"));
    EXPECT_FALSE(isRunTraceName("job.ravel", "job.ravel"));
    EXPECT_EQ(traceRunId(file("job.103.ravel")), run + 1);
}

TEST_F(RunTracesTest, AMainTraceWithoutARunIdHasNoOtherTraces)
{
    TraceBuilder main = process(100, 1, 0, 1, "/bin/sh");
    main.write(file("old.ravel"));
    process(101, 100, 0, 1, "/bin/a").write(file("old.101.ravel"));
    EXPECT_EQ(findRunTraces(file("old.ravel")), std::vector<std::string> { file("old.ravel") });
}

TEST_F(RunTracesTest, ProcessesGetParentsImagesAndEndsFromWhatTheirParentsSaw)
{
    const uint64_t run = 7;
    // The main process forks 101 (it exits 3 by itself), 102 which execs (image 2 is killed by
    // SIGTERM, its parent's wait says), and waits for both.
    TraceBuilder main = process(100, 1, run, 1, "/bin/main");
    main.header().origin = RAVEL_ORIGIN_ROOT;
    main.event(1, RAVEL_EV_FORK, 0, 101, 0, RAVEL_OBJ_PROCESS);
    main.event(1, RAVEL_EV_FORK, 0, 102, 0, RAVEL_OBJ_PROCESS);
    main.event(1, RAVEL_EV_PROC_WAIT_REQ, 0, static_cast<uint32_t>(-1), 0, RAVEL_OBJ_PROCESS);
    main.event(1, RAVEL_EV_PROC_WAIT_DONE, 102, SIGTERM, 0, RAVEL_OBJ_PROCESS);
    main.header().flags |= RAVEL_FILE_ENDED;
    main.header().exit_status = 0;
    main.write(file("m.ravel"));

    TraceBuilder a = process(101, 100, run, 1, "/bin/main");
    a.event(1, RAVEL_EV_FORK_CHILD, 0, 100, 0, RAVEL_OBJ_PROCESS);
    a.header().flags |= RAVEL_FILE_ENDED;
    a.header().exit_status = 3;
    a.write(file("m.101.ravel"));

    TraceBuilder b1 = process(102, 100, run, 1, "/bin/main");
    b1.event(1, RAVEL_EV_EXEC, 0, 0, 0, RAVEL_OBJ_PROCESS);
    b1.header().flags |= RAVEL_FILE_ENDED;
    b1.write(file("m.102.ravel"));
    process(102, 100, run, 2, "/bin/worker").write(file("m.102.2.ravel"));

    RunTraces traces = openRunTraces(file("m.ravel"));
    ASSERT_EQ(traces.readers.size(), 4u);
    std::vector<RunProcess> procs = describeProcesses(traces);
    ASSERT_EQ(procs.size(), 3u);
    EXPECT_EQ(procs[0].pid, 100u);
    EXPECT_EQ(procs[0].end, RunProcess::End::Exited);
    EXPECT_EQ(procs[0].endValue, 0);

    auto find = [&](uint32_t pid) -> const RunProcess& {
        for (const RunProcess& p : procs)
            if (p.pid == pid)
                return p;
        throw std::runtime_error("no process");
    };
    const RunProcess& pa = find(101);
    EXPECT_EQ(pa.parent, 100u);
    EXPECT_TRUE(pa.parentInRun);
    EXPECT_EQ(pa.end, RunProcess::End::Exited);
    EXPECT_EQ(pa.endValue, 3);
    EXPECT_EQ(pa.endSource, "trace");

    const RunProcess& pb = find(102);
    ASSERT_EQ(pb.images.size(), 2u);
    EXPECT_EQ(pb.images[1].program, "/bin/worker");
    EXPECT_EQ(pb.command(), std::vector<std::string> { "/bin/worker" });
    EXPECT_EQ(pb.end, RunProcess::End::Signaled);
    EXPECT_EQ(pb.endValue, SIGTERM);
    EXPECT_EQ(pb.endSource, "parent");
    EXPECT_EQ(pb.threads, 2u);
}
