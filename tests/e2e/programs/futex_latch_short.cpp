// A std::latch one arrival short: main waits for three loaders to count down `ready`, but one of
// them returns early on an error path without counting down. std::latch never calls a pthread
// function: its wait is a futex wait on the latch's own word.
#include <pthread.h>

#include <cstdio>
#include <latch>
#include <thread>
#include <vector>

int main()
{
    std::latch ready(3);
    std::vector<std::thread> loaders;
    for (int i = 0; i < 3; i++) {
        loaders.emplace_back([&ready, i] {
            pthread_setname_np(pthread_self(), ("loader-" + std::to_string(i)).c_str());
            if (i == 2)
                return; // the error path forgets to count down
            ready.count_down();
        });
    }
    for (std::thread& t : loaders)
        t.join();
    ready.wait();
    std::puts("all loaded");
    return 0;
}
