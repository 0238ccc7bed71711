// The text report: what a person reads on stderr when `ravel run` ends, and what
// `ravel report --format text` prints. It reads like a sanitizer report but shows the whole
// cycle: every thread in it, what it waits for since when and who holds that, what it holds and
// where it took it, with symbolized stacks.
#pragma once

#include "base/finding.hpp"
#include "base/trace_time.hpp"

#include <string>
#include <vector>

namespace ravel {

class Symbolizer;
class TraceReader;

struct TextReportOptions {
    unsigned maxFrames = 8;  // frames printed per stack
    bool color = false;      // ANSI colors (a terminal)
};

// One finding, numbered `number` (from 1, in report order).
std::string renderFindingText(const Finding& f, size_t number, const TraceReader& trace, Symbolizer& sym,
                              const TextReportOptions& opt = {});

} // namespace ravel
