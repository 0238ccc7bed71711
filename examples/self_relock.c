/* self_relock: a cache whose put() evicts under the lock, and whose evict() takes the same
 * (normal, non-recursive) mutex again.
 *
 * HANGS, every run: a default pthread mutex re-locked by its owner blocks forever. Expected
 * finding: certain deadlock, the thread "cache-writer" waits for `cache_lock`, which it holds
 * itself; main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static int cache[4];
static int used;

static void cache_evict(void)
{
    pthread_mutex_lock(&cache_lock); /* the bug: the caller already holds it */
    used = 0;
    pthread_mutex_unlock(&cache_lock);
}

static void cache_put(int value)
{
    pthread_mutex_lock(&cache_lock);
    if (used == 4)
        cache_evict();
    cache[used++] = value;
    pthread_mutex_unlock(&cache_lock);
}

static void* writer(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "cache-writer");
    for (int i = 0; i < 10; i++)
        cache_put(i);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    pthread_join(t, NULL);
    printf("used %d, first %d\n", used, cache[0]);
    return 0;
}
