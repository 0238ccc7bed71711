/* barrier_short: a barrier sized for one thread too many. The barrier `phase_done` counts main
 * among its parties, but main joins the workers instead of arriving.
 *
 * HANGS, every run. Expected finding: deadlock, the three "stage-N" threads wait at
 * `phase_done` (3 of 4 arrived) and main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

enum { WORKERS = 3 };

pthread_barrier_t phase_done;
static int results[WORKERS];

static void* stage(void* arg)
{
    int id = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof name, "stage-%d", id);
    pthread_setname_np(pthread_self(), name);
    results[id] = id * 10;
    pthread_barrier_wait(&phase_done);
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&phase_done, NULL, WORKERS + 1); /* the bug: main never arrives */
    pthread_t t[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&t[i], NULL, stage, (void*)i);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(t[i], NULL);
    printf("%d %d %d\n", results[0], results[1], results[2]);
    return 0;
}
