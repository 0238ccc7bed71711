// A lock-heavy program whose trace grows with its argument while its objects do not: two threads,
// each locking its own mutex (on its own cache line) N times. With "nested", each iteration also
// takes a second lock inside the first and posts a semaphore, so the lock-order pass has an edge
// in a new segment every iteration. What `ravel report` holds must not grow with N.
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct worker {
    pthread_mutex_t outer;
    pthread_mutex_t inner;
    sem_t done;
    long count;
} __attribute__((aligned(64)));

static struct worker workers[2];
static long iterations;
static int nested;

static void* work(void* arg)
{
    struct worker* w = arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&w->outer);
        if (nested) {
            pthread_mutex_lock(&w->inner);
            w->count++;
            pthread_mutex_unlock(&w->inner);
            sem_post(&w->done);
        } else {
            w->count++;
        }
        pthread_mutex_unlock(&w->outer);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: long_locks ITERATIONS [nested]\n");
        return 2;
    }
    iterations = atol(argv[1]);
    nested = argc > 2 && strcmp(argv[2], "nested") == 0;
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        pthread_mutex_init(&workers[i].outer, NULL);
        pthread_mutex_init(&workers[i].inner, NULL);
        sem_init(&workers[i].done, 0, 0);
        pthread_create(&t[i], NULL, work, &workers[i]);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 2; i++)
        if (workers[i].count != iterations) {
            fprintf(stderr, "long_locks: thread %d counted %ld of %ld\n", i, workers[i].count, iterations);
            return 1;
        }
    return 0;
}
