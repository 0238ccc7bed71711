// Correct cancellation, as glibc does it: each thread is cancelled at a cancellation point or
// leaves through pthread_exit, and its cleanup handlers undo what it held. Under ravel: exit 0,
// no finding, and every thread's exit in the trace.
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_ready = PTHREAD_COND_INITIALIZER;
static pthread_mutex_t exit_lock = PTHREAD_MUTEX_INITIALIZER;
static sem_t never_posted;
static int pipe_fds[2];
static pthread_t sleeper;

static void unlock_it(void* m) { pthread_mutex_unlock(m); }

// Cancelled inside pthread_cond_wait: glibc takes queue_lock again before the handler runs.
static void* cond_waiter(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&queue_lock);
    pthread_cleanup_push(unlock_it, &queue_lock);
    for (;;)
        pthread_cond_wait(&queue_ready, &queue_lock);
    pthread_cleanup_pop(1);
    return NULL;
}

// Cancelled inside sem_wait, holding nothing.
static void* sem_waiter(void* arg)
{
    (void)arg;
    sem_wait(&never_posted);
    return NULL;
}

// Cancelled inside pthread_join of a thread that never ends.
static void* forever(void* arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}
static void* joiner(void* arg)
{
    (void)arg;
    pthread_join(sleeper, NULL);
    return NULL;
}

// Cancelled inside read, holding a lock its handler releases.
static void* reader(void* arg)
{
    (void)arg;
    char c;
    pthread_mutex_lock(&exit_lock);
    pthread_cleanup_push(unlock_it, &exit_lock);
    if (read(pipe_fds[0], &c, 1) < 0)
        perror("read");
    pthread_cleanup_pop(1);
    return NULL;
}

// pthread_exit with a lock held: its cleanup handler releases it.
static void* exiter(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&exit_lock);
    pthread_cleanup_push(unlock_it, &exit_lock);
    pthread_exit(NULL);
    pthread_cleanup_pop(0);
    return NULL;
}

// pthread_exit from inside a cleanup handler that pthread_cleanup_pop(1) runs.
static void unlock_and_exit(void* m)
{
    pthread_mutex_unlock(m);
    pthread_exit(NULL);
}
static void* handler_exiter(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&exit_lock);
    pthread_cleanup_push(unlock_and_exit, &exit_lock);
    pthread_cleanup_pop(1);
    return NULL;
}

static void run_and_cancel(void* (*fn)(void*))
{
    pthread_t t;
    void* result = NULL;
    pthread_create(&t, NULL, fn, NULL);
    usleep(50000); // let it block
    pthread_cancel(t);
    pthread_join(t, &result);
    if (result != PTHREAD_CANCELED) {
        fprintf(stderr, "not cancelled\n");
        exit(1);
    }
}

static void run_to_exit(void* (*fn)(void*))
{
    pthread_t t;
    pthread_create(&t, NULL, fn, NULL);
    pthread_join(t, NULL);
}

int main(void)
{
    sem_init(&never_posted, 0, 0);
    if (pipe(pipe_fds) != 0)
        return 1;
    pthread_create(&sleeper, NULL, forever, NULL);
    run_and_cancel(cond_waiter);
    run_and_cancel(sem_waiter);
    run_and_cancel(joiner);
    run_and_cancel(reader);
    run_to_exit(exiter);
    run_to_exit(handler_exiter);
    // Every lock is free again: the handlers released them.
    if (pthread_mutex_trylock(&queue_lock) != 0 || pthread_mutex_trylock(&exit_lock) != 0)
        return 2;
    pthread_mutex_unlock(&exit_lock);
    pthread_mutex_unlock(&queue_lock);
    pthread_cancel(sleeper);
    pthread_join(sleeper, NULL);
    printf("ok\n");
    return 0;
}
