// chan_latent_mixed: the mixed lock/channel bug of chan_lock_mixed, but lucky this time. The
// "publisher" holds `config_lock` across a send on the unbuffered channel `changes`; the
// "listener" takes `config_lock` (and releases it) before it receives. Had the publisher taken
// the lock first, the two would deadlock; here the publisher starts 100 ms late, the listener
// has already released the lock and waits in the receive, and the run ends normally.
//
// Exits 0. Expected finding: potential deadlock (mixed): `config_lock` held across a blocking
// send on `changes` by "publisher", while "listener" takes `config_lock` before it receives.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

std::mutex config_lock;
int version = 0;

int main()
{
    ravel::chan<int> changes(0, "changes");
    std::thread listener([&] {
        pthread_setname_np(pthread_self(), "listener");
        int seen;
        {
            std::lock_guard<std::mutex> hold(config_lock);
            seen = version;
        }
        std::optional<int> v = changes.recv();
        std::printf("version %d -> %d\n", seen, v ? *v : -1);
    });
    std::thread publisher([&] {
        pthread_setname_np(pthread_self(), "publisher");
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        std::lock_guard<std::mutex> hold(config_lock);
        version++;
        changes.send(version); // blocking send while holding config_lock
    });
    publisher.join();
    listener.join();
    return 0;
}
