// rwcache_std: a lookup table behind a std::shared_mutex. READERS threads each do LOOKUPS lookups
// under std::shared_lock; one writer does UPDATES updates under std::unique_lock.
//
// Usage: rwcache_std [READERS [LOOKUPS [UPDATES]]]   (defaults 3, 20000, 2000)
//
// Correct program. Expected finding: none. `ravel info` shows one rwlock `cache_lock` with exactly
// READERS * LOOKUPS shared and UPDATES exclusive acquisitions (main does not lock it).
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <shared_mutex>
#include <thread>
#include <vector>

std::shared_mutex cache_lock;

namespace {

constexpr int kSlots = 64;
long cache[kSlots];

void reader(int id, long lookups, long& found)
{
    long hits = 0;
    for (long i = 0; i < lookups; i++) {
        std::shared_lock<std::shared_mutex> lock(cache_lock);
        if (cache[(i + id) % kSlots] != 0)
            hits++;
    }
    found = hits;
}

void writer(long updates)
{
    for (long i = 0; i < updates; i++) {
        std::unique_lock<std::shared_mutex> lock(cache_lock);
        cache[i % kSlots] = i + 1;
    }
}

} // namespace

int main(int argc, char** argv)
{
    int readers = argc > 1 ? std::atoi(argv[1]) : 3;
    long lookups = argc > 2 ? std::atol(argv[2]) : 20000;
    long updates = argc > 3 ? std::atol(argv[3]) : 2000;
    if (readers < 1 || readers > 64 || lookups < 0 || updates < 0) {
        std::fprintf(stderr, "usage: %s [READERS (1..64) [LOOKUPS [UPDATES]]]\n", argv[0]);
        return 2;
    }
    std::vector<long> found(static_cast<std::size_t>(readers));
    std::vector<std::thread> threads;
    threads.emplace_back(writer, updates);
    for (int i = 0; i < readers; i++)
        threads.emplace_back(reader, i, lookups, std::ref(found[static_cast<std::size_t>(i)]));
    for (auto& t : threads)
        t.join();
    long hits = 0;
    for (long f : found)
        hits += f;
    std::printf("%ld lookups, %ld hits, %ld updates\n", readers * lookups, hits, updates);
    return 0;
}
