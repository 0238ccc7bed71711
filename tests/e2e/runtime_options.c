// What the runtime's options change, for tests/e2e/test_runtime_options.cpp:
//   deep N     recurse N frames, then lock and unlock `deep_lock` once (stack depth)
//   many N     lock and unlock `busy_lock` N times, then `last_lock` once (flight recorder, chunks)
//   likely MS  a worker waits on semaphore `wake_up` that only a SIGALRM handler posts, after MS
//              milliseconds; main joins the worker: every thread blocked, but a handler could still
//              post, so a deadlock would only be likely; it is not one, and the program exits 0.
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

pthread_mutex_t deep_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t busy_lock = PTHREAD_MUTEX_INITIALIZER;
pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
sem_t wake_up;

__attribute__((noinline)) static int descend(int n)
{
    if (n == 0) {
        pthread_mutex_lock(&deep_lock);
        pthread_mutex_unlock(&deep_lock);
        return 0;
    }
    int r = descend(n - 1);
    __asm__ volatile("" ::: "memory"); // not a tail call: every frame stays on the stack
    return r + 1;
}

static void on_alarm(int sig)
{
    (void)sig;
    sem_post(&wake_up); // async-signal-safe
}

static void* sleeper(void* arg)
{
    (void)arg;
    while (sem_wait(&wake_up) != 0) {
    }
    return NULL;
}

int main(int argc, char** argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s deep|many|likely N\n", argv[0]);
        return 2;
    }
    long n = atol(argv[2]);
    if (strcmp(argv[1], "deep") == 0) {
        return descend((int)n) == n ? 0 : 1;
    }
    if (strcmp(argv[1], "many") == 0) {
        for (long i = 0; i < n; i++) {
            pthread_mutex_lock(&busy_lock);
            pthread_mutex_unlock(&busy_lock);
        }
        pthread_mutex_lock(&last_lock);
        pthread_mutex_unlock(&last_lock);
        return 0;
    }
    if (strcmp(argv[1], "likely") == 0) {
        sem_init(&wake_up, 0, 0);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        pthread_t t;
        pthread_create(&t, NULL, sleeper, NULL);
        struct itimerval it = { { 0, 0 }, { n / 1000, (n % 1000) * 1000 } };
        setitimer(ITIMER_REAL, &it, NULL);
        pthread_join(t, NULL);
        puts("woken by the handler");
        return 0;
    }
    fprintf(stderr, "%s: unknown mode %s\n", argv[0], argv[1]);
    return 2;
}
