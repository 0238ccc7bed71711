// A multi-threaded program that forks with pthread_atfork handlers holding its locks across the
// fork (as allocators and loggers do), and children that lock, allocate, start a thread and
// look up symbols before they exit with a status of their own.
//
//   atfork_locks FORKS    prints "forks N statuses ok count M"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static long count;

static void prepare(void)
{
    pthread_mutex_lock(&state_lock);
}
static void parent(void)
{
    pthread_mutex_unlock(&state_lock);
}
static void child(void)
{
    pthread_mutex_unlock(&state_lock);
}

static void* worker(void* arg)
{
    (void)arg;
    while (!stop) {
        pthread_mutex_lock(&state_lock);
        count++;
        pthread_mutex_unlock(&state_lock);
    }
    return NULL;
}

static void* childThread(void* arg)
{
    pthread_mutex_lock(&state_lock);
    pthread_mutex_unlock(&state_lock);
    return arg;
}

int main(int argc, char** argv)
{
    int forks = argc > 1 ? atoi(argv[1]) : 20;
    pthread_atfork(prepare, parent, child);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    int ok = 1;
    for (int i = 0; i < forks; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            free(malloc(100));
            dlsym(RTLD_DEFAULT, "missing_in_child");
            dlsym(RTLD_DEFAULT, "missing_in_child_2");
            pthread_t t;
            pthread_create(&t, NULL, childThread, NULL);
            pthread_join(t, NULL);
            exit(10 + i % 5);
        }
        int status = 0;
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 10 + i % 5)
            ok = 0;
    }
    stop = 1;
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("forks %d statuses %s count %s\n", forks, ok ? "ok" : "wrong", count > 0 ? "positive" : "zero");
    return 0;
}
