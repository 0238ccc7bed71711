// A consumer that stops early: it takes two orders from the unbuffered channel `orders` and
// returns without closing anything; the producer's third send can never complete, and main joins
// the producer. Every live thread is blocked: a certain deadlock, to be reported live (exit 66)
// naming "producer" and `orders`.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <cstdio>
#include <thread>

int main()
{
    ravel::chan<int> orders(0, "orders");
    std::thread consumer([&] {
        pthread_setname_np(pthread_self(), "consumer");
        for (int i = 0; i < 2; i++)
            if (std::optional<int> o = orders.recv())
                std::printf("order %d\n", *o);
    });
    std::thread producer([&] {
        pthread_setname_np(pthread_self(), "producer");
        for (int i = 1; i <= 3; i++)
            orders.send(i); // the third one: nobody will ever receive it
    });
    consumer.join();
    producer.join();
    return 0;
}
