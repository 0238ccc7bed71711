/* One lock-order bug over a lock class: a thread takes each of 64 bucket locks and then the global
 * lock, another (later, while the first still runs) the global lock and then each bucket. That is
 * 64 cycles of one pattern (the same acquire sites): one finding, whose bucket side is "one of 64
 * locks of class bucket[*]". The second thread starts 100 ms late, so the run never deadlocks. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#define BUCKETS 64

static pthread_mutex_t bucket[BUCKETS];
static pthread_mutex_t global_lock = PTHREAD_MUTEX_INITIALIZER;

static void* bucket_first(void* arg)
{
    (void)arg;
    for (int i = 0; i < BUCKETS; i++) {
        pthread_mutex_lock(&bucket[i]);
        pthread_mutex_lock(&global_lock);
        pthread_mutex_unlock(&global_lock);
        pthread_mutex_unlock(&bucket[i]);
    }
    return NULL;
}

static void* global_first(void* arg)
{
    (void)arg;
    usleep(100000);
    for (int i = 0; i < BUCKETS; i++) {
        pthread_mutex_lock(&global_lock);
        pthread_mutex_lock(&bucket[i]);
        pthread_mutex_unlock(&bucket[i]);
        pthread_mutex_unlock(&global_lock);
    }
    return NULL;
}

int main(void)
{
    for (int i = 0; i < BUCKETS; i++)
        pthread_mutex_init(&bucket[i], NULL);
    pthread_t a, b;
    pthread_create(&a, NULL, bucket_first, NULL);
    pthread_create(&b, NULL, global_first, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    puts("done");
    return 0;
}
