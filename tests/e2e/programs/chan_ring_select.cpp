// Three stages in a ring, each trying to pass a token on with a select over "send to the next
// stage" and "receive a stop request" — but every stage sends first and nobody receives, and the
// stop channel is never used. Each select has only dead cases: a knot of channel waits. Main
// joins the stages, so every thread is blocked: certain, reported live with the ring's channels.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <cstdio>
#include <string>
#include <thread>
#include <vector>

int main()
{
    ravel::chan<int> ring0(0, "ring0"), ring1(0, "ring1"), ring2(0, "ring2");
    ravel::chan<bool> stop(0, "stop");
    ravel::chan<int>* ring[3] = { &ring0, &ring1, &ring2 };
    std::vector<std::thread> stages;
    for (int i = 0; i < 3; i++) {
        stages.emplace_back([&, i] {
            std::string name = "stage-" + std::to_string(i);
            pthread_setname_np(pthread_self(), name.c_str());
            bool stopped = false;
            // Pass our token to the next stage, or stop when told.
            ravel::select(ravel::on_send(*ring[(i + 1) % 3], i, [] {}),
                          ravel::on_recv(stop, [&](bool) { stopped = true; }));
            if (!stopped)
                ring[i]->recv();
        });
    }
    for (std::thread& t : stages)
        t.join();
    std::printf("ring done\n");
    return 0;
}
