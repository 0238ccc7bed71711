// chan_misuse: two misuses of a channel, both caught as exceptions so the program exits 0: a send
// on the closed channel `events` (ravel::chan_closed), and a second close of `events`.
//
// Exits 0. Expected findings: misuse "send on a closed channel" (`events`, main) and misuse
// "close of a closed channel" (`events`, main), each with its stack.
#include <ravel/chan.hpp>

#include <cstdio>

int main()
{
    ravel::chan<int> events(4, "events");
    events.send(1);
    events.close();
    try {
        events.send(2);
    } catch (const ravel::chan_closed& e) {
        std::printf("caught: %s\n", e.what());
    }
    try {
        events.close();
    } catch (const ravel::chan_closed& e) {
        std::printf("caught: %s\n", e.what());
    }
    while (std::optional<int> v = events.recv())
        std::printf("drained %d\n", *v);
    return 0;
}
