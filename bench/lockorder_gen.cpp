// Synthetic traces for the lock-order budgets (issue 16 item 4; bench/lockorder_run,
// docs/benchmarks.md "Lock-order prediction"). Written with the tests' TraceBuilder, byte for byte
// as the runtime lays traces out.
//
//   lockorder_gen rotate OUT [MILLIONS]   1000 locks taken in rotating orders by 8 threads: each
//                                         step nests a window of 4 consecutive locks, even threads
//                                         ascending, odd ones descending (so every neighbour pair is
//                                         taken both ways by unordered threads: one big component)
//   lockorder_gen once OUT [LOCKS]        LOCKS (default 100k) locks, each initialized, used once
//                                         (two nested at a time) and destroyed, by 8 threads
//   lockorder_gen short OUT [MILLIONS]    4 threads create, lock (two at a time) and destroy heap
//                                         mutexes whose addresses malloc reuses: new generations
//
// Prints the number of events written.
#include "trace_builder.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unordered_map>

using ravel::test::TraceBuilder;

namespace {

struct Gen {
    TraceBuilder b { 1 << 16 };
    uint64_t tsc = 1000, events = 0;
    std::unordered_map<uint64_t, uint32_t> seq;
    std::vector<uint64_t> sinceStamp;

    explicit Gen(uint32_t threads) : sinceStamp(threads + 1, 0)
    {
        for (uint32_t t = 1; t <= threads; t++) {
            b.thread(t, "worker").start_tsc = TraceBuilder::StartTsc + tsc;
            b.time(t, tsc);
            b.event(t, RAVEL_EV_THREAD_START, 0x7f0000001000ull * t, 0);
            events++;
        }
    }
    void ev(uint32_t t, unsigned kind, uint64_t obj, uint32_t aux, uint32_t stack)
    {
        tsc += 25;
        if (++sinceStamp[t] >= 2000) {
            b.time(t, tsc);
            sinceStamp[t] = 0;
        }
        b.event(t, kind, obj, aux, stack, RAVEL_OBJ_MUTEX);
        events++;
    }
    void lock(uint32_t t, uint64_t obj, uint32_t site) { ev(t, RAVEL_EV_ACQUIRED, obj, seq[obj]++, site); }
    void unlock(uint32_t t, uint64_t obj, uint32_t site) { ev(t, RAVEL_EV_RELEASE, obj, 0, site); }
    void finish(uint32_t threads, const char* out)
    {
        for (uint32_t t = 1; t <= threads; t++) {
            b.time(t, tsc += 25);
            b.event(t, RAVEL_EV_THREAD_EXIT, 0x7f0000001000ull * t, 0);
            events++;
        }
        b.write(out);
        std::printf("%llu\n", (unsigned long long)events);
    }
};

uint64_t lockAddress(uint64_t i) { return 0x555555600000ull + 64 * i; }

} // namespace

int main(int argc, char** argv)
{
    if (argc < 3) {
        std::fprintf(stderr, "usage: lockorder_gen rotate|once|short OUT [SIZE]\n");
        return 2;
    }
    const std::string mode = argv[1];
    const char* out = argv[2];
    if (mode == "rotate") {
        const uint64_t target = (argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20) * 1'000'000;
        const uint32_t threads = 8, locks = 1000, window = 4;
        Gen g(threads);
        for (uint64_t step = 0; g.events + 2 * window <= target; step++) {
            const uint32_t t = 1 + uint32_t(step % threads);
            const uint64_t base = (step / threads) % locks;
            const bool up = t % 2 == 1;
            uint64_t at[window];
            for (uint32_t i = 0; i < window; i++)
                at[i] = up ? (base + i) % locks : (base + locks - i) % locks;
            for (uint32_t i = 0; i < window; i++)
                g.lock(t, lockAddress(at[i]), 1 + uint32_t(at[i]) * 2 + (up ? 0 : 1));
            for (uint32_t i = window; i-- > 0;)
                g.unlock(t, lockAddress(at[i]), 5000);
        }
        g.finish(threads, out);
        return 0;
    }
    if (mode == "once" || mode == "short") {
        const bool once = mode == "once";
        const uint32_t threads = once ? 8 : 4;
        const uint64_t size = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : (once ? 100'000 : 8);
        // once: `size` locks at distinct addresses; short: about `size` million events, addresses
        // from a pool of 64 slots per thread (malloc's reuse), each slot a new lock every time.
        const uint64_t pairs = once ? size / 2 : size * 1'000'000 / 8;
        Gen g(threads);
        for (uint64_t p = 0; p < pairs; p++) {
            const uint32_t t = 1 + uint32_t(p % threads);
            const uint64_t slot = once ? p : (p % threads) * 64 + (p / threads) % 32;
            const uint64_t a = lockAddress(2 * slot), c = lockAddress(2 * slot + 1);
            g.ev(t, RAVEL_EV_INIT, a, 0, 1);
            g.ev(t, RAVEL_EV_INIT, c, 0, 2);
            g.lock(t, a, 3);
            g.lock(t, c, 4);
            g.unlock(t, c, 5);
            g.unlock(t, a, 6);
            g.ev(t, RAVEL_EV_DESTROY, c, 0, 7);
            g.ev(t, RAVEL_EV_DESTROY, a, 0, 8);
        }
        g.finish(threads, out);
        return 0;
    }
    std::fprintf(stderr, "lockorder_gen: unknown mode '%s' (rotate, once, short)\n", mode.c_str());
    return 2;
}
