// Perfetto export: a recorded run as Chrome trace-event JSON, the format ui.perfetto.dev and
// chrome://tracing open, so a run can be looked at (and shared) in the tools people already have.
//
// What is written, per process of the trace:
// - metadata: process and thread names ("T2 philosopher") and sort indices (by ravel id);
// - on each thread's track, the blocked intervals as complete ("X") slices named by what the
//   thread waits on: "lock forks[3]", "read lock cache", "join T3 worker", "cond wait ready", ...;
// - each lock hold as an async slice ("b"/"e", category "lock", one id per hold, named by the
//   object), so every lock gets a lane of who held it, and overlapping holds (readers,
//   hand-over-hand locking) stack instead of being cut;
// - each handoff (a release that let a waiting thread take the lock) as a flow ("s" -> "f")
//   between a zero-length "unlock X" slice on the releasing thread and an "acquired X" slice on
//   the waiter: a flow binds to the slice its thread has open, so each end gets its own;
// - each finding as a global instant at its time ("deadlock (certain): ...").
//
// The JSON is streamed through a buffer into the file: memory stays bounded by the model, not by
// the output (tens of bytes per event, hundreds of MB for a big trace).
#pragma once

#include "base/finding.hpp"

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace ravel {

class GraphNaming;
class ReplayModel;

struct PerfettoStats {
    uint64_t events = 0; // trace events written (metadata included)
    uint64_t bytes = 0; // bytes written
    uint64_t waits = 0; // blocked slices
    uint64_t holds = 0; // hold slices
    uint64_t flows = 0; // flows (each an "s" and an "f")
    uint64_t findings = 0; // finding instants
};

// Writes the whole model to `out`. `findings` are numbered from 1 in the order given (report
// order). Throws std::runtime_error when writing fails (the caller names the file).
PerfettoStats writePerfettoJson(
    const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming, std::FILE* out);

// The name of a blocked slice for a wait on an object of `objKind` (RAVEL_OBJ_*) with the
// request's flags: "lock", "read lock", "cond wait", "join", "sem wait", ... followed by the name.
std::string blockedSliceName(unsigned flags, const std::string& objectName);

} // namespace ravel
