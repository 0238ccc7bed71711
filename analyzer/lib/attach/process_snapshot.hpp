// ProcessSnapshot: one instant of a live process that runs without ravel (`ravel attach PID`), or
// of a core file (`ravel attach --core FILE`).
// What can be read without stopping anything is read first (/proc/PID/task/*/syscall and stat, the
// memory map); then each thread is stopped only as long as its stack takes to unwind
// (PTRACE_SEIZE + PTRACE_INTERRUPT, elfutils' libdwfl on the process's own CFI), and let go with
// PTRACE_DETACH: a thread that was running runs on, one blocked in the kernel is back in its call
// (docs/cli.md lists the calls that return EINTR after such a stop). Nothing is ever left stopped.
#pragma once

#include "attach/kernel_tasks.hpp"
#include "trace/trace_reader.hpp"

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace ravel {

// The process cannot be read at all: it does not exist, or ptrace is refused. what() is one line
// that says what and where (the sysctl or capability when ptrace is refused).
class AttachError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct SnapshotThread {
    KernelTask task;                // what the kernel says (read before the thread was stopped)
    std::vector<uint64_t> frames;   // innermost first: the pc, then return addresses; empty when unknown
    std::string unwindError;        // why frames is empty or short, "" when it is whole
    uint64_t threadPointer = 0;     // fs_base: glibc's struct pthread of the thread, its pthread_t (0 unknown)
};

struct ProcessSnapshot {
    uint32_t pid = 0;
    std::string program;            // /proc/PID/exe
    std::vector<std::string> argv;  // /proc/PID/cmdline
    std::vector<Module> modules;    // every ELF file mapped, with its load bias
    std::vector<SnapshotThread> threads; // the main thread first, then by kernel tid
    bool signalHandlers = true;     // some signal has a handler (SigCgt): it could post or signal
    uint64_t realTimeNs = 0;        // CLOCK_REALTIME when the snapshot was taken
    std::vector<std::string> warnings;
    // Reads the target's memory at that instant: process_vm_readv on a live process, the PT_LOAD
    // segments of a core file. False when any byte is unreadable.
    std::function<bool(uint64_t addr, void* out, size_t len)> readMemory;
    bool fromCore = false;
};

// Reads process `pid`. Throws AttachError when it does not exist or cannot be traced.
ProcessSnapshot snapshotProcess(uint32_t pid);

// Reads a core file (a crash's, or gcore's of a hung process) the same way: the threads and their
// registers from its notes, stacks unwound by libdwfl from its memory, the modules from its file
// note (found on this machine), `program` when the core's own path to it is not the right one
// ("" to take the core's). Throws AttachError when it is no readable core file.
ProcessSnapshot snapshotCore(const std::string& corePath, const std::string& program);

} // namespace ravel
