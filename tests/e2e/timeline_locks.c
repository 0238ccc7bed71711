// The merge-stall pattern of issue 11 with the program's own measurements: thread A holds item
// lock `item_lock` and takes `list_lock` inside it; thread B takes `list_lock`, then trylocks
// `item_lock`. Each thread measures its own lock holds and waits with clock_gettime and prints them
// on stdout, one line per lock and thread, for comparison with `ravel info --json`:
//   hold NAME COUNT TOTAL_NS MAX_NS
//   wait THREAD TOTAL_NS          (time inside pthread_mutex_lock calls)
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

pthread_mutex_t item_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t list_lock = PTHREAD_MUTEX_INITIALIZER;

enum { kRounds = 150 };

static uint64_t now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void pause_us(long us)
{
    struct timespec ts = { 0, us * 1000 };
    nanosleep(&ts, NULL);
}

struct Hold {
    uint64_t count, total, max;
};

static void held(struct Hold* h, uint64_t since)
{
    uint64_t d = now() - since;
    ++h->count;
    h->total += d;
    if (d > h->max)
        h->max = d;
}

// Filled by each thread alone, printed by main after the joins.
static struct Hold item_hold, list_hold_a, list_hold_b;
static uint64_t wait_a, wait_b;

static uint64_t lock(pthread_mutex_t* m, uint64_t* waited)
{
    uint64_t t0 = now();
    pthread_mutex_lock(m);
    uint64_t t1 = now();
    *waited += t1 - t0;
    return t1;
}

static void* thread_a(void* arg)
{
    (void)arg;
    for (int i = 0; i < kRounds; ++i) {
        uint64_t item = lock(&item_lock, &wait_a);
        pause_us(300);
        uint64_t list = lock(&list_lock, &wait_a);
        pause_us(100);
        held(&list_hold_a, list);
        pthread_mutex_unlock(&list_lock);
        held(&item_hold, item);
        pthread_mutex_unlock(&item_lock);
        pause_us(200);
    }
    return NULL;
}

static void* thread_b(void* arg)
{
    (void)arg;
    for (int i = 0; i < kRounds; ++i) {
        uint64_t list = lock(&list_lock, &wait_b);
        if (pthread_mutex_trylock(&item_lock) == 0) {
            uint64_t item = now();
            held(&item_hold, item);
            pthread_mutex_unlock(&item_lock);
        }
        pause_us(250);
        held(&list_hold_b, list);
        pthread_mutex_unlock(&list_lock);
        pause_us(150);
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, thread_a, NULL);
    pthread_create(&b, NULL, thread_b, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    struct Hold list = { list_hold_a.count + list_hold_b.count, list_hold_a.total + list_hold_b.total,
        list_hold_a.max > list_hold_b.max ? list_hold_a.max : list_hold_b.max };
    printf("hold item_lock %llu %llu %llu\n", (unsigned long long)item_hold.count,
        (unsigned long long)item_hold.total, (unsigned long long)item_hold.max);
    printf("hold list_lock %llu %llu %llu\n", (unsigned long long)list.count, (unsigned long long)list.total,
        (unsigned long long)list.max);
    printf("wait a %llu\nwait b %llu\n", (unsigned long long)wait_a, (unsigned long long)wait_b);
    return 0;
}
