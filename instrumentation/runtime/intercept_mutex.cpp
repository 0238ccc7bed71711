// Interceptors for locks: pthread mutexes (normal, recursive, errorcheck, robust), rwlocks and
// spinlocks. std::mutex, std::timed_mutex, std::recursive_mutex and std::shared_mutex sit on these.
//
// A lock call first tries the lock: when that succeeds, the thread never waited, and a single
// ACQUIRED record (no clock read, no unwinding) is all the hot path writes. Only when the try
// fails does the thread record a request (stamped, with its whole stack, on the state board) and
// then block in the real call.
#include "rt.hpp"

#include <errno.h>
#include <time.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(int, pthread_mutex_lock, pthread_mutex_t*)
RAVEL_DECLARE_REAL(int, pthread_mutex_trylock, pthread_mutex_t*)
RAVEL_DECLARE_REAL(int, pthread_mutex_timedlock, pthread_mutex_t*, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_mutex_clocklock, pthread_mutex_t*, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_mutex_unlock, pthread_mutex_t*)
RAVEL_DECLARE_REAL(int, pthread_mutex_init, pthread_mutex_t*, const pthread_mutexattr_t*)
RAVEL_DECLARE_REAL(int, pthread_mutex_destroy, pthread_mutex_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_rdlock, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_tryrdlock, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_timedrdlock, pthread_rwlock_t*, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_clockrdlock, pthread_rwlock_t*, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_wrlock, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_trywrlock, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_timedwrlock, pthread_rwlock_t*, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_clockwrlock, pthread_rwlock_t*, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_unlock, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_init, pthread_rwlock_t*, const pthread_rwlockattr_t*)
RAVEL_DECLARE_REAL(int, pthread_rwlock_destroy, pthread_rwlock_t*)
RAVEL_DECLARE_REAL(int, pthread_spin_lock, pthread_spinlock_t*)
RAVEL_DECLARE_REAL(int, pthread_spin_trylock, pthread_spinlock_t*)
RAVEL_DECLARE_REAL(int, pthread_spin_unlock, pthread_spinlock_t*)
RAVEL_DECLARE_REAL(int, pthread_spin_init, pthread_spinlock_t*, int)
RAVEL_DECLARE_REAL(int, pthread_spin_destroy, pthread_spinlock_t*)

namespace {

// After the real lock succeeded. An acquisition that did not wait is the hot path: one byte
// most of the time, no clock read, no sequence number (DESIGN.md: stamp what blocks). One that
// waited is stamped and takes the object's sequence number, which is taken while the lock is held
// and so orders it after the previous holder's.
__attribute__((always_inline)) inline void acquired(ThreadState* t, const void* obj, unsigned flags, uint32_t stack,
                                                    bool waited)
{
    if (waited) {
        markPage(obj);
        emitStamped(t, obj, RAVEL_EV_ACQUIRED, flags, nextSeq(obj), stack);
    } else {
        emitFast(t, obj, false, flags, stack); // marks the page when it defines the object's slot
    }
    boardHold(t, obj, flags, stack);
    raceAcquire(t, obj);
}

__attribute__((always_inline)) inline void released(ThreadState* t, const void* obj, unsigned objKind, uint64_t pc)
{
    unsigned held = boardRelease(t, obj);
    unsigned flags = objKind | (held & RAVEL_F_SHARED);
    raceRelease(t, obj);
    // Written before the real unlock: the release is in the trace before anyone can acquire.
    emitFast(t, obj, true, flags, siteStack(t, pc));
}

// A robust mutex whose owner died holding it: this thread holds it now (EOWNERDEAD), and may make
// it consistent or leave it unrecoverable. Stamped: it ends the dead owner's hold in the trace.
void ownerDead(ThreadState* t, const void* obj, uint32_t stack)
{
    emitStamped(t, obj, RAVEL_EV_OWNER_DEAD, RAVEL_OBJ_MUTEX, 0, stack);
}

// A lock call that failed without waiting for anyone: EINVAL (a destroyed or never initialized
// mutex), ENOTRECOVERABLE (a robust mutex left inconsistent), EAGAIN (too many readers).
__attribute__((noinline)) void lockRefused(ThreadState* t, const void* obj, unsigned flags, int rc, uint64_t pc)
{
    markPage(obj);
    emitStamped(t, obj, RAVEL_EV_ACQ_FAIL, flags, static_cast<uint32_t>(rc), siteStack(t, pc));
}

// The slow path of every blocking acquisition: request, block in `block`, then acquired or failed.
template <typename Block>
int blockingAcquire(ThreadState* t, const void* obj, unsigned flags, Block block)
{
    uint32_t stack = captureStackOf(t);
    emitStamped(t, obj, RAVEL_EV_ACQ_REQ, flags, 0, stack);
    boardBlock(t, obj, flags, stack);
    int rc = block();
    boardUnblock(t);
    if (rc == 0 || rc == EOWNERDEAD) {
        acquired(t, obj, flags | RAVEL_F_CONTENDED, stack, true);
        if (rc == EOWNERDEAD)
            ownerDead(t, obj, stack);
    } else {
        emitStamped(t, obj, RAVEL_EV_ACQ_FAIL, flags, static_cast<uint32_t>(rc), stack);
    }
    return rc;
}

// lock(): try first; block only when the try says busy.
template <typename Try, typename Block>
__attribute__((always_inline)) inline int lockCall(ThreadState* t, const void* obj, unsigned flags, uint64_t pc, Try tryFn, Block block)
{
    int rc = tryFn();
    if (RAVEL_LIKELY(rc == 0 || rc == EOWNERDEAD)) {
        uint32_t stack = siteStack(t, pc);
        acquired(t, obj, flags, stack, false);
        if (RAVEL_UNLIKELY(rc == EOWNERDEAD))
            ownerDead(t, obj, stack);
        return rc;
    }
    if (rc != EBUSY) {
        lockRefused(t, obj, flags, rc, pc);
        return rc;
    }
    return blockingAcquire(t, obj, flags, block);
}

template <typename Try>
int tryCall(ThreadState* t, const void* obj, unsigned flags, uint64_t pc, Try tryFn)
{
    int rc = tryFn();
    if (rc == 0 || rc == EOWNERDEAD) {
        uint32_t stack = siteStack(t, pc);
        acquired(t, obj, flags | RAVEL_F_TRY, stack, false);
        if (rc == EOWNERDEAD)
            ownerDead(t, obj, stack);
    } else if (rc == EBUSY) {
        emit(t, obj, RAVEL_EV_ACQ_FAIL, flags | RAVEL_F_TRY, static_cast<uint32_t>(rc), siteStack(t, pc));
    } else {
        lockRefused(t, obj, flags | RAVEL_F_TRY, rc, pc);
    }
    return rc;
}

// pthread_spinlock_t is a volatile int: the object is its address.
inline const void* spinObj(pthread_spinlock_t* s) { return reinterpret_cast<const void*>(reinterpret_cast<uintptr_t>(s)); }

} // namespace

// ---------------------------------------------------------------- mutex

RAVEL_EXPORT int pthread_mutex_lock(pthread_mutex_t* m)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_mutex_lock)(m);
    return lockCall(
        t, m, RAVEL_OBJ_MUTEX, RAVEL_CALLER_PC(), [m] { return REAL(pthread_mutex_trylock)(m); },
        [m] { return REAL(pthread_mutex_lock)(m); });
}

RAVEL_EXPORT int pthread_mutex_trylock(pthread_mutex_t* m)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_mutex_trylock)(m);
    return tryCall(t, m, RAVEL_OBJ_MUTEX, RAVEL_CALLER_PC(), [m] { return REAL(pthread_mutex_trylock)(m); });
}

RAVEL_EXPORT int pthread_mutex_timedlock(pthread_mutex_t* m, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_mutex_timedlock)(m, abstime);
    return lockCall(
        t, m, RAVEL_OBJ_MUTEX | RAVEL_F_TIMED, RAVEL_CALLER_PC(), [m] { return REAL(pthread_mutex_trylock)(m); },
        [m, abstime] { return REAL(pthread_mutex_timedlock)(m, abstime); });
}

RAVEL_EXPORT int pthread_mutex_clocklock(pthread_mutex_t* m, clockid_t clock, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_mutex_clocklock)(m, clock, abstime);
    return lockCall(
        t, m, RAVEL_OBJ_MUTEX | RAVEL_F_TIMED, RAVEL_CALLER_PC(), [m] { return REAL(pthread_mutex_trylock)(m); },
        [m, clock, abstime] { return REAL(pthread_mutex_clocklock)(m, clock, abstime); });
}

RAVEL_EXPORT int pthread_mutex_unlock(pthread_mutex_t* m)
{
    ThreadState* t = enter();
    if (t)
        released(t, m, RAVEL_OBJ_MUTEX, RAVEL_CALLER_PC());
    int rc = REAL(pthread_mutex_unlock)(m);
    if (t)
        afterUnlock(t);
    return rc;
}

RAVEL_EXPORT int pthread_mutex_init(pthread_mutex_t* m, const pthread_mutexattr_t* attr)
{
    int rc = REAL(pthread_mutex_init)(m, attr);
    ThreadState* t = enter();
    if (t) {
        int type = PTHREAD_MUTEX_DEFAULT;
        int robust = PTHREAD_MUTEX_STALLED;
        if (attr) {
            pthread_mutexattr_gettype(attr, &type);
            pthread_mutexattr_getrobust(attr, &robust);
        }
        uint32_t aux = (static_cast<uint32_t>(type) & 0xffffu) | (robust == PTHREAD_MUTEX_ROBUST ? RAVEL_INIT_ROBUST : 0);
        markPage(m);
        if (rc == 0)
            emit(t, m, RAVEL_EV_INIT, RAVEL_OBJ_MUTEX, aux, siteStack(t, RAVEL_CALLER_PC()));
        else
            emit(t, m, RAVEL_EV_INIT_FAIL, RAVEL_OBJ_MUTEX, (static_cast<uint32_t>(rc) & 0xffffu) | (aux & 0xffffu) << 16,
                 siteStack(t, RAVEL_CALLER_PC()));
    }
    return rc;
}

RAVEL_EXPORT int pthread_mutex_destroy(pthread_mutex_t* m)
{
    int rc = REAL(pthread_mutex_destroy)(m);
    ThreadState* t = enter();
    if (t)
        emit(t, m, RAVEL_EV_DESTROY, RAVEL_OBJ_MUTEX, static_cast<uint32_t>(rc), siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}

// ---------------------------------------------------------------- rwlock

RAVEL_EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t* l)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_rdlock)(l);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED, RAVEL_CALLER_PC(), [l] { return REAL(pthread_rwlock_tryrdlock)(l); },
        [l] { return REAL(pthread_rwlock_rdlock)(l); });
}

RAVEL_EXPORT int pthread_rwlock_tryrdlock(pthread_rwlock_t* l)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_tryrdlock)(l);
    return tryCall(t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED, RAVEL_CALLER_PC(),
                   [l] { return REAL(pthread_rwlock_tryrdlock)(l); });
}

RAVEL_EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t* l, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_timedrdlock)(l, abstime);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED | RAVEL_F_TIMED, RAVEL_CALLER_PC(),
        [l] { return REAL(pthread_rwlock_tryrdlock)(l); },
        [l, abstime] { return REAL(pthread_rwlock_timedrdlock)(l, abstime); });
}

RAVEL_EXPORT int pthread_rwlock_clockrdlock(pthread_rwlock_t* l, clockid_t clock, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_clockrdlock)(l, clock, abstime);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_SHARED | RAVEL_F_TIMED, RAVEL_CALLER_PC(),
        [l] { return REAL(pthread_rwlock_tryrdlock)(l); },
        [l, clock, abstime] { return REAL(pthread_rwlock_clockrdlock)(l, clock, abstime); });
}

RAVEL_EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t* l)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_wrlock)(l);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK, RAVEL_CALLER_PC(), [l] { return REAL(pthread_rwlock_trywrlock)(l); },
        [l] { return REAL(pthread_rwlock_wrlock)(l); });
}

RAVEL_EXPORT int pthread_rwlock_trywrlock(pthread_rwlock_t* l)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_trywrlock)(l);
    return tryCall(t, l, RAVEL_OBJ_RWLOCK, RAVEL_CALLER_PC(), [l] { return REAL(pthread_rwlock_trywrlock)(l); });
}

RAVEL_EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t* l, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_timedwrlock)(l, abstime);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_TIMED, RAVEL_CALLER_PC(), [l] { return REAL(pthread_rwlock_trywrlock)(l); },
        [l, abstime] { return REAL(pthread_rwlock_timedwrlock)(l, abstime); });
}

RAVEL_EXPORT int pthread_rwlock_clockwrlock(pthread_rwlock_t* l, clockid_t clock, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_rwlock_clockwrlock)(l, clock, abstime);
    return lockCall(
        t, l, RAVEL_OBJ_RWLOCK | RAVEL_F_TIMED, RAVEL_CALLER_PC(), [l] { return REAL(pthread_rwlock_trywrlock)(l); },
        [l, clock, abstime] { return REAL(pthread_rwlock_clockwrlock)(l, clock, abstime); });
}

RAVEL_EXPORT int pthread_rwlock_unlock(pthread_rwlock_t* l)
{
    ThreadState* t = enter();
    if (t)
        released(t, l, RAVEL_OBJ_RWLOCK, RAVEL_CALLER_PC());
    int rc = REAL(pthread_rwlock_unlock)(l);
    if (t)
        afterUnlock(t);
    return rc;
}

RAVEL_EXPORT int pthread_rwlock_init(pthread_rwlock_t* l, const pthread_rwlockattr_t* attr)
{
    int rc = REAL(pthread_rwlock_init)(l, attr);
    ThreadState* t = enter();
    if (t && rc == 0) {
        markPage(l);
        emit(t, l, RAVEL_EV_INIT, RAVEL_OBJ_RWLOCK, 0, siteStack(t, RAVEL_CALLER_PC()));
    }
    return rc;
}

RAVEL_EXPORT int pthread_rwlock_destroy(pthread_rwlock_t* l)
{
    int rc = REAL(pthread_rwlock_destroy)(l);
    ThreadState* t = enter();
    if (t)
        emit(t, l, RAVEL_EV_DESTROY, RAVEL_OBJ_RWLOCK, static_cast<uint32_t>(rc), siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}

// ---------------------------------------------------------------- spinlock

RAVEL_EXPORT int pthread_spin_lock(pthread_spinlock_t* s)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_spin_lock)(s);
    return lockCall(
        t, spinObj(s), RAVEL_OBJ_SPIN, RAVEL_CALLER_PC(),
        [s] { return REAL(pthread_spin_trylock)(s); }, [s] { return REAL(pthread_spin_lock)(s); });
}

RAVEL_EXPORT int pthread_spin_trylock(pthread_spinlock_t* s)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_spin_trylock)(s);
    return tryCall(t, spinObj(s), RAVEL_OBJ_SPIN, RAVEL_CALLER_PC(),
                   [s] { return REAL(pthread_spin_trylock)(s); });
}

RAVEL_EXPORT int pthread_spin_unlock(pthread_spinlock_t* s)
{
    ThreadState* t = enter();
    if (t)
        released(t, spinObj(s), RAVEL_OBJ_SPIN, RAVEL_CALLER_PC());
    int rc = REAL(pthread_spin_unlock)(s);
    if (t)
        afterUnlock(t);
    return rc;
}

RAVEL_EXPORT int pthread_spin_init(pthread_spinlock_t* s, int pshared)
{
    int rc = REAL(pthread_spin_init)(s, pshared);
    ThreadState* t = enter();
    if (t && rc == 0) {
        markPage(spinObj(s));
        emit(t, spinObj(s), RAVEL_EV_INIT, RAVEL_OBJ_SPIN, 0,
             siteStack(t, RAVEL_CALLER_PC()));
    }
    return rc;
}

RAVEL_EXPORT int pthread_spin_destroy(pthread_spinlock_t* s)
{
    int rc = REAL(pthread_spin_destroy)(s);
    ThreadState* t = enter();
    if (t)
        emit(t, spinObj(s), RAVEL_EV_DESTROY, RAVEL_OBJ_SPIN, static_cast<uint32_t>(rc),
             siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}
