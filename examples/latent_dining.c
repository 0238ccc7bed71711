/* latent_dining: the dining philosophers of dining.c with the same bug (every philosopher picks up
 * the left fork, forks[i], then the right one, forks[(i + 1) % N]), but they come to the table
 * 30 ms apart, so each has eaten and put both forks down before the next sits. Only timing keeps
 * them apart (a sleep orders nothing): on a loaded machine they overlap and all N may hold their
 * left fork at once.
 *
 * Usage: latent_dining [N]
 *
 * Terminates (exit 0). Expected finding: potential deadlock, one cycle of N mutexes (forks[0] ..
 * forks[N-1]) and N threads ("philosopher-0" .. ), each edge at the same two sites of philosopher().
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { MAX_PHILOSOPHERS = 64 };

pthread_mutex_t forks[MAX_PHILOSOPHERS];
static int n_philosophers = 5;
static long meals;

static void* philosopher(void* arg)
{
    int id = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof name, "philosopher-%d", id);
    pthread_setname_np(pthread_self(), name);

    struct timespec turn = {0, (long)id * 30 * 1000 * 1000};
    nanosleep(&turn, NULL);
    pthread_mutex_t* left = &forks[id];
    pthread_mutex_t* right = &forks[(id + 1) % n_philosophers];
    pthread_mutex_lock(left);
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

    pthread_t tids[MAX_PHILOSOPHERS];
    for (long i = 0; i < n_philosophers; i++)
        pthread_create(&tids[i], NULL, philosopher, (void*)i);
    for (int i = 0; i < n_philosophers; i++)
        pthread_join(tids[i], NULL);
    printf("%ld meals\n", meals);
    return meals == n_philosophers ? 0 : 1;
}
