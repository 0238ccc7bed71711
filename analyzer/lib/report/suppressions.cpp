#include "report/suppressions.hpp"

#include "report/report_json.hpp"
#include "trace/trace_reader.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fnmatch.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ravel {

namespace {

std::string trim(const std::string& s)
{
    size_t b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos)
        return {};
    size_t e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

void addUnique(std::vector<std::string>& out, std::string s)
{
    if (!s.empty() && std::find(out.begin(), out.end(), s) == out.end())
        out.push_back(std::move(s));
}

} // namespace

const std::vector<std::string>& findingKinds()
{
    static const std::vector<std::string> kinds = {
        "deadlock",         "potential-deadlock", "lock-order-inversion", "misuse",
        "unordered-misuse", "blocked-at-exit",    "data-race",
    };
    return kinds;
}

Suppressions Suppressions::parse(const std::string& text, const std::string& fileName)
{
    Suppressions out;
    std::istringstream in(text);
    size_t lineNo = 0;
    for (std::string raw; std::getline(in, raw);) {
        lineNo++;
        // A '#' anywhere starts a comment: no kind, function, file or variable name contains one.
        std::string line = trim(raw.substr(0, raw.find('#')));
        if (line.empty())
            continue;
        auto fail = [&](const std::string& what) {
            return SuppressionError(fmt::format("{}:{}: {}", fileName, lineNo, what));
        };
        size_t colon = line.find(':');
        if (colon == std::string::npos)
            throw fail(fmt::format("'{}' is not kind:pattern (e.g. deadlock:transfer)", line));
        SuppressionRule rule;
        rule.kind = trim(line.substr(0, colon));
        rule.pattern = trim(line.substr(colon + 1));
        rule.line = lineNo;
        const auto& kinds = findingKinds();
        if (rule.kind != "*" && std::find(kinds.begin(), kinds.end(), rule.kind) == kinds.end())
            throw fail(fmt::format("unknown kind '{}' (one of {}, or *)", rule.kind, fmt::join(kinds, ", ")));
        if (rule.pattern.empty())
            throw fail(fmt::format("no pattern after '{}:'", rule.kind));
        out.m_rules.push_back(std::move(rule));
    }
    return out;
}

Suppressions Suppressions::load(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw SuppressionError(fmt::format("{}: cannot read the suppressions: {}", path, std::strerror(errno)));
    std::ostringstream text;
    text << in.rdbuf();
    return parse(text.str(), path);
}

const SuppressionRule* Suppressions::match(const std::string& kind, const std::vector<std::string>& names)
{
    for (SuppressionRule& r : m_rules) {
        if (r.kind != "*" && r.kind != kind)
            continue;
        for (const std::string& n : names) {
            if (fnmatch(r.pattern.c_str(), n.c_str(), 0) == 0) {
                r.hits++;
                return &r;
            }
        }
    }
    return nullptr;
}

std::vector<std::string> suppressionCandidates(const Finding& f, const TraceReader& trace, Symbolizer& sym)
{
    std::vector<std::string> out;
    for (uint32_t stack : findingStacks(f)) {
        for (const Frame& fr : reportFrames(stack, trace, sym)) {
            addUnique(out, fr.function);
            // "Account::transfer(Account&, long)" is written "Account::transfer" in a rule.
            size_t paren = fr.function.find('(');
            if (paren != std::string::npos && paren > 0)
                addUnique(out, fr.function.substr(0, paren));
            addUnique(out, fr.file);
            size_t slash = fr.file.rfind('/');
            if (slash != std::string::npos)
                addUnique(out, fr.file.substr(slash + 1));
        }
    }
    for (const FindingObject& o : f.objects)
        addUnique(out, o.name);
    return out;
}

} // namespace ravel
