/* abandoned_lock: thread "quitter" locks `state_lock` and returns without unlocking it; main then
 * locks it and blocks forever. Nobody can ever release it: a deadlock with one thread. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;

static void* quitter(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&state_lock);
    return NULL; /* the bug: still held */
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, quitter, NULL);
    pthread_join(t, NULL);
    pthread_mutex_lock(&state_lock);
    puts("unreachable");
    return 0;
}
