// Race-free: work items built by a producer and handed over through ravel::chan; the consumer
// writes results the main thread reads after the join.
#include <ravel/chan.hpp>

#include <cstdio>
#include <optional>
#include <thread>
#include <vector>

struct Item {
    int id;
    long data[4];
};

int main()
{
    ravel::chan<Item*> work(4);
    long total = 0;
    std::thread consumer([&] {
        while (std::optional<Item*> it = work.recv()) {
            for (long d : (*it)->data)
                total += d;
            delete *it;
        }
    });
    for (int i = 0; i < 500; i++) {
        Item* it = new Item {i, {i, i + 1, i + 2, i + 3}};
        work.send(it);
    }
    work.close();
    consumer.join();
    std::printf("%ld\n", total);
}
