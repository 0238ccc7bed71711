// chan_lock_mixed: a mixed lock/channel cycle. The "publisher" takes `registry_lock` and, still
// holding it, sends an update on the unbuffered channel `updates`. The "subscriber" must take
// `registry_lock` before it receives (to look up where the update goes): it blocks on the lock,
// the publisher blocks in the send, and neither can move.
//
// HANGS, every run: the subscriber starts 50 ms late, so the publisher already holds the lock.
// Expected finding: certain deadlock: "publisher" sending on `updates` while holding
// `registry_lock`; "subscriber" waiting for `registry_lock`; main in join.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <chrono>
#include <mutex>
#include <thread>

std::mutex registry_lock;
int registered = 0;

int main()
{
    ravel::chan<int> updates(0, "updates");
    std::thread publisher([&] {
        pthread_setname_np(pthread_self(), "publisher");
        std::lock_guard<std::mutex> hold(registry_lock);
        registered++;
        updates.send(registered); // blocks while holding registry_lock
    });
    std::thread subscriber([&] {
        pthread_setname_np(pthread_self(), "subscriber");
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        int seen;
        {
            std::lock_guard<std::mutex> hold(registry_lock); // held by the blocked publisher
            seen = registered;
        }
        std::optional<int> update = updates.recv();
        (void)seen;
        (void)update;
    });
    publisher.join();
    subscriber.join();
    return 0;
}
