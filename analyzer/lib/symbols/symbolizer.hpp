// Symbolizer: runtime addresses of a recorded process -> functions, source lines and variables,
// offline, from the module map the runtime recorded (LLVM's Symbolize library does the DWARF and
// symbol-table work). Results are cached per address: a trace repeats the same few hundred call
// sites millions of times.
#pragma once

#include "trace/trace_reader.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm::object {
class ObjectFile;
}

namespace ravel {

struct Frame {
    std::string function; // demangled; "module+0xoffset" when nothing better is known
    std::string file;     // as shown to the user: relative to the current directory when under it
    uint32_t line = 0;    // 0 = unknown
    uint32_t column = 0;
    std::string module;   // path of the module, empty when the address is in none
    uint64_t address = 0; // the runtime address as recorded (a return address for callers)
    bool inlined = false; // an inlined call inside the next (outer) frame, same address
};

struct DataSymbol {
    std::string name;     // demangled; static locals read "func()::var" (C++) or "func::var" (C)
    uint64_t start = 0;   // runtime address of the variable
    uint64_t size = 0;
    std::string file;     // where it is declared, when debug info says
    uint32_t line = 0;
};

class Symbolizer {
public:
    explicit Symbolizer(std::vector<Module> modules);
    ~Symbolizer();
    Symbolizer(const Symbolizer&) = delete;
    Symbolizer& operator=(const Symbolizer&) = delete;

    // The code at exact address pc, inlined frames expanded, innermost first. Never empty.
    const std::vector<Frame>& symbolizeCode(uint64_t pc);
    // A recorded stack (innermost first). Every frame but the first is a return address and is
    // looked up at addr-1 (inside the call instruction, so the line is the call's, not the next
    // statement's); the first frame too unless firstIsPc.
    std::vector<Frame> symbolizeStack(const std::vector<uint64_t>& frames, bool firstIsPc = false);
    // The global or static variable that contains addr, if the module's symbols know one.
    std::optional<DataSymbol> symbolizeData(uint64_t addr);

    // The display name of a synchronization object (DESIGN.md, "Object names"), without the "#2"
    // disambiguation (see ObjectNamer): "account_a", "forks[3]", "table+0x8", "cache()::lock",
    // else "<kind> at file:line" of the first user frame of firstUse, else "<kind> 0x<addr>".
    // accessSize: the bytes accessed there (a data race), which picks the member; 0: the
    // object kind's size.
    std::string objectName(uint64_t addr, unsigned objKind, const std::vector<Frame>& firstUse,
                           unsigned accessSize = 0);

    // The C++ type the frames that used an object show it to be ("std::mutex", "std::latch",
    // "std::atomic<int>"), or "" when they do not say.
    std::string objectType(unsigned objKind, const std::vector<Frame>& firstUse);
    // The address is a word of libstdc++'s waiter pool (a static of __waiter_pool_base::_S_for).
    bool isWaiterPoolWord(uint64_t addr);

    // The first frame that is the program's own code: not in libc, libstdc++, the ravel runtime,
    // nor inlined from system headers. nullptr when there is none.
    static const Frame* userFrame(const std::vector<Frame>& frames);
    // "file:line" (or "file", or "") of a frame, the way reports print a site.
    static std::string site(const Frame& frame);

    const Module* moduleFor(uint64_t addr) const;
    // The module's file as the run loaded it, or nullptr when it cannot be read or has changed
    // since the run (a warning says so); owned by the symbolizer.
    const llvm::object::ObjectFile* objectFile(const Module& module);
    // The C library, the C++ runtime, the dynamic loader or ravel's own runtime: never the
    // program's code.
    static bool isSystemModule(const std::string& path);
    // One line per module that could not be used (missing, unreadable, rebuilt since the run),
    // for "ravel: warning: ..." lines; filled as modules are first needed.
    const std::vector<std::string>& warnings() const;
    // A path relative to the current directory when it is under it, else unchanged.
    std::string displayPath(const std::string& path) const;

private:
    // A futex word on a thread's stack: the one variable of its type that the waiting user frame
    // declares or captures (by reference, in a lambda), from the frame's debug info; "" when
    // there is none or more than one.
    std::string localVariableName(uint64_t addr, const std::string& type, const std::vector<Frame>& firstUse);

    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

} // namespace ravel
