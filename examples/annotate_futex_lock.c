/* annotate_futex_lock: a small futex-based lock made visible to ravel with <ravel/annotate.h>.
 * The lock is three states in one int (free, held, held with sleepers), as in Drepper's
 * "Futexes Are Tricky"; ravel cannot see it without the annotations, since it calls no pthread
 * function. The annotations are the lock's four beats: ravel_lock_acquire when the fast path
 * failed and the thread is about to sleep, ravel_lock_acquired once it holds the lock,
 * ravel_lock_released before the real unlock; and ravel_name once, to name it.
 *
 * Usage: annotate_futex_lock [THREADS [ITERS]]   (default 4 threads, 20000 iterations)
 *        annotate_futex_lock abba                 two futex locks taken in opposite orders
 *        annotate_futex_lock flag                 a one-shot futex flag, annotated as an event
 *
 * Default: correct; exits 0 with counter = THREADS x ITERS. Expected: `stats_lock` (a custom
 * lock) with THREADS x ITERS acquisitions, some contended; no finding.
 * flag: exits 0; two "waiter" threads wait on the custom event `ready` (WAIT_REQ, WOKEN), main
 * sets it 50 ms later (BROADCAST); no finding.
 * abba: HANGS, every run. Expected: certain deadlock between "teller-ab" and "teller-ba" over the
 * custom locks `lock_a` and `lock_b`; main in join. */
#define _GNU_SOURCE
#include <ravel/annotate.h>

#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef struct {
    atomic_int word; /* 0 free, 1 held, 2 held and someone may sleep */
} futex_lock;

static void futex_lock_acquire(futex_lock* l)
{
    int c = 0;
    if (atomic_compare_exchange_strong_explicit(&l->word, &c, 1, memory_order_acquire, memory_order_relaxed)) {
        ravel_lock_acquired(l, 0); /* did not wait */
        return;
    }
    ravel_lock_acquire(l, 0); /* about to sleep: the request, with the whole stack */
    if (c != 2)
        c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    while (c != 0) {
        syscall(SYS_futex, &l->word, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
        c = atomic_exchange_explicit(&l->word, 2, memory_order_acquire);
    }
    ravel_lock_acquired(l, 0);
}

static void futex_lock_release(futex_lock* l)
{
    ravel_lock_released(l); /* before the real unlock: in the trace before the next acquisition */
    if (atomic_exchange_explicit(&l->word, 0, memory_order_release) == 2)
        syscall(SYS_futex, &l->word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static futex_lock stats_lock;
static long counter;
static long iters = 20000;

static void* worker(void* arg)
{
    (void)arg;
    for (long i = 0; i < iters; i++) {
        futex_lock_acquire(&stats_lock);
        counter++;
        futex_lock_release(&stats_lock);
    }
    return NULL;
}

/* A one-shot flag: waiters sleep until it is set; setting it wakes them all. */
static atomic_int ready; /* 0 not set, 1 set */
static atomic_int started; /* waiters about to wait */

static void flag_wait(atomic_int* f)
{
    if (atomic_load_explicit(f, memory_order_acquire))
        return; /* already set: no wait, nothing to record */
    ravel_event_wait(f, 0);
    while (!atomic_load_explicit(f, memory_order_acquire))
        syscall(SYS_futex, f, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    ravel_event_woken(f);
}

static void flag_set(atomic_int* f)
{
    ravel_event_broadcast(f); /* before the real wake-up */
    atomic_store_explicit(f, 1, memory_order_release);
    syscall(SYS_futex, f, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

static void* waiter(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "waiter");
    atomic_fetch_add(&started, 1);
    flag_wait(&ready);
    return NULL;
}

static futex_lock lock_a, lock_b;
static pthread_barrier_t both_hold_first;

static void* teller(void* arg)
{
    int ab = arg != NULL;
    futex_lock* first = ab ? &lock_a : &lock_b;
    futex_lock* second = ab ? &lock_b : &lock_a;
    pthread_setname_np(pthread_self(), ab ? "teller-ab" : "teller-ba");
    futex_lock_acquire(first);
    pthread_barrier_wait(&both_hold_first);
    futex_lock_acquire(second); /* each holds what the other wants */
    futex_lock_release(second);
    futex_lock_release(first);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1 && strcmp(argv[1], "flag") == 0) {
        ravel_name(&ready, "ready");
        pthread_t w[2];
        for (int i = 0; i < 2; i++)
            pthread_create(&w[i], NULL, waiter, NULL);
        while (atomic_load(&started) < 2) /* then give them 50 ms to block */
            usleep(1000);
        usleep(50000);
        flag_set(&ready);
        for (int i = 0; i < 2; i++)
            pthread_join(w[i], NULL);
        printf("flag set, both waiters woke\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "abba") == 0) {
        ravel_name(&lock_a, "lock_a");
        ravel_name(&lock_b, "lock_b");
        pthread_barrier_init(&both_hold_first, NULL, 2);
        pthread_t t1, t2;
        pthread_create(&t1, NULL, teller, (void*)1);
        pthread_create(&t2, NULL, teller, NULL);
        pthread_join(t1, NULL);
        pthread_join(t2, NULL);
        return 0;
    }
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    if (argc > 2)
        iters = atol(argv[2]);
    if (threads < 1 || threads > 64 || iters < 0) {
        fprintf(stderr, "usage: annotate_futex_lock [THREADS (1..64) [ITERS]] | abba | flag\n");
        return 2;
    }
    ravel_name(&stats_lock, "stats_lock");
    pthread_t tids[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&tids[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++)
        pthread_join(tids[i], NULL);
    printf("counter %ld (expected %ld)\n", counter, threads * iters);
    return counter == threads * iters ? 0 : 1;
}
