/* Race-free: phases separated by a barrier; in each phase a thread writes its own cell and, after
 * the barrier, reads its neighbour's. */
#include <pthread.h>
#include <stdio.h>

enum { N = 4, PHASES = 50 };
pthread_barrier_t phase;
long cell[N];
long total[N];

static void* run(void* arg)
{
    long me = (long)arg;
    for (int p = 0; p < PHASES; p++) {
        cell[me] = me * 1000 + p;
        pthread_barrier_wait(&phase);
        total[me] += cell[(me + 1) % N];
        pthread_barrier_wait(&phase);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    pthread_barrier_init(&phase, NULL, N);
    for (long i = 0; i < N; i++)
        pthread_create(&t[i], NULL, run, (void*)i);
    for (int i = 0; i < N; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&phase);
    printf("%ld\n", total[0]);
    return 0;
}
