#include "base/finding.hpp"

namespace ravel {

const char* verdictName(Verdict v)
{
    switch (v) {
    case Verdict::Certain:
        return "certain";
    case Verdict::Likely:
        return "likely";
    default:
        return "";
    }
}

} // namespace ravel
