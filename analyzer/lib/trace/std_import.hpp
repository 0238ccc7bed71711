// Import of STD traces, the text format of the deadlock- and race-prediction literature (RAPID,
// SPDOffline, ...): one event per line, `thread|op(arg)|loc`, recorded from Java programs. The
// mapping to ravel events is documented in docs/cli.md ("import"); the points that matter:
// Java monitors are reentrant (nested acq/rel pairs of a held monitor are folded into the
// outermost one), `fork(t)` creates t, `req(l)` is the blocking request of the next `acq(l)`,
// `wait(l)` releases l until the thread's next event, and `loc` becomes a one-frame stack.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace ravel {

// A line that is not STD, or an event that cannot happen in a Java run (an event of a thread after
// it was joined, ...). what() is one line: "<file>:<line>: <what is wrong>".
class StdImportError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct StdImportStats {
    uint64_t lines = 0;            // lines read, blank ones included
    uint64_t events = 0;           // ravel events written (TIME records excluded)
    uint32_t threads = 0;
    uint32_t locks = 0;
    uint32_t locations = 0;        // distinct `loc` values, one stack each
    uint64_t acquisitions = 0;     // outermost acquisitions (ACQUIRED events, reacquisitions after wait included)
    uint64_t nestedAcquisitions = 0; // reentrant acq of a monitor already held, folded
    uint64_t releasedWaits = 0;    // waits written rel(l), wait(l), req/acq(l) (the released dialect)
    uint64_t memoryAccesses = 0;   // r/w: counted, not recorded yet
    uint64_t atomicBlocks = 0;     // begin/end: counted, not recorded yet
    uint32_t blockedAtEnd = 0;     // threads left waiting when the trace ends (then the run did not end)
};

// Reads `stdPath` line by line and writes the compacted ravel trace `outPath`. `displayName` is how
// errors name the input (the path as the user typed it). Nothing is left at outPath on failure.
// Throws StdImportError for bad input, TraceError when a file cannot be read or written.
StdImportStats importStd(const std::string& stdPath, const std::string& outPath, const std::string& displayName);

} // namespace ravel
