/* join_ordered: account_a and account_b are taken in opposite orders by two threads, but main
 * starts the second thread only after joining the first. The two critical sections are ordered
 * by create/join and can never overlap: not a potential deadlock.
 *
 * Terminates (exit 0). Expected finding: none (tools that ignore thread ordering report a cycle).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

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
    transfer(&account_b, &balance_b, &account_a, &balance_a, 20);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, teller_ab, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, teller_ba, NULL);
    pthread_join(t, NULL);
    printf("a=%ld b=%ld\n", balance_a, balance_b);
    return balance_a + balance_b == 200 ? 0 : 1;
}
