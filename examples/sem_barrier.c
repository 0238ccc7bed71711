/* sem_barrier: the other pthread primitives, each used a known number of times.
 *
 * Main hands out WORKERS * TOKENS work tokens through the semaphore `work_sem`; each of the
 * WORKERS named threads ("worker-0", ...) runs pthread_once(&init_once), then ROUNDS rounds, each
 * ending at the barrier `round_barrier`, and takes TOKENS tokens over the rounds, counting them
 * under the spinlock `stats_spin`. Logging goes through the recursive mutex `log_lock` (taken
 * twice, nested, per line) and a consistency check through the errorcheck mutex `check_lock`.
 *
 * Correct program. Expected finding: none. Exact counts (WORKERS 3, ROUNDS 4, TOKENS 5):
 *   work_sem: 15 posts, 15 successful waits; round_barrier: 12 waits; init_once: 3 calls, one
 *   initialization; stats_spin: 15 acquisitions; log_lock: 24 acquisitions (12 outer + 12 nested);
 *   check_lock: 12 acquisitions. Threads: main + 3, named worker-0..worker-2.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

enum { WORKERS = 3, ROUNDS = 4, TOKENS = 5 };

sem_t work_sem;
pthread_barrier_t round_barrier;
pthread_once_t init_once = PTHREAD_ONCE_INIT;
pthread_spinlock_t stats_spin;
pthread_mutex_t log_lock;
pthread_mutex_t check_lock;

static int table[16];
static int init_calls;
static long tokens_taken;
static int lines_logged;

static void init_table(void)
{
    init_calls++;
    for (int i = 0; i < 16; i++)
        table[i] = i * i;
}

static void log_prefix(int worker)
{
    /* Re-entered from log_line with log_lock already held: this is why the mutex is recursive. */
    pthread_mutex_lock(&log_lock);
    lines_logged++;
    (void)worker;
    pthread_mutex_unlock(&log_lock);
}

static void log_line(int worker, int round)
{
    pthread_mutex_lock(&log_lock);
    log_prefix(worker);
    (void)round;
    pthread_mutex_unlock(&log_lock);
}

static void* worker_main(void* arg)
{
    int id = (int)(long)arg;
    char name[16];
    snprintf(name, sizeof name, "worker-%d", id);
    pthread_setname_np(pthread_self(), name);

    pthread_once(&init_once, init_table);

    int taken = 0;
    for (int round = 0; round < ROUNDS; round++) {
        /* Spread TOKENS over ROUNDS rounds: the last round takes the remainder. */
        int quota = round == ROUNDS - 1 ? TOKENS - taken : TOKENS / ROUNDS;
        for (int i = 0; i < quota; i++) {
            sem_wait(&work_sem);
            pthread_spin_lock(&stats_spin);
            tokens_taken += table[(id + i) % 16] >= 0;
            pthread_spin_unlock(&stats_spin);
        }
        taken += quota;

        pthread_mutex_lock(&check_lock);
        int ok = taken <= TOKENS;
        pthread_mutex_unlock(&check_lock);
        if (ok)
            log_line(id, round);

        pthread_barrier_wait(&round_barrier);
    }
    return NULL;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&log_lock, &attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&check_lock, &attr);
    pthread_mutexattr_destroy(&attr);
    pthread_spin_init(&stats_spin, PTHREAD_PROCESS_PRIVATE);
    sem_init(&work_sem, 0, 0);
    pthread_barrier_init(&round_barrier, NULL, WORKERS);

    pthread_t tids[WORKERS];
    for (long i = 0; i < WORKERS; i++)
        pthread_create(&tids[i], NULL, worker_main, (void*)i);
    for (int i = 0; i < WORKERS * TOKENS; i++)
        sem_post(&work_sem);
    for (int i = 0; i < WORKERS; i++)
        pthread_join(tids[i], NULL);

    pthread_barrier_destroy(&round_barrier);
    sem_destroy(&work_sem);
    pthread_spin_destroy(&stats_spin);
    pthread_mutex_destroy(&check_lock);
    pthread_mutex_destroy(&log_lock);

    printf("tokens %ld, init calls %d, lines %d\n", tokens_taken, init_calls, lines_logged);
    return tokens_taken == WORKERS * TOKENS && init_calls == 1 && lines_logged == WORKERS * ROUNDS ? 0 : 1;
}
