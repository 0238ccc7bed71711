// ravel::select and its cases (on_recv, on_send, on_timeout, on_default). Part of ravel/chan.hpp:
// include that one.
#pragma once

#include <ravel/chan.hpp>

namespace ravel {

namespace detail {

// The channel internals a select needs.
struct SelectAccess {
    template <typename T>
    static ChanLock* lock(chan<T>* c)
    {
        return &c->m_lock;
    }
    template <typename T>
    static bool recvLocked(chan<T>* c, std::optional<T>& out, uint32_t& id, bool& closed)
    {
        return c->recvLocked(out, id, closed);
    }
    template <typename T, typename OnDone>
    static SendResult sendLocked(chan<T>* c, T& v, OnDone&& onDone)
    {
        return c->sendLocked(v, std::forward<OnDone>(onDone));
    }
    template <typename T>
    static bool closed(chan<T>* c)
    {
        return c->m_closed;
    }
    template <typename T>
    static WaitQueue<T>& sendq(chan<T>* c)
    {
        return c->m_sendq;
    }
    template <typename T>
    static WaitQueue<T>& recvq(chan<T>* c)
    {
        return c->m_recvq;
    }
};

enum class CaseKind { Recv, Send, Timeout, Default };

template <typename T, typename F>
struct RecvCase {
    static constexpr CaseKind kind = CaseKind::Recv;
    // A callback that can be told "closed" (it takes std::optional<T>, or nothing) makes the case
    // ready on a closed channel, as in Go; one that takes T ignores a closed channel.
    static constexpr bool acceptsClosed = std::is_invocable_v<F&, std::optional<T>> || std::is_invocable_v<F&>;
    static_assert(std::is_invocable_v<F&, std::optional<T>> || std::is_invocable_v<F&, T> || std::is_invocable_v<F&>,
                  "on_recv: the callback must take T, std::optional<T> or nothing");

    chan<T>* ch;
    F fn;
    std::optional<T> value {};
    Waiter<T> waiter {};
    uint32_t id = 0;
    bool closedResult = false;

    const void* chanAddr() const { return ch; }
    ChanLock* lock() const { return SelectAccess::lock(ch); }
    bool isSend() const { return false; }
    bool tryNow(uint32_t) // under the lock
    {
        bool closed = false;
        if (!SelectAccess::recvLocked(ch, value, id, closed))
            return false;
        closedResult = closed;
        return !closed || acceptsClosed; // "closed and drained" takes nothing: ignoring it is free
    }
    void enqueue(Operation* op, uint32_t index)
    {
        if (!acceptsClosed && SelectAccess::closed(ch))
            return; // never ready again
        waiter.op = op;
        waiter.index = index;
        waiter.recvSlot = &value;
        waiter.skipClosed = !acceptsClosed;
        SelectAccess::recvq(ch).push(&waiter);
    }
    void dequeue() { SelectAccess::recvq(ch).remove(&waiter); }
    void completed(const Operation& op)
    {
        id = op.msgId;
        closedResult = op.closed;
    }
    void recordResult() const { recordEvent(ch, RAVEL_ANN_EV_RECEIVED, RAVEL_ANN_OBJ_CHAN, closedResult ? 0 : id); }
    bool failed() const { return false; }
    void run()
    {
        if constexpr (std::is_invocable_v<F&, std::optional<T>>)
            fn(std::move(value));
        else if constexpr (std::is_invocable_v<F&, T>)
            fn(std::move(*value));
        else
            fn();
    }
};

template <typename T, typename F>
struct SendCase {
    static constexpr CaseKind kind = CaseKind::Send;
    static_assert(std::is_invocable_v<F&>, "on_send: the callback takes no argument");

    chan<T>* ch;
    T value;
    F fn;
    Waiter<T> waiter {};
    uint32_t id = 0;
    bool closedResult = false;

    const void* chanAddr() const { return ch; }
    ChanLock* lock() const { return SelectAccess::lock(ch); }
    bool isSend() const { return true; }
    template <typename OnDone>
    bool tryNow(OnDone&& onDone) // under the lock
    {
        SendResult r = SelectAccess::sendLocked(ch, value, [&](uint32_t sent) {
            id = sent;
            onDone();
        });
        closedResult = r == SendResult::Closed;
        return r != SendResult::NotReady;
    }
    void enqueue(Operation* op, uint32_t index)
    {
        waiter.op = op;
        waiter.index = index;
        waiter.sendValue = &value;
        SelectAccess::sendq(ch).push(&waiter);
    }
    void dequeue() { SelectAccess::sendq(ch).remove(&waiter); }
    void completed(const Operation& op)
    {
        id = op.msgId;
        closedResult = op.closed;
    }
    void recordResult() const
    {
        if (closedResult)
            recordEvent(ch, RAVEL_ANN_EV_CHAN_FAIL, RAVEL_ANN_OBJ_CHAN, EPIPE);
        else
            recordEvent(ch, RAVEL_ANN_EV_SENT, RAVEL_ANN_OBJ_CHAN, id);
    }
    bool failed() const { return closedResult; }
    void run() { fn(); }
};

template <typename F>
struct TimeoutCase {
    static constexpr CaseKind kind = CaseKind::Timeout;
    std::chrono::steady_clock::duration after;
    F fn;
    void run() { fn(); }
};

template <typename F>
struct DefaultCase {
    static constexpr CaseKind kind = CaseKind::Default;
    F fn;
    void run() { fn(); }
};

template <typename C>
constexpr bool isChannelCase = std::remove_cvref_t<C>::kind == CaseKind::Recv || std::remove_cvref_t<C>::kind == CaseKind::Send;

// Calls fn(case) for the i-th element of the tuple.
template <typename Tuple, typename Fn, std::size_t... I>
void visitCase(Tuple& cases, std::size_t i, Fn&& fn, std::index_sequence<I...>)
{
    ((i == I ? (void)fn(std::get<I>(cases)) : void()), ...);
}

template <typename... Cases>
std::size_t runSelect(std::tuple<Cases...>& cases)
{
    constexpr std::size_t N = sizeof...(Cases);
    constexpr std::size_t M = (std::size_t(0) + ... + (isChannelCase<Cases> ? 1 : 0));
    constexpr std::size_t timeouts = (std::size_t(0) + ... + (Cases::kind == CaseKind::Timeout ? 1 : 0));
    constexpr std::size_t defaults = (std::size_t(0) + ... + (Cases::kind == CaseKind::Default ? 1 : 0));
    static_assert(timeouts + defaults <= 1, "select: at most one on_timeout or on_default");
    constexpr std::array<bool, N> isChan { isChannelCase<Cases>... };
    auto visit = [&](std::size_t i, auto&& fn) { visitCase(cases, i, fn, std::index_sequence_for<Cases...> {}); };

    // Channel cases are numbered 0..M-1 in the trace, in the order written.
    std::array<std::size_t, M + 1> argOf {};
    std::array<RavelSelectCase, M + 1> described {};
    std::array<ChanLock*, M + 1> locks {};
    std::size_t special = N; // the timeout or default case
    std::chrono::steady_clock::time_point deadline {};
    for (std::size_t i = 0, k = 0; i < N; i++) {
        if (isChan[i]) {
            argOf[k] = i;
            visit(i, [&](auto& c) {
                if constexpr (isChannelCase<decltype(c)>) {
                    described[k] = RavelSelectCase { c.chanAddr(), c.isSend() ? 1u : 0u, 0 };
                    locks[k] = c.lock();
                }
            });
            k++;
        } else {
            special = i;
            visit(i, [&](auto& c) {
                if constexpr (std::remove_cvref_t<decltype(c)>::kind == CaseKind::Timeout)
                    deadline = std::chrono::steady_clock::now() + c.after;
            });
        }
    }
    // Every channel locked once (a select may name one twice), in address order.
    std::sort(locks.begin(), locks.begin() + M);
    std::size_t lockCount = static_cast<std::size_t>(std::unique(locks.begin(), locks.begin() + M) - locks.begin());
    auto lockAll = [&] {
        for (std::size_t i = 0; i < lockCount; i++)
            locks[i]->lock();
    };
    auto unlockAll = [&] {
        for (std::size_t i = lockCount; i-- > 0;)
            locks[i]->unlock();
    };
    const RavelAnnotateApi* api = ravel_annotate_api();
    unsigned reqFlags = (defaults ? unsigned(RAVEL_ANN_TRY) : 0u) | (timeouts ? unsigned(RAVEL_ANN_TIMED) : 0u);

    // A uniformly random order over the ready cases: the first ready one in a random permutation.
    std::array<uint32_t, M + 1> order {};
    for (uint32_t k = 0; k < M; k++) {
        uint32_t j = randomBelow(k + 1);
        order[k] = order[j];
        order[j] = k;
    }
    lockAll();
    for (std::size_t n = 0; n < M; n++) {
        uint32_t k = order[n];
        bool chosen = false, failed = false;
        visit(argOf[k], [&](auto& c) {
            if constexpr (isChannelCase<decltype(c)>) {
                auto recordDone = [&] {
                    if (api) {
                        api->selectRequest(described.data(), static_cast<uint32_t>(M), reqFlags, 0);
                        api->record(c.chanAddr(), RAVEL_ANN_EV_SELECT_DONE, RAVEL_ANN_OBJ_CHAN, k, 0);
                    }
                };
                if constexpr (std::remove_cvref_t<decltype(c)>::kind == CaseKind::Send) {
                    chosen = c.tryNow([&] {
                        recordDone();
                        c.recordResult();
                    });
                    if (chosen && c.failed()) {
                        recordDone();
                        c.recordResult();
                    }
                } else {
                    chosen = c.tryNow(k);
                    if (chosen) {
                        recordDone();
                        c.recordResult();
                    }
                }
                failed = chosen && c.failed();
            }
        });
        if (chosen) {
            unlockAll();
            if (failed)
                throw chan_closed();
            visit(argOf[k], [](auto& c) { c.run(); });
            return argOf[k];
        }
    }
    if constexpr (defaults > 0) {
        if (api) {
            api->selectRequest(described.data(), static_cast<uint32_t>(M), reqFlags, 0);
            api->record(nullptr, RAVEL_ANN_EV_SELECT_DONE, RAVEL_ANN_OBJ_CHAN, RAVEL_ANN_SELECT_NONE, 0);
        }
        unlockAll();
        visit(special, [](auto& c) { c.run(); });
        return special;
    }

    Operation op;
    if (api)
        api->selectRequest(described.data(), static_cast<uint32_t>(M), reqFlags, RAVEL_ANN_MAY_BLOCK);
    for (uint32_t k = 0; k < M; k++)
        visit(argOf[k], [&](auto& c) {
            if constexpr (isChannelCase<decltype(c)>)
                c.enqueue(&op, k);
        });
    unlockAll();
    bool done = op.wait(timeouts ? &deadline : nullptr);
    // Take the other cases off their channels before their waiters leave this frame.
    lockAll();
    for (uint32_t k = 0; k < M; k++)
        visit(argOf[k], [&](auto& c) {
            if constexpr (isChannelCase<decltype(c)>)
                c.dequeue();
        });
    unlockAll();
    if (!done) {
        if (api)
            api->record(nullptr, RAVEL_ANN_EV_SELECT_DONE, RAVEL_ANN_OBJ_CHAN, RAVEL_ANN_SELECT_NONE, 0);
        visit(special, [](auto& c) { c.run(); });
        return special;
    }
    uint32_t k = op.chosen;
    bool failed = false;
    visit(argOf[k], [&](auto& c) {
        if constexpr (isChannelCase<decltype(c)>) {
            c.completed(op);
            if (api)
                api->record(c.chanAddr(), RAVEL_ANN_EV_SELECT_DONE, RAVEL_ANN_OBJ_CHAN, k, 0);
            c.recordResult();
            failed = c.failed();
        }
    });
    if (failed)
        throw chan_closed();
    visit(argOf[k], [](auto& c) { c.run(); });
    return argOf[k];
}

} // namespace detail

// A receive case: fn(T), fn(std::optional<T>) (std::nullopt: closed) or fn().
template <typename T, typename F>
detail::RecvCase<T, std::decay_t<F>> on_recv(chan<T>& c, F&& fn)
{
    return { &c, std::forward<F>(fn) };
}

// A send case: the value is sent only if this case is chosen.
template <typename T, typename U, typename F>
detail::SendCase<T, std::decay_t<F>> on_send(chan<T>& c, U&& value, F&& fn)
{
    return { &c, T(std::forward<U>(value)), std::forward<F>(fn) };
}

template <typename Rep, typename Period, typename F>
detail::TimeoutCase<std::decay_t<F>> on_timeout(std::chrono::duration<Rep, Period> after, F&& fn)
{
    return { std::chrono::duration_cast<std::chrono::steady_clock::duration>(after), std::forward<F>(fn) };
}

template <typename F>
detail::DefaultCase<std::decay_t<F>> on_default(F&& fn)
{
    return { std::forward<F>(fn) };
}

// Waits until one of the cases is ready (picking uniformly at random among the ready ones), runs
// its callback, and returns that case's position among the arguments. With on_default it never
// blocks; with on_timeout it blocks at most that long. Throws chan_closed when the chosen case
// sends on a closed channel.
template <typename... Cases>
std::size_t select(Cases&&... cases)
{
    std::tuple<std::remove_cvref_t<Cases>...> all(std::forward<Cases>(cases)...);
    return detail::runSelect(all);
}

} // namespace ravel
