// A std::counting_semaphore pool exhausted by its own holders: two workers each take one of the
// two connections of `pool`, then each asks for a second before giving the first back. Neither
// second acquire can ever succeed: the slots are held by the threads waiting for them.
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <semaphore>
#include <thread>

int main()
{
    std::counting_semaphore<2> pool(2);
    std::atomic<int> holding { 0 };
    auto work = [&pool, &holding](const char* name) {
        pthread_setname_np(pthread_self(), name);
        pool.acquire(); // the connection for the query
        holding.fetch_add(1);
        while (holding.load() < 2)
            std::this_thread::yield();
        pool.acquire(); // a second one for the nested lookup: never comes
        std::puts("both connections");
        pool.release(2);
    };
    std::thread a(work, "query-a");
    std::thread b(work, "query-b");
    a.join();
    b.join();
    return 0;
}
