/* main_join_holding: main takes `state_lock` to publish the initial state, starts a worker that
 * needs the same lock, and joins the worker before unlocking.
 *
 * HANGS, every run: main locks before the worker exists. Expected finding: certain deadlock,
 * main holds `state_lock` and waits in join for "loader", which waits for `state_lock`.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static int state;

static void* loader(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "loader");
    pthread_mutex_lock(&state_lock);
    state += 1;
    pthread_mutex_unlock(&state_lock);
    return NULL;
}

int main(void)
{
    pthread_mutex_lock(&state_lock);
    state = 41;
    pthread_t t;
    pthread_create(&t, NULL, loader, NULL);
    pthread_join(t, NULL); /* the bug: still holding state_lock */
    pthread_mutex_unlock(&state_lock);
    printf("state %d\n", state);
    return 0;
}
