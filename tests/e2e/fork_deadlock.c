// A parent that forks a child whose two threads deadlock (each holds one lock and wants the
// other's), then waits for it: without a watchdog on the child the whole run hangs.
//
//   fork_deadlock    prints "child PID" and, if the child ever ended, "child ended"
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t child_a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t child_b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both_hold;

static void* other(void* arg)
{
    (void)arg;
    pthread_mutex_lock(&child_b);
    pthread_barrier_wait(&both_hold);
    pthread_mutex_lock(&child_a);
    pthread_mutex_unlock(&child_a);
    pthread_mutex_unlock(&child_b);
    return NULL;
}

int main(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        pthread_barrier_init(&both_hold, NULL, 2);
        pthread_t t;
        pthread_create(&t, NULL, other, NULL);
        pthread_mutex_lock(&child_a);
        pthread_barrier_wait(&both_hold);
        pthread_mutex_lock(&child_b);
        pthread_mutex_unlock(&child_b);
        pthread_mutex_unlock(&child_a);
        pthread_join(t, NULL);
        _exit(0);
    }
    printf("child %d\n", (int)pid);
    fflush(stdout);
    int status;
    waitpid(pid, &status, 0);
    printf("child ended\n");
    return 0;
}
