// Channel throughput: messages per second through ravel::chan (buffered or unbuffered) with P
// producers and C consumers, against the classic baseline, a bounded queue guarded by a
// std::mutex and two std::condition_variables. Run natively and under `ravel run` by
// bench/chan_run; numbers in docs/benchmarks.md ("Channels").
//
// Usage: chan_throughput IMPL CAPACITY PRODUCERS CONSUMERS MESSAGES
//   IMPL: chan | mutexcv (the baseline needs CAPACITY >= 1)
// Prints one line: "IMPL CAPACITY PRODUCERS CONSUMERS MESSAGES SECONDS MSGS_PER_SECOND".
#include <ravel/chan.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace {

// The baseline: what a C++ programmer writes without a channel library.
class MutexCvQueue {
public:
    explicit MutexCvQueue(std::size_t capacity)
        : m_capacity(capacity)
    {
    }
    void send(long v)
    {
        std::unique_lock<std::mutex> lock(m_lock);
        m_notFull.wait(lock, [&] { return m_items.size() < m_capacity; });
        m_items.push_back(v);
        m_notEmpty.notify_one();
    }
    bool recv(long& v)
    {
        std::unique_lock<std::mutex> lock(m_lock);
        m_notEmpty.wait(lock, [&] { return !m_items.empty() || m_closed; });
        if (m_items.empty())
            return false;
        v = m_items.front();
        m_items.pop_front();
        m_notFull.notify_one();
        return true;
    }
    void close()
    {
        std::lock_guard<std::mutex> lock(m_lock);
        m_closed = true;
        m_notEmpty.notify_all();
    }

private:
    std::mutex m_lock;
    std::condition_variable m_notFull, m_notEmpty;
    std::deque<long> m_items;
    std::size_t m_capacity;
    bool m_closed = false;
};

template <typename Send, typename Recv, typename Close>
double run(int producers, int consumers, long messages, Send send, Recv recv, Close close, long long& sum)
{
    std::atomic<int> producing { producers };
    std::atomic<long long> total { 0 };
    std::vector<std::thread> threads;
    auto start = std::chrono::steady_clock::now();
    for (int p = 0; p < producers; p++)
        threads.emplace_back([&, p] {
            for (long i = p; i < messages; i += producers)
                send(i);
            if (producing.fetch_sub(1) == 1)
                close();
        });
    for (int c = 0; c < consumers; c++)
        threads.emplace_back([&] {
            long long local = 0;
            long v;
            while (recv(v))
                local += v;
            total += local;
        });
    for (auto& t : threads)
        t.join();
    sum = total;
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 6 || (std::strcmp(argv[1], "chan") != 0 && std::strcmp(argv[1], "mutexcv") != 0)) {
        std::fprintf(stderr, "usage: chan_throughput chan|mutexcv CAPACITY PRODUCERS CONSUMERS MESSAGES\n");
        return 2;
    }
    bool isChan = std::strcmp(argv[1], "chan") == 0;
    long capacity = std::atol(argv[2]);
    int producers = std::atoi(argv[3]), consumers = std::atoi(argv[4]);
    long messages = std::atol(argv[5]);
    if (capacity < (isChan ? 0 : 1) || producers < 1 || consumers < 1 || messages < 1) {
        std::fprintf(stderr, "chan_throughput: bad arguments (mutexcv needs CAPACITY >= 1)\n");
        return 2;
    }
    long long sum = 0;
    double seconds;
    if (isChan) {
        ravel::chan<long> c(static_cast<std::size_t>(capacity), "bench");
        seconds = run(
            producers, consumers, messages, [&](long v) { c.send(v); },
            [&](long& v) {
                std::optional<long> got = c.recv();
                if (got)
                    v = *got;
                return got.has_value();
            },
            [&] { c.close(); }, sum);
    } else {
        MutexCvQueue q(static_cast<std::size_t>(capacity));
        seconds = run(
            producers, consumers, messages, [&](long v) { q.send(v); }, [&](long& v) { return q.recv(v); },
            [&] { q.close(); }, sum);
    }
    long long expect = static_cast<long long>(messages) * (messages - 1) / 2;
    if (sum != expect) {
        std::fprintf(stderr, "chan_throughput: wrong sum %lld, expected %lld\n", sum, expect);
        return 1;
    }
    std::printf("%s %ld %d %d %ld %.4f %.0f\n", argv[1], capacity, producers, consumers, messages, seconds,
                messages / seconds);
    return 0;
}
