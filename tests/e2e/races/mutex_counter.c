/* Race-free: the counter is only touched under its mutex (uncontended acquisitions too). */
#include <pthread.h>
#include <stdio.h>

long counter;
pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;

static void* work(void* arg)
{
    (void)arg;
    for (int i = 0; i < 20000; i++) {
        pthread_mutex_lock(&counter_lock);
        counter++;
        pthread_mutex_unlock(&counter_lock);
    }
    return NULL;
}

int main(void)
{
    pthread_t t[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&t[i], NULL, work, NULL);
    for (int i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
    printf("%ld\n", counter);
    return counter == 60000 ? 0 : 1;
}
