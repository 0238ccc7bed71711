// Suppressions: a file that silences known findings, as the sanitizers' do. One rule a line,
// `kind:pattern` (`deadlock:transfer`, `potential-deadlock:bank.c`, `misuse:account_*`,
// `*:legacy_cache_lock`); `#` starts a comment; blank lines are ignored. A finding of that kind
// (any kind for `*`) is suppressed when the glob (fnmatch) matches the function or the file of any
// frame of any of its stacks, or the name of any of its objects. docs/cli.md describes it.
#pragma once

#include "base/finding.hpp"

#include <stdexcept>
#include <string>
#include <vector>

namespace ravel {

class Symbolizer;
class TraceReader;

// A suppressions file that cannot be used. what() is one line: "FILE:LINE: what is wrong" (or
// "FILE: ..." when the file cannot be read).
class SuppressionError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SuppressionRule {
    std::string kind;    // a finding kind, or "*"
    std::string pattern; // fnmatch glob
    size_t line = 0;     // in the file, from 1
    size_t hits = 0;     // findings it suppressed
};

class Suppressions {
public:
    // Throws SuppressionError naming the first malformed line.
    static Suppressions parse(const std::string& text, const std::string& fileName);
    static Suppressions load(const std::string& path);

    // The rule that silences a finding whose candidate names (see suppressionCandidates) are
    // `names`, counting the hit; nullptr when none does. The first matching rule in file order wins.
    const SuppressionRule* match(const std::string& kind, const std::vector<std::string>& names);
    const std::vector<SuppressionRule>& rules() const { return m_rules; }
    bool empty() const { return m_rules.empty(); }

private:
    std::vector<SuppressionRule> m_rules;
};

// What a pattern is matched against: every frame's function (also without its parameter list) and
// file (also its base name, so `bank.c` matches `examples/bank.c`), and every object's name.
std::vector<std::string> suppressionCandidates(const Finding& f, const TraceReader& trace, Symbolizer& sym);

// The finding kinds a rule may name.
const std::vector<std::string>& findingKinds();

} // namespace ravel
