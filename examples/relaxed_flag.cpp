// A data race through a relaxed flag: the producer fills `payload` and raises `ready` with a
// relaxed store; the consumer sees the flag but nothing orders the payload's writes before its
// reads. It usually prints the right answer on x86, and is still wrong (the compiler may reorder
// it, and other CPUs do). ravel reports a data-race on `payload`. relaxed_flag_fixed.cpp is the fix.
//   ravel-c++ -O1 -g relaxed_flag.cpp -o relaxed_flag && ravel run -- ./relaxed_flag
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
        ready.store(true, std::memory_order_relaxed); // publishes nothing
    });
    std::thread consumer([] {
        while (!ready.load(std::memory_order_relaxed))
            std::this_thread::yield();
        std::printf("message %d: %s\n", payload.id, payload.text);
    });
    producer.join();
    consumer.join();
}
