// Race-free: a function-local static initialized once (the compiler's guard), then read by
// every thread.
#include <cstdio>
#include <string>
#include <thread>

static const std::string& greeting()
{
    static const std::string g = std::string("hello, ") + "world";
    return g;
}

int main()
{
    size_t n[4] = {};
    std::thread t[4];
    for (int i = 0; i < 4; i++)
        t[i] = std::thread([&n, i] { n[i] = greeting().size(); });
    for (auto& x : t)
        x.join();
    std::printf("%zu\n", n[0] + n[1] + n[2] + n[3]);
}
