// Two workers that each fill the buffered channel the other one should drain, then both block
// sending: a cycle of sends on full channels. Main does not join them; it keeps running (timed
// sleeps) for about 1.5 s and then exits. The deadlock is partial and only *likely* (a thread that
// never used the channels could in principle still receive), so ravel warns once it has lasted
// --stall-timeout, lets the program run on, and exits 66 because the workers were still stuck at
// the end.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <thread>

int main()
{
    static ravel::chan<int> toB(2, "to_b");
    static ravel::chan<int> toA(2, "to_a");
    auto worker = [](const char* name, ravel::chan<int>& in, ravel::chan<int>& out) {
        pthread_setname_np(pthread_self(), name);
        in.recv();                // one message from the peer first: each knows the other
        for (int i = 0; i < 3; i++)
            out.send(i);          // fills `out` (capacity 2) and blocks on the third
        while (in.recv()) { }     // never reached
    };
    toA.send(-1);
    toB.send(-1);
    std::thread([&] { worker("worker-a", toA, toB); }).detach();
    std::thread([&] { worker("worker-b", toB, toA); }).detach();
    long ticks = 0;
    for (int i = 0; i < 75; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ticks++;
    }
    std::printf("main done after %ld ticks\n", ticks);
    return 0;
}
