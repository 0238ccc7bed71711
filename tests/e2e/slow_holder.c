/* slow_holder: a program that is slow, not deadlocked. Thread "sleeper" takes `slow_lock` and
 * sleeps with it held (SECONDS, default 60); thread "waiter" then blocks on `slow_lock`; main
 * joins both. Every thread but the sleeper is blocked, and the sleeper will wake and unlock:
 * `ravel attach` must say no deadlock. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t held;
static unsigned seconds = 60;

static void* sleeper(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&slow_lock);
    pthread_barrier_wait(&held);
    sleep(seconds);
    pthread_mutex_unlock(&slow_lock);
    return NULL;
}

static void* waiter(void* arg)
{
    (void)arg;
    pthread_barrier_wait(&held);
    pthread_mutex_lock(&slow_lock);
    pthread_mutex_unlock(&slow_lock);
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc > 1)
        seconds = (unsigned)strtoul(argv[1], NULL, 10);
    pthread_barrier_init(&held, NULL, 2);
    pthread_t a, b;
    pthread_create(&a, NULL, sleeper, NULL);
    pthread_setname_np(a, "sleeper");
    pthread_create(&b, NULL, waiter, NULL);
    pthread_setname_np(b, "waiter");
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    puts("done");
    return 0;
}
