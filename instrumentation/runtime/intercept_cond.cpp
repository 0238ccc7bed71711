// Interceptors for condition variables. glibc has two versions of each pthread_cond_* symbol;
// programs built since 2.3.2 use GLIBC_2.3.2, and so do we. std::condition_variable::wait_for
// and wait_until on the steady clock call pthread_cond_clockwait.
//
// A wait is: WAIT_REQ(cond) and RELEASE(mutex) before blocking; then WOKEN(cond) or
// WAIT_FAIL(cond, ETIMEDOUT) and ACQUIRED(mutex) after, since the mutex is held again on return
// whatever the outcome. A thread cancelled inside the wait never returns from it: glibc takes
// the mutex again (its own cleanup handler) before the program's handlers run, so the wait ends
// as WAIT_FAIL(cond, ECANCELED) and ACQUIRED(mutex) before the unwinding reaches them.
#include "rt.hpp"

#include <errno.h>
#include <time.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL_V(int, pthread_cond_wait, "GLIBC_2.3.2", pthread_cond_t*, pthread_mutex_t*)
RAVEL_DECLARE_REAL_V(int, pthread_cond_timedwait, "GLIBC_2.3.2", pthread_cond_t*, pthread_mutex_t*, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_cond_clockwait, pthread_cond_t*, pthread_mutex_t*, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL_V(int, pthread_cond_signal, "GLIBC_2.3.2", pthread_cond_t*)
RAVEL_DECLARE_REAL_V(int, pthread_cond_broadcast, "GLIBC_2.3.2", pthread_cond_t*)
RAVEL_DECLARE_REAL_V(int, pthread_cond_init, "GLIBC_2.3.2", pthread_cond_t*, const pthread_condattr_t*)
RAVEL_DECLARE_REAL_V(int, pthread_cond_destroy, "GLIBC_2.3.2", pthread_cond_t*)

namespace {

struct CondWaitState {
    ThreadState* t;
    pthread_cond_t* c;
    pthread_mutex_t* m;
    unsigned flags;
    uint32_t stack;
};

void reacquired(ThreadState* t, pthread_cond_t* c, pthread_mutex_t* m, uint32_t stack)
{
    put(t, reinterpret_cast<uint64_t>(m), RAVEL_EV_ACQUIRED, RAVEL_OBJ_MUTEX, nextSeq(m), stack);
    boardHold(t, m, RAVEL_OBJ_MUTEX, stack);
    raceAcquire(t, c); // what the signaller did before its signal
    raceAcquire(t, m);
}

void condWaitCancelled(void* p)
{
    auto* s = static_cast<CondWaitState*>(p);
    boardUnblock(s->t);
    emitStamped(s->t, s->c, RAVEL_EV_WAIT_FAIL, s->flags, ECANCELED, s->stack);
    reacquired(s->t, s->c, s->m, s->stack);
}

template <typename Wait>
int condWait(ThreadState* t, pthread_cond_t* c, pthread_mutex_t* m, unsigned modifiers, Wait wait)
{
    uint32_t stack = captureStackOf(t);
    unsigned flags = RAVEL_OBJ_COND | modifiers;
    markPage(c);
    emitStamped(t, c, RAVEL_EV_WAIT_REQ, flags, 0, stack);
    unsigned held = boardRelease(t, m);
    put(t, reinterpret_cast<uint64_t>(m), RAVEL_EV_RELEASE, RAVEL_OBJ_MUTEX | (held & RAVEL_F_SHARED), 0, stack);
    raceRelease(t, m);
    boardBlock(t, c, flags, stack, m);
    CondWaitState state { t, c, m, flags, stack };
    int rc = withCancelCleanup(condWaitCancelled, &state, wait);
    boardUnblock(t);
    if (rc == 0)
        emitStamped(t, c, RAVEL_EV_WOKEN, flags, nextSeq(c), stack);
    else
        emitStamped(t, c, RAVEL_EV_WAIT_FAIL, flags, static_cast<uint32_t>(rc), stack);
    if (rc != EINVAL && rc != EPERM) // the mutex is held again
        reacquired(t, c, m, stack);
    return rc;
}

} // namespace

RAVEL_EXPORT int pthread_cond_wait(pthread_cond_t* c, pthread_mutex_t* m)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_cond_wait)(c, m);
    return condWait(t, c, m, 0, [c, m] { return REAL(pthread_cond_wait)(c, m); });
}

RAVEL_EXPORT int pthread_cond_timedwait(pthread_cond_t* c, pthread_mutex_t* m, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_cond_timedwait)(c, m, abstime);
    return condWait(t, c, m, RAVEL_F_TIMED,
                    [c, m, abstime] { return REAL(pthread_cond_timedwait)(c, m, abstime); });
}

RAVEL_EXPORT int pthread_cond_clockwait(pthread_cond_t* c, pthread_mutex_t* m, clockid_t clock,
                                        const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_cond_clockwait)(c, m, clock, abstime);
    return condWait(t, c, m, RAVEL_F_TIMED,
                    [c, m, clock, abstime] { return REAL(pthread_cond_clockwait)(c, m, clock, abstime); });
}

RAVEL_EXPORT int pthread_cond_signal(pthread_cond_t* c)
{
    ThreadState* t = enter();
    if (t) { // before the real signal: the signal is in the trace before the wake-up it causes
        emitStamped(t, c, RAVEL_EV_SIGNAL, RAVEL_OBJ_COND, nextSeq(c), siteStack(t, RAVEL_CALLER_PC()));
        raceRelease(t, c);
    }
    return REAL(pthread_cond_signal)(c);
}

RAVEL_EXPORT int pthread_cond_broadcast(pthread_cond_t* c)
{
    ThreadState* t = enter();
    if (t) {
        emitStamped(t, c, RAVEL_EV_BROADCAST, RAVEL_OBJ_COND, nextSeq(c), siteStack(t, RAVEL_CALLER_PC()));
        raceRelease(t, c);
    }
    return REAL(pthread_cond_broadcast)(c);
}

RAVEL_EXPORT int pthread_cond_init(pthread_cond_t* c, const pthread_condattr_t* attr)
{
    int rc = REAL(pthread_cond_init)(c, attr);
    ThreadState* t = enter();
    if (t && rc == 0) {
        markPage(c);
        emitStamped(t, c, RAVEL_EV_INIT, RAVEL_OBJ_COND, 0, siteStack(t, RAVEL_CALLER_PC()));
    } else if (t) {
        emit(t, c, RAVEL_EV_INIT_FAIL, RAVEL_OBJ_COND, static_cast<uint32_t>(rc) & 0xffffu, siteStack(t, RAVEL_CALLER_PC()));
    }
    return rc;
}

// glibc's destroy waits until every thread inside a wait on the condvar has left it: stamped before
// the call, so a wait still open then is known to overlap the destroy.
RAVEL_EXPORT int pthread_cond_destroy(pthread_cond_t* c)
{
    ThreadState* t = enter();
    uint32_t stack = t ? siteStack(t, RAVEL_CALLER_PC()) : 0;
    if (t) { // on the board as blocked there: a destroy that never returns is a hang ravel can see
        emitStamped(t, c, RAVEL_EV_DESTROY_REQ, RAVEL_OBJ_COND, 0, stack);
        boardBlock(t, c, RAVEL_OBJ_COND, stack);
    }
    int rc = REAL(pthread_cond_destroy)(c);
    if (t) {
        boardUnblock(t);
        emitStamped(t, c, RAVEL_EV_DESTROY, RAVEL_OBJ_COND, static_cast<uint32_t>(rc), stack);
    }
    return rc;
}
