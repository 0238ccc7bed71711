// One run, several traces: every process of a run (a fork, a spawned program, each image after an
// exec) records into a trace of its own beside the run's main trace, named after it
// ("prog.100.ravel", "prog.100.101.ravel", "prog.100.101.2.ravel"), with the main trace's run id in
// its header (docs/trace-format.md, "One run, several traces"). This finds them from the main
// trace's name and tells the run's processes: who started whom, what each ran, how each ended.
#pragma once

#include "trace/trace_reader.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ravel {

// The traces of the run whose main trace is `mainPath`: that path first, then each trace beside
// it named "<stem>.<pid>.ravel" or "<stem>.<pid>.<n>.ravel" whose header carries the main trace's
// run id, by pid and image. A main trace without a run id (format 4 and older) has no others.
// Throws TraceError when the main trace itself cannot be read.
std::vector<std::string> findRunTraces(const std::string& mainPath);

// Whether `fileName` (without its directory) is named as a trace of another process of the run
// whose main trace is named `mainName`: "<stem>.<pid>.ravel" or "<stem>.<pid>.<n>.ravel".
bool isRunTraceName(const std::string& mainName, const std::string& fileName);
// The run id in a trace's header; 0 when it has none (format 4 and older), or is not (yet) a trace.
uint64_t traceRunId(const std::string& path);
// CLOCK_MONOTONIC at a trace's time zero (its header's start_mono_ns); 0 when it is not (yet) a trace.
uint64_t traceStartMonoNs(const std::string& path);

// The run's findings file beside the main trace, "<stem>.findings.json": what `ravel run` found
// live that no trace's events show (a deadlock across processes through pipes, read from the
// kernel), for `ravel report` afterwards (docs/trace-format.md, "The run's findings file").
std::string runFindingsPath(const std::string& mainPath);

// The trace of process `pid` of the run (its last image: the program it ran last). Throws
// TraceError ("<main>: no process PID in the run") when the run has none.
std::string traceOfProcess(const std::string& mainPath, uint32_t pid);

// The run's traces, opened: the main trace first. A trace of another process that cannot be read
// is left out with a warning.
struct RunTraces {
    std::vector<std::unique_ptr<TraceReader>> readers;
    std::vector<std::string> warnings;
    const TraceReader& main() const { return *readers.front(); }
};
RunTraces openRunTraces(const std::string& mainPath);

// One program a process ran: its trace, as recorded in the trace header.
struct ProcessImage {
    const TraceReader* trace = nullptr;
    std::string program;
    std::vector<std::string> argv;
    uint32_t image = 1;
};

struct RunProcess {
    uint32_t pid = 0;
    uint32_t parent = 0; // its parent's pid (the launcher's for the run's first process)
    bool parentInRun = false;
    std::vector<ProcessImage> images; // in exec order
    size_t threads = 0; // over every image
    uint64_t events = 0;
    enum class End { Unknown, Exited, Signaled };
    End end = End::Unknown;
    int endValue = 0; // exit status or signal
    bool coreDumped = false;
    // Where the end comes from: "ravel run" (the run-end record), "parent" (a recorded wait that
    // reaped it), "trace" (the runtime saw it exit); "" when unknown.
    std::string endSource;
    uint64_t startNs = 0; // from the main trace's start
    const std::vector<std::string>& command() const { return images.back().argv; }
};

// Every process of the run, in order of start; each trace's process is found in its header.
std::vector<RunProcess> describeProcesses(const RunTraces& run);

// How much later than the main trace's start `other` started: its times plus this are times of
// the main trace (RunProcess::startNs; TraceReader::shiftTimes puts a trace on that clock).
uint64_t runClockOffset(const TraceSummary& main, const TraceSummary& other);

// "pid 101 (./dining 5)": how a report names the process a trace belongs to.
std::string processLabel(const TraceSummary& s);

} // namespace ravel
