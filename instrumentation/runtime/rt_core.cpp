// The recorder: opens the trace file, maps it, hands out chunks, registers threads, stamps the
// clock. The file is a shared mapping: every record is in the page cache the moment it is
// written, so a crash or SIGKILL of the target loses nothing already recorded.
#include "rt.hpp"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

namespace ravel::rt {

constinit Global g;
__thread ThreadState t_state __attribute__((tls_model("initial-exec")));
uint32_t g_objSeq[1 << 18];
uint64_t g_pageBits[(1 << 20) / 64];

namespace {

constexpr uint64_t kReserve = 64ull << 30; // virtual range for the file mapping
constexpr uint64_t kGrowMin = 32ull << 20;  // the file grows (fallocate) at least this much at once
// ... except in the other processes of a run, most of them short (a shell's fork before exec, a
// build's compilers): their traces start small and grow by half their size, so a `make -j` of
// hundreds of processes does not reserve 32 MiB for each.
constexpr uint64_t kGrowMinFollower = 1ull << 20;
uint64_t g_growMin = kGrowMin;
constexpr uint64_t kGrowMax = 1ull << 30;
constexpr uint64_t kGrowAhead = 16ull << 20; // grow early, off the hot path, when this close to the end

SpinLock g_growLock;
SpinLock g_threadLock;
RavelChunkHeader* g_threadChunk; // current THREADS chunk
uint32_t g_threadSlots;          // slots used in it
uint32_t g_threadChunkSeq;
bool g_initDone;
constexpr uint32_t kMaxEntries = 1u << 16;
RavelThreadEntry** g_entries; // every registered thread's entry, for lookups by pthread_t
uint32_t g_entryCount;
dev_t g_traceDev; // the trace file's identity: a descriptor of that number may be another file now
ino_t g_traceIno;

// Not close(): the interceptor would keep a descriptor whose number is the trace's.
void closeOwnFd(int fd) { syscall(SYS_close, fd); }

// The trace descriptor sits out of the way, above the numbers a program expects open() to give
// it (a daemon that closed 0-2 and opens /dev/null three times) and above what most programs
// ever use; the descriptor interceptors protect it wherever it is.
int moveHigh(int fd)
{
    struct rlimit rl;
    int floor = 1000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < 1024)
        floor = rl.rlim_cur > 64 ? static_cast<int>(rl.rlim_cur) - 24 : 3;
    if (fd >= floor)
        return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);
    if (high < 0)
        return fd;
    closeOwnFd(fd);
    return high;
}

// The target closed the trace descriptor behind the interceptors' back (a raw close syscall) or
// put another file under its number: open the trace again by its path, or stop recording rather
// than grow or map someone else's file.
bool traceFdIntact()
{
    struct stat st;
    if (fstat(g.fd, &st) == 0 && st.st_dev == g_traceDev && st.st_ino == g_traceIno)
        return true;
    int fd = open(g.path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && fstat(fd, &st) == 0 && st.st_dev == g_traceDev && st.st_ino == g_traceIno) {
        g.fd = moveHigh(fd);
        return true;
    }
    if (fd >= 0)
        closeOwnFd(fd);
    g.fd = -1;
    rtMessage("the program closed the trace file %s; recording stopped, the program continues", g.path);
    return false;
}

uint64_t parseSize(const char* s, const char** end)
{
    uint64_t v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + static_cast<uint64_t>(*s++ - '0');
    if (*s == 'k' || *s == 'K')
        v <<= 10, s++;
    else if (*s == 'm' || *s == 'M')
        v <<= 20, s++;
    else if (*s == 'g' || *s == 'G')
        v <<= 30, s++;
    *end = s;
    return v;
}

// RAVEL_OPTIONS: "key=value" pairs separated by ':' ',' or spaces. Unknown keys are the
// watchdog's (ravel run reads the same variable) and are ignored here.
void parseOptions(Options& o)
{
    const char* s = getenv("RAVEL_OPTIONS");
    if (!s)
        return;
    while (*s) {
        while (*s == ':' || *s == ',' || *s == ' ')
            s++;
        const char* key = s;
        while (*s && *s != '=' && *s != ':' && *s != ',' && *s != ' ')
            s++;
        size_t klen = static_cast<size_t>(s - key);
        if (*s != '=') {
            continue;
        }
        s++;
        const char* end;
        uint64_t v = parseSize(s, &end);
        auto is = [&](const char* k) { return strlen(k) == klen && memcmp(k, key, klen) == 0; };
        if (is("flight_recorder"))
            o.flight_kib = static_cast<uint32_t>(v);
        else if (is("chunk_size")) {
            if (v >= 4096 && v <= (16u << 20) && (v & (v - 1)) == 0)
                o.chunk_size = static_cast<uint32_t>(v);
            else
                rtMessage("ignoring chunk_size=%llu: it must be a power of two from 4096 to 16M",
                          static_cast<unsigned long long>(v));
        } else if (is("stack_depth"))
            o.stack_depth = v < 1 ? 1 : v > 128 ? 128 : static_cast<uint32_t>(v);
        else if (is("verbose"))
            o.verbose = v != 0;
        else if (is("races"))
            o.races = v != 0;
        else if (is("follow"))
            o.follow = v != 0;
        s = end;
        while (*s && *s != ':' && *s != ',' && *s != ' ')
            s++;
    }
}

// Reserve disk for [0, want) and map what is new. Called with g_growLock held.
bool growTo(uint64_t want)
{
    uint64_t have = __atomic_load_n(&g.hdr->reserved_size, __ATOMIC_ACQUIRE);
    if (want <= have)
        return true;
    uint64_t step = have / 2 < g_growMin ? g_growMin : have / 2 > kGrowMax ? kGrowMax : have / 2;
    uint64_t newSize = have + (want - have > step ? want - have : step);
    newSize = (newSize + g.opt.chunk_size - 1) / g.opt.chunk_size * g.opt.chunk_size;
    if (newSize > g.reserve) {
        rtMessage("trace %s reached %llu GiB; recording stopped, the program continues", g.path,
                  static_cast<unsigned long long>(g.reserve >> 30));
        return false;
    }
    if (!traceFdIntact())
        return false;
    // Reserve the blocks first: storing into a sparse shared mapping on a full disk would raise
    // SIGBUS in the target.
    int rc = fallocate(g.fd, 0, static_cast<off_t>(have), static_cast<off_t>(newSize - have));
    if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS))
        rc = posix_fallocate(g.fd, static_cast<off_t>(have), static_cast<off_t>(newSize - have)) == 0 ? 0 : -1;
    if (rc != 0) {
        __atomic_fetch_or(&g.hdr->flags, RAVEL_FILE_TRUNCATED_DISK, __ATOMIC_RELAXED);
        rtMessage("cannot extend trace %s (%s); recording stopped, the program continues", g.path, strerror(errno));
        return false;
    }
    void* m = mmap(g.base + have, newSize - have, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g.fd,
                   static_cast<off_t>(have));
    if (m == MAP_FAILED) {
        rtMessage("cannot map trace %s (%s); recording stopped", g.path, strerror(errno));
        return false;
    }
    __atomic_store_n(&g.hdr->reserved_size, newSize, __ATOMIC_RELEASE);
    return true;
}

// The program as it was started: argv[0] (found in PATH when it has no slash) when that is the
// running executable, so a program started through a symlink keeps its name (Debian's
// /usr/bin/redis-server is a symlink to redis-check-rdb, which /proc/self/exe resolves to);
// else the executable's resolved path. Sets exe, returns false when neither is known.
bool programPath(char* exe, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", exe, size - 1);
    exe[n > 0 ? n : 0] = 0;
    char argv0[512] = {};
    int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (cfd < 0)
        return n > 0;
    ssize_t got = read(cfd, argv0, sizeof argv0 - 1);
    close(cfd);
    if (got <= 0 || !argv0[0] || strnlen(argv0, sizeof argv0) == sizeof argv0 - 1)
        return n > 0;
    struct stat self;
    if (stat("/proc/self/exe", &self) != 0)
        return n > 0;
    char candidate[1024];
    auto sameFile = [&](const char* path) {
        struct stat st;
        return stat(path, &st) == 0 && st.st_dev == self.st_dev && st.st_ino == self.st_ino;
    };
    auto take = [&](const char* path) {
        if (path[0] == '/') {
            snprintf(exe, size, "%s", path);
        } else {
            char cwd[512];
            if (!getcwd(cwd, sizeof cwd))
                return;
            int w = snprintf(exe, size, "%s/%s", cwd, path[0] == '.' && path[1] == '/' ? path + 2 : path);
            if (w < 0 || size_t(w) >= size) { // too long to keep: the resolved path
                ssize_t r = readlink("/proc/self/exe", exe, size - 1);
                exe[r > 0 ? r : 0] = 0;
            }
        }
    };
    if (strchr(argv0, '/')) {
        if (sameFile(argv0))
            take(argv0);
        return exe[0] != 0;
    }
    const char* path = getenv("PATH");
    while (path && *path) {
        const char* colon = strchr(path, ':');
        size_t len = colon ? size_t(colon - path) : strlen(path);
        if (len > 0 && len < 512) {
            snprintf(candidate, sizeof candidate, "%.*s/%s", static_cast<int>(len), path, argv0);
            if (sameFile(candidate)) {
                take(candidate);
                break;
            }
        }
        path = colon ? colon + 1 : nullptr;
    }
    return exe[0] != 0;
}

// Makes `path` absolute (relative to the current directory) in place, when it fits.
void makeAbsolute(char* path, size_t size)
{
    if (path[0] == '/')
        return;
    char abs[4096];
    size_t pathLen = strlen(path);
    if (!getcwd(abs, sizeof abs))
        return;
    size_t cwdLen = strlen(abs);
    if (cwdLen + 1 + pathLen < sizeof abs && cwdLen + 1 + pathLen < size) {
        abs[cwdLen] = '/';
        memcpy(abs + cwdLen + 1, path, pathLen + 1);
        memcpy(path, abs, cwdLen + 2 + pathLen);
    }
}

uint64_t parseHex(const char* s)
{
    uint64_t v = 0;
    for (; s && *s; s++) {
        unsigned d = *s >= '0' && *s <= '9' ? unsigned(*s - '0')
            : *s >= 'a' && *s <= 'f'         ? unsigned(*s - 'a' + 10)
            : *s >= 'A' && *s <= 'F'         ? unsigned(*s - 'A' + 10)
                                             : 16u;
        if (d == 16)
            return 0;
        v = v << 4 | d;
    }
    return v;
}

// A trace this process may not create itself: it switched to another user (a server dropping
// privileges, `setpriv`, `runuser`) and the trace directory is not that user's. `ravel run` listens
// on the run's socket (abstract "ravel-run-<run id>"), creates the file for this process's user
// and passes the descriptor back (analyzer/cli/trace_handover.hpp). -1 with errno set (EEXIST: the
// name is taken, try the next) when it cannot. Asked for the main trace's name, which it cannot
// read either, it also learns whose that trace is (*mainPid; 0 unknown).
int openTraceByLauncher(const char* path, uint32_t* mainPid)
{
    int saved = errno;
    if (!g.runId)
        return errno = saved, -1;
    int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (s < 0)
        return errno = saved, -1;
    struct timeval timeout = { 2, 0 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    int n = snprintf(a.sun_path + 1, sizeof a.sun_path - 1, "ravel-run-%llx", static_cast<unsigned long long>(g.runId));
    socklen_t len = static_cast<socklen_t>(offsetof(struct sockaddr_un, sun_path) + 1 + static_cast<size_t>(n));
    int fd = -1;
    struct {
        int32_t error;
        uint32_t mainPid;
    } reply = { saved, 0 };
    if (connect(s, reinterpret_cast<struct sockaddr*>(&a), len) == 0
        && send(s, path, strlen(path), MSG_NOSIGNAL) == static_cast<ssize_t>(strlen(path))) {
        struct msghdr msg;
        memset(&msg, 0, sizeof msg);
        struct iovec iov = { &reply, sizeof reply };
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
        memset(control, 0, sizeof control);
        msg.msg_control = control;
        msg.msg_controllen = sizeof control;
        if (recvmsg(s, &msg, MSG_CMSG_CLOEXEC) == static_cast<ssize_t>(sizeof reply)) {
            struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
            if (reply.error == 0 && c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(c), sizeof fd);
            else if (reply.error == 0)
                reply.error = EPROTO;
            if (mainPid)
                *mainPid = reply.mainPid;
        } else {
            reply.error = saved;
        }
    }
    close(s);
    if (fd < 0)
        errno = reply.error ? reply.error : saved;
    return fd;
}

// Creates the trace of this image. The run's first process takes the run's name (RAVEL_TRACE_FILE,
// else "<program>.<pid>.ravel"); every other process of the run (a fork, a spawned program, the
// next image after an exec) records beside it as "<stem>.<pid>.ravel", and a pid's later images as
// "<stem>.<pid>.<n>.ravel" (docs/trace-format.md, "One run, several traces").
bool openTraceFile(bool forked, uint32_t* imageOut, uint32_t* originOut)
{
    char exe[1024];
    programPath(exe, sizeof exe);
    const char* baseName = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
    if (!forked) {
        const char* env = getenv("RAVEL_TRACE_FILE");
        if (env && *env)
            snprintf(g.runPath, sizeof g.runPath, "%s", env);
        else
            snprintf(g.runPath, sizeof g.runPath, "%s.%d.ravel", baseName, getpid());
        makeAbsolute(g.runPath, sizeof g.runPath);
        g.runId = parseHex(getenv("RAVEL_RUN_ID"));
    }
    size_t stemLen = strlen(g.runPath);
    if (stemLen > 6 && strcmp(g.runPath + stemLen - 6, ".ravel") == 0)
        stemLen -= 6;
    g.fd = -1;
    errno = EEXIST;
    uint32_t image = 1;
    uint32_t mainPid = 0; // whose the main trace is, when only ravel run could say
    if (!forked) {
        snprintf(g.path, sizeof g.path, "%s", g.runPath);
        g.fd = open(g.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (g.fd < 0 && (errno == EACCES || errno == EPERM))
            g.fd = openTraceByLauncher(g.path, &mainPid);
        *originOut = RAVEL_ORIGIN_ROOT;
    }
    // The name is taken: by the process that exec'd us (or our own earlier image), or by an
    // earlier run. Record beside it, the pid's later images as ".<pid>.<n>". The image number
    // counts this pid's earlier images: the main trace when it is this pid's, and each taken
    // ".<pid>" name.
    uint32_t mainIsOurs = 0;
    if (!forked && g.fd < 0 && errno == EEXIST) {
        int mfd = open(g.runPath, O_RDONLY | O_CLOEXEC);
        uint32_t pid = mainPid;
        if (mfd >= 0 && pread(mfd, &pid, sizeof pid, offsetof(RavelFileHeader, pid)) != sizeof pid)
            pid = 0;
        if (pid == static_cast<uint32_t>(getpid()))
            mainIsOurs = 1;
        if (mfd >= 0)
            close(mfd);
        errno = EEXIST;
    }
    for (uint32_t n = 1; g.fd < 0 && errno == EEXIST && n <= 64; n++) {
        if (n == 1)
            snprintf(g.path, sizeof g.path, "%.*s.%d.ravel", static_cast<int>(stemLen), g.runPath, getpid());
        else
            snprintf(g.path, sizeof g.path, "%.*s.%d.%u.ravel", static_cast<int>(stemLen), g.runPath, getpid(), n);
        g.fd = open(g.path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (g.fd < 0 && (errno == EACCES || errno == EPERM))
            g.fd = openTraceByLauncher(g.path, nullptr);
        image = n + mainIsOurs;
        *originOut = forked ? RAVEL_ORIGIN_FORKED : RAVEL_ORIGIN_EXECED;
    }
    *imageOut = image;
    if (g.runId == 0) // the run's first process (or one started without ravel run): the run is ours
        g.runId = ((monoNs() << 16) ^ static_cast<uint64_t>(getpid()) ^ __rdtsc()) | 1;
    if (g.fd < 0) {
        rtMessage("cannot create trace %s (%s); the program runs unrecorded", g.path, strerror(errno));
        return false;
    }
    g.fd = moveHigh(g.fd);
    struct stat st;
    if (fstat(g.fd, &st) == 0) {
        g_traceDev = st.st_dev;
        g_traceIno = st.st_ino;
    }
    // Absolute, to open it again after the program changed directory (traceFdIntact).
    makeAbsolute(g.path, sizeof g.path);
    void* base = mmap(nullptr, kReserve, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        rtMessage("cannot reserve address space for the trace; the program runs unrecorded");
        return false;
    }
    g.base = static_cast<uint8_t*>(base);
    g.reserve = kReserve;
    // The header page first, so growTo can keep its bookkeeping in it.
    if (fallocate(g.fd, 0, 0, RAVEL_HEADER_SIZE) != 0 && ftruncate(g.fd, RAVEL_HEADER_SIZE) != 0) {
        rtMessage("cannot write trace %s (%s); the program runs unrecorded", g.path, strerror(errno));
        return false;
    }
    if (mmap(g.base, RAVEL_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, g.fd, 0) == MAP_FAILED)
        return false;
    g.hdr = reinterpret_cast<RavelFileHeader*>(g.base);
    RavelFileHeader* h = g.hdr;
    h->version = RAVEL_TRACE_VERSION;
    h->header_size = RAVEL_HEADER_SIZE;
    h->chunk_size = g.opt.chunk_size;
    h->pid = static_cast<uint32_t>(getpid());
    h->ppid = static_cast<uint32_t>(getppid());
    h->start_tsc = __rdtsc();
    h->start_mono_ns = monoNs();
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    h->start_real_ns = static_cast<uint64_t>(rt.tv_sec) * 1000000000ull + static_cast<uint64_t>(rt.tv_nsec);
    h->run_id = g.runId;
    g_growMin = *originOut == RAVEL_ORIGIN_ROOT ? kGrowMin : kGrowMinFollower;
    h->image = image;
    h->origin = *originOut;
    h->next_chunk = RAVEL_HEADER_SIZE;
    h->reserved_size = RAVEL_HEADER_SIZE;
    if (g.opt.flight_kib) {
        uint32_t chunks = static_cast<uint32_t>((static_cast<uint64_t>(g.opt.flight_kib) << 10) / g.opt.chunk_size);
        h->flight_chunks = chunks < 2 ? 2 : chunks > kMaxFlightChunks ? kMaxFlightChunks : chunks;
        h->flags |= RAVEL_FILE_FLIGHT_RECORDER;
    }
    size_t exeLen = strnlen(exe, sizeof h->program - 1);
    memcpy(h->program, exe, exeLen);
    h->program[exeLen] = 0;
    int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (cfd >= 0) {
        ssize_t got = read(cfd, h->argv, sizeof h->argv - 1);
        h->argv_len = got > 0 ? static_cast<uint32_t>(got) : 0;
        close(cfd);
    }
    memcpy(h->magic, RAVEL_TRACE_MAGIC, 8); // last: a header without magic is not a trace yet
    return true;
}

} // namespace

uint64_t monoNs()
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

void rtMessage(const char* fmt, ...)
{
    char buf[1024];
    int n = snprintf(buf, sizeof buf, "ravel: ");
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(buf + n, sizeof buf - static_cast<size_t>(n) - 1, fmt, ap);
    va_end(ap);
    if (n > static_cast<int>(sizeof buf) - 2)
        n = sizeof buf - 2;
    buf[n++] = '\n';
    ssize_t rc = write(2, buf, static_cast<size_t>(n));
    (void)rc;
}

// Reserves the space of one chunk (growing the file when needed) and faults its pages in now: a
// page fault taken later, while writing a record inside a critical section, would stall every
// thread waiting for that lock (measured: 160K faults made a lock micro 7x slower).
uint8_t* reserveChunk(uint64_t* offsetOut)
{
    uint32_t cs = g.opt.chunk_size;
    uint64_t off = __atomic_fetch_add(&g.hdr->next_chunk, cs, __ATOMIC_RELAXED);
    if (off + cs > __atomic_load_n(&g.hdr->reserved_size, __ATOMIC_ACQUIRE)) {
        g_growLock.lock();
        bool ok = growTo(off + cs);
        g_growLock.unlock();
        if (!ok) {
            g.enabled = false;
            return nullptr;
        }
    }
    uint8_t* p = g.base + off;
    // A single-threaded process of the run (a build's compiler passes, a shell's subshells: most
    // live a millisecond) has no other thread a fault could stall, and faulting in all of its
    // first chunks up front was most of what recording cost it: its pages are faulted as written.
    if (g.hdr->origin != RAVEL_ORIGIN_ROOT && __atomic_load_n(&g.hdr->thread_count, __ATOMIC_RELAXED) <= 1) {
        *offsetOut = off;
        return p;
    }
    constexpr int kPopulateWrite = 23; // MADV_POPULATE_WRITE, Linux 5.14
    if (madvise(p, cs, kPopulateWrite) != 0)
        for (uint32_t i = 0; i < cs; i += 4096)
            __atomic_store_n(p + i, 0, __ATOMIC_RELAXED);
    *offsetOut = off;
    return p;
}

void initChunk(RavelChunkHeader* c, uint16_t type, uint32_t owner, uint32_t seq)
{
    c->type = type;
    c->owner = owner;
    c->seq = seq;
    c->size = g.opt.chunk_size;
    c->first_tsc = __rdtsc();
    c->first_mono_ns = monoNs();
    __atomic_store_n(&c->magic, RAVEL_CHUNK_MAGIC, __ATOMIC_RELEASE);
}

void* allocChunk(uint16_t type, uint32_t owner, uint32_t seq, uint64_t* offsetOut)
{
    uint64_t off;
    uint8_t* p = reserveChunk(&off);
    if (!p)
        return nullptr;
    initChunk(reinterpret_cast<RavelChunkHeader*>(p), type, owner, seq);
    if (offsetOut)
        *offsetOut = off;
    return p;
}

void prepareSpare(ThreadState* t)
{
    t->wantSpare = false;
    if (t->spare || !g.enabled)
        return;
    // A signal handler's event meanwhile could need the spare being prepared: it is dropped and
    // counted, like one arriving during a record write.
    Writing writing(t);
    t->spare = reserveChunk(&t->spareOff);
    // Near the end of the reserved file: grow now, while this thread holds no lock it just
    // released, rather than later in whichever thread runs out.
    uint64_t next = __atomic_load_n(&g.hdr->next_chunk, __ATOMIC_RELAXED);
    uint64_t reserved = __atomic_load_n(&g.hdr->reserved_size, __ATOMIC_ACQUIRE);
    uint64_t ahead = reserved / 2 < kGrowAhead ? reserved / 2 : kGrowAhead;
    if (next + ahead > reserved && g_growLock.tryLock()) {
        growTo(next + ahead);
        g_growLock.unlock();
    }
}

bool openEventsChunk(ThreadState* t)
{
    if (!g.enabled || !t->entry)
        return false;
    if (t->chunk) // seal the full one
        __atomic_store_n(&t->chunk->used,
                         static_cast<uint32_t>(t->cur - reinterpret_cast<uint8_t*>(t->chunk)
                                               - RAVEL_CHUNK_HEADER_SIZE),
                         __ATOMIC_RELEASE);
    RavelChunkHeader* c;
    uint32_t flight = g.hdr->flight_chunks;
    if (flight && t->flight_count >= flight) {
        // Flight recorder: reuse this thread's oldest chunk. Its magic goes first so a reader never
        // takes a chunk being rewritten for an intact one.
        uint64_t off = t->flight_ring[t->flight_next];
        t->flight_next = (t->flight_next + 1) % flight;
        c = reinterpret_cast<RavelChunkHeader*>(g.base + off);
        __atomic_store_n(&c->magic, 0u, __ATOMIC_RELEASE);
        memset(reinterpret_cast<uint8_t*>(c) + RAVEL_CHUNK_HEADER_SIZE, 0, g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE);
        c->seq = t->chunk_seq++;
        c->used = 0;
        c->flags = 0;
        c->first_tsc = __rdtsc();
        c->first_mono_ns = monoNs();
        __atomic_store_n(&c->magic, RAVEL_CHUNK_MAGIC, __ATOMIC_RELEASE);
    } else {
        uint64_t off;
        if (t->spare) {
            c = reinterpret_cast<RavelChunkHeader*>(t->spare);
            off = t->spareOff;
            t->spare = nullptr;
            initChunk(c, RAVEL_CHUNK_EVENTS, t->tid, t->chunk_seq);
        } else {
            c = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_EVENTS, t->tid, t->chunk_seq, &off));
        }
        if (!c) {
            t->chunk = nullptr;
            t->cur = t->end = nullptr;
            return false;
        }
        t->chunk_seq++;
        if (flight)
            t->flight_ring[t->flight_count++] = off;
        // The next chunk is prepared at the thread's next unlock, outside the critical section.
        t->wantSpare = !flight || t->flight_count < flight;
    }
    t->chunk = c;
    t->cur = reinterpret_cast<uint8_t*>(c) + RAVEL_CHUNK_HEADER_SIZE;
    // Room is checked once per record sequence: the longest is a slot definition and a full record.
    t->end = reinterpret_cast<uint8_t*>(c) + g.opt.chunk_size - 32;
    // Each chunk decodes on its own: no slot and no "last stack" carry over from the previous one.
    for (uint64_t& slot : t->slotObj)
        slot = 0;
    t->lastStack[0] = t->lastStack[1] = kNoStack;
    // Every chunk starts with a clock stamp, so each one can be placed in time on its own.
    putTime(t, c->first_tsc - g.hdr->start_tsc);
    t->since_stamp = 0;
    return true;
}

void stampClock(ThreadState* t)
{
    t->since_stamp = 0;
    putTime(t, __rdtsc() - g.hdr->start_tsc);
}

int traceFd() { return __atomic_load_n(&g.fd, __ATOMIC_RELAXED); }

bool isTraceFd(int fd)
{
    if (fd < 0 || fd != __atomic_load_n(&g.fd, __ATOMIC_RELAXED))
        return false;
    // The number may be the target's by now (the trace's descriptor closed by a raw syscall and
    // the number reused): then it is the target's to close, and growTo opens the trace again.
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_dev == g_traceDev && st.st_ino == g_traceIno)
        return true;
    __atomic_store_n(&g.fd, -1, __ATOMIC_RELAXED);
    return false;
}

void moveTraceFd()
{
    g_growLock.lock();
    int fd = g.fd;
    if (fd >= 0) {
        // The old number is left for the caller's dup2 to replace; growTo uses the new one.
        int moved = fcntl(fd, F_DUPFD_CLOEXEC, fd + 1);
        if (moved >= 0)
            __atomic_store_n(&g.fd, moved, __ATOMIC_RELAXED);
    }
    g_growLock.unlock();
}

RavelThreadEntry* allocThreadEntry()
{
    g_threadLock.lock();
    uint32_t perChunk = (g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE) / sizeof(RavelThreadEntry);
    if (!g_threadChunk || g_threadSlots == perChunk) {
        g_threadChunk = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_THREADS, 0, g_threadChunkSeq++, nullptr));
        g_threadSlots = 0;
    }
    RavelThreadEntry* e = nullptr;
    if (g_threadChunk) {
        e = reinterpret_cast<RavelThreadEntry*>(reinterpret_cast<uint8_t*>(g_threadChunk) + RAVEL_CHUNK_HEADER_SIZE)
            + g_threadSlots++;
        __atomic_store_n(&g_threadChunk->used, g_threadSlots * static_cast<uint32_t>(sizeof(RavelThreadEntry)),
                         __ATOMIC_RELEASE);
        if (!g_entries) {
            void* m = mmap(nullptr, kMaxEntries * sizeof(void*), PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
            g_entries = m == MAP_FAILED ? nullptr : static_cast<RavelThreadEntry**>(m);
        }
        if (g_entries && g_entryCount < kMaxEntries)
            g_entries[g_entryCount++] = e;
    }
    g_threadLock.unlock();
    return e;
}

void registerThread(ThreadState* t, uint32_t tid, uint32_t parent, uint32_t createStack, RavelThreadEntry* e,
                    bool foreign)
{
    if (!g.enabled)
        return;
    if (tid == 0)
        tid = __atomic_add_fetch(&g.hdr->thread_count, 1, __ATOMIC_RELAXED);
    if (!e)
        e = allocThreadEntry();
    if (!e)
        return;
    e->os_tid = static_cast<uint32_t>(syscall(SYS_gettid));
    e->pid = static_cast<uint32_t>(getpid());
    e->parent = parent;
    e->pthread = static_cast<uint64_t>(pthread_self());
    e->create_stack = createStack;
    e->start_tsc = __rdtsc();
    e->state = 1;
    pthread_attr_t attr;
    // pthread_getattr_np allocates (the affinity mask): a foreign thread's stack stays unknown.
    if (!foreign && pthread_getattr_np(pthread_self(), &attr) == 0) {
        void* addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            e->stack_lo = reinterpret_cast<uint64_t>(addr);
            e->stack_hi = e->stack_lo + size;
        }
        pthread_attr_destroy(&attr);
    }
    __atomic_store_n(&e->tid, tid, __ATOMIC_RELEASE);
    t->entry = e;
    t->tid = tid;
    t->chunk = nullptr;
    t->cur = t->end = nullptr;
    t->chunk_seq = 0;
    t->flight_count = t->flight_next = 0;
    t->last_tick = 0;
    t->spare = nullptr;
    t->wantSpare = false;
    openEventsChunk(t);
}

RavelThreadEntry* findThreadEntry(uint64_t pthread, bool exitedToo)
{
    RavelThreadEntry* found = nullptr;
    g_threadLock.lock();
    for (uint32_t i = g_entryCount; g_entries && i-- > 0;) {
        if (g_entries[i]->pthread == pthread && (g_entries[i]->state == 1 || exitedToo)) {
            found = g_entries[i];
            break;
        }
    }
    g_threadLock.unlock();
    return found;
}

void unregisterThread(ThreadState* t)
{
    if (!t->entry)
        return;
    if (t->chunk && g.enabled)
        __atomic_store_n(&t->chunk->used,
                         static_cast<uint32_t>(t->cur - reinterpret_cast<uint8_t*>(t->chunk)
                                               - RAVEL_CHUNK_HEADER_SIZE),
                         __ATOMIC_RELEASE);
    t->entry->exit_tsc = __rdtsc();
    __atomic_store_n(&t->entry->state, 2u, __ATOMIC_RELEASE);
}

void finalizeProcess(int status)
{
    if (!g.enabled)
        return;
    ThreadState* t = &t_state;
    if (t->entry)
        raceFinalize(t);
    if (t->entry && t->chunk)
        __atomic_store_n(&t->chunk->used,
                         static_cast<uint32_t>(t->cur - reinterpret_cast<uint8_t*>(t->chunk)
                                               - RAVEL_CHUNK_HEADER_SIZE),
                         __ATOMIC_RELEASE);
    // Other threads may still be running (exit() while workers lock): the mapping stays, they keep
    // writing into the page cache until the kernel ends them.
    // A server's forked child names itself after the fork (setproctitle: "nginx: worker process",
    // "postgres: checkpointer"): that, not its parent's command line, is what it was.
    if (g.hdr->origin == RAVEL_ORIGIN_FORKED) {
        int cfd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
        char now[sizeof g.hdr->argv];
        ssize_t got = cfd >= 0 ? read(cfd, now, sizeof now - 1) : -1;
        if (cfd >= 0)
            close(cfd);
        if (got > 0) {
            memcpy(g.hdr->argv, now, static_cast<size_t>(got));
            memset(g.hdr->argv + got, 0, sizeof g.hdr->argv - static_cast<size_t>(got));
            g.hdr->argv_len = static_cast<uint32_t>(got);
        }
    }
    g.hdr->exit_status = status;
    g.hdr->end_tsc = __rdtsc();
    g.hdr->end_mono_ns = monoNs();
    __atomic_fetch_or(&g.hdr->flags, RAVEL_FILE_ENDED, __ATOMIC_RELEASE);
}

void followAfterFork(uint32_t parentPid)
{
    // The child shares the parent's mapping: writing there would corrupt the parent's trace. It
    // drops it and records into a trace of its own. Only the forking thread lives on, so the
    // runtime's own locks (perhaps held by threads that are gone) start free, and everything
    // that pointed into the parent's trace starts empty.
    ThreadState* t = &t_state;
    uint32_t held = 0;
    uint64_t heldObj[RAVEL_MAX_HELD];
    if (t->entry) {
        // The locks the forking thread held are held by the child too (a pthread_atfork handler's,
        // one held across fork): the child's trace starts with them.
        held = t->entry->board.held_count < RAVEL_MAX_HELD ? t->entry->board.held_count : RAVEL_MAX_HELD;
        for (uint32_t i = 0; i < held; i++)
            heldObj[i] = t->entry->board.held[i];
    }
    g.enabled = false;
    raceAfterFork();
    if (g.opt.follow)
        saveModulesForFork();
    if (g.base)
        munmap(g.base, g.reserve);
    int fd = g.fd;
    g.fd = -1; // first: the close interceptor keeps the trace descriptor open
    if (fd >= 0)
        closeOwnFd(fd);
    g.base = nullptr;
    g.hdr = nullptr;
    g_growLock = SpinLock {};
    g_threadLock = SpinLock {};
    g_threadChunk = nullptr;
    g_threadSlots = 0;
    g_threadChunkSeq = 0;
    g_entryCount = 0;
    resetStacksAfterFork();
    resetModulesAfterFork();
    resetNamesAfterFork();
    resetThreadsAfterFork();
    t->chunk = nullptr;
    t->cur = t->end = nullptr;
    t->spare = nullptr;
    t->wantSpare = false;
    t->entry = nullptr;
    t->tid = 0;
    for (int i = 0; i < kSiteCacheSize; i++)
        t->site_pc[i] = 0; // the stack ids they cache are the parent's
    if (!g.opt.follow)
        return;
    InRuntime guard(t);
    uint32_t image = 0, origin = 0;
    if (!openTraceFile(true, &image, &origin))
        return;
    g.enabled = true;
    registerThread(t, 0, 0, 0, nullptr);
    restoreModulesAfterFork();
    if (!t->entry)
        return;
    uint32_t stack = captureStack();
    stampClock(t);
    put(t, 0, RAVEL_EV_FORK_CHILD, RAVEL_OBJ_PROCESS, parentPid, stack);
    for (uint32_t i = 0; i < held; i++) {
        uint64_t obj = heldObj[i] & RAVEL_OBJ_MASK;
        unsigned flags = static_cast<unsigned>(heldObj[i] >> 56);
        put(t, obj, RAVEL_EV_ACQUIRED, flags, 0, stack);
        boardHold(t, reinterpret_cast<void*>(obj), flags, stack);
    }
}

void ensureInit()
{
    if (g_initDone)
        return;
    g_initDone = true;
    g.fd = -1;
    ThreadState* t = &t_state;
    t->in_rt++;
    // Before anything of the runtime can reach an interceptor's real call.
    resolveAllReal();
    parseOptions(g.opt);
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&ensureInit), &info) && info.dli_fbase) {
        g.rt_lo = reinterpret_cast<uint64_t>(info.dli_fbase);
        g.rt_hi = g.rt_lo + (64u << 20);
        if (info.dli_fname && info.dli_fname[0] == '/')
            snprintf(g.rtPath, sizeof g.rtPath, "%s", info.dli_fname);
    }
    uint32_t image = 0, origin = 0;
    if (openTraceFile(false, &image, &origin)) {
        g.enabled = true;
        registerThread(t, 0, 0, 0, nullptr);
        recordModules();
        if (g.opt.verbose)
            rtMessage("recording into %s", g.path);
    }
    t->in_rt--;
}

namespace {
__attribute__((constructor(101))) void ravelInit() { ensureInit(); }
__attribute__((destructor(101))) void ravelFini()
{
    // Reached on return from main and on exit(); the status comes from the exit interceptors.
    if (g.enabled && !(g.hdr->flags & RAVEL_FILE_ENDED))
        finalizeProcess(g.hdr->exit_status);
}
} // namespace

} // namespace ravel::rt
