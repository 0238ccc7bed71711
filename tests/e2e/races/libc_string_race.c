/* A data race through the C library: one thread strcpy()s into a buffer another strlen()s. The
 * accesses happen inside libc, which no pass instruments: libravel_hooks.so's wrappers check them. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

char label[64] = "initial";
static const char* names[2] = {"even", "odd-name"};

static void* rename_loop(void* arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        strcpy(label, names[i & 1]);
    return NULL;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, rename_loop, NULL);
    size_t n = 0;
    for (int i = 0; i < 100; i++)
        n += strlen(label);
    pthread_join(t, NULL);
    printf("%zu\n", n);
    return 0;
}
