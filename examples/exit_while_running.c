/* exit_while_running: main starts workers that lock `work_lock` in a loop forever, lets them run
 * for MS milliseconds, reads the count under the lock, and calls exit() without stopping or
 * joining them. The workers die with the process, in the middle of their loops.
 *
 * Usage: exit_while_running [MS]   (default 200)
 *
 * Terminates (exit 0) and prints the count it read. Expected: the trace opens and holds the
 * workers' acquisitions up to the exit (at least the printed count).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { WORKERS = 3 };

pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static long done_items;

static void* worker(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    for (;;) {
        /* Some work outside the lock, so the lock is busy but not the only thing running. */
        volatile unsigned x = 0;
        for (int i = 0; i < 5000; i++)
            x += (unsigned)i * 2654435761u;
        pthread_mutex_lock(&work_lock);
        done_items++;
        pthread_mutex_unlock(&work_lock);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    long ms = argc > 1 ? atol(argv[1]) : 200;
    pthread_t t;
    for (int i = 0; i < WORKERS; i++) {
        pthread_create(&t, NULL, worker, NULL);
        pthread_detach(t);
    }
    struct timespec delay = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&delay, NULL);

    pthread_mutex_lock(&work_lock);
    long seen = done_items;
    pthread_mutex_unlock(&work_lock);
    printf("%ld items\n", seen);
    fflush(stdout);
    exit(0);
}
