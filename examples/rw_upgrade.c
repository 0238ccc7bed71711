/* rw_upgrade: two readers look a key up under the read lock of `table_lock`; on a miss, each
 * "upgrades" by asking for the write lock while still holding its read lock.
 *
 * HANGS, every run: the barrier `both_reading` makes both readers hold the read lock before
 * either asks for the write lock; a write lock waits for every reader to leave, and neither will.
 * Expected finding: certain deadlock, "reader-0" and "reader-1" each hold `table_lock` shared and
 * wait for it exclusive; main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t table_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_barrier_t both_reading;
static int table[8];

static void* reader(void* arg)
{
    int id = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof name, "reader-%d", id);
    pthread_setname_np(pthread_self(), name);

    pthread_rwlock_rdlock(&table_lock);
    int missing = table[id] == 0;
    pthread_barrier_wait(&both_reading);
    if (missing) {
        pthread_rwlock_wrlock(&table_lock); /* the bug: upgrade while holding the read lock */
        table[id] = id + 1;
        pthread_rwlock_unlock(&table_lock);
    }
    pthread_rwlock_unlock(&table_lock);
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&both_reading, NULL, 2);
    pthread_t t[2];
    for (long i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, reader, (void*)i);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    printf("%d %d\n", table[0], table[1]);
    return 0;
}
