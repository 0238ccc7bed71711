/* short_mutexes: short-lived heap mutexes (issue 16 item 4; bench/lockorder_run, docs/benchmarks.md
 * "Lock-order prediction"). 4 threads; each, MUTEXES/2 times: allocates two mutexes, initializes
 * them, locks both (always the first, then the second: no cycle), unlocks them, destroys them and
 * frees them. malloc hands the same few addresses back, so every iteration is two new lock
 * generations at reused addresses.
 *
 *   short_mutexes [MUTEXES_PER_THREAD]     default 200000; 10 events per pair
 *
 * Prints "seconds=S cpu=C mutexes=N" (S: from the first thread's creation to the last one's join;
 * C: the process's user + system CPU seconds by then, all threads: on a shared machine the
 * steadier of the two).
 * Exit 1 if the counters do not add up. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define NTHREADS 4

static long pairs;
static uint64_t done[NTHREADS];

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    uint64_t n = 0;
    for (long i = 0; i < pairs; i++) {
        pthread_mutex_t *a = malloc(sizeof *a), *b = malloc(sizeof *b);
        if (!a || !b)
            abort();
        pthread_mutex_init(a, NULL);
        pthread_mutex_init(b, NULL);
        pthread_mutex_lock(a);
        pthread_mutex_lock(b);
        n += 2;
        pthread_mutex_unlock(b);
        pthread_mutex_unlock(a);
        pthread_mutex_destroy(b);
        pthread_mutex_destroy(a);
        free(b);
        free(a);
    }
    done[t] = n;
    return NULL;
}

int main(int argc, char **argv)
{
    long mutexes = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
    if (mutexes < 2) {
        fprintf(stderr, "short_mutexes: bad mutex count '%s'\n", argv[1]);
        return 2;
    }
    pairs = mutexes / 2;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t threads[NTHREADS];
    for (long t = 0; t < NTHREADS; t++)
        if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            perror("pthread_create");
            return 2;
        }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(threads[t], NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t total = 0;
    for (int t = 0; t < NTHREADS; t++)
        total += done[t];
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec
                 + (double)ru.ru_stime.tv_usec / 1e6;
    printf("seconds=%.4f cpu=%.4f mutexes=%llu\n",
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, cpu, (unsigned long long)total);
    return total == (uint64_t)NTHREADS * (uint64_t)pairs * 2 ? 0 : 1;
}
