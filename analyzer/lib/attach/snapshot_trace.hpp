// A process snapshot written as a ravel trace of one instant (docs/trace-format.md, "Snapshots"):
// every thread with its stack, the locks the decoded waits show it holding, and what it waits on,
// as the events a recorded run would have left (ACQUIRED, then ACQ_REQ / JOIN_REQ / WAIT_REQ).
// `ravel report`, `ravel graph` and the GUI read it like any trace, so `ravel attach` prints the
// report `ravel report SNAPSHOT` prints.
#pragma once

#include "attach/glibc_objects.hpp"
#include "attach/process_snapshot.hpp"

#include <string>
#include <vector>

namespace ravel {

struct SnapshotTraceStats {
    size_t threads = 0;
    size_t blocked = 0;  // threads written as blocked (a mutex, a join, a futex word)
    bool everyThreadBlocked = false; // every thread in an untimed wait and no signal handler: certain
};

// waits[i] is snap.threads[i]'s. Writes the compacted trace to outPath (through a temporary file
// beside it). Throws TraceError when it cannot be written.
SnapshotTraceStats writeSnapshotTrace(const ProcessSnapshot& snap, const std::vector<BlockedWait>& waits,
                                      const std::string& outPath);

} // namespace ravel
