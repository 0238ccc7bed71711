/* dining: N dining philosophers (default 5, at most 64). Fork i lies between philosopher i and
 * philosopher i+1; every philosopher picks up the left fork (forks[i]), then the right one
 * (forks[(i + 1) % N]).
 *
 * Usage: dining [N]
 *
 * HANGS, every run: the barrier `table_set` makes every philosopher hold the left fork before
 * anyone reaches for the right one. Expected finding: certain deadlock, a cycle of N threads
 * ("philosopher-0" .. ) and N mutexes (forks[0] .. forks[N-1]); main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

enum { MAX_PHILOSOPHERS = 64 };

pthread_mutex_t forks[MAX_PHILOSOPHERS];
static pthread_barrier_t table_set;
static int n_philosophers = 5;
static long meals;

static void* philosopher(void* arg)
{
    int id = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof name, "philosopher-%d", id);
    pthread_setname_np(pthread_self(), name);

    pthread_mutex_t* left = &forks[id];
    pthread_mutex_t* right = &forks[(id + 1) % n_philosophers];
    pthread_mutex_lock(left);
    pthread_barrier_wait(&table_set);
    pthread_mutex_lock(right);
    meals++;
    pthread_mutex_unlock(right);
    pthread_mutex_unlock(left);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1)
        n_philosophers = atoi(argv[1]);
    if (n_philosophers < 2 || n_philosophers > MAX_PHILOSOPHERS) {
        fprintf(stderr, "usage: %s [N (2..%d)]\n", argv[0], MAX_PHILOSOPHERS);
        return 2;
    }
    for (int i = 0; i < n_philosophers; i++)
        pthread_mutex_init(&forks[i], NULL);
    pthread_barrier_init(&table_set, NULL, (unsigned)n_philosophers);

    pthread_t tids[MAX_PHILOSOPHERS];
    for (long i = 0; i < n_philosophers; i++)
        pthread_create(&tids[i], NULL, philosopher, (void*)i);
    for (int i = 0; i < n_philosophers; i++)
        pthread_join(tids[i], NULL);
    printf("%ld meals\n", meals);
    return 0;
}
