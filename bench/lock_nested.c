/* lock_nested: the analysis benchmark's second workload (bench/report_run). Like lock_micro, but
 * every iteration nests two locks, always in the same global order (lower index first), so the
 * trace has lock-order edges for the lock-order pass to build and no cycle to report.
 *
 *   lock_nested [ITERATIONS_PER_THREAD]     4 threads, 8 locks; 4 events per iteration
 *
 * Exit 1 if the counters do not add up. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 4
#define NLOCKS 8

static pthread_mutex_t locks[NLOCKS];
static uint64_t counts[NLOCKS];
static long iterations;

static void *worker(void *arg)
{
    long t = (long)(intptr_t)arg;
    for (long i = 0; i < iterations; i++) {
        int a = (int)((i + t) % NLOCKS), b = (int)((i * 3 + t + 1) % NLOCKS);
        if (a == b)
            b = (b + 1) % NLOCKS;
        int lo = a < b ? a : b, hi = a < b ? b : a;
        pthread_mutex_lock(&locks[lo]);
        pthread_mutex_lock(&locks[hi]);
        counts[lo]++;
        counts[hi]++;
        pthread_mutex_unlock(&locks[hi]);
        pthread_mutex_unlock(&locks[lo]);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    if (iterations <= 0) {
        fprintf(stderr, "lock_nested: bad iteration count '%s'\n", argv[1]);
        return 2;
    }
    for (int k = 0; k < NLOCKS; k++)
        pthread_mutex_init(&locks[k], NULL);
    pthread_t threads[NTHREADS];
    for (long t = 0; t < NTHREADS; t++)
        if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "lock_nested: pthread_create failed\n");
            return 2;
        }
    for (int t = 0; t < NTHREADS; t++)
        pthread_join(threads[t], NULL);
    uint64_t total = 0;
    for (int k = 0; k < NLOCKS; k++)
        total += counts[k];
    if (total != (uint64_t)(2 * NTHREADS * iterations)) {
        fprintf(stderr, "lock_nested: counted %llu lock operations, expected %llu\n", (unsigned long long)total,
            (unsigned long long)(2 * NTHREADS * iterations));
        return 1;
    }
    printf("ops=%llu\n", (unsigned long long)total);
    return 0;
}
