/* A data race whose second access holds a lock: a careless writer changes `balance` without the
 * lock and exits; 50 ms later a careful one takes balance_lock and writes it. Nothing orders the
 * two (main joins the careless thread only after starting the careful one), so the race is
 * reported at the careful write, which must say it held balance_lock. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

pthread_mutex_t balance_lock = PTHREAD_MUTEX_INITIALIZER;
long balance;

static void* careless(void* arg)
{
    (void)arg;
    balance -= 1;
    return NULL;
}

static void* careful(void* arg)
{
    (void)arg;
    usleep(50000);
    pthread_mutex_lock(&balance_lock);
    balance += 2;
    pthread_mutex_unlock(&balance_lock);
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, careless, NULL);
    pthread_create(&b, NULL, careful, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", balance);
    return 0;
}
