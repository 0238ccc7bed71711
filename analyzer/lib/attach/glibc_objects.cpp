#include "attach/glibc_objects.hpp"

#include "symbols/symbolizer.hpp"

#include <fmt/format.h>

#include <linux/futex.h>
#include <sys/syscall.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string_view>

namespace ravel {

namespace {

// glibc 2.36, x86_64: struct __pthread_mutex_s (sysdeps/x86/nptl/bits/struct_mutex.h).
struct Mutex236 {
    int32_t lock;     // the futex word: 0 free, 1 locked, 2 locked with waiters
    uint32_t count;
    int32_t owner;    // kernel tid of the holder
    uint32_t nusers;
    int32_t kind;     // PTHREAD_MUTEX_* | PTHREAD_MUTEX_ROBUST_NORMAL_NP (16), PI (32), PP (64), ELISION flags
};
static_assert(sizeof(Mutex236) == 20);
constexpr int32_t kMutexKindMask = 0x3;            // PTHREAD_MUTEX_KIND_MASK_NP
constexpr int32_t kMutexKnownFlags = 0x3 | 16 | 32 | 64 | 128 | 256 | 512;
constexpr int32_t kMutexPshared = 128;      // PTHREAD_MUTEX_PSHARED_BIT: the owner may be another process's

// glibc 2.36, x86_64: struct __pthread_rwlock_arch_t (sysdeps/nptl/bits/struct_rwlock.h).
struct Rwlock236 {
    uint32_t readers;       // bit 0 WRPHASE, bit 1 WRLOCKED, bit 2 RWAITING, readers << 3
    uint32_t writers;
    uint32_t wrphaseFutex;  // offset 8: readers wait here for a write phase to end
    uint32_t writersFutex;  // offset 12: writers wait here for the writer holding it
    uint32_t pad3, pad4;
    int32_t curWriter;      // offset 24: kernel tid of the writer holding it
    int32_t shared;
    uint8_t rest[24];
};
static_assert(sizeof(Rwlock236) == 56);
constexpr uint32_t kRwlockWrlocked = 2;

// glibc 2.36: struct pthread_barrier (nptl/pthreadP.h); waiters sleep on current_round.
struct Barrier236 {
    uint32_t in;            // arrivals so far (over the rounds)
    uint32_t currentRound;  // offset 4: the futex word
    uint32_t count;         // parties
    int32_t shared;
    uint32_t out;
};
static_assert(sizeof(Barrier236) == 20);

// glibc 2.36: struct __pthread_cond_s (sysdeps/nptl/bits/thread-shared-types.h). Waiters sleep on
// __g_signals[g] of their group g; the object is 8-aligned (64-bit counters), so the word's
// alignment tells the group: offset 40 is group 0, offset 44 group 1.
struct Cond236 {
    uint64_t wseq;
    uint64_t g1Start;
    uint32_t gRefs[2];
    uint32_t gSize[2];
    uint32_t g1OrigSize;
    uint32_t wrefs;       // waiters << 3 | flags
    uint32_t gSignals[2]; // offset 40: the futex words
};
static_assert(sizeof(Cond236) == 48);

bool stackMentions(const std::vector<Frame>& frames, std::initializer_list<std::string_view> names)
{
    for (const Frame& f : frames)
        for (std::string_view n : names)
            if (f.function.find(n) != std::string::npos)
                return true;
    return false;
}

const SnapshotThread* threadByTid(const ProcessSnapshot& snap, uint32_t tid)
{
    for (const SnapshotThread& t : snap.threads)
        if (t.task.osTid == tid)
            return &t;
    return nullptr;
}

std::string syscallName(long nr)
{
    switch (nr) {
    case SYS_nanosleep: return "nanosleep";
    case SYS_clock_nanosleep: return "clock_nanosleep";
    case SYS_read: return "read";
    case SYS_write: return "write";
    case SYS_poll: return "poll";
    case SYS_ppoll: return "ppoll";
    case SYS_select: return "select";
    case SYS_pselect6: return "pselect6";
    case SYS_epoll_wait: return "epoll_wait";
    case SYS_epoll_pwait: return "epoll_pwait";
    case SYS_accept: return "accept";
    case SYS_accept4: return "accept4";
    case SYS_recvfrom: return "recvfrom";
    case SYS_recvmsg: return "recvmsg";
    case SYS_wait4: return "wait4";
    case SYS_waitid: return "waitid";
    case SYS_pause: return "pause";
    case SYS_rt_sigsuspend: return "rt_sigsuspend";
    case SYS_rt_sigtimedwait: return "rt_sigtimedwait";
    case SYS_futex: return "futex";
    default: return fmt::format("system call {}", nr);
    }
}

} // namespace

std::string glibcVersion(const std::vector<Module>& modules)
{
    for (const Module& m : modules) {
        std::string_view base = m.path;
        if (size_t slash = base.rfind('/'); slash != std::string_view::npos)
            base.remove_prefix(slash + 1);
        if (!base.starts_with("libc.so") && !base.starts_with("libc-"))
            continue;
        std::ifstream f(m.path, std::ios::binary);
        std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
        // "GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36."
        static constexpr std::string_view marker = "release version ";
        for (size_t at = data.find(marker); at != std::string::npos; at = data.find(marker, at + 1)) {
            size_t start = at + marker.size(), end = start;
            while (end < data.size() && (std::isdigit(static_cast<unsigned char>(data[end])) || data[end] == '.'))
                end++;
            while (end > start && data[end - 1] == '.')
                end--;
            if (end > start)
                return data.substr(start, end - start);
        }
        return "";
    }
    return "";
}

bool glibcLayoutKnown(const std::string& version)
{
#if defined(__x86_64__)
    return version == "2.36";
#else
    (void)version;
    return false;
#endif
}

BlockedWait decodeWait(const ProcessSnapshot& snap, const SnapshotThread& t, Symbolizer& sym, bool layoutKnown)
{
    BlockedWait w;
    const KernelTask& k = t.task;
    if (k.syscall == -2) {
        w.why = "running";
        return w;
    }
    if (k.syscall != SYS_futex) {
        w.why = k.syscall == -1 ? "blocked outside a system call" : syscallName(k.syscall);
        return w;
    }
    long cmd = long(k.args[1]) & ~long(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);
    if ((cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET) || k.args[3] != 0) {
        w.why = "a timed futex wait";
        return w;
    }
    uint64_t word = k.args[0];
    w.kind = BlockedKind::Futex;
    w.object = word;
    w.futexValue = uint32_t(k.args[2]);
    if (!layoutKnown) {
        w.why = "the glibc of the process is not one whose object layouts ravel decodes";
        return w;
    }
    std::vector<Frame> frames = t.frames.empty() ? std::vector<Frame> {} : sym.symbolizeStack(t.frames, true);

    // pthread_join: glibc waits on the joined thread's tid word for as long as it holds the tid.
    if (stackMentions(frames, { "pthread_join", "pthread_clockjoin", "pthread_timedjoin", "clockjoin_ex" })) {
        if (const SnapshotThread* joined = threadByTid(snap, w.futexValue); joined && joined != &t) {
            w.kind = BlockedKind::Join;
            w.ownerTid = joined->task.osTid;
            w.object = joined->threadPointer;
            return w;
        }
    }

    // pthread_rwlock_rdlock waits on __wrphase_futex, pthread_rwlock_wrlock on __writers_futex, for
    // the writer in __cur_writer. Held by readers only, the holders are not in the object: then it
    // stays a futex word.
    bool rdlock = stackMentions(frames, { "pthread_rwlock_rdlock", "pthread_rwlock_timedrdlock",
                                          "pthread_rwlock_clockrdlock" });
    bool wrlock = !rdlock && stackMentions(frames, { "pthread_rwlock_wrlock", "pthread_rwlock_timedwrlock",
                                                     "pthread_rwlock_clockwrlock" });
    if (rdlock || wrlock) {
        uint64_t base = word - (rdlock ? 8 : 12);
        Rwlock236 rw {};
        if (snap.readMemory && snap.readMemory(base, &rw, sizeof rw) && (rw.readers & kRwlockWrlocked)
            && rw.curWriter > 0 && threadByTid(snap, uint32_t(rw.curWriter))) {
            w.kind = BlockedKind::Rwlock;
            w.object = base;
            w.ownerTid = uint32_t(rw.curWriter);
            w.shared = rdlock;
            return w;
        }
        w.why = fmt::format("unknown object at 0x{:x} (an rwlock held by readers, or one whose writer is gone)", word);
        return w;
    }

    if (stackMentions(frames, { "pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait" })) {
        uint64_t base = word - ((word & 7) == 0 ? 40 : 44);
        Cond236 c {};
        if (snap.readMemory && snap.readMemory(base, &c, sizeof c) && (c.wrefs >> 3) > 0) {
            w.kind = BlockedKind::Cond;
            w.object = base;
            w.parties = c.wrefs >> 3;
            return w;
        }
    }

    if (stackMentions(frames, { "pthread_barrier_wait" })) {
        Barrier236 b {};
        if (snap.readMemory && snap.readMemory(word - 4, &b, sizeof b) && b.count > 0 && b.currentRound == w.futexValue) {
            w.kind = BlockedKind::Barrier;
            w.object = word - 4;
            w.parties = b.count;
            return w;
        }
    }

    // pthread_mutex_lock of a normal, recursive, error-checking or adaptive mutex: __lll_lock_wait
    // sleeps while the word is 2 (locked, waiters). The word is the mutex's first field.
    Mutex236 m {};
    bool mutexCall = stackMentions(frames, { "pthread_mutex_lock", "lll_lock_wait", "pthread_mutex_clocklock",
                                             "pthread_mutex_timedlock" });
    if (snap.readMemory && snap.readMemory(word, &m, sizeof m) && (mutexCall || w.futexValue == 2)) {
        bool plausible = (m.kind & ~kMutexKnownFlags) == 0 && (m.kind & kMutexKindMask) <= 3 && m.lock != 0
            && m.owner > 0 && threadByTid(snap, uint32_t(m.owner));
        if (plausible) {
            w.kind = BlockedKind::Mutex;
            w.ownerTid = uint32_t(m.owner);
            return w;
        }
        if (mutexCall && m.owner > 0 && !threadByTid(snap, uint32_t(m.owner)) && !(m.kind & kMutexPshared)
            && (m.kind & ~kMutexKnownFlags) == 0) {
            w.kind = BlockedKind::Mutex;
            w.ownerTid = uint32_t(m.owner); // a holder that is no thread of the process: it exited holding it
            return w;
        }
    }
    w.why = fmt::format("unknown object at 0x{:x}", word);
    return w;
}

} // namespace ravel
