// Two std::atomic<int>::wait that nobody notifies: a worker waits for `job_ready` and a logger for
// `mailbox.reply`; the main thread forgets both stores and joins them. The waits are futex waits
// on each atomic's own word.
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <thread>

std::atomic<int> job_ready { 0 };

struct Mailbox {
    long sent = 0;
    std::atomic<int> reply { 0 };
};
Mailbox mailbox;

int main()
{
    std::thread worker([] {
        pthread_setname_np(pthread_self(), "worker");
        job_ready.wait(0);
        std::puts("job");
    });
    std::thread logger([] {
        pthread_setname_np(pthread_self(), "logger");
        mailbox.reply.wait(0);
        std::puts("reply");
    });
    worker.join();
    logger.join();
    return 0;
}
