// Correct use of a robust mutex: its owner dies holding it, the next locker gets EOWNERDEAD,
// repairs the state and calls pthread_mutex_consistent. Under ravel: exit 0, no finding.
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t state_lock;
static int state;

static void* dies_holding(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&state_lock);
    state = -1; // half-done work, never finished
    return NULL; // exits holding state_lock
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&state_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    pthread_t t;
    pthread_create(&t, NULL, dies_holding, NULL);
    pthread_join(t, NULL);

    int rc = pthread_mutex_lock(&state_lock);
    if (rc != EOWNERDEAD)
        return 1;
    state = 0; // repaired
    pthread_mutex_consistent(&state_lock);
    pthread_mutex_unlock(&state_lock);

    // Usable again, by anyone.
    if (pthread_mutex_lock(&state_lock) != 0)
        return 2;
    state++;
    pthread_mutex_unlock(&state_lock);
    pthread_mutex_destroy(&state_lock);
    printf("ok %d\n", state);
    return 0;
}
