// timed_std: std::timed_mutex and std::recursive_mutex.
//
// Main holds `device_lock` (a std::timed_mutex) while a worker tries it with try_lock_for(20ms):
// that attempt times out, every run, because main took the lock before starting the worker and
// releases it only after the worker reported the failure. The worker's second try_lock_for(5s)
// then succeeds. Meanwhile two threads walk a small tree under `tree_lock` (a
// std::recursive_mutex), re-locking it at every level of recursion.
//
// Correct program. Expected finding: none. Counts: device_lock 2 acquisitions (main, then the
// worker's second try) and 1 timed-out attempt; tree_lock 2 * 4 = 8 acquisitions, nested.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

std::timed_mutex device_lock;
std::recursive_mutex tree_lock;

namespace {

std::atomic<bool> first_try_failed {false};
int timeouts = 0;
int visits = 0;

void useDevice()
{
    using namespace std::chrono_literals;
    if (!device_lock.try_lock_for(20ms)) {
        timeouts++;
        first_try_failed = true;
        if (!device_lock.try_lock_for(5s))
            return;
    }
    device_lock.unlock();
}

void visit(int depth)
{
    std::lock_guard<std::recursive_mutex> lock(tree_lock); // held by this thread's callers too
    visits++;
    if (depth > 1)
        visit(depth - 1);
}

} // namespace

int main()
{
    using namespace std::chrono_literals;
    device_lock.lock();
    std::thread worker(useDevice);
    while (!first_try_failed)
        std::this_thread::sleep_for(1ms);
    device_lock.unlock();

    std::thread walker1(visit, 4);
    std::thread walker2(visit, 4);
    worker.join();
    walker1.join();
    walker2.join();
    std::printf("timeouts %d, visits %d\n", timeouts, visits);
    return timeouts == 1 && visits == 8 ? 0 : 1;
}
