// Condition-variable programs for the predictor (tests/e2e/test_cond_predict.cpp), one case per
// argument. Every run here ends normally: the schedules that would hang are the ones the
// predictor must name (or, for the correct cases, must not). Sleeps choose the schedule this run
// takes; "@case:role" comments mark the lines the test expects in the report's stacks.
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static sem_t started;
static volatile int ready;
static volatile int queue;

static void nap(int ms) { usleep((useconds_t)ms * 1000); }

// lost: the waiter trusts the signal to come after its wait.
static void* lost_signaller(void* arg)
{
    (void)arg;
    nap(100);
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&ready_cv); // @lost:signal
    pthread_mutex_unlock(&m);
    return NULL;
}

static void lost(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lost_signaller, NULL);
    pthread_mutex_lock(&m);
    pthread_cond_wait(&ready_cv, &m); // @lost:wait
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

// loop: the idiom; the signal cannot be lost.
static void loop(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lost_signaller, NULL);
    pthread_mutex_lock(&m);
    while (!ready)
        pthread_cond_wait(&ready_cv, &m);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

// guard: a check, not a loop: a spurious wake-up gets through, but a signal that comes first is
// seen by the check, so no schedule hangs.
static void guard(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lost_signaller, NULL);
    pthread_mutex_lock(&m);
    if (!ready)
        pthread_cond_wait(&ready_cv, &m);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

// created: a bare wait, but the signaller is created inside the waiter's critical section, so it
// cannot signal before the wait releases the mutex.
static void* created_signaller(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&m);
    pthread_cond_signal(&ready_cv);
    pthread_mutex_unlock(&m);
    return NULL;
}

static void created(void)
{
    pthread_t t;
    pthread_mutex_lock(&m);
    pthread_create(&t, NULL, created_signaller, NULL);
    pthread_cond_wait(&ready_cv, &m);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

// timed: a bare wait with a timeout ends by itself.
static void timed(void)
{
    pthread_t t;
    pthread_create(&t, NULL, lost_signaller, NULL);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&m);
    pthread_cond_timedwait(&ready_cv, &m, &until);
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

// bare_worker: a worker loop that takes the mutex each round and waits without a check; the
// producer's last signal could come before the worker's last wait.
static void* bare_producer(void* arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        nap(60);
        pthread_mutex_lock(&m);
        queue++;
        pthread_cond_signal(&ready_cv); // @bare_worker:signal
        pthread_mutex_unlock(&m);
    }
    return NULL;
}

static void bare_worker(void)
{
    pthread_t t;
    pthread_create(&t, NULL, bare_producer, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&m);
        pthread_cond_wait(&ready_cv, &m); // @bare_worker:wait
        queue--;
        pthread_mutex_unlock(&m);
    }
    pthread_join(t, NULL);
}

// worker: the same rounds with the predicate loop: correct.
static void worker(void)
{
    pthread_t t;
    pthread_create(&t, NULL, bare_producer, NULL);
    for (int i = 0; i < 3; i++) {
        pthread_mutex_lock(&m);
        while (queue == 0)
            pthread_cond_wait(&ready_cv, &m);
        queue--;
        pthread_mutex_unlock(&m);
    }
    pthread_join(t, NULL);
}

// held: the waiter keeps table_lock across its (correct, looping) wait; the signaller needs
// table_lock before it signals. This run the signaller took it first.
static void* held_signaller(void* arg)
{
    int ordered = arg != NULL;
    pthread_mutex_lock(&table_lock); // @held:take
    queue = 1;
    pthread_mutex_unlock(&table_lock);
    if (ordered)
        sem_post(&started);
    nap(100);
    pthread_mutex_lock(&m);
    ready = 1;
    pthread_cond_signal(&ready_cv); // @held:signal
    pthread_mutex_unlock(&m);
    return NULL;
}

static void held(int ordered)
{
    pthread_t t;
    pthread_create(&t, NULL, held_signaller, ordered ? &t : NULL);
    if (ordered)
        sem_wait(&started); // the signaller's use of table_lock comes first in every schedule
    else
        nap(30);
    pthread_mutex_lock(&table_lock); // @held:hold
    pthread_mutex_lock(&m);
    while (!ready)
        pthread_cond_wait(&ready_cv, &m); // @held:wait
    pthread_mutex_unlock(&m);
    pthread_mutex_unlock(&table_lock);
    pthread_join(t, NULL);
}

int main(int argc, char** argv)
{
    const char* which = argc > 1 ? argv[1] : "";
    sem_init(&started, 0, 0);
    if (!strcmp(which, "lost"))
        lost();
    else if (!strcmp(which, "loop"))
        loop();
    else if (!strcmp(which, "guard"))
        guard();
    else if (!strcmp(which, "created"))
        created();
    else if (!strcmp(which, "timed"))
        timed();
    else if (!strcmp(which, "bare_worker"))
        bare_worker();
    else if (!strcmp(which, "worker"))
        worker();
    else if (!strcmp(which, "held"))
        held(0);
    else if (!strcmp(which, "held_ordered"))
        held(1);
    else {
        fprintf(stderr, "usage: %s lost|loop|guard|created|timed|bare_worker|worker|held|held_ordered\n", argv[0]);
        return 2;
    }
    printf("ok\n");
    return 0;
}
