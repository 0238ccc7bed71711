// CodeShapes: what the machine code around a condition-variable wait does, read from the
// program's own binary (LLVM's x86-64 disassembler). The condition-variable predictor asks it one
// question: is this wait inside a predicate loop (`while (!ready) wait(cv, m)`), or guarded by a
// check (`if (!ready) wait(...)`), or bare (a wait that trusts the signal to come after it)?
//
// The rule, per frame of the wait's stack that is the program's own code (innermost first, up to
// the function that also took the wait's mutex):
// - a loop: a branch after the call's return address jumps back to the call or before it, but
//   not before the return address of the mutex's lock call when that function took it (a loop
//   that takes the mutex again is a worker loop, not a predicate loop);
// - a guard: a conditional branch between the lock call and the wait call that jumps past the
//   wait call.
// A wait with neither in any of those frames is bare. Anything that cannot be read (no symbol
// table, a module changed since the run, not x86-64, a stack that leaves the program's code
// before reaching the mutex's function) is Unknown, and the predictor reports nothing for it.
#pragma once

#include "trace/trace_reader.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ravel {

class Symbolizer;

enum class WaitShape : uint8_t { Unknown = 0, Loop, Guarded, Bare };

const char* waitShapeName(WaitShape s); // "unknown", "loop", "guarded", "bare"

class CodeShapes {
public:
    // The symbolizer opens the modules (and checks they did not change since the run).
    explicit CodeShapes(Symbolizer& sym);
    ~CodeShapes();
    CodeShapes(const CodeShapes&) = delete;
    CodeShapes& operator=(const CodeShapes&) = delete;

    // waitFrames: the wait's stack (return addresses, innermost first); lockFrames: the stack of
    // the acquisition of the wait's mutex that began the critical section (may be empty).
    WaitShape waitShape(const std::vector<uint64_t>& waitFrames, const std::vector<uint64_t>& lockFrames);

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace ravel
