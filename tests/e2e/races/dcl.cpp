// A data race: double-checked locking with a plain pointer. The unlocked first check reads the
// pointer another thread writes under the lock.
#include <cstdio>
#include <mutex>
#include <thread>

struct Config {
    int port = 8080;
};

Config* instance;
std::mutex instance_lock;

static Config* get()
{
    if (!instance) {
        std::lock_guard<std::mutex> g(instance_lock);
        if (!instance)
            instance = new Config;
    }
    return instance;
}

int main()
{
    int a = 0, b = 0;
    std::thread t1([&] { a = get()->port; });
    std::thread t2([&] { b = get()->port; });
    t1.join();
    t2.join();
    std::printf("%d %d\n", a, b);
    delete instance;
}
