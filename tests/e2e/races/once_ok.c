/* Race-free: pthread_once initializes a table that every thread then reads. */
#include <pthread.h>
#include <stdio.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int table[64];

static void init(void)
{
    for (int i = 0; i < 64; i++)
        table[i] = i * i;
}

static void* use(void* arg)
{
    pthread_once(&once, init);
    long sum = 0;
    for (int i = 0; i < 64; i++)
        sum += table[i];
    *(long*)arg = sum;
    return NULL;
}

int main(void)
{
    long r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, use, &r[i]);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    printf("%ld\n", r[0]);
    return 0;
}
