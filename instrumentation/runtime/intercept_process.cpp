// Interceptors for the process: its end (return from main, exit, _exit), fork and exec, and the
// release of memory (free, munmap), which ends the identity of any synchronization object that
// lived there (objects are address + generation).
#include "rt.hpp"

#include <errno.h>
#include <malloc.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

using namespace ravel::rt;

using MainFn = int (*)(int, char**, char**);
RAVEL_DECLARE_REAL(int, __libc_start_main, MainFn, int, char**, void (*)(void), void (*)(void), void (*)(void), void*)
RAVEL_DECLARE_REAL(void, exit, int)
RAVEL_DECLARE_REAL(void, _exit, int)
RAVEL_DECLARE_REAL(void, _Exit, int)
RAVEL_DECLARE_REAL(pid_t, fork, void)
RAVEL_DECLARE_REAL(int, execve, const char*, char* const[], char* const[])
RAVEL_DECLARE_REAL(int, execv, const char*, char* const[])
RAVEL_DECLARE_REAL(int, execvp, const char*, char* const[])
RAVEL_DECLARE_REAL(int, execvpe, const char*, char* const[], char* const[])
RAVEL_DECLARE_REAL(void, free, void*)
RAVEL_DECLARE_REAL(int, munmap, void*, size_t)
// From the allocator that defines free: glibc's malloc_usable_size would read a header that a
// foreign allocator's blocks do not have.
RAVEL_DECLARE_REAL_BESIDE(size_t, malloc_usable_size, "free", void*)

namespace {

MainFn g_main;

void recordExit(int status)
{
    ThreadState* t = enter();
    // A vfork child runs on its parent's memory and thread state until it execs or exits: its
    // _exit (after a failed exec) is not the parent's.
    if (t && static_cast<uint32_t>(getpid()) == g.hdr->pid) {
        emitStamped(t, reinterpret_cast<void*>(pthread_self()), RAVEL_EV_THREAD_EXIT, RAVEL_OBJ_THREAD, 0, 0);
        finalizeProcess(status);
    }
}

// Returning from main ends the main thread too: recorded like exit().
int mainWrapper(int argc, char** argv, char** envp)
{
    int status = g_main(argc, argv, envp);
    recordExit(status);
    return status;
}

// Memory [p, p+size) is gone: objects in it end. Only pages that ever held a recorded object
// are worth an event (the page filter may say yes wrongly; never no wrongly).
inline void released(void* p, size_t size)
{
    raceFreed(p, size); // memory allocated here next starts with clean shadow
    uint64_t a = reinterpret_cast<uint64_t>(p);
    uint64_t first = a >> 12, last = (a + (size ? size - 1 : 0)) >> 12;
    bool hit = last - first > 1024;
    for (uint64_t pg = first; !hit && pg <= last; pg++)
        hit = pageMarked(pg << 12);
    if (!hit)
        return;
    ThreadState* t = enter();
    if (t)
        emit(t, p, RAVEL_EV_FREE, RAVEL_OBJ_MEMORY, size > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(size), 0);
}

template <typename Exec>
int execCall(Exec exec)
{
    ThreadState* t = enter();
    // A vfork child runs on its parent's memory and thread state until it execs: it must not
    // write into the parent's trace.
    if (t && static_cast<uint32_t>(getpid()) == g.hdr->pid) {
        emitStamped(t, nullptr, RAVEL_EV_EXEC, RAVEL_OBJ_PROCESS, 0, siteStack(t, 0));
        finalizeProcess(0);
        // exec failed: the process goes on, so does the trace
        int rc = exec();
        int err = errno;
        __atomic_fetch_and(&g.hdr->flags, ~static_cast<uint32_t>(RAVEL_FILE_ENDED), __ATOMIC_RELAXED);
        emitStamped(t, nullptr, RAVEL_EV_EXEC, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(err), 0);
        errno = err;
        return rc;
    }
    return exec();
}

} // namespace

// Wrapping main is the only way to learn the status main returns (glibc calls exit internally).
RAVEL_EXPORT int __libc_start_main(MainFn main, int argc, char** argv, void (*init)(void), void (*fini)(void),
                                   void (*rtldFini)(void), void* stackEnd)
{
    g_main = main;
    return REAL(__libc_start_main)(mainWrapper, argc, argv, init, fini, rtldFini, stackEnd);
}

RAVEL_EXPORT void exit(int status)
{
    recordExit(status);
    REAL(exit)(status);
    __builtin_unreachable();
}

RAVEL_EXPORT void _exit(int status)
{
    recordExit(status);
    REAL(_exit)(status);
    __builtin_unreachable();
}

RAVEL_EXPORT void _Exit(int status)
{
    recordExit(status);
    REAL(_Exit)(status);
    __builtin_unreachable();
}

RAVEL_EXPORT pid_t fork(void)
{
    ThreadState* t = enter();
    if (!t)
        return REAL(fork)();
    uint32_t stack;
    {
        InRuntime guard(t);
        stack = captureStack();
    }
    t->in_rt++; // the runtime's own locks are not held across fork: nothing else runs here
    pid_t pid = REAL(fork)();
    t->in_rt--;
    if (pid == 0) {
        disableAfterFork();
        return 0;
    }
    if (pid > 0)
        emitStamped(t, nullptr, RAVEL_EV_FORK, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(pid), stack);
    return pid;
}

RAVEL_EXPORT int execve(const char* path, char* const argv[], char* const envp[])
{
    return execCall([=] { return REAL(execve)(path, argv, envp); });
}

RAVEL_EXPORT int execv(const char* path, char* const argv[])
{
    return execCall([=] { return REAL(execv)(path, argv); });
}

RAVEL_EXPORT int execvp(const char* file, char* const argv[])
{
    return execCall([=] { return REAL(execvp)(file, argv); });
}

RAVEL_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[])
{
    return execCall([=] { return REAL(execvpe)(file, argv, envp); });
}

RAVEL_EXPORT void free(void* p)
{
    if (p && g.enabled && !t_state.in_rt) {
        // An allocator without malloc_usable_size: the block is known to hold at least a byte.
        size_t size = 1;
        if (void* usable = __atomic_load_n(&real_malloc_usable_size, __ATOMIC_RELAXED)) {
            t_state.in_rt++;
            size = reinterpret_cast<malloc_usable_size_fn>(usable)(p);
            t_state.in_rt--;
        }
        released(p, size);
    }
    REAL(free)(p);
}

RAVEL_EXPORT int munmap(void* addr, size_t len)
{
    if (g.enabled && !t_state.in_rt)
        released(addr, len);
    return REAL(munmap)(addr, len);
}
