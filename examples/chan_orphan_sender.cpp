// chan_orphan_sender: a request with a time-out. Main asks a detached "fetcher" for a result on
// the unbuffered channel `result` and waits at most 50 ms with select(on_recv, on_timeout); the
// fetcher is slow (200 ms), so main gives up and goes on. When the fetcher finally sends, nobody
// will ever receive: it stays blocked in the send until the program exits (a goroutine leak in
// Go terms).
//
// Exits 0 after about 400 ms. Expected finding: a `blocked-at-exit` note: "fetcher" blocked
// sending on `result` since about 200 ms, with its stack; no deadlock while main runs.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <thread>

namespace {
ravel::chan<int> result(0, "result");
}

int main()
{
    std::thread([] {
        pthread_setname_np(pthread_self(), "fetcher");
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        result.send(42); // the receiver has given up: blocks forever
    }).detach();
    bool gotIt = false;
    ravel::select(ravel::on_recv(result, [&](int) { gotIt = true; }),
                  ravel::on_timeout(std::chrono::milliseconds(50), [] { std::printf("fetch timed out\n"); }));
    long work = 0;
    for (int i = 0; i < 20; i++) { // main runs on
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        work += i;
    }
    std::printf("done (%s, %ld)\n", gotIt ? "fetched" : "without the result", work);
    return 0;
}
