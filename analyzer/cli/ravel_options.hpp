// RAVEL_OPTIONS: "key=value" pairs separated by ':', ',' or spaces, later keys winning. The
// runtime reads its keys from it, and so do `ravel run` and `ravel report`.
#pragma once

#include <optional>
#include <string>

namespace ravel::cli {

// The last value of `key` in an options string, if any.
std::optional<std::string> optionValue(const std::string& options, const std::string& key);

} // namespace ravel::cli
