/* rwlock_readers_ok: two readers take the read locks of `catalog` and `prices` in opposite orders,
 * and the only writer takes one lock at a time. Readers never exclude each other, so the opposite
 * orders cannot deadlock; a tool that treats read locks as mutexes reports a false cycle.
 *
 * Terminates (exit 0). Expected finding: none.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

enum { ROUNDS = 1000 };

pthread_rwlock_t catalog = PTHREAD_RWLOCK_INITIALIZER;
pthread_rwlock_t prices = PTHREAD_RWLOCK_INITIALIZER;
static long items = 10, price = 3;

static void* browse(void* arg)
{
    long sum = 0;
    int reversed = arg != NULL;
    pthread_setname_np(pthread_self(), reversed ? "reader-pc" : "reader-cp");
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_t* first = reversed ? &prices : &catalog;
        pthread_rwlock_t* second = reversed ? &catalog : &prices;
        pthread_rwlock_rdlock(first);
        pthread_rwlock_rdlock(second);
        sum += items * price;
        pthread_rwlock_unlock(second);
        pthread_rwlock_unlock(first);
    }
    return (void*)sum;
}

static void* restock(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "writer");
    for (int i = 0; i < ROUNDS; i++) {
        pthread_rwlock_wrlock(&catalog);
        items++;
        pthread_rwlock_unlock(&catalog);
        pthread_rwlock_wrlock(&prices);
        price = 3;
        pthread_rwlock_unlock(&prices);
    }
    return NULL;
}

int main(void)
{
    pthread_t r1, r2, w;
    pthread_create(&r1, NULL, browse, NULL);
    pthread_create(&r2, NULL, browse, (void*)1);
    pthread_create(&w, NULL, restock, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    pthread_join(w, NULL);
    printf("items=%ld\n", items);
    return 0;
}
