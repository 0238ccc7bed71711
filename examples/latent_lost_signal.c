/* latent_lost_signal: the lost wake-up of cond_lost_signal, kept away only by a sleep. The worker
 * waits on `go_cond` without a predicate (no "started" flag checked under the mutex); main
 * signals 200 ms later, so on this run the worker is already waiting and wakes. On a loaded
 * machine the worker can start late, the signal comes first and is lost, and the program hangs.
 *
 * ENDS, every run (exit 0). Expected finding: potential deadlock, "a signal can come before its
 * wait", naming the wait and the signal.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static int work_done;

static void* worker(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    pthread_mutex_lock(&go_lock);
    pthread_cond_wait(&go_cond, &go_lock); /* the bug: no predicate loop */
    work_done = 1;
    pthread_mutex_unlock(&go_lock);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    usleep(200 * 1000); /* "the worker is surely waiting by now" */
    pthread_mutex_lock(&go_lock);
    pthread_cond_signal(&go_cond);
    pthread_mutex_unlock(&go_lock);
    pthread_join(t, NULL);
    printf("work done: %d\n", work_done);
    return 0;
}
