// std::condition_variable for the predictor (tests/e2e/test_cond_predict.cpp): `pred` waits with
// a predicate (correct: libstdc++'s wait(lock, pred) is the loop), `bare` waits without one. The
// signaller comes 100 ms later, so this run never hangs.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

namespace {

std::mutex m;
std::condition_variable cv;
bool ready = false;

void signaller()
{
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard<std::mutex> lock(m);
    ready = true;
    cv.notify_one(); // @bare:signal
}

// Each wait in a function of its own: a branch between the lock and the wait (an `if (bare)`)
// would read as a check before the wait.
__attribute__((noinline)) void waitBare()
{
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock); // @bare:wait
}

__attribute__((noinline)) void waitWithPredicate()
{
    std::unique_lock<std::mutex> lock(m);
    cv.wait(lock, [] { return ready; });
}

} // namespace

int main(int argc, char** argv)
{
    const char* which = argc > 1 ? argv[1] : "";
    bool bare = !std::strcmp(which, "bare");
    if (!bare && std::strcmp(which, "pred")) {
        std::fprintf(stderr, "usage: %s pred|bare\n", argv[0]);
        return 2;
    }
    std::thread t(signaller);
    if (bare)
        waitBare();
    else
        waitWithPredicate();
    t.join();
    std::printf("ok\n");
    return 0;
}
