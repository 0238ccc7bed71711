// relaxed_flag.cpp fixed: a release store of the flag after the payload is written, an acquire
// load before it is read. The acquire that sees the release orders everything before the store
// before everything after the load: no data race, and ravel reports none.
//   ravel-c++ -O1 -g relaxed_flag_fixed.cpp -o relaxed_flag_fixed && ravel run -- ./relaxed_flag_fixed
#include <atomic>
#include <cstdio>
#include <thread>

struct Message {
    int id;
    char text[24];
};

Message payload;
std::atomic<bool> ready {false};

int main()
{
    std::thread producer([] {
        payload.id = 42;
        std::snprintf(payload.text, sizeof payload.text, "hello");
        ready.store(true, std::memory_order_release);
    });
    std::thread consumer([] {
        while (!ready.load(std::memory_order_acquire))
            std::this_thread::yield();
        std::printf("message %d: %s\n", payload.id, payload.text);
    });
    producer.join();
    consumer.join();
}
