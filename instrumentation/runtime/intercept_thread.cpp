// Interceptors for threads: create (through a trampoline that registers the child before it runs
// user code), join in all its forms, detach, exit, names. std::thread and std::jthread sit on
// these.
#include "rt.hpp"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

using namespace ravel::rt;

RAVEL_DECLARE_REAL(int, pthread_create, pthread_t*, const pthread_attr_t*, void* (*)(void*), void*)
RAVEL_DECLARE_REAL(int, pthread_join, pthread_t, void**)
RAVEL_DECLARE_REAL(int, pthread_tryjoin_np, pthread_t, void**)
RAVEL_DECLARE_REAL(int, pthread_timedjoin_np, pthread_t, void**, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_clockjoin_np, pthread_t, void**, clockid_t, const struct timespec*)
RAVEL_DECLARE_REAL(int, pthread_detach, pthread_t)
RAVEL_DECLARE_REAL(void, pthread_exit, void*)
RAVEL_DECLARE_REAL(int, pthread_setname_np, pthread_t, const char*)

namespace {

struct StartArgs {
    void* (*fn)(void*);
    void* arg;
    uint32_t tid;
    uint32_t parent;
    uint32_t createStack;
    RavelThreadEntry* entry; // reserved by the creator, so the child can be named at once
    ravel::hb::VectorClock hbFrom; // race mode: what the creator knew when it created the child
    StartArgs* nextFree;
};

// StartArgs come from a small private pool: the runtime never calls the target's malloc.
SpinLock g_poolLock;
StartArgs* g_freeArgs;

StartArgs* allocArgs()
{
    g_poolLock.lock();
    if (!g_freeArgs) {
        void* m = mmap(nullptr, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m != MAP_FAILED) {
            auto* a = static_cast<StartArgs*>(m);
            size_t n = (1 << 16) / sizeof(StartArgs);
            for (size_t i = 0; i < n; i++) {
                a[i].nextFree = g_freeArgs;
                g_freeArgs = &a[i];
            }
        }
    }
    StartArgs* a = g_freeArgs;
    if (a)
        g_freeArgs = a->nextFree;
    g_poolLock.unlock();
    if (a)
        a->hbFrom = ravel::hb::VectorClock {};
    return a;
}

void freeArgs(StartArgs* a)
{
    g_poolLock.lock();
    a->nextFree = g_freeArgs;
    g_freeArgs = a;
    g_poolLock.unlock();
}

void threadExiting(ThreadState* t)
{
    raceThreadExit(t); // what a joiner acquires
    emitStamped(t, reinterpret_cast<void*>(pthread_self()), RAVEL_EV_THREAD_EXIT, RAVEL_OBJ_THREAD, 0, 0);
    unregisterThread(t);
}

void threadUnwound(void* p)
{
    auto* t = static_cast<ThreadState*>(p);
    if (g.enabled && t->entry && !t->in_rt)
        threadExiting(t);
}

void* threadTrampoline(void* p)
{
    auto* a = static_cast<StartArgs*>(p);
    void* (*fn)(void*) = a->fn;
    void* arg = a->arg;
    ThreadState* t = &t_state;
    if (g.enabled) {
        t->in_rt++;
        registerThread(t, a->tid, a->parent, a->createStack, a->entry);
        t->in_rt--;
        if (t->entry)
            emitStamped(t, reinterpret_cast<void*>(pthread_self()), RAVEL_EV_THREAD_START, RAVEL_OBJ_THREAD, a->parent,
                        a->createStack);
        raceChildStart(t, &a->hbFrom);
    }
    freeArgs(a);
    t->trampolined = t->entry != nullptr;
    // A thread that is cancelled or calls pthread_exit leaves through glibc's unwinder, which runs
    // the program's cleanup handlers and then this one: the exit is recorded after everything the
    // thread did, the handlers' unlocks included.
    void* ret = nullptr;
    withCancelCleanup(threadUnwound, t, [&] {
        ret = fn(arg);
        return 0;
    });
    if (g.enabled && t->entry && !t->in_rt)
        threadExiting(t);
    return ret;
}

struct JoinState {
    ThreadState* t;
    void* obj;
    unsigned flags;
    uint32_t stack;
};

// pthread_join is a cancellation point: the joiner cancelled there did not join.
void joinCancelled(void* p)
{
    auto* s = static_cast<JoinState*>(p);
    boardUnblock(s->t);
    emitStamped(s->t, s->obj, RAVEL_EV_JOIN_DONE, s->flags, ECANCELED, s->stack);
}

template <typename Join>
int joinCall(ThreadState* t, pthread_t th, unsigned modifiers, Join join)
{
    uint32_t stack = captureStackOf(t);
    unsigned flags = RAVEL_OBJ_THREAD | modifiers;
    void* obj = reinterpret_cast<void*>(th);
    uint32_t joined = 0;
    if (g_race) {
        InRuntime guard(t);
        if (RavelThreadEntry* e = findThreadEntry(static_cast<uint64_t>(th), true))
            joined = e->tid;
    }
    emitStamped(t, obj, RAVEL_EV_JOIN_REQ, flags, 0, stack);
    boardBlock(t, obj, flags, stack);
    JoinState state { t, obj, flags, stack };
    int rc = withCancelCleanup(joinCancelled, &state, join);
    boardUnblock(t);
    emitStamped(t, obj, RAVEL_EV_JOIN_DONE, flags, static_cast<uint32_t>(rc), stack);
    if (rc == 0 && joined)
        raceAcquire(t, raceThreadKey(joined)); // everything the thread did
    return rc;
}

} // namespace

RAVEL_EXPORT int pthread_create(pthread_t* th, const pthread_attr_t* attr, void* (*fn)(void*), void* arg)
{
    ThreadState* t = enter();
    StartArgs* a = t ? allocArgs() : nullptr;
    if (!a)
        return REAL(pthread_create)(th, attr, fn, arg);
    uint32_t stack = captureStackOf(t);
    a->fn = fn;
    a->arg = arg;
    a->parent = t->tid;
    a->createStack = stack;
    a->tid = __atomic_add_fetch(&g.hdr->thread_count, 1, __ATOMIC_RELAXED);
    RavelThreadEntry* entry;
    {
        InRuntime guard(t);
        entry = allocThreadEntry();
    }
    a->entry = entry;
    raceSnapshotForChild(t, &a->hbFrom);
    uint32_t a_tid = a->tid; // `a` belongs to the child once it runs
    // Recorded before the child can run, so the creation precedes everything the child does.
    emitStamped(t, nullptr, RAVEL_EV_THREAD_CREATE, RAVEL_OBJ_THREAD, a->tid, stack);
    int rc = REAL(pthread_create)(th, attr, threadTrampoline, a);
    if (rc == 0 && entry) { // the child may not have run yet: make it findable by its handle now
        entry->pthread = static_cast<uint64_t>(*th);
        __atomic_store_n(&entry->tid, a_tid, __ATOMIC_RELEASE);
        // Running, unless the child got there first: on a busy machine it can run, and even exit
        // (state 2), before pthread_create returns here. Marking it running again then made an
        // exited thread look alive to the watchdog for good, which could never call a deadlock
        // on the threads waiting for it certain.
        uint32_t created = 0;
        __atomic_compare_exchange_n(&entry->state, &created, 1u, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
    }
    if (rc != 0) {
        ravel::hb::vcFree(&a->hbFrom);
        freeArgs(a);
        emit(t, nullptr, RAVEL_EV_THREAD_EXIT, RAVEL_OBJ_THREAD, a_tid, stack); // never started
    }
    return rc;
}

RAVEL_EXPORT int pthread_join(pthread_t th, void** ret)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_join)(th, ret);
    return joinCall(t, th, 0, [th, ret] { return REAL(pthread_join)(th, ret); });
}

RAVEL_EXPORT int pthread_tryjoin_np(pthread_t th, void** ret)
{
    ThreadState* t = enter();
    int rc = REAL(pthread_tryjoin_np)(th, ret);
    if (t)
        emit(t, reinterpret_cast<void*>(th), RAVEL_EV_JOIN_DONE, RAVEL_OBJ_THREAD | RAVEL_F_TRY,
             static_cast<uint32_t>(rc), siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}

RAVEL_EXPORT int pthread_timedjoin_np(pthread_t th, void** ret, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_timedjoin_np)(th, ret, abstime);
    return joinCall(t, th, RAVEL_F_TIMED,
                    [th, ret, abstime] { return REAL(pthread_timedjoin_np)(th, ret, abstime); });
}

RAVEL_EXPORT int pthread_clockjoin_np(pthread_t th, void** ret, clockid_t clock, const struct timespec* abstime)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(pthread_clockjoin_np)(th, ret, clock, abstime);
    return joinCall(t, th, RAVEL_F_TIMED,
                    [th, ret, clock, abstime] { return REAL(pthread_clockjoin_np)(th, ret, clock, abstime); });
}

RAVEL_EXPORT int pthread_detach(pthread_t th)
{
    ThreadState* t = enter();
    if (t)
        emit(t, reinterpret_cast<void*>(th), RAVEL_EV_DETACH, RAVEL_OBJ_THREAD, 0, siteStack(t, RAVEL_CALLER_PC()));
    return REAL(pthread_detach)(th);
}

RAVEL_EXPORT void pthread_exit(void* ret)
{
    // A thread of our trampoline records its exit once the cleanup handlers have run; another (the
    // main thread, one started before the runtime) has nothing of ours to unwind through.
    ThreadState* t = enter();
    if (t && !t->trampolined)
        threadExiting(t);
    REAL(pthread_exit)(ret);
    __builtin_unreachable();
}

RAVEL_EXPORT int pthread_setname_np(pthread_t th, const char* name)
{
    int rc = REAL(pthread_setname_np)(th, name);
    ThreadState* t = enter();
    if (t && rc == 0) {
        // Names live in the thread table, beside the state board.
        RavelThreadEntry* e;
        {
            InRuntime guard(t);
            e = pthread_equal(th, pthread_self()) ? t->entry : findThreadEntry(static_cast<uint64_t>(th));
        }
        uint32_t named = e ? e->tid : 0;
        if (e) {
            size_t n = strnlen(name, RAVEL_THREAD_NAME_LEN - 1);
            memcpy(e->name, name, n);
            e->name[n] = 0;
        }
        emit(t, reinterpret_cast<void*>(th), RAVEL_EV_THREAD_NAME, RAVEL_OBJ_THREAD, named,
             siteStack(t, RAVEL_CALLER_PC()));
    }
    return rc;
}

// In a fork child the pool's lock may have been held by a thread that is gone, its list half
// changed: the child starts a pool of its own (the parent's slots stay allocated, unused).
void ravel::rt::resetThreadsAfterFork()
{
    g_poolLock = SpinLock {};
    g_freeArgs = nullptr;
}
