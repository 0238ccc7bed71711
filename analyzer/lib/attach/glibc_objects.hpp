// What a thread of a process read without ravel is blocked on, decoded from its blocking system
// call and the glibc object at the futex address (docs/cli.md, "ravel attach"). Only layouts this
// file knows are decoded: glibc 2.36 on x86_64 (Debian 12). With another glibc a futex wait stays
// "a futex word" whose wakers are presumed (any other thread), never a guessed owner.
#pragma once

#include "attach/process_snapshot.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace ravel {

class Symbolizer;

enum class BlockedKind : uint8_t {
    Running,  // on a CPU, or in a call that ends by itself (a sleep, a timed wait) or by outside input
    Mutex,    // pthread_mutex_lock (std::mutex): waits for the owner
    Join,     // pthread_join (std::thread::join): waits for the joined thread's exit
    Rwlock,   // pthread_rwlock_rdlock / wrlock while a writer holds it: waits for that writer
    Barrier,  // pthread_barrier_wait: waits for the parties still to arrive (any other thread may)
    Cond,     // pthread_cond_wait (std::condition_variable::wait): waits for a signal (any other thread may)
    Futex,    // an untimed futex wait on a word it could not decode: any other thread may wake it
};

struct BlockedWait {
    BlockedKind kind = BlockedKind::Running;
    uint64_t object = 0;    // the mutex, the joined thread's pthread_t, the futex word
    uint32_t ownerTid = 0;  // Mutex: __owner; Rwlock: __cur_writer; Join: the joined thread's kernel tid
    bool shared = false;    // Rwlock: a read lock is asked for
    uint32_t parties = 0;   // Barrier: its count; Cond: the waiters glibc counts (__wrefs >> 3)
    uint32_t futexValue = 0; // the value the futex wait expected
    std::string why;        // Running: what it was doing ("nanosleep", "read"); Futex: why not decoded
};

// The glibc release of the process ("2.36"), read from the version string in its libc.so.6; "" when
// there is no libc or no such string.
std::string glibcVersion(const std::vector<Module>& modules);

// True when this file decodes that release's object layouts.
bool glibcLayoutKnown(const std::string& version);

// One thread's wait. `layoutKnown`: glibcLayoutKnown of the process's glibc.
BlockedWait decodeWait(const ProcessSnapshot& snap, const SnapshotThread& t, Symbolizer& sym, bool layoutKnown);

} // namespace ravel
