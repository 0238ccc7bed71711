/* rwlock_writer_cycle: a cycle through an rwlock's writer and a mutex. Thread "writer" takes
 * `index_lock` for writing, then asks for `log_lock`; main holds `log_lock` and asks for
 * `index_lock` for reading. Each waits for the other forever. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void* writer(void* arg)
{
    (void)arg;
    pthread_rwlock_wrlock(&index_lock);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&log_lock);
    return NULL;
}

int main(void)
{
    pthread_barrier_init(&both_hold, NULL, 2);
    pthread_t t;
    pthread_create(&t, NULL, writer, NULL);
    pthread_setname_np(t, "writer");
    pthread_mutex_lock(&log_lock);
    pthread_barrier_wait(&both_hold);
    pthread_rwlock_rdlock(&index_lock);
    puts("unreachable");
    return 0;
}
