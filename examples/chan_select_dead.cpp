// chan_select_dead: a select whose every case is dead. The "dispatcher" waits in a select for
// either a job on `jobs` or a stop request on `quit`; the only thread that could send on either,
// the "feeder", sends two jobs and exits without sending quit or closing anything. Main joins
// the dispatcher.
//
// HANGS, every run, once the feeder has exited. Expected finding: certain deadlock: "dispatcher"
// in a select over `jobs` and `quit` (both receive cases) with no possible sender; main in join.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <cstdio>
#include <thread>

int main()
{
    ravel::chan<int> jobs(0, "jobs");
    ravel::chan<bool> quit(0, "quit");
    std::thread dispatcher([&] {
        pthread_setname_np(pthread_self(), "dispatcher");
        bool running = true;
        int done = 0;
        while (running)
            ravel::select(ravel::on_recv(jobs, [&](int) { done++; }),
                          ravel::on_recv(quit, [&](bool) { running = false; }));
        std::printf("%d jobs\n", done);
    });
    std::thread feeder([&] {
        pthread_setname_np(pthread_self(), "feeder");
        jobs.send(1);
        jobs.send(2);
        // Bug: quit.send(true) is missing.
    });
    feeder.join();
    dispatcher.join();
    return 0;
}
