/* A data race on a local whose address escapes: main hands a pointer to its own counter to a
 * thread and keeps using it. */
#include <pthread.h>
#include <stdio.h>

static void* bump(void* arg)
{
    int* n = arg;
    for (int i = 0; i < 1000; i++)
        (*n)++;
    return NULL;
}

int main(void)
{
    int local_count = 0;
    pthread_t t;
    pthread_create(&t, NULL, bump, &local_count);
    for (int i = 0; i < 1000; i++)
        local_count++;
    pthread_join(t, NULL);
    printf("%d\n", local_count);
    return 0;
}
