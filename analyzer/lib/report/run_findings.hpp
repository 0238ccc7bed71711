// The run's findings file ("<stem>.findings.json" beside the main trace; docs/trace-format.md,
// "The run's findings file"): what `ravel run` found live that no trace's events can show again,
// a deadlock across processes through pipes, sockets, FIFOs and waits for children, read from the
// kernel at the verdict. `ravel run` appends each such finding as it reports it; `ravel report`
// shows them after every process's own findings, numbered on, in every format.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

struct StoredRunFinding {
    nlohmann::ordered_json finding; // in the JSON report's shape, without `number`
    std::string text;               // the text report's block as `ravel run` printed it, uncolored
};

struct RunFindings {
    std::vector<StoredRunFinding> findings;
    std::vector<std::string> warnings; // a damaged file or one of another run: said, then ignored
};

// The findings stored for the run whose main trace is `mainPath` and whose run id is `runId`;
// none when the run has no findings file. Never throws.
RunFindings loadRunFindings(const std::string& mainPath, uint64_t runId);

// Adds one finding to the run's file (written whole under a temporary name, then renamed, so a
// reader never sees half of it). Throws std::runtime_error with "<path>: <what>" when it cannot.
void appendRunFinding(const std::string& mainPath, uint64_t runId, const StoredRunFinding& f);

// The stored text with its headline numbered like every other finding: "==ravel== ERROR #3: ...".
std::string numberedRunFindingText(const std::string& text, size_t number);

// What a suppression rule is matched against (as suppressionCandidates): every frame's function
// (also without its parameter list) and file (also its base name), and every object's name.
std::vector<std::string> runFindingCandidates(const nlohmann::ordered_json& finding);

} // namespace ravel
