// chan_recv_never: a receive that nothing will ever satisfy. The "producer" sends three readings
// on `readings` and returns without closing the channel; the "averager" keeps receiving until the
// channel is closed, which never happens. Main joins the averager.
//
// HANGS, every run, as soon as the producer has exited. Expected finding: certain deadlock:
// "averager" receiving from `readings`, whose only sender has exited without closing it; main in
// join.
#include <ravel/chan.hpp>

#include <pthread.h>

#include <cstdio>
#include <thread>

int main()
{
    ravel::chan<double> readings(4, "readings");
    std::thread producer([&] {
        pthread_setname_np(pthread_self(), "producer");
        for (double v : { 20.5, 21.0, 21.5 })
            readings.send(v);
        // Bug: readings.close() is missing.
    });
    std::thread averager([&] {
        pthread_setname_np(pthread_self(), "averager");
        double sum = 0;
        int n = 0;
        while (std::optional<double> v = readings.recv()) {
            sum += *v;
            n++;
        }
        std::printf("average %.2f\n", n ? sum / n : 0.0);
    });
    producer.join();
    averager.join();
    return 0;
}
