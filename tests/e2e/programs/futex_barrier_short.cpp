// A std::barrier one party short: `phase_sync` expects three parties per phase, but main only
// starts two workers and never arrives itself. libstdc++ waits for the phase on a word of its
// shared waiter pool, not on the barrier.
#include <pthread.h>

#include <barrier>
#include <cstdio>
#include <thread>

int main()
{
    std::barrier phase_sync(3);
    auto stage = [&phase_sync](const char* name) {
        pthread_setname_np(pthread_self(), name);
        for (int round = 0; round < 2; round++)
            phase_sync.arrive_and_wait();
    };
    std::thread a(stage, "stage-a");
    std::thread b(stage, "stage-b");
    a.join();
    b.join();
    std::puts("done");
    return 0;
}
