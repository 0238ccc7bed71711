// A signal handler that takes a lock while the thread it interrupts is locking in a loop: the
// runtime is often in the middle of writing that thread's record when the signal arrives. The
// handler's lock must never overwrite it (the trace would then show a release without its
// acquisition), and a handler event that cannot be written must be counted as lost.
//
// In `wait` mode the loop is a semaphore wait that times out at once, so the runtime captures the
// loop's stack at every iteration: the handler then often arrives in the middle of a capture.
//
//   signal_locks ITERATIONS [lock|wait]   prints "main N handler M" (loop iterations, handler
//                                         lock/unlock pairs)
#define _GNU_SOURCE
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER; // taken only by the handler
static volatile sig_atomic_t handled;

static void onTimer(int sig)
{
    (void)sig;
    pthread_mutex_lock(&stats_lock);
    handled++;
    pthread_mutex_unlock(&stats_lock);
}

int main(int argc, char** argv)
{
    long iterations = argc > 1 ? atol(argv[1]) : 2000000;
    int waitMode = argc > 2 && strcmp(argv[2], "wait") == 0;
    sem_t never;
    sem_init(&never, 0, 0);
    struct timespec past = { 0, 0 };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = onTimer;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    timer_t timer;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = SIGALRM;
    if (timer_create(CLOCK_MONOTONIC, &sev, &timer) != 0) {
        perror("timer_create");
        return 1;
    }
    struct itimerspec every = { { 0, 20000 }, { 0, 20000 } }; // 20 us
    timer_settime(timer, 0, &every, NULL);
    long done = 0;
    for (long i = 0; i < iterations; i++) {
        if (waitMode) {
            if (sem_timedwait(&never, &past) != 0)
                done++;
            continue;
        }
        pthread_mutex_lock(&work_lock);
        done++;
        pthread_mutex_unlock(&work_lock);
    }
    struct itimerspec off = { { 0, 0 }, { 0, 0 } };
    timer_settime(timer, 0, &off, NULL);
    timer_delete(timer);
    printf("main %ld handler %ld\n", done, (long)handled);
    return 0;
}
