/* latent_abba: the ABBA bug of abba.c, but it never hangs here: the second teller starts its
 * transfer 200 ms after the first, long after the first has released both accounts. Only timing
 * keeps them apart (a sleep orders nothing), so on a slower day, or under load, this program
 * deadlocks.
 *
 * Terminates (exit 0). Expected finding: potential deadlock, the cycle account_a -> account_b
 * (thread "teller-ab") and account_b -> account_a (thread "teller-ba").
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>

pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t account_b = PTHREAD_MUTEX_INITIALIZER;
static long balance_a = 100, balance_b = 100;

static void transfer(pthread_mutex_t* from, long* from_balance, pthread_mutex_t* to, long* to_balance, long amount)
{
    pthread_mutex_lock(from);
    pthread_mutex_lock(to);
    *from_balance -= amount;
    *to_balance += amount;
    pthread_mutex_unlock(to);
    pthread_mutex_unlock(from);
}

static void* teller_ab(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ab");
    transfer(&account_a, &balance_a, &account_b, &balance_b, 10);
    return NULL;
}

static void* teller_ba(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ba");
    struct timespec later = {0, 200 * 1000 * 1000};
    nanosleep(&later, NULL);
    transfer(&account_b, &balance_b, &account_a, &balance_a, 20);
    return NULL;
}

int main(void)
{
    pthread_t t1, t2;
    pthread_create(&t1, NULL, teller_ab, NULL);
    pthread_create(&t2, NULL, teller_ba, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("a=%ld b=%ld\n", balance_a, balance_b);
    return balance_a + balance_b == 200 ? 0 : 1;
}
