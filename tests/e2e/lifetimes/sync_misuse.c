// Misuse of synchronization objects' lifetimes, one case per argument. Each case's lines are
// marked "@case:role" for the test, which checks that the finding's stacks name them.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;

static void lock_destroyed(void)
{
    pthread_mutex_t m;
    pthread_mutex_init(&m, NULL);
    pthread_mutex_destroy(&m); // @lock-destroyed:destroy
    int rc = pthread_mutex_lock(&m); // @lock-destroyed:use
    printf("lock: %d\n", rc);
}

static void trylock_destroyed(void)
{
    pthread_mutex_t m;
    pthread_mutex_init(&m, NULL);
    pthread_mutex_destroy(&m); // @trylock-destroyed:destroy
    int rc = pthread_mutex_trylock(&m); // @trylock-destroyed:use
    printf("trylock: %d\n", rc);
}

static void unlock_destroyed(void)
{
    pthread_mutex_t m;
    pthread_mutex_init(&m, NULL);
    pthread_mutex_destroy(&m); // @unlock-destroyed:destroy
    int rc = pthread_mutex_unlock(&m); // @unlock-destroyed:use
    printf("unlock: %d\n", rc);
}

// Another thread locks it, ordered after the destroy by the thread's creation.
static pthread_mutex_t* volatile dangling;
static void* lock_it(void* arg)
{
    (void)arg;
    int rc = pthread_mutex_lock(dangling); // @lock-freed:use
    printf("lock: %d\n", rc);
    return NULL;
}
static void lock_freed(void)
{
    pthread_mutex_t* m = malloc(sizeof *m);
    pthread_mutex_init(m, NULL);
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
    pthread_mutex_destroy(m); // @lock-freed:destroy
    dangling = m;
    free(m);
    pthread_t t;
    pthread_create(&t, NULL, lock_it, NULL);
    pthread_join(t, NULL);
}

// Freed without a destroy: glibc reads the allocator's words where the lock word was, so the lock
// looks taken; a timed lock gives up.
static void* timedlock_it(void* arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    int rc = pthread_mutex_timedlock(dangling, &until); // @lock-freed-live:use
    printf("timedlock: %s\n", strerror(rc));
    return NULL;
}
static void lock_freed_live(void)
{
    pthread_mutex_t* m = malloc(sizeof *m);
    pthread_mutex_init(m, NULL);
    pthread_mutex_lock(m);
    pthread_mutex_unlock(m);
    dangling = m;
    free(m); // @lock-freed-live:free
    pthread_t t;
    pthread_create(&t, NULL, timedlock_it, NULL);
    pthread_join(t, NULL);
}

// Waits on cond until a deadline; main destroys cond meanwhile (glibc's destroy then waits for it).
static void* timed_waiter(void* arg)
{
    (void)arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += 300 * 1000 * 1000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&lock);
    int rc = 0;
    while (rc == 0)
        rc = pthread_cond_timedwait(&cond, &lock, &until); // @cond-destroy-waiting:wait
    pthread_mutex_unlock(&lock);
    return NULL;
}
static void cond_destroy_waiting(void)
{
    pthread_t t;
    pthread_create(&t, NULL, timed_waiter, NULL);
    usleep(100000);
    pthread_cond_destroy(&cond); // @cond-destroy-waiting:destroy
    pthread_join(t, NULL);
}

static void barrier_zero(void)
{
    int rc = pthread_barrier_init(&barrier, NULL, 0); // @barrier-zero:use
    printf("init: %d\n", rc);
}

static void barrier_twice(void)
{
    pthread_barrier_init(&barrier, NULL, 1); // @barrier-twice:destroy
    pthread_barrier_wait(&barrier);
    pthread_barrier_init(&barrier, NULL, 1); // @barrier-twice:use
    pthread_barrier_wait(&barrier);
    pthread_barrier_destroy(&barrier);
}

static void* arrive(void* arg)
{
    (void)arg;
    pthread_barrier_wait(&barrier); // @barrier-destroy-waiting:wait @barrier-reinit-waiting:wait
    return NULL;
}
// glibc's destroy waits for the round to end, which never comes: the program hangs, and ravel ends it.
static void barrier_destroy_waiting(void)
{
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t first;
    pthread_create(&first, NULL, arrive, NULL);
    usleep(100000);
    pthread_barrier_destroy(&barrier); // @barrier-destroy-waiting:destroy
    pthread_join(first, NULL);
}

static void barrier_reinit_waiting(void)
{
    pthread_barrier_init(&barrier, NULL, 2);
    pthread_t first;
    pthread_create(&first, NULL, arrive, NULL);
    pthread_detach(first);
    usleep(100000);
    pthread_barrier_init(&barrier, NULL, 2); // @barrier-reinit-waiting:destroy
    usleep(50000);
    exit(0); // the first waiter may never leave: the process ends it
}

static void* die_holding(void* m)
{
    pthread_mutex_lock(m);
    return NULL;
}
static void robust_unrecoverable(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &attr);
    pthread_t t;
    pthread_create(&t, NULL, die_holding, &m);
    pthread_join(t, NULL);
    if (pthread_mutex_lock(&m) != EOWNERDEAD)
        exit(3);
    pthread_mutex_unlock(&m); // @robust-unrecoverable:destroy
    int rc = pthread_mutex_lock(&m); // @robust-unrecoverable:use
    printf("lock: %s\n", strerror(rc));
}

int main(int argc, char** argv)
{
    static const struct {
        const char* name;
        void (*fn)(void);
    } cases[] = {
        { "lock-destroyed", lock_destroyed },
        { "trylock-destroyed", trylock_destroyed },
        { "unlock-destroyed", unlock_destroyed },
        { "lock-freed", lock_freed },
        { "lock-freed-live", lock_freed_live },
        { "cond-destroy-waiting", cond_destroy_waiting },
        { "barrier-zero", barrier_zero },
        { "barrier-twice", barrier_twice },
        { "barrier-destroy-waiting", barrier_destroy_waiting },
        { "barrier-reinit-waiting", barrier_reinit_waiting },
        { "robust-unrecoverable", robust_unrecoverable },
    };
    for (size_t i = 0; argc > 1 && i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(argv[1], cases[i].name) == 0) {
            cases[i].fn();
            return 0;
        }
    fprintf(stderr, "usage: sync_misuse CASE\n");
    return 2;
}
