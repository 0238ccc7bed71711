// Issue 11's cond-wait reproducer: a waiter locks `pool_lock` and waits on `pool_cond`; main locks
// and unlocks `pool_lock` at 0.1 s, sleeps 2 s, then signals. The mutex is never held for more
// than microseconds; the program prints what it measured itself:
//   hold pool_lock COUNT TOTAL_NS MAX_NS
//   wait pool_cond TOTAL_NS          (time inside pthread_cond_wait)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;
static int ready;

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t hold_count, hold_total, hold_max, waited;

static void held(uint64_t since)
{
    uint64_t d = now() - since;
    ++hold_count;
    hold_total += d;
    if (d > hold_max)
        hold_max = d;
}

static void* waiter(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&pool_lock);
    uint64_t since = now();
    while (!ready) {
        held(since);
        uint64_t t0 = now();
        pthread_cond_wait(&pool_cond, &pool_lock);
        since = now();
        waited += since - t0;
    }
    held(since);
    pthread_mutex_unlock(&pool_lock);
    return NULL;
}

int main(void)
{
    pthread_t w;
    pthread_create(&w, NULL, waiter, NULL);
    struct timespec tenth = { 0, 100000000 }, two = { 2, 0 };
    nanosleep(&tenth, NULL);
    pthread_mutex_lock(&pool_lock);
    uint64_t since = now();
    held(since);
    pthread_mutex_unlock(&pool_lock);
    nanosleep(&two, NULL);
    pthread_mutex_lock(&pool_lock);
    since = now();
    ready = 1;
    pthread_cond_signal(&pool_cond);
    held(since);
    pthread_mutex_unlock(&pool_lock);
    pthread_join(w, NULL);
    printf("hold pool_lock %llu %llu %llu\n", (unsigned long long)hold_count, (unsigned long long)hold_total,
        (unsigned long long)hold_max);
    printf("wait pool_cond %llu\n", (unsigned long long)waited);
    return 0;
}
