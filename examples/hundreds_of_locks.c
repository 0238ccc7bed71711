/* hundreds_of_locks: a thread locks all 300 rows of a table in index order (a full-table update),
 * while another later locks the last row, then the first (a "wrap-around" maintenance job). The
 * updater holds 300 locks at once, far past the 64 at which ThreadSanitizer's deadlock detector
 * aborts. The two never overlap here only because the maintenance job starts 200 ms later.
 *
 * Terminates (exit 0). Expected finding: potential deadlock, rows[0] -> rows[299] (thread
 * "updater") and rows[299] -> rows[0] (thread "maintenance"), and nothing else.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

enum { ROWS = 300 };

pthread_mutex_t rows[ROWS];
static long values[ROWS];

static void* updater(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "updater");
    for (int i = 0; i < ROWS; i++)
        pthread_mutex_lock(&rows[i]);
    for (int i = 0; i < ROWS; i++)
        values[i]++;
    for (int i = ROWS; i-- > 0;)
        pthread_mutex_unlock(&rows[i]);
    return NULL;
}

static void* maintenance(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "maintenance");
    struct timespec later = {0, 200 * 1000 * 1000};
    nanosleep(&later, NULL);
    pthread_mutex_lock(&rows[ROWS - 1]);
    pthread_mutex_lock(&rows[0]);
    values[0] += values[ROWS - 1];
    pthread_mutex_unlock(&rows[0]);
    pthread_mutex_unlock(&rows[ROWS - 1]);
    return NULL;
}

int main(void)
{
    for (int i = 0; i < ROWS; i++)
        pthread_mutex_init(&rows[i], NULL);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, updater, NULL);
    pthread_create(&t2, NULL, maintenance, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("%ld\n", values[0]);
    return values[0] == 2 ? 0 : 1;
}
