// Interceptors for semaphores (unnamed and named), barriers, pthread_once and the guards of
// function-local statics (__cxa_guard_*).
#include "rt.hpp"

#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdarg.h>
#include <time.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(int, sem_wait, sem_t*)
RAVEL_DECLARE_REAL(int, sem_trywait, sem_t*)
RAVEL_DECLARE_REAL(int, sem_timedwait, sem_t*, const struct timespec*)
RAVEL_DECLARE_REAL(int, sem_clockwait, sem_t*, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL(int, sem_post, sem_t*)
RAVEL_DECLARE_REAL(int, sem_init, sem_t*, int, unsigned)
RAVEL_DECLARE_REAL(int, sem_destroy, sem_t*)
RAVEL_DECLARE_REAL(sem_t*, sem_open, const char*, int, ...)
RAVEL_DECLARE_REAL(int, sem_close, sem_t*)
RAVEL_DECLARE_REAL(int, pthread_barrier_wait, pthread_barrier_t*)
RAVEL_DECLARE_REAL(int, pthread_barrier_init, pthread_barrier_t*, const pthread_barrierattr_t*, unsigned)
RAVEL_DECLARE_REAL(int, pthread_barrier_destroy, pthread_barrier_t*)
RAVEL_DECLARE_REAL(int, pthread_once, pthread_once_t*, void (*)(void))
RAVEL_DECLARE_REAL(int, __cxa_guard_acquire, uint64_t*)
RAVEL_DECLARE_REAL(void, __cxa_guard_release, uint64_t*)
RAVEL_DECLARE_REAL(void, __cxa_guard_abort, uint64_t*)

namespace {

struct WaitState {
    ThreadState* t;
    const void* obj;
    unsigned flags;
    uint32_t stack;
};

// sem_wait and its timed forms are cancellation points: a thread cancelled there ends its wait.
void waitCancelled(void* p)
{
    auto* s = static_cast<WaitState*>(p);
    boardUnblock(s->t);
    emitStamped(s->t, s->obj, RAVEL_EV_WAIT_FAIL, s->flags, ECANCELED, s->stack);
}

inline uint32_t initFailAux(int rc, unsigned value)
{
    return (static_cast<uint32_t>(rc) & 0xffffu) | ((value < 0xffffu ? value : 0xffffu) << 16);
}

// The blocking part of a wait on a semaphore, barrier, once or guard: WAIT_REQ on the board, the
// real call, then WOKEN or WAIT_FAIL. `ok` tells success from the real call's result.
template <typename Block, typename Ok>
auto blockingWait(ThreadState* t, const void* obj, unsigned flags, Block block, Ok ok)
{
    uint32_t stack = captureStackOf(t);
    markPage(obj);
    emitStamped(t, obj, RAVEL_EV_WAIT_REQ, flags, 0, stack);
    boardBlock(t, obj, flags, stack);
    int savedErrno = errno;
    WaitState state { t, obj, flags, stack };
    int rc = withCancelCleanup(waitCancelled, &state, block);
    int err = errno;
    boardUnblock(t);
    if (ok(rc)) {
        emitStamped(t, obj, RAVEL_EV_WOKEN, flags, nextSeq(obj), stack);
        raceAcquire(t, obj);
    } else
        emitStamped(t, obj, RAVEL_EV_WAIT_FAIL, flags, static_cast<uint32_t>(err), stack);
    errno = ok(rc) ? savedErrno : err;
    return rc;
}

// sem_wait and friends: try first, so a wait that does not block costs one record.
template <typename Block>
int semWait(ThreadState* t, sem_t* s, unsigned flags, uint64_t pc, Block block)
{
    int savedErrno = errno;
    if (REAL(sem_trywait)(s) == 0) {
        markPage(s);
        emit(t, s, RAVEL_EV_PASS, flags, nextSeq(s), siteStack(t, pc));
        raceAcquire(t, s);
        return 0;
    }
    if (errno != EAGAIN)
        return -1;
    errno = savedErrno;
    return blockingWait(t, s, flags, block, [](int rc) { return rc == 0; });
}

// pthread_once runs the init routine in the calling thread: this trampoline tells the trace that
// the thread stopped waiting and now runs it (holding the once object).
void onceTrampoline()
{
    ThreadState* t = &t_state;
    void (*fn)(void) = t->once_fn;
    const void* obj = reinterpret_cast<const void*>(t->once_obj);
    if (t->entry) {
        boardUnblock(t);
        emitStamped(t, obj, RAVEL_EV_ACQUIRED, RAVEL_OBJ_ONCE, nextSeq(obj), 0);
        boardHold(t, obj, RAVEL_OBJ_ONCE, 0);
    }
    fn();
    if (t->entry) {
        raceRelease(t, obj);
        boardRelease(t, obj);
        emitStamped(t, obj, RAVEL_EV_RELEASE, RAVEL_OBJ_ONCE, 0, 0);
    }
}

} // namespace

// ---------------------------------------------------------------- semaphores

RAVEL_EXPORT int sem_wait(sem_t* s)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(sem_wait)(s);
    return semWait(t, s, RAVEL_OBJ_SEM, RAVEL_CALLER_PC(), [s] { return REAL(sem_wait)(s); });
}

RAVEL_EXPORT int sem_timedwait(sem_t* s, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(sem_timedwait)(s, abstime);
    return semWait(t, s, RAVEL_OBJ_SEM | RAVEL_F_TIMED, RAVEL_CALLER_PC(),
                   [s, abstime] { return REAL(sem_timedwait)(s, abstime); });
}

RAVEL_EXPORT int sem_clockwait(sem_t* s, clockid_t clock, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(sem_clockwait)(s, clock, abstime);
    return semWait(t, s, RAVEL_OBJ_SEM | RAVEL_F_TIMED, RAVEL_CALLER_PC(),
                   [s, clock, abstime] { return REAL(sem_clockwait)(s, clock, abstime); });
}

RAVEL_EXPORT int sem_trywait(sem_t* s)
{
    ThreadState* t = enter();
    int rc = REAL(sem_trywait)(s);
    if (t) {
        int err = errno;
        markPage(s);
        if (rc == 0) {
            emit(t, s, RAVEL_EV_PASS, RAVEL_OBJ_SEM | RAVEL_F_TRY, nextSeq(s), siteStack(t, RAVEL_CALLER_PC()));
            raceAcquire(t, s);
        } else
            emit(t, s, RAVEL_EV_WAIT_FAIL, RAVEL_OBJ_SEM | RAVEL_F_TRY, static_cast<uint32_t>(err),
                 siteStack(t, RAVEL_CALLER_PC()));
        errno = err;
    }
    return rc;
}

RAVEL_EXPORT int sem_post(sem_t* s)
{
    ThreadState* t = enter();
    if (t) {
        markPage(s);
        emitStamped(t, s, RAVEL_EV_SIGNAL, RAVEL_OBJ_SEM, nextSeq(s), siteStack(t, RAVEL_CALLER_PC()));
        raceRelease(t, s);
    }
    return REAL(sem_post)(s);
}

RAVEL_EXPORT int sem_init(sem_t* s, int pshared, unsigned value)
{
    int rc = REAL(sem_init)(s, pshared, value);
    ThreadState* t = enter();
    if (t && rc == 0) {
        markPage(s);
        emit(t, s, RAVEL_EV_INIT, RAVEL_OBJ_SEM, value, siteStack(t, RAVEL_CALLER_PC()));
    } else if (t) {
        int err = errno;
        emit(t, s, RAVEL_EV_INIT_FAIL, RAVEL_OBJ_SEM, initFailAux(err, value), siteStack(t, RAVEL_CALLER_PC()));
        errno = err;
    }
    return rc;
}

RAVEL_EXPORT int sem_destroy(sem_t* s)
{
    int rc = REAL(sem_destroy)(s);
    ThreadState* t = enter();
    if (t)
        emit(t, s, RAVEL_EV_DESTROY, RAVEL_OBJ_SEM, static_cast<uint32_t>(rc), siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}

RAVEL_EXPORT sem_t* sem_open(const char* name, int oflag, ...)
{
    mode_t mode = 0;
    unsigned value = 0;
    if (oflag & O_CREAT) {
        va_list ap;
        va_start(ap, oflag);
        mode = va_arg(ap, mode_t);
        value = va_arg(ap, unsigned);
        va_end(ap);
    }
    sem_t* s = REAL(sem_open)(name, oflag, mode, value);
    ThreadState* t = enter();
    if (t && s != SEM_FAILED) {
        markPage(s);
        emit(t, s, RAVEL_EV_INIT, RAVEL_OBJ_SEM, value, siteStack(t, RAVEL_CALLER_PC()));
    }
    return s;
}

RAVEL_EXPORT int sem_close(sem_t* s)
{
    ThreadState* t = enter();
    if (t)
        emit(t, s, RAVEL_EV_DESTROY, RAVEL_OBJ_SEM, 0, siteStack(t, RAVEL_CALLER_PC()));
    return REAL(sem_close)(s);
}

// ---------------------------------------------------------------- barriers

RAVEL_EXPORT int pthread_barrier_wait(pthread_barrier_t* b)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_barrier_wait)(b);
    raceRelease(t, b); // and every thread acquires once it passes: all arrivals before all departures
    return blockingWait(
        t, b, RAVEL_OBJ_BARRIER, [b] { return REAL(pthread_barrier_wait)(b); },
        [](int rc) { return rc == 0 || rc == PTHREAD_BARRIER_SERIAL_THREAD; });
}

RAVEL_EXPORT int pthread_barrier_init(pthread_barrier_t* b, const pthread_barrierattr_t* attr, unsigned count)
{
    // A re-initialization is checked against the waits open on the barrier then: the clock is read
    // before and after the call, so the INIT's time range covers the real init and nothing more.
    ThreadState* t = enter();
    uint32_t stack = t ? siteStack(t, RAVEL_CALLER_PC()) : 0;
    if (t)
        stampClock(t);
    int rc = REAL(pthread_barrier_init)(b, attr, count);
    if (t && rc == 0) {
        markPage(b);
        put(t, reinterpret_cast<uint64_t>(b), RAVEL_EV_INIT, RAVEL_OBJ_BARRIER, count, stack);
        stampClock(t);
    } else if (t) {
        emit(t, b, RAVEL_EV_INIT_FAIL, RAVEL_OBJ_BARRIER, initFailAux(rc, count), stack);
    }
    return rc;
}

// glibc's destroy waits for the threads still inside the barrier's current round: stamped before
// the call, so a wait open then is known to overlap the destroy.
RAVEL_EXPORT int pthread_barrier_destroy(pthread_barrier_t* b)
{
    ThreadState* t = enter();
    uint32_t stack = t ? siteStack(t, RAVEL_CALLER_PC()) : 0;
    if (t) { // on the board as blocked there: a destroy that never returns is a hang ravel can see
        emitStamped(t, b, RAVEL_EV_DESTROY_REQ, RAVEL_OBJ_BARRIER, 0, stack);
        boardBlock(t, b, RAVEL_OBJ_BARRIER, stack);
    }
    int rc = REAL(pthread_barrier_destroy)(b);
    if (t) {
        boardUnblock(t);
        emitStamped(t, b, RAVEL_EV_DESTROY, RAVEL_OBJ_BARRIER, static_cast<uint32_t>(rc), stack);
    }
    return rc;
}

// ---------------------------------------------------------------- once and static locals

RAVEL_EXPORT int pthread_once(pthread_once_t* once, void (*fn)(void))
{
    ThreadState* t = enter();
    // Done already (the common case; glibc sets bit 1 when done): no wait, nothing to record.
    if (!t || (__atomic_load_n(reinterpret_cast<int*>(once), __ATOMIC_ACQUIRE) & 2)) {
        int rc = REAL(pthread_once)(once, fn);
        if (t)
            raceAcquire(t, once); // what the init routine did
        return rc;
    }
    void (*savedFn)(void) = t->once_fn;
    uint64_t savedObj = t->once_obj;
    t->once_fn = fn;
    t->once_obj = reinterpret_cast<uint64_t>(once);
    int rc = blockingWait(
        t, once, RAVEL_OBJ_ONCE, [once] { return REAL(pthread_once)(once, onceTrampoline); },
        [](int r) { return r == 0; });
    t->once_fn = savedFn;
    t->once_obj = savedObj;
    raceAcquire(t, once);
    return rc;
}

// The compiler calls __cxa_guard_acquire only while the guard says "not initialized", so every
// call is worth recording: it returns 1 to the thread that must run the initializer (it then
// holds the guard until release or abort), 0 after waiting for another thread's initializer.
RAVEL_EXPORT int __cxa_guard_acquire(uint64_t* guard)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(__cxa_guard_acquire)(guard);
    uint32_t stack = siteStack(t, RAVEL_CALLER_PC());
    markPage(guard);
    emitStamped(t, guard, RAVEL_EV_WAIT_REQ, RAVEL_OBJ_GUARD, 0, stack);
    boardBlock(t, guard, RAVEL_OBJ_GUARD, stack);
    int rc = REAL(__cxa_guard_acquire)(guard);
    boardUnblock(t);
    if (rc) {
        emitStamped(t, guard, RAVEL_EV_ACQUIRED, RAVEL_OBJ_GUARD, nextSeq(guard), stack);
        boardHold(t, guard, RAVEL_OBJ_GUARD, stack);
    } else {
        emitStamped(t, guard, RAVEL_EV_WOKEN, RAVEL_OBJ_GUARD, nextSeq(guard), stack);
        raceAcquire(t, guard);
    }
    return rc;
}

RAVEL_EXPORT void __cxa_guard_release(uint64_t* guard)
{
    ThreadState* t = enter();
    if (t) {
        boardRelease(t, guard);
        emitStamped(t, guard, RAVEL_EV_RELEASE, RAVEL_OBJ_GUARD, 0, 0);
        // The compiler's inline check of the guard is an acquire load the pass instruments.
        raceRelease(t, guard);
    }
    REAL(__cxa_guard_release)(guard);
}

RAVEL_EXPORT void __cxa_guard_abort(uint64_t* guard)
{
    ThreadState* t = enter();
    if (t) {
        boardRelease(t, guard);
        emitStamped(t, guard, RAVEL_EV_RELEASE, RAVEL_OBJ_GUARD, 1, 0);
    }
    REAL(__cxa_guard_abort)(guard);
}
