// What the kernel says each thread of a live process is blocked in (/proc/PID/task/TID/syscall),
// for the watchdog and `ravel attach`. For the watchdog: a thread whose board says "running" may sit in a futex wait the runtime never
// saw (a raw `futex` by inline assembly, a library that calls the system call itself). Reading
// the file needs the right to ptrace the process (ravel run is the target's parent, which Yama's
// ptrace_scope 1 allows); where it is refused, nothing is amended.
#pragma once

#include "model/thread_snapshot.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

struct KernelTask {
    uint32_t osTid = 0;
    long syscall = -2;     // the system call it is blocked in; -1 blocked outside one; -2 running or unknown
    uint64_t args[6] = {};
    char state = '?';      // /proc/PID/task/TID/stat's state: R running, S sleeping, D disk, T stopped, t traced...
    std::string name;      // comm
};

// Every task of the process, as the kernel lists it.
std::vector<KernelTask> readKernelTasks(uint32_t pid);

// The live child processes of `pid` (/proc/PID/task/*/children), by pid.
std::vector<uint32_t> childProcesses(uint32_t pid);

// The pid a task blocked in wait4 / waitid waits for: > 0 one child, -1 any child; 0 when it is
// not in such a call (x86_64 system call numbers).
long childWaitedFor(const KernelTask& t);

// Some signal of the process has a handler the program installed (/proc/PID/status SigCgt), which
// could post a semaphore or signal a condition variable. glibc's own (32, thread cancellation; 33,
// the setxid broadcast) never do and do not count. True when it cannot be read.
bool programSignalHandlers(uint32_t pid);

// Marks the threads of `sample` that the boards show running but the kernel shows in an untimed
// FUTEX_WAIT / FUTEX_WAIT_BITSET as blocked on that futex word (blockedStack 0: no stack was
// recorded for it; blockedSinceNs = nowNs, the sample that saw it). Returns how many were marked.
size_t applyKernelWaits(std::vector<ThreadSnapshot>& sample, const std::vector<KernelTask>& tasks, uint64_t nowNs);

} // namespace ravel
