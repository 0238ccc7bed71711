// annotate_queue: a lock-free single-producer/single-consumer ring queue made visible to ravel as
// a channel with <ravel/annotate.h>. Items travel with a message id (the queue's own count of
// items pushed), so each receive in the trace names the send it took. The producer sleeps on a
// futex when the ring is full, the consumer when it is empty; each side announces the wait with
// ravel_chan_send / ravel_chan_recv (the request), then ravel_chan_sent / ravel_chan_received.
//
// Usage: annotate_queue [ITEMS]   (default 20000)
//        annotate_queue stall     the producer stops early without closing: the consumer waits
//
// Default: correct; exits 0 with the sum of 1..ITEMS. Expected: the channel `samples` (capacity
// 64) with ITEMS messages, sends and receives paired by id; no finding.
// stall: HANGS, every run. Expected: certain deadlock: "consumer" receiving from `samples` whose
// only sender has exited; main in join.
#include <ravel/annotate.h>

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <thread>

class SpscQueue {
public:
    static constexpr uint32_t kCapacity = 64;

    explicit SpscQueue(const char* name) { ravel_chan_create(this, kCapacity, name); }

    void push(long value)
    {
        ravel_chan_send(this, 0);
        uint32_t tail = m_tail.load(std::memory_order_relaxed);
        while (tail - m_head.load(std::memory_order_acquire) == kCapacity) // full: sleep until a pop
            waitFor(m_popped, m_poppedSeen);
        uint32_t id = tail + 1; // message ids start at 1
        m_items[tail % kCapacity] = value;
        ravel_chan_sent(this, id); // before the item is visible to the consumer
        m_tail.store(tail + 1, std::memory_order_release);
        wake(m_pushed);
    }

    // std::nullopt once closed and drained.
    std::optional<long> pop()
    {
        ravel_chan_recv(this, 0);
        uint32_t head = m_head.load(std::memory_order_relaxed);
        for (;;) {
            if (m_tail.load(std::memory_order_acquire) != head)
                break;
            if (m_closed.load(std::memory_order_acquire) && m_tail.load(std::memory_order_acquire) == head) {
                ravel_chan_received(this, 0);
                return std::nullopt;
            }
            waitFor(m_pushed, m_pushedSeen);
        }
        long value = m_items[head % kCapacity];
        ravel_chan_received(this, head + 1);
        m_head.store(head + 1, std::memory_order_release);
        wake(m_popped);
        return value;
    }

    void close()
    {
        ravel_chan_close(this, 0);
        m_closed.store(true, std::memory_order_release);
        wake(m_pushed);
    }

private:
    // An event count: the waiter sleeps while the count is what it last saw.
    static void waitFor(std::atomic<uint32_t>& count, uint32_t& seen)
    {
        uint32_t now = count.load(std::memory_order_acquire);
        if (now == seen)
            syscall(SYS_futex, reinterpret_cast<uint32_t*>(&count), FUTEX_WAIT_PRIVATE, now, nullptr, nullptr, 0);
        seen = count.load(std::memory_order_acquire);
    }
    static void wake(std::atomic<uint32_t>& count)
    {
        count.fetch_add(1, std::memory_order_release);
        syscall(SYS_futex, reinterpret_cast<uint32_t*>(&count), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }

    long m_items[kCapacity] {};
    std::atomic<uint32_t> m_head { 0 };
    std::atomic<uint32_t> m_tail { 0 };
    std::atomic<bool> m_closed { false };
    std::atomic<uint32_t> m_pushed { 0 };
    std::atomic<uint32_t> m_popped { 0 };
    uint32_t m_pushedSeen = 0; // the consumer's
    uint32_t m_poppedSeen = 0; // the producer's
};

int main(int argc, char** argv)
{
    bool stall = argc > 1 && std::strcmp(argv[1], "stall") == 0;
    long items = !stall && argc > 1 ? std::atol(argv[1]) : stall ? 10 : 20000;
    if (items < 0) {
        std::fprintf(stderr, "usage: annotate_queue [ITEMS] | stall\n");
        return 2;
    }
    static SpscQueue samples("samples");
    long long sum = 0;
    std::thread consumer([&] {
        pthread_setname_np(pthread_self(), "consumer");
        while (std::optional<long> v = samples.pop())
            sum += *v;
    });
    std::thread producer([&] {
        pthread_setname_np(pthread_self(), "producer");
        for (long i = 1; i <= items; i++)
            samples.push(i);
        if (!stall) // stall: the producer returns without closing
            samples.close();
    });
    producer.join();
    consumer.join();
    std::printf("sum %lld (expected %lld)\n", sum, static_cast<long long>(items) * (items + 1) / 2);
    return sum == static_cast<long long>(items) * (items + 1) / 2 ? 0 : 1;
}
