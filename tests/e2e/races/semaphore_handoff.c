/* Race-free: a buffer handed back and forth with two semaphores. */
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>

sem_t filled, emptied;
int buffer[16];
long sum;

static void* consumer(void* arg)
{
    (void)arg;
    for (int round = 0; round < 500; round++) {
        sem_wait(&filled);
        for (int i = 0; i < 16; i++)
            sum += buffer[i];
        sem_post(&emptied);
    }
    return NULL;
}

int main(void)
{
    sem_init(&filled, 0, 0);
    sem_init(&emptied, 0, 1);
    pthread_t c;
    pthread_create(&c, NULL, consumer, NULL);
    for (int round = 0; round < 500; round++) {
        sem_wait(&emptied);
        for (int i = 0; i < 16; i++)
            buffer[i] = round + i;
        sem_post(&filled);
    }
    pthread_join(c, NULL);
    printf("%ld\n", sum);
    return 0;
}
