/* A data race: a writer that forgets the lock. The teller deposits into `balance` under
 * `balance_lock`; the auditor resets it at start-up without taking the lock.
 *   ravel-cc -O1 -g racy_bank.c -o racy_bank && ravel run -- ./racy_bank
 * ravel reports a data-race on `balance` (exit 66): the teller's write holds `balance_lock`, the
 * auditor's held no lock, so nothing orders one after the other. The fix: the auditor takes
 * `balance_lock` too. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>

long balance;
pthread_mutex_t balance_lock = PTHREAD_MUTEX_INITIALIZER;

static void* auditor(void* arg)
{
    (void)arg;
    balance = 0; /* forgets balance_lock */
    return NULL;
}

static void* teller(void* arg)
{
    long n = (long)arg;
    /* Deposits begin after the audit (by the clock, which orders nothing). */
    struct timespec pause = { 0, 5 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&balance_lock);
        balance += 10;
        pthread_mutex_unlock(&balance_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t a, t;
    pthread_create(&a, NULL, auditor, NULL);
    pthread_create(&t, NULL, teller, (void*)100);
    pthread_join(a, NULL);
    pthread_join(t, NULL);
    printf("balance = %ld (expected 1000)\n", balance);
    return 0;
}
