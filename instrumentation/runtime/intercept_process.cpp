// Interceptors for the process: its end (return from main, exit, _exit), fork, posix_spawn,
// every exec and wait, and the release of memory (free, munmap), which ends the identity of any
// synchronization object that lived there (objects are address + generation). Following: a
// forked child records into a trace of its own, and an exec'd program keeps the runtime and the
// run's variables in its environment (docs/trace-format.md, "One run, several traces").
#include "rt.hpp"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

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
RAVEL_DECLARE_REAL(int, fexecve, int, char* const[], char* const[])
RAVEL_DECLARE_REAL(int, execveat, int, const char*, char* const[], char* const[], int)
RAVEL_DECLARE_REAL(int, posix_spawn, pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                   char* const[], char* const[])
RAVEL_DECLARE_REAL(int, posix_spawnp, pid_t*, const char*, const posix_spawn_file_actions_t*, const posix_spawnattr_t*,
                   char* const[], char* const[])
RAVEL_DECLARE_REAL(pid_t, wait, int*)
RAVEL_DECLARE_REAL(pid_t, waitpid, pid_t, int*, int)
RAVEL_DECLARE_REAL(int, waitid, idtype_t, id_t, siginfo_t*, int)
RAVEL_DECLARE_REAL(pid_t, wait3, int*, int, struct rusage*)
RAVEL_DECLARE_REAL(pid_t, wait4, pid_t, int*, int, struct rusage*)
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
        emitStamped(t, nullptr, RAVEL_EV_PROC_EXIT, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(status), 0);
        emit(t, reinterpret_cast<void*>(pthread_self()), RAVEL_EV_THREAD_EXIT, RAVEL_OBJ_THREAD, 0, 0);
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

// The environment an exec'd program gets: its own, with the runtime and the run's variables put
// back where it lost them (a program that builds a clean environment, `env -i`), so the run
// follows it. Built on the stack or in a private mapping, never with malloc: a vfork child (or
// posix_spawn's) runs on its parent's heap.
struct FollowEnv {
    static constexpr size_t kInline = 256;
    char* inlineList[kInline];
    char** list = nullptr;
    size_t mappedBytes = 0;
    char preload[8192];
    char traceFile[4096 + 32];
    char runId[40];
    FollowEnv() = default;
    FollowEnv(const FollowEnv&) = delete;
    FollowEnv& operator=(const FollowEnv&) = delete;
    ~FollowEnv()
    {
        if (mappedBytes)
            munmap(list, mappedBytes);
    }
};

bool preloadHasRuntime(const char* value)
{
    size_t len = strlen(g.rtPath);
    for (const char* p = value; (p = strstr(p, g.rtPath)) != nullptr; p += len) {
        bool startOk = p == value || p[-1] == ':' || p[-1] == ' ';
        bool endOk = p[len] == 0 || p[len] == ':' || p[len] == ' ';
        if (startOk && endOk)
            return true;
    }
    return false;
}

char* const* followEnv(char* const* envp, FollowEnv& f)
{
    if (!g.opt.follow || !g.runPath[0])
        return envp;
    snprintf(f.traceFile, sizeof f.traceFile, "RAVEL_TRACE_FILE=%s", g.runPath);
    snprintf(f.runId, sizeof f.runId, "RAVEL_RUN_ID=%llx", static_cast<unsigned long long>(g.runId));
    size_t n = 0;
    long preloadAt = -1, fileAt = -1, idAt = -1;
    bool preloadOk = !g.rtPath[0], fileOk = false, idOk = false;
    for (; envp && envp[n]; n++) {
        const char* e = envp[n];
        if (strncmp(e, "LD_PRELOAD=", 11) == 0) {
            preloadAt = static_cast<long>(n);
            preloadOk = preloadOk || preloadHasRuntime(e + 11);
        } else if (strncmp(e, "RAVEL_TRACE_FILE=", 17) == 0) {
            fileAt = static_cast<long>(n);
            fileOk = strcmp(e, f.traceFile) == 0;
        } else if (strncmp(e, "RAVEL_RUN_ID=", 13) == 0) {
            idAt = static_cast<long>(n);
            idOk = strcmp(e, f.runId) == 0;
        }
    }
    if (preloadOk && fileOk && idOk)
        return envp;
    size_t want = n + 4;
    if (want <= FollowEnv::kInline) {
        f.list = f.inlineList;
    } else {
        size_t bytes = (want * sizeof(char*) + 4095) & ~size_t(4095);
        void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (m == MAP_FAILED)
            return envp;
        f.list = static_cast<char**>(m);
        f.mappedBytes = bytes;
    }
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        long at = static_cast<long>(i);
        if ((at == preloadAt && !preloadOk) || at == fileAt || at == idAt)
            continue;
        f.list[out++] = envp[i];
    }
    if (!preloadOk) {
        // First, as ravel run puts it: the runtime's interceptors come before any other preload's.
        const char* old = preloadAt >= 0 ? envp[preloadAt] + 11 : "";
        int w = snprintf(f.preload, sizeof f.preload, "LD_PRELOAD=%s%s%s", g.rtPath, *old ? ":" : "", old);
        if (w > 0 && size_t(w) < sizeof f.preload)
            f.list[out++] = f.preload;
        else if (preloadAt >= 0)
            f.list[out++] = envp[preloadAt];
    }
    f.list[out++] = f.traceFile;
    f.list[out++] = f.runId;
    f.list[out] = nullptr;
    return f.list;
}

// An exec in a recorded process: the image's trace ends with EXEC (and is complete: the new
// image records into the next trace of this pid); a failed exec goes on recording.
template <typename Exec>
int execCall(char* const* envp, Exec exec)
{
    FollowEnv follow;
    char* const* env = followEnv(envp, follow);
    ThreadState* t = enter();
    // A vfork child runs on its parent's memory and thread state until it execs: it must not
    // write into the parent's trace.
    if (t && static_cast<uint32_t>(getpid()) == g.hdr->pid) {
        emitStamped(t, nullptr, RAVEL_EV_EXEC, RAVEL_OBJ_PROCESS, 0, siteStack(t, 0));
        finalizeProcess(0);
        // exec failed: the process goes on, so does the trace
        int rc = exec(env);
        int err = errno;
        __atomic_fetch_and(&g.hdr->flags, ~static_cast<uint32_t>(RAVEL_FILE_ENDED), __ATOMIC_RELAXED);
        emitStamped(t, nullptr, RAVEL_EV_EXEC, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(err), 0);
        errno = err;
        return rc;
    }
    return exec(env);
}

template <typename Spawn>
int spawnCall(pid_t* pidOut, char* const* envp, Spawn spawn)
{
    FollowEnv follow;
    char* const* env = followEnv(envp, follow);
    pid_t pid = 0;
    int rc = spawn(&pid, env);
    if (pidOut)
        *pidOut = pid;
    ThreadState* t = enter();
    if (rc == 0 && t && static_cast<uint32_t>(getpid()) == g.hdr->pid)
        emitStamped(t, reinterpret_cast<void*>(1), RAVEL_EV_FORK, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(pid),
                    siteStack(t, RAVEL_CALLER_PC()));
    return rc;
}

// A wait for a child: a request (what it asked for) and a completion (whom it reaped and how
// that one ended), so a run's processes get their exit statuses and signals from their parents.
template <typename Wait>
pid_t waitCall(int32_t asked, int options, Wait wait)
{
    ThreadState* t = enter();
    int status = 0;
    if (!t || static_cast<uint32_t>(getpid()) != g.hdr->pid)
        return wait(&status);
    uint32_t stack = captureStackOf(t);
    unsigned flags = RAVEL_OBJ_PROCESS | ((options & WNOHANG) ? RAVEL_F_TRY : 0);
    emitStamped(t, reinterpret_cast<void*>(static_cast<uintptr_t>(static_cast<unsigned>(options))),
                RAVEL_EV_PROC_WAIT_REQ, flags, static_cast<uint32_t>(asked), stack);
    pid_t rc = wait(&status);
    int err = errno;
    if (g.enabled && static_cast<uint32_t>(getpid()) == g.hdr->pid)
        emitStamped(t, reinterpret_cast<void*>(static_cast<uintptr_t>(rc > 0 ? rc : 0)), RAVEL_EV_PROC_WAIT_DONE, flags,
                    rc > 0 ? static_cast<uint32_t>(status) : rc == 0 ? 0u : static_cast<uint32_t>(err), stack);
    errno = err;
    return rc;
}

// What waitid's siginfo says, as waitpid would have said it.
int statusOfSiginfo(const siginfo_t* info)
{
    switch (info->si_code) {
    case CLD_EXITED: return (info->si_status & 0xff) << 8;
    case CLD_KILLED: return info->si_status & 0x7f;
    case CLD_DUMPED: return (info->si_status & 0x7f) | 0x80;
    case CLD_STOPPED:
    case CLD_TRAPPED: return ((info->si_status & 0xff) << 8) | 0x7f;
    case CLD_CONTINUED: return 0xffff;
    default: return 0;
    }
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
    uint32_t stack = captureStackOf(t);
    uint32_t parent = static_cast<uint32_t>(getpid());
    t->in_rt++; // the runtime's own locks are not held across fork: nothing else runs here
    pid_t pid = REAL(fork)();
    t->in_rt--;
    if (pid == 0) {
        followAfterFork(parent);
        return 0;
    }
    if (pid > 0)
        emitStamped(t, nullptr, RAVEL_EV_FORK, RAVEL_OBJ_PROCESS, static_cast<uint32_t>(pid), stack);
    return pid;
}

RAVEL_EXPORT int execve(const char* path, char* const argv[], char* const envp[])
{
    return execCall(envp, [=](char* const* env) { return REAL(execve)(path, argv, env); });
}

RAVEL_EXPORT int execv(const char* path, char* const argv[])
{
    return execCall(environ, [=](char* const* env) { return REAL(execve)(path, argv, env); });
}

RAVEL_EXPORT int execvp(const char* file, char* const argv[])
{
    return execCall(environ, [=](char* const* env) { return REAL(execvpe)(file, argv, env); });
}

RAVEL_EXPORT int execvpe(const char* file, char* const argv[], char* const envp[])
{
    return execCall(envp, [=](char* const* env) { return REAL(execvpe)(file, argv, env); });
}

RAVEL_EXPORT int fexecve(int fd, char* const argv[], char* const envp[])
{
    return execCall(envp, [=](char* const* env) { return REAL(fexecve)(fd, argv, env); });
}

RAVEL_EXPORT int execveat(int dirfd, const char* path, char* const argv[], char* const envp[], int flags)
{
    return execCall(envp, [=](char* const* env) { return REAL(execveat)(dirfd, path, argv, env, flags); });
}

namespace {

// execl, execle, execlp: their arguments as an argv (glibc's own call execve internally, past
// the interceptors). On the stack, or in a private mapping when there are many.
struct ListArgs {
    static constexpr size_t kInline = 512;
    char* inlineArgv[kInline];
    char** argv = inlineArgv;
    size_t mappedBytes = 0;
    char* const* env = nullptr;
    ~ListArgs()
    {
        if (mappedBytes)
            munmap(argv, mappedBytes);
    }
    bool take(const char* arg0, va_list ap, bool withEnv)
    {
        va_list count;
        va_copy(count, ap);
        size_t n = 1;
        while (va_arg(count, char*))
            n++;
        va_end(count);
        if (n + 1 > kInline) {
            size_t bytes = ((n + 1) * sizeof(char*) + 4095) & ~size_t(4095);
            void* m = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (m == MAP_FAILED) {
                errno = E2BIG;
                return false;
            }
            argv = static_cast<char**>(m);
            mappedBytes = bytes;
        }
        argv[0] = const_cast<char*>(arg0);
        for (size_t i = 1; i <= n; i++)
            argv[i] = va_arg(ap, char*); // the last is the terminating null
        env = withEnv ? va_arg(ap, char* const*) : environ;
        return true;
    }
};

} // namespace

RAVEL_EXPORT int execl(const char* path, const char* arg, ...)
{
    ListArgs a;
    va_list ap;
    va_start(ap, arg);
    bool ok = a.take(arg, ap, false);
    va_end(ap);
    return ok ? execve(path, a.argv, a.env) : -1;
}

RAVEL_EXPORT int execle(const char* path, const char* arg, ...)
{
    ListArgs a;
    va_list ap;
    va_start(ap, arg);
    bool ok = a.take(arg, ap, true);
    va_end(ap);
    return ok ? execve(path, a.argv, a.env) : -1;
}

RAVEL_EXPORT int execlp(const char* file, const char* arg, ...)
{
    ListArgs a;
    va_list ap;
    va_start(ap, arg);
    bool ok = a.take(arg, ap, false);
    va_end(ap);
    return ok ? execvpe(file, a.argv, a.env) : -1;
}

RAVEL_EXPORT int posix_spawn(pid_t* pid, const char* path, const posix_spawn_file_actions_t* actions,
                             const posix_spawnattr_t* attr, char* const argv[], char* const envp[])
{
    return spawnCall(pid, envp, [=](pid_t* out, char* const* env) {
        return REAL(posix_spawn)(out, path, actions, attr, argv, env);
    });
}

RAVEL_EXPORT int posix_spawnp(pid_t* pid, const char* file, const posix_spawn_file_actions_t* actions,
                              const posix_spawnattr_t* attr, char* const argv[], char* const envp[])
{
    return spawnCall(pid, envp, [=](pid_t* out, char* const* env) {
        return REAL(posix_spawnp)(out, file, actions, attr, argv, env);
    });
}

RAVEL_EXPORT pid_t wait(int* status)
{
    return waitCall(-1, 0, [=](int* st) {
        pid_t rc = REAL(wait)(st);
        if (status && rc > 0)
            *status = *st;
        return rc;
    });
}

RAVEL_EXPORT pid_t waitpid(pid_t pid, int* status, int options)
{
    return waitCall(pid, options, [=](int* st) {
        pid_t rc = REAL(waitpid)(pid, st, options);
        if (status && rc > 0)
            *status = *st;
        return rc;
    });
}

RAVEL_EXPORT pid_t wait3(int* status, int options, struct rusage* usage)
{
    return waitCall(-1, options, [=](int* st) {
        pid_t rc = REAL(wait3)(st, options, usage);
        if (status && rc > 0)
            *status = *st;
        return rc;
    });
}

RAVEL_EXPORT pid_t wait4(pid_t pid, int* status, int options, struct rusage* usage)
{
    return waitCall(pid, options, [=](int* st) {
        pid_t rc = REAL(wait4)(pid, st, options, usage);
        if (status && rc > 0)
            *status = *st;
        return rc;
    });
}

RAVEL_EXPORT int waitid(idtype_t idtype, id_t id, siginfo_t* info, int options)
{
    int32_t asked = idtype == P_PID ? static_cast<int32_t>(id) : idtype == P_PGID ? -static_cast<int32_t>(id) : -1;
    int result = 0;
    waitCall(asked, options, [&](int* st) -> pid_t {
        siginfo_t local {};
        siginfo_t* si = info ? info : &local;
        si->si_pid = 0;
        result = REAL(waitid)(idtype, id, si, options);
        if (result != 0)
            return -1;
        *st = statusOfSiginfo(si);
        return si->si_pid;
    });
    return result;
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
