// chan_send_cycle: two stages feed each other through buffered channels of capacity 1. Each
// fills its outgoing channel, then sends again before it ever receives: both block on a full
// channel, and the only thread that could drain each one is the other, itself blocked sending.
//
// HANGS, every run: both first sends succeed, a barrier makes both second sends happen after
// that. Expected finding: certain deadlock, a cycle of sends: "left" sending on `left_to_right`
// (full), "right" sending on `right_to_left` (full); main in join.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <barrier>
#include <thread>

int main()
{
    ravel::chan<int> leftToRight(1, "left_to_right");
    ravel::chan<int> rightToLeft(1, "right_to_left");
    std::barrier bothFull(2);
    auto stage = [&](const char* name, ravel::chan<int>& out, ravel::chan<int>& in) {
        pthread_setname_np(pthread_self(), name);
        out.send(1); // fills the channel
        bothFull.arrive_and_wait();
        out.send(2); // blocks: full, and the other stage is sending too
        while (std::optional<int> v = in.recv()) // never reached
            out.send(*v + 1);
    };
    std::thread left(stage, "left", std::ref(leftToRight), std::ref(rightToLeft));
    std::thread right(stage, "right", std::ref(rightToLeft), std::ref(leftToRight));
    left.join();
    right.join();
    return 0;
}
