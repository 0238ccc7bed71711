// What a report costs as its trace grows (issue 12): `ravel report` and the report at the end of
// `ravel run` keep state per thread, live object and lock-order edge, never per event. The same
// program recorded ten times longer must be reported in about the same memory; before, the report
// held about 20 bytes per event (a 12M-event trace: some 220 MB more than a 1.2M-event one).
#include "e2e_util.hpp"

#include <algorithm>

using namespace ravel::e2e;

namespace {

struct Recorded {
    RunResult run;    // `ravel run` (program plus its report at exit)
    RunResult report; // `ravel report` on the trace
    RunResult alone;  // the program under the runtime without `ravel run`: what recording costs it
    uint64_t events = 0;
};

Recorded record(const TempDir& dir, const std::string& name, long iterations, const std::string& mode)
{
    Recorded r;
    const std::string trace = dir.file(name + ".ravel");
    std::vector<std::string> program { helper("e2e_long_locks"), std::to_string(iterations) };
    if (!mode.empty())
        program.push_back(mode);
    r.run = ravelRun(trace, program, withTimeout(120s));
    EXPECT_EQ(r.run.status, 0) << r.run.err;
    r.report = run({ ravelBinary(), "report", trace }, withTimeout(120s));
    EXPECT_EQ(r.report.status, 0) << r.report.err;
    EXPECT_NE(r.report.out.find("no findings"), std::string::npos) << r.report.out;
    if (auto info = infoJson(trace))
        r.events = (*info)["events"].get<uint64_t>();
    RunOptions preload = withTimeout(120s);
    preload.env = { "LD_PRELOAD=" + runtimeLibrary(), "RAVEL_TRACE_FILE=" + dir.file(name + "-alone.ravel") };
    r.alone = run(program, preload);
    EXPECT_EQ(r.alone.status, 0) << r.alone.err;
    return r;
}

// Peak memory may differ by what the process itself allocates at random (malloc arenas, the
// kernel's page accounting): a few MB. Holding 2 bytes per event would already add 22 MB here.
constexpr long kSlackKb = 20 * 1024;

class ReportScale : public ::testing::TestWithParam<const char*> {};

TEST_P(ReportScale, ATenTimesLongerTraceIsReportedInTheSameMemory)
{
    TempDir dir("report-scale");
    const std::string mode = GetParam();
    Recorded small = record(dir, "small", 300'000, mode);
    Recorded big = record(dir, "big", 3'000'000, mode);
    ASSERT_GT(small.events, 1'000'000u);
    ASSERT_GE(big.events, 9 * small.events) << "the longer run did not record ten times the events";
    EXPECT_LT(big.report.maxRssKb, small.report.maxRssKb + kSlackKb)
        << "ravel report: " << small.events << " events in " << small.report.maxRssKb << " KB, " << big.events
        << " events in " << big.report.maxRssKb << " KB";
    // `ravel run`'s peak is its own or its target's, whichever is larger (wait4). The target keeps
    // the pages of its raw trace it wrote (one to 25 bytes an event): that growth is the
    // recording's (issue 12, item 2), so it is measured apart and allowed; ravel's own work after
    // the exit (compaction, the report) must add nothing on top of it.
    const long allowed = std::max(small.run.maxRssKb, big.alone.maxRssKb) + kSlackKb;
    EXPECT_LT(big.run.maxRssKb, allowed) << "ravel run: " << small.events << " events in " << small.run.maxRssKb
                                         << " KB, " << big.events << " events in " << big.run.maxRssKb
                                         << " KB; the program alone under the runtime: " << big.alone.maxRssKb
                                         << " KB";
}

// "": one lock at a time (no lock-order edges). "nested": a second lock inside the first and a
// semaphore post every iteration, so the lock-order pass and its vector clocks run on every event.
INSTANTIATE_TEST_SUITE_P(Programs, ReportScale, ::testing::Values("", "nested"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                             return std::string(*p.param ? p.param : "single");
                         });

} // namespace
