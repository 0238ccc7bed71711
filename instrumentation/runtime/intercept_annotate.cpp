// User annotations (ravel/annotate.h) and ravel::chan (ravel/chan.hpp): the runtime side.
//
// Programs find this table by name (dlsym of RAVEL_ANNOTATE_SYMBOL), never by linking against it,
// so a program runs unchanged without the runtime. Each entry is the same beats as an
// interceptor: the event (stamped when it starts or ends a wait, or links two threads), and the
// state board kept as the pthread interceptors keep it: a request that may block sets blocked_on
// (and blocked_aux = the request's kind, and for a select the wait set); the completion on the
// same object clears it; a custom lock's acquisition and release update the held locks.
#include "rt.hpp"

#include <ravel/annotate.h>

#include <string.h>

using namespace ravel::rt;

// annotate.h repeats the trace format's values so that it stands alone: they must agree.
static_assert(RAVEL_ANN_SHARED == RAVEL_F_SHARED && RAVEL_ANN_TRY == RAVEL_F_TRY && RAVEL_ANN_TIMED == RAVEL_F_TIMED);
static_assert(RAVEL_ANN_OBJ_CHAN == RAVEL_OBJ_CHAN && RAVEL_ANN_OBJ_CUSTOM == RAVEL_OBJ_CUSTOM);
static_assert(RAVEL_ANN_EV_ACQ_REQ == RAVEL_EV_ACQ_REQ && RAVEL_ANN_EV_ACQUIRED == RAVEL_EV_ACQUIRED
              && RAVEL_ANN_EV_ACQ_FAIL == RAVEL_EV_ACQ_FAIL && RAVEL_ANN_EV_RELEASE == RAVEL_EV_RELEASE
              && RAVEL_ANN_EV_WAIT_REQ == RAVEL_EV_WAIT_REQ && RAVEL_ANN_EV_WOKEN == RAVEL_EV_WOKEN
              && RAVEL_ANN_EV_WAIT_FAIL == RAVEL_EV_WAIT_FAIL && RAVEL_ANN_EV_SIGNAL == RAVEL_EV_SIGNAL
              && RAVEL_ANN_EV_BROADCAST == RAVEL_EV_BROADCAST);
static_assert(RAVEL_ANN_EV_CHAN_CREATE == RAVEL_EV_CHAN_CREATE && RAVEL_ANN_EV_SEND_REQ == RAVEL_EV_SEND_REQ
              && RAVEL_ANN_EV_SENT == RAVEL_EV_SENT && RAVEL_ANN_EV_RECV_REQ == RAVEL_EV_RECV_REQ
              && RAVEL_ANN_EV_RECEIVED == RAVEL_EV_RECEIVED && RAVEL_ANN_EV_CHAN_CLOSE == RAVEL_EV_CHAN_CLOSE
              && RAVEL_ANN_EV_CHAN_FAIL == RAVEL_EV_CHAN_FAIL && RAVEL_ANN_EV_SELECT_REQ == RAVEL_EV_SELECT_REQ
              && RAVEL_ANN_EV_SELECT_CASE == RAVEL_EV_SELECT_CASE && RAVEL_ANN_EV_SELECT_DONE == RAVEL_EV_SELECT_DONE
              && RAVEL_ANN_EV_OBJ_NAME == RAVEL_EV_OBJ_NAME && RAVEL_ANN_SELECT_NONE == RAVEL_SELECT_NONE);

namespace {

// The request this thread made last and has not completed: its object (or kSelectPending) and
// stack. A completion of that request carries the request's stack; a completion without one
// (an uncontended custom lock) gets the stack of its own call site.
__thread uint64_t t_pendingObj __attribute__((tls_model("initial-exec")));
__thread uint32_t t_pendingStack __attribute__((tls_model("initial-exec")));
__thread uint32_t t_pendingKind __attribute__((tls_model("initial-exec")));
constexpr uint64_t kSelectPending = ~0ull;

SpinLock g_nameLock;
RavelChunkHeader* g_nameChunk;
uint32_t g_nameChunkSeq;
constexpr size_t kMaxNameLen = 255;

void appendName(const void* obj, unsigned objKind, const char* name)
{
    if (!name || !g.enabled)
        return;
    size_t len = strnlen(name, kMaxNameLen);
    uint32_t need = static_cast<uint32_t>((sizeof(RavelNameRecord) + len + 1 + 7) & ~size_t(7));
    uint32_t room = g.opt.chunk_size - RAVEL_CHUNK_HEADER_SIZE;
    g_nameLock.lock();
    if (!g_nameChunk || g_nameChunk->used + need > room)
        g_nameChunk = static_cast<RavelChunkHeader*>(allocChunk(RAVEL_CHUNK_NAMES, 0, g_nameChunkSeq++, nullptr));
    if (g_nameChunk) {
        auto* r = reinterpret_cast<RavelNameRecord*>(reinterpret_cast<uint8_t*>(g_nameChunk) + RAVEL_CHUNK_HEADER_SIZE
                                                     + g_nameChunk->used);
        r->name_len = static_cast<uint16_t>(len + 1);
        r->obj_kind = static_cast<uint8_t>(objKind);
        r->obj = reinterpret_cast<uint64_t>(obj) & RAVEL_OBJ_MASK;
        r->tsc = __rdtsc();
        memcpy(r->name, name, len);
        r->name[len] = 0;
        // The size last: a reader stops at a record whose size is still 0.
        __atomic_store_n(&r->size, need, __ATOMIC_RELEASE);
        __atomic_store_n(&g_nameChunk->used, g_nameChunk->used + need, __ATOMIC_RELEASE);
    }
    g_nameLock.unlock();
}

// Board changes are bracketed by the board's sequence count (odd while writing), so the watchdog
// never takes a select's wait set from one block with the channel of another.
void boardWriteBegin(RavelBoard* b) { __atomic_add_fetch(&b->seq, 1, __ATOMIC_ACQ_REL); }
void boardWriteEnd(RavelBoard* b) { __atomic_add_fetch(&b->seq, 1, __ATOMIC_RELEASE); }

void boardBlockOn(ThreadState* t, const void* obj, unsigned flags, unsigned requestKind, uint32_t stack)
{
    RavelBoard* b = &t->entry->board;
    boardWriteBegin(b);
    b->blocked_aux = requestKind;
    boardBlock(t, obj, flags, stack);
    boardWriteEnd(b);
}

void boardClear(ThreadState* t)
{
    RavelBoard* b = &t->entry->board;
    boardWriteBegin(b);
    boardUnblock(t);
    // The pthread interceptors do not write blocked_aux: leave it 0 for their blocks.
    b->blocked_aux = 0;
    __atomic_store_n(&t->entry->wait_set_count, 0u, __ATOMIC_RELAXED);
    boardWriteEnd(b);
}

bool isRequest(unsigned kind)
{
    return kind == RAVEL_EV_ACQ_REQ || kind == RAVEL_EV_WAIT_REQ || kind == RAVEL_EV_SEND_REQ
        || kind == RAVEL_EV_RECV_REQ;
}

// Does this completion end the pending request?
bool completes(unsigned kind, uint64_t obj)
{
    if (t_pendingObj == 0)
        return false;
    if (t_pendingObj == kSelectPending) // the select's SELECT_DONE ends it, and a failure inside it
        return kind == RAVEL_EV_SELECT_DONE || kind == RAVEL_EV_CHAN_FAIL;
    if (t_pendingObj != obj)
        return false;
    switch (t_pendingKind) {
    case RAVEL_EV_ACQ_REQ:
        return kind == RAVEL_EV_ACQUIRED || kind == RAVEL_EV_ACQ_FAIL;
    case RAVEL_EV_WAIT_REQ:
        return kind == RAVEL_EV_WOKEN || kind == RAVEL_EV_WAIT_FAIL;
    case RAVEL_EV_SEND_REQ:
        return kind == RAVEL_EV_SENT || kind == RAVEL_EV_CHAN_FAIL;
    case RAVEL_EV_RECV_REQ:
        return kind == RAVEL_EV_RECEIVED || kind == RAVEL_EV_CHAN_FAIL;
    default:
        return false;
    }
}

void record(ThreadState* t, uint64_t pc, const void* objp, unsigned kind, unsigned flags, uint32_t aux, unsigned mode)
{
    uint64_t obj = reinterpret_cast<uint64_t>(objp) & RAVEL_OBJ_MASK;
    t->annotatedObj = obj;
    RavelBoard* b = &t->entry->board;
    if (isRequest(kind)) {
        markPage(objp);
        bool mayBlock = (mode & RAVEL_ANN_MAY_BLOCK) && !(flags & RAVEL_F_TRY);
        uint32_t stack;
        if (mayBlock) {
            stack = captureStackOf(t);
            emitStamped(t, objp, kind, flags, 0, stack);
            boardBlockOn(t, objp, flags, kind, stack);
        } else {
            stack = siteStack(t, pc);
            emit(t, objp, kind, flags, 0, stack);
        }
        t_pendingObj = obj;
        t_pendingKind = kind;
        t_pendingStack = stack;
        return;
    }
    bool ends = completes(kind, obj);
    bool wasBlocked = ends && __atomic_load_n(&b->blocked_on, __ATOMIC_RELAXED) != 0 && b->blocked_aux != 0;
    uint32_t stack = ends ? t_pendingStack : siteStack(t, pc);
    if (wasBlocked)
        boardClear(t);
    // A select that chose a case keeps its stack for the SENT / RECEIVED that follows.
    if (ends && (kind != RAVEL_EV_SELECT_DONE || aux == RAVEL_SELECT_NONE))
        t_pendingObj = 0;
    switch (kind) {
    case RAVEL_EV_ACQUIRED:
        markPage(objp);
        if (wasBlocked) {
            flags |= RAVEL_F_CONTENDED;
            emitStamped(t, objp, kind, flags, nextSeq(objp), stack);
        } else {
            emit(t, objp, kind, flags, 0, stack);
        }
        boardHold(t, objp, flags & ~RAVEL_F_CONTENDED, stack);
        raceAcquire(t, objp);
        return;
    case RAVEL_EV_RELEASE: {
        raceRelease(t, objp);
        unsigned held = boardRelease(t, objp);
        emit(t, objp, kind, flags | (held & RAVEL_F_SHARED), aux, stack);
        return;
    }
    case RAVEL_EV_WOKEN:
    case RAVEL_EV_SIGNAL:
    case RAVEL_EV_BROADCAST:
        if (kind != RAVEL_EV_WOKEN)
            raceRelease(t, objp);
        emitStamped(t, objp, kind, flags, nextSeq(objp), stack);
        if (kind == RAVEL_EV_WOKEN)
            raceAcquire(t, objp);
        return;
    case RAVEL_EV_SELECT_DONE:
        // The chosen case's SENT / RECEIVED follows, with the select's stack.
        emitStamped(t, objp, kind, flags, aux, stack);
        return;
    case RAVEL_EV_SENT:
    case RAVEL_EV_RECEIVED:
    case RAVEL_EV_CHAN_CLOSE:
    case RAVEL_EV_CHAN_FAIL:
    case RAVEL_EV_ACQ_FAIL:
    case RAVEL_EV_WAIT_FAIL:
        if (t_pendingObj == kSelectPending) { // the SENT / RECEIVED of the case a select chose
            stack = t_pendingStack;
            t_pendingObj = 0;
        }
        // A message orders its send before its receive; a close before the receive that sees it.
        // The channel's clock holds every send so far: a receive is ordered after all of them.
        if (kind == RAVEL_EV_SENT || kind == RAVEL_EV_CHAN_CLOSE)
            raceRelease(t, objp);
        emitStamped(t, objp, kind, flags, aux, stack);
        if (kind == RAVEL_EV_RECEIVED)
            raceAcquire(t, objp);
        return;
    default:
        emit(t, objp, kind, flags, aux, stack);
        return;
    }
}

void annRecord(const void* obj, unsigned kind, unsigned flags, uint32_t aux, unsigned mode)
{
    uint64_t pc = RAVEL_CALLER_PC();
    ThreadState* t = enter();
    if (!t || kind >= RAVEL_EV_KIND_COUNT)
        return;
    record(t, pc, obj, kind, flags & 0xff, aux, mode);
}

void annName(const void* obj, unsigned objKind, const char* name)
{
    uint64_t pc = RAVEL_CALLER_PC();
    ThreadState* t = enter();
    if (!t || !obj)
        return;
    markPage(obj);
    {
        InRuntime guard(t);
        appendName(obj, objKind & 0x0f, name);
    }
    emit(t, obj, RAVEL_EV_OBJ_NAME, objKind & 0x0f, 0, siteStack(t, pc));
}

void annChanCreate(const void* chan, uint32_t capacity, const char* name)
{
    uint64_t pc = RAVEL_CALLER_PC();
    ThreadState* t = enter();
    if (!t || !chan)
        return;
    markPage(chan);
    if (name && *name) {
        InRuntime guard(t);
        appendName(chan, RAVEL_OBJ_CHAN, name);
    }
    emitStamped(t, chan, RAVEL_EV_CHAN_CREATE, RAVEL_OBJ_CHAN, capacity, siteStack(t, pc));
}

void annSelectRequest(const RavelSelectCase* cases, uint32_t count, unsigned flags, unsigned mode)
{
    uint64_t pc = RAVEL_CALLER_PC();
    ThreadState* t = enter();
    if (!t)
        return;
    flags = (flags & 0xf0) | RAVEL_OBJ_CHAN;
    bool mayBlock = (mode & RAVEL_ANN_MAY_BLOCK) && !(flags & RAVEL_F_TRY) && count > 0;
    uint32_t stack = mayBlock ? captureStackOf(t) : siteStack(t, pc);
    emitStamped(t, nullptr, RAVEL_EV_SELECT_REQ, flags, count, stack);
    for (uint32_t i = 0; i < count; i++) {
        markPage(cases[i].chan);
        emit(t, cases[i].chan, RAVEL_EV_SELECT_CASE, RAVEL_OBJ_CHAN, i | (cases[i].send ? RAVEL_SELECT_SEND : 0u),
             stack);
    }
    if (mayBlock) {
        RavelThreadEntry* e = t->entry;
        RavelBoard* b = &e->board;
        boardWriteBegin(b);
        uint32_t listed = count < RAVEL_MAX_WAIT_SET ? count : RAVEL_MAX_WAIT_SET;
        for (uint32_t i = 0; i < listed; i++)
            e->wait_set[i] = (reinterpret_cast<uint64_t>(cases[i].chan) & RAVEL_OBJ_MASK)
                | (cases[i].send ? RAVEL_WAIT_SET_SEND : 0);
        __atomic_store_n(&e->wait_set_count, count, __ATOMIC_RELAXED);
        b->blocked_aux = RAVEL_EV_SELECT_REQ;
        boardBlock(t, cases[0].chan, flags, stack);
        boardWriteEnd(b);
    }
    t_pendingObj = kSelectPending;
    t_pendingKind = RAVEL_EV_SELECT_REQ;
    t_pendingStack = stack;
}

} // namespace

RAVEL_EXPORT const RavelAnnotateApi ravel_annotate_api_v1 = {
    RAVEL_ANNOTATE_VERSION, sizeof(RavelAnnotateApi), annRecord, annName, annChanCreate, annSelectRequest,
};

void ravel::rt::resetNamesAfterFork()
{
    g_nameLock = SpinLock {};
    g_nameChunk = nullptr;
    g_nameChunkSeq = 0;
}
