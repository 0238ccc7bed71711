// Condition-variable deadlock prediction (DESIGN.md, Detectors; docs/report-format.md): from a
// run that did not hang, the condition-variable hangs another schedule of the same program would
// produce. Two rules, each a `potential-deadlock` finding with both threads' stacks and the
// schedule that hangs in words:
//
// - A lost signal. T1 waited on cv with no predicate loop and no check before the wait (a bare
//   wait, read from the binary: symbols/code_shape.hpp), and the signal that woke it, by T2, was
//   the last signal on cv in the run. Had T2 signalled before T1 began to wait, nothing would
//   wake T1. Reported only when that order was possible: T2's signal did not depend on anything
//   T1 did from the start of its critical section on (the mutex's acquisition; the wait itself
//   when T2 signalled without the mutex), by the orders no schedule can change (thread create and
//   join, semaphores, barriers, messages, other signals), never by lock order.
//   The idiomatic `while (!pred) wait(cv, m)` is never reported: its signal cannot be lost,
//   since the signaller changes pred under m and the waiter checks it under m before waiting.
//
// - A waiter holding a lock its signaller needs. T1 waited on cv (untimed) while holding lock L
//   (other than the wait's mutex); T2, whose signal woke it, had taken L before signalling. Had T1
//   taken L and begun to wait before T2 took L, T2 would block on L and never signal. Reported
//   when T1's path to the wait did not depend on T2's acquisition of L or anything after it (the
//   same orders). A predicate loop does not prevent this one.
//
// Timed waits are never reported: they end by themselves. One finding per distinct pair of sites,
// with a count.
#pragma once

#include "base/finding.hpp"

#include <vector>

namespace ravel {

class ReplayModel;
class Symbolizer;

// The findings, objects unnamed (nameFindingObjects names them). A trace with no signalled
// condition-variable wait costs no pass over its events.
std::vector<Finding> condVarPredictions(const ReplayModel& model, Symbolizer& sym);

} // namespace ravel
