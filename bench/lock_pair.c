// The scale issue's lock micro (docs/benchmarks.md, "Scale"): 2 threads, each locking its own
// mutex, padded to its own cache line, N times (default 10,000,000). Uncontended: what it measures
// is the cost per event of a tool, not lock contention (that is bench/lock_micro). Exits 1 if a
// count is wrong: a tool must not change what the program computes.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

struct padded {
    pthread_mutex_t mutex;
    long count;
} __attribute__((aligned(64)));

static struct padded locks[2] = { { PTHREAD_MUTEX_INITIALIZER, 0 }, { PTHREAD_MUTEX_INITIALIZER, 0 } };
static long iterations = 10000000;

static void* worker(void* arg)
{
    struct padded* p = arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&p->mutex);
        p->count++;
        pthread_mutex_unlock(&p->mutex);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1)
        iterations = atol(argv[1]);
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, worker, &locks[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        if (locks[i].count != iterations) {
            fprintf(stderr, "lock_pair: thread %d counted %ld of %ld\n", i, locks[i].count, iterations);
            return 1;
        }
    return 0;
}
