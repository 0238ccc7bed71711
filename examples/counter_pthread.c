/* counter_pthread: THREADS threads each increment a shared counter ITERS times under one global
 * pthread mutex, then main prints the total.
 *
 * Usage: counter_pthread [THREADS [ITERS]]   (defaults 4 and 100000; THREADS at most 64)
 *
 * Correct program. Expected finding: none. Under `ravel run`, `ravel info` shows one mutex
 * named `counter_lock` with exactly THREADS * ITERS acquisitions: main never touches the lock
 * (it reads the counter only after joining every worker, which already orders the accesses),
 * so the count is exact. Threads: main + THREADS.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_THREADS = 64 };

pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long iters = 100000;

static void* worker(void* arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        iters = atol(argv[2]);
    if (threads < 1 || threads > MAX_THREADS || iters < 0) {
        fprintf(stderr, "usage: %s [THREADS (1..%d) [ITERS]]\n", argv[0], MAX_THREADS);
        return 2;
    }

    pthread_t tids[MAX_THREADS];
    for (int i = 0; i < threads; i++) {
        if (pthread_create(&tids[i], NULL, worker, NULL) != 0) {
            perror("pthread_create");
            return 1;
        }
    }
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);

    printf("%ld\n", counter);
    return counter == threads * iters ? 0 : 1;
}
