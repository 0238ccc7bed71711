/* sem_never_posted: a worker waits on the semaphore `results_ready` for results that main
 * computes, but main returns early on its "nothing to do" path and never posts; then it joins
 * the worker.
 *
 * HANGS, every run. Expected finding: deadlock, "collector" waits on `results_ready` that no
 * thread will post; main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t results_ready;
static int results;

static void* collector(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "collector");
    sem_wait(&results_ready);
    printf("results: %d\n", results);
    return NULL;
}

static int compute(int jobs)
{
    if (jobs == 0)
        return 0; /* the bug: this path forgets sem_post */
    results = jobs * 2;
    sem_post(&results_ready);
    return 1;
}

int main(int argc, char** argv)
{
    (void)argv;
    sem_init(&results_ready, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, collector, NULL);
    compute(argc - 1); /* no arguments: no jobs */
    pthread_join(t, NULL);
    return 0;
}
