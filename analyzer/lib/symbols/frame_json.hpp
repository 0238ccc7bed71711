// A symbolized frame as every JSON output writes it (docs/report-format.md, "frame"): function,
// file, line and module (null when unknown), the address in hex, and `inlined` when it is.
#pragma once

#include "symbols/symbolizer.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace ravel {

inline nlohmann::ordered_json frameJson(const Frame& fr)
{
    nlohmann::ordered_json j;
    j["function"] = fr.function;
    j["file"] = fr.file.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(fr.file);
    j["line"] = fr.line ? nlohmann::ordered_json(fr.line) : nlohmann::ordered_json(nullptr);
    j["module"] = fr.module.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(fr.module);
    j["address"] = fmt::format("0x{:x}", fr.address);
    if (fr.inlined)
        j["inlined"] = true;
    return j;
}

} // namespace ravel
