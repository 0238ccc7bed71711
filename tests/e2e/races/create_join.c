/* Race-free: the parent's writes before pthread_create are ordered before the child, the child's
 * before pthread_join's return. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

int shared;

static void* child(void* arg)
{
    int* block = arg;
    shared += block[0];
    block[1] = shared;
    return NULL;
}

int main(void)
{
    int* block = malloc(2 * sizeof(int));
    for (int round = 0; round < 20; round++) {
        block[0] = round;
        shared++;
        pthread_t t;
        pthread_create(&t, NULL, child, block);
        pthread_join(t, NULL);
        shared += block[1];
    }
    free(block);
    printf("%d\n", shared);
    return 0;
}
