/* Race-free: readers read under the read lock, the writer writes under the write lock. */
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
long table[8];

static void* reader(void* arg)
{
    long sum = 0;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_rdlock(&table_lock);
        sum += table[i % 8];
        pthread_rwlock_unlock(&table_lock);
    }
    *(long*)arg = sum;
    return NULL;
}

static void* writer(void* arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_rwlock_wrlock(&table_lock);
        table[i % 8] = i;
        pthread_rwlock_unlock(&table_lock);
    }
    return NULL;
}

int main(void)
{
    long s1 = 0, s2 = 0;
    pthread_t r1, r2, w;
    pthread_create(&r1, NULL, reader, &s1);
    pthread_create(&r2, NULL, reader, &s2);
    pthread_create(&w, NULL, writer, NULL);
    pthread_join(r1, NULL);
    pthread_join(r2, NULL);
    pthread_join(w, NULL);
    printf("%ld\n", s1 + s2);
    return 0;
}
