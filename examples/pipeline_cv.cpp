// pipeline_cv: a producer and a consumer std::jthread pass ITEMS numbers through a bounded queue
// guarded by a std::mutex, with two std::condition_variables (not full / not empty). The consumer
// waits with wait_for (libstdc++ turns it into pthread_cond_clockwait) and counts its time-outs;
// both threads name themselves.
//
// Usage: pipeline_cv [ITEMS]   (default 10000)
//
// Correct program. Expected finding: none. `ravel info` shows the mutex `queue_lock`, the
// condition variables `not_full` and `not_empty`, and the threads "producer" and "consumer".
#include <pthread.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>

std::mutex queue_lock;
std::condition_variable not_full;
std::condition_variable not_empty;

namespace {

constexpr std::size_t kCapacity = 16;
std::deque<long> queue;
bool done = false;

void produce(long items)
{
    pthread_setname_np(pthread_self(), "producer");
    for (long i = 1; i <= items; i++) {
        std::unique_lock<std::mutex> lock(queue_lock);
        not_full.wait(lock, [] { return queue.size() < kCapacity; });
        queue.push_back(i);
        not_empty.notify_one();
    }
    std::lock_guard<std::mutex> lock(queue_lock);
    done = true;
    not_empty.notify_all();
}

void consume(long& sum, long& timeouts)
{
    pthread_setname_np(pthread_self(), "consumer");
    std::unique_lock<std::mutex> lock(queue_lock);
    for (;;) {
        // A timed wait, as a consumer that also does housekeeping would use.
        if (!not_empty.wait_for(lock, std::chrono::milliseconds(50), [] { return !queue.empty() || done; })) {
            timeouts++;
            continue;
        }
        if (queue.empty())
            return; // done, and nothing left
        sum += queue.front();
        queue.pop_front();
        not_full.notify_one();
    }
}

} // namespace

int main(int argc, char** argv)
{
    long items = argc > 1 ? std::atol(argv[1]) : 10000;
    if (items < 0) {
        std::fprintf(stderr, "usage: %s [ITEMS]\n", argv[0]);
        return 2;
    }
    long sum = 0;
    long timeouts = 0;
    {
        std::jthread consumer(consume, std::ref(sum), std::ref(timeouts));
        std::jthread producer(produce, items);
    } // jthreads join here
    std::printf("sum %ld (%ld time-outs)\n", sum, timeouts);
    return sum == items * (items + 1) / 2 ? 0 : 1;
}
