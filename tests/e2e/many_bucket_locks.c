/* A cache's lock pattern at scale: 3000 bucket locks taken two at a time in every order (a
 * lock-order graph of thousands of locks and edges, one big strongly connected part), plus a
 * stats lock held over one bucket and a log lock taken inside one: orders on no cycle. The
 * workers run one after another, so the program never deadlocks however the pairs fall. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define BUCKETS 3000
#define WORKERS 4

static pthread_mutex_t buckets[BUCKETS];
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static long moved;

static void* worker(void* arg)
{
    unsigned seed = (unsigned)(size_t)arg * 7919u + 1u;
    for (int i = 0; i < BUCKETS; i++) {
        int j = (int)(rand_r(&seed) % BUCKETS);
        if (j == i)
            j = (j + 1) % BUCKETS;
        pthread_mutex_lock(&buckets[i]);
        pthread_mutex_lock(&buckets[j]);
        moved++;
        pthread_mutex_unlock(&buckets[j]);
        /* The first worker also walks the ring i -> i+1: every bucket is on a cycle. */
        if (arg == NULL) {
            pthread_mutex_lock(&buckets[(i + 1) % BUCKETS]);
            pthread_mutex_unlock(&buckets[(i + 1) % BUCKETS]);
        }
        pthread_mutex_unlock(&buckets[i]);
    }
    pthread_mutex_lock(&stats_lock);
    pthread_mutex_lock(&buckets[(size_t)arg]);
    pthread_mutex_lock(&log_lock);
    pthread_mutex_unlock(&log_lock);
    pthread_mutex_unlock(&buckets[(size_t)arg]);
    pthread_mutex_unlock(&stats_lock);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < BUCKETS; i++)
        pthread_mutex_init(&buckets[i], NULL);
    for (size_t w = 0; w < WORKERS; w++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, (void*)w) != 0)
            return 1;
        pthread_join(t, NULL);
    }
    printf("%ld\n", moved);
    return 0;
}
