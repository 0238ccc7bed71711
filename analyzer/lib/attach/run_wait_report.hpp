// A deadlock across the processes of a run (attach/run_wait.hpp), for a person: each stuck thread
// with its process, what it waits in (the pipe and its descriptor, the child, the lock), who holds
// the other end, and its stack as it is at the verdict (read from the process itself: a read
// inside glibc's stdio has no recorded stack).
#pragma once

#include "attach/run_wait.hpp"
#include "symbols/symbolizer.hpp"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace ravel {

struct RunWaitStacks {
    std::map<uint32_t, std::vector<Frame>> frames; // os tid -> innermost first, cut below main
    std::map<std::pair<uint32_t, uint64_t>, std::string> objectNames; // (pid, address) -> name
    std::vector<std::string> warnings;               // a process that could not be read
};

// Reads each involved process's stacks (ptrace seize + libdwfl, each thread stopped only while it
// unwinds) and names the recorded objects its threads wait on or hold.
RunWaitStacks captureRunWaitStacks(const RunDeadlock& d);

// "2 processes wait for each other through pipes".
std::string runDeadlockTitle(const RunDeadlock& d);

// The report block ravel run prints, in the shape of every other finding: the ERROR line, one
// paragraph per thread, the pipes and who holds them, the notes, the SUMMARY line.
std::string renderRunDeadlockText(const RunDeadlock& d, const RunWaitStacks& stacks, bool color,
                                  size_t maxFrames = 12);

// The finding in the JSON report's shape (docs/report-format.md, "A deadlock across processes"),
// for the run's findings file, from which `ravel report` shows it after the run: kind "deadlock",
// its threads (pid, os_tid, what each waits in and on, its stack), the pipes as objects with the
// descriptors every process holds on them, and the processes. No `number`: the report gives it.
// timeNs: when it was confirmed, from the main trace's start.
nlohmann::ordered_json runDeadlockJson(const RunDeadlock& d, const RunWaitStacks& stacks, uint64_t timeNs,
                                       uint64_t firstSeenNs);

} // namespace ravel
