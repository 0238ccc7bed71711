/* abba: the classic lock-order deadlock. Two tellers transfer money between the same two accounts
 * in opposite directions; each locks the source account first, then the destination.
 *
 * HANGS, every run: the barrier `both_hold_first` makes each thread take its first lock before
 * either asks for its second, standing in for the unlucky timing that makes this bug rare in real
 * programs. Expected finding: certain deadlock between the threads "teller-ab" (holds account_a,
 * waits for account_b) and "teller-ba" (holds account_b, waits for account_a); main waits in join.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t account_a = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t account_b = PTHREAD_MUTEX_INITIALIZER;
static long balance_a = 100, balance_b = 100;
static pthread_barrier_t both_hold_first;

static void transfer(pthread_mutex_t* from, long* from_balance, pthread_mutex_t* to, long* to_balance, long amount)
{
    pthread_mutex_lock(from);
    pthread_barrier_wait(&both_hold_first);
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
    pthread_barrier_init(&both_hold_first, NULL, 2);
    pthread_t t1, t2;
    pthread_create(&t1, NULL, teller_ab, NULL);
    pthread_create(&t2, NULL, teller_ba, NULL);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    printf("a=%ld b=%ld\n", balance_a, balance_b);
    return 0;
}
