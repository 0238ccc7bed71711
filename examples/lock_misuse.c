/* lock_misuse: three mistakes with pthread mutexes that do not hang this run but are bugs:
 *   1. the "reporter" thread unlocks `stats_lock`, which it never locked;
 *   2. main destroys `session_lock` while it is still locked;
 *   3. the "loader" thread returns while holding `config_lock`: nobody can ever unlock it.
 *
 * Finishes normally. Expected findings: three misuse reports, each naming the object, the thread
 * and the line.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t stats_lock;
pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;
static int config_loaded;

static void* reporter(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reporter");
    int rc = pthread_mutex_unlock(&stats_lock); /* bug 1: not ours (an errorcheck mutex says EPERM) */
    printf("unlock of a mutex not held: %s\n", rc ? "refused" : "accepted");
    return NULL;
}

static void* loader(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "loader");
    pthread_mutex_lock(&config_lock);
    config_loaded = 1;
    return NULL; /* bug 3: returns holding config_lock */
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&stats_lock, &attr);

    pthread_t t1, t2;
    pthread_create(&t1, NULL, reporter, NULL);
    pthread_join(t1, NULL);
    pthread_create(&t2, NULL, loader, NULL);
    pthread_join(t2, NULL);

    pthread_mutex_lock(&session_lock);
    int rc = pthread_mutex_destroy(&session_lock); /* bug 2: destroyed while locked */
    printf("destroy of a locked mutex: %s; config loaded: %d\n", rc ? "refused" : "accepted", config_loaded);
    return 0;
}
