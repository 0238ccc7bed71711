// The cost of ravel's syscall() interposition (docs/benchmarks.md, "Futex waits"):
//   futex_micro getpid N    N calls of syscall(SYS_getpid): the pass-through path every
//                           non-futex system call made through syscall() takes
//   futex_micro pingpong N  two threads hand a std::atomic<int> turn back and forth N times with
//                           wait / notify_one: every hand-off is a FUTEX_WAKE, most a FUTEX_WAIT
// It prints "ops=<N> seconds=<time> ns_per_op=<time / N>", timed around the loop only.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

int main(int argc, char** argv)
{
    if (argc != 3 || (std::strcmp(argv[1], "getpid") != 0 && std::strcmp(argv[1], "pingpong") != 0)) {
        std::fprintf(stderr, "usage: futex_micro getpid|pingpong N\n");
        return 2;
    }
    long n = std::atol(argv[2]);
    auto start = std::chrono::steady_clock::now();
    if (std::strcmp(argv[1], "getpid") == 0) {
        long pid = getpid(), bad = 0;
        for (long i = 0; i < n; i++)
            bad += syscall(SYS_getpid) != pid;
        if (bad)
            return 1;
    } else {
        std::atomic<int> turn { 0 }; // 4 bytes: libstdc++ waits on the word itself
        auto player = [&](int me) {
            for (int i = me; i < 2 * n; i += 2) {
                for (int seen = turn.load(); seen != i; seen = turn.load())
                    turn.wait(seen);
                turn.store(i + 1);
                turn.notify_one();
            }
        };
        std::thread other(player, 1);
        player(0);
        other.join();
        if (turn.load() != 2 * n)
            return 1;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("ops=%ld seconds=%.4f ns_per_op=%.1f\n", n, s, s * 1e9 / double(n));
    return 0;
}
