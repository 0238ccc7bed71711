/* trylock_ok: the classic back-off fix for ABBA. One thread takes `queue_lock` then `stats_lock`;
 * the other holds `stats_lock` and only *tries* `queue_lock`, letting go of everything and retrying
 * when it is busy. A trylock never blocks, so the opposite order cannot deadlock.
 *
 * Terminates (exit 0). Expected finding: none.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>

enum { ROUNDS = 1000 };

pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static long queued, counted;

static void* producer(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "producer");
    for (int i = 0; i < ROUNDS; i++) {
        pthread_mutex_lock(&queue_lock);
        pthread_mutex_lock(&stats_lock);
        queued++;
        pthread_mutex_unlock(&stats_lock);
        pthread_mutex_unlock(&queue_lock);
    }
    return NULL;
}

static void* reporter(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "reporter");
    for (int i = 0; i < ROUNDS;) {
        pthread_mutex_lock(&stats_lock);
        if (pthread_mutex_trylock(&queue_lock) == 0) {
            counted = queued;
            pthread_mutex_unlock(&queue_lock);
            i++;
        }
        pthread_mutex_unlock(&stats_lock);
        sched_yield();
    }
    return NULL;
}

int main(void)
{
    pthread_t p, r;
    pthread_create(&p, NULL, producer, NULL);
    pthread_create(&r, NULL, reporter, NULL);
    pthread_join(p, NULL);
    pthread_join(r, NULL);
    printf("queued=%ld counted=%ld\n", queued, counted);
    return 0;
}
