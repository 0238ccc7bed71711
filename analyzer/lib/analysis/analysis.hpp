// analyzeTrace: every finding of a recorded run, in report order (DESIGN.md's verdict table):
// deadlocks (the one the watchdog saw, or the one in force when the trace ends), potential
// deadlocks, data races (later), misuse, then notes (lock-order inversions within one thread,
// threads blocked at exit). Findings are numbered from 1 in this order everywhere: the text
// report, JSON, SARIF, `ravel graph --finding N` and the GUI.
#pragma once

#include "base/finding.hpp"

#include <string>
#include <vector>

namespace ravel {

class ReplayModel;
class Symbolizer;
class TraceReader;

struct AnalysisOptions {
    bool lockOrder = true;
};

// Runs the analyses on a built model and names every object of every finding.
std::vector<Finding> analyzeTrace(const ReplayModel& model, Symbolizer& sym, const AnalysisOptions& opt = {});

// True for findings that make `ravel run` / `ravel report` exit with the error exit code.
bool isError(const Finding& f);

} // namespace ravel
