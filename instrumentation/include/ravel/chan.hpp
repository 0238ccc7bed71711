// ravel::chan<T>: a Go-style channel for C++20, header-only, and the analyzer understands it.
//
//   ravel::chan<int> c;              // unbuffered: a send completes when a receiver takes the value
//   ravel::chan<Job> jobs(8, "jobs"); // buffered (FIFO, capacity 8), named for ravel's reports
//   jobs.send(job);                   // blocks while full; throws ravel::chan_closed once closed
//   std::optional<Job> j = jobs.recv(); // blocks while empty; std::nullopt once closed and drained
//   jobs.close();                     // wakes every blocked receiver (nullopt) and sender (throws)
//   jobs.try_send(job); jobs.try_recv();
//   ravel::select(ravel::on_recv(a, [](int v) { ... }), ravel::on_send(b, 42, [] { ... }),
//                 ravel::on_timeout(50ms, [] { ... }));   // or ravel::on_default([] { ... })
//
// Semantics are Go's: select blocks until a case is ready and picks uniformly at random among
// the ready ones; a receive case on a closed channel is ready (its callback gets std::nullopt
// when it takes std::optional<T>; a callback taking T never sees a closed channel: that case is
// ignored, like a nil channel in Go); a send case on a closed channel throws chan_closed.
//
// The channel's lock and waits are its own (an atomic word and futex waits, not pthread
// functions), so under `ravel run` the trace shows channel operations and nothing of the lock
// inside. Every hand-off of data goes through an acquire/release pair, so ThreadSanitizer
// understands it. The events (CHAN_CREATE, SEND_REQ/SENT, RECV_REQ/RECEIVED, SELECT_*, CHAN_CLOSE,
// CHAN_FAIL) go to the runtime through ravel/annotate.h; without the runtime they cost a load and
// a branch. Events that link threads are written under the channel's lock, so a RECEIVED(id) is
// never recorded before the SENT(id) it took, except where the sender was blocked: then the
// receiver took the value from the waiting sender, and the sender records SENT(id) when it wakes.
#pragma once

#include <ravel/annotate.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <stdexcept>
#include <tuple>
#include <type_traits>
#include <utility>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

namespace ravel {

// Thrown by send (and a select's send case) on a closed channel, and by a second close.
class chan_closed : public std::logic_error {
public:
    explicit chan_closed(const char* what = "send on a closed channel")
        : std::logic_error(what)
    {
    }
};

template <typename T>
class chan;

namespace detail {

__attribute__((always_inline)) inline void recordEvent(const void* obj, unsigned kind, unsigned flags, uint32_t aux, unsigned mode = 0)
{
    if (const RavelAnnotateApi* a = ravel_annotate_api())
        a->record(obj, kind, flags, aux, mode);
}

inline void cpuRelax()
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

// The futex system call made directly, not through libc's syscall(): the runtime records futex
// waits made through that function, and the channel's own waits are recorded as channel
// operations already (its lock's and its waiters' words are its implementation).
inline void rawFutex(std::atomic<uint32_t>& word, int op, uint32_t value, const timespec* relative)
{
    static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t));
#if defined(__x86_64__)
    long ret;
    register long r10 __asm__("r10") = reinterpret_cast<long>(relative);
    register long r8 __asm__("r8") = 0;
    register long r9 __asm__("r9") = 0;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "0"(long(SYS_futex)), "D"(reinterpret_cast<uint32_t*>(&word)), "S"(long(op)), "d"(long(value)),
                       "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    (void)ret;
#else
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), op, value, relative, nullptr, 0);
#endif
}

inline void futexWait(std::atomic<uint32_t>& word, uint32_t expected, const timespec* relative)
{
    rawFutex(word, FUTEX_WAIT_PRIVATE, expected, relative);
}

inline void futexWake(std::atomic<uint32_t>& word, int count)
{
    rawFutex(word, FUTEX_WAKE_PRIVATE, uint32_t(count), nullptr);
}

// The channel's lock: not a pthread mutex, so the runtime records nothing of it.
// 0 free, 1 held, 2 held and someone may sleep on it.
class ChanLock {
public:
    void lock()
    {
        uint32_t c = 0;
        if (m_word.compare_exchange_strong(c, 1, std::memory_order_acquire, std::memory_order_relaxed))
            return;
        for (int spin = 0; spin < 64; spin++) {
            cpuRelax();
            c = 0;
            if (m_word.load(std::memory_order_relaxed) == 0
                && m_word.compare_exchange_weak(c, 1, std::memory_order_acquire, std::memory_order_relaxed))
                return;
        }
        while (m_word.exchange(2, std::memory_order_acquire) != 0)
            futexWait(m_word, 2, nullptr);
    }
    void unlock()
    {
        if (m_word.exchange(0, std::memory_order_release) == 2)
            futexWake(m_word, 1);
    }

private:
    std::atomic<uint32_t> m_word { 0 };
};

// One blocked operation (a send, a receive or a whole select). The thread that completes it
// claims it first (Waiting -> Claimed), so of several channels only one can; the owner cancels a
// timed-out wait the same way (Waiting -> Cancelled).
struct Operation {
    enum : uint32_t { Waiting, Claimed, Done, Cancelled };
    std::atomic<uint32_t> state { Waiting };
    uint32_t chosen = 0; // the case that completed, written by the claimer before Done
    uint32_t msgId = 0;
    bool closed = false;

    bool claim()
    {
        uint32_t expected = Waiting;
        return state.compare_exchange_strong(expected, Claimed, std::memory_order_acquire, std::memory_order_relaxed);
    }
    // After the claimer wrote its results. The owner may return and reuse this memory as soon as
    // it sees Done; the futex wake only names the address.
    void finish()
    {
        state.store(Done, std::memory_order_release);
        futexWake(state, 1);
    }
    // Waits until claimed and finished; false when the deadline passed first (cancelled).
    bool wait(const std::chrono::steady_clock::time_point* deadline)
    {
        for (int spin = 0; spin < 100; spin++) {
            if (state.load(std::memory_order_acquire) == Done)
                return true;
            cpuRelax();
        }
        for (;;) {
            uint32_t s = state.load(std::memory_order_acquire);
            if (s == Done)
                return true;
            if (s == Waiting && deadline) {
                auto left = *deadline - std::chrono::steady_clock::now();
                if (left <= std::chrono::steady_clock::duration::zero()) {
                    uint32_t expected = Waiting;
                    if (state.compare_exchange_strong(expected, Cancelled, std::memory_order_acquire))
                        return false;
                    continue;
                }
                auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
                timespec rel { static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000) };
                futexWait(state, s, &rel);
            } else {
                futexWait(state, s, nullptr);
            }
        }
    }
};

// A case of an operation, queued on one channel. Lives in the waiting thread's frame; linked and
// unlinked only under that channel's lock.
template <typename T>
struct Waiter {
    Operation* op = nullptr;
    uint32_t index = 0;
    T* sendValue = nullptr;           // send: moved from by whoever takes it
    std::optional<T>* recvSlot = nullptr; // receive: filled by the sender
    bool skipClosed = false;          // a receive case whose callback cannot take "closed"
    bool linked = false;
    Waiter* prev = nullptr;
    Waiter* next = nullptr;
};

template <typename T>
class WaitQueue {
public:
    void push(Waiter<T>* w)
    {
        w->prev = m_tail;
        w->next = nullptr;
        (m_tail ? m_tail->next : m_head) = w;
        m_tail = w;
        w->linked = true;
    }
    void remove(Waiter<T>* w)
    {
        if (!w->linked)
            return;
        (w->prev ? w->prev->next : m_head) = w->next;
        (w->next ? w->next->prev : m_tail) = w->prev;
        w->linked = false;
    }
    // The first waiter that could be claimed, removed from the queue; stale ones (their operation
    // completed elsewhere or timed out) are dropped on the way.
    Waiter<T>* claimFirst(bool forClose = false)
    {
        for (Waiter<T>* w = m_head; w;) {
            Waiter<T>* next = w->next;
            if (forClose && w->skipClosed) {
                w = next;
                continue;
            }
            remove(w);
            if (w->op->claim())
                return w;
            w = next;
        }
        return nullptr;
    }

private:
    Waiter<T>* m_head = nullptr;
    Waiter<T>* m_tail = nullptr;
};

// Per-thread generator for select's random order (xorshift64*).
inline uint32_t randomBelow(uint32_t n)
{
    thread_local uint64_t s = 0;
    if (s == 0)
        s = (reinterpret_cast<uintptr_t>(&s) ^ static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()))
            | 1;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return static_cast<uint32_t>(((s * 0x2545F4914F6CDD1Dull) >> 32) % n);
}

enum class SendResult { Done, Closed, NotReady };

template <typename T, typename F>
struct RecvCase;
template <typename T, typename F>
struct SendCase;
template <typename F>
struct TimeoutCase;
template <typename F>
struct DefaultCase;
struct SelectAccess;

} // namespace detail

template <typename T>
class chan {
public:
    static_assert(std::is_move_constructible_v<T>, "a channel's element type must be movable");

    // capacity 0: unbuffered (rendezvous). The name shows in ravel's reports and graphs.
    explicit chan(std::size_t capacity = 0, const char* name = nullptr)
        : m_capacity(capacity)
        , m_slots(capacity ? new Slot[capacity] : nullptr)
        , m_ids(capacity ? new uint32_t[capacity] : nullptr)
    {
        if (const RavelAnnotateApi* a = ravel_annotate_api())
            a->chanCreate(this, capacity > UINT32_MAX - 1 ? UINT32_MAX - 1 : static_cast<uint32_t>(capacity), name);
    }
    chan(const chan&) = delete;
    chan& operator=(const chan&) = delete;
    ~chan()
    {
        while (m_count) {
            std::launder(reinterpret_cast<T*>(m_slots[m_head].bytes))->~T();
            m_head = (m_head + 1) % m_capacity;
            m_count--;
        }
    }

    std::size_t capacity() const { return m_capacity; }

    // Blocks until the value is in the channel (buffered) or taken by a receiver (unbuffered).
    void send(const T& value)
        requires std::is_copy_constructible_v<T>
    {
        T copy(value);
        sendImpl(copy);
    }
    void send(T&& value) { sendImpl(value); }

    // Never blocks: false when full (or, unbuffered, when no receiver waits); the value is moved
    // from only on success. Throws chan_closed on a closed channel, like send.
    bool try_send(const T& value)
        requires std::is_copy_constructible_v<T>
    {
        T copy(value);
        return trySendImpl(copy);
    }
    bool try_send(T&& value) { return trySendImpl(value); }

    // Blocks until a value arrives; std::nullopt once the channel is closed and drained.
    std::optional<T> recv()
    {
        std::optional<T> out;
        uint32_t id = 0;
        bool closed = false;
        m_lock.lock();
        if (recvLocked(out, id, closed)) {
            detail::recordEvent(this, RAVEL_ANN_EV_RECV_REQ, RAVEL_ANN_OBJ_CHAN, 0);
            detail::recordEvent(this, RAVEL_ANN_EV_RECEIVED, RAVEL_ANN_OBJ_CHAN, closed ? 0 : id);
            m_lock.unlock();
            return out;
        }
        detail::Operation op;
        detail::Waiter<T> w;
        w.op = &op;
        w.recvSlot = &out;
        detail::recordEvent(this, RAVEL_ANN_EV_RECV_REQ, RAVEL_ANN_OBJ_CHAN, 0, RAVEL_ANN_MAY_BLOCK);
        m_recvq.push(&w);
        m_lock.unlock();
        op.wait(nullptr);
        detail::recordEvent(this, RAVEL_ANN_EV_RECEIVED, RAVEL_ANN_OBJ_CHAN, op.closed ? 0 : op.msgId);
        return out;
    }

    // Never blocks: std::nullopt when empty (or closed and drained).
    std::optional<T> try_recv()
    {
        std::optional<T> out;
        uint32_t id = 0;
        bool closed = false;
        m_lock.lock();
        detail::recordEvent(this, RAVEL_ANN_EV_RECV_REQ, RAVEL_ANN_OBJ_CHAN | RAVEL_ANN_TRY, 0);
        if (recvLocked(out, id, closed))
            detail::recordEvent(this, RAVEL_ANN_EV_RECEIVED, RAVEL_ANN_OBJ_CHAN, closed ? 0 : id);
        else
            detail::recordEvent(this, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN, EAGAIN);
        m_lock.unlock();
        return out;
    }

    // Wakes every blocked receiver (they get std::nullopt once the buffer is drained) and sender
    // (they throw chan_closed). Closing twice throws chan_closed.
    void close()
    {
        m_lock.lock();
        if (m_closed) {
            detail::recordEvent(this, RAVEL_ANN_EV_CHAN_CLOSE, RAVEL_ANN_OBJ_CHAN, EPIPE);
            m_lock.unlock();
            throw chan_closed("close of a closed channel");
        }
        m_closed = true;
        detail::recordEvent(this, RAVEL_ANN_EV_CHAN_CLOSE, RAVEL_ANN_OBJ_CHAN, 0);
        while (detail::Waiter<T>* w = m_recvq.claimFirst(true))
            finishClosed(w);
        while (detail::Waiter<T>* w = m_sendq.claimFirst())
            finishClosed(w);
        m_lock.unlock();
    }

    // A snapshot, for tests and statistics.
    std::size_t size()
    {
        m_lock.lock();
        std::size_t n = m_count;
        m_lock.unlock();
        return n;
    }
    bool closed()
    {
        m_lock.lock();
        bool c = m_closed;
        m_lock.unlock();
        return c;
    }

private:
    template <typename U, typename F>
    friend struct detail::RecvCase;
    template <typename U, typename F>
    friend struct detail::SendCase;
    friend struct detail::SelectAccess;

    struct Slot {
        alignas(T) unsigned char bytes[sizeof(T)];
    };

    uint32_t nextId()
    {
        if (++m_nextId == 0)
            m_nextId = 1;
        return m_nextId;
    }

    void finishClosed(detail::Waiter<T>* w)
    {
        w->op->closed = true;
        w->op->chosen = w->index;
        w->op->finish();
    }

    void pushBuffer(T&& v, uint32_t id)
    {
        std::size_t tail = (m_head + m_count) % m_capacity;
        ::new (static_cast<void*>(m_slots[tail].bytes)) T(std::move(v));
        m_ids[tail] = id;
        m_count++;
    }

    // Under the lock. True when the receive completed: a value (out, id) or closed and drained.
    bool recvLocked(std::optional<T>& out, uint32_t& id, bool& closed)
    {
        if (m_count) {
            T* slot = std::launder(reinterpret_cast<T*>(m_slots[m_head].bytes));
            out.emplace(std::move(*slot));
            slot->~T();
            id = m_ids[m_head];
            m_head = (m_head + 1) % m_capacity;
            m_count--;
            // A slot is free: the longest-waiting sender's value enters the channel now.
            if (detail::Waiter<T>* s = m_sendq.claimFirst()) {
                uint32_t sid = nextId();
                pushBuffer(std::move(*s->sendValue), sid);
                s->op->msgId = sid;
                s->op->chosen = s->index;
                s->op->finish();
            }
            return true;
        }
        if (detail::Waiter<T>* s = m_sendq.claimFirst()) { // a rendezvous with a waiting sender
            out.emplace(std::move(*s->sendValue));
            id = nextId();
            s->op->msgId = id;
            s->op->chosen = s->index;
            s->op->finish();
            return true;
        }
        if (m_closed) {
            closed = true;
            return true;
        }
        return false;
    }

    // Under the lock. Moves from v only when Done; onDone(id) records the completion before a
    // waiting receiver is released, so its SENT is in the trace before that RECEIVED.
    template <typename OnDone>
    detail::SendResult sendLocked(T& v, OnDone&& onDone)
    {
        if (m_closed)
            return detail::SendResult::Closed;
        if (detail::Waiter<T>* r = m_recvq.claimFirst()) {
            r->recvSlot->emplace(std::move(v));
            uint32_t id = nextId();
            r->op->msgId = id;
            r->op->chosen = r->index;
            onDone(id);
            r->op->finish();
            return detail::SendResult::Done;
        }
        if (m_count < m_capacity) {
            uint32_t id = nextId();
            pushBuffer(std::move(v), id);
            onDone(id);
            return detail::SendResult::Done;
        }
        return detail::SendResult::NotReady;
    }

    void sendImpl(T& v)
    {
        m_lock.lock();
        detail::SendResult r = sendLocked(v, [this](uint32_t id) {
            detail::recordEvent(this, RAVEL_ANN_EV_SEND_REQ, RAVEL_ANN_OBJ_CHAN, 0);
            detail::recordEvent(this, RAVEL_ANN_EV_SENT, RAVEL_ANN_OBJ_CHAN, id);
        });
        if (r == detail::SendResult::Done) {
            m_lock.unlock();
            return;
        }
        if (r == detail::SendResult::Closed) {
            detail::recordEvent(this, RAVEL_ANN_EV_SEND_REQ, RAVEL_ANN_OBJ_CHAN, 0);
            detail::recordEvent(this, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN, EPIPE);
            m_lock.unlock();
            throw chan_closed();
        }
        detail::Operation op;
        detail::Waiter<T> w;
        w.op = &op;
        w.sendValue = &v;
        detail::recordEvent(this, RAVEL_ANN_EV_SEND_REQ, RAVEL_ANN_OBJ_CHAN, 0, RAVEL_ANN_MAY_BLOCK);
        m_sendq.push(&w);
        m_lock.unlock();
        op.wait(nullptr);
        if (op.closed) {
            detail::recordEvent(this, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN, EPIPE);
            throw chan_closed();
        }
        detail::recordEvent(this, RAVEL_ANN_EV_SENT, RAVEL_ANN_OBJ_CHAN, op.msgId);
    }

    bool trySendImpl(T& v)
    {
        m_lock.lock();
        detail::recordEvent(this, RAVEL_ANN_EV_SEND_REQ, RAVEL_ANN_OBJ_CHAN | RAVEL_ANN_TRY, 0);
        detail::SendResult r
            = sendLocked(v, [this](uint32_t id) { detail::recordEvent(this, RAVEL_ANN_EV_SENT, RAVEL_ANN_OBJ_CHAN, id); });
        if (r != detail::SendResult::Done)
            detail::recordEvent(this, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN,
                                r == detail::SendResult::Closed ? EPIPE : EAGAIN);
        m_lock.unlock();
        if (r == detail::SendResult::Closed)
            throw chan_closed();
        return r == detail::SendResult::Done;
    }

    detail::ChanLock m_lock;
    std::size_t m_capacity;
    std::unique_ptr<Slot[]> m_slots;
    std::unique_ptr<uint32_t[]> m_ids;
    std::size_t m_head = 0;
    std::size_t m_count = 0;
    uint32_t m_nextId = 0;
    bool m_closed = false;
    detail::WaitQueue<T> m_sendq;
    detail::WaitQueue<T> m_recvq;
};

} // namespace ravel

#include <ravel/chan_select.hpp>
