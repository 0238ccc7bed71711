/* lock_micro: the lock-heavy microbenchmark of bench/run.
 *
 * 4 threads share 4 global mutexes. Each thread loops: pick a mutex by a deterministic pattern
 * ((i + thread) % 4), lock it, update a few shared counters guarded by it, unlock. The program
 * times itself: only the threads' work, from the first worker leaving the start barrier to the last
 * one finishing its loop, so process start-up, thread creation and exit (and, under `ravel run`,
 * everything ravel does after the program exits) stay outside the number.
 *
 *   lock_micro [ITERATIONS_PER_THREAD]      default LOCK_MICRO_ITERS (≈ 1 s natively on the
 *                                           2-core VM of docs/benchmarks.md)
 *
 * stdout: `ops=<lock operations> seconds=<work time>`. Exit 1 if the counters do not add up
 * (a tool must never change what the program computes).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifndef LOCK_MICRO_ITERS
#define LOCK_MICRO_ITERS 10000000L
#endif

#define NTHREADS 4
#define NLOCKS 4

pthread_mutex_t locks[NLOCKS] = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                                 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER};

/* Shared state guarded by locks[k]: one cache line per lock, as a real program would lay it out. */
struct guarded {
    uint64_t count;
    uint64_t sum;
    char pad[48];
};
static struct guarded counters[NLOCKS] __attribute__((aligned(64)));

static pthread_barrier_t start_barrier;
static long iterations;
static double started[NTHREADS], finished[NTHREADS];

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Each worker stamps its own start and end: with 5 threads on 2 cores, main may leave the barrier
 * long after the workers did, so main's clock would miss part of the work. */
static void *worker(void *arg) {
    long t = (long)(intptr_t)arg;
    pthread_barrier_wait(&start_barrier);
    started[t] = now();
    for (long i = 0; i < iterations; i++) {
        int k = (int)((i + t) % NLOCKS);
        pthread_mutex_lock(&locks[k]);
        counters[k].count++;
        counters[k].sum += (uint64_t)(i ^ t);
        pthread_mutex_unlock(&locks[k]);
    }
    finished[t] = now();
    return NULL;
}

int main(int argc, char **argv) {
    iterations = argc > 1 ? strtol(argv[1], NULL, 10) : LOCK_MICRO_ITERS;
    if (iterations <= 0) {
        fprintf(stderr, "lock_micro: bad iteration count '%s'\n", argv[1]);
        return 2;
    }
    pthread_t threads[NTHREADS];
    pthread_barrier_init(&start_barrier, NULL, NTHREADS + 1);
    for (long t = 0; t < NTHREADS; t++) {
        if (pthread_create(&threads[t], NULL, worker, (void *)(intptr_t)t) != 0) {
            fprintf(stderr, "lock_micro: pthread_create failed\n");
            return 2;
        }
    }
    pthread_barrier_wait(&start_barrier);
    for (int t = 0; t < NTHREADS; t++) pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&start_barrier);
    double t0 = started[0], t1 = finished[0];
    for (int t = 1; t < NTHREADS; t++) {
        if (started[t] < t0) t0 = started[t];
        if (finished[t] > t1) t1 = finished[t];
    }

    /* Check: every operation counted once, and the sums are what the pattern implies. */
    uint64_t total = 0, want_sum[NLOCKS] = {0}, want_count[NLOCKS] = {0};
    for (long t = 0; t < NTHREADS; t++)
        for (long i = 0; i < iterations; i++) {
            int k = (int)((i + t) % NLOCKS);
            want_count[k]++;
            want_sum[k] += (uint64_t)(i ^ t);
        }
    for (int k = 0; k < NLOCKS; k++) {
        total += counters[k].count;
        if (counters[k].count != want_count[k] || counters[k].sum != want_sum[k]) {
            fprintf(stderr, "lock_micro: counters of locks[%d] are wrong\n", k);
            return 1;
        }
    }
    printf("ops=%llu seconds=%.6f\n", (unsigned long long)total, t1 - t0);
    return 0;
}
