/* ravel trace format, version 1. The normative description is docs/trace-format.md; this header
 * is its machine-readable half, shared by the runtime (writer) and the analyzer (reader).
 *
 * Layout: a 4096-byte FileHeader, then chunks. While a program runs every chunk is chunk_size
 * bytes and sits at a chunk_size-aligned offset; the file is a shared mapping, so whatever a
 * thread wrote is in the page cache at once and survives SIGKILL. After the run, `ravel run`
 * compacts the file: chunks become variable-sized (zstd payloads) and follow each other.
 *
 * All integers are little-endian. Fields written concurrently are accessed with atomic builtins.
 */
#ifndef RAVEL_TRACE_FORMAT_H
#define RAVEL_TRACE_FORMAT_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RAVEL_TRACE_MAGIC "RAVELTRC" /* 8 bytes, no terminator in the file */
#define RAVEL_TRACE_VERSION 7u /* 2: channels, annotations, the names table; 3: the run-end record;
                                  4: data races (RACE, RACE_PREV, RACE_COUNT, RAVEL_FILE_RACE_MODE);
                                  5: DESTROY_REQ, INIT_FAIL, OWNER_DEAD, RAVEL_INIT_ROBUST, lock
                                  failures other than EBUSY, ECANCELED ends of cancelled waits;
                                  futex words (RAVEL_OBJ_FUTEX); processes (run_id, image,
                                  origin; PROC_WAIT_REQ/DONE, PROC_EXIT);
                                  6: RAVEL_ORIGIN_SNAPSHOT; 7: a forked image's argv is its
                                  command line at its end (a server's process title) */
#define RAVEL_HEADER_SIZE 4096u
#define RAVEL_CHUNK_MAGIC 0x4b4e4843u /* "CHNK" */
#define RAVEL_CHUNK_HEADER_SIZE 64u
#define RAVEL_DEFAULT_CHUNK_SIZE (64u * 1024u)

/* FileHeader.flags */
enum {
    RAVEL_FILE_ENDED = 1u << 0,           /* the runtime saw the process exit normally */
    RAVEL_FILE_COMPACTED = 1u << 1,       /* chunks are variable-sized, see ChunkHeader.size */
    RAVEL_FILE_FLIGHT_RECORDER = 1u << 2, /* old event chunks of a thread may have been reused */
    RAVEL_FILE_TRUNCATED_DISK = 1u << 3,  /* recording stopped: the disk was full */
    RAVEL_FILE_OVERFLOW = 1u << 4,        /* a table (threads, stacks) was full; some data lost */
    RAVEL_FILE_RACE_MODE = 1u << 5,       /* version 4: the program was built with ravel-cc / ravel-c++
                                             and its memory accesses were checked for data races */
};

/* FileHeader.run_end: how the program ended, as `ravel run` saw it */
enum {
    RAVEL_RUN_UNKNOWN = 0,  /* not recorded (no `ravel run`, or a trace of another process of the run) */
    RAVEL_RUN_EXITED = 1,   /* it exited; run_end_value = its status */
    RAVEL_RUN_SIGNALED = 2, /* a signal killed it; run_end_value = the signal */
    RAVEL_RUN_STOPPED = 3,  /* `ravel run` left it stopped (SIGSTOP) for a debugger and exited */
    RAVEL_RUN_ORPHANED = 4, /* `ravel run` died first (SIGKILL); its guard then sent run_end_value
                               (SIGKILL) to the program's process group */
};

/* FileHeader.run_end_flags */
enum {
    RAVEL_RUN_F_CORE_DUMPED = 1u << 0, /* SIGNALED: the kernel wrote a core dump */
    RAVEL_RUN_F_BY_RAVEL = 1u << 1,    /* SIGNALED: `ravel run` sent the signal (it ended a deadlock) */
    RAVEL_RUN_F_FORWARDED = 1u << 2,   /* SIGNALED: the signal was sent to `ravel run`, which forwarded it */
};

typedef struct RavelFileHeader {
    char magic[8];
    uint32_t version;
    uint32_t header_size;
    uint32_t chunk_size;
    uint32_t flags;
    uint64_t start_tsc;      /* rdtsc when the runtime started */
    uint64_t start_mono_ns;  /* CLOCK_MONOTONIC at start_tsc */
    uint64_t start_real_ns;  /* CLOCK_REALTIME at start_tsc */
    uint64_t end_tsc;        /* 0 until the process exits normally */
    uint64_t end_mono_ns;
    uint64_t next_chunk;     /* atomic: file offset of the next unused chunk */
    uint64_t reserved_size;  /* atomic: bytes fallocate'd so far */
    uint32_t thread_count;   /* atomic: ravel thread ids handed out (ids start at 1) */
    uint32_t stack_count;    /* atomic: stack ids handed out (ids start at 1; 0 = no stack) */
    uint32_t pid;
    uint32_t ppid;
    int32_t exit_status;     /* valid when RAVEL_FILE_ENDED */
    uint32_t flight_chunks;  /* event chunks kept per thread in flight-recorder mode; 0 = all */
    uint64_t tick;           /* written by the watchdog (`ravel run`) every millisecond; the
                                runtime stamps the clock when it changes */
    uint64_t verdict_tsc;    /* set by the watchdog when it found a deadlock */
    uint32_t verdict;        /* 0 none, 1 certain deadlock, 2 likely deadlock */
    uint32_t lost_events;    /* atomic: events dropped (reentrancy, full disk) */
    uint64_t calib_tsc;      /* a later (tsc, monotonic) pair for calibrating the tsc rate; */
    uint64_t calib_mono_ns;  /* written by the watchdog and at chunk opens (best effort) */
    uint8_t reserved0[32];
    char program[512];       /* absolute path of the executable as started (argv[0] when it is the
                                running executable, symlinks kept), NUL-terminated */
    uint32_t argv_len;       /* bytes used in argv */
    uint32_t reserved1;
    char argv[3072 - 8];     /* arguments, each NUL-terminated, back to back */
    /* The run-end record (version 3): how the program ended, written by `ravel run` once waitpid
     * returned (or by its guard when `ravel run` itself died first); all zero when nobody did. */
    uint32_t run_end;        /* RAVEL_RUN_* */
    int32_t run_end_value;   /* EXITED: the exit status; SIGNALED, STOPPED, ORPHANED: a signal number */
    uint32_t run_end_flags;  /* RAVEL_RUN_F_* */
    uint32_t run_end_reserved;
    uint64_t run_launch_mono_ns; /* CLOCK_MONOTONIC when `ravel run` started the program */
    uint64_t run_end_mono_ns;    /* CLOCK_MONOTONIC when it ended (waitpid returned) */
    /* The process record (version 5): which run this trace belongs to and how its process began.
     * Every process of a run records into its own trace beside the run's main trace
     * (docs/trace-format.md, "One run, several traces"). */
    uint64_t run_id;         /* the same in every trace of one run; 0 unknown */
    uint32_t image;          /* 1 for the first image recorded in this pid, n after n - 1 execs */
    uint32_t origin;         /* RAVEL_ORIGIN_* */
    uint8_t reserved2[4096 - 176 - 512 - 3072 - 32 - 16];
} RavelFileHeader;

/* FileHeader.origin: how the traced image began */
enum {
    RAVEL_ORIGIN_UNKNOWN = 0,
    RAVEL_ORIGIN_ROOT = 1,   /* the run's first process: this is the run's main trace */
    RAVEL_ORIGIN_FORKED = 2, /* a fork of a recorded process (its first event is FORK_CHILD) */
    RAVEL_ORIGIN_EXECED = 3, /* loaded by exec: a child spawned by a recorded process, or the next
                                image of a recorded pid (image > 1) */
    RAVEL_ORIGIN_SNAPSHOT = 4, /* version 6: one instant of a process read without ravel (`ravel
                                  attach`): event times are only the order of its records */
};

/* ChunkHeader.type */
enum {
    RAVEL_CHUNK_EVENTS = 1,  /* RavelEvent records of one thread (owner) */
    RAVEL_CHUNK_THREADS = 2, /* RavelThreadEntry slots */
    RAVEL_CHUNK_STACKS = 3,  /* RavelStackRecord entries */
    RAVEL_CHUNK_MODULES = 4, /* RavelModuleRecord entries */
    RAVEL_CHUNK_NAMES = 5,   /* RavelNameRecord entries (channel and annotated object names) */
};

/* ChunkHeader.flags */
enum {
    RAVEL_CHUNK_ZSTD = 1u << 0, /* payload is one zstd frame of raw_size bytes */
    RAVEL_CHUNK_SEALED = 1u << 1, /* the owner will not write it again */
};

typedef struct RavelChunkHeader {
    uint32_t magic;
    uint16_t type;
    uint16_t flags;
    uint32_t owner;     /* events: ravel thread id; others: 0 */
    uint32_t seq;       /* per owner (or per type for tables), from 0 */
    uint32_t size;      /* bytes of this chunk including the header */
    uint32_t used;      /* atomic: payload bytes committed (raw payload for zstd chunks) */
    uint32_t stored;    /* zstd chunks: compressed payload bytes; raw: = used */
    uint32_t reserved;
    uint64_t first_tsc; /* clock pair taken when the chunk was opened, for clock calibration */
    uint64_t first_mono_ns;
    uint64_t reserved2[2];
} RavelChunkHeader;

/* Object kinds, stored in the low 4 bits of RavelEvent flags, and modifiers in the high 4 */
enum {
    RAVEL_OBJ_NONE = 0,
    RAVEL_OBJ_MUTEX = 1,
    RAVEL_OBJ_RWLOCK = 2,
    RAVEL_OBJ_SPIN = 3,
    RAVEL_OBJ_COND = 4,
    RAVEL_OBJ_SEM = 5,
    RAVEL_OBJ_BARRIER = 6,
    RAVEL_OBJ_ONCE = 7,
    RAVEL_OBJ_GUARD = 8,   /* static local guard (__cxa_guard_*) */
    RAVEL_OBJ_THREAD = 9,  /* object = pthread_t of the thread */
    RAVEL_OBJ_PROCESS = 10,
    RAVEL_OBJ_CHAN = 11,
    RAVEL_OBJ_PIPE = 12,
    RAVEL_OBJ_MEMORY = 13, /* a freed or unmapped range */
    RAVEL_OBJ_CUSTOM = 14, /* annotated primitive */
    RAVEL_OBJ_FUTEX = 15,  /* version 5: a futex word waited on or woken through syscall(SYS_futex)
                              (std::atomic<T>::wait, std::latch, std::barrier, std::counting_semaphore) */
    /* Modifier bits, high 4 bits of RavelEvent flags (one enum with the kinds, so they combine) */
    RAVEL_F_SHARED = 1u << 4,    /* rwlock read mode */
    RAVEL_F_TRY = 1u << 5,       /* trylock, trywait, tryjoin: never blocks */
    RAVEL_F_TIMED = 1u << 6,     /* timedlock, timedwait, clockwait, timedjoin */
    RAVEL_F_CONTENDED = 1u << 7, /* on ACQUIRED: the first attempt failed and the thread waited */
};

/* Event kinds (RavelEvent kind). Meaning of obj / aux per kind in docs/trace-format.md. */
enum {
    RAVEL_EV_END = 0,          /* never written: a zero kind ends a chunk's events */
    RAVEL_EV_TIME = 1,         /* obj = tsc - start_tsc (48 bits), aux = high 16 bits; stack = 0 */
    RAVEL_EV_THREAD_START = 2, /* obj = pthread_self, aux = parent ravel tid */
    RAVEL_EV_THREAD_EXIT = 3,  /* obj = pthread_self */
    RAVEL_EV_THREAD_NAME = 4,  /* obj = pthread_t named; aux = ravel tid named (name in table) */
    RAVEL_EV_THREAD_CREATE = 5,/* obj = child pthread_t, aux = child ravel tid */
    RAVEL_EV_JOIN_REQ = 6,     /* obj = joined pthread_t, aux = its ravel tid (0 unknown) */
    RAVEL_EV_JOIN_DONE = 7,    /* obj = joined pthread_t, aux = result errno */
    RAVEL_EV_DETACH = 8,       /* obj = pthread_t, aux = ravel tid */
    RAVEL_EV_FORK = 9,         /* aux = child pid (in parent); obj = 0 fork, 1 posix_spawn */
    RAVEL_EV_FORK_CHILD = 10,  /* first event of the child's trace; aux = parent pid */
    RAVEL_EV_EXEC = 11,        /* aux = errno if exec failed */
    /* Processes (version 5; object kind RAVEL_OBJ_PROCESS) */
    RAVEL_EV_PROC_WAIT_REQ = 12,  /* wait/waitpid/waitid/wait3/wait4 begins: aux = the pid asked
                                     for as waitpid takes it (int32: -1 any child, 0 or < -1 a
                                     process group), obj = options; flags TRY with WNOHANG */
    RAVEL_EV_PROC_WAIT_DONE = 13, /* obj = the pid reaped (0: none); aux = its wait status (as
                                     waitpid stores it) when obj != 0, else errno (0: WNOHANG and
                                     no child had changed state) */
    RAVEL_EV_PROC_EXIT = 14,      /* the process ends: exit, _exit, return from main; aux = status */
    RAVEL_EV_INIT = 16,        /* object initialized; aux = type (mutex type, sem value, count) */
    RAVEL_EV_DESTROY = 17,     /* object destroyed; aux = result errno */
    RAVEL_EV_ACQ_REQ = 18,     /* about to block acquiring obj */
    RAVEL_EV_ACQUIRED = 19,    /* got obj; aux = per-object sequence number */
    RAVEL_EV_ACQ_FAIL = 20,    /* gave up: aux = errno (EBUSY, ETIMEDOUT, EDEADLK, ...) */
    RAVEL_EV_RELEASE = 21,     /* released obj (written before the real unlock) */
    RAVEL_EV_WAIT_REQ = 22,    /* cond/sem/barrier/once/guard wait begins; cond: aux = 0 and the
                                  next event is RELEASE of the mutex */
    RAVEL_EV_WOKEN = 23,       /* wait ended successfully; aux = per-object sequence */
    RAVEL_EV_WAIT_FAIL = 24,   /* wait ended without success: aux = errno (ETIMEDOUT, EINTR) */
    RAVEL_EV_SIGNAL = 25,      /* cond signal, sem post, once/guard release; aux = seq */
    RAVEL_EV_BROADCAST = 26,   /* cond broadcast; aux = seq */
    RAVEL_EV_PASS = 27,        /* passed without waiting (trywait success, barrier serial) */
    RAVEL_EV_FREE = 28,        /* memory [obj, obj+aux) released (free/munmap/exit stack) */
    RAVEL_EV_LOST = 29,        /* aux events of this thread were not recorded */
    RAVEL_EV_MARK = 30,        /* watchdog verdict or user mark; aux = verdict */
    /* Channels (ravel/chan.hpp, annotated queues; object kind RAVEL_OBJ_CHAN). A message id is the
     * channel's own sequence number of the message, from 1, taken under the channel's lock, so a
     * RECEIVED names the SENT it took. Blocking operations are pairs (REQ, then done or FAIL). */
    RAVEL_EV_CHAN_CREATE = 31, /* obj = channel, aux = capacity (0 unbuffered, UINT32_MAX unbounded);
                                  its name, if any, is in the names table */
    RAVEL_EV_SEND_REQ = 32,    /* about to send (may block); flags TRY / TIMED */
    RAVEL_EV_SENT = 33,        /* the message is in the channel (or handed over); aux = message id */
    RAVEL_EV_RECV_REQ = 34,    /* about to receive (may block); flags TRY / TIMED */
    RAVEL_EV_RECEIVED = 35,    /* aux = message id received; 0: the channel is closed and drained */
    RAVEL_EV_CHAN_CLOSE = 36,  /* aux = 0, or an errno when the close failed (EPIPE: already closed) */
    RAVEL_EV_CHAN_FAIL = 37,   /* send/recv/select gave up or failed: aux = errno (EAGAIN: try found
                                  it full/empty; ETIMEDOUT; EPIPE: send on a closed channel) */
    RAVEL_EV_SELECT_REQ = 38,  /* obj = 0, aux = number of cases; flags TRY (default case) / TIMED;
                                  followed at once by aux SELECT_CASE events */
    RAVEL_EV_SELECT_CASE = 39, /* obj = channel, aux = case index | RAVEL_SELECT_SEND for a send */
    RAVEL_EV_SELECT_DONE = 40, /* obj = channel chosen (0 for timeout / default), aux = case index or
                                  RAVEL_SELECT_NONE; then the chosen SENT / RECEIVED follows */
    RAVEL_EV_OBJ_NAME = 41,    /* obj named (annotation API); the name is in the names table */
    /* Data races (version 4; race mode only). A race is a RACE event (the access being made, by
     * this thread) directly followed by a RACE_PREV event (the earlier access it races with).
     * Flags: object kind RAVEL_OBJ_MEMORY | RAVEL_F_RACE_WRITE | RAVEL_F_RACE_ATOMIC. */
    RAVEL_EV_RACE = 42,        /* obj = address accessed; aux = race id (bits 0..23: one per distinct
                                  pair of sites in the process) | size in bytes << 24 (255: 255 or
                                  more); stack = the access's stack */
    RAVEL_EV_RACE_PREV = 43,   /* obj = address of the earlier access; aux = its ravel tid (bits
                                  0..23) | size << 24; stack = its site (a one-frame stack) */
    RAVEL_EV_RACE_COUNT = 44,  /* at exit: obj = race id, aux = how often that pair raced (written
                                  when more than once); obj 0: distinct pairs not reported (the
                                  runtime's table was full) */
    /* Object lifetimes and robust mutexes (version 5). */
    RAVEL_EV_DESTROY_REQ = 52, /* about to destroy a condvar or barrier (glibc's destroy waits for the
                                  threads still inside a wait on it); DESTROY follows with the result */
    RAVEL_EV_INIT_FAIL = 53,   /* an init failed: aux = errno (bits 0..15) | the value asked for (a
                                  barrier's count, a mutex's type, a semaphore's value; bits 16..31,
                                  0xffff: that or more) */
    RAVEL_EV_OWNER_DEAD = 54,  /* right after the ACQUIRED of a robust mutex whose lock returned
                                  EOWNERDEAD: its owner died holding it, this thread now holds it */
    RAVEL_EV_KIND_COUNT = 56
};

/* INIT of a mutex: aux = its type (PTHREAD_MUTEX_*) | RAVEL_INIT_ROBUST for PTHREAD_MUTEX_ROBUST */
#define RAVEL_INIT_ROBUST 0x10000u

/* RACE / RACE_PREV modifiers */
#define RAVEL_F_RACE_WRITE 0x10u
#define RAVEL_F_RACE_ATOMIC 0x20u

#define RAVEL_SELECT_SEND 0x80000000u
#define RAVEL_SELECT_NONE 0xffffffffu

/* RavelEvent.stack: the high bit says the stack was captured at an earlier event from the same
 * call site in the same thread (the call path above the site may differ); the rest is the id. */
#define RAVEL_STACK_REUSED 0x80000000u
#define RAVEL_STACK_ID_MASK 0x7fffffffu

/* Raw EVENTS chunk payloads (as the runtime writes them) are a byte stream of records, each
 * starting with a marker byte; the marker is written last, and a zero byte ends the chunk:
 *   0x00                     end (unwritten space)
 *   0x01 + RavelEvent         a full event (17 bytes)
 *   0x02 + slot byte + 6 bytes object address: define slot (slot byte: slot in bits 0-3, object
 *                             kind in bits 4-7); 8 bytes
 *   0x03 + 7 bytes            TIME: tsc - start_tsc (56 bits); 8 bytes
 *   0x80 | op << 4 | slot     a short event on the object of that slot (1 byte); op 0 ACQUIRED,
 *                             1 RELEASE, 2 ACQUIRED shared, 3 RELEASE shared; aux 0; its stack is
 *                             that of the chunk's last full ACQUIRED (ops 0, 2) or RELEASE (1, 3)
 * Slots and "last stack" start empty in every chunk: each chunk decodes on its own.
 * Compacted (zstd) chunks hold columns of decoded RavelEvent records (docs/trace-format.md). */
#define RAVEL_REC_END 0x00
#define RAVEL_REC_FULL 0x01
#define RAVEL_REC_SLOT 0x02
#define RAVEL_REC_TIME 0x03
#define RAVEL_REC_SHORT 0x80
#define RAVEL_SLOTS 16

/* One decoded event: 16 bytes. word = obj (low 48 bits) | kind << 48 | flags << 56. An ACQUIRED
 * with aux 0 carries no per-object sequence number (uncontended acquisitions do not take one). */
typedef struct RavelEvent {
    uint64_t word;
    uint32_t aux;
    uint32_t stack; /* stack id, 0 = none */
} RavelEvent;

#define RAVEL_OBJ_BITS 48
#define RAVEL_OBJ_MASK ((UINT64_C(1) << RAVEL_OBJ_BITS) - 1)

static inline uint64_t ravel_event_word(uint64_t obj, unsigned kind, unsigned flags)
{
    return (obj & RAVEL_OBJ_MASK) | ((uint64_t)(kind & 0xff) << 48) | ((uint64_t)(flags & 0xff) << 56);
}
static inline uint64_t ravel_event_obj(const RavelEvent* e) { return e->word & RAVEL_OBJ_MASK; }
static inline unsigned ravel_event_kind(const RavelEvent* e) { return (unsigned)(e->word >> 48) & 0xff; }
static inline unsigned ravel_event_flags(const RavelEvent* e) { return (unsigned)(e->word >> 56) & 0xff; }
static inline unsigned ravel_flags_objkind(unsigned flags) { return flags & 0x0f; }

#define RAVEL_MAX_HELD 32
#define RAVEL_THREAD_NAME_LEN 32
#define RAVEL_MAX_WAIT_SET 16
#define RAVEL_WAIT_SET_SEND (UINT64_C(1) << 63)
#define RAVEL_BOARD_FUTEX_VALUE (UINT64_C(1) << 63)

/* The state board of one thread (DESIGN.md): read live by the watchdog. */
typedef struct RavelBoard {
    uint64_t blocked_on;  /* atomic: object address, 0 when running */
    uint32_t blocked_kind;/* event flags of the blocking request (object kind and modifiers) */
    uint32_t blocked_aux; /* the request's event kind (RAVEL_EV_SEND_REQ, _RECV_REQ, _SELECT_REQ...), or 0 */
    uint64_t blocked_mutex; /* cond wait: the mutex it will reacquire; futex wait (version 5): the
                               value expected (low 32 bits) | RAVEL_BOARD_FUTEX_VALUE */
    uint64_t blocked_since_tsc;
    uint32_t blocked_stack;
    uint32_t held_count;  /* number of valid entries in held[], may exceed RAVEL_MAX_HELD */
    uint32_t seq;         /* incremented before and after every board change (seqlock) */
    uint32_t reserved;
    uint64_t held[RAVEL_MAX_HELD];     /* addresses of held locks (low 48 bits) | flags << 56 */
    uint32_t held_stack[RAVEL_MAX_HELD];
} RavelBoard;

/* Per-thread table entry, 1024 bytes, in RAVEL_CHUNK_THREADS chunks. */
typedef struct RavelThreadEntry {
    uint32_t tid;         /* ravel thread id, 0 = slot unused */
    uint32_t os_tid;
    uint32_t pid;
    uint32_t parent;      /* ravel tid of the creator, 0 for the main thread */
    uint64_t pthread;     /* pthread_t */
    uint64_t stack_lo;    /* [stack_lo, stack_hi): the thread's stack */
    uint64_t stack_hi;
    uint64_t start_tsc;
    uint64_t exit_tsc;    /* 0 while running */
    uint32_t state;       /* 1 running, 2 exited, 3 detached-and-exited */
    uint32_t create_stack;
    char name[RAVEL_THREAD_NAME_LEN];
    RavelBoard board;
    /* A blocked select (board.blocked_aux == RAVEL_EV_SELECT_REQ): its cases, written before the
     * board's blocked_on under the same seqlock. Entry: channel (low 48 bits), bit 63 = send case. */
    uint32_t wait_set_count; /* may exceed RAVEL_MAX_WAIT_SET: only the first are listed */
    uint32_t reserved3;
    uint64_t wait_set[RAVEL_MAX_WAIT_SET];
    uint8_t reserved[1024 - 96 - sizeof(RavelBoard) - 8 - 8 * RAVEL_MAX_WAIT_SET];
} RavelThreadEntry;

/* A stack: id, depth, then depth return addresses. Records are 8-byte aligned. */
typedef struct RavelStackRecord {
    uint32_t id;
    uint16_t depth;
    uint16_t flags;       /* 1 = site only (caller address, not the whole call path) */
    uint64_t frames[];    /* innermost first */
} RavelStackRecord;

/* A name given to an object (a channel's name, ravel_name): appended to RAVEL_CHUNK_NAMES chunks,
 * 8-byte aligned. The latest record for an address names it from its `tsc` on. */
typedef struct RavelNameRecord {
    uint32_t size;        /* bytes of this record, 8-byte aligned; 0 ends the chunk's records */
    uint16_t name_len;    /* including the NUL */
    uint8_t obj_kind;     /* RAVEL_OBJ_* */
    uint8_t reserved;
    uint64_t obj;
    uint64_t tsc;
    char name[];
} RavelNameRecord;

/* A loaded module: base (load bias) and path, for offline symbolization. */
typedef struct RavelModuleRecord {
    uint32_t size;        /* bytes of this record, 8-byte aligned */
    uint16_t path_len;    /* including the NUL */
    uint8_t build_id_len;
    uint8_t reserved;
    uint64_t base;        /* load bias: runtime address = base + address in the file */
    uint64_t lo, hi;      /* lowest and highest mapped address of its PT_LOAD segments */
    uint8_t build_id[32];
    char path[];
} RavelModuleRecord;

#ifdef __cplusplus
}
static_assert(sizeof(RavelFileHeader) == 4096, "file header is one page");
static_assert(sizeof(RavelChunkHeader) == 64, "chunk header size");
static_assert(sizeof(RavelEvent) == 16, "event size");
static_assert(sizeof(RavelThreadEntry) == 1024, "thread entry size");
static_assert(__builtin_offsetof(RavelFileHeader, run_id) == 3792, "process record offset");
#endif

#endif
