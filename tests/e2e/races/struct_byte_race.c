/* A data race on one byte of a struct: two threads write the same char field. */
#include <pthread.h>
#include <stdio.h>

struct Status {
    char code;
    char other;
    short spare;
} status;

static void* set(void* arg)
{
    for (int i = 0; i < 1000; i++)
        status.code = (char)(long)arg;
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, set, (void*)1);
    pthread_create(&b, NULL, set, (void*)2);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d\n", status.code);
    return 0;
}
