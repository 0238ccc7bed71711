/* ravel annotation API (C and C++): make a home-grown lock, queue or event visible to ravel.
 *
 * Each call records one event, with the thread's stack and the clock, and keeps the thread's
 * state board (what it is blocked on, which locks it holds) the way ravel's own interceptors do,
 * so the live watchdog and the analyzer see the annotated object like a pthread one.
 *
 * Without the runtime (the program not started by `ravel run`) every call is one relaxed load
 * and a predictable branch: the runtime is found once per translation unit with dlsym, not
 * through weak symbols, which a non-PIE executable resolves to null at link time for good.
 *
 *   lock:    ravel_lock_acquire (about to block)  ravel_lock_acquired  ravel_lock_failed
 *            ravel_lock_released
 *   queue:   ravel_chan_create  ravel_chan_send / ravel_chan_sent  ravel_chan_recv /
 *            ravel_chan_received  ravel_chan_failed  ravel_chan_close
 *   event:   ravel_event_wait (about to block)  ravel_event_woken  ravel_event_wait_failed
 *            ravel_event_signal  ravel_event_broadcast
 *   any:     ravel_name
 *
 * docs/annotate.md explains each call with the two examples (a futex lock, a lock-free queue).
 */
#ifndef RAVEL_ANNOTATE_H
#define RAVEL_ANNOTATE_H

#include <dlfcn.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Values of the trace format (ravel/trace_format.h, which the runtime checks them against),
 * repeated here so that this header stands alone and compiles in any C or C++ dialect. */
/* Modifiers of a request (RAVEL_F_*). */
#define RAVEL_ANN_SHARED 0x10u /* a read (shared) acquisition */
#define RAVEL_ANN_TRY 0x20u    /* never blocks */
#define RAVEL_ANN_TIMED 0x40u  /* blocks at most until a deadline */
/* Object kinds (RAVEL_OBJ_*). */
#define RAVEL_ANN_OBJ_NONE 0u
#define RAVEL_ANN_OBJ_CHAN 11u
#define RAVEL_ANN_OBJ_CUSTOM 14u
/* Event kinds (RAVEL_EV_*). */
#define RAVEL_ANN_EV_ACQ_REQ 18u
#define RAVEL_ANN_EV_ACQUIRED 19u
#define RAVEL_ANN_EV_ACQ_FAIL 20u
#define RAVEL_ANN_EV_RELEASE 21u
#define RAVEL_ANN_EV_WAIT_REQ 22u
#define RAVEL_ANN_EV_WOKEN 23u
#define RAVEL_ANN_EV_WAIT_FAIL 24u
#define RAVEL_ANN_EV_SIGNAL 25u
#define RAVEL_ANN_EV_BROADCAST 26u
#define RAVEL_ANN_EV_CHAN_CREATE 31u
#define RAVEL_ANN_EV_SEND_REQ 32u
#define RAVEL_ANN_EV_SENT 33u
#define RAVEL_ANN_EV_RECV_REQ 34u
#define RAVEL_ANN_EV_RECEIVED 35u
#define RAVEL_ANN_EV_CHAN_CLOSE 36u
#define RAVEL_ANN_EV_CHAN_FAIL 37u
#define RAVEL_ANN_EV_SELECT_REQ 38u
#define RAVEL_ANN_EV_SELECT_CASE 39u
#define RAVEL_ANN_EV_SELECT_DONE 40u
#define RAVEL_ANN_EV_OBJ_NAME 41u
#define RAVEL_ANN_SELECT_NONE 0xffffffffu /* SELECT_DONE: no case chosen (timeout, default) */

/* Request modes for RavelAnnotateApi.record. */
#define RAVEL_ANN_MAY_BLOCK 1u /* a request that may block: whole stack, the board says blocked */

/* One case of a select, for RavelAnnotateApi.selectRequest. */
typedef struct RavelSelectCase {
    const void* chan;
    uint32_t send; /* 1: a send case, 0: a receive case */
    uint32_t reserved;
} RavelSelectCase;

/* The entry points of libravel_rt.so, found by name (RAVEL_ANNOTATE_SYMBOL). `record` writes one
 * event: obj, kind (RAVEL_EV_*), flags (object kind | modifiers), aux; `mode` RAVEL_ANN_MAY_BLOCK
 * on a request that may block. A completion (ACQUIRED, WOKEN, SENT, ...) of an object the thread
 * is blocked on ends the block. */
typedef struct RavelAnnotateApi {
    uint32_t version; /* RAVEL_ANNOTATE_VERSION */
    uint32_t size;    /* sizeof(RavelAnnotateApi) of the runtime */
    void (*record)(const void* obj, unsigned kind, unsigned flags, uint32_t aux, unsigned mode);
    void (*name)(const void* obj, unsigned objKind, const char* name);
    void (*chanCreate)(const void* chan, uint32_t capacity, const char* name);
    /* SELECT_REQ and one SELECT_CASE per case; with mode RAVEL_ANN_MAY_BLOCK the board lists the
     * cases (wait_set). The select ends with record(chan or 0, RAVEL_ANN_EV_SELECT_DONE, ...). */
    void (*selectRequest)(const RavelSelectCase* cases, uint32_t count, unsigned flags, unsigned mode);
} RavelAnnotateApi;

#define RAVEL_ANNOTATE_VERSION 1u
#define RAVEL_ANNOTATE_SYMBOL "ravel_annotate_api_v1"
/* glibc's RTLD_DEFAULT, which <dlfcn.h> shows only to _GNU_SOURCE programs. */
#ifdef RTLD_DEFAULT
#define RAVEL_RTLD_DEFAULT RTLD_DEFAULT
#else
#define RAVEL_RTLD_DEFAULT ((void*)0)
#endif

/* The runtime's table, or null when the program runs without it. Looked up once (per translation
 * unit); the race between two first lookups is benign: both find the same answer. */
static inline const RavelAnnotateApi* ravel_annotate_api(void)
{
    static const RavelAnnotateApi* api;
    static int looked; /* 0 not yet, 1 done */
    if (__builtin_expect(__atomic_load_n(&looked, __ATOMIC_ACQUIRE), 1))
        return __atomic_load_n(&api, __ATOMIC_RELAXED);
    const RavelAnnotateApi* found = (const RavelAnnotateApi*)dlsym(RAVEL_RTLD_DEFAULT, RAVEL_ANNOTATE_SYMBOL);
    if (found && (found->version != RAVEL_ANNOTATE_VERSION || found->size < sizeof(RavelAnnotateApi)))
        found = 0;
    __atomic_store_n(&api, found, __ATOMIC_RELAXED);
    __atomic_store_n(&looked, 1, __ATOMIC_RELEASE);
    return found;
}

static inline void ravel_annotate_record_(const void* obj, unsigned kind, unsigned flags, uint32_t aux, unsigned mode)
{
    const RavelAnnotateApi* a = ravel_annotate_api();
    if (a)
        a->record(obj, kind, flags, aux, mode);
}

/* ---- names ---- */

/* Names any object (a lock, a queue, a flag, a pthread mutex) for reports and graphs. */
static inline void ravel_name(const void* obj, const char* name)
{
    const RavelAnnotateApi* a = ravel_annotate_api();
    if (a)
        a->name(obj, RAVEL_ANN_OBJ_NONE, name);
}

/* ---- a custom lock (object kind RAVEL_ANN_OBJ_CUSTOM) ----
 * Call ravel_lock_acquire only when the thread is about to block (its fast path failed), then
 * ravel_lock_acquired once it holds the lock (or ravel_lock_failed when it gave up). An acquisition
 * that did not block is just ravel_lock_acquired. ravel_lock_released goes before the real unlock,
 * so the release is in the trace before anyone can take the lock. flags: RAVEL_ANN_SHARED,
 * RAVEL_ANN_TRY, RAVEL_ANN_TIMED. */
static inline void ravel_lock_acquire(const void* lock, unsigned flags)
{
    ravel_annotate_record_(lock, RAVEL_ANN_EV_ACQ_REQ, RAVEL_ANN_OBJ_CUSTOM | flags, 0,
                           (flags & RAVEL_ANN_TRY) ? 0u : RAVEL_ANN_MAY_BLOCK);
}
static inline void ravel_lock_acquired(const void* lock, unsigned flags)
{
    ravel_annotate_record_(lock, RAVEL_ANN_EV_ACQUIRED, RAVEL_ANN_OBJ_CUSTOM | flags, 0, 0);
}
static inline void ravel_lock_failed(const void* lock, unsigned flags, int err)
{
    ravel_annotate_record_(lock, RAVEL_ANN_EV_ACQ_FAIL, RAVEL_ANN_OBJ_CUSTOM | flags, (uint32_t)err, 0);
}
static inline void ravel_lock_released(const void* lock)
{
    ravel_annotate_record_(lock, RAVEL_ANN_EV_RELEASE, RAVEL_ANN_OBJ_CUSTOM, 0, 0);
}

/* ---- a custom channel or queue (object kind RAVEL_ANN_OBJ_CHAN) ----
 * capacity: 0 for a rendezvous, UINT32_MAX for an unbounded queue. Each message carries an id,
 * from 1, that the queue hands from the sender to the receiver (store it beside the item): the
 * receive then names exactly the send it took. Call ravel_chan_sent before the item becomes
 * visible to receivers and ravel_chan_received after taking it. */
static inline void ravel_chan_create(const void* chan, uint32_t capacity, const char* name)
{
    const RavelAnnotateApi* a = ravel_annotate_api();
    if (a)
        a->chanCreate(chan, capacity, name);
}
/* A send begins (it may block; RAVEL_ANN_TRY: it will not). */
static inline void ravel_chan_send(const void* chan, unsigned flags)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_SEND_REQ, RAVEL_ANN_OBJ_CHAN | flags, 0,
                           (flags & RAVEL_ANN_TRY) ? 0u : RAVEL_ANN_MAY_BLOCK);
}
static inline void ravel_chan_sent(const void* chan, uint32_t msg_id)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_SENT, RAVEL_ANN_OBJ_CHAN, msg_id, 0);
}
static inline void ravel_chan_recv(const void* chan, unsigned flags)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_RECV_REQ, RAVEL_ANN_OBJ_CHAN | flags, 0,
                           (flags & RAVEL_ANN_TRY) ? 0u : RAVEL_ANN_MAY_BLOCK);
}
/* msg_id 0: the queue is closed and drained. */
static inline void ravel_chan_received(const void* chan, uint32_t msg_id)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_RECEIVED, RAVEL_ANN_OBJ_CHAN, msg_id, 0);
}
/* The send or receive gave up: EAGAIN (try: full / empty), ETIMEDOUT, EPIPE (send on closed). */
static inline void ravel_chan_failed(const void* chan, int err)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN, (uint32_t)err, 0);
}
/* err 0: closed; EPIPE: it was already closed (misuse). */
static inline void ravel_chan_close(const void* chan, int err)
{
    ravel_annotate_record_(chan, RAVEL_ANN_EV_CHAN_CLOSE, RAVEL_ANN_OBJ_CHAN, (uint32_t)err, 0);
}

/* ---- a custom event or flag (object kind RAVEL_ANN_OBJ_CUSTOM), like a condition variable ----
 * ravel_event_wait just before blocking, ravel_event_woken after the wait succeeded (or
 * ravel_event_wait_failed: ETIMEDOUT, EINTR, EAGAIN), ravel_event_signal / _broadcast before
 * the real wake-up. */
static inline void ravel_event_wait(const void* ev, unsigned flags)
{
    ravel_annotate_record_(ev, RAVEL_ANN_EV_WAIT_REQ, RAVEL_ANN_OBJ_CUSTOM | flags, 0,
                           (flags & RAVEL_ANN_TRY) ? 0u : RAVEL_ANN_MAY_BLOCK);
}
static inline void ravel_event_woken(const void* ev)
{
    ravel_annotate_record_(ev, RAVEL_ANN_EV_WOKEN, RAVEL_ANN_OBJ_CUSTOM, 0, 0);
}
static inline void ravel_event_wait_failed(const void* ev, int err)
{
    ravel_annotate_record_(ev, RAVEL_ANN_EV_WAIT_FAIL, RAVEL_ANN_OBJ_CUSTOM, (uint32_t)err, 0);
}
static inline void ravel_event_signal(const void* ev)
{
    ravel_annotate_record_(ev, RAVEL_ANN_EV_SIGNAL, RAVEL_ANN_OBJ_CUSTOM, 0, 0);
}
static inline void ravel_event_broadcast(const void* ev)
{
    ravel_annotate_record_(ev, RAVEL_ANN_EV_BROADCAST, RAVEL_ANN_OBJ_CUSTOM, 0, 0);
}

#ifdef __cplusplus
}
#endif

#endif
