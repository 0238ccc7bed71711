// latch_short: a std::latch one arrival short, started without ravel. A worker counts `ready`
// down once of the three it needs and exits; main then waits on it forever (no other thread, no
// signal handler: nobody can count it down).
#include <latch>
#include <thread>

std::latch ready(3);

int main()
{
    std::thread worker([] { ready.count_down(); });
    worker.join();
    ready.wait();
}
