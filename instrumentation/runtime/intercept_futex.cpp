// The interceptor of libc's syscall(): futex waits and wakes the program makes directly, which no
// pthread function sees. libstdc++'s C++20 waits (std::atomic<T>::wait and notify, std::latch,
// std::barrier, std::counting_semaphore) end in `syscall(SYS_futex, ...)` inlined into the
// program's own code, as do many libraries' own locks. A futex wait is recorded as a wait on the
// futex word (RAVEL_OBJ_FUTEX): WAIT_REQ on the board, the real call, then WOKEN (woken by a wake)
// or WAIT_FAIL (EAGAIN: the word had changed already; ETIMEDOUT; EINTR). A wake is SIGNAL (one
// waiter) or BROADCAST (more), written before the real wake so it precedes the WOKEN it causes.
//
// Every other system call passes straight through: syscall() is variadic and its callers pass up
// to six arguments, all in registers or the caller's frame, so reading six and forwarding six is
// what libc's own syscall() does. glibc's pthread functions use inline system calls, not this
// function, and ravel::chan makes its own: nothing here is recorded twice. A program's futex lock
// annotated with <ravel/annotate.h> is recorded as the annotated object, not again as a word.
#include "rt.hpp"

#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <sys/syscall.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(long, syscall, long, ...)

namespace {

constexpr long kCmdMask = ~long(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME);

__attribute__((noinline)) long futexWait(ThreadState* t, long* a)
{
    const void* word = reinterpret_cast<const void*>(a[0]);
    // A null timeout waits until woken; any other ends by itself, as a timed lock does.
    unsigned flags = unsigned(RAVEL_OBJ_FUTEX) | (a[3] ? unsigned(RAVEL_F_TIMED) : 0u);
    uint32_t stack = captureStackOf(t);
    markPage(word);
    // aux: the value the caller expects the word to hold (it sleeps only while it does): a
    // latch's remaining count, a semaphore's 0, the old value of an atomic's wait.
    emitStamped(t, word, RAVEL_EV_WAIT_REQ, flags, static_cast<uint32_t>(a[2]), stack);
    // The board's blocked_mutex holds the expected value for a futex wait, marked by bit 63.
    boardBlock(t, word, flags, stack, reinterpret_cast<const void*>(RAVEL_BOARD_FUTEX_VALUE | uint32_t(a[2])));
    int savedErrno = errno;
    long rc = REAL(syscall)(SYS_futex, a[0], a[1], a[2], a[3], a[4], a[5]);
    int err = errno;
    boardUnblock(t);
    if (rc == 0) {
        emitStamped(t, word, RAVEL_EV_WOKEN, flags, nextSeq(word), stack);
        raceAcquire(t, word);
        errno = savedErrno;
    } else {
        emitStamped(t, word, RAVEL_EV_WAIT_FAIL, flags, static_cast<uint32_t>(err), stack);
        errno = err;
    }
    return rc;
}

// The stack of a wake, captured once per call site and word. The call site alone would not do:
// libstdc++'s notify helpers are often one out-of-line function (__platform_notify<int>) for
// every primitive of the program, so one site would give every word the stack of the first
// caller, and the reports the wrong primitive and variable.
uint32_t wakeStack(ThreadState* t, const void* word, uint64_t pc)
{
    uint64_t key = pc ^ (reinterpret_cast<uint64_t>(word) * 0x9E3779B97F4A7C15ull);
    uint32_t slot = hashSlot(key, 9);
    if (RAVEL_LIKELY(t->site_pc[slot] == key))
        return t->site_stack[slot] | RAVEL_STACK_REUSED;
    return siteStackSlow(t, pc, slot, key);
}

__attribute__((noinline)) long futexWake(ThreadState* t, long* a, uint64_t pc)
{
    const void* word = reinterpret_cast<const void*>(a[0]);
    markPage(word);
    unsigned kind = static_cast<int>(a[2]) == 1 ? RAVEL_EV_SIGNAL : RAVEL_EV_BROADCAST;
    emit(t, word, kind, RAVEL_OBJ_FUTEX, nextSeq(word), wakeStack(t, word, pc));
    raceRelease(t, word);
    return REAL(syscall)(SYS_futex, a[0], a[1], a[2], a[3], a[4], a[5]);
}

} // namespace

RAVEL_EXPORT long syscall(long number, ...)
{
    long a[6];
    va_list ap;
    va_start(ap, number);
    for (long& x : a)
        x = va_arg(ap, long);
    va_end(ap);
    if (RAVEL_LIKELY(number != SYS_futex))
        return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    long cmd = a[1] & kCmdMask;
    bool wait = cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
    bool wake = cmd == FUTEX_WAKE || cmd == FUTEX_WAKE_BITSET;
    ThreadState* t = (wait || wake) ? enter() : nullptr;
    // A futex call that implements a wait or object ravel records already (an annotated lock's
    // or event's own word, a wait the annotation API put on the board) is not a second object.
    if (!t || (uint64_t(a[0]) & RAVEL_OBJ_MASK) == t->annotatedObj
        || (wait && __atomic_load_n(&t->entry->board.blocked_on, __ATOMIC_RELAXED) != 0))
        return REAL(syscall)(number, a[0], a[1], a[2], a[3], a[4], a[5]);
    return wait ? futexWait(t, a) : futexWake(t, a, RAVEL_CALLER_PC());
}
