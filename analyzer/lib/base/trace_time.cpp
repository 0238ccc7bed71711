#include "base/trace_time.hpp"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>

namespace ravel {

std::string formatTraceTime(uint64_t ns)
{
    if (ns >= 1'000'000'000)
        return fmt::format("{:.3f}s", double(ns) / 1e9);
    if (ns >= 1'000'000)
        return fmt::format("{:.1f}ms", double(ns) / 1e6);
    if (ns >= 1'000)
        return fmt::format("{:.1f}us", double(ns) / 1e3);
    return fmt::format("{}ns", ns);
}

std::optional<uint64_t> parseTraceTime(const std::string& text)
{
    if (text.empty() || !(std::isdigit(static_cast<unsigned char>(text[0])) || text[0] == '.'))
        return std::nullopt;
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    std::string unit(end);
    double scale;
    if (unit == "s")
        scale = 1e9;
    else if (unit == "ms")
        scale = 1e6;
    else if (unit == "us")
        scale = 1e3;
    else if (unit == "ns")
        scale = 1;
    else if (unit == "m" || unit == "min")
        scale = 60e9;
    else
        return std::nullopt;
    double ns = value * scale;
    if (!std::isfinite(ns) || ns < 0 || ns > 1.8e19)
        return std::nullopt;
    return uint64_t(std::llround(ns));
}

} // namespace ravel
