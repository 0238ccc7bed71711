// A library whose constructor starts a thread: constructors of the libraries a program links run
// before the preloaded runtime's, so the runtime never saw this thread start. Its first call the
// runtime sees comes from inside the allocator (a jemalloc arena lock), where registering the
// thread must not allocate: pthread_getattr_np's realloc re-entered jemalloc half-way through
// setting up the thread and crashed it.
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

volatile int early_go;
static pthread_t early;

static void* early_run(void* arg)
{
    while (!early_go)
        usleep(1000);
    void* blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = malloc(32);
    for (int i = 0; i < 100; i++)
        free(blocks[i]);
    return arg;
}

__attribute__((constructor)) static void early_start(void)
{
    pthread_create(&early, NULL, early_run, NULL);
}

void early_join(void)
{
    pthread_join(early, NULL);
}
