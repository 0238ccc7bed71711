/* A data race: two threads increment one global without a lock, so increments are lost.
 *   ravel-cc -O1 -g racy_counter.c -o racy_counter && ravel run -- ./racy_counter
 * ravel reports a data-race on `hits` (exit 66). The fix: a mutex around the increment, or an
 * atomic counter. */
#include <pthread.h>
#include <stdio.h>

long hits;

static void* count(void* arg)
{
    long n = (long)arg;
    for (long i = 0; i < n; i++) {
        long seen = hits; /* a read and a write another thread can interleave with */
        hits = seen + 1;
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, count, (void*)100000);
    pthread_create(&b, NULL, count, (void*)100000);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("hits = %ld (expected 200000)\n", hits);
    return 0;
}
