// The target of the signal tests (test_run_signals.cpp): a program that a supervisor, a terminal
// or the test itself signals while it runs under `ravel run`. Each mode takes a lock once, so the
// trace has events, and then says it is ready: in READY (written whole, then renamed, so the test
// never reads half of it) or on stdout for the terminal modes.
//
//   signal_target handle SIGNO STATUS READY   exits with STATUS once SIGNO arrives
//   signal_target idle READY                  writes "PID START" (START: CLOCK_MONOTONIC in ns
//                                             when main began), then waits to be killed (the
//                                             last event is long before the end)
//   signal_target family READY                forks a child (same process group), writes
//                                             "PID CHILDPID", then both wait forever
//   signal_target count-int                   prints "ready PID"; after the first SIGINT waits
//                                             300 ms for more, then exits with 10 + their number
//   signal_target read-line                   prints "ready PID", reads a line from stdin (the
//                                             terminal), exits 7 if it is "hello", else 1
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile sig_atomic_t caught;

static void onSignal(int sig)
{
    (void)sig;
    caught++;
}

static void touchLock(void)
{
    pthread_mutex_lock(&state_lock);
    pthread_mutex_unlock(&state_lock);
}

static void writeReady(const char* path, const char* text)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE* f = fopen(tmp, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        perror(path);
        exit(2);
    }
}

static void catchSignal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = onSignal;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void sleepMs(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) { }
}

int main(int argc, char** argv)
{
    if (argc < 2)
        return 2;
    const char* mode = argv[1];
    char text[64];
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    touchLock();
    if (strcmp(mode, "handle") == 0 && argc == 5) {
        int sig = atoi(argv[2]);
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, sig);
        sigprocmask(SIG_BLOCK, &block, &old);
        catchSignal(sig);
        writeReady(argv[4], "ready\n");
        while (!caught)
            sigsuspend(&old);
        return atoi(argv[3]);
    }
    if (strcmp(mode, "idle") == 0 && argc == 3) {
        snprintf(text, sizeof text, "%d %lld\n", (int)getpid(),
            (long long)start.tv_sec * 1000000000LL + start.tv_nsec);
        writeReady(argv[2], text);
        for (;;)
            pause();
    }
    if (strcmp(mode, "family") == 0 && argc == 3) {
        pid_t child = fork();
        if (child < 0)
            return 2;
        if (child == 0) {
            // In the program's process group, as a server's worker: PR_SET_PDEATHSIG is not
            // inherited across fork, so only the guard's kill of the group can end it.
            for (;;)
                pause();
        }
        snprintf(text, sizeof text, "%d %d\n", (int)getpid(), (int)child);
        writeReady(argv[2], text);
        for (;;)
            pause();
    }
    if (strcmp(mode, "count-int") == 0) {
        catchSignal(SIGINT);
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        while (!caught)
            pause();
        sleepMs(300);
        return 10 + caught;
    }
    if (strcmp(mode, "read-line") == 0) {
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        char line[256];
        size_t used = 0;
        while (used < sizeof line - 1) {
            ssize_t got = read(0, line + used, 1);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0 || line[used] == '\n')
                break;
            used++;
        }
        line[used] = '\0';
        return strcmp(line, "hello") == 0 ? 7 : 1;
    }
    fprintf(stderr, "signal_target: bad arguments\n");
    return 2;
}
