// A correct program that idles a lot: four workers wait on `tasks` while main prepares the batch
// slowly (300 ms), a select with a timeout polls `status`, try_recv drains leftovers, then main
// closes `tasks` and the workers drain and exit. Nothing is stuck: ravel must stay quiet (exit 0).
#include <ravel/chan.hpp>

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

int main()
{
    ravel::chan<int> tasks(0, "tasks");
    ravel::chan<int> status(4, "status");
    std::atomic<long> sum { 0 };
    std::vector<std::thread> workers;
    for (int w = 0; w < 4; w++)
        workers.emplace_back([&] {
            pthread_setname_np(pthread_self(), "worker");
            while (std::optional<int> t = tasks.recv())
                sum += *t;
            status.try_send(1);
        });
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // workers idle, blocked in recv
    bool early = false;
    ravel::select(ravel::on_recv(status, [&](int) { early = true; }),
                  ravel::on_timeout(std::chrono::milliseconds(50), [] {}));
    for (int i = 1; i <= 100; i++)
        tasks.send(i);
    tasks.close();
    for (std::thread& t : workers)
        t.join();
    int done = 0;
    while (status.try_recv())
        done++;
    std::printf("sum %ld, %d workers reported%s\n", sum.load(), done, early ? " (early)" : "");
    return 0;
}
