#include "ravel_options.hpp"

namespace ravel::cli {

std::optional<std::string> optionValue(const std::string& options, const std::string& key)
{
    std::optional<std::string> value;
    size_t at = 0;
    while (at < options.size()) {
        size_t end = options.find_first_of(":, ", at);
        if (end == std::string::npos)
            end = options.size();
        std::string token = options.substr(at, end - at);
        if (token.size() > key.size() && token.compare(0, key.size(), key) == 0 && token[key.size()] == '=')
            value = token.substr(key.size() + 1);
        at = end + 1;
    }
    return value;
}

} // namespace ravel::cli
