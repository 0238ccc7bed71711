// The JSON report (`ravel report --format json`), documented in docs/report-format.md with its
// schema in docs/report.schema.json. Also the pieces every structured output shares: the stacks
// of a finding as frames, cut the way the text report cuts them.
#pragma once

#include "base/finding.hpp"
#include "symbols/symbolizer.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

class TraceReader;

inline constexpr int kReportSchemaVersion = 1;

// A finding with its number in report order (from 1). Suppressed findings leave gaps: the numbers
// of the rest never change, so "finding 3" means the same thing to `ravel graph --finding 3`.
struct NumberedFinding {
    size_t number = 0;
    const Finding* finding = nullptr;
};

// What the structured formats say besides the findings.
struct ReportContext {
    std::string tracePath;      // as the user gave it
    std::string toolVersion;
    size_t suppressed = 0;
    std::vector<std::string> warnings;
};

// A recorded stack symbolized, innermost first, without what lies below main or a thread's start
// routine (the C library starting things). Empty when the stack is unknown.
std::vector<Frame> reportFrames(uint32_t stack, const TraceReader& trace, Symbolizer& sym);

// Every stack id a finding mentions (waits, holds, misuse sites, lock-order edges), each once.
std::vector<uint32_t> findingStacks(const Finding& f);

// The whole report, fields in documented order.
nlohmann::ordered_json renderReportJson(const std::vector<NumberedFinding>& findings, const TraceReader& trace,
                                        uint64_t events, Symbolizer& sym, const ReportContext& ctx);

} // namespace ravel
