#include "base/lock_class.hpp"

#include <cctype>

namespace ravel {

namespace {

bool isDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }
bool isHexDigit(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

// An index ravel or the program printed: decimal, or hex with 0x ("slots[0x1f]").
bool isIndex(const std::string& s, size_t from, size_t to)
{
    if (from >= to)
        return false;
    if (to - from > 2 && s[from] == '0' && (s[from + 1] == 'x' || s[from + 1] == 'X')) {
        for (size_t i = from + 2; i < to; i++)
            if (!isHexDigit(s[i]))
                return false;
        return true;
    }
    for (size_t i = from; i < to; i++)
        if (!isDigit(s[i]))
            return false;
    return true;
}

// Names with no variable or site behind them: an address ("0x55d0a040", "0x55d0a040 #2") or an
// object the model does not know ("object #12").
bool isAddressName(const std::string& name)
{
    return name.rfind("0x", 0) == 0 || name.rfind("object #", 0) == 0;
}

} // namespace

std::string lockClassOfName(const std::string& name)
{
    std::string out;
    out.reserve(name.size());
    for (size_t i = 0; i < name.size(); i++) {
        if (name[i] == '[') {
            size_t close = name.find(']', i + 1);
            if (close != std::string::npos && isIndex(name, i + 1, close)) {
                out += "[*]";
                i = close;
                continue;
            }
        }
        out += name[i];
    }
    // ObjectNamer numbers the second and later locks of one name ("mutex at cache.c:42 #2"): the
    // same site, so the same class. An address keeps its number: two generations at one address
    // are different locks that merely reused the memory, each its own class.
    if (!isAddressName(out)) {
        size_t hash = out.rfind(" #");
        if (hash != std::string::npos && hash + 2 < out.size()) {
            bool digits = true;
            for (size_t i = hash + 2; i < out.size(); i++)
                digits = digits && isDigit(out[i]);
            if (digits)
                out.erase(hash);
        }
    }
    return out;
}

std::string lockClassOf(const std::string& name, const std::string& firstSite)
{
    if (isAddressName(name))
        return firstSite.empty() ? name : "at " + firstSite;
    return lockClassOfName(name);
}

} // namespace ravel
