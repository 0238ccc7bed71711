/* Race-free: each thread writes only its own bytes of one struct (neighbours in one word). */
#include <pthread.h>
#include <stdio.h>

struct Flags {
    char left;
    char right;
    short both[2];
} flags;

static void* setLeft(void* arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        flags.left = (char)i;
        flags.both[0] = (short)i;
    }
    return NULL;
}

static void* setRight(void* arg)
{
    (void)arg;
    for (int i = 0; i < 10000; i++) {
        flags.right = (char)i;
        flags.both[1] = (short)i;
    }
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    pthread_create(&a, NULL, setLeft, NULL);
    pthread_create(&b, NULL, setRight, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("%d %d\n", flags.left, flags.right);
    return 0;
}
