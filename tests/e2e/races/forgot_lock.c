/* A data race: every writer takes the lock but one. */
#include <pthread.h>
#include <stdio.h>

pthread_mutex_t balance_lock = PTHREAD_MUTEX_INITIALIZER;
long balance;

static void* careful(void* arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        pthread_mutex_lock(&balance_lock);
        balance += 2;
        pthread_mutex_unlock(&balance_lock);
    }
    return NULL;
}

static void* careless(void* arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        balance -= 1;
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, careful, NULL);
    pthread_create(&b, NULL, careless, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", balance);
    return 0;
}
