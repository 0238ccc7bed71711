// Perfetto export: a recorded run in Perfetto's protobuf trace format (compact: what a big run
// needs) or as Chrome trace-event JSON (the format chrome://tracing opens too), so a run can be
// looked at (and shared) in the tools people already have. Both hold the same content.
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
// In the protobuf format each lock gets a track of its own under its process (lanes of one name,
// which the viewer merges, where holds overlap), findings a "findings" track; names and argument
// keys are interned. perfetto/perfetto_trace_subset.proto lists every field written.
//
// Both are streamed through a buffer into the file: memory stays bounded by the model, not by
// the output. A time window keeps what overlaps it: slices are cut at its edges, instants and
// flows (both ends) must lie inside.
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
    uint64_t events = 0; // trace events (JSON, metadata included) or packets (protobuf) written
    uint64_t bytes = 0; // bytes written
    uint64_t waits = 0; // blocked slices
    uint64_t holds = 0; // hold slices
    uint64_t flows = 0; // flows (each an "s" and an "f")
    uint64_t findings = 0; // finding instants
};

enum class PerfettoFormat { Json, Proto };

struct PerfettoOptions {
    PerfettoFormat format = PerfettoFormat::Json;
    uint64_t fromNs = 0; // the window, in ns from the start of the trace
    uint64_t toNs = UINT64_MAX;
};

// The format an output's name asks for: Proto for ".pftrace" and ".perfetto-trace", else Json.
PerfettoFormat perfettoFormatFor(const std::string& path);

// Writes the model to `out` in the format and window of `options`.
PerfettoStats writePerfetto(const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming,
    std::FILE* out, const PerfettoOptions& options);

// Writes the whole model to `out` as JSON. `findings` are numbered from 1 in the order given (report
// order). Throws std::runtime_error when writing fails (the caller names the file).
PerfettoStats writePerfettoJson(
    const ReplayModel& model, const std::vector<Finding>& findings, GraphNaming& naming, std::FILE* out);

// The name of a blocked slice for a wait on an object of `objKind` (RAVEL_OBJ_*) with the
// request's flags: "lock", "read lock", "cond wait", "join", "sem wait", ... followed by the name.
std::string blockedSliceName(unsigned flags, const std::string& objectName);

} // namespace ravel
