// chan_pipeline: a correct CSP pipeline. A generator sends 1..ITEMS into `jobs` (buffered, 8); WORKERS
// workers (fan-out) square each number and send it into `results` (unbuffered); a collector
// (fan-in) adds them up. Shutdown is orderly: the generator closes `jobs` when done; the last
// worker to finish closes `results`; the collector stops when `results` is closed and drained.
//
// Usage: chan_pipeline [ITEMS [WORKERS]]   (default 2000 items, 3 workers)
//
// Correct program: exits 0 and prints the sum of squares. Expected finding: none. The trace
// shows the channels "jobs" (capacity 8) and "results" (capacity 0), ITEMS messages through each,
// every RECEIVED naming the SENT it took, and threads "generator", "worker-N", "collector".
#include <ravel/chan.hpp>

#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv)
{
    long items = argc > 1 ? std::atol(argv[1]) : 2000;
    int workers = argc > 2 ? std::atoi(argv[2]) : 3;
    if (items < 0 || workers < 1 || workers > 64) {
        std::fprintf(stderr, "usage: chan_pipeline [ITEMS [WORKERS (1..64)]]\n");
        return 2;
    }
    ravel::chan<long> jobs(8, "jobs");
    ravel::chan<long> results(0, "results");
    std::atomic<int> running { workers };

    std::thread generator([&] {
        pthread_setname_np(pthread_self(), "generator");
        for (long i = 1; i <= items; i++)
            jobs.send(i);
        jobs.close();
    });
    std::vector<std::thread> pool;
    for (int w = 0; w < workers; w++) {
        pool.emplace_back([&, w] {
            pthread_setname_np(pthread_self(), ("worker-" + std::to_string(w)).c_str());
            while (std::optional<long> n = jobs.recv())
                results.send(*n * *n);
            if (running.fetch_sub(1) == 1) // the last worker out closes the results
                results.close();
        });
    }
    long long sum = 0;
    long received = 0;
    std::thread collector([&] {
        pthread_setname_np(pthread_self(), "collector");
        while (std::optional<long> r = results.recv()) {
            sum += *r;
            received++;
        }
    });
    generator.join();
    for (auto& t : pool)
        t.join();
    collector.join();
    long long expect = static_cast<long long>(items) * (items + 1) * (2 * items + 1) / 6;
    std::printf("%ld results, sum of squares %lld (%s)\n", received, sum, sum == expect ? "ok" : "WRONG");
    return sum == expect && received == items ? 0 : 1;
}
