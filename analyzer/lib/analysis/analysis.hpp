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

class RunAnalysis;
class Symbolizer;
class TraceReader;

struct AnalysisOptions {
    bool lockOrder = true;
};

// Runs the detectors on a run's models and names every object of every finding.
std::vector<Finding> analyzeTrace(const RunAnalysis& run, Symbolizer& sym, const AnalysisOptions& opt = {});

// Fills FindingObject::name: threads by their ravel id and name, other objects by the variable at
// their address, else by the site of the stack that used them in this finding.
void nameFindingObjects(Finding& f, const TraceReader& trace, Symbolizer& sym);

// True for findings that make `ravel run` / `ravel report` exit with the error exit code.
bool isError(const Finding& f);

} // namespace ravel
