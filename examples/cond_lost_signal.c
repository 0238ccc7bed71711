/* cond_lost_signal: a lost wake-up. Main tells the worker to start by signalling `go_cond`, but
 * the worker waits without a predicate (no "started" flag checked under the mutex), and the
 * signal came before the wait, so it is lost: condition variables have no memory.
 *
 * HANGS, every run: the barrier `signal_sent` stands in for the worker's slow start-up and puts
 * the signal before the wait every time. Expected finding: deadlock, the worker waits on
 * `go_cond` (with `go_lock`), main waits in join; every thread is blocked, none in a timed wait,
 * and no signal handler is installed, so nobody can signal it.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t go_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t go_cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t signal_sent;
static int work_done;

static void* worker(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "worker");
    pthread_barrier_wait(&signal_sent);
    pthread_mutex_lock(&go_lock);
    pthread_cond_wait(&go_cond, &go_lock); /* the bug: no predicate loop */
    work_done = 1;
    pthread_mutex_unlock(&go_lock);
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&signal_sent, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_mutex_lock(&go_lock);
    pthread_cond_signal(&go_cond);
    pthread_mutex_unlock(&go_lock);
    pthread_barrier_wait(&signal_sent);
    pthread_join(t, NULL);
    printf("work done: %d\n", work_done);
    return 0;
}
