// The SARIF 2.1.0 report (`ravel report --format sarif`), in the form GitHub code scanning
// accepts: one rule per finding kind, file locations relative to the repository root
// (%SRCROOT%), the whole call stacks as code flows, and partialFingerprints so a finding keeps its
// identity across runs. docs/report-format.md describes the mapping.
#pragma once

#include "report/report_json.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ravel {

// The root SARIF paths are relative to: the git top-level of `dir` (the nearest ancestor holding
// .git), else `dir` itself. Absolute and normalized.
std::string sarifSourceRoot(const std::string& dir);

// The repository-relative URI of a source file, or "" when the file does not exist under the root.
// A relative `file` is taken relative to `cwd` (the symbolizer shows files under the current
// directory that way).
std::string sarifRelativeUri(const std::string& file, const std::string& root, const std::string& cwd);

nlohmann::ordered_json renderReportSarif(const std::vector<NumberedFinding>& findings, const TraceReader& trace,
                                         Symbolizer& sym, const ReportContext& ctx, const std::string& root,
                                         const std::string& cwd);

// One result for a finding kept in the run's findings file (report/run_findings.hpp: a deadlock
// across processes), in the shape of the others; `trace` and `sym` are only for paths.
nlohmann::ordered_json renderStoredFindingSarif(const nlohmann::ordered_json& finding, size_t number,
                                                const TraceReader& trace, Symbolizer& sym, const std::string& root,
                                                const std::string& cwd);

} // namespace ravel
