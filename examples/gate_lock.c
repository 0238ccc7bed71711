/* gate_lock: two threads take account_a and account_b in opposite orders, but always inside the
 * common `gate` lock, so at most one of them is ever between its two acquisitions: no deadlock
 * is possible. Lock-order tools without gate-lock filtering report a false cycle here.
 *
 * Terminates (exit 0). Expected finding: none (the a/b cycle is guarded by `gate`).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

enum { ROUNDS = 1000 };

pthread_mutex_t gate = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t account_b = PTHREAD_MUTEX_INITIALIZER;
static long balance_a = 1000, balance_b = 1000;

static void transfer(pthread_mutex_t* from, long* from_balance, pthread_mutex_t* to, long* to_balance, long amount)
{
    pthread_mutex_lock(&gate);
    pthread_mutex_lock(from);
    pthread_mutex_lock(to);
    *from_balance -= amount;
    *to_balance += amount;
    pthread_mutex_unlock(to);
    pthread_mutex_unlock(from);
    pthread_mutex_unlock(&gate);
}

static void* teller_ab(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ab");
    for (int i = 0; i < ROUNDS; i++)
        transfer(&account_a, &balance_a, &account_b, &balance_b, 1);
    return NULL;
}

static void* teller_ba(void* arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "teller-ba");
    for (int i = 0; i < ROUNDS; i++)
        transfer(&account_b, &balance_b, &account_a, &balance_a, 1);
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
    return balance_a == 1000 && balance_b == 1000 ? 0 : 1;
}
