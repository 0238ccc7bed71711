// A correct program using the four C++20 futex-based primitives (std::latch, std::barrier,
// std::counting_semaphore and std::atomic<int>::wait / notify): it must run to the end under
// ravel with no finding.
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <latch>
#include <semaphore>
#include <thread>
#include <vector>

// The runtime's syscall() must pass every call through unchanged: results and errno.
static int checkSyscallPassThrough()
{
    if (syscall(SYS_getpid) != getpid())
        return 1;
    errno = 0;
    if (syscall(-1L) != -1 || errno != ENOSYS)
        return 2;
    int word = 1;
    errno = 0;
    if (syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, nullptr, nullptr, 0) != -1 || errno != EAGAIN)
        return 3; // the word is not 0: the wait returns at once
    if (syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0) != 0)
        return 4; // nobody waits: nobody woken
    return 0;
}

int main()
{
    if (int bad = checkSyscallPassThrough()) {
        std::printf("syscall pass-through check %d failed\n", bad);
        return 10 + bad;
    }
    constexpr int kWorkers = 4;
    std::latch started(kWorkers);
    std::barrier rounds(kWorkers);
    std::counting_semaphore<2> slots(2);
    std::atomic<int> done { 0 };
    std::atomic<int> turn { 0 };
    std::vector<std::thread> workers;
    for (int i = 0; i < kWorkers; i++) {
        workers.emplace_back([&, i] {
            started.count_down();
            for (int r = 0; r < 20; r++) {
                slots.acquire();
                std::this_thread::yield();
                slots.release();
                rounds.arrive_and_wait();
            }
            // Ping-pong in order: each worker waits for its turn, then hands it on.
            for (int r = 0; r < 20; r++) {
                int want = r * kWorkers + i;
                for (int seen = turn.load(); seen != want; seen = turn.load())
                    turn.wait(seen);
                turn.fetch_add(1);
                turn.notify_all();
            }
            done.fetch_add(1);
            done.notify_one();
        });
    }
    started.wait();
    for (int seen = done.load(); seen != kWorkers; seen = done.load())
        done.wait(seen);
    for (std::thread& t : workers)
        t.join();
    std::printf("turns %d\n", turn.load());
    return 0;
}
