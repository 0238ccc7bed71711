// A server that installs a handler for every signal it can (as some do, to log and go on), then
// works with threads while signals of every kind arrive: sent to itself, a timer, a child's end,
// a write to a closed pipe. The handlers take a lock, which the runtime records from inside a
// signal handler.
//
//   all_signals ITERATIONS    prints "count N caught M" and exits 0
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

enum { kThreads = 3 };

static pthread_mutex_t work_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t signal_lock = PTHREAD_MUTEX_INITIALIZER;
static long count;
static long iterations;
static volatile sig_atomic_t caught[NSIG];

static void onSignal(int sig)
{
    pthread_mutex_lock(&signal_lock);
    caught[sig] = 1;
    pthread_mutex_unlock(&signal_lock);
}

static void* worker(void* arg)
{
    (void)arg;
    for (long i = 0; i < iterations; i++) {
        pthread_mutex_lock(&work_lock);
        count++;
        pthread_mutex_unlock(&work_lock);
    }
    return NULL;
}

int main(int argc, char** argv)
{
    iterations = argc > 1 ? atol(argv[1]) : 100000;
    struct sigaction sa = { 0 };
    sa.sa_handler = onSignal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL); // glibc's own (32, 33) refuse, as natively
    pthread_t th[kThreads];
    for (int i = 0; i < kThreads; i++)
        pthread_create(&th[i], NULL, worker, NULL);
    int sent[] = { SIGUSR1, SIGUSR2, SIGHUP, SIGTERM, SIGINT, SIGQUIT, SIGWINCH, SIGRTMIN, SIGRTMIN + 5, SIGRTMAX };
    for (unsigned i = 0; i < sizeof sent / sizeof sent[0]; i++)
        raise(sent[i]);
    struct itimerval timer = { { 0, 0 }, { 0, 20000 } };
    setitimer(ITIMER_REAL, &timer, NULL);
    pid_t child = fork();
    if (child == 0)
        _exit(3);
    int fds[2];
    if (pipe(fds) == 0) {
        close(fds[0]);
        if (write(fds[1], "x", 1) != -1)
            return 4;
        close(fds[1]);
    }
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
        ;
    for (int i = 0; i < kThreads; i++)
        pthread_join(th[i], NULL);
    while (!caught[SIGALRM] || !caught[SIGCHLD])
        usleep(1000);
    int n = 0;
    for (int sig = 1; sig < NSIG; sig++)
        n += caught[sig];
    printf("count %ld caught %d child %d\n", count, n, WEXITSTATUS(status));
    return 0;
}
