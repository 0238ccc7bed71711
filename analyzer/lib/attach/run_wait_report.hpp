// A deadlock across the processes of a run (attach/run_wait.hpp), for a person: each stuck thread
// with its process, what it waits in (the pipe and its descriptor, the child, the lock), who holds
// the other end, and its stack as it is at the verdict (read from the process itself: a read
// inside glibc's stdio has no recorded stack).
#pragma once

#include "attach/run_wait.hpp"
#include "symbols/symbolizer.hpp"

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

} // namespace ravel
