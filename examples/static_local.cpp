// static_local: four threads call config() at the same moment; its function-local static is
// initialized once, slowly (50 ms), so three threads wait on the initialization guard
// (__cxa_guard_acquire) while the first constructs it.
//
// Correct program. Expected finding: none. `ravel info` shows a "static-guard" object for
// config()::instance, with waits by the threads that came second.
#include <pthread.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Config {
    Config()
    {
        // Slow on purpose (as reading a file would be): the other threads arrive meanwhile.
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        name = "ravel-example";
        constructions++;
    }
    std::string name;
    static inline int constructions = 0;
};

Config& config()
{
    static Config instance;
    return instance;
}

constexpr int kThreads = 4;
pthread_barrier_t start_line;

} // namespace

int main()
{
    // A barrier, not a sleep, lines the threads up so they all reach config() together.
    pthread_barrier_init(&start_line, nullptr, kThreads);
    std::vector<std::thread> threads;
    std::size_t lengths[kThreads] = {};
    for (int i = 0; i < kThreads; i++) {
        threads.emplace_back([i, &lengths] {
            pthread_barrier_wait(&start_line);
            lengths[i] = config().name.size();
        });
    }
    for (auto& t : threads)
        t.join();
    pthread_barrier_destroy(&start_line);
    std::printf("constructed %d time(s), name length %zu\n", Config::constructions, lengths[0]);
    return Config::constructions == 1 ? 0 : 1;
}
