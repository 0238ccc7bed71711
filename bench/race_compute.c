/* race_compute: the compute-heavy race-detection benchmark (bench/races_run). 4 threads each fill
 * and then sum their own heap array many times: every access is instrumented, none races, so the
 * cost is the checking itself. Prints `sum=<value> seconds=<work time>`. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NTHREADS 4
#define ELEMS (1 << 18) /* 2 MiB of longs per thread */
#define ROUNDS 400

static long results[NTHREADS];

static void* work(void* arg)
{
    long me = (long)arg;
    long* a = malloc(ELEMS * sizeof(long));
    long sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (long i = 0; i < ELEMS; i++)
            a[i] = i * r + me;
        for (long i = 0; i < ELEMS; i++)
            sum += a[i] ^ (i >> 3);
    }
    free(a);
    results[me] = sum;
    return NULL;
}

int main(void)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        pthread_create(&t[i], NULL, work, (void*)i);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        sum += results[i];
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("sum=%ld seconds=%.3f\n", sum, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9);
    return 0;
}
