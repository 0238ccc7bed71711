// Times on ravel's command line and in its output: offsets from the start of the trace with a
// unit ("1.25s", "1250ms", "40us", "15ns"), the same as `dump` prints and the GUI ruler shows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace ravel {

// "1.204s", "412.0ms", "35.2us", "80ns".
std::string formatTraceTime(uint64_t ns);

// Parses "1.25s", "1250ms", "40us", "15ns", "2m" (minutes). A number without a unit is refused:
// ambiguity on the command line costs more than typing the unit. nullopt when malformed.
std::optional<uint64_t> parseTraceTime(const std::string& text);

} // namespace ravel
