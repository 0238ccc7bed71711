/* A data race: one thread copies a record with memcpy while another reads it, unlocked. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct Record {
    char name[32];
    long values[8];
};

struct Record current;
static struct Record incoming = {"incoming", {1, 2, 3, 4, 5, 6, 7, 8}};

static void* writer(void* arg)
{
    (void)arg;
    for (int i = 0; i < 200; i++) {
        incoming.values[0] = i;
        memcpy(&current, &incoming, sizeof current);
    }
    return NULL;
}

int main(void)
{
    pthread_t w;
    pthread_create(&w, NULL, writer, NULL);
    long sum = 0;
    for (int i = 0; i < 200; i++)
        sum += current.values[i % 8];
    pthread_join(w, NULL);
    printf("%ld\n", sum);
    return 0;
}
