/* Race-free: each thread allocates, uses and frees its own blocks; the allocator hands freed
 * memory to the other thread, whose accesses must start clean. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void* churn(void* arg)
{
    long sum = 0;
    for (int i = 0; i < 5000; i++) {
        long* block = malloc(64);
        for (int k = 0; k < 8; k++)
            block[k] = i + k;
        sum += block[i % 8];
        free(block);
    }
    *(long*)arg = sum;
    return NULL;
}

int main(void)
{
    long r[2];
    pthread_t a, b;
    pthread_create(&a, NULL, churn, &r[0]);
    pthread_create(&b, NULL, churn, &r[1]);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%ld\n", r[0] + r[1]);
    return 0;
}
